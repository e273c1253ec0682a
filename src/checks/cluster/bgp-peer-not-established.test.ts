import { describe, expect, it } from 'vitest';
import { birdProtocols, calicoNode, makeBundle, runCheck } from '../../../test/checks-cluster/helpers.js';
import { bgpPeerNotEstablished } from './bgp-peer-not-established.js';

const nodes = [calicoNode('node-a', '10.0.0.11'), calicoNode('node-b', '10.0.0.12'), calicoNode('node-c', '10.0.0.13')];

describe('bgp.peer-not-established', () => {
  it('reports sessions that are not Established with state, since and last error', () => {
    const b = makeBundle({
      objects: nodes,
      files: {
        'nodes/node-a/bird-protocols.txt': birdProtocols([{ ip: '10.0.0.12' }, { ip: '10.0.0.13', info: 'Active Socket: Connection refused', lastError: 'Socket: Connection refused' }]),
      },
    });
    const [f] = runCheck(bgpPeerNotEstablished, b).findings;
    expect(f.severity).toBe('error');
    expect(f.node).toBe('node-a');
    expect(f.title).toContain('10.0.0.13 Active');
    expect(f.explanation).toContain('node node-c');
    expect(f.explanation).toContain('Connection refused');
    expect(f.evidence[0]).toMatchObject({ artifact: 'nodes/node-a/bird-protocols.txt', node: 'node-a' });
    expect(f.evidence[0].text).toContain('Mesh_10_0_0_13');
  });

  it('reads calicoctl node status when BIRD output is absent', () => {
    const status = [
      'Calico process is running.',
      '',
      'IPv4 BGP status',
      '+--------------+-------------------+-------+----------+-------------+',
      '| PEER ADDRESS |     PEER TYPE     | STATE |  SINCE   |    INFO     |',
      '+--------------+-------------------+-------+----------+-------------+',
      '| 10.0.0.12    | node-to-node mesh | up    | 09:54:10 | Established |',
      '| 10.0.0.13    | node-to-node mesh | start | 09:54:10 | Connect     |',
      '+--------------+-------------------+-------+----------+-------------+',
      '',
      'IPv6 BGP status',
      'No IPv6 peers found.',
      '',
    ].join('\n');
    const [f] = runCheck(bgpPeerNotEstablished, makeBundle({ objects: nodes, files: { 'nodes/node-a/calicoctl-node-status.txt': status } })).findings;
    expect(f.title).toContain('10.0.0.13 Connect');
    expect(f.evidence[0].line).toBe(8);
  });

  it('is quiet when every session is Established, and says so when there is no BGP data', () => {
    const ok = makeBundle({ objects: nodes, files: { 'nodes/node-a/bird-protocols.txt': birdProtocols([{ ip: '10.0.0.12' }, { ip: '10.0.0.13' }]) } });
    expect(runCheck(bgpPeerNotEstablished, ok).findings).toEqual([]);
    const none = runCheck(bgpPeerNotEstablished, makeBundle({ objects: nodes, files: { 'nodes/node-a/sysctl.txt': 'net.ipv4.ip_forward = 1\n' } }));
    expect(none.findings).toEqual([]);
    expect(none.notChecked[0].reason).toContain('no bird-protocols');
  });
});
