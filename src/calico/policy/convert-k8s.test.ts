import { describe, expect, it } from 'vitest';
import type { K8sNetworkPolicy } from '../../model/resources.js';
import { clusterFromObjects, knp } from '../../../test/calico/cluster.js';
import { convertK8sNetworkPolicy, k8sSelectorToCalico, simplifyPorts } from './convert-k8s.js';

function k8s(spec: Record<string, unknown>, name = 'test.policy', namespace = 'default'): K8sNetworkPolicy {
  const { cluster } = clusterFromObjects([knp(namespace, name, spec)]);
  return cluster.k8sNetworkPolicies[0];
}

describe('k8sSelectorToCalico (conversion.go; expectations from conversion_test.go)', () => {
  it.each([
    [{ matchLabels: { label: 'value' } }, 'pod', "projectcalico.org/orchestrator == 'k8s' && label == 'value'"],
    [{}, 'pod', "projectcalico.org/orchestrator == 'k8s'"],
    [{ matchLabels: { podA: 'B', podC: 'D' } }, 'pod', "projectcalico.org/orchestrator == 'k8s' && podA == 'B' && podC == 'D'"],
    [{ matchExpressions: [{ key: 'k', operator: 'In', values: ['v1', 'v2'] }] }, 'pod', "projectcalico.org/orchestrator == 'k8s' && k in { 'v1', 'v2' }"],
    [{ matchLabels: { namespaceRole: 'dev', namespaceFoo: 'bar' } }, 'namespace', "namespaceFoo == 'bar' && namespaceRole == 'dev'"],
    [{}, 'namespace', 'all()'],
    [{ matchExpressions: [{ key: 'a', operator: 'Exists', values: [] }, { key: 'b', operator: 'DoesNotExist', values: [] }, { key: 'c', operator: 'NotIn', values: ['x'] }] }, 'namespace', "has(a) && ! has(b) && c not in { 'x' }"],
  ] as const)('%j (%s) → %s', (sel, type, want) => {
    const s = { matchLabels: {}, matchExpressions: [], ...sel } as Parameters<typeof k8sSelectorToCalico>[0];
    expect(k8sSelectorToCalico(s, type)).toBe(want);
  });
  it('absent selectors', () => {
    expect(k8sSelectorToCalico(undefined, 'pod')).toBe("projectcalico.org/orchestrator == 'k8s'");
    expect(k8sSelectorToCalico(undefined, 'namespace')).toBe('');
  });
});

describe('SimplifyPorts (table transcribed from conversion_test.go "Test port simplification")', () => {
  const parse = (s: string) =>
    s === ''
      ? []
      : s.split(',').map((p) => {
          const m = /^(\d+)(?::(\d+))?$/.exec(p);
          return m ? ({ kind: 'range', from: Number(m[1]), to: Number(m[2] ?? m[1]) } as const) : ({ kind: 'named', name: p } as const);
        });
  const show = (ps: ReturnType<typeof simplifyPorts>) => ps.map((p) => (p.kind === 'named' ? p.name : p.from === p.to ? String(p.from) : `${p.from}:${p.to}`)).join(',');
  it.each([
    ['', ''],
    ['0', '0'],
    ['1', '1'],
    ['65535', '65535'],
    ['0:65535', '0:65535'],
    ['1,2', '1:2'],
    ['2,1', '1:2'],
    ['1,2,4', '1:2,4'],
    ['1,2,3,4,80:81,81:90,9090', '1:4,80:90,9090'],
    ['81:90,4,2,80:81,3,1,9090', '1:4,80:90,9090'],
    ['81:90,4,2,foo,80:81,3,1,9090,http', 'foo,http,1:4,80:90,9090'],
    ['foo', 'foo'],
  ])('%s → %s', (input, want) => {
    expect(show(simplifyPorts(parse(input)))).toBe(want);
  });
});

