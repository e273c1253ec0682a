import { describe, expect, it } from 'vitest';
import { cnp, gnp, knp, makeBundle, ns, pod, runCheck } from '../../../test/checks-cluster/helpers.js';
import { policySelectorMatchesNothing } from './policy-selector-matches-nothing.js';

const pods = [ns('prod'), pod('prod', 'web-1', { ip: '10.0.0.1', labels: { app: 'web' } }), pod('prod', 'web-2', { ip: '10.0.0.2', labels: { app: 'web' } }), pod('prod', 'web-3', { ip: '10.0.0.3', labels: { app: 'web' } }), pod('prod', 'client', { ip: '10.0.0.4', labels: { app: 'client' } })];

describe('policy.selector-matches-nothing', () => {
  it('reports a policy selector with a case mistake and the near miss (would match 3 pods with app=web)', () => {
    const b = makeBundle({ objects: [...pods, cnp('prod', 'wrong-selector', { selector: "app == 'Web'", ingress: [{ action: 'Allow', source: { selector: "app == 'client'" } }] })] });
    const r = runCheck(policySelectorMatchesNothing, b);
    expect(r.findings).toHaveLength(1);
    const f = r.findings[0];
    expect(f.severity).toBe('warning');
    expect(f.title).toContain('selects no endpoint');
    expect(f.explanation).toContain('3 endpoints have app=web');
    expect(f.remediation.summary).toContain("app == 'web'");
    expect(f.remediation.yaml).toContain("selector: app == 'web'");
  });

  it('reports a rule peer selector that matches nothing', () => {
    const b = makeBundle({ objects: [...pods, knp('prod', 'allow', { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'clinet' } } }] }] })] });
    const [f] = runCheck(policySelectorMatchesNothing, b).findings;
    expect(f.title).toContain('ingress rule 0 source selector matches no endpoint');
    expect(f.explanation).toContain('app=client');
  });

  it('is quiet when selectors match, and for select-all policies in empty namespaces', () => {
    const b = makeBundle({
      objects: [...pods, ns('empty'), cnp('prod', 'ok', { selector: "app == 'web'", ingress: [{ action: 'Allow', source: { selector: "app == 'client'" } }] }), knp('empty', 'deny-all', { podSelector: {}, policyTypes: ['Ingress'] }), gnp('all', { selector: 'all()', types: ['Ingress'] })],
    });
    expect(runCheck(policySelectorMatchesNothing, b).findings).toEqual([]);
  });

  it('says it cannot check without endpoints', () => {
    const b = makeBundle({ objects: [cnp('prod', 'x', { selector: "app == 'web'" })] });
    const r = runCheck(policySelectorMatchesNothing, b);
    expect(r.findings).toEqual([]);
    expect(r.notChecked[0].reason).toContain('no pods');
  });
});
