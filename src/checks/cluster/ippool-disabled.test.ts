import { describe, expect, it } from 'vitest';
import { bgpConfig, ipamBlock, ippool, makeBundle, ns, pod, runCheck, service } from '../../../test/checks-cluster/helpers.js';
import { ippoolDisabled } from './ippool-disabled.js';

describe('ippool.disabled', () => {
  it('reports pods and blocks in a disabled pool (warning) next to an enabled one', () => {
    const b = makeBundle({
      objects: [ns('prod'), ippool('old', '10.244.0.0/16', { disabled: true }), ippool('new', '10.245.0.0/16'), pod('prod', 'web-1', { ip: '10.244.1.5' }), ipamBlock('10.244.1.0/26', 'node-a', [{ ordinal: 5, handle: 'k8s-pod-network.abc' }])],
    });
    const [f] = runCheck(ippoolDisabled, b).findings;
    expect(f.severity).toBe('warning');
    expect(f.title).toContain('IPPool old (10.244.0.0/16) is disabled but 1 pod and 1 block still use it');
    expect(f.evidence[0].text).toBe('- apiVersion: projectcalico.org/v3');
  });

  it('reports overlapping pools and pools over the Service range', () => {
    const b = makeBundle({
      objects: [ippool('a', '10.96.0.0/12'), ippool('b', '10.100.0.0/16'), service('default', 'kubernetes', '10.96.0.1', {}, [{ port: 443 }]), bgpConfig({ serviceClusterIPs: [{ cidr: '10.96.0.0/12' }] })],
    });
    const fs = runCheck(ippoolDisabled, b).findings;
    expect(fs.map((f) => f.title)).toEqual([
      expect.stringContaining('IPPools a (10.96.0.0/12) and b (10.100.0.0/16) overlap'),
      expect.stringContaining('IPPool a (10.96.0.0/12) overlaps the Service address range'),
      expect.stringContaining('IPPool b (10.100.0.0/16) overlaps the Service address range'),
    ]);
  });

  it('reports an error when every pool of the family is disabled, even without pods', () => {
    const [f] = runCheck(ippoolDisabled, makeBundle({ objects: [ippool('only', '10.244.0.0/16', { disabled: true })] })).findings;
    expect(f.severity).toBe('error');
    expect(f.title).toContain('Every IPv4 pool is disabled');
  });

  it('is quiet for enabled, disjoint pools', () => {
    const b = makeBundle({ objects: [ippool('p', '10.244.0.0/16'), service('default', 'kubernetes', '10.96.0.1', {}, [{ port: 443 }])] });
    expect(runCheck(ippoolDisabled, b).findings).toEqual([]);
  });
});
