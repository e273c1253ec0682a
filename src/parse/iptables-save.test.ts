/**
 * parseIptablesSave on real dumps: test/fixtures/iptables/ holds what iptables-nft-save,
 * iptables-legacy-save and ip6tables-nft-save printed (with and without -c) after
 * scripts/fixtures/capture-iptables.sh loaded input-v4.rules / input-v6.rules (a Calico +
 * kube-proxy shaped ruleset plus a firewall chain using every match module and target the
 * parser structures) into a namespace and sent traffic through it. Then the bad inputs the
 * standards list: garbage, binary, truncation, CRLF, a 10 MB line, the wrong artifact.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyXmark, type IptRule, type IptablesSave } from '../model/iptables.js';
import { parseIptablesSave } from './iptables-save.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const fixture = (name: string) => readFileSync(path.join(root, 'test/fixtures/iptables', name), 'utf8');

const NFT_C = fixture('iptables-nft-save-c.txt');
const NFT = fixture('iptables-nft-save.txt');
const LEGACY_C = fixture('iptables-legacy-save-c.txt');
const V6_C = fixture('ip6tables-nft-save-c.txt');

function rules(d: IptablesSave): IptRule[] {
  return [...d.tables.values()].flatMap((t) => [...t.chains.values()].flatMap((c) => c.rules));
}

/** Rule lines as the tool printed them: line number (1-based), counters, text after them. */
function ruleLines(text: string): { line: number; counters?: { packets: number; bytes: number }; raw: string }[] {
  const out: { line: number; counters?: { packets: number; bytes: number }; raw: string }[] = [];
  text.split('\n').forEach((l, i) => {
    const m = /^(?:\[(\d+):(\d+)\] )?(-A .*)$/.exec(l);
    if (m) out.push({ line: i + 1, counters: m[1] !== undefined ? { packets: Number(m[1]), bytes: Number(m[2]) } : undefined, raw: m[3] });
  });
  return out;
}

/** Matches and target of each rule, per table and chain (what both backends must agree on). */
function semantics(d: IptablesSave): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const t of d.tables.values()) for (const c of t.chains.values()) out[`${t.name}/${c.name}`] = { policy: c.policy ?? null, rules: c.rules.map((r) => ({ matches: r.matches, target: r.target ?? null })) };
  return out;
}

