/**
 * Parser for `ipset save` (`create NAME TYPE opts` / `add NAME MEMBER [opts]`) and `ipset list`
 * (`Name:` / `Type:` / … / `Members:` blocks, also `-terse` without members). The format is
 * detected per line, so a file holding both (a collector that ran both commands) is read whole.
 */
import { IssueSink, type Parsed } from '../model/evidence.js';
import {
  ICMPV6_NAMES,
  ICMP_NAMES,
  canonicalProto,
  parsePrefix,
  protoNumber,
  type IpFamily,
  type IpSet,
  type IpsetDump,
  type IpsetFormat,
  type IpsetMember,
} from '../model/ipset.js';
import { forEachLine, looksBinary } from './lines.js';

/** Creation options that take no value. */
const FLAG_OPTIONS = new Set(['comment', 'counters', 'skbinfo', 'forceadd']);

const LIST_KEYS = ['Name:', 'Type:', 'Revision:', 'Header:', 'Size in memory:', 'References:', 'Number of entries:', 'Members:'];

/** Splits on blanks, keeping `"quoted text"` (ipset comments) as one token without the quotes. */
export function tokenizeIpsetLine(line: string): string[] {
  const out: string[] = [];
  const n = line.length;
  let i = 0;
  while (i < n) {
    let c = line.charCodeAt(i);
    if (c === 32 || c === 9) {
      i++;
      continue;
    }
    if (c === 34) {
      let j = i + 1;
      let tok = '';
      while (j < n) {
        c = line.charCodeAt(j);
        if (c === 92 && j + 1 < n) {
          tok += line[j + 1];
          j += 2;
          continue;
        }
        if (c === 34) break;
        tok += line[j];
        j++;
      }
      out.push(tok);
      i = j + 1;
      continue;
    }
    let j = i;
    while (j < n && (c = line.charCodeAt(j)) !== 32 && c !== 9) j++;
    out.push(line.slice(i, j));
    i = j;
  }
  return out;
}

function parseHeader(tokens: string[], start: number): Record<string, string> {
  const h: Record<string, string> = {};
  for (let i = start; i < tokens.length; i++) {
    const k = tokens[i];
    if (FLAG_OPTIONS.has(k) || i + 1 >= tokens.length) h[k] = '';
    else h[k] = tokens[++i];
  }
  return h;
}

function familyOf(type: string, header: Record<string, string>): IpFamily | undefined {
  const f = header.family;
  if (f === 'inet' || f === 'inet6') return f;
  if (f !== undefined) return undefined;
  // ipset's default family for address-carrying hash types is inet; bitmap:ip is IPv4 only.
  if (type === 'bitmap:ip' || type === 'bitmap:ip,mac') return 'inet';
  if (type.startsWith('hash:') && /\b(ip|net)\b/.test(type.slice(5))) return 'inet';
  return undefined;
}

function newSet(name: string, type: string, header: Record<string, string>, line: number, format: IpsetFormat): IpSet {
  return { name, type, family: familyOf(type, header), header, line, members: [], format };
}

const DEC = /^\d+$/;

function parseNum(s: string): number | undefined {
  if (DEC.test(s) && s.length <= 15) return Number(s);
  if (/^0x[0-9a-f]{1,12}$/i.test(s)) return Number.parseInt(s.slice(2), 16);
  return undefined;
}

/**
 * Parses a "port" dimension: `proto:port`, `port` (tcp by default, as ipset does), `icmp:name`,
 * `icmp:type/code`. Returns an error reason string when unreadable.
 */
function parsePortDim(s: string, m: IpsetMember, family: IpFamily | undefined): string | undefined {
  const c = s.lastIndexOf(':');
  const protoText = c < 0 ? 'tcp' : s.slice(0, c);
  const portText = c < 0 ? s : s.slice(c + 1);
  const proto = canonicalProto(protoText);
  if (protoNumber(proto) === undefined && protoNumber(protoText) === undefined) return `unknown protocol "${protoText}"`;
  m.proto = proto;
  if (proto === 'icmp' || proto === 'icmpv6') {
    if (proto === 'icmp' && family === 'inet6') return 'icmp element in an inet6 set';
    const names = proto === 'icmp' ? ICMP_NAMES : ICMPV6_NAMES;
    const named = Object.prototype.hasOwnProperty.call(names, portText) ? names[portText] : undefined;
    if (named !== undefined) {
      m.port = named;
      return undefined;
    }
    const tc = /^(\d{1,3})\/(\d{1,3})$/.exec(portText);
    if (tc && Number(tc[1]) < 256 && Number(tc[2]) < 256) {
      m.port = (Number(tc[1]) << 8) | Number(tc[2]);
      return undefined;
    }
    return `unknown ${proto} type "${portText}"`;
  }
  if (!DEC.test(portText) || portText.length > 5 || Number(portText) > 65535) {
    return /^\d+-\d+$/.test(portText) ? `port range "${portText}" (ipset save prints ranges expanded)` : `bad port "${portText}"`;
  }
  m.port = Number(portText);
  return undefined;
}

