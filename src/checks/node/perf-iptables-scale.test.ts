import { describe, expect, it } from 'vitest';
import { check, healthyCluster, node } from '../../../test/checks/bundle-builder.js';
import { generateCalicoRuleset } from '../../../bench/gen/iptables.js';
import { perfIptablesScale } from './perf-iptables-scale.js';

describe('perf.iptables-scale', () => {
  it('is silent on a normal ruleset', () => {
    expect(check(perfIptablesScale, healthyCluster()).findings).toEqual([]);
  });

  it('warns above 20,000 rules, with the split between Calico and kube-proxy', () => {
    const c = healthyCluster();
    node(c, 'node-a').iptables = generateCalicoRuleset({ rules: 25_000, seed: 7 });
    const f = check(perfIptablesScale, c).findings[0];
    expect(f).toMatchObject({ severity: 'warning', node: 'node-a' });
    expect(f.explanation).toMatch(/has \d{5} iptables rules \(Calico \d+, kube-proxy \d+\)/);
    expect(f.remediation.fix?.[0]).toContain('bpfEnabled');
  });

  it('warns above 5,000 KUBE-SERVICES entries, pointing at the chain', () => {
    const c = healthyCluster();
    const lines = ['*nat', ':PREROUTING ACCEPT [0:0]', ':KUBE-SERVICES - [0:0]', ':cali-nat-outgoing - [0:0]'];
    for (let i = 0; i < 5200; i++) lines.push(`-A KUBE-SERVICES -d 10.96.${i >> 8}.${i & 255}/32 -p tcp -m comment --comment "ns/svc-${i}:http cluster IP" -m tcp --dport 80 -j KUBE-SVC-${String(i).padStart(16, 'A')}`);
    lines.push('COMMIT');
    node(c, 'node-b').iptables = lines.join('\n') + '\n';
    const f = check(perfIptablesScale, c).findings[0];
    expect(f.title).toBe('5,200 iptables rules on node-b, 5,200 KUBE-SERVICES entries');
    expect(f.evidence[0]).toMatchObject({ artifact: 'nodes/node-b/iptables-save.txt', line: 3, note: 'KUBE-SERVICES: 5200 rules' });
  });

  it('says when there is neither a dump nor metrics', () => {
    const c = healthyCluster();
    node(c, 'node-a').omit.add('iptables-save.txt');
    node(c, 'node-a').felixMetrics = undefined;
    expect(check(perfIptablesScale, c).notChecked).toEqual([{ check: 'perf.iptables-scale', node: 'node-a', reason: 'no iptables-save or felix-metrics for node node-a' }]);
  });
});
