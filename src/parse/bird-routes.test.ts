import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BirdRoute } from '../model/bgp.js';
import type { ParseIssue } from '../model/evidence.js';
import { parseBirdRoutes, parseRouteBody } from './bird-routes.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const fixture = (name: string) => readFileSync(path.join(root, 'test/fixtures/bird', name), 'utf8');

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
  }
}

const strip = (rs: BirdRoute[]) => rs.map(({ raw: _r, line: _l, attrs: _a, ...r }) => r);
const PREFIXES = ['0.0.0.0/0', '10.65.11.1/32', '10.65.12.0/26', '10.65.13.0/26', '10.65.11.0/26', '10.0.0.0/24', '10.96.0.0/12', '10.96.0.0/12'];

describe('parseBirdRoutes: real BIRD 1.6.8 captures (scripts/fixtures/capture-bird.sh)', () => {
  it('reads `show route`: via, dev, blackhole, origin, and the alternative path', () => {
    const { value: rs, issues } = parseBirdRoutes(fixture('show-route.txt'), 'nodes/a/bird-routes.txt');
    expect(issues).toEqual([]);
    expect(rs.map((r) => r.prefix)).toEqual(PREFIXES);
    expect(rs[0]).toEqual({
      prefix: '0.0.0.0/0',
      kind: 'via',
      via: '10.0.0.1',
      iface: 'eth0',
      protocol: 'kernel1',
      since: '11:29:54',
      primary: true,
      pref: 10,
      line: 2,
      raw: '0.0.0.0/0          via 10.0.0.1 on eth0 [kernel1 11:29:54] * (10)',
    });
    expect(rs[1]).toMatchObject({ kind: 'dev', iface: 'calia58e37f9a7f', protocol: 'kernel1', primary: true });
    expect(rs[1].via).toBeUndefined();
    expect(rs[2]).toMatchObject({ kind: 'via', via: '10.0.0.12', iface: 'eth0', protocol: 'Mesh_10_0_0_12', pref: 100, igpMetric: 0, origin: 'i', primary: true });
    expect(rs[4]).toMatchObject({ prefix: '10.65.11.0/26', kind: 'blackhole', protocol: 'static1', pref: 200, primary: true });
    expect(rs[5]).toMatchObject({ kind: 'dev', iface: 'eth0', protocol: 'direct1', pref: 240 });
    expect(rs[6].alternateOf).toBeUndefined();
    expect(rs[7]).toMatchObject({
      prefix: '10.96.0.0/12',
      alternateOf: '10.96.0.0/12',
      via: '10.0.0.13',
      protocol: 'Mesh_10_0_0_13',
      since: '11:29:59',
      primary: false,
      pref: 100,
      igpMetric: 0,
      origin: 'i',
      line: 9,
    });
  });

  it('reads the raw socket form to the same routes on the same lines', () => {
    const term = parseBirdRoutes(fixture('show-route.txt'), 't');
    const raw = parseBirdRoutes(fixture('show-route.raw'), 'r');
    expect(raw.issues).toEqual([]);
    expect(raw.value.map(({ raw: _r, ...r }) => r)).toEqual(term.value.map(({ raw: _r, ...r }) => r));
  });

  it('reads `show route all` attributes onto their route (terminal and raw 1007/1008/1012)', () => {
    for (const f of ['show-route-all.txt', 'show-route-all.raw']) {
      const { value: rs, issues } = parseBirdRoutes(fixture(f), f);
      expect(issues).toEqual([]);
      expect(strip(rs)).toEqual(strip(parseBirdRoutes(fixture('show-route.txt'), 'x').value));
      expect(rs[0].attrs).toEqual({ Type: 'inherit unicast univ', 'Kernel.source': '3', 'Kernel.metric': '0' });
      expect(rs[2].attrs).toEqual({
        Type: 'BGP unicast univ',
        'BGP.origin': 'IGP',
        'BGP.as_path': '',
        'BGP.next_hop': '10.0.0.12',
        'BGP.local_pref': '100',
      });
      expect(rs[4].attrs).toEqual({ Type: 'static unicast univ' });
      expect(rs[7]).toMatchObject({ alternateOf: '10.96.0.0/12', line: 32, attrs: { 'BGP.next_hop': '10.0.0.13' } });
      expect(rs[6].attrs!['BGP.next_hop']).toBe('10.0.0.12');
    }
  });

  it('reads bird6 routes', () => {
    const { value: rs, issues } = parseBirdRoutes(fixture('bird6-show-route-all.txt'), 'x');
    expect(issues).toEqual([]);
    expect(rs.map((r) => [r.prefix, r.kind, r.via ?? r.iface ?? '', r.protocol, r.primary])).toEqual([
      ['fd00:65::11:0/122', 'blackhole', '', 'static1', true],
      ['fd00:65::11:1/128', 'dev', 'calia58e37f9a7f', 'kernel1', true],
      ['fd00:65::13:0/122', 'via', 'fd00:10::13', 'Mesh_fd00_10__13', true],
      ['fd00:65::12:0/122', 'via', 'fd00:10::12', 'Mesh_fd00_10__12', true],
      ['fd00:10::/64', 'dev', 'eth0', 'direct1', true],
      ['fd00:96::/108', 'via', 'fd00:10::12', 'Mesh_fd00_10__12', true],
      ['fd00:96::/108', 'via', 'fd00:10::13', 'Mesh_fd00_10__13', false],
    ]);
    expect(rs[1].attrs).toMatchObject({ 'Kernel.metric': '1024', 'Kernel.scope': '0' });
  });

  it('reads date-and-time `since` and a blackhole primary with a BGP alternative (node b)', () => {
    const { value: rs, issues } = parseBirdRoutes(fixture('iso-long-show-route.txt'), 'x');
    expect(issues).toEqual([]);
    expect(rs[0].since).toBe('2026-11-22 11:29:53');
    expect(rs[6]).toMatchObject({ prefix: '10.96.0.0/12', kind: 'blackhole', primary: true, protocol: 'static1' });
    expect(rs[7]).toMatchObject({ alternateOf: '10.96.0.0/12', via: '10.0.0.13', since: '2026-11-22 11:29:58', primary: false });
  });

  it('shows the lost routes after the session to c broke', () => {
    const { value: rs } = parseBirdRoutes(fixture('bad-as-show-route.txt'), 'x');
    expect(rs.some((r) => r.protocol === 'Mesh_10_0_0_13')).toBe(false);
    expect(rs.map((r) => r.prefix)).not.toContain('10.65.13.0/26');
  });

  it('refuses `show protocols` as routes', () => {
    const r = parseBirdRoutes(fixture('show-protocols.txt'), 'x');
    expect(r.value).toEqual([]);
    expect(r.issues.some((i) => i.line === 0)).toBe(true);
  });
});

