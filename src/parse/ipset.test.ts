import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ParseIssue } from '../model/evidence.js';
import type { IpsetDump } from '../model/ipset.js';
import { describeRoot } from '../../test/helpers/root.js';
import { generateFelixIpsets } from '../../bench/gen/ipset.js';
import { parseIpset, tokenizeIpsetLine } from './ipset.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const fixture = (name: string) => readFileSync(path.join(root, 'test/fixtures/ipset', name), 'utf8');
const SAVE = fixture('ipset-save.txt');
const LIST = fixture('ipset-list.txt');

function lineCount(text: string): number {
  if (text === '') return 0;
  const n = text.split('\n').length;
  return text.endsWith('\n') ? n - 1 : n;
}

function checkIssues(text: string, issues: ParseIssue[], artifact: string): void {
  const max = lineCount(text);
  for (const i of issues) {
    expect(i.artifact).toBe(artifact);
    expect(Number.isInteger(i.line)).toBe(true);
    expect(i.line).toBeGreaterThanOrEqual(0);
    expect(i.line).toBeLessThanOrEqual(max);
    expect(['error', 'warning']).toContain(i.severity);
  }
}

/** Members of every set as comparable strings, to check save and list agree. */
function summary(d: IpsetDump): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const s of d.sets.values()) {
    out[`${s.name} ${s.type} ${s.family}`] = s.members
      .map((m) => JSON.stringify({ ...m, line: 0 }))
      .sort();
  }
  return out;
}

describe('parseIpset: real `ipset save` capture (ipset v7.17)', () => {
  const { value: d, issues } = parseIpset(SAVE, 'nodes/a/ipset.txt');

  it('reads every set without issues', () => {
    expect(issues).toEqual([]);
    expect(d.format).toBe('save');
    expect(d.mixed).toBeUndefined();
    expect(d.sets.size).toBe(25);
  });

  it('reads Felix selector and named-port sets', () => {
    const sel = d.sets.get('cali40s:4g010_DunYvItGg3dv2Mxna')!;
    expect(sel.type).toBe('hash:net');
    expect(sel.family).toBe('inet');
    expect(sel.line).toBe(1);
    expect(sel.header).toMatchObject({ family: 'inet', hashsize: '1024', maxelem: '1048576', bucketsize: '12', initval: '0x1badcafe' });
    expect(sel.members.map((m) => m.ip)).toEqual(['10.65.0.2', '10.65.1.7', '10.65.2.130', '10.65.0.3', '10.65.3.0/26']);
    expect(sel.members[0]).toMatchObject({ raw: '10.65.0.2', line: 2, prefixLen: 32, nomatch: false });
    expect(sel.members[4]).toMatchObject({ ip: '10.65.3.0/26', prefixLen: 26 });

    const np = d.sets.get('cali40n:cl9_Kgeu4H0OGLbhovVR3NB')!;
    expect(np.type).toBe('hash:ip,port');
    expect(np.members.map((m) => [m.ip, m.proto, m.port])).toEqual([
      ['10.65.1.7', 'tcp', 80],
      ['10.65.2.130', 'sctp', 9000],
      ['10.65.0.2', 'tcp', 8080],
      ['10.65.1.7', 'udp', 53],
    ]);
  });

  it('reads nomatch entries, timeouts, comments and counters', () => {
    const nets = d.sets.get('csf-nets')!;
    expect(nets.members.filter((m) => m.nomatch).map((m) => m.ip)).toEqual(['10.1.0.0/16', '203.0.113.64/30']);
    const to = d.sets.get('csf-timeouts')!;
    expect(to.header.timeout).toBe('600');
    expect(to.header.comment).toBe('');
    expect(to.members[0]).toMatchObject({ ip: '198.51.100.1', timeout: 0, comment: 'permanent entry' });
    expect(to.members[1]).toMatchObject({ ip: '198.51.100.2', comment: 'blocked: port scan' });
    expect(to.members[1].timeout).toBeGreaterThan(3000);
    expect(to.members[2].comment).toBeUndefined();
    const ports = d.sets.get('csf-ports')!;
    expect(ports.type).toBe('bitmap:port');
    expect(ports.family).toBeUndefined();
    expect(ports.header).toEqual({ range: '1024-65535', counters: '' });
    expect(ports.members.map((m) => [m.port, m.packets, m.bytes])).toEqual([
      [8080, 5, 420],
      [9090, 0, 0],
    ]);
  });

  it('reads ip,port protocols including ICMP names and the default tcp', () => {
    const s = d.sets.get('csf-ipport')!;
    const byIp = Object.fromEntries(s.members.map((m) => [`${m.ip}/${m.proto}`, m.port]));
    expect(byIp['192.0.2.13/icmp']).toBe(0x0800); // echo-request = type 8 code 0
    expect(byIp['192.0.2.12/udplite']).toBe(5000);
    expect(byIp['192.0.2.11/sctp']).toBe(3868);
    expect(byIp['192.0.2.14/tcp']).toBe(80); // added as "192.0.2.14,80"
    const v6 = d.sets.get('csf-v6-ports')!;
    expect(v6.family).toBe('inet6');
    expect(v6.members.map((m) => [m.ip, m.proto, m.port])).toEqual([
      ['2001:db8::11', 'icmpv6', 0x8000],
      ['2001:db8::10', 'tcp', 443],
    ]);
  });

  it('reads hash:net,port, hash:net,iface, hash:ip,port,ip, bitmap:ip, list:set and IPv6 sets', () => {
    expect(d.sets.get('csf-netport')!.members.map((m) => [m.ip, m.proto, m.port, m.nomatch])).toEqual([
      ['10.20.0.0/16', 'tcp', 443, false],
      ['10.20.5.0/24', 'tcp', 443, true],
    ]);
    expect(d.sets.get('csf-netiface')!.members.map((m) => [m.ip, m.iface, m.physdev])).toEqual([
      ['10.30.0.0/16', 'eth0', undefined],
      ['10.31.0.0/16', 'eth1', true],
    ]);
    expect(d.sets.get('csf-ipportip')!.members[0]).toMatchObject({ ip: '10.96.0.10', proto: 'udp', port: 53, ip2: '10.65.0.5', prefixLen2: 32 });
    const bm = d.sets.get('csf-bitmap-ip')!;
    expect(bm.family).toBe('inet');
    expect(bm.header.range).toBe('192.0.2.0-192.0.2.15');
    expect(d.sets.get('csf-list')!.members.map((m) => m.setName)).toEqual(['csf-v6', 'cali40all-hosts-net', 'csf-nets']);
    expect(d.sets.get('csf-v6')!.members.map((m) => [m.ip, m.prefixLen])).toEqual([
      ['2001:db8::2', 128],
      ['2001:db8::1', 128],
    ]);
    expect(d.sets.get('cali60s:4g010_DunYvItGg3dv2Mxna')!.members.map((m) => m.ip)).toEqual(['fd00:10:65::2', 'fd00:10:65:1::/64']);
    expect(d.sets.get('csf-empty')!.members).toEqual([]);
  });
});

