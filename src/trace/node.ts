/**
 * One node's handling of a packet, in kernel order:
 *   arrival on an interface → PREROUTING (raw, mangle, nat) → routing (+ rp_filter, forwarding)
 *   → INPUT (local: then VXLAN/IPIP decapsulation) or FORWARD (MTU, then POSTROUTING, egress)
 *   locally generated: routing → OUTPUT (raw, mangle, nat, filter) → POSTROUTING → egress
 * Egress through vxlan.calico / tunl0 / wireguard.cali wraps the packet in an outer packet that is
 * itself locally generated on the same node. Conntrack is simulated per node: NEW on the way
 * out, ESTABLISHED with reverse NAT for the reply.
 */
import type { Chooser } from '../engine/netfilter/env.js';
import { runHook, type HookName, type HookResult } from '../engine/netfilter/evaluate.js';
import { clonePacket, protoName, type CtInfo, type Packet } from '../engine/packet.js';
import type { RouteDecision } from '../engine/routing.js';
import { effectiveRpFilter, getSysctlNumber, ifaceSetting, ipForwarding, sysctlKey, effectiveIfaceSetting } from '../model/sysctl.js';
import type { Evidence } from '../model/evidence.js';
import type { NodeRuntime } from './runtime.js';
import type { DropInfo, PacketView, Step } from './types.js';

/** A packet on the wire, possibly carrying an inner packet. */
export interface Wire {
  pkt: Packet;
  inner?: Packet;
  encap?: 'vxlan' | 'ipip' | 'wireguard';
}

export type NodeOutcome =
  | { kind: 'drop'; drop: DropInfo }
  | { kind: 'indeterminate'; reason: string; evidence?: Evidence[] }
  | { kind: 'deliver-pod'; iface: string; pkt: Packet }
  | { kind: 'deliver-host'; pkt: Packet }
  | { kind: 'out'; dev: string; nextHop: string; wire: Wire }
  /** Decapsulated: the inner packet now arrives on a tunnel device of the same node. */
  | { kind: 'decap'; iface: string; wire: Wire };

/** What the node remembers about the flow for the reply (its conntrack entry). */
export interface CtRecord {
  orig: { src: string; dst: string; sport?: number; dport?: number };
  dnat: boolean;
  snat: boolean;
  mark: number;
}

export interface FlowState {
  chooser: Chooser;
  direction: 'forward' | 'reply';
  /** Per node: the conntrack entry the forward pass created. */
  conntrack: Map<string, CtRecord>;
  notes: string[];
}

export function view(p: Packet, inner?: Packet): PacketView {
  return {
    src: p.src,
    dst: p.dst,
    proto: protoName(p.proto),
    sport: p.sport,
    dport: p.dport,
    length: p.length,
    mark: p.mark ? `0x${p.mark.toString(16)}` : undefined,
    inner: inner ? { src: inner.src, dst: inner.dst } : undefined,
  };
}

function art(nr: NodeRuntime, kind: keyof NodeRuntime['data']['artifacts']): string {
  return nr.data.artifacts[kind] ?? `nodes/${nr.name}/${kind}`;
}

function sysctlEvidence(nr: NodeRuntime, key: string, line: number, value: number | string): Evidence {
  return { artifact: art(nr, 'sysctl'), node: nr.name, line, text: `${key} = ${value}` };
}

function routeEvidence(nr: NodeRuntime, d: RouteDecision): Evidence | undefined {
  if (!d.route) return undefined;
  return { artifact: d.route.line > 0 ? art(nr, 'ip-route') : art(nr, 'ip-addr'), node: nr.name, line: d.route.line || undefined, text: d.route.raw.split('\n')[0] };
}

function routeSummary(d: RouteDecision): string {
  const r = d.route;
  const where = r ? `${r.dst}${r.table !== 'main' ? ` table ${r.table}` : ''}` : '';
  switch (d.kind) {
    case 'unicast':
      return `${where} → ${d.gateway ? `via ${d.gateway} ` : ''}dev ${d.dev}${d.onlink ? ' onlink' : ''}`;
    case 'local':
      return `${where} is local (${d.dev})`;
    case 'no-route':
      return d.note ?? 'no route';
    default:
      return `${where} ${d.kind}`;
  }
}

