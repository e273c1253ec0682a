/**
 * One-line explanations of why a rule did not match a packet, in the words an operator uses:
 * "source selector `role == 'db'` does not match x/a {app: client}", "destination port 80 not
 * in [443]". The decision itself is made in match.ts; these functions re-check the pieces of
 * the failing part to name the one that failed.
 */
import type { PortMatch } from '../../model/resources.js';
import { LABEL_NAMESPACE, type LabelGetter, type Selector } from '../selector/index.js';
import {
  type PacketMiss,
  type Peer,
  type PolicyPacket,
  type SideMiss,
  inSelectorSet,
  namedPortHit,
  packetMiss,
  protocolName,
  sideMiss,
} from './match.js';
import type { PolicyKind, ResolvedEntity, ResolvedRule } from './model.js';
import type { PolicyModel } from './resolve.js';

const K8S_TERM = "projectcalico.org/orchestrator == 'k8s'";

/** Kubernetes-derived selectors carry the orchestrator term; it never explains a miss, so hide it. */
export function displaySelector(text: string, kind?: PolicyKind): string {
  if (kind === 'KubernetesNetworkPolicy' || kind === 'StagedKubernetesNetworkPolicy') {
    if (text === K8S_TERM) return 'all pods';
    if (text.startsWith(`${K8S_TERM} && `)) return text.slice(K8S_TERM.length + 4);
  }
  return text;
}

function quote(s: string): string {
  return `\`${s}\``;
}

const MAX_SHOWN = 6;

function fmtPairs(pairs: [string, string][]): string {
  const shown = pairs.slice(0, MAX_SHOWN).map(([k, v]) => `${k}: ${v === '' ? '""' : v}`);
  if (pairs.length > MAX_SHOWN) shown.push(`… ${pairs.length - MAX_SHOWN} more`);
  return `{${shown.join(', ')}}`;
}

/**
 * The labels relevant to a selector: the ones it names that the owner has; when it has none of
 * them, its own labels (Calico's `projectcalico.org/*` ones left out) and the names it lacks.
 */
export function relevantLabels(get: LabelGetter, keys: Iterable<string>, own?: Record<string, string>, strip = ''): string {
  const present: [string, string][] = [];
  const absent: string[] = [];
  for (const k of keys) {
    const v = get(k);
    if (v === undefined) absent.push(k.startsWith(strip) ? k.slice(strip.length) : k);
    else present.push([k.startsWith(strip) ? k.slice(strip.length) : k, v]);
  }
  if (present.length > 0) return fmtPairs(present) + (absent.length > 0 ? ` (no label ${absent.join(', ')})` : '');
  const base = own ? Object.entries(own).filter(([k]) => !k.startsWith('projectcalico.org/')) : [];
  const labels = base.map(([k, v]) => [k.startsWith(strip) ? k.slice(strip.length) : k, v] as [string, string]);
  return fmtPairs(labels) + (absent.length > 0 ? ` (no label ${absent.join(', ')})` : '');
}

function who(peer: Peer): string {
  return peer.endpoint ? peer.endpoint.id : (peer.ip?.text ?? peer.label);
}

/** "x/a {pod: a}" for the owner(s) of the address, with the labels that matter to `sel`. */
function ownersWithLabels(peer: Peer, sel: Selector, strip = '', hide?: string): string {
  if (peer.members.length === 0) return `${who(peer)} (not a Calico endpoint and in no NetworkSet)`;
  const keys = hide ? [...sel.labelKeys].filter((k) => k !== hide) : sel.labelKeys;
  return peer.members
    .map((m) => {
      let own = m.endpoint ? m.endpoint.labels : m.networkSet?.labels;
      if (strip) {
        // Inherited (profile) labels: show the namespace's / service account's own labels.
        const inherited = m.endpoint?.profileLabels ?? m.networkSet?.profileLabels ?? {};
        own = Object.fromEntries(Object.entries(inherited).filter(([k]) => k.startsWith(strip) && k !== `${strip}projectcalico.org/name`).map(([k, v]) => [k.slice(strip.length), v]));
      }
      return `${m.id} ${relevantLabels(m.get, keys, own, strip)}`;
    })
    .join(', ');
}

