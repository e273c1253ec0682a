/**
 * The iptables rules kube-proxy (iptables mode) writes for the lab's Services, in iptables-save
 * syntax: KUBE-SERVICES → KUBE-SVC-<hash> → KUBE-SEP-<hash> (DNAT) with `statistic random`
 * spreading, KUBE-NODEPORTS → KUBE-EXT-<hash> for NodePorts, KUBE-MARK-MASQ/KUBE-POSTROUTING for
 * the SNAT kube-proxy needs, KUBE-FORWARD in filter. Chain names use kube-proxy's hashing
 * (pkg/proxy/iptables/proxier.go: servicePortChainName, servicePortEndpointChainName,
 * externalTrafficChainName: "KUBE-SVC-" + base32(sha256(servicePortName + protocol))[:16]).
 *
 * Shared by the placeholder dataplane and (later) the Felix renderer, which only adds Calico's
 * own chains around it.
 */
import { createHash } from 'node:crypto';
import type { LabServicePortTopo, LabServiceTopo, LabTopology } from './topology.js';

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 (Go's base32.StdEncoding), padding omitted (kube-proxy keeps 16 chars). */
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

/** `ns/name:port` (or `ns/name` for an unnamed port), as proxy.ServicePortName.String(). */
export function servicePortName(svc: { namespace: string; name: string }, port: { name?: string }): string {
  return port.name ? `${svc.namespace}/${svc.name}:${port.name}` : `${svc.namespace}/${svc.name}`;
}

export function kubeSvcChain(spn: string, protocol: string): string {
  return `KUBE-SVC-${hash16(spn + protocol.toLowerCase())}`;
}

export function kubeExtChain(spn: string, protocol: string): string {
  return `KUBE-EXT-${hash16(spn + protocol.toLowerCase())}`;
}

export function kubeSepChain(spn: string, protocol: string, endpoint: string): string {
  return `KUBE-SEP-${hash16(spn + protocol.toLowerCase() + endpoint)}`;
}

export interface IptablesTableRules {
  /** Chain declarations without the built-in ones (`:KUBE-SERVICES - [0:0]`). */
  chains: string[];
  /** `-A …` rules, including the jumps from built-in chains. */
  rules: string[];
}

export interface KubeProxyRules {
  nat: IptablesTableRules;
  filter: IptablesTableRules;
}

const MASQ_MARK = '0x4000';

/** kube-proxy's rules for every Service of the topology (same on every node). */
export function renderKubeProxy(t: LabTopology, services: LabServiceTopo[] = t.services): KubeProxyRules {
  const natChains = new Set<string>(['KUBE-SERVICES', 'KUBE-NODEPORTS', 'KUBE-POSTROUTING', 'KUBE-MARK-MASQ']);
  const nat: string[] = [
    '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
    `-A KUBE-MARK-MASQ -j MARK --set-xmark ${MASQ_MARK}/${MASQ_MARK}`,
    `-A KUBE-POSTROUTING -m mark ! --mark ${MASQ_MARK}/${MASQ_MARK} -j RETURN`,
    `-A KUBE-POSTROUTING -j MARK --set-xmark ${MASQ_MARK}/0x0`,
    '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
  ];
  const svcRules: string[] = [];
  const nodePortRules: string[] = [];
  const perChain: string[] = [];
  const filterChains = new Set<string>(['KUBE-FORWARD', 'KUBE-SERVICES', 'KUBE-EXTERNAL-SERVICES']);
  const filterRejects: string[] = [];
  const filterExtRejects: string[] = [];

  for (const svc of services) {
    for (const sp of svc.ports) {
      const spn = servicePortName(svc, sp);
      const proto = sp.protocol.toLowerCase();
      if (sp.endpoints.length === 0) {
        filterRejects.push(`-A KUBE-SERVICES -d ${svc.clusterIP}/32 -p ${proto} -m comment --comment "${spn} has no endpoints" -m ${proto} --dport ${sp.port} -j REJECT --reject-with icmp-port-unreachable`);
        if (sp.nodePort !== undefined) {
          filterExtRejects.push(`-A KUBE-EXTERNAL-SERVICES -p ${proto} -m comment --comment "${spn} has no endpoints" -m addrtype --dst-type LOCAL -m ${proto} --dport ${sp.nodePort} -j REJECT --reject-with icmp-port-unreachable`);
        }
        continue;
      }
      const svcChain = kubeSvcChain(spn, sp.protocol);
      natChains.add(svcChain);
      svcRules.push(`-A KUBE-SERVICES -d ${svc.clusterIP}/32 -p ${proto} -m comment --comment "${spn} cluster IP" -m ${proto} --dport ${sp.port} -j ${svcChain}`);
      perChain.push(`-A ${svcChain} ! -s ${t.poolCidr} -d ${svc.clusterIP}/32 -p ${proto} -m comment --comment "${spn} cluster IP" -m ${proto} --dport ${sp.port} -j KUBE-MARK-MASQ`);
      if (sp.nodePort !== undefined) {
        const ext = kubeExtChain(spn, sp.protocol);
        natChains.add(ext);
        nodePortRules.push(`-A KUBE-NODEPORTS -p ${proto} -m comment --comment "${spn}" -m ${proto} --dport ${sp.nodePort} -j ${ext}`);
        perChain.push(`-A ${ext} -m comment --comment "masquerade traffic for ${spn} external destinations" -j KUBE-MARK-MASQ`);
        perChain.push(`-A ${ext} -j ${svcChain}`);
      }
      const eps = [...sp.endpoints].sort((a, b) => `${a.ip}:${a.port}`.localeCompare(`${b.ip}:${b.port}`));
      eps.forEach((ep, i) => {
        const endpoint = `${ep.ip}:${ep.port}`;
        const sep = kubeSepChain(spn, sp.protocol, endpoint);
        natChains.add(sep);
        const left = eps.length - i;
        const stat = left > 1 ? ` -m statistic --mode random --probability ${(1 / left).toFixed(11)}` : '';
        perChain.push(`-A ${svcChain} -m comment --comment "${spn} -> ${endpoint}"${stat} -j ${sep}`);
        perChain.push(`-A ${sep} -s ${ep.ip}/32 -m comment --comment "${spn}" -j KUBE-MARK-MASQ`);
        perChain.push(`-A ${sep} -p ${proto} -m comment --comment "${spn}" -m ${proto} -j DNAT --to-destination ${endpoint}`);
      });
    }
  }
  nat.push(...svcRules);
  nat.push('-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS');
  nat.push(...nodePortRules, ...perChain);

  const filter: string[] = [
    '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
    '-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD',
    '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP',
    `-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark ${MASQ_MARK}/${MASQ_MARK} -j ACCEPT`,
    '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
    ...filterRejects,
    ...filterExtRejects,
  ];
  return {
    nat: { chains: [...natChains].map((c) => `:${c} - [0:0]`), rules: nat },
    filter: { chains: [...filterChains].map((c) => `:${c} - [0:0]`), rules: filter },
  };
}

/** Endpoints a service port DNATs to (for probes and expectations). */
export function serviceBackends(sp: LabServicePortTopo): string[] {
  return sp.endpoints.map((e) => e.pod);
}
