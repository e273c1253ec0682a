import { describe, expect, it } from 'vitest';
import { affinity, calicoNode, ipamBlock, k8sNode, makeBundle, runCheck } from '../../../test/checks-cluster/helpers.js';
import { ipamOrphanBlockAffinity } from './ipam-orphan-block-affinity.js';

describe('ipam.orphan-block-affinity', () => {
  it('reports affinities to a deleted node and to a missing block', () => {
    const b = makeBundle({
      objects: [calicoNode('node-a', '10.0.0.11'), k8sNode('node-a', '10.0.0.11'), affinity('node-a', '10.244.1.0/26'), ipamBlock('10.244.1.0/26', 'node-a', []), affinity('node-gone', '10.244.9.0/26'), ipamBlock('10.244.9.0/26', 'node-gone', []), affinity('node-a', '10.244.5.0/26')],
    });
    const fs = runCheck(ipamOrphanBlockAffinity, b).findings;
    expect(fs.map((f) => f.title)).toEqual(['Block 10.244.9.0/26 is affine to node node-gone, which does not exist', 'BlockAffinity node-a-10-244-5-0-26 (node-a) points at block 10.244.5.0/26, which does not exist']);
  });

  it('is quiet when nodes and blocks exist', () => {
    const b = makeBundle({ objects: [calicoNode('node-a', '10.0.0.11'), affinity('node-a', '10.244.1.0/26'), ipamBlock('10.244.1.0/26', 'node-a', [])] });
    expect(runCheck(ipamOrphanBlockAffinity, b).findings).toEqual([]);
  });
});
