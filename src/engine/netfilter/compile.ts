/**
 * Compiles parsed iptables rules into predicates, once per chain, lazily (only chains a packet
 * reaches are compiled). A predicate is a closure over the rule's typed matches: no string is
 * re-parsed per packet. Long chains (kube-proxy's KUBE-SERVICES, dispatch chains) get an index
 * by exact destination address or interface so a packet does not scan thousands of rules; the
 * index keeps rule order, so semantics are those of a linear scan.
 *
 * Hand-written rather than a generic rule engine because evaluation speed is a requirement
 * (≥ 50,000 verdicts per second over 200,000 rules) and the kernel's semantics are specific.
 */
import {
  cidrContains,
  ifaceMatches,
  ipInRange,
  type Cidr,
  type IptChain,
  type IptRule,
  type IptablesSave,
  type Match,
  type NegPortRange,
  type PortRange,
} from '../../model/iptables.js';
import { parseIPv4, type IpsetMatcher } from '../../model/ipset.js';
import type { U32Table } from '../../model/u32-table.js';
import type { Packet } from '../packet.js';
import type { Chooser, NetfilterEnv } from './env.js';

/** Per-evaluation state the predicates read. */
export interface EvalCtx {
  pkt: Packet;
  /** IPv4 src/dst as uint32 (-1 for IPv6), computed once per hook run. */
  src4: number;
  dst4: number;
  env: NetfilterEnv;
  chooser: Chooser;
}

export type Predicate = (ctx: EvalCtx) => boolean;

export interface CompiledRule {
  rule: IptRule;
  test: Predicate;
  /** True when the rule's effect cannot change the packet's fate (LOG, NFLOG, no target…): skipped entirely. */
  inert: boolean;
  /**
   * The target's kind as a small number (TK_*), read once at compile time: the target objects of
   * a dump come in many hidden classes, and the evaluation loop should not load from them.
   */
  tk: number;
  /** Jump/goto target, resolved on first use (null: not in the table). */
  target: CompiledChain | null | undefined;
}

export const TK_OTHER = 0;
export const TK_ACCEPT = 1;
export const TK_DROP = 2;
export const TK_REJECT = 3;
export const TK_RETURN = 4;
export const TK_JUMP = 5;
export const TK_GOTO = 6;
export const TK_MARK = 7;

function targetKind(rule: IptRule): number {
  const t = rule.target;
  if (!t) return TK_OTHER;
  switch (t.kind) {
    case 'ACCEPT':
      return TK_ACCEPT;
    case 'DROP':
      return TK_DROP;
    case 'REJECT':
      return TK_REJECT;
    case 'RETURN':
      return TK_RETURN;
    case 'jump':
      return t.goto ? TK_GOTO : TK_JUMP;
    case 'MARK':
      return TK_MARK;
    default:
      return TK_OTHER;
  }
}

export interface CompiledChain {
  chain: IptChain;
  rules: CompiledRule[];
  /** Every rule position, in order: what a packet considers when the chain has no index. */
  all: Int32Array;
  /**
   * For an indexed chain, the rule positions to consider for a packet, in order (index into
   * `rules`); undefined when the chain has no index (then `all`). Kept apart so the common
   * case costs the evaluation loop no call.
   */
  index: ((ctx: EvalCtx) => ArrayLike<number>) | undefined;
}

/** Rule positions to consider for a packet, in order (index into `cc.rules`). */
export function candidatesOf(cc: CompiledChain, ctx: EvalCtx): ArrayLike<number> {
  return cc.index === undefined ? cc.all : cc.index(ctx);
}

const PROTO_NAMES_FOR_SET: Record<number, string> = { 6: 'tcp', 17: 'udp', 132: 'sctp', 136: 'udplite', 1: 'icmp', 58: 'icmpv6' };

function cidrTest(c: Cidr, which: 'src' | 'dst'): Predicate {
  if (c.family === 4 && c.v4 !== undefined && c.v4mask !== undefined) {
    const net = c.v4 >>> 0;
    const mask = c.v4mask >>> 0;
    if (which === 'src') return (x) => x.src4 >= 0 && ((x.src4 & mask) >>> 0) === net;
    return (x) => x.dst4 >= 0 && ((x.dst4 & mask) >>> 0) === net;
  }
  return (x) => cidrContains(c, which === 'src' ? x.pkt.src : x.pkt.dst) === true;
}

