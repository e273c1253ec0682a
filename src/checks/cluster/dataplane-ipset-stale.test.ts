import { describe, expect, it } from 'vitest';
import { cnp, ns, pod, runCheck } from '../../../test/checks-cluster/helpers.js';
import { bundleWithNode, renderNode } from '../../../test/checks-cluster/render.js';
import { dataplaneIpsetStale } from './dataplane-ipset-stale.js';
import { ipsetNameForSelector } from '../../calico/naming.js';

const objs = [
  ns('prod'),
  pod('prod', 'web-1', { ip: '10.244.1.1', node: 'node-a', labels: { app: 'web' } }),
  pod('prod', 'client-1', { ip: '10.244.1.2', node: 'node-a', labels: { app: 'client' } }),
  pod('prod', 'client-2', { ip: '10.244.2.2', node: 'node-b', labels: { app: 'client' } }),
  cnp('prod', 'web-in', { selector: "app == 'web'", types: ['Ingress'], ingress: [{ action: 'Allow', source: { selector: "app == 'client'" } }] }),
];
const set = ipsetNameForSelector("(projectcalico.org/namespace == \"prod\" && app == \"client\")");

describe('dataplane.ipset-stale', () => {
  it('is quiet on the sets Felix would program', () => {
    const r = renderNode(objs, 'node-a', '10.0.0.11', ['10.0.0.11', '10.0.0.12']);
    expect(r.ipset).toContain(`create ${set} `);
    expect(runCheck(dataplaneIpsetStale, bundleWithNode(objs, 'node-a', r)).findings).toEqual([]);
  });

  it('reports a member missing from a selector set (Felix out of sync)', () => {
    const r = renderNode(objs, 'node-a', '10.0.0.11', ['10.0.0.11', '10.0.0.12'], { [set]: ['10.244.2.2'] });
    const [f] = runCheck(dataplaneIpsetStale, bundleWithNode(objs, 'node-a', r)).findings;
    expect(f.title).toBe(`node-a: IP set ${set} is stale (1 missing)`);
    expect(f.explanation).toContain('10.244.2.2 (prod/client-2)');
    expect(f.evidence[0]).toMatchObject({ artifact: 'nodes/node-a/ipset.txt', text: expect.stringContaining(`create ${set}`) });
  });

  it('reports an extra member the selector no longer matches', () => {
    const r = renderNode(objs, 'node-a', '10.0.0.11', ['10.0.0.11', '10.0.0.12']);
    const ipset = r.ipset.replace(`add ${set} 10.244.2.2`, `add ${set} 10.244.2.2\nadd ${set} 10.244.3.9`);
    const [f] = runCheck(dataplaneIpsetStale, bundleWithNode(objs, 'node-a', { ...r, ipset })).findings;
    expect(f.title).toContain('1 extra');
    expect(f.evidence[1]).toMatchObject({ text: `add ${set} 10.244.3.9` });
  });
});
