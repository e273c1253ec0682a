import { describe, expect, it } from 'vitest';
import { ipamBlock, ipamConfig, ippool, makeBundle, runCheck } from '../../../test/checks-cluster/helpers.js';
import { ipamPoolExhausted } from './ipam-pool-exhausted.js';
import { ipamPoolNearExhaustion } from './ipam-pool-near-exhaustion.js';

const allocs = (n: number, from = 0) => Array.from({ length: n }, (_, i) => ({ ordinal: from + i, handle: `k8s-pod-network.c${from + i}` }));

describe('ipam.pool-exhausted', () => {
  it('reports a pool with every address allocated, and proposes a new pool', () => {
    const b = makeBundle({ objects: [ippool('small', '10.244.0.0/28', { blockSize: 29 }), ipamBlock('10.244.0.0/29', 'node-a', allocs(8)), ipamBlock('10.244.0.8/29', 'node-b', allocs(8))] });
    const [f] = runCheck(ipamPoolExhausted, b).findings;
    expect(f.title).toContain('is exhausted: 16 of 16');
    expect(f.remediation.yaml).toContain('cidr: 10.244.0.16/28');
    expect(runCheck(ipamPoolNearExhaustion, b).findings).toEqual([]);
  });

  it('reports a node that can neither claim nor borrow (strictAffinity)', () => {
    const b = makeBundle({ objects: [ipamConfig({ strictAffinity: true, autoAllocateBlocks: true, maxBlocksPerHost: 0 }), ippool('small', '10.244.0.0/28', { blockSize: 29 }), ipamBlock('10.244.0.0/29', 'node-a', allocs(8)), ipamBlock('10.244.0.8/29', 'node-b', allocs(2))] });
    const [f] = runCheck(ipamPoolExhausted, b).findings;
    expect(f.title).toContain('node-a cannot get an address');
  });

  it('is quiet with free addresses', () => {
    const b = makeBundle({ objects: [ippool('p', '10.244.0.0/16'), ipamBlock('10.244.0.0/26', 'node-a', allocs(60))] });
    expect(runCheck(ipamPoolExhausted, b).findings).toEqual([]);
  });
});
