/**
 * Kubernetes' own NetworkPolicy e2e truth tables (../shared/conformance/netpol-cases.json, see
 * NETPOL.md there) through the code path of `caliscope policy check`: objects →
 * buildClusterResources → buildPolicyModel → runPolicyCheck. Every probe must match; the
 * reachability matrix must agree with the per-flow answers.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildPolicyModel, cellAllowed, reachabilityMatrix, runPolicyCheck } from '../../src/calico/policy/index.js';
import { clusterFromObjects, ns, pod } from './cluster.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const shared = path.resolve(root, '../shared/conformance/netpol-cases.json');
const fixture = path.join(root, 'test/fixtures/conformance/netpol-cases.json');
const casesPath = existsSync(shared) ? shared : fixture;

interface Case {
  name: string;
  namespaces: Record<string, Record<string, string>>;
  pods: { namespace: string; name: string; labels: Record<string, string>; ip: string; ports: { name: string; containerPort: number; protocol: string }[] }[];
  policies: Record<string, unknown>[];
  probes: { from: string; to: string; port: number; protocol: string; expect: boolean }[];
}

const cases = JSON.parse(readFileSync(casesPath, 'utf8')) as Case[];

function modelFor(c: Case) {
  const objects = [
    ...Object.entries(c.namespaces).map(([name, labels]) => ns(name, labels)),
    ...c.pods.map((p, i) => pod(p.namespace, p.name, { labels: p.labels, ip: p.ip, ports: p.ports, node: `node-${i % 3}` })),
    ...c.policies,
  ];
  const { cluster, issues } = clusterFromObjects(objects, `conformance/${c.name}.yaml`);
  expect(issues.filter((i) => i.severity === 'error')).toEqual([]);
  return buildPolicyModel(cluster);
}

describe(`NetworkPolicy conformance (${path.relative(root, casesPath)})`, () => {
  it('has all 58 cases and 4680 probes', () => {
    expect(cases).toHaveLength(58);
    expect(cases.reduce((n, c) => n + c.probes.length, 0)).toBe(4680);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const model = modelFor(c);
    const wrong: string[] = [];
    for (const p of c.probes) {
      const { json } = runPolicyCheck(model, { from: p.from, to: p.to, port: p.port, protocol: p.protocol });
      if (json.allowed !== p.expect) {
        wrong.push(`${p.from} → ${p.to} ${p.protocol}/${p.port}: expected ${p.expect ? 'allowed' : 'blocked'}\n    egress: ${json.egress.trail.join('\n      ')}\n    ingress: ${json.ingress.trail.join('\n      ')}`);
      }
    }
    expect(wrong.slice(0, 3).join('\n'), `${wrong.length} wrong probes`).toBe('');

    // The matrix (memoised walk) must give the same answers as the per-flow evaluation.
    const groups = new Map<string, typeof c.probes>();
    for (const p of c.probes) groups.set(`${p.protocol}/${p.port}`, [...(groups.get(`${p.protocol}/${p.port}`) ?? []), p]);
    for (const [key, probes] of groups) {
      const [protocol, port] = key.split('/');
      const m = reachabilityMatrix(model, { protocol, port: Number(port) });
      const idx = new Map(m.ids.map((id, i) => [id, i]));
      for (const p of probes) expect(cellAllowed(m, idx.get(p.from)!, idx.get(p.to)!), `${p.from} → ${p.to} ${key}`).toBe(p.expect);
    }
  });
});
