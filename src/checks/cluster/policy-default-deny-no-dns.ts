/**
 * policy.default-deny-no-dns (C5, P7): endpoints whose egress is isolated (an enforced egress
 * policy selects them) and that have no allowed path to any cluster DNS endpoint (kube-dns /
 * CoreDNS pods in kube-system, or the backends of Service kube-system/kube-dns) on UDP 53 —
 * name resolution fails for them. TCP 53 (large answers, DNSSEC) is reported alongside.
 * Decided with evaluateFlow, so tiers, Pass, order and the DNS pods' own ingress policy count.
 */
import type { Endpoint } from '../../calico/endpoints.js';
import { type FlowResult, evaluateFlow } from '../../calico/policy/evaluate.js';
import { policiesForEndpoint } from '../../calico/policy/resolve.js';
import type { PolicyModel } from '../../calico/policy/resolve.js';
import type { Evidence } from '../../model/evidence.js';
import { type Check, type Finding, result } from '../types.js';
import { dedupeEvidence, ev, listText, notChecked, plural } from './util.js';

const ID = 'policy.default-deny-no-dns';

/** Cluster DNS endpoints: kube-system pods labelled k8s-app=kube-dns, or the kube-dns Service's backends. */
export function dnsEndpoints(model: PolicyModel): Endpoint[] {
  const out = new Set<Endpoint>();
  for (const e of model.endpoints) {
    if (e.kind !== 'workload' || e.namespace !== 'kube-system' || e.ips.length === 0) continue;
    const app = e.labels['k8s-app'];
    if (app === 'kube-dns' || app === 'coredns' || (e.pod ?? e.name).startsWith('coredns-')) out.add(e);
  }
  for (const key of ['kube-system/kube-dns', 'kube-system/coredns']) {
    const svc = model.services.get(key);
    for (const ip of svc?.ips ?? []) for (const e of model.endpointsByIp.get(ip) ?? []) out.add(e);
  }
  return [...out];
}

function enforcedEgress(model: PolicyModel, e: Endpoint): boolean {
  return policiesForEndpoint(model, e, 'egress').some((b) => b.policies.length > 0);
}

function firstAllowed(model: PolicyModel, src: Endpoint, dns: Endpoint[], protocol: 'UDP' | 'TCP'): { ok: boolean; sample?: FlowResult } {
  let sample: FlowResult | undefined;
  for (const d of dns) {
    if (d === src) return { ok: true };
    const r = evaluateFlow(model, { src, dst: d, protocol, port: 53 });
    if (r.allowed) return { ok: true, sample: r };
    sample ??= r;
  }
  return { ok: false, sample };
}

function blockedBy(r: FlowResult): { side: 'egress' | 'ingress'; text: string; evidence?: Evidence['artifact']; line?: number; policy?: string; tier?: string } {
  const v = r.egress.verdict === 'deny' ? r.egress : r.ingress;
  const d = v.decidedBy;
  const last = [...v.trail].reverse().find((t) => t.kind === 'decision' || t.kind === 'end-of-tier' || t.kind === 'no-profile-matched');
  return {
    side: v.direction,
    text: last?.text ?? `${v.direction} denied`,
    ...(d?.evidence?.artifact ? { evidence: d.evidence.artifact } : {}),
    ...(d?.evidence?.line ? { line: d.evidence.line } : {}),
    ...(d?.policy ? { policy: d.policy } : {}),
    ...(d?.tier ? { tier: d.tier } : {}),
  };
}

function allowDnsYaml(ns: string, tier: string | undefined, order: number | undefined): string {
  const rule = (proto: string) =>
    `  - action: Allow\n    protocol: ${proto}\n    destination:\n      namespaceSelector: projectcalico.org/name == 'kube-system'\n      selector: k8s-app == 'kube-dns'\n      ports: [53]\n`;
  return (
    `apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata:\n  name: ${tier && tier !== 'default' ? `${tier}.` : ''}allow-dns\n  namespace: ${ns}\nspec:\n` +
    (tier && tier !== 'default' ? `  tier: ${tier}\n` : '') +
    `  order: ${order ?? 100}\n  selector: all()\n  types:\n  - Egress\n  egress:\n${rule('UDP')}${rule('TCP')}`
  );
}

