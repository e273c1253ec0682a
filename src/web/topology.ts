/**
 * The Topology view's data: nodes with their addresses, tunnel devices and IPAM blocks, the pods
 * on each (from the policy model's endpoints), IP pools, and the links between nodes — BGP
 * sessions as BIRD reports them and tunnel routes as the kernel has them — with their state.
 */
import type { Bundle, NodeData } from '../model/bundle.js';
import type { PolicyModel } from '../calico/policy/resolve.js';
import type { Runtime } from '../trace/runtime.js';

export interface TopoNode {
  name: string;
  /** Has a nodes/<name>/ directory in the bundle (dataplane captured). */
  captured: boolean;
  addresses: string[];
  asNumber?: number;
  ready?: boolean;
  tunnels: { name: string; kind: string; up: boolean; mtu?: number; addrs: string[] }[];
  blocks: string[];
  /** Interfaces that are administratively down (cali veths and others). */
  down: string[];
}

export interface TopoPod {
  id: string;
  namespace: string;
  name: string;
  node: string;
  ips: string[];
  iface: string;
  kind: 'workload' | 'host';
  /** The host-side interface's state on the node, when the node's interfaces were captured. */
  ifaceState?: 'up' | 'down' | 'missing';
  hostNetwork?: boolean;
}

export interface TopoLink {
  kind: 'bgp' | 'vxlan' | 'ipip' | 'wireguard' | 'route';
  from: string;
  /** Peer node name, or the peer address when it is not a node of the bundle. */
  to: string;
  peerIp?: string;
  state: string;
  ok: boolean;
  detail: string;
  evidence?: { artifact: string; line?: number };
}

export interface Topology {
  nodes: TopoNode[];
  pods: TopoPod[];
  pools: { name: string; cidr: string; blockSize: number; ipipMode: string; vxlanMode: string; natOutgoing: boolean; disabled: boolean }[];
  blocks: { cidr: string; node?: string; allocated: number; size: number }[];
  links: TopoLink[];
  services: { id: string; ip?: string; type: string; ports: string[] }[];
}

function nodeAddrs(b: Bundle, name: string): string[] {
  const out = new Set<string>();
  const cn = b.cluster.calicoNodes.find((n) => n.metadata.name === name);
  const ip = cn?.spec.bgp?.ipv4Address?.split('/')[0];
  if (ip) out.add(ip);
  const kn = b.cluster.nodes.find((n) => n.metadata.name === name);
  for (const a of kn?.status.addresses ?? []) if (a.type === 'InternalIP') out.add(a.address);
  return [...out];
}

const TUNNEL_KINDS = new Set(['vxlan', 'ipip', 'wireguard']);
const TUNNEL_NAMES = /^(tunl0|vxlan\.calico|vxlan-v6\.calico|wireguard\.cali|wg-v6\.cali)$/;

function tunnelsOf(n: NodeData): TopoNode['tunnels'] {
  return (n.interfaces ?? [])
    .filter((i) => TUNNEL_KINDS.has(i.kind ?? '') || TUNNEL_NAMES.test(i.name))
    .map((i) => ({ name: i.name, kind: i.kind ?? (i.name.startsWith('vxlan') ? 'vxlan' : i.name === 'tunl0' ? 'ipip' : 'wireguard'), up: i.up, ...(i.mtu !== undefined ? { mtu: i.mtu } : {}), addrs: i.addrs.map((a) => a.address) }));
}