describe('parseIpset: real `ipset list` capture', () => {
  const { value: d, issues } = parseIpset(LIST, 'ipset.txt');

  it('reads the list format with headers, references and entry counts', () => {
    expect(issues).toEqual([]);
    expect(d.format).toBe('list');
    expect(d.sets.size).toBe(25);
    const hosts = d.sets.get('cali40all-hosts-net')!;
    expect(hosts).toMatchObject({ type: 'hash:net', family: 'inet', revision: 7, references: 2, declaredEntries: 3, format: 'list' });
    expect(hosts.sizeInMemory).toBeGreaterThan(0);
    expect(d.sets.get('csf-nets')!.references).toBe(1); // referenced by the list:set
    expect(d.sets.get('csf-list')!.header).toEqual({ size: '8' });
    expect(d.sets.get('csf-empty')!.declaredEntries).toBe(0);
    const first = d.sets.get('cali40s:4g010_DunYvItGg3dv2Mxna')!;
    expect(first.line).toBe(1);
    expect(first.members[0].line).toBe(9);
  });

  it('agrees with the save capture member for member', () => {
    expect(summary(d)).toEqual(summary(parseIpset(SAVE, 'x').value));
  });

  it('reads `ipset list -terse` (no members section) without warnings', () => {
    const r = parseIpset(fixture('ipset-list-terse.txt'), 't');
    expect(r.issues).toEqual([]);
    expect(r.value.sets.size).toBe(25);
    expect(r.value.sets.get('csf-nets')!.declaredEntries).toBe(5);
    expect(r.value.sets.get('csf-nets')!.members).toEqual([]);
  });

  it('reads `ipset list -output save` like `ipset save`', () => {
    expect(summary(parseIpset(fixture('ipset-list-output-save.txt'), 'x').value)).toEqual(summary(parseIpset(SAVE, 'x').value));
  });

  it('reads a file with both formats concatenated (no blank line between)', () => {
    const r = parseIpset(fixture('ipset-mixed.txt'), 'm');
    expect(r.issues).toEqual([]);
    expect(r.value.format).toBe('list');
    expect(r.value.mixed).toBe(true);
    expect(r.value.sets.get('cali40s:4g010_DunYvItGg3dv2Mxna')!.members).toHaveLength(5);
    expect(r.value.sets.get('csf-nets')!.format).toBe('save');
    expect(r.value.sets.get('csf-nets')!.members).toHaveLength(5);
  });
});

