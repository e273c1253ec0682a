import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConntrackStats } from './conntrack-stats.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const fixture = (name: string) => readFileSync(path.join(root, 'test/fixtures/conntrack', name), 'utf8');

describe('parseConntrackStats: real captures', () => {
  it('reads `conntrack -S` per-CPU rows and totals', () => {
    const r = parseConntrackStats(fixture('conntrack-S-client.txt'), 'conntrack-stats.txt');
    expect(r.issues).toEqual([]);
    expect(r.value.format).toBe('conntrack-S');
    expect(r.value.cpus.map((c) => [c.cpu, c.line])).toEqual([
      [0, 1],
      [1, 2],
    ]);
    expect(Object.keys(r.value.cpus[0].counters)).toEqual(['found', 'invalid', 'insert', 'insert_failed', 'drop', 'early_drop', 'error', 'search_restart', 'clash_resolve', 'chaintoolong']);
    // The capture script sends a stray ACK with tcp_loose=0 (invalid) and gets an ICMP error back.
    expect(r.value.totals.invalid).toBeGreaterThanOrEqual(1);
    expect(r.value.summary.invalid).toBe(r.value.totals.invalid);
    expect(r.value.summary.error).toBe(1);
    expect(r.value.summary.insertFailed).toBe(0);
    expect(r.value.summary.earlyDrop).toBe(0);
  });

  it('reads /proc/net/stat/nf_conntrack (hex table) to the same summary', () => {
    const proc = parseConntrackStats(fixture('proc-stat-nf_conntrack-client.txt'), 'p');
    expect(proc.issues).toEqual([]);
    expect(proc.value.format).toBe('proc-stat');
    expect(proc.value.cpus).toHaveLength(2);
    // `entries` is the table size on every row, not a per-CPU count.
    expect(proc.value.totals.entries).toBe(18);
    expect(proc.value.count).toEqual({ value: 18, line: 2 });
    const s = parseConntrackStats(fixture('conntrack-S-client.txt'), 's').value.summary;
    expect(proc.value.summary.invalid).toBe(s.invalid);
    expect(proc.value.summary.error).toBe(s.error); // icmp_error
    expect(proc.value.summary.clashResolve).toBe(s.clashResolve); // clashres
    expect(proc.value.summary.chainTooLong).toBe(s.chainTooLong); // chainlength
  });

  it('reads `conntrack -C`, alone or after -S', () => {
    expect(parseConntrackStats(fixture('conntrack-C-client.txt'), 'c').value.count).toEqual({ value: 18, line: 1 });
    const both = parseConntrackStats(fixture('conntrack-S-server.txt') + fixture('conntrack-C-server.txt'), 'b');
    expect(both.issues).toEqual([]);
    expect(both.value.count).toEqual({ value: 16, line: 3 });
    expect(both.value.cpus).toHaveLength(2);
  });
});

describe('parseConntrackStats: other formats and problems', () => {
  it('reads the older conntrack-tools layout (entries/searched/new/delete…)', () => {
    // Layout printed by conntrack-tools 1.4.4 (CentOS 7 era), from its format string.
    const text =
      'cpu=0   \tsearched=1 found=270 new=50 invalid=3 ignore=7 delete=40 delete_list=40 insert=50 insert_failed=2 drop=2 early_drop=0 error=0 search_restart=1 \n' +
      'cpu=1   \tsearched=0 found=30 new=5 invalid=1 ignore=0 delete=4 delete_list=4 insert=5 insert_failed=1 drop=1 early_drop=0 error=0 search_restart=0 \n';
    const r = parseConntrackStats(text, 'x');
    expect(r.issues).toEqual([]);
    expect(r.value.totals).toMatchObject({ found: 300, invalid: 4, insert_failed: 3, drop: 3, delete_list: 44 });
    expect(r.value.summary).toMatchObject({ insertFailed: 3, drop: 3, searchRestart: 1, ignore: 7 });
    expect(r.value.summary.clashResolve).toBeUndefined();
  });

  it('reports bad lines and tool errors', () => {
    const r = parseConntrackStats('cpu=0 found=x invalid=1\ncpu=zz found=1\nconntrack v1.4.7 (conntrack-tools): Operation not permitted\nhello\n', 'x');
    expect(r.issues.map((i) => [i.line, i.severity])).toEqual([
      [1, 'warning'],
      [2, 'warning'],
      [2, 'error'],
      [3, 'warning'],
      [4, 'error'],
    ]);
    expect(r.value.cpus).toHaveLength(1);
    expect(r.value.totals).toEqual({ invalid: 1 });
  });

  it('handles binary, empty and the wrong artifact', () => {
    expect(parseConntrackStats('\u0000x', 'x').issues).toHaveLength(1);
    expect(parseConntrackStats('', 'x')).toEqual({ value: { cpus: [], totals: {}, summary: {} }, issues: [] });
    const wrong = parseConntrackStats('net.ipv4.ip_forward = 1\n', 'x');
    expect(wrong.issues.some((i) => i.line === 0)).toBe(true);
  });

  it('never throws; issue lines are valid (property)', () => {
    const base = fixture('conntrack-S-client.txt') + fixture('proc-stat-nf_conntrack-client.txt') + fixture('conntrack-C-client.txt');
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), fc.nat().map((n) => base.slice(0, n % (base.length + 1))), fc.constant(base.replace(/\n/g, '\r\n'))), (text) => {
        const r = parseConntrackStats(text, 'fz');
        const max = text === '' ? 0 : text.split('\n').length;
        for (const i of r.issues) expect(i.line >= 0 && i.line <= max).toBe(true);
      }),
      { numRuns: 400 },
    );
    const crlf = parseConntrackStats(base.replace(/\n/g, '\r\n'), 'x');
    expect(crlf.issues).toEqual([]);
  });
});