/** The Decision of a non-accepting hook as a DropInfo. */
function hookDrop(nr: NodeRuntime, h: HookResult, family: 4 | 6): DropInfo {
  const d = h.decision!;
  return {
    node: nr.name,
    where: d.rule ? 'rule' : 'policy',
    table: d.table,
    chain: d.chain,
    rule: d.rule?.index,
    artifact: family === 4 ? art(nr, 'iptables') : art(nr, 'ip6tables'),
    line: d.line || undefined,
    text: d.rule ? d.rule.raw : d.text,
    reason: h.fate === 'reject' ? `rejected by ${d.table}/${d.chain}` : d.rule ? `dropped by ${d.table}/${d.chain} rule ${d.rule.index}` : `${d.table}/${d.chain} policy ${d.policy}`,
  };
}

function resetCt(p: Packet, state: CtInfo['state'], dir: CtInfo['dir']): void {
  const t = { src: p.src, dst: p.dst, sport: p.sport, dport: p.dport };
  p.ct = { state, dir, dnat: false, snat: false, status: state === 'ESTABLISHED' ? ['SEEN_REPLY', 'CONFIRMED'] : [], mark: 0, orig: t, reply: { src: p.dst, dst: p.src, sport: p.dport, dport: p.sport } };
}

/** On arrival at a node (or on local generation) the skb mark is clean and conntrack is this node's own. */
function enterNode(nr: NodeRuntime, p: Packet, fs: FlowState, outer: boolean): CtRecord | undefined {
  p.mark = 0;
  if (outer || fs.direction === 'forward') {
    resetCt(p, 'NEW', 'ORIGINAL');
    return undefined;
  }
  const rec = fs.conntrack.get(nr.name);
  if (!rec) {
    // No entry on this node: a TCP or ICMP answer with no connection is INVALID; UDP starts a new one.
    resetCt(p, p.proto === 17 ? 'NEW' : 'INVALID', 'ORIGINAL');
    fs.notes.push(`${nr.name}: the reply has no conntrack entry here (asymmetric path?): state ${p.ct.state}`);
    return undefined;
  }
  resetCt(p, 'ESTABLISHED', 'REPLY');
  p.ct.dnat = rec.dnat;
  p.ct.snat = rec.snat;
  p.ct.mark = rec.mark;
  p.ct.orig = { ...rec.orig };
  return rec;
}

function hook(nr: NodeRuntime, name: HookName, p: Packet, fs: FlowState, steps: Step[]): HookResult | undefined {
  const rs = p.family === 4 ? nr.rules4 : nr.rules6;
  if (!rs) return undefined;
  const h = runHook(rs, name, p, nr.env, fs.chooser);
  steps.push({ kind: 'hook', hook: name, fate: h.fate, tables: h.tables.map((t) => ({ table: t.table, fate: t.fate, evaluated: t.evaluated })), hits: h.hits, decision: h.decision, nat: h.nat });
  return h;
}

function hookOutcome(nr: NodeRuntime, h: HookResult | undefined, p: Packet): NodeOutcome | undefined {
  if (!h || h.fate === 'accept') return undefined;
  if (h.fate === 'indeterminate') {
    const d = h.decision!;
    return { kind: 'indeterminate', reason: `${nr.name} ${d.table}/${d.chain}: ${d.reason ?? 'cannot be evaluated'}`, evidence: [{ artifact: art(nr, 'iptables'), node: nr.name, line: d.line, text: d.text }] };
  }
  return { kind: 'drop', drop: hookDrop(nr, h, p.family) };
}

function routeDrop(nr: NodeRuntime, d: RouteDecision, p: Packet): DropInfo {
  const ev = routeEvidence(nr, d);
  const reason =
    d.kind === 'no-route'
      ? `no route to ${p.dst} on ${nr.name}${d.note ? ` (${d.note})` : ''}`
      : `${d.kind} route ${d.route?.dst ?? ''} on ${nr.name} covers ${p.dst}${d.rule ? ` (via ip rule ${d.rule.priority})` : ''}`;
  return { node: nr.name, where: 'route', table: d.table, artifact: ev?.artifact ?? art(nr, 'ip-route'), line: ev?.line, text: ev?.text, reason };
}

