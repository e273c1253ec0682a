import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { describeRoot } from '../../test/helpers/root.js';
import { parseIpset } from '../parse/ipset.js';
import {
  IPSET_NAME_MAX,
  classifyIpset,
  compileIpset,
  compileIpsets,
  formatIPv4,
  formatIPv6Words,
  icmpPort,
  normaliseAddr,
  parseIPv4,
  parseIPv6Words,
  parsePrefix,
  type IpsetDump,
} from './ipset.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SAVE = readFileSync(path.join(root, 'test/fixtures/ipset/ipset-save.txt'), 'utf8');
const dump = parseIpset(SAVE, 'ipset.txt').value;
const member = compileIpsets(dump);

describe('classifyIpset (Felix names, felix/ipsets/ipset_defs.go)', () => {
  it.each([
    ['cali40s:4g010_DunYvItGg3dv2Mxna', 'inet', 'selector', 's:4g010_DunYvItGg3dv2Mxna'],
    ['cali60s:4g010_DunYvItGg3dv2Mxna', 'inet6', 'selector', 's:4g010_DunYvItGg3dv2Mxna'],
    ['cali40n:cl9_Kgeu4H0OGLbhovVR3NB', 'inet', 'named-port', 'n:cl9_Kgeu4H0OGLbhovVR3NB'],
    ['cali40svc:Qm9H8c1QBX3i_x7mZ8Lk', 'inet', 'service', 'svc:Qm9H8c1QBX3i_x7mZ8Lk'],
    ['cali40svcnoport:T0dHfYN4ez8nG', 'inet', 'service-noport', 'svcnoport:T0dHfYN4ez8nG'],
    ['cali40all-ipam-pools', 'inet', 'ipam-pools', 'all-ipam-pools'],
    ['cali40network-ip-pools', 'inet', 'ipam-pools', 'network-ip-pools'],
    ['cali60all-ipam-pools', 'inet6', 'ipam-pools', 'all-ipam-pools'],
    ['cali40masq-ipam-pools', 'inet', 'masq-pools', 'masq-ipam-pools'],
    ['cali40all-hosts-net', 'inet', 'all-hosts', 'all-hosts-net'],
    ['cali40all-vxlan-net', 'inet', 'vxlan-peers', 'all-vxlan-net'],
    ['cali40this-host', 'inet', 'this-host', 'this-host'],
    ['cali4t0', 'inet', 'temporary', '0'],
    ['cali6t12', 'inet6', 'temporary', '12'],
    ['cali40dscp-src-net', 'inet', 'other-calico', 'dscp-src-net'],
    ['felix-masq-ipam-pools', undefined, 'masq-pools', 'masq-ipam-pools'],
    ['felix-all-ipam-pools', undefined, 'ipam-pools', 'all-ipam-pools'],
    ['KUBE-CLUSTER-IP', undefined, 'non-calico', undefined],
    ['csf-nets', undefined, 'non-calico', undefined],
  ] as const)('%s', (name, family, kind, idPrefix) => {
    expect(classifyIpset(name)).toEqual({ family, kind, idPrefix });
  });

  it('every Felix-style set in the real capture fits the 31-character limit', () => {
    for (const name of dump.sets.keys()) expect(name.length).toBeLessThanOrEqual(IPSET_NAME_MAX);
  });

  it('a computed set ID can be matched by prefix (names are truncated)', () => {
    const c = classifyIpset('cali40s:4g010_DunYvItGg3dv2Mxna');
    expect('s:4g010_DunYvItGg3dv2MxnaJYxWEVRwn0exiaA'.startsWith(c.idPrefix!)).toBe(true);
  });
});

