/**
 * Which file in a bundle is which artifact. Names follow docs/bundle.md; a few common
 * alternatives are accepted so that users can drop in files they already have.
 */
export type NodeArtifactKind =
  | 'iptables'
  | 'ip6tables'
  | 'iptables-legacy'
  | 'iptables-nft'
  | 'ip6tables-legacy'
  | 'ip6tables-nft'
  | 'ipset'
  | 'ip-addr'
  | 'ip-link'
  | 'ip-route'
  | 'ip6-route'
  | 'ip-rule'
  | 'ip6-rule'
  | 'ip-neigh'
  | 'bridge-fdb'
  | 'conntrack'
  | 'conntrack-stats'
  | 'sysctl'
  | 'bird-protocols'
  | 'bird-routes'
  | 'bird6-protocols'
  | 'bird6-routes'
  | 'calicoctl-node-status'
  | 'felix-metrics'
  | 'felix-log'
  | 'felix-health';

const NODE_PATTERNS: [RegExp, NodeArtifactKind][] = [
  [/^iptables-save(\.txt)?$/, 'iptables'],
  [/^ip6tables-save(\.txt)?$/, 'ip6tables'],
  [/^iptables-legacy-save(\.txt)?$/, 'iptables-legacy'],
  [/^iptables-nft-save(\.txt)?$/, 'iptables-nft'],
  [/^ip6tables-legacy-save(\.txt)?$/, 'ip6tables-legacy'],
  [/^ip6tables-nft-save(\.txt)?$/, 'ip6tables-nft'],
  [/^ipset(-save|-list)?(\.txt)?$/, 'ipset'],
  [/^ip-addr(ess)?\.(json|txt)$/, 'ip-addr'],
  [/^ip-link\.(json|txt)$/, 'ip-link'],
  [/^ip-route\.(json|txt)$/, 'ip-route'],
  [/^ip-?6-route\.(json|txt)$/, 'ip6-route'],
  [/^ip-rule\.(json|txt)$/, 'ip-rule'],
  [/^ip-?6-rule\.(json|txt)$/, 'ip6-rule'],
  [/^ip-neigh(bour|bor)?\.(json|txt)$/, 'ip-neigh'],
  [/^bridge-fdb\.(json|txt)$/, 'bridge-fdb'],
  [/^conntrack(\.txt)?$/, 'conntrack'],
  [/^conntrack-stats(\.txt)?$/, 'conntrack-stats'],
  [/^sysctl(\.txt)?$/, 'sysctl'],
  [/^bird-protocols(\.txt)?$/, 'bird-protocols'],
  [/^bird-routes(\.txt)?$/, 'bird-routes'],
  [/^bird6-protocols(\.txt)?$/, 'bird6-protocols'],
  [/^bird6-routes(\.txt)?$/, 'bird6-routes'],
  [/^calicoctl-node-status(\.txt)?$/, 'calicoctl-node-status'],
  [/^felix-metrics(\.txt)?$/, 'felix-metrics'],
  [/^(felix|calico-node)(\.log|-log\.txt)$/, 'felix-log'],
  [/^felix-health(\.txt|\.json)?$/, 'felix-health'],
];

export function classifyNodeFile(fileName: string): NodeArtifactKind | undefined {
  for (const [re, kind] of NODE_PATTERNS) if (re.test(fileName)) return kind;
  return undefined;
}

export const CLUSTER_FILE = /\.(ya?ml|json)$/i;

/** `nodes/<name>/<file>` → {node, file}; anything deeper or elsewhere → undefined. */
export function splitNodePath(p: string): { node: string; file: string } | undefined {
  const m = /^nodes\/([^/]+)\/([^/]+)$/.exec(p);
  return m ? { node: m[1], file: m[2] } : undefined;
}

/** The canonical file names a collector writes (docs/bundle.md). */
export const NODE_FILE_NAMES: Record<NodeArtifactKind, string> = {
  iptables: 'iptables-save.txt',
  ip6tables: 'ip6tables-save.txt',
  'iptables-legacy': 'iptables-legacy-save.txt',
  'iptables-nft': 'iptables-nft-save.txt',
  'ip6tables-legacy': 'ip6tables-legacy-save.txt',
  'ip6tables-nft': 'ip6tables-nft-save.txt',
  ipset: 'ipset.txt',
  'ip-addr': 'ip-addr.json',
  'ip-link': 'ip-link.json',
  'ip-route': 'ip-route.json',
  'ip6-route': 'ip6-route.json',
  'ip-rule': 'ip-rule.json',
  'ip6-rule': 'ip6-rule.json',
  'ip-neigh': 'ip-neigh.json',
  'bridge-fdb': 'bridge-fdb.json',
  conntrack: 'conntrack.txt',
  'conntrack-stats': 'conntrack-stats.txt',
  sysctl: 'sysctl.txt',
  'bird-protocols': 'bird-protocols.txt',
  'bird-routes': 'bird-routes.txt',
  'bird6-protocols': 'bird6-protocols.txt',
  'bird6-routes': 'bird6-routes.txt',
  'calicoctl-node-status': 'calicoctl-node-status.txt',
  'felix-metrics': 'felix-metrics.txt',
  'felix-log': 'felix.log',
  'felix-health': 'felix-health.txt',
};
