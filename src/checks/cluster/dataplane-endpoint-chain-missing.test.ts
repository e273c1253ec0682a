import { describe, expect, it } from 'vitest';
import { ns, pod, runCheck } from '../../../test/checks-cluster/helpers.js';
import { bundleWithNode, dropChain, renderNode } from '../../../test/checks-cluster/render.js';
import { dataplaneEndpointChainMissing } from './dataplane-endpoint-chain-missing.js';
import { vethNameForWorkload } from '../../calico/naming.js';

const objs = [ns('prod'), pod('prod', 'web-1', { ip: '10.244.1.1', node: 'node-a', labels: { app: 'web' } }), pod('prod', 'web-2', { ip: '10.244.1.2', node: 'node-a', labels: { app: 'web' } })];

describe('dataplane.endpoint-chain-missing', () => {
  const rendered = renderNode(objs, 'node-a', '10.0.0.11', ['10.0.0.11']);

  it('is quiet on the dump Felix would program', () => {
    expect(runCheck(dataplaneEndpointChainMissing, bundleWithNode(objs, 'node-a', rendered)).findings).toEqual([]);
  });

  it("reports an endpoint whose cali-tw-/cali-fw- chains and dispatch entries are missing", () => {
    const iface = vethNameForWorkload('prod', 'web-2');
    const text = dropChain(dropChain(rendered.iptables, `cali-tw-${iface}`), `cali-fw-${iface}`);
    const [f] = runCheck(dataplaneEndpointChainMissing, bundleWithNode(objs, 'node-a', { ...rendered, iptables: text })).findings;
    expect(f.title).toContain('1 local endpoint');
    expect(f.explanation).toContain(`prod/web-2 (${iface}): missing chain cali-tw-${iface}, chain cali-fw-${iface}, cali-to-wl-dispatch entry`);
  });
});
