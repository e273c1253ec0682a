/**
 * felix.dataplane-failures: Felix failed to program the dataplane: felix_int_dataplane_failures,
 * felix_iptables_restore_errors, felix_iptables_save_errors, felix_ipset_errors or felix_nft_errors
 * above zero, with the log lines of the failed restores. A failed iptables-restore or ipset
 * restore leaves the rules of the previous state (or none) in place until a retry succeeds.
 * Seeds C1, C4, S12, P5.
 */
import type { Evidence } from '../../model/evidence.js';
import { felixHealthFromMetrics, felixSyncFromLog, type MetricReading } from '../../model/felix.js';
import type { Check, CheckResult, Severity } from '../types.js';
import { calicoNodeLogs, dedupe, ev, missing, notChecked, remediation, restartCalicoNode } from './common.js';

const ID = 'felix.dataplane-failures';

export const felixDataplaneFailures: Check = {
  id: ID,
  category: 'felix',
  severity: 'error',
  title: 'Felix failed to program the dataplane',
  seeds: ['C1', 'C4', 'S12', 'P5'],
  run(ctx): CheckResult {
    const b = ctx.bundle;
    const out: CheckResult = { findings: [], notChecked: [] };
    for (const n of b.nodes) {
      if (!n.felixMetrics && !n.felixLog) {
        out.notChecked.push(notChecked(ID, missing(n, 'felix-metrics or felix log'), n.name));
        continue;
      }
      const metricsArt = n.artifacts['felix-metrics'] ?? `nodes/${n.name}/felix-metrics.txt`;
      const logArt = n.artifacts['felix-log'] ?? `nodes/${n.name}/felix.log`;
      const counters: { name: string; r: MetricReading }[] = [];
      if (n.felixMetrics) {
        const h = felixHealthFromMetrics(n.felixMetrics);
        const list: [string, MetricReading | undefined][] = [
          ['felix_int_dataplane_failures', h.dataplaneFailures],
          ['felix_iptables_restore_errors', h.iptablesRestoreErrors],
          ['felix_iptables_save_errors', h.iptablesSaveErrors],
          ['felix_ipset_errors', h.ipsetErrors],
          ['felix_nft_errors', h.nftErrors],
        ];
        for (const [name, r] of list) if (r && r.value > 0) counters.push({ name, r });
      }
      let failLines: number[] = [];
      let incidents = 0;
      let stuck = false;
      if (n.felixLog) {
        const s = felixSyncFromLog(n.felixLog);
        failLines = [...s.dataplaneFailureLines, ...s.ipsetFailureLines].sort((a, c) => a - c);
        // Failure lines close together (one failed apply logs several) are one incident.
        for (let i = 0; i < failLines.length; i++) if (i === 0 || failLines[i] - failLines[i - 1] > 10) incidents++;
        const entries = n.felixLog.entries;
        const lastStart = entries.filter((e) => e.event?.kind === 'starting').pop()?.line ?? 0;
        const okAfterStart = entries.some((e) => e.event?.kind === 'dataplane-in-sync' && e.line > lastStart);
        stuck = failLines.some((l) => l > lastStart) && !okAfterStart;
      }
      if (counters.length === 0 && failLines.length === 0) continue;
      // Persistent failures are errors: repeated incidents, many failed applies, or a Felix that never completed its first update.
      const total = counters.reduce((a, c) => a + c.r.value, 0);
      const severity: Severity = incidents >= 3 || total >= 5 || stuck ? 'error' : 'warning';
      const evidence: Evidence[] = counters.map((c) => ev(b, n.name, metricsArt, c.r.line));
      for (const l of failLines.slice(-5)) evidence.push(ev(b, n.name, logArt, l, 'failed dataplane update'));
      const what = [...counters.map((c) => `${c.name} = ${c.r.value}`), ...(failLines.length ? [`${failLines.length} failure line(s) in the log`] : [])];
      out.findings.push({
        check: ID,
        severity,
        category: 'felix',
        title: `Felix dataplane updates failed on ${n.name} (${what[0]})`,
        explanation: `${what.join(', ')}. Felix retries a failed update, but until one succeeds the iptables rules, IP sets or routes on ${n.name} are those of an older state (or missing), so policy and routing may not match the cluster${stuck ? ' (and since its last start Felix has not completed a dataplane update)' : ''}. Typical causes: another process holding the xtables lock, an iptables/nftables backend mismatch, a kernel module missing, a rule the iptables binary cannot parse.`,
        node: n.name,
        subject: 'felix dataplane',
        evidence: dedupe(evidence),
        remediation: remediation(
          `Read the error output of the failed restores in Felix's log and fix its cause (lock holder, backend: FELIX_IPTABLESBACKEND, missing modules), then restart calico-node.`,
          [`${calicoNodeLogs(b.cluster, n.name)} | grep -iE 'Failed to execute|restore|ipset'`, `curl -s localhost:9091/metrics | grep -E 'felix_(int_dataplane_failures|iptables_restore_errors|ipset_errors)'  # on ${n.name}`, `iptables --version; iptables-legacy-save | wc -l; iptables-nft-save | wc -l  # on ${n.name}`],
          [restartCalicoNode(b.cluster, n.name)],
        ),
      });
    }
    return out;
  },
};
