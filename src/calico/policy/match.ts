/**
 * Rule matching, exactly as Felix renders a rule into iptables matches (felix/rules/policy.go,
 * felix/calc/rule_scanner.go): protocol, ICMP, IP version and per-family CIDR filtering are
 * properties of the packet alone; each rule side (source, destination) is a property of the
 * packet and of that side's address — the IP-set membership of the address (the endpoints and
 * network sets that own it), nets, ports, named ports and services.
 *
 * Splitting it this way lets the reachability matrix cache side results per (side, endpoint).
 */
import type { Endpoint, LabelledNetworkSet } from '../endpoints.js';
import type { LabelGetter, Selector } from '../selector/index.js';
import type { PortMatch } from '../../model/resources.js';
import type { ResolvedEntity, ResolvedRule } from './model.js';
import { type Cidr, type Family, type IpAddr, cidrContains, isCatchAll, parseIp } from './net.js';
import type { PolicyModel } from './resolve.js';

export const PROTOCOL_NUMBERS: Record<string, number> = { TCP: 6, UDP: 17, SCTP: 132, ICMP: 1, ICMPV6: 58, UDPLITE: 136 };
const PROTOCOL_NAMES: Record<number, string> = { 6: 'TCP', 17: 'UDP', 132: 'SCTP', 1: 'ICMP', 58: 'ICMPv6', 136: 'UDPLite' };
const PORTED = new Set([6, 17, 132]);

export function protocolName(n: number): string {
  return PROTOCOL_NAMES[n] ?? String(n);
}

export function protocolNumber(p: string | number): number | undefined {
  if (typeof p === 'number') return Number.isInteger(p) && p >= 0 && p <= 255 ? p : undefined;
  if (/^\d+$/.test(p)) return protocolNumber(Number(p));
  return PROTOCOL_NUMBERS[p.toUpperCase()];
}

export interface PolicyPacket {
  family: Family;
  proto: number;
  /** Destination port (TCP/UDP/SCTP). */
  dport?: number;
  /** Source port; unknown in most questions (rules with source ports then do not match). */
  sport?: number;
  icmpType?: number;
  icmpCode?: number;
}

/** Something that owns the address: an endpoint or a network set. */
export interface PeerMember {
  kind: 'endpoint' | 'networkset';
  id: string;
  get: LabelGetter;
  endpoint?: Endpoint;
  networkSet?: LabelledNetworkSet;
}

/** One side of the flow as rules see it. */
export interface Peer {
  endpoint?: Endpoint;
  /** The address of the packet's family; undefined when the endpoint has none. */
  ip?: IpAddr;
  /** Everything whose labels the address carries in IP sets. */
  members: PeerMember[];
  /** `ns/pod`, `host:node/name` or the IP. */
  label: string;
}

export function endpointMember(e: Endpoint): PeerMember {
  return { kind: 'endpoint', id: e.id, get: e.getLabel, endpoint: e };
}

/** The peer for an endpoint or an address (an address owned by an endpoint becomes that endpoint). */
export function makePeer(model: PolicyModel, ref: Endpoint | { ip: string }, family: Family): Peer {
  const members: PeerMember[] = [];
  let endpoint: Endpoint | undefined;
  let ip: IpAddr | undefined;
  if ('ip' in ref && !('kind' in ref)) {
    ip = parseIp(ref.ip);
    endpoint = ip ? model.endpointsByIp.get(ip.text)?.[0] : undefined;
  } else {
    endpoint = ref as Endpoint;
    for (const t of endpoint.ips) {
      const p = parseIp(t);
      if (p && p.family === family) {
        ip = p;
        break;
      }
    }
  }
  if (endpoint) members.push(endpointMember(endpoint));
  if (ip) {
    for (const other of model.endpointsByIp.get(ip.text) ?? []) if (other !== endpoint) members.push(endpointMember(other));
    for (const ns of model.networkSets) {
      if (ns.nets.some((c) => cidrContains(c, ip!))) members.push({ kind: 'networkset', id: `${ns.kind} ${ns.id}`, get: ns.getLabel, networkSet: ns });
    }
  }
  return { endpoint, ip, members, label: endpoint ? endpoint.id : (ip?.text ?? ('ip' in ref ? ref.ip : '?')) };
}

/** IP-set membership: the address is in the set of `sel` if any owner's labels match. */
export function inSelectorSet(peer: Peer, sel: Selector): boolean {
  for (const m of peer.members) if (sel.matchesGetter(m.get)) return true;
  return false;
}

// ---------------------------------------------------------------------------------------------
// Packet-only part of a rule

/** filterNets: non-empty CIDR list with none of this family, or a negated catch-all → rule dropped. */
function dropsForFamily(list: Cidr[], family: Family, negated: boolean): boolean {
  if (list.length === 0) return false;
  let any = false;
  for (const c of list) {
    if (c.family !== family) continue;
    if (negated && isCatchAll(c)) return true;
    any = true;
  }
  return !any;
}

export type PacketMiss =
  | { kind: 'invalid'; why: string }
  | { kind: 'ipVersion'; want: 4 | 6 }
  | { kind: 'family'; side: 'source' | 'destination'; field: 'nets' | 'notNets' }
  | { kind: 'protocol' }
  | { kind: 'notProtocol' }
  | { kind: 'icmp' }
  | { kind: 'notICMP' };

