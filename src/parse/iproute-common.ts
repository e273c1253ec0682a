/**
 * Shared plumbing for the iproute2 parsers (ip addr/link/route/rule/neigh, bridge fdb):
 * text-vs-JSON detection, a streaming scan of top-level JSON array elements (so truncated `ip -j`
 * output still yields the complete elements before the break, each with the line it starts on),
 * recognition of which iproute2 command printed a text or JSON dump (so the wrong artifact gives
 * one clear issue), and once-per-keyword reporting of unknown keywords.
 */
import type { IssueSink } from '../model/evidence.js';
import type { IpFamilyNumber } from '../model/iproute.js';
import { parseAddr } from '../model/ipset.js';
import { forEachLine, looksBinary } from './lines.js';

export type InputForm = 'json' | 'text' | 'empty' | 'binary';

/** No real iproute2 line comes near this (an `ip -d link` bridge line is ~1.5 KB). */
export const MAX_LINE = 65536;

function firstNonBlank(text: string): number {
  let i = 0;
  const n = text.length;
  if (n > 0 && text.charCodeAt(0) === 0xfeff) i = 1;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 10 && c !== 13) return i;
    i++;
  }
  return -1;
}

/** JSON when the first non-blank character opens an array or object (no text form starts so). */
export function detectForm(text: string): InputForm {
  const i = firstNonBlank(text);
  if (i < 0) return 'empty';
  if (looksBinary(text)) return 'binary';
  const c = text.charCodeAt(i);
  return c === 91 || c === 123 ? 'json' : 'text';
}

// --- JSON -------------------------------------------------------------------------------------

export interface JsonElement {
  value: Record<string, unknown>;
  /** 1-based line of the element's opening brace. */
  line: number;
  /** 0-based index among all top-level elements (across concatenated arrays). */
  index: number;
  /** Offsets of the element's text, for `raw`. */
  start: number;
  end: number;
}

/** After this many unreadable elements with none readable, the input is not iproute2 JSON. */
const JSON_GIVE_UP = 100;

/**
 * Scans `[ {...}, {...} ]` (also several arrays back to back, as when a collector appends
 * `ip -4 -j route` and `ip -6 -j route` to one file, or a bare top-level object) element by
 * element. Each complete element is JSON.parsed on its own, so one bad element or a truncation
 * loses only what is bad. Issues go to `sink`; never throws.
 */
export function scanJsonElements(text: string, sink: IssueSink): JsonElement[] {
  const out: JsonElement[] = [];
  const n = text.length;
  let i = 0;
  let line = 1;
  let index = 0;
  let bad = 0;
  if (n > 0 && text.charCodeAt(0) === 0xfeff) i = 1;

  const skipWs = (): void => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 10) line++;
      else if (c !== 32 && c !== 9 && c !== 13) return;
      i++;
    }
  };

  /** Returns the offset after the value starting at i, or -1 at end of input; counts lines. */
  const scanValue = (): number => {
    let j = i;
    const c0 = text.charCodeAt(j);
    if (c0 !== 123 && c0 !== 91 && c0 !== 34) {
      // A bare literal: up to the next delimiter. A stray `}` where an element should start is
      // consumed on its own, so the scan always advances (a corrupted byte must not loop forever).
      if (c0 === 125) return j + 1;
      while (j < n) {
        const c = text.charCodeAt(j);
        if (c === 44 || c === 93 || c === 125 || c === 32 || c === 9 || c === 10 || c === 13) return Math.max(j, i + 1);
        j++;
      }
      return -1;
    }
    let depth = 0;
    while (j < n) {
      const c = text.charCodeAt(j);
      if (c === 34) {
        j++;
        while (j < n) {
          const d = text.charCodeAt(j);
          if (d === 92) j += 2;
          else if (d === 34) break;
          else {
            if (d === 10) line++;
            j++;
          }
        }
        if (j >= n) return -1;
        j++;
        if (depth === 0) return j;
        continue;
      }
      if (c === 123 || c === 91) depth++;
      else if (c === 125 || c === 93) {
        depth--;
        if (depth === 0) return j + 1;
      } else if (c === 10) line++;
      j++;
    }
    return -1;
  };

  const element = (): boolean => {
    const startLine = line;
    const start = i;
    const end = scanValue();
    if (end < 0) {
      sink.error(
        startLine,
        `JSON is truncated inside element ${index} (which starts here); ${out.length} complete element(s) before it were kept`,
      );
      i = n;
      return false;
    }
    i = end;
    let value: unknown;
    try {
      value = JSON.parse(text.slice(start, end));
    } catch (e) {
      bad++;
      sink.error(startLine, `element ${index} is not valid JSON: ${(e as Error).message}`);
      index++;
      return bad < JSON_GIVE_UP || out.length > 0;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      bad++;
      sink.error(startLine, `element ${index} is not a JSON object`);
    } else {
      out.push({ value: value as Record<string, unknown>, line: startLine, index, start, end });
    }
    index++;
    return bad < JSON_GIVE_UP || out.length > 0;
  };

  for (;;) {
    skipWs();
    if (i >= n) break;
    const c = text.charCodeAt(i);
    if (c === 123) {
      if (!element()) break;
      continue;
    }
    if (c !== 91) {
      sink.error(line, `unexpected text after the JSON: ${text.slice(i, i + 40)}`);
      break;
    }
    const arrayLine = line;
    i++;
    let closed = false;
    let ok = true;
    for (;;) {
      skipWs();
      if (i >= n) break;
      const d = text.charCodeAt(i);
      if (d === 93) {
        i++;
        closed = true;
        break;
      }
      if (d === 44) {
        i++;
        continue;
      }
      if (!(ok = element())) break;
    }
    if (!ok) {
      if (bad >= JSON_GIVE_UP && out.length === 0) sink.error(0, `gave up after ${bad} unreadable JSON elements`);
      break;
    }
    if (!closed) {
      sink.error(
        arrayLine,
        `JSON is truncated: the array opened here never closes; ${out.length} complete element(s) were kept`,
      );
      break;
    }
  }
  return out;
}

