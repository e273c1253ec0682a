/**
 * What the CLI needs: endpoint lookup by `ns/pod` or IP, `policy check` (JSON as in issue 3 and
 * text), `policy for` (the policies selecting an endpoint, in evaluation order, with the labels
 * that make each one select it).
 */
import type { Endpoint } from '../endpoints.js';
import { LABEL_NAMESPACE } from '../selector/index.js';
import { type DirectionVerdict, type FlowEnd, type FlowResult, evaluateFlow } from './evaluate.js';
import { protocolName, protocolNumber } from './match.js';
import type { Direction, ResolvedPolicy, TierBlock } from './model.js';
import { cidrContains, parseIp } from './net.js';
import { describeRule, displaySelector } from './reasons.js';
import { type PolicyModel, policiesForEndpoint, policyLess } from './resolve.js';

// ---------------------------------------------------------------------------------------------
// Lookup

export type EndpointLookup =
  | { ok: true; end: FlowEnd; endpoint?: Endpoint; note?: string }
  | { ok: false; error: string };

/**
 * `ns/pod` (also `ns/pod/endpoint`), `host:<node>/<name>`, a HostEndpoint name, or an IP. An IP
 * owned by an endpoint resolves to it; another IP stays an address (outside the cluster, a node…).
 */
export function findEndpoint(model: PolicyModel, ref: string): EndpointLookup {
  const r = ref.trim();
  const byId = model.endpointById.get(r);
  if (byId) return { ok: true, end: byId, endpoint: byId };
  const ip = parseIp(r);
  if (ip) {
    const owners = model.endpointsByIp.get(ip.text);
    if (owners && owners.length > 0) {
      const note = owners.length > 1 ? `${ip.text} belongs to ${owners.map((o) => o.id).join(', ')}; using ${owners[0].id}` : undefined;
      return { ok: true, end: owners[0], endpoint: owners[0], ...(note ? { note } : {}) };
    }
    const svc = model.serviceIps.get(ip.text);
    const hostPod = model.hostNetworkPods.find((h) => h.hostIP === ip.text);
    const sets = model.networkSets.filter((s) => s.nets.some((c) => cidrContains(c, ip))).map((s) => `${s.kind} ${s.id}`);
    const inSets = sets.length > 0 ? ` (it is in ${sets.join(', ')}, whose labels rule selectors can match)` : '';
    const note = svc
      ? `${ip.text} is a service IP (${svc}); Calico policy sees the backend pod after kube-proxy's DNAT`
      : hostPod
        ? `${ip.text} is node ${hostPod.node ?? '?'}'s address (host-networked pods use it); not a Calico endpoint unless a HostEndpoint has it`
        : `${ip.text} is not a Calico endpoint's address${inSets}`;
    return { ok: true, end: { ip: ip.text }, note };
  }
  const heps = model.endpoints.filter((e) => e.kind === 'host' && (e.name === r || `${e.node}/${e.name}` === r));
  if (heps.length === 1) return { ok: true, end: heps[0], endpoint: heps[0] };
  const hn = model.hostNetworkPods.find((h) => h.id === r);
  if (hn) {
    if (!hn.hostIP) return { ok: false, error: `${r} is a host-networked pod without a known host IP: its traffic is node ${hn.node ?? '?'}'s traffic` };
    const hep = model.endpointsByIp.get(hn.hostIP)?.[0];
    const note = `${r} is host-networked: its traffic is node ${hn.node ?? '?'}'s (${hn.hostIP})${hep ? `, host endpoint ${hep.id}` : ''}`;
    return hep ? { ok: true, end: hep, endpoint: hep, note } : { ok: true, end: { ip: hn.hostIP }, note };
  }
  // A pod name without namespace, when unambiguous.
  if (!r.includes('/')) {
    const named = model.endpoints.filter((e) => e.kind === 'workload' && e.name === r);
    if (named.length === 1) return { ok: true, end: named[0], endpoint: named[0], note: `${r} resolved to ${named[0].id}` };
    if (named.length > 1) return { ok: false, error: `${r} is ambiguous: ${named.map((e) => e.id).join(', ')}` };
  }
  const ns = r.split('/')[0];
  const near = model.endpoints.filter((e) => e.namespace === ns).map((e) => e.id).slice(0, 5);
  return { ok: false, error: `no endpoint ${JSON.stringify(r)}${near.length > 0 ? ` (in ${ns}: ${near.join(', ')}${near.length === 5 ? ', …' : ''})` : ''}` };
}

