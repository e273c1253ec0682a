/**
 * What Calico's policy does with a flow: egress at the source endpoint, ingress at the
 * destination endpoint, each walked as Felix's endpoint chains walk it (felix/rules/endpoints.go,
 * felix/rules/policy.go; summarised in /work/shared/calico/felix-rules.md §3 and §10):
 *
 * - tiers in order; only tiers with a policy that applies to the endpoint in this direction;
 * - in a tier, policies in order; in a policy, rules in order: Allow and Deny decide, Pass skips
 *   the rest of the tier (next tier), Log logs and continues, a rule that does not match → next
 *   rule; a policy none of whose rules matched → next policy;
 * - a tier in which no policy decided or passed ends in "End of tier … DROP", unless the tier's
 *   defaultAction is Pass; a tier whose applicable policies are all staged is skipped;
 * - after the last tier (all passed) or when no policy applies at all: the endpoint's profiles
 *   in order (`kns.<ns>` allows everything), then "DROP if no profiles matched".
 *
 * Every decision comes with a trail: one line per rule or policy that came before it and why it
 * did not decide (Cilium-style three-valued: allow / deny / not-applicable per direction).
 */
import type { Evidence } from '../../model/evidence.js';
import type { RuleAction } from '../../model/resources.js';
import type { Endpoint } from '../endpoints.js';
import {
  type Peer,
  type PolicyPacket,
  makePeer,
  packetMiss,
  protocolName,
  protocolNumber,
  ruleMatches,
} from './match.js';
import type { Direction, ResolvedPolicy, ResolvedProfile, ResolvedRule, TierBlock } from './model.js';
import type { Family } from './net.js';
import { parseIp } from './net.js';
import { describeRule, explainRuleMiss } from './reasons.js';
import { type PolicyModel, policiesForEndpoint, profileFor, specialPoliciesForEndpoint } from './resolve.js';

export type Verdict = 'allow' | 'deny' | 'not-applicable';
export type Via = 'policy' | 'end-of-tier' | 'profile' | 'no-endpoint' | 'loopback' | 'failsafe';

export type TrailKind =
  | 'rule-miss'
  | 'rule-log'
  | 'rule-pass'
  | 'decision'
  | 'policy-no-rules'
  | 'end-of-tier'
  | 'tier-default-pass'
  | 'staged'
  | 'staged-only-tier'
  | 'profiles'
  | 'profile-rule-miss'
  | 'no-profile-matched'
  | 'note';

export interface TrailEntry {
  kind: TrailKind;
  tier?: string;
  policy?: string;
  profile?: string;
  rule?: number;
  action?: RuleAction;
  text: string;
  evidence?: Evidence;
}

export interface DecidedBy {
  /** Tier of the deciding policy or of the end-of-tier drop. */
  tier?: string;
  /** Policy id (`ns/name`), or the profile name when a profile decided. */
  policy?: string;
  profile?: string;
  ruleIndex?: number;
  action: RuleAction;
  evidence?: Evidence;
}

export interface DirectionVerdict {
  direction: Direction;
  /** The endpoint whose policy was evaluated. */
  endpoint?: string;
  verdict: Verdict;
  via: Via;
  decidedBy?: DecidedBy;
  trail: TrailEntry[];
}

export type FlowEnd = Endpoint | { ip: string };

export interface FlowQuery {
  src: FlowEnd;
  dst: FlowEnd;
  /** `TCP`, `UDP`, `SCTP`, `ICMP`, `ICMPv6` or a protocol number. */
  protocol: string | number;
  /** Destination port (TCP/UDP/SCTP). */
  port?: number;
  /** Source port, when known (rules with source ports need it). */
  srcPort?: number;
  icmp?: { type?: number; code?: number };
}

export interface FlowResult {
  allowed: boolean;
  egress: DirectionVerdict;
  ingress: DirectionVerdict;
  packet: PolicyPacket;
  src: string;
  dst: string;
  notes: string[];
}

// ---------------------------------------------------------------------------------------------
// The walk

export type RuleMatchFn = (rule: ResolvedRule) => boolean;

