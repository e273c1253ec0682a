/**
 * felix.not-in-sync: Felix has not (or no longer) got the whole datastore, so the dataplane lags
 * the cluster: new pods get no routes or policy, deleted ones linger. From the metrics
 * (felix_resync_state: 1 waiting for the datastore, 2 resync in progress, 3 in sync) and the log
 * (a start-up that never reached "in sync", "Datastore became unready" after the last in-sync,
 * repeated full resyncs). Seeds C1, C4, C12, S12, P5.
 */
import type { Evidence } from '../../model/evidence.js';
import { felixHealthFromMetrics, felixSyncFromLog } from '../../model/felix.js';
import type { Check, CheckResult, Severity } from '../types.js';
import { calicoNodeLogs, dedupe, ev, missing, notChecked, remediation, restartCalicoNode } from './common.js';

const ID = 'felix.not-in-sync';

const STATE_TEXT: Record<number, string> = { 1: 'waiting for the datastore', 2: 'resync in progress', 3: 'in sync' };

export const felixNotInSync: Check = {
  id: ID,
  category: 'felix',
  severity: 'error',
  title: 'Felix is not in sync with the datastore',
  seeds: ['C1', 'C4', 'C12', 'S12', 'P5'],
  run(ctx): CheckResult {
    const b = ctx.bundle;
    const out: CheckResult = { findings: [], notChecked: [] };
    for (const n of b.nodes) {
      if (!n.felixMetrics && !n.felixLog) {
        out.notChecked.push(notChecked(ID, missing(n, 'felix-metrics or felix log'), n.name));
        continue;
      }
      const problems: { severity: Severity; text: string }[] = [];
      const evidence: Evidence[] = [];
      const metricsArt = n.artifacts['felix-metrics'] ?? `nodes/${n.name}/felix-metrics.txt`;
      const logArt = n.artifacts['felix-log'] ?? `nodes/${n.name}/felix.log`;
      if (n.felixMetrics) {
        const h = felixHealthFromMetrics(n.felixMetrics);
        if (h.resyncState && h.resyncState.value !== 3) {
          problems.push({ severity: 'error', text: `felix_resync_state is ${h.resyncState.value} (${STATE_TEXT[h.resyncState.value] ?? 'unknown'}), not 3 (in sync)` });
          evidence.push(ev(b, n.name, metricsArt, h.resyncState.line));
        }
        if (h.resyncsStarted && h.resyncsStarted.value >= 3) {
          problems.push({ severity: 'warning', text: `felix_resyncs_started = ${h.resyncsStarted.value}: the datastore connection was resynced repeatedly` });
          evidence.push(ev(b, n.name, metricsArt, h.resyncsStarted.line));
        }
      }
      if (n.felixLog) {
        const s = felixSyncFromLog(n.felixLog);
        const entries = n.felixLog.entries;
        const starts = entries.filter((e) => e.event?.kind === 'starting');
        const unready = entries.filter((e) => e.event?.kind === 'unready');
        const lastStart = starts[starts.length - 1];
        if (s.lastUnreadyLine !== undefined && (s.lastInSyncLine ?? 0) < s.lastUnreadyLine) {
          problems.push({ severity: 'error', text: `the log shows "Datastore became unready" (line ${s.lastUnreadyLine}) and no "in sync" after it` });
          evidence.push(ev(b, n.name, logArt, s.lastUnreadyLine));
        } else if (lastStart && (s.lastInSyncLine ?? 0) < lastStart.line) {
          problems.push({ severity: 'error', text: `Felix started (line ${lastStart.line}) and never reached "in sync" in the log` });
          evidence.push(ev(b, n.name, logArt, lastStart.line));
        }
        if (unready.length >= 2 || s.resyncCount >= 3) {
          problems.push({ severity: 'warning', text: `${unready.length >= 2 ? `${unready.length} "Datastore became unready" restarts` : `${s.resyncCount} full resyncs`} in the log` });
          for (const e of (unready.length >= 2 ? unready : entries.filter((x) => x.event?.kind === 'resync' || x.event?.kind === 'starting')).slice(-3)) evidence.push(ev(b, n.name, logArt, e.line));
        }
        if (problems.length) for (const l of s.datastoreErrorLines.slice(-3)) evidence.push(ev(b, n.name, logArt, l, 'datastore error'));
      }
      if (problems.length === 0) continue;
      const severity: Severity = problems.some((p) => p.severity === 'error') ? 'error' : 'warning';
      out.findings.push({
        check: ID,
        severity,
        category: 'felix',
        title: severity === 'error' ? `Felix on ${n.name} is not in sync with the datastore` : `Felix on ${n.name} resyncs with the datastore repeatedly`,
        explanation: `${problems.map((p) => p.text).join('; ')}. While Felix is not in sync, the dataplane on ${n.name} does not follow the cluster: new pods there get no route or policy, and changes to policies and IP sets are not applied. The usual causes are datastore access (API server / etcd unreachable, RBAC, certificates) and Typha connectivity.`,
        node: n.name,
        subject: 'felix',
        evidence: dedupe(evidence),
        remediation: remediation(
          `Find why Felix cannot read the datastore (its log's datastore errors), fix access, then let it resync.`,
          [`${calicoNodeLogs(b.cluster, n.name)} | grep -iE 'in sync|unready|datastore|typha'`, `curl -s localhost:9099/readiness  # on ${n.name}`, `curl -s localhost:9091/metrics | grep felix_resync_state  # on ${n.name}`],
          [restartCalicoNode(b.cluster, n.name)],
        ),
      });
    }
    return out;
  },
};
