/**
 * Parser for BIRD `show route` and `show route all` (calico-formats.md §2), terminal or raw
 * control-socket form (`1007-` route lines, `1008-`/`1012-` attribute lines).
 *
 * BIRD 1.6 prints `<prefix> <dest> [<proto> <since>[ from <addr>]][ *] (<pref>[/<igp>])[ [<origin>]]`
 * with `<dest>` one of `via <gw> on <iface>`, `dev <iface>`, `blackhole`, `unreachable`,
 * `prohibit`, `multipath` (next hops on the following `\tvia … weight N` lines). Lines indented
 * with spaces are alternative routes for the prefix above; tab-indented `Key: value` lines are the
 * attributes of the route above (`all`). BIRD 2's `unicast` + next-hop lines are read too.
 */
import type { BirdNextHop, BirdRoute, BirdRouteKind } from '../model/bgp.js';
import { IssueSink, type Parsed } from '../model/evidence.js';
import { forEachBirdLine } from './bird-protocols.js';
import { looksBinary } from './lines.js';

const PREFIX = /^[0-9A-Fa-f:.]+\/\d{1,3}$/;
const DEST_WORD = /^(via|dev|blackhole|unreachable|prohibit|multipath|unicast)\b/;
const ATTR = /^\s*([A-Za-z][\w.]*):(?:\s(.*)|)$/;
const NEXTHOP = /^\s*(?:via\s+(\S+)(?:\s+on\s+(\S+))?|dev\s+(\S+))(?:\s+weight\s+(\d+))?(?:\s+.*)?$/;
const COUNT_LINE = /^\d+ of \d+ routes for \d+ networks$/;

/**
 * Parses what follows the prefix on a route line. Undefined when it is not BIRD's route syntax.
 */
export function parseRouteBody(body: string): Omit<BirdRoute, 'prefix' | 'line' | 'raw'> | undefined {
  let s = body.trim();
  let kind: BirdRouteKind;
  let via: string | undefined;
  let iface: string | undefined;
  let m: RegExpExecArray | null;
  if ((m = /^via\s+(\S+)\s+on\s+(\S+)\s*/.exec(s))) {
    kind = 'via';
    via = m[1];
    iface = m[2];
  } else if ((m = /^via\s+(\S+)\s*/.exec(s))) {
    kind = 'via';
    via = m[1];
  } else if ((m = /^dev\s+(\S+)\s*/.exec(s))) {
    kind = 'dev';
    iface = m[1];
  } else if ((m = /^(blackhole|unreachable|prohibit)\s*/.exec(s))) {
    kind = m[1] as BirdRouteKind;
  } else if ((m = /^(multipath|unicast)\s*/.exec(s))) {
    // Next hops follow on their own lines; `via` until one says `dev`.
    kind = 'via';
  } else return undefined;
  s = s.slice(m[0].length);
  const br = /^\[([^\]]*)\]\s*/.exec(s);
  if (!br) return undefined;
  s = s.slice(br[0].length);
  const inner = br[1].trim();
  const sp = inner.indexOf(' ');
  const protocol = sp < 0 ? inner : inner.slice(0, sp);
  if (protocol === '') return undefined;
  let since = sp < 0 ? '' : inner.slice(sp + 1).trim();
  let from: string | undefined;
  const fm = /(?:^|\s)from\s+(\S+)$/.exec(since);
  if (fm) {
    from = fm[1];
    since = since.slice(0, fm.index).trim();
  }
  let primary = false;
  if (s.startsWith('*')) {
    primary = true;
    s = s.slice(1).trimStart();
  }
  let pref: number | undefined;
  let igpMetric: number | undefined;
  const pm = /^\((\d+)(?:\/(\d+|\?))?\)\s*/.exec(s);
  if (pm) {
    pref = Number(pm[1]);
    if (pm[2] !== undefined && pm[2] !== '?') igpMetric = Number(pm[2]);
    s = s.slice(pm[0].length);
  }
  let origin: string | undefined;
  const om = /^\[([^\]]*)\]\s*/.exec(s);
  if (om) {
    origin = om[1];
    s = s.slice(om[0].length);
  }
  if (s.trim() !== '') return undefined;
  const r: Omit<BirdRoute, 'prefix' | 'line' | 'raw'> = { kind, protocol, primary };
  if (via !== undefined) r.via = via;
  if (iface !== undefined) r.iface = iface;
  if (since !== '') r.since = since;
  if (from !== undefined) r.from = from;
  if (pref !== undefined) r.pref = pref;
  if (igpMetric !== undefined) r.igpMetric = igpMetric;
  if (origin !== undefined) r.origin = origin;
  return r;
}