function isK8s(kind?: PolicyKind): boolean {
  return kind === 'KubernetesNetworkPolicy' || kind === 'StagedKubernetesNetworkPolicy';
}

function namespaceOf(peer: Peer): string | undefined {
  for (const m of peer.members) {
    const ns = m.get(LABEL_NAMESPACE);
    if (ns !== undefined) return ns;
  }
  return undefined;
}

function explainSelectorMiss(e: ResolvedEntity, peer: Peer, side: string, kind?: PolicyKind): string {
  const c = e.components;
  if (c.namespaceSelector && !inSelectorSet(peer, c.namespaceSelector)) {
    const ns = namespaceOf(peer);
    if (ns === undefined) return `${side} namespaceSelector ${quote(e.written.namespaceSelector ?? '')} does not match ${who(peer)}: it is not in a namespace`;
    return `${side} namespaceSelector ${quote(e.written.namespaceSelector ?? '')} does not match namespace ${ns} ${relevantLabels(peer.members[0].get, c.namespaceSelector.labelKeys, undefined, 'pcns.')}`;
  }
  if (c.policyNamespace) {
    const ns = namespaceOf(peer);
    if (ns !== c.policyNamespace) {
      let hint = '';
      // A near miss worth naming: the selector itself matches, only the namespace scoping stops it.
      const hit = c.selector ? peer.members.find((m) => c.selector!.matchesGetter(m.get)) : undefined;
      if (hit) {
        hint =
          ns === undefined
            ? ` (${hit.id} matches the selector; namespaceSelector: global() would include it)`
            : ` (${hit.id} matches the selector; a namespaceSelector for ${ns} would include it)`;
      }
      return `${side} ${who(peer)} is ${ns === undefined ? 'not in a namespace' : `in namespace ${ns}`}; without namespaceSelector the rule only matches namespace ${c.policyNamespace}${hint}`;
    }
  }
  if (c.serviceAccounts && !inSelectorSet(peer, c.serviceAccounts)) {
    const sa = e.written.serviceAccounts;
    const names = sa?.names ?? [];
    const actual = peer.endpoint?.serviceAccount;
    if (names.length > 0 && (actual === undefined || !names.includes(actual))) {
      return `${side} service account ${actual ?? '(none)'} of ${who(peer)} is not in [${names.join(', ')}]`;
    }
    return `${side} serviceAccounts selector ${quote(sa?.selector ?? '')} does not match service account ${actual ?? '(none)'} of ${ownersWithLabels(peer, c.serviceAccounts, 'pcsa.')}`;
  }
  if (c.selector && !inSelectorSet(peer, c.selector)) {
    const sel = displaySelector(e.written.selector ?? '', kind);
    // A Kubernetes podSelector always has the orchestrator term: only non-pods fail on it.
    if (isK8s(kind) && !peer.members.some((m) => m.get('projectcalico.org/orchestrator') === 'k8s')) {
      return `${side} podSelector ${quote(sel)} only matches pods; ${who(peer)} is not a pod`;
    }
    return `${side} selector ${quote(sel)} does not match ${ownersWithLabels(peer, c.selector, '', isK8s(kind) ? 'projectcalico.org/orchestrator' : undefined)}`;
  }
  if (c.notSelector && inSelectorSet(peer, c.notSelector)) {
    return `${side} notSelector ${quote(e.written.notSelector ?? '')} matches ${ownersWithLabels(peer, c.notSelector)}`;
  }
  return `${side} ${who(peer)} is not in the IP set of ${quote(e.selector?.canonical ?? '')}`;
}

function portText(p: PortMatch): string {
  return p.kind === 'number' ? String(p.port) : p.kind === 'range' ? `${p.from}:${p.to}` : p.name;
}

