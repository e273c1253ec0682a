import { describe, expect, it } from 'vitest';
import { build, check, healthyCluster, link, node, podsOn, runCheck } from '../../../test/checks/bundle-builder.js';
import { traceFlow } from '../../trace/flow.js';
import { mtuMismatch } from './mtu-mismatch.js';

describe('mtu.mismatch', () => {
  it('is silent on healthy clusters', () => {
    for (const mode of ['bgp', 'vxlan', 'ipip'] as const) expect(check(mtuMismatch, healthyCluster({ mode, nodes: 3 })).findings).toEqual([]);
  });

  it('reports pod veths larger than vxlan.calico (the lab vxlan variant)', () => {
    const c = healthyCluster({ mode: 'vxlan' });
    for (const p of podsOn(c, 'node-b')) link(node(c, 'node-b'), p.iface).mtu = 1500;
    const b = build(c);
    const r = runCheck(mtuMismatch, b);
    expect(r.findings).toHaveLength(1);
    const f = r.findings[0];
    expect(f).toMatchObject({ severity: 'error', node: 'node-b', subject: 'vxlan.calico', title: 'Pod MTU 1500 on node-b is larger than vxlan.calico (1450) toward node-a' });
    expect(f.remediation.summary).toContain('at most 1450');
    const [s, d] = [podsOn(c, 'node-b')[0], podsOn(c, 'node-a')[0]];
    const t = traceFlow(b, { from: `${s.namespace}/${s.name}`, to: `${d.namespace}/${d.name}`, protocol: 'TCP', port: 80, size: 1500 });
    expect(t.dropped?.where).toBe('mtu');
  });

  it('reports an underlay smaller than the pods without encapsulation (the lab bgp variant)', () => {
    const c = healthyCluster({ mode: 'bgp', nodes: 3 });
    link(node(c, 'node-c'), 'eth0').mtu = 1400;
    const r = check(mtuMismatch, c);
    expect(r.findings.map((f) => [f.node, f.title])).toEqual([['node-c', 'Pod MTU 1500 on node-c is larger than eth0 (1400) toward node-a, node-b']]);
  });

  it('warns when a tunnel is larger than the underlay minus its overhead', () => {
    const c = healthyCluster({ mode: 'ipip' });
    link(node(c, 'node-a'), 'tunl0').mtu = 1500;
    const f = check(mtuMismatch, c).findings[0];
    expect(f).toMatchObject({ severity: 'warning', subject: 'tunl0', title: 'tunl0 MTU 1500 exceeds eth0 MTU 1500 minus 20 bytes of ipip on node-a' });
    expect(f.remediation.fix?.[0]).toContain('"ipipMTU":1480');
  });

  it('reports a node whose underlay is smaller than what other nodes send it', () => {
    const c = healthyCluster({ mode: 'bgp' });
    const n = node(c, 'node-b');
    link(n, 'eth0').mtu = 1400;
    for (const p of podsOn(c, 'node-b')) link(n, p.iface).mtu = 1400;
    const f = check(mtuMismatch, c).findings[0];
    expect(f).toMatchObject({ node: 'node-b', title: "node-b's underlay MTU 1400 is smaller than other nodes' pod MTU" });
  });

  it('says when there is no interface capture', () => {
    const c = healthyCluster();
    node(c, 'node-a').omit.add('ip-addr.json');
    expect(check(mtuMismatch, c).notChecked).toEqual([{ check: 'mtu.mismatch', node: 'node-a', reason: 'no ip-addr or ip-link for node node-a' }]);
  });
});
