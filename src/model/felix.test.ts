import { describe, expect, it } from 'vitest';
import { felixHealthFromMetrics, felixSyncFromLog, metricReading, metricSamples, metricValue, type FelixLog, type FelixMetrics } from './felix.js';

function metrics(): FelixMetrics {
  const families = new Map();
  families.set('felix_resync_state', { name: 'felix_resync_state', type: 'gauge', samples: [{ name: 'felix_resync_state', labels: {}, value: 1, line: 3 }] });
  families.set('felix_iptables_rules', {
    name: 'felix_iptables_rules',
    type: 'gauge',
    samples: [
      { name: 'felix_iptables_rules', labels: { ip_version: '4', table: 'filter' }, value: 10, line: 7 },
      { name: 'felix_iptables_rules', labels: { ip_version: '6', table: 'filter' }, value: 4, line: 8 },
    ],
  });
  families.set('felix_nft_errors', { name: 'felix_nft_errors', type: 'counter', samples: [{ name: 'felix_nft_errors_total', labels: {}, value: 2, line: 11 }] });
  families.set('felix_host', { name: 'felix_host', type: 'gauge', samples: [{ name: 'felix_host', labels: { host: 'node-b' }, value: 1, line: 12 }] });
  return { families };
}

describe('metric lookups', () => {
  it('sums matching samples and keeps the first line', () => {
    const m = metrics();
    expect(metricValue(m, 'felix_iptables_rules')).toBe(14);
    expect(metricReading(m, 'felix_iptables_rules', { ip_version: '6' })).toEqual({ value: 4, line: 8 });
    expect(metricSamples(m, 'felix_iptables_rules', { table: 'nat' })).toEqual([]);
    expect(metricValue(m, 'felix_nft_errors')).toBe(2);
    expect(metricValue(m, 'nope')).toBeUndefined();
  });

  it('derives health readings', () => {
    expect(felixHealthFromMetrics(metrics())).toEqual({
      resyncState: { value: 1, line: 3 },
      iptablesRules: { value: 14, line: 7 },
      nftErrors: { value: 2, line: 11 },
      host: { name: 'node-b', line: 12 },
    });
    expect(felixHealthFromMetrics({ families: new Map() })).toEqual({});
  });
});

describe('felixSyncFromLog', () => {
  it('counts resyncs, restarts, failures and errors', () => {
    const log: FelixLog = {
      entries: [
        { line: 1, level: 'INFO', message: 'Felix starting up', fields: {}, event: { kind: 'starting' } },
        { line: 2, level: 'INFO', message: 'Datastore now in sync.', fields: {}, event: { kind: 'in-sync' } },
        { line: 3, level: 'WARNING', message: 'x', fields: {}, event: { kind: 'dataplane-failure' } },
        { line: 4, level: 'INFO', message: 'x', fields: {}, event: { kind: 'resync' } },
        { line: 5, level: 'WARNING', message: 'x', fields: {}, event: { kind: 'unready' } },
        { line: 6, level: 'PANIC', message: 'x', fields: {}, event: { kind: 'restart' } },
        { line: 7, level: 'INFO', message: 'Felix starting up', fields: {}, event: { kind: 'starting' } },
        { line: 8, level: 'ERROR', message: 'x', fields: {}, event: { kind: 'datastore-error' } },
        { line: 9, level: 'WARNING', message: 'x', fields: {}, event: { kind: 'ipset-failure' } },
        { line: 10, message: 'raw', fields: {} },
      ],
    };
    expect(felixSyncFromLog(log)).toEqual({
      firstInSyncLine: 2,
      lastInSyncLine: 2,
      lastUnreadyLine: 5,
      resyncCount: 2,
      dataplaneFailureLines: [3],
      ipsetFailureLines: [9],
      datastoreErrorLines: [8],
      errorCount: 2,
      warningCount: 3,
    });
    expect(felixSyncFromLog({ entries: [] })).toEqual({ resyncCount: 0, dataplaneFailureLines: [], ipsetFailureLines: [], datastoreErrorLines: [], errorCount: 0, warningCount: 0 });
  });
});