function route(nr: NodeRuntime, p: Packet, iif: string, steps: Step[]): RouteDecision {
  const d = nr.routing.lookup({ family: p.family, dst: p.dst, src: p.src, mark: p.mark, iif, proto: p.proto, sport: p.sport, dport: p.dport });
  steps.push({ kind: 'route', decision: d, evidence: routeEvidence(nr, d), summary: routeSummary(d) });
  return d;
}

function check(steps: Step[], name: string, ok: boolean, detail: string, evidence?: Evidence): boolean {
  steps.push({ kind: 'check', name, ok, detail, evidence });
  return ok;
}

function isVxlan(nr: NodeRuntime, dev: string): boolean {
  const i = nr.interfaces.get(dev);
  return i ? i.kind === 'vxlan' || !!i.vxlan : /^vxlan(-v6)?\.calico$/.test(dev);
}
function isIpip(nr: NodeRuntime, dev: string): boolean {
  const i = nr.interfaces.get(dev);
  return i ? i.kind === 'ipip' || dev === 'tunl0' : dev === 'tunl0';
}
function isWireguard(nr: NodeRuntime, dev: string): boolean {
  const i = nr.interfaces.get(dev);
  return i ? i.kind === 'wireguard' : /^(wireguard\.cali|wg-v6\.cali)$/.test(dev);
}
export function isWorkloadIface(dev: string): boolean {
  return /^cali[0-9a-f]{11}$/.test(dev) || (dev.startsWith('cali') && !dev.startsWith('calico'));
}

/** Kernel checks on the incoming interface (it must exist and be up). */
function checkInterface(nr: NodeRuntime, iface: string, steps: Step[]): NodeOutcome | undefined {
  const i = nr.interfaces.get(iface);
  if (nr.interfaces.size === 0) return undefined;
  if (!i) return { kind: 'drop', drop: { node: nr.name, where: 'interface', artifact: art(nr, 'ip-addr'), reason: `interface ${iface} does not exist on ${nr.name}` } };
  if (!i.up) {
    check(steps, 'interface', false, `${iface} is down`, { artifact: art(nr, 'ip-addr'), node: nr.name, line: i.line, text: `${iface} <${i.flags.join(',')}>` });
    return { kind: 'drop', drop: { node: nr.name, where: 'interface', artifact: art(nr, 'ip-addr'), line: i.line, text: `${iface} <${i.flags.join(',')}>`, reason: `interface ${iface} is down on ${nr.name}` } };
  }
  return undefined;
}

/**
 * A frame larger than the receiving link's MTU is not received: a veth peer drops it
 * (is_skb_forwardable), a bridge or switch port in front of a smaller NIC drops it on transmit,
 * and NICs drop oversize frames. No ICMP error is sent, so DF traffic to a node whose underlay
 * MTU is smaller than the sender's silently disappears. Only DF packets are judged: a packet
 * without DF was fragmented to the sending interface's MTU, which the trace does not model per
 * fragment. Tunnel devices (decapsulated packets) and pod veths are not wire arrivals.
 */
function receiveMtuCheck(nr: NodeRuntime, p: Packet, iface: string, steps: Step[]): NodeOutcome | undefined {
  if (!p.df || isWorkloadIface(iface) || isVxlan(nr, iface) || isIpip(nr, iface) || isWireguard(nr, iface)) return undefined;
  const i = nr.interfaces.get(iface);
  if (!i?.mtu || p.length <= i.mtu) return undefined;
  const ev: Evidence = { artifact: art(nr, 'ip-addr'), node: nr.name, line: i.line, text: `${iface} mtu ${i.mtu}` };
  check(steps, 'mtu', false, `a ${p.length}-byte DF packet arrives on ${iface} (mtu ${i.mtu}): larger than the link's MTU, the frame is not received and no ICMP error is sent`, ev);
  return { kind: 'drop', drop: { node: nr.name, where: 'mtu', artifact: ev.artifact, line: ev.line, text: ev.text, reason: `a ${p.length}-byte DF packet is larger than ${iface} (mtu ${i.mtu}) on ${nr.name}: the sender's link MTU is larger than this node's, so the frame is lost on the way in, silently` } };
}

