import { describe, expect, it } from 'vitest';
import { build, check, healthyCluster, node, podsOn, runCheck, tunnelIp } from '../../../test/checks/bundle-builder.js';
import { traceFlow } from '../../trace/flow.js';
import { tunnelVxlanFdbMissing } from './tunnel-vxlan-fdb-missing.js';

describe('tunnel.vxlan-fdb-missing', () => {
  it('is silent on healthy clusters (and on non-VXLAN ones)', () => {
    for (const mode of ['bgp', 'vxlan', 'ipip'] as const) expect(check(tunnelVxlanFdbMissing, healthyCluster({ mode, nodes: 3 })).findings).toEqual([]);
  });

  it('reports a VTEP without a neighbour entry', () => {
    const c = healthyCluster({ mode: 'vxlan' });
    const n = node(c, 'node-a');
    n.neigh = n.neigh.filter((x) => x.dst !== tunnelIp(1));
    const b = build(c);
    const f = runCheck(tunnelVxlanFdbMissing, b).findings[0];
    expect(f).toMatchObject({ severity: 'error', node: 'node-a', subject: tunnelIp(1), title: 'VXLAN to node-b is not programmed on node-a' });
    expect(f.explanation).toContain(`there is no neighbour (ARP) entry for ${tunnelIp(1)} on vxlan.calico`);
    expect(f.remediation.fix?.[0]).toBe(`ip neigh replace ${tunnelIp(1)} lladdr 66:aa:00:00:01:00 dev vxlan.calico nud permanent  # on node-a`);
    const [s, d] = [podsOn(c, 'node-a')[0], podsOn(c, 'node-b')[0]];
    expect(traceFlow(b, { from: `${s.namespace}/${s.name}`, to: `${d.namespace}/${d.name}`, protocol: 'ICMP' }).dropped?.where).toBe('neighbour');
  });

  it('reports a MAC without an FDB destination', () => {
    const c = healthyCluster({ mode: 'vxlan' });
    const n = node(c, 'node-b');
    n.fdb = n.fdb.filter((x) => x.ifname !== 'vxlan.calico');
    const f = check(tunnelVxlanFdbMissing, c).findings[0];
    expect(f.explanation).toContain('there is no FDB entry with a destination for MAC 66:aa:00:00:00:00 on vxlan.calico');
    expect(f.remediation.fix?.[0]).toBe('bridge fdb replace 66:aa:00:00:00:00 dev vxlan.calico dst 10.0.0.11 self permanent  # on node-b');
  });

  it('reports an FDB entry that points at the wrong host, and a stale MAC', () => {
    const c = healthyCluster({ mode: 'vxlan', nodes: 3 });
    const n = node(c, 'node-a');
    n.fdb.find((x) => x.mac === '66:aa:00:00:01:00')!.dst = '10.0.0.99';
    n.neigh.find((x) => x.dst === tunnelIp(2))!.lladdr = '66:aa:00:00:09:09';
    const r = check(tunnelVxlanFdbMissing, c).findings;
    expect(r.map((f) => f.subject).sort()).toEqual([tunnelIp(1), tunnelIp(2)]);
    expect(r.find((f) => f.subject === tunnelIp(1))!.explanation).toContain('sends MAC 66:aa:00:00:01:00 to 10.0.0.99, but node-b (owner of VTEP 10.244.2.0) is at 10.0.0.12');
    expect(r.find((f) => f.subject === tunnelIp(2))!.explanation).toContain("but node-c's VXLAN MAC is 66:aa:00:00:02:00");
  });

  it('says when the neighbour capture is missing', () => {
    const c = healthyCluster({ mode: 'vxlan' });
    node(c, 'node-a').omit.add('ip-neigh.json');
    expect(check(tunnelVxlanFdbMissing, c).notChecked).toEqual([{ check: 'tunnel.vxlan-fdb-missing', node: 'node-a', reason: 'no ip-neigh for node node-a' }]);
  });
});
