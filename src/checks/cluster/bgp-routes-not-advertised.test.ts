import { describe, expect, it } from 'vitest';
import { affinity, bgpFilter, bgpPeer, birdProtocols, birdRoutes, calicoNode, ippool, makeBundle, runCheck } from '../../../test/checks-cluster/helpers.js';
import { bgpRoutesNotAdvertised } from './bgp-routes-not-advertised.js';

const nodes = [calicoNode('node-a', '10.0.0.11'), calicoNode('node-b', '10.0.0.12')];
const blocks = [affinity('node-a', '10.244.1.0/26'), affinity('node-b', '10.244.2.0/26')];

describe('bgp.routes-not-advertised', () => {
  it("reports a block missing on a peer whose session is up, with the pool's disableBGPExport as cause", () => {
    const b = makeBundle({
      objects: [...nodes, ...blocks, ippool('default', '10.244.0.0/16', { disableBGPExport: true })],
      files: {
        'nodes/node-a/bird-protocols.txt': birdProtocols([{ ip: '10.0.0.12' }]),
        'nodes/node-a/bird-routes.txt': birdRoutes([{ prefix: '10.244.1.0/26', blackhole: true }]),
        'nodes/node-b/bird-protocols.txt': birdProtocols([{ ip: '10.0.0.11' }]),
        'nodes/node-b/bird-routes.txt': birdRoutes([{ prefix: '10.244.2.0/26', blackhole: true }]),
      },
    });
    const fs = runCheck(bgpRoutesNotAdvertised, b).findings;
    expect(fs.filter((f) => f.severity === 'error').map((f) => f.subject).sort()).toEqual(['10.244.1.0/26', '10.244.2.0/26']);
    expect(fs[0].explanation).toContain('disableBGPExport');
    expect(fs[0].remediation.yaml).toContain('disableBGPExport: false');
  });

  it('reports a BGPFilter that rejects pod blocks for the peers using it', () => {
    const b = makeBundle({
      objects: [...nodes, ...blocks, ippool('default', '10.244.0.0/16'), bgpFilter('no-pods', { exportV4: [{ action: 'Reject', matchOperator: 'In', cidr: '10.244.0.0/16' }] }), bgpPeer('tor', { peerIP: '10.0.0.1', asNumber: 65000, filters: ['no-pods'] })],
    });
    const fs = runCheck(bgpRoutesNotAdvertised, b).findings;
    expect(fs).toHaveLength(1);
    expect(fs[0].title).toContain('BGPFilter no-pods rejects the export of 2 pod block(s) to BGPPeer tor');
  });

  it('is quiet when every block is routed', () => {
    const b = makeBundle({
      objects: [...nodes, ...blocks, ippool('default', '10.244.0.0/16')],
      files: {
        'nodes/node-a/bird-protocols.txt': birdProtocols([{ ip: '10.0.0.12' }]),
        'nodes/node-a/bird-routes.txt': birdRoutes([{ prefix: '10.244.1.0/26', blackhole: true }, { prefix: '10.244.2.0/26', via: '10.0.0.12' }]),
        'nodes/node-b/bird-protocols.txt': birdProtocols([{ ip: '10.0.0.11' }]),
        'nodes/node-b/bird-routes.txt': birdRoutes([{ prefix: '10.244.2.0/26', blackhole: true }, { prefix: '10.244.1.0/26', via: '10.0.0.11' }]),
      },
    });
    expect(runCheck(bgpRoutesNotAdvertised, b).findings).toEqual([]);
  });

  it('leaves down sessions to bgp.peer-not-established', () => {
    const b = makeBundle({
      objects: [...nodes, ...blocks, ippool('default', '10.244.0.0/16')],
      files: { 'nodes/node-a/bird-protocols.txt': birdProtocols([{ ip: '10.0.0.12', info: 'Active Socket: Connection refused' }]), 'nodes/node-a/bird-routes.txt': birdRoutes([{ prefix: '10.244.1.0/26', blackhole: true }]) },
    });
    expect(runCheck(bgpRoutesNotAdvertised, b).findings).toEqual([]);
  });
});