function inRange(p: number | undefined, r: PortRange): boolean {
  return p !== undefined && p >= r.from && p <= r.to;
}

function negPort(r: NegPortRange | undefined, get: (x: EvalCtx) => number | undefined): Predicate | undefined {
  if (!r) return undefined;
  const { from, to, negate } = r;
  return (x) => {
    const p = get(x);
    if (p === undefined) return false;
    return (p >= from && p <= to) !== negate;
  };
}

const ALWAYS: Predicate = () => true;

const CT_TUPLE = (x: EvalCtx) => x.pkt.ct;

// --ctstate values as bits, so a rule tests a packet's state with one AND (Calico's policy and
// filter chains open with ctstate tests).
const CT_BIT: Readonly<Record<string, number>> = { NEW: 1, ESTABLISHED: 2, RELATED: 4, INVALID: 8, UNTRACKED: 16, DNAT: 32, SNAT: 64 };

function ctStateBits(values: readonly string[]): number {
  let b = 0;
  for (const v of values) b |= CT_BIT[v] ?? 0;
  return b;
}

function ctBitsOf(ct: Packet['ct']): number {
  return (CT_BIT[ct.state] ?? 0) | (ct.dnat ? 32 : 0) | (ct.snat ? 64 : 0);
}

function unknown(rule: IptRule, reason: string): Predicate {
  return (x) => x.chooser.choose('assume', rule, reason);
}

/** Targets that never change the packet's fate: a rule with one of these can be skipped. */
const INERT_TARGETS = new Set(['LOG', 'NFLOG', 'TRACE', 'ULOG', 'AUDIT', 'CHECKSUM', 'TCPMSS', 'TOS', 'DSCP', 'CLASSIFY', 'TTL', 'HL', 'IDLETIMER', 'LED', 'SECMARK', 'CONNSECMARK']);

export function isInertRule(r: IptRule): boolean {
  const t = r.target;
  // No target: a counter-only rule falls through; but a rule the parser could not read at all
  // (kept opaque, e.g. a line too long) might have had any target, so it is evaluated.
  if (!t) return r.unknown.length === 0;
  if (t.kind === 'LOG' || t.kind === 'NFLOG' || t.kind === 'TRACE') return true;
  return t.kind === 'other' && INERT_TARGETS.has(t.name);
}

