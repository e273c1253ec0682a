/**
 * Policy and profile chains from the policy model's ResolvedRules, as Felix renders them
 * (felix/rules/policy.go at v3.30.7: PolicyToIptablesChains, ProfileToIptablesChains,
 * ProtoRulesToIptablesRules, ProtoRuleToIptablesRules with the match-block builder,
 * CalculateRuleMatch, CombineMatchAndActionsForProtoRule; the proto rule itself from
 * felix/calc/rule_scanner.go ruleToParsedRule and rule_convert.go; shared/calico/felix-rules.md
 * §3 "How policy rules render", §4, §5).
 */
import { ipsetNameForId, ipsetNameForSelector, lengthLimitedId, namedPortSetName, policyKindShortName, serviceSetId } from '../../calico/naming.js';
import type { Direction, ResolvedEntity, ResolvedPolicy, ResolvedProfile, ResolvedRule } from '../../calico/policy/model.js';
import { type Selector, mustParseSelector } from '../../calico/selector/index.js';
import type { FelixRenderConfig, ChainStyle } from './config.js';
import { Actions, type FelixRule, type PortRange, Match, match, splitPortList } from './rule.js';
import type { ChainDef } from './static.js';

// ---------------------------------------------------------------------------------------------
// Names

/**
 * The policy's ID in its chain name (felix-rules.md §4): `tiered` (v3.29–v3.31)
 * `<tier>/<v1 name>` where the v1 name is `<ns>/<tier>.<name>` (`<ns>/knp.default.<name>` for
 * Kubernetes policies, `<tier>.<name>` for global ones); `kind` (v3.32+) `<kind>/<ns>/<name>`.
 */
export function policyChainId(p: ResolvedPolicy, style: ChainStyle): string {
  if (style === 'kind') {
    const isK8s = p.kind === 'KubernetesNetworkPolicy' || p.kind === 'StagedKubernetesNetworkPolicy';
    const name = isK8s ? (p.k8sName ?? p.name) : p.name;
    return `${policyKindShortName(p.kind)}/${p.namespace ? `${p.namespace}/` : ''}${name}`;
  }
  return `${p.tier}/${v1PolicyName(p)}`;
}

/** The v1 (datastore key) policy name Felix ≤ v3.31 sees: `[ns/][staged:]<tier>.<name>`. */
export function v1PolicyName(p: ResolvedPolicy): string {
  const isK8s = p.kind === 'KubernetesNetworkPolicy' || p.kind === 'StagedKubernetesNetworkPolicy';
  let n = isK8s ? `knp.default.${p.k8sName ?? p.name.replace(/^knp\.default\./, '')}` : p.name.startsWith(`${p.tier}.`) ? p.name : `${p.tier}.${p.name}`;
  if (p.staged) n = `staged:${n}`;
  return p.namespace ? `${p.namespace}/${n}` : n;
}

/** The `<Kind> <ns>/<name>` / `Policy <v1 name>` part of a policy chain's first comment. */
export function policyChainComment(p: ResolvedPolicy, style: ChainStyle, dir: Direction): string {
  if (style === 'kind') {
    const isK8s = p.kind === 'KubernetesNetworkPolicy' || p.kind === 'StagedKubernetesNetworkPolicy';
    const name = isK8s ? (p.k8sName ?? p.name) : p.name;
    return `${p.kind} ${p.namespace ? `${p.namespace}/` : ''}${name} ${dir}`;
  }
  return `Policy ${v1PolicyName(p)} ${dir}`;
}

export function policyChainName(p: ResolvedPolicy, style: ChainStyle, dir: Direction): string {
  return lengthLimitedId(dir === 'ingress' ? 'cali-pi-' : 'cali-po-', policyChainId(p, style));
}

export function profileChainNameFor(profile: string, dir: Direction): string {
  return lengthLimitedId(dir === 'ingress' ? 'cali-pri-' : 'cali-pro-', profile);
}

// ---------------------------------------------------------------------------------------------
// IP sets the rules need

export type IpsetRequest =
  | { kind: 'selector'; name: string; selector: Selector }
  | { kind: 'named-port'; name: string; selector: Selector; proto: 'tcp' | 'udp' | 'sctp'; port: string }
  | { kind: 'service'; name: string; service: string; withPorts: boolean };

