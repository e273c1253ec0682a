import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ConntrackDump, ConntrackEntry } from '../model/conntrack.js';
import type { ParseIssue } from '../model/evidence.js';
import { describeRoot } from '../../test/helpers/root.js';
import { generateConntrack } from '../../bench/gen/conntrack.js';
import { parseConntrack } from './conntrack.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dir = path.join(root, 'test/fixtures/conntrack');
const fixture = (name: string) => readFileSync(path.join(dir, name), 'utf8');
const CLIENT = fixture('conntrack-L-client.txt');
const SERVER = fixture('conntrack-L-server.txt');

function lineCount(text: string): number {
  if (text === '') return 0;
  const n = text.split('\n').length;
  return text.endsWith('\n') ? n - 1 : n;
}

function checkIssues(text: string, issues: ParseIssue[]): void {
  const max = lineCount(text);
  for (const i of issues) {
    expect(Number.isInteger(i.line) && i.line >= 0 && i.line <= max).toBe(true);
    expect(['error', 'warning']).toContain(i.severity);
  }
}

/** Flow identity independent of format: protocol and both tuples. */
function flows(d: ConntrackDump): string[] {
  return d.entries
    .map((e) => {
      const t = (x: ConntrackEntry['orig']) => `${x.src}:${x.sport ?? x.id ?? ''}>${x.dst}:${x.dport ?? x.type ?? ''}`;
      return `${e.protoNum} ${e.state ?? '-'} ${t(e.orig)} ${t(e.reply)} ${e.assured} ${e.unreplied} ${e.mark}`;
    })
    .sort();
}

const one = (d: ConntrackDump, pred: (e: ConntrackEntry) => boolean): ConntrackEntry => {
  const found = d.entries.filter(pred);
  expect(found).toHaveLength(1);
  return found[0];
};

