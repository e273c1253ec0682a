/**
 * Parser for conntrack tables: `conntrack -L` (also `-o extended`, `-o id`, `-o ktimestamp`) and
 * `/proc/net/nf_conntrack` (the `ipv4     2 ` prefix, zero-padded IPv6, `timeout=30, ` extras).
 *
 * Built for 1,000,000-entry tables: one pass over the text with charCode scanning, numbers read
 * in place, only addresses and a few words become strings (addresses are interned, so the many
 * flows of one pod share one string).
 *
 * Line shape: `[ipv4 2] <proto> <protonum> <timeout> [STATE] <orig tuple> [UNREPLIED] <reply
 * tuple> [ASSURED] [OFFLOAD|HW_OFFLOAD] mark=… [secctx=…] [zone=…] [delta-time=…] [[start=…]]
 * use=… [id=…]`. A tuple starts at `src=`; the second `src=` starts the reply tuple. `id=` is the
 * ICMP echo id inside an ICMP tuple and the conntrack id after the tuples.
 */
import { IssueSink, type Parsed } from '../model/evidence.js';
import type { ConntrackDump, ConntrackEntry, ConntrackFamily, Tuple } from '../model/conntrack.js';
import { parseAddr } from '../model/ipset.js';
import { looksBinary } from './lines.js';

const SUMMARY = /(\d+) flow entries have been shown/;

/** Reads a decimal (or 0x hex) number in text[s, e); -1 when not a number. */
function numAt(text: string, s: number, e: number): number {
  if (s >= e) return -1;
  let v = 0;
  if (e - s > 2 && text.charCodeAt(s) === 48 && (text.charCodeAt(s + 1) | 32) === 120) {
    if (e - s > 14) return -1;
    for (let i = s + 2; i < e; i++) {
      const c = text.charCodeAt(i) | 32;
      const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : -1;
      if (d < 0) return -1;
      v = v * 16 + d;
    }
    return v;
  }
  if (e - s > 16) return -1;
  for (let i = s; i < e; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
    v = v * 10 + (c - 48);
  }
  return v;
}

const enum Key {
  None,
  Src,
  Dst,
  Sport,
  Dport,
  Type,
  Code,
  Id,
  Packets,
  Bytes,
  Srckey,
  Dstkey,
  Mark,
  Use,
  Zone,
  ZoneOrig,
  ZoneReply,
  Secctx,
  Labels,
  DeltaTime,
  Helper,
}

/** Identifies `key` in text[s, e) without allocating. */
function keyAt(text: string, s: number, e: number): Key {
  const len = e - s;
  switch (text.charCodeAt(s)) {
    case 115: // s
      if (len === 3 && text.startsWith('src', s)) return Key.Src;
      if (len === 5 && text.startsWith('sport', s)) return Key.Sport;
      if (len === 6 && text.startsWith('srckey', s)) return Key.Srckey;
      if (len === 6 && text.startsWith('secctx', s)) return Key.Secctx;
      return Key.None;
    case 100: // d
      if (len === 3 && text.startsWith('dst', s)) return Key.Dst;
      if (len === 5 && text.startsWith('dport', s)) return Key.Dport;
      if (len === 6 && text.startsWith('dstkey', s)) return Key.Dstkey;
      if (len === 10 && text.startsWith('delta-time', s)) return Key.DeltaTime;
      return Key.None;
    case 112: // p
      return len === 7 && text.startsWith('packets', s) ? Key.Packets : Key.None;
    case 98: // b
      return len === 5 && text.startsWith('bytes', s) ? Key.Bytes : Key.None;
    case 116: // t
      return len === 4 && text.startsWith('type', s) ? Key.Type : Key.None;
    case 99: // c
      return len === 4 && text.startsWith('code', s) ? Key.Code : Key.None;
    case 105: // i
      return len === 2 && text.startsWith('id', s) ? Key.Id : Key.None;
    case 109: // m
      return len === 4 && text.startsWith('mark', s) ? Key.Mark : Key.None;
    case 117: // u
      return len === 3 && text.startsWith('use', s) ? Key.Use : Key.None;
    case 122: // z
      if (len === 4 && text.startsWith('zone', s)) return Key.Zone;
      if (len === 9 && text.startsWith('zone-orig', s)) return Key.ZoneOrig;
      if (len === 10 && text.startsWith('zone-reply', s)) return Key.ZoneReply;
      return Key.None;
    case 108: // l
      return len === 6 && text.startsWith('labels', s) ? Key.Labels : Key.None;
    case 104: // h
      return len === 6 && text.startsWith('helper', s) ? Key.Helper : Key.None;
    default:
      return Key.None;
  }
}