function parseAddrDim(s: string, family: IpFamily | undefined, m: IpsetMember, second: boolean, sink: IssueSink, lineNo: number): string | undefined {
  const p = parsePrefix(s);
  if (!p) {
    if (/^[0-9a-f.:]+-[0-9a-f.:]+$/i.test(s)) return `address range "${s}" (ipset save prints ranges expanded)`;
    return `bad address "${s}"`;
  }
  if (family && p.family !== family) return `${p.family} address "${s}" in an ${family} set`;
  if (p.hostBits) sink.warn(lineNo, `"${s}" has host bits set; the kernel stores ${p.text}/${p.prefixLen}`);
  const max = p.family === 'inet' ? 32 : 128;
  const text = p.prefixLen === max ? p.text : `${p.text}/${p.prefixLen}`;
  if (second) {
    m.ip2 = text;
    m.prefixLen2 = p.prefixLen;
  } else {
    m.ip = text;
    m.prefixLen = p.prefixLen;
  }
  return undefined;
}

/** Parses a member element and its options into `m`; returns an error reason when unreadable. */
function parseMember(set: IpSet, tokens: string[], start: number, m: IpsetMember, sink: IssueSink, lineNo: number): string | undefined {
  const elem = tokens[start];
  const colon = set.type.indexOf(':');
  const dims = colon < 0 ? [] : set.type.slice(colon + 1).split(',');
  const kind = set.type.slice(0, colon);
  const parts = dims.length > 1 ? elem.split(',') : [elem];
  // Only hash:*,iface and list:set names may legitimately contain commas in a part; both are last.
  if (parts.length > dims.length && dims.length > 0) {
    const last = dims.length - 1;
    parts.splice(last, parts.length - last, parts.slice(last).join(','));
  }
  if (dims.length > 0 && parts.length !== dims.length) return `element "${elem}" does not fit type ${set.type}`;
  let seenAddr = false;
  for (let d = 0; d < dims.length; d++) {
    const dim = dims[d];
    const part = parts[d];
    let err: string | undefined;
    switch (dim) {
      case 'ip':
      case 'net':
        err = parseAddrDim(part, set.family, m, seenAddr, sink, lineNo);
        seenAddr = true;
        break;
      case 'port':
        if (kind === 'bitmap') {
          const c = part.lastIndexOf(':');
          const pt = c < 0 ? part : part.slice(c + 1);
          if (!DEC.test(pt) || Number(pt) > 65535) err = `bad port "${part}"`;
          else {
            m.port = Number(pt);
            if (c >= 0) m.proto = canonicalProto(part.slice(0, c));
          }
        } else err = parsePortDim(part, m, set.family);
        break;
      case 'iface':
        if (part.startsWith('physdev:')) {
          m.iface = part.slice('physdev:'.length);
          m.physdev = true;
        } else m.iface = part;
        if (!m.iface) err = 'empty interface name';
        break;
      case 'set':
        m.setName = part;
        break;
      case 'mac':
        if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(part)) err = `bad MAC "${part}"`;
        else m.mac = part.toLowerCase();
        break;
      case 'mark': {
        const v = parseNum(part);
        if (v === undefined) err = `bad mark "${part}"`;
        else m.mark = v;
        break;
      }
      default:
        // An unknown dimension: keep the raw element; membership will be indeterminate.
        break;
    }
    if (err) return err;
  }
  for (let i = start + 1; i < tokens.length; i++) {
    const k = tokens[i];
    if (k === 'nomatch') {
      m.nomatch = true;
      continue;
    }
    const v = tokens[i + 1];
    switch (k) {
      case 'timeout':
      case 'packets':
      case 'bytes': {
        const n = v !== undefined ? parseNum(v) : undefined;
        if (n === undefined) {
          sink.warn(lineNo, `option ${k} without a number`);
          break;
        }
        m[k] = n;
        i++;
        break;
      }
      case 'comment':
        m.comment = v ?? '';
        i++;
        break;
      default:
        (m.options ??= {})[k] = v ?? '';
        if (v !== undefined) i++;
    }
  }
  return undefined;
}