/** Receives the walk's events when a trail is wanted. */
export interface WalkTracer {
  miss(block: TierBlock | undefined, policy: ResolvedPolicy | undefined, profile: ResolvedProfile | undefined, rule: ResolvedRule): void;
  log(block: TierBlock, policy: ResolvedPolicy, rule: ResolvedRule): void;
  pass(block: TierBlock, policy: ResolvedPolicy, rule: ResolvedRule): void;
  noRules(block: TierBlock, policy: ResolvedPolicy): void;
  staged(block: TierBlock, policy: ResolvedPolicy): void;
  stagedOnly(block: TierBlock): void;
  tierPass(block: TierBlock): void;
  endOfTier(block: TierBlock): void;
  profiles(anyPolicy: boolean): void;
  noProfile(): void;
}

export interface WalkResult {
  verdict: 'allow' | 'deny';
  via: 'policy' | 'end-of-tier' | 'profile';
  block?: TierBlock;
  policy?: ResolvedPolicy;
  profile?: ResolvedProfile;
  rule?: ResolvedRule;
}

/**
 * The decision for one endpoint and direction. `match` says whether a rule matches the packet;
 * the matrix passes a cached one, evaluateFlow a plain one. The logic is written once.
 */
export function walkEndpoint(model: PolicyModel, ep: Endpoint, dir: Direction, match: RuleMatchFn, tr?: WalkTracer): WalkResult {
  const blocks = policiesForEndpoint(model, ep, dir);
  let enforced = false;
  for (const b of blocks) {
    if (b.policies.length === 0) {
      if (tr) for (const s of b.staged) tr.staged(b, s);
      tr?.stagedOnly(b);
      continue;
    }
    enforced = true;
    let passed = false;
    // With a tracer, staged policies are reported where they would sit in the order.
    for (const p of tr ? b.all : b.policies) {
      if (p.staged) {
        tr?.staged(b, p);
        continue;
      }
      const rules = p[dir];
      if (rules.length === 0) {
        tr?.noRules(b, p);
        continue;
      }
      for (const r of rules) {
        if (!match(r)) {
          tr?.miss(b, p, undefined, r);
          continue;
        }
        if (r.action === 'Allow') return { verdict: 'allow', via: 'policy', block: b, policy: p, rule: r };
        if (r.action === 'Deny') return { verdict: 'deny', via: 'policy', block: b, policy: p, rule: r };
        if (r.action === 'Pass') {
          tr?.pass(b, p, r);
          passed = true;
          break;
        }
        tr?.log(b, p, r);
      }
      if (passed) break;
    }
    if (passed) continue;
    if (b.tier.defaultAction === 'Pass') {
      tr?.tierPass(b);
      continue;
    }
    tr?.endOfTier(b);
    return { verdict: 'deny', via: 'end-of-tier', block: b };
  }
  tr?.profiles(enforced);
  for (const name of ep.profiles) {
    const prof = profileFor(model, name);
    for (const r of prof[dir]) {
      if (!match(r)) {
        tr?.miss(undefined, undefined, prof, r);
        continue;
      }
      if (r.action === 'Allow') return { verdict: 'allow', via: 'profile', profile: prof, rule: r };
      if (r.action === 'Deny') return { verdict: 'deny', via: 'profile', profile: prof, rule: r };
      // Pass in a profile sets the pass bit and returns: the next profile runs. Log continues.
      if (r.action === 'Pass') break;
    }
  }
  tr?.noProfile();
  return { verdict: 'deny', via: 'profile' };
}

// ---------------------------------------------------------------------------------------------
// Trail

class Trail implements WalkTracer {
  readonly entries: TrailEntry[] = [];
  constructor(
    private readonly model: PolicyModel,
    private readonly ep: Endpoint,
    private readonly dir: Direction,
    private readonly pkt: PolicyPacket,
    private readonly src: Peer,
    private readonly dst: Peer,
    private readonly match: RuleMatchFn,
  ) {}

  private reasons(rule: ResolvedRule, kind?: ResolvedPolicy['kind']): string {
    const r = explainRuleMiss(this.model, rule, this.pkt, this.src, this.dst, kind);
    return r.length > 0 ? r.join('; ') : 'does not match';
  }

  miss(block: TierBlock | undefined, policy: ResolvedPolicy | undefined, profile: ResolvedProfile | undefined, rule: ResolvedRule): void {
    if (policy && block) {
      this.entries.push({
        kind: 'rule-miss',
        tier: block.tier.name,
        policy: policy.id,
        rule: rule.index,
        action: rule.action,
        text: `[${block.tier.name}] ${policy.id} rule ${rule.index} (${rule.action}): ${this.reasons(rule, policy.kind)}`,
        evidence: rule.evidence,
      });
    } else if (profile) {
      this.entries.push({
        kind: 'profile-rule-miss',
        profile: profile.name,
        rule: rule.index,
        action: rule.action,
        text: `profile ${profile.name} rule ${rule.index} (${rule.action}): ${this.reasons(rule)}`,
        evidence: rule.evidence,
      });
    }
  }

