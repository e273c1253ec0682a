/**
 * Parser for Felix / calico-node logs (calico-formats.md §7). Lenient by design: a log is what the
 * collector got from `kubectl logs` or a file, so each line may carry a CRI prefix
 * (`<RFC3339> stdout F `, with `P` for partial lines that continue on the next), a `--timestamps`
 * prefix, or a `--prefix` `[pod/…/container] ` tag, and the entry itself may be:
 *   - Calico's formatter (lib/logrusr/formatter.go):
 *     `2025-06-09 21:31:09.123 [INFO][84] felix/int_dataplane.go 2585: <message> k=v …`
 *     (older releases omit the `felix/` component);
 *   - its syslog form, optionally behind a syslog header: `INFO endpoint_mgr.go 434: <message> k=v`;
 *   - logrus JSON (`{"level":"info","msg":…,"time":…}`) or logrus text (`time="…" level=info msg="…"`).
 * Anything else (Go stack traces, BIRD or confd lines) is kept as a raw message; only
 * garbage (control characters) is reported.
 */
import {
  felixSyncFromLog,
  type FelixLog,
  type FelixLogEntry,
  type FelixLogEvent,
  type FelixLogLevel,
} from '../model/felix.js';
import { IssueSink, type Parsed } from '../model/evidence.js';
import { forEachLine, looksBinary } from './lines.js';

export { felixSyncFromLog };

/** Felix logs whole iptables-restore inputs in one field; beyond this a line is not a log line. */
const MAX_LINE = 4 * 1024 * 1024;

const RFC3339 = String.raw`\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})`;
const CRI = new RegExp(`^(${RFC3339}) (stdout|stderr) ([FP]) ?(.*)$`);
const TIMESTAMPS = new RegExp(`^(${RFC3339}) (.*)$`);
const KUBECTL_PREFIX = /^\[pod\/[^\]\s]+\] /;
const CALICO = /^(\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?) \[([A-Za-z]+)\]\[(\d+)\] (\S+) (\d+|<nil>): ?(.*)$/;
const SYSLOG_HEADER = /^(?:<\d{1,3}>)?((?:[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2})|\d{4}-\d{2}-\d{2}T\S+) \S+ [^\s:[]+(?:\[\d+\])?: /;
const SYSLOG_BODY = /^(DEBUG|INFO|WARNING|WARN|ERROR|FATAL|PANIC) (\S+\.go|<nil>) (\d+|<nil>): ?(.*)$/;
const LOGRUS_TEXT = /^time="[^"]*" level=[a-z]+ /;

const LEVELS: Record<string, FelixLogLevel> = {
  TRACE: 'DEBUG',
  DEBUG: 'DEBUG',
  INFO: 'INFO',
  WARN: 'WARNING',
  WARNING: 'WARNING',
  ERROR: 'ERROR',
  ERR: 'ERROR',
  FATAL: 'FATAL',
  CRITICAL: 'FATAL',
  PANIC: 'PANIC',
};

export function normalizeLevel(s: string | undefined): FelixLogLevel | undefined {
  return s === undefined ? undefined : LEVELS[s.toUpperCase()];
}

/** Go's strconv.Quote, undone (the escapes Calico's formatter can produce). */
export function unquoteGo(q: string): string {
  let out = '';
  for (let i = 1; i < q.length - 1; i++) {
    const c = q[i];
    if (c !== '\\' || i + 1 >= q.length - 1) {
      out += c;
      continue;
    }
    const e = q[++i];
    switch (e) {
      case 'n':
        out += '\n';
        break;
      case 't':
        out += '\t';
        break;
      case 'r':
        out += '\r';
        break;
      case 'x': {
        const h = q.slice(i + 1, i + 3);
        if (/^[0-9a-fA-F]{2}$/.test(h)) {
          out += String.fromCharCode(parseInt(h, 16));
          i += 2;
        } else out += '\\x';
        break;
      }
      case 'u': {
        const h = q.slice(i + 1, i + 5);
        if (/^[0-9a-fA-F]{4}$/.test(h)) {
          out += String.fromCharCode(parseInt(h, 16));
          i += 4;
        } else out += '\\u';
        break;
      }
      default:
        out += e;
    }
  }
  return out;
}

const KEY_AT = /^[A-Za-z_][A-Za-z0-9_.\-]*=/;