describe('addresses', () => {
  it('parses and formats IPv4 strictly', () => {
    expect(parseIPv4('10.65.0.2')).toBe(0x0a410002);
    expect(formatIPv4(0xffffffff)).toBe('255.255.255.255');
    for (const bad of ['10.65.0', '10.65.0.256', '010.1.1.1', '1.2.3.4.5', '1..2.3', ' 1.2.3.4', '']) expect(parseIPv4(bad)).toBe(-1);
  });

  it('formats IPv6 like glibc inet_ntop (what ipset and conntrack print)', () => {
    const cases: [string, string][] = [
      ['fd00:0200:0000:0000:0000:0000:0000:0001', 'fd00:200::1'], // /proc/net/nf_conntrack form
      ['2001:DB8:0:0:0:0:0:2', '2001:db8::2'],
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // a single zero group is not compressed
      ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'], // the longest run wins
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // the first of equal runs wins
      ['::', '::'],
      ['::1', '::1'],
      ['1::', '1::'],
      ['::ffff:10.1.2.3', '::ffff:10.1.2.3'],
      ['0:0:0:0:0:ffff:a01:203', '::ffff:10.1.2.3'],
      ['::10.1.2.3', '::10.1.2.3'],
      ['fe80::1:2', 'fe80::1:2'],
    ];
    for (const [input, want] of cases) expect(formatIPv6Words(parseIPv6Words(input)!)).toBe(want);
    for (const bad of ['1:2:3:4:5:6:7:8:9', '1::2::3', '12345::', 'g::1', ':1', '1:2:3:4:5:6:7']) expect(parseIPv6Words(bad)).toBeUndefined();
  });

  it('round-trips any IPv6 address through its text form', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 }), (w) => {
        const text = formatIPv6Words(w);
        expect(parseIPv6Words(text)).toEqual(w);
        expect(normaliseAddr(text)).toBe(text);
      }),
    );
  });

  it('masks prefixes and flags host bits', () => {
    expect(parsePrefix('10.1.2.3/16')).toMatchObject({ text: '10.1.0.0', prefixLen: 16, hostBits: true });
    expect(parsePrefix('fd00:10:65:1::5/64')).toMatchObject({ text: 'fd00:10:65:1::', prefixLen: 64, hostBits: true });
    expect(parsePrefix('10.0.0.0/33')).toBeUndefined();
    expect(parsePrefix('0.0.0.0/0')).toMatchObject({ v4: 0, prefixLen: 0 });
  });
});

