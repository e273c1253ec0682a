import { describe, expect, it } from 'vitest';
import { ipamBlock, makeBundle, ns, pod, runCheck } from '../../../test/checks-cluster/helpers.js';
import { ipamDuplicateIp } from './ipam-duplicate-ip.js';

describe('ipam.duplicate-ip', () => {
  it('reports two pods with one IP and names the one IPAM did not allocate it to', () => {
    const b = makeBundle({
      objects: [
        ns('default'),
        pod('default', 'web-1', { ip: '10.244.1.1', node: 'node-a' }),
        pod('default', 'web-1-dup', { ip: '10.244.1.1', node: 'node-c' }),
        ipamBlock('10.244.1.0/26', 'node-a', [{ ordinal: 1, handle: 'k8s-pod-network.abc', secondary: { namespace: 'default', pod: 'web-1' } }]),
      ],
    });
    const [f] = runCheck(ipamDuplicateIp, b).findings;
    expect(f.severity).toBe('error');
    expect(f.title).toContain('10.244.1.1 is used by 2 endpoints');
    expect(f.remediation.fix![0]).toBe('kubectl delete pod -n default web-1-dup');
    expect(f.evidence).toHaveLength(3);
  });

  it('reports an address allocated in two overlapping blocks', () => {
    const b = makeBundle({ objects: [ipamBlock('10.244.1.0/26', 'node-a', [{ ordinal: 5, handle: 'k8s-pod-network.a' }]), ipamBlock('10.244.1.0/27', 'node-b', [{ ordinal: 5, handle: 'k8s-pod-network.b' }])] });
    const [f] = runCheck(ipamDuplicateIp, b).findings;
    expect(f.title).toContain('10.244.1.5 is allocated in 2 IPAM blocks');
  });

  it('is quiet for distinct IPs, host-network pods and finished pods', () => {
    const b = makeBundle({
      objects: [pod('default', 'a', { ip: '10.244.1.1' }), pod('default', 'b', { ip: '10.244.1.2' }), pod('kube-system', 'h1', { ip: '10.0.0.11', hostNetwork: true }), pod('kube-system', 'h2', { ip: '10.0.0.11', hostNetwork: true }), pod('default', 'done', { ip: '10.244.1.1', phase: 'Succeeded' })],
    });
    expect(runCheck(ipamDuplicateIp, b).findings).toEqual([]);
  });
});
