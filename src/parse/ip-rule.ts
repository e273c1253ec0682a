/**
 * Parser for `ip rule` / `ip -6 rule` (`PRIO:\t[not] from X [to Y] [selectors] ACTION`) and
 * `ip -j rule` JSON. `from all` becomes an absent `from`; addresses become CIDRs; `lookup 254`
 * becomes `main`. `ip rule` and `ip -6 rule` print alike, so `family` is only set when an address
 * in the rule reveals it.
 */
import { IssueSink, type Parsed } from '../model/evidence.js';
import { normaliseTableName, type Fwmark, type IpRule, type RuleAction } from '../model/iproute.js';
import {
  LineErrors,
  MAX_LINE,
  UnknownKeywords,
  filterJsonKind,
  int,
  num,
  parseCidr,
  precheck,
  scanJsonElements,
  str,
  tokens,
} from './iproute-common.js';
import { forEachLine } from './lines.js';

const ACTION_WORDS = new Set(['blackhole', 'unreachable', 'prohibit']);

function cidrText(addr: string, len?: number): { text: string; family: 4 | 6 } | undefined {
  const c = parseCidr(len === undefined ? addr : `${addr}/${len}`);
  return c ? { text: `${c.address}/${c.prefixLen}`, family: c.family } : undefined;
}

function parseRange(s: string | undefined): { start: number; end: number } | undefined {
  if (s === undefined) return undefined;
  const m = /^(\d{1,10})(?:-(\d{1,10}))?$/.exec(s);
  if (!m) return undefined;
  return { start: Number(m[1]), end: Number(m[2] ?? m[1]) };
}

function parseFwmark(s: string | undefined): Fwmark | undefined {
  if (s === undefined) return undefined;
  const [v, m] = s.split('/');
  const value = int(v);
  if (value === undefined) return undefined;
  if (m === undefined) return { value };
  const mask = int(m);
  if (mask === undefined) return undefined;
  return mask === 0xffffffff ? { value } : { value, mask };
}

function newRule(priority: number, line: number): IpRule {
  return { priority, not: false, action: 'lookup', line };
}

const RULE_HEAD = /^(\d{1,10}):\s*(.*)$/;

