/**
 * Conntrack table as read from `conntrack -L` (plain, `-o extended`, `-o id`, `-o ktimestamp`)
 * or `/proc/net/nf_conntrack`, plus NAT classification and a tuple lookup index.
 */
import { normaliseAddr } from './ipset.js';

export type ConntrackFamily = 'ipv4' | 'ipv6';

/** One direction of a connection. Addresses are normalised (IPv6 in inet_ntop form). */
export interface Tuple {
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
  /** ICMP / ICMPv6 type, code, echo id. */
  type?: number;
  code?: number;
  id?: number;
  /** GRE keys (hex as printed, e.g. `0x0`). */
  srckey?: string;
  dstkey?: string;
  /** Present when accounting (`nf_conntrack_acct`) is on. */
  packets?: number;
  bytes?: number;
}

export interface ConntrackEntry {
  /** 1-based line in the artifact. */
  line: number;
  /** The raw line (for evidence). */
  raw: string;
  /** From the `ipv4 2` / `ipv6 10` prefix (extended and /proc formats) or inferred from the addresses. */
  family: ConntrackFamily;
  /** Protocol name as printed: tcp, udp, icmp, icmpv6, sctp, gre, dccp, udplite, unknown. */
  proto: string;
  protoNum: number;
  /** Seconds left before expiry. */
  timeout?: number;
  /** TCP / SCTP / DCCP state, e.g. ESTABLISHED, TIME_WAIT, SYN_SENT, CLOSE, COOKIE_WAIT. */
  state?: string;
  orig: Tuple;
  reply: Tuple;
  assured: boolean;
  unreplied: boolean;
  /** Flow offloaded to the flowtable ([OFFLOAD]) / to hardware ([HW_OFFLOAD]). */
  offload: boolean;
  hwOffload: boolean;
  mark?: number;
  /** `zone=` (both directions), or per-direction `zone-orig=`/`zone-reply=`. */
  zone?: number;
  zoneOrig?: number;
  zoneReply?: number;
  use?: number;
  secctx?: string;
  labels?: string;
  /** Conntrack id (`-o id`). */
  ctId?: number;
  /** Seconds since creation (`delta-time=`, with nf_conntrack_timestamp on). */
  deltaTime?: number;
  helper?: string;
  /** `[start=…]` / `[stop=…]` from `-o ktimestamp`. */
  start?: string;
  stop?: string;
  /** Other `key=value` fields and bracketed flags not modelled above, as printed. */
  extra?: Record<string, string>;
}

export interface ConntrackSummary {
  count: number;
  line: number;
}

export interface ConntrackDump {
  entries: ConntrackEntry[];
  /**
   * Sum of the `N flow entries have been shown.` lines (stderr, often captured into the same
   * file; with `-f ipv4` and `-f ipv6` there are two). Undefined when no summary line was seen.
   */
  summaryCount?: number;
  summaries?: ConntrackSummary[];
  /** Which line format was seen first. */
  format?: 'conntrack' | 'extended' | 'proc';
}

export type NatKind = 'none' | 'dnat' | 'snat' | 'both';

/**
 * What NAT the kernel applied, from the tuples: the reply of an un-NATed flow is the original
 * mirrored. The reply's source differing from the original destination (address or port)
 * means DNAT; the reply's destination differing from the original source means SNAT
 * (MASQUERADE included). For ICMP a changed echo id is source NAT (it plays the source port's role).
 */
export function natKind(e: ConntrackEntry): NatKind {
  const o = e.orig;
  const r = e.reply;
  const dnat = r.src !== o.dst || (o.dport !== undefined && r.sport !== undefined && r.sport !== o.dport);
  let snat = r.dst !== o.src || (o.sport !== undefined && r.dport !== undefined && r.dport !== o.sport);
  if (!snat && o.id !== undefined && r.id !== undefined && o.id !== r.id) snat = true;
  return dnat ? (snat ? 'both' : 'dnat') : snat ? 'snat' : 'none';
}

export type ConntrackDirection = 'original' | 'reply';

export interface ConntrackMatch {
  entry: ConntrackEntry;
  /** Which tuple of the entry the packet matched. */
  direction: ConntrackDirection;
}

export interface ConntrackIndex {
  /**
   * The entry a packet belongs to, matching either tuple. `proto` is a name or number; for
   * port-less protocols the ports are ignored, except that for icmp/icmpv6 `sport`, when given,
   * is compared with the echo id. When several entries match (different zones), the first
   * in dump order is returned; see `findAll`.
   */
  find(proto: string | number, src: string, sport: number | undefined, dst: string, dport: number | undefined): ConntrackMatch | undefined;
  findAll(proto: string | number, src: string, sport: number | undefined, dst: string, dport: number | undefined): ConntrackMatch[];
}

const PROTO_NUMS: Record<string, number> = {
  icmp: 1, igmp: 2, tcp: 6, udp: 17, dccp: 33, gre: 47, esp: 50, ah: 51, icmpv6: 58, 'ipv6-icmp': 58,
  icmp6: 58, sctp: 132, udplite: 136,
};

export function conntrackProtoNumber(p: string | number): number | undefined {
  if (typeof p === 'number') return p;
  const l = p.toLowerCase();
  if (/^\d+$/.test(l)) return Number(l);
  return PROTO_NUMS[l];
}

/** Protocols whose tuples carry ports (sport/dport). */
const PORT_PROTO_NUMS = new Set([6, 17, 33, 132, 136]);

