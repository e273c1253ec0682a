/**
 * Felix's Prometheus metrics and Felix / calico-node logs (calico-formats.md §6, §7), with the
 * few derived facts the checks ask for: datastore sync state, dataplane failures, error counts.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped' | 'gaugehistogram' | 'info' | 'stateset' | 'unknown';

export interface MetricSample {
  /** The sample's own name (`felix_exec_time_micros_sum` belongs to family `felix_exec_time_micros`). */
  name: string;
  labels: Record<string, string>;
  value: number;
  /** Milliseconds since the epoch, when the exposition carried one. */
  timestamp?: number;
  /** 1-based line in the artifact. */
  line: number;
}

export interface MetricFamily {
  name: string;
  type?: MetricType;
  help?: string;
  samples: MetricSample[];
}

export interface FelixMetrics {
  families: Map<string, MetricFamily>;
}

/** A value read from the metrics, with the line to cite. */
export interface MetricReading {
  value: number;
  line: number;
}

/** felix_resync_state: `felix/calc/async_calc_graph.go` statusToGaugeValue. */
export const RESYNC_STATE = { waitForDatastore: 1, resyncInProgress: 2, inSync: 3 } as const;

export interface FelixMetricsHealth {
  /** 1 wait-for-datastore, 2 resync in progress, 3 in-sync. */
  resyncState?: MetricReading;
  resyncsStarted?: MetricReading;
  dataplaneFailures?: MetricReading;
  iptablesRestoreErrors?: MetricReading;
  iptablesRestoreCalls?: MetricReading;
  iptablesSaveErrors?: MetricReading;
  iptablesSaveCalls?: MetricReading;
  ipsetErrors?: MetricReading;
  ipsetCalls?: MetricReading;
  nftErrors?: MetricReading;
  nftCalls?: MetricReading;
  nftListErrors?: MetricReading;
  nftSetErrors?: MetricReading;
  logErrors?: MetricReading;
  logsDropped?: MetricReading;
  activeLocalEndpoints?: MetricReading;
  activeLocalPolicies?: MetricReading;
  activeLocalSelectors?: MetricReading;
  clusterNumHosts?: MetricReading;
  clusterNumWorkloadEndpoints?: MetricReading;
  clusterNumHostEndpoints?: MetricReading;
  clusterNumPolicies?: MetricReading;
  clusterNumProfiles?: MetricReading;
  initialResyncSeconds?: MetricReading;
  routeTableNumRoutes?: MetricReading;
  ipsetsCalico?: MetricReading;
  iptablesRules?: MetricReading;
  bpfDirtyEndpoints?: MetricReading;
  /** `felix_host{host="…"}`: the Felix hostname label. */
  host?: { name: string; line: number };
}

function labelsMatch(have: Record<string, string>, want: Record<string, string> | undefined): boolean {
  if (!want) return true;
  for (const [k, v] of Object.entries(want)) if (have[k] !== v) return false;
  return true;
}

/** Samples named `name` (also `name_total`, OpenMetrics' counter spelling) whose labels include `labels`. */
export function metricSamples(m: FelixMetrics, name: string, labels?: Record<string, string>): MetricSample[] {
  const out: MetricSample[] = [];
  for (const n of [name, `${name}_total`]) {
    const fam = m.families.get(n) ?? m.families.get(n.replace(/_(sum|count|bucket|total)$/, ''));
    if (!fam) continue;
    for (const s of fam.samples) if (s.name === n && labelsMatch(s.labels, labels)) out.push(s);
    if (out.length > 0) break;
  }
  return out;
}

/**
 * The value of a metric: the sum over the samples named `name` whose labels include `labels`
 * (so `felix_iptables_lines_executed` without labels is the total over tables and IP versions);
 * undefined when there is no such sample.
 */
export function metricValue(m: FelixMetrics, name: string, labels?: Record<string, string>): number | undefined {
  return metricReading(m, name, labels)?.value;
}

/** As metricValue, with the line of the first matching sample for evidence. */
export function metricReading(m: FelixMetrics, name: string, labels?: Record<string, string>): MetricReading | undefined {
  const s = metricSamples(m, name, labels);
  if (s.length === 0) return undefined;
  let value = 0;
  for (const x of s) value += x.value;
  return { value, line: s[0].line };
}

const HEALTH_METRICS: [keyof Omit<FelixMetricsHealth, 'host'>, string][] = [
  ['resyncState', 'felix_resync_state'],
  ['resyncsStarted', 'felix_resyncs_started'],
  ['dataplaneFailures', 'felix_int_dataplane_failures'],
  ['iptablesRestoreErrors', 'felix_iptables_restore_errors'],
  ['iptablesRestoreCalls', 'felix_iptables_restore_calls'],
  ['iptablesSaveErrors', 'felix_iptables_save_errors'],
  ['iptablesSaveCalls', 'felix_iptables_save_calls'],
  ['ipsetErrors', 'felix_ipset_errors'],
  ['ipsetCalls', 'felix_ipset_calls'],
  ['nftErrors', 'felix_nft_errors'],
  ['nftCalls', 'felix_nft_calls'],
  ['nftListErrors', 'felix_nft_list_errors'],
  ['nftSetErrors', 'felix_nft_set_errors'],
  ['logErrors', 'felix_log_errors'],
  ['logsDropped', 'felix_logs_dropped'],
  ['activeLocalEndpoints', 'felix_active_local_endpoints'],
  ['activeLocalPolicies', 'felix_active_local_policies'],
  ['activeLocalSelectors', 'felix_active_local_selectors'],
  ['clusterNumHosts', 'felix_cluster_num_hosts'],
  ['clusterNumWorkloadEndpoints', 'felix_cluster_num_workload_endpoints'],
  ['clusterNumHostEndpoints', 'felix_cluster_num_host_endpoints'],
  ['clusterNumPolicies', 'felix_cluster_num_policies'],
  ['clusterNumProfiles', 'felix_cluster_num_profiles'],
  ['initialResyncSeconds', 'felix_int_dataplane_initial_resync_time_seconds'],
  ['routeTableNumRoutes', 'felix_route_table_num_routes'],
  ['ipsetsCalico', 'felix_ipsets_calico'],
  ['iptablesRules', 'felix_iptables_rules'],
  ['bpfDirtyEndpoints', 'felix_bpf_dirty_dataplane_endpoints'],
];