/** A packet arriving on `iface` of this node. */
export function processArrival(nr: NodeRuntime, wire: Wire, iface: string, fs: FlowState, steps: Step[]): NodeOutcome {
  const p = wire.pkt;
  p.inIface = iface;
  p.outIface = undefined;
  const rec = enterNode(nr, p, fs, wire.inner !== undefined);
  const bad = checkInterface(nr, iface, steps) ?? receiveMtuCheck(nr, p, iface, steps);
  if (bad) return bad;

  const pre = hook(nr, 'PREROUTING', p, fs, steps);
  const preOut = hookOutcome(nr, pre, p);
  if (preOut) return preOut;
  if (rec?.snat) {
    // Reply of a source-NATed connection: conntrack restores the original destination before routing.
    steps.push({ kind: 'conntrack', detail: `reply to a SNATed connection: destination ${p.dst} → ${rec.orig.src}` });
    p.dst = rec.orig.src;
    if (rec.orig.sport !== undefined) p.dport = rec.orig.sport;
  }

  const d = route(nr, p, iface, steps);
  if (d.kind === 'blackhole' || d.kind === 'unreachable' || d.kind === 'prohibit' || d.kind === 'no-route') return { kind: 'drop', drop: routeDrop(nr, d, p) };

  // rp_filter (in the kernel this is part of the input route lookup).
  if (p.family === 4 && nr.data.sysctl) {
    const rp = effectiveRpFilter(nr.data.sysctl, iface);
    if (rp && rp.num > 0) {
      const ok = nr.routing.reversePath(p, { loose: rp.num === 2, validmark: (getSysctlNumber(nr.data.sysctl, sysctlKey('net', 'ipv4', 'conf', iface, 'src_valid_mark'))?.num ?? 0) > 0, acceptLocal: false });
      if (ok === false) {
        const ev = sysctlEvidence(nr, rp.key, rp.line, rp.num);
        check(steps, 'rp_filter', false, `rp_filter=${rp.num} (${rp.num === 1 ? 'strict' : 'loose'}) on ${iface}: the route back to ${p.src} does not leave by ${iface}`, ev);
        return { kind: 'drop', drop: { node: nr.name, where: 'sysctl', artifact: ev.artifact, line: ev.line, text: ev.text, reason: `reverse-path filter on ${nr.name} ${iface}: ${p.src} is not reachable back through ${iface}` } };
      }
    }
  }

  if (d.kind === 'local' || d.kind === 'broadcast' || d.kind === 'multicast') {
    const inp = hook(nr, 'INPUT', p, fs, steps);
    const o = hookOutcome(nr, inp, p);
    if (o) return o;
    if (rec?.dnat) {
      p.src = rec.orig.dst;
      if (rec.orig.dport !== undefined) p.sport = rec.orig.dport;
    }
    recordCt(nr, p, fs);
    if (wire.inner) return decapsulate(nr, wire, fs, steps);
    return { kind: 'deliver-host', pkt: p };
  }

  // Forwarding.
  if (nr.data.sysctl && p.family === 4) {
    const f = effectiveIfaceSetting(nr.data.sysctl, iface, 'forwarding') ?? (() => {
      const g = ipForwarding(nr.data.sysctl!, 4);
      return g ? { key: g.key, num: g.num, line: g.line } : undefined;
    })();
    if (f && f.num === 0) {
      const ev = sysctlEvidence(nr, f.key, f.line, 0);
      check(steps, 'forwarding', false, `IP forwarding is off for ${iface}`, ev);
      return { kind: 'drop', drop: { node: nr.name, where: 'sysctl', artifact: ev.artifact, line: ev.line, text: ev.text, reason: `${nr.name} does not forward IPv4 packets arriving on ${iface} (${f.key} = 0)` } };
    }
  }
  p.outIface = d.dev;
  // ip_forward() checks the MTU before the FORWARD hook.
  const mtuOut = mtuCheck(nr, p, d, steps);
  if (mtuOut) return mtuOut;
  const fwd = hook(nr, 'FORWARD', p, fs, steps);
  const fo = hookOutcome(nr, fwd, p);
  if (fo) return fo;
  return postrouteAndEmit(nr, p, d, fs, steps, rec);
}