// --- What printed this? -------------------------------------------------------------------------

export type IprouteKind = 'link' | 'route' | 'rule' | 'neigh' | 'fdb';

export const KIND_COMMAND: Readonly<Record<IprouteKind, string>> = {
  link: '`ip addr` / `ip link`',
  route: '`ip route`',
  rule: '`ip rule`',
  neigh: '`ip neigh`',
  fdb: '`bridge fdb`',
};

const MAC_RE = /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/i;
const NEIGH_STATES = new Set(['PERMANENT', 'REACHABLE', 'STALE', 'DELAY', 'PROBE', 'FAILED', 'INCOMPLETE', 'NOARP', 'NONE']);
const LINK_HEADER = /^\d+:\s+\S+:\s+</;
const LINK_ONELINE_ADDR = /^\d+:\s+\S+\s+inet6?\s/;
const RULE_LINE = /^\d+:\s+(?:not\s+)?from\s/;

export function isMac(s: string): boolean {
  return MAC_RE.test(s);
}

/** Which iproute2 command printed this text line; undefined when none recognisably did. */
export function classifyTextLine(line: string): IprouteKind | undefined {
  const t = line.trim();
  if (t === '') return undefined;
  if (LINK_HEADER.test(t) || LINK_ONELINE_ADDR.test(t)) return 'link';
  if (RULE_LINE.test(t)) return 'rule';
  const toks = t.split(/\s+/, 40);
  if (isMac(toks[0])) return 'fdb';
  if (toks[0] === 'nexthop') return 'route';
  const last = toks[toks.length - 1];
  const addrLike = parseAddr(toks[0]) !== undefined;
  if (addrLike && toks[1] === 'dev' && (NEIGH_STATES.has(last) || toks.includes('lladdr') || last === 'proxy')) return 'neigh';
  // iproute2 never prints a bare prefix as a route (there is always a dev, via, nexthop or type);
  // a lone address is an ipset member or similar.
  if (toks.length > 1 && (addrLike || toks[0] === 'default' || /^[0-9a-f.:]+\/\d{1,3}$/i.test(toks[0]))) return 'route';
  if (toks.length > 1 && /^(unicast|local|broadcast|blackhole|unreachable|prohibit|throw|multicast|anycast|nat)$/.test(toks[0]))
    return 'route';
  return undefined;
}

