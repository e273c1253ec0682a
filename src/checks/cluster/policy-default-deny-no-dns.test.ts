import { describe, expect, it } from 'vitest';
import { knp, makeBundle, ns, pod, runCheck } from '../../../test/checks-cluster/helpers.js';
import { policyDefaultDenyNoDns } from './policy-default-deny-no-dns.js';

const objs = [ns('prod'), ns('kube-system'), pod('prod', 'web-1', { ip: '10.0.0.1', labels: { app: 'web' } }), pod('prod', 'web-2', { ip: '10.0.0.2', labels: { app: 'web' } }), pod('kube-system', 'coredns-abc', { ip: '10.0.9.9', labels: { 'k8s-app': 'kube-dns' } })];
const denyAll = knp('prod', 'default-deny', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] });

describe('policy.default-deny-no-dns', () => {
  it('reports egress-isolated pods with no path to kube-dns, with an allow-dns policy', () => {
    const b = makeBundle({ objects: [...objs, denyAll] });
    const r = runCheck(policyDefaultDenyNoDns, b);
    expect(r.findings).toHaveLength(1);
    const f = r.findings[0];
    expect(f.title).toContain('2 pods in namespace prod cannot reach cluster DNS');
    expect(f.remediation.yaml).toContain("selector: k8s-app == 'kube-dns'");
    expect(f.remediation.yaml).toContain('protocol: UDP');
    expect(f.evidence.some((e) => e.note?.includes('default-deny'))).toBe(true);
  });

  it('is quiet when DNS is allowed', () => {
    const allowDns = knp('prod', 'allow-dns', {
      podSelector: {},
      policyTypes: ['Egress'],
      egress: [{ to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }], ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }] }],
    });
    expect(runCheck(policyDefaultDenyNoDns, makeBundle({ objects: [...objs, denyAll, allowDns] })).findings).toEqual([]);
    expect(runCheck(policyDefaultDenyNoDns, makeBundle({ objects: objs })).findings).toEqual([]);
  });

  it('says so when there is no DNS endpoint to test against', () => {
    const r = runCheck(policyDefaultDenyNoDns, makeBundle({ objects: [objs[0], objs[2], denyAll] }));
    expect(r.findings).toEqual([]);
    expect(r.notChecked[0].reason).toContain('no cluster DNS endpoints');
  });
});