function mtuCheck(nr: NodeRuntime, p: Packet, d: RouteDecision, steps: Step[]): NodeOutcome | undefined {
  const mtu = d.mtu ?? (d.dev ? nr.interfaces.get(d.dev)?.mtu : undefined);
  if (mtu === undefined || p.length <= mtu) return undefined;
  const i = d.dev ? nr.interfaces.get(d.dev) : undefined;
  const ev: Evidence = { artifact: art(nr, 'ip-addr'), node: nr.name, line: i?.line, text: `${d.dev} mtu ${mtu}` };
  if (!p.df) {
    check(steps, 'mtu', true, `${p.length}-byte packet is fragmented to fit ${d.dev} mtu ${mtu}`, ev);
    return undefined;
  }
  check(steps, 'mtu', false, `${p.length}-byte packet with DF set is larger than ${d.dev} mtu ${mtu}: ICMP fragmentation-needed, dropped`, ev);
  return { kind: 'drop', drop: { node: nr.name, where: 'mtu', artifact: ev.artifact, line: ev.line, text: ev.text, reason: `a ${p.length}-byte DF packet does not fit ${d.dev} (mtu ${mtu}) on ${nr.name}` } };
}

function recordCt(nr: NodeRuntime, p: Packet, fs: FlowState): void {
  if (fs.direction !== 'forward' || fs.conntrack.has(nr.name) || p.ct.state === 'UNTRACKED') return;
  fs.conntrack.set(nr.name, { orig: { ...p.ct.orig }, dnat: p.ct.dnat, snat: p.ct.snat, mark: p.ct.mark });
}

function postrouteAndEmit(nr: NodeRuntime, p: Packet, d: RouteDecision, fs: FlowState, steps: Step[], rec: CtRecord | undefined): NodeOutcome {
  const post = hook(nr, 'POSTROUTING', p, fs, steps);
  const po = hookOutcome(nr, post, p);
  if (po) return po;
  if (rec?.dnat) {
    steps.push({ kind: 'conntrack', detail: `reply to a DNATed connection: source ${p.src} → ${rec.orig.dst}` });
    p.src = rec.orig.dst;
    if (rec.orig.dport !== undefined) p.sport = rec.orig.dport;
  }
  recordCt(nr, p, fs);
  return emit(nr, p, d, fs, steps);
}

/** Hands the packet to its outgoing device: a pod veth, a tunnel (encapsulation) or the underlay. */
function emit(nr: NodeRuntime, p: Packet, d: RouteDecision, fs: FlowState, steps: Step[]): NodeOutcome {
  const dev = d.dev;
  if (!dev) return { kind: 'indeterminate', reason: `route on ${nr.name} has no device` };
  if (nr.interfaces.size > 0) {
    const i = nr.interfaces.get(dev);
    if (!i) return { kind: 'drop', drop: { node: nr.name, where: 'interface', artifact: art(nr, 'ip-addr'), reason: `the route uses ${dev}, which does not exist on ${nr.name}`, ...routeRef(nr, d) } };
    if (!i.up) return { kind: 'drop', drop: { node: nr.name, where: 'interface', artifact: art(nr, 'ip-addr'), line: i.line, text: `${dev} <${i.flags.join(',')}>`, reason: `${dev} is down on ${nr.name}` } };
  }
  if (isWorkloadIface(dev)) return { kind: 'deliver-pod', iface: dev, pkt: p };
  if (isVxlan(nr, dev)) return encapVxlan(nr, p, d, fs, steps);
  if (isIpip(nr, dev)) return encapIpip(nr, p, d, fs, steps);
  if (isWireguard(nr, dev)) return encapWireguard(nr, p, d, fs, steps);
  return { kind: 'out', dev, nextHop: d.gateway ?? p.dst, wire: { pkt: p } };
}

function routeRef(nr: NodeRuntime, d: RouteDecision): { line?: number; text?: string } {
  const ev = routeEvidence(nr, d);
  return ev ? { line: ev.line, text: ev.text } : {};
}

