/**
 * iptables.forward-policy-drop: the filter FORWARD chain's policy is DROP (Docker sets it,
 * hardened hosts too) and pod traffic falls through to it: Felix's appended FORWARD rules (accept
 * what Calico policy accepted) are missing, or something returns before them. Found by running
 * pod packets through the node's FORWARD chain with the engine. Seeds C1, C2, C3, S4.
 */
import type { Evidence } from '../../model/evidence.js';
import type { Check, CheckResult } from '../types.js';
import { bpfMode, dedupe, ev, iptRuleEv, iptablesArtifact, listText, missing, notChecked, remediation, restartCalicoNode } from './common.js';
import { NodeFlows } from './netfilter-sim.js';

const ID = 'iptables.forward-policy-drop';

export const iptablesForwardPolicyDrop: Check = {
  id: ID,
  category: 'rules',
  severity: 'error',
  title: 'Pod traffic falls to the FORWARD policy DROP',
  seeds: ['C1', 'C2', 'C3', 'S4'],
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
      // filter's policy is the usual one; a mangle or security FORWARD policy DROP drops forwarded traffic just as well.
      const dropTables = ['filter', 'mangle', 'security'].filter((t) => n.iptables!.tables.get(t)?.chains.get('FORWARD')?.policy === 'DROP');
      if (dropTables.length === 0) continue;
      const fwd = n.iptables.tables.get('filter')?.chains.get('FORWARD');
      if (!fwd) continue;
      const artifact = iptablesArtifact(n);
      const nr = rt.nodes.get(n.name)!;
      const flows = new NodeFlows(ctx, nr, n.iptables);
      const accept = fwd.rules.find((r) => r.comments.some((c) => c.includes('Policy explicitly accepted packet')) || (r.target?.kind === 'ACCEPT' && r.matches.some((m) => m.kind === 'mark' && !m.negate && (m.value & 0x10000) !== 0)));
      const calicoJump = fwd.rules.find((r) => r.target?.kind === 'jump' && r.target.chain === 'cali-FORWARD');
      const fl = flows.podFlows();
      if (fl.length === 0) {
        if (!accept) out.notChecked.push(notChecked(ID, `FORWARD policy is DROP on ${n.name} and Calico's FORWARD accept rule is absent, but there is no pod on it to test`, n.name));
        continue;
      }
      const dropped = fl.map((f) => flows.run(f)).filter((r) => r.fate === 'drop' && r.hook === 'FORWARD' && r.decision && !r.decision.rule && r.decision.chain === 'FORWARD');
      if (dropped.length === 0) continue;
      const table = dropped[0].decision!.table;
      const chain = n.iptables.tables.get(table)!.chains.get('FORWARD')!;
      const policyEv = ev(b, n.name, artifact, chain.line, `${table} FORWARD policy`);
      policyEv.text ??= `:FORWARD DROP`;
      const evidence: Evidence[] = [policyEv];
      if (calicoJump) evidence.push(iptRuleEv(b, n, artifact, calicoJump, 'Calico policy runs, but nothing accepts afterwards'));
      else evidence.push({ artifact, node: n.name, note: 'no -j cali-FORWARD in FORWARD' });
      if (accept) evidence.push(iptRuleEv(b, n, artifact, accept, 'present, but the packets do not reach it or lack the accept mark'));
      else evidence.push({ artifact, node: n.name, note: `no "Policy explicitly accepted packet." ACCEPT rule appended to FORWARD` });
      out.findings.push({
        check: ID,
        severity: 'error',
        category: 'rules',
        title: `Pod traffic on ${n.name} falls to the ${table === 'filter' ? '' : `${table} `}FORWARD policy DROP`,
        explanation:
          `The ${table} FORWARD chain's policy is DROP, and ${listText(dropped.map((r) => r.flow.desc), 2)} reach${dropped.length === 1 ? 'es' : ''} the end of the chain without being accepted. ` +
          (table !== 'filter'
            ? `Calico's chains live in the filter table; nothing in ${table} FORWARD accepts pod traffic before its policy drops it.`
            : !calicoJump
            ? `Calico's chains are not hooked into FORWARD at all (Felix is not running, runs in eBPF/nftables mode, or its rules were flushed).`
            : !accept
              ? `Felix appends "-m mark --mark 0x10000/0x10000 -j ACCEPT" to FORWARD to accept what its policy allowed; that rule is missing (flushed by a firewall reload, or another tool rewrote the chain).`
              : `Calico's accept rule is there but the packets return without the accept mark.`) +
          ` Every forwarded pod flow through ${n.name} is dropped.`,
        node: n.name,
        subject: 'FORWARD',
        evidence: dedupe(evidence),
        remediation: remediation(
          `Restore Calico's FORWARD rules (restart calico-node on ${n.name}; Felix re-appends them within its refresh interval) and stop the tool that flushes them; or set the policy to ACCEPT if nothing else relies on DROP.`,
          [`iptables -t ${table} -S FORWARD  # on ${n.name}`, `iptables -t ${table} -L FORWARD -v -n --line-numbers  # on ${n.name}: the policy counter grows`],
          [restartCalicoNode(b.cluster, n.name), `iptables -t ${table} -P FORWARD ACCEPT  # on ${n.name}, only if the host's security policy allows`],
        ),
      });
    }
    return out;
  },
};
