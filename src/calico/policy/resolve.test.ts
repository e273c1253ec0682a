import { describe, expect, it } from 'vitest';
import { clusterFromObjects, cnp, gnp, knp, ns, pod, tier } from '../../../test/calico/cluster.js';
import { ipsetNameForSelector } from '../naming.js';
import { buildPolicyModel, felixPolicySelector, policiesForEndpoint, tierLess } from './resolve.js';

describe('felixPolicySelector (expectations from updateprocessors/*processor_test.go)', () => {
  const sel = "mylabel == 'selectme'";
  it.each([
    [{ kind: 'NetworkPolicy', namespace: 'namespace2', selector: sel }, "(mylabel == 'selectme') && projectcalico.org/namespace == 'namespace2'"],
    [{ kind: 'NetworkPolicy', namespace: 'namespace1', selector: '' }, "projectcalico.org/namespace == 'namespace1'"],
    [{ kind: 'NetworkPolicy', namespace: 'namespace2', selector: sel, serviceAccountSelector: "role == 'development'" }, `((mylabel == 'selectme') && projectcalico.org/namespace == 'namespace2') && pcsa.role == "development"`],
    [{ kind: 'NetworkPolicy', namespace: 'namespace2', selector: sel, serviceAccountSelector: "role 'development'" }, "(mylabel == 'selectme') && projectcalico.org/namespace == 'namespace2'"],
    [{ kind: 'NetworkPolicy', namespace: 'namespace2', selector: sel, serviceAccountSelector: 'all()' }, "((mylabel == 'selectme') && projectcalico.org/namespace == 'namespace2') && all()"],
    [{ kind: 'GlobalNetworkPolicy', selector: sel }, sel],
    [{ kind: 'GlobalNetworkPolicy', selector: sel, serviceAccountSelector: "role == 'development'" }, `(mylabel == 'selectme') && pcsa.role == "development"`],
    [{ kind: 'GlobalNetworkPolicy', selector: sel, serviceAccountSelector: 'all()' }, "(mylabel == 'selectme') && has(projectcalico.org/serviceaccount)"],
    [{ kind: 'GlobalNetworkPolicy', selector: sel, namespaceSelector: "name == 'testing'" }, `(mylabel == 'selectme') && pcns.name == "testing"`],
    [{ kind: 'GlobalNetworkPolicy', selector: sel, namespaceSelector: "name 'testing'" }, sel],
    [{ kind: 'GlobalNetworkPolicy', selector: sel, namespaceSelector: 'all()' }, "(mylabel == 'selectme') && has(projectcalico.org/namespace)"],
    [{ kind: 'GlobalNetworkPolicy', selector: sel, namespaceSelector: "name == 'testing'", serviceAccountSelector: "role == 'development'" }, `((mylabel == 'selectme') && pcns.name == "testing") && pcsa.role == "development"`],
    [{ kind: 'GlobalNetworkPolicy', selector: '', serviceAccountSelector: "role == 'development'" }, 'pcsa.role == "development"'],
    [{ kind: 'GlobalNetworkPolicy', selector: '', namespaceSelector: "name == 'testing'" }, 'pcns.name == "testing"'],
  ] as const)('%j', (p, want) => {
    expect(felixPolicySelector(p)).toBe(want);
  });
});

const world = () => [
  ns('default'),
  pod('default', 'web', { labels: { app: 'web' }, ip: '10.0.0.1' }),
  pod('default', 'client', { labels: { app: 'client' }, ip: '10.0.0.2' }),
];