// ---------------------------------------------------------------------------------------------
// policy check

export interface PolicyCheckQuery {
  from: string;
  to: string;
  port?: number;
  protocol: string;
  srcPort?: number;
  icmpType?: number;
  icmpCode?: number;
}

export interface DirectionJson {
  verdict: DirectionVerdict['verdict'];
  via: DirectionVerdict['via'];
  endpoint: string | null;
  decidedBy: { tier: string | null; policy: string | null; profile?: string; rule: number | null; action: string } | null;
  trail: string[];
}

export interface PolicyCheckJson {
  allowed: boolean;
  egress: DirectionJson;
  ingress: DirectionJson;
  flow: { from: string; to: string; protocol: string; port: number | null; icmpType?: number; icmpCode?: number };
  notes: string[];
}

export class PolicyQueryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PolicyQueryError';
  }
}

export function directionJson(v: DirectionVerdict): DirectionJson {
  const d = v.decidedBy;
  return {
    verdict: v.verdict,
    via: v.via,
    endpoint: v.endpoint ?? null,
    decidedBy:
      v.verdict === 'not-applicable' || !d
        ? null
        : {
            tier: d.tier ?? null,
            policy: d.profile ? null : (d.policy ?? null),
            ...(d.profile ? { profile: d.profile } : {}),
            rule: d.ruleIndex ?? null,
            action: d.action,
          },
    trail: v.trail.map((t) => t.text),
  };
}

export function flowResultJson(r: FlowResult, from: string, to: string): PolicyCheckJson {
  return {
    allowed: r.allowed,
    egress: directionJson(r.egress),
    ingress: directionJson(r.ingress),
    flow: {
      from,
      to,
      protocol: protocolName(r.packet.proto),
      port: r.packet.dport ?? null,
      ...(r.packet.icmpType !== undefined ? { icmpType: r.packet.icmpType } : {}),
      ...(r.packet.icmpCode !== undefined ? { icmpCode: r.packet.icmpCode } : {}),
    },
    notes: r.notes,
  };
}

/** Runs a check from CLI-style arguments; throws PolicyQueryError for unknown endpoints or protocols. */
export function runPolicyCheck(model: PolicyModel, q: PolicyCheckQuery): { result: FlowResult; json: PolicyCheckJson } {
  const from = findEndpoint(model, q.from);
  if (!from.ok) throw new PolicyQueryError(`--from: ${from.error}`);
  const to = findEndpoint(model, q.to);
  if (!to.ok) throw new PolicyQueryError(`--to: ${to.error}`);
  const proto = protocolNumber(q.protocol);
  if (proto === undefined) throw new PolicyQueryError(`--protocol: unknown protocol ${JSON.stringify(q.protocol)} (TCP, UDP, SCTP, ICMP, ICMPv6 or a number)`);
  if ((proto === 6 || proto === 17 || proto === 132) && q.port === undefined) throw new PolicyQueryError(`--port is needed for ${protocolName(proto)}`);
  const result = evaluateFlow(model, {
    src: from.end,
    dst: to.end,
    protocol: proto,
    ...(q.port !== undefined ? { port: q.port } : {}),
    ...(q.srcPort !== undefined ? { srcPort: q.srcPort } : {}),
    ...(q.icmpType !== undefined || q.icmpCode !== undefined ? { icmp: { type: q.icmpType, code: q.icmpCode } } : {}),
  });
  for (const n of [from.note, to.note]) if (n) result.notes.unshift(n);
  const fromName = from.endpoint ? from.endpoint.id : q.from;
  const toName = to.endpoint ? to.endpoint.id : q.to;
  return { result, json: flowResultJson(result, fromName, toName) };
}

/** `caliscope policy check … --json`: `{"allowed", "egress": {"verdict", "decidedBy", "trail"}, "ingress": …}`. */
export function policyCheck(model: PolicyModel, q: PolicyCheckQuery): PolicyCheckJson {
  return runPolicyCheck(model, q).json;
}