export function parseBirdRoutes(text: string, artifact: string): Parsed<BirdRoute[]> {
  const sink = new IssueSink(artifact);
  const out: BirdRoute[] = [];
  if (looksBinary(text)) {
    sink.error(0, 'binary data, not BIRD `show route` output');
    return { value: out, issues: sink.finish() };
  }
  let lastPrefix: string | undefined;
  let last: BirdRoute | undefined;
  let unrecognised = 0;
  const bad = (no: number, why: string) => {
    unrecognised++;
    sink.warn(no, why);
  };
  forEachBirdLine(text, sink, ({ text: t, no }) => {
    const trimmed = t.trim();
    if (trimmed === '' || COUNT_LINE.test(trimmed) || /^Table \S+:$/.test(trimmed)) return;
    const c0 = t.charCodeAt(0);
    if (c0 !== 32 && c0 !== 9) {
      const sp = trimmed.search(/\s/);
      const prefix = sp < 0 ? trimmed : trimmed.slice(0, sp);
      if (!PREFIX.test(prefix)) {
        bad(no, 'not a `show route` line (expected a prefix)');
        last = undefined;
        return;
      }
      const body = parseRouteBody(sp < 0 ? '' : trimmed.slice(sp));
      lastPrefix = prefix;
      if (!body) {
        bad(no, 'unrecognised route syntax');
        last = undefined;
        return;
      }
      last = { prefix, ...body, line: no, raw: t.trimEnd() };
      out.push(last);
      return;
    }
    if (DEST_WORD.test(trimmed) && trimmed.includes('[')) {
      if (!lastPrefix) {
        bad(no, 'alternative route before any prefix');
        return;
      }
      const body = parseRouteBody(trimmed);
      if (!body) {
        bad(no, 'unrecognised alternative route syntax');
        last = undefined;
        return;
      }
      last = { prefix: lastPrefix, ...body, alternateOf: lastPrefix, line: no, raw: t.trimEnd() };
      out.push(last);
      return;
    }
    const nh = NEXTHOP.exec(t);
    if (nh) {
      if (!last) {
        bad(no, 'next hop line without a route');
        return;
      }
      const hop: BirdNextHop = {};
      if (nh[1] !== undefined) hop.via = nh[1];
      if ((nh[2] ?? nh[3]) !== undefined) hop.iface = nh[2] ?? nh[3];
      if (nh[4] !== undefined) hop.weight = Number(nh[4]);
      const hops = (last.nexthops ??= []);
      hops.push(hop);
      if (hops.length === 1) {
        if (hop.via === undefined) last.kind = 'dev';
        else last.via = hop.via;
        if (hop.iface !== undefined) last.iface = hop.iface;
      }
      return;
    }
    const attr = ATTR.exec(t);
    if (attr) {
      if (!last) {
        bad(no, 'route attribute without a route');
        return;
      }
      (last.attrs ??= {})[attr[1]] = (attr[2] ?? '').trim();
      return;
    }
    bad(no, 'unrecognised line in `show route` output');
  });
  if (out.length === 0 && unrecognised > 0) sink.warn(0, 'no BIRD routes found');
  return { value: out, issues: sink.finish() };
}
