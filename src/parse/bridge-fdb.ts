/**
 * Parser for `bridge fdb show` (`MAC dev DEV [vlan N] [dst IP] … [self] [master BR] [permanent|static]`)
 * and `bridge -j fdb show` JSON. On a Calico VXLAN node the interesting entries are
 * `<remote VTEP MAC> dev vxlan.calico dst <remote node IP> self permanent`.
 */
import { IssueSink, type Parsed } from '../model/evidence.js';
import type { FdbEntry } from '../model/iproute.js';
import {
  LineErrors,
  MAX_LINE,
  UnknownKeywords,
  filterJsonKind,
  int,
  isMac,
  normaliseAddrText,
  num,
  precheck,
  scanJsonElements,
  str,
  strArray,
  tokens,
} from './iproute-common.js';
import { forEachLine } from './lines.js';

const FLAG_WORDS = new Set(['self', 'router', 'extern_learn', 'offload', 'sticky', 'locked', 'blocked']);
const STATE_WORDS = new Set(['permanent', 'static', 'stale']);

function newEntry(mac: string, line: number): FdbEntry {
  return { mac: mac.toLowerCase(), dev: '', self: false, permanent: false, flags: [], line };
}

function setState(f: FdbEntry, s: string): void {
  if (s === '') return; // reachable (learned) entries print no state
  f.state = s;
  if (s === 'permanent') f.permanent = true;
}

function parseText(text: string, sink: IssueSink, out: FdbEntry[]): void {
  const unknown = new UnknownKeywords();
  const bad = new LineErrors();
  let recognised = 0;
  forEachLine(text, (line, no) => {
    if (line.length > MAX_LINE) {
      bad.add(no, `line of ${line.length} characters is not a bridge fdb line; skipped`, line.slice(0, 100));
      return;
    }
    const toks = tokens(line);
    if (toks.length === 0) return;
    let i = 0;
    if (toks[0] === 'Deleted') i++;
    if (!isMac(toks[i] ?? '')) {
      bad.add(no, `not a bridge fdb line: ${line.trim()}`, line);
      return;
    }
    const f = newEntry(toks[i], no);
    for (i++; i < toks.length; ) {
      const k = toks[i];
      const v = toks[i + 1];
      switch (k) {
        case 'dev':
          f.dev = v ?? '';
          i += 2;
          continue;
        case 'dst':
          f.dst = v === undefined ? undefined : normaliseAddrText(v);
          i += 2;
          continue;
        case 'vlan':
          f.vlan = int(v);
          i += 2;
          continue;
        case 'port':
          f.port = int(v);
          i += 2;
          continue;
        case 'vni':
          f.vni = int(v);
          i += 2;
          continue;
        case 'src_vni':
          f.srcVni = int(v);
          i += 2;
          continue;
        case 'nhid':
          f.nhid = int(v);
          i += 2;
          continue;
        case 'via':
          // `via ifindex N` or `via DEV`
          if (v === 'ifindex') {
            f.via = `if${toks[i + 2] ?? ''}`;
            i += 3;
          } else {
            f.via = v;
            i += 2;
          }
          continue;
        case 'link-netnsid':
        case 'used':
          i += 2;
          continue;
        case 'master':
          // NTF_MASTER prints a bare `master` flag; NDA_MASTER prints `master BR`.
          if (v === undefined || STATE_WORDS.has(v) || FLAG_WORDS.has(v) || v === 'master') {
            if (!f.flags.includes('master')) f.flags.push('master');
            i++;
          } else {
            f.master = v;
            i += 2;
          }
          continue;
      }
      if (FLAG_WORDS.has(k)) {
        if (!f.flags.includes(k)) f.flags.push(k);
        if (k === 'self') f.self = true;
        i++;
        continue;
      }
      if (STATE_WORDS.has(k) || k.startsWith('state=')) {
        setState(f, k);
        i++;
        continue;
      }
      unknown.note(k, no);
      (f.extra ??= []).push(k);
      i++;
    }
    out.push(f);
    recognised++;
  });
  bad.flush(sink, recognised, '`bridge fdb`');
  unknown.flush(sink, 'fdb');
}

const JSON_KNOWN = new Set([
  'mac',
  'ifname',
  'dst',
  'vlan',
  'port',
  'vni',
  'src_vni',
  'viaIfIndex',
  'viaIf',
  'nhid',
  'linkNetNsId',
  'flags',
  'master',
  'state',
  'used',
  'updated',
  'deleted',
]);

function parseJson(text: string, sink: IssueSink, out: FdbEntry[]): void {
  const unknown = new UnknownKeywords();
  for (const e of filterJsonKind(scanJsonElements(text, sink), 'fdb', sink)) {
    const o = e.value;
    const mac = str(o.mac) ?? '';
    if (!isMac(mac)) {
      sink.error(e.line, `element ${e.index}: bad MAC "${mac}"; skipped`);
      continue;
    }
    const f = newEntry(mac, e.line);
    f.objectIndex = e.index;
    f.dev = str(o.ifname) ?? '';
    const dst = str(o.dst);
    if (dst !== undefined) f.dst = normaliseAddrText(dst);
    if (o.vlan !== undefined) f.vlan = num(o.vlan);
    if (o.port !== undefined) f.port = num(o.port);
    if (o.vni !== undefined) f.vni = num(o.vni);
    if (o.src_vni !== undefined) f.srcVni = num(o.src_vni);
    if (o.nhid !== undefined) f.nhid = num(o.nhid);
    if (o.viaIf !== undefined) f.via = str(o.viaIf);
    else if (o.viaIfIndex !== undefined) f.via = `if${str(o.viaIfIndex)}`;
    f.flags = strArray(o.flags);
    f.self = f.flags.includes('self');
    const master = str(o.master);
    if (master !== undefined) f.master = master;
    setState(f, str(o.state) ?? '');
    for (const k of Object.keys(o)) {
      if (JSON_KNOWN.has(k)) continue;
      unknown.note(k, e.line);
      (f.extra ??= []).push(`${k}=${JSON.stringify(o[k])}`);
    }
    out.push(f);
  }
  unknown.flush(sink, 'fdb JSON');
}

/** Parses `bridge fdb show` text or `bridge -j fdb show` JSON (auto-detected). Never throws. */
export function parseBridgeFdb(text: string, artifact: string): Parsed<FdbEntry[]> {
  const sink = new IssueSink(artifact);
  const out: FdbEntry[] = [];
  try {
    const form = precheck(text, 'fdb', sink);
    if (form === 'json') parseJson(text, sink, out);
    else if (form === 'text') parseText(text, sink, out);
  } catch (e) {
    sink.error(0, `internal error while reading bridge fdb output: ${(e as Error).message}`);
  }
  return { value: out, issues: sink.finish() };
}