/** Collects the sets the rendered rules reference, by name. */
export class IpsetRequests {
  readonly byName = new Map<string, IpsetRequest>();
  add(r: IpsetRequest): string {
    if (!this.byName.has(r.name)) this.byName.set(r.name, r);
    return r.name;
  }
}

const ALL = mustParseSelector('all()');

// ---------------------------------------------------------------------------------------------
// The proto rule (what Felix's calc graph hands the dataplane)

interface ProtoRule {
  action: 'allow' | 'deny' | 'pass' | 'log';
  protocol?: string | number;
  notProtocol?: string | number;
  srcNet: string[];
  notSrcNet: string[];
  dstNet: string[];
  notDstNet: string[];
  srcPorts: PortRange[];
  notSrcPorts: PortRange[];
  dstPorts: PortRange[];
  notDstPorts: PortRange[];
  srcIpSets: string[];
  notSrcIpSets: string[];
  dstIpSets: string[];
  notDstIpSets: string[];
  dstIpPortSets: string[];
  srcNamedPortSets: string[];
  notSrcNamedPortSets: string[];
  dstNamedPortSets: string[];
  notDstNamedPortSets: string[];
  icmp?: { type: number; code?: number };
  notIcmp?: { type: number; code?: number };
}

/** numorstring.Protocol.ToV1(): names lower-cased, numbers kept. */
function protoValue(p: ResolvedRule['protocol']): string | number | undefined {
  if (!p) return undefined;
  if (typeof p.raw === 'number') return p.raw;
  if (/^\d+$/.test(p.raw)) return Number(p.raw);
  return p.raw.toLowerCase();
}

function namedPortProtocol(r: ResolvedRule): 'tcp' | 'udp' | 'sctp' {
  // rule_scanner.go: UDP / SCTP when the rule says so, otherwise TCP.
  const n = r.protocol?.number;
  return n === 17 ? 'udp' : n === 132 ? 'sctp' : 'tcp';
}

function toRange(p: { kind: string; port?: number; from?: number; to?: number }): PortRange {
  return p.kind === 'number' ? { first: p.port!, last: p.port! } : { first: p.from!, last: p.to! };
}

/** filterNets: the IPv4 CIDRs, or undefined when the rule must be dropped for IPv4. */
function filterNets(list: ResolvedEntity['nets'], negated: boolean): string[] | undefined {
  if (list.length === 0) return [];
  const out: string[] = [];
  for (const c of list) {
    if (c.family !== 4) continue;
    if (negated && c.canonical === '0.0.0.0/0') return undefined;
    out.push(c.canonical);
  }
  return out.length === 0 ? undefined : out;
}

/** Why Felix programs nothing for this rule in IPv4 (undefined = it programs it). */
export function ruleSkipReason(r: ResolvedRule): string | undefined {
  if (r.invalid?.length) return `not programmed: ${r.invalid[0]}`;
  if (r.ipVersion === 6) return 'IPv6-only rule';
  const proto = protoValue(r.protocol);
  if (!r.ipVersion && (proto === 'icmpv6' || proto === 58)) return 'ICMPv6 rule (IPv6 only)';
  for (const side of [r.source, r.destination]) {
    if (filterNets(side.nets, false) === undefined) return 'no IPv4 CIDR in nets';
    if (filterNets(side.notNets, true) === undefined) return 'no IPv4 CIDR in notNets (or a negated catch-all)';
  }
  return undefined;
}

