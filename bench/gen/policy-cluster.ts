/**
 * A synthetic but realistic cluster for policy benchmarks: namespaces with env/team labels,
 * pods of several apps and tiers with named ports, and a mix of Kubernetes NetworkPolicies
 * (default-deny, app-to-app, namespaceSelector, ipBlock), Calico NetworkPolicies (ordered Allow
 * and Deny rules, named ports, notSelector) and GlobalNetworkPolicies in a security tier
 * (namespaceSelector, Pass) and in the default tier (DNS egress). Deterministic for a seed.
 */
import type { ClusterResources, ResourceObject } from '../../src/model/resources.js';
import { buildClusterResources } from '../../src/parse/resources.js';
import { rng } from './conntrack.js';

export interface PolicyClusterOptions {
  endpoints: number;
  namespaces: number;
  policies: number;
  seed?: number;
}

export interface PolicyCluster {
  objects: Record<string, unknown>[];
  counts: { pods: number; namespaces: number; k8sPolicies: number; calicoPolicies: number; globalPolicies: number };
}

const APPS = ['web', 'api', 'cart', 'checkout', 'search', 'auth', 'db', 'cache', 'queue', 'worker', 'metrics', 'gateway'];
const TIERS = ['frontend', 'backend', 'data'];
const ENVS = ['prod', 'staging', 'dev'];
const TEAMS = ['payments', 'catalog', 'platform', 'identity', 'growth'];

