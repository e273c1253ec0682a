/**
 * Shared helpers of the node checks: evidence (artifact, 1-based line, the line's raw text, or
 * the element of a JSON capture), the node's own addresses and underlay, its local endpoints,
 * IP pools and IPAM blocks (own and remote), tunnel devices, and "not checked" reasons.
 * Everything reads the typed models; raw text is only looked up to quote a line as evidence.
 */
import type { Bundle, NodeData } from '../../model/bundle.js';
import type { Evidence } from '../../model/evidence.js';
import type { FdbEntry, IpInterface, IpNeighbor, IpRoute, IpRule } from '../../model/iproute.js';
import type { IptRule } from '../../model/iptables.js';
import { parseAddr, parsePrefix, maskV4, maskV6, type ParsedPrefix } from '../../model/ipset.js';
import type { ClusterResources, IPPool, ResourceSource } from '../../model/resources.js';
import type { Endpoint } from '../../calico/endpoints.js';
import type { PolicyModel } from '../../calico/policy/resolve.js';
import { rawLines } from '../raw-lines.js';
import type { NotChecked, Remediation } from '../types.js';

// ---------------------------------------------------------------------------------------------
// Raw lines (for the text of an evidence line only)

/** The raw text of a 1-based line (trimmed, capped); undefined when unknown. */
export function lineText(b: Bundle, artifact: string, line: number | undefined): string | undefined {
  if (!line || line < 1) return undefined;
  const l = rawLines(b, artifact)?.line(line);
  if (l === undefined) return undefined;
  const t = l.trim();
  return t.length > 400 ? `${t.slice(0, 400)}…` : t;
}

export function isJsonArtifact(artifact: string): boolean {
  return /\.json$/i.test(artifact);
}

/** Evidence for a line of a text artifact, with the line's text. */
export function ev(b: Bundle, node: string | undefined, artifact: string, line: number | undefined, note?: string): Evidence {
  const e: Evidence = { artifact };
  if (node) e.node = node;
  if (line && line > 0) {
    e.line = line;
    const t = lineText(b, artifact, line);
    if (t !== undefined) e.text = t;
  }
  if (note) e.note = note;
  return e;
}

/**
 * Evidence for an element of an `ip`/`bridge` capture: for text the printed line; for JSON (one
 * line, many objects) the element as text and its index in the note.
 */
function elementEv(b: Bundle, node: string, artifact: string, el: { line: number; objectIndex?: number }, text: string, note?: string): Evidence {
  if (el.objectIndex !== undefined || isJsonArtifact(artifact)) {
    const idx = el.objectIndex !== undefined ? `JSON element ${el.objectIndex}` : 'JSON';
    return { artifact, node, line: el.line || undefined, text: text.length > 400 ? `${text.slice(0, 400)}…` : text, note: note ? `${idx}; ${note}` : idx };
  }
  const e = ev(b, node, artifact, el.line, note);
  if (e.text === undefined) e.text = text;
  return e;
}

// ---------------------------------------------------------------------------------------------
// Artifacts of iproute2 elements

const routeArtifacts = new WeakMap<NodeData, Map<IpRoute, string>>();

/**
 * Which file a route came from. `routes` is the ip-route capture followed by the ip6-route one;
 * the second starts where the line (text) or element index (JSON) goes back.
 */
export function routeArtifact(n: NodeData, r: IpRoute): string {
  let m = routeArtifacts.get(n);
  if (!m) {
    m = new Map();
    const first = n.artifacts['ip-route'] ?? n.artifacts['ip6-route'] ?? `nodes/${n.name}/ip-route`;
    const second = n.artifacts['ip-route'] ? (n.artifacts['ip6-route'] ?? first) : first;
    let cur = first;
    let prev = -1;
    for (const x of n.routes ?? []) {
      const pos = x.objectIndex ?? x.line;
      if (pos <= prev && cur === first) cur = second;
      prev = pos;
      m.set(x, cur);
    }
    routeArtifacts.set(n, m);
  }
  return m.get(r) ?? n.artifacts['ip-route'] ?? `nodes/${n.name}/ip-route`;
}

export function routeText(r: IpRoute): string {
  return r.raw.split('\n')[0];
}

