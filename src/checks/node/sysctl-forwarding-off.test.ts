import { describe, expect, it } from 'vitest';
import { check, healthyCluster, node, setSysctl } from '../../../test/checks/bundle-builder.js';
import { sysctlForwardingOff } from './sysctl-forwarding-off.js';

describe('sysctl.forwarding-off', () => {
  it('is silent on healthy clusters', () => {
    expect(check(sysctlForwardingOff, healthyCluster({ mode: 'ipip' })).findings).toEqual([]);
  });

  it('reports net.ipv4.ip_forward = 0', () => {
    const c = healthyCluster();
    setSysctl(node(c, 'node-b'), 'net.ipv4.ip_forward', 0);
    const r = check(sysctlForwardingOff, c);
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0]).toMatchObject({ severity: 'error', node: 'node-b', title: 'IPv4 forwarding is off on node-b' });
    expect(r.findings[0].evidence).toEqual([expect.objectContaining({ artifact: 'nodes/node-b/sysctl.txt', text: 'net.ipv4.ip_forward = 0' })]);
    expect(r.findings[0].remediation.fix?.[0]).toBe('sysctl -w net.ipv4.ip_forward=1  # on node-b');
  });

  it('reports forwarding off on the underlay interface while ip_forward is on', () => {
    const c = healthyCluster();
    setSysctl(node(c, 'node-a'), 'net.ipv4.conf.eth0.forwarding', 0);
    const f = check(sysctlForwardingOff, c).findings[0];
    expect(f.title).toBe('Forwarding is off on eth0 on node-a');
    expect(f.explanation).toContain('eth0 (underlay)');
  });

  it('checks IPv6 forwarding only when there are IPv6 pods', () => {
    const c = healthyCluster();
    setSysctl(node(c, 'node-a'), 'net.ipv6.conf.all.forwarding', 0);
    expect(check(sysctlForwardingOff, c).findings).toEqual([]);
    c.extraObjects.push({ apiVersion: 'crd.projectcalico.org/v1', kind: 'IPPool', metadata: { name: 'v6' }, spec: { cidr: 'fd00:10:244::/48', blockSize: 122, natOutgoing: false } });
    expect(check(sysctlForwardingOff, c).findings.map((f) => f.title)).toEqual(['IPv6 forwarding is off on node-a', 'IPv6 forwarding is off on node-b']);
  });

  it('says when sysctl is missing', () => {
    const c = healthyCluster();
    node(c, 'node-b').omit.add('sysctl.txt');
    expect(check(sysctlForwardingOff, c).notChecked).toEqual([{ check: 'sysctl.forwarding-off', node: 'node-b', reason: 'no sysctl for node node-b' }]);
  });
});
