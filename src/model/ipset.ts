/**
 * IP sets as read from `ipset save` / `ipset list`, Felix set-name classification, and a
 * membership test with the kernel's semantics (so the engine can evaluate `-m set --match-set`).
 *
 * Kernel semantics modelled by `compileIpset` (net/netfilter/ipset/):
 * - `hash:ip`: exact address (after the set's `netmask`, if any, is applied to the query).
 * - `hash:net`, `hash:net,port`: prefixes are tried from the most to the least specific; the
 *   first (most specific) entry that contains the address decides, and an entry flagged
 *   `nomatch` means "not a member" (the `--return-nomatch` iptables flag is the caller's concern).
 * - `hash:ip,port`: address, protocol and port; for ICMP the "port" is `type << 8 | code`, and
 *   protocols without ports (gre, esp, …) are stored and looked up with port 0.
 * - `bitmap:ip`, `bitmap:port`: exact address / port.
 * - `list:set`: member if a member of any listed set (tried in order).
 * - A query of the other address family never matches (the kernel checks the set family).
 * Anything not modelled (hash:net,iface needs an interface, hash:ip,port,ip a second address,
 * hash:mac, …) yields `undefined`: indeterminate, never a guess.
 */

import { U32Table } from './u32-table.js';

export type IpsetFormat = 'save' | 'list';
export type IpFamily = 'inet' | 'inet6';

export interface IpsetMember {
  /** The member as written (first token of the line after the set name in save format). */
  raw: string;
  line: number;
  /** Normalised address, or `addr/len` for a prefix; a host prefix (/32, /128) is the plain address. */
  ip?: string;
  /** Prefix length: 32/128 for a single address. */
  prefixLen?: number;
  /** Canonical protocol: tcp, udp, sctp, udplite, icmp, icmpv6, or the name/number as written. */
  proto?: string;
  /** Port; for icmp/icmpv6 the kernel's encoding `type << 8 | code`. */
  port?: number;
  /** list:set member. */
  setName?: string;
  /** hash:net,iface member interface; `physdev` when written `physdev:eth0`. */
  iface?: string;
  physdev?: boolean;
  /** Third dimension of hash:ip,port,ip / hash:ip,port,net / hash:net,port,net. */
  ip2?: string;
  prefixLen2?: number;
  /** hash:mac / bitmap:ip,mac / hash:ip,mac member MAC (lower case). */
  mac?: string;
  /** hash:ip,mark member mark. */
  mark?: number;
  nomatch: boolean;
  timeout?: number;
  comment?: string;
  packets?: number;
  bytes?: number;
  /** Other per-member options (skbmark, skbprio, skbqueue, …) as written. */
  options?: Record<string, string>;
}

export interface IpSet {
  name: string;
  /** e.g. hash:ip, hash:net, hash:ip,port, hash:net,port, hash:net,iface, list:set, bitmap:port. */
  type: string;
  family: IpFamily | undefined;
  /** Creation options: `family inet hashsize 1024 …`; flag options (comment, counters, …) map to ''. */
  header: Record<string, string>;
  /** Line of `create …` (save) or `Name: …` (list). */
  line: number;
  members: IpsetMember[];
  /** `References:` (list format only): how many iptables rules / list:sets use it. */
  references?: number;
  /** `Number of entries:` (list format only). */
  declaredEntries?: number;
  revision?: number;
  sizeInMemory?: number;
  /** Which format defined this set (a bundle file may concatenate both). */
  format: IpsetFormat;
}

export interface IpsetDump {
  /** Format of the first set (or of the detected content when there are no sets). */
  format: IpsetFormat;
  /** True when both formats occur in the artifact. */
  mixed?: boolean;
  sets: Map<string, IpSet>;
}

// ---------------------------------------------------------------------------------------------
// Felix set names (felix/ipsets/ipset_defs.go, rules/rule_defs.go; see shared felix-rules.md §5)

export type IpsetKind =
  | 'selector'
  | 'named-port'
  | 'service'
  | 'service-noport'
  | 'ipam-pools'
  | 'masq-pools'
  | 'all-hosts'
  | 'vxlan-peers'
  | 'this-host'
  | 'temporary'
  | 'other-calico'
  | 'non-calico';