export function routeEv(b: Bundle, n: NodeData, r: IpRoute, note?: string): Evidence {
  if (r.line === 0) return { artifact: ifaceArtifact(n), node: n.name, text: r.raw, note: note ? `derived from the interface addresses; ${note}` : 'derived from the interface addresses' };
  return elementEv(b, n.name, routeArtifact(n, r), r, routeText(r), note);
}

export function ruleEv(b: Bundle, n: NodeData, r: IpRule, note?: string): Evidence {
  const artifact = (r.family === 6 ? n.artifacts['ip6-rule'] : n.artifacts['ip-rule']) ?? n.artifacts['ip-rule'] ?? `nodes/${n.name}/ip-rule`;
  const text = `${r.priority}:\t${r.not ? 'not ' : ''}from ${r.from ?? 'all'}${r.to ? ` to ${r.to}` : ''}${r.iif ? ` iif ${r.iif}` : ''}${r.fwmark ? ` fwmark 0x${r.fwmark.value.toString(16)}` : ''} ${r.action === 'lookup' ? `lookup ${r.table ?? 'main'}` : r.action}`;
  return elementEv(b, n.name, artifact, r, text, note);
}

export function ifaceArtifact(n: NodeData): string {
  return n.artifacts['ip-addr'] ?? n.artifacts['ip-link'] ?? `nodes/${n.name}/ip-addr`;
}

/** `3: cali1234@if2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 state UP`, as `ip link` prints it. */
export function ifaceText(i: IpInterface): string {
  const at = i.link ? `@${i.link}` : i.peerIfindex !== undefined ? `@if${i.peerIfindex}` : '';
  return `${i.ifindex}: ${i.name}${at}: <${i.flags.join(',')}>${i.mtu !== undefined ? ` mtu ${i.mtu}` : ''}${i.operState ? ` state ${i.operState}` : ''}`;
}

export function ifaceEv(b: Bundle, n: NodeData, i: IpInterface, note?: string): Evidence {
  return elementEv(b, n.name, ifaceArtifact(n), i, ifaceText(i), note);
}

export function neighEv(b: Bundle, n: NodeData, x: IpNeighbor, note?: string): Evidence {
  const text = `${x.dst}${x.dev ? ` dev ${x.dev}` : ''}${x.lladdr ? ` lladdr ${x.lladdr}` : ''} ${x.state.join(' ')}`.trim();
  return elementEv(b, n.name, n.artifacts['ip-neigh'] ?? `nodes/${n.name}/ip-neigh`, x, text, note);
}

export function fdbEv(b: Bundle, n: NodeData, f: FdbEntry, note?: string): Evidence {
  const text = `${f.mac}${f.dev ? ` dev ${f.dev}` : ''}${f.dst ? ` dst ${f.dst}` : ''}${f.self ? ' self' : ''}${f.permanent ? ' permanent' : ''}`;
  return elementEv(b, n.name, n.artifacts['bridge-fdb'] ?? `nodes/${n.name}/bridge-fdb`, f, text, note);
}

export function sysctlArtifact(n: NodeData): string {
  return n.artifacts.sysctl ?? `nodes/${n.name}/sysctl.txt`;
}

export function sysctlEv(b: Bundle, n: NodeData, key: string, line: number, value: string | number, note?: string): Evidence {
  const e = ev(b, n.name, sysctlArtifact(n), line, note);
  e.text ??= `${key} = ${value}`;
  return e;
}

export function iptablesArtifact(n: NodeData, family: 4 | 6 = 4): string {
  return (family === 6 ? n.artifacts.ip6tables : n.artifacts.iptables) ?? `nodes/${n.name}/${family === 6 ? 'ip6tables' : 'iptables'}-save.txt`;
}

export function iptRuleEv(b: Bundle, n: NodeData, artifact: string, r: IptRule, note?: string): Evidence {
  const e = ev(b, n.name, artifact, r.line, note);
  e.text = r.raw;
  return e;
}

/** Evidence for a resource: the line where the object starts. */
export function resEv(b: Bundle, src: ResourceSource, note?: string): Evidence {
  return ev(b, undefined, src.artifact, src.line, note);
}