describe('parseIptablesSave: real dumps captured from the kernel tools', () => {
  it.each([
    ['iptables-nft-save-c.txt', NFT_C, 4, 'nft', true],
    ['iptables-nft-save.txt', NFT, 4, 'nft', false],
    ['iptables-legacy-save-c.txt', LEGACY_C, 4, 'legacy', true],
    ['ip6tables-nft-save-c.txt', V6_C, 6, 'nft', true],
  ] as const)('%s: every rule line read, no issue, line numbers, raw text and counters exact', (name, text, family, backend, counters) => {
    const r = parseIptablesSave(text, name);
    expect(r.issues).toEqual([]);
    expect(r.value.family).toBe(family);
    expect(r.value.backend).toBe(backend);
    expect(r.value.hasCounters).toBe(counters);
    const got = rules(r.value);
    const want = ruleLines(text);
    expect(want.length).toBeGreaterThan(5);
    expect(got.map((x) => x.line).sort((a, b) => a - b)).toEqual(want.map((w) => w.line));
    const byLine = new Map(got.map((x) => [x.line, x]));
    for (const w of want) {
      const x = byLine.get(w.line)!;
      expect(x.raw).toBe(w.raw);
      if (counters) expect(x.counters).toEqual(w.counters);
      else expect(x.counters).toBeUndefined();
      expect(x.unknown).toEqual([]);
      // Rule numbers are positions in the chain, as `iptables -L --line-numbers` counts them.
      expect(r.value.tables.get(x.table)!.chains.get(x.chain)!.rules[x.index - 1]).toBe(x);
    }
  });

  it('counters moved by real traffic are read (ping went through the OUTPUT and INPUT hooks)', () => {
    const d = parseIptablesSave(NFT_C, 'nft').value;
    const out = d.tables.get('filter')!.chains.get('OUTPUT')!;
    const jump = out.rules.find((x) => x.target?.kind === 'jump' && x.target.chain === 'cali-OUTPUT')!;
    expect(jump.counters!.packets).toBeGreaterThan(0);
    expect(jump.counters!.bytes).toBeGreaterThan(jump.counters!.packets * 20);
    expect(d.tables.get('filter')!.chains.get('INPUT')!.counters!.packets).toBeGreaterThan(0);
  });

  it('nft and legacy backends, with and without -c, give the same rules', () => {
    const nft = semantics(parseIptablesSave(NFT_C, 'a').value);
    expect(semantics(parseIptablesSave(LEGACY_C, 'b').value)).toEqual(nft);
    expect(semantics(parseIptablesSave(NFT, 'c').value)).toEqual(nft);
  });

  it('the tables, chains and built-in policies loaded are the ones read back', () => {
    const d = parseIptablesSave(NFT_C, 'nft').value;
    expect([...d.tables.keys()].sort()).toEqual(['filter', 'mangle', 'nat', 'raw']);
    const input = fixture('input-v4.rules');
    const declared = [...input.matchAll(/^:(\S+) (\S+)/gm)].map((m) => m[1]);
    const read = [...d.tables.values()].flatMap((t) => [...t.chains.keys()]);
    for (const c of declared) expect(read).toContain(c);
    expect(d.tables.get('filter')!.chains.get('FORWARD')!.policy).toBe('DROP');
    expect(d.tables.get('filter')!.chains.get('INPUT')!.policy).toBe('ACCEPT');
    // Every rule line of the input came back (the kernel may reorder options, not drop rules).
    expect(rules(d)).toHaveLength(input.split('\n').filter((l) => l.startsWith('-A ')).length);
  });

  const all = rules(parseIptablesSave(NFT_C, 'nft').value);
  const v6 = rules(parseIptablesSave(V6_C, 'v6').value);
  const rule = (fragment: string, from = all): IptRule => {
    const hits = from.filter((r) => r.raw.includes(fragment));
    expect(hits, fragment).toHaveLength(1);
    return hits[0];
  };

  it.each<[string, object[], object | null]>([
    // addresses with !, interfaces with + wildcards, protocols, ports
    ['! -d 192.168.0.0/16 -p tcp -m multiport', [{ kind: 'source', negate: false, cidr: { addr: '192.168.0.0', prefixLen: 16 } }, { kind: 'destination', negate: true, cidr: { addr: '192.168.0.0', prefixLen: 16 } }, { kind: 'protocol', number: 6 }, { kind: 'multiport', dir: 'dst', ports: [{ from: 22, to: 22 }, { from: 80, to: 80 }, { from: 8000, to: 8080 }] }], { kind: 'REJECT', rejectWith: 'tcp-reset' }],
    ['-m multiport --sports 53,5353', [{ kind: 'protocol', number: 17 }, { kind: 'multiport', dir: 'src', ports: [{ from: 53, to: 53 }, { from: 5353, to: 5353 }] }], { kind: 'RETURN' }],
    ['cali:8ZoYfO5HKXWbB3pk', [{ kind: 'in-interface', name: 'cali+', wildcard: true, prefix: 'cali', negate: false }, { kind: 'comment', text: 'cali:8ZoYfO5HKXWbB3pk' }], { kind: 'jump', chain: 'cali-from-wl-dispatch', goto: false }],
    ['cali:ThX4aQJZ8mIk1Bq4', [{ kind: 'in-interface', name: 'cali1f5825c42b0', wildcard: false }, { kind: 'comment' }], { kind: 'jump', chain: 'cali-fw-cali1f5825c42b0', goto: true }],
    // ipsets (src; dst,dst for a named-port hash:ip,port set; negated)
    ['cali:nYkRtxM3rQS5ssWe', [{ kind: 'protocol', number: 6 }, { kind: 'comment', text: 'cali:nYkRtxM3rQS5ssWe' }, { kind: 'comment', text: 'Policy backend/allow-api ingress' }, { kind: 'set', setName: 'cali40s:4g010_DunYvItGg3dv2Mxna', dirs: ['src'], negate: false }, { kind: 'multiport', ports: [{ from: 8080, to: 8080 }, { from: 9090, to: 9090 }] }], { kind: 'MARK', value: 0x10000, mask: 0x10000 }],
    ['cali:named-port', [{ kind: 'protocol' }, { kind: 'comment' }, { kind: 'set', setName: 'cali40n:cl9_Kgeu4H0OGLbhovVR3NB', dirs: ['dst', 'dst'] }], { kind: 'MARK' }],
    ['cali:flqWnvo8yq4ULQLa', [{ kind: 'comment' }, { kind: 'set', setName: 'cali40masq-ipam-pools', dirs: ['src'], negate: false }, { kind: 'set', setName: 'cali40all-ipam-pools', dirs: ['dst'], negate: true }], { kind: 'MASQUERADE', randomFully: true }],
    // marks, conntrack, state, addrtype
    ['cali:fSSbGND7dgyemWU7', [{ kind: 'comment' }, { kind: 'mark', value: 0x40000, mask: 0x40000, negate: false }, { kind: 'rpfilter', validmark: true, invert: true, loose: false }], { kind: 'DROP' }],
    ['-m mark ! --mark 0x4000/0x4000', [{ kind: 'mark', negate: true, value: 0x4000, mask: 0x4000 }], { kind: 'RETURN' }],
    ['block incoming localnet', [{ kind: 'source', negate: true, cidr: { addr: '127.0.0.0', prefixLen: 8 } }, { kind: 'destination', negate: false }, { kind: 'comment' }, { kind: 'conntrack', ctstate: { negate: true, values: ['RELATED', 'ESTABLISHED', 'DNAT'] } }], { kind: 'DROP' }],
    ['-m state --state NEW', [{ kind: 'state', states: ['NEW'], negate: false }, { kind: 'owner', uid: { from: 0, to: 0 } }, { kind: 'comment', text: 'owner-root' }], { kind: 'RETURN' }],
    ['cali:e9dnSB267oz_ZMy0', [{ kind: 'out-interface', name: 'vxlan.calico' }, { kind: 'comment' }, { kind: 'addrtype', srcType: { negate: true, values: ['LOCAL'] }, limitIfaceOut: true }, { kind: 'addrtype', srcType: { negate: false, values: ['LOCAL'] }, limitIfaceOut: false }], { kind: 'MASQUERADE', randomFully: true }],
    ['--dst-type LOCAL -j KUBE-NODEPORTS', [{ kind: 'comment' }, { kind: 'addrtype', dstType: { negate: false, values: ['LOCAL'] } }], { kind: 'jump', chain: 'KUBE-NODEPORTS' }],
    // kube-proxy: statistic random and nth, DNAT
    ['--probability 0.5', [{ kind: 'comment' }, { kind: 'statistic', mode: 'random', probability: 0.5 }], { kind: 'jump', chain: 'KUBE-SEP-ABCDEFGHIJKLMNOP' }],
    ['nth-every-3', [{ kind: 'protocol' }, { kind: 'comment' }, { kind: 'statistic', mode: 'nth', every: 3, packet: 1 }], { kind: 'jump', chain: 'KUBE-MARK-MASQ' }],
    ['--to-destination 172.18.0.2:6443', [{ kind: 'protocol', number: 6 }, { kind: 'comment' }, { kind: 'tcp' }], { kind: 'DNAT', to: [{ minIp: '172.18.0.2', maxIp: '172.18.0.2', minPort: 6443, maxPort: 6443 }] }],
    ['snat-range', [{ kind: 'source' }, { kind: 'out-interface', name: 'eth0' }, { kind: 'protocol' }, { kind: 'comment' }], { kind: 'SNAT', persistent: true, to: [{ minIp: '10.0.0.11', maxIp: '10.0.0.12', minPort: 30000, maxPort: 30100 }] }],
    // the rest of the modules: icmp with code, tcp flags, limit, recent, pkttype, iprange, length, policy, socket, physdev
    ['--icmp-type 3/4', [{ kind: 'protocol', number: 1 }, { kind: 'icmp', type: 3, codeMin: 4, codeMax: 4 }], { kind: 'ACCEPT' }],
    ['--tcp-flags FIN,SYN,RST,ACK SYN', [{ kind: 'protocol' }, { kind: 'tcp', tcpFlags: { mask: ['FIN', 'SYN', 'RST', 'ACK'], comp: ['SYN'], negate: false } }, { kind: 'conntrack', ctstate: { values: ['INVALID'] } }], { kind: 'DROP' }],
    ['-m limit', [{ kind: 'limit', rate: '5/min', burst: 7 }], { kind: 'LOG', prefix: 'docker-user: ', level: 6 }],
    ['-m recent', [{ kind: 'recent', action: 'rcheck', name: 'ssh', side: 'source', seconds: 60, hitcount: 4 }], { kind: 'DROP' }],
    ['-m pkttype', [{ kind: 'pkttype', type: 'broadcast' }], { kind: 'NFLOG', group: 5, prefix: 'bcast' }],
    ['-m iprange', [{ kind: 'iprange', srcRange: { from: '10.1.0.1', to: '10.1.0.9', negate: false } }], { kind: 'RETURN' }],
    ['-m length', [{ kind: 'length', min: 1400, max: 65535 }], { kind: 'RETURN' }],
    ['-m policy', [{ kind: 'policy', dir: 'in', pol: 'ipsec' }], { kind: 'RETURN' }],
    ['-m socket', [{ kind: 'protocol' }, { kind: 'socket', transparent: true }, { kind: 'comment' }], { kind: 'MARK', value: 1, mask: 1 }],
    ['-m physdev', [{ kind: 'physdev', physdevIn: { name: 'veth+', wildcard: true, prefix: 'veth' }, isBridged: { negate: false } }], { kind: 'RETURN' }],
    // targets without matches of their own
    ['-j CT --notrack', [{ kind: 'protocol' }, { kind: 'comment' }, { kind: 'udp', dport: { from: 4789, to: 4789 } }], { kind: 'CT', notrack: true }],
    ['-j NOTRACK', [{ kind: 'protocol' }, { kind: 'comment' }, { kind: 'udp' }], { kind: 'NOTRACK' }],
    ['-j TRACE', [{ kind: 'destination', cidr: { addr: '10.9.9.9', prefixLen: 32 } }, { kind: 'protocol', number: 1 }, { kind: 'comment' }, { kind: 'icmp', type: 8 }], { kind: 'TRACE' }],
    ['connmark-set', [{ kind: 'comment' }, { kind: 'connmark', value: 1, mask: 1 }], { kind: 'CONNMARK' }],
    ['cali:xWLyDDZB9WJ7Hc_C', [{ kind: 'comment', text: 'cali:xWLyDDZB9WJ7Hc_C' }, { kind: 'comment', text: 'Drop if no profiles matched' }], { kind: 'DROP' }],
  ])('structures %s', (fragment, matches, target) => {
    const r = rule(fragment);
    expect(r.matches).toHaveLength(matches.length);
    r.matches.forEach((m, i) => expect(m).toMatchObject(matches[i]));
    if (target) expect(r.target).toMatchObject(target);
  });

  it('comments are listed in order, Felix\'s cali: first', () => {
    expect(rule('cali:xWLyDDZB9WJ7Hc_C').comments).toEqual(['cali:xWLyDDZB9WJ7Hc_C', 'Drop if no profiles matched']);
  });

  it('MARK as the kernel normalised it (--or-mark, --and-mark, --set-mark) still does what was asked', () => {
    // The tools print every MARK form as --set-xmark value/mask; applying it must equal the original operation.
    const or = rule('mark-or').target;
    const and = rule('mark-and').target;
    const set = rule('--comment mark-set ').target;
    expect(or?.kind === 'MARK' && and?.kind === 'MARK' && set?.kind === 'MARK').toBe(true);
    for (const old of [0, 0x5, 0xffffffff, 0x12345678]) {
      if (or?.kind === 'MARK') expect(applyXmark(old, or.value, or.mask)).toBe((old | 0x100) >>> 0);
      if (and?.kind === 'MARK') expect(applyXmark(old, and.value, and.mask)).toBe((old & 0xffff00ff) >>> 0);
      if (set?.kind === 'MARK') expect(applyXmark(old, set.value, set.mask)).toBe(((old & ~0xf0) | 0x20) >>> 0);
    }
  });

  it('IPv6: prefixes with !, icmp6 by number and by name, REJECT icmp6', () => {
    expect(rule('cali:v6-fwd', v6).matches).toMatchObject([
      { kind: 'source', negate: false, cidr: { family: 6, addr: 'fd00:65::', prefixLen: 48 } },
      { kind: 'destination', negate: true, cidr: { family: 6, prefixLen: 122 } },
      { kind: 'in-interface', name: 'cali+' },
      { kind: 'comment' },
    ]);
    expect(rule('cali:v6-icmp', v6).matches).toMatchObject([{ kind: 'protocol', number: 58 }, { kind: 'comment' }, { kind: 'icmp6', type: 128 }]);
    // Loaded as `--icmpv6-type neighbour-solicitation`; the tool prints the number.
    expect(rule('--icmpv6-type 135', v6).matches).toMatchObject([{ kind: 'protocol', number: 58 }, { kind: 'icmp6', type: 135 }]);
    expect(rule('cali:v6-rej', v6).target).toMatchObject({ kind: 'REJECT', rejectWith: 'icmp6-adm-prohibited' });
  });

  it('classifies chains by Calico\'s and kube-proxy\'s prefixes', () => {
    const d = parseIptablesSave(NFT_C, 'nft').value;
    const role = (t: string, c: string) => d.tables.get(t)!.chains.get(c)!.role;
    expect(role('filter', 'cali-pi-_ZbYF7NHXYp2YyL4bfwj')).toBe('calico-policy-ingress');
    expect(role('filter', 'cali-po-_ZbYF7NHXYp2YyL4bfwj')).toBe('calico-policy-egress');
    expect(role('filter', 'cali-tw-cali1f5825c42b0')).toBe('calico-to-workload');
    expect(role('filter', 'cali-fw-cali1f5825c42b0')).toBe('calico-from-workload');
    expect(role('filter', 'cali-pri-kns.default')).toBe('calico-profile-ingress');
    expect(role('filter', 'cali-pro-kns.default')).toBe('calico-profile-egress');
    expect(role('filter', 'cali-from-wl-dispatch')).toBe('calico-dispatch');
    expect(role('filter', 'cali-FORWARD')).toBe('calico-static');
    expect(role('nat', 'KUBE-SVC-NPX46M4PTMTKRN6Y')).toBe('kube-proxy-service');
    expect(role('nat', 'KUBE-SEP-ABCDEFGHIJKLMNOP')).toBe('kube-proxy-endpoint');
    expect(role('nat', 'KUBE-SERVICES')).toBe('kube-proxy-services');
    expect(role('filter', 'DOCKER-USER')).toBe('docker');
    expect(role('filter', 'FORWARD')).toBe('builtin');
  });
});

