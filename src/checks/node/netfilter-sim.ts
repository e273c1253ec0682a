/**
 * Pod packets through one node's netfilter hooks, for the rule checks: a packet from a remote
 * pod to a local one, from a local pod to a remote one, between two local pods, from a local pod
 * to an external address, and encapsulated (VXLAN / IP-in-IP) packets from other nodes — each
 * with the interfaces the node's routing gives it. Packets can be shaped after a rule (its
 * protocol, port and addresses) so the question "does this rule ever decide pod traffic" is
 * answered by the engine, not by guessing. Unknown matches are assumed not to match.
 */
import { FixedChooser, type Chooser } from '../../engine/netfilter/env.js';
import { runHook, type Decision, type HookName } from '../../engine/netfilter/evaluate.js';
import { CompiledRuleset } from '../../engine/netfilter/compile.js';
import { clonePacket, newPacket, type Packet } from '../../engine/packet.js';
import type { Bundle, NodeData } from '../../model/bundle.js';
import { cidrContains, type Cidr, type IptablesSave, type IptRule } from '../../model/iptables.js';
import { classifyChain } from '../../parse/iptables-classify.js';
import type { Endpoint } from '../../calico/endpoints.js';
import type { NodeRuntime } from '../../trace/runtime.js';
import type { CheckContext } from '../types.js';
import { encapPools, localEndpoints, nodeIPv4, poolInfos, poolOf, tunnelKind, underlayIface, vxlanPort } from './common.js';

export type FlowKind = 'to-local-pod' | 'from-local-pod' | 'pod-to-pod-local' | 'pod-to-external' | 'encap-in';

export interface Flow {
  kind: FlowKind;
  /** Human description: `TCP 10.244.2.1 → 10.244.1.1:80 (api-2 → web-1)`. */
  desc: string;
  pkt: Packet;
  /** Hooks in order (PREROUTING then FORWARD or INPUT). */
  hooks: HookName[];
  /** Pods involved (ids). */
  pods: string[];
}

export interface FlowResult {
  flow: Flow;
  fate: 'accept' | 'drop' | 'reject' | 'indeterminate';
  hook?: HookName;
  decision?: Decision;
}

/** A rule of Calico (cali- chain or `cali:` hash comment) or kube-proxy (KUBE- chain): not foreign. */
export function ruleOwner(r: IptRule): 'calico' | 'kube-proxy' | 'other' {
  const role = classifyChain(r.chain, r.table);
  if (role.startsWith('calico-')) return 'calico';
  if (role.startsWith('kube-proxy')) return 'kube-proxy';
  if (r.comments.some((c) => c.startsWith('cali:'))) return 'calico';
  if (role === 'builtin' && r.target?.kind === 'jump' && r.target.chain.startsWith('KUBE-')) return 'kube-proxy';
  return 'other';
}

/** What a rule asks of a packet: protocol, port, addresses (non-negated only). */
export interface RuleShape {
  proto?: number;
  dport?: number;
  src?: Cidr;
  dst?: Cidr;
}

export function ruleShape(r: IptRule): RuleShape {
  const s: RuleShape = {};
  for (const m of r.matches) {
    if (m.kind === 'protocol' && !m.negate && m.number !== 0) s.proto = m.number;
    else if ((m.kind === 'tcp' || m.kind === 'udp' || m.kind === 'sctp') && m.dport && !m.dport.negate) s.dport = m.dport.from;
    else if (m.kind === 'multiport' && !m.negate && m.dir !== 'src' && m.ports.length) s.dport = m.ports[0].from;
    else if (m.kind === 'source' && !m.negate && m.cidr.prefixLen !== 0) s.src = m.cidr;
    else if (m.kind === 'destination' && !m.negate && m.cidr.prefixLen !== 0) s.dst = m.cidr;
  }
  return s;
}

const PROTO_NAME: Record<number, string> = { 1: 'ICMP', 4: 'IPIP', 6: 'TCP', 17: 'UDP', 132: 'SCTP' };

function describe(p: Packet, note: string): string {
  const port = p.dport !== undefined ? `:${p.dport}` : '';
  return `${PROTO_NAME[p.proto] ?? `proto ${p.proto}`} ${p.src} → ${p.dst}${port}${note ? ` (${note})` : ''}`;
}