describe('parseBirdRoutes: Calico test vector and other syntax', () => {
  it('reads the raw reply of calico node/pkg/status/populators/route_test.go (calico-formats.md §2)', () => {
    const text = [
      '0001 BIRD v0.3.3+birdv1.6.8 ready.',
      '1007-0.0.0.0/0          via 172.17.0.1 on eth0 [kernel1 20:10:57] * (10)',
      ' 192.168.110.128/26 via 172.17.0.5 on eth0 [Mesh_172_17_0_5 20:10:57] * (100/0) [i]',
      ' 192.168.82.0/26    via 172.17.0.4 on eth0 [Mesh_172_17_0_4 20:11:00] * (100/0) [i]',
      '                    via 100.100.100.100 on em0 [Global_100_100_100_100 20:11:00] (100/?) [AS65001?]',
      ' 192.168.162.128/26 blackhole [static1 20:10:56] * (200)',
      ' 192.168.162.128/32 dev tunl0 [direct1 20:10:56] * (240)',
      ' 192.168.162.129/32 dev calie58e37f9a7f [kernel1 20:11:10] * (10)',
      ' 172.17.0.0/16      dev eth0 [direct1 20:10:56] * (240)',
      '0000',
    ].join('\n');
    const { value: rs, issues } = parseBirdRoutes(text, 'x');
    expect(issues).toEqual([]);
    expect(rs).toHaveLength(8);
    expect(rs[3]).toMatchObject({
      prefix: '192.168.82.0/26',
      alternateOf: '192.168.82.0/26',
      via: '100.100.100.100',
      iface: 'em0',
      protocol: 'Global_100_100_100_100',
      primary: false,
      pref: 100,
      origin: 'AS65001?',
      line: 5,
    });
    expect(rs[3].igpMetric).toBeUndefined();
    expect(rs[4]).toMatchObject({ kind: 'blackhole', prefix: '192.168.162.128/26' });
  });

  it('reads `from`, multipath next hops, and BIRD 2 unicast routes', () => {
    expect(parseRouteBody('via 10.0.0.12 on eth0 [Mesh_10_0_0_12 11:29:56 from 10.0.0.99] * (100/0) [AS64513i]')).toMatchObject({
      since: '11:29:56',
      from: '10.0.0.99',
      origin: 'AS64513i',
    });
    const mp = parseBirdRoutes('10.65.0.0/16       multipath [kernel1 11:00:00] * (10)\n\tvia 10.0.0.12 on eth0 weight 1\n\tvia 10.0.0.13 on eth0 weight 2\n', 'x');
    expect(mp.issues).toEqual([]);
    expect(mp.value[0]).toMatchObject({ kind: 'via', via: '10.0.0.12', iface: 'eth0', nexthops: [{ via: '10.0.0.12', iface: 'eth0', weight: 1 }, { via: '10.0.0.13', iface: 'eth0', weight: 2 }] });
    const b2 = parseBirdRoutes('Table master4:\n10.0.0.0/24          unicast [direct1 11:29:54] * (240)\n\tdev eth0\n\tType: device univ\n', 'x');
    expect(b2.issues).toEqual([]);
    expect(b2.value[0]).toMatchObject({ prefix: '10.0.0.0/24', kind: 'dev', iface: 'eth0', attrs: { Type: 'device univ' } });
  });

  it('handles empty, binary, `Network not in table` and a 10 MB line', () => {
    expect(parseBirdRoutes('', 'x')).toEqual({ value: [], issues: [] });
    expect(parseBirdRoutes('\u0000\u0001', 'x').issues[0]).toMatchObject({ line: 0, severity: 'error' });
    expect(parseBirdRoutes('BIRD 1.6.8 ready.\nNetwork not in table\n', 'x').issues).toEqual([expect.objectContaining({ line: 2, severity: 'warning' })]);
    const big = parseBirdRoutes(`${fixture('show-route.txt')}${'x'.repeat(10_000_000)}\n`, 'x');
    expect(big.value).toHaveLength(8);
    expect(big.issues[0]).toMatchObject({ line: 10 });
  });
});