function compileMatch(m: Match, rule: IptRule): Predicate {
  switch (m.kind) {
    case 'source': {
      const t = cidrTest(m.cidr, 'src');
      return m.negate ? (x) => !t(x) : t;
    }
    case 'destination': {
      const t = cidrTest(m.cidr, 'dst');
      return m.negate ? (x) => !t(x) : t;
    }
    // The hot predicates below copy what they need out of the match first: the match objects of
    // a dump come in several hidden classes (template, shaped and token-read rules), and a
    // closure reading only its own captured primitives stays monomorphic and cheap.
    case 'in-interface': {
      // With no input interface (locally generated packets) the kernel compares against "": no match.
      const { wildcard, prefix, name, negate } = m;
      if (wildcard) return (x) => (x.pkt.inIface ?? '').startsWith(prefix) !== negate;
      return (x) => (x.pkt.inIface === name) !== negate;
    }
    case 'out-interface': {
      const { wildcard, prefix, name, negate } = m;
      if (wildcard) return (x) => (x.pkt.outIface ?? '').startsWith(prefix) !== negate;
      return (x) => (x.pkt.outIface === name) !== negate;
    }
    case 'protocol': {
      const { number, negate } = m;
      if (number === 0) return () => !negate;
      return (x) => (x.pkt.proto === number) !== negate;
    }
    case 'fragment':
      // The engine simulates whole (unfragmented) packets.
      return () => m.negate;
    case 'set': {
      const { setName, dirs, negate } = m;
      const unknownSet = (x: EvalCtx) => x.chooser.choose('assume', rule, `ip set ${setName} is not in the bundle (or its type is not modelled)`);
      if (dirs.length === 1) {
        // Address-only: resolve the set once per node environment and test the packet's parsed
        // IPv4 address directly (the hot path of Calico's policy chains).
        const dst = dirs[0] === 'dst';
        let forEnv: NetfilterEnv | undefined;
        let matcher: IpsetMatcher | undefined;
        let v4: ((v: number) => boolean) | undefined;
        let exact: U32Table | undefined;
        return (x) => {
          if (x.env !== forEnv) {
            forEnv = x.env;
            matcher = x.env.ipsetMatcher?.(setName);
            v4 = matcher?.v4;
            exact = matcher?.v4exact;
          }
          const v = dst ? x.dst4 : x.src4;
          if (exact !== undefined && v >= 0) return (exact.get(v) === 1) !== negate;
          if (v4 !== undefined && v >= 0) return v4(v) !== negate;
          const r = matcher !== undefined ? matcher(dst ? x.pkt.dst : x.pkt.src) : x.env.ipsetTest(setName, dst ? x.pkt.dst : x.pkt.src);
          if (r === undefined) return unknownSet(x);
          return r !== negate;
        };
      }
      // Address and port (Calico's named-port sets): the same, through the set's v4port test.
      const dst = dirs[0] === 'dst';
      const dport = dirs[1] === 'dst';
      let forEnv: NetfilterEnv | undefined;
      let v4port: IpsetMatcher['v4port'];
      return (x) => {
        const p = x.pkt;
        if (x.env !== forEnv) {
          forEnv = x.env;
          v4port = x.env.ipsetMatcher?.(setName)?.v4port;
        }
        const port = p.proto === 1 || p.proto === 58 ? ((p.icmpType ?? 0) << 8) | (p.icmpCode ?? 0) : dport ? p.dport : p.sport;
        const v = dst ? x.dst4 : x.src4;
        const r = v4port !== undefined && v >= 0 ? v4port(v, p.proto, port) : x.env.ipsetTest(setName, dst ? p.dst : p.src, PROTO_NAMES_FOR_SET[p.proto] ?? String(p.proto), port);
        if (r === undefined) return unknownSet(x);
        return r !== negate;
      };
    }
    case 'mark': {
      const mask = m.mask >>> 0;
      const value = m.value >>> 0;
      const negate = m.negate;
      return (x) => (((x.pkt.mark & mask) >>> 0) === value) !== negate;
    }
    case 'connmark': {
      const mask = m.mask >>> 0;
      const value = m.value >>> 0;
      const negate = m.negate;
      return (x) => (((x.pkt.ct.mark & mask) >>> 0) === value) !== negate;
    }
    case 'conntrack': {
      const parts: Predicate[] = [];
      if (m.ctstate) {
        const { values, negate } = m.ctstate;
        const bits = ctStateBits(values);
        parts.push((x) => ((ctBitsOf(x.pkt.ct) & bits) !== 0) !== negate);
      }
      if (m.ctstatus) {
        const { values, negate } = m.ctstatus;
        parts.push((x) => values.some((s) => (s === 'NONE' ? x.pkt.ct.status.length === 0 : x.pkt.ct.status.includes(s))) !== negate);
      }
      if (m.ctproto) {
        const { number, negate } = m.ctproto;
        parts.push((x) => (x.pkt.proto === number) !== negate);
      }
      const addr = (c: { negate: boolean; cidr: Cidr } | undefined, get: (x: EvalCtx) => string) => {
        if (c) parts.push((x) => (cidrContains(c.cidr, get(x)) === true) !== c.negate);
      };
      addr(m.ctorigsrc, (x) => CT_TUPLE(x).orig.src);
      addr(m.ctorigdst, (x) => CT_TUPLE(x).orig.dst);
      addr(m.ctreplsrc, (x) => CT_TUPLE(x).reply.src);
      addr(m.ctrepldst, (x) => CT_TUPLE(x).reply.dst);
      const port = (r: NegPortRange | undefined, get: (x: EvalCtx) => number | undefined) => {
        const p = negPort(r, get);
        if (p) parts.push(p);
      };
      port(m.ctorigsrcport, (x) => CT_TUPLE(x).orig.sport);
      port(m.ctorigdstport, (x) => CT_TUPLE(x).orig.dport);
      port(m.ctreplsrcport, (x) => CT_TUPLE(x).reply.sport);
      port(m.ctrepldstport, (x) => CT_TUPLE(x).reply.dport);
      if (m.ctdir) {
        const d = m.ctdir;
        parts.push((x) => x.pkt.ct.dir === d);
      }
      if (m.ctexpire) parts.push(unknown(rule, 'conntrack --ctexpire depends on the entry timeout'));
      return and(parts);
    }
    case 'state': {
      const bits = ctStateBits(m.states);
      const negate = m.negate;
      return (x) => ((ctBitsOf(x.pkt.ct) & bits) !== 0) !== negate;
    }
    case 'comment':
      return ALWAYS;
    case 'addrtype': {
      const parts: Predicate[] = [];
      if (m.srcType) {
        const { values, negate } = m.srcType;
        parts.push((x) => {
          const t = x.env.addrType(x.pkt.src, m.limitIfaceIn ? x.pkt.inIface : undefined);
          if (t === undefined) return x.chooser.choose('assume', rule, `address type of ${x.pkt.src} unknown (no ip addr/route for this node)`);
          return values.includes(t) !== negate;
        });
      }
      if (m.dstType) {
        const { values, negate } = m.dstType;
        parts.push((x) => {
          const t = x.env.addrType(x.pkt.dst, m.limitIfaceOut ? x.pkt.outIface : m.limitIfaceIn ? x.pkt.inIface : undefined);
          if (t === undefined) return x.chooser.choose('assume', rule, `address type of ${x.pkt.dst} unknown (no ip addr/route for this node)`);
          return values.includes(t) !== negate;
        });
      }
      return and(parts);
    }
    case 'multiport': {
      const { ports, dir, negate } = m;
      return (x) => {
        const p = x.pkt;
        if (p.sport === undefined && p.dport === undefined) return false;
        const hit =
          dir === 'src'
            ? ports.some((r) => inRange(p.sport, r))
            : dir === 'dst'
              ? ports.some((r) => inRange(p.dport, r))
              : ports.some((r) => inRange(p.sport, r) || inRange(p.dport, r));
        return hit !== negate;
      };
    }
    case 'tcp':
    case 'udp':
    case 'sctp': {
      const proto = m.kind === 'tcp' ? 6 : m.kind === 'udp' ? 17 : 132;
      const parts: Predicate[] = [(x) => x.pkt.proto === proto];
      const s = negPort(m.sport, (x) => x.pkt.sport);
      const d = negPort(m.dport, (x) => x.pkt.dport);
      if (s) parts.push(s);
      if (d) parts.push(d);
      if (m.kind === 'tcp' && m.tcpFlags) {
        const f = m.tcpFlags;
        parts.push((x) => (((x.pkt.tcpFlags ?? 0) & f.maskBits) === f.compBits) !== f.negate);
      }
      if (m.kind === 'tcp' && m.tcpOption) parts.push(unknown(rule, 'tcp --tcp-option depends on TCP options'));
      if (m.kind === 'sctp' && m.chunkTypes) parts.push(unknown(rule, 'sctp --chunk-types depends on the chunks'));
      return and(parts);
    }
    case 'icmp':
    case 'icmp6': {
      const proto = m.kind === 'icmp' ? 1 : 58;
      return (x) => {
        const p = x.pkt;
        if (p.proto !== proto) return false;
        const hit = m.any || (p.icmpType === m.type && (p.icmpCode ?? 0) >= m.codeMin && (p.icmpCode ?? 0) <= m.codeMax);
        return hit !== m.negate;
      };
    }
    case 'statistic': {
      if (m.mode === 'random' && m.probability !== undefined) {
        if (m.probability >= 1) return () => !m.negate;
        if (m.probability <= 0) return () => m.negate;
      }
      const what = m.mode === 'random' ? `random probability ${m.probability}` : `every ${m.every} packet ${m.packet ?? 0}`;
      return (x) => x.chooser.choose('statistic', rule, `statistic ${what}`);
    }
    case 'rpfilter':
      return (x) => {
        const r = x.env.rpfilter?.(x.pkt, { loose: m.loose, validmark: m.validmark, acceptLocal: m.acceptLocal });
        if (r === undefined) return x.chooser.choose('assume', rule, 'rpfilter needs this node\'s routes');
        return r !== m.invert;
      };
    case 'policy':
      // Without IPsec (no xfrm state in a bundle), `--pol none` matches and `--pol ipsec` does not.
      return () => m.pol === 'none';
    case 'physdev': {
      // Routed (not bridged) traffic has no physdev info: any non-negated option fails, negated ones pass.
      const opts = [m.physdevIn, m.physdevOut, m.isIn, m.isOut, m.isBridged].filter((o) => o !== undefined);
      const ok = opts.every((o) => o!.negate);
      return () => ok;
    }
    case 'iprange': {
      const parts: Predicate[] = [];
      if (m.srcRange) {
        const r = m.srcRange;
        parts.push((x) => (ipInRange(x.pkt.src, r.from, r.to) === true) !== r.negate);
      }
      if (m.dstRange) {
        const r = m.dstRange;
        parts.push((x) => (ipInRange(x.pkt.dst, r.from, r.to) === true) !== r.negate);
      }
      return and(parts);
    }
    case 'length':
      return (x) => (x.pkt.length >= m.min && x.pkt.length <= m.max) !== m.negate;
    case 'pkttype':
      return (x) => {
        const d = x.pkt.dst;
        const t = d === '255.255.255.255' || /\.255$/.test(d) ? 'broadcast' : /^(22[4-9]|23\d)\./.test(d) || d.startsWith('ff') ? 'multicast' : 'unicast';
        if (t === 'broadcast' && d !== '255.255.255.255') return x.chooser.choose('assume', rule, `whether ${d} is a broadcast address`);
        return (m.type === t || (m.type === 'host' && t === 'unicast')) !== m.negate;
      };
    case 'dscp':
      // Pod traffic is sent with DSCP 0 unless something marked it; no rule in a bundle can tell otherwise.
      return () => (m.value === 0) !== m.negate;
    case 'limit':
      return unknown(rule, `rate limit ${m.rate} burst ${m.burst}`);
    case 'recent':
      return unknown(rule, `recent list ${m.name}`);
    case 'socket':
      return unknown(rule, 'socket lookup');
    case 'owner':
      return unknown(rule, 'owner of the local socket');
    case 'hashlimit':
      return unknown(rule, 'hashlimit rate');
    case 'u32':
      return unknown(rule, `u32 ${m.expr}`);
    case 'string':
      return unknown(rule, 'payload string match');
    case 'mac':
      return unknown(rule, `source MAC ${m.mac}`);
    case 'helper':
      return unknown(rule, `conntrack helper ${m.name}`);
    case 'connlimit':
      return unknown(rule, 'connection count');
    case 'unknown':
      return unknown(rule, `match module ${m.module} is not understood`);
  }
}