describe('compileIpsets on the real capture: kernel semantics', () => {
  it('hash:net: longest prefix decides and nomatch excludes', () => {
    expect(member('csf-nets', '10.2.3.4')).toBe(true); // 10.0.0.0/8
    expect(member('csf-nets', '10.1.9.9')).toBe(false); // 10.1.0.0/16 nomatch
    expect(member('csf-nets', '10.1.2.200')).toBe(true); // 10.1.2.0/24 back in
    expect(member('csf-nets', '192.168.7.5')).toBe(true);
    expect(member('csf-nets', '192.168.7.6')).toBe(false);
    expect(member('csf-nets', '203.0.113.65')).toBe(false); // only a nomatch entry covers it
    expect(member('csf-nets', '11.0.0.1')).toBe(false);
  });

  it('the other family never matches; unparsable queries are indeterminate', () => {
    expect(member('csf-nets', '2001:db8::1')).toBe(false);
    expect(member('csf-v6', '10.0.0.1')).toBe(false);
    expect(member('csf-nets', 'not-an-ip')).toBeUndefined();
  });

  it('hash:ip and IPv6 sets', () => {
    expect(member('cali40this-host', '172.18.0.2')).toBe(true);
    expect(member('cali40this-host', '172.18.0.3')).toBe(false);
    expect(member('csf-v6', '2001:db8:0::1')).toBe(true);
    expect(member('csf-v6', '2001:db8::3')).toBe(false);
    expect(member('cali60s:4g010_DunYvItGg3dv2Mxna', 'fd00:10:65:1::abcd')).toBe(true);
    expect(member('cali60s:4g010_DunYvItGg3dv2Mxna', 'fd00:10:65:2::1')).toBe(false);
    expect(member('cali60all-ipam-pools', 'fd00:10:65:ffff::1')).toBe(true);
  });

  it('hash:ip,port: address, protocol and port; ICMP type/code as the port', () => {
    expect(member('cali40n:cl9_Kgeu4H0OGLbhovVR3NB', '10.65.1.7', 'tcp', 80)).toBe(true);
    expect(member('cali40n:cl9_Kgeu4H0OGLbhovVR3NB', '10.65.1.7', 'udp', 80)).toBe(false);
    expect(member('cali40n:cl9_Kgeu4H0OGLbhovVR3NB', '10.65.1.7', 'UDP', 53)).toBe(true);
    expect(member('cali40n:cl9_Kgeu4H0OGLbhovVR3NB', '10.65.2.130', '132', 9000)).toBe(true); // by number
    expect(member('cali40n:cl9_Kgeu4H0OGLbhovVR3NB', '10.65.1.7')).toBeUndefined(); // needs proto/port
    expect(member('csf-ipport', '192.0.2.13', 'icmp', icmpPort(8, 0))).toBe(true);
    expect(member('csf-ipport', '192.0.2.13', 'icmp', icmpPort(0, 0))).toBe(false);
    expect(member('csf-ipport', '192.0.2.12', 'udplite', 5000)).toBe(true);
    expect(member('csf-v6-ports', '2001:db8::11', 'ipv6-icmp', icmpPort(128, 0))).toBe(true);
    expect(member('csf-v6-ports', '2001:db8::10', 'tcp', 443)).toBe(true);
  });

  it('hash:net,port: longest prefix with nomatch, per protocol and port', () => {
    expect(member('csf-netport', '10.20.1.1', 'tcp', 443)).toBe(true);
    expect(member('csf-netport', '10.20.5.1', 'tcp', 443)).toBe(false);
    expect(member('csf-netport', '10.20.1.1', 'tcp', 80)).toBe(false);
  });

  it('bitmap:ip and bitmap:port', () => {
    expect(member('csf-bitmap-ip', '192.0.2.3')).toBe(true);
    expect(member('csf-bitmap-ip', '192.0.2.4')).toBe(false);
    expect(member('csf-ports', '0.0.0.0', 'tcp', 8080)).toBe(true);
    expect(member('csf-ports', '0.0.0.0', 'udp', 9090)).toBe(true);
    expect(member('csf-ports', '0.0.0.0', 'tcp', 8081)).toBe(false);
    expect(member('csf-ports', '0.0.0.0', 'icmp', 8080)).toBe(false);
    expect(member('csf-ports', '0.0.0.0')).toBeUndefined();
  });

  it('list:set: member of any listed set, in either family', () => {
    expect(member('csf-list', '2001:db8::2')).toBe(true); // via csf-v6
    expect(member('csf-list', '172.18.0.4')).toBe(true); // via cali40all-hosts-net
    expect(member('csf-list', '10.1.2.3')).toBe(true); // via csf-nets
    expect(member('csf-list', '10.1.3.3')).toBe(false); // nomatch in csf-nets, absent elsewhere
  });

  it('types it does not model, and absent sets, are indeterminate', () => {
    expect(member('csf-netiface', '10.30.0.1')).toBeUndefined();
    expect(member('csf-ipportip', '10.96.0.10', 'udp', 53)).toBeUndefined();
    expect(member('no-such-set', '10.0.0.1')).toBeUndefined();
  });

  it('list:set with a missing member set is indeterminate unless another set matches', () => {
    const d = parseIpset('create a hash:ip\nadd a 1.1.1.1\ncreate l list:set size 8\nadd l missing\nadd l a\n', 'x').value;
    const m = compileIpsets(d);
    expect(m('l', '1.1.1.1')).toBe(true);
    expect(m('l', '2.2.2.2')).toBeUndefined();
  });

  it('a list:set loop in a hand-edited dump terminates', () => {
    const d = parseIpset('create l1 list:set\nadd l1 l2\ncreate l2 list:set\nadd l2 l1\n', 'x').value;
    expect(compileIpsets(d)('l1', '1.1.1.1')).toBeUndefined();
  });

  it('hash:ip with netmask matches by network, as the kernel stores it', () => {
    // Real `ipset save` of `create h hash:ip netmask 24; add h 10.7.7.7; add h 10.8.0.0/23`.
    const d: IpsetDump = parseIpset(
      'create h hash:ip family inet hashsize 1024 maxelem 65536 netmask 24 bucketsize 12 initval 0x9fdf8146\nadd h 10.8.1.0\nadd h 10.7.7.0\nadd h 10.8.0.0\n',
      'x',
    ).value;
    const f = compileIpset(d.sets.get('h')!);
    expect(f('10.7.7.200')).toBe(true);
    expect(f('10.8.1.9')).toBe(true);
    expect(f('10.8.2.1')).toBe(false);
  });

  it('port-less protocols in hash:ip,port are looked up with port 0', () => {
    // Real `ipset save` output for `add p 10.0.0.1,gre:0` and `add p 10.0.0.1,253:0`.
    const d = parseIpset('create p hash:ip,port family inet\nadd p 10.0.0.1,gre:0\nadd p 10.0.0.1,253:0\n', 'x').value;
    const f = compileIpset(d.sets.get('p')!);
    expect(f('10.0.0.1', 'gre')).toBe(true);
    expect(f('10.0.0.1', '47', 1234)).toBe(true);
    expect(f('10.0.0.1', '253')).toBe(true);
    expect(f('10.0.0.1', 'esp')).toBe(false);
  });
});