/** Which iproute2 command printed this JSON object. */
export function classifyJsonObject(o: Record<string, unknown>): IprouteKind | undefined {
  if ('ifname' in o && 'ifindex' in o) return 'link';
  if ('mac' in o && ('ifname' in o || 'flags' in o || 'state' in o)) return 'fdb';
  if ('priority' in o && ('src' in o || 'table' in o || 'action' in o || 'nop' in o || 'goto' in o)) return 'rule';
  if ('dst' in o && (Array.isArray(o.state) || 'lladdr' in o || 'proxy' in o)) return 'neigh';
  if ('dst' in o && (Array.isArray(o.flags) || 'gateway' in o || 'type' in o || 'protocol' in o)) return 'route';
  return undefined;
}

const OTHER_FORMATS: Array<[RegExp, string]> = [
  [/^(?:create|add)\s+\S+\s+(?:hash|bitmap|list):/, 'ipset save'],
  [/^Name:\s/, 'ipset list'],
  [/^(?:\*(?:filter|nat|mangle|raw|security)|:[A-Z-]+ [A-Z-]+ \[\d+:\d+\]|# Generated by ip6?tables-save)/, 'iptables-save'],
  [/^(?:tcp|udp|icmp|icmpv6|sctp)\s+\d+\s+\d+\s/, 'conntrack -L'],
  [/^ipv[46]\s+\d+\s+\S+\s+\d+\s/, '/proc/net/nf_conntrack'],
  [/^[a-z][a-z0-9_]*(?:[./][\w-]+)+\s*=\s*/, 'sysctl'],
  [/^(?:BIRD|0001 BIRD)\s/, 'BIRD'],
  [/^(?:apiVersion|kind):\s/, 'YAML'],
];

/**
 * If `text` was recognisably printed by another command than `own`, names it. Looks at the first
 * 30 non-blank lines; only says "other" when none of them is `own`'s.
 */
export function sniffWrongText(text: string, own: IprouteKind): string | undefined {
  const counts = new Map<string, number>();
  let seen = 0;
  let ownSeen = false;
  let stop = false;
  forEachLine(text.length > 1 << 20 ? text.slice(0, 1 << 20) : text, (line) => {
    if (stop || line.trim() === '') return;
    if (line.length > MAX_LINE) return;
    if (++seen > 30) {
      stop = true;
      return;
    }
    const k = classifyTextLine(line);
    if (k === own) {
      ownSeen = true;
      stop = true;
      return;
    }
    let other: string | undefined = k ? KIND_COMMAND[k] : undefined;
    if (!other) {
      const t = line.trim();
      for (const [re, name] of OTHER_FORMATS) if (re.test(t)) other = `\`${name}\``;
    }
    if (other) counts.set(other, (counts.get(other) ?? 0) + 1);
  });
  if (ownSeen || counts.size === 0) return undefined;
  return [...counts.entries()].sort((a, b) => b[1] - a[1])[0][0];
}

// --- Text helpers -----------------------------------------------------------------------------

/** Whitespace tokens (spaces, tabs). */
export function tokens(line: string): string[] {
  const t = line.trim();
  return t === '' ? [] : t.split(/[ \t]+/);
}

export interface Cidr {
  family: IpFamilyNumber;
  address: string;
  prefixLen: number;
}

/** `addr` or `addr/len` with a valid address and length; the address text is normalised. */
export function parseCidr(s: string): Cidr | undefined {
  const slash = s.indexOf('/');
  const a = parseAddr(slash < 0 ? s : s.slice(0, slash));
  if (!a) return undefined;
  const family: IpFamilyNumber = a.family === 'inet' ? 4 : 6;
  const max = family === 4 ? 32 : 128;
  let prefixLen = max;
  if (slash >= 0) {
    const l = s.slice(slash + 1);
    if (!/^\d{1,3}$/.test(l) || Number(l) > max) return undefined;
    prefixLen = Number(l);
  }
  return { family, address: a.text, prefixLen };
}

export function familyOfAddr(s: string): IpFamilyNumber | undefined {
  const a = parseAddr(s);
  return a ? (a.family === 'inet' ? 4 : 6) : undefined;
}

export function normaliseAddrText(s: string): string {
  return parseAddr(s)?.text ?? s;
}

/** Non-negative decimal integer token, or undefined. */
export function uint(s: string | undefined): number | undefined {
  if (s === undefined || !/^\d{1,15}$/.test(s)) return undefined;
  return Number(s);
}

/** Decimal, hex (`0x…`) or negative integer. */
export function int(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  if (/^-?\d{1,15}$/.test(s)) return Number(s);
  if (/^0x[0-9a-f]{1,8}$/i.test(s)) return Number.parseInt(s.slice(2), 16);
  return undefined;
}

/**
 * Unknown keywords reported once each (with a count), so a dump from a newer iproute2 with one
 * new keyword on every line gives one warning, not one per line.
 */
export class UnknownKeywords {
  private readonly seen = new Map<string, { line: number; count: number }>();

  note(keyword: string, line: number): void {
    const k = keyword.length > 40 ? `${keyword.slice(0, 40)}…` : keyword;
    const e = this.seen.get(k);
    if (e) e.count++;
    else this.seen.set(k, { line, count: 1 });
  }

  flush(sink: IssueSink, what: string): void {
    for (const [k, e] of this.seen) {
      sink.warn(e.line, `unknown ${what} keyword "${k}"${e.count > 1 ? ` (on ${e.count} lines; first here)` : ''}; kept in extra`);
    }
    this.seen.clear();
  }
}

/**
 * Per-line errors held back until the end: when no line at all could be read, the artifact is not
 * what the parser expects and one line-0 issue says so instead of one per line.
 */
export class LineErrors {
  private readonly held: Array<[number, string]> = [];
  private count = 0;
  private firstText: string | undefined;

  add(line: number, reason: string, text: string): void {
    this.count++;
    if (this.firstText === undefined) this.firstText = text;
    if (this.held.length < 250) this.held.push([line, reason]);
  }

  get size(): number {
    return this.count;
  }

  flush(sink: IssueSink, recognised: number, what: string): void {
    if (this.count === 0) return;
    if (recognised === 0) {
      const first = (this.firstText ?? '').trim();
      sink.error(
        0,
        `not ${what} output: none of its ${this.count} line(s) could be read (first: "${first.length > 80 ? `${first.slice(0, 80)}…` : first}")`,
      );
    } else {
      for (const [l, r] of this.held) sink.error(l, r);
      if (this.count > this.held.length) sink.error(0, `${this.count - this.held.length} more unreadable lines`);
    }
  }
}

/**
 * Common entry: binary/empty/wrong-artifact checks. Returns 'stop' when the parser should return
 * what it has (an issue was recorded), else the form to parse.
 */
export function precheck(text: string, own: IprouteKind, sink: IssueSink): 'json' | 'text' | 'stop' {
  const form = detectForm(text);
  if (form === 'empty') return 'stop';
  if (form === 'binary') {
    sink.error(0, `binary content, not ${KIND_COMMAND[own]} output`);
    return 'stop';
  }
  if (form === 'text') {
    const other = sniffWrongText(text, own);
    if (other) {
      sink.error(0, `this looks like ${other} output, not ${KIND_COMMAND[own]}; nothing was read`);
      return 'stop';
    }
  }
  return form;
}

/**
 * For JSON: keeps the elements that are `own`'s. When none is but they are recognisably another
 * command's, one issue names it; otherwise each foreign element is reported.
 */
export function filterJsonKind(elements: JsonElement[], own: IprouteKind, sink: IssueSink): JsonElement[] {
  const mine: JsonElement[] = [];
  const foreign: Array<[JsonElement, IprouteKind | undefined]> = [];
  for (const e of elements) {
    if (Object.keys(e.value).length === 0) continue; // `ip -4 -j addr` prints {} for filtered-out links
    const k = classifyJsonObject(e.value);
    if (k === own) mine.push(e);
    else foreign.push([e, k]);
  }
  if (foreign.length === 0) return mine;
  if (mine.length === 0) {
    const k = foreign.find(([, k]) => k !== undefined)?.[1];
    const keys = Object.keys(foreign[0][0].value).slice(0, 6).join(', ');
    sink.error(
      0,
      k
        ? `this looks like ${KIND_COMMAND[k]} JSON, not ${KIND_COMMAND[own]}; nothing was read`
        : `JSON objects are not ${KIND_COMMAND[own]} output (element 0 has keys: ${keys})`,
    );
    return mine;
  }
  for (const [e, k] of foreign) {
    sink.error(e.line, `element ${e.index} is not ${KIND_COMMAND[own]} output${k ? ` (looks like ${KIND_COMMAND[k]})` : ''}; skipped`);
  }
  return mine;
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;
}

export function num(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string') return int(v);
  return undefined;
}

/** JSON flags arrays (`["onlink"]`); non-strings dropped. */
export function strArray(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}