export interface IpsetClass {
  /** From the `cali4`/`cali6` prefix; undefined for non-Calico names and legacy `felix-` names. */
  family: IpFamily | undefined;
  kind: IpsetKind;
  /**
   * The Felix set ID as far as the name carries it (the name is truncated to 31 characters, so for
   * hashed IDs this is a prefix): e.g. `s:4g010_DunYvItGg3dv2Mxna` for `cali40s:4g010_DunYvItGg3dv2Mxna`.
   * Match a computed ID with `computedId.startsWith(idPrefix)`.
   */
  idPrefix?: string;
}

/** Felix truncates set names to this many characters (ipset's own limit is 31). */
export const IPSET_NAME_MAX = 31;

const SPECIAL_IDS: Record<string, IpsetKind> = {
  'all-ipam-pools': 'ipam-pools',
  'network-ip-pools': 'ipam-pools',
  'masq-ipam-pools': 'masq-pools',
  'all-hosts-net': 'all-hosts',
  'all-vxlan-net': 'vxlan-peers',
  'this-host': 'this-host',
};

export function classifyIpset(name: string): IpsetClass {
  const m = /^cali([46])([0t])(.*)$/.exec(name);
  if (m) {
    const family: IpFamily = m[1] === '4' ? 'inet' : 'inet6';
    const id = m[3];
    if (m[2] === 't') return { family, kind: 'temporary', idPrefix: id || undefined };
    const special = SPECIAL_IDS[id];
    if (special) return { family, kind: special, idPrefix: id };
    // Order matters: `svcnoport:` must be tested before `svc:`.
    if (id.startsWith('s:')) return { family, kind: 'selector', idPrefix: id };
    if (id.startsWith('n:')) return { family, kind: 'named-port', idPrefix: id };
    if (id.startsWith('svcnoport:')) return { family, kind: 'service-noport', idPrefix: id };
    if (id.startsWith('svc:')) return { family, kind: 'service', idPrefix: id };
    return { family, kind: 'other-calico', idPrefix: id || undefined };
  }
  // Historic Felix prefixes, still cleaned up by current Felix.
  if (name.startsWith('felix-')) {
    const id = name.slice('felix-'.length);
    if (id === 'all-ipam-pools') return { family: undefined, kind: 'ipam-pools', idPrefix: id };
    if (id === 'masq-ipam-pools') return { family: undefined, kind: 'masq-pools', idPrefix: id };
    return { family: undefined, kind: 'other-calico', idPrefix: id || undefined };
  }
  return { family: undefined, kind: 'non-calico' };
}

// ---------------------------------------------------------------------------------------------
// Addresses. IPv4 as unsigned 32-bit numbers; IPv6 as BigInt (only sets and queries of IPv6 pay).

/** Parses dotted-quad IPv4 (no leading-zero octal forms, no shorthand); -1 when invalid. */
export function parseIPv4(s: string): number {
  const n = s.length;
  if (n < 7 || n > 15) return -1;
  let acc = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0) return -1;
      acc = acc * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
      if (dots > 3) return -1;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && octet === 0) return -1; // leading zero
      octet = octet * 10 + (c - 48);
      if (octet > 255) return -1;
      digits++;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || digits === 0) return -1;
  return acc * 256 + octet;
}

