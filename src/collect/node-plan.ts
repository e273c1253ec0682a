/**
 * What the node collector runs: one list of steps, used both to run commands one by one (on
 * the host, in a network namespace) and to build the single shell script the fleet path streams
 * out of each `calico-node` pod (node-script.ts). Keeping one plan is what makes the lab, a
 * single node and a 5,000-node fleet produce the same files.
 *
 * Everything here is read-only: dumps, `show` commands and HTTP GETs.
 */
import type { NodeArtifactKind } from '../bundle/artifacts.js';

export const DEFAULT_BIRD_SOCKET = '/var/run/calico/bird.ctl';
export const DEFAULT_BIRD6_SOCKET = '/var/run/calico/bird6.ctl';
export const DEFAULT_FELIX_METRICS_URL = 'http://localhost:9091/metrics';
export const DEFAULT_FELIX_HEALTH_URL = 'http://localhost:9099';

/** sysctl subtrees that matter for Calico's dataplane; `sysctl -a` output is filtered to them. */
export const SYSCTL_PREFIXES = ['net.core.', 'net.ipv4.', 'net.ipv6.', 'net.netfilter.', 'net.bridge.'];

/** Reads the same keys from /proc/sys when the `sysctl` binary is missing (minimal images). */
export const PROC_SYSCTL_SCRIPT =
  'for d in core ipv4 ipv6 netfilter bridge; do [ -d /proc/sys/net/$d ] && find /proc/sys/net/$d -type f 2>/dev/null; done | ' +
  'while IFS= read -r f; do v=$(cat "$f" 2>/dev/null) || continue; k=${f#/proc/sys/}; printf \'%s = %s\\n\' "$(printf %s "$k" | tr / .)" "$v"; done';

export type Argv = [string, ...string[]];

export interface CommandStep {
  kind: 'cmd';
  /** Step id (also the frame id in the fleet script). */
  id: string;
  /** Tried in order; the first whose program exists is run (birdcl, then birdc). */
  alternatives: Argv[];
  /** Run only when every one of these steps found no program (plain iptables-save when neither backend tool exists). */
  onlyIfNotFound?: string[];
  timeoutMs: number;
  maxBytes: number;
}

export interface HttpStep {
  kind: 'http';
  id: string;
  url: string;
  timeoutMs: number;
  maxBytes: number;
}

export type Step = CommandStep | HttpStep;

export interface PlanOptions {
  timeoutMs?: number;
  birdSocket?: string;
  bird6Socket?: string;
  felixMetricsUrl?: string;
  /** Base URL of Felix's health endpoint (`/readiness` and `/liveness` are appended). */
  felixHealthUrl?: string;
  felixLogFile?: string;
  /** Bytes of the Felix log file kept from its end (default 50 MiB). */
  felixLogBytes?: number;
  /** Per-output cap (default 256 MiB). */
  maxOutputBytes?: number;
  /** conntrack -L lines kept (default 200,000). */
  conntrackMaxLines?: number;
  /** Timeout of HTTP probes (default 3 s). */
  httpTimeoutMs?: number;
  /** Leave out steps (by id), e.g. conntrack on a node with millions of flows. */
  skip?: string[];
}

export const MB = 1024 * 1024;

