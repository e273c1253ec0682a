/**
 * The IP sets Felix programs on a node and their members (felix/ipsets/ipset_defs.go for names
 * and types; felix/labelindex for selector and named-port membership; felix/dataplane/linux
 * masq_mgr.go, ipip_mgr.go, vxlan_mgr.go, hostip_mgr.go for the special sets;
 * shared/calico/felix-rules.md §5).
 */
import type { PolicyModel } from '../../calico/policy/index.js';
import type { ClusterResources } from '../../model/resources.js';
import { ALL_HOSTS_SET, ALL_VXLAN_SET, DSCP_SRC_SET, MASQ_POOLS_SET, THIS_HOST_SET, type FelixRenderConfig } from './config.js';
import type { IpsetRequest } from './policy.js';

export type IpsetType = 'hash:net' | 'hash:ip,port';

export interface RenderedIpset {
  type: IpsetType;
  /** As `ipset save` prints them: `10.0.0.1` (a /32 in hash:net), `10.0.0.0/24`, `10.0.0.1,tcp:80`. */
  members: string[];
  /** The canonical selector for selector sets, `named-port <proto>:<name> of <selector>`, or what the special set holds. */
  purpose: string;
}

const isV4 = (s: string) => /^\d{1,3}(\.\d{1,3}){3}(\/\d+)?$/.test(s);

/** `ipset save` prints a /32 of a hash:net set as the bare address. */
export function netMember(cidr: string): string {
  return cidr.endsWith('/32') ? cidr.slice(0, -3) : cidr;
}

/** hash:net cannot hold a /0: Felix stores 0.0.0.0/0 as its two halves. */
function netMembers(cidr: string): string[] {
  return cidr === '0.0.0.0/0' ? ['0.0.0.0/1', '128.0.0.0/1'] : [netMember(cidr)];
}

function byIp(a: string, b: string): number {
  const key = (s: string) => {
    const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)(.*)$/.exec(s);
    return m ? [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])] : [999, 0, 0, 0];
  };
  const ka = key(a);
  const kb = key(b);
  for (let i = 0; i < 4; i++) if (ka[i] !== kb[i]) return ka[i] - kb[i];
  return a < b ? -1 : a > b ? 1 : 0;
}

const uniqSorted = (xs: Iterable<string>) => [...new Set(xs)].sort(byIp);

/** Members of the sets the node's rules reference. */
export function policyIpsetMembers(req: IpsetRequest, model: PolicyModel): RenderedIpset {
  switch (req.kind) {
    case 'selector': {
      const members: string[] = [];
      for (const e of model.endpoints) {
        if (!req.selector.matchesGetter(e.getLabel)) continue;
        for (const ip of e.ips) if (isV4(ip)) members.push(ip);
      }
      for (const ns of model.networkSets) {
        if (!req.selector.matchesGetter(ns.getLabel)) continue;
        for (const c of ns.nets) if (c.family === 4) members.push(...netMembers(c.canonical));
      }
      return { type: 'hash:net', members: uniqSorted(members), purpose: req.selector.canonical };
    }
    case 'named-port': {
      const proto = req.proto === 'tcp' ? 6 : req.proto === 'udp' ? 17 : 132;
      const members: string[] = [];
      for (const e of model.endpoints) {
        if (!req.selector.matchesGetter(e.getLabel)) continue;
        for (const np of e.ports) {
          if (np.name !== req.port || np.protocol !== proto) continue;
          for (const ip of e.ips) if (isV4(ip)) members.push(`${ip},${req.proto}:${np.port}`);
        }
      }
      return { type: 'hash:ip,port', members: uniqSorted(members), purpose: `named-port ${req.proto}:${req.port} of ${req.selector.canonical}` };
    }
    case 'service': {
      const svc = model.services.get(req.service);
      const names: Record<string, string> = { '6': 'tcp', '17': 'udp', '132': 'sctp' };
      if (req.withPorts) {
        const members = [...(svc?.ipPorts ?? [])].flatMap((k) => {
          const [ip, proto, port] = k.split('|');
          return isV4(ip) ? [`${ip},${names[proto] ?? proto}:${port}`] : [];
        });
        return { type: 'hash:ip,port', members: uniqSorted(members), purpose: `service ${req.service} (endpoints with ports)` };
      }
      return { type: 'hash:net', members: uniqSorted([...(svc?.ips ?? [])].filter(isV4)), purpose: `service ${req.service} (endpoint addresses)` };
    }
  }
}

export interface NodeFacts {
  nodeIp: string;
  allNodeIps: string[];
  /** Tunnel address of this node (VXLAN VTEP or tunl0), when known. */
  tunnelIp?: string;
}

/** The sets Felix always programs (masq pools) and those of the encapsulation mode. */
export function specialIpsets(cluster: ClusterResources, cfg: FelixRenderConfig, facts: NodeFacts): { sets: Map<string, RenderedIpset>; natOutgoingActive: boolean } {
  const sets = new Map<string, RenderedIpset>();
  const pools = cluster.ipPools.filter((p) => !p.spec.cidr.includes(':'));
  const masq = pools.filter((p) => (cfg.natOutgoingOverride ?? p.spec.natOutgoing) === true);
  sets.set(cfg.allPoolsSet, { type: 'hash:net', members: uniqSorted(pools.flatMap((p) => netMembers(p.spec.cidr))), purpose: 'all IPv4 IP pools (nat-outgoing: do not masquerade traffic to pools)' });
  sets.set(MASQ_POOLS_SET, { type: 'hash:net', members: uniqSorted(masq.flatMap((p) => netMembers(p.spec.cidr))), purpose: 'IPv4 IP pools with natOutgoing' });
  if (cfg.ipipEnabled || (cfg.chainStyle === 'kind' && cfg.natOutgoingExclusions === 'IPPoolsAndHostIPs')) {
    sets.set(ALL_HOSTS_SET, { type: 'hash:net', members: uniqSorted(facts.allNodeIps.filter(isV4)), purpose: 'every Calico node address (IPIP peers)' });
  }
  if (cfg.vxlanEnabled) {
    sets.set(ALL_VXLAN_SET, { type: 'hash:net', members: uniqSorted(facts.allNodeIps.filter((ip) => isV4(ip) && ip !== facts.nodeIp)), purpose: 'other nodes’ VTEP parent addresses (allowed VXLAN sources)' });
  }
  const hostIps = ['127.0.0.1', facts.nodeIp, ...(facts.tunnelIp ? [facts.tunnelIp] : [])];
  sets.set(THIS_HOST_SET, { type: 'hash:net', members: uniqSorted(hostIps.filter(isV4)), purpose: 'this host’s addresses (non-workload interfaces)' });
  if (cfg.chainStyle === 'kind') sets.set(DSCP_SRC_SET, { type: 'hash:net', members: [], purpose: 'workloads with a DSCP annotation (v3.31+)' });
  return { sets, natOutgoingActive: masq.length > 0 };
}

/** `ipset restore` input: `create` lines (Felix's header) then `add` lines, sets in name order. */
export function ipsetRestoreText(sets: Map<string, RenderedIpset>): string {
  const lines: string[] = [];
  for (const name of [...sets.keys()].sort()) {
    const s = sets.get(name)!;
    lines.push(`create ${name} ${s.type} family inet hashsize 1024 maxelem 1048576`);
    for (const m of s.members) lines.push(`add ${name} ${m}`);
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}