export const policyDefaultDenyNoDns: Check = {
  id: ID,
  category: 'policy',
  severity: 'warning',
  title: 'Egress-isolated endpoints with no allowed path to cluster DNS',
  seeds: ['C5', 'P7'],
  run(ctx) {
    const b = ctx.bundle;
    const model = ctx.policy();
    const isolated = model.endpoints.filter((e) => e.kind === 'workload' && e.ips.length > 0 && enforcedEgress(model, e));
    if (isolated.length === 0) return result();
    const dns = dnsEndpoints(model);
    if (dns.length === 0) return result([], [notChecked(ID, 'no cluster DNS endpoints in the bundle (kube-system pods labelled k8s-app=kube-dns, or Service kube-system/kube-dns with endpoints)')]);

    interface Group {
      ns: string;
      key: string;
      eps: Endpoint[];
      udp: FlowResult;
      tcpOk: boolean;
      by: ReturnType<typeof blockedBy>;
    }
    const groups = new Map<string, Group>();
    for (const e of isolated) {
      if (dns.includes(e)) continue;
      const udp = firstAllowed(model, e, dns, 'UDP');
      if (udp.ok || !udp.sample) continue;
      const tcp = firstAllowed(model, e, dns, 'TCP');
      const by = blockedBy(udp.sample);
      const key = `${e.namespace}|${by.side}|${by.policy ?? ''}|${by.tier ?? ''}|${by.text.replace(e.id, '')}`;
      const g = groups.get(key);
      if (g) g.eps.push(e);
      else groups.set(key, { ns: e.namespace ?? '', key, eps: [e], udp: udp.sample, tcpOk: tcp.ok, by });
    }
    const findings: Finding[] = [];
    for (const g of groups.values()) {
      const egressPolicies = new Map<string, { artifact: string; line?: number; order?: number; tier: string }>();
      for (const blk of policiesForEndpoint(model, g.eps[0], 'egress')) for (const p of blk.policies) egressPolicies.set(p.id, { artifact: p.evidence.artifact, line: p.evidence.line, order: p.order, tier: p.tier });
      const evidence: Evidence[] = [];
      if (g.by.evidence) evidence.push(ev(b, g.by.evidence, g.by.line, `decides: ${g.by.text}`));
      for (const [id, p] of egressPolicies) evidence.push(ev(b, p.artifact, p.line, `egress policy ${id} selects ${g.eps[0].id}`));
      for (const e of g.eps.slice(0, 5)) evidence.push(ev(b, e.source.artifact, e.source.line, `${e.id} ${e.ips[0]}`));
      const dnsShown = listText(dns.map((d) => `${d.id} ${d.ips[0]}`), 3);
      const denyTier = g.by.side === 'egress' ? g.by.tier : undefined;
      const denyOrder = g.by.policy ? model.policies.find((p) => p.id === g.by.policy)?.order : undefined;
      const orders = [...egressPolicies.values()].filter((p) => p.tier === (denyTier ?? 'default')).map((p) => p.order).filter((o): o is number => o !== undefined);
      const order = Math.max(0, Math.min(denyOrder ?? 1000, ...orders) - 1);
      const names = g.eps.map((e) => e.id);
      findings.push({
        check: ID,
        severity: 'warning',
        category: 'policy',
        title: `${plural(g.eps.length, 'pod')} in namespace ${g.ns} cannot reach cluster DNS (UDP 53${g.tcpOk ? '' : ' and TCP 53'}): egress is isolated without a DNS exception`,
        explanation:
          `${listText(names, 4)} ${g.eps.length === 1 ? 'is' : 'are'} selected by egress policy (${listText([...egressPolicies.keys()], 4)}), so only explicitly allowed egress leaves ${g.eps.length === 1 ? 'it' : 'them'}. ` +
          `No rule allows UDP 53 to any cluster DNS endpoint (${dnsShown}): ${g.by.side === 'ingress' ? "the DNS pods' ingress policy denies it: " : ''}${g.by.text}. ` +
          `Name resolution fails, which usually looks like "every connection times out".` +
          (g.tcpOk ? ' (TCP 53 is allowed.)' : ''),
        subject: g.ns,
        evidence: dedupeEvidence(evidence),
        remediation: {
          summary:
            g.by.side === 'ingress'
              ? `Allow ingress on UDP/TCP 53 from namespace ${g.ns} in the policy selecting the DNS pods.`
              : `Add an egress Allow for UDP and TCP 53 to kube-dns${denyTier && denyTier !== 'default' ? ` in tier ${denyTier}` : ''}, ordered before the policy that denies it.`,
          confirm: [
            `kubectl exec -n ${g.ns} ${g.eps[0].pod ?? g.eps[0].name} -- nslookup kubernetes.default`,
            `caliscope policy check <bundle> --from ${g.eps[0].id} --to ${dns[0].id} --protocol UDP --port 53`,
            `calicoctl get networkpolicy -n ${g.ns} -o yaml`,
          ],
          fix: ['calicoctl apply -f allow-dns.yaml'],
          yaml: allowDnsYaml(g.ns, denyTier, order),
        },
      });
    }
    return result(findings);
  },
};