/** Port list with named ports resolved against the side's owner, e.g. `[80, http (=8080/TCP on y/b)]`. */
function portsText(list: PortMatch[], e: ResolvedEntity, peer: Peer, pkt: PolicyPacket): string {
  const parts = list.map((p) => {
    if (p.kind !== 'named') return portText(p);
    const ep = peer.members.find((m) => m.endpoint && (!e.selector || e.selector.matchesGetter(m.get)))?.endpoint;
    if (!ep) return `${p.name} (named port; ${who(peer)} has none)`;
    const hits = ep.ports.filter((x) => x.name === p.name);
    if (hits.length === 0) return `${p.name} (${ep.id} has no port named ${p.name})`;
    const same = hits.filter((x) => x.protocol === pkt.proto);
    const show = (same.length > 0 ? same : hits).map((x) => `${x.port}/${x.protocolName}`).join(', ');
    return `${p.name} (=${show} on ${ep.id})`;
  });
  return `[${parts.join(', ')}]`;
}

function explainSideMiss(model: PolicyModel, m: SideMiss, e: ResolvedEntity, peer: Peer, pkt: PolicyPacket, side: 'source' | 'destination', kind?: PolicyKind): string {
  switch (m.kind) {
    case 'selector':
      return explainSelectorMiss(e, peer, side, kind);
    case 'notSelector':
      return `${side} notSelector ${quote(e.written.notSelector ?? '')} matches ${ownersWithLabels(peer, e.notSelector!)}`;
    case 'nets':
      if (!peer.ip) return `${side} ${who(peer)} has no IPv${pkt.family} address, so it cannot be in nets [${e.nets.map((c) => c.text).join(', ')}]`;
      return `${side} IP ${peer.ip.text} not in nets [${e.nets.map((c) => c.text).join(', ')}]`;
    case 'notNets':
      return `${side} IP ${peer.ip?.text} is in notNets ${m.cidr.text}`;
    case 'ports': {
      const port = side === 'source' ? pkt.sport : pkt.dport;
      if (m.reason === 'no-ports-protocol') return `${side} ports ${portsText(e.ports, e, peer, pkt)} need TCP, UDP or SCTP; the packet is ${protocolName(pkt.proto)}`;
      if (m.reason === 'unknown-port') return `${side} port unknown; the rule needs ${side} ports ${portsText(e.ports, e, peer, pkt)} (give the source port to check it)`;
      return `${side} port ${port} not in ${portsText(e.ports, e, peer, pkt)}`;
    }
    case 'notPorts': {
      const port = side === 'source' ? pkt.sport : pkt.dport;
      const hit = m.port.kind === 'named' && namedPortHit(e, peer, m.port.name, pkt, port ?? -1) ? `${m.port.name} (=${port})` : portText(m.port);
      return `${side} port ${port} is in notPorts (${hit})`;
    }
    case 'services': {
      const svc = model.services.get(m.service);
      const port = side === 'destination' ? `:${pkt.dport}/${protocolName(pkt.proto)}` : '';
      if (!svc) return `${side} service ${m.service} has no EndpointSlices in the bundle (its IP set is empty)`;
      return `${side} ${peer.ip?.text ?? who(peer)}${port} is not a backend of service ${m.service}`;
    }
  }
}

function explainPacketMiss(m: PacketMiss, rule: ResolvedRule, pkt: PolicyPacket): string {
  switch (m.kind) {
    case 'invalid':
      return `rule is never programmed: ${m.why}`;
    case 'ipVersion':
      return `rule is IPv${m.want}-only (ipVersion ${m.want}); the packet is IPv${pkt.family}`;
    case 'family':
      return m.field === 'notNets' && rule[m.side].notNets.some((c) => c.family === pkt.family && c.bits === 0)
        ? `${m.side} notNets has the catch-all ${rule[m.side].notNets.find((c) => c.bits === 0)?.text}; Felix drops the rule`
        : `${m.side} ${m.field} has no IPv${pkt.family} CIDR; Felix leaves the rule out of IPv${pkt.family} chains`;
    case 'protocol':
      return `protocol ${protocolName(pkt.proto)} is not ${String(rule.protocol?.raw)}`;
    case 'notProtocol':
      return `protocol ${protocolName(pkt.proto)} is excluded (notProtocol ${String(rule.notProtocol?.raw)})`;
    case 'icmp': {
      const want = `type ${rule.icmp?.type ?? 'any'}${rule.icmp?.code !== undefined ? ` code ${rule.icmp.code}` : ''}`;
      if (pkt.proto !== 1 && pkt.proto !== 58) return `rule matches ICMP ${want} only; the packet is ${protocolName(pkt.proto)}`;
      return `ICMP type ${pkt.icmpType ?? '?'} code ${pkt.icmpCode ?? '?'} is not ${want}`;
    }
    case 'notICMP':
      return `ICMP type ${pkt.icmpType ?? '?'} code ${pkt.icmpCode ?? '?'} is excluded by notICMP`;
  }
}