function sideSets(e: ResolvedEntity, which: 'src' | 'dst', r: ResolvedRule, sets: IpsetRequests) {
  const numeric = e.ports.filter((p) => p.kind !== 'named').map(toRange);
  const named = e.ports.flatMap((p) => (p.kind === 'named' ? [p.name] : []));
  const notNumeric = e.notPorts.filter((p) => p.kind !== 'named').map(toRange);
  const notNamed = e.notPorts.flatMap((p) => (p.kind === 'named' ? [p.name] : []));
  const proto = namedPortProtocol(r);
  const portSel = e.selector ?? ALL;
  const np = (port: string) => sets.add({ kind: 'named-port', name: namedPortSetName(portSel.uid, proto, port), selector: portSel, proto, port });
  const ipSets: string[] = [];
  // A side with only named ports needs no selector set: the named-port sets are filtered by it.
  if (e.selector && (numeric.length > 0 || named.length === 0)) ipSets.push(sets.add({ kind: 'selector', name: ipsetNameForSelector(e.selector.canonical), selector: e.selector }));
  const notIpSets = e.notSelector ? [sets.add({ kind: 'selector', name: ipsetNameForSelector(e.notSelector.canonical), selector: e.notSelector })] : [];
  const ipPortSets: string[] = [];
  if (e.services) {
    const svc = `${e.services.namespace}/${e.services.name}`;
    if (which === 'dst') ipPortSets.push(sets.add({ kind: 'service', name: ipsetNameForId(serviceSetId(e.services.namespace, e.services.name, true)), service: svc, withPorts: true }));
    else ipSets.push(sets.add({ kind: 'service', name: ipsetNameForId(serviceSetId(e.services.namespace, e.services.name, false)), service: svc, withPorts: false }));
  }
  return { numeric, notNumeric, named: named.map(np), notNamed: notNamed.map(np), ipSets, notIpSets, ipPortSets };
}

function toProtoRule(r: ResolvedRule, sets: IpsetRequests): ProtoRule | undefined {
  if (ruleSkipReason(r)) return undefined;
  const s = sideSets(r.source, 'src', r, sets);
  const d = sideSets(r.destination, 'dst', r, sets);
  const pr: ProtoRule = {
    action: r.action === 'Allow' ? 'allow' : r.action === 'Deny' ? 'deny' : r.action === 'Pass' ? 'pass' : 'log',
    srcNet: filterNets(r.source.nets, false)!,
    notSrcNet: filterNets(r.source.notNets, true)!,
    dstNet: filterNets(r.destination.nets, false)!,
    notDstNet: filterNets(r.destination.notNets, true)!,
    srcPorts: s.numeric,
    notSrcPorts: s.notNumeric,
    dstPorts: d.numeric,
    notDstPorts: d.notNumeric,
    srcIpSets: s.ipSets,
    notSrcIpSets: s.notIpSets,
    dstIpSets: d.ipSets,
    notDstIpSets: d.notIpSets,
    dstIpPortSets: d.ipPortSets,
    srcNamedPortSets: s.named,
    notSrcNamedPortSets: s.notNamed,
    dstNamedPortSets: d.named,
    notDstNamedPortSets: d.notNamed,
  };
  const proto = protoValue(r.protocol);
  if (proto !== undefined) pr.protocol = proto;
  const notProto = protoValue(r.notProtocol);
  if (notProto !== undefined) pr.notProtocol = notProto;
  if (r.icmp?.type !== undefined) pr.icmp = r.icmp.code !== undefined ? { type: r.icmp.type, code: r.icmp.code } : { type: r.icmp.type };
  if (r.notICMP?.type !== undefined) pr.notIcmp = r.notICMP.code !== undefined ? { type: r.notICMP.type, code: r.notICMP.code } : { type: r.notICMP.type };
  return pr;
}

// ---------------------------------------------------------------------------------------------
// Rendering one proto rule

/** matchBlockBuilder: alternatives (several CIDRs, port blocks) OR-ed through the scratch bits. */
class MatchBlocks {
  using = false;
  private donePositive = false;
  readonly rules: FelixRule[] = [];
  constructor(
    private readonly allPass: number,
    private readonly thisPass: number,
  ) {}

  private initial(bits: number) {
    if (this.using) return;
    this.rules.push({ action: Actions.setMaskedMark(bits, this.allPass | this.thisPass) });
    this.using = true;
  }
  private positiveMark(): number {
    return this.donePositive ? this.thisPass : this.allPass;
  }
  private finishPositive() {
    if (!this.donePositive) {
      this.donePositive = true;
      return;
    }
    this.rules.push({ match: match().markClear(this.thisPass).parts, action: Actions.clearMark(this.allPass) });
  }
  ports(protocol: string | number | undefined, splits: PortRange[][], namedSets: string[], dir: 'src' | 'dst') {
    this.initial(0);
    const mark = this.positiveMark();
    for (const split of splits) {
      const m = match();
      if (protocol !== undefined) m.protocol(protocol);
      if (dir === 'src') m.sourcePortRanges(split);
      else m.destPortRanges(split);
      this.rules.push({ match: m.parts, action: Actions.setMark(mark) });
    }
    for (const s of namedSets) {
      const m = dir === 'src' ? match().sourceIPPortSet(s) : match().destIPPortSet(s);
      this.rules.push({ match: m.parts, action: Actions.setMark(mark) });
    }
    this.finishPositive();
  }
  cidrs(cidrs: string[], dir: 'src' | 'dst') {
    this.initial(0);
    const mark = this.positiveMark();
    for (const c of cidrs) this.rules.push({ match: (dir === 'src' ? match().sourceNet(c) : match().destNet(c)).parts, action: Actions.setMark(mark) });
    this.finishPositive();
  }
  negatedCidrs(cidrs: string[], dir: 'src' | 'dst') {
    this.initial(this.allPass);
    for (const c of cidrs) this.rules.push({ match: (dir === 'src' ? match().sourceNet(c) : match().destNet(c)).parts, action: Actions.clearMark(this.allPass) });
  }
}

