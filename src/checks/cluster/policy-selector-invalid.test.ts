import { describe, expect, it } from 'vitest';
import { cnp, gnp, makeBundle, ns, pod, runCheck } from '../../../test/checks-cluster/helpers.js';
import { policySelectorInvalid } from './policy-selector-invalid.js';

describe('policy.selector-invalid', () => {
  it('reports a policy selector that does not parse, with position, lint fix and corrected policy', () => {
    const b = makeBundle({ objects: [ns('prod'), pod('prod', 'web-1', { ip: '10.0.0.1', labels: { app: 'web' } }), cnp('prod', 'web', { selector: "app = 'web'", ingress: [{ action: 'Allow' }] })] });
    const r = runCheck(policySelectorInvalid, b);
    expect(r.findings).toHaveLength(1);
    const f = r.findings[0];
    expect(f.severity).toBe('error');
    expect(f.title).toContain('spec.selector does not parse');
    expect(f.explanation).toMatch(/position \d+/);
    expect(f.remediation.yaml).toContain("selector: app == 'web'");
    expect(f.remediation.yaml).toContain('name: web');
    expect(f.evidence.some((e) => e.text === "selector: app = 'web'" && e.line !== undefined)).toBe(true);
  });

  it('reports a rule namespaceSelector that does not parse (Calico drops it: the rule opens to every namespace)', () => {
    const b = makeBundle({
      objects: [gnp('allow-mon', { selector: 'all()', ingress: [{ action: 'Allow', source: { namespaceSelector: "team == 'mon' AND env == 'prod'" } }] })],
    });
    const [f] = runCheck(policySelectorInvalid, b).findings;
    expect(f.title).toContain('spec.ingress[0].source.namespaceSelector');
    expect(f.explanation).toContain('NOT limited to any namespace');
    expect(f.remediation.summary).toContain("team == 'mon' && env == 'prod'");
  });

  it('is quiet on valid selectors', () => {
    const b = makeBundle({ objects: [cnp('prod', 'web', { selector: "app == 'web' && has(tier)", ingress: [{ action: 'Allow', source: { selector: "app in {'a','b'}" } }] })] });
    expect(runCheck(policySelectorInvalid, b).findings).toEqual([]);
  });
});