function and(parts: Predicate[]): Predicate {
  if (parts.length === 0) return ALWAYS;
  if (parts.length === 1) return parts[0];
  if (parts.length === 2) {
    const [a, b] = parts;
    return (x) => a(x) && b(x);
  }
  if (parts.length === 3) {
    const [a, b, c] = parts;
    return (x) => a(x) && b(x) && c(x);
  }
  if (parts.length === 4) {
    const [a, b, c, d] = parts;
    return (x) => a(x) && b(x) && c(x) && d(x);
  }
  return (x) => {
    for (let i = 0; i < parts.length; i++) if (!parts[i](x)) return false;
    return true;
  };
}

export function compileRule(rule: IptRule): CompiledRule {
  const inert = isInertRule(rule);
  // Order matters for speed only: cheap and selective tests (interfaces, addresses, protocol) first.
  const weight = (m: Match) =>
    m.kind === 'in-interface' || m.kind === 'out-interface' || m.kind === 'mark' ? 0 : m.kind === 'source' || m.kind === 'destination' || m.kind === 'protocol' ? 1 : m.kind === 'statistic' ? 9 : m.kind === 'unknown' ? 8 : 5;
  const ms = rule.matches.filter((m) => m.kind !== 'comment').sort((a, b) => weight(a) - weight(b));
  return { rule, inert, tk: targetKind(rule), test: and(ms.map((m) => compileMatch(m, rule))), target: undefined };
}