export function parseIpset(text: string, artifact: string): Parsed<IpsetDump> {
  const sink = new IssueSink(artifact);
  const dump: IpsetDump = { format: 'save', sets: new Map() };
  if (looksBinary(text)) {
    sink.error(0, 'binary content, not ipset save/list output');
    return { value: dump, issues: sink.finish() };
  }

  const formats = new Set<IpsetFormat>();
  let firstFormat: IpsetFormat | undefined;
  let unrecognised = 0;
  // list-format state
  let cur: IpSet | undefined;
  let inMembers = false;
  const withMembersSection = new Set<IpSet>();

  const note = (f: IpsetFormat) => {
    formats.add(f);
    firstFormat ??= f;
  };
  const define = (set: IpSet, lineNo: number) => {
    const prev = dump.sets.get(set.name);
    if (prev) sink.warn(lineNo, `set ${set.name} defined again (first at line ${prev.line}); the later definition is used`);
    dump.sets.set(set.name, set);
  };
  const closeList = () => {
    cur = undefined;
    inMembers = false;
  };

  forEachLine(text, (line, no) => {
    const trimmed = line.trim();
    if (trimmed === '') {
      closeList();
      return;
    }
    if (trimmed.startsWith('#')) return;

    // Save format lines are recognised anywhere (also right after a list block: concatenated output).
    if (line.startsWith('create ') || line.startsWith('add ')) {
      closeList();
      note('save');
      const tokens = tokenizeIpsetLine(line);
      if (tokens[0] === 'create') {
        if (tokens.length < 3) {
          sink.error(no, '`create` without a set name and type');
          return;
        }
        define(newSet(tokens[1], tokens[2], parseHeader(tokens, 3), no, 'save'), no);
        return;
      }
      if (tokens.length < 3) {
        sink.error(no, '`add` without a set name and member');
        return;
      }
      const set = dump.sets.get(tokens[1]);
      if (!set) {
        sink.error(no, `member of set ${tokens[1]}, which was not created before this line`);
        return;
      }
      const m: IpsetMember = { raw: tokens[2], line: no, nomatch: false };
      const err = parseMember(set, tokens, 2, m, sink, no);
      if (err) sink.error(no, `${set.name}: ${err}`);
      else set.members.push(m);
      return;
    }

    if (line.startsWith('Name:')) {
      note('list');
      const name = line.slice(5).trim();
      if (!name) {
        sink.error(no, '`Name:` without a set name');
        closeList();
        return;
      }
      cur = newSet(name, '', {}, no, 'list');
      inMembers = false;
      define(cur, no);
      return;
    }

    if (cur && inMembers) {
      const tokens = tokenizeIpsetLine(line);
      const m: IpsetMember = { raw: tokens[0], line: no, nomatch: false };
      if (!cur.type) {
        sink.error(no, `${cur.name}: member before the set's Type: line`);
        return;
      }
      const err = parseMember(cur, tokens, 0, m, sink, no);
      if (err) sink.error(no, `${cur.name}: ${err}`);
      else cur.members.push(m);
      return;
    }

    if (cur) {
      const key = LIST_KEYS.find((k) => line.startsWith(k));
      if (key) {
        const v = line.slice(key.length).trim();
        switch (key) {
          case 'Type:':
            cur.type = v;
            cur.family = familyOf(v, cur.header);
            break;
          case 'Revision:':
            if (DEC.test(v)) cur.revision = Number(v);
            break;
          case 'Header:':
            cur.header = parseHeader(tokenizeIpsetLine(v), 0);
            cur.family = familyOf(cur.type, cur.header);
            break;
          case 'Size in memory:':
            if (DEC.test(v)) cur.sizeInMemory = Number(v);
            break;
          case 'References:':
            if (DEC.test(v)) cur.references = Number(v);
            else sink.warn(no, `bad References: "${v}"`);
            break;
          case 'Number of entries:':
            if (DEC.test(v)) cur.declaredEntries = Number(v);
            else sink.warn(no, `bad Number of entries: "${v}"`);
            break;
          case 'Members:':
            inMembers = true;
            withMembersSection.add(cur);
            break;
        }
        return;
      }
      // Newer ipset versions may add header lines (`Key: value`); they are not errors.
      if (/^[A-Z][A-Za-z ]*:/.test(line)) return;
    }

    if (/^ipset v[\d.]+:/.test(line)) {
      sink.warn(no, `ipset reported: ${line}`);
      return;
    }
    unrecognised++;
    sink.error(no, `not an ipset save/list line: ${line}`);
  });

  for (const set of withMembersSection) {
    if (set.declaredEntries !== undefined && set.declaredEntries !== set.members.length) {
      sink.warn(set.line, `set ${set.name} declares ${set.declaredEntries} entries but ${set.members.length} were read (truncated or unreadable members?)`);
    }
  }
  for (const set of dump.sets.values()) {
    if (!set.type) sink.error(set.line, `set ${set.name} has no Type: line`);
  }
  if (dump.sets.size === 0 && unrecognised > 0) sink.error(0, 'no ipset save/list content recognised (wrong artifact?)');

  dump.format = firstFormat ?? 'save';
  if (formats.size > 1) dump.mixed = true;
  return { value: dump, issues: sink.finish() };
}
