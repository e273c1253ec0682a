/**
 * Shared helpers of the cluster checks: evidence lines (artifact, 1-based line, raw text) for
 * resources and node artifacts, the object's own YAML for a corrected-resource remediation, node
 * and pool lookups, and per-model caches that several policy checks share.
 */
import type { Bundle, NodeData } from '../../model/bundle.js';
import type { Evidence } from '../../model/evidence.js';
import type { ClusterResources, IPPool, ResourceSource } from '../../model/resources.js';
import type { Endpoint } from '../../calico/endpoints.js';
import type { PolicyModel } from '../../calico/policy/resolve.js';
import type { ResolvedPolicy } from '../../calico/policy/model.js';
import { type Cidr, type IpAddr, cidrContains, parseCidr, parseIp } from '../../calico/policy/net.js';
import type { Selector } from '../../calico/selector/index.js';
import { rawLines } from '../raw-lines.js';
import type { NotChecked } from '../types.js';

// ---------------------------------------------------------------------------------------------
// Raw lines, for evidence text

/** The raw text of a 1-based line, trimmed of trailing spaces; undefined when unknown. */
export function lineText(b: Bundle, artifact: string, line: number | undefined): string | undefined {
  if (!line || line < 1) return undefined;
  const l = rawLines(b, artifact)?.line(line);
  return l === undefined ? undefined : l.trimEnd().slice(0, 400);
}

/** Evidence for a line, with its raw text filled in. */
export function ev(b: Bundle, artifact: string, line: number | undefined, note?: string, node?: string): Evidence {
  const e: Evidence = { artifact };
  if (node) e.node = node;
  if (line && line > 0) {
    e.line = line;
    const t = lineText(b, artifact, line);
    if (t !== undefined) e.text = t.trim();
  }
  if (note) e.note = note;
  return e;
}

/** Evidence for a resource: the line where the object starts. */
export function resEv(b: Bundle, src: ResourceSource, note?: string): Evidence {
  return ev(b, src.artifact, src.line, note);
}

/** 1-based [first, last] lines of a resource object in its file (first = `source.line` when offsets are unknown). */
export function objectLineRange(b: Bundle, src: ResourceSource): [number, number] | undefined {
  const al = rawLines(b, src.artifact);
  if (!al) return undefined;
  if (src.offset === undefined || src.endOffset === undefined) return [src.line, Math.min(al.count, src.line + 200)];
  const first = al.lineAt(src.offset);
  const last = al.lineAt(Math.max(src.offset, src.endOffset - 1));
  return [first, last];
}

/**
 * The first line inside the object containing `needle` (and, when given, `after` earlier on the
 * same line), as evidence; undefined when not found. Locates a field's line for evidence only.
 */
export function findInObject(b: Bundle, src: ResourceSource, needle: string, note?: string, startLine?: number): Evidence | undefined {
  const range = objectLineRange(b, src);
  const al = rawLines(b, src.artifact);
  if (!range || !al) return undefined;
  for (let l = Math.max(range[0], startLine ?? range[0]); l <= range[1]; l++) {
    if (al.line(l)?.includes(needle)) return ev(b, src.artifact, l, note);
  }
  return undefined;
}

/** The object's text as written (dedented), for a corrected copy in a remediation. */
export function objectText(b: Bundle, src: ResourceSource): string | undefined {
  const text = b.rawText(src.artifact);
  if (text === undefined || src.offset === undefined || src.endOffset === undefined) return undefined;
  let body = text.slice(src.offset, src.endOffset).replace(/\r/g, '');
  const indent = (src.col ?? 1) - 1;
  if (indent > 0) {
    const pad = ' '.repeat(indent);
    body = body
      .split('\n')
      .map((l) => (l.startsWith(pad) ? l.slice(indent) : l.trimStart()))
      .join('\n');
  }
  return body.trimEnd();
}

