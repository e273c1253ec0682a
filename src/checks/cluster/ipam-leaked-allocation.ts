/**
 * ipam.leaked-allocation (C6): an IPAM allocation whose owner no longer exists (what `calicoctl
 * ipam check` calls "allocated in IPAM but not actually in use"):
 * - handle `k8s-pod-network.<containerID>` when no pod/WorkloadEndpoint has that container ID
 *   (when the bundle records container IDs), or the allocation's namespace/pod attributes name a
 *   pod that does not exist, or a pod of that name that now has another address;
 * - a tunnel address (`ipip-tunnel-addr-<node>`, `vxlan-tunnel-addr-<node>`, …, or attribute type
 *   `*TunnelAddress`) of a node that does not exist. Tunnel addresses of existing nodes are not
 *   leaks. Allocations in their release cooldown (`releasedAt`) are skipped.
 */
import type { Evidence } from '../../model/evidence.js';
import type { AllocationAttribute, IPAMBlock } from '../../model/resources.js';
import { type Check, type Finding, type NotChecked, result } from '../types.js';
import { addressAt, cidrOf, findInObject, knownNodeNames, listText, notChecked, plural, resEv } from './util.js';

const ID = 'ipam.leaked-allocation';
const POD_HANDLE = 'k8s-pod-network.';
const TUNNEL_HANDLE = /^(ipip-tunnel-addr|vxlan-tunnel-addr|vxlan-v6-tunnel-addr|wireguard-tunnel-addr|wireguard-v6-tunnel-addr)-(.+)$/;

export interface Leak {
  ip: string;
  block: IPAMBlock;
  attr: AllocationAttribute;
  why: string;
}