export function buildTopology(b: Bundle, model: PolicyModel, rt: Runtime): Topology {
  const captured = new Map(b.nodes.map((n) => [n.name, n]));
  const names = new Set<string>([...b.cluster.nodes.map((n) => n.metadata.name), ...b.cluster.calicoNodes.map((n) => n.metadata.name), ...captured.keys()]);
  for (const e of model.endpoints) if (e.node) names.add(e.node);
  const blocks = b.cluster.ipamBlocks.filter((x) => !x.spec.deleted).map((x) => ({
    cidr: x.spec.cidr,
    ...(x.spec.affinityNode ? { node: x.spec.affinityNode } : x.spec.affinity?.startsWith('host:') ? { node: x.spec.affinity.slice(5) } : {}),
    allocated: x.spec.allocations.filter((a) => a !== null).length,
    size: x.spec.allocations.length,
  }));

  const nodes: TopoNode[] = [...names].sort().map((name) => {
    const nd = captured.get(name);
    const kn = b.cluster.nodes.find((n) => n.metadata.name === name);
    const cn = b.cluster.calicoNodes.find((n) => n.metadata.name === name);
    return {
      name,
      captured: !!nd,
      addresses: nodeAddrs(b, name),
      ...(cn?.spec.bgp?.asNumber !== undefined ? { asNumber: cn.spec.bgp.asNumber } : {}),
      ...(kn?.status.ready !== undefined ? { ready: kn.status.ready } : {}),
      tunnels: nd ? tunnelsOf(nd) : [],
      blocks: blocks.filter((x) => x.node === name).map((x) => x.cidr),
      down: (nd?.interfaces ?? []).filter((i) => !i.up && i.name !== 'lo').map((i) => i.name),
    };
  });

  const pods: TopoPod[] = model.endpoints.map((e) => {
    const nd = captured.get(e.node);
    const iface = nd?.interfaces?.find((i) => i.name === e.interfaceName);
    return {
      id: e.id,
      namespace: e.namespace ?? '',
      name: e.name,
      node: e.node,
      ips: e.ips,
      iface: e.interfaceName,
      kind: e.kind,
      ...(nd?.interfaces && e.kind === 'workload' ? { ifaceState: iface ? (iface.up ? 'up' : 'down') : 'missing' } : {}),
    } as TopoPod;
  });
  for (const h of model.hostNetworkPods) {
    if (!h.node) continue;
    pods.push({ id: h.id, namespace: h.namespace, name: h.name, node: h.node, ips: h.hostIP ? [h.hostIP] : [], iface: '', kind: 'workload', hostNetwork: true });
  }

  const ipToNode = new Map<string, string>();
  for (const n of nodes) for (const a of n.addresses) ipToNode.set(a, n.name);
  for (const [ip, o] of rt.addressOwner) if (!ipToNode.has(ip)) ipToNode.set(ip, o.node);

  const links: TopoLink[] = [];
  for (const nd of b.nodes) {
    const protos = (nd.birdProtocols ?? []).filter((p) => p.proto === 'BGP');
    for (const p of protos) {
      const peerIp = p.peer?.ip ?? p.neighborAddress;
      const state = p.bgpState ?? p.state;
      links.push({
        kind: 'bgp',
        from: nd.name,
        to: (peerIp && ipToNode.get(peerIp)) ?? peerIp ?? p.name,
        ...(peerIp ? { peerIp } : {}),
        state,
        ok: state === 'Established',
        detail: `${p.name} ${p.state} ${p.info}`.trim(),
        ...(nd.artifacts['bird-protocols'] ? { evidence: { artifact: nd.artifacts['bird-protocols'], line: p.line } } : {}),
      });
    }
    if (protos.length === 0 && nd.nodeStatus) {
      for (const p of [...nd.nodeStatus.ipv4Peers, ...nd.nodeStatus.ipv6Peers]) {
        const state = p.bgpState ?? p.state;
        links.push({ kind: 'bgp', from: nd.name, to: ipToNode.get(p.address) ?? p.address, peerIp: p.address, state, ok: state === 'Established', detail: `${p.type} ${p.state} ${p.info}`.trim(), ...(nd.artifacts['calicoctl-node-status'] ? { evidence: { artifact: nd.artifacts['calicoctl-node-status'], line: p.line } } : {}) });
      }
    }
    // Tunnel links: the kernel's routes to remote blocks through a tunnel device.
    const tunnels = new Map(tunnelsOf(nd).map((t) => [t.name, t]));
    const seen = new Set<string>();
    for (const r of nd.routes ?? []) {
      if (!r.dev || !tunnels.has(r.dev) || !r.via || r.table !== 'main') continue;
      const t = tunnels.get(r.dev)!;
      const peer = ipToNode.get(r.via) ?? r.via;
      const key = `${r.dev}\0${peer}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const kind = t.kind === 'vxlan' ? 'vxlan' : t.kind === 'ipip' ? 'ipip' : 'wireguard';
      const ok = t.up && !r.linkdown;
      links.push({ kind, from: nd.name, to: peer, peerIp: r.via, state: ok ? 'up' : t.up ? 'linkdown' : 'device down', ok, detail: `${r.dst} via ${r.via} dev ${r.dev}${r.onlink ? ' onlink' : ''}${r.protocol ? ` proto ${r.protocol}` : ''}`, ...(nd.artifacts['ip-route'] ? { evidence: { artifact: nd.artifacts['ip-route'], line: r.line } } : {}) });
    }
  }

  return {
    nodes,
    pods,
    pools: b.cluster.ipPools.map((p) => ({ name: p.metadata.name, cidr: p.spec.cidr, blockSize: p.spec.blockSize, ipipMode: p.spec.ipipMode, vxlanMode: p.spec.vxlanMode, natOutgoing: p.spec.natOutgoing, disabled: p.spec.disabled })),
    blocks,
    links,
    services: b.cluster.services.map((s) => ({
      id: `${s.metadata.namespace ?? ''}/${s.metadata.name}`,
      ...(s.spec.clusterIP && s.spec.clusterIP !== 'None' ? { ip: s.spec.clusterIP } : {}),
      type: s.spec.type,
      ports: s.spec.ports.map((p) => `${p.port}/${p.protocol}${p.name ? ` (${p.name})` : ''}`),
    })),
  };
}