/** CalculateRuleMatch, in Felix's order (positive matches, then negated ones). */
function calculateRuleMatch(r: ProtoRule): Match {
  const m = match();
  if (r.protocol !== undefined) m.protocol(r.protocol);
  if (r.srcNet.length === 1) m.sourceNet(r.srcNet[0]);
  for (const s of r.srcIpSets) m.sourceIPSet(s);
  if (r.srcPorts.length > 0) m.sourcePortRanges(r.srcPorts);
  for (const s of r.srcNamedPortSets) m.sourceIPPortSet(s);
  if (r.dstNet.length === 1) m.destNet(r.dstNet[0]);
  for (const s of r.dstIpSets) m.destIPSet(s);
  for (const s of r.dstIpPortSets) m.destIPPortSet(s);
  if (r.dstPorts.length > 0) m.destPortRanges(r.dstPorts);
  for (const s of r.dstNamedPortSets) m.destIPPortSet(s);
  if (r.icmp) m.icmpType(r.icmp.type, r.icmp.code);
  if (r.notProtocol !== undefined) m.notProtocol(r.notProtocol);
  if (r.notSrcNet.length === 1) m.notSourceNet(r.notSrcNet[0]);
  for (const s of r.notSrcIpSets) m.notSourceIPSet(s);
  for (const split of splitPortList(r.notSrcPorts)) m.notSourcePortRanges(split);
  for (const s of r.notSrcNamedPortSets) m.notSourceIPPortSet(s);
  if (r.notDstNet.length === 1) m.notDestNet(r.notDstNet[0]);
  for (const s of r.notDstIpSets) m.notDestIPSet(s);
  for (const split of splitPortList(r.notDstPorts)) m.notDestPortRanges(split);
  for (const s of r.notDstNamedPortSets) m.notDestIPPortSet(s);
  if (r.notIcmp) m.notIcmpType(r.notIcmp.type, r.notIcmp.code);
  return m;
}

