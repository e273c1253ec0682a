/**
 * iptables.foreign-drop: a DROP/REJECT rule that is neither Calico's (cali- chain or `cali:` hash
 * comment) nor kube-proxy's decides pod traffic: a firewall, Docker, ufw/firewalld or a security
 * agent rule that sits in FORWARD before `-j cali-FORWARD`, in a chain jumped to before it, in
 * raw/mangle PREROUTING, or in INPUT before `-j cali-INPUT` for VXLAN/IP-in-IP packets. Found by
 * running pod packets — shaped after each such rule (its protocol, port, addresses) — through the
 * node's real ruleset with the engine: a rule is reported only if it is the one that decides.
 * Both backends' dumps are checked when the bundle has both (the kernel runs both). Seeds C1, C2,
 * C3, S4, P7.
 */
import type { Evidence } from '../../model/evidence.js';
import type { IptablesSave, IptRule } from '../../model/iptables.js';
import type { Chooser } from '../../engine/netfilter/env.js';
import type { Check, CheckResult } from '../types.js';
import { bpfMode, dedupe, iptRuleEv, iptablesArtifact, listText, missing, notChecked, remediation } from './common.js';
import { NodeFlows, foreignDropRules, ruleOwner, ruleShape, type Flow, type FlowResult } from './netfilter-sim.js';

const ID = 'iptables.foreign-drop';
const MAX_CANDIDATES = 400;

/** Assumes only the given rule's unknown matches hold (to ask "could this rule drop pod traffic?"). */
class OnlyRule implements Chooser {
  constructor(private readonly rule: IptRule) {}
  choose(_kind: 'statistic' | 'assume', rule: IptRule): boolean {
    return rule === this.rule;
  }
}

/** The builtin-chain rule that jumps (directly) to `chain`, for evidence of how the packet got there. */
function jumpTo(dump: IptablesSave, table: string, chain: string): IptRule | undefined {
  for (const c of dump.tables.get(table)?.chains.values() ?? []) for (const r of c.rules) if (r.target?.kind === 'jump' && r.target.chain === chain) return r;
  return undefined;
}

function deleteCommand(r: IptRule): string {
  const spec = r.raw.replace(/^-A\s+/, '');
  return `iptables -t ${r.table} -D ${spec}`;
}