function summary(dir: 'egress' | 'ingress', d: DirectionJson): string {
  const at = d.endpoint ? ` at ${d.endpoint}` : '';
  if (d.verdict === 'not-applicable') return `${dir}${at}: not applicable — ${d.trail[0] ?? ''}`;
  const by = d.decidedBy;
  let how = '';
  switch (d.via) {
    case 'policy':
      how = `by [${by?.tier}] ${by?.policy} rule ${by?.rule} (${by?.action})`;
      break;
    case 'end-of-tier':
      how = `at the end of tier ${by?.tier}: no policy allowed it`;
      break;
    case 'profile':
      how = by?.profile ? `by profile ${by.profile} rule ${by.rule} (${by.action})` : 'no profile allowed it';
      break;
    case 'failsafe':
      how = 'by a failsafe port';
      break;
    default:
      how = '';
  }
  return `${dir}${at}: ${d.verdict.toUpperCase()} ${how}`.trimEnd();
}

/** Text for `caliscope policy check` (without --json). */
export function renderPolicyCheckText(r: PolicyCheckJson): string {
  const lines: string[] = [];
  const icmp = r.flow.icmpType !== undefined ? ` type ${r.flow.icmpType}${r.flow.icmpCode !== undefined ? ` code ${r.flow.icmpCode}` : ''}` : '';
  const port = r.flow.port !== null ? `/${r.flow.port}` : icmp;
  lines.push(`${r.flow.from} → ${r.flow.to} ${r.flow.protocol}${port}: ${r.allowed ? 'ALLOWED' : 'BLOCKED'}`);
  for (const n of r.notes) lines.push(`  note: ${n}`);
  for (const dir of ['egress', 'ingress'] as const) {
    const d = r[dir];
    lines.push(`  ${summary(dir, d)}`);
    if (d.verdict !== 'not-applicable') for (const t of d.trail) lines.push(`    - ${t}`);
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// policy for

export interface SelectingLabel {
  key: string;
  value: string | null;
  /** `own`, or the profile the label is inherited from (`kns.<ns>`: a namespace label). */
  from: string;
}

export interface PolicyForEntry {
  position: number;
  tier: string;
  tierOrder: number | null;
  policy: string;
  kind: ResolvedPolicy['kind'];
  order: number | null;
  staged: boolean;
  /** As written (Kubernetes podSelector shown converted). */
  selector: string;
  /** GlobalNetworkPolicy namespaceSelector / serviceAccountSelector, as written. */
  namespaceSelector: string | null;
  serviceAccountSelector: string | null;
  /** What Felix evaluates. */
  effectiveSelector: string;
  /** The labels the selector looks at, with the endpoint's values. */
  labels: SelectingLabel[];
  rules: string[];
  evidence: { artifact: string; line: number | null };
}

export interface PoliciesForJson {
  endpoint: {
    id: string;
    kind: Endpoint['kind'];
    node: string;
    ips: string[];
    interfaceName: string;
    labels: Record<string, string>;
    profiles: string[];
    profileLabels: Record<string, string>;
    from: Endpoint['from'];
    source: { artifact: string; line: number | null };
    notes: string[];
  };
  ingress: PolicyForEntry[];
  egress: PolicyForEntry[];
  /** What happens when no policy applies in a direction. */
  defaults: { ingress: string; egress: string };
}

function selectingLabels(ep: Endpoint, p: ResolvedPolicy): SelectingLabel[] {
  const out: SelectingLabel[] = [];
  for (const key of p.selector.labelKeys) {
    const own = Object.prototype.hasOwnProperty.call(ep.labels, key);
    const v = ep.getLabel(key);
    out.push({ key, value: v ?? null, from: own ? 'own' : v !== undefined ? (ep.profileLabelSource[key] ?? 'profile') : 'absent' });
  }
  return out;
}

function entries(ep: Endpoint, blocks: TierBlock[], dir: Direction): PolicyForEntry[] {
  const out: PolicyForEntry[] = [];
  for (const b of blocks) {
    for (const p of [...b.policies, ...b.staged].sort(policyLess)) {
      out.push({
        position: out.length + 1,
        tier: b.tier.name,
        tierOrder: b.tier.order ?? null,
        policy: p.id,
        kind: p.kind,
        order: p.order ?? null,
        staged: p.staged,
        selector: displaySelector(p.selectorWritten, p.kind),
        namespaceSelector: p.namespaceSelectorWritten ?? null,
        serviceAccountSelector: p.serviceAccountSelectorWritten ?? null,
        effectiveSelector: p.selector.canonical,
        labels: selectingLabels(ep, p),
        rules: p[dir].map((r) => `${r.index}: ${describeRule(r, p.kind)}`),
        evidence: { artifact: p.evidence.artifact, line: p.evidence.line ?? null },
      });
    }
  }
  return out;
}

export function policiesFor(model: PolicyModel, ref: string): PoliciesForJson {
  const found = findEndpoint(model, ref);
  if (!found.ok) throw new PolicyQueryError(found.error);
  if (!found.endpoint) throw new PolicyQueryError(`${ref}: ${found.note ?? 'not a Calico endpoint'}`);
  const ep = found.endpoint;
  const def = (dir: Direction) => {
    const blocks = policiesForEndpoint(model, ep, dir).filter((b) => b.policies.length > 0);
    if (blocks.length > 0) return 'traffic no policy allows is dropped at the end of the last tier (unless passed on to profiles)';
    return ep.profiles.length > 0 ? `no policy applies → profiles [${ep.profiles.join(', ')}]${ep.profiles.some((x) => x.startsWith('kns.')) ? ' (the namespace profile allows everything)' : ''}` : 'no policy and no profile → dropped';
  };
  return {
    endpoint: {
      id: ep.id,
      kind: ep.kind,
      node: ep.node,
      ips: ep.ips,
      interfaceName: ep.interfaceName,
      labels: ep.labels,
      profiles: ep.profiles,
      profileLabels: ep.profileLabels,
      from: ep.from,
      source: { artifact: ep.source.artifact, line: ep.source.line ?? null },
      notes: ep.notes,
    },
    ingress: entries(ep, policiesForEndpoint(model, ep, 'ingress'), 'ingress'),
    egress: entries(ep, policiesForEndpoint(model, ep, 'egress'), 'egress'),
    defaults: { ingress: def('ingress'), egress: def('egress') },
  };
}

function fmtMap(m: Record<string, string>, skip?: (k: string) => boolean): string {
  const e = Object.entries(m).filter(([k]) => !skip?.(k));
  return `{${e.map(([k, v]) => `${k}: ${v}`).join(', ')}}`;
}

export function renderPoliciesForText(r: PoliciesForJson): string {
  const e = r.endpoint;
  const lines: string[] = [];
  lines.push(`${e.id} (${e.kind === 'host' ? 'HostEndpoint' : e.from}; node ${e.node || '?'}; ${e.ips.join(', ') || 'no IP'}; ${e.interfaceName || 'no interface'})`);
  lines.push(`  labels: ${fmtMap(e.labels, (k) => k === LABEL_NAMESPACE)}`);
  const ns = Object.entries(e.profileLabels).filter(([k]) => k.startsWith('pcns.'));
  if (ns.length > 0) lines.push(`  namespace labels: {${ns.map(([k, v]) => `${k.slice(5)}: ${v}`).join(', ')}}`);
  lines.push(`  profiles: ${e.profiles.join(', ') || '(none)'}`);
  for (const n of e.notes) lines.push(`  note: ${n}`);
  for (const dir of ['ingress', 'egress'] as const) {
    const list = r[dir];
    lines.push('');
    lines.push(`${dir} (evaluation order: tier order → policy order → name):`);
    if (list.length === 0) {
      lines.push(`  ${r.defaults[dir]}`);
      continue;
    }
    for (const p of list) {
      const order = p.order === null ? 'no order' : `order ${p.order}`;
      lines.push(`  ${p.position}. [${p.tier}] ${p.policy} (${p.kind}, ${order})${p.staged ? ' — staged, not enforced' : ''}`);
      const sel = [`\`${p.selector}\``];
      if (p.namespaceSelector) sel.push(`namespaceSelector \`${p.namespaceSelector}\``);
      if (p.serviceAccountSelector) sel.push(`serviceAccountSelector \`${p.serviceAccountSelector}\``);
      const why = p.labels.length === 0 ? ' (matches every endpoint)' : ` because ${p.labels.map((l) => `${l.key}=${l.value ?? '(absent)'}${l.from !== 'own' && l.from !== 'absent' ? ` (from ${l.from})` : ''}`).join(', ')}`;
      lines.push(`     selects it: ${sel.join(' and ')}${why}`);
      if (p.rules.length === 0) lines.push(`     no ${dir} rules: allows nothing (traffic falls to the next policy / end of tier)`);
      for (const rule of p.rules) lines.push(`     rule ${rule}`);
    }
    lines.push(`  then: ${r.defaults[dir]}`);
  }
  return lines.join('\n');
}
