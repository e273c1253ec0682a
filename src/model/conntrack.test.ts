import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { generateConntrack } from '../../bench/gen/conntrack.js';
import { parseConntrack } from '../parse/conntrack.js';
import { conntrackProtoNumber, indexConntrack, natKind, type ConntrackEntry } from './conntrack.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const load = (name: string) => parseConntrack(readFileSync(path.join(root, 'test/fixtures/conntrack', name), 'utf8'), name).value;
const client = load('conntrack-L-client.txt');
const server = load('conntrack-L-server.txt');
const proc = load('proc-nf_conntrack-client.txt');

const one = (es: ConntrackEntry[], pred: (e: ConntrackEntry) => boolean) => {
  const f = es.filter(pred);
  expect(f).toHaveLength(1);
  return f[0];
};

describe('natKind on real NATed flows', () => {
  it('client: OUTPUT DNAT, MASQUERADE, both, and none', () => {
    const es = client.entries;
    expect(natKind(one(es, (e) => e.orig.src === '10.200.0.1' && e.orig.dst === '10.200.0.9'))).toBe('dnat');
    expect(natKind(one(es, (e) => e.orig.src === '10.201.0.1' && e.orig.dst === '10.200.0.2'))).toBe('snat');
    expect(natKind(one(es, (e) => e.orig.src === '10.201.0.1' && e.orig.dst === '10.200.0.9'))).toBe('both');
    const kinds = es.map(natKind);
    expect(kinds.filter((k) => k === 'none')).toHaveLength(15);
  });

  it('server: PREROUTING DNAT to another local address', () => {
    expect(natKind(one(server.entries, (e) => e.orig.dport === 8080))).toBe('dnat');
    expect(server.entries.map(natKind).filter((k) => k !== 'none')).toEqual(['dnat']);
  });

  it('port-only NAT and ICMP id rewriting count as NAT', () => {
    const r = parseConntrack(
      [
        'tcp 6 100 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=1000 dport=80 src=10.0.0.2 dst=10.0.0.1 sport=80 dport=2000 [ASSURED] use=1',
        'tcp 6 100 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=1000 dport=80 src=10.0.0.2 dst=10.0.0.1 sport=8080 dport=1000 [ASSURED] use=1',
        'icmp 1 29 src=10.0.0.1 dst=8.8.8.8 type=8 code=0 id=5 src=8.8.8.8 dst=10.0.0.1 type=0 code=0 id=6 use=1',
      ].join('\n'),
      'x',
    ).value;
    expect(r.entries.map(natKind)).toEqual(['snat', 'dnat', 'snat']);
  });

  it('counts the NAT kinds the generator produced', () => {
    const g = generateConntrack(20_000, { seed: 9 });
    const d = parseConntrack(g.text, 'gen').value;
    const got = { none: 0, dnat: 0, snat: 0, both: 0 };
    for (const e of d.entries) got[natKind(e)]++;
    expect(got).toEqual(g.nat);
  });
});

describe('indexConntrack', () => {
  const idx = indexConntrack(client);

  it('finds a flow by either tuple and says which', () => {
    const masq = one(client.entries, (e) => e.orig.src === '10.201.0.1' && e.orig.dst === '10.200.0.9');
    const o = masq.orig;
    const r = masq.reply;
    expect(idx.find('tcp', o.src, o.sport, o.dst, o.dport)).toEqual({ entry: masq, direction: 'original' });
    expect(idx.find(6, r.src, r.sport, r.dst, r.dport)).toEqual({ entry: masq, direction: 'reply' });
    expect(idx.find('udp', o.src, o.sport, o.dst, o.dport)).toBeUndefined();
    expect(idx.find('tcp', o.src, o.sport, o.dst, 1)).toBeUndefined();
    expect(idx.find('nonsense', o.src, o.sport, o.dst, o.dport)).toBeUndefined();
  });

  it('ignores ports for port-less protocols, and matches ICMP ids given as sport', () => {
    expect(idx.find('icmp', '10.200.0.2', 4660, '10.200.0.1', undefined)?.direction).toBe('reply');
    expect(idx.find('icmp', '10.200.0.1', 1, '10.200.0.2', undefined)).toBeUndefined();
    expect(idx.find('gre', '10.200.0.1', undefined, '10.200.0.2', undefined)?.entry.proto).toBe('gre');
    expect(idx.find(253, '10.200.0.2', 5, '10.200.0.1', 6)?.direction).toBe('reply');
    expect(idx.find('ipv6-icmp', 'fd00:200::2', undefined, 'fd00:200::1', undefined)?.direction).toBe('reply');
  });

  it('normalises query addresses, so /proc and conntrack -L spellings agree', () => {
    const pidx = indexConntrack(proc);
    const v6 = one(proc.entries, (e) => e.proto === 'tcp' && e.family === 'ipv6');
    expect(pidx.find('tcp', 'fd00:0200:0000:0000:0000:0000:0000:0001', v6.orig.sport, 'FD00:200::2', 80)?.entry).toBe(v6);
  });

  it('with a wildcard port, scans; findAll returns every match in dump order', () => {
    const all = idx.findAll('tcp', '10.200.0.1', undefined, '10.200.0.2', undefined);
    expect(all.length).toBeGreaterThanOrEqual(4);
    expect(all.map((m) => m.entry.line)).toEqual([...all.map((m) => m.entry.line)].sort((a, b) => a - b));
    // Same tuple in two zones.
    const twin = parseConntrack(
      'udp 17 20 src=1.1.1.1 dst=2.2.2.2 sport=5 dport=53 src=2.2.2.2 dst=1.1.1.1 sport=53 dport=5 mark=0 zone=1 use=1\nudp 17 20 src=1.1.1.1 dst=2.2.2.2 sport=5 dport=53 src=2.2.2.2 dst=1.1.1.1 sport=53 dport=5 mark=0 zone=2 use=1\n',
      'x',
    ).value;
    const m = indexConntrack(twin).findAll(17, '1.1.1.1', 5, '2.2.2.2', 53);
    expect(m.map((x) => x.entry.zone)).toEqual([1, 2]);
    expect(indexConntrack(twin).find(17, '1.1.1.1', 5, '2.2.2.2', 53)?.entry.zone).toBe(1);
  });

  it('finds every tuple of a generated table', () => {
    const d = parseConntrack(generateConntrack(20_000, { seed: 5 }).text, 'gen').value;
    const gidx = indexConntrack(d);
    for (const e of d.entries) {
      for (const [t, dir] of [[e.orig, 'original'], [e.reply, 'reply']] as const) {
        const hit = gidx.findAll(e.protoNum, t.src, t.sport ?? t.id, t.dst, t.dport);
        expect(hit.some((h) => h.entry === e && h.direction === dir)).toBe(true);
      }
    }
  });

  it('maps protocol names and numbers', () => {
    expect(conntrackProtoNumber('TCP')).toBe(6);
    expect(conntrackProtoNumber('icmp6')).toBe(58);
    expect(conntrackProtoNumber('132')).toBe(132);
    expect(conntrackProtoNumber('bogus')).toBeUndefined();
  });
});
