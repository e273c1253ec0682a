import { describe, expect, it } from 'vitest';
import { check, healthyCluster, ipsetSave, node } from '../../../test/checks/bundle-builder.js';
import { natOutgoingDisabled } from './nat-outgoing-disabled.js';

describe('nat.outgoing-disabled', () => {
  it('is silent on healthy clusters', () => {
    for (const mode of ['bgp', 'vxlan', 'ipip'] as const) {
      const r = check(natOutgoingDisabled, healthyCluster({ mode }));
      expect(r.findings).toEqual([]);
      expect(r.notChecked).toEqual([]);
    }
  });

  it('warns about a pool without natOutgoing that holds pods, with the patch', () => {
    const c = healthyCluster();
    c.pool.natOutgoing = false;
    const r = check(natOutgoingDisabled, c);
    expect(r.findings).toHaveLength(1);
    const f = r.findings[0];
    expect(f).toMatchObject({ severity: 'warning', subject: 'default-ipv4-ippool' });
    expect(f.evidence[0]).toMatchObject({ artifact: 'cluster/ippools.crd.projectcalico.org.yaml', text: 'natOutgoing: false' });
    expect(f.remediation.yaml).toContain('natOutgoing: true');
  });

  it('reports a natOutgoing pool whose MASQUERADE rule is missing on a node', () => {
    const c = healthyCluster({ mode: 'vxlan' });
    node(c, 'node-b').noNatOutgoingRule = true;
    const r = check(natOutgoingDisabled, c);
    expect(r.findings.map((f) => [f.severity, f.node])).toEqual([['error', 'node-b']]);
    expect(r.findings[0].explanation).toContain('cali-nat-outgoing has no MASQUERADE rule');
  });

  it('reports a masq IP set without the pool CIDR', () => {
    const c = healthyCluster();
    node(c, 'node-a').ipset = ipsetSave(c).replace('add cali40masq-ipam-pools 10.244.0.0/16\n', '');
    const f = check(natOutgoingDisabled, c).findings[0];
    expect(f).toMatchObject({ severity: 'error', node: 'node-a' });
    expect(f.explanation).toContain('IP set cali40masq-ipam-pools does not contain 10.244.0.0/16');
    expect(f.evidence.some((e) => e.artifact === 'nodes/node-a/ipset.txt' && e.text?.startsWith('create cali40masq-ipam-pools'))).toBe(true);
  });

  it('does not guess in eBPF mode or without Calico nat chains', () => {
    const c = healthyCluster();
    c.felixConfig = { apiVersion: 'crd.projectcalico.org/v1', kind: 'FelixConfiguration', metadata: { name: 'default' }, spec: { bpfEnabled: true } };
    expect(check(natOutgoingDisabled, c).notChecked.map((x) => x.reason)).toEqual([expect.stringContaining('eBPF mode on node-a'), expect.stringContaining('eBPF mode on node-b')]);
    const d = healthyCluster();
    node(d, 'node-a').iptables = '*nat\n:PREROUTING ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n';
    expect(check(natOutgoingDisabled, d).notChecked).toEqual([{ check: 'nat.outgoing-disabled', node: 'node-a', reason: expect.stringContaining('no Calico chains in the nat table of node-a') }]);
  });
});
