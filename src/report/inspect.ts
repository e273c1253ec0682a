/**
 * `caliscope bundle inspect`: what the bundle holds, node by node and for the cluster, and every
 * parse issue (seed procedure S13, for a whole cluster). Pure: Bundle → summary → text.
 */
import type { Bundle, NodeData } from '../model/bundle.js';
import type { IptablesSave } from '../model/iptables.js';
import { calicoChainSummary } from '../parse/iptables-classify.js';
import { formatIssue, type ParseIssue } from '../model/evidence.js';
import { table, type Style } from './style.js';

export interface IptablesSummary {
  backend?: string;
  chains: number;
  rules: number;
  calicoChains: number;
  calicoRules: number;
  kubeProxyChains: number;
  policyChains: number;
  endpointChains: number;
  counters: boolean;
}

export interface NodeSummary {
  name: string;
  artifacts: string[];
  iptables?: IptablesSummary;
  ip6tables?: IptablesSummary;
  ipsets?: { sets: number; calicoSets: number; members: number };
  interfaces?: { total: number; caliVeths: number; tunnels: string[]; down: string[] };
  routes?: { total: number; byType: Record<string, number>; byProtocol: Record<string, number>; tables: string[] };
  rules?: number;
  neighbors?: number;
  fdb?: number;
  conntrack?: { entries: number };
  conntrackStats?: { cpus: number };
  sysctl?: { keys: number };
  bgp?: { peers: number; byState: Record<string, number> };
  birdRoutes?: number;
  felix?: { metrics?: number; resyncState?: number; dataplaneFailures?: number; logLines?: number; logErrors?: number };
}

export interface ClusterSummary {
  files: number;
  counts: Record<string, number>;
  other: Record<string, number>;
}

export interface BundleSummary {
  origin: string;
  manifest?: { createdAt: string; tool?: string; source?: string; complete?: boolean; files: number; failures: number };
  cluster: ClusterSummary;
  nodes: NodeSummary[];
  issues: { errors: number; warnings: number; list: ParseIssue[] };
  unrecognised: string[];
}

function summarizeIptables(d: IptablesSave, backend?: string): IptablesSummary {
  const s = calicoChainSummary(d);
  const r = s.byRole;
  return {
    backend: backend ?? d.backend,
    chains: s.total.chains,
    rules: s.total.rules,
    calicoChains: s.calicoChains,
    calicoRules: s.calicoRules,
    kubeProxyChains: r['kube-proxy-services'].chains + r['kube-proxy-service'].chains + r['kube-proxy-endpoint'].chains + r['kube-proxy-other'].chains,
    policyChains: r['calico-policy-ingress'].chains + r['calico-policy-egress'].chains,
    endpointChains: r['calico-to-workload'].chains + r['calico-from-workload'].chains,
    counters: d.hasCounters,
  };
}

function inc(m: Record<string, number>, k: string): void {
  m[k] = (m[k] ?? 0) + 1;
}