/** A YAML scalar for a string: plain when safe, else double-quoted (JSON strings are valid YAML). */
export function yamlScalar(s: string): string {
  if (s === '' || /^[\s!&*{}[\]'"%@`|>#,?:-]/.test(s) || /: |\s#|[\n\r\t]|\s$/.test(s) || /^(true|false|null|yes|no|on|off|~|[-+]?\d[\d.eE+-]*)$/i.test(s)) return JSON.stringify(s);
  return s;
}

// ---------------------------------------------------------------------------------------------
// Findings

/** Removes duplicate evidence (same artifact and line) keeping the first. */
export function dedupeEvidence(list: Evidence[]): Evidence[] {
  const seen = new Set<string>();
  const out: Evidence[] = [];
  for (const e of list) {
    const k = `${e.node ?? ''}|${e.artifact}|${e.line ?? 0}|${e.line ? '' : (e.note ?? '')}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(e);
  }
  return out;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** `a, b, c and 4 more`. */
export function listText(items: readonly string[], max = 5): string {
  if (items.length <= max) return items.join(', ');
  return `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
}

export function notChecked(check: string, reason: string, node?: string): NotChecked {
  return node ? { check, node, reason } : { check, reason };
}

// ---------------------------------------------------------------------------------------------
// Nodes and addresses

/** Every node name the cluster knows (Calico Nodes and Kubernetes Nodes). */
export function knownNodeNames(cluster: ClusterResources): Set<string> {
  return new Set([...cluster.calicoNodes.map((n) => n.metadata.name), ...cluster.nodes.map((n) => n.metadata.name)]);
}

const stripLen = (s: string) => s.replace(/\/\d+$/, '');

/** A node's IPv4 address: Calico Node BGP address, the Kubernetes annotation, else InternalIP. */
export function nodeIPv4(cluster: ClusterResources, node: string): string | undefined {
  const cn = cluster.calicoNodes.find((n) => n.metadata.name === node);
  if (cn?.spec.bgp?.ipv4Address) return stripLen(cn.spec.bgp.ipv4Address);
  const kn = cluster.nodes.find((n) => n.metadata.name === node);
  if (kn?.calico.ipv4Address) return stripLen(kn.calico.ipv4Address);
  return kn?.status.addresses.find((a) => a.type === 'InternalIP' && !a.address.includes(':'))?.address;
}

/** Address → node name, from Calico Nodes (BGP, IPv4/IPv6), Kubernetes annotations and InternalIPs. */
export function nodesByAddress(cluster: ClusterResources): Map<string, string> {
  const out = new Map<string, string>();
  const put = (ip: string | undefined, n: string) => {
    if (!ip) return;
    const t = parseIp(stripLen(ip))?.text;
    if (t && !out.has(t)) out.set(t, n);
  };
  for (const cn of cluster.calicoNodes) {
    put(cn.spec.bgp?.ipv4Address, cn.metadata.name);
    put(cn.spec.bgp?.ipv6Address, cn.metadata.name);
    for (const a of cn.spec.addresses) put(a.address, cn.metadata.name);
  }
  for (const kn of cluster.nodes) {
    put(kn.calico.ipv4Address, kn.metadata.name);
    put(kn.calico.ipv6Address, kn.metadata.name);
    for (const a of kn.status.addresses) if (a.type === 'InternalIP' || a.type === 'ExternalIP') put(a.address, kn.metadata.name);
  }
  return out;
}

/** True when the node's iptables dump holds any `cali-` chain. */
export function hasCalicoChains(n: NodeData): boolean {
  const d = n.iptables;
  if (!d) return false;
  for (const t of d.tables.values()) for (const c of t.chains.keys()) if (c.startsWith('cali-')) return true;
  return false;
}

// ---------------------------------------------------------------------------------------------
// CIDRs

export function cidrOf(text: string | undefined): Cidr | undefined {
  return text ? parseCidr(text) : undefined;
}

export function ipOf(text: string | undefined): IpAddr | undefined {
  return text ? parseIp(stripLen(text)) : undefined;
}

/** `outer` contains all of `inner`. */
export function cidrCovers(outer: Cidr, inner: Cidr): boolean {
  if (outer.family !== inner.family || outer.bits > inner.bits) return false;
  return cidrContains(outer, { text: '', family: inner.family, v4: inner.v4, v6: inner.v6 });
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return cidrCovers(a, b) || cidrCovers(b, a);
}

/** Number of addresses of a CIDR (as a number; capped for huge IPv6 prefixes). */
export function cidrSize(c: Cidr): number {
  const host = (c.family === 4 ? 32 : 128) - c.bits;
  return host >= 52 ? Number.MAX_SAFE_INTEGER : 2 ** host;
}

/** The enabled-or-not pool containing a CIDR or address (the most specific one). */
export function poolFor(pools: IPPool[], what: Cidr | IpAddr): IPPool | undefined {
  let best: IPPool | undefined;
  let bestBits = -1;
  for (const p of pools) {
    const c = parseCidr(p.spec.cidr);
    if (!c) continue;
    const inside = 'bits' in what ? cidrCovers(c, what) : cidrContains(c, what);
    if (inside && c.bits > bestBits) {
      best = p;
      bestBits = c.bits;
    }
  }
  return best;
}

/** The address at `ordinal` in a block. */
export function addressAt(block: Cidr, ordinal: number): string {
  if (block.family === 4) {
    const v = (block.v4 + ordinal) >>> 0;
    return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
  }
  const v = block.v6 + BigInt(ordinal);
  const parts: string[] = [];
  for (let i = 7; i >= 0; i--) parts.push(Number((v >> BigInt(i * 16)) & 0xffffn).toString(16));
  return parseIp(parts.join(':'))?.text ?? parts.join(':');
}

// ---------------------------------------------------------------------------------------------
// Policy helpers shared by the policy.* checks

export interface PolicySelection {
  /** Endpoint indexes each policy selects (by policy id + kind). */
  selected: Map<ResolvedPolicy, number[]>;
}

const selectionCache = new WeakMap<PolicyModel, PolicySelection>();

/** Which endpoints each policy's (Felix) selector selects; computed once per model. */
export function policySelection(model: PolicyModel): PolicySelection {
  let s = selectionCache.get(model);
  if (s) return s;
  const selected = new Map<ResolvedPolicy, number[]>();
  const byNs = new Map<string | undefined, Endpoint[]>();
  for (const e of model.endpoints) {
    const k = e.namespace;
    const l = byNs.get(k);
    if (l) l.push(e);
    else byNs.set(k, [e]);
  }
  for (const p of model.policies) {
    const eps = p.namespace !== undefined ? (byNs.get(p.namespace) ?? []) : model.endpoints;
    const out: number[] = [];
    if (!p.selectorError) for (const e of eps) if (p.selector.matchesGetter(e.getLabel)) out.push(e.index);
    selected.set(p, out);
  }
  s = { selected };
  selectionCache.set(model, s);
  return s;
}

const ruleSelectionCache = new WeakMap<PolicyModel, Map<string, { endpoints: Endpoint[]; networkSets: number }>>();

/** What a rule-side selector puts in its IP set: matching endpoints and network sets (cached by canonical form). */
export function selectorMembers(model: PolicyModel, sel: Selector): { endpoints: Endpoint[]; networkSets: number } {
  let m = ruleSelectionCache.get(model);
  if (!m) ruleSelectionCache.set(model, (m = new Map()));
  const hit = m.get(sel.canonical);
  if (hit) return hit;
  const endpoints = model.endpoints.filter((e) => sel.matchesGetter(e.getLabel));
  let networkSets = 0;
  for (const ns of model.networkSets) if (sel.matchesGetter(ns.getLabel)) networkSets++;
  const v = { endpoints, networkSets };
  m.set(sel.canonical, v);
  return v;
}

/** `calicoctl get <kind> …` for a policy, for the confirm commands. */
export function policyGetCommand(p: ResolvedPolicy): string {
  switch (p.kind) {
    case 'KubernetesNetworkPolicy':
      return `kubectl get networkpolicy -n ${p.namespace} ${p.k8sName ?? p.name} -o yaml`;
    case 'StagedKubernetesNetworkPolicy':
      return `calicoctl get stagedkubernetesnetworkpolicy -n ${p.namespace} ${p.k8sName ?? p.name} -o yaml`;
    case 'GlobalNetworkPolicy':
      return `calicoctl get globalnetworkpolicy ${p.name} -o yaml`;
    case 'StagedGlobalNetworkPolicy':
      return `calicoctl get stagedglobalnetworkpolicy ${p.name} -o yaml`;
    case 'StagedNetworkPolicy':
      return `calicoctl get stagednetworkpolicy -n ${p.namespace} ${p.name} -o yaml`;
    default:
      return `calicoctl get networkpolicy -n ${p.namespace} ${p.name} -o yaml`;
  }
}

/** How reports name a policy: `GlobalNetworkPolicy allow-dns`, `NetworkPolicy prod/web`. */
export function policyLabel(p: ResolvedPolicy): string {
  const name = p.kind === 'KubernetesNetworkPolicy' || p.kind === 'StagedKubernetesNetworkPolicy' ? `${p.namespace}/${p.k8sName ?? p.name}` : p.id;
  const kind = p.kind === 'KubernetesNetworkPolicy' ? 'Kubernetes NetworkPolicy' : p.kind;
  return `${kind} ${name}`;
}

/** The resource source of a resolved policy (for the object's text and field lines). */
export function policySource(b: Bundle, p: ResolvedPolicy): ResourceSource | undefined {
  const c = b.cluster;
  const lists = [c.calicoNetworkPolicies, c.globalNetworkPolicies, c.stagedNetworkPolicies, c.stagedGlobalNetworkPolicies, c.k8sNetworkPolicies, c.stagedKubernetesNetworkPolicies];
  for (const l of lists) {
    for (const o of l) if (o.source.artifact === p.evidence.artifact && o.source.line === p.evidence.line) return o.source;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// BGP sessions of a node, from BIRD (preferred) or `calicoctl node status`

export interface BgpSession {
  node: string;
  /** BIRD protocol name (`Mesh_10_0_0_12`); absent from calicoctl node status. */
  name?: string;
  peerIp: string;
  /** `node-to-node mesh`, `global`, `node specific`, or BIRD's protocol name prefix. */
  type?: string;
  state: string;
  bgpState?: string;
  lastError?: string;
  since?: string;
  neighborAs?: number;
  established: boolean;
  artifact: string;
  line: number;
  /** Line of `Neighbor AS:` / `Last error:` in `show protocols all`, when printed. */
  detailLines?: { neighborAs?: number; lastError?: number };
  from: 'bird' | 'node-status';
}

/** The node's BGP sessions, or undefined when the bundle has neither bird-protocols nor calicoctl-node-status for it. */
export function bgpSessions(b: Bundle, n: NodeData): BgpSession[] | undefined {
  const out: BgpSession[] = [];
  const bird = [
    ...(n.birdProtocols ?? []).map((p) => ({ p, artifact: n.artifacts['bird-protocols'] ?? '' })),
    ...(n.bird6Protocols ?? []).map((p) => ({ p, artifact: n.artifacts['bird6-protocols'] ?? '' })),
  ];
  if (n.birdProtocols || n.bird6Protocols) {
    for (const { p, artifact } of bird) {
      if (p.proto.toUpperCase() !== 'BGP') continue;
      const peerIp = p.neighborAddress ?? p.peer?.ip;
      if (!peerIp) continue;
      const s: BgpSession = {
        node: n.name,
        name: p.name,
        peerIp: parseIp(peerIp)?.text ?? peerIp,
        state: p.state,
        established: (p.bgpState ?? '').toLowerCase() === 'established',
        artifact,
        line: p.line,
        from: 'bird',
      };
      if (p.peer) s.type = p.peer.type;
      if (p.bgpState) s.bgpState = p.bgpState;
      const lastError = p.detail?.['Last error'] ?? p.lastError;
      if (lastError) s.lastError = lastError;
      if (p.since) s.since = p.since;
      if (p.neighborAs !== undefined) s.neighborAs = p.neighborAs;
      const dl = detailLines(b, artifact, p.line);
      if (dl) s.detailLines = dl;
      out.push(s);
    }
    return out;
  }
  const st = n.nodeStatus;
  if (!st) return undefined;
  const artifact = n.artifacts['calicoctl-node-status'] ?? '';
  for (const p of [...st.ipv4Peers, ...st.ipv6Peers]) {
    const s: BgpSession = {
      node: n.name,
      peerIp: parseIp(p.address)?.text ?? p.address,
      type: p.type,
      state: p.state,
      established: (p.bgpState ?? p.info.split(' ')[0] ?? '').toLowerCase() === 'established',
      artifact,
      line: p.line,
      from: 'node-status',
    };
    if (p.bgpState) s.bgpState = p.bgpState;
    if (p.lastError) s.lastError = p.lastError;
    if (p.since) s.since = p.since;
    out.push(s);
  }
  return out;
}

/** Lines of `Neighbor AS:` and `Last error:` in the protocol's `show protocols all` block. */
function detailLines(b: Bundle, artifact: string, rowLine: number): BgpSession['detailLines'] | undefined {
  const al = rawLines(b, artifact);
  if (!al) return undefined;
  const out: NonNullable<BgpSession['detailLines']> = {};
  for (let i = rowLine; i < al.count; i++) {
    const l = al.line(i + 1)!;
    if (l.trim() === '' || /^\S/.test(l.replace(/^\d{4}[ -]/, ''))) break;
    if (/Neighbor AS:/.test(l)) out.neighborAs = i + 1;
    if (/Last error:/.test(l)) out.lastError = i + 1;
  }
  return out.neighborAs || out.lastError ? out : undefined;
}

/** The AS number a node runs with according to the cluster resources. */
export function configuredAs(cluster: ClusterResources, node: string): { as: number; from: string; source?: ResourceSource } {
  const cn = cluster.calicoNodes.find((n) => n.metadata.name === node);
  if (cn?.spec.bgp?.asNumber !== undefined) return { as: cn.spec.bgp.asNumber, from: `Node ${node} spec.bgp.asNumber`, source: cn.source };
  const kn = cluster.nodes.find((n) => n.metadata.name === node);
  if (kn?.calico.asNumber !== undefined) return { as: kn.calico.asNumber, from: `Node ${node} annotation projectcalico.org/ASNumber`, source: kn.source };
  const g = cluster.bgpConfigurations.find((c) => c.spec.scope === 'global');
  if (g) return { as: g.spec.asNumber, from: g.spec.defaulted.includes('asNumber') ? 'BGPConfiguration default (asNumber not set: 64512)' : 'BGPConfiguration default spec.asNumber', source: g.source };
  return { as: 64512, from: "Calico's default AS 64512 (no BGPConfiguration in the bundle)" };
}
