/**
 * Parser for `ip route` / `ip -6 route` / `ip route show table all` (also `ip -d route`, which
 * prints `unicast` and `proto boot` explicitly) and their `-j` JSON. Multipath routes have their
 * `nexthop …` continuation lines (a tab, then `nexthop`) folded into `nexthops`; `ip -o` output (a
 * `\` instead of the newline) is read too. Several dumps in one file (v4 then v6) are fine: the
 * family is decided per route. See src/model/iproute.ts for the normalisations.
 */
import { IssueSink, type Parsed } from '../model/evidence.js';
import {
  ROUTE_TYPES,
  normaliseTableName,
  type IpFamilyNumber,
  type IpRoute,
  type RouteNexthop,
  type RouteType,
} from '../model/iproute.js';
import {
  LineErrors,
  MAX_LINE,
  UnknownKeywords,
  familyOfAddr,
  filterJsonKind,
  int,
  normaliseAddrText,
  num,
  parseCidr,
  precheck,
  scanJsonElements,
  str,
  strArray,
  tokens,
} from './iproute-common.js';
import { forEachLine } from './lines.js';

const FLAG_WORDS = new Set([
  'onlink',
  'pervasive',
  'offload',
  'trap',
  'notify',
  'linkdown',
  'dead',
  'unresolved',
  'rt_offload',
  'rt_trap',
  'rt_offload_failed',
]);

/** Route metrics (RTA_METRICS) as iproute2 names them; each may be preceded by `lock`. */
const METRIC_WORDS = new Set([
  'mtu',
  'window',
  'rtt',
  'rttvar',
  'ssthresh',
  'cwnd',
  'advmss',
  'reordering',
  'hoplimit',
  'initcwnd',
  'features',
  'rto_min',
  'initrwnd',
  'quickack',
  'congctl',
  'fastopen_no_cookie',
]);

/** Keywords with one value that we keep as text in `attrs` (realms, route-cache info, …). */
const ATTR_WORDS = new Set([
  'realm',
  'realms',
  'uid',
  'iif',
  'mark',
  'users',
  'used',
  'age',
  'ipid',
  'ts',
  'tsage',
  'as',
  'ttl-propagate',
  'ttl-propogate',
  'nh_info',
]);

/** Keywords that end an `encap …` clause (its own arguments vary by type). */
const STOP_ENCAP = new Set([
  'via',
  'dev',
  'table',
  'proto',
  'scope',
  'src',
  'metric',
  'tos',
  'pref',
  'expires',
  'nexthop',
  ...FLAG_WORDS,
  ...METRIC_WORDS,
]);

interface RouteDraft extends IpRoute {
  familyKnown: boolean;
}

function cidrOf(tok: string): { family: IpFamilyNumber; dst: string; prefixLen: number } | undefined {
  const c = parseCidr(tok);
  return c ? { family: c.family, dst: `${c.address}/${c.prefixLen}`, prefixLen: c.prefixLen } : undefined;
}

function metricValue(tok: string): number | string {
  const n = int(tok);
  if (n !== undefined) return n;
  // rtt/rttvar/rto_min print `300ms` or `1.5s`.
  const ms = /^(\d+(?:\.\d+)?)(ms|s)$/.exec(tok);
  if (ms) return ms[2] === 's' ? Number(ms[1]) * 1000 : Number(ms[1]);
  return tok;
}

/**
 * Parses route options from tokens[i…] into `r` (or into a nexthop when `nh` is given).
 * Returns the index where parsing stopped (at an inline `nexthop`, or the end).
 */
