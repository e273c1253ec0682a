import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ParseIssue } from '../model/evidence.js';
import { felixHealthFromMetrics, metricReading, metricValue, parseFelixMetrics, parsePromFloat, parseSampleLine } from './felix-metrics.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const fixture = (name: string) => readFileSync(path.join(root, 'test/fixtures/felix', name), 'utf8');
const HEALTHY = fixture('felix-metrics.txt');
const FAILING = fixture('felix-metrics-failing.txt');

function lineCount(text: string): number {
  if (text === '') return 0;
  const n = text.split('\n').length;
  return text.endsWith('\n') ? n - 1 : n;
}

function checkIssues(text: string, issues: ParseIssue[], artifact: string): void {
  const max = lineCount(text);
  for (const i of issues) {
    expect(i.artifact).toBe(artifact);
    expect(i.line).toBeGreaterThanOrEqual(0);
    expect(i.line).toBeLessThanOrEqual(max);
  }
}

describe('parseFelixMetrics: reconstructed Felix pages (names, HELP and types from Calico source)', () => {
  const { value: m, issues } = parseFelixMetrics(HEALTHY, 'nodes/a/felix-metrics.txt');

  it('reads every family with its type and help, and no issues', () => {
    expect(issues).toEqual([]);
    expect(m.families.size).toBe(40);
    const rs = m.families.get('felix_resync_state')!;
    expect(rs).toEqual({ name: 'felix_resync_state', type: 'gauge', help: 'Current datastore state.', samples: [{ name: 'felix_resync_state', labels: {}, value: 3, line: 136 }] });
    expect(m.families.get('felix_int_dataplane_failures')!.type).toBe('counter');
  });

  it('groups summary quantiles, _sum and _count under their family, keeping lines', () => {
    const f = m.families.get('felix_int_dataplane_apply_time_seconds')!;
    expect(f.type).toBe('summary');
    expect(f.samples.map((s) => [s.name, s.labels.quantile, s.value])).toEqual([
      ['felix_int_dataplane_apply_time_seconds', '0.5', 0.004512733],
      ['felix_int_dataplane_apply_time_seconds', '0.9', 0.011207851],
      ['felix_int_dataplane_apply_time_seconds', '0.99', 0.031004211],
      ['felix_int_dataplane_apply_time_seconds_sum', undefined, 13.021833612],
      ['felix_int_dataplane_apply_time_seconds_count', undefined, 1802],
    ]);
    expect(m.families.has('felix_int_dataplane_apply_time_seconds_sum')).toBe(false);
    expect(metricValue(m, 'felix_int_dataplane_apply_time_seconds_count')).toBe(1802);
    expect(metricValue(m, 'felix_exec_time_micros_sum')).toBe(2179123);
  });

  it('sums labelled samples, or picks by label', () => {
    expect(metricValue(m, 'felix_iptables_lines_executed')).toBe(1432 + 48 + 96 + 57);
    expect(metricValue(m, 'felix_iptables_lines_executed', { table: 'nat' })).toBe(96);
    expect(metricReading(m, 'felix_iptables_rules', { ip_version: '4', table: 'filter' })).toEqual({ value: 212, line: 118 });
    expect(metricValue(m, 'felix_iptables_rules', { ip_version: '6' })).toBeUndefined();
    expect(metricValue(m, 'felix_nft_errors')).toBeUndefined();
    expect(metricValue(m, 'process_cpu_seconds_total')).toBe(183.47);
    expect(metricValue(m, 'process_resident_memory_bytes')).toBe(94552064);
  });

  it('derives health readings with evidence lines', () => {
    const h = felixHealthFromMetrics(m);
    expect(h).toMatchObject({
      resyncState: { value: 3, line: 136 },
      dataplaneFailures: { value: 0, line: 68 },
      iptablesRestoreErrors: { value: 0, line: 115 },
      ipsetErrors: { value: 0, line: 88 },
      logErrors: { value: 0, line: 130 },
      activeLocalEndpoints: { value: 4, line: 3 },
      activeLocalPolicies: { value: 3, line: 6 },
      clusterNumHosts: { value: 3, line: 36 },
      initialResyncSeconds: { value: 0.605633007, line: 71 },
      host: { name: 'node-a', line: 58 },
    });
    expect(h.nftErrors).toBeUndefined();
  });

  it('shows a Felix stuck resyncing with dataplane failures', () => {
    const f = parseFelixMetrics(FAILING, 'x');
    expect(f.issues).toEqual([]);
    const h = felixHealthFromMetrics(f.value);
    expect(h).toMatchObject({
      resyncState: { value: 2, line: 136 },
      resyncsStarted: { value: 4 },
      dataplaneFailures: { value: 17, line: 68 },
      iptablesRestoreErrors: { value: 5, line: 115 },
      ipsetErrors: { value: 2, line: 88 },
      logErrors: { value: 1, line: 130 },
    });
    expect(f.value.families.get('felix_int_dataplane_apply_time_seconds')!.samples[0].value).toBeNaN();
  });
});