/** The sync, error and size readings of calico-formats.md §6, each with the line to cite. */
export function felixHealthFromMetrics(m: FelixMetrics): FelixMetricsHealth {
  const h: FelixMetricsHealth = {};
  for (const [key, name] of HEALTH_METRICS) {
    const r = metricReading(m, name);
    if (r) h[key] = r;
  }
  const host = metricSamples(m, 'felix_host')[0];
  if (host && host.labels.host !== undefined) h.host = { name: host.labels.host, line: host.line };
  return h;
}

export type FelixLogLevel = 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR' | 'FATAL' | 'PANIC';

export type FelixLogEventKind =
  /** `Felix starting up` */
  | 'starting'
  /** `Connecting to datastore` */
  | 'datastore-connecting'
  /** `Waiting for datastore to be initialized (or migrated)` */
  | 'datastore-waiting'
  /** Connection/read failures towards the datastore (etcd or the API server). */
  | 'datastore-error'
  /** A full resync was triggered (watch expired, repeated watch failures, connection restored). */
  | 'resync'
  /** `Datastore now in sync.`, `First time we've been in sync`, `Datamodel in sync, …` */
  | 'in-sync'
  /** `Datastore became unready, need to restart.` */
  | 'unready'
  /** Felix decided to restart (config or encapsulation change, failed shutdown). */
  | 'restart'
  /** `Started internal iptables dataplane driver loop` */
  | 'dataplane-started'
  /** `Completed first update to dataplane.`, `Interface monitor now in sync.` */
  | 'dataplane-in-sync'
  /** `Failed to execute ip(6)tables-restore command`, failed iptables/nftables programming, route sync failures. */
  | 'dataplane-failure'
  /** ipset update/restore failures. */
  | 'ipset-failure'
  /** `Received *proto.ActivePolicyUpdate/Remove …` and friends. */
  | 'policy-update'
  /** `Received *proto.WorkloadEndpointUpdate/Remove …`, host endpoint updates. */
  | 'endpoint-update'
  /** `Summarising <n> dataplane reconciliation loops over <d>: avg=<d> longest=<d> (<ops>)` */
  | 'reconciliation-summary'
  /** calico-node: `Number of node(s) with BGP peering established = N` */
  | 'bgp-peers'
  /** calico-node readiness: `BGP not established with <ips>` */
  | 'bgp-not-established';

export interface FelixLogEvent {
  kind: FelixLogEventKind;
  /** Facts pulled out of the message (e.g. `loops`, `avg`, `established`, `msgType`). */
  data?: Record<string, string>;
}

export interface FelixLogEntry {
  /** 1-based line in the artifact. */
  line: number;
  /** As printed by the logger (`2025-06-09 21:31:09.123`), else the kubectl/CRI prefix's RFC 3339 time. */
  time?: string;
  level?: FelixLogLevel;
  pid?: number;
  component?: string;
  file?: string;
  fileLine?: number;
  /** The message without the key=value fields; the whole line when it could not be split. */
  message: string;
  fields: Record<string, string>;
  event?: FelixLogEvent;
}

export interface FelixLog {
  entries: FelixLogEntry[];
}

export interface FelixLogSync {
  /** First `in-sync` event (Felix had the whole datastore). */
  firstInSyncLine?: number;
  /** Last `unready` event. */
  lastUnreadyLine?: number;
  /** Last `in-sync` event. */
  lastInSyncLine?: number;
  /**
   * Full resyncs seen: `resync` events plus every Felix start-up after the first (a restarted
   * Felix, e.g. after `unready` or a config change, resyncs from scratch).
   */
  resyncCount: number;
  dataplaneFailureLines: number[];
  ipsetFailureLines: number[];
  datastoreErrorLines: number[];
  /** Entries at ERROR, FATAL or PANIC. */
  errorCount: number;
  warningCount: number;
}

export function felixSyncFromLog(log: FelixLog): FelixLogSync {
  const s: FelixLogSync = {
    resyncCount: 0,
    dataplaneFailureLines: [],
    ipsetFailureLines: [],
    datastoreErrorLines: [],
    errorCount: 0,
    warningCount: 0,
  };
  let starts = 0;
  for (const e of log.entries) {
    if (e.level === 'ERROR' || e.level === 'FATAL' || e.level === 'PANIC') s.errorCount++;
    else if (e.level === 'WARNING') s.warningCount++;
    switch (e.event?.kind) {
      case 'in-sync':
        s.firstInSyncLine ??= e.line;
        s.lastInSyncLine = e.line;
        break;
      case 'unready':
        s.lastUnreadyLine = e.line;
        break;
      case 'resync':
        s.resyncCount++;
        break;
      case 'starting':
        if (starts++ > 0) s.resyncCount++;
        break;
      case 'dataplane-failure':
        s.dataplaneFailureLines.push(e.line);
        break;
      case 'ipset-failure':
        s.ipsetFailureLines.push(e.line);
        break;
      case 'datastore-error':
        s.datastoreErrorLines.push(e.line);
        break;
    }
  }
  return s;
}