function firstAddr(c: Cidr): string {
  if (c.family !== 4 || c.v4 === undefined) return c.addr;
  const v = (c.prefixLen ?? 32) >= 31 ? c.v4 >>> 0 : (c.v4 + 1) >>> 0;
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

/** Builds and runs pod flows on one node; one instance per node and dump. */
export class NodeFlows {
  readonly local: { ep: Endpoint; ip: string }[];
  readonly remote: { ep: Endpoint; ip: string }[];
  private readonly rs: CompiledRuleset;

  constructor(
    private readonly ctx: CheckContext,
    private readonly nr: NodeRuntime,
    readonly dump: IptablesSave,
  ) {
    const model = ctx.policy();
    this.local = localEndpoints(model, nr.name).flatMap((ep) => ep.ips.filter((ip) => !ip.includes(':')).map((ip) => ({ ep, ip })));
    this.remote = model.endpoints
      .filter((e) => e.kind === 'workload' && e.node && e.node !== nr.name)
      .flatMap((ep) => ep.ips.filter((ip) => !ip.includes(':')).map((ip) => ({ ep, ip })));
    this.rs = dump === nr.data.iptables && nr.rules4 ? nr.rules4 : new CompiledRuleset(dump);
  }

  private pkt(src: string, dst: string, shape: RuleShape, inIface: string | undefined, outIface: string | undefined): Packet {
    const proto = shape.proto ?? 6;
    const p = newPacket({ src, dst, proto, dport: proto === 6 || proto === 17 || proto === 132 ? (shape.dport ?? 80) : undefined });
    p.inIface = inIface;
    p.outIface = outIface;
    return p;
  }

  private pick(list: { ep: Endpoint; ip: string }[], c: Cidr | undefined, not?: string): { ep: Endpoint; ip: string } | undefined {
    return list.find((x) => x.ip !== not && (!c || cidrContains(c, x.ip) === true));
  }

  /** The device a packet to `dst` leaves by (or arrives from, for a source), per the node's routing. */
  private devFor(ip: string): string | undefined {
    const d = this.nr.routing.lookup({ family: 4, dst: ip });
    return d.kind === 'unicast' ? d.dev : undefined;
  }

  /** Pod flows shaped after `shape` (default: TCP 80 between the first pods). */
  podFlows(shape: RuleShape = {}): Flow[] {
    const out: Flow[] = [];
    const pools = poolInfos(this.ctx.bundle.cluster);
    const l = this.pick(this.local, shape.dst);
    const r = this.pick(this.remote, shape.src);
    if (l && r) {
      const p = this.pkt(r.ip, l.ip, shape, this.devFor(r.ip) ?? underlayIface(this.ctx.bundle, this.nr.data)?.iface.name, l.ep.interfaceName);
      out.push({ kind: 'to-local-pod', desc: describe(p, `${r.ep.id} on ${r.ep.node} → ${l.ep.id}`), pkt: p, hooks: ['PREROUTING', 'FORWARD'], pods: [r.ep.id, l.ep.id] });
    }
    const l2 = this.pick(this.local, shape.src);
    const r2 = this.pick(this.remote, shape.dst);
    if (l2 && r2) {
      const p = this.pkt(l2.ip, r2.ip, shape, l2.ep.interfaceName, this.devFor(r2.ip));
      out.push({ kind: 'from-local-pod', desc: describe(p, `${l2.ep.id} → ${r2.ep.id} on ${r2.ep.node}`), pkt: p, hooks: ['PREROUTING', 'FORWARD'], pods: [l2.ep.id, r2.ep.id] });
    }
    const bb = this.pick(this.local, shape.dst);
    const a = bb && this.pick(this.local, shape.src, bb.ip);
    if (a && bb && a.ep.interfaceName !== bb.ep.interfaceName) {
      const p = this.pkt(a.ip, bb.ip, shape, a.ep.interfaceName, bb.ep.interfaceName);
      out.push({ kind: 'pod-to-pod-local', desc: describe(p, `${a.ep.id} → ${bb.ep.id}, both on ${this.nr.name}`), pkt: p, hooks: ['PREROUTING', 'FORWARD'], pods: [a.ep.id, bb.ep.id] });
    }
    if (shape.dst && shape.dst.family === 4) {
      const ext = firstAddr(shape.dst);
      if (!poolOf(pools, ext) && l2) {
        const p = this.pkt(l2.ip, ext, shape, l2.ep.interfaceName, this.devFor(ext));
        out.push({ kind: 'pod-to-external', desc: describe(p, `${l2.ep.id} → outside the cluster`), pkt: p, hooks: ['PREROUTING', 'FORWARD'], pods: [l2.ep.id] });
      }
    }
    return out;
  }

  /** Encapsulated packets from other nodes to this node (VXLAN UDP port / IP-in-IP), when a pool uses them. */
  encapFlows(shape: RuleShape = {}): Flow[] {
    const b: Bundle = this.ctx.bundle;
    const n: NodeData = this.nr.data;
    const me = nodeIPv4(b.cluster, n.name)?.ip ?? underlayIface(b, n)?.iface.addrs.find((a) => a.family === 4)?.address;
    if (!me) return [];
    const peers = [...b.cluster.calicoNodes.map((x) => x.metadata.name), ...b.cluster.nodes.map((x) => x.metadata.name)].filter((x) => x !== n.name);
    const peer = peers.map((x) => ({ name: x, ip: nodeIPv4(b.cluster, x)?.ip })).find((x) => x.ip && (!shape.src || cidrContains(shape.src, x.ip) === true));
    if (!peer?.ip) return [];
    const inIface = underlayIface(b, n)?.iface.name;
    const out: Flow[] = [];
    const vx = encapPools(b.cluster, 'vxlan').length > 0 || (n.interfaces ?? []).some((i) => tunnelKind(i) === 'vxlan');
    const ip = encapPools(b.cluster, 'ipip').length > 0 || (n.interfaces ?? []).some((i) => tunnelKind(i) === 'ipip');
    if (vx) {
      const p = newPacket({ src: peer.ip, dst: me, proto: 17, sport: 40000, dport: vxlanPort(b.cluster, n) });
      p.inIface = inIface;
      out.push({ kind: 'encap-in', desc: describe(p, `VXLAN from ${peer.name}`), pkt: p, hooks: ['PREROUTING', 'INPUT'], pods: [] });
    }
    if (ip) {
      const p = newPacket({ src: peer.ip, dst: me, proto: 4 });
      p.inIface = inIface;
      out.push({ kind: 'encap-in', desc: describe(p, `IP-in-IP from ${peer.name}`), pkt: p, hooks: ['PREROUTING', 'INPUT'], pods: [] });
    }
    return out;
  }

  /** Runs a flow's hooks; the first hook that does not accept ends it. */
  run(flow: Flow, chooser: Chooser = new FixedChooser(false)): FlowResult {
    const pkt = clonePacket(flow.pkt);
    for (const h of flow.hooks) {
      const r = runHook(this.rs, h, pkt, this.nr.env, chooser, { record: false });
      if (r.fate !== 'accept') return { flow, fate: r.fate, hook: h, decision: r.decision };
    }
    return { flow, fate: 'accept' };
  }
}

/** DROP/REJECT rules that are neither Calico's nor kube-proxy's, in the tables that see forwarded or incoming packets. */
export function foreignDropRules(dump: IptablesSave): IptRule[] {
  const out: IptRule[] = [];
  for (const t of ['raw', 'mangle', 'filter', 'security']) {
    const table = dump.tables.get(t);
    if (!table) continue;
    for (const name of table.chains.keys()) {
      // Rules of Calico's and kube-proxy's chains are theirs (see ruleOwner): those chains are
      // skipped by name, so a large dump's rules are not all made for this (see ChainMap).
      const role = classifyChain(name, t);
      if (role.startsWith('calico-') || role.startsWith('kube-proxy')) continue;
      for (const r of table.chains.get(name)!.rules) {
        const k = r.target?.kind;
        if ((k === 'DROP' || k === 'REJECT') && ruleOwner(r) === 'other') out.push(r);
      }
    }
  }
  return out;
}