describe('parseFelixMetrics: exposition format details', () => {
  it('parses labels with escapes, trailing commas, timestamps and special floats', () => {
    expect(parseSampleLine('a{b="x\\"y\\\\z\\n",c="",} +Inf 1700000000000')).toEqual({ name: 'a', labels: { b: 'x"y\\z\n', c: '' }, value: Infinity, timestamp: 1700000000000 });
    expect(parseSampleLine('a -Inf')).toMatchObject({ value: -Infinity });
    expect(parsePromFloat('1.5e+06')).toBe(1500000);
    expect(parsePromFloat('abc')).toBeUndefined();
    expect(parseSampleLine('a{b="x')).toBe('unterminated value for label b');
    expect(parseSampleLine('a{b="x" 1')).toBe('expected "," or "}" in label set');
    expect(parseSampleLine('a{b="1",b="2"} 3')).toBe('duplicate label b');
    expect(parseSampleLine('a 1 2 3')).toBe('unexpected text after value and timestamp');
  });

  it('reads OpenMetrics _total counters and # EOF', () => {
    const t = '# TYPE felix_ipset_errors counter\nfelix_ipset_errors_total 3\n# EOF\ngarbage\n';
    const r = parseFelixMetrics(t, 'x');
    expect(metricValue(r.value, 'felix_ipset_errors')).toBe(3);
    expect(r.issues).toEqual([expect.objectContaining({ line: 4, reason: 'text after "# EOF"' })]);
  });

  it('reports bad lines, duplicate samples and late TYPE lines, and keeps the rest', () => {
    const t = ['# TYPE x gauge', 'x 1', 'x 2', '# TYPE x counter', 'y{a=b} 1', 'z 1', 'w NaN', 'q one'].join('\n');
    const r = parseFelixMetrics(t, 'x');
    expect(r.issues.map((i) => i.line)).toEqual([3, 4, 5, 8]);
    expect(metricValue(r.value, 'z')).toBe(1);
    expect(metricValue(r.value, 'w')).toBeNaN();
  });

  it('refuses other artifacts, binary input and a 10 MB line', () => {
    const r = parseFelixMetrics('Calico process is running.\n\nIPv4 BGP status\n', 'x');
    expect(r.value.families.size).toBe(0);
    expect(r.issues.at(-1)).toMatchObject({ line: 0, reason: 'no Prometheus metric samples found' });
    expect(parseFelixMetrics('\u0000\u0001', 'x').issues[0]).toMatchObject({ line: 0, severity: 'error' });
    const big = parseFelixMetrics(`${'felix_x{a="'.padEnd(10_000_000, 'y')}\n${HEALTHY}`, 'x');
    expect(big.value.families.size).toBe(40);
    expect(big.issues).toEqual([expect.objectContaining({ line: 1 })]);
  });
});

