import { describe, expect, it } from 'vitest';
import { cnp, gnp, knp, makeBundle, ns, pod, runCheck } from '../../../test/checks-cluster/helpers.js';
import { bundleWithNode, dropChain, renderNode } from '../../../test/checks-cluster/render.js';
import { dataplanePolicyChainMissing } from './dataplane-policy-chain-missing.js';
import { policyChainName } from '../../calico/naming.js';

const objs = [
  ns('prod'),
  pod('prod', 'web-1', { ip: '10.244.1.1', node: 'node-a', labels: { app: 'web' } }),
  pod('prod', 'db-1', { ip: '10.244.1.2', node: 'node-a', labels: { app: 'db' } }),
  pod('prod', 'db-2', { ip: '10.244.2.2', node: 'node-b', labels: { app: 'db' } }),
  cnp('prod', 'web-in', { selector: "app == 'web'", types: ['Ingress'], ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: [80] } }] }),
  knp('prod', 'db', { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }] }] }),
  gnp('deny-metadata', { selector: 'all()', types: ['Egress'], egress: [{ action: 'Deny', destination: { nets: ['169.254.169.254/32'] } }, { action: 'Allow' }] }),
];

describe('dataplane.policy-chain-missing', () => {
  const rendered = renderNode(objs, 'node-a', '10.0.0.11', ['10.0.0.11', '10.0.0.12']);

  it('is quiet on the dump Felix would program', () => {
    const r = runCheck(dataplanePolicyChainMissing, bundleWithNode(objs, 'node-a', rendered));
    expect(r.findings).toEqual([]);
    expect(r.notChecked).toEqual([]);
  });

  it('recognises the chain names of Calico ≥ 3.32 (kind style) too', () => {
    const kind = renderNode(objs, 'node-a', '10.0.0.11', ['10.0.0.11', '10.0.0.12'], undefined, 'kind');
    expect(kind.iptables).not.toEqual(rendered.iptables);
    expect(runCheck(dataplanePolicyChainMissing, bundleWithNode(objs, 'node-a', kind)).findings).toEqual([]);
  });

  it('reports a policy chain that is missing for a local endpoint', () => {
    const chain = policyChainName('ingress', 'default/prod/knp.default.db');
    expect(rendered.iptables).toContain(`:${chain} `);
    const b = bundleWithNode(objs, 'node-a', { ...rendered, iptables: dropChain(rendered.iptables, chain) });
    const [f] = runCheck(dataplanePolicyChainMissing, b).findings;
    expect(f.node).toBe('node-a');
    expect(f.title).toContain('1 policy chain missing');
    expect(f.explanation).toContain('Kubernetes NetworkPolicy prod/db (ingress), for prod/db-1');
  });

  it('does not compare a node without Felix filter chains', () => {
    const b = makeBundle({ objects: objs, files: { 'nodes/node-a/iptables-save.txt': '*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n' } });
    const r = runCheck(dataplanePolicyChainMissing, b);
    expect(r.findings).toEqual([]);
    expect(r.notChecked[0].reason).toContain('no Calico chains in iptables-save');
  });
});
