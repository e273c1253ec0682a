import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { check, felixMetrics, healthyCluster, HEALTHY_LOG, node } from '../../../test/checks/bundle-builder.js';
import { felixNotInSync } from './felix-not-in-sync.js';

const fixture = (f: string) => readFileSync(new URL(`../../../test/fixtures/felix/${f}`, import.meta.url), 'utf8');

describe('felix.not-in-sync', () => {
  it('is silent when Felix is in sync (metrics 3, log in sync)', () => {
    expect(check(felixNotInSync, healthyCluster()).findings).toEqual([]);
  });

  it('is silent on a real log that became unready and came back in sync after a restart', () => {
    const c = healthyCluster();
    node(c, 'node-a').felixLog = fixture('calico-node.log');
    expect(check(felixNotInSync, c).findings).toEqual([]);
  });

  it('reports felix_resync_state != 3 from the metrics, quoting the sample line', () => {
    const c = healthyCluster();
    node(c, 'node-b').felixMetrics = fixture('felix-metrics-failing.txt');
    const f = check(felixNotInSync, c).findings[0];
    expect(f).toMatchObject({ severity: 'error', node: 'node-b' });
    expect(f.explanation).toContain('felix_resync_state is 2 (resync in progress)');
    expect(f.evidence[0]).toMatchObject({ artifact: 'nodes/node-b/felix-metrics.txt', text: 'felix_resync_state 2' });
  });

  it('reports a Felix that started and never reached in sync', () => {
    const c = healthyCluster();
    node(c, 'node-a').felixMetrics = undefined;
    node(c, 'node-a').felixLog = HEALTHY_LOG.split('\n').filter((l) => !/in sync|Completed first/.test(l)).join('\n');
    const f = check(felixNotInSync, c).findings[0];
    expect(f.explanation).toContain('never reached "in sync"');
    expect(f.evidence[0]).toMatchObject({ line: 1 });
  });

  it('reports "Datastore became unready" with no in-sync after it, and warns about repeated restarts', () => {
    const c = healthyCluster();
    const unready = '2026-11-22 11:36:21.301 [WARNING][84] felix/daemon.go 1457: Datastore became unready, need to restart.';
    node(c, 'node-a').felixLog = `${HEALTHY_LOG}${unready}\n`;
    node(c, 'node-b').felixLog = `${HEALTHY_LOG}${unready}\n${HEALTHY_LOG}${unready}\n${HEALTHY_LOG}`;
    const r = check(felixNotInSync, c);
    expect(r.findings.map((f) => [f.node, f.severity])).toEqual([['node-a', 'error'], ['node-b', 'warning']]);
    expect(r.findings[1].explanation).toContain('2 "Datastore became unready" restarts');
  });

  it('says when there are neither metrics nor logs', () => {
    const c = healthyCluster();
    Object.assign(node(c, 'node-a'), { felixMetrics: undefined, felixLog: undefined });
    expect(check(felixNotInSync, c).notChecked).toEqual([{ check: 'felix.not-in-sync', node: 'node-a', reason: 'no felix-metrics or felix log for node node-a' }]);
  });

  it('uses the metric helper format', () => {
    expect(felixMetrics({ felix_resync_state: 1 })).toContain('felix_resync_state 1');
  });
});
