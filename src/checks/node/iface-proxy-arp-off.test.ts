import { describe, expect, it } from 'vitest';
import { build, check, healthyCluster, node, podsOn, runCheck, setSysctl } from '../../../test/checks/bundle-builder.js';
import { traceFlow } from '../../trace/flow.js';
import { ifaceProxyArpOff } from './iface-proxy-arp-off.js';

describe('iface.proxy-arp-off', () => {
  it('is silent on healthy clusters', () => {
    expect(check(ifaceProxyArpOff, healthyCluster({ mode: 'vxlan' })).findings).toEqual([]);
  });

  it("reports proxy_arp=0 on a pod's veth, quoting the sysctl line", () => {
    const c = healthyCluster();
    const p = podsOn(c, 'node-b')[0];
    setSysctl(node(c, 'node-b'), `net.ipv4.conf.${p.iface}.proxy_arp`, 0);
    const b = build(c);
    const f = runCheck(ifaceProxyArpOff, b).findings[0];
    expect(f).toMatchObject({ severity: 'error', node: 'node-b', subject: `${p.namespace}/${p.name}` });
    expect(f.evidence[0]).toMatchObject({ artifact: 'nodes/node-b/sysctl.txt', text: `net.ipv4.conf.${p.iface}.proxy_arp = 0` });
    expect(f.evidence[0].line).toBeGreaterThan(0);
    expect(f.remediation.fix?.[0]).toBe(`sysctl -w net.ipv4.conf.${p.iface}.proxy_arp=1  # on node-b`);
    const from = podsOn(c, 'node-b')[0];
    const to = podsOn(c, 'node-a')[0];
    const t = traceFlow(b, { from: `${from.namespace}/${from.name}`, to: `${to.namespace}/${to.name}`, protocol: 'ICMP' });
    expect(t.verdict).toBe('dropped');
    expect(t.dropped?.reason).toContain('proxy_arp is off');
  });

  it('follows the kernel: conf.all.proxy_arp=1 turns it on for every interface', () => {
    const c = healthyCluster();
    const n = node(c, 'node-a');
    setSysctl(n, `net.ipv4.conf.${podsOn(c, 'node-a')[0].iface}.proxy_arp`, 0);
    setSysctl(n, 'net.ipv4.conf.all.proxy_arp', 1);
    expect(check(ifaceProxyArpOff, c).findings).toEqual([]);
  });

  it('says when sysctl is missing', () => {
    const c = healthyCluster();
    node(c, 'node-a').omit.add('sysctl.txt');
    expect(check(ifaceProxyArpOff, c).notChecked).toEqual([{ check: 'iface.proxy-arp-off', node: 'node-a', reason: 'no sysctl for node node-a' }]);
  });
});