/** Probe addresses around every member of a set: the member, its neighbours, random ones inside. */
function probes(text: string, seed: number): string[] {
  const out = new Set<string>();
  let x = seed;
  const rnd = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 4294967296);
  const p = parsePrefix(text)!;
  if (p.family === 'inet') {
    const size = 2 ** (32 - p.prefixLen);
    for (const off of [-1, 0, 1, size - 1, size, Math.floor(rnd() * size)]) {
      const v = p.v4 + off;
      if (v >= 0 && v <= 0xffffffff) out.add(formatIPv4(v));
    }
  } else {
    out.add(p.text);
    const w = parseIPv6Words(p.text)!;
    w[7] = (w[7] + 1) & 0xffff;
    out.add(formatIPv6Words(w));
  }
  return [...out];
}

describeRoot('compileIpsets agrees with the kernel (`ipset test` in a namespace)', () => {
  it('hash:ip, hash:net (with nomatch), hash:ip,port, hash:net,port, bitmap:ip, bitmap:port', () => {
    const ns = `csf-ipt-${process.pid}`;
    execFileSync('ip', ['netns', 'add', ns]);
    try {
      execFileSync('ip', ['netns', 'exec', ns, 'ipset', 'restore'], { input: SAVE });
      const kernel = (set: string, elem: string): boolean => {
        const r = spawnSync('ip', ['netns', 'exec', ns, 'ipset', 'test', set, elem], { encoding: 'utf8' });
        if (r.status !== 0 && !/is NOT in set/.test(r.stderr)) throw new Error(`ipset test ${set} ${elem}: ${r.stderr}`);
        return r.status === 0;
      };
      let compared = 0;
      for (const set of dump.sets.values()) {
        if (!['hash:ip', 'hash:net', 'bitmap:ip', 'hash:ip,port', 'hash:net,port', 'bitmap:port'].includes(set.type)) continue;
        const queries: [string, string | undefined, number | undefined, string][] = [];
        for (const [i, m] of set.members.entries()) {
          if (set.type === 'bitmap:port') {
            for (const port of [m.port! - 1, m.port!, m.port! + 1]) queries.push(['0.0.0.0', 'tcp', port, String(port)]);
            continue;
          }
          for (const ip of probes(m.ip!, i + 1)) {
            if (set.type.endsWith(',port')) {
              const base = m.proto === 'icmp' || m.proto === 'icmpv6' ? `${m.proto === 'icmp' ? 'icmp' : 'ipv6-icmp'}:${m.port! >> 8}/${m.port! & 255}` : `${m.proto}:${m.port}`;
              queries.push([ip, m.proto, m.port, `${ip},${base}`]);
              if (m.proto === 'tcp') queries.push([ip, 'udp', m.port, `${ip},udp:${m.port}`]);
            } else queries.push([ip, undefined, undefined, ip]);
          }
        }
        for (const [ip, proto, port, elem] of queries) {
          const ours = member(set.name, ip, proto, port);
          expect({ set: set.name, elem, ours }).toEqual({ set: set.name, elem, ours: kernel(set.name, elem) });
          compared++;
        }
      }
      expect(compared).toBeGreaterThan(100);
    } finally {
      execFileSync('ip', ['netns', 'del', ns]);
    }
  });
});