function isKeyStart(s: string, i: number): boolean {
  return (i === 0 || s[i - 1] === ' ') && KEY_AT.test(s.slice(i, i + 128));
}

/** End of a Go-quoted string starting at `i` (index after the closing quote), or -1. */
function quotedEnd(s: string, i: number): number {
  for (let j = i + 1; j < s.length; j++) {
    if (s[j] === '\\') j++;
    else if (s[j] === '"') return j + 1;
  }
  return -1;
}

/**
 * Splits `<message> k=v k="v" …` into message and fields. Fields start at the first ` key=`;
 * a quoted value is read as a Go string, an unquoted one (errors, Stringers, `%#v` structs such as
 * `proto.WorkloadEndpointID{OrchestratorId:"k8s", …}`) runs to the next ` key=` outside braces
 * and quotes.
 */
export function splitMessageFields(text: string): { message: string; fields: Record<string, string> } {
  const fields: Record<string, string> = {};
  let start = -1;
  for (let i = 0; i < text.length; i = text.indexOf(' ', i) + 1 || text.length) {
    if (isKeyStart(text, i)) {
      start = i;
      break;
    }
  }
  if (start < 0) return { message: text.trim(), fields };
  const message = text.slice(0, start).trim();
  let i = start;
  const n = text.length;
  while (i < n) {
    while (i < n && text[i] === ' ') i++;
    if (i >= n) break;
    const km = KEY_AT.exec(text.slice(i, i + 128));
    if (!km) {
      // Not a key: glue the word to the previous value (should not happen with Calico's formatter).
      const sp = text.indexOf(' ', i);
      const word = text.slice(i, sp < 0 ? n : sp);
      const keys = Object.keys(fields);
      if (keys.length > 0) fields[keys[keys.length - 1]] += ` ${word}`;
      i = sp < 0 ? n : sp;
      continue;
    }
    const key = km[0].slice(0, -1);
    i += km[0].length;
    if (text[i] === '"') {
      const end = quotedEnd(text, i);
      if (end > 0 && (end === n || text[end] === ' ')) {
        fields[key] = unquoteGo(text.slice(i, end));
        i = end;
        continue;
      }
    }
    // Unquoted value: up to the next key outside brackets and quotes.
    let depth = 0;
    let j = i;
    let valueEnd = n;
    while (j < n) {
      const c = text[j];
      if (c === '"') {
        const end = quotedEnd(text, j);
        if (end > 0) {
          j = end;
          continue;
        }
      } else if (c === '{' || c === '[' || c === '(') depth++;
      else if ((c === '}' || c === ']' || c === ')') && depth > 0) depth--;
      else if (c === ' ' && depth === 0 && j + 1 < n && isKeyStart(text, j + 1)) {
        valueEnd = j;
        break;
      }
      j++;
    }
    fields[key] = text.slice(i, valueEnd);
    i = valueEnd;
  }
  return { message, fields };
}

interface Rule {
  re: RegExp;
  kind: FelixLogEvent['kind'];
  data?: (m: RegExpExecArray) => Record<string, string>;
}