export function summarizeNode(n: NodeData): NodeSummary {
  const s: NodeSummary = { name: n.name, artifacts: Object.keys(n.artifacts).sort() };
  if (n.iptables) s.iptables = summarizeIptables(n.iptables, n.iptablesBackend === 'default' ? n.iptables.backend : n.iptablesBackend);
  if (n.ip6tables) s.ip6tables = summarizeIptables(n.ip6tables);
  if (n.ipsets) {
    let members = 0;
    let calico = 0;
    for (const set of n.ipsets.sets.values()) {
      members += set.members.length;
      if (set.name.startsWith('cali')) calico++;
    }
    s.ipsets = { sets: n.ipsets.sets.size, calicoSets: calico, members };
  }
  if (n.interfaces) {
    s.interfaces = {
      total: n.interfaces.length,
      caliVeths: n.interfaces.filter((i) => i.name.startsWith('cali')).length,
      tunnels: n.interfaces.filter((i) => ['vxlan', 'ipip', 'wireguard'].includes(i.kind ?? '') || /^(tunl0|vxlan\.calico|vxlan-v6\.calico|wireguard\.cali|wg-v6\.cali)$/.test(i.name)).map((i) => i.name),
      down: n.interfaces.filter((i) => !i.up).map((i) => i.name),
    };
  }
  if (n.routes) {
    const byType: Record<string, number> = {};
    const byProtocol: Record<string, number> = {};
    const tables = new Set<string>();
    for (const r of n.routes) {
      inc(byType, r.type);
      inc(byProtocol, r.protocol ?? 'none');
      tables.add(r.table);
    }
    s.routes = { total: n.routes.length, byType, byProtocol, tables: [...tables].sort() };
  }
  if (n.rules) s.rules = n.rules.length;
  if (n.neighbors) s.neighbors = n.neighbors.length;
  if (n.fdb) s.fdb = n.fdb.length;
  if (n.conntrack) s.conntrack = { entries: n.conntrack.entries.length };
  if (n.conntrackStats) s.conntrackStats = { cpus: n.conntrackStats.cpus.length };
  if (n.sysctl) s.sysctl = { keys: n.sysctl.values.size };
  const peers = (n.birdProtocols ?? []).filter((p) => p.proto === 'BGP');
  if (n.birdProtocols) {
    const byState: Record<string, number> = {};
    for (const p of peers) inc(byState, p.bgpState ?? p.state);
    s.bgp = { peers: peers.length, byState };
  } else if (n.nodeStatus) {
    const byState: Record<string, number> = {};
    const all = [...n.nodeStatus.ipv4Peers, ...n.nodeStatus.ipv6Peers];
    for (const p of all) inc(byState, p.bgpState ?? p.state);
    s.bgp = { peers: all.length, byState };
  }
  if (n.birdRoutes) s.birdRoutes = n.birdRoutes.length;
  if (n.felixMetrics || n.felixLog) {
    s.felix = {};
    if (n.felixMetrics) {
      let samples = 0;
      for (const f of n.felixMetrics.families.values()) samples += f.samples.length;
      s.felix.metrics = samples;
      const rs = n.felixMetrics.families.get('felix_resync_state')?.samples[0]?.value;
      if (rs !== undefined) s.felix.resyncState = rs;
      const df = n.felixMetrics.families.get('felix_int_dataplane_failures')?.samples.reduce((a, x) => a + x.value, 0);
      if (df !== undefined) s.felix.dataplaneFailures = df;
    }
    if (n.felixLog) {
      s.felix.logLines = n.felixLog.entries.length;
      s.felix.logErrors = n.felixLog.entries.filter((e) => e.level === 'ERROR' || e.level === 'FATAL' || e.level === 'PANIC').length;
    }
  }
  return s;
}

export function summarizeBundle(b: Bundle): BundleSummary {
  const c = b.cluster;
  const counts: Record<string, number> = {};
  for (const [k, v] of Object.entries(c)) if (Array.isArray(v) && k !== 'other') counts[k] = v.length;
  const m = b.manifest;
  return {
    origin: b.origin,
    manifest: m && {
      createdAt: m.createdAt,
      tool: m.tool,
      source: typeof m.source?.kind === 'string' ? m.source.kind : undefined,
      complete: m.complete,
      files: m.files.length,
      failures: m.failures?.length ?? 0,
    },
    cluster: { files: b.clusterFiles.length, counts, other: { ...c.otherCounts } },
    nodes: b.nodes.map(summarizeNode),
    issues: {
      errors: b.issues.filter((i) => i.severity === 'error').length,
      warnings: b.issues.filter((i) => i.severity === 'warning').length,
      list: b.issues,
    },
    unrecognised: b.unrecognised,
  };
}

const CLUSTER_LABELS: [string, string][] = [
  ['nodes', 'Nodes'],
  ['calicoNodes', 'Calico Nodes'],
  ['namespaces', 'Namespaces'],
  ['pods', 'Pods'],
  ['workloadEndpoints', 'WorkloadEndpoints'],
  ['hostEndpoints', 'HostEndpoints'],
  ['services', 'Services'],
  ['endpointSlices', 'EndpointSlices'],
  ['k8sNetworkPolicies', 'Kubernetes NetworkPolicies'],
  ['calicoNetworkPolicies', 'Calico NetworkPolicies'],
  ['globalNetworkPolicies', 'GlobalNetworkPolicies'],
  ['stagedNetworkPolicies', 'Staged NetworkPolicies'],
  ['stagedGlobalNetworkPolicies', 'Staged GlobalNetworkPolicies'],
  ['tiers', 'Tiers'],
  ['profiles', 'Profiles'],
  ['networkSets', 'NetworkSets'],
  ['globalNetworkSets', 'GlobalNetworkSets'],
  ['ipPools', 'IP pools'],
  ['ipamBlocks', 'IPAM blocks'],
  ['blockAffinities', 'Block affinities'],
  ['ipamHandles', 'IPAM handles'],
  ['bgpPeers', 'BGP peers'],
  ['bgpConfigurations', 'BGP configurations'],
  ['bgpFilters', 'BGP filters'],
  ['felixConfigurations', 'Felix configurations'],
  ['clusterInformations', 'Cluster informations'],
  ['serviceAccounts', 'ServiceAccounts'],
];

function kv(obj: Record<string, number>): string {
  return Object.entries(obj)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}