export const iptablesForeignDrop: Check = {
  id: ID,
  category: 'rules',
  severity: 'error',
  title: 'A non-Calico DROP/REJECT rule drops pod traffic',
  seeds: ['C1', 'C2', 'C3', 'S4', 'P7'],
  run(ctx): CheckResult {
    const b = ctx.bundle;
    const out: CheckResult = { findings: [], notChecked: [] };
    const rt = ctx.runtime();
    for (const n of b.nodes) {
      if (!n.iptables) {
        out.notChecked.push(notChecked(ID, missing(n, 'iptables-save'), n.name));
        continue;
      }
      if (bpfMode(b.cluster, n.name)) {
        out.notChecked.push(notChecked(ID, `Felix runs in eBPF mode on ${n.name}: pod traffic bypasses the iptables FORWARD path`, n.name));
        continue;
      }
      const nr = rt.nodes.get(n.name)!;
      const dumps: { dump: IptablesSave; artifact: string }[] = [{ dump: n.iptables, artifact: iptablesArtifact(n) }];
      if (n.iptablesOther) {
        const otherKind = n.iptablesBackend === 'nft' ? 'iptables-legacy' : n.iptablesBackend === 'legacy' ? 'iptables-nft' : n.iptables.backend === 'nft' ? 'iptables-legacy' : 'iptables-nft';
        dumps.push({ dump: n.iptablesOther, artifact: n.artifacts[otherKind] ?? `nodes/${n.name}/${otherKind}-save.txt` });
      }
      for (const { dump, artifact } of dumps) {
        const candidates = foreignDropRules(dump);
        if (candidates.length === 0) continue;
        const flows = new NodeFlows(ctx, nr, dump);
        if (flows.local.length === 0 && flows.encapFlows().length === 0) {
          out.notChecked.push(notChecked(ID, `no pods with an address on ${n.name} and no encapsulation: no pod traffic to test ${candidates.length} foreign DROP/REJECT rule(s) with`, n.name));
          continue;
        }
        const seen = new Set<string>();
        const all: Flow[] = [];
        const add = (fs: Flow[]) => {
          for (const f of fs) {
            const k = `${f.kind}|${f.desc}`;
            if (!seen.has(k)) {
              seen.add(k);
              all.push(f);
            }
          }
        };
        add(flows.podFlows());
        add(flows.encapFlows());
        for (const c of candidates.slice(0, MAX_CANDIDATES)) {
          const shape = ruleShape(c);
          add(flows.podFlows(shape));
          add(flows.encapFlows(shape));
        }
        const hits = new Map<IptRule, FlowResult[]>();
        for (const f of all) {
          const r = flows.run(f);
          const rule = r.decision?.rule;
          if ((r.fate === 'drop' || r.fate === 'reject') && rule && ruleOwner(rule) === 'other') hits.set(rule, [...(hits.get(rule) ?? []), r]);
        }
        // Rules with matches the engine cannot evaluate: would they decide if those matched?
        const maybe = new Map<IptRule, FlowResult[]>();
        for (const c of candidates.slice(0, MAX_CANDIDATES)) {
          if (hits.has(c) || c.unknown.length === 0) continue;
          const shape = ruleShape(c);
          for (const f of [...flows.podFlows(shape), ...flows.encapFlows(shape)]) {
            const r = flows.run(f, new OnlyRule(c));
            if ((r.fate === 'drop' || r.fate === 'reject') && r.decision?.rule === c) maybe.set(c, [...(maybe.get(c) ?? []), r]);
          }
        }
        for (const [rule, results] of [...hits, ...maybe]) {
          const certain = hits.has(rule);
          const podToPod = results.some((r) => r.flow.kind !== 'pod-to-external');
          const evidence: Evidence[] = [iptRuleEv(b, n, artifact, rule, `${rule.target?.kind} in ${rule.table}/${rule.chain}`)];
          const via = rule.chain && !['INPUT', 'FORWARD', 'OUTPUT', 'PREROUTING', 'POSTROUTING'].includes(rule.chain) ? jumpTo(dump, rule.table, rule.chain) : undefined;
          if (via) evidence.push(iptRuleEv(b, n, artifact, via, `how packets reach ${rule.chain}`));
          const hook = results[0].hook;
          const calicoJump = hook ? dump.tables.get('filter')?.chains.get(hook)?.rules.find((r) => r.target?.kind === 'jump' && r.target.chain === `cali-${hook}`) : undefined;
          if (calicoJump && rule.table === 'filter' && rule.chain === hook && rule.index < calicoJump.index) evidence.push(iptRuleEv(b, n, artifact, calicoJump, `Calico's chain comes later (rule ${calicoJump.index} vs ${rule.index})`));
          const kinds = [...new Set(results.map((r) => r.flow.kind))];
          const pods = [...new Set(results.flatMap((r) => r.flow.pods))];
          const what = kinds.includes('encap-in') ? `${results.find((r) => r.flow.kind === 'encap-in')!.flow.desc.includes('VXLAN') ? 'VXLAN' : 'IP-in-IP'} packets from other nodes` : `pod traffic`;
          out.findings.push({
            check: ID,
            severity: certain && (podToPod || kinds.includes('encap-in')) ? 'error' : 'warning',
            category: 'rules',
            title: `${rule.table}/${rule.chain} rule ${rule.index} (${rule.target?.kind}) ${certain ? 'drops' : 'may drop'} ${what} on ${n.name}`,
            explanation:
              `This ${rule.target?.kind} rule is not Calico's or kube-proxy's, and ${certain ? 'it decides' : `if its ${listText(rule.unknown)} match holds it decides`} ${results.length === 1 ? 'this packet' : 'these packets'} before Calico's policy does: ${listText(results.map((r) => r.flow.desc), 3)}. ` +
              (kinds.includes('encap-in')
                ? `Encapsulated traffic from other nodes is dropped before it is decapsulated, so cross-node flows to ${n.name}'s pods fail while same-node flows work.`
                : `Flows ${pods.length ? `involving ${listText(pods, 3)} ` : ''}fail no matter what the network policies allow.`) +
              (kinds.every((k) => k === 'pod-to-external') ? ' It only affects traffic to the outside, which may be intended (e.g. blocking a metadata service).' : ''),
            node: n.name,
            subject: `${rule.table}/${rule.chain}#${rule.index}`,
            evidence: dedupe(evidence),
            remediation: remediation(
              `Remove the rule or make it exempt pod traffic (the pool CIDRs${kinds.includes('encap-in') ? ', the VXLAN/IP-in-IP traffic between nodes' : ''}), and find which tool adds it (firewalld, ufw, Docker, a security agent) so it does not come back.`,
              [`iptables-save -t ${rule.table} | grep -n -- '${rule.raw.replace(/'/g, "'\\''").slice(0, 80)}'  # on ${n.name}`, `iptables -t ${rule.table} -L ${rule.chain} -v -n --line-numbers  # on ${n.name}: watch the counters`],
              [`${deleteCommand(rule)}  # on ${n.name}`],
            ),
          });
        }
      }
    }
    return out;
  },
};
