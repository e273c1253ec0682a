import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { clusterFromObjects, cnp, gnp, knp, ns, pod } from '../../../test/calico/cluster.js';
import { evaluateFlow } from './evaluate.js';
import { PolicyQueryError, findEndpoint, policiesFor, policyCheck, renderPolicyCheckText, runPolicyCheck } from './explain.js';
import { reachabilityMatrix } from './matrix.js';
import { buildPolicyModel } from './resolve.js';

const objects = [
  ns('a'),
  pod('a', 'web', { labels: { app: 'web' }, ip: '10.0.0.1' }),
  pod('a', 'web2', { labels: { app: 'web' }, ip: '10.0.0.2' }),
  pod('b', 'web', { labels: { app: 'web' }, ip: '10.0.1.1' }),
  { ...pod('a', 'agent', { hostNetwork: true, node: 'node-1' }), status: { phase: 'Running', hostIP: '172.18.0.2', podIP: '172.18.0.2' } },
  {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'a' },
    spec: { clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10'], selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] },
  },
];
const model = buildPolicyModel(clusterFromObjects(objects).cluster);

describe('findEndpoint', () => {
  it('by id, by IP, by unambiguous pod name', () => {
    expect(findEndpoint(model, 'a/web')).toMatchObject({ ok: true, endpoint: { id: 'a/web' } });
    expect(findEndpoint(model, '10.0.1.1')).toMatchObject({ ok: true, endpoint: { id: 'b/web' } });
    expect(findEndpoint(model, 'web2')).toMatchObject({ ok: true, endpoint: { id: 'a/web2' } });
    expect(findEndpoint(model, 'web')).toMatchObject({ ok: false });
  });
  it('addresses that are not endpoints stay addresses, with a note', () => {
    const svc = findEndpoint(model, '10.96.0.10');
    expect(svc).toMatchObject({ ok: true, end: { ip: '10.96.0.10' } });
    expect(svc.ok && svc.note).toContain('service IP (a/web)');
    const node = findEndpoint(model, 'a/agent');
    expect(node).toMatchObject({ ok: true, end: { ip: '172.18.0.2' } });
    expect(node.ok && node.note).toContain('host-networked');
  });
  it('unknown names fail with nearby names', () => {
    const r = findEndpoint(model, 'a/nope');
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toContain('a/web');
  });
});

describe('policyCheck', () => {
  it('has the issue-3 JSON shape', () => {
    const j = policyCheck(model, { from: 'a/web', to: 'b/web', port: 80, protocol: 'TCP' });
    expect(Object.keys(j).slice(0, 3)).toEqual(['allowed', 'egress', 'ingress']);
    expect(j.allowed).toBe(true);
    expect(j.egress).toMatchObject({ verdict: 'allow', decidedBy: { tier: null, policy: null, profile: 'kns.a', rule: 0, action: 'Allow' } });
    expect(Array.isArray(j.ingress.trail)).toBe(true);
    expect(renderPolicyCheckText(j)).toContain('a/web → b/web TCP/80: ALLOWED');
  });
  it('rejects unknown endpoints, protocols and missing ports', () => {
    expect(() => runPolicyCheck(model, { from: 'x/y', to: 'a/web', port: 80, protocol: 'TCP' })).toThrow(PolicyQueryError);
    expect(() => runPolicyCheck(model, { from: 'a/web', to: 'b/web', port: 80, protocol: 'TCPX' })).toThrow(/unknown protocol/);
    expect(() => runPolicyCheck(model, { from: 'a/web', to: 'b/web', protocol: 'UDP' })).toThrow(/--port/);
    expect(() => policiesFor(model, '8.8.8.8')).toThrow(PolicyQueryError);
  });
  it('a flow to a service IP notes that policy sees the backend', () => {
    const r = runPolicyCheck(model, { from: 'a/web', to: '10.96.0.10', port: 80, protocol: 'TCP' });
    expect(r.json.notes.join()).toContain('kube-proxy');
  });
});

describe('robustness', () => {
  const json = fc.jsonValue({ maxDepth: 4 });
  const policyObject = fc.oneof(
    fc.record({ selector: fc.oneof(fc.string(), fc.constantFrom("app == 'web'", 'all()', '!has(x)')), ingress: fc.array(json, { maxLength: 3 }), egress: fc.array(json, { maxLength: 3 }), order: json, types: json, tier: json }, { requiredKeys: [] }).map((spec) => cnp('a', 'p', spec as Record<string, unknown>)),
    fc.record({ selector: fc.string(), namespaceSelector: fc.string(), ingress: fc.array(json, { maxLength: 3 }), egress: fc.array(json, { maxLength: 3 }), doNotTrack: json, preDNAT: json, applyOnForward: json }, { requiredKeys: [] }).map((spec) => gnp('g', spec as Record<string, unknown>)),
    fc.record({ podSelector: json, ingress: json, egress: json, policyTypes: json }, { requiredKeys: [] }).map((spec) => knp('a', 'k', spec as Record<string, unknown>)),
  );
  it('garbage policies never make the model, a check or the matrix throw', () => {
    fc.assert(
      fc.property(fc.array(policyObject, { maxLength: 4 }), fc.constantFrom('TCP', 'UDP', 'ICMP', 'SCTP', 47), (pols, protocol) => {
        const m = buildPolicyModel(clusterFromObjects([...objects, ...pols]).cluster);
        const a = m.endpointById.get('a/web')!;
        const b = m.endpointById.get('b/web')!;
        const r = evaluateFlow(m, { src: a, dst: b, protocol, port: 80 });
        expect(['allow', 'deny', 'not-applicable']).toContain(r.ingress.verdict);
        const mx = reachabilityMatrix(m, { protocol, port: 80 });
        expect((mx.cells[0 * mx.ids.length + 2] & 3) === 3).toBe(r.allowed);
        expect(() => evaluateFlow(m, { src: { ip: 'not-an-ip' }, dst: b, protocol, port: 80 })).not.toThrow();
      }),
      { numRuns: 150 },
    );
  });
});