describe('parseIpset: problems are issues, not exceptions', () => {
  it('reports an add before its create, and keeps going', () => {
    const r = parseIpset('add ghost 10.0.0.1\ncreate s hash:ip family inet\nadd s 10.0.0.2\n', 'a');
    expect(r.issues).toEqual([expect.objectContaining({ line: 1, severity: 'error' })]);
    expect(r.value.sets.get('s')!.members).toHaveLength(1);
  });

  it('reports bad members with their line and keeps the good ones', () => {
    const text = [
      'create s hash:ip,port family inet',
      'add s 10.0.0.1,tcp:80',
      'add s 10.0.0.1,tcp:99999',
      'add s 10.0.0.300,tcp:80',
      'add s 10.0.0.2,bogus:80',
      'add s 2001:db8::1,tcp:80',
      'add s 10.0.0.3,icmp:no-such-type',
      'add s 10.0.0.4,udp:53',
    ].join('\n');
    const r = parseIpset(text, 'a');
    expect(r.issues.map((i) => i.line)).toEqual([3, 4, 5, 6, 7]);
    expect(r.issues.every((i) => i.severity === 'error')).toBe(true);
    expect(r.value.sets.get('s')!.members.map((m) => m.raw)).toEqual(['10.0.0.1,tcp:80', '10.0.0.4,udp:53']);
  });

  it('warns about host bits and stores the masked network, as the kernel does', () => {
    const r = parseIpset('create n hash:net family inet\nadd n 10.1.2.3/16\n', 'a');
    expect(r.issues).toEqual([expect.objectContaining({ line: 2, severity: 'warning' })]);
    expect(r.value.sets.get('n')!.members[0]).toMatchObject({ ip: '10.1.0.0/16', prefixLen: 16 });
  });

  it('warns when a list block has fewer members than it declares (truncated capture)', () => {
    const text = LIST.split('\n').slice(0, 12).join('\n');
    const r = parseIpset(text, 'a');
    expect(r.issues).toEqual([expect.objectContaining({ line: 1, severity: 'warning', reason: expect.stringContaining('declares 5 entries but 4') })]);
  });

  it('warns when a set is defined twice and uses the later definition', () => {
    const r = parseIpset('create s hash:ip\nadd s 1.1.1.1\ncreate s hash:net\nadd s 2.2.2.0/24\n', 'a');
    expect(r.issues).toEqual([expect.objectContaining({ line: 3, severity: 'warning' })]);
    expect(r.value.sets.get('s')!.type).toBe('hash:net');
    expect(r.value.sets.get('s')!.members).toHaveLength(1);
  });

  it('reports ipset error messages as warnings and unknown lines as errors', () => {
    const r = parseIpset('ipset v7.17: The set with the given name does not exist\nhello world\n', 'a');
    expect(r.issues.map((i) => [i.line, i.severity])).toEqual([
      [1, 'warning'],
      [2, 'error'],
      [0, 'error'],
    ]);
  });

  it('refuses binary input with one issue', () => {
    const r = parseIpset('\u0000\u0001\u0002binary', 'a');
    expect(r.issues).toHaveLength(1);
    expect(r.issues[0].line).toBe(0);
  });

  it('handles CRLF and the wrong artifact', () => {
    const crlf = parseIpset(SAVE.replace(/\n/g, '\r\n'), 'a');
    expect(crlf.issues).toEqual([]);
    expect(summary(crlf.value)).toEqual(summary(parseIpset(SAVE, 'a').value));
    const route = parseIpset('default via 172.18.0.1 dev eth0\n10.65.0.0/26 via 172.18.0.3 dev eth0 proto bird\n', 'routes');
    expect(route.value.sets.size).toBe(0);
    expect(route.issues.some((i) => i.line === 0)).toBe(true);
  });

  it('handles a 10 MB single line quickly and with a short reason', () => {
    const big = `add x ${'9'.repeat(10 * 1024 * 1024)}`;
    const r = parseIpset(big, 'a');
    expect(r.issues.length).toBeGreaterThan(0);
    expect(r.issues.every((i) => i.reason.length < 400)).toBe(true);
  });

  it('tokenizes quoted comments', () => {
    expect(tokenizeIpsetLine('add s 1.1.1.1 comment "a b \\"c\\"" timeout 5')).toEqual(['add', 's', '1.1.1.1', 'comment', 'a b "c"', 'timeout', '5']);
  });

  it('reads the benchmark generator output without issues', () => {
    const g = generateFelixIpsets(5000, 10);
    const r = parseIpset(g.text, 'gen');
    expect(r.issues).toEqual([]);
    expect([...r.value.sets.values()].reduce((a, s) => a + s.members.length, 0)).toBe(g.members);
  });
});