describe('parseIptablesSave: bad input gets file:line: reason, keeps the rest, never throws', () => {
  const ruleCount = (text: string) => rules(parseIptablesSave(text, 'x').value).length;
  const total = ruleLines(NFT_C).length;

  it('garbage lines among good ones: an error at each, every good rule kept', () => {
    const lines = NFT_C.split('\n');
    lines.splice(20, 0, 'hello world');
    const r = parseIptablesSave(lines.join('\n'), 'nodes/a/iptables-save.txt');
    expect(r.issues).toEqual([{ artifact: 'nodes/a/iptables-save.txt', line: 21, severity: 'error', reason: 'not an iptables-save line: hello world' }]);
    expect(rules(r.value)).toHaveLength(total);
  });

  it('binary content and the wrong artifact are refused in one line each', () => {
    const bin = parseIptablesSave('\u0000\u0001\u0002\u0003garbage\u0000\n', 'x');
    expect(bin.issues).toMatchObject([{ line: 0, severity: 'error', reason: expect.stringMatching(/binary/) }]);
    const wrong = parseIptablesSave(fixture('../ipset/ipset-save.txt'), 'nodes/a/iptables-save.txt');
    expect(wrong.issues).toMatchObject([{ line: 0, severity: 'error', reason: expect.stringMatching(/^not an iptables-save dump/) }]);
    expect(rules(wrong.value)).toEqual([]);
  });

  it('a truncated dump keeps the rules read before the cut and says the table was not committed', () => {
    const cut = NFT_C.slice(0, Math.floor(NFT_C.length * 0.6));
    const r = parseIptablesSave(cut, 'x');
    const complete = cut.split('\n').slice(0, -1).join('\n'); // the last line may be cut in half
    expect(ruleCount(cut)).toBeGreaterThanOrEqual(ruleLines(complete).length);
    expect(r.issues.some((i) => i.severity === 'warning' && /no COMMIT/.test(i.reason))).toBe(true);
  });

  it('CRLF line ends read like LF', () => {
    const crlf = parseIptablesSave(NFT_C.replace(/\n/g, '\r\n'), 'x');
    expect(crlf.issues).toEqual([]);
    expect(semantics(crlf.value)).toEqual(semantics(parseIptablesSave(NFT_C, 'x').value));
  });

  it('a 10 MB line is reported by number, kept as a rule not understood, and the rest is kept', () => {
    const lines = NFT_C.split('\n');
    const at = lines.findIndex((l) => l.includes('-A cali-FORWARD'));
    lines.splice(at, 0, `-A cali-FORWARD -m comment --comment "${'x'.repeat(10_000_000)}" -j DROP`);
    const r = parseIptablesSave(lines.join('\n'), 'x');
    expect(r.issues.some((i) => i.line === at + 1 && i.severity === 'error' && /longer than any iptables rule/.test(i.reason))).toBe(true);
    expect(rules(r.value)).toHaveLength(total + 1);
    // Its place in the chain stays, opaque: the engine reports a packet reaching it as indeterminate.
    const opaque = r.value.tables.get('filter')!.chains.get('cali-FORWARD')!.rules[0];
    expect(opaque).toMatchObject({ line: at + 1, target: undefined, unknown: ['(line too long)'] });
  });

  it('random and mutated input never throws; issue lines are within the text (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (t) => {
        const r = parseIptablesSave(t, 'fz');
        const max = t.split('\n').length;
        for (const i of r.issues) expect(i.line >= 0 && i.line <= max).toBe(true);
      }),
      { numRuns: 300 },
    );
    const lines = NFT_C.split('\n');
    fc.assert(
      fc.property(fc.nat(), fc.nat(), fc.string({ unit: 'grapheme-ascii', maxLength: 40 }), (a, b, junk) => {
        // Replace a random line by junk (never a command itself: `-F`, `COMMIT`, `*t` would act):
        // an error at that line, and at most that line's rule is lost.
        const l = [...lines];
        const at = a % l.length;
        const lost = /^(\[\d+:\d+\] )?-A /.test(l[at]) ? 1 : 0;
        l[at] = `~${junk.slice(0, b % 41)}`;
        const r = parseIptablesSave(l.join('\n'), 'fz');
        for (const i of r.issues) expect(i.line >= 0 && i.line <= l.length).toBe(true);
        expect(r.issues.some((i) => i.line === at + 1 && i.severity === 'error')).toBe(true);
        // A lost `*table` header can move rules to another table or drop them with a report;
        // otherwise every other rule is still read.
        if (!/^\*|^COMMIT|^:/.test(lines[at])) expect(rules(r.value).length).toBeGreaterThanOrEqual(total - lost);
      }),
      { numRuns: 300 },
    );
  });
});