/** Every reason the rule does not match (packet first, then source, then destination). */
export function explainRuleMiss(model: PolicyModel, rule: ResolvedRule, pkt: PolicyPacket, src: Peer, dst: Peer, kind?: PolicyKind): string[] {
  const out: string[] = [];
  const pm = packetMiss(rule, pkt);
  if (pm) return [explainPacketMiss(pm, rule, pkt)];
  const sm = sideMiss(model, rule.source, src, pkt, 'source');
  if (sm) out.push(explainSideMiss(model, sm, rule.source, src, pkt, 'source', kind));
  const dm = sideMiss(model, rule.destination, dst, pkt, 'destination');
  if (dm) out.push(explainSideMiss(model, dm, rule.destination, dst, pkt, 'destination', kind));
  return out;
}

function entityText(e: ResolvedEntity, kind?: PolicyKind): string[] {
  const parts: string[] = [];
  const w = e.written;
  if (w.namespaceSelector) parts.push(`namespaceSelector ${quote(w.namespaceSelector)}`);
  if (w.selector) parts.push(`selector ${quote(displaySelector(w.selector, kind))}`);
  if (w.notSelector) parts.push(`notSelector ${quote(w.notSelector)}`);
  if (w.serviceAccounts) {
    if (w.serviceAccounts.names.length > 0) parts.push(`serviceAccounts [${w.serviceAccounts.names.join(', ')}]`);
    if (w.serviceAccounts.selector) parts.push(`serviceAccounts selector ${quote(w.serviceAccounts.selector)}`);
  }
  if (e.nets.length > 0) parts.push(`nets [${e.nets.map((c) => c.text).join(', ')}]`);
  if (e.notNets.length > 0) parts.push(`notNets [${e.notNets.map((c) => c.text).join(', ')}]`);
  if (e.services) parts.push(`service ${e.services.namespace}/${e.services.name}`);
  if (e.ports.length > 0) parts.push(`ports [${e.ports.map(portText).join(', ')}]`);
  if (e.notPorts.length > 0) parts.push(`notPorts [${e.notPorts.map(portText).join(', ')}]`);
  return parts;
}

/** A compact description of a rule: `Allow TCP from selector `app == 'web'` to ports [80]`. */
export function describeRule(rule: ResolvedRule, kind?: PolicyKind): string {
  const parts: string[] = [rule.action];
  if (rule.protocol) parts.push(String(rule.protocol.raw));
  if (rule.notProtocol) parts.push(`not ${String(rule.notProtocol.raw)}`);
  if (rule.icmp) parts.push(`icmp type ${rule.icmp.type ?? 'any'}${rule.icmp.code !== undefined ? ` code ${rule.icmp.code}` : ''}`);
  if (rule.notICMP) parts.push(`not icmp type ${rule.notICMP.type ?? 'any'}${rule.notICMP.code !== undefined ? ` code ${rule.notICMP.code}` : ''}`);
  if (rule.ipVersion) parts.push(`IPv${rule.ipVersion}`);
  const src = entityText(rule.source, kind);
  const dst = entityText(rule.destination, kind);
  if (src.length > 0) parts.push(`from ${src.join(' ')}`);
  if (dst.length > 0) parts.push(`to ${dst.join(' ')}`);
  if (src.length === 0 && dst.length === 0 && !rule.protocol && !rule.notProtocol && !rule.icmp) parts.push('(everything)');
  if (rule.http) parts.push('(HTTP match not evaluated)');
  return parts.join(' ');
}