/** Source strings from Felix / calico-node (calico-formats.md §7 and the files named there). */
const RULES: Rule[] = [
  {
    re: /^Summarising (\d+) (.+?) over (\S+): avg=(\S+) longest=(\S+) \((.*)\)$/,
    kind: 'reconciliation-summary',
    data: (m) => ({ loops: m[1], name: m[2], over: m[3], avg: m[4], longest: m[5], ops: m[6] }),
  },
  { re: /^Felix starting up/, kind: 'starting' },
  { re: /^Connecting to datastore/, kind: 'datastore-connecting' },
  { re: /^Waiting for datastore to be initialized/, kind: 'datastore-waiting' },
  { re: /^Datastore became unready/, kind: 'unready' },
  {
    re: /^(Datastore now in sync|First time we've been in sync|Datamodel in sync|First flush after becoming in sync)/,
    kind: 'in-sync',
  },
  { re: /^Watch has expired, (triggering|queueing) full resync/, kind: 'resync', data: () => ({ reason: 'watch expired' }) },
  { re: /^Watch repeatedly failed without making progress/, kind: 'resync', data: () => ({ reason: 'watch failing' }) },
  { re: /^Timed out waiting for connection to be restored, forcing a resync/, kind: 'resync', data: () => ({ reason: 'connection lost' }) },
  {
    re: /^(Failed to \(re\)connect to datastore|Failed to create datastore client|Failed to get config from datastore|Failed update .*config from datastore|Failed to parse\/validate configuration from datastore|Connection to datastore has failed|Failed to write status to datastore|API server refused connection|Failed to perform list of current data during resync|Failed to load config from datastore)/,
    kind: 'datastore-error',
  },
  {
    re: /(need to restart|Need to restart|Config change requires restart|Managed shutdown failed)/,
    kind: 'restart',
  },
  { re: /^Started internal iptables dataplane driver loop/, kind: 'dataplane-started' },
  { re: /^(Completed first update to dataplane|Interface monitor now in sync)/, kind: 'dataplane-in-sync' },
  {
    re: /^(Failed to execute ip\(6\)tables-restore command|Failed to program (iptables|nftables)|Failed to clean up (iptables|nftables)|\S*ip6?tables(-legacy|-nft)?-save command failed|iptables save failed|iptables-save failed|nftables command failed|Failed to list nftables objects|Failed to synchronize (routing table|routing rules|VXLAN FDB entries|link addr entries)|Failed to load iptables state)/,
    kind: 'dataplane-failure',
  },
  {
    re: /^(Failed to update IP sets|Persistently failed to update IP sets|Failed to resync with dataplane|Failed to (create pipe for|start) ipset restore|Bad return code from '?ipset|Failed to get the list of Calico ipsets)/,
    kind: 'ipset-failure',
  },
  {
    re: /^Received \*?proto\.(\w+) update from calculation graph/,
    kind: 'policy-update',
    data: (m) => ({ msgType: m[1] }),
  },
  {
    re: /Number of node\(s\) with BGP peering established = (\d+)/,
    kind: 'bgp-peers',
    data: (m) => ({ established: m[1] }),
  },
  { re: /BGP not established with (.+?)\s*$/, kind: 'bgp-not-established', data: (m) => ({ peers: m[1] }) },
];

/** Classifies a log message by Felix's own source strings. */
export function classifyFelixMessage(message: string): FelixLogEvent | undefined {
  for (const r of RULES) {
    const m = r.re.exec(message);
    if (!m) continue;
    const ev: FelixLogEvent = { kind: r.kind };
    if (r.data) ev.data = r.data(m);
    if (r.kind === 'policy-update') {
      const t = m[1];
      if (/Endpoint/.test(t)) ev.kind = 'endpoint-update';
      else if (!/Polic|Profile|Tier/.test(t)) return undefined;
    }
    return ev;
  }
  return undefined;
}

function fromJson(obj: Record<string, unknown>, e: FelixLogEntry): void {
  const str = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
  for (const [k, v] of Object.entries(obj)) {
    switch (k) {
      case 'msg':
      case 'message':
        e.message = str(v);
        break;
      case 'level':
      case 'lvl':
      case 'severity': {
        const l = normalizeLevel(str(v));
        if (l) e.level = l;
        else e.fields[k] = str(v);
        break;
      }
      case 'time':
      case 'ts':
      case '@timestamp':
      case 'timestamp':
        e.time ??= str(v);
        break;
      case 'file':
      case 'caller': {
        const cm = /^(?:(.*)\/)?([^/:]+):(\d+)$/.exec(str(v));
        if (cm) {
          e.file = cm[2];
          e.fileLine = Number(cm[3]);
        } else e.fields[k] = str(v);
        break;
      }
      default:
        e.fields[k] = str(v);
    }
  }
}

function controlChars(s: string): number {
  let bad = 0;
  for (let i = 0; i < s.length && i < 4096; i++) {
    const c = s.charCodeAt(i);
    if ((c < 32 && c !== 9) || c === 0x7f || c === 0xfffd) bad++;
  }
  return bad;
}

/** Reads one log line (after any kubectl prefix) into `e`. */
function parseBody(body: string, e: FelixLogEntry): boolean {
  let m = CALICO.exec(body);
  if (m) {
    e.time = m[1];
    const l = normalizeLevel(m[2]);
    if (l) e.level = l;
    e.pid = Number(m[3]);
    const slash = m[4].lastIndexOf('/');
    if (slash > 0) {
      e.component = m[4].slice(0, slash);
      e.file = m[4].slice(slash + 1);
    } else e.file = m[4];
    if (m[5] !== '<nil>') e.fileLine = Number(m[5]);
    const mf = splitCalicoMessage(m[6]);
    e.message = mf.message;
    e.fields = mf.fields;
    return true;
  }
  let rest = body;
  const sh = SYSLOG_HEADER.exec(body);
  if (sh) rest = body.slice(sh[0].length);
  m = SYSLOG_BODY.exec(rest);
  if (m) {
    if (sh) e.time = sh[1];
    e.level = normalizeLevel(m[1]);
    e.file = m[2];
    if (m[3] !== '<nil>') e.fileLine = Number(m[3]);
    const mf = splitCalicoMessage(m[4]);
    e.message = mf.message;
    e.fields = mf.fields;
    return true;
  }
  const t = body.trim();
  if (t.startsWith('{') && t.endsWith('}')) {
    try {
      const obj: unknown = JSON.parse(t);
      if (obj && typeof obj === 'object' && !Array.isArray(obj)) {
        e.message = '';
        fromJson(obj as Record<string, unknown>, e);
        return true;
      }
    } catch {
      // not JSON after all: a raw line
    }
  }
  if (LOGRUS_TEXT.test(t)) {
    const { fields } = splitMessageFields(t);
    e.message = fields.msg ?? '';
    delete fields.msg;
    e.level = normalizeLevel(fields.level);
    delete fields.level;
    e.time = fields.time;
    delete fields.time;
    e.fields = fields;
    return true;
  }
  return false;
}

/** The summariser's message has `avg=`/`longest=` inside it; it carries no fields. */
function splitCalicoMessage(text: string): { message: string; fields: Record<string, string> } {
  if (text.startsWith('Summarising ')) return { message: text.trim(), fields: {} };
  return splitMessageFields(text);
}

export function parseFelixLog(text: string, artifact: string): Parsed<FelixLog> {
  const sink = new IssueSink(artifact);
  const entries: FelixLogEntry[] = [];
  if (looksBinary(text)) {
    sink.error(0, 'binary data, not a log');
    return { value: { entries }, issues: sink.finish() };
  }
  let partial: { line: number; time: string; text: string } | undefined;

  const addEntry = (no: number, body: string, prefixTime: string | undefined) => {
    if (body.trim() === '') return;
    const e: FelixLogEntry = { line: no, message: body, fields: {} };
    if (!parseBody(body, e)) {
      e.message = body.trimEnd();
      if (controlChars(body) > 0) sink.warn(no, 'line contains control characters (garbage?)');
    }
    if (e.time === undefined && prefixTime !== undefined) e.time = prefixTime;
    const ev = classifyFelixMessage(e.message);
    if (ev) e.event = ev;
    entries.push(e);
  };

  forEachLine(text, (line, no) => {
    if (line.length > MAX_LINE) {
      sink.warn(no, `line of ${line.length} characters skipped`);
      return;
    }
    let body = line;
    let prefixTime: string | undefined;
    const kp = KUBECTL_PREFIX.exec(body);
    if (kp) body = body.slice(kp[0].length);
    const cri = CRI.exec(body);
    if (cri) {
      prefixTime = cri[1];
      if (cri[3] === 'P') {
        // CRI splits long lines into partial chunks; the entry starts at the first one.
        if (partial) partial.text += cri[4];
        else partial = { line: no, time: prefixTime, text: cri[4] };
        return;
      }
      if (partial) {
        const p = partial;
        partial = undefined;
        addEntry(p.line, p.text + cri[4], p.time);
        return;
      }
      body = cri[4];
    } else {
      if (partial) {
        sink.warn(partial.line, 'partial CRI log line without its final chunk');
        const p = partial;
        partial = undefined;
        addEntry(p.line, p.text, p.time);
      }
      const ts = TIMESTAMPS.exec(body);
      if (ts) {
        prefixTime = ts[1];
        body = ts[2];
      }
    }
    addEntry(no, body, prefixTime);
  });
  if (partial) {
    const p: { line: number; time: string; text: string } = partial;
    sink.warn(p.line, 'partial CRI log line without its final chunk (truncated log?)');
    addEntry(p.line, p.text, p.time);
  }
  return { value: { entries }, issues: sink.finish() };
}