type IndexKey = 'dst' | 'in' | 'out';

function keyOf(rule: IptRule, k: IndexKey): string | undefined {
  for (const m of rule.matches) {
    if (k === 'dst' && m.kind === 'destination' && !m.negate && (m.cidr.prefixLen === 32 || m.cidr.prefixLen === 128)) return m.cidr.addr;
    if (k === 'in' && m.kind === 'in-interface' && !m.negate && !m.wildcard) return m.name;
    if (k === 'out' && m.kind === 'out-interface' && !m.negate && !m.wildcard) return m.name;
  }
  return undefined;
}

const INDEX_MIN_RULES = 24;

/** Positions of the rules that can change the packet's fate (inert ones are never evaluated). */
function live(rules: readonly CompiledRule[]): Int32Array {
  let n = 0;
  for (const r of rules) if (!r.inert) n++;
  const a = new Int32Array(n);
  n = 0;
  for (let i = 0; i < rules.length; i++) if (!rules[i].inert) a[n++] = i;
  return a;
}

/** Merge two ascending index lists. */
function merge(a: ArrayLike<number>, b: ArrayLike<number>): number[] {
  const out: number[] = new Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) out[k++] = a[i] < b[j] ? a[i++] : b[j++];
  while (i < a.length) out[k++] = a[i++];
  while (j < b.length) out[k++] = b[j++];
  return out;
}