describe('resolution', () => {
  it('records the IP sets Felix builds for each rule side (felix-rules.md §5 example)', () => {
    const model = buildPolicyModel(
      clusterFromObjects([...world(), cnp('default', 'np', { selector: 'all()', ingress: [{ action: 'Allow', protocol: 'TCP', source: { selector: "projectcalico.org/orchestrator == 'k8s' && app == 'web'" }, destination: { ports: ['http'] } }] })]).cluster,
    );
    const r = model.policies[0].ingress[0];
    expect(r.source.ipsets.selector?.selector).toBe('(projectcalico.org/namespace == "default" && (projectcalico.org/orchestrator == "k8s" && app == "web"))');
    expect(r.source.ipsets.selector?.name).toBe('cali40s:XdTkeoA4uORlm_7HsXcm20F');
    expect(r.destination.ipsets.namedPorts).toEqual([{ port: 'http', proto: 'tcp', selector: 'all()', name: 'cali40n:cl9_Kgeu4H0OGLbhovVR3NB', negated: false }]);
    expect(ipsetNameForSelector('projectcalico.org/namespace == "default"')).toBe('cali40s:4g010_DunYvItGg3dv2Mxna');
  });

  it('types: given, inferred by the API, or both for a stored CRD without types', () => {
    const model = buildPolicyModel(
      clusterFromObjects([
        ...world(),
        cnp('default', 'eg', { selector: 'all()', egress: [{ action: 'Allow' }] }),
        cnp('default', 'both', { selector: 'all()', egress: [{ action: 'Allow' }], ingress: [{ action: 'Allow' }] }),
        cnp('default', 'none', { selector: 'all()' }),
        cnp('default', 'given', { selector: 'all()', types: ['Egress'] }),
        { apiVersion: 'crd.projectcalico.org/v1', kind: 'NetworkPolicy', metadata: { name: 'default.crd', namespace: 'default' }, spec: { selector: 'all()' } },
      ]).cluster,
    );
    const t = Object.fromEntries(model.policies.map((p) => [p.name, [p.types, p.typesFrom]]));
    expect(t).toEqual({
      eg: [['egress'], 'inferred-api'],
      both: [['ingress', 'egress'], 'inferred-api'],
      none: [['ingress'], 'inferred-api'],
      given: [['egress'], 'given'],
      crd: [['ingress', 'egress'], 'inferred-felix'],
    });
    expect(model.issues.map((i) => i.reason).join('\n')).toContain('stored without spec.types');
  });

  it('orders tiers: existing tiers by order, unset order last, missing tiers after all', () => {
    const model = buildPolicyModel(
      clusterFromObjects([
        ...world(),
        tier('b', 100),
        tier('a', 100),
        tier('noorder'),
        gnp('ghost.p', { tier: 'ghost', selector: 'all()' }),
        gnp('a.p', { tier: 'a', selector: 'all()' }),
      ]).cluster,
    );
    expect(model.tiers.map((t) => t.name)).toEqual(['a', 'b', 'default', 'noorder', 'ghost']);
    expect(model.tierByName.get('default')).toMatchObject({ order: 1_000_000, synthesized: true, exists: true });
    expect(model.tierByName.get('ghost')).toMatchObject({ exists: false });
    expect(model.issues.map((i) => i.reason).join('\n')).toContain('tier ghost');
    expect(tierLess(model.tierByName.get('a')!, model.tierByName.get('b')!)).toBeLessThan(0);
  });

  it('per endpoint: only tiers with applicable policies, policies by order then name, staged kept apart', () => {
    const model = buildPolicyModel(
      clusterFromObjects([
        ...world(),
        tier('sec', 10),
        gnp('sec.one', { tier: 'sec', order: 1, selector: "app == 'web'", ingress: [{ action: 'Pass' }] }),
        gnp('sec.other', { tier: 'sec', order: 1, selector: "app == 'client'", ingress: [{ action: 'Pass' }] }),
        cnp('default', 'b', { order: 5, selector: "app == 'web'", ingress: [{ action: 'Allow' }] }),
        cnp('default', 'a', { order: 5, selector: "app == 'web'", ingress: [{ action: 'Allow' }] }),
        cnp('default', 'late', { selector: "app == 'web'", ingress: [{ action: 'Allow' }] }),
        cnp('default', 'staged', { selector: "app == 'web'", ingress: [{ action: 'Deny' }] }, 'StagedNetworkPolicy'),
        cnp('default', 'deleted', { stagedAction: 'Delete', selector: "app == 'web'", ingress: [{ action: 'Deny' }] }, 'StagedNetworkPolicy'),
        knp('default', 'k', { podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Ingress'] }),
        { apiVersion: 'projectcalico.org/v3', kind: 'NetworkPolicy', metadata: { name: 'knp.default.k', namespace: 'default' }, spec: { order: 1000, selector: "projectcalico.org/orchestrator == 'k8s'", types: ['Ingress'] } },
      ]).cluster,
    );
    const web = model.endpointById.get('default/web')!;
    const blocks = policiesForEndpoint(model, web, 'ingress');
    expect(blocks.map((b) => [b.tier.name, b.policies.map((p) => p.id), b.staged.map((p) => p.id)])).toEqual([
      ['sec', ['sec.one'], []],
      ['default', ['default/a', 'default/b', 'default/knp.default.k', 'default/late'], ['default/staged']],
    ]);
    expect(policiesForEndpoint(model, web, 'egress')).toEqual([]);
  });

  it('an unparsable policy selector selects nothing and is reported', () => {
    const model = buildPolicyModel(clusterFromObjects([...world(), cnp('default', 'bad', { selector: "app = 'web'", ingress: [{ action: 'Deny' }] })]).cluster);
    expect(policiesForEndpoint(model, model.endpointById.get('default/web')!, 'ingress')).toEqual([]);
    expect(model.issues.map((i) => i.reason).join('\n')).toContain('does not parse');
  });

  it('rules with numeric ports but no protocol never match (Calico rejects them)', () => {
    const model = buildPolicyModel(clusterFromObjects([...world(), cnp('default', 'np', { selector: 'all()', ingress: [{ action: 'Allow', destination: { ports: [80] } }] })]).cluster);
    expect(model.policies[0].ingress[0].invalid?.[0]).toContain('numeric ports');
  });
});
