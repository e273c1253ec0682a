/**
 * Turns a BundleSource (paths and bytes) into the typed Bundle by running each artifact's parser.
 * A parser never throws; should one do so anyway (a bug), the failure becomes an issue on that
 * artifact and loading goes on with the rest.
 */
import type { Bundle, NodeData } from '../model/bundle.js';
import type { ParseIssue, Parsed } from '../model/evidence.js';
import { parseIptablesSave } from '../parse/iptables-save.js';
import { parseIpset } from '../parse/ipset.js';
import { parseIpAddr } from '../parse/ip-addr.js';
import { parseIpLink } from '../parse/ip-link.js';
import { parseIpRoute } from '../parse/ip-route.js';
import { parseIpRule } from '../parse/ip-rule.js';
import { parseIpNeigh } from '../parse/ip-neigh.js';
import { parseBridgeFdb } from '../parse/bridge-fdb.js';
import { parseConntrack } from '../parse/conntrack.js';
import { parseConntrackStats } from '../parse/conntrack-stats.js';
import { parseSysctl } from '../parse/sysctl.js';
import { parseBirdProtocols } from '../parse/bird-protocols.js';
import { parseBirdRoutes } from '../parse/bird-routes.js';
import { parseCalicoctlNodeStatus } from '../parse/calicoctl-node-status.js';
import { parseFelixMetrics } from '../parse/felix-metrics.js';
import { parseFelixLog } from '../parse/felix-log.js';
import { loadClusterDir } from '../parse/resources.js';
import { ruleCount, type IptablesSave } from '../model/iptables.js';
import { CLUSTER_FILE, classifyNodeFile, splitNodePath, type NodeArtifactKind } from './artifacts.js';
import { MANIFEST_PATH, readManifest } from './manifest.js';
import { openBundle, type BundleSource, type OpenOptions } from './source.js';

/** V8 cannot hold strings much beyond 512 MiB; larger artifacts are reported, not read. */
const MAX_TEXT_BYTES = 480 * 1024 * 1024;

export async function loadBundle(origin: string, opts?: OpenOptions): Promise<Bundle> {
  return loadBundleFromSource(await openBundle(origin, opts));
}

export function loadBundleFromSource(src: BundleSource): Bundle {
  const issues: ParseIssue[] = [];
  const { manifest, issues: mIssues } = readManifest(src);
  issues.push(...mIssues);
  for (const r of src.refused) issues.push({ artifact: r.path, line: 0, reason: `refused: ${r.reason}`, severity: 'error' });

  const unrecognised: string[] = [];
  const clusterFiles: { path: string; text: string }[] = [];
  const nodeFiles = new Map<string, Map<NodeArtifactKind, string>>();

  for (const p of src.paths()) {
    if (p === MANIFEST_PATH || /^README(\.md|\.txt)?$/i.test(p) || p.startsWith('logs/')) continue; // logs/: component logs kept for humans
    if (p.startsWith('cluster/')) {
      if (CLUSTER_FILE.test(p)) {
        const text = readText(src, p, issues);
        if (text !== undefined) clusterFiles.push({ path: p, text });
      } else unrecognised.push(p);
      continue;
    }
    const np = splitNodePath(p);
    const kind = np && classifyNodeFile(np.file);
    if (!np || !kind) {
      unrecognised.push(p);
      continue;
    }
    let m = nodeFiles.get(np.node);
    if (!m) nodeFiles.set(np.node, (m = new Map()));
    if (m.has(kind)) {
      issues.push({ artifact: p, line: 0, reason: `a second ${kind} file for node ${np.node}; ${m.get(kind)} is used`, severity: 'warning' });
      continue;
    }
    m.set(kind, p);
  }

  const cluster = guard(`cluster/`, issues, () => loadClusterDir(clusterFiles));

  const nodes: NodeData[] = [];
  for (const [name, files] of [...nodeFiles].sort((a, b) => a[0].localeCompare(b[0]))) {
    nodes.push(loadNode(src, name, files, issues));
  }

  return {
    origin: src.origin,
    manifest,
    cluster: cluster ?? emptyCluster(),
    clusterFiles: clusterFiles.map((f) => f.path),
    nodes,
    issues,
    unrecognised,
    rawText: (artifact) => (src.has(artifact) ? src.text(artifact) : undefined),
  };
}

function emptyCluster() {
  return loadClusterDir([]).value;
}

