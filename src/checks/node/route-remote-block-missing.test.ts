import { describe, expect, it } from 'vitest';
import { check, healthyCluster, node, podsOn, removeRoute } from '../../../test/checks/bundle-builder.js';
import { routeRemoteBlockMissing } from './route-remote-block-missing.js';

const BIRD_PROTOCOLS = `BIRD 1.6.8 ready.
name     proto    table    state  since       info
static1  Static   master   up     11:20:35
kernel1  Kernel   master   up     11:20:35
device1  Device   master   up     11:20:35
direct1  Direct   master   up     11:20:35
Mesh_10_0_0_12 BGP      master   start  11:21:41    Active        Socket: Connection refused
`;

describe('route.remote-block-missing', () => {
  it('is silent on healthy clusters', () => {
    for (const mode of ['bgp', 'vxlan', 'ipip'] as const) {
      const r = check(routeRemoteBlockMissing, healthyCluster({ mode, nodes: 3 }));
      expect(r.findings).toEqual([]);
      expect(r.notChecked).toEqual([]);
    }
  });

  it("reports a remote block whose BGP route is missing, with the session's state", () => {
    const c = healthyCluster({ mode: 'bgp' });
    removeRoute(node(c, 'node-a'), '10.244.2.0/26');
    node(c, 'node-a').extra['bird-protocols.txt'] = BIRD_PROTOCOLS;
    const r = check(routeRemoteBlockMissing, c);
    expect(r.findings).toHaveLength(1);
    const f = r.findings[0];
    expect(f).toMatchObject({ severity: 'error', node: 'node-a', subject: 'node-b' });
    expect(f.title).toBe('node-a has no route to block 10.244.2.0/26 of node-b');
    expect(f.explanation).toContain('ends at 0.0.0.0/0 via 10.0.0.1 dev eth0');
    expect(f.explanation).toContain('the BGP session with node-b is Active');
    const ipam = f.evidence.find((e) => e.artifact === 'cluster/ipamblocks.crd.projectcalico.org.yaml')!;
    expect(ipam.text).toBe('cidr: 10.244.2.0/26');
    expect(f.evidence.some((e) => e.artifact === 'nodes/node-a/bird-protocols.txt' && e.line === 7)).toBe(true);
    expect(f.evidence.some((e) => e.node === 'node-b' && e.note === 'JSON element 2; node-b does hold the block')).toBe(true);
  });

  it('names Felix and vxlan.calico in VXLAN mode', () => {
    const c = healthyCluster({ mode: 'vxlan' });
    removeRoute(node(c, 'node-b'), '10.244.1.0/26');
    const f = check(routeRemoteBlockMissing, c).findings[0];
    expect(f.severity).toBe('error');
    expect(f.explanation).toContain('Felix (VXLAN routes via vxlan.calico)');
    expect(f.remediation.confirm).toContain('ip route show dev vxlan.calico  # on node-b');
  });

  it('finds blocks from the nodes\u2019 own blackholes when the IPAM objects are not in the bundle', () => {
    const c = healthyCluster({ mode: 'bgp' });
    c.noIpam = true;
    removeRoute(node(c, 'node-b'), '10.244.1.0/26');
    const f = check(routeRemoteBlockMissing, c).findings[0];
    expect(f.evidence[0]).toMatchObject({ artifact: 'nodes/node-a/ip-route.json', note: "JSON element 2; node-a's blackhole for its own block" });
  });

  it('is a warning for a block without pods', () => {
    const c = healthyCluster({ mode: 'bgp' });
    for (const p of podsOn(c, 'node-b')) {
      c.pods.splice(c.pods.indexOf(p), 1);
      node(c, 'node-b').routes = node(c, 'node-b').routes.filter((r) => r.dst !== p.ip);
    }
    removeRoute(node(c, 'node-a'), '10.244.2.0/26');
    const f = check(routeRemoteBlockMissing, c).findings[0];
    expect(f.severity).toBe('warning');
    expect(f.explanation).toContain('No pod uses these addresses yet');
  });

  it('reports a remote pod borrowed from another block without its own route', () => {
    const c = healthyCluster({ mode: 'bgp', nodes: 3 });
    // A pod on node-c with an address of node-b's block: node-a needs a /32 via node-c.
    c.pods.push({ namespace: 'frontend', name: 'borrowed', ip: '10.244.2.40', node: 'node-c', iface: 'calib0rr0wed000' });
    const f = check(routeRemoteBlockMissing, c).findings.find((x) => x.node === 'node-a')!;
    expect(f.title).toContain("pod frontend/borrowed (10.244.2.40, borrowed from node-b's block 10.244.2.0/26)");
  });

  it('says when there is nothing to compare with', () => {
    const c = healthyCluster({ mode: 'bgp' });
    c.noIpam = true;
    for (const n of c.nodes) n.routes = n.routes.filter((r) => r.type !== 'blackhole');
    expect(check(routeRemoteBlockMissing, c).notChecked.map((x) => x.node)).toEqual(['node-a', 'node-b']);
  });
});
