import { describe, expect, it } from 'vitest';
import { bgpConfig, bgpPeer, birdProtocols, calicoNode, makeBundle, runCheck } from '../../../test/checks-cluster/helpers.js';
import { bgpAsMismatch } from './bgp-as-mismatch.js';

describe('bgp.as-mismatch', () => {
  it('blames the node its peers reject with "Bad peer AS"', () => {
    const b = makeBundle({
      objects: [calicoNode('node-a', '10.0.0.11'), calicoNode('node-b', '10.0.0.12'), calicoNode('node-c', '10.0.0.13'), bgpConfig({ asNumber: 64512, nodeToNodeMeshEnabled: true })],
      files: {
        'nodes/node-a/bird-protocols.txt': birdProtocols([{ ip: '10.0.0.12' }, { ip: '10.0.0.13', state: 'start', info: 'Idle BGP Error: Bad peer AS', lastError: 'BGP Error: Bad peer AS' }]),
        'nodes/node-b/bird-protocols.txt': birdProtocols([{ ip: '10.0.0.11' }, { ip: '10.0.0.13', state: 'start', info: 'Idle BGP Error: Bad peer AS', lastError: 'BGP Error: Bad peer AS' }]),
      },
    });
    const fs = runCheck(bgpAsMismatch, b).findings;
    expect(fs).toHaveLength(1);
    expect(fs[0].node).toBe('node-c');
    expect(fs[0].explanation).toContain('node-a rejected the OPEN from 10.0.0.13');
    expect(fs[0].explanation).toContain('node-b rejected');
    expect(fs[0].remediation.yaml).toContain('asNumber: 64512');
  });

  it("compares BIRD's Neighbor AS with the remote node's configured AS and external BGPPeers", () => {
    const b = makeBundle({
      objects: [calicoNode('node-a', '10.0.0.11'), calicoNode('node-b', '10.0.0.12', 65001), bgpConfig({ asNumber: 64512 }), bgpPeer('tor', { peerIP: '10.0.0.1', asNumber: 65100 })],
      files: { 'nodes/node-a/bird-protocols.txt': birdProtocols([{ ip: '10.0.0.12', neighborAs: 64512 }, { ip: '10.0.0.1', kind: 'Global', neighborAs: 65000 }]) },
    });
    const fs = runCheck(bgpAsMismatch, b).findings;
    expect(fs.map((f) => f.subject).sort()).toEqual(['10.0.0.1', 'node-b']);
    expect(fs.find((f) => f.subject === 'node-b')!.explanation).toContain('Node node-b spec.bgp.asNumber is 65001');
  });

  it('is quiet when the AS numbers agree', () => {
    const b = makeBundle({ objects: [calicoNode('node-a', '10.0.0.11'), calicoNode('node-b', '10.0.0.12')], files: { 'nodes/node-a/bird-protocols.txt': birdProtocols([{ ip: '10.0.0.12', neighborAs: 64512 }]) } });
    expect(runCheck(bgpAsMismatch, b).findings).toEqual([]);
  });
});