function encapVxlan(nr: NodeRuntime, inner: Packet, d: RouteDecision, fs: FlowState, steps: Step[]): NodeOutcome {
  const dev = d.dev!;
  const link = nr.interfaces.get(dev);
  const gw = d.gateway ?? inner.dst;
  const neigh = nr.data.neighbors?.find((n) => n.dev === dev && n.dst === gw && n.lladdr);
  const evidence: Evidence[] = [];
  if (nr.data.neighbors) {
    if (!neigh)
      return { kind: 'drop', drop: { node: nr.name, where: 'neighbour', artifact: art(nr, 'ip-neigh'), reason: `no neighbour entry for the VTEP ${gw} on ${dev} (Felix programs a permanent one per remote node)` } };
    evidence.push({ artifact: art(nr, 'ip-neigh'), node: nr.name, line: neigh.line, text: `${neigh.dst} dev ${neigh.dev} lladdr ${neigh.lladdr} ${neigh.state.join(' ')}` });
  }
  let remote: string | undefined;
  if (nr.data.fdb && neigh) {
    const f = nr.data.fdb.find((e) => e.dev === dev && e.mac.toLowerCase() === neigh.lladdr!.toLowerCase() && e.dst);
    if (!f) return { kind: 'drop', drop: { node: nr.name, where: 'fdb', artifact: art(nr, 'bridge-fdb'), reason: `no forwarding entry on ${dev} for MAC ${neigh.lladdr} (VTEP ${gw}): the VXLAN packet has no destination` } };
    remote = f.dst;
    evidence.push({ artifact: art(nr, 'bridge-fdb'), node: nr.name, line: f.line, text: `${f.mac} dev ${f.dev} dst ${f.dst}` });
  }
  if (!remote) {
    // Without neighbour/FDB captures: the VTEP address belongs to the node that owns it.
    return { kind: 'indeterminate', reason: `VXLAN on ${nr.name}: no ip-neigh/bridge-fdb capture to find the remote VTEP for ${gw}` };
  }
  const port = link?.vxlan?.port ?? 4789;
  const local = link?.vxlan?.local ?? (link?.vxlan?.dev ? nr.routing.primaryAddress(link.vxlan.dev, 4) : undefined);
  const outer = makeOuter(inner, local ?? '0.0.0.0', remote, 17, 50);
  outer.sport = 40000;
  outer.dport = port;
  const view0 = view(outer, inner);
  steps.push({ kind: 'encap', type: 'vxlan', outer: view0, overhead: 50, detail: `VXLAN VNI ${link?.vxlan?.id ?? 4096}: ${inner.src} → ${inner.dst} inside UDP ${outer.src} → ${remote}:${port} (+50 bytes)`, evidence });
  return localOut(nr, { pkt: outer, inner, encap: 'vxlan' }, fs, steps);
}

function encapIpip(nr: NodeRuntime, inner: Packet, d: RouteDecision, fs: FlowState, steps: Step[]): NodeOutcome {
  const remote = d.gateway;
  if (!remote) return { kind: 'indeterminate', reason: `IPIP route on ${nr.name} without a next hop` };
  const link = nr.interfaces.get(d.dev!);
  // `local any` (Calico's tunl0): the outer source is what routing picks toward the remote end.
  const local = link?.ipip?.local && link.ipip.local !== 'any' ? link.ipip.local : nr.routing.lookup({ family: remote.includes(':') ? 6 : 4, dst: remote, iif: 'lo', proto: 4 }).src;
  const outer = makeOuter(inner, local ?? '0.0.0.0', remote, 4, 20);
  const ev = routeEvidence(nr, d);
  steps.push({ kind: 'encap', type: 'ipip', outer: view(outer, inner), overhead: 20, detail: `IP-in-IP: ${inner.src} → ${inner.dst} inside IP proto 4 to ${remote} (+20 bytes)`, evidence: ev ? [ev] : [] });
  return localOut(nr, { pkt: outer, inner, encap: 'ipip' }, fs, steps);
}

/** Felix's default WireGuard port (FelixConfiguration wireguardListeningPort). */
const WIREGUARD_PORT = 51820;

