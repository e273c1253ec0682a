/**
 * Per-node simulation context built once per bundle: compiled rulesets, ip set membership,
 * routing, sysctls, and which node owns which address. Traces reuse it, so repeated traces (the
 * web UI, the accuracy suite) pay for compilation once.
 */
import type { Bundle, NodeData } from '../model/bundle.js';
import type { IpInterface } from '../model/iproute.js';
import { compileIpsets } from '../model/ipset.js';
import { parseAddr } from '../model/ipset.js';
import { CompiledRuleset } from '../engine/netfilter/compile.js';
import type { NetfilterEnv } from '../engine/netfilter/env.js';
import { Routing } from '../engine/routing.js';

export interface NodeRuntime {
  name: string;
  data: NodeData;
  routing: Routing;
  rules4?: CompiledRuleset;
  rules6?: CompiledRuleset;
  env: NetfilterEnv;
  interfaces: Map<string, IpInterface>;
  /**
   * The WireGuard peer for an inner destination: the node that owns the address (a local
   * workload route, its block's blackhole, or one of its addresses) and that node's endpoint.
   * Felix programs one peer per node with the node's blocks as allowed IPs, so ownership decides.
   */
  wireguardPeer?: (dst: string) => { node: string; endpoint: string } | undefined;
}

export interface Runtime {
  bundle: Bundle;
  nodes: Map<string, NodeRuntime>;
  /** Address → node owning it (underlay, tunnel and host addresses; not loopback). */
  addressOwner: Map<string, { node: string; iface: string }>;
}

export function buildNodeRuntime(data: NodeData): NodeRuntime {
  const routing = new Routing(data.routes, data.rules, data.interfaces);
  const sets = data.ipsets ? compileIpsets(data.ipsets) : undefined;
  const interfaces = new Map((data.interfaces ?? []).map((i) => [i.name, i]));
  const env: NetfilterEnv = {
    addrType: (ip, limit) => routing.addrType(ip, limit),
    ipsetTest: (name, ip, proto, port) => (sets ? sets(name, ip, proto, port) : undefined),
    ipsetMatcher: (name) => sets?.matcher(name),
    rpfilter: (pkt, o) => routing.reversePath(pkt, o),
    masqueradeSource: (out, dst) => (out ? routing.selectSourceAddress(out, dst.includes(':') ? 6 : 4, dst) : undefined),
    interfaceAddress: (iface, family) => (iface ? routing.primaryAddress(iface, family) : undefined),
  };
  return {
    name: data.name,
    data,
    routing,
    rules4: data.iptables ? new CompiledRuleset(data.iptables) : undefined,
    rules6: data.ip6tables ? new CompiledRuleset(data.ip6tables) : undefined,
    env,
    interfaces,
  };
}

const runtimes = new WeakMap<Bundle, Runtime>();

export function runtimeFor(bundle: Bundle): Runtime {
  let rt = runtimes.get(bundle);
  if (rt) return rt;
  const nodes = new Map<string, NodeRuntime>();
  const addressOwner = new Map<string, { node: string; iface: string }>();
  for (const n of bundle.nodes) {
    const nr = buildNodeRuntime(n);
    nodes.set(n.name, nr);
    for (const i of n.interfaces ?? []) {
      if (i.kind === 'loopback' || i.name === 'lo') continue;
      for (const a of i.addrs) {
        const t = parseAddr(a.address)?.text ?? a.address;
        if (t.startsWith('127.') || t.startsWith('fe80:') || t === '::1' || t === '169.254.1.1') continue;
        if (!addressOwner.has(t)) addressOwner.set(t, { node: n.name, iface: i.name });
      }
    }
  }
  // Nodes without an ip-addr capture are still known by their Calico/Kubernetes node addresses.
  for (const cn of bundle.cluster.calicoNodes) {
    const ip = cn.spec.bgp?.ipv4Address?.split('/')[0];
    if (ip && nodes.has(cn.metadata.name) && !addressOwner.has(ip)) addressOwner.set(ip, { node: cn.metadata.name, iface: 'eth0' });
  }
  const endpointOf = (node: string): string | undefined => {
    const cn = bundle.cluster.calicoNodes.find((c) => c.metadata.name === node);
    const ip = cn?.spec.bgp?.ipv4Address?.split('/')[0];
    if (ip) return ip;
    for (const [addr, o] of addressOwner) if (o.node === node && !addr.includes(':') && !/^(cali|vxlan|tunl|wireguard|wg-)/.test(o.iface)) return addr;
    return undefined;
  };
  const ownerOf = (dst: string): string | undefined => {
    const own = addressOwner.get(dst);
    if (own) return own.node;
    const d = parseAddr(dst);
    if (!d) return undefined;
    let best: { node: string; len: number } | undefined;
    for (const nr of nodes.values()) {
      for (const r of nr.data.routes ?? []) {
        if (r.table !== 'main' || r.family !== (d.family === 'inet' ? 4 : 6)) continue;
        const local = r.type === 'unicast' && r.dev !== undefined && /^cali/.test(r.dev) && !r.via;
        const block = r.type === 'blackhole';
        if (!local && !block) continue;
        const net = parseAddr(r.dst.split('/')[0]);
        if (!net || !cidrHas(net, r.prefixLen, d)) continue;
        if (!best || r.prefixLen > best.len) best = { node: nr.name, len: r.prefixLen };
      }
    }
    return best?.node;
  };
  for (const nr of nodes.values()) {
    nr.wireguardPeer = (dst) => {
      const node = ownerOf(dst);
      if (!node || node === nr.name) return undefined;
      const endpoint = endpointOf(node);
      return endpoint ? { node, endpoint } : undefined;
    };
  }
  rt = { bundle, nodes, addressOwner };
  runtimes.set(bundle, rt);
  return rt;
}

function cidrHas(net: ReturnType<typeof parseAddr> & object, len: number, ip: ReturnType<typeof parseAddr> & object): boolean {
  if (net.family !== ip.family) return false;
  if (net.family === 'inet') {
    if (len === 0) return true;
    const mask = len >= 32 ? 0xffffffff : (0xffffffff << (32 - len)) >>> 0;
    return ((net.v4 & mask) >>> 0) === ((ip.v4 & mask) >>> 0);
  }
  const shift = BigInt(128 - len);
  return net.v6 >> shift === ip.v6 >> shift;
}
