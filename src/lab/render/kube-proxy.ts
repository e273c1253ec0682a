/**
 * kube-proxy (iptables mode) rules for one node, from the cluster's Services and
 * EndpointSlices (or Endpoints), as iptables-save prints them. Follows kubernetes
 * pkg/proxy/iptables/proxier.go (syncProxyRules, writeServiceToEndpointRules, iptablesJumpChains):
 *
 * - chain names: `KUBE-SVC-`/`KUBE-SVL-`/`KUBE-EXT-`/`KUBE-FW-` + base32(sha256(servicePortName +
 *   protocol))[:16] and `KUBE-SEP-` + base32(sha256(servicePortName + protocol + "ip:port"))[:16]
 *   (portProtoHash, servicePortEndpointChainName; protocol lower-cased);
 * - `KUBE-SERVICES -d <clusterIP> --dport <port> → KUBE-SVC` (or KUBE-SVL with
 *   internalTrafficPolicy Local), `! -s <clusterCIDR> … → KUBE-MARK-MASQ` in the SVC chain,
 *   `-m statistic --mode random --probability 1/(n-i)` per endpoint but the last, the SEP chain with
 *   the hairpin `-s <ep> → KUBE-MARK-MASQ` and `DNAT --to-destination ip:port`;
 * - NodePorts through `KUBE-NODEPORTS → KUBE-EXT` (masquerade, or the Local short-circuit rules);
 * - REJECT in filter `KUBE-SERVICES`/`KUBE-EXTERNAL-SERVICES` for ports without endpoints;
 * - `KUBE-POSTROUTING` (MASQUERADE on mark 0x4000), `KUBE-MARK-MASQ`, `KUBE-FORWARD`;
 * - the jumps from the kernel chains, each `EnsureRule(Prepend)` in iptablesJumpChains order,
 *   which leaves them in reverse order (below Felix's own jumps, which Felix keeps on top).
 *
 * Iteration order over services is a Go map in kube-proxy (random); we sort by service port name.
 * Not rendered: kube-proxy's canary chains and kubelet's KUBE-FIREWALL (no effect on forwarding),
 * LoadBalancer source ranges (KUBE-FW), topology-aware hints, terminating endpoints.
 */
import { createHash } from 'node:crypto';
import type { ClusterResources, Service, ServicePort } from '../../model/resources.js';
import type { RenderedRule, TableName } from './rule.js';

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 (Go's base32.StdEncoding) without padding. */
export function base32(buf: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of buf) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31];
  return out;
}

const hash16 = (s: string) => base32(createHash('sha256').update(s, 'utf8').digest()).slice(0, 16);

/** proxy.ServicePortName.String(): `ns/name:port` or `ns/name` for an unnamed port. */
export function servicePortName(namespace: string, name: string, port?: string): string {
  return port ? `${namespace}/${name}:${port}` : `${namespace}/${name}`;
}

export const kubeChains = {
  svc: (spn: string, proto: string) => `KUBE-SVC-${hash16(spn + proto.toLowerCase())}`,
  svl: (spn: string, proto: string) => `KUBE-SVL-${hash16(spn + proto.toLowerCase())}`,
  ext: (spn: string, proto: string) => `KUBE-EXT-${hash16(spn + proto.toLowerCase())}`,
  fw: (spn: string, proto: string) => `KUBE-FW-${hash16(spn + proto.toLowerCase())}`,
  sep: (spn: string, proto: string, endpoint: string) => `KUBE-SEP-${hash16(spn + proto.toLowerCase() + endpoint)}`,
};

export const KUBE_MASQ_MARK = 0x4000;

/**
 * `-m statistic --probability` as iptables-save prints it: kube-proxy writes `%0.10f` of 1/n,
 * libxt_statistic stores lround(p · 2^31) and prints that back with `%.11f`.
 */
export function statisticProbability(n: number): string {
  const written = Number((1 / n).toFixed(10));
  return (Math.round(written * 0x80000000) / 0x80000000).toFixed(11);
}

export interface KubeProxyOptions {
  /** kube-proxy's --cluster-cidr (local traffic detector); default: the first IPv4 IP pool. */
  clusterCIDR?: string;
  masqueradeAll?: boolean;
  /** Emit the `--random-fully` of KUBE-POSTROUTING (iptables ≥ 1.6.2): default true. */
  randomFully?: boolean;
}

export interface KubeProxyRendering {
  /** Chains kube-proxy declares, per table (kernel chains excluded). */
  chains: Record<'nat' | 'filter', string[]>;
  /** Rules in order per table (jumps from kernel chains included, `placement: 'insert'`). */
  rules: Record<'nat' | 'filter', RenderedRule[]>;
}