export function formatIPv4(v: number): string {
  return `${(v >>> 24) & 255}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

/** Parses any textual IPv6 form (incl. embedded IPv4 and full/zero-padded) to 8 hextets; undefined when invalid. */
export function parseIPv6Words(s: string): number[] | undefined {
  if (s.length < 2 || s.length > 45) return undefined;
  let text = s;
  let tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (lastColon < 0) return undefined;
  if (text.indexOf('.', lastColon) > 0) {
    const v4 = parseIPv4(text.slice(lastColon + 1));
    if (v4 < 0) return undefined;
    tail = [(v4 >>> 16) & 0xffff, v4 & 0xffff];
    text = text.slice(0, lastColon + 1) + '0'; // placeholder group, replaced below
  }
  const dbl = text.indexOf('::');
  if (dbl >= 0 && text.indexOf('::', dbl + 1) >= 0) return undefined;
  const parseGroups = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    for (const g of part.split(':')) {
      if (g.length === 0 || g.length > 4) return undefined;
      let v = 0;
      for (let i = 0; i < g.length; i++) {
        const c = g.charCodeAt(i);
        const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
        if (d < 0) return undefined;
        v = v * 16 + d;
      }
      out.push(v);
    }
    return out;
  };
  let words: number[];
  if (dbl >= 0) {
    const head = parseGroups(text.slice(0, dbl));
    const rest = parseGroups(text.slice(dbl + 2));
    if (!head || !rest) return undefined;
    if (tail.length) rest.pop();
    const fill = 8 - head.length - rest.length - tail.length;
    if (fill < 1) return undefined;
    words = [...head, ...new Array<number>(fill).fill(0), ...rest, ...tail];
  } else {
    const all = parseGroups(text);
    if (!all) return undefined;
    if (tail.length) all.pop();
    words = [...all, ...tail];
    if (words.length !== 8) return undefined;
  }
  return words.length === 8 ? words : undefined;
}

/**
 * Formats 8 hextets exactly as glibc's inet_ntop does (which is what ipset and conntrack print):
 * lower-case, longest run (≥2) of zero groups compressed (first on ties), and the IPv4-compatible
 * (`::a.b.c.d`) / IPv4-mapped (`::ffff:a.b.c.d`) forms.
 */
export function formatIPv6Words(w: readonly number[]): string {
  let bestBase = -1;
  let bestLen = 0;
  let curBase = -1;
  let curLen = 0;
  for (let i = 0; i < 8; i++) {
    if (w[i] === 0) {
      if (curBase < 0) {
        curBase = i;
        curLen = 1;
      } else curLen++;
      if (curLen > bestLen) {
        bestBase = curBase;
        bestLen = curLen;
      }
    } else {
      curBase = -1;
      curLen = 0;
    }
  }
  if (bestLen < 2) bestBase = -1;
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (bestBase >= 0 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) out += ':';
      continue;
    }
    if (i !== 0) out += ':';
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && w[5] === 0xffff))) {
      out += `${w[6] >>> 8}.${w[6] & 255}.${w[7] >>> 8}.${w[7] & 255}`;
      return out;
    }
    out += w[i].toString(16);
  }
  if (bestBase >= 0 && bestBase + bestLen === 8) out += ':';
  return out;
}

export function ipv6WordsToBigInt(w: readonly number[]): bigint {
  let v = 0n;
  for (let i = 0; i < 8; i++) v = (v << 16n) | BigInt(w[i]);
  return v;
}

export function bigIntToIPv6Words(v: bigint): number[] {
  const w = new Array<number>(8);
  for (let i = 7; i >= 0; i--) {
    w[i] = Number(v & 0xffffn);
    v >>= 16n;
  }
  return w;
}

export interface ParsedAddr {
  family: IpFamily;
  /** IPv4 only: unsigned 32-bit value. */
  v4: number;
  /** IPv6 only. */
  v6: bigint;
  /** Normalised text (inet_ntop form). */
  text: string;
}

/** Parses an IPv4 or IPv6 address (no prefix) and normalises its text; undefined when invalid. */
export function parseAddr(s: string): ParsedAddr | undefined {
  if (s.indexOf(':') < 0) {
    const v4 = parseIPv4(s);
    if (v4 < 0) return undefined;
    return { family: 'inet', v4, v6: 0n, text: formatIPv4(v4) };
  }
  const w = parseIPv6Words(s);
  if (!w) return undefined;
  return { family: 'inet6', v4: 0, v6: ipv6WordsToBigInt(w), text: formatIPv6Words(w) };
}

/** Normalises an address's text (IPv6 to inet_ntop form); returns the input unchanged when it is not an address. */
export function normaliseAddr(s: string): string {
  return parseAddr(s)?.text ?? s;
}

export interface ParsedPrefix extends ParsedAddr {
  prefixLen: number;
  /** True when the address had host bits set below the prefix (the kernel would have masked them). */
  hostBits: boolean;
}

/** `addr` or `addr/len`; the address is masked to the prefix. */
export function parsePrefix(s: string): ParsedPrefix | undefined {
  const slash = s.indexOf('/');
  const a = parseAddr(slash < 0 ? s : s.slice(0, slash));
  if (!a) return undefined;
  const max = a.family === 'inet' ? 32 : 128;
  let len = max;
  if (slash >= 0) {
    const ls = s.slice(slash + 1);
    if (!/^\d{1,3}$/.test(ls)) return undefined;
    len = Number(ls);
    if (len > max) return undefined;
  }
  if (a.family === 'inet') {
    const masked = maskV4(a.v4, len);
    return { ...a, v4: masked, text: formatIPv4(masked), prefixLen: len, hostBits: masked !== a.v4 };
  }
  const masked = maskV6(a.v6, len);
  return {
    ...a,
    v6: masked,
    text: masked === a.v6 ? a.text : formatIPv6Words(bigIntToIPv6Words(masked)),
    prefixLen: len,
    hostBits: masked !== a.v6,
  };
}

export function maskV4(v: number, len: number): number {
  if (len <= 0) return 0;
  if (len >= 32) return v >>> 0;
  return (v & (0xffffffff << (32 - len))) >>> 0;
}

const V6_ALL = (1n << 128n) - 1n;
const V6_MASKS: bigint[] = Array.from({ length: 129 }, (_, len) =>
  len === 0 ? 0n : (V6_ALL << BigInt(128 - len)) & V6_ALL,
);

export function maskV6(v: bigint, len: number): bigint {
  return v & V6_MASKS[len < 0 ? 0 : len > 128 ? 128 : len];
}

// ---------------------------------------------------------------------------------------------
// Protocols and ICMP names (names as printed by ipset 7.17 — derived from the real binary by
// adding `icmp:<type>/<code>` for every type/code and reading the names back).

const PROTO_NUM: Record<string, number> = {
  icmp: 1, igmp: 2, tcp: 6, udp: 17, gre: 47, esp: 50, ah: 51, icmpv6: 58, sctp: 132, udplite: 136,
  'ipv6-icmp': 58, icmp6: 58, ipip: 4, ipencap: 4, dccp: 33,
};
const PROTO_CANON: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmpv6', 132: 'sctp', 136: 'udplite' };

/** Canonical protocol name (tcp, udp, sctp, udplite, icmp, icmpv6, others lower-cased as given). */
export function canonicalProto(p: string | number): string {
  if (typeof p === 'number') return PROTO_CANON[p] ?? String(p);
  const l = p.toLowerCase();
  const n = /^\d+$/.test(l) ? Number(l) : PROTO_NUM[l];
  if (n !== undefined && PROTO_CANON[n]) return PROTO_CANON[n];
  if (n !== undefined && /^\d+$/.test(l)) {
    // Numbers of well-known protocols map to their names so `47` and `gre` compare equal.
    for (const [name, num] of Object.entries(PROTO_NUM)) if (num === n) return name;
  }
  return l;
}

export function protoNumber(p: string): number | undefined {
  const l = p.toLowerCase();
  if (/^\d+$/.test(l)) return Number(l);
  return PROTO_NUM[l];
}

/** Protocols whose ports are part of ipset hash:*,port elements (others are stored with port 0). */
export const PORT_PROTOS: ReadonlySet<string> = new Set(['tcp', 'udp', 'sctp', 'udplite']);

export const ICMP_NAMES: Readonly<Record<string, number>> = {
  'echo-reply': 0x0000, 'network-unreachable': 0x0300, 'host-unreachable': 0x0301,
  'protocol-unreachable': 0x0302, 'port-unreachable': 0x0303, 'fragmentation-needed': 0x0304,
  'source-route-failed': 0x0305, 'network-unknown': 0x0306, 'host-unknown': 0x0307,
  'network-prohibited': 0x0309, 'host-prohibited': 0x030a, 'TOS-network-unreachable': 0x030b,
  'TOS-host-unreachable': 0x030c, 'communication-prohibited': 0x030d,
  'host-precedence-violation': 0x030e, 'precedence-cutoff': 0x030f, 'source-quench': 0x0400,
  'network-redirect': 0x0500, 'host-redirect': 0x0501, 'TOS-network-redirect': 0x0502,
  'TOS-host-redirect': 0x0503, 'echo-request': 0x0800, 'router-advertisement': 0x0900,
  'router-solicitation': 0x0a00, 'ttl-zero-during-transit': 0x0b00,
  'ttl-zero-during-reassembly': 0x0b01, 'ip-header-bad': 0x0c00, 'required-option-missing': 0x0c01,
  'timestamp-request': 0x0d00, 'timestamp-reply': 0x0e00, 'address-mask-request': 0x1100,
  'address-mask-reply': 0x1200,
};

export const ICMPV6_NAMES: Readonly<Record<string, number>> = {
  'no-route': 0x0100, 'communication-prohibited': 0x0101, 'address-unreachable': 0x0103,
  'port-unreachable': 0x0104, 'packet-too-big': 0x0200, 'ttl-zero-during-transit': 0x0300,
  'ttl-zero-during-reassembly': 0x0301, 'bad-header': 0x0400, 'unknown-header-type': 0x0401,
  'unknown-option': 0x0402, 'echo-request': 0x8000, 'echo-reply': 0x8100,
  'router-solicitation': 0x8500, 'router-advertisement': 0x8600,
  'neighbour-solicitation': 0x8700, 'neighbour-advertisement': 0x8800, redirect: 0x8900,
};

/** ipset's encoding of an ICMP type/code as the "port" of a hash:*,port element. */
export function icmpPort(type: number, code: number): number {
  return ((type & 255) << 8) | (code & 255);
}

// ---------------------------------------------------------------------------------------------
// Membership

/**
 * `(ip, proto?, port?)` → member? `undefined` = indeterminate (unmodelled type, or the query lacks
 * what the type needs). Address-only IPv4-capable sets also offer `v4`, the same answer for an
 * address already parsed to its 32-bit value (the engine has it for every packet).
 */
export type IpsetMatcher = ((ip: string, proto?: string, port?: number) => boolean | undefined) & {
  v4?: (v: number) => boolean;
  /**
   * When membership is exactly "the address is in this table with value 1" (an IPv4 set of
   * single addresses, no netmask): the table itself, so a caller can probe it without the calls
   * in between (the engine's set matches are bound by memory, not arithmetic).
   */
  v4exact?: U32Table;
  /**
   * For address-and-port sets (hash:ip,port, hash:net,port): the same answer for an IPv4 address
   * already parsed, a protocol number and a port (ICMP: type << 8 | code), with no string parsed.
   */
  v4port?: (v: number, proto: number, port: number | undefined) => boolean | undefined;
};
/**
 * `undefined` also when the set is not in the dump. `matcher(name)` gives one set's matcher, for
 * callers that test the same set again and again (the rule engine resolves it once per rule).
 */
export type IpsetsMatcher = ((setName: string, ip: string, proto?: string, port?: number) => boolean | undefined) & {
  matcher(setName: string): IpsetMatcher | undefined;
};

/** Longest-prefix table: per prefix length (longest first), masked address → 1 member / 0 nomatch. */
interface LpmTable<K> {
  lens: number[];
  maps: Map<K, number>[];
}

function lpmAdd<K>(byLen: Map<number, Map<K, number>>, len: number, key: K, nomatch: boolean): void {
  let m = byLen.get(len);
  if (!m) byLen.set(len, (m = new Map()));
  m.set(key, nomatch ? 0 : 1);
}

function u32Table(m: Map<number, number>): U32Table {
  const t = new U32Table(m.size);
  for (const [k, v] of m) t.set(k, v);
  return t;
}

function lpmFreeze<K>(byLen: Map<number, Map<K, number>>): LpmTable<K> {
  const lens = [...byLen.keys()].sort((a, b) => b - a);
  return { lens, maps: lens.map((l) => byLen.get(l)!) };
}

function typeDims(type: string): string[] {
  const c = type.indexOf(':');
  return c < 0 ? [] : type.slice(c + 1).split(',');
}

function queryPortKey(proto: string | undefined, port: number | undefined): number | undefined {
  if (proto === undefined) return undefined;
  const num = protoNumber(canonicalProto(proto));
  return num === undefined ? undefined : numericPortKey(num, port);
}

/** The element key of a query by protocol number (the engine's packets carry numbers). */
function numericPortKey(num: number, port: number | undefined): number | undefined {
  // tcp, udp, sctp, udplite (PORT_PROTOS), icmp and icmpv6 need the port; the kernel looks up
  // port-less protocols with port 0.
  if (num === 6 || num === 17 || num === 132 || num === 136 || num === 1 || num === 58) return port === undefined ? undefined : num * 65536 + (port & 0xffff);
  return num * 65536;
}

function memberPortKey(m: IpsetMember): number | undefined {
  if (m.proto === undefined || m.port === undefined) return undefined;
  const num = protoNumber(m.proto);
  if (num === undefined) return undefined;
  return num * 65536 + (m.port & 0xffff);
}

/** Compiles one set into a membership test. list:set needs the other sets: use `compileIpsets`. */
export function compileIpset(set: IpSet, resolve?: (name: string) => IpsetMatcher | undefined): IpsetMatcher {
  const dims = typeDims(set.type);
  const kind = set.type.slice(0, set.type.indexOf(':'));
  const fam = set.family;
  const unknown: IpsetMatcher = () => undefined;

  // Queries of the other family never match; an unparsable query is indeterminate.
  const addrOf = (ip: string): ParsedAddr | null | undefined => {
    const a = parseAddr(ip);
    if (!a) return undefined;
    if (fam && a.family !== fam) return null;
    return a;
  };

  if ((kind === 'hash' || kind === 'bitmap') && dims.length === 1 && (dims[0] === 'ip' || dims[0] === 'net')) {
    const v4 = new Map<number, Map<number, number>>();
    const v6 = new Map<number, Map<bigint, number>>();
    const netmask = set.header.netmask !== undefined ? Number(set.header.netmask) : undefined;
    for (const m of set.members) {
      if (m.ip === undefined) continue;
      const p = parsePrefix(m.ip);
      if (!p) continue;
      if (p.family === 'inet') lpmAdd(v4, p.prefixLen, p.v4, m.nomatch);
      else lpmAdd(v6, p.prefixLen, p.v6, m.nomatch);
    }
    const t4 = lpmFreeze(v4);
    const t6 = lpmFreeze(v6);
    const lens4 = t4.lens;
    const maps4 = t4.maps.map(u32Table);
    // IPv4 fast path: no allocation (the engine asks this for every set match of every packet).
    const testV4 = (v: number): boolean => {
      if (fam === 'inet6') return false;
      const q = netmask !== undefined ? maskV4(v, netmask) : v;
      for (let i = 0; i < lens4.length; i++) {
        const hit = maps4[i].get(maskV4(q, lens4[i]));
        if (hit >= 0) return hit === 1;
      }
      return false;
    };
    const matcher: IpsetMatcher = (ip) => {
      if (ip.indexOf(':') < 0) {
        const v = parseIPv4(ip);
        if (v < 0) return undefined;
        return testV4(v);
      }
      const a = addrOf(ip);
      if (a === undefined) return undefined;
      if (a === null) return false;
      if (a.family === 'inet') {
        return testV4(a.v4);
      }
      const q = netmask !== undefined && fam === 'inet6' ? maskV6(a.v6, netmask) : a.v6;
      for (let i = 0; i < t6.lens.length; i++) {
        const hit = t6.maps[i].get(maskV6(q, t6.lens[i]));
        if (hit !== undefined) return hit === 1;
      }
      return false;
    };
    matcher.v4 = testV4;
    if (fam !== 'inet6' && netmask === undefined && lens4.length === 1 && lens4[0] === 32) matcher.v4exact = maps4[0];
    return matcher;
  }

  if (kind === 'hash' && dims.length === 2 && (dims[0] === 'ip' || dims[0] === 'net') && dims[1] === 'port') {
    // Per prefix length: masked address → (protoNum*65536+port) → 1 member / 0 nomatch.
    const v4 = new Map<number, Map<number, Map<number, number>>>();
    const v6 = new Map<number, Map<bigint, Map<number, number>>>();
    for (const m of set.members) {
      if (m.ip === undefined) continue;
      const p = parsePrefix(m.ip);
      const pk = memberPortKey(m);
      if (!p || pk === undefined) continue;
      if (p.family === 'inet') {
        let byAddr = v4.get(p.prefixLen);
        if (!byAddr) v4.set(p.prefixLen, (byAddr = new Map()));
        let ports = byAddr.get(p.v4);
        if (!ports) byAddr.set(p.v4, (ports = new Map()));
        ports.set(pk, m.nomatch ? 0 : 1);
      } else {
        let byAddr = v6.get(p.prefixLen);
        if (!byAddr) v6.set(p.prefixLen, (byAddr = new Map()));
        let ports = byAddr.get(p.v6);
        if (!ports) byAddr.set(p.v6, (ports = new Map()));
        ports.set(pk, m.nomatch ? 0 : 1);
      }
    }
    const lens4 = [...v4.keys()].sort((a, b) => b - a);
    const maps4 = lens4.map((l) => v4.get(l)!);
    const l6 = [...v6.keys()].sort((a, b) => b - a).map((l) => [l, v6.get(l)!] as const);
    // Longest prefix first, for an IPv4 address and an element's port key.
    const lookupV4 = (v: number, pk: number): boolean => {
      for (let i = 0; i < lens4.length; i++) {
        const hit = maps4[i].get(maskV4(v, lens4[i]))?.get(pk);
        if (hit !== undefined) return hit === 1;
      }
      return false;
    };
    const matcher: IpsetMatcher = (ip, proto, port) => {
      const a = addrOf(ip);
      if (a === undefined) return undefined;
      if (a === null) return false;
      const pk = queryPortKey(proto, port);
      if (pk === undefined) return undefined;
      if (a.family === 'inet') return lookupV4(a.v4, pk);
      for (const [len, byAddr] of l6) {
        const hit = byAddr.get(maskV6(a.v6, len))?.get(pk);
        if (hit !== undefined) return hit === 1;
      }
      return false;
    };
    // IPv4 fast path, as for address-only sets: the engine asks this for Calico's named-port sets.
    matcher.v4port = (v, proto, port) => {
      if (fam === 'inet6') return false;
      const pk = numericPortKey(proto, port);
      return pk === undefined ? undefined : lookupV4(v, pk);
    };
    return matcher;
  }

  if (set.type === 'bitmap:port') {
    const ports = new Set<number>();
    for (const m of set.members) if (m.port !== undefined) ports.add(m.port);
    return (_ip, proto, port) => {
      if (port === undefined) return undefined;
      if (proto !== undefined && !PORT_PROTOS.has(canonicalProto(proto))) return false;
      return ports.has(port);
    };
  }

  if (set.type === 'list:set') {
    const names = set.members.map((m) => m.setName).filter((n): n is string => n !== undefined);
    let resolved: (IpsetMatcher | undefined)[] | undefined;
    return (ip, proto, port) => {
      resolved ??= names.map((n) => resolve?.(n));
      let indeterminate = false;
      for (const f of resolved) {
        const r = f ? f(ip, proto, port) : undefined;
        if (r === true) return true;
        if (r === undefined) indeterminate = true;
      }
      return indeterminate ? undefined : false;
    };
  }

  return unknown;
}

/**
 * Membership over a whole dump (list:set resolved against the other sets). Sets are compiled on
 * first use and cached. `undefined` when the set is absent or membership is indeterminate.
 */
export function compileIpsets(dump: IpsetDump): IpsetsMatcher {
  const cache = new Map<string, IpsetMatcher | undefined>();
  const depth = { n: 0 };
  const get = (name: string): IpsetMatcher | undefined => {
    const hit = cache.get(name);
    if (hit !== undefined || cache.has(name)) return hit;
    const set = dump.sets.get(name);
    if (!set) {
      cache.set(name, undefined);
      return undefined;
    }
    const compiled = compileIpset(set, (n) => {
      const inner = get(n);
      if (!inner) return undefined;
      return (ip, proto, port) => {
        // The kernel forbids list:set inside list:set, but a hand-edited dump may loop: cut it off.
        if (depth.n > 8) return undefined;
        depth.n++;
        try {
          return inner(ip, proto, port);
        } finally {
          depth.n--;
        }
      };
    });
    cache.set(name, compiled);
    return compiled;
  };
  const all = ((setName: string, ip: string, proto?: string, port?: number) => {
    const f = get(setName);
    return f ? f(ip, proto, port) : undefined;
  }) as IpsetsMatcher;
  all.matcher = get;
  return all;
}