export const ipamLeakedAllocation: Check = {
  id: ID,
  category: 'ipam',
  severity: 'warning',
  title: 'IPAM allocations whose pod or node no longer exists',
  seeds: ['C6', 'C7'],
  run(ctx) {
    const b = ctx.bundle;
    const c = b.cluster;
    const nc: NotChecked[] = [];
    if (c.ipamBlocks.length === 0) return result([], [notChecked(ID, 'no IPAMBlocks in the bundle (cluster/ipamblocks…)')]);
    const havePods = c.pods.length > 0 || c.workloadEndpoints.length > 0;
    const nodes = knownNodeNames(c);
    if (!havePods) nc.push(notChecked(ID, 'no Pods or WorkloadEndpoints in the bundle: pod allocations not checked'));
    if (nodes.size === 0) nc.push(notChecked(ID, 'no Nodes in the bundle: tunnel address allocations not checked'));

    // Who exists: container IDs, ns/pod names, and each pod's addresses.
    const containerIds = new Set<string>();
    for (const p of c.pods) if (p.status.calicoContainerID) containerIds.add(p.status.calicoContainerID);
    for (const w of c.workloadEndpoints) if (w.spec.containerID) containerIds.add(w.spec.containerID);
    const podIps = new Map<string, Set<string>>();
    const addPod = (key: string, ips: string[]) => {
      const s = podIps.get(key) ?? new Set<string>();
      for (const ip of ips) s.add(ip.replace(/\/\d+$/, ''));
      podIps.set(key, s);
    };
    for (const p of c.pods) if (p.status.phase !== 'Succeeded' && p.status.phase !== 'Failed') addPod(`${p.metadata.namespace}/${p.metadata.name}`, [...p.status.podIPs, ...(p.status.podIP ? [p.status.podIP] : []), ...p.status.calicoPodIPs]);
    for (const w of c.workloadEndpoints) if (w.spec.pod) addPod(`${w.metadata.namespace}/${w.spec.pod}`, w.spec.ipNetworks);

    const leaks: Leak[] = [];
    for (const blk of c.ipamBlocks) {
      const cidr = cidrOf(blk.spec.cidr);
      if (!cidr) continue;
      blk.spec.allocations.forEach((ai, ordinal) => {
        if (ai === null) return;
        const attr = blk.spec.attributes[ai];
        if (!attr || attr.releasedAt) return;
        const ip = addressAt(cidr, ordinal);
        const h = attr.handleID ?? '';
        const sec = attr.secondary;
        const tunnel = TUNNEL_HANDLE.exec(h);
        if (tunnel || /TunnelAddress$/.test(sec.type ?? '')) {
          const node = sec.node ?? tunnel?.[2];
          if (nodes.size > 0 && node && !nodes.has(node)) leaks.push({ ip, block: blk, attr, why: `tunnel address of node ${node}, which does not exist` });
          return;
        }
        if (!havePods) return;
        if (!h.startsWith(POD_HANDLE) || h.startsWith(`${POD_HANDLE}vmi.`)) return;
        const cid = h.slice(POD_HANDLE.length);
        const podKey = sec.namespace && sec.pod ? `${sec.namespace}/${sec.pod}` : undefined;
        const ips = podKey ? podIps.get(podKey) : undefined;
        if (podKey && !ips) {
          leaks.push({ ip, block: blk, attr, why: `pod ${podKey} does not exist` });
          return;
        }
        if (podKey && ips && ips.size > 0 && !ips.has(ip) && containerIds.size > 0 && !containerIds.has(cid)) {
          leaks.push({ ip, block: blk, attr, why: `pod ${podKey} exists but with another container (${cid.slice(0, 12)}…) and address ${[...ips].join(', ')}` });
          return;
        }
        if (!podKey && containerIds.size > 0 && !containerIds.has(cid)) leaks.push({ ip, block: blk, attr, why: `no pod has container ID ${cid.slice(0, 12)}…` });
      });
    }
    const byBlock = new Map<IPAMBlock, Leak[]>();
    for (const l of leaks) byBlock.set(l.block, [...(byBlock.get(l.block) ?? []), l]);
    const findings: Finding[] = [];
    for (const [blk, ls] of byBlock) {
      const evidence: Evidence[] = [resEv(b, blk.source, `IPAMBlock ${blk.spec.cidr}${blk.spec.affinityNode ? ` (${blk.spec.affinityNode})` : ''}`)];
      for (const l of ls.slice(0, 8)) {
        const at = l.attr.handleID ? findInObject(b, blk.source, l.attr.handleID, `${l.ip}: ${l.why}`) : undefined;
        evidence.push(at ?? { artifact: blk.source.artifact, note: `${l.ip}: ${l.why}` });
      }
      findings.push({
        check: ID,
        severity: 'warning',
        category: 'ipam',
        ...(blk.spec.affinityNode ? { node: blk.spec.affinityNode } : {}),
        title: `${plural(ls.length, 'leaked IPAM allocation')} in block ${blk.spec.cidr}${blk.spec.affinityNode ? ` (${blk.spec.affinityNode})` : ''}: ${listText(ls.map((l) => l.ip), 3)}`,
        explanation:
          `These addresses are allocated in IPAM but their owner is gone, so they can never be handed out again (the pool fills up over time):\n` +
          ls.map((l) => `- ${l.ip} handle ${l.attr.handleID ?? '<none>'}: ${l.why}`).join('\n') +
          '\nUsually left behind when a node was lost or the CNI DEL never ran; the kube-controllers IPAM garbage collector normally releases them after a grace period.',
        subject: blk.spec.cidr,
        evidence,
        remediation: {
          summary: 'Confirm nothing uses the addresses, then release them.',
          confirm: [...ls.slice(0, 3).flatMap((l) => [`calicoctl ipam show --ip=${l.ip}`, `kubectl get pods -A -o wide | grep -w ${l.ip}`]), 'calicoctl ipam check'],
          fix: [...ls.slice(0, 10).map((l) => `calicoctl ipam release --ip=${l.ip}`), 'calicoctl ipam check -o report.json && calicoctl ipam release --from-report=report.json   # all leaks at once'],
        },
      });
    }
    return result(findings, nc);
  },
};