function parseOptions(
  toks: string[],
  i: number,
  r: RouteDraft,
  nh: RouteNexthop | undefined,
  lineNo: number,
  unknown: UnknownKeywords,
  errors: string[],
): number {
  const setVia = (v: string | undefined) => {
    if (v === undefined) {
      errors.push('"via" without an address');
      return;
    }
    const fam = familyOfAddr(v);
    if (fam === undefined) errors.push(`bad gateway "${v}"`);
    const text = normaliseAddrText(v);
    if (nh) nh.via = text;
    else r.via = text;
    if (fam && !r.familyKnown) {
      r.family = fam;
      r.familyKnown = true;
    }
  };
  while (i < toks.length) {
    const k = toks[i];
    if (k === '\\') {
      i++;
      continue;
    }
    if (k === 'nexthop') return i;
    const v = toks[i + 1];
    switch (k) {
      case 'via': {
        // `via inet6 fe80::1` (RTA_VIA, gateway of another family)
        if (v === 'inet' || v === 'inet6') {
          setVia(toks[i + 2]);
          i += 3;
        } else {
          setVia(v);
          i += 2;
        }
        continue;
      }
      case 'dev':
        if (nh) nh.dev = v;
        else r.dev = v;
        i += 2;
        continue;
      case 'weight':
        if (nh) nh.weight = int(v);
        else (r.attrs ??= {}).weight = v ?? '';
        i += 2;
        continue;
      case 'table':
        if (v !== undefined) r.table = normaliseTableName(v);
        i += 2;
        continue;
      case 'proto':
      case 'protocol':
        r.protocol = v;
        i += 2;
        continue;
      case 'scope':
        r.scope = v;
        i += 2;
        continue;
      case 'src':
        if (v !== undefined) {
          const fam = familyOfAddr(v);
          if (fam === undefined) errors.push(`bad source address "${v}"`);
          else if (!r.familyKnown) {
            r.family = fam;
            r.familyKnown = true;
          }
          r.src = normaliseAddrText(v);
        }
        i += 2;
        continue;
      case 'from':
        r.from = v;
        i += 2;
        continue;
      case 'metric':
      case 'preference':
      case 'priority':
        r.metric = int(v);
        if (r.metric === undefined) errors.push(`bad metric "${v}"`);
        i += 2;
        continue;
      case 'tos':
      case 'dsfield':
        r.tos = v;
        i += 2;
        continue;
      case 'pref':
        r.pref = v;
        if (!r.familyKnown) {
          r.family = 6; // only IPv6 routes carry a router preference
          r.familyKnown = true;
        }
        i += 2;
        continue;
      case 'expires': {
        const m = v ? /^(-?\d+)(?:sec)?$/.exec(v) : null;
        if (m) r.expires = Number(m[1]);
        i += 2;
        continue;
      }
      case 'error':
        r.error = int(v);
        i += 2;
        continue;
      case 'nhid':
        r.nhid = int(v);
        i += 2;
        continue;
      case 'cache':
        (r.attrs ??= {}).cache = '';
        i++;
        continue;
      case 'encap': {
        let j = i + 1;
        const parts: string[] = [];
        while (j < toks.length && !STOP_ENCAP.has(toks[j])) parts.push(toks[j++]);
        r.encap = parts.join(' ');
        i = j;
        continue;
      }
    }
    if (FLAG_WORDS.has(k)) {
      const flags = nh ? nh.flags : r.flags;
      if (!flags.includes(k)) flags.push(k);
      if (k === 'onlink') {
        if (nh) nh.onlink = true;
        else r.onlink = true;
      }
      if (k === 'linkdown' && !nh) r.linkdown = true;
      i++;
      continue;
    }
    if (METRIC_WORDS.has(k)) {
      let j = i + 1;
      let lock = false;
      if (toks[j] === 'lock') {
        lock = true;
        j++;
      }
      const val = toks[j];
      if (val === undefined) {
        errors.push(`"${k}" without a value`);
        i = j;
        continue;
      }
      if (k === 'mtu') {
        const m = int(val);
        if (m === undefined) errors.push(`bad mtu "${val}"`);
        else r.mtu = m;
        if (lock) r.mtuLock = true;
      } else {
        (r.metrics ??= {})[lock ? `${k} lock` : k] = metricValue(val);
      }
      i = j + 1;
      continue;
    }
    if (ATTR_WORDS.has(k)) {
      (r.attrs ??= {})[k] = v ?? '';
      i += 2;
      continue;
    }
    // Unknown: keep the keyword (and its value, when the next token is not a known keyword).
    unknown.note(k, lineNo);
    (r.extra ??= []).push(k);
    i++;
    const next = toks[i];
    if (next !== undefined && !isKnownWord(next)) {
      r.extra.push(next);
      i++;
    }
  }
  return i;
}