  log(block: TierBlock, policy: ResolvedPolicy, rule: ResolvedRule): void {
    this.entries.push({
      kind: 'rule-log',
      tier: block.tier.name,
      policy: policy.id,
      rule: rule.index,
      action: 'Log',
      text: `[${block.tier.name}] ${policy.id} rule ${rule.index} (Log): matched; logged, evaluation continues`,
      evidence: rule.evidence,
    });
  }

  pass(block: TierBlock, policy: ResolvedPolicy, rule: ResolvedRule): void {
    this.entries.push({
      kind: 'rule-pass',
      tier: block.tier.name,
      policy: policy.id,
      rule: rule.index,
      action: 'Pass',
      text: `[${block.tier.name}] ${policy.id} rule ${rule.index} (Pass): matched → skip the rest of tier ${block.tier.name}, next tier`,
      evidence: rule.evidence,
    });
  }

  noRules(block: TierBlock, policy: ResolvedPolicy): void {
    this.entries.push({
      kind: 'policy-no-rules',
      tier: block.tier.name,
      policy: policy.id,
      text: `[${block.tier.name}] ${policy.id}: selects ${this.ep.id} but has no ${this.dir} rules → next policy`,
      evidence: policy.evidence,
    });
  }

  staged(block: TierBlock, policy: ResolvedPolicy): void {
    const rules = policy[this.dir];
    let would = 'would not match any rule';
    if (rules.length === 0) would = `has no ${this.dir} rules`;
    for (const r of rules) {
      if (this.match(r) && r.action !== 'Log') {
        would = `would ${r.action} (rule ${r.index})`;
        break;
      }
    }
    this.entries.push({
      kind: 'staged',
      tier: block.tier.name,
      policy: policy.id,
      text: `[${block.tier.name}] ${policy.id} (staged, not enforced): ${would}`,
      evidence: policy.evidence,
    });
  }

  stagedOnly(block: TierBlock): void {
    this.entries.push({
      kind: 'staged-only-tier',
      tier: block.tier.name,
      text: `[${block.tier.name}] only staged policies select ${this.ep.id}: tier not enforced`,
    });
  }

  tierPass(block: TierBlock): void {
    this.entries.push({
      kind: 'tier-default-pass',
      tier: block.tier.name,
      text: `[${block.tier.name}] end of tier ${block.tier.name}: no policy decided; tier defaultAction Pass → next tier`,
      ...(block.tier.evidence ? { evidence: block.tier.evidence } : {}),
    });
  }

  endOfTier(block: TierBlock): void {
    this.entries.push({
      kind: 'end-of-tier',
      tier: block.tier.name,
      action: 'Deny',
      text: `[${block.tier.name}] end of tier ${block.tier.name}: no policy allowed or passed the packet → deny`,
      ...(block.tier.evidence ? { evidence: block.tier.evidence } : {}),
    });
  }

  profiles(anyPolicy: boolean): void {
    this.entries.push({
      kind: 'profiles',
      text: anyPolicy
        ? `every tier passed the packet → profiles [${this.ep.profiles.join(', ')}]`
        : `no policy selects ${this.ep.id} for ${this.dir} → profiles [${this.ep.profiles.join(', ')}]`,
    });
  }

  noProfile(): void {
    this.entries.push({
      kind: 'no-profile-matched',
      action: 'Deny',
      text: this.ep.profiles.length === 0 ? `${this.ep.id} has no profiles → deny ("DROP if no profiles matched")` : 'no profile allowed the packet → deny ("DROP if no profiles matched")',
    });
  }

