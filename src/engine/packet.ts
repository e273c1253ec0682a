/**
 * The packet as the engine sees it while it crosses hooks and nodes. Mutable by design: NAT,
 * MARK and encapsulation rewrite it as the kernel would; every hop keeps a snapshot.
 */
import { parseIPv4 } from '../model/ipset.js';

export type CtState = 'NEW' | 'ESTABLISHED' | 'RELATED' | 'INVALID' | 'UNTRACKED';

export interface FiveTuple {
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
}

/** The simulated conntrack entry of the flow (one per node the packet crosses). */
export interface CtInfo {
  state: CtState;
  /** ORIGINAL for the first packet and its direction; REPLY for the answer. */
  dir: 'ORIGINAL' | 'REPLY';
  /** DNAT/SNAT happened on this connection (the virtual ctstates DNAT and SNAT of `-m conntrack`). */
  dnat: boolean;
  snat: boolean;
  /** ctstatus flags: EXPECTED, SEEN_REPLY, ASSURED, CONFIRMED. */
  status: string[];
  /** The connection's mark (CONNMARK). */
  mark: number;
  orig: FiveTuple;
  /** The expected reply tuple (after NAT). */
  reply: FiveTuple;
}

export interface Packet {
  family: 4 | 6;
  src: string;
  dst: string;
  /** IP protocol number: 6 tcp, 17 udp, 1 icmp, 58 icmpv6, 132 sctp, 4 ipip. */
  proto: number;
  sport?: number;
  dport?: number;
  icmpType?: number;
  icmpCode?: number;
  /** TCP flags byte (SYN = 0x02 for the first packet, ACK|SYN for the answer). */
  tcpFlags?: number;
  /** IP total length in bytes. */
  length: number;
  /** Don't-fragment flag (set by Linux TCP; pings without -M do are not DF). */
  df: boolean;
  inIface?: string;
  outIface?: string;
  mark: number;
  ct: CtInfo;
}

export const PROTO = { icmp: 1, ipip: 4, tcp: 6, udp: 17, icmpv6: 58, sctp: 132 } as const;

export function protoName(n: number): string {
  switch (n) {
    case 1:
      return 'icmp';
    case 4:
      return 'ipip';
    case 6:
      return 'tcp';
    case 17:
      return 'udp';
    case 58:
      return 'icmpv6';
    case 132:
      return 'sctp';
    default:
      return String(n);
  }
}

export function hasPorts(proto: number): boolean {
  return proto === 6 || proto === 17 || proto === 132 || proto === 136 || proto === 33;
}

export function familyOf(ip: string): 4 | 6 {
  return ip.includes(':') ? 6 : 4;
}

/** A first packet of a new flow (TCP SYN, UDP datagram, ICMP echo request). */
export function newPacket(p: {
  src: string;
  dst: string;
  proto: number;
  sport?: number;
  dport?: number;
  icmpType?: number;
  icmpCode?: number;
  length?: number;
  df?: boolean;
}): Packet {
  const family = familyOf(p.dst);
  const ports = hasPorts(p.proto);
  const sport = ports ? (p.sport ?? 40000) : undefined;
  const dport = ports ? p.dport : undefined;
  const icmp = p.proto === 1 || p.proto === 58;
  const tuple: FiveTuple = { src: p.src, dst: p.dst, sport, dport };
  return {
    family,
    src: p.src,
    dst: p.dst,
    proto: p.proto,
    sport,
    dport,
    icmpType: icmp ? (p.icmpType ?? (p.proto === 1 ? 8 : 128)) : undefined,
    icmpCode: icmp ? (p.icmpCode ?? 0) : undefined,
    tcpFlags: p.proto === 6 ? 0x02 : undefined,
    length: p.length ?? (p.proto === 6 ? 60 : p.proto === 17 ? 64 : 84),
    df: p.df ?? p.proto === 6,
    mark: 0,
    ct: { state: 'NEW', dir: 'ORIGINAL', dnat: false, snat: false, status: [], mark: 0, orig: tuple, reply: { src: p.dst, dst: p.src, sport: dport, dport: sport } },
  };
}

export function clonePacket(p: Packet): Packet {
  return { ...p, ct: { ...p.ct, status: [...p.ct.status], orig: { ...p.ct.orig }, reply: { ...p.ct.reply } } };
}

/** IPv4 address as uint32, or -1 (IPv6 or invalid). Cached per packet by the evaluator. */
export function v4(ip: string): number {
  return parseIPv4(ip);
}

export function describePacket(p: Packet): string {
  const name = protoName(p.proto).toUpperCase();
  if (p.sport !== undefined || p.dport !== undefined) return `${name} ${p.src}:${p.sport ?? '*'} → ${p.dst}:${p.dport ?? '*'}`;
  if (p.icmpType !== undefined) return `${name} ${p.src} → ${p.dst} type ${p.icmpType}`;
  return `${name} ${p.src} → ${p.dst}`;
}