/** The first line inside a resource object that contains `needle` (e.g. `natOutgoing:`), else the object's first line. */
export function fieldEv(b: Bundle, src: ResourceSource, needle: string, note?: string): Evidence {
  const lines = rawLines(b, src.artifact);
  if (lines && src.offset !== undefined && src.endOffset !== undefined) {
    const first = src.line;
    const last = lines.lineAt(Math.max(src.offset, src.endOffset - 1));
    for (let l = first; l <= Math.min(last, lines.count); l++) if (lines.line(l)!.includes(needle)) return ev(b, undefined, src.artifact, l, note);
  }
  return resEv(b, src, note);
}

export function notChecked(check: string, reason: string, node?: string): NotChecked {
  return node ? { check, node, reason } : { check, reason };
}

/** `nodes/<node>/<file>` the node would need, in a "not checked" reason. */
export function missing(n: NodeData, what: string): string {
  return `no ${what} for node ${n.name}`;
}

export function plural(k: number, one: string, many = `${one}s`): string {
  return `${k} ${k === 1 ? one : many}`;
}

export function listText(items: readonly string[], max = 5): string {
  if (items.length <= max) return items.join(', ');
  return `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
}

/** Removes evidence repeated for the same artifact line. */
export function dedupe(list: Evidence[]): Evidence[] {
  const seen = new Set<string>();
  return list.filter((e) => {
    const k = `${e.node ?? ''}|${e.artifact}|${e.line ?? ''}|${e.text ?? ''}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** `kubectl exec` into the node's calico-node pod, for commands that must run there. */
export function onNode(node: string, cmd: string): string {
  return `# on ${node}: ${cmd}`;
}

export function remediation(summary: string, confirm: string[], fix: string[] = [], yaml?: string): Remediation {
  const r: Remediation = { summary, confirm };
  if (fix.length) r.fix = fix;
  if (yaml) r.yaml = yaml;
  return r;
}

// ---------------------------------------------------------------------------------------------
// Addresses and prefixes

export function addrFamily(ip: string): 4 | 6 {
  return ip.includes(':') ? 6 : 4;
}

export function prefixContains(p: ParsedPrefix, ip: string): boolean {
  const a = parseAddr(ip);
  if (!a || a.family !== p.family) return false;
  return a.family === 'inet' ? maskV4(a.v4, p.prefixLen) === p.v4 : maskV6(a.v6, p.prefixLen) === p.v6;
}

/** `outer` contains all of `inner`. */
export function prefixCovers(outer: ParsedPrefix, inner: ParsedPrefix): boolean {
  if (outer.family !== inner.family || outer.prefixLen > inner.prefixLen) return false;
  return outer.family === 'inet' ? maskV4(inner.v4, outer.prefixLen) === outer.v4 : maskV6(inner.v6, outer.prefixLen) === outer.v6;
}

/** Network address of a prefix as text (`10.244.1.0`). */
export function networkAddress(p: ParsedPrefix): string {
  return p.text;
}

const stripLen = (s: string) => s.replace(/\/\d+$/, '');

/** The node's own IPv4 address per the cluster resources (Calico Node, annotation, InternalIP). */
export function nodeIPv4(cluster: ClusterResources, node: string): { ip: string; prefixLen?: number; source?: ResourceSource } | undefined {
  const cn = cluster.calicoNodes.find((x) => x.metadata.name === node);
  const withLen = (s: string, source: ResourceSource) => {
    const m = /^(.+)\/(\d+)$/.exec(s);
    return m ? { ip: m[1], prefixLen: Number(m[2]), source } : { ip: s, source };
  };
  if (cn?.spec.bgp?.ipv4Address) return withLen(cn.spec.bgp.ipv4Address, cn.source);
  const kn = cluster.nodes.find((x) => x.metadata.name === node);
  if (kn?.calico.ipv4Address) return withLen(kn.calico.ipv4Address, kn.source);
  const internal = kn?.status.addresses.find((a) => a.type === 'InternalIP' && !a.address.includes(':'))?.address;
  return internal ? { ip: stripLen(internal), source: kn!.source } : undefined;
}

/** Address → node name for every node the cluster resources (and the bundle's interfaces) know. */
export function nodeAddressIndex(b: Bundle): Map<string, string> {
  const out = new Map<string, string>();
  const put = (ip: string | undefined, n: string) => {
    if (!ip) return;
    const t = parseAddr(stripLen(ip))?.text;
    if (t && !out.has(t)) out.set(t, n);
  };
  for (const cn of b.cluster.calicoNodes) {
    put(cn.spec.bgp?.ipv4Address, cn.metadata.name);
    put(cn.spec.bgp?.ipv6Address, cn.metadata.name);
    for (const a of cn.spec.addresses) put(a.address, cn.metadata.name);
  }
  for (const kn of b.cluster.nodes) {
    put(kn.calico.ipv4Address, kn.metadata.name);
    for (const a of kn.status.addresses) if (a.type === 'InternalIP' || a.type === 'ExternalIP') put(a.address, kn.metadata.name);
  }
  for (const n of b.nodes) for (const i of n.interfaces ?? []) if (i.name !== 'lo' && i.kind !== 'loopback') for (const a of i.addrs) if (a.scope !== 'link' && a.scope !== 'host') put(a.address, n.name);
  return out;
}

/** The interface holding `ip` on the node. */
export function ifaceWithAddress(n: NodeData, ip: string): IpInterface | undefined {
  const t = parseAddr(ip)?.text;
  return (n.interfaces ?? []).find((i) => i.addrs.some((a) => parseAddr(a.address)?.text === t));
}

/**
 * The underlay interface: the one holding the node's address (Calico Node / Kubernetes Node),
 * else the device of the IPv4 default route, else the first interface with a global IPv4 address
 * that is neither a pod veth nor a tunnel.
 */
export function underlayIface(b: Bundle, n: NodeData): { iface: IpInterface; how: string } | undefined {
  const ifaces = n.interfaces ?? [];
  const nip = nodeIPv4(b.cluster, n.name);
  if (nip) {
    const i = ifaceWithAddress(n, nip.ip);
    if (i) return { iface: i, how: `holds the node address ${nip.ip}` };
  }
  const def = (n.routes ?? []).find((r) => r.family === 4 && r.prefixLen === 0 && r.type === 'unicast' && r.table === 'main' && (r.dev ?? r.nexthops?.[0]?.dev));
  const dev = def?.dev ?? def?.nexthops?.[0]?.dev;
  const di = dev ? ifaces.find((i) => i.name === dev) : undefined;
  if (di) return { iface: di, how: 'carries the default route' };
  const g = ifaces.find((i) => i.name !== 'lo' && !isTunnel(i) && !isWorkloadIfaceName(i.name) && i.addrs.some((a) => a.family === 4 && (a.scope ?? 'global') === 'global'));
  return g ? { iface: g, how: 'first interface with a global IPv4 address' } : undefined;
}

// ---------------------------------------------------------------------------------------------
// Interfaces

/** Workload interface prefixes (FelixConfiguration interfacePrefix, comma-separated; default `cali`). */
export function workloadPrefixes(cluster: ClusterResources): string[] {
  const g = cluster.felixConfigurations.find((f) => f.spec.scope === 'global');
  const p = (g?.spec.interfacePrefix ?? 'cali').split(',').map((s) => s.trim()).filter(Boolean);
  return p.length ? p : ['cali'];
}

/** A workload veth by name (cali + 11 hex, or any `cali…` that is not a Calico tunnel/device). */
export function isWorkloadIfaceName(name: string, prefixes: readonly string[] = ['cali']): boolean {
  if (/^calico|^cali\d*$/.test(name) && !/^cali[0-9a-f]{11}$/.test(name)) return false;
  return prefixes.some((p) => name.startsWith(p) && name.length > p.length);
}

export type TunnelKind = 'vxlan' | 'ipip' | 'wireguard';

/** The tunnel kind of an interface (by kind from `ip -d`, else by Calico's device names). */
export function tunnelKind(i: IpInterface | { name: string; kind?: string; vxlan?: unknown }): TunnelKind | undefined {
  if (i.kind === 'vxlan' || ('vxlan' in i && i.vxlan) || /^vxlan(-v6)?\.calico$/.test(i.name)) return 'vxlan';
  if (i.kind === 'ipip' || i.name === 'tunl0') return 'ipip';
  if (i.kind === 'wireguard' || /^(wireguard\.cali|wg-v6\.cali)$/.test(i.name)) return 'wireguard';
  return undefined;
}

export function isTunnel(i: IpInterface): boolean {
  return tunnelKind(i) !== undefined;
}

/** Encapsulation overhead in bytes (outer headers), by tunnel kind and inner family. */
export function encapOverhead(kind: TunnelKind, family: 4 | 6 = 4): number {
  if (kind === 'vxlan') return family === 6 ? 70 : 50;
  if (kind === 'ipip') return 20;
  return family === 6 ? 80 : 60;
}

export function routeDevs(r: IpRoute): string[] {
  const out: string[] = [];
  if (r.dev) out.push(r.dev);
  for (const nh of r.nexthops ?? []) if (nh.dev && !out.includes(nh.dev)) out.push(nh.dev);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Endpoints, pools, blocks

/** Workload endpoints scheduled on `node` that have an address. */
export function localEndpoints(model: PolicyModel, node: string): Endpoint[] {
  return model.endpoints.filter((e) => e.kind === 'workload' && e.node === node && e.ips.length > 0);
}

export interface PoolInfo {
  pool: IPPool;
  prefix: ParsedPrefix;
  family: 4 | 6;
}

/** Every IP pool with a readable CIDR (disabled ones too: their pods still exist). */
export function poolInfos(cluster: ClusterResources): PoolInfo[] {
  const out: PoolInfo[] = [];
  for (const p of cluster.ipPools) {
    const prefix = parsePrefix(p.spec.cidr);
    if (!prefix) continue;
    out.push({ pool: p, prefix, family: prefix.family === 'inet' ? 4 : 6 });
  }
  return out;
}

/** The most specific pool containing an address. */
export function poolOf(pools: PoolInfo[], ip: string): PoolInfo | undefined {
  let best: PoolInfo | undefined;
  for (const p of pools) if (prefixContains(p.prefix, ip) && (!best || p.prefix.prefixLen > best.prefix.prefixLen)) best = p;
  return best;
}

export interface BlockInfo {
  cidr: string;
  prefix: ParsedPrefix;
  node: string;
  from: 'IPAMBlock' | 'BlockAffinity' | 'route';
  evidence: Evidence;
  /** Allocated addresses (IPAMBlock only). */
  allocated?: number;
}

const blockCache = new WeakMap<Bundle, BlockInfo[]>();

/**
 * Every node's IPAM blocks: IPAMBlocks with a host affinity, confirmed BlockAffinities, and
 * (for clusters whose IPAM objects are not in the bundle) the nodes' own block blackhole routes of
 * the pool's block size that no IPAM object contradicts. One entry per CIDR.
 */
export function allBlocks(b: Bundle): BlockInfo[] {
  const hit = blockCache.get(b);
  if (hit) return hit;
  const out = new Map<string, BlockInfo>();
  const add = (x: BlockInfo) => {
    const k = x.prefix.text + '/' + x.prefix.prefixLen;
    if (!out.has(k)) out.set(k, x);
  };
  for (const blk of b.cluster.ipamBlocks) {
    if (blk.spec.deleted) continue;
    const m = /^host:(.+)$/.exec(blk.spec.affinity ?? '');
    const prefix = parsePrefix(blk.spec.cidr);
    if (!m || !prefix) continue;
    add({ cidr: blk.spec.cidr, prefix, node: m[1], from: 'IPAMBlock', evidence: fieldEv(b, blk.source, blk.spec.cidr, `IPAMBlock ${blk.spec.cidr} (affinity ${blk.spec.affinity})`), allocated: blk.spec.allocations.filter((a) => a !== null).length });
  }
  for (const a of b.cluster.blockAffinities) {
    if (a.spec.deleted || (a.spec.state !== 'confirmed' && a.spec.state !== 'pending')) continue;
    const prefix = parsePrefix(a.spec.cidr);
    if (!prefix) continue;
    add({ cidr: a.spec.cidr, prefix, node: a.spec.node, from: 'BlockAffinity', evidence: fieldEv(b, a.source, a.spec.cidr, `BlockAffinity ${a.spec.cidr} → ${a.spec.node} (${a.spec.state})`) });
  }
  const ipam = [...out.values()];
  const pools = poolInfos(b.cluster);
  for (const n of b.nodes) {
    for (const r of n.routes ?? []) {
      if (r.type !== 'blackhole') continue;
      const prefix = parsePrefix(r.dst);
      if (!prefix) continue;
      const pool = poolOf(pools, prefix.text);
      if (!pool || prefix.prefixLen !== pool.pool.spec.blockSize) continue;
      if (ipam.some((x) => prefixCovers(x.prefix, prefix) || prefixCovers(prefix, x.prefix))) continue;
      add({ cidr: r.dst, prefix, node: n.name, from: 'route', evidence: routeEv(b, n, r, `${n.name}'s blackhole for its own block`) });
    }
  }
  const list = [...out.values()];
  blockCache.set(b, list);
  return list;
}

export function blocksOf(b: Bundle, node: string): BlockInfo[] {
  return allBlocks(b).filter((x) => x.node === node);
}

const blockIndexCache = new WeakMap<Bundle, { lens: number[]; byKey: Map<string, BlockInfo> }>();

function netKey(a: { family: string; v4: number; v6: bigint }, len: number): string {
  return a.family === 'inet' ? `4|${len}|${maskV4(a.v4, len)}` : `6|${len}|${maskV6(a.v6, len).toString(16)}`;
}

/** The block (any node's) containing an address: one map lookup per distinct block size. */
export function blockOf(b: Bundle, ip: string): BlockInfo | undefined {
  let idx = blockIndexCache.get(b);
  if (!idx) {
    const byKey = new Map<string, BlockInfo>();
    const lens = new Set<number>();
    for (const x of allBlocks(b)) {
      lens.add(x.prefix.prefixLen);
      const k = netKey(x.prefix, x.prefix.prefixLen);
      if (!byKey.has(k)) byKey.set(k, x);
    }
    idx = { lens: [...lens].sort((p, q) => q - p), byKey };
    blockIndexCache.set(b, idx);
  }
  const a = parseAddr(ip);
  if (!a) return undefined;
  for (const len of idx.lens) {
    if (a.family === 'inet' && len > 32) continue;
    const hit = idx.byKey.get(netKey(a, len));
    if (hit) return hit;
  }
  return undefined;
}

const epsByBlockCache = new WeakMap<PolicyModel, Map<BlockInfo | undefined, { ep: Endpoint; ip: string }[]>>();

/** Workload endpoint addresses grouped by the block that contains them (undefined: in no block). */
export function endpointsByBlock(b: Bundle, model: PolicyModel): Map<BlockInfo | undefined, { ep: Endpoint; ip: string }[]> {
  let m = epsByBlockCache.get(model);
  if (!m) {
    m = new Map();
    for (const ep of model.endpoints) {
      if (ep.kind !== 'workload' || !ep.node) continue;
      for (const ip of ep.ips) {
        const blk = blockOf(b, ip);
        const l = m.get(blk);
        if (l) l.push({ ep, ip });
        else m.set(blk, [{ ep, ip }]);
      }
    }
    epsByBlockCache.set(model, m);
  }
  return m;
}

/** Route `dst` equals this prefix. */
export function sameCidr(r: IpRoute, p: ParsedPrefix): boolean {
  const rp = parsePrefix(r.dst);
  return !!rp && rp.family === p.family && rp.prefixLen === p.prefixLen && rp.text === p.text;
}

/** Whether an encapsulation mode is on for any enabled pool (and which pools). */
export function encapPools(cluster: ClusterResources, kind: 'vxlan' | 'ipip'): IPPool[] {
  return cluster.ipPools.filter((p) => !p.spec.disabled && (kind === 'vxlan' ? p.spec.vxlanMode : p.spec.ipipMode) !== 'Never');
}

/** The VXLAN UDP port in use: FelixConfiguration vxlanPort, the device's dstport, else 4789. */
export function vxlanPort(cluster: ClusterResources, n?: NodeData): number {
  const dev = n?.interfaces?.find((i) => tunnelKind(i) === 'vxlan' && i.vxlan?.port);
  if (dev?.vxlan?.port) return dev.vxlan.port;
  const node = cluster.felixConfigurations.find((f) => f.spec.scope === 'node' && f.spec.scopeNode === n?.name);
  const g = cluster.felixConfigurations.find((f) => f.spec.scope === 'global');
  return node?.spec.vxlanPort ?? g?.spec.vxlanPort ?? 4789;
}

/** True when Felix runs in eBPF mode (then iptables chains are not where policy lives). */
export function bpfMode(cluster: ClusterResources, node?: string): boolean {
  const n = cluster.felixConfigurations.find((f) => f.spec.scope === 'node' && f.spec.scopeNode === node);
  const g = cluster.felixConfigurations.find((f) => f.spec.scope === 'global');
  return (n?.spec.bpfEnabled ?? g?.spec.bpfEnabled) === true;
}

/** True when the node's iptables dump has any `cali-` chain in `table` (any table when omitted). */
export function hasCalicoChains(n: NodeData, table?: string): boolean {
  const d = n.iptables;
  if (!d) return false;
  for (const t of d.tables.values()) {
    if (table && t.name !== table) continue;
    for (const c of t.chains.keys()) if (c.startsWith('cali-')) return true;
  }
  return false;
}

/** Evidence that BGP carries pod routes: BIRD BGP protocols or calicoctl peers on any node, BGPPeers, or routes learned by BIRD. */
export function bgpInUse(b: Bundle): boolean {
  for (const n of b.nodes) {
    if ((n.birdProtocols ?? []).some((p) => p.proto.toUpperCase() === 'BGP')) return true;
    if ((n.nodeStatus?.ipv4Peers.length ?? 0) > 0) return true;
    if ((n.routes ?? []).some((r) => r.protocol === 'bird')) return true;
  }
  return b.cluster.bgpPeers.length > 0;
}

// ---------------------------------------------------------------------------------------------
// Calico components

export function isCalicoNodePod(p: { metadata: { name: string; labels: Record<string, string> } }): boolean {
  return p.metadata.labels['k8s-app'] === 'calico-node' || /^calico-node-[a-z0-9]{5}$/.test(p.metadata.name);
}

export function isKubeControllersPod(p: { metadata: { name: string; labels: Record<string, string> } }): boolean {
  return p.metadata.labels['k8s-app'] === 'calico-kube-controllers' || p.metadata.name.startsWith('calico-kube-controllers-');
}

/** The namespace calico-node runs in (calico-system for operator installs, kube-system for manifests). */
export function calicoNamespace(cluster: ClusterResources): string {
  return cluster.pods.find(isCalicoNodePod)?.metadata.namespace ?? 'calico-system';
}

/** The command that restarts calico-node (Felix) on one node. */
export function restartCalicoNode(cluster: ClusterResources, node: string): string {
  return `kubectl delete pod -n ${calicoNamespace(cluster)} -l k8s-app=calico-node --field-selector spec.nodeName=${node}`;
}

/** `kubectl logs …` of calico-node on a node (the pod name when the bundle has it). */
export function calicoNodeLogs(cluster: ClusterResources, node: string): string {
  const ns = calicoNamespace(cluster);
  const pod = cluster.pods.find((p) => isCalicoNodePod(p) && p.spec.nodeName === node)?.metadata.name;
  return `kubectl logs -n ${ns} ${pod ?? `$(kubectl get pod -n ${ns} -l k8s-app=calico-node --field-selector spec.nodeName=${node} -o name)`} -c calico-node`;
}

const sourceIndex = new WeakMap<Bundle, Map<string, ResourceSource>>();

/**
 * Evidence for an endpoint: the line of its address in the WorkloadEndpoint / Pod (when `ip` is
 * given and found), else the object's first line.
 */
export function epEv(b: Bundle, ep: Endpoint, ip: string | undefined, note: string): Evidence {
  let m = sourceIndex.get(b);
  if (!m) {
    m = new Map();
    for (const o of [...b.cluster.workloadEndpoints, ...b.cluster.pods, ...b.cluster.hostEndpoints]) m.set(`${o.source.artifact}|${o.source.line}`, o.source);
    sourceIndex.set(b, m);
  }
  const src = m.get(`${ep.source.artifact}|${ep.source.line ?? 0}`);
  if (src && ip) return fieldEv(b, src, ip, note);
  return ev(b, undefined, ep.source.artifact, ep.source.line, note);
}