export function compileChain(chain: IptChain): CompiledChain {
  const rules = chain.rules.map(compileRule);
  const all = live(rules);
  if (rules.length < INDEX_MIN_RULES) return { chain, rules, all, index: undefined };
  // Choose the key that indexes the most rules; rules without it are always candidates.
  let best: { k: IndexKey; n: number } = { k: 'dst', n: 0 };
  for (const k of ['dst', 'in', 'out'] as IndexKey[]) {
    const n = chain.rules.reduce((acc, r) => acc + (keyOf(r, k) !== undefined ? 1 : 0), 0);
    if (n > best.n) best = { k, n };
  }
  if (best.n < rules.length / 2) return { chain, rules, all, index: undefined };
  // Per key: the rules with that key, merged with the key-less ones on first use (one lookup per packet).
  // IPv4 destinations are keyed by their 32-bit value (the packet's is already parsed).
  const buckets = new Map<string | number, { own: number[]; merged: number[] | undefined }>();
  const rest: number[] = [];
  const k = best.k;
  chain.rules.forEach((r, i) => {
    if (rules[i].inert) return;
    const key = keyOf(r, k);
    if (key === undefined) rest.push(i);
    else {
      const v4 = k === 'dst' && !key.includes(':') ? parseIPv4(key) : -1;
      const kk = v4 >= 0 ? v4 : key;
      let b = buckets.get(kk);
      if (!b) buckets.set(kk, (b = { own: [], merged: undefined }));
      b.own.push(i);
    }
  });
  const pick = (b: { own: number[]; merged: number[] | undefined } | undefined) => (b === undefined ? rest : (b.merged ??= merge(b.own, rest)));
  const index: (x: EvalCtx) => ArrayLike<number> =
    k === 'dst' ? (x) => pick(buckets.get(x.dst4 >= 0 ? x.dst4 : x.pkt.dst)) : k === 'in' ? (x) => pick(buckets.get(x.pkt.inIface ?? '')) : (x) => pick(buckets.get(x.pkt.outIface ?? ''));
  return { chain, rules, all, index };
}

/** One compiled view of a dump: chains compiled on first use and kept. */
export class CompiledRuleset {
  private readonly cache = new Map<string, Map<string, CompiledChain | null>>();
  compiledChains = 0;
  /** Scratch space of the evaluation loop (its jump stack, see evaluate.ts), kept across packets. */
  frames: unknown = undefined;

  constructor(readonly dump: IptablesSave) {}

  chain(table: string, name: string): CompiledChain | undefined {
    let t = this.cache.get(table);
    if (!t) this.cache.set(table, (t = new Map()));
    let c = t.get(name);
    if (c === undefined) {
      const raw = this.dump.tables.get(table)?.chains.get(name);
      c = raw ? compileChain(raw) : null;
      if (c) this.compiledChains++;
      t.set(name, c);
    }
    return c ?? undefined;
  }

  /** The compiled target of a jump rule, cached on the rule. */
  jumpTarget(table: string, cr: CompiledRule, name: string): CompiledChain | undefined {
    if (cr.target === undefined) cr.target = this.chain(table, name) ?? null;
    return cr.target ?? undefined;
  }

  hasTable(table: string): boolean {
    return this.dump.tables.has(table);
  }
}

// The last two addresses converted: a packet's src and dst are converted for each hook it
// crosses, and are the same strings every time.
let memoIp1 = '';
let memoV1 = -1;
let memoIp2 = '';
let memoV2 = -1;

export function ipv4OrMinus(ip: string): number {
  if (ip === memoIp1) return memoV1;
  if (ip === memoIp2) return memoV2;
  const v = ip.includes(':') ? -1 : parseIPv4(ip);
  memoIp2 = memoIp1;
  memoV2 = memoV1;
  memoIp1 = ip;
  memoV1 = v;
  return v;
}
