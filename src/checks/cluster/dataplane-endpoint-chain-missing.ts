/**
 * dataplane.endpoint-chain-missing (S2, M2, C1): a local workload endpoint of a node whose
 * `cali-tw-<iface>` / `cali-fw-<iface>` chain, or its entry in `cali-to-wl-dispatch` /
 * `cali-from-wl-dispatch` (or their `-<c>` children), is missing from the node's dump. Without
 * them Felix's "Unknown interface" rule drops the pod's traffic.
 */
import { endpointChainName } from '../../calico/naming.js';
import type { Evidence } from '../../model/evidence.js';
import type { IptTable } from '../../model/iptables.js';
import { type Check, type Finding, result } from '../types.js';
import { comparableNodes, filterTable, localEndpoints } from './dataplane-common.js';
import { ev, listText, plural } from './util.js';

const ID = 'dataplane.endpoint-chain-missing';

/** Interfaces dispatched to their chain from the dispatch chains: iface → target chain. */
export function dispatchEntries(t: IptTable, base: 'cali-to-wl-dispatch' | 'cali-from-wl-dispatch'): Map<string, string> {
  const out = new Map<string, string>();
  const kind = base === 'cali-to-wl-dispatch' ? 'out-interface' : 'in-interface';
  // By name first: handing out a chain makes its rules (see the parser's ChainMap).
  for (const name of t.chains.keys()) {
    if (name !== base && !name.startsWith(`${base}-`)) continue;
    for (const r of t.chains.get(name)!.rules) {
      if (r.target?.kind !== 'jump') continue;
      for (const m of r.matches) if (m.kind === kind && !m.negate && !m.wildcard) out.set(m.name, r.target.chain);
    }
  }
  return out;
}

export const dataplaneEndpointChainMissing: Check = {
  id: ID,
  category: 'dataplane',
  severity: 'error',
  title: 'Local endpoints without their Felix chains or dispatch entries',
  seeds: ['S2', 'M2', 'C1'],
  run(ctx) {
    const b = ctx.bundle;
    const { nodes, nc } = comparableNodes(b, ID);
    if (nodes.length === 0) return result([], nc);
    const model = ctx.policy();
    const findings: Finding[] = [];
    for (const n of nodes) {
      const t = filterTable(n);
      if (!t) continue;
      const toDisp = dispatchEntries(t, 'cali-to-wl-dispatch');
      const fromDisp = dispatchEntries(t, 'cali-from-wl-dispatch');
      const problems: { ep: string; iface: string; what: string[]; source: Evidence }[] = [];
      for (const e of localEndpoints(model, n.name)) {
        const tw = endpointChainName('tw', e.interfaceName);
        const fw = endpointChainName('fw', e.interfaceName);
        const what: string[] = [];
        if (!t.chains.has(tw)) what.push(`chain ${tw}`);
        if (!t.chains.has(fw)) what.push(`chain ${fw}`);
        if (toDisp.get(e.interfaceName) !== tw) what.push(`cali-to-wl-dispatch entry -o ${e.interfaceName} → ${tw}`);
        if (fromDisp.get(e.interfaceName) !== fw) what.push(`cali-from-wl-dispatch entry -i ${e.interfaceName} → ${fw}`);
        if (what.length > 0) problems.push({ ep: e.id, iface: e.interfaceName, what, source: ev(b, e.source.artifact, e.source.line, `${e.id} on ${n.name}, interface ${e.interfaceName}, ${e.ips.join(', ')}`) });
      }
      if (problems.length === 0) continue;
      const artifact = n.artifacts.iptables ?? '';
      const disp = t.chains.get('cali-to-wl-dispatch') ?? t.chains.get('cali-from-wl-dispatch');
      const evidence: Evidence[] = problems.slice(0, 8).map((p) => p.source);
      evidence.push(disp ? ev(b, artifact, disp.line, 'dispatch chain without the entries', n.name) : ev(b, artifact, t.line, '*filter: no cali-to-wl-dispatch chain', n.name));
      findings.push({
        check: ID,
        severity: 'error',
        category: 'dataplane',
        node: n.name,
        title: `${n.name}: ${plural(problems.length, 'local endpoint')} without Felix's endpoint chains (${listText(problems.map((p) => p.ep), 3)})`,
        explanation:
          `Felix programs, for each local workload, cali-tw-<iface> (to the pod) and cali-fw-<iface> (from the pod) and a dispatch entry per interface; packets of an interface with no entry hit "Unknown interface" and are dropped:\n` +
          problems.map((p) => `- ${p.ep} (${p.iface}): missing ${p.what.join(', ')}`).join('\n') +
          `\nFelix on ${n.name} has not processed these endpoints (not in sync, failing, or the WorkloadEndpoint's interface name differs from the pod's veth).`,
        subject: n.name,
        evidence,
        remediation: {
          summary: `Check Felix on ${n.name} (logs, in-sync state, dataplane failures) and that the WorkloadEndpoints name the real veths; restarting calico-node reprograms the chains.`,
          confirm: [`iptables-save -t filter | grep -E '${problems[0].iface}'   # on ${n.name}`, `calicoctl get workloadendpoints -A -o wide | grep ${n.name}`, `ip link show ${problems[0].iface}   # on ${n.name}`],
          fix: [`kubectl delete pod -n calico-system <calico-node pod on ${n.name}>`],
        },
      });
    }
    return result(findings, nc);
  },
};