describe('parseConntrack: real `conntrack -L` captures (conntrack-tools 1.4.7, kernel 6.18)', () => {
  const client = parseConntrack(CLIENT, 'nodes/client/conntrack.txt');
  const server = parseConntrack(SERVER, 'nodes/server/conntrack.txt');
  const c = client.value;
  const s = server.value;

  it('reads every entry without issues', () => {
    expect(client.issues).toEqual([]);
    expect(server.issues).toEqual([]);
    expect(c.entries).toHaveLength(18);
    expect(s.entries).toHaveLength(16);
    expect(c.format).toBe('conntrack');
    const byProto: Record<string, number> = {};
    for (const e of c.entries) byProto[e.proto] = (byProto[e.proto] ?? 0) + 1;
    expect(byProto).toEqual({ tcp: 9, udp: 4, icmp: 1, icmpv6: 1, sctp: 1, gre: 1, unknown: 1 });
    expect(c.entries.map((e) => e.line)).toEqual(Array.from({ length: 18 }, (_, i) => i + 1));
    expect(c.entries[0].raw).toBe(CLIENT.split('\n')[0]);
  });

  it('reads TCP states, flags and accounting', () => {
    const syn = one(c, (e) => e.orig.dport === 7777);
    expect(syn).toMatchObject({ proto: 'tcp', protoNum: 6, state: 'SYN_SENT', unreplied: true, assured: false });
    expect(syn.orig.packets).toBe(1);
    expect(syn.reply.packets).toBe(0);
    const tw = one(c, (e) => e.state === 'TIME_WAIT');
    expect(tw).toMatchObject({ assured: true, unreplied: false, timeout: 117 });
    expect(tw.orig).toMatchObject({ src: '10.200.0.1', dst: '10.200.0.2', dport: 80, packets: 6, bytes: 326 });
    expect(tw.reply).toMatchObject({ src: '10.200.0.2', dst: '10.200.0.1', sport: 80, packets: 4, bytes: 222 });
    expect(one(c, (e) => e.state === 'CLOSE').assured).toBe(true);
    expect(c.entries.filter((e) => e.state === 'ESTABLISHED')).toHaveLength(6);
    expect(c.entries.every((e) => e.use === 1 && e.deltaTime !== undefined)).toBe(true);
    // Accounting is off in the server namespace.
    expect(s.entries.every((e) => e.orig.packets === undefined && e.deltaTime === undefined)).toBe(true);
  });

  it('reads UDP marks and zones', () => {
    const dns = c.entries.filter((e) => e.proto === 'udp' && e.orig.dport === 53);
    expect(dns).toHaveLength(2);
    expect(dns.every((e) => e.mark === 0x4242 && !e.unreplied && !e.assured)).toBe(true);
    expect(one(c, (e) => e.orig.dport === 5353)).toMatchObject({ zone: 7, unreplied: true, timeout: 28 });
    expect(one(c, (e) => e.orig.dport === 7778)).toMatchObject({ zone: undefined, unreplied: true });
  });

  it('reads ICMP, ICMPv6, SCTP, GRE and unknown protocols', () => {
    const icmp = one(c, (e) => e.proto === 'icmp');
    expect(icmp).toMatchObject({ protoNum: 1, family: 'ipv4', state: undefined });
    expect(icmp.orig).toMatchObject({ type: 8, code: 0, id: 4660 });
    expect(icmp.reply).toMatchObject({ type: 0, code: 0, id: 4660 });
    const icmp6 = one(c, (e) => e.proto === 'icmpv6');
    expect(icmp6).toMatchObject({ protoNum: 58, family: 'ipv6' });
    expect(icmp6.orig).toMatchObject({ src: 'fd00:200::1', dst: 'fd00:200::2', type: 128, id: 17185 });
    expect(icmp6.reply.type).toBe(129);
    expect(one(c, (e) => e.proto === 'sctp')).toMatchObject({ protoNum: 132, state: 'CLOSED', unreplied: true });
    const gre = one(c, (e) => e.proto === 'gre');
    expect(gre.orig).toMatchObject({ srckey: '0x0', dstkey: '0x0', packets: 1, bytes: 48 });
    const unk = one(c, (e) => e.proto === 'unknown');
    expect(unk).toMatchObject({ protoNum: 253, timeout: 598, unreplied: true });
    expect(unk.orig.sport).toBeUndefined();
    expect(one(c, (e) => e.family === 'ipv6' && e.proto === 'tcp').orig.dport).toBe(80);
  });

  it('shows NAT in the tuples: client DNAT/MASQUERADE, server DNAT', () => {
    const dnat = one(c, (e) => e.orig.src === '10.200.0.1' && e.orig.dst === '10.200.0.9');
    expect(dnat.reply).toMatchObject({ src: '10.200.0.2', sport: 80, dst: '10.200.0.1' });
    const masq = one(c, (e) => e.orig.src === '10.201.0.1' && e.orig.dst === '10.200.0.2');
    expect(masq.reply.dst).toBe('10.200.0.1');
    const sdnat = one(s, (e) => e.orig.dport === 8080);
    expect(sdnat.reply).toMatchObject({ src: '10.202.0.2', sport: 80 });
  });

  it('reads the same flows from -o extended, /proc/net/nf_conntrack, -o id and -o ktimestamp', () => {
    for (const [tag, base] of [
      ['client', c],
      ['server', s],
    ] as const) {
      const ext = parseConntrack(fixture(`conntrack-L-extended-${tag}.txt`), 'x');
      expect(ext.issues).toEqual([]);
      expect(ext.value.format).toBe('extended');
      expect(flows(ext.value)).toEqual(flows(base));
      expect(ext.value.entries.filter((e) => e.family === 'ipv6')).toHaveLength(2);
      const proc = parseConntrack(fixture(`proc-nf_conntrack-${tag}.txt`), 'x');
      expect(proc.issues).toEqual([]);
      expect(proc.value.format).toBe('proc');
      // /proc prints IPv6 zero-padded; normalised, the flows are the same.
      expect(flows(proc.value)).toEqual(flows(base));
      expect(proc.value.entries.every((e) => e.zone !== undefined && e.use === 2)).toBe(true);
    }
    const proc = parseConntrack(fixture('proc-nf_conntrack-client.txt'), 'x').value;
    expect(one(proc, (e) => e.proto === 'gre').extra).toEqual({ timeout: '30', stream_timeout: '180' });

    const ids = parseConntrack(fixture('conntrack-L-id-client.txt'), 'x');
    expect(ids.issues).toEqual([]);
    expect(ids.value.entries.every((e) => typeof e.ctId === 'number' && e.ctId > 0)).toBe(true);
    const icmp = one(ids.value, (e) => e.proto === 'icmp');
    expect(icmp.orig.id).toBe(4660);
    expect(icmp.reply.id).toBe(4660);
    expect(icmp.ctId).not.toBe(4660);

    const ts = parseConntrack(fixture('conntrack-L-ktimestamp-client.txt'), 'x');
    expect(ts.issues).toEqual([]);
    expect(ts.value.entries.every((e) => /^\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4}$/.test(e.start ?? '') && e.use === 1)).toBe(true);
  });

  it('reads the summary lines that stderr puts first (stdout is buffered)', () => {
    const r = parseConntrack(fixture('conntrack-L-client-with-summary.txt'), 'x');
    expect(r.issues).toEqual([]);
    expect(r.value.summaries).toEqual([
      { count: 16, line: 1 },
      { count: 2, line: 18 },
    ]);
    expect(r.value.summaryCount).toBe(18);
    expect(r.value.entries).toHaveLength(18);
    const only = parseConntrack(fixture('conntrack-L-client.stderr.txt'), 'x');
    expect(only.value.summaryCount).toBe(18);
    expect(only.issues).toEqual([expect.objectContaining({ line: 0, severity: 'warning' })]);
  });

  it('every answered client flow appears in the server table under the client reply tuple', () => {
    const serverFlows = new Set(s.entries.map((e) => `${e.protoNum} ${e.orig.src}:${e.orig.sport} ${e.orig.dst}:${e.orig.dport}`));
    const answered = c.entries.filter((e) => (e.proto === 'tcp' || e.proto === 'udp') && !e.unreplied);
    expect(answered.length).toBeGreaterThan(8);
    for (const e of answered) {
      const key = `${e.protoNum} ${e.reply.dst}:${e.reply.dport} ${e.reply.src}:${e.reply.sport}`;
      if (e.orig.dport === 8080) continue; // DNATed again by the server: its orig is the client's reply
      expect(serverFlows.has(key)).toBe(true);
    }
  });
});

