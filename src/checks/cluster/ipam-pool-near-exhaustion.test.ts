import { describe, expect, it } from 'vitest';
import { ipamBlock, ippool, makeBundle, runCheck } from '../../../test/checks-cluster/helpers.js';
import { ipamPoolNearExhaustion } from './ipam-pool-near-exhaustion.js';

const allocs = (n: number, from = 0) => Array.from({ length: n }, (_, i) => ({ ordinal: from + i, handle: `k8s-pod-network.c${from + i}` }));

describe('ipam.pool-near-exhaustion', () => {
  it('reports a pool at ≥ 90% with its fullest blocks', () => {
    const b = makeBundle({ objects: [ippool('p', '10.244.0.0/26', { blockSize: 27 }), ipamBlock('10.244.0.0/27', 'node-a', allocs(30)), ipamBlock('10.244.0.32/27', 'node-b', allocs(29))] });
    const [f] = runCheck(ipamPoolNearExhaustion, b).findings;
    expect(f.severity).toBe('warning');
    expect(f.title).toContain('92.1% allocated (59/64)');
    expect(f.evidence[1].note).toContain('30/32');
  });

  it('reports a pool without a free block even when addresses remain', () => {
    const b = makeBundle({ objects: [ippool('p', '10.244.0.0/26', { blockSize: 27 }), ipamBlock('10.244.0.0/27', 'node-a', allocs(3)), ipamBlock('10.244.0.32/27', 'node-b', allocs(3))] });
    expect(runCheck(ipamPoolNearExhaustion, b).findings[0].title).toContain('has no free block left');
  });

  it('is quiet below 90% with free blocks, and says so without IPAMBlocks', () => {
    expect(runCheck(ipamPoolNearExhaustion, makeBundle({ objects: [ippool('p', '10.244.0.0/16'), ipamBlock('10.244.0.0/26', 'node-a', allocs(63))] })).findings).toEqual([]);
    expect(runCheck(ipamPoolNearExhaustion, makeBundle({ objects: [ippool('p', '10.244.0.0/16')] })).notChecked[0].reason).toContain('no IPAMBlocks');
  });
});
