import { describe, expect, it } from 'vitest';
import { cnp, knp, makeBundle, ns, pod, runCheck } from '../../../test/checks-cluster/helpers.js';
import { policyWrongNamespace } from './policy-wrong-namespace.js';
import { policySelectorMatchesNothing } from './policy-selector-matches-nothing.js';

const objs = [ns('prod'), ns('staging'), pod('prod', 'web-1', { ip: '10.0.0.1', labels: { app: 'web' } }), pod('staging', 'client', { ip: '10.0.1.1', labels: { app: 'client' } })];

describe('policy.wrong-namespace', () => {
  it('reports a policy whose selector matches only in another namespace, with the moved policy', () => {
    const b = makeBundle({ objects: [...objs, cnp('staging', 'web-ingress', { selector: "app == 'web'", ingress: [{ action: 'Allow' }] })] });
    const r = runCheck(policyWrongNamespace, b);
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0].title).toContain('selects nothing in namespace staging');
    expect(r.findings[0].remediation.yaml).toContain('namespace: prod');
    // Not double-reported as "matches nothing".
    expect(runCheck(policySelectorMatchesNothing, b).findings).toEqual([]);
  });

  it('reports a rule podSelector without namespaceSelector whose pods live elsewhere', () => {
    const b = makeBundle({ objects: [...objs, knp('prod', 'from-client', { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'client' } } }] }] })] });
    const [f] = runCheck(policyWrongNamespace, b).findings;
    expect(f.title).toContain('only matches pods outside namespace prod');
    expect(f.remediation.yaml).toContain('kubernetes.io/metadata.name: staging');
  });

  it('is quiet when the selection is in the right namespace or uses a namespaceSelector', () => {
    const b = makeBundle({
      objects: [...objs, knp('prod', 'ok', { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'staging' } }, podSelector: { matchLabels: { app: 'client' } } }] }] })],
    });
    expect(runCheck(policyWrongNamespace, b).findings).toEqual([]);
  });
});