/** Words that occur on most lines: returned as shared constants instead of fresh strings. */
const PROTO_WORDS = ['tcp', 'udp', 'icmp', 'icmpv6', 'sctp', 'gre', 'udplite', 'dccp', 'unknown'];
const STATE_WORDS = [
  'ESTABLISHED', 'TIME_WAIT', 'SYN_SENT', 'SYN_RECV', 'CLOSE_WAIT', 'FIN_WAIT', 'LAST_ACK', 'CLOSE',
  'LISTEN', 'SYN_SENT2', 'NONE', 'CLOSED', 'COOKIE_WAIT', 'COOKIE_ECHOED', 'SHUTDOWN_SENT',
  'SHUTDOWN_RECD', 'SHUTDOWN_ACK_SENT', 'HEARTBEAT_SENT', 'HEARTBEAT_ACKED', 'REQUEST', 'RESPOND',
  'PARTOPEN', 'OPEN', 'CLOSEREQ', 'CLOSING', 'TIMEWAIT', 'IGNORE', 'INVALID',
];

function wordAt(text: string, s: number, e: number, words: readonly string[]): string {
  const len = e - s;
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if (w.length === len && text.startsWith(w, s)) return w;
  }
  return text.slice(s, e);
}

/** True when text[s, e) spells `str` exactly. */
function sameAt(text: string, s: number, e: number, str: string): boolean {
  return str.length === e - s && text.startsWith(str, s);
}

/**
 * Strict dotted-quad IPv4 in text[s, e) (no leading zeros, so the text is the canonical form of
 * the number); -1 otherwise.
 */
function v4At(text: string, s: number, e: number): number {
  const len = e - s;
  if (len < 7 || len > 15) return -1;
  let acc = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = s; i < e; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return -1;
      acc = acc * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && octet === 0) return -1;
      octet = octet * 10 + (c - 48);
      if (octet > 255) return -1;
      digits++;
    } else return -1;
  }
  if (dots !== 3 || digits === 0) return -1;
  return acc * 256 + octet;
}

/** Integer hash finaliser: every input bit affects the low bits used as the slot. */
function mix(k: number): number {
  let h = Math.imul(k ^ (k >>> 16), 0x45d9f3b);
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Open-addressing table uint32 address → its string, so each distinct address is sliced once. */
class V4Intern {
  private keys = new Int32Array(1024);
  private vals: (string | undefined)[] = new Array(1024);
  private size = 0;

  get(n: number, text: string, s: number, e: number): string {
    const k = n | 0;
    let mask = this.keys.length - 1;
    let i = mix(k) & mask;
    for (;;) {
      const v = this.vals[i];
      if (v === undefined) break;
      if (this.keys[i] === k) return v;
      i = (i + 1) & mask;
    }
    const str = text.slice(s, e);
    this.keys[i] = k;
    this.vals[i] = str;
    if (++this.size * 2 > this.keys.length) {
      const oldK = this.keys;
      const oldV = this.vals;
      this.keys = new Int32Array(oldK.length * 2);
      this.vals = new Array(oldK.length * 2);
      mask = this.keys.length - 1;
      for (let j = 0; j < oldK.length; j++) {
        const ov = oldV[j];
        if (ov === undefined) continue;
        let x = mix(oldK[j]) & mask;
        while (this.vals[x] !== undefined) x = (x + 1) & mask;
        this.keys[x] = oldK[j];
        this.vals[x] = ov;
      }
    }
    return str;
  }
}

/** End of the non-blank run starting at s. */
function tokenEnd(text: string, s: number, lineEnd: number): number {
  let i = s;
  while (i < lineEnd) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 9) break;
    i++;
  }
  return i;
}

