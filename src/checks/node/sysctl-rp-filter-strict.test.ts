import { describe, expect, it } from 'vitest';
import { check, dropNodeFiles, healthyCluster, node, setSysctl, type ClusterDef } from '../../../test/checks/bundle-builder.js';
import { sysctlRpFilterStrict } from './sysctl-rp-filter-strict.js';

/** The lab's rp-filter-strict fault: a second link node-a ↔ node-b, node-b sends its pods' traffic for node-a over it. */
function secondLink(c: ClusterDef): void {
  const a = node(c, 'node-a');
  const b = node(c, 'node-b');
  a.links.push({ ifindex: 30, ifname: 'eth1', flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'], mtu: 1500, operstate: 'UP', link_type: 'ether', address: '02:00:00:00:01:01', promiscuity: 0, linkinfo: { info_kind: 'veth' }, addr_info: [{ family: 'inet', local: '192.168.255.1', prefixlen: 30, scope: 'global', label: 'eth1' }] });
  b.links.push({ ifindex: 30, ifname: 'eth1', flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'], mtu: 1500, operstate: 'UP', link_type: 'ether', address: '02:00:00:00:01:02', promiscuity: 0, linkinfo: { info_kind: 'veth' }, addr_info: [{ family: 'inet', local: '192.168.255.2', prefixlen: 30, scope: 'global', label: 'eth1' }] });
  a.routes.push({ dst: '192.168.255.0/30', dev: 'eth1', protocol: 'kernel', scope: 'link', prefsrc: '192.168.255.1', flags: [] });
  b.routes.push({ dst: '192.168.255.0/30', dev: 'eth1', protocol: 'kernel', scope: 'link', prefsrc: '192.168.255.2', flags: [] });
  b.routes.push({ dst: a.block, gateway: '192.168.255.1', dev: 'eth1', table: '100', flags: [] });
  b.rules.splice(1, 0, { priority: 100, src: '10.244.2.0', srclen: 26, dst: '10.244.1.0', dstlen: 26, table: '100' });
  setSysctl(a, 'net.ipv4.conf.eth1.rp_filter', 1);
}

describe('sysctl.rp-filter-strict', () => {
  it('is silent on healthy clusters (strict rp_filter on pod veths is symmetric)', () => {
    for (const mode of ['bgp', 'vxlan', 'ipip'] as const) {
      const c = healthyCluster({ mode, nodes: 3 });
      for (const n of c.nodes) setSysctl(n, 'net.ipv4.conf.all.rp_filter', 1);
      expect(check(sysctlRpFilterStrict, c).findings).toEqual([]);
    }
  });

  it('reports strict rp_filter where another node sends pod traffic over a second link', () => {
    for (const mode of ['bgp', 'vxlan'] as const) {
      const c = healthyCluster({ mode });
      secondLink(c);
      setSysctl(node(c, 'node-a'), 'net.ipv4.conf.all.rp_filter', 1);
      const r = check(sysctlRpFilterStrict, c);
      expect(r.findings).toHaveLength(1);
      const f = r.findings[0];
      expect(f).toMatchObject({ severity: 'error', node: 'node-a', subject: 'eth1' });
      expect(f.explanation).toContain(`node-a routes back to 10.244.2.1 via ${mode === 'bgp' ? 'eth0' : 'vxlan.calico'}, not via eth1`);
      expect(f.evidence.map((e) => e.text)).toEqual(expect.arrayContaining(['net.ipv4.conf.eth1.rp_filter = 1', 'net.ipv4.conf.all.rp_filter = 1', '100:\tfrom 10.244.2.0/26 to 10.244.1.0/26 lookup 100']));
      expect(f.remediation.fix?.[1]).toBe('ip rule del priority 100  # on node-b, if the policy route is not intended');
    }
  });

  it('is silent with loose mode on the same asymmetric path', () => {
    const c = healthyCluster();
    secondLink(c);
    setSysctl(node(c, 'node-a'), 'net.ipv4.conf.eth1.rp_filter', 2);
    expect(check(sysctlRpFilterStrict, c).findings).toEqual([]);
  });

  it('assumes the path from the encapsulation for a sender outside the bundle (warning)', () => {
    const c = healthyCluster({ mode: 'vxlan', nodes: 3 });
    dropNodeFiles(node(c, 'node-c'));
    const a = node(c, 'node-a');
    // node-a's route to node-c's block goes out of eth0 unencapsulated, but node-c (VXLAN Always) encapsulates.
    const r = a.routes.find((x) => x.dst === '10.244.3.0/26')!;
    Object.assign(r, { gateway: '10.0.0.13', dev: 'eth0', flags: [] });
    setSysctl(a, 'net.ipv4.conf.vxlan/calico.rp_filter', 1);
    const f = check(sysctlRpFilterStrict, c).findings[0];
    expect(f).toMatchObject({ severity: 'warning', subject: 'vxlan.calico' });
    expect(f.explanation).toContain('(assumed: node-c is not in the bundle)');
  });

  it('says when sysctl or routes are missing', () => {
    const c = healthyCluster();
    node(c, 'node-a').omit.add('sysctl.txt');
    node(c, 'node-b').omit.add('ip-route.json');
    expect(check(sysctlRpFilterStrict, c).notChecked.map((x) => x.reason)).toEqual(['no sysctl for node node-a', 'no ip-route for node node-b']);
  });
});