  decision(w: WalkResult): void {
    if (w.via === 'end-of-tier' || !w.rule) return;
    const what = w.via === 'profile' ? `profile ${w.profile?.name}` : `[${w.block?.tier.name}] ${w.policy?.id}`;
    const extra = w.via === 'profile' && w.profile?.from === 'derived' ? " (Calico's namespace profile allows everything)" : '';
    this.entries.push({
      kind: 'decision',
      ...(w.block ? { tier: w.block.tier.name } : {}),
      ...(w.policy ? { policy: w.policy.id } : {}),
      ...(w.profile ? { profile: w.profile.name } : {}),
      rule: w.rule.index,
      action: w.rule.action,
      text: `${what} rule ${w.rule.index} (${w.rule.action}): matched → ${w.verdict}${extra}`,
      evidence: w.rule.evidence,
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Flows

function familyOf(model: PolicyModel, end: FlowEnd): Family[] {
  if ('kind' in end) return end.ips.map((t) => parseIp(t)?.family).filter((f): f is Family => f !== undefined);
  const p = parseIp(end.ip);
  return p ? [p.family] : [];
}

/** The IP family both ends have (IPv4 preferred). */
export function flowFamily(model: PolicyModel, src: FlowEnd, dst: FlowEnd): Family {
  const a = familyOf(model, src);
  const b = familyOf(model, dst);
  if (a.includes(4) && (b.length === 0 || b.includes(4))) return 4;
  if (a.includes(6) && (b.length === 0 || b.includes(6))) return 6;
  if (a.length === 0 && b.includes(6) && !b.includes(4)) return 6;
  return 4;
}

export function makePacket(q: Pick<FlowQuery, 'protocol' | 'port' | 'srcPort' | 'icmp'>, family: Family): PolicyPacket {
  const proto = protocolNumber(q.protocol);
  if (proto === undefined) throw new Error(`unknown protocol ${JSON.stringify(q.protocol)}`);
  const pkt: PolicyPacket = { family, proto };
  if (q.port !== undefined) pkt.dport = q.port;
  if (q.srcPort !== undefined) pkt.sport = q.srcPort;
  if (q.icmp?.type !== undefined) pkt.icmpType = q.icmp.type;
  if (q.icmp?.code !== undefined) pkt.icmpCode = q.icmp.code;
  return pkt;
}

function decidedByOf(w: WalkResult): DecidedBy {
  if (w.via === 'end-of-tier') return { tier: w.block!.tier.name, action: 'Deny', ...(w.block!.tier.evidence ? { evidence: w.block!.tier.evidence } : {}) };
  if (w.via === 'profile') {
    if (!w.rule) return { action: 'Deny' };
    return { profile: w.profile!.name, policy: w.profile!.name, ruleIndex: w.rule.index, action: w.rule.action, evidence: w.rule.evidence };
  }
  return { tier: w.block!.tier.name, policy: w.policy!.id, ruleIndex: w.rule!.index, action: w.rule!.action, evidence: w.rule!.evidence };
}

/** Host endpoints only: FelixConfiguration failsafe ports are allowed before any policy (cali-failsafe-in/out). */
export function failsafeHit(model: PolicyModel, dir: Direction, pkt: PolicyPacket, peer: Peer): boolean {
  const list = dir === 'ingress' ? model.failsafe.inbound : model.failsafe.outbound;
  return list.some((f) => f.protocol === pkt.proto && f.port === pkt.dport && (!f.net || (peer.ip !== undefined && netContains(f.net, peer.ip.text))));
}

function netContains(net: string, ip: string): boolean {
  const c = parseIp(net.split('/')[0]);
  if (!c) return false;
  const bits = Number(net.split('/')[1] ?? (c.family === 4 ? 32 : 128));
  const p = parseIp(ip);
  if (!p || p.family !== c.family) return false;
  if (c.family === 4) {
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    return ((p.v4 & mask) >>> 0) === ((c.v4 & mask) >>> 0);
  }
  const mask = bits === 0 ? 0n : ((1n << 128n) - 1n) ^ ((1n << BigInt(128 - bits)) - 1n);
  return (p.v6 & mask) === (c.v6 & mask);
}

/** Policy verdict for one endpoint and direction, with its trail. */
export function evaluateDirection(model: PolicyModel, ep: Endpoint, dir: Direction, pkt: PolicyPacket, src: Peer, dst: Peer): DirectionVerdict {
  const match: RuleMatchFn = (r) => ruleMatches(model, r, pkt, src, dst);
  const trail = new Trail(model, ep, dir, pkt, src, dst, match);
  if (ep.kind === 'host') {
    const remote = dir === 'ingress' ? src : dst;
    if (failsafeHit(model, dir, pkt, remote)) {
      return {
        direction: dir,
        endpoint: ep.id,
        verdict: 'allow',
        via: 'failsafe',
        decidedBy: { action: 'Allow' },
        trail: [{ kind: 'note', text: `${protocolName(pkt.proto)}/${pkt.dport} is a failsafe ${dir === 'ingress' ? 'inbound' : 'outbound'} host port: allowed before any policy (cali-failsafe-${dir === 'ingress' ? 'in' : 'out'})` }],
      };
    }
    for (const p of specialPoliciesForEndpoint(model, ep, dir)) {
      trail.entries.push({
        kind: 'note',
        tier: p.tier,
        policy: p.id,
        text: `[${p.tier}] ${p.id} (${p.doNotTrack ? 'doNotTrack' : 'preDNAT'}) selects ${ep.id}: applied in the ${p.doNotTrack ? 'raw' : 'mangle'} table before this chain; not evaluated here`,
        evidence: p.evidence,
      });
    }
  }
  const w = walkEndpoint(model, ep, dir, match, trail);
  trail.decision(w);
  return { direction: dir, endpoint: ep.id, verdict: w.verdict, via: w.via, decidedBy: decidedByOf(w), trail: trail.entries };
}

/** A workload sending to a host endpoint of its own node: the HEP's ingress policy is not used. */
export function localWorkloadToHost(src: Endpoint | undefined, dst: Endpoint): boolean {
  return dst.kind === 'host' && src?.kind === 'workload' && src.node !== '' && src.node === dst.node;
}

function notApplicable(dir: Direction, via: Via, text: string): DirectionVerdict {
  return { direction: dir, verdict: 'not-applicable', via, trail: [{ kind: 'note', text }] };
}

/** Egress at the source and ingress at the destination, each with its trail. */
export function evaluateFlow(model: PolicyModel, q: FlowQuery): FlowResult {
  const family = flowFamily(model, q.src, q.dst);
  const pkt = makePacket(q, family);
  const src = makePeer(model, q.src, family);
  const dst = makePeer(model, q.dst, family);
  const notes: string[] = [];
  if ('ip' in q.dst && !('kind' in q.dst) && !dst.endpoint) {
    const svc = model.serviceIps.get(dst.ip?.text ?? q.dst.ip);
    if (svc) notes.push(`${q.dst.ip} is an IP of service ${svc}: kube-proxy rewrites it to a backend before Calico's policy sees the packet; ask about the backend pod`);
  }
  if (src.endpoint && src.endpoint === dst.endpoint) {
    const text = `${src.endpoint.id} talking to itself never leaves its network namespace: Calico policy does not see it`;
    return { allowed: true, egress: notApplicable('egress', 'loopback', text), ingress: notApplicable('ingress', 'loopback', text), packet: pkt, src: src.label, dst: dst.label, notes };
  }
  const egress = src.endpoint
    ? evaluateDirection(model, src.endpoint, 'egress', pkt, src, dst)
    : notApplicable('egress', 'no-endpoint', `source ${src.label} is not a Calico endpoint: no egress policy applies`);
  let ingress: DirectionVerdict;
  if (!dst.endpoint) {
    ingress = notApplicable('ingress', 'no-endpoint', `destination ${dst.label} is not a Calico endpoint: no ingress policy applies`);
  } else if (localWorkloadToHost(src.endpoint, dst.endpoint)) {
    ingress = notApplicable(
      'ingress',
      'no-endpoint',
      `${src.endpoint!.id} runs on ${dst.endpoint.node}: traffic from a local workload to its host goes through cali-wl-to-host (FelixConfiguration defaultEndpointToHostAction), not through host endpoint ${dst.endpoint.id}'s ingress policy`,
    );
  } else {
    ingress = evaluateDirection(model, dst.endpoint, 'ingress', pkt, src, dst);
  }
  if (src.endpoint && src.endpoint.ips.length === 0) notes.push(`${src.endpoint.id} has no IP address: evaluated from its labels only`);
  if (dst.endpoint && dst.endpoint.ips.length === 0) notes.push(`${dst.endpoint.id} has no IP address: evaluated from its labels only`);
  return {
    allowed: egress.verdict !== 'deny' && ingress.verdict !== 'deny',
    egress,
    ingress,
    packet: pkt,
    src: src.label,
    dst: dst.label,
    notes,
  };
}

/** Rule summary helpers re-exported for renderers. */
export { describeRule, packetMiss };
