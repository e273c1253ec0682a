/**
 * The reachability matrix (vector walk) must give exactly the answers of the per-flow evaluation
 * (walkEndpoint with trails) and of the pairwise matrix, on generated clusters with every policy
 * shape the benchmark uses plus host endpoints, network sets, Log/Pass/Deny and profiles.
 */
import { describe, expect, it } from 'vitest';
import { clusterObjectsToResources, generatePolicyCluster } from '../../bench/gen/policy-cluster.js';
import { buildPolicyModel, evaluateFlow, reachabilityMatrix } from '../../src/calico/policy/index.js';

const extras: Record<string, unknown>[] = [
  { apiVersion: 'projectcalico.org/v3', kind: 'HostEndpoint', metadata: { name: 'n1-eth0', labels: { 'host-endpoint': 'yes' } }, spec: { node: 'node-1', interfaceName: 'eth0', expectedIPs: ['10.64.0.1'] } },
  { apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkSet', metadata: { name: 'pods-a', labels: { role: 'trusted' } }, spec: { nets: ['10.64.0.0/28'] } },
  {
    apiVersion: 'projectcalico.org/v3',
    kind: 'GlobalNetworkPolicy',
    metadata: { name: 'trusted' },
    spec: { order: 1, selector: "tier == 'data'", ingress: [{ action: 'Log' }, { action: 'Allow', source: { selector: "role == 'trusted'" } }, { action: 'Deny', source: { notNets: ['10.64.0.0/24'] } }], types: ['Ingress'] },
  },
  { apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', metadata: { name: 'hosts' }, spec: { selector: 'has(host-endpoint)', ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: [8080] } }] } },
];

describe('matrix ≡ per-flow evaluation', () => {
  it.each([1, 2, 3, 4, 5, 6])('seed %i', (seed) => {
    const gen = generatePolicyCluster({ endpoints: 48, namespaces: 4, policies: 60, seed });
    const model = buildPolicyModel(clusterObjectsToResources([...gen.objects, ...extras]));
    for (const [protocol, port] of [
      ['TCP', 8080],
      ['TCP', 9090],
      ['UDP', 53],
      ['TCP', 5432],
    ] as const) {
      const opts = { protocol, port, includeHosts: true };
      const vec = reachabilityMatrix(model, opts);
      const pair = reachabilityMatrix(model, { ...opts, strategy: 'pairwise' });
      expect(Buffer.from(vec.cells).equals(Buffer.from(pair.cells)), `${protocol}/${port} vector vs pairwise`).toBe(true);
      const eps = vec.ids.map((id) => model.endpointById.get(id)!);
      let blocked = 0;
      for (let i = 0; i < eps.length; i++) {
        for (let j = 0; j < eps.length; j++) {
          const r = evaluateFlow(model, { src: eps[i], dst: eps[j], protocol, port });
          const c = vec.cells[i * eps.length + j];
          expect([(c & 1) === 1, (c & 2) === 2], `${eps[i].id} → ${eps[j].id} ${protocol}/${port}`).toEqual([r.egress.verdict !== 'deny', r.ingress.verdict !== 'deny']);
          if (!r.allowed) blocked++;
        }
      }
      // The generated policies must actually block something, or the comparison proves little.
      if (protocol === 'TCP' && port === 8080) expect(blocked).toBeGreaterThan(0);
    }
  });
});
