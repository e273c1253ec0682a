/**
 * Policy reachability at cluster scale (issue 3): 1,000 endpoints in 20 namespaces, 500 policies
 * (Kubernetes NP, Calico NP, GNP in three tiers), the full 1,000 × 1,000 matrix on TCP/8080.
 * Reported separately: building the resources from objects, building the policy model
 * (endpoints, conversion, selectors compiled), and the matrix itself (limit 5 s).
 */
import type { Bench, BenchRow } from './types.js';
import { clusterObjectsToResources, generatePolicyCluster } from './gen/policy-cluster.js';
import { buildPolicyModel, reachabilityMatrix } from '../src/calico/policy/index.js';

const ENDPOINTS = 1_000;
const NAMESPACES = 20;
const POLICIES = 500;

const bench: Bench = async () => {
  const gen = generatePolicyCluster({ endpoints: ENDPOINTS, namespaces: NAMESPACES, policies: POLICIES });
  const t0 = performance.now();
  const cluster = clusterObjectsToResources(gen.objects);
  const t1 = performance.now();
  const model = buildPolicyModel(cluster);
  const t2 = performance.now();
  const m = reachabilityMatrix(model, { protocol: 'TCP', port: 8080 });
  const t3 = performance.now();
  const n = m.ids.length;
  const rows: BenchRow[] = [
    { name: 'resources from objects (1,000 pods, 500 policies)', value: (t1 - t0) / 1000, unit: 's' },
    { name: 'policy model build (endpoints, conversion, selectors)', value: (t2 - t1) / 1000, unit: 's', note: `${model.policies.length} policies, ${model.tiers.length} tiers` },
    {
      name: `matrix ${n} × ${n} on TCP/8080`,
      value: (t3 - t2) / 1000,
      unit: 's',
      limit: 5,
      limitKind: 'max',
      note: `${m.allowedCount} of ${m.pairs} pairs allowed; k8s ${gen.counts.k8sPolicies}, calico ${gen.counts.calicoPolicies}, global ${gen.counts.globalPolicies}`,
    },
    { name: 'matrix pairs per second', value: (n * n) / ((t3 - t2) / 1000), unit: 'pairs/s' },
  ];
  return rows;
};

export default bench;
