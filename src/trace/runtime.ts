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
    rpfilter: (pkt, o) => routing.reversePath(pkt, o),
    masqueradeSource: (out, dst) => (out ? routing.primaryAddress(out, dst.includes(':') ? 6 : 4, dst) : undefined),
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
  rt = { bundle, nodes, addressOwner };
  runtimes.set(bundle, rt);
  return rt;
}