export function hasPorts(protoNum: number): boolean {
  return PORT_PROTO_NUMS.has(protoNum);
}

function hashStr(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h;
}

function tupleHash(protoNum: number, src: string, sport: number, dst: string, dport: number): number {
  let h = Math.imul(2166136261 ^ protoNum, 16777619);
  h = hashStr(h, src);
  h = Math.imul(h ^ sport, 16777619);
  h = hashStr(h ^ 0x2f, dst);
  h = Math.imul(h ^ dport, 16777619);
  return (h ^ (h >>> 15)) >>> 0;
}

/**
 * Builds a lookup index over both tuples of every entry: an open-addressing hash table of
 * (entry index << 1 | direction) in one Int32Array, so a 1,000,000-entry dump costs ~16 MB.
 */
export function indexConntrack(dump: ConntrackDump): ConntrackIndex {
  const entries = dump.entries;
  const n = entries.length * 2;
  let size = 16;
  while (size < n * 2) size *= 2;
  const mask = size - 1;
  const table = new Int32Array(size).fill(-1);
  const keyOf = (e: ConntrackEntry, t: Tuple): number => {
    const ports = hasPorts(e.protoNum);
    return tupleHash(e.protoNum, t.src, ports ? (t.sport ?? 0) : 0, t.dst, ports ? (t.dport ?? 0) : 0);
  };
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    for (let d = 0; d < 2; d++) {
      let slot = keyOf(e, d === 0 ? e.orig : e.reply) & mask;
      while (table[slot] !== -1) slot = (slot + 1) & mask;
      table[slot] = (i << 1) | d;
    }
  }

  const matches = (e: ConntrackEntry, t: Tuple, protoNum: number, src: string, sport: number | undefined, dst: string, dport: number | undefined): boolean => {
    if (e.protoNum !== protoNum || t.src !== src || t.dst !== dst) return false;
    if (hasPorts(protoNum)) return (sport === undefined || t.sport === sport) && (dport === undefined || t.dport === dport);
    if ((protoNum === 1 || protoNum === 58) && sport !== undefined) return t.id === sport;
    return true;
  };

  const lookup = (proto: string | number, src0: string, sport: number | undefined, dst0: string, dport: number | undefined, all: boolean): ConntrackMatch[] => {
    const protoNum = conntrackProtoNumber(proto);
    if (protoNum === undefined) return [];
    // Query addresses may be written differently (e.g. zero-padded IPv6); the dump's are normalised.
    const src = normaliseAddr(src0);
    const dst = normaliseAddr(dst0);
    const out: ConntrackMatch[] = [];
    const ports = hasPorts(protoNum);
    if (ports && (sport === undefined || dport === undefined)) {
      // Wildcard port: the hash cannot help; scan (documented slow path).
      for (const e of entries) {
        for (const [t, direction] of [[e.orig, 'original'], [e.reply, 'reply']] as const) {
          if (matches(e, t, protoNum, src, sport, dst, dport)) {
            out.push({ entry: e, direction });
            if (!all) return out;
          }
        }
      }
      return out;
    }
    let slot = tupleHash(protoNum, src, ports ? sport! : 0, dst, ports ? dport! : 0) & mask;
    while (table[slot] !== -1) {
      const v = table[slot];
      const e = entries[v >> 1];
      const d = v & 1;
      if (matches(e, d === 0 ? e.orig : e.reply, protoNum, src, sport, dst, dport)) {
        out.push({ entry: e, direction: d === 0 ? 'original' : 'reply' });
        if (!all) break;
      }
      slot = (slot + 1) & mask;
    }
    // Slots are probed in table order; report in dump order.
    if (all) out.sort((a, b) => a.entry.line - b.entry.line);
    return out;
  };

  return {
    find: (proto, src, sport, dst, dport) => lookup(proto, src, sport, dst, dport, true)[0],
    findAll: (proto, src, sport, dst, dport) => lookup(proto, src, sport, dst, dport, true),
  };
}

// ---------------------------------------------------------------------------------------------
// `conntrack -S` / `/proc/net/stat/nf_conntrack` / `conntrack -C`

export interface ConntrackCpuStats {
  cpu: number;
  line: number;
  /** Counters as named by the source (`conntrack -S` key, or the /proc column header). */
  counters: Record<string, number>;
}

/** Totals under one naming, whichever source they came from (the /proc columns `icmp_error`, `clashres`, `chainlength` are the kernel's `error`, `clash_resolve`, `chaintoolong`). */
export interface ConntrackStatsSummary {
  found?: number;
  invalid?: number;
  ignore?: number;
  insert?: number;
  insertFailed?: number;
  drop?: number;
  earlyDrop?: number;
  error?: number;
  searchRestart?: number;
  clashResolve?: number;
  chainTooLong?: number;
}

export interface ConntrackStats {
  /** `conntrack-S`: `cpu=N key=value…` rows; `proc-stat`: the hex table of /proc/net/stat/nf_conntrack. */
  format?: 'conntrack-S' | 'proc-stat';
  cpus: ConntrackCpuStats[];
  /** Sum over CPUs, by source name; `entries` (a global count repeated on every row) is not summed. */
  totals: Record<string, number>;
  summary: ConntrackStatsSummary;
  /** `conntrack -C` output, or the global `entries` column. */
  count?: { value: number; line: number };
}
