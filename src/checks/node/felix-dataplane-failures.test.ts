import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { check, felixMetrics, healthyCluster, node } from '../../../test/checks/bundle-builder.js';
import { felixDataplaneFailures } from './felix-dataplane-failures.js';

const fixture = (f: string) => readFileSync(new URL(`../../../test/fixtures/felix/${f}`, import.meta.url), 'utf8');

describe('felix.dataplane-failures', () => {
  it('is silent when the counters are 0 and the log has no failures', () => {
    expect(check(felixDataplaneFailures, healthyCluster()).findings).toEqual([]);
  });

  it('reports failing counters as an error (real metrics of a failing Felix)', () => {
    const c = healthyCluster();
    node(c, 'node-a').felixMetrics = fixture('felix-metrics-failing.txt');
    const f = check(felixDataplaneFailures, c).findings[0];
    expect(f).toMatchObject({ severity: 'error', node: 'node-a', title: 'Felix dataplane updates failed on node-a (felix_int_dataplane_failures = 17)' });
    expect(f.evidence.map((e) => e.text)).toEqual(['felix_int_dataplane_failures 17', 'felix_iptables_restore_errors 5', 'felix_ipset_errors 2']);
  });

  it('quotes the failed restore lines of the log; one incident is a warning', () => {
    const c = healthyCluster();
    node(c, 'node-b').felixMetrics = felixMetrics({ felix_iptables_restore_errors: 1 });
    node(c, 'node-b').felixLog = fixture('calico-node.log');
    const f = check(felixDataplaneFailures, c).findings[0];
    expect(f.severity).toBe('warning');
    const logLines = f.evidence.filter((e) => e.artifact === 'nodes/node-b/felix.log');
    expect(logLines.map((e) => e.line)).toEqual([22, 23, 24]);
    expect(logLines[0].text).toContain('Failed to execute ip(6)tables-restore command');
  });

  it('says when there are neither metrics nor logs', () => {
    const c = healthyCluster();
    Object.assign(node(c, 'node-b'), { felixMetrics: undefined, felixLog: undefined });
    expect(check(felixDataplaneFailures, c).notChecked).toEqual([{ check: 'felix.dataplane-failures', node: 'node-b', reason: 'no felix-metrics or felix log for node node-b' }]);
  });
});
