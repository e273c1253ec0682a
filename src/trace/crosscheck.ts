/**
 * P1's third and fourth questions, automated: does the dataplane do what the resources say?
 * The intent verdict (policy evaluation over the cluster's resources) is compared with the
 * trace's verdict; when they disagree on a Calico chain, the ip sets that chain's policies use
 * are checked against what their selectors evaluate to now — the usual cause is Felix being out
 * of sync.
 */
import { runPolicyCheck, type PolicyCheckJson } from '../calico/policy/explain.js';
import type { PolicyModel } from '../calico/policy/resolve.js';
import type { NodeRuntime, Runtime } from './runtime.js';
import type { TraceResult } from './types.js';

export interface SetMismatch {
  node: string;
  set: string;
  selector: string;
  ip: string;
  shouldContain: boolean;
  artifact?: string;
}

/** IP sets of the policies on a path that disagree with their selectors for `ip`. */
export function setMismatchesFor(model: PolicyModel, nr: NodeRuntime, chains: string[], ip: string, peerLabels: ((k: string) => string | undefined) | undefined): SetMismatch[] {
  const dump = nr.data.iptables;
  if (!dump || !nr.data.ipsets || !peerLabels) return [];
  const bySet = new Map<string, string>();
  for (const p of model.policies)
    for (const r of [...p.ingress, ...p.egress])
      for (const side of [r.source, r.destination]) {
        if (side.ipsets.selector) bySet.set(side.ipsets.selector.name, side.ipsets.selector.selector);
        if (side.ipsets.notSelector) bySet.set(side.ipsets.notSelector.name, side.ipsets.notSelector.selector);
      }
  const out: SetMismatch[] = [];
  const seen = new Set<string>();
  const filter = dump.tables.get('filter');
  for (const c of chains) {
    const chain = filter?.chains.get(c);
    if (!chain) continue;
    for (const rule of chain.rules)
      for (const m of rule.matches) {
        if (m.kind !== 'set' || seen.has(m.setName)) continue;
        seen.add(m.setName);
        const sel = bySet.get(m.setName);
        if (!sel) continue;
        const model2 = model.policies.flatMap((p) => [...p.ingress, ...p.egress]).flatMap((r) => [r.source, r.destination]).find((s) => s.ipsets.selector?.name === m.setName || s.ipsets.notSelector?.name === m.setName);
        const compiled = model2?.ipsets.selector?.name === m.setName ? model2.selector : model2?.notSelector;
        if (!compiled) continue;
        const should = compiled.matches(peerLabels);
        const is = nr.env.ipsetTest(m.setName, ip);
        if (is === undefined) continue;
        if (is !== should) out.push({ node: nr.name, set: m.setName, selector: sel, ip, shouldContain: should, artifact: nr.data.artifacts.ipset });
      }
  }
  return out;
}

export function crossCheck(model: PolicyModel, rt: Runtime, tr: TraceResult): { intent?: TraceResult['intent']; disagreement?: string } {
  if (tr.source.kind !== 'pod' || (tr.destination.kind !== 'pod' && tr.destination.kind !== 'service')) return {};
  const q = tr.query;
  let json: PolicyCheckJson;
  let toRef = tr.destination.id;
  if (tr.destination.kind === 'service') {
    // Policy is enforced at the backend the trace reached.
    const final = tr.paths[0]?.finalPacket?.dst;
    const ep = final ? model.endpointsByIp.get(final)?.[0] : undefined;
    if (!ep) return {};
    toRef = ep.id;
  }
  const port = tr.destination.kind === 'service' ? tr.paths[0]?.finalPacket?.dport : q.port;
  try {
    json = runPolicyCheck(model, { from: tr.source.id, to: toRef, port, protocol: q.protocol }).json;
  } catch {
    return {};
  }
  const decided = (d: PolicyCheckJson['ingress']) => (d.decidedBy ? `${d.decidedBy.policy ?? d.decidedBy.profile ?? ''}${d.decidedBy.rule !== null ? ` rule ${d.decidedBy.rule}` : ''} ${d.decidedBy.action}`.trim() : d.via);
  const summary = `egress ${json.egress.verdict} (${decided(json.egress)}), ingress ${json.ingress.verdict} (${decided(json.ingress)})`;
  const intent = { allowed: json.allowed, summary };
  const d = tr.dropped;
  const calicoDrop = d && d.chain && /^cali-(tw|fw|pi|po|pri|pro|gi|go)-/.test(d.chain);
  if (json.allowed && tr.verdict === 'dropped' && calicoDrop && d.node) {
    const nr = rt.nodes.get(d.node);
    const ingress = /^cali-(tw|pi|pri|gi)-/.test(d.chain!);
    const peerId = ingress ? tr.source.id : toRef;
    const peer = model.endpointById.get(peerId);
    const path = tr.paths.find((p) => p.dropped === d) ?? tr.paths[0];
    const chains = new Set<string>([d.chain!]);
    for (const h of path?.hops ?? []) for (const s of h.steps) if (s.kind === 'hook') for (const hit of s.hits) if (hit.action.startsWith('jump cali-p') || hit.action.startsWith('goto cali-p')) chains.add(hit.action.split(' ')[1]);
    const ip = ingress ? tr.source.ip : (path?.finalPacket?.dst ?? tr.destination.ip);
    const mism = nr ? setMismatchesFor(model, nr, [...chains], ip, peer?.getLabel) : [];
    const why = mism.length
      ? mism.map((m) => `ipset ${m.set} ${m.shouldContain ? 'lacks' : 'wrongly holds'} ${m.ip} although selector \`${m.selector}\` ${m.shouldContain ? 'matches' : 'does not match'} it`).join('; ') + ' → Felix out of sync?'
      : 'the programmed rules differ from the resources → Felix out of sync, or resources changed after the dump';
    return { intent, disagreement: `policy allows, but ${d.node}'s ${d.chain} drops (line ${d.line}): ${why}` };
  }
  if (!json.allowed && tr.verdict === 'delivered') {
    return { intent, disagreement: `policy denies (${json.ingress.verdict === 'deny' ? 'ingress' : 'egress'}), but the programmed rules deliver the packet → Felix has not applied the policy (out of sync), or the dump predates it` };
  }
  return { intent };
}