function isKnownWord(t: string): boolean {
  return (
    FLAG_WORDS.has(t) ||
    METRIC_WORDS.has(t) ||
    ATTR_WORDS.has(t) ||
    STOP_ENCAP.has(t) ||
    t === 'nexthop' ||
    t === 'encap' ||
    t === 'error' ||
    t === 'weight' ||
    t === 'nhid' ||
    t === 'from' ||
    t === 'cache'
  );
}

function newDraft(lineNo: number, raw: string): RouteDraft {
  return {
    family: 4,
    familyKnown: false,
    type: 'unicast',
    dst: '',
    prefixLen: 0,
    table: 'main',
    onlink: false,
    linkdown: false,
    flags: [],
    line: lineNo,
    raw,
  };
}

function parseNexthops(
  toks: string[],
  i: number,
  r: RouteDraft,
  lineNo: number,
  unknown: UnknownKeywords,
  errors: string[],
): void {
  while (i < toks.length && toks[i] === 'nexthop') {
    const nh: RouteNexthop = { onlink: false, flags: [], line: lineNo };
    (r.nexthops ??= []).push(nh);
    i = parseOptions(toks, i + 1, r, nh, lineNo, unknown, errors);
  }
}

/** Finishes a route: dst normalisation needs the family, which later tokens may have revealed. */
function finish(r: RouteDraft, dstTok: string): IpRoute {
  if (dstTok === 'default') {
    r.dst = r.family === 4 ? '0.0.0.0/0' : '::/0';
    r.prefixLen = 0;
  }
  const { familyKnown: _, ...route } = r;
  return route;
}

function parseText(text: string, sink: IssueSink, out: IpRoute[]): void {
  const unknown = new UnknownKeywords();
  const bad = new LineErrors();
  let recognised = 0;
  let cur: RouteDraft | undefined;
  let curDst = '';
  const flush = () => {
    if (cur) out.push(finish(cur, curDst));
    cur = undefined;
  };

  const handleLine = (line: string, no: number, continuation: boolean) => {
    const toks = tokens(line);
    if (toks.length === 0) return;
    const errors: string[] = [];
    // Continuation: `\tnexthop via …` under a multipath route, or more options (`    cache`).
    if (continuation || toks[0] === 'nexthop') {
      if (!cur) {
        bad.add(no, `continuation line without a route before it: ${line.trim()}`, line);
        return;
      }
      cur.raw += `\n${line}`;
      if (toks[0] === 'nexthop') parseNexthops(toks, 0, cur, no, unknown, errors);
      else {
        const stop = parseOptions(toks, 0, cur, undefined, no, unknown, errors);
        parseNexthops(toks, stop, cur, no, unknown, errors);
      }
      for (const e of errors) sink.warn(no, e);
      recognised++;
      return;
    }
    let i = 0;
    if (toks[0] === 'Deleted') i++;
    let type: RouteType = 'unicast';
    if (ROUTE_TYPES.has(toks[i]) && toks[i + 1] !== undefined) type = toks[i++] as RouteType;
    const dstTok = toks[i];
    const r = newDraft(no, line);
    r.type = type;
    if (dstTok === 'default') {
      // family decided by what follows
    } else if (/^0\/\d{1,3}$/.test(dstTok ?? '')) {
      // iproute2 prints `0/N` for a zero dst with a length; keep the length, family from context.
      r.prefixLen = Number(dstTok.slice(2));
    } else {
      const c = dstTok === undefined ? undefined : cidrOf(dstTok);
      if (!c) {
        bad.add(no, `not a route: ${line.trim()}`, line);
        return;
      }
      r.family = c.family;
      r.familyKnown = true;
      r.dst = c.dst;
      r.prefixLen = c.prefixLen;
    }
    // Only a readable route ends the previous one: a garbage line between a multipath route and
    // its nexthop lines must not orphan them.
    flush();
    const stop = parseOptions(toks, i + 1, r, undefined, no, unknown, errors);
    parseNexthops(toks, stop, r, no, unknown, errors);
    if (/^0\/\d{1,3}$/.test(dstTok)) r.dst = `${r.family === 4 ? '0.0.0.0' : '::'}/${r.prefixLen}`;
    for (const e of errors) sink.warn(no, e);
    cur = r;
    curDst = dstTok;
    recognised++;
  };

  forEachLine(text, (line, no) => {
    if (line.length > MAX_LINE) {
      bad.add(no, `line of ${line.length} characters is not an ip route line; skipped`, line.slice(0, 100));
      return;
    }
    if (line.trim() === '') return;
    // `ip -o route`: the newline before each `nexthop` printed as `\`.
    const parts = line.includes('\\') ? line.split(/\s\\\s*(?=nexthop\s)/) : [line];
    for (let p = 0; p < parts.length; p++) {
      const part = parts[p];
      const indented = p > 0 || part.charCodeAt(0) === 9 || part.charCodeAt(0) === 32;
      handleLine(part, no, indented);
    }
  });
  flush();
  bad.flush(sink, recognised, '`ip route`');
  unknown.flush(sink, 'route');
}