describe('compileIpsets: the per-set matcher the engine uses agrees with the by-name lookup', () => {
  it('matcher(name), matcher(name).v4 and matcher(name).v4exact give what (name, ip) gives (property, every set of the real capture)', () => {
    const names = [...dump.sets.keys()];
    expect(names.filter((n) => member.matcher(n)?.v4exact !== undefined).length).toBeGreaterThan(0);
    const addrs = [...dump.sets.values()].flatMap((s) => s.members.map((m) => m.ip).filter((ip): ip is string => ip !== undefined && !ip.includes(':')).map((ip) => ip.split('/')[0]));
    const ipArb = fc.oneof(fc.constantFrom(...addrs), fc.ipV4(), fc.ipV6());
    fc.assert(
      fc.property(fc.constantFrom(...names, 'no-such-set'), ipArb, (name, ip) => {
        const m = member.matcher(name);
        const byName = member(name, ip);
        if (m === undefined) {
          expect(byName).toBeUndefined();
          return;
        }
        expect(m(ip)).toBe(byName);
        const v = parseIPv4(ip);
        if (m.v4 !== undefined && v >= 0) expect(m.v4(v)).toBe(byName);
        if (m.v4exact !== undefined && v >= 0) expect(m.v4exact.get(v) === 1).toBe(byName);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('compileIpsets: the address-and-port fast path the engine uses', () => {
  it('matcher(name).v4port(address, protocol number, port) gives what (name, ip, protocol, port) gives (property, every ,port set of the real capture)', () => {
    const portSets = [...dump.sets.values()].filter((s) => s.type === 'hash:ip,port' || s.type === 'hash:net,port');
    expect(portSets.length).toBeGreaterThan(0);
    const NAMES: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmpv6', 132: 'sctp', 136: 'udplite' };
    const NUMBERS: Record<string, number> = { icmp: 1, tcp: 6, udp: 17, icmpv6: 58, sctp: 132, udplite: 136 };
    // Queries: the members themselves (so hits are drawn), and anything else.
    const memberQueries = portSets.flatMap((s) =>
      s.members.filter((m) => m.ip !== undefined && !m.ip.includes(':') && m.proto !== undefined).map((m) => [s.name, m.ip!.split('/')[0], NUMBERS[m.proto!] ?? Number(m.proto), m.port] as const),
    );
    const anyQuery = fc.tuple(
      fc.constantFrom(...portSets.map((s) => s.name)),
      fc.oneof(fc.constantFrom(...memberQueries.map((q) => q[1])), fc.ipV4()),
      fc.constantFrom(1, 6, 17, 58, 132, 136, 47, 50, 0),
      fc.option(fc.oneof(fc.constantFrom(...memberQueries.map((q) => q[3]).filter((p): p is number => p !== undefined)), fc.integer({ min: 0, max: 65535 })), { nil: undefined }),
    );
    let members = 0;
    fc.assert(
      fc.property(fc.oneof(fc.constantFrom(...memberQueries), anyQuery), ([name, ip, proto, port]) => {
        const m = member.matcher(name)!;
        expect(m.v4port).toBeDefined();
        const byName = member(name, ip, NAMES[proto] ?? String(proto), port);
        expect(m.v4port!(parseIPv4(ip), proto, port)).toBe(byName);
        if (byName === true) members++;
      }),
      { numRuns: 2000 },
    );
    expect(members).toBeGreaterThan(100); // the draw reaches members, not only misses
  });
});
