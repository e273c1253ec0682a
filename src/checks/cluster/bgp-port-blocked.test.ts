import { describe, expect, it } from 'vitest';
import { bgpConfig, birdProtocols, calicoNode, ipAddrJson, ipRouteJson, iptablesSave, makeBundle, runCheck } from '../../../test/checks-cluster/helpers.js';
import { bgpPortBlocked } from './bgp-port-blocked.js';

const objs = [calicoNode('node-a', '10.0.0.11'), calicoNode('node-b', '10.0.0.12'), calicoNode('node-c', '10.0.0.13'), bgpConfig({ nodeToNodeMeshEnabled: true })];

function nodeFiles(node: string, ip: string, rules: string[]): Record<string, string> {
  return {
    [`nodes/${node}/iptables-save.txt`]: iptablesSave(rules),
    [`nodes/${node}/ip-addr.json`]: ipAddrJson(ip),
    [`nodes/${node}/ip-route.json`]: ipRouteJson(ip),
    [`nodes/${node}/bird-protocols.txt`]: birdProtocols([{ ip: ip === '10.0.0.11' ? '10.0.0.12' : '10.0.0.11' }]),
  };
}

describe('bgp.port-blocked', () => {
  it('finds the INPUT rules that drop TCP 179 and quotes their lines', () => {
    const b = makeBundle({
      objects: objs,
      files: { ...nodeFiles('node-a', '10.0.0.11', []), ...nodeFiles('node-c', '10.0.0.13', ['-A INPUT -p tcp -m tcp --dport 179 -j DROP', '-A INPUT -p tcp -m tcp --sport 179 -j DROP']) },
    });
    const fs = runCheck(bgpPortBlocked, b).findings;
    expect(fs).toHaveLength(1);
    const f = fs[0];
    expect(f.node).toBe('node-c');
    expect(f.severity).toBe('error');
    expect(f.evidence.map((e) => e.text)).toEqual(['-A INPUT -p tcp -m tcp --dport 179 -j DROP', '-A INPUT -p tcp -m tcp --sport 179 -j DROP']);
    expect(f.evidence[0]).toMatchObject({ artifact: 'nodes/node-c/iptables-save.txt', line: 6 });
    expect(f.remediation.fix![0]).toBe('iptables -t filter -D INPUT -p tcp -m tcp --dport 179 -j DROP');
  });

  it('sees a drop-by-policy firewall that lets only SSH in', () => {
    const fw = iptablesSave(['-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT', '-A INPUT -p tcp --dport 22 -j ACCEPT']).replace(':INPUT ACCEPT', ':INPUT DROP');
    const b = makeBundle({ objects: objs, files: { ...nodeFiles('node-b', '10.0.0.12', []), 'nodes/node-b/iptables-save.txt': fw } });
    const [f] = runCheck(bgpPortBlocked, b).findings;
    expect(f.explanation).toContain('INPUT policy DROP');
  });

  it('is quiet when 179 is allowed', () => {
    const b = makeBundle({ objects: objs, files: { ...nodeFiles('node-a', '10.0.0.11', ['-A INPUT -p tcp --dport 179 -j ACCEPT', '-A INPUT -p tcp --dport 8080 -j DROP']) } });
    expect(runCheck(bgpPortBlocked, b).findings).toEqual([]);
  });
});
