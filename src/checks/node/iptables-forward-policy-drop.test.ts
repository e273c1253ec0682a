import { describe, expect, it } from 'vitest';
import { check, felixDump, healthyCluster, node } from '../../../test/checks/bundle-builder.js';
import { iptablesForwardPolicyDrop } from './iptables-forward-policy-drop.js';

describe('iptables.forward-policy-drop', () => {
  it("is silent with policy DROP when Felix's FORWARD accept rules are in place (Docker hosts)", () => {
    const c = healthyCluster();
    for (const n of c.nodes) n.forwardPolicy = 'DROP';
    expect(check(iptablesForwardPolicyDrop, c).findings).toEqual([]);
  });

  it('reports pod traffic falling to the DROP policy when the append rules are gone', () => {
    const c = healthyCluster({ mode: 'vxlan' });
    const n = node(c, 'node-b');
    n.forwardPolicy = 'DROP';
    n.noFelixForwardAppend = true;
    const r = check(iptablesForwardPolicyDrop, c);
    expect(r.findings).toHaveLength(1);
    const f = r.findings[0];
    expect(f).toMatchObject({ severity: 'error', node: 'node-b', subject: 'FORWARD' });
    expect(f.evidence[0]).toMatchObject({ text: ':FORWARD DROP [0:0]' });
    expect(f.explanation).toContain('Felix appends "-m mark --mark 0x10000/0x10000 -j ACCEPT" to FORWARD');
  });

  it('reports a mangle FORWARD policy DROP too (Calico accepts only in filter)', () => {
    const c = healthyCluster();
    const n = node(c, 'node-a');
    n.iptables = felixDump(c, n).replace('*filter', '*mangle\n:PREROUTING ACCEPT [0:0]\n:FORWARD DROP [0:0]\nCOMMIT\n*filter');
    const f = check(iptablesForwardPolicyDrop, c).findings[0];
    expect(f).toMatchObject({ severity: 'error', title: 'Pod traffic on node-a falls to the mangle FORWARD policy DROP' });
    expect(f.remediation.fix?.[1]).toContain('iptables -t mangle -P FORWARD ACCEPT');
  });

  it('is silent with policy ACCEPT', () => {
    const c = healthyCluster();
    node(c, 'node-a').noFelixForwardAppend = true;
    expect(check(iptablesForwardPolicyDrop, c).findings).toEqual([]);
  });

  it('says when iptables-save is missing', () => {
    const c = healthyCluster();
    node(c, 'node-b').omit.add('iptables-save.txt');
    expect(check(iptablesForwardPolicyDrop, c).notChecked).toEqual([{ check: 'iptables.forward-policy-drop', node: 'node-b', reason: 'no iptables-save for node node-b' }]);
  });
});
