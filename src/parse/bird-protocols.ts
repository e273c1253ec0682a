/**
 * Parser for BIRD `show protocols` and `show protocols all` (calico-formats.md §2), as `birdcl` /
 * `birdc` print it on a terminal or as the control socket sends it (4-digit reply codes, `-` on all
 * but the last line of a reply, continuation lines starting with one space). Also holds the shared
 * reply decoding used by the `show route` parser.
 */
import {
  calicoPeerFromName,
  splitBgpInfo,
  type BirdProtocol,
  type BirdRouteCounts,
} from '../model/bgp.js';
import { IssueSink, type Parsed } from '../model/evidence.js';
import { forEachLine, looksBinary } from './lines.js';

/** BIRD reply lines are short (its control socket caps them at a few KiB); longer lines are not BIRD's. */
const MAX_BIRD_LINE = 64 * 1024;

const RAW_LINE = /^(\d{4})(?:[ -](.*))?$/;

/** Terminal-form texts `birdc`/`birdcl` print instead of a table (client errors and BIRD's error replies). */
const CLIENT_ERRORS = /^(Unable to connect to server control socket|syntax error|Unknown command|Access denied|Permission denied|Server hung up|Error reading from server)/i;
const EMPTY_REPLIES = /^(No protocols match|Network not in table|Protocol is down => cannot dump)/i;

export interface BirdReplyLine {
  /** Text without the control-socket code or continuation space. */
  text: string;
  no: number;
  /** Reply code (`1002`, `1006`, …) in raw form, the previous code for continuation lines; undefined on a terminal. */
  code?: string;
}

/**
 * Walks a BIRD reply in either form. Raw form is recognised by its first non-blank line carrying a
 * code; banners (`0001`, `BIRD … ready.`), the end marker `0000`, and error replies (8xxx/9xxx
 * codes, client errors) are consumed here, the latter as issues.
 */
export function forEachBirdLine(text: string, sink: IssueSink, fn: (l: BirdReplyLine) => void): void {
  let raw: boolean | undefined;
  let lastCode: string | undefined;
  forEachLine(text, (line, no) => {
    if (line.length > MAX_BIRD_LINE) {
      sink.warn(no, `line of ${line.length} characters skipped (not BIRD output)`);
      return;
    }
    if (raw === undefined) {
      if (line.trim() === '') return;
      raw = RAW_LINE.test(line);
    }
    if (raw) {
      const m = RAW_LINE.exec(line);
      let body: string;
      let code: string | undefined;
      if (m) {
        code = m[1];
        body = m[2] ?? '';
        lastCode = code;
        if (code === '0001' || code === '0000') return;
        if (code[0] === '8' || code[0] === '9') {
          sink.error(no, `BIRD replied ${code}: ${body.trim()}`);
          return;
        }
      } else if (line.startsWith(' ')) {
        code = lastCode;
        body = line.slice(1);
        if (code === '0000') code = undefined;
      } else if (line.trim() === '') {
        return;
      } else {
        sink.warn(no, 'line without a BIRD reply code in control-socket output');
        return;
      }
      fn({ text: body, no, code });
      return;
    }
    const t = line.trim();
    if (/^BIRD \S+ ready\.$/.test(t)) return;
    if (CLIENT_ERRORS.test(t)) {
      sink.error(no, `birdc: ${t}`);
      return;
    }
    if (EMPTY_REPLIES.test(t)) {
      sink.warn(no, `BIRD: ${t}`);
      return;
    }
    fn({ text: line, no });
  });
}

const PROTO_STATES = new Set(['up', 'down', 'start', 'stop', 'feed', 'flush']);
const DATE_LIKE = /^(\d{4}-\d{2}-\d{2}|\d{2}-\d{2}-\d{4}|\d{1,2}\.\d{1,2}\.\d{2,4}|[A-Z][a-z]{2}\d{1,2})$/;
const TIME_LIKE = /^\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$/;
const HEADER = /^\s*name\s+proto\s+table\s+state\s+since\s+info\s*$/i;