export function renderInspectText(s: BundleSummary, st: Style, opts: { maxIssues?: number } = {}): string {
  const out: string[] = [];
  out.push(st.bold(`Bundle ${s.origin}`));
  if (s.manifest) {
    out.push(
      `  manifest: ${s.manifest.files} files, created ${s.manifest.createdAt || '?'}${s.manifest.tool ? ` by ${s.manifest.tool}` : ''}${s.manifest.source ? ` (${s.manifest.source})` : ''}` +
        `${s.manifest.complete === false ? st.yellow(' — INCOMPLETE') : ''}${s.manifest.failures ? `, ${s.manifest.failures} collection failures` : ''}`,
    );
  } else out.push('  manifest: none (hand-made bundle)');

  out.push('', st.bold(`Cluster (${s.cluster.files} files)`));
  const rows = CLUSTER_LABELS.filter(([k]) => (s.cluster.counts[k] ?? 0) > 0).map(([k, label]) => [label, String(s.cluster.counts[k])]);
  if (rows.length) out.push(table(rows, { indent: '  ' }));
  else out.push('  no cluster resources');
  if (Object.keys(s.cluster.other).length) out.push(`  other kinds: ${kv(s.cluster.other)}`);

  for (const n of s.nodes) {
    out.push('', st.bold(`Node ${n.name}`) + st.dim(` (${n.artifacts.length} artifacts)`));
    const r: string[][] = [];
    const ipt = (label: string, x: IptablesSummary) =>
      r.push([
        label,
        `${x.chains} chains, ${x.rules} rules; Calico ${x.calicoChains} chains / ${x.calicoRules} rules (${x.policyChains} policy, ${x.endpointChains} endpoint); kube-proxy ${x.kubeProxyChains} chains${x.backend ? `; backend ${x.backend}` : ''}${x.counters ? '' : '; no counters'}`,
      ]);
    if (n.iptables) ipt('iptables', n.iptables);
    if (n.ip6tables) ipt('ip6tables', n.ip6tables);
    if (n.ipsets) r.push(['ipsets', `${n.ipsets.sets} sets (${n.ipsets.calicoSets} Calico), ${n.ipsets.members} members`]);
    if (n.interfaces)
      r.push([
        'interfaces',
        `${n.interfaces.total} (${n.interfaces.caliVeths} cali veths)${n.interfaces.tunnels.length ? `; tunnels ${n.interfaces.tunnels.join(', ')}` : ''}${n.interfaces.down.length ? st.yellow(`; down: ${n.interfaces.down.join(', ')}`) : ''}`,
      ]);
    if (n.routes) r.push(['routes', `${n.routes.total} in tables ${n.routes.tables.join(', ')}; ${kv(n.routes.byType)}; protocols ${kv(n.routes.byProtocol)}`]);
    if (n.rules !== undefined) r.push(['ip rules', String(n.rules)]);
    if (n.neighbors !== undefined) r.push(['neighbours', String(n.neighbors)]);
    if (n.fdb !== undefined) r.push(['fdb', String(n.fdb)]);
    if (n.conntrack) r.push(['conntrack', `${n.conntrack.entries} entries`]);
    if (n.sysctl) r.push(['sysctl', `${n.sysctl.keys} keys`]);
    if (n.bgp) r.push(['BGP', `${n.bgp.peers} peers${n.bgp.peers ? `: ${kv(n.bgp.byState)}` : ''}`]);
    if (n.birdRoutes !== undefined) r.push(['BIRD routes', String(n.birdRoutes)]);
    if (n.felix) {
      const f = n.felix;
      const parts: string[] = [];
      if (f.metrics !== undefined) parts.push(`${f.metrics} metric samples`);
      if (f.resyncState !== undefined) parts.push(`resync state ${f.resyncState}${f.resyncState === 3 ? ' (in sync)' : ''}`);
      if (f.dataplaneFailures !== undefined) parts.push(`dataplane failures ${f.dataplaneFailures}`);
      if (f.logLines !== undefined) parts.push(`${f.logLines} log lines, ${f.logErrors} errors`);
      r.push(['Felix', parts.join('; ')]);
    }
    out.push(table(r, { indent: '  ' }));
  }
  if (s.nodes.length === 0) out.push('', 'No node directories.');

  if (s.unrecognised.length) out.push('', st.dim(`Not recognised (ignored): ${s.unrecognised.join(', ')}`));

  const max = opts.maxIssues ?? 50;
  out.push('', st.bold(`Parse issues: ${s.issues.errors} errors, ${s.issues.warnings} warnings`));
  for (const i of s.issues.list.slice(0, max)) out.push(`  ${i.severity === 'error' ? st.red(formatIssue(i)) : st.yellow(formatIssue(i))}`);
  if (s.issues.list.length > max) out.push(st.dim(`  … ${s.issues.list.length - max} more (use --json for all)`));
  return out.join('\n');
}
