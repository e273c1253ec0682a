import { describe, expect, it } from 'vitest';
import { check, healthyCluster, node, setSysctl } from '../../../test/checks/bundle-builder.js';
import { conntrackNearFull } from './conntrack-near-full.js';

describe('conntrack.near-full', () => {
  it('is silent on healthy nodes', () => {
    expect(check(conntrackNearFull, healthyCluster()).findings).toEqual([]);
  });

  it('warns at 80 % and errs at 95 %', () => {
    const c = healthyCluster();
    setSysctl(node(c, 'node-a'), 'net.netfilter.nf_conntrack_count', 220000);
    setSysctl(node(c, 'node-b'), 'net.netfilter.nf_conntrack_count', 262000);
    const r = check(conntrackNearFull, c);
    expect(r.findings.map((f) => [f.node, f.severity, f.title])).toEqual([
      ['node-a', 'warning', 'conntrack table 83.9% full on node-a (220000 of 262144)'],
      ['node-b', 'error', 'conntrack table 99.9% full on node-b (262000 of 262144)'],
    ]);
    expect(r.findings[0].evidence.map((e) => e.text)).toEqual(['net.netfilter.nf_conntrack_max = 262144', 'net.netfilter.nf_conntrack_count = 220000']);
  });

  it('reports drops (error) and failed insertions (warning) from conntrack -S', () => {
    const c = healthyCluster();
    node(c, 'node-a').conntrackStats = 'cpu=0   \tfound=3 invalid=23 insert=0 insert_failed=0 drop=12 early_drop=4 error=0 search_restart=0 clash_resolve=0 chaintoolong=0 \ncpu=1   \tfound=3 invalid=41 insert=0 insert_failed=0 drop=0 early_drop=0 error=0 search_restart=0 clash_resolve=0 chaintoolong=0 \n';
    node(c, 'node-b').conntrackStats = 'cpu=0   \tfound=3 invalid=23 insert=0 insert_failed=0 drop=0 early_drop=0 error=0 search_restart=0 clash_resolve=0 chaintoolong=0 \ncpu=1   \tfound=3 invalid=41 insert=0 insert_failed=7 drop=0 early_drop=0 error=0 search_restart=0 clash_resolve=0 chaintoolong=0 \n';
    const r = check(conntrackNearFull, c);
    expect(r.findings.map((f) => [f.node, f.severity, f.title])).toEqual([
      ['node-a', 'error', 'conntrack drop=12, early_drop=4 on node-a'],
      ['node-b', 'warning', 'conntrack insert_failed=7 on node-b'],
    ]);
    expect(r.findings[0].evidence).toEqual([expect.objectContaining({ artifact: 'nodes/node-a/conntrack-stats.txt', line: 1, note: 'cpu 0' })]);
    expect(r.findings[1].evidence[0].line).toBe(2);
  });

  it('says when neither sysctl nor conntrack -S is there', () => {
    const c = healthyCluster();
    node(c, 'node-a').omit.add('sysctl.txt').add('conntrack-stats.txt');
    expect(check(conntrackNearFull, c).notChecked).toEqual([{ check: 'conntrack.near-full', node: 'node-a', reason: 'no sysctl nf_conntrack_max or conntrack -S for node node-a' }]);
  });
});