/** Second result of numTo: where the number ended. */
let scanEnd = 0;

/** Reads decimal digits from s up to a blank or lineEnd; -1 if there are none or a non-digit occurs. */
function numTo(text: string, s: number, lineEnd: number): number {
  let v = 0;
  let i = s;
  while (i < lineEnd) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 9) break;
    if (c < 48 || c > 57 || i - s > 15) return -1;
    v = v * 10 + (c - 48);
    i++;
  }
  scanEnd = i;
  return i === s ? -1 : v;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9;
}

export function parseConntrack(text: string, artifact: string): Parsed<ConntrackDump> {
  const sink = new IssueSink(artifact);
  const dump: ConntrackDump = { entries: [] };
  if (looksBinary(text)) {
    sink.error(0, 'binary content, not a conntrack table');
    return { value: dump, issues: sink.finish() };
  }
  const entries = dump.entries;
  // Interned, validated addresses; null = seen and invalid.
  const addrs = new Map<string, string | null>();
  let unrecognised = 0;

  const v4 = new V4Intern();
  const addr = (s: number, e: number): string | null => {
    // IPv4 (nearly every entry): read the number in place and intern by value, no slicing.
    const n = v4At(text, s, e);
    if (n >= 0) return v4.get(n, text, s, e);
    const raw = text.slice(s, e);
    let v = addrs.get(raw);
    if (v === undefined) {
      v = parseAddr(raw)?.text ?? null;
      addrs.set(raw, v);
    }
    return v;
  };

  const n = text.length;
  let lineStart = 0;
  let lineNo = 0;
  while (lineStart < n) {
    let lineEnd = text.indexOf('\n', lineStart);
    if (lineEnd === -1) lineEnd = n;
    const next = lineEnd + 1;
    if (lineEnd > lineStart && text.charCodeAt(lineEnd - 1) === 13) lineEnd--;
    lineNo++;
    const ls = lineStart;
    lineStart = next;

    let p = ls;
    while (p < lineEnd && isSpace(text.charCodeAt(p))) p++;
    if (p >= lineEnd) continue;

    // Tool messages: the summary (stderr) and errors.
    if (text.startsWith('conntrack v', p)) {
      const line = text.slice(p, lineEnd);
      const m = SUMMARY.exec(line);
      if (m) {
        const count = Number(m[1]);
        (dump.summaries ??= []).push({ count, line: lineNo });
        dump.summaryCount = (dump.summaryCount ?? 0) + count;
      } else sink.warn(lineNo, `conntrack reported: ${line}`);
      continue;
    }
    if (text.startsWith('<?xml', p) || text.startsWith('<flow', p) || text.startsWith('<conntrack', p)) {
      sink.error(lineNo, 'conntrack XML output (-o xml) is not supported; capture `conntrack -L`');
      unrecognised++;
      continue;
    }

    const entry = parseEntry(p, lineEnd, lineNo, ls);
    if (entry) entries.push(entry);
    else unrecognised++;
  }

  if (entries.length === 0 && unrecognised > 0) sink.error(0, 'no conntrack entries recognised (wrong artifact?)');
  if (dump.summaryCount !== undefined && entries.length !== dump.summaryCount) {
    sink.warn(0, `summary says ${dump.summaryCount} flow entries, ${entries.length} were read`);
  }
  return { value: dump, issues: sink.finish() };

  function fail(lineNo: number, ls: number, lineEnd: number, reason: string): undefined {
    sink.error(lineNo, `${reason}: ${text.slice(ls, Math.min(lineEnd, ls + 200))}`);
    return undefined;
  }

  /**
   * Parses `src=A dst=B <proto fields> [packets=N bytes=N]` at `s` when it has exactly that
   * shape, sets e.orig (or e.reply) and returns the end position; -1 (and no change) otherwise.
   */
  function fastTuple(s: number, lineEnd: number, shape: number, e: ConntrackEntry, isOrig: boolean): number {
    const srcS = s + 4;
    const srcE = tokenEnd(text, srcS, lineEnd);
    if (!text.startsWith(' dst=', srcE)) return -1;
    const dstS = srcE + 5;
    let q = tokenEnd(text, dstS, lineEnd);
    let a = -1;
    let b = -1;
    let c = -1;
    let ks = '';
    let kd = '';
    if (shape === 1) {
      if (!text.startsWith(' sport=', q) || (a = numTo(text, q + 7, lineEnd)) < 0) return -1;
      q = scanEnd;
      if (!text.startsWith(' dport=', q) || (b = numTo(text, q + 7, lineEnd)) < 0) return -1;
      q = scanEnd;
    } else if (shape === 2) {
      if (!text.startsWith(' type=', q) || (a = numTo(text, q + 6, lineEnd)) < 0) return -1;
      q = scanEnd;
      if (!text.startsWith(' code=', q) || (b = numTo(text, q + 6, lineEnd)) < 0) return -1;
      q = scanEnd;
      if (!text.startsWith(' id=', q) || (c = numTo(text, q + 4, lineEnd)) < 0) return -1;
      q = scanEnd;
    } else if (shape === 3) {
      if (!text.startsWith(' srckey=', q)) return -1;
      const ke = tokenEnd(text, q + 8, lineEnd);
      ks = text.slice(q + 8, ke);
      if (!text.startsWith(' dstkey=', ke)) return -1;
      q = tokenEnd(text, ke + 8, lineEnd);
      kd = text.slice(ke + 8, q);
    }
    let packets: number | undefined;
    let bytes: number | undefined;
    if (text.startsWith(' packets=', q)) {
      const pk = numTo(text, q + 9, lineEnd);
      if (pk < 0) return -1;
      const q2 = scanEnd;
      if (!text.startsWith(' bytes=', q2)) return -1;
      const by = numTo(text, q2 + 7, lineEnd);
      if (by < 0) return -1;
      packets = pk;
      bytes = by;
      q = scanEnd;
    }
    if (q < lineEnd && !isSpace(text.charCodeAt(q))) return -1;
    // The reply usually mirrors the original: reuse the original's strings without slicing.
    const o = e.orig;
    const src = !isOrig && sameAt(text, srcS, srcE, o.dst) ? o.dst : !isOrig && sameAt(text, srcS, srcE, o.src) ? o.src : addr(srcS, srcE);
    const dstEnd = tokenEnd(text, dstS, lineEnd);
    const dst = !isOrig && sameAt(text, dstS, dstEnd, o.src) ? o.src : addr(dstS, dstEnd);
    if (src === null || dst === null) return -1; // the general path reports the bad address
    const t: Tuple =
      shape === 1
        ? { src, dst, sport: a, dport: b, packets, bytes }
        : shape === 2
          ? { src, dst, type: a, code: b, id: c, packets, bytes }
          : shape === 3
            ? { src, dst, srckey: ks, dstkey: kd, packets, bytes }
            : { src, dst, packets, bytes };
    if (isOrig) e.orig = t;
    else e.reply = t;
    return q;
  }

  function parseEntry(p: number, lineEnd: number, lineNo: number, ls: number): ConntrackEntry | undefined {
    // Token 1: family (extended / proc) or protocol name.
    let s = p;
    while (p < lineEnd && !isSpace(text.charCodeAt(p))) p++;
    let family: ConntrackFamily | undefined;
    let format: 'conntrack' | 'extended' | 'proc' = 'conntrack';
    if (p - s === 4 && (text.startsWith('ipv4', s) || text.startsWith('ipv6', s))) {
      family = text.charCodeAt(s + 3) === 52 ? 'ipv4' : 'ipv6';
      format = 'extended';
      while (p < lineEnd && isSpace(text.charCodeAt(p))) p++;
      s = p;
      while (p < lineEnd && !isSpace(text.charCodeAt(p))) p++;
      const fnum = numAt(text, s, p);
      if (fnum !== (family === 'ipv4' ? 2 : 10)) return fail(lineNo, ls, lineEnd, 'bad address family number');
      while (p < lineEnd && isSpace(text.charCodeAt(p))) p++;
      s = p;
      while (p < lineEnd && !isSpace(text.charCodeAt(p))) p++;
    }
    if (p - s === 0 || p - s > 16) return fail(lineNo, ls, lineEnd, 'not a conntrack entry');
    const proto = wordAt(text, s, p, PROTO_WORDS);
    for (let i = 0; i < proto.length; i++) {
      const c = proto.charCodeAt(i);
      if (!((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 45)) return fail(lineNo, ls, lineEnd, 'not a conntrack entry');
    }
    while (p < lineEnd && isSpace(text.charCodeAt(p))) p++;
    s = p;
    while (p < lineEnd && !isSpace(text.charCodeAt(p))) p++;
    const protoNum = numAt(text, s, p);
    if (protoNum < 0 || protoNum > 255) return fail(lineNo, ls, lineEnd, 'not a conntrack entry (no protocol number)');

    const e: ConntrackEntry = {
      line: lineNo,
      raw: '',
      family: 'ipv4',
      proto,
      protoNum,
      timeout: undefined,
      state: undefined,
      orig: undefined as unknown as Tuple,
      reply: undefined as unknown as Tuple,
      assured: false,
      unreplied: false,
      offload: false,
      hwOffload: false,
      mark: undefined,
      zone: undefined,
      use: undefined,
      deltaTime: undefined,
    };
    // Tuples get all their protocol's fields up front: one fixed object shape, no property
    // backing store (which matters for memory and GC time at a million entries).
    const shape = protoNum === 6 || protoNum === 17 || protoNum === 132 || protoNum === 136 || protoNum === 33 ? 1 : isIcmpNum(protoNum) ? 2 : protoNum === 47 ? 3 : 0;
    const isIcmp = protoNum === 1 || protoNum === 58;
    let tuple: Tuple | undefined;
    let tupleIdx = 0; // 0 none yet, 1 orig, 2 reply
    let closed = false;

    while (p < lineEnd) {
      while (p < lineEnd && isSpace(text.charCodeAt(p))) p++;
      if (p >= lineEnd) break;
      s = p;
      const c0 = text.charCodeAt(s);
      if (c0 === 91) {
        // [FLAG] or [start=… with spaces …]
        const close = text.indexOf(']', s);
        const end = close < 0 || close >= lineEnd ? lineEnd : close;
        p = end + 1;
        if (sameAt(text, s + 1, end, 'ASSURED')) e.assured = true;
        else if (sameAt(text, s + 1, end, 'UNREPLIED')) e.unreplied = true;
        else if (sameAt(text, s + 1, end, 'OFFLOAD')) e.offload = true;
        else if (sameAt(text, s + 1, end, 'HW_OFFLOAD')) e.hwOffload = true;
        else {
          const inner = text.slice(s + 1, end);
          const eq = inner.indexOf('=');
          if (eq > 0 && inner.startsWith('start')) e.start = inner.slice(eq + 1);
          else if (eq > 0 && inner.startsWith('stop')) e.stop = inner.slice(eq + 1);
          else (e.extra ??= {})[eq > 0 ? inner.slice(0, eq) : `[${inner}]`] = eq > 0 ? inner.slice(eq + 1) : '';
        }
        continue;
      }
      if (c0 === 115 && tupleIdx < 2 && text.startsWith('src=', s)) {
        // Fast path for the usual field order of a tuple; anything unusual falls through to the
        // general key=value handling below.
        const end = fastTuple(s, lineEnd, shape, e, tupleIdx === 0);
        if (end >= 0) {
          tupleIdx++;
          tuple = tupleIdx === 1 ? e.orig : e.reply;
          p = end;
          continue;
        }
      }
      while (p < lineEnd && !isSpace(text.charCodeAt(p))) p++;
      let eq = -1;
      for (let i = s; i < p; i++) {
        if (text.charCodeAt(i) === 61) {
          eq = i;
          break;
        }
      }
      if (eq < 0) {
        // Bare words: timeout (number) and state (upper case) before the first tuple.
        if (tupleIdx === 0) {
          const v = numAt(text, s, p);
          if (v >= 0 && e.timeout === undefined && e.state === undefined) {
            e.timeout = v;
            continue;
          }
          if (e.state === undefined && isStateWord(text, s, p)) {
            e.state = wordAt(text, s, p, STATE_WORDS);
            continue;
          }
        }
        (e.extra ??= {})[text.slice(s, p)] = '';
        sink.warn(lineNo, `unexpected token "${text.slice(s, Math.min(p, s + 60))}"`);
        continue;
      }
      const key = keyAt(text, s, eq);
      const vs = eq + 1;
      let ve = p;
      // /proc prints GRE `timeout=30, stream_timeout=180`: drop the trailing comma.
      if (ve > vs && text.charCodeAt(ve - 1) === 44) ve--;

      if (key === Key.Src) {
        if (tupleIdx >= 2) return fail(lineNo, ls, lineEnd, 'more than two tuples');
        tupleIdx++;
        // The reply usually mirrors the original (dst→src at least): reuse its strings unsliced.
        const o = e.orig;
        const a = o !== undefined && sameAt(text, vs, ve, o.dst) ? o.dst : o !== undefined && sameAt(text, vs, ve, o.src) ? o.src : addr(vs, ve);
        if (a === null) return fail(lineNo, ls, lineEnd, `bad address "${text.slice(vs, Math.min(ve, vs + 60))}"`);
        tuple =
          shape === 1
            ? { src: a, dst: '', sport: undefined, dport: undefined, packets: undefined, bytes: undefined }
            : shape === 2
              ? { src: a, dst: '', type: undefined, code: undefined, id: undefined, packets: undefined, bytes: undefined }
              : shape === 3
                ? { src: a, dst: '', srckey: undefined, dstkey: undefined, packets: undefined, bytes: undefined }
                : { src: a, dst: '', packets: undefined, bytes: undefined };
        if (tupleIdx === 1) e.orig = tuple;
        else e.reply = tuple;
        continue;
      }
      if (tuple !== undefined && !closed) {
        let tupleKey = true;
        switch (key) {
          case Key.Dst: {
            const o = e.orig;
            const a = o !== tuple && sameAt(text, vs, ve, o.src) ? o.src : o !== tuple && sameAt(text, vs, ve, o.dst) ? o.dst : addr(vs, ve);
            if (a === null) return fail(lineNo, ls, lineEnd, `bad address "${text.slice(vs, Math.min(ve, vs + 60))}"`);
            tuple.dst = a;
            break;
          }
          case Key.Sport:
          case Key.Dport:
          case Key.Type:
          case Key.Code:
          case Key.Packets:
          case Key.Bytes: {
            const v = numAt(text, vs, ve);
            if (v < 0) return fail(lineNo, ls, lineEnd, `bad number in "${text.slice(s, Math.min(p, s + 60))}"`);
            if (key === Key.Sport) tuple.sport = v;
            else if (key === Key.Dport) tuple.dport = v;
            else if (key === Key.Type) tuple.type = v;
            else if (key === Key.Code) tuple.code = v;
            else if (key === Key.Packets) tuple.packets = v;
            else tuple.bytes = v;
            break;
          }
          case Key.Id:
            if (isIcmp && tuple.id === undefined) {
              const v = numAt(text, vs, ve);
              if (v < 0) return fail(lineNo, ls, lineEnd, `bad number in "${text.slice(s, Math.min(p, s + 60))}"`);
              tuple.id = v;
            } else tupleKey = false;
            break;
          case Key.Srckey:
            tuple.srckey = text.slice(vs, ve);
            break;
          case Key.Dstkey:
            tuple.dstkey = text.slice(vs, ve);
            break;
          default:
            tupleKey = false;
        }
        if (tupleKey) continue;
        // A non-tuple field after the reply tuple ends it (so a later `id=` is the conntrack id).
        if (tupleIdx === 2) closed = true;
      }
      switch (key) {
        case Key.Mark:
        case Key.Use:
        case Key.Zone:
        case Key.ZoneOrig:
        case Key.ZoneReply:
        case Key.DeltaTime:
        case Key.Id: {
          const v = numAt(text, vs, ve);
          if (v < 0) {
            (e.extra ??= {})[text.slice(s, eq)] = text.slice(vs, ve);
            sink.warn(lineNo, `bad number in "${text.slice(s, Math.min(p, s + 60))}"`);
            break;
          }
          if (key === Key.Mark) e.mark = v;
          else if (key === Key.Use) e.use = v;
          else if (key === Key.Zone) e.zone = v;
          else if (key === Key.ZoneOrig) e.zoneOrig = v;
          else if (key === Key.ZoneReply) e.zoneReply = v;
          else if (key === Key.DeltaTime) e.deltaTime = v;
          else e.ctId = v;
          break;
        }
        case Key.Secctx:
          e.secctx = text.slice(vs, ve);
          break;
        case Key.Labels:
          e.labels = text.slice(vs, ve);
          break;
        case Key.Helper:
          e.helper = text.slice(vs, ve);
          break;
        default:
          (e.extra ??= {})[text.slice(s, eq)] = text.slice(vs, ve);
      }
    }

    if (e.orig === undefined || e.reply === undefined || !e.orig.dst || !e.reply.dst) {
      return fail(lineNo, ls, lineEnd, e.orig === undefined ? 'not a conntrack entry (no tuple)' : 'incomplete entry (a tuple lacks src or dst)');
    }
    const v6 = e.orig.src.indexOf(':') >= 0;
    if (family !== undefined && (family === 'ipv6') !== v6) sink.warn(lineNo, `${family} entry with ${v6 ? 'IPv6' : 'IPv4'} addresses`);
    e.family = family ?? (v6 ? 'ipv6' : 'ipv4');
    e.raw = text.slice(ls, lineEnd);
    if (format === 'extended' && dump.format === undefined) {
      // Heuristic: /proc/net/nf_conntrack prints zone= on every entry, conntrack -o extended only
      // for a non-zero zone.
      dump.format = e.zone !== undefined ? 'proc' : 'extended';
    } else dump.format ??= format;
    return e;
  }
}

function isIcmpNum(n: number): boolean {
  return n === 1 || n === 58;
}

/** TCP/SCTP/DCCP state words: upper case letters, digits and `_`. */
function isStateWord(text: string, s: number, e: number): boolean {
  if (e - s > 24) return false;
  for (let i = s; i < e; i++) {
    const c = text.charCodeAt(i);
    if (!((c >= 65 && c <= 90) || c === 95 || (c >= 48 && c <= 57))) return false;
  }
  return true;
}
