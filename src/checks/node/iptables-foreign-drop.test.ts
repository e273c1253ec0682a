import { describe, expect, it } from 'vitest';
import { build, check, healthyCluster, node, podsOn, runCheck } from '../../../test/checks/bundle-builder.js';
import { traceFlow } from '../../trace/flow.js';
import { iptablesForeignDrop } from './iptables-foreign-drop.js';

describe('iptables.foreign-drop', () => {
  it("is silent on healthy clusters (Calico's and kube-proxy's own DROP rules are not foreign)", () => {
    for (const mode of ['bgp', 'vxlan', 'ipip'] as const) {
      const r = check(iptablesForeignDrop, healthyCluster({ mode }));
      expect(r.findings).toEqual([]);
      expect(r.notChecked).toEqual([]);
    }
  });

  it('reports a DROP at the top of FORWARD that decides pod traffic (the lab iptables-drop fault)', () => {
    const c = healthyCluster();
    const victim = podsOn(c, 'node-b')[0];
    node(c, 'node-b').filterTop.FORWARD = [`-d ${victim.ip}/32 -j DROP`];
    const b = build(c);
    const r = runCheck(iptablesForeignDrop, b);
    expect(r.findings).toHaveLength(1);
    const f = r.findings[0];
    expect(f).toMatchObject({ severity: 'error', node: 'node-b', subject: 'filter/FORWARD#1', title: 'filter/FORWARD rule 1 (DROP) drops pod traffic on node-b' });
    expect(f.evidence[0]).toMatchObject({ artifact: 'nodes/node-b/iptables-save.txt', text: `-A FORWARD -d ${victim.ip}/32 -j DROP` });
    expect(f.evidence[1].note).toBe("Calico's chain comes later (rule 2 vs 1)");
    expect(f.explanation).toContain(`→ ${victim.ip}:80`);
    expect(f.remediation.fix).toEqual([`iptables -t filter -D FORWARD -d ${victim.ip}/32 -j DROP  # on node-b`]);
    const from = podsOn(c, 'node-a')[0];
    const t = traceFlow(b, { from: `${from.namespace}/${from.name}`, to: `${victim.namespace}/${victim.name}`, protocol: 'TCP', port: 80 });
    expect(t.dropped).toMatchObject({ node: 'node-b', chain: 'FORWARD', rule: 1 });
  });

  it('follows jumps: a DOCKER-USER REJECT for the pool reached before cali-FORWARD', () => {
    const c = healthyCluster({ mode: 'vxlan' });
    const n = node(c, 'node-a');
    n.filterTop.FORWARD = ['-j DOCKER-USER'];
    n.filterTop['DOCKER-USER'] = ['-s 10.244.0.0/16 -p tcp -m tcp --dport 5432 -j REJECT --reject-with icmp-port-unreachable'];
    n.filterBottom['DOCKER-USER'] = ['-j RETURN'];
    const f = check(iptablesForeignDrop, c).findings[0];
    expect(f).toMatchObject({ severity: 'error', subject: 'filter/DOCKER-USER#1' });
    expect(f.explanation).toContain(':5432');
    expect(f.evidence[1]).toMatchObject({ text: '-A FORWARD -j DOCKER-USER', note: 'how packets reach DOCKER-USER' });
  });

  it('ignores a foreign DROP placed after what Calico accepts', () => {
    const c = healthyCluster();
    node(c, 'node-a').filterBottom.FORWARD = ['-j DROP'];
    expect(check(iptablesForeignDrop, c).findings).toEqual([]);
  });

  it('reports VXLAN dropped in INPUT before cali-INPUT (the lab vxlan-underlay-blocked fault)', () => {
    const c = healthyCluster({ mode: 'vxlan' });
    node(c, 'node-b').filterTop.INPUT = ['-p udp -m udp --dport 4789 -j DROP'];
    const f = check(iptablesForeignDrop, c).findings[0];
    expect(f).toMatchObject({ severity: 'error', node: 'node-b', title: 'filter/INPUT rule 1 (DROP) drops VXLAN packets from other nodes on node-b' });
    expect(f.explanation).toContain('dropped before it is decapsulated');
  });

  it('does not report a BGP port block (bgp.port-blocked does) or rules for other interfaces', () => {
    const c = healthyCluster();
    node(c, 'node-a').filterTop.INPUT = ['-p tcp -m tcp --dport 179 -j DROP'];
    node(c, 'node-a').filterTop.FORWARD = ['-i docker0 ! -o docker0 -j DROP'];
    expect(check(iptablesForeignDrop, c).findings).toEqual([]);
  });

  it('is a warning for a drop that only affects traffic to the outside', () => {
    const c = healthyCluster();
    node(c, 'node-a').filterTop.FORWARD = ['-d 169.254.169.254/32 -j DROP'];
    const f = check(iptablesForeignDrop, c).findings[0];
    expect(f.severity).toBe('warning');
    expect(f.explanation).toContain('may be intended');
  });

  it('says "may drop" for a rule whose match the engine cannot evaluate', () => {
    const c = healthyCluster();
    node(c, 'node-a').filterTop.FORWARD = ['-m geoip --src-cc CN -j DROP'];
    const f = check(iptablesForeignDrop, c).findings[0];
    expect(f).toMatchObject({ severity: 'warning' });
    expect(f.title).toContain('may drop');
  });

  it('does not check in eBPF mode (pod traffic bypasses FORWARD)', () => {
    const c = healthyCluster();
    node(c, 'node-a').filterTop.FORWARD = ['-j DROP'];
    c.felixConfig = { apiVersion: 'crd.projectcalico.org/v1', kind: 'FelixConfiguration', metadata: { name: 'default' }, spec: { bpfEnabled: true } };
    const r = check(iptablesForeignDrop, c);
    expect(r.findings).toEqual([]);
    expect(r.notChecked.map((x) => x.node)).toEqual(['node-a', 'node-b']);
  });

  it('says when iptables-save is missing', () => {
    const c = healthyCluster();
    node(c, 'node-a').omit.add('iptables-save.txt');
    expect(check(iptablesForeignDrop, c).notChecked).toEqual([{ check: 'iptables.foreign-drop', node: 'node-a', reason: 'no iptables-save for node node-a' }]);
  });
});