export function planNodeSteps(o: PlanOptions = {}): Step[] {
  const t = o.timeoutMs ?? 30_000;
  const max = o.maxOutputBytes ?? 256 * MB;
  const httpT = o.httpTimeoutMs ?? 3000;
  const bird = o.birdSocket ?? DEFAULT_BIRD_SOCKET;
  const bird6 = o.bird6Socket ?? DEFAULT_BIRD6_SOCKET;
  const health = (o.felixHealthUrl ?? DEFAULT_FELIX_HEALTH_URL).replace(/\/+$/, '');
  // Bytes read from conntrack before stopping: generous for the line cap (entries are ~200-300 bytes).
  const conntrackBytes = Math.min(max, (o.conntrackMaxLines ?? 200_000) * 400);
  const cmd = (id: string, alternatives: Argv[], extra: Partial<CommandStep> = {}): CommandStep => ({
    kind: 'cmd',
    id,
    alternatives,
    timeoutMs: t,
    maxBytes: max,
    ...extra,
  });
  const birdc = (sock: string, ...what: string[]): Argv[] => [
    ['birdcl', '-s', sock, ...what],
    ['birdc', '-s', sock, ...what],
  ];
  const steps: Step[] = [
    cmd('iptables-legacy-save', [['iptables-legacy-save', '-c']]),
    cmd('iptables-nft-save', [['iptables-nft-save', '-c']]),
    cmd('iptables-save', [['iptables-save', '-c']], { onlyIfNotFound: ['iptables-legacy-save', 'iptables-nft-save'] }),
    cmd('ip6tables-legacy-save', [['ip6tables-legacy-save', '-c']]),
    cmd('ip6tables-nft-save', [['ip6tables-nft-save', '-c']]),
    cmd('ip6tables-save', [['ip6tables-save', '-c']], { onlyIfNotFound: ['ip6tables-legacy-save', 'ip6tables-nft-save'] }),
    cmd('ipset', [['ipset', 'save']]),
    cmd('ip-addr', [['ip', '-j', '-d', 'addr']]),
    cmd('ip-link', [['ip', '-j', '-d', 'link']]),
    cmd('ip-route', [['ip', '-j', 'route', 'show', 'table', 'all']]),
    cmd('ip6-route', [['ip', '-j', '-6', 'route', 'show', 'table', 'all']]),
    cmd('ip-rule', [['ip', '-j', 'rule']]),
    cmd('ip6-rule', [['ip', '-j', '-6', 'rule']]),
    cmd('ip-neigh', [['ip', '-j', 'neigh']]),
    cmd('bridge-fdb', [['bridge', '-j', 'fdb', 'show']]),
    cmd('conntrack', [['conntrack', '-L']], { maxBytes: conntrackBytes }),
    cmd('conntrack-stats', [['conntrack', '-S']]),
    cmd('sysctl', [['sysctl', '-a'], ['sh', '-c', PROC_SYSCTL_SCRIPT]]),
    cmd('bird-protocols', birdc(bird, 'show', 'protocols', 'all'), { timeoutMs: Math.min(t, 10_000) }),
    cmd('bird-routes', birdc(bird, 'show', 'route'), { timeoutMs: Math.min(t, 10_000) }),
    cmd('bird6-protocols', birdc(bird6, 'show', 'protocols', 'all'), { timeoutMs: Math.min(t, 10_000) }),
    cmd('bird6-routes', birdc(bird6, 'show', 'route'), { timeoutMs: Math.min(t, 10_000) }),
    { kind: 'http', id: 'felix-metrics', url: o.felixMetricsUrl ?? DEFAULT_FELIX_METRICS_URL, timeoutMs: httpT, maxBytes: 64 * MB },
    { kind: 'http', id: 'felix-readiness', url: `${health}/readiness`, timeoutMs: httpT, maxBytes: MB },
    { kind: 'http', id: 'felix-liveness', url: `${health}/liveness`, timeoutMs: httpT, maxBytes: MB },
  ];
  if (o.felixLogFile) {
    const bytes = o.felixLogBytes ?? 50 * MB;
    steps.push(cmd('felix-log', [['tail', '-c', String(bytes), o.felixLogFile]], { maxBytes: bytes }));
  }
  const skip = new Set(o.skip ?? []);
  return steps.filter((s) => !skip.has(s.id));
}

/** Which canonical artifact a (simple) step produces; iptables, HTTP health and sysctl are assembled specially. */
export const STEP_ARTIFACT: Record<string, NodeArtifactKind> = {
  'iptables-legacy-save': 'iptables-legacy',
  'iptables-nft-save': 'iptables-nft',
  'iptables-save': 'iptables',
  'ip6tables-legacy-save': 'ip6tables-legacy',
  'ip6tables-nft-save': 'ip6tables-nft',
  'ip6tables-save': 'ip6tables',
  ipset: 'ipset',
  'ip-addr': 'ip-addr',
  'ip-link': 'ip-link',
  'ip-route': 'ip-route',
  'ip6-route': 'ip6-route',
  'ip-rule': 'ip-rule',
  'ip6-rule': 'ip6-rule',
  'ip-neigh': 'ip-neigh',
  'bridge-fdb': 'bridge-fdb',
  conntrack: 'conntrack',
  'conntrack-stats': 'conntrack-stats',
  sysctl: 'sysctl',
  'bird-protocols': 'bird-protocols',
  'bird-routes': 'bird-routes',
  'bird6-protocols': 'bird6-protocols',
  'bird6-routes': 'bird6-routes',
  'felix-metrics': 'felix-metrics',
  'felix-log': 'felix-log',
};

/** The result of one step, however it was run. */
export interface StepResult {
  id: string;
  /** The command actually run (the chosen alternative), or `GET <url>`. */
  command: string;
  stdout: Buffer;
  stderr: string;
  code: number;
  timedOut: boolean;
  truncated?: boolean;
  notFound?: boolean;
  /** Skipped because a condition (onlyIfNotFound) did not hold. */
  skipped?: boolean;
  durationMs?: number;
  /** HTTP steps: the status code (0 when unreachable). */
  httpStatus?: number;
  /** HTTP steps: why the endpoint could not be read. */
  error?: string;
}
