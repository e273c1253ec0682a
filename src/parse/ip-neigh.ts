/**
 * Parser for `ip neigh` (`DST dev DEV [lladdr MAC] [router] [proxy] … STATE…`, also
 * `ip neigh show proxy`, `ip neigh show nud all`, `ip -s neigh`) and `ip -j neigh` JSON.
 */
import { IssueSink, type Parsed } from '../model/evidence.js';
import type { IpNeighbor } from '../model/iproute.js';
import {
  LineErrors,
  MAX_LINE,
  UnknownKeywords,
  familyOfAddr,
  filterJsonKind,
  normaliseAddrText,
  precheck,
  scanJsonElements,
  str,
  strArray,
  tokens,
} from './iproute-common.js';
import { forEachLine } from './lines.js';

const STATES = new Set(['PERMANENT', 'REACHABLE', 'STALE', 'DELAY', 'PROBE', 'FAILED', 'INCOMPLETE', 'NOARP', 'NONE']);
/** Flag words without a value. */
const FLAGS = new Set(['router', 'proxy', 'extern_learn', 'offload', 'managed', 'miss', 'ext_validated']);
/** Keywords with one value that are not modelled (statistics with -s). */
const VALUE_WORDS = new Set(['ref', 'used', 'probes', 'nud']);

function newNeighbor(dst: string, family: 4 | 6, line: number): IpNeighbor {
  return { family, dst, dev: '', state: [], router: false, proxy: false, line };
}

function parseText(text: string, sink: IssueSink, out: IpNeighbor[]): void {
  const unknown = new UnknownKeywords();
  const bad = new LineErrors();
  let recognised = 0;
  forEachLine(text, (line, no) => {
    if (line.length > MAX_LINE) {
      bad.add(no, `line of ${line.length} characters is not an ip neigh line; skipped`, line.slice(0, 100));
      return;
    }
    const toks = tokens(line);
    if (toks.length === 0) return;
    let i = 0;
    if (toks[0] === 'Deleted') i++;
    if (toks[i] === 'miss') i++;
    const fam = familyOfAddr(toks[i] ?? '');
    if (fam === undefined) {
      bad.add(no, `not an ip neigh line: ${line.trim()}`, line);
      return;
    }
    const n = newNeighbor(normaliseAddrText(toks[i]), fam, no);
    for (i++; i < toks.length; ) {
      const k = toks[i];
      const v = toks[i + 1];
      if (k === 'dev') {
        n.dev = v ?? '';
        i += 2;
      } else if (k === 'lladdr') {
        n.lladdr = v?.toLowerCase();
        i += 2;
      } else if (k === 'proto' || k === 'protocol') {
        n.protocol = v;
        i += 2;
      } else if (STATES.has(k)) {
        n.state.push(k);
        i++;
      } else if (FLAGS.has(k)) {
        if (k === 'router') n.router = true;
        else if (k === 'proxy') n.proxy = true;
        else if (k === 'extern_learn') n.externLearn = true;
        i++;
      } else if (VALUE_WORDS.has(k)) {
        i += 2;
      } else {
        unknown.note(k, no);
        (n.extra ??= []).push(k);
        i++;
      }
    }
    out.push(n);
    recognised++;
  });
  bad.flush(sink, recognised, '`ip neigh`');
  unknown.flush(sink, 'neighbour');
}

const JSON_KNOWN = new Set([
  'dst',
  'dev',
  'lladdr',
  'state',
  'router',
  'proxy',
  'extern_learn',
  'offload',
  'managed',
  'miss',
  'deleted',
  'protocol',
  'refcnt',
  'used',
  'confirmed',
  'updated',
  'probes',
]);

function parseJson(text: string, sink: IssueSink, out: IpNeighbor[]): void {
  const unknown = new UnknownKeywords();
  for (const e of filterJsonKind(scanJsonElements(text, sink), 'neigh', sink)) {
    const o = e.value;
    const dst = str(o.dst) ?? '';
    const fam = familyOfAddr(dst);
    if (fam === undefined) {
      sink.error(e.line, `element ${e.index}: bad neighbour address "${dst}"; skipped`);
      continue;
    }
    const n = newNeighbor(normaliseAddrText(dst), fam, e.line);
    n.objectIndex = e.index;
    n.dev = str(o.dev) ?? '';
    const ll = str(o.lladdr);
    if (ll !== undefined) n.lladdr = ll.toLowerCase();
    n.state = strArray(o.state);
    // iproute2 prints flags as `"router": null`: presence is the flag.
    n.router = 'router' in o;
    n.proxy = 'proxy' in o;
    if ('extern_learn' in o) n.externLearn = true;
    if (o.protocol !== undefined) n.protocol = str(o.protocol);
    for (const k of Object.keys(o)) {
      if (JSON_KNOWN.has(k)) continue;
      unknown.note(k, e.line);
      (n.extra ??= []).push(`${k}=${JSON.stringify(o[k])}`);
    }
    out.push(n);
  }
  unknown.flush(sink, 'neighbour JSON');
}

/** Parses `ip neigh` text or `ip -j neigh` JSON (auto-detected). Never throws. */
export function parseIpNeigh(text: string, artifact: string): Parsed<IpNeighbor[]> {
  const sink = new IssueSink(artifact);
  const out: IpNeighbor[] = [];
  try {
    const form = precheck(text, 'neigh', sink);
    if (form === 'json') parseJson(text, sink, out);
    else if (form === 'text') parseText(text, sink, out);
  } catch (e) {
    sink.error(0, `internal error while reading ip neigh output: ${(e as Error).message}`);
  }
  return { value: out, issues: sink.finish() };
}
