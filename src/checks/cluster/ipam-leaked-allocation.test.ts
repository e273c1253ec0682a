import { describe, expect, it } from 'vitest';
import { calicoNode, ipamBlock, makeBundle, ns, pod, runCheck } from '../../../test/checks-cluster/helpers.js';
import { ipamLeakedAllocation } from './ipam-leaked-allocation.js';

describe('ipam.leaked-allocation', () => {
  it('reports allocations whose pod does not exist and tunnel addresses of deleted nodes', () => {
    const b = makeBundle({
      objects: [
        ns('default'),
        calicoNode('node-a', '10.0.0.11'),
        pod('default', 'web', { ip: '10.244.1.2', containerID: 'aaa', node: 'node-a' }),
        ipamBlock('10.244.1.0/26', 'node-a', [
          { ordinal: 0, handle: 'ipip-tunnel-addr-node-a', secondary: { node: 'node-a', type: 'ipipTunnelAddress' } },
          { ordinal: 2, handle: 'k8s-pod-network.aaa', secondary: { namespace: 'default', pod: 'web', node: 'node-a' } },
          { ordinal: 7, handle: 'k8s-pod-network.ghost1', secondary: { namespace: 'default', pod: 'ghost-12345', node: 'node-a' } },
          { ordinal: 9, handle: 'vxlan-tunnel-addr-node-z', secondary: { node: 'node-z', type: 'vxlanTunnelAddress' } },
        ]),
      ],
    });
    const [f] = runCheck(ipamLeakedAllocation, b).findings;
    expect(f.title).toContain('2 leaked IPAM allocations in block 10.244.1.0/26');
    expect(f.explanation).toContain('10.244.1.7 handle k8s-pod-network.ghost1: pod default/ghost-12345 does not exist');
    expect(f.explanation).toContain('10.244.1.9 handle vxlan-tunnel-addr-node-z: tunnel address of node node-z');
    expect(f.remediation.fix).toContain('calicoctl ipam release --ip=10.244.1.7');
    expect(f.evidence[1].text).toContain('k8s-pod-network.ghost1');
  });

  it('reports a handle whose container ID no pod has when the pod was recreated', () => {
    const b = makeBundle({
      objects: [calicoNode('node-a', '10.0.0.11'), pod('default', 'db-0', { ip: '10.244.1.3', containerID: 'new' }), ipamBlock('10.244.1.0/26', 'node-a', [{ ordinal: 3, handle: 'k8s-pod-network.new', secondary: { namespace: 'default', pod: 'db-0' } }, { ordinal: 4, handle: 'k8s-pod-network.old', secondary: { namespace: 'default', pod: 'db-0' } }])],
    });
    const [f] = runCheck(ipamLeakedAllocation, b).findings;
    expect(f.explanation).toContain('10.244.1.4');
    expect(f.explanation).not.toContain('10.244.1.3 ');
  });

  it('is quiet when every allocation has its owner', () => {
    const b = makeBundle({
      objects: [calicoNode('node-a', '10.0.0.11'), pod('default', 'web', { ip: '10.244.1.2', containerID: 'aaa' }), ipamBlock('10.244.1.0/26', 'node-a', [{ ordinal: 0, handle: 'vxlan-tunnel-addr-node-a', secondary: { node: 'node-a', type: 'vxlanTunnelAddress' } }, { ordinal: 2, handle: 'k8s-pod-network.aaa', secondary: { namespace: 'default', pod: 'web' } }])],
    });
    expect(runCheck(ipamLeakedAllocation, b).findings).toEqual([]);
  });
});
