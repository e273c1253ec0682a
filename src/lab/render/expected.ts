/**
 * The expected programming of a node in structured form only, for the diagnosis checks
 * `dataplane.policy-chain-missing`, `dataplane.endpoint-chain-missing` and
 * `dataplane.ipset-stale`: which chains must exist (per endpoint, policy, profile), and which
 * members each IP set must hold. Node facts not given are inferred from the cluster resources.
 */
import type { PolicyModel } from '../../calico/policy/index.js';
import type { ClusterResources, IPPool } from '../../model/resources.js';
import type { ChainStyle } from './config.js';
import type { RenderedIpset } from './ipsets.js';
import { type EncapMode, type EndpointProgramming, type PolicyChainProgramming, type RenderedNode, renderFelixNode } from './node.js';

export interface ExpectedProgramming {
  node: string;
  chainStyle: ChainStyle;
  /** Per local workload endpoint: its chains, and the policy/profile chains they jump to. */
  endpoints: EndpointProgramming[];
  /** Every policy chain expected on the node (both directions of each active policy). */
  policyChains: PolicyChainProgramming[];
  profileChains: RenderedNode['profileChains'];
  /** Every Felix chain expected, as `table/chain`. */
  felixChains: Set<string>;
  ipsets: Map<string, RenderedIpset>;
  /** Node facts used (given or inferred). */
  facts: { nodeIp?: string; mode: EncapMode; allNodeIps: string[] };
  notes: string[];
}

export interface ExpectedOptions {
  nodeIp?: string;
  mode?: EncapMode;
  allNodeIps?: string[];
  chainStyle?: ChainStyle;
}

const stripLen = (s: string) => s.replace(/\/\d+$/, '');

/** A node's address from the Calico Node, the Kubernetes Node annotation or its InternalIP. */
export function nodeAddress(cluster: ClusterResources, node: string): string | undefined {
  const cn = cluster.calicoNodes.find((n) => n.metadata.name === node);
  if (cn?.spec.bgp?.ipv4Address) return stripLen(cn.spec.bgp.ipv4Address);
  const kn = cluster.nodes.find((n) => n.metadata.name === node);
  if (kn?.calico.ipv4Address) return stripLen(kn.calico.ipv4Address);
  return kn?.status.addresses.find((a) => a.type === 'InternalIP' && !a.address.includes(':'))?.address;
}

/** The nodes Calico knows (Calico Nodes, else Kubernetes Nodes). */
export function clusterNodeNames(cluster: ClusterResources): string[] {
  const names = cluster.calicoNodes.map((n) => n.metadata.name);
  return names.length > 0 ? names : cluster.nodes.map((n) => n.metadata.name);
}

/** vxlan / ipip / bgp from the enabled IPv4 pools (vxlanMode wins over ipipMode, as Felix enables both if both are used). */
export function encapModeOf(pools: IPPool[]): EncapMode {
  const v4 = pools.filter((p) => !p.spec.cidr.includes(':') && !p.spec.disabled);
  if (v4.some((p) => p.spec.vxlanMode !== 'Never')) return 'vxlan';
  if (v4.some((p) => p.spec.ipipMode !== 'Never')) return 'ipip';
  return 'bgp';
}

export function expectedProgramming(cluster: ClusterResources, model: PolicyModel, node: string, opts: ExpectedOptions = {}): ExpectedProgramming {
  const mode = opts.mode ?? encapModeOf(cluster.ipPools);
  const allNodeIps = opts.allNodeIps ?? clusterNodeNames(cluster).flatMap((n) => nodeAddress(cluster, n) ?? []);
  const nodeIp = opts.nodeIp ?? nodeAddress(cluster, node);
  const notes: string[] = [];
  if (!nodeIp) notes.push(`no address known for node ${node}: cali40this-host / cali40all-vxlan-net may be incomplete`);
  const r = renderFelixNode({
    cluster,
    model,
    node,
    nodeIp: nodeIp ?? '0.0.0.0',
    mode,
    allNodeIps,
    felixConfig: opts.chainStyle ? { chainStyle: opts.chainStyle } : {},
    kubeProxy: { services: false },
  });
  const felixChains = new Set<string>();
  for (const [key, rules] of r.chains) if (rules.some((x) => x.owner === 'felix') || !/\/[A-Z]+$/.test(key)) felixChains.add(key);
  if (!nodeIp) for (const s of r.ipsets.values()) s.members = s.members.filter((m) => m !== '0.0.0.0');
  return {
    node,
    chainStyle: r.config.chainStyle,
    endpoints: r.endpoints,
    policyChains: r.policyChains,
    profileChains: r.profileChains,
    felixChains,
    ipsets: r.ipsets,
    facts: { ...(nodeIp ? { nodeIp } : {}), mode, allNodeIps },
    notes: [...notes, ...r.notes],
  };
}
