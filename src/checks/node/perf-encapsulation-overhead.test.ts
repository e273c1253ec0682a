import { describe, expect, it } from 'vitest';
import { check, healthyCluster } from '../../../test/checks/bundle-builder.js';
import { perfEncapsulationOverhead } from './perf-encapsulation-overhead.js';

describe('perf.encapsulation-overhead', () => {
  it('is silent without encapsulation or with CrossSubnet', () => {
    expect(check(perfEncapsulationOverhead, healthyCluster({ mode: 'bgp' })).findings).toEqual([]);
    const c = healthyCluster({ mode: 'vxlan' });
    c.pool.vxlanMode = 'CrossSubnet';
    expect(check(perfEncapsulationOverhead, c).findings).toEqual([]);
  });

  it('reports VXLAN Always between nodes of one subnet with the byte cost and the CrossSubnet patch', () => {
    const f = check(perfEncapsulationOverhead, healthyCluster({ mode: 'vxlan', nodes: 3 })).findings[0];
    expect(f).toMatchObject({ severity: 'info', subject: 'default-ipv4-ippool' });
    expect(f.title).toBe('Pool default-ipv4-ippool always encapsulates (VXLAN, 50 bytes per packet) though all 3 nodes share 10.0.0.0/24');
    expect(f.explanation).toContain('(3.3% of a 1500-byte packet; the pod MTU drops to 1450)');
    expect(f.remediation.yaml).toContain('vxlanMode: CrossSubnet');
    expect(f.evidence[0].text).toBe('vxlanMode: Always');
  });

  it('reports IP-in-IP with 20 bytes', () => {
    expect(check(perfEncapsulationOverhead, healthyCluster({ mode: 'ipip' })).findings[0].title).toContain('IP-in-IP, 20 bytes per packet');
  });

  it('is silent when the nodes are in different subnets', () => {
    const c = healthyCluster({ mode: 'vxlan' });
    const n = c.nodes[1];
    n.ip = '10.0.1.12';
    const eth0 = n.links.find((l) => l.ifname === 'eth0')!;
    (eth0.addr_info as { local: string }[])[0].local = n.ip;
    expect(check(perfEncapsulationOverhead, c).findings).toEqual([]);
  });
});