function encapWireguard(nr: NodeRuntime, inner: Packet, d: RouteDecision, fs: FlowState, steps: Step[]): NodeOutcome {
  const peer = nr.wireguardPeer?.(inner.dst);
  if (!peer) return { kind: 'indeterminate', reason: `WireGuard (${d.dev}) on ${nr.name}: no node in the bundle owns ${inner.dst}, so the peer endpoint is unknown` };
  const local = nr.routing.primaryAddress('eth0', 4, peer.endpoint) ?? '0.0.0.0';
  // IPv4 outer header 20 + UDP 8 + WireGuard data header 16 + auth tag 16 = 60 bytes.
  const outer = makeOuter(inner, local, peer.endpoint, 17, 60);
  outer.sport = WIREGUARD_PORT;
  outer.dport = WIREGUARD_PORT;
  const ev = routeEvidence(nr, d);
  steps.push({
    kind: 'encap',
    type: 'wireguard',
    outer: view(outer, inner),
    overhead: 60,
    detail: `WireGuard: ${inner.src} → ${inner.dst} encrypted to peer ${peer.node} at UDP ${peer.endpoint}:${WIREGUARD_PORT} (+60 bytes)`,
    evidence: ev ? [ev] : [],
  });
  return localOut(nr, { pkt: outer, inner, encap: 'wireguard' }, fs, steps);
}

function makeOuter(inner: Packet, src: string, dst: string, proto: number, overhead: number): Packet {
  const o = clonePacket(inner);
  o.src = src;
  o.dst = dst;
  o.proto = proto;
  o.sport = undefined;
  o.dport = undefined;
  o.icmpType = undefined;
  o.icmpCode = undefined;
  o.tcpFlags = undefined;
  o.length = inner.length + overhead;
  // The VXLAN device leaves DF unset on the outer header by default (df unset): it may fragment.
  o.df = false;
  o.family = dst.includes(':') ? 6 : 4;
  return o;
}

/** Locally generated packet (an encapsulated outer packet, or the host itself sending). */
export function localOut(nr: NodeRuntime, wire: Wire, fs: FlowState, steps: Step[]): NodeOutcome {
  const p = wire.pkt;
  enterNode(nr, p, fs, wire.inner !== undefined);
  p.inIface = undefined;
  const d0 = route(nr, p, 'lo', steps);
  if (d0.kind === 'blackhole' || d0.kind === 'unreachable' || d0.kind === 'prohibit' || d0.kind === 'no-route') return { kind: 'drop', drop: routeDrop(nr, d0, p) };
  if (p.src === '0.0.0.0' && d0.src) p.src = d0.src;
  p.outIface = d0.dev;
  const dstBefore = p.dst;
  const out = hook(nr, 'OUTPUT', p, fs, steps);
  const oo = hookOutcome(nr, out, p);
  if (oo) return oo;
  let d = d0;
  if (p.dst !== dstBefore) {
    d = route(nr, p, 'lo', steps);
    if (d.kind === 'blackhole' || d.kind === 'unreachable' || d.kind === 'prohibit' || d.kind === 'no-route') return { kind: 'drop', drop: routeDrop(nr, d, p) };
    p.outIface = d.dev;
  }
  if (d.kind === 'local') {
    recordCt(nr, p, fs);
    return { kind: 'deliver-host', pkt: p };
  }
  const mtu = d.mtu ?? (d.dev ? nr.interfaces.get(d.dev)?.mtu : undefined);
  if (mtu !== undefined && p.length > mtu) {
    if (p.df) return mtuCheck(nr, p, d, steps)!;
    steps.push({ kind: 'check', name: 'mtu', ok: true, detail: `${p.length}-byte packet is fragmented to fit ${d.dev} mtu ${mtu}` });
  }
  const post = hook(nr, 'POSTROUTING', p, fs, steps);
  const po = hookOutcome(nr, post, p);
  if (po) return po;
  if (!wire.inner) recordCt(nr, p, fs);
  const dev = d.dev!;
  if (isWorkloadIface(dev)) return { kind: 'deliver-pod', iface: dev, pkt: p };
  if (!wire.inner && (isVxlan(nr, dev) || isIpip(nr, dev) || isWireguard(nr, dev))) return emit(nr, p, d, fs, steps);
  return { kind: 'out', dev, nextHop: d.gateway ?? p.dst, wire };
}

