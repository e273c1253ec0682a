/**
 * What a trace reports: the path of one flow hop by hop (M1's eight checkpoints, both ways), and
 * where and why it ended. Every drop carries the node, artifact, line and raw text that decided it.
 */
import type { Decision, HookName, NatRewrite, RuleHit, Fate } from '../engine/netfilter/evaluate.js';
import type { RouteDecision } from '../engine/routing.js';
import type { Evidence } from '../model/evidence.js';

export type Verdict = 'delivered' | 'dropped' | 'indeterminate';

export interface PacketView {
  src: string;
  dst: string;
  proto: string;
  sport?: number;
  dport?: number;
  length: number;
  mark?: string;
  /** Present while encapsulated: the inner packet's addresses. */
  inner?: { src: string; dst: string };
}

export type Step =
  | { kind: 'hook'; hook: HookName; fate: Fate; tables: { table: string; fate: Fate; evaluated: number }[]; hits: RuleHit[]; decision?: Decision; nat: NatRewrite[] }
  | { kind: 'route'; decision: RouteDecision; evidence?: Evidence; summary: string }
  | { kind: 'check'; name: string; ok: boolean; detail: string; evidence?: Evidence }
  | { kind: 'encap'; type: 'vxlan' | 'ipip' | 'wireguard'; outer: PacketView; overhead: number; detail: string; evidence: Evidence[] }
  | { kind: 'decap'; type: 'vxlan' | 'ipip' | 'wireguard'; iface: string; detail: string }
  | { kind: 'conntrack'; detail: string }
  | { kind: 'note'; detail: string };

export type HopKind = 'pod-egress' | 'node' | 'underlay' | 'pod-ingress' | 'host' | 'external';

export interface Hop {
  kind: HopKind;
  node?: string;
  title: string;
  /** The packet as it entered this hop. */
  packet: PacketView;
  steps: Step[];
  /** pass = handed to the next hop. */
  outcome: 'pass' | 'delivered' | 'dropped' | 'indeterminate';
  /** tcpdump commands to watch this hop live (S11). */
  capture: string[];
}

export interface DropInfo {
  node?: string;
  /** Where: a netfilter rule, a chain policy, a route, a sysctl, an interface, a neighbour entry… */
  where: 'rule' | 'policy' | 'route' | 'sysctl' | 'interface' | 'neighbour' | 'fdb' | 'mtu' | 'underlay' | 'endpoint';
  table?: string;
  chain?: string;
  rule?: number;
  artifact?: string;
  line?: number;
  text?: string;
  /** For Calico chains: the policy/profile/endpoint the chain belongs to. */
  policy?: { kind: string; namespace?: string; name: string; tier?: string; direction?: string };
  endpoint?: string;
  reason: string;
}

export interface PathResult {
  verdict: Verdict;
  dropped?: DropInfo;
  indeterminate?: { reason: string; evidence?: Evidence[] };
  hops: Hop[];
  /** The statistic branches taken (kube-proxy backend choices), as human text. */
  branch?: string;
  /** Where the packet finally went (pod id, node, external). */
  deliveredTo?: string;
  finalPacket?: PacketView;
}

export interface TraceQuery {
  from: string;
  to: string;
  port?: number;
  protocol: 'TCP' | 'UDP' | 'SCTP' | 'ICMP';
  /** IP total length to simulate (MTU questions); default a small packet. */
  size?: number;
  /**
   * Don't-fragment bit. Default: set for TCP, and for any protocol when `size` is given — Linux
   * sockets do path-MTU discovery by default (IP_PMTUDISC_WANT), so their packets carry DF.
   */
  df?: boolean;
}

export interface FlowResult {
  verdict: Verdict | 'mixed';
  dropped?: DropInfo;
  hops: Hop[];
  reply?: PathResult;
  indeterminate?: { reason: string; evidence?: Evidence[] };
  /** All paths when a Service or a statistic fork gave several (every backend is traced). */
  paths: (PathResult & { reply?: PathResult })[];
}

export interface TraceResult {
  query: TraceQuery;
  source: { kind: 'pod' | 'host' | 'external'; id: string; ip: string; node?: string; iface?: string };
  destination: { kind: 'pod' | 'service' | 'host' | 'external'; id: string; ip: string; node?: string; port?: number };
  verdict: Verdict | 'mixed';
  dropped?: DropInfo;
  hops: Hop[];
  reply?: { verdict: Verdict; dropped?: DropInfo; hops: Hop[] };
  paths: (PathResult & { reply?: PathResult })[];
  /** The intent layer's verdict for the same flow, and a sentence when the two disagree (P1). */
  intent?: { allowed: boolean; summary: string };
  disagreement?: string;
  notes: string[];
}