function readText(src: BundleSource, p: string, issues: ParseIssue[]): string | undefined {
  const size = src.size(p);
  if (size > MAX_TEXT_BYTES) {
    issues.push({ artifact: p, line: 0, reason: `file is ${size} bytes, above the ${MAX_TEXT_BYTES}-byte limit for one artifact; not read`, severity: 'error' });
    return undefined;
  }
  return src.text(p);
}

/** Runs one parser; a thrown exception (a parser bug) becomes an issue instead of ending the command. */
function guard<T>(artifact: string, issues: ParseIssue[], fn: () => Parsed<T>): T | undefined {
  try {
    const r = fn();
    issues.push(...r.issues);
    return r.value;
  } catch (e) {
    issues.push({ artifact, line: 0, reason: `internal parser error: ${(e as Error).message}`, severity: 'error' });
    return undefined;
  }
}

function hasCalicoChains(d: IptablesSave | undefined): boolean {
  if (!d) return false;
  for (const t of d.tables.values()) for (const c of t.chains.keys()) if (c.startsWith('cali-')) return true;
  return false;
}


function loadNode(src: BundleSource, name: string, files: Map<NodeArtifactKind, string>, issues: ParseIssue[]): NodeData {
  const node: NodeData = { name, artifacts: Object.fromEntries(files) };
  const run = <T>(kind: NodeArtifactKind, parser: (text: string, artifact: string) => Parsed<T>): T | undefined => {
    const p = files.get(kind);
    if (!p) return undefined;
    const text = readText(src, p, issues);
    if (text === undefined) return undefined;
    return guard(p, issues, () => parser(text, p));
  };

  // iptables: prefer the default dump; with only backend-specific dumps, use the one holding Calico's rules.
  const def = run('iptables', parseIptablesSave);
  const legacy = run('iptables-legacy', parseIptablesSave);
  const nft = run('iptables-nft', parseIptablesSave);
  if (def) {
    node.iptables = def;
    node.iptablesBackend = 'default';
    const other = [legacy, nft].find((d) => d && ruleCount(d) > 0 && d !== def);
    if (other) node.iptablesOther = other;
  } else if (legacy || nft) {
    const pick = hasCalicoChains(nft) || !hasCalicoChains(legacy) ? (nft ?? legacy) : legacy;
    node.iptables = pick;
    node.iptablesBackend = pick === nft ? 'nft' : 'legacy';
    node.artifacts.iptables = files.get(pick === nft ? 'iptables-nft' : 'iptables-legacy');
    const other = pick === nft ? legacy : nft;
    if (other && ruleCount(other) > 0) node.iptablesOther = other;
  }
  node.ip6tables = run('ip6tables', parseIptablesSave) ?? run('ip6tables-nft', parseIptablesSave) ?? run('ip6tables-legacy', parseIptablesSave);
  node.ipsets = run('ipset', parseIpset);
  node.interfaces = run('ip-addr', parseIpAddr) ?? run('ip-link', parseIpLink);
  const r4 = run('ip-route', parseIpRoute);
  const r6 = run('ip6-route', parseIpRoute);
  if (r4 || r6) node.routes = [...(r4 ?? []), ...(r6 ?? [])];
  const ru4 = run('ip-rule', parseIpRule);
  const ru6 = run('ip6-rule', parseIpRule);
  if (ru4 || ru6) node.rules = [...(ru4 ?? []), ...(ru6 ?? [])];
  node.neighbors = run('ip-neigh', parseIpNeigh);
  node.fdb = run('bridge-fdb', parseBridgeFdb);
  node.conntrack = run('conntrack', parseConntrack);
  node.conntrackStats = run('conntrack-stats', parseConntrackStats);
  node.sysctl = run('sysctl', parseSysctl);
  node.birdProtocols = run('bird-protocols', parseBirdProtocols);
  node.birdRoutes = run('bird-routes', parseBirdRoutes);
  node.bird6Protocols = run('bird6-protocols', parseBirdProtocols);
  node.bird6Routes = run('bird6-routes', parseBirdRoutes);
  node.nodeStatus = run('calicoctl-node-status', parseCalicoctlNodeStatus);
  node.felixMetrics = run('felix-metrics', parseFelixMetrics);
  node.felixLog = run('felix-log', parseFelixLog);
  const fh = files.get('felix-health');
  if (fh) node.felixHealth = { text: src.text(fh), artifact: fh };
  return node;
}