interface EndpointRef {
  ip: string;
  port: number;
  node?: string;
  ready: boolean;
}

const isV4 = (s: string) => /^\d{1,3}(\.\d{1,3}){3}$/.test(s);

/** The ready IPv4 endpoints of one service port (EndpointSlices first, else Endpoints). */
export function serviceEndpoints(cluster: ClusterResources, svc: Service, sp: ServicePort): EndpointRef[] {
  const ns = svc.metadata.namespace ?? 'default';
  const out: EndpointRef[] = [];
  const slices = cluster.endpointSlices.filter((s) => (s.metadata.namespace ?? 'default') === ns && s.spec.serviceName === svc.metadata.name && s.spec.addressType === 'IPv4');
  if (slices.length > 0) {
    for (const s of slices) {
      const port = s.spec.ports.find((p) => (p.name ?? '') === (sp.name ?? '') && p.protocol === sp.protocol);
      if (!port || port.port === undefined) continue;
      for (const e of s.spec.endpoints) {
        const ready = e.ready !== false;
        for (const a of e.addresses) if (isV4(a)) out.push({ ip: a, port: port.port, ready, ...(e.nodeName ? { node: e.nodeName } : {}) });
      }
    }
  } else {
    const eps = cluster.endpoints.find((e) => (e.metadata.namespace ?? 'default') === ns && e.metadata.name === svc.metadata.name);
    for (const sub of eps?.spec.subsets ?? []) {
      const port = sub.ports.find((p) => (p.name ?? '') === (sp.name ?? '') && p.protocol === sp.protocol);
      if (!port) continue;
      for (const a of sub.addresses) if (isV4(a.ip)) out.push({ ip: a.ip, port: port.port, ready: true, ...(a.nodeName ? { node: a.nodeName } : {}) });
    }
  }
  // kube-proxy keeps endpoints sorted by their "ip:port" string.
  const seen = new Set<string>();
  return out
    .filter((e) => e.ready)
    .filter((e) => {
      const k = `${e.ip}:${e.port}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    })
    .sort((a, b) => {
      const ka = `${a.ip}:${a.port}`;
      const kb = `${b.ip}:${b.port}`;
      return ka < kb ? -1 : ka > kb ? 1 : 0;
    });
}

/** kube-proxy's rules for `node` (nat and filter tables). */
export function renderKubeProxy(cluster: ClusterResources, node: string, opts: KubeProxyOptions = {}): KubeProxyRendering {
  const clusterCIDR = opts.clusterCIDR ?? cluster.ipPools.find((p) => !p.spec.cidr.includes(':') && !p.spec.disabled)?.spec.cidr;
  const natChains = new Set<string>(['KUBE-SERVICES', 'KUBE-NODEPORTS', 'KUBE-POSTROUTING', 'KUBE-MARK-MASQ']);
  const filterChains = new Set<string>(['KUBE-SERVICES', 'KUBE-EXTERNAL-SERVICES', 'KUBE-FORWARD', 'KUBE-NODEPORTS', 'KUBE-PROXY-FIREWALL']);
  const nat: { chain: string; line: string; placement?: 'insert' }[] = [];
  const filter: { chain: string; line: string; placement?: 'insert' }[] = [];
  const add = (list: typeof nat, chain: string, rest: string, placement?: 'insert') => list.push({ chain, line: `-A ${chain} ${rest}`, ...(placement ? { placement } : {}) });

  // Jumps from kernel chains (final order = reverse of the Prepend order).
  add(filter, 'INPUT', '-m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL', 'insert');
  add(filter, 'INPUT', '-m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS', 'insert');
  add(filter, 'INPUT', '-m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES', 'insert');
  add(filter, 'FORWARD', '-m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL', 'insert');
  add(filter, 'FORWARD', '-m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD', 'insert');
  add(filter, 'FORWARD', '-m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES', 'insert');
  add(filter, 'FORWARD', '-m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES', 'insert');
  add(filter, 'OUTPUT', '-m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL', 'insert');
  add(filter, 'OUTPUT', '-m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES', 'insert');
  add(nat, 'PREROUTING', '-m comment --comment "kubernetes service portals" -j KUBE-SERVICES', 'insert');
  add(nat, 'OUTPUT', '-m comment --comment "kubernetes service portals" -j KUBE-SERVICES', 'insert');
  add(nat, 'POSTROUTING', '-m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING', 'insert');

  const mark = `0x${KUBE_MASQ_MARK.toString(16)}`;
  add(nat, 'KUBE-POSTROUTING', `-m mark ! --mark ${mark}/${mark} -j RETURN`);
  add(nat, 'KUBE-POSTROUTING', `-j MARK --set-xmark ${mark}/0x0`);
  add(nat, 'KUBE-POSTROUTING', `-m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE${opts.randomFully === false ? '' : ' --random-fully'}`);
  add(nat, 'KUBE-MARK-MASQ', `-j MARK --set-xmark ${mark}/${mark}`);

  const services: { svc: Service; sp: ServicePort; spn: string }[] = [];
  for (const svc of cluster.services) {
    if (svc.spec.type === 'ExternalName') continue;
    const cip = svc.spec.clusterIP;
    if (!cip || cip === 'None' || !isV4(cip)) continue;
    for (const sp of svc.spec.ports) services.push({ svc, sp, spn: servicePortName(svc.metadata.namespace ?? 'default', svc.metadata.name, sp.name) });
  }
  services.sort((a, b) => (a.spn + a.sp.protocol < b.spn + b.sp.protocol ? -1 : a.spn + a.sp.protocol > b.spn + b.sp.protocol ? 1 : 0));

  const svcRules: typeof nat = [];
  const perService: typeof nat = [];
  for (const { svc, sp, spn } of services) {
    const proto = sp.protocol.toLowerCase();
    const cip = svc.spec.clusterIP!;
    const all = serviceEndpoints(cluster, svc, sp);
    const local = all.filter((e) => e.node === node);
    const internalLocal = svc.spec.internalTrafficPolicy === 'Local';
    const externalLocal = svc.spec.externalTrafficPolicy === 'Local' && (svc.spec.type === 'NodePort' || svc.spec.type === 'LoadBalancer');
    const externalIPs = [...svc.spec.externalIPs, ...svc.spec.loadBalancerIPs].filter(isV4);
    const externallyAccessible = sp.nodePort !== undefined || externalIPs.length > 0;
    const hasEndpoints = all.length > 0;
    const svcChain = kubeChains.svc(spn, proto);
    const svlChain = kubeChains.svl(spn, proto);
    const extChain = kubeChains.ext(spn, proto);
    const usesCluster = all.length > 0 && (!internalLocal || (externallyAccessible && !externalLocal));
    const usesLocal = local.length > 0 && (internalLocal || (externallyAccessible && externalLocal));
    const internalChain = internalLocal ? svlChain : svcChain;
    const hasInternal = hasEndpoints && (!internalLocal || local.length > 0);
    const externalPolicyChain = externalLocal ? svlChain : svcChain;
    const hasExternal = hasEndpoints && (!externalLocal || local.length > 0);
    const usesExt = hasEndpoints && externallyAccessible;
    const dport = `-m ${proto} --dport ${sp.port}`;

    if (hasInternal) add(svcRules, 'KUBE-SERVICES', `-d ${cip}/32 -p ${proto} -m comment --comment "${spn} cluster IP" ${dport} -j ${internalChain}`);
    else {
      const [target, why] = hasEndpoints ? ['DROP', 'has no local endpoints'] : ['REJECT --reject-with icmp-port-unreachable', 'has no endpoints'];
      add(filter, 'KUBE-SERVICES', `-d ${cip}/32 -p ${proto} -m comment --comment "${spn} ${why}" ${dport} -j ${target}`);
    }
    for (const eip of externalIPs) {
      if (hasEndpoints) add(svcRules, 'KUBE-SERVICES', `-d ${eip}/32 -p ${proto} -m comment --comment "${spn} external IP" ${dport} -j ${extChain}`);
      if (!hasExternal) add(filter, 'KUBE-EXTERNAL-SERVICES', `-d ${eip}/32 -p ${proto} -m comment --comment "${spn} ${hasEndpoints ? 'has no local endpoints' : 'has no endpoints'}" ${dport} -j ${hasEndpoints ? 'DROP' : 'REJECT --reject-with icmp-port-unreachable'}`);
    }
    if (sp.nodePort !== undefined) {
      if (hasEndpoints) add(perService, 'KUBE-NODEPORTS', `-p ${proto} -m comment --comment "${spn}" -m ${proto} --dport ${sp.nodePort} -j ${extChain}`);
      if (!hasExternal) {
        add(filter, 'KUBE-EXTERNAL-SERVICES', `-p ${proto} -m comment --comment "${spn} ${hasEndpoints ? 'has no local endpoints' : 'has no endpoints'}" -m addrtype --dst-type LOCAL -m ${proto} --dport ${sp.nodePort} -j ${hasEndpoints ? 'DROP' : 'REJECT --reject-with icmp-port-unreachable'}`);
      }
    }
    if (hasInternal) {
      natChains.add(internalChain);
      if (opts.masqueradeAll) add(perService, internalChain, `-d ${cip}/32 -p ${proto} -m comment --comment "${spn} cluster IP" ${dport} -j KUBE-MARK-MASQ`);
      else if (clusterCIDR) add(perService, internalChain, `! -s ${clusterCIDR} -d ${cip}/32 -p ${proto} -m comment --comment "${spn} cluster IP" ${dport} -j KUBE-MARK-MASQ`);
    }
    if (usesExt) {
      natChains.add(extChain);
      if (!externalLocal) add(perService, extChain, `-m comment --comment "masquerade traffic for ${spn} external destinations" -j KUBE-MARK-MASQ`);
      else {
        if (clusterCIDR) add(perService, extChain, `-s ${clusterCIDR} -m comment --comment "pod traffic for ${spn} external destinations" -j ${svcChain}`);
        add(perService, extChain, `-m comment --comment "masquerade LOCAL traffic for ${spn} external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ`);
        add(perService, extChain, `-m comment --comment "route LOCAL traffic for ${spn} external destinations" -m addrtype --src-type LOCAL -j ${svcChain}`);
      }
      if (hasExternal) add(perService, extChain, `-j ${externalPolicyChain}`);
    }
    const affinity = svc.spec.sessionAffinity === 'ClientIP';
    const writeDispatch = (chain: string, eps: EndpointRef[]) => {
      natChains.add(chain);
      if (affinity) {
        for (const e of eps) {
          const sep = kubeChains.sep(spn, proto, `${e.ip}:${e.port}`);
          add(perService, chain, `-m comment --comment "${spn} -> ${e.ip}:${e.port}" -m recent --rcheck --seconds 10800 --reap --name ${sep} --mask 255.255.255.255 --rsource -j ${sep}`);
        }
      }
      eps.forEach((e, i) => {
        const sep = kubeChains.sep(spn, proto, `${e.ip}:${e.port}`);
        const stat = i < eps.length - 1 ? ` -m statistic --mode random --probability ${statisticProbability(eps.length - i)}` : '';
        add(perService, chain, `-m comment --comment "${spn} -> ${e.ip}:${e.port}"${stat} -j ${sep}`);
      });
    };
    if (usesCluster) writeDispatch(svcChain, all);
    if (usesLocal) writeDispatch(svlChain, local);
    const reachable = new Map<string, EndpointRef>();
    if (usesCluster) for (const e of all) reachable.set(`${e.ip}:${e.port}`, e);
    if (usesLocal) for (const e of local) reachable.set(`${e.ip}:${e.port}`, e);
    for (const [key, e] of [...reachable].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const sep = kubeChains.sep(spn, proto, key);
      natChains.add(sep);
      add(perService, sep, `-s ${e.ip}/32 -m comment --comment "${spn}" -j KUBE-MARK-MASQ`);
      const recent = affinity ? ` -m recent --set --name ${sep} --mask 255.255.255.255 --rsource` : '';
      add(perService, sep, `-p ${proto} -m comment --comment "${spn}"${recent} -m ${proto} -j DNAT --to-destination ${key}`);
    }
  }
  nat.push(...svcRules);
  add(nat, 'KUBE-SERVICES', '-m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS');
  nat.push(...perService);

  add(filter, 'KUBE-FORWARD', '-m conntrack --ctstate INVALID -j DROP');
  add(filter, 'KUBE-FORWARD', `-m comment --comment "kubernetes forwarding rules" -m mark --mark ${mark}/${mark} -j ACCEPT`);
  add(filter, 'KUBE-FORWARD', '-m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT');

  const toRendered = (table: TableName, list: typeof nat): RenderedRule[] => {
    const counts = new Map<string, number>();
    return list.map((r) => {
      const i = counts.get(r.chain) ?? 0;
      counts.set(r.chain, i + 1);
      const comments = [...r.line.matchAll(/--comment "([^"]*)"/g)].map((m) => m[1]);
      const t = / -[jg] (\S+)/.exec(r.line)?.[1];
      const out: RenderedRule = { table, chain: r.chain, index: i, owner: 'kube-proxy', line: r.line, comments };
      if (r.placement) out.placement = r.placement;
      if (t && /^KUBE-/.test(t)) out.target = t;
      return out;
    });
  };
  return {
    chains: { nat: [...natChains], filter: [...filterChains] },
    rules: { nat: toRendered('nat', nat), filter: toRendered('filter', filter) },
  };
}