describe('parseConntrack: formats from kernel/conntrack sources and problems', () => {
  it('reads flags and fields this kernel did not produce (from the conntrack -L format)', () => {
    const text = [
      'tcp      6 86399 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2 src=10.0.0.2 dst=10.0.0.1 sport=2 dport=1 [OFFLOAD] mark=0 secctx=system_u:object_r:unlabeled_t:s0 zone-orig=1 zone-reply=2 use=2',
      'tcp      6 src=10.0.0.1 dst=10.0.0.2 sport=1 dport=3 src=10.0.0.2 dst=10.0.0.1 sport=3 dport=1 [HW_OFFLOAD] mark=0 labels=0x1 helper=ftp use=1',
    ].join('\n');
    const r = parseConntrack(text, 'x');
    expect(r.issues).toEqual([]);
    expect(r.value.entries[0]).toMatchObject({ offload: true, hwOffload: false, secctx: 'system_u:object_r:unlabeled_t:s0', zoneOrig: 1, zoneReply: 2, use: 2 });
    expect(r.value.entries[1]).toMatchObject({ hwOffload: true, labels: '0x1', helper: 'ftp', timeout: undefined });
  });

  it('keeps unknown fields and reports unexpected words as warnings', () => {
    const r = parseConntrack('udp 17 29 src=1.1.1.1 dst=2.2.2.2 sport=1 dport=2 src=2.2.2.2 dst=1.1.1.1 sport=2 dport=1 mark=0 weird=yes use=1 BOGUS\n', 'x');
    expect(r.value.entries[0].extra).toEqual({ weird: 'yes', BOGUS: '' });
    expect(r.issues).toEqual([expect.objectContaining({ line: 1, severity: 'warning' })]);
  });

  it('reports malformed lines with their line number and keeps the rest', () => {
    const good = CLIENT.split('\n')[0];
    const text = [
      good,
      'tcp 6 100 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2', // truncated: no reply tuple
      'tcp 6 100 ESTABLISHED src=10.0.0.999 dst=10.0.0.2 sport=1 dport=2 src=10.0.0.2 dst=10.0.0.1 sport=2 dport=1',
      'tcp 6 100 src=10.0.0.1 dst=10.0.0.2 src=10.0.0.2 dst=10.0.0.1 src=10.0.0.3 dst=10.0.0.4',
      'tcp 6 100 src=10.0.0.1 dst=10.0.0.2 sport=x dport=2 src=10.0.0.2 dst=10.0.0.1 sport=2 dport=1',
      'conntrack v1.4.7 (conntrack-tools): Operation failed: invalid parameters',
      '<?xml version="1.0" encoding="utf-8"?>',
      good,
    ].join('\n');
    const r = parseConntrack(text, 'x');
    expect(r.value.entries.map((e) => e.line)).toEqual([1, 8]);
    expect(r.issues.map((i) => [i.line, i.severity])).toEqual([
      [2, 'error'],
      [3, 'error'],
      [4, 'error'],
      [5, 'error'],
      [6, 'warning'],
      [7, 'error'],
    ]);
  });

  it('handles CRLF, binary, the wrong artifact and a 10 MB line', () => {
    const crlf = parseConntrack(CLIENT.replace(/\n/g, '\r\n'), 'x');
    expect(crlf.issues).toEqual([]);
    expect(flows(crlf.value)).toEqual(flows(parseConntrack(CLIENT, 'x').value));
    expect(crlf.value.entries[0].raw.endsWith('\r')).toBe(false);
    expect(parseConntrack('\u0000\u0000', 'x').issues).toHaveLength(1);
    const wrong = parseConntrack('create s hash:ip family inet\nadd s 10.0.0.1\n', 'x');
    expect(wrong.value.entries).toEqual([]);
    expect(wrong.issues.some((i) => i.line === 0 && i.severity === 'error')).toBe(true);
    const big = parseConntrack(`tcp 6 1 src=${'1'.repeat(10 * 1024 * 1024)}`, 'x');
    expect(big.issues.every((i) => i.reason.length < 400)).toBe(true);
  });

  it('reads the benchmark generator output without issues, in both plain and extended form', () => {
    for (const extended of [false, true]) {
      const g = generateConntrack(5000, { seed: 3, extended, summary: true });
      const r = parseConntrack(g.text, 'gen');
      expect(r.issues).toEqual([]);
      expect(r.value.entries).toHaveLength(5000);
      expect(r.value.summaryCount).toBe(5000);
    }
  });
});

