/**
 * Parser for `ip link` / `ip -d link` / `ip addr` / `ip -d addr` (text, also `-o` one-line and
 * `-s` statistics) and their `-j` JSON. `ip addr` output is a superset of `ip link` output, so one
 * reader serves both (`parseIpAddr` in ip-addr.ts calls it).
 *
 * Text shape:
 *   3: cali1a2b3c4d5e6@if2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP …
 *       link/ether ee:ee:ee:ee:ee:ee brd ff:ff:ff:ff:ff:ff link-netns cni-1234 promiscuity 0 …   (-d adds from promiscuity on)
 *       vxlan id 4096 local 172.18.0.2 dev eth0 srcport 0 0 dstport 4789 nolearning … addrgenmode …  (-d: kind line)
 *       bridge_slave state forwarding …                                                          (-d: slave line)
 *       inet 10.65.0.5/32 scope global eth0                                                       (addr)
 *          valid_lft forever preferred_lft forever
 *       altname enp0s1
 */
import { IssueSink, type Parsed } from '../model/evidence.js';
import type { IpAddrEntry, IpInterface, IpipInfo, VxlanInfo } from '../model/iproute.js';
import {
  LineErrors,
  MAX_LINE,
  UnknownKeywords,
  filterJsonKind,
  int,
  isMac,
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

/** Header keywords with one value after `<FLAGS>`. */
const HEADER_VALUE = new Set(['mtu', 'qdisc', 'master', 'state', 'mode', 'group', 'qlen', 'event', 'netns', 'link-netnsid']);

/** Keywords on the `link/…` line and generic `-d` details (with one value each). */
const LINK_VALUE = new Set([
  'brd',
  'peer',
  'permaddr',
  'link-netns',
  'link-netnsid',
  'new-netns',
  'new-netnsid',
  'new-ifindex',
  'protodown',
  'protodown_reason',
  'promiscuity',
  'allmulti',
  'minmtu',
  'maxmtu',
  'addrgenmode',
  'numtxqueues',
  'numrxqueues',
  'gso_max_size',
  'gso_max_segs',
  'tso_max_size',
  'tso_max_segs',
  'gro_max_size',
  'gso_ipv4_max_size',
  'gro_ipv4_max_size',
  'portname',
  'portid',
  'switchid',
  'parentbus',
  'parentdev',
  'netns-immutable',
]);

/** Where the generic detail keys start after a kind's own options. */
const GENERIC_DETAIL = new Set([
  'addrgenmode',
  'numtxqueues',
  'numrxqueues',
  'gso_max_size',
  'gso_max_segs',
  'tso_max_size',
  'tso_max_segs',
  'gro_max_size',
  'gso_ipv4_max_size',
  'gro_ipv4_max_size',
  'portname',
  'portid',
  'switchid',
  'parentbus',
  'parentdev',
]);

const ADDR_FLAGS = new Set([
  'secondary',
  'primary',
  'temporary',
  'nodad',
  'optimistic',
  'dadfailed',
  'home',
  'deprecated',
  'tentative',
  'permanent',
  'dynamic',
  'mngtmpaddr',
  'noprefixroute',
  'autojoin',
  'stable-privacy',
]);

const ADDR_VALUE = new Set(['brd', 'broadcast', 'scope', 'any', 'metric', 'proto', 'peer']);

interface Builder {
  iface: IpInterface;
  lastAddr?: IpAddrEntry;
  sawLinkLine: boolean;
}

function newInterface(ifindex: number, rawName: string, line: number): IpInterface {
  const iface: IpInterface = { ifindex, name: rawName, flags: [], up: false, lowerUp: false, details: false, addrs: [], line };
  const at = rawName.lastIndexOf('@');
  if (at > 0) {
    iface.name = rawName.slice(0, at);
    const link = rawName.slice(at + 1);
    const m = /^if(\d+)$/.exec(link);
    if (m) iface.peerIfindex = Number(m[1]);
    else iface.link = link;
  }
  return iface;
}

function setFlags(iface: IpInterface, flags: string[]): void {
  iface.flags = flags;
  iface.up = flags.includes('UP');
  iface.lowerUp = flags.includes('LOWER_UP');
}

function finishInterface(iface: IpInterface): void {
  if (iface.kind === undefined) {
    if (iface.linkType === 'loopback') iface.kind = 'loopback';
    else if (iface.details) iface.kind = 'device';
    else if (iface.linkType === 'ipip') iface.kind = 'ipip';
  }
}

function lifetime(s: string | undefined): number | 'forever' | undefined {
  if (s === undefined) return undefined;
  if (s === 'forever') return 'forever';
  const m = /^(\d+)(?:sec)?$/.exec(s);
  return m ? Number(m[1]) : undefined;
}

function parseVxlanText(toks: string[], stop: number): VxlanInfo {
  const v: VxlanInfo = { id: -1, learning: true };
  for (let i = 1; i < stop; ) {
    const k = toks[i];
    const val = toks[i + 1];
    switch (k) {
      case 'id':
        v.id = int(val) ?? -1;
        i += 2;
        continue;
      case 'remote':
        v.remote = val && normaliseAddrText(val);
        i += 2;
        continue;
      case 'group':
        v.group = val && normaliseAddrText(val);
        i += 2;
        continue;
      case 'local':
        v.local = val && normaliseAddrText(val);
        i += 2;
        continue;
      case 'dev':
        v.dev = val;
        i += 2;
        continue;
      case 'dstport':
        v.port = int(val);
        i += 2;
        continue;
      case 'srcport':
        v.srcPortLow = int(val);
        v.srcPortHigh = int(toks[i + 2]);
        i += 3;
        continue;
      case 'nolearning':
        v.learning = false;
        i++;
        continue;
      case 'learning':
        v.learning = true;
        i++;
        continue;
      case 'external':
        v.external = true;
        i++;
        continue;
      default:
        i++;
    }
  }
  return v;
}

function parseIpipText(toks: string[], stop: number): IpipInfo {
  const p: IpipInfo = {};
  for (let i = 1; i < stop; ) {
    const k = toks[i];
    const val = toks[i + 1];
    switch (k) {
      case 'any':
      case 'ipip':
      case 'ip6ip':
      case 'mplsip':
        if (i === 1 || (i === 2 && p.external)) p.proto = k;
        i++;
        continue;
      case 'external':
        p.external = true;
        i++;
        continue;
      case 'remote':
        p.remote = val;
        i += 2;
        continue;
      case 'local':
        p.local = val;
        i += 2;
        continue;
      case 'dev':
        p.dev = val;
        i += 2;
        continue;
      case 'ttl':
        p.ttl = val === 'inherit' ? 0 : int(val);
        i += 2;
        continue;
      case 'pmtudisc':
        p.pmtudisc = true;
        i++;
        continue;
      case 'nopmtudisc':
        p.pmtudisc = false;
        i++;
        continue;
      default:
        i++;
    }
  }
  return p;
}

const HEADER = /^(\d{1,10}):\s+(\S+?):\s+<([^>]*)>(.*)$/;
const ONELINE_ADDR = /^(\d{1,10}):\s+(\S+)\s+(inet6?|link\/\S+)(\s.*)?$/;
const NUMERIC_LINE = /^[\s\d.,KMGTkmgt%-]+$/;

function parseText(text: string, sink: IssueSink, out: IpInterface[], what: string): void {
  const unknown = new UnknownKeywords();
  const bad = new LineErrors();
  let recognised = 0;
  let cur: Builder | undefined;
  const byIndex = new Map<number, Builder>();
  const flush = () => {
    if (cur) finishInterface(cur.iface);
  };

  const extra = (b: Builder, tok: string, no: number) => {
    unknown.note(tok, no);
    (b.iface.extra ??= []).push(tok);
  };

  /** Parses `k v` pairs and flags of the link line / generic details. */
  const linkOptions = (b: Builder, toks: string[], from: number, no: number) => {
    const iface = b.iface;
    for (let i = from; i < toks.length; ) {
      const k = toks[i];
      const v = toks[i + 1];
      if (LINK_VALUE.has(k)) {
        switch (k) {
          case 'link-netns':
            iface.linkNetns = v;
            break;
          case 'link-netnsid': {
            const id = int(v);
            if (id !== undefined) iface.linkNetnsId = id;
            break;
          }
          case 'promiscuity':
            iface.details = true;
            break;
        }
        i += 2;
        continue;
      }
      extra(b, k, no);
      i++;
    }
  };

  const addrLine = (b: Builder, toks: string[], no: number) => {
    const family = toks[0] === 'inet' ? 4 : 6;
    const c = toks[1] === undefined ? undefined : parseCidr(toks[1]);
    if (!c || c.family !== family) {
      sink.warn(no, `bad ${toks[0]} address "${toks[1] ?? ''}"`);
      return;
    }
    const a: IpAddrEntry = { family, address: c.address, prefixLen: c.prefixLen, flags: [], line: no };
    for (let i = 2; i < toks.length; ) {
      const k = toks[i];
      const v = toks[i + 1];
      if (ADDR_VALUE.has(k)) {
        if (k === 'brd' || k === 'broadcast') a.broadcast = v;
        else if (k === 'scope') a.scope = v;
        else if (k === 'peer' && v !== undefined) {
          const p = parseCidr(v);
          if (p) {
            a.peer = p.address;
            a.prefixLen = p.prefixLen;
          } else a.peer = v;
        }
        i += 2;
        continue;
      }
      if (ADDR_FLAGS.has(k)) {
        a.flags.push(k);
        i++;
        continue;
      }
      // The IPv4 label is the last token and is the device name or `name:alias`.
      if (i === toks.length - 1 && (k === b.iface.name || k.startsWith(`${b.iface.name}:`))) {
        a.label = k;
        i++;
        continue;
      }
      extra(b, k, no);
      i++;
    }
    b.iface.addrs.push(a);
    b.lastAddr = a;
  };

  const continuation = (b: Builder, line: string, no: number) => {
    const toks = tokens(line);
    if (toks.length === 0) return;
    const first = toks[0];
    const iface = b.iface;
    if (first.startsWith('link/')) {
      iface.linkType = first.slice(5);
      b.sawLinkLine = true;
      let i = 1;
      const addr = toks[1];
      if (addr !== undefined && !LINK_VALUE.has(addr)) {
        if (isMac(addr)) iface.mac = addr.toLowerCase();
        i = 2;
      }
      linkOptions(b, toks, i, no);
      return;
    }
    if (first === 'inet' || first === 'inet6') {
      addrLine(b, toks, no);
      return;
    }
    if (first === 'valid_lft') {
      if (!b.lastAddr) {
        sink.warn(no, 'address lifetimes without an address');
        return;
      }
      b.lastAddr.validLft = lifetime(toks[1]);
      if (toks[2] === 'preferred_lft') b.lastAddr.preferredLft = lifetime(toks[3]);
      return;
    }
    if (first === 'altname') {
      if (toks[1]) (iface.altnames ??= []).push(toks[1]);
      return;
    }
    if (first === 'alias') {
      iface.alias = line.trim().slice(6);
      return;
    }
    // XDP programs, statistics, SR-IOV VFs: known, not modelled.
    if (first.startsWith('prog/') || first === 'RX:' || first === 'TX:' || first === 'RX' || first === 'TX' || first === 'vf') return;
    if (NUMERIC_LINE.test(line)) return;
    if (first.endsWith('_slave') && first.length > 6) {
      iface.slaveKind = first.slice(0, -6);
      iface.details = true;
      return;
    }
    if (b.sawLinkLine && iface.kind === undefined && /^[a-z][a-z0-9_-]*$/.test(first) && !LINK_VALUE.has(first)) {
      // The `-d` kind line: the kind, its options, then the generic details.
      iface.kind = first;
      iface.details = true;
      let stop = toks.findIndex((t, idx) => idx > 0 && GENERIC_DETAIL.has(t));
      if (stop < 0) stop = toks.length;
      if (first === 'vxlan') iface.vxlan = parseVxlanText(toks, stop);
      else if (first === 'ipip') iface.ipip = parseIpipText(toks, stop);
      return;
    }
    if (GENERIC_DETAIL.has(first)) {
      linkOptions(b, toks, 0, no);
      return;
    }
    extra(b, first, no);
    for (let i = 1; i < toks.length; i++) (iface.extra ??= []).push(toks[i]);
  };

  const header = (m: RegExpExecArray, no: number): Builder => {
    flush();
    const iface = newInterface(Number(m[1]), m[2], no);
    setFlags(iface, m[3] === '' ? [] : m[3].split(','));
    const b: Builder = { iface, sawLinkLine: false };
    const toks = tokens(m[4]);
    for (let i = 0; i < toks.length; ) {
      const k = toks[i];
      const v = toks[i + 1];
      if (HEADER_VALUE.has(k)) {
        switch (k) {
          case 'mtu':
            iface.mtu = int(v);
            break;
          case 'qdisc':
            iface.qdisc = v;
            break;
          case 'master':
            iface.master = v;
            break;
          case 'state':
            iface.operState = v;
            break;
        }
        i += 2;
        continue;
      }
      // `xdp`, `xdpgeneric`, `xdpgeneric/id:42`, … (an attached XDP program)
      if (k.startsWith('xdp')) {
        i++;
        continue;
      }
      extra(b, k, no);
      i++;
    }
    out.push(iface);
    byIndex.set(iface.ifindex, b);
    recognised++;
    return b;
  };

  const handle = (line: string, no: number, isContinuation: boolean) => {
    const t = line.trim();
    if (t === '') return;
    const indented = isContinuation || line.charCodeAt(0) === 32 || line.charCodeAt(0) === 9;
    if (!indented) {
      const m = HEADER.exec(t.startsWith('Deleted ') ? t.slice(8) : t);
      if (m) {
        cur = header(m, no);
        return;
      }
      // `ip -o addr`: `2: eth0    inet 10.0.0.1/24 brd … scope global eth0`
      const o = ONELINE_ADDR.exec(t);
      if (o) {
        const idx = Number(o[1]);
        let b = byIndex.get(idx);
        if (!b || b.iface.name !== o[2].split('@')[0]) {
          flush();
          const iface = newInterface(idx, o[2], no);
          b = { iface, sawLinkLine: false };
          out.push(iface);
          byIndex.set(idx, b);
        }
        cur = b;
        continuation(b, `${o[3]}${o[4] ?? ''}`, no);
        recognised++;
        return;
      }
      bad.add(no, `not ${what} output: ${t}`, line);
      return;
    }
    if (!cur) {
      bad.add(no, `indented line without an interface header before it: ${t}`, line);
      return;
    }
    continuation(cur, line, no);
    recognised++;
  };

  forEachLine(text, (line, no) => {
    if (line.length > MAX_LINE) {
      bad.add(no, `line of ${line.length} characters is not ${what} output; skipped`, line.slice(0, 100));
      return;
    }
    // `ip -o`: the newlines inside one interface's output become `\`.
    if (line.includes('\\') && /^\d{1,10}:\s/.test(line)) {
      const parts = line.split(/\\(?=\s)/);
      parts.forEach((p, idx) => handle(p, no, idx > 0));
      return;
    }
    handle(line, no, false);
  });
  flush();
  bad.flush(sink, recognised, what);
  unknown.flush(sink, 'interface');
}

// --- JSON ------------------------------------------------------------------------------------

const JSON_KNOWN = new Set([
  'ifindex',
  'ifname',
  'link',
  'link_index',
  'link_netnsid',
  'flags',
  'mtu',
  'qdisc',
  'master',
  'operstate',
  'linkmode',
  'group',
  'txqlen',
  'link_type',
  'address',
  'broadcast',
  'link_pointtopoint',
  'permaddr',
  'promiscuity',
  'allmulti',
  'min_mtu',
  'max_mtu',
  'linkinfo',
  'inet6_addr_gen_mode',
  'num_tx_queues',
  'num_rx_queues',
  'gso_max_size',
  'gso_max_segs',
  'tso_max_size',
  'tso_max_segs',
  'gro_max_size',
  'gso_ipv4_max_size',
  'gro_ipv4_max_size',
  'phys_port_name',
  'phys_port_id',
  'phys_switch_id',
  'parentbus',
  'parentdev',
  'ifalias',
  'altnames',
  'addr_info',
  'stats64',
  'stats',
  'xdp',
  'vfinfo_list',
  'proto_down',
  'proto_down_reason',
  'deleted',
  'event',
  'new_netnsid',
  'new_ifindex',
  'af_spec',
  'netns-immutable',
]);

function jsonAddr(a: Record<string, unknown>, line: number): IpAddrEntry | undefined {
  const fam = str(a.family);
  if (fam !== 'inet' && fam !== 'inet6') return undefined; // e.g. mpls
  const family = fam === 'inet' ? 4 : 6;
  const local = str(a.local);
  const len = num(a.prefixlen);
  if (local === undefined || len === undefined) return undefined;
  const c = parseCidr(`${local}/${len}`);
  if (!c) return undefined;
  const e: IpAddrEntry = { family, address: c.address, prefixLen: c.prefixLen, flags: [], line };
  const peer = str(a.address);
  if (peer !== undefined && peer !== local) e.peer = normaliseAddrText(peer);
  const brd = str(a.broadcast);
  if (brd !== undefined) e.broadcast = brd;
  const scope = str(a.scope);
  if (scope !== undefined) e.scope = scope;
  const label = str(a.label);
  if (label !== undefined) e.label = label;
  for (const [k, v] of Object.entries(a)) if (v === true && ADDR_FLAGS.has(k)) e.flags.push(k);
  const lft = (v: unknown) => {
    const n = num(v);
    return n === undefined ? undefined : n === 4294967295 ? ('forever' as const) : n;
  };
  if (a.valid_life_time !== undefined) e.validLft = lft(a.valid_life_time);
  if (a.preferred_life_time !== undefined) e.preferredLft = lft(a.preferred_life_time);
  return e;
}

function jsonVxlan(d: Record<string, unknown>): VxlanInfo {
  const v: VxlanInfo = { id: num(d.id) ?? -1 };
  const port = num(d.port);
  if (port !== undefined) v.port = port;
  const local = str(d.local) ?? str(d.local6);
  if (local !== undefined) v.local = normaliseAddrText(local);
  const dev = str(d.link);
  if (dev !== undefined) v.dev = dev;
  if (typeof d.learning === 'boolean') v.learning = d.learning;
  const remote = str(d.remote) ?? str(d.remote6);
  if (remote !== undefined) v.remote = normaliseAddrText(remote);
  const group = str(d.group) ?? str(d.group6);
  if (group !== undefined) v.group = normaliseAddrText(group);
  const pr = d.port_range as Record<string, unknown> | undefined;
  if (pr && typeof pr === 'object') {
    v.srcPortLow = num(pr.low);
    v.srcPortHigh = num(pr.high);
  }
  if (d.external === true) v.external = true;
  return v;
}

function jsonIpip(d: Record<string, unknown>): IpipInfo {
  const p: IpipInfo = {};
  if (d.external === true) p.external = true;
  if (d.proto !== undefined) p.proto = str(d.proto);
  if (d.remote !== undefined) p.remote = str(d.remote);
  if (d.local !== undefined) p.local = str(d.local);
  if (d.link !== undefined) p.dev = str(d.link);
  if (d.ttl !== undefined) p.ttl = num(d.ttl);
  if (typeof d.pmtudisc === 'boolean') p.pmtudisc = d.pmtudisc;
  return p;
}

function parseJson(text: string, sink: IssueSink, out: IpInterface[]): void {
  const unknown = new UnknownKeywords();
  for (const e of filterJsonKind(scanJsonElements(text, sink), 'link', sink)) {
    const o = e.value;
    const ifindex = num(o.ifindex);
    const name = str(o.ifname);
    if (ifindex === undefined || name === undefined) {
      sink.error(e.line, `element ${e.index}: interface without ifindex/ifname; skipped`);
      continue;
    }
    const iface = newInterface(ifindex, name, e.line);
    iface.name = name; // JSON names never carry `@link`
    delete iface.peerIfindex;
    delete iface.link;
    iface.objectIndex = e.index;
    if ('link' in o) iface.link = o.link === null ? 'NONE' : str(o.link);
    if (iface.link === undefined) delete iface.link;
    const li = num(o.link_index);
    if (li !== undefined) iface.peerIfindex = li;
    const nsid = num(o.link_netnsid);
    if (nsid !== undefined) iface.linkNetnsId = nsid;
    setFlags(iface, strArray(o.flags));
    iface.mtu = num(o.mtu);
    if (iface.mtu === undefined) delete iface.mtu;
    for (const [k, set] of [
      ['qdisc', (v: string) => (iface.qdisc = v)],
      ['master', (v: string) => (iface.master = v)],
      ['operstate', (v: string) => (iface.operState = v)],
      ['link_type', (v: string) => (iface.linkType = v)],
      ['ifalias', (v: string) => (iface.alias = v)],
    ] as const) {
      const v = str(o[k]);
      if (v !== undefined) set(v);
    }
    const mac = str(o.address);
    if (mac !== undefined && isMac(mac)) iface.mac = mac.toLowerCase();
    iface.details = 'promiscuity' in o || 'linkinfo' in o;
    const info = o.linkinfo as Record<string, unknown> | undefined;
    if (info && typeof info === 'object') {
      const kind = str(info.info_kind);
      if (kind !== undefined) iface.kind = kind;
      const data = info.info_data as Record<string, unknown> | undefined;
      if (data && typeof data === 'object') {
        if (kind === 'vxlan') iface.vxlan = jsonVxlan(data);
        else if (kind === 'ipip') iface.ipip = jsonIpip(data);
      }
      const sk = str(info.info_slave_kind);
      if (sk !== undefined) iface.slaveKind = sk;
    }
    const alt = strArray(o.altnames);
    if (alt.length) iface.altnames = alt;
    if (Array.isArray(o.addr_info)) {
      for (const a of o.addr_info) {
        if (!a || typeof a !== 'object') continue;
        const entry = jsonAddr(a as Record<string, unknown>, e.line);
        if (entry) iface.addrs.push(entry);
        else if (Object.keys(a).length) sink.warn(e.line, `element ${e.index} (${name}): unreadable addr_info entry`);
      }
    }
    for (const k of Object.keys(o)) {
      if (JSON_KNOWN.has(k)) continue;
      unknown.note(k, e.line);
      (iface.extra ??= []).push(`${k}=${JSON.stringify(o[k])}`);
    }
    finishInterface(iface);
    out.push(iface);
  }
  unknown.flush(sink, 'interface JSON');
}

/** Shared by parseIpLink and parseIpAddr; `what` names the command in issues. */
export function parseInterfaces(text: string, artifact: string, what: string): Parsed<IpInterface[]> {
  const sink = new IssueSink(artifact);
  const out: IpInterface[] = [];
  try {
    const form = precheck(text, 'link', sink);
    if (form === 'json') parseJson(text, sink, out);
    else if (form === 'text') parseText(text, sink, out, what);
  } catch (e) {
    sink.error(0, `internal error while reading ${what} output: ${(e as Error).message}`);
  }
  return { value: out, issues: sink.finish() };
}

/** Parses `ip link` / `ip -d link` text or `ip -j [-d] link` JSON (auto-detected; `ip addr` output is accepted too). */
export function parseIpLink(text: string, artifact: string): Parsed<IpInterface[]> {
  return parseInterfaces(text, artifact, '`ip link`');
}