function parseText(text: string, sink: IssueSink, out: IpRule[]): void {
  const unknown = new UnknownKeywords();
  const bad = new LineErrors();
  let recognised = 0;
  forEachLine(text, (line, no) => {
    if (line.length > MAX_LINE) {
      bad.add(no, `line of ${line.length} characters is not an ip rule line; skipped`, line.slice(0, 100));
      return;
    }
    const t = line.trim();
    if (t === '') return;
    const m = RULE_HEAD.exec(t.startsWith('Deleted ') ? t.slice(8) : t);
    if (!m) {
      bad.add(no, `not an ip rule line: ${t}`, line);
      return;
    }
    const r = newRule(Number(m[1]), no);
    const toks = tokens(m[2]);
    let sawAction = false;
    const setFamily = (f: 4 | 6) => {
      if (r.family !== undefined && r.family !== f) sink.warn(no, 'rule mixes IPv4 and IPv6 addresses');
      r.family = f;
    };
    for (let i = 0; i < toks.length; ) {
      const k = toks[i];
      const v = toks[i + 1];
      switch (k) {
        case 'not':
          r.not = true;
          i++;
          continue;
        case 'from':
        case 'to': {
          i += 2;
          if (v === undefined) {
            sink.warn(no, `"${k}" without a value`);
            continue;
          }
          if (v === 'all') continue;
          const c = cidrText(v);
          if (!c) {
            sink.warn(no, `bad ${k} address "${v}"`);
            (r.extra ??= []).push(k, v);
            continue;
          }
          setFamily(c.family);
          if (k === 'from') r.from = c.text;
          else r.to = c.text;
          continue;
        }
        case 'tos':
        case 'dsfield':
          r.tos = v;
          i += 2;
          continue;
        case 'fwmark': {
          const f = parseFwmark(v);
          if (!f) sink.warn(no, `bad fwmark "${v}"`);
          else r.fwmark = f;
          i += 2;
          continue;
        }
        case 'iif':
        case 'oif':
          if (k === 'iif') r.iif = v;
          else r.oif = v;
          i += 2;
          if (toks[i] === '[detached]') {
            if (k === 'iif') r.iifDetached = true;
            else r.oifDetached = true;
            i++;
          }
          continue;
        case 'uidrange':
        case 'sport':
        case 'dport': {
          const rg = parseRange(v);
          if (!rg) sink.warn(no, `bad ${k} "${v}"`);
          else if (k === 'uidrange') r.uidrange = rg;
          else if (k === 'sport') r.sport = rg;
          else r.dport = rg;
          i += 2;
          continue;
        }
        case 'ipproto':
          r.ipproto = v;
          i += 2;
          continue;
        case 'tun_id':
          r.tunId = v;
          i += 2;
          continue;
        case 'lookup':
        case 'table':
          sawAction = true;
          if (v === '[l3mdev-table]') r.l3mdev = true;
          else if (v !== undefined) r.table = normaliseTableName(v);
          r.action = 'lookup';
          i += 2;
          continue;
        case 'suppress_prefixlength':
          r.suppressPrefixlen = int(v);
          i += 2;
          continue;
        case 'suppress_ifgroup':
          r.suppressIfgroup = v;
          i += 2;
          continue;
        case 'realms':
          r.realms = v;
          i += 2;
          continue;
        case 'goto':
          sawAction = true;
          r.action = 'goto';
          r.goto = int(v);
          i += 2;
          if (toks[i] === '[unresolved]') {
            r.unresolved = true;
            i++;
          }
          continue;
        case 'nop':
          sawAction = true;
          r.action = 'nop';
          i++;
          continue;
        case 'map-to':
        case 'nat':
          sawAction = true;
          r.action = 'nat';
          (r.extra ??= []).push(k, v ?? '');
          i += 2;
          continue;
        case 'masquerade':
          sawAction = true;
          r.action = 'nat';
          i++;
          continue;
        case 'proto':
        case 'protocol':
          r.protocol = v;
          i += 2;
          continue;
        case 'l3mdev':
          r.l3mdev = true;
          i++;
          continue;
      }
      if (ACTION_WORDS.has(k)) {
        sawAction = true;
        r.action = k as RuleAction;
        i++;
        continue;
      }
      unknown.note(k, no);
      (r.extra ??= []).push(k);
      i++;
    }
    if (!sawAction) sink.warn(no, 'rule without an action (lookup/goto/nop/blackhole/…); read as lookup with no table');
    out.push(r);
    recognised++;
  });
  bad.flush(sink, recognised, '`ip rule`');
  unknown.flush(sink, 'rule');
}

const JSON_KNOWN = new Set([
  'priority',
  'not',
  'src',
  'srclen',
  'dst',
  'dstlen',
  'tos',
  'fwmark',
  'fwmask',
  'iif',
  'iif_detached',
  'oif',
  'oif_detached',
  'l3mdev',
  'uid_start',
  'uid_end',
  'ipproto',
  'sport',
  'sport_start',
  'sport_end',
  'dport',
  'dport_start',
  'dport_end',
  'tun_id',
  'table',
  'suppress_prefixlen',
  'suppress_ifgroup',
  'flow_from',
  'flow_to',
  'nat_gateway',
  'masquerade',
  'goto',
  'unresolved',
  'nop',
  'action',
  'protocol',
  'deleted',
]);

function jsonRange(o: Record<string, unknown>, k: string): { start: number; end: number } | undefined {
  const single = num(o[k]);
  if (single !== undefined) return { start: single, end: single };
  const s = num(o[`${k}_start`]);
  const e = num(o[`${k}_end`]);
  return s !== undefined ? { start: s, end: e ?? s } : undefined;
}