describe('K8sNetworkPolicyToCalico', () => {
  it('one rule per protocol × peer, protocols sorted (conversion_test.go "multiple peers and ports")', () => {
    const c = convertK8sNetworkPolicy(
      k8s({
        podSelector: { matchLabels: { label: 'value' } },
        ingress: [{ ports: [{ port: 90, protocol: 'UDP' }, { port: 80, protocol: 'TCP' }], from: [{ podSelector: { matchLabels: { k: 'v' } } }, { podSelector: { matchLabels: { k2: 'v2' } } }] }],
        policyTypes: ['Ingress'],
      }),
    );
    expect(c.selector).toBe("projectcalico.org/orchestrator == 'k8s' && label == 'value'");
    expect(c.types).toEqual(['ingress']);
    const rules = c.ingress.rules;
    expect(rules.map((r) => [r.protocol?.raw, r.source.selector, r.destination.ports.map((p) => p.raw)])).toEqual([
      ['TCP', "projectcalico.org/orchestrator == 'k8s' && k == 'v'", [80]],
      ['TCP', "projectcalico.org/orchestrator == 'k8s' && k2 == 'v2'", [80]],
      ['UDP', "projectcalico.org/orchestrator == 'k8s' && k == 'v'", [90]],
      ['UDP', "projectcalico.org/orchestrator == 'k8s' && k2 == 'v2'", [90]],
    ]);
    expect(c.ingress.origins).toEqual([
      { k8sRule: 0, peer: 0, protocol: 'TCP' },
      { k8sRule: 0, peer: 1, protocol: 'TCP' },
      { k8sRule: 0, peer: 0, protocol: 'UDP' },
      { k8sRule: 0, peer: 1, protocol: 'UDP' },
    ]);
  });

  it('egress puts peers and ports in destination; namespaceSelector {} → all()', () => {
    const c = convertK8sNetworkPolicy(k8s({ podSelector: {}, egress: [{ to: [{ namespaceSelector: {} }], ports: [{ port: 'dns', protocol: 'UDP' }] }], policyTypes: ['Egress'] }));
    expect(c.egress.rules).toHaveLength(1);
    const r = c.egress.rules[0];
    expect(r.protocol?.raw).toBe('UDP');
    expect(r.destination.namespaceSelector).toBe('all()');
    expect(r.destination.selector).toBe("projectcalico.org/orchestrator == 'k8s'");
    expect(r.destination.ports).toEqual([{ kind: 'named', name: 'dns', raw: 'dns' }]);
    expect(r.source.selector).toBeUndefined();
  });

  it('ipBlock → nets/notNets in canonical form; endPort → range; consecutive ports merged', () => {
    const c = convertK8sNetworkPolicy(
      k8s({
        podSelector: {},
        egress: [{ to: [{ ipBlock: { cidr: '10.244.1.10/4', except: ['10.244.1.11/32'] } }], ports: [{ port: 8000, endPort: 8080 }, { port: 8081 }, { port: 9000 }] }],
        policyTypes: ['Egress'],
      }),
    );
    const r = c.egress.rules[0];
    expect(r.destination.nets).toEqual(['0.0.0.0/4']);
    expect(r.destination.notNets).toEqual(['10.244.1.11/32']);
    expect(r.destination.ports.map((p) => p.raw)).toEqual(['8000:8081', 9000]);
    expect(r.protocol?.raw).toBe('TCP');
  });

  it('a port entry without port means all ports of the protocol, and wins over listed ports of that protocol', () => {
    const c = convertK8sNetworkPolicy(k8s({ podSelector: {}, ingress: [{ ports: [{ protocol: 'UDP' }, { port: 53, protocol: 'UDP' }, { port: 80 }] }], policyTypes: ['Ingress'] }));
    expect(c.ingress.rules.map((r) => [r.protocol?.raw, r.destination.ports.map((p) => p.raw)])).toEqual([
      ['TCP', [80]],
      ['UDP', []],
    ]);
  });

  it('no ports and no peers → one rule allowing everything', () => {
    const c = convertK8sNetworkPolicy(k8s({ podSelector: {}, ingress: [{}], policyTypes: ['Ingress'] }));
    expect(c.ingress.rules).toHaveLength(1);
    const r = c.ingress.rules[0];
    expect(r.protocol).toBeUndefined();
    expect(r.source).toEqual({ nets: [], notNets: [], ports: [], notPorts: [] });
  });

  it('policyTypes: defaulted by the API server when absent; listed ones otherwise', () => {
    expect(convertK8sNetworkPolicy(k8s({ podSelector: {}, ingress: [{}] })).types).toEqual(['ingress']);
    expect(convertK8sNetworkPolicy(k8s({ podSelector: {}, egress: [{}] })).types).toEqual(['ingress', 'egress']);
    expect(convertK8sNetworkPolicy(k8s({ podSelector: {}, egress: [{}] })).typesFrom).toBe('k8s-defaulted');
    expect(convertK8sNetworkPolicy(k8s({ podSelector: {}, policyTypes: ['Egress'] })).types).toEqual(['egress']);
    const c = convertK8sNetworkPolicy(k8s({ podSelector: {}, egress: [{}], policyTypes: ['Ingress'] }));
    expect(c.types).toEqual(['ingress']);
    expect(c.notes.join()).toContain("don't include 'egress'");
  });

  it('a named port with endPort cannot be converted: Calico drops the whole k8s rule', () => {
    const c = convertK8sNetworkPolicy(k8s({ podSelector: {}, ingress: [{ ports: [{ port: 'http', endPort: 90 }] }, {}], policyTypes: ['Ingress'] }));
    expect(c.ingress.rules).toHaveLength(1);
    expect(c.notes.join()).toContain('ingress rule 0 dropped');
  });
});
