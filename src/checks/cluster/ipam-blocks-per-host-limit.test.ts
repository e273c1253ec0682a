import { describe, expect, it } from 'vitest';
import { affinity, ipamBlock, ipamConfig, makeBundle, runCheck } from '../../../test/checks-cluster/helpers.js';
import { ipamBlocksPerHostLimit } from './ipam-blocks-per-host-limit.js';

const full = (from: number) => Array.from({ length: 64 }, (_, i) => ({ ordinal: i, handle: `k8s-pod-network.${from}-${i}` }));

describe('ipam.blocks-per-host-limit', () => {
  it('reports a node at the limit with all blocks full (error) and one over it', () => {
    const b = makeBundle({
      objects: [
        ipamConfig({ strictAffinity: false, autoAllocateBlocks: true, maxBlocksPerHost: 1 }),
        affinity('node-a', '10.244.1.0/26'),
        ipamBlock('10.244.1.0/26', 'node-a', full(1)),
        affinity('node-b', '10.244.2.0/26'),
        affinity('node-b', '10.244.3.0/26'),
      ],
    });
    const fs = runCheck(ipamBlocksPerHostLimit, b).findings;
    expect(fs.map((f) => [f.node, f.severity])).toEqual([
      ['node-a', 'error'],
      ['node-b', 'error'],
    ]);
    expect(fs[0].title).toContain('at maxBlocksPerHost (1 blocks) and all are full');
    expect(fs[1].title).toContain('node-b has 2 blocks, more than maxBlocksPerHost 1');
  });

  it('is quiet below the limit and without a limit', () => {
    const objs = [affinity('node-a', '10.244.1.0/26')];
    expect(runCheck(ipamBlocksPerHostLimit, makeBundle({ objects: [ipamConfig({ maxBlocksPerHost: 4 }), ...objs] })).findings).toEqual([]);
    expect(runCheck(ipamBlocksPerHostLimit, makeBundle({ objects: [ipamConfig({ maxBlocksPerHost: 0 }), ...objs] })).findings).toEqual([]);
  });
});