function jsonFamily(o: Record<string, unknown>): IpFamilyNumber | undefined {
  for (const k of ['dst', 'gateway', 'prefsrc', 'from']) {
    const v = str(o[k]);
    if (v && v !== 'default') {
      const f = familyOfAddr(v.split('/')[0]);
      if (f) return f;
    }
  }
  const via = o.via as Record<string, unknown> | undefined;
  if (via && typeof via === 'object') {
    const fam = str(via.family);
    if (fam === 'inet') return 4;
    if (fam === 'inet6') return 6;
  }
  if (Array.isArray(o.nexthops)) {
    for (const nh of o.nexthops) {
      const g = nh && typeof nh === 'object' ? str((nh as Record<string, unknown>).gateway) : undefined;
      const f = g ? familyOfAddr(g) : undefined;
      if (f) return f;
    }
  }
  if ('pref' in o) return 6;
  return undefined;
}

function jsonGateway(o: Record<string, unknown>): string | undefined {
  const g = str(o.gateway);
  if (g) return normaliseAddrText(g);
  const via = o.via as Record<string, unknown> | undefined;
  if (via && typeof via === 'object') {
    const h = str(via.host);
    if (h) return normaliseAddrText(h);
  }
  return undefined;
}

const JSON_KNOWN = new Set([
  'type',
  'dst',
  'from',
  'src',
  'nhid',
  'encap',
  'tos',
  'gateway',
  'via',
  'dev',
  'table',
  'protocol',
  'scope',
  'prefsrc',
  'metric',
  'flags',
  'metrics',
  'pref',
  'expires',
  'error',
  'nexthops',
  'deleted',
  'iif',
  'uid',
  'mark',
  'cache',
  'realms',
  'realm',
  'flow_from',
  'flow_to',
  'ttl-propogate',
  'ttl-propagate',
  'nh_info',
  'newdst',
  'users',
  'used',
  'age',
  'ipid',
  'ts',
  'tsage',
]);

