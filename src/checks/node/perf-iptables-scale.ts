/**
 * perf.iptables-scale: the iptables ruleset is large enough that the linear rule walk costs
 * latency and CPU, and every Felix/kube-proxy update rewrites large tables: more than 20,000
 * rules, or more than 5,000 Service entries in KUBE-SERVICES. The eBPF dataplane (or
 * nftables mode with kube-proxy nftables/IPVS) replaces the linear chains with hash lookups.
 * Seeds C10, S13, F6.
 */
import { eachChainRuleCount, ruleCount } from '../../model/iptables.js';
import { felixHealthFromMetrics } from '../../model/felix.js';
import type { Check, CheckResult } from '../types.js';
import { ev, iptablesArtifact, notChecked, remediation } from './common.js';

const ID = 'perf.iptables-scale';
export const MAX_RULES = 20_000;
export const MAX_SERVICE_ENTRIES = 5_000;

export const perfIptablesScale: Check = {
  id: ID,
  category: 'performance',
  severity: 'warning',
  title: 'The iptables ruleset is very large',
  seeds: ['C10', 'S13', 'F6'],
  run(ctx): CheckResult {
    const b = ctx.bundle;
    const out: CheckResult = { findings: [], notChecked: [] };
    for (const n of b.nodes) {
      const metrics = n.felixMetrics ? felixHealthFromMetrics(n.felixMetrics).iptablesRules : undefined;
      if (!n.iptables && !metrics) {
        out.notChecked.push(notChecked(ID, `no iptables-save or felix-metrics for node ${n.name}`, n.name));
        continue;
      }
      const rules = n.iptables ? ruleCount(n.iptables) + (n.ip6tables ? ruleCount(n.ip6tables) : 0) : metrics!.value;
      const svc = n.iptables?.tables.get('nat')?.chains.get('KUBE-SERVICES');
      const svcEntries = svc?.rules.length ?? 0;
      let chains = 0;
      let calico = 0;
      let kube = 0;
      if (n.iptables) {
        eachChainRuleCount(n.iptables, (_t, name, count) => {
          chains++;
          if (name.startsWith('cali-')) calico += count;
          else if (name.startsWith('KUBE-')) kube += count;
        });
      }
      if (rules <= MAX_RULES && svcEntries <= MAX_SERVICE_ENTRIES) continue;
      const art = iptablesArtifact(n);
      const evidence = [];
      if (svc && svcEntries > MAX_SERVICE_ENTRIES) evidence.push(ev(b, n.name, art, svc.line, `KUBE-SERVICES: ${svcEntries} rules`));
      if (n.iptables) evidence.push({ artifact: art, node: n.name, note: `${rules} rules in ${chains} chains (Calico ${calico}, kube-proxy ${kube}, other ${rules - calico - kube})` });
      else evidence.push(ev(b, n.name, n.artifacts['felix-metrics'] ?? `nodes/${n.name}/felix-metrics.txt`, metrics!.line, `felix_iptables_rules = ${rules}`));
      out.findings.push({
        check: ID,
        severity: 'warning',
        category: 'performance',
        title: `${rules.toLocaleString('en-US')} iptables rules on ${n.name}${svcEntries > MAX_SERVICE_ENTRIES ? `, ${svcEntries.toLocaleString('en-US')} KUBE-SERVICES entries` : ''}`,
        explanation: `${n.name} has ${rules} iptables rules${n.iptables ? ` (Calico ${calico}, kube-proxy ${kube})` : ''}${svc ? ` and ${svcEntries} entries in KUBE-SERVICES` : ''}; the limits this check uses are ${MAX_RULES} rules and ${MAX_SERVICE_ENTRIES} Service entries. Packets that miss early rules walk long chains (latency, CPU in softirq), and each Felix or kube-proxy update rewrites whole tables, which takes seconds at this size and delays policy and Service changes.`,
        node: n.name,
        subject: 'iptables',
        evidence,
        remediation: remediation(
          `Move to Calico's eBPF dataplane (replaces kube-proxy too), or to nftables mode with kube-proxy in nftables/IPVS mode; meanwhile look for policy sprawl (many per-pod policies, large selectors).`,
          [`iptables-save | wc -l  # on ${n.name}`, `iptables-save -t nat | grep -c -- '-A KUBE-SERVICES'  # on ${n.name}`, `curl -s localhost:9091/metrics | grep -E 'felix_int_dataplane_apply_time_seconds|felix_iptables_lines_executed'  # on ${n.name}`],
          [`calicoctl patch felixconfiguration default --patch '{"spec":{"bpfEnabled":true}}'  # after the eBPF prerequisites (kernel, kube-proxy replacement): https://docs.tigera.io/calico/latest/operations/ebpf/enabling-ebpf`],
        ),
      });
    }
    return out;
  },
};
