import { describe, expect, it } from 'vitest';
import { check, healthyCluster, node } from '../../../test/checks/bundle-builder.js';
import { tunnelMissing } from './tunnel-missing.js';

describe('tunnel.missing', () => {
  it('is silent on healthy clusters', () => {
    for (const mode of ['bgp', 'vxlan', 'ipip'] as const) expect(check(tunnelMissing, healthyCluster({ mode })).findings).toEqual([]);
  });

  it('reports a node without vxlan.calico in a VXLAN Always pool', () => {
    const c = healthyCluster({ mode: 'vxlan' });
    const n = node(c, 'node-b');
    n.links = n.links.filter((l) => l.ifname !== 'vxlan.calico');
    n.routes = n.routes.filter((r) => r.dev !== 'vxlan.calico');
    const r = check(tunnelMissing, c);
    expect(r.findings).toHaveLength(1);
    const f = r.findings[0];
    expect(f).toMatchObject({ severity: 'error', node: 'node-b', subject: 'vxlan.calico' });
    expect(f.evidence[0]).toMatchObject({ artifact: 'cluster/ippools.crd.projectcalico.org.yaml', text: 'vxlanMode: Always' });
  });

  it('names FelixConfiguration when it turns the encapsulation off', () => {
    const c = healthyCluster({ mode: 'ipip' });
    for (const n of c.nodes) {
      n.links = n.links.filter((l) => l.ifname !== 'tunl0');
      n.routes = n.routes.filter((r) => r.dev !== 'tunl0');
    }
    c.felixConfig = { apiVersion: 'crd.projectcalico.org/v1', kind: 'FelixConfiguration', metadata: { name: 'default' }, spec: { ipipEnabled: false } };
    const r = check(tunnelMissing, c);
    expect(r.findings).toHaveLength(2);
    expect(r.findings[0].explanation).toContain('sets ipipEnabled: false');
    expect(r.findings[0].evidence.some((e) => e.text === 'ipipEnabled: false')).toBe(true);
    expect(r.findings[0].remediation.fix).toEqual([`calicoctl patch felixconfiguration default --patch '{"spec":{"ipipEnabled":true}}'`]);
  });

  it('is a warning for CrossSubnet when every node shares one subnet', () => {
    const c = healthyCluster({ mode: 'vxlan' });
    c.pool.vxlanMode = 'CrossSubnet';
    const n = node(c, 'node-a');
    n.links = n.links.filter((l) => l.ifname !== 'vxlan.calico');
    n.routes = n.routes.filter((r) => r.dev !== 'vxlan.calico');
    expect(check(tunnelMissing, c).findings.map((f) => f.severity)).toEqual(['warning']);
  });

  it('reports routes through a tunnel device that does not exist', () => {
    const c = healthyCluster({ mode: 'ipip' });
    const n = node(c, 'node-a');
    n.links = n.links.filter((l) => l.ifname !== 'tunl0');
    const titles = check(tunnelMissing, c).findings.map((f) => f.title);
    expect(titles).toContain('Routes on node-a use tunl0, which does not exist');
  });

  it('does not require a tunnel on nodes the pool does not select', () => {
    const c = healthyCluster({ mode: 'vxlan' });
    c.extraObjects.push({ apiVersion: 'crd.projectcalico.org/v1', kind: 'IPPool', metadata: { name: 'edge' }, spec: { cidr: '10.250.0.0/16', vxlanMode: 'Always', ipipMode: 'Never', nodeSelector: "zone == 'edge'", natOutgoing: true } });
    c.pool.vxlanMode = 'Never';
    for (const n of c.nodes) {
      n.links = n.links.filter((l) => l.ifname !== 'vxlan.calico');
      n.routes = n.routes.filter((r) => r.dev !== 'vxlan.calico');
    }
    expect(check(tunnelMissing, c).findings).toEqual([]);
  });

  it('says when there is no interface capture', () => {
    const c = healthyCluster({ mode: 'vxlan' });
    node(c, 'node-b').omit.add('ip-addr.json');
    expect(check(tunnelMissing, c).notChecked).toEqual([{ check: 'tunnel.missing', node: 'node-b', reason: 'no ip-addr or ip-link for node node-b' }]);
  });
});