function parseJson(text: string, sink: IssueSink, out: IpRoute[]): void {
  const unknown = new UnknownKeywords();
  const elements = filterJsonKind(scanJsonElements(text, sink), 'route', sink);
  for (const e of elements) {
    const o = e.value;
    const r = newDraft(e.line, text.slice(e.start, e.end));
    r.objectIndex = e.index;
    const fam = jsonFamily(o);
    r.family = fam ?? 4;
    r.familyKnown = fam !== undefined;
    const type = str(o.type);
    if (type !== undefined) {
      if (ROUTE_TYPES.has(type)) r.type = type as RouteType;
      else {
        sink.warn(e.line, `element ${e.index}: unknown route type "${type}"; read as unicast`);
        (r.extra ??= []).push(`type=${type}`);
      }
    }
    const dst = str(o.dst) ?? '';
    if (dst === 'default') {
      r.dst = r.family === 4 ? '0.0.0.0/0' : '::/0';
    } else {
      const c = cidrOf(dst);
      if (!c) {
        sink.error(e.line, `element ${e.index}: bad route dst "${dst}"; skipped`);
        continue;
      }
      r.dst = c.dst;
      r.prefixLen = c.prefixLen;
      r.family = c.family;
    }
    r.via = jsonGateway(o);
    r.dev = str(o.dev);
    const table = str(o.table);
    if (table !== undefined) r.table = normaliseTableName(table);
    r.protocol = str(o.protocol);
    r.scope = str(o.scope);
    const src = str(o.prefsrc);
    if (src) r.src = normaliseAddrText(src);
    r.metric = num(o.metric);
    r.flags = strArray(o.flags);
    r.onlink = r.flags.includes('onlink');
    r.linkdown = r.flags.includes('linkdown');
    if (o.pref !== undefined) r.pref = str(o.pref);
    if (o.expires !== undefined) r.expires = num(o.expires);
    if (o.error !== undefined) r.error = num(o.error);
    if (o.nhid !== undefined) r.nhid = num(o.nhid);
    if (o.tos !== undefined) r.tos = str(o.tos);
    if (o.from !== undefined) r.from = str(o.from);
    if (o.encap !== undefined) r.encap = typeof o.encap === 'string' ? o.encap : JSON.stringify(o.encap);
    if (Array.isArray(o.metrics)) {
      for (const m of o.metrics) {
        if (!m || typeof m !== 'object') continue;
        for (const [k, v] of Object.entries(m as Record<string, unknown>)) {
          if (k === 'mtu') {
            // `{"mtu": 1400}`; some versions print locked metrics as {"mtu": {"lock": true, "value": N}}
            if (v && typeof v === 'object') {
              const vv = v as Record<string, unknown>;
              r.mtu = num(vv.value);
              if (vv.lock) r.mtuLock = true;
            } else r.mtu = num(v);
          } else {
            const n = num(v);
            (r.metrics ??= {})[k] = n ?? (typeof v === 'string' ? v : JSON.stringify(v));
          }
        }
      }
    }
    if (Array.isArray(o.nexthops)) {
      r.nexthops = [];
      for (const h of o.nexthops) {
        if (!h || typeof h !== 'object') continue;
        const hh = h as Record<string, unknown>;
        const flags = strArray(hh.flags);
        r.nexthops.push({
          via: jsonGateway(hh),
          dev: str(hh.dev),
          weight: num(hh.weight),
          onlink: flags.includes('onlink'),
          flags,
          line: e.line,
        });
      }
    }
    for (const k of Object.keys(o)) {
      if (JSON_KNOWN.has(k)) {
        if (['iif', 'uid', 'mark', 'realms', 'realm', 'flow_from', 'flow_to', 'users', 'used', 'age'].includes(k))
          (r.attrs ??= {})[k] = typeof o[k] === 'object' ? JSON.stringify(o[k]) : String(o[k]);
        continue;
      }
      unknown.note(k, e.line);
      (r.extra ??= []).push(`${k}=${JSON.stringify(o[k])}`);
    }
    out.push(finish(r, dst));
  }
  unknown.flush(sink, 'route JSON');
}

/** Parses `ip route` text or `ip -j route` JSON (auto-detected). Never throws. */
export function parseIpRoute(text: string, artifact: string): Parsed<IpRoute[]> {
  const sink = new IssueSink(artifact);
  const out: IpRoute[] = [];
  try {
    const form = precheck(text, 'route', sink);
    if (form === 'json') parseJson(text, sink, out);
    else if (form === 'text') parseText(text, sink, out);
  } catch (e) {
    // Defensive: a parser bug must not lose the whole artifact.
    sink.error(0, `internal error while reading ip route output: ${(e as Error).message}`);
  }
  return { value: out, issues: sink.finish() };
}