describe('parseFelixMetrics: property-based', () => {
  const check = (text: string) => {
    const r = parseFelixMetrics(text, 'fz');
    checkIssues(text, r.issues, 'fz');
    for (const f of r.value.families.values()) for (const s of f.samples) expect(s.line).toBeLessThanOrEqual(lineCount(text));
    return r;
  };

  it('never throws on random strings, bytes and exposition-ish tokens', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (s) => void check(s)), { numRuns: 300 });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), (b) => void check(Buffer.from(b).toString('latin1'))), { numRuns: 200 });
    const tokens = ['# HELP ', '# TYPE ', 'felix_x', '_sum', '{', '}', 'a="', '"', ',', '\\', ' ', '1', '2.5e-3', 'NaN', '+Inf', 'gauge', 'summary', '\n', '\r\n', '# EOF'];
    fc.assert(fc.property(fc.array(fc.constantFrom(...tokens), { maxLength: 80 }), (parts) => void check(parts.join(''))), { numRuns: 300 });
  });

  it('round-trips generated samples', () => {
    const label = fc.tuple(fc.constantFrom('table', 'ip_version', 'type', 'le'), fc.string({ maxLength: 8 }));
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('felix_a', 'felix_b', 'go_c'), fc.uniqueArray(label, { selector: (l) => l[0], maxLength: 3 }), fc.double({ noNaN: true })), { maxLength: 20 }), (samples) => {
        const lines = samples.map(([n, ls, v]) => {
          const esc = (s: string) => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
          const l = ls.length ? `{${ls.map(([k, x]) => `${k}="${esc(x)}"`).join(',')}}` : '';
          return `${n}${l} ${Object.is(v, -0) ? '-0' : String(v)}`;
        });
        const r = check(lines.join('\n'));
        const got = [...r.value.families.values()].flatMap((f) => f.samples).sort((a, b) => a.line - b.line);
        // Duplicates are reported and kept.
        expect(got.length).toBe(samples.length);
        expect(r.issues.every((i) => i.reason.startsWith('duplicate sample'))).toBe(true);
        for (const s of got) {
          const [n, ls, v] = samples[s.line - 1];
          expect(s.name).toBe(n);
          expect(s.labels).toEqual(Object.fromEntries(ls));
          expect(s.value).toBe(v);
        }
      }),
      { numRuns: 200 },
    );
  });

  const mutation = fc.record({
    op: fc.constantFrom('truncate', 'shuffle', 'inject', 'crlf'),
    at: fc.nat(),
    seed: fc.nat(),
    garbage: fc.string({ unit: 'binary', maxLength: 60 }),
  });

  it('survives mutations of the reconstructed page', () => {
    const text = FAILING;
    const orig = parseFelixMetrics(text, 'o').value;
    const lines = text.split('\n');
    const samples = (m: typeof orig) => [...m.families.values()].flatMap((f) => f.samples.map((s) => `${s.name}${JSON.stringify(s.labels)}=${s.value}`)).sort();
    fc.assert(
      fc.property(mutation, ({ op, at, seed, garbage }) => {
        let t: string;
        if (op === 'truncate') t = text.slice(0, at % (text.length + 1));
        else if (op === 'crlf') t = text.replace(/\n/g, '\r\n');
        else if (op === 'shuffle') {
          const l = [...lines];
          for (let i = l.length - 1; i > 0; i--) {
            const j = (seed + i * 7919) % (i + 1);
            [l[i], l[j]] = [l[j], l[i]];
          }
          t = l.join('\n');
        } else {
          const l = [...lines];
          l.splice(at % l.length, 0, `~${garbage.replace(/[\u0000-\u001f\n]/g, ' ')}`);
          t = l.join('\n');
        }
        const r = check(t);
        if (op === 'crlf') expect(r.value).toEqual(orig);
        if (op === 'inject') {
          expect(samples(r.value)).toEqual(samples(orig));
          expect(r.issues).toEqual([expect.objectContaining({ line: (at % lines.length) + 1 })]);
        }
        if (op === 'shuffle') expect(samples(r.value)).toEqual(samples(orig));
      }),
      { numRuns: 150 },
    );
  });
});