describe('parseIpset: property-based', () => {
  const check = (text: string) => {
    const r = parseIpset(text, 'fz');
    checkIssues(text, r.issues, 'fz');
    return r;
  };

  it('never throws on random strings and bytes', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (s) => void check(s)), { numRuns: 300 });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), (b) => void check(Buffer.from(b).toString('latin1'))), { numRuns: 300 });
    fc.assert(
      fc.property(fc.array(fc.constantFrom('create ', 'add ', 'Name: ', 'Members:', 'Type: hash:net', 'Header: family inet6', '10.0.0.1', ',tcp:', ' nomatch', ' timeout', ' comment "', '\n', '\r\n', ' '), { maxLength: 60 }), (parts) => void check(parts.join(''))),
      { numRuns: 300 },
    );
  });

  const mutation = fc.record({
    op: fc.constantFrom('truncate', 'shuffle', 'inject', 'crlf', 'drop'),
    at: fc.nat(),
    seed: fc.nat(),
    garbage: fc.string({ unit: 'binary', maxLength: 60 }),
  });

  for (const [name, text] of [
    ['save', SAVE],
    ['list', LIST],
  ] as const) {
    it(`survives mutations of the real ${name} capture`, () => {
      const lines = text.split('\n');
      fc.assert(
        fc.property(mutation, ({ op, at, seed, garbage }) => {
          let t: string;
          if (op === 'truncate') t = text.slice(0, at % (text.length + 1));
          else if (op === 'crlf') t = text.replace(/\n/g, '\r\n');
          else if (op === 'drop') t = lines.filter((_, i) => i !== at % lines.length).join('\n');
          else if (op === 'shuffle') {
            const l = [...lines];
            for (let i = l.length - 1; i > 0; i--) {
              const j = (seed + i * 7919) % (i + 1);
              [l[i], l[j]] = [l[j], l[i]];
            }
            t = l.join('\n');
          } else {
            const l = [...lines];
            l.splice(at % l.length, 0, `x ${garbage.replace(/[\u0000-\u001f]/g, ' ')}`);
            t = l.join('\n');
          }
          const r = check(t);
          if (op === 'crlf') expect(r.issues).toEqual([]);
          if (op === 'inject' && name === 'save') {
            // The injected line starts with "x ", so it is never a save line: everything
            // well-formed is still read, and the garbage is one error on its line.
            expect(summary(r.value)).toEqual(summary(parseIpset(text, 'o').value));
            expect(r.issues).toEqual([expect.objectContaining({ line: (at % lines.length) + 1, severity: 'error' })]);
          }
        }),
        { numRuns: 200 },
      );
    });
  }
});

describeRoot('parseIpset: live capture', () => {
  it('parses what scripts/fixtures/capture-ipset.sh captures now, without issues', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'csf-ips-'));
    try {
      execFileSync('bash', [path.join(root, 'scripts/fixtures/capture-ipset.sh'), dir], { stdio: 'pipe' });
      for (const f of ['ipset-save.txt', 'ipset-list.txt', 'ipset-list-terse.txt', 'ipset-mixed.txt']) {
        const r = parseIpset(readFileSync(path.join(dir, f), 'utf8'), f);
        expect(r.issues).toEqual([]);
        expect(r.value.sets.size).toBeGreaterThan(0);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