export function generatePolicyCluster(o: PolicyClusterOptions): PolicyCluster {
  const r = rng(o.seed ?? 42);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)];
  const objects: Record<string, unknown>[] = [];
  const nsNames: string[] = [];
  for (let i = 0; i < o.namespaces; i++) {
    const name = `${pick(TEAMS)}-${i}`;
    nsNames.push(name);
    objects.push({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name, labels: { 'kubernetes.io/metadata.name': name, env: ENVS[i % ENVS.length], team: name.split('-')[0] } },
    });
  }
  objects.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kube-system', labels: { 'kubernetes.io/metadata.name': 'kube-system' } } });
  for (let i = 0; i < o.endpoints; i++) {
    const ns = nsNames[i % nsNames.length];
    const app = APPS[Math.floor(i / nsNames.length) % APPS.length];
    const tier = app === 'db' || app === 'cache' || app === 'queue' ? 'data' : app === 'web' || app === 'gateway' ? 'frontend' : 'backend';
    const ip = `10.${64 + ((i >> 16) & 63)}.${(i >> 8) & 255}.${i & 255}`;
    objects.push({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `${app}-${i}`, namespace: ns, labels: { app, tier, version: r() < 0.8 ? 'v1' : 'v2', 'pod-template-hash': Math.floor(r() * 1e8).toString(16) } },
      spec: {
        nodeName: `node-${i % 50}`,
        serviceAccountName: r() < 0.5 ? app : 'default',
        containers: [
          {
            name: app,
            ports: [
              { name: 'http', containerPort: 8080 },
              { name: 'metrics', containerPort: 9090 },
              ...(tier === 'data' ? [{ name: 'data', containerPort: app === 'db' ? 5432 : 6379 }] : []),
            ],
          },
        ],
      },
      status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] },
    });
  }

  objects.push({ apiVersion: 'projectcalico.org/v3', kind: 'Tier', metadata: { name: 'security' }, spec: { order: 100, defaultAction: 'Pass' } });
  objects.push({ apiVersion: 'projectcalico.org/v3', kind: 'Tier', metadata: { name: 'platform' }, spec: { order: 200 } });

  const counts = { pods: o.endpoints, namespaces: o.namespaces, k8sPolicies: 0, calicoPolicies: 0, globalPolicies: 0 };
  for (let i = 0; i < o.policies; i++) {
    const ns = pick(nsNames);
    const kind = r();
    if (kind < 0.5) {
      counts.k8sPolicies++;
      const shape = i % 5;
      const app = pick(APPS);
      let spec: Record<string, unknown>;
      if (shape === 0) spec = { podSelector: {}, policyTypes: ['Ingress'] };
      else if (shape === 1)
        spec = {
          podSelector: { matchLabels: { app } },
          ingress: [{ from: [{ podSelector: { matchLabels: { tier: pick(TIERS) } } }], ports: [{ port: 8080 }, { port: 'metrics' }] }],
          policyTypes: ['Ingress'],
        };
      else if (shape === 2)
        spec = {
          podSelector: { matchExpressions: [{ key: 'tier', operator: 'In', values: [pick(TIERS), pick(TIERS)] }] },
          ingress: [{ from: [{ namespaceSelector: { matchLabels: { env: pick(ENVS) } }, podSelector: { matchLabels: { app: pick(APPS) } } }, { namespaceSelector: { matchLabels: { team: pick(TEAMS) } } }] }],
          policyTypes: ['Ingress'],
        };
      else if (shape === 3)
        spec = {
          podSelector: { matchLabels: { app } },
          egress: [
            { to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } } }], ports: [{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }] },
            { to: [{ podSelector: { matchLabels: { tier: 'data' } } }], ports: [{ port: 'data' }] },
            { to: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.96.0.0/12'] } }], ports: [{ port: 8000, endPort: 8100 }] },
          ],
          policyTypes: ['Egress'],
        };
      else
        spec = {
          podSelector: { matchLabels: { tier: 'data' } },
          ingress: [{ from: [{ podSelector: { matchLabels: { tier: 'backend' } } }], ports: [{ port: 'data' }, { port: 8080 }] }],
          policyTypes: ['Ingress'],
        };
      objects.push({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: `k8s-${i}`, namespace: ns }, spec });
    } else if (kind < 0.8) {
      counts.calicoPolicies++;
      const app = pick(APPS);
      objects.push({
        apiVersion: 'projectcalico.org/v3',
        kind: 'NetworkPolicy',
        metadata: { name: `calico-${i}`, namespace: ns },
        spec: {
          order: Math.floor(r() * 2000),
          selector: `app == '${app}' && version in {'v1', 'v2'}`,
          ingress: [
            { action: 'Deny', protocol: 'TCP', source: { selector: `tier == '${pick(TIERS)}' && version == 'v2'` }, destination: { ports: [9090] } },
            { action: 'Allow', protocol: 'TCP', source: { selector: `tier == '${pick(TIERS)}'`, notSelector: `app == '${pick(APPS)}'` }, destination: { ports: ['http', 8443] } },
            { action: 'Allow', protocol: 'TCP', source: { namespaceSelector: `env == '${pick(ENVS)}'` }, destination: { ports: ['8000:8100'] } },
          ],
          egress: [{ action: 'Allow' }],
        },
      });
    } else {
      counts.globalPolicies++;
      if (i % 3 === 0) {
        objects.push({
          apiVersion: 'projectcalico.org/v3',
          kind: 'GlobalNetworkPolicy',
          metadata: { name: `security.gnp-${i}` },
          spec: {
            tier: 'security',
            order: Math.floor(r() * 100),
            namespaceSelector: `env == '${pick(ENVS)}'`,
            selector: `tier == '${pick(TIERS)}'`,
            ingress: [{ action: 'Deny', source: { namespaceSelector: `team == '${pick(TEAMS)}'`, selector: `app == '${pick(APPS)}'` } }, { action: 'Pass' }],
            egress: [{ action: 'Deny', destination: { nets: ['169.254.169.254/32'] } }, { action: 'Pass' }],
          },
        });
      } else if (i % 3 === 1) {
        objects.push({
          apiVersion: 'projectcalico.org/v3',
          kind: 'GlobalNetworkPolicy',
          metadata: { name: `platform.gnp-${i}` },
          spec: {
            tier: 'platform',
            order: Math.floor(r() * 100),
            selector: `app == '${pick(APPS)}'`,
            ingress: [{ action: 'Allow', protocol: 'TCP', source: { selector: `app == 'metrics'` }, destination: { ports: ['metrics'] } }, { action: 'Pass' }],
            types: ['Ingress'],
          },
        });
      } else {
        objects.push({
          apiVersion: 'projectcalico.org/v3',
          kind: 'GlobalNetworkPolicy',
          metadata: { name: `gnp-${i}` },
          spec: {
            order: 1500 + Math.floor(r() * 500),
            selector: `has(app) && tier != 'data'`,
            namespaceSelector: `team == '${pick(TEAMS)}'`,
            egress: [{ action: 'Allow', protocol: 'UDP', destination: { namespaceSelector: "projectcalico.org/name == 'kube-system'", ports: [53] } }, { action: 'Log', notProtocol: 'TCP' }],
            types: ['Egress'],
          },
        });
      }
    }
  }
  return { objects, counts };
}

/** The objects as a bundle's ClusterResources (same classification as `cluster/` files). */
export function clusterObjectsToResources(objects: Record<string, unknown>[], artifact = 'cluster/generated.yaml'): ClusterResources {
  const ros: ResourceObject[] = objects.map((body, i) => ({
    apiVersion: String(body.apiVersion ?? ''),
    kind: String(body.kind ?? ''),
    body,
    source: { artifact, line: i + 1, docIndex: i },
  }));
  return buildClusterResources(ros).value;
}
