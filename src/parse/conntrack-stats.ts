/**
 * Parser for conntrack statistics: `conntrack -S` (`cpu=0 found=0 invalid=3 … search_restart=0`,
 * any set of keys, old and new conntrack-tools), the hex table of `/proc/net/stat/nf_conntrack`,
 * and the bare number printed by `conntrack -C`. These may be concatenated in one file.
 */
import { IssueSink, type Parsed } from '../model/evidence.js';
import type { ConntrackStats, ConntrackStatsSummary } from '../model/conntrack.js';
import { forEachLine, looksBinary } from './lines.js';

/** Counters that are one global value repeated per CPU rather than per-CPU counts. */
const GLOBAL_COUNTERS = new Set(['entries']);

const SUMMARY_KEYS: [keyof ConntrackStatsSummary, string[]][] = [
  ['found', ['found']],
  ['invalid', ['invalid']],
  ['ignore', ['ignore']],
  ['insert', ['insert']],
  ['insertFailed', ['insert_failed']],
  ['drop', ['drop']],
  ['earlyDrop', ['early_drop']],
  ['error', ['error', 'icmp_error']],
  ['searchRestart', ['search_restart']],
  ['clashResolve', ['clash_resolve', 'clashres']],
  ['chainTooLong', ['chaintoolong', 'chainlength']],
];

export function parseConntrackStats(text: string, artifact: string): Parsed<ConntrackStats> {
  const sink = new IssueSink(artifact);
  const stats: ConntrackStats = { cpus: [], totals: {}, summary: {} };
  if (looksBinary(text)) {
    sink.error(0, 'binary content, not conntrack statistics');
    return { value: stats, issues: sink.finish() };
  }
  let procColumns: string[] | undefined;
  let procRow = 0;
  let unrecognised = 0;

  forEachLine(text, (line, no) => {
    const t = line.trim();
    if (t === '') return;
    if (/^\d+$/.test(t)) {
      if (stats.count) sink.warn(no, `second count line (first at line ${stats.count.line})`);
      stats.count = { value: Number(t), line: no };
      return;
    }
    if (t.startsWith('cpu=')) {
      const counters: Record<string, number> = {};
      let cpu = -1;
      for (const tok of t.split(/\s+/)) {
        const eq = tok.indexOf('=');
        if (eq <= 0) {
          sink.warn(no, `unexpected token "${tok}"`);
          continue;
        }
        const k = tok.slice(0, eq);
        const v = tok.slice(eq + 1);
        if (!/^\d+$/.test(v)) {
          sink.warn(no, `${k}: not a number "${v}"`);
          continue;
        }
        if (k === 'cpu') cpu = Number(v);
        else counters[k] = Number(v);
      }
      if (cpu < 0) {
        sink.error(no, `bad cpu= field: ${t}`);
        return;
      }
      stats.format ??= 'conntrack-S';
      stats.cpus.push({ cpu, line: no, counters });
      return;
    }
    if (/^entries(\s+[a-z_]+)+$/.test(t)) {
      procColumns = t.split(/\s+/);
      procRow = 0;
      stats.format ??= 'proc-stat';
      return;
    }
    if (procColumns && /^[0-9a-f]{8}(\s+[0-9a-f]{8})*$/i.test(t)) {
      const vals = t.split(/\s+/);
      if (vals.length !== procColumns.length) sink.warn(no, `${vals.length} values for ${procColumns.length} columns`);
      const counters: Record<string, number> = {};
      for (let i = 0; i < Math.min(vals.length, procColumns.length); i++) counters[procColumns[i]] = Number.parseInt(vals[i], 16);
      // Rows are CPUs in order (offline CPUs are skipped by the kernel, so this is the row index).
      stats.cpus.push({ cpu: procRow++, line: no, counters });
      return;
    }
    if (/^conntrack v[\d.]+/.test(t)) {
      sink.warn(no, `conntrack reported: ${t}`);
      return;
    }
    unrecognised++;
    sink.error(no, `not a conntrack statistics line: ${t}`);
  });

  for (const row of stats.cpus) {
    for (const [k, v] of Object.entries(row.counters)) {
      if (GLOBAL_COUNTERS.has(k)) stats.totals[k] = Math.max(stats.totals[k] ?? 0, v);
      else stats.totals[k] = (stats.totals[k] ?? 0) + v;
    }
  }
  for (const [name, sources] of SUMMARY_KEYS) {
    const src = sources.find((s) => s in stats.totals);
    if (src) stats.summary[name] = stats.totals[src];
  }
  if (!stats.count && stats.format === 'proc-stat' && stats.cpus.length > 0 && 'entries' in stats.totals) {
    stats.count = { value: stats.totals.entries, line: stats.cpus[0].line };
  }
  if (stats.cpus.length === 0 && !stats.count && unrecognised > 0) sink.error(0, 'no conntrack statistics recognised (wrong artifact?)');
  return { value: stats, issues: sink.finish() };
}

