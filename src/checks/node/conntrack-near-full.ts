/**
 * conntrack.near-full: the connection tracking table is (nearly) full, or the kernel has already
 * dropped packets for lack of room. nf_conntrack_count ≥ 80 % of nf_conntrack_max (warning; ≥ 95 %
 * error), `conntrack -S` drop / early_drop > 0 (new connections were refused: error) or
 * insert_failed > 0 (insertion races, typically parallel UDP DNS queries: warning). Seeds S8, C10, F6.
 */
import type { Evidence } from '../../model/evidence.js';
import { conntrackCount, conntrackMax } from '../../model/sysctl.js';
import type { Check, CheckResult, Severity } from '../types.js';
import { ev, missing, notChecked, remediation, sysctlEv } from './common.js';

const ID = 'conntrack.near-full';

export const conntrackNearFull: Check = {
  id: ID,
  category: 'conntrack',
  severity: 'error',
  title: 'The conntrack table is full or dropping',
  seeds: ['S8', 'C10', 'F6'],
  run(ctx): CheckResult {
    const b = ctx.bundle;
    const out: CheckResult = { findings: [], notChecked: [] };
    for (const n of b.nodes) {
      const max = n.sysctl ? conntrackMax(n.sysctl) : undefined;
      const countS = n.sysctl ? conntrackCount(n.sysctl) : undefined;
      const stats = n.conntrackStats;
      if (!max && !stats) {
        out.notChecked.push(notChecked(ID, missing(n, 'sysctl nf_conntrack_max or conntrack -S'), n.name));
        continue;
      }
      const statsArt = n.artifacts['conntrack-stats'] ?? `nodes/${n.name}/conntrack-stats.txt`;
      const count = countS?.num ?? stats?.count?.value;
      // 1. Fill level.
      if (max && count !== undefined && max.num > 0) {
        const ratio = count / max.num;
        if (ratio >= 0.8) {
          const pct = Math.round(ratio * 1000) / 10;
          const evidence: Evidence[] = [sysctlEv(b, n, max.key, max.line, max.num)];
          if (countS) evidence.push(sysctlEv(b, n, countS.key, countS.line, countS.num, `${pct}% of the maximum`));
          else if (stats?.count) evidence.push(ev(b, n.name, statsArt, stats.count.line, `${pct}% of the maximum`));
          const suggested = Math.max(262144, Math.ceil((count * 2) / 65536) * 65536);
          out.findings.push({
            check: ID,
            severity: ratio >= 0.95 ? 'error' : 'warning',
            category: 'conntrack',
            title: `conntrack table ${pct}% full on ${n.name} (${count} of ${max.num})`,
            explanation: `${n.name} tracks ${count} connections with room for ${max.num}. When the table is full the kernel drops the first packet of new connections ("nf_conntrack: table full, dropping packet"), which looks like random timeouts for pods and Services.`,
            node: n.name,
            subject: 'nf_conntrack',
            evidence,
            remediation: remediation(
              `Raise nf_conntrack_max (memory: about 320 bytes per entry) and look for what holds so many connections (conntrack -L | awk '{print $5}' | sort | uniq -c | sort -rn | head).`,
              [`sysctl net.netfilter.nf_conntrack_count net.netfilter.nf_conntrack_max  # on ${n.name}`, `dmesg | grep -i 'table full'  # on ${n.name}`, `conntrack -S  # on ${n.name}`],
              [`sysctl -w net.netfilter.nf_conntrack_max=${suggested}  # on ${n.name}; persist in /etc/sysctl.d/ (kube-proxy --conntrack-min also sets it)`],
            ),
          });
        }
      }
      // 2. Drops and failed insertions.
      if (stats) {
        const s = stats.summary;
        const bad: [string, number, Severity, string][] = [];
        if ((s.drop ?? 0) > 0) bad.push(['drop', s.drop!, 'error', 'packets dropped because the table was full']);
        if ((s.earlyDrop ?? 0) > 0) bad.push(['early_drop', s.earlyDrop!, 'error', 'entries evicted early to make room (the table was full)']);
        if ((s.insertFailed ?? 0) > 0) bad.push(['insert_failed', s.insertFailed!, 'warning', 'entries that could not be inserted (races between parallel packets of one flow, classically UDP DNS A+AAAA queries); the packet is dropped']);
        if (bad.length) {
          const rows = stats.cpus.filter((c) => bad.some(([k]) => (c.counters[k] ?? c.counters[k.replace('_', '')] ?? 0) > 0)).slice(0, 4);
          const evidence: Evidence[] = rows.length ? rows.map((c) => ev(b, n.name, statsArt, c.line, `cpu ${c.cpu}`)) : [{ artifact: statsArt, node: n.name, note: bad.map(([k, v]) => `${k}=${v}`).join(' ') }];
          const severity: Severity = bad.some((x) => x[2] === 'error') ? 'error' : 'warning';
          out.findings.push({
            check: ID,
            severity,
            category: 'conntrack',
            title: `conntrack ${bad.map(([k, v]) => `${k}=${v}`).join(', ')} on ${n.name}`,
            explanation: `conntrack -S on ${n.name} counts ${bad.map(([k, v, , what]) => `${v} ${k} (${what})`).join('; ')}. Each is a packet the kernel dropped: connection attempts time out and retry, DNS lookups take seconds.`,
            node: n.name,
            subject: 'conntrack -S',
            evidence,
            remediation: remediation(
              severity === 'error' ? `Raise nf_conntrack_max (see above) and reduce connection churn.` : `For DNS insert_failed races: use NodeLocal DNSCache, or 'options single-request-reopen' / TCP for DNS in the pods; upgrade kernels with the clash-resolution fixes.`,
              [`conntrack -S  # on ${n.name}, twice a minute apart: are the counters growing?`],
              severity === 'error' ? [`sysctl -w net.netfilter.nf_conntrack_max=${Math.max(262144, (max?.num ?? 131072) * 2)}  # on ${n.name}`] : [],
            ),
          });
        }
      }
    }
    return out;
  },
};