describe('parseBirdRoutes: property-based', () => {
  const check = (text: string) => {
    const r = parseBirdRoutes(text, 'fz');
    checkIssues(text, r.issues, 'fz');
    for (const x of r.value) {
      expect(x.line).toBeGreaterThanOrEqual(1);
      expect(x.line).toBeLessThanOrEqual(lineCount(text));
    }
    return r;
  };

  it('never throws on random strings, bytes and route-ish tokens', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (s) => void check(s)), { numRuns: 300 });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), (b) => void check(Buffer.from(b).toString('latin1'))), { numRuns: 200 });
    const tokens = ['1007-', '1008-', '1012-', '0000', ' ', '\t', '10.0.0.0/24', ' via ', '10.0.0.1', ' on ', 'eth0', ' dev ', 'blackhole', ' [', 'kernel1', ' 11:00:00', ']', ' *', ' (100/0)', ' (10)', ' [i]', 'Type: BGP', 'BGP.as_path: ', '\n', '\r\n', 'multipath', 'weight 1'];
    fc.assert(fc.property(fc.array(fc.constantFrom(...tokens), { maxLength: 80 }), (parts) => void check(parts.join(''))), { numRuns: 300 });
  });

  const mutation = fc.record({
    op: fc.constantFrom('truncate', 'shuffle', 'inject', 'crlf'),
    at: fc.nat(),
    seed: fc.nat(),
    garbage: fc.string({ unit: 'binary', maxLength: 60 }),
  });

  for (const f of ['show-route.txt', 'show-route-all.txt', 'show-route-all.raw']) {
    it(`survives mutations of ${f}`, () => {
      const text = fixture(f);
      const orig = parseBirdRoutes(text, 'o').value;
      const lines = text.split('\n');
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
            l.splice((at % (l.length - 1)) + 1, 0, `~${garbage.replace(/[\u0000-\u001f\n]/g, ' ')}`);
            t = l.join('\n');
          }
          const r = check(t);
          if (op === 'crlf') expect(r.value).toEqual(orig);
          if (op === 'inject') {
            // Every route line is still read; only attribute lines right after the garbage lose their route.
            expect(r.value.map((x) => x.prefix)).toEqual(orig.map((x) => x.prefix));
          }
        }),
        { numRuns: 150 },
      );
    });
  }
});