/** Why the packet alone rules the rule out (first reason), or undefined when it does not. */
export function packetMiss(rule: ResolvedRule, pkt: PolicyPacket): PacketMiss | undefined {
  if (rule.invalid) return { kind: 'invalid', why: rule.invalid[0] };
  if (rule.ipVersion && rule.ipVersion !== pkt.family) return { kind: 'ipVersion', want: rule.ipVersion };
  for (const side of ['source', 'destination'] as const) {
    if (dropsForFamily(rule[side].nets, pkt.family, false)) return { kind: 'family', side, field: 'nets' };
    if (dropsForFamily(rule[side].notNets, pkt.family, true)) return { kind: 'family', side, field: 'notNets' };
  }
  if (rule.protocol && rule.protocol.number !== pkt.proto) return { kind: 'protocol' };
  if (rule.notProtocol && rule.notProtocol.number === pkt.proto) return { kind: 'notProtocol' };
  const isIcmp = pkt.proto === 1 || pkt.proto === 58;
  if (rule.icmp) {
    if (!isIcmp) return { kind: 'icmp' };
    if (rule.icmp.type !== undefined && rule.icmp.type !== pkt.icmpType) return { kind: 'icmp' };
    if (rule.icmp.code !== undefined && rule.icmp.code !== pkt.icmpCode) return { kind: 'icmp' };
  }
  if (rule.notICMP && isIcmp) {
    const typeHit = rule.notICMP.type === undefined || rule.notICMP.type === pkt.icmpType;
    const codeHit = rule.notICMP.code === undefined || rule.notICMP.code === pkt.icmpCode;
    if (typeHit && codeHit) return { kind: 'notICMP' };
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// One side of a rule

export type SideMiss =
  | { kind: 'selector' }
  | { kind: 'notSelector' }
  | { kind: 'nets' }
  | { kind: 'notNets'; cidr: Cidr }
  | { kind: 'ports'; reason: 'no-ports-protocol' | 'unknown-port' | 'not-listed' }
  | { kind: 'notPorts'; port: PortMatch }
  | { kind: 'services'; service: string };

function numericHit(p: PortMatch, port: number): boolean {
  return p.kind === 'number' ? p.port === port : p.kind === 'range' ? port >= p.from && port <= p.to : false;
}

/** Named-port IP set membership: an owner matching the side's positive selector has the port. */
export function namedPortHit(e: ResolvedEntity, peer: Peer, name: string, pkt: PolicyPacket, port: number): boolean {
  for (const m of peer.members) {
    const ep = m.endpoint;
    if (!ep) continue;
    if (e.selector && !e.selector.matchesGetter(m.get)) continue;
    for (const np of ep.ports) if (np.name === name && np.port === port && np.protocol === pkt.proto) return true;
  }
  return false;
}

function portListHit(list: PortMatch[], e: ResolvedEntity, peer: Peer, pkt: PolicyPacket, port: number): PortMatch | undefined {
  for (const p of list) {
    if (p.kind === 'named' ? namedPortHit(e, peer, p.name, pkt, port) : numericHit(p, port)) return p;
  }
  return undefined;
}

/**
 * Why one rule side does not match (first reason), or undefined when it matches.
 * `which` says whether the side is the packet's source (source port) or destination.
 */
export function sideMiss(model: PolicyModel, e: ResolvedEntity, peer: Peer, pkt: PolicyPacket, which: 'source' | 'destination'): SideMiss | undefined {
  if (e.empty) return undefined;
  if (e.selector && !inSelectorSet(peer, e.selector)) return { kind: 'selector' };
  if (e.notSelector && inSelectorSet(peer, e.notSelector)) return { kind: 'notSelector' };
  if (e.nets.length > 0) {
    const ip = peer.ip;
    if (!ip || !e.nets.some((c) => cidrContains(c, ip))) return { kind: 'nets' };
  }
  if (e.notNets.length > 0 && peer.ip) {
    const ip = peer.ip;
    const c = e.notNets.find((x) => cidrContains(x, ip));
    if (c) return { kind: 'notNets', cidr: c };
  }
  const port = which === 'source' ? pkt.sport : pkt.dport;
  if (e.ports.length > 0) {
    if (!PORTED.has(pkt.proto)) return { kind: 'ports', reason: 'no-ports-protocol' };
    if (port === undefined) return { kind: 'ports', reason: 'unknown-port' };
    if (!portListHit(e.ports, e, peer, pkt, port)) return { kind: 'ports', reason: 'not-listed' };
  }
  if (e.notPorts.length > 0 && port !== undefined && PORTED.has(pkt.proto)) {
    const hit = portListHit(e.notPorts, e, peer, pkt, port);
    if (hit) return { kind: 'notPorts', port: hit };
  }
  if (e.services) {
    const key = `${e.services.namespace}/${e.services.name}`;
    const svc = model.services.get(key);
    const ip = peer.ip?.text;
    const ok =
      svc !== undefined &&
      ip !== undefined &&
      (which === 'destination' ? port !== undefined && svc.ipPorts.has(`${ip}|${pkt.proto}|${port}`) : svc.ips.has(ip));
    if (!ok) return { kind: 'services', service: key };
  }
  return undefined;
}

export function ruleMatches(model: PolicyModel, rule: ResolvedRule, pkt: PolicyPacket, src: Peer, dst: Peer): boolean {
  return (
    packetMiss(rule, pkt) === undefined &&
    sideMiss(model, rule.source, src, pkt, 'source') === undefined &&
    sideMiss(model, rule.destination, dst, pkt, 'destination') === undefined
  );
}