function parseJson(text: string, sink: IssueSink, out: IpRule[]): void {
  const unknown = new UnknownKeywords();
  for (const e of filterJsonKind(scanJsonElements(text, sink), 'rule', sink)) {
    const o = e.value;
    const prio = num(o.priority);
    if (prio === undefined) {
      sink.error(e.line, `element ${e.index}: rule without a priority; skipped`);
      continue;
    }
    const r = newRule(prio, e.line);
    r.objectIndex = e.index;
    r.not = 'not' in o;
    for (const [k, lenKey, set] of [
      ['src', 'srclen', (t: string) => (r.from = t)],
      ['dst', 'dstlen', (t: string) => (r.to = t)],
    ] as const) {
      const a = str(o[k]);
      if (a === undefined || a === 'all') continue;
      const c = cidrText(a, num(o[lenKey]));
      if (!c) {
        sink.warn(e.line, `element ${e.index}: bad ${k} "${a}"`);
        continue;
      }
      r.family = c.family;
      set(c.text);
    }
    if (o.tos !== undefined) r.tos = str(o.tos);
    if (o.fwmark !== undefined) {
      const f = parseFwmark(o.fwmask !== undefined ? `${str(o.fwmark)}/${str(o.fwmask)}` : str(o.fwmark));
      if (f) r.fwmark = f;
      else sink.warn(e.line, `element ${e.index}: bad fwmark`);
    }
    if (o.iif !== undefined) r.iif = str(o.iif);
    if ('iif_detached' in o) r.iifDetached = true;
    if (o.oif !== undefined) r.oif = str(o.oif);
    if ('oif_detached' in o) r.oifDetached = true;
    if ('l3mdev' in o) r.l3mdev = true;
    const uid = num(o.uid_start);
    if (uid !== undefined) r.uidrange = { start: uid, end: num(o.uid_end) ?? uid };
    if (o.ipproto !== undefined) r.ipproto = str(o.ipproto);
    r.sport = jsonRange(o, 'sport');
    r.dport = jsonRange(o, 'dport');
    if (r.sport === undefined) delete r.sport;
    if (r.dport === undefined) delete r.dport;
    if (o.tun_id !== undefined) r.tunId = str(o.tun_id);
    const table = str(o.table);
    if (table !== undefined) r.table = normaliseTableName(table);
    if (o.suppress_prefixlen !== undefined) r.suppressPrefixlen = num(o.suppress_prefixlen);
    if (o.suppress_ifgroup !== undefined) r.suppressIfgroup = str(o.suppress_ifgroup);
    if (o.flow_to !== undefined || o.flow_from !== undefined)
      r.realms = o.flow_from !== undefined ? `${str(o.flow_from)}/${str(o.flow_to)}` : str(o.flow_to);
    if ('goto' in o) {
      r.action = 'goto';
      r.goto = num(o.goto);
      if ('unresolved' in o) r.unresolved = true;
    } else if ('nop' in o) r.action = 'nop';
    else if ('nat_gateway' in o || 'masquerade' in o) r.action = 'nat';
    else if (o.action !== undefined) {
      const a = str(o.action) ?? '';
      if (ACTION_WORDS.has(a)) r.action = a as RuleAction;
      else {
        sink.warn(e.line, `element ${e.index}: unknown rule action "${a}"`);
        (r.extra ??= []).push(`action=${a}`);
      }
    }
    if (o.protocol !== undefined) r.protocol = str(o.protocol);
    for (const k of Object.keys(o)) {
      if (JSON_KNOWN.has(k)) continue;
      unknown.note(k, e.line);
      (r.extra ??= []).push(`${k}=${JSON.stringify(o[k])}`);
    }
    out.push(r);
  }
  unknown.flush(sink, 'rule JSON');
}

/** Parses `ip rule` text or `ip -j rule` JSON (auto-detected). Never throws. */
export function parseIpRule(text: string, artifact: string): Parsed<IpRule[]> {
  const sink = new IssueSink(artifact);
  const out: IpRule[] = [];
  try {
    const form = precheck(text, 'rule', sink);
    if (form === 'json') parseJson(text, sink, out);
    else if (form === 'text') parseText(text, sink, out);
  } catch (e) {
    sink.error(0, `internal error while reading ip rule output: ${(e as Error).message}`);
  }
  return { value: out, issues: sink.finish() };
}