function protoRuleToFelixRules(pr0: ProtoRule, cfg: FelixRenderConfig, annotations: Record<string, string> | undefined): FelixRule[] {
  const pr: ProtoRule = { ...pr0 };
  const blocks = new MatchBlocks(cfg.marks.scratch0, cfg.marks.scratch1);
  const srcSplits = splitPortList(pr.srcPorts);
  if (srcSplits.length + pr.srcNamedPortSets.length > 1) {
    blocks.ports(pr.protocol, srcSplits, pr.srcNamedPortSets, 'src');
    pr.srcPorts = [];
    pr.srcNamedPortSets = [];
  }
  const dstSplits = splitPortList(pr.dstPorts);
  if (dstSplits.length + pr.dstNamedPortSets.length > 1) {
    blocks.ports(pr.protocol, dstSplits, pr.dstNamedPortSets, 'dst');
    pr.dstPorts = [];
    pr.dstNamedPortSets = [];
  }
  if (pr.srcNet.length > 1) {
    blocks.cidrs(pr.srcNet, 'src');
    pr.srcNet = [];
  }
  if (pr.dstNet.length > 1) {
    blocks.cidrs(pr.dstNet, 'dst');
    pr.dstNet = [];
  }
  if (pr.srcNet.length + pr.notSrcNet.length > 1) {
    blocks.negatedCidrs(pr.notSrcNet, 'src');
    pr.notSrcNet = [];
  }
  if (pr.dstNet.length + pr.notDstNet.length > 1) {
    blocks.negatedCidrs(pr.notDstNet, 'dst');
    pr.notDstNet = [];
  }
  let m = calculateRuleMatch(pr);
  if (blocks.using) m = m.markSingleBitSet(cfg.marks.scratch0);

  // CombineMatchAndActionsForProtoRule (flow logs off: no NFLOG rules).
  const after: FelixRule[] = [];
  let mark = 0;
  if (pr.action === 'log') after.push({ match: [], action: Actions.log(cfg.logPrefix) });
  if (pr.action === 'allow') {
    mark = cfg.marks.accept;
    after.push({ action: Actions.return() });
  } else if (pr.action === 'pass') {
    mark = cfg.marks.pass;
    after.push({ action: Actions.return() });
  } else if (pr.action === 'deny') {
    mark = cfg.marks.drop;
    after.push({ action: cfg.denyAction });
  }
  const out: FelixRule[] = [...blocks.rules];
  let combined = m;
  if (mark !== 0) {
    out.push({ match: m.parts, action: Actions.setMark(mark) });
    combined = match().markSingleBitSet(mark);
  }
  for (const r of after) out.push({ match: [...(r.match ?? []), ...combined.parts], action: r.action! });
  // Rule annotations become `k=v` comments on every rule (Go map order; we sort for stability).
  const notes = Object.entries(annotations ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${k}=${v}`);
  if (notes.length) for (const r of out) r.comments = [...(r.comments ?? []), ...notes];
  return out;
}

export interface RuleTrace {
  /** Index of the API rule each rendered rule came from (-1: the chain comment rule). */
  source: number[];
  skipped: { index: number; reason: string }[];
}

/** ProtoRulesToIptablesRules: every rule, trailing RETURNs stripped, the chain comment on rule 0. */
export function rulesToChain(rules: ResolvedRule[], cfg: FelixRenderConfig, sets: IpsetRequests, chainComment: string, annotationsOf?: (r: ResolvedRule) => Record<string, string> | undefined): { rules: FelixRule[]; trace: RuleTrace } {
  const out: FelixRule[] = [];
  const trace: RuleTrace = { source: [], skipped: [] };
  for (const r of rules) {
    const why = ruleSkipReason(r);
    if (why) {
      trace.skipped.push({ index: r.index, reason: why });
      continue;
    }
    const pr = toProtoRule(r, sets)!;
    const rendered = protoRuleToFelixRules(pr, cfg, annotationsOf?.(r));
    out.push(...rendered);
    for (let i = 0; i < rendered.length; i++) trace.source.push(r.index);
  }
  while (out.length > 0 && out[out.length - 1].action?.isReturn) {
    out.pop();
    trace.source.pop();
  }
  if (out.length === 0) {
    out.push({});
    trace.source.push(-1);
  }
  out[0] = { ...out[0], comments: [...(out[0].comments ?? []), chainComment] };
  return { rules: out, trace };
}

export interface PolicyChains {
  policy: ResolvedPolicy;
  chains: { dir: Direction; def: ChainDef; trace: RuleTrace }[];
}

/** PolicyToIptablesChains: both directions (Felix always renders both). */
export function policyChains(p: ResolvedPolicy, cfg: FelixRenderConfig, sets: IpsetRequests): PolicyChains {
  const chains: PolicyChains['chains'] = [];
  for (const dir of ['ingress', 'egress'] as const) {
    const r = rulesToChain(dir === 'ingress' ? p.ingress : p.egress, cfg, sets, policyChainComment(p, cfg.chainStyle, dir));
    chains.push({ dir, def: { table: 'filter', name: policyChainName(p, cfg.chainStyle, dir), rules: r.rules }, trace: r.trace });
  }
  return { policy: p, chains };
}

export function profileChains(p: ResolvedProfile, cfg: FelixRenderConfig, sets: IpsetRequests): { dir: Direction; def: ChainDef; trace: RuleTrace }[] {
  return (['ingress', 'egress'] as const).map((dir) => {
    const r = rulesToChain(dir === 'ingress' ? p.ingress : p.egress, cfg, sets, `Profile ${p.name} ${dir}`);
    return { dir, def: { table: 'filter' as const, name: profileChainNameFor(p.name, dir), rules: r.rules }, trace: r.trace };
  });
}
