/**
 * The typed bundle: every artifact of every node and the cluster's resources, parsed.
 * This is the contract between loading (bundle/) and everything that reasons (calico/, engine/,
 * trace/, checks/). Artifacts are optional: a model field is absent when the file was absent.
 */
import type { ParseIssue } from './evidence.js';
import type { Manifest } from './manifest.js';
import type { IptablesSave } from './iptables.js';
import type { IpsetDump } from './ipset.js';
import type { IpInterface, IpRoute, IpRule, IpNeighbor, FdbEntry } from './iproute.js';
import type { ConntrackDump, ConntrackStats } from './conntrack.js';
import type { Sysctls } from './sysctl.js';
import type { BirdProtocol, BirdRoute, CalicoNodeStatus } from './bgp.js';
import type { FelixMetrics, FelixLog } from './felix.js';
import type { ClusterResources } from './resources.js';
import type { NodeArtifactKind } from '../bundle/artifacts.js';

export interface NodeData {
  name: string;
  /** kind → bundle-relative path of the file it was read from (evidence points there). */
  artifacts: Partial<Record<NodeArtifactKind, string>>;
  /** The dump Calico's rules live in (see `iptablesBackend`). */
  iptables?: IptablesSave;
  ip6tables?: IptablesSave;
  /** Which file `iptables` came from when both legacy and nft dumps were collected. */
  iptablesBackend?: 'default' | 'legacy' | 'nft';
  /** The other backend's dump, when both were collected and both hold rules. */
  iptablesOther?: IptablesSave;
  ipsets?: IpsetDump;
  /** From ip-addr (preferred) or ip-link. */
  interfaces?: IpInterface[];
  routes?: IpRoute[];
  rules?: IpRule[];
  neighbors?: IpNeighbor[];
  fdb?: FdbEntry[];
  conntrack?: ConntrackDump;
  conntrackStats?: ConntrackStats;
  sysctl?: Sysctls;
  birdProtocols?: BirdProtocol[];
  birdRoutes?: BirdRoute[];
  bird6Protocols?: BirdProtocol[];
  bird6Routes?: BirdRoute[];
  nodeStatus?: CalicoNodeStatus;
  felixMetrics?: FelixMetrics;
  felixLog?: FelixLog;
  felixHealth?: { text: string; artifact: string };
}

export interface Bundle {
  origin: string;
  manifest?: Manifest;
  cluster: ClusterResources;
  /** Which cluster/ files were read. */
  clusterFiles: string[];
  nodes: NodeData[];
  /** Every parse issue of every artifact, in load order. */
  issues: ParseIssue[];
  /** Files present but not recognised as any artifact (listed, not an error). */
  unrecognised: string[];
  /** Raw access for evidence context (surrounding lines in the UI). */
  rawText(artifact: string): string | undefined;
}

export function findNode(b: Bundle, name: string): NodeData | undefined {
  return b.nodes.find((n) => n.name === name);
}
