import { describe, expect, it } from 'vitest';
import { check, crashLoop, healthyCluster, node, type Json } from '../../../test/checks/bundle-builder.js';
import { componentCalicoNodeNotReady } from './component-calico-node-not-ready.js';

describe('component.calico-node-not-ready', () => {
  it('is silent when every calico-node pod is Ready and Felix is healthy', () => {
    expect(check(componentCalicoNodeNotReady, healthyCluster({ calicoSystem: true })).findings).toEqual([]);
  });

  it('reports a calico-node pod in CrashLoopBackOff with the lines that show it', () => {
    const c = healthyCluster({ calicoSystem: true });
    const p = c.calicoPods.find((x) => ((x.spec as Json).nodeName as string) === 'node-b')!;
    crashLoop(p);
    const f = check(componentCalicoNodeNotReady, c).findings[0];
    expect(f).toMatchObject({ severity: 'error', node: 'node-b', title: 'calico-node is not ready on node-b' });
    expect(f.explanation).toContain('is not Ready (ContainersNotReady)');
    expect(f.evidence.map((e) => e.text)).toEqual(expect.arrayContaining(['reason: CrashLoopBackOff', 'restartCount: 14']));
    expect(f.remediation.confirm).toContain(`kubectl logs -n calico-system ${(p.metadata as Json).name} -c calico-node --previous`);
  });

  it('reports a node without a calico-node pod', () => {
    const c = healthyCluster({ calicoSystem: true, nodes: 3 });
    c.calicoPods = c.calicoPods.filter((x) => (x.spec as Json).nodeName !== 'node-c');
    const f = check(componentCalicoNodeNotReady, c).findings[0];
    expect(f.explanation).toContain('no calico-node pod runs on it');
  });

  it('reports Felix readiness 503 and "Calico process is not running"', () => {
    const c = healthyCluster();
    node(c, 'node-a').felixHealth = 'GET http://localhost:9099/readiness -> 503\n+-----------+---------+----------------+---------------------+--------+\n| COMPONENT | TIMEOUT |    LIVENESS    |      READINESS      | DETAIL |\n+-----------+---------+----------------+---------------------+--------+\n| felix     | 20s     | reporting live | reporting non-ready |        |\n+-----------+---------+----------------+---------------------+--------+\n';
    node(c, 'node-b').nodeStatus = 'Calico process is not running.\n';
    const r = check(componentCalicoNodeNotReady, c);
    expect(r.findings.map((f) => f.node)).toEqual(['node-a', 'node-b']);
    expect(r.findings[0].evidence[0]).toMatchObject({ artifact: 'nodes/node-a/felix-health.txt', line: 1, text: 'GET http://localhost:9099/readiness -> 503' });
    expect(r.findings[1].evidence[0]).toMatchObject({ line: 1, text: 'Calico process is not running.' });
  });

  it('says when nothing in the bundle shows calico-node', () => {
    const c = healthyCluster();
    for (const n of c.nodes) n.felixHealth = undefined;
    expect(check(componentCalicoNodeNotReady, c).notChecked).toEqual([{ check: 'component.calico-node-not-ready', reason: 'no calico-node pods in the cluster resources, and no calicoctl node status or Felix health capture' }]);
  });
});
