import { describe, expect, it } from 'vitest';
import { cnp, gnp, makeBundle, ns, pod, runCheck, tier } from '../../../test/checks-cluster/helpers.js';
import { policyShadowed } from './policy-shadowed.js';

const base = [ns('prod'), pod('prod', 'web-1', { ip: '10.0.0.1', labels: { app: 'web' } }), pod('prod', 'db-1', { ip: '10.0.0.2', labels: { app: 'db' } })];

describe('policy.shadowed', () => {
  it('reports a rule after a catch-all Allow in the same policy', () => {
    const b = makeBundle({ objects: [...base, cnp('prod', 'p', { selector: "app == 'web'", types: ['Ingress'], ingress: [{ action: 'Allow' }, { action: 'Deny', protocol: 'TCP', destination: { ports: [22] } }] })] });
    const [f] = runCheck(policyShadowed, b).findings;
    expect(f.severity).toBe('warning');
    expect(f.title).toContain('ingress rule 1 (Deny) can never apply');
    expect(f.evidence).toHaveLength(2);
  });

  it('reports a rule covered by an earlier narrower-but-superset rule (same selector, superset ports)', () => {
    const b = makeBundle({
      objects: [...base, cnp('prod', 'p', { selector: "app == 'web'", types: ['Ingress'], ingress: [{ action: 'Allow', protocol: 'TCP', source: { selector: "app == 'db'" }, destination: { ports: ['1:1024'] } }, { action: 'Deny', protocol: 'TCP', source: { selector: "app == 'db'" }, destination: { ports: [443] } }] })],
    });
    expect(runCheck(policyShadowed, b).findings.map((f) => f.title)).toEqual([expect.stringContaining('rule 1 (Deny) can never apply')]);
  });

  it('reports a policy after a catch-all Pass in the same tier (and nothing for a later tier)', () => {
    const b = makeBundle({
      objects: [
        ...base,
        tier('security', 100),
        gnp('security.pass-all', { tier: 'security', order: 10, selector: 'all()', types: ['Egress'], egress: [{ action: 'Deny', destination: { nets: ['169.254.169.254/32'] } }, { action: 'Pass' }] }),
        gnp('security.allow-dns', { tier: 'security', order: 20, selector: 'all()', types: ['Egress'], egress: [{ action: 'Allow', protocol: 'UDP', destination: { ports: [53] } }] }),
        gnp('later', { order: 5, selector: 'all()', types: ['Egress'], egress: [{ action: 'Allow' }] }),
      ],
    });
    const fs = runCheck(policyShadowed, b).findings;
    expect(fs).toHaveLength(1);
    expect(fs[0].title).toContain('security.allow-dns');
    expect(fs[0].remediation.yaml).toContain('order: 9');
  });

  it('does not flag rules that are not provably covered', () => {
    const b = makeBundle({
      objects: [...base, cnp('prod', 'p', { selector: "app == 'web'", types: ['Ingress'], ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: [80] } }, { action: 'Deny', protocol: 'TCP', destination: { ports: [443] } }, { action: 'Allow', source: { selector: "app == 'db'" } }] }), cnp('prod', 'q', { order: 5, selector: "app == 'db'", types: ['Ingress'], ingress: [{ action: 'Allow' }] })],
    });
    expect(runCheck(policyShadowed, b).findings).toEqual([]);
  });
});
