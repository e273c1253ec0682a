/**
 * policy.isolated-endpoint (info; P3, C5): endpoints selected by an enforced ingress policy —
 * everything not explicitly allowed is denied — with who may reach them, summarised from the
 * reachability matrix for the ports their allow rules name. Endpoints with the same namespace
 * and the same ingress policies are reported together.
 */
import type { Endpoint } from '../../calico/endpoints.js';
import { type ReachabilityMatrix, cellAllowed, reachabilityMatrix } from '../../calico/policy/matrix.js';
import { describeRule } from '../../calico/policy/reasons.js';
import { policiesForEndpoint } from '../../calico/policy/resolve.js';
import type { PolicyModel } from '../../calico/policy/resolve.js';
import type { ResolvedPolicy } from '../../calico/policy/model.js';
import type { Evidence } from '../../model/evidence.js';
import { type Check, type Finding, result } from '../types.js';
import { dedupeEvidence, ev, listText, plural } from './util.js';

const ID = 'policy.isolated-endpoint';
/** Probes (protocol/port) per group and overall: the matrix costs O(endpoints²) each. */
const PROBES_PER_GROUP = 3;
const MAX_PROBES = 4;

interface Probe {
  protocol: 'TCP' | 'UDP' | 'SCTP';
  port?: number;
}

const probeKey = (p: Probe) => `${p.protocol}/${p.port ?? '*'}`;

function enforcedIngress(model: PolicyModel, e: Endpoint): ResolvedPolicy[] {
  const out: ResolvedPolicy[] = [];
  for (const b of policiesForEndpoint(model, e, 'ingress')) out.push(...b.policies);
  return out;
}

/** The ports the group's Allow rules name (resolved against the endpoint's named ports). */
function probesFor(policies: ResolvedPolicy[], rep: Endpoint): Probe[] {
  const out = new Map<string, Probe>();
  const add = (p: Probe) => {
    if (out.size < PROBES_PER_GROUP) out.set(probeKey(p), p);
  };
  for (const p of policies) {
    for (const r of p.ingress) {
      if (r.action !== 'Allow' || r.invalid) continue;
      const num = r.protocol?.number;
      const proto: Probe['protocol'] | undefined = num === undefined ? 'TCP' : num === 6 ? 'TCP' : num === 17 ? 'UDP' : num === 132 ? 'SCTP' : undefined;
      if (!proto) continue;
      if (r.destination.ports.length === 0) {
        add({ protocol: proto });
        continue;
      }
      for (const port of r.destination.ports) {
        if (port.kind === 'number') add({ protocol: proto, port: port.port });
        else if (port.kind === 'range') add({ protocol: proto, port: port.from });
        else {
          const np = rep.ports.find((x) => x.name === port.name && (num === undefined || x.protocol === num));
          if (np) add({ protocol: (np.protocolName as Probe['protocol']) ?? proto, port: np.port });
        }
      }
    }
  }
  return [...out.values()];
}

export const policyIsolatedEndpoint: Check = {
  id: ID,
  category: 'policy',
  severity: 'info',
  title: 'Endpoints isolated for ingress, and who may reach them',
  seeds: ['P3', 'C5'],
  run(ctx) {
    const b = ctx.bundle;
    const model = ctx.policy();
    const workloads = model.endpoints.filter((e) => e.kind === 'workload' && e.ips.length > 0);
    const groups = new Map<string, { eps: Endpoint[]; policies: ResolvedPolicy[] }>();
    for (const e of workloads) {
      const pols = enforcedIngress(model, e);
      if (pols.length === 0) continue;
      const key = `${e.namespace}|${pols.map((p) => `${p.kind}/${p.id}`).join(',')}`;
      const g = groups.get(key);
      if (g) g.eps.push(e);
      else groups.set(key, { eps: [e], policies: pols });
    }
    if (groups.size === 0) return result();

    const matrices = new Map<string, ReachabilityMatrix | undefined>();
    const index = new Map(workloads.map((e, i) => [e, i]));
    const findings: Finding[] = [];
    for (const g of groups.values()) {
      const rep = g.eps[0];
      const probes = probesFor(g.policies, rep);
      const lines: string[] = [];
      for (const probe of probes) {
        const key = probeKey(probe);
        if (!matrices.has(key)) {
          matrices.set(key, matrices.size < MAX_PROBES ? reachabilityMatrix(model, { protocol: probe.protocol, ...(probe.port !== undefined ? { port: probe.port } : {}), endpoints: workloads }) : undefined);
        }
        const m = matrices.get(key);
        if (!m) continue;
        const j = index.get(rep)!;
        const from: string[] = [];
        for (let i = 0; i < workloads.length; i++) if (i !== j && cellAllowed(m, i, j)) from.push(workloads[i].id);
        lines.push(`${probe.protocol}${probe.port !== undefined ? `/${probe.port}` : ' (any port)'}: from ${from.length === 0 ? 'no endpoint' : `${from.length} of ${workloads.length - 1} endpoints (${listText(from, 4)})`}`);
      }
      const allows = g.policies.flatMap((p) => p.ingress.filter((r) => r.action === 'Allow' && !r.invalid).map((r) => ({ p, r })));
      const externals = allows.flatMap(({ r }) => r.source.nets.map((n) => n.text));
      if (externals.length > 0) lines.push(`also from addresses in ${listText([...new Set(externals)], 4)}`);
      if (allows.length === 0) lines.push('no ingress rule allows anything: all ingress is denied');
      const evidence: Evidence[] = [];
      for (const p of g.policies) evidence.push(ev(b, p.evidence.artifact, p.evidence.line, `ingress policy ${p.id}`));
      for (const { p, r } of allows.slice(0, 6)) evidence.push(ev(b, r.evidence.artifact, r.evidence.line, `${p.id}: ${describeRule(r, p.kind)}`));
      findings.push({
        check: ID,
        severity: 'info',
        category: 'policy',
        title: `${plural(g.eps.length, 'endpoint')} in ${rep.namespace} isolated for ingress by ${listText(g.policies.map((p) => p.id), 2)}`,
        explanation:
          `${listText(g.eps.map((e) => e.id), 4)}: ingress is default-deny except what these policies allow.\n` + lines.map((l) => `- ${l}`).join('\n'),
        subject: rep.id,
        evidence: dedupeEvidence(evidence),
        remediation: {
          summary: 'Nothing to fix if this is intended; to let another client in, add an Allow rule for it.',
          confirm: [`caliscope policy for <bundle> ${rep.id}`, `caliscope policy matrix <bundle> --namespace ${rep.namespace}${probes[0]?.port !== undefined ? ` --port ${probes[0].port}/${probes[0].protocol}` : ''}`],
        },
      });
    }
    return result(findings);
  },
};