function decapsulate(nr: NodeRuntime, wire: Wire, fs: FlowState, steps: Step[]): NodeOutcome {
  const outer = wire.pkt;
  const inner = wire.inner!;
  let dev: string | undefined;
  if (wire.encap === 'vxlan') {
    dev = [...nr.interfaces.values()].find((i) => (i.kind === 'vxlan' || i.vxlan) && (i.vxlan?.port ?? 4789) === outer.dport)?.name;
    if (!dev && nr.interfaces.size > 0)
      return { kind: 'drop', drop: { node: nr.name, where: 'interface', artifact: art(nr, 'ip-addr'), reason: `no VXLAN device listening on UDP ${outer.dport} on ${nr.name}: the encapsulated packet is discarded` } };
    dev ??= 'vxlan.calico';
  } else if (wire.encap === 'ipip') {
    dev = [...nr.interfaces.values()].find((i) => i.kind === 'ipip' || i.name === 'tunl0')?.name;
    if (!dev && nr.interfaces.size > 0) return { kind: 'drop', drop: { node: nr.name, where: 'interface', artifact: art(nr, 'ip-addr'), reason: `no IPIP tunnel device (tunl0) on ${nr.name}` } };
    dev ??= 'tunl0';
  } else if (wire.encap === 'wireguard') {
    dev = [...nr.interfaces.values()].find((i) => i.kind === 'wireguard' || /^wireguard\.cali$/.test(i.name))?.name;
    if (!dev && nr.interfaces.size > 0) return { kind: 'drop', drop: { node: nr.name, where: 'interface', artifact: art(nr, 'ip-addr'), reason: `no WireGuard device (wireguard.cali) on ${nr.name}: the encrypted packet is discarded` } };
    dev ??= 'wireguard.cali';
  } else return { kind: 'indeterminate', reason: `an encapsulated packet of unknown type reached ${nr.name}` };
  steps.push({ kind: 'decap', type: wire.encap, iface: dev, detail: `${wire.encap.toUpperCase()} decapsulated on ${dev}: inner ${inner.src} → ${inner.dst}` });
  return { kind: 'decap', iface: dev, wire: { pkt: inner } };
}

/** Checks on the pod side of a workload veth before the packet reaches the host (M3). */
export function podEgressChecks(nr: NodeRuntime, iface: string, steps: Step[]): DropInfo | undefined {
  if (nr.interfaces.size > 0) {
    const i = nr.interfaces.get(iface);
    if (!i) return { node: nr.name, where: 'interface', artifact: art(nr, 'ip-addr'), reason: `the pod's host-side veth ${iface} does not exist on ${nr.name}` };
    check(steps, 'interface', i.up, `${iface} ${i.up ? 'is up' : 'is down'}${i.mtu ? `, mtu ${i.mtu}` : ''}`, { artifact: art(nr, 'ip-addr'), node: nr.name, line: i.line, text: `${iface} <${i.flags.join(',')}> mtu ${i.mtu ?? '?'}` });
    if (!i.up) return { node: nr.name, where: 'interface', artifact: art(nr, 'ip-addr'), line: i.line, text: `${iface} <${i.flags.join(',')}>`, reason: `the pod's veth ${iface} is down on ${nr.name}` };
  }
  if (nr.data.sysctl) {
    const pa = ifaceSetting(nr.data.sysctl, iface, 'proxy_arp');
    const eff = effectiveIfaceSetting(nr.data.sysctl, iface, 'proxy_arp');
    if (eff && eff.num === 0) {
      const ev = sysctlEvidence(nr, pa?.key ?? eff.key, pa?.line ?? eff.line, 0);
      check(steps, 'proxy_arp', false, `proxy_arp is off on ${iface}: the pod cannot resolve its gateway 169.254.1.1`, ev);
      return { node: nr.name, where: 'sysctl', artifact: ev.artifact, line: ev.line, text: ev.text, reason: `proxy_arp is off on ${iface} (${nr.name}): the pod's ARP for 169.254.1.1 gets no answer` };
    }
    if (eff) check(steps, 'proxy_arp', true, `proxy_arp on ${iface} answers the pod's ARP for 169.254.1.1`, sysctlEvidence(nr, eff.key, eff.line, eff.num));
  }
  return undefined;
}
