/**
 * dataplane.policy-chain-missing (P1, C4, S1): a policy that applies to a local endpoint of a
 * node (intent: the policy model) whose `cali-pi-` (ingress) / `cali-po-` (egress) chain is not in
 * the node's iptables dump (programmed). Chain names are matched in every Calico version's
 * naming style. Felix has not (yet) programmed the policy: it is not in sync, or failing.
 */
import type { Evidence } from '../../model/evidence.js';
import { policyChainName } from '../../calico/naming.js';
import { type Check, type Finding, type NotChecked, result } from '../types.js';
import { comparableNodes, localEndpoints, policyKey, programmedPolicies, requiredPolicies } from './dataplane-common.js';
import { ev, listText, plural, policyLabel } from './util.js';
import type { ResolvedPolicy } from '../../calico/policy/model.js';

const ID = 'dataplane.policy-chain-missing';

export const dataplanePolicyChainMissing: Check = {
  id: ID,
  category: 'dataplane',
  severity: 'error',
  title: 'Policies that apply to a local endpoint but whose chain is not programmed',
  seeds: ['P1', 'C4', 'S1'],
  run(ctx) {
    const b = ctx.bundle;
    const { nodes, nc } = comparableNodes(b, ID);
    const notc: NotChecked[] = [...nc];
    if (nodes.length === 0) return result([], notc);
    const model = ctx.policy();
    const findings: Finding[] = [];
    for (const n of nodes) {
      const present = programmedPolicies(model, n);
      const missing = new Map<string, { p: ResolvedPolicy; dir: 'ingress' | 'egress'; eps: string[] }>();
      for (const e of localEndpoints(model, n.name)) {
        for (const dir of ['ingress', 'egress'] as const) {
          for (const p of requiredPolicies(model, e, dir)) {
            const k = `${policyKey(p)}|${dir}`;
            if (present.has(k)) continue;
            const m = missing.get(k);
            if (m) m.eps.push(e.id);
            else missing.set(k, { p, dir, eps: [e.id] });
          }
        }
      }
      if (missing.size === 0) continue;
      const artifact = n.artifacts.iptables ?? '';
      const ms = [...missing.values()];
      const evidence: Evidence[] = [];
      for (const m of ms.slice(0, 10)) evidence.push(ev(b, m.p.evidence.artifact, m.p.evidence.line, `${policyLabel(m.p)} (${m.dir}): applies to ${listText(m.eps, 2)}`));
      const filter = n.iptables?.tables.get('filter');
      if (filter) evidence.push(ev(b, artifact, filter.line, `*filter of ${n.name}: no ${listText(ms.slice(0, 3).map((m) => policyChainName(m.dir, m.p.id)), 3)} (nor any other naming style)`, n.name));
      findings.push({
        check: ID,
        severity: 'error',
        category: 'dataplane',
        node: n.name,
        title: `${n.name}: ${plural(ms.length, 'policy chain')} missing for its endpoints (${listText(ms.map((m) => `${m.p.id} ${m.dir}`), 3)})`,
        explanation:
          `These policies select endpoints on ${n.name}, so Felix must program a cali-pi-/cali-po- chain for each and jump to it from the endpoint's chain; the dump has none of them:\n` +
          ms.map((m) => `- ${policyLabel(m.p)} (${m.dir}), for ${listText(m.eps, 3)}`).join('\n') +
          `\nThe node does not enforce what the datastore says: Felix is not in sync, cannot write iptables, or (if the chains exist under a name we do not know) runs a Calico version with another naming scheme.`,
        subject: n.name,
        evidence,
        remediation: {
          summary: `Find out why Felix on ${n.name} has not programmed them (logs, felix_int_dataplane_failures, iptables-restore errors); restarting calico-node reprograms everything.`,
          confirm: [
            `iptables-save -t filter | grep -E '^:cali-p[io]-'   # on ${n.name}`,
            `kubectl logs -n calico-system <calico-node pod on ${n.name}> -c calico-node | grep -iE 'error|restore|in sync'`,
            `curl -s localhost:9091/metrics | grep -E 'felix_int_dataplane_failures|felix_iptables_restore_errors'   # on ${n.name}`,
          ],
          fix: [`kubectl delete pod -n calico-system <calico-node pod on ${n.name}>`],
        },
      });
    }
    return result(findings, notc);
  },
};
