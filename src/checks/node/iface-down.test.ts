import { describe, expect, it } from 'vitest';
import { check, healthyCluster, link, node, podsOn } from '../../../test/checks/bundle-builder.js';
import { ifaceDown } from './iface-down.js';

describe('iface.down', () => {
  it('is silent on healthy clusters', () => {
    for (const mode of ['bgp', 'vxlan', 'ipip'] as const) expect(check(ifaceDown, healthyCluster({ mode })).findings).toEqual([]);
  });

  it('reports a pod veth that is administratively down', () => {
    const c = healthyCluster();
    const p = podsOn(c, 'node-b')[0];
    const l = link(node(c, 'node-b'), p.iface);
    l.flags = ['BROADCAST', 'MULTICAST'];
    l.operstate = 'DOWN';
    const f = check(ifaceDown, c).findings[0];
    expect(f).toMatchObject({ severity: 'error', node: 'node-b', subject: p.iface });
    expect(f.title).toBe(`1 pod veth down on node-b (${p.namespace}/${p.name})`);
    expect(f.evidence[0].text).toMatch(new RegExp(`^\\d+: ${p.iface}@if2: <BROADCAST,MULTICAST> mtu 1500 state DOWN$`));
    expect(f.remediation.fix?.[0]).toBe(`ip link set ${p.iface} up  # on node-b`);
  });

  it('reports a veth whose pod side is down (no carrier)', () => {
    const c = healthyCluster();
    const p = podsOn(c, 'node-a')[1];
    const l = link(node(c, 'node-a'), p.iface);
    l.flags = ['NO-CARRIER', 'BROADCAST', 'MULTICAST', 'UP', 'M-DOWN'];
    l.operstate = 'LOWERLAYERDOWN';
    const f = check(ifaceDown, c).findings[0];
    expect(f.explanation).toContain('the other end of the veth (the pod side) is down');
  });

  it('reports vxlan.calico down with the routes that died with it', () => {
    const c = healthyCluster({ mode: 'vxlan' });
    const l = link(node(c, 'node-a'), 'vxlan.calico');
    l.flags = ['BROADCAST', 'MULTICAST'];
    l.operstate = 'DOWN';
    const f = check(ifaceDown, c).findings[0];
    expect(f).toMatchObject({ severity: 'error', subject: 'vxlan.calico', title: 'vxlan.calico is down on node-a' });
    expect(f.evidence.filter((e) => e.note?.includes('dead while it is down'))).toHaveLength(1);
  });

  it('reports the underlay interface', () => {
    const c = healthyCluster();
    link(node(c, 'node-b'), 'eth0').flags = ['BROADCAST', 'MULTICAST'];
    const f = check(ifaceDown, c).findings[0];
    expect(f.explanation).toContain('the underlay interface (holds the node address 10.0.0.12)');
  });

  it('ignores a down interface nothing uses', () => {
    const c = healthyCluster();
    node(c, 'node-a').links.push({ ifindex: 40, ifname: 'docker0', flags: ['NO-CARRIER', 'BROADCAST', 'MULTICAST', 'UP'], mtu: 1500, operstate: 'DOWN', link_type: 'ether', address: '02:42:00:00:00:01', promiscuity: 0, linkinfo: { info_kind: 'bridge' }, addr_info: [] });
    expect(check(ifaceDown, c).findings).toEqual([]);
  });

  it('says when there is no interface capture', () => {
    const c = healthyCluster();
    node(c, 'node-a').omit.add('ip-addr.json');
    expect(check(ifaceDown, c).notChecked).toEqual([{ check: 'iface.down', node: 'node-a', reason: 'no ip-addr or ip-link for node node-a' }]);
  });
});