describe('parseConntrack: property-based', () => {
  const check = (text: string) => {
    const r = parseConntrack(text, 'fz');
    checkIssues(text, r.issues);
    return r;
  };

  it('never throws on random strings, bytes and token soup', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (s) => void check(s)), { numRuns: 300 });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), (b) => void check(Buffer.from(b).toString('latin1'))), { numRuns: 300 });
    const tokens = ['ipv4', 'ipv6', '2', '10', 'tcp', '6', 'icmp', '1', '120', 'ESTABLISHED', 'src=10.0.0.1', 'dst=fd00::1', 'sport=1', 'dport=', 'id=7', 'type=8', '[ASSURED]', '[start=Mon', 'mark=', 'use=1', 'zone=x', '=', '[', ']', ' ', '\n', '\r\n'];
    fc.assert(fc.property(fc.array(fc.constantFrom(...tokens), { maxLength: 60 }), (parts) => void check(parts.join(' '))), { numRuns: 500 });
  });

  const sources = readdirSync(dir).filter((f) => /^(conntrack-L|proc-nf)/.test(f) && !f.includes('stderr'));
  it('survives mutations of every real capture; injected garbage never hides a good line', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...sources),
        fc.constantFrom('truncate', 'shuffle', 'inject', 'crlf', 'cut'),
        fc.nat(),
        fc.string({ unit: 'binary', maxLength: 80 }),
        (name, op, at, garbage) => {
          const text = fixture(name);
          const lines = text.split('\n');
          let t = text;
          if (op === 'truncate') t = text.slice(0, at % (text.length + 1));
          else if (op === 'crlf') t = text.replace(/\n/g, '\r\n');
          else if (op === 'cut') {
            const l = [...lines];
            const i = at % l.length;
            l[i] = l[i].slice(0, at % (l[i].length + 1));
            t = l.join('\n');
          } else if (op === 'shuffle') t = [...lines].sort((a, b) => ((a.length * 31 + at) % 7) - ((b.length * 31 + at) % 7)).join('\n');
          else {
            const l = [...lines];
            l.splice(at % l.length, 0, `# ${garbage.replace(/[\u0000-\u001f]/g, ' ')}`);
            t = l.join('\n');
          }
          const r = check(t);
          if (op === 'inject' || op === 'crlf' || op === 'shuffle') {
            const base = parseConntrack(text, 'o').value;
            expect(r.value.entries).toHaveLength(base.entries.length);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describeRoot('parseConntrack: live capture', () => {
  it('parses what scripts/fixtures/capture-conntrack.sh captures now, without issues', () => {
    const out = mkdtempSync(path.join(tmpdir(), 'csf-ct-'));
    try {
      execFileSync('bash', [path.join(root, 'scripts/fixtures/capture-conntrack.sh'), out], { stdio: 'pipe', timeout: 120_000 });
      for (const f of readdirSync(out).filter((x) => /^(conntrack-L|proc-nf)/.test(x) && !x.includes('stderr'))) {
        const r = parseConntrack(readFileSync(path.join(out, f), 'utf8'), f);
        expect({ f, issues: r.issues }).toEqual({ f, issues: [] });
        expect(r.value.entries.length).toBeGreaterThan(10);
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