/** Splits a `show protocols` row; undefined when it is not one. A `since` of date + time is kept whole. */
export function splitProtocolRow(text: string): Omit<BirdProtocol, 'line' | 'raw'> | undefined {
  const tok = text.trim().split(/\s+/);
  if (tok.length < 5 || !PROTO_STATES.has(tok[3])) return undefined;
  let since = tok[4];
  let i = 5;
  // `timeformat protocol iso long` (and BIRD 2's default for old entries) prints "date time":
  // calicoctl shifts the columns here; we keep both words in `since`.
  if (DATE_LIKE.test(tok[4]) && i < tok.length && TIME_LIKE.test(tok[5])) {
    since = `${tok[4]} ${tok[5]}`;
    i = 6;
  }
  const p: Omit<BirdProtocol, 'line' | 'raw'> = {
    name: tok[0],
    proto: tok[1],
    table: tok[2],
    state: tok[3],
    since,
    info: tok.slice(i).join(' '),
  };
  if (p.proto.toUpperCase() === 'BGP') {
    const { bgpState, lastError } = splitBgpInfo(p.info);
    if (bgpState !== undefined) p.bgpState = bgpState;
    if (lastError !== undefined) p.lastError = lastError;
    const peer = calicoPeerFromName(p.name);
    if (peer) p.peer = peer;
  }
  return p;
}

/** `1 imported, 2 filtered, 0 exported, 1 preferred` → counts; undefined if no counts are there. */
export function parseRouteCounts(v: string): BirdRouteCounts | undefined {
  const out: Partial<Record<string, number>> = {};
  let any = false;
  for (const m of v.matchAll(/(\d+)\s+(imported|exported|preferred|filtered)\b/g)) {
    out[m[2]] = Number(m[1]);
    any = true;
  }
  if (!any) return undefined;
  const r: BirdRouteCounts = { imported: out.imported ?? 0, exported: out.exported ?? 0, preferred: out.preferred ?? 0 };
  if (out.filtered !== undefined) r.filtered = out.filtered;
  return r;
}

function applyDetail(p: BirdProtocol, key: string, value: string): void {
  const detail = (p.detail ??= {});
  if (!(key in detail)) detail[key] = value;
  switch (key) {
    case 'BGP state':
      if (value) p.bgpState = value.split(' ')[0];
      break;
    case 'Last error':
      if (value) p.lastError = value;
      break;
    case 'Neighbor address':
      p.neighborAddress ??= value;
      break;
    case 'Neighbor AS': {
      const n = Number(value);
      if (Number.isInteger(n) && p.neighborAs === undefined) p.neighborAs = n;
      break;
    }
    case 'Local AS': {
      const n = Number(value);
      if (Number.isInteger(n) && p.localAs === undefined) p.localAs = n;
      break;
    }
    case 'Routes': {
      const r = parseRouteCounts(value);
      if (r && !p.routes) p.routes = r;
      break;
    }
  }
}

export function parseBirdProtocols(text: string, artifact: string): Parsed<BirdProtocol[]> {
  const sink = new IssueSink(artifact);
  const out: BirdProtocol[] = [];
  if (looksBinary(text)) {
    sink.error(0, 'binary data, not BIRD `show protocols` output');
    return { value: out, issues: sink.finish() };
  }
  let current: BirdProtocol | undefined;
  let channel: string | undefined;
  let sawHeader = false;
  let unrecognised = 0;
  forEachBirdLine(text, sink, ({ text: t, no }) => {
    if (t.trim() === '') {
      current = undefined;
      return;
    }
    if (HEADER.test(t)) {
      sawHeader = true;
      current = undefined;
      return;
    }
    const c0 = t.charCodeAt(0);
    if (c0 === 32 || c0 === 9) {
      if (!current) {
        sink.warn(no, 'detail line outside a protocol block');
        return;
      }
      const ch = /^\s*Channel\s+(\S+)\s*$/.exec(t);
      if (ch) {
        channel = ch[1];
        return;
      }
      const kv = /^\s*([^:]+?):\s*(.*)$/.exec(t);
      if (!kv) {
        sink.warn(no, 'unrecognised line in a protocol detail block');
        return;
      }
      const value = kv[2].trim().replace(/\s+/g, ' ');
      if (channel) (current.detail ??= {})[`${channel}.${kv[1]}`] = value;
      applyDetail(current, kv[1], value);
      return;
    }
    const row = splitProtocolRow(t);
    if (!row) {
      unrecognised++;
      // Keep `current`: a stray line inside a detail block must not orphan the rest of it.
      sink.warn(no, 'not a `show protocols` row (expected: name proto table state since info)');
      return;
    }
    current = { ...row, line: no, raw: t.trimEnd() };
    channel = undefined;
    out.push(current);
  });
  if (out.length === 0 && text.trim() !== '' && (unrecognised > 0 || !sawHeader)) {
    sink.warn(0, 'no BIRD protocol rows found');
  }
  return { value: out, issues: sink.finish() };
}
