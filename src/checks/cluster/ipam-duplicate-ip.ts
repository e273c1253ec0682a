/**
 * ipam.duplicate-ip (C7): one address used twice —
 * - two live pods (not host-networked, not finished) or WorkloadEndpoints of different pods with
 *   the same IP;
 * - the same address allocated in two IPAM blocks (overlapping blocks).
 * The IPAM allocation, when there is one, says which of the pods really owns the address.
 */
import type { Evidence } from '../../model/evidence.js';
import type { AllocationAttribute, IPAMBlock, ResourceSource } from '../../model/resources.js';
import { type Check, type Finding, result } from '../types.js';
import { addressAt, cidrOf, cidrsOverlap, findInObject, listText, notChecked, resEv } from './util.js';

const ID = 'ipam.duplicate-ip';

interface User {
  key: string;
  what: string;
  node?: string;
  source: ResourceSource;
}

export const ipamDuplicateIp: Check = {
  id: ID,
  category: 'ipam',
  severity: 'error',
  title: 'An IP address used by two endpoints, or allocated twice',
  seeds: ['C7'],
  run(ctx) {
    const b = ctx.bundle;
    const c = b.cluster;
    if (c.pods.length === 0 && c.workloadEndpoints.length === 0 && c.ipamBlocks.length === 0) return result([], [notChecked(ID, 'no Pods, WorkloadEndpoints or IPAMBlocks in the bundle')]);
    const users = new Map<string, Map<string, User>>();
    const add = (ip: string, u: User) => {
      const t = ip.replace(/\/\d+$/, '');
      let m = users.get(t);
      if (!m) users.set(t, (m = new Map()));
      if (!m.has(u.key)) m.set(u.key, u);
    };
    for (const p of c.pods) {
      if (p.spec.hostNetwork || p.status.phase === 'Succeeded' || p.status.phase === 'Failed') continue;
      const key = `${p.metadata.namespace}/${p.metadata.name}`;
      for (const ip of new Set([...p.status.podIPs, ...(p.status.podIP ? [p.status.podIP] : [])])) add(ip, { key, what: `pod ${key}`, ...(p.spec.nodeName ? { node: p.spec.nodeName } : {}), source: p.source });
    }
    for (const w of c.workloadEndpoints) {
      const key = `${w.metadata.namespace}/${w.spec.pod ?? w.spec.workload ?? w.metadata.name}`;
      for (const ip of w.spec.ipNetworks) add(ip, { key, what: `WorkloadEndpoint ${w.metadata.namespace}/${w.metadata.name}`, ...(w.spec.node ? { node: w.spec.node } : {}), source: w.source });
    }

    // Who IPAM says owns each address (and addresses allocated in two blocks).
    const owners = new Map<string, { block: IPAMBlock; attr?: AllocationAttribute }[]>();
    const blocks = c.ipamBlocks.map((blk) => ({ blk, cidr: cidrOf(blk.spec.cidr) })).filter((x) => x.cidr);
    const overlapping = new Set<IPAMBlock>();
    for (let i = 0; i < blocks.length; i++) for (let j = i + 1; j < blocks.length; j++) if (cidrsOverlap(blocks[i].cidr!, blocks[j].cidr!)) overlapping.add(blocks[i].blk).add(blocks[j].blk);
    for (const { blk, cidr } of blocks) {
      const needAll = overlapping.has(blk);
      blk.spec.allocations.forEach((ai, ordinal) => {
        if (ai === null) return;
        const ip = addressAt(cidr!, ordinal);
        if (!needAll && !(users.get(ip)?.size ?? 0)) return;
        const l = owners.get(ip) ?? [];
        l.push({ block: blk, attr: blk.spec.attributes[ai] });
        owners.set(ip, l);
      });
    }

    const findings: Finding[] = [];
    for (const [ip, m] of users) {
      if (m.size < 2) continue;
      const us = [...m.values()];
      const alloc = owners.get(ip)?.[0];
      const ownerPod = alloc?.attr?.secondary.namespace && alloc.attr.secondary.pod ? `${alloc.attr.secondary.namespace}/${alloc.attr.secondary.pod}` : undefined;
      const impostors = ownerPod && m.has(ownerPod) ? us.filter((u) => u.key !== ownerPod) : [];
      const evidence: Evidence[] = us.map((u) => resEv(b, u.source, `${u.what}${u.node ? ` on ${u.node}` : ''}: ${ip}`));
      if (alloc) evidence.push(findInObject(b, alloc.block.source, alloc.attr?.handleID ?? '\u0000', `IPAM: ${ip} allocated to ${ownerPod ?? alloc.attr?.handleID ?? '?'}`) ?? resEv(b, alloc.block.source, `IPAMBlock ${alloc.block.spec.cidr}`));
      const victim = impostors[0] ?? us[1];
      const [ns, name] = victim.key.split('/');
      findings.push({
        check: ID,
        severity: 'error',
        category: 'ipam',
        title: `${ip} is used by ${us.length} endpoints: ${listText(us.map((u) => `${u.key}${u.node ? ` (${u.node})` : ''}`), 3)}`,
        explanation:
          `Two endpoints with one address: routes, ARP and policy IP sets can only point at one of them, so traffic to ${ip} reaches whichever the local route picks and replies go astray. ` +
          (ownerPod ? `IPAM allocated ${ip} to ${ownerPod}${impostors.length ? `; ${listText(impostors.map((u) => u.key))} got it some other way (static IP annotation, a stale endpoint, or a double allocation).` : '.'}` : alloc ? `IPAM allocated it to handle ${alloc.attr?.handleID ?? '?'}.` : `IPAM has no allocation for ${ip} in the bundle.`),
        subject: ip,
        evidence,
        remediation: {
          summary: `Recreate ${victim.key} so it gets a fresh address${ownerPod ? '' : ' (then check that the address is allocated exactly once)'}.`,
          confirm: [`kubectl get pods -A -o wide | grep -w ${ip}`, `calicoctl ipam show --ip=${ip}`, `calicoctl get workloadendpoints -A -o wide | grep -w ${ip}`],
          fix: [`kubectl delete pod -n ${ns} ${name}`, ...(ownerPod ? [] : [`calicoctl ipam release --ip=${ip}   # only if no pod should keep it`])],
        },
      });
    }
    for (const [ip, l] of owners) {
      if (l.length < 2) continue;
      const evidence = l.map((o) => findInObject(b, o.block.source, o.attr?.handleID ?? '\u0000', `${ip} allocated in block ${o.block.spec.cidr}`) ?? resEv(b, o.block.source, `IPAMBlock ${o.block.spec.cidr}`));
      findings.push({
        check: ID,
        severity: 'error',
        category: 'ipam',
        title: `${ip} is allocated in ${l.length} IPAM blocks (${listText(l.map((o) => o.block.spec.cidr))})`,
        explanation: `The blocks overlap, and both allocated ${ip} (to ${listText(l.map((o) => o.attr?.handleID ?? '?'))}): two pods can get the same address.`,
        subject: ip,
        evidence,
        remediation: {
          summary: 'Remove the overlapping block after moving its pods (calicoctl ipam check reports it).',
          confirm: ['calicoctl ipam check', `calicoctl ipam show --ip=${ip}`],
          fix: [`calicoctl ipam release --ip=${ip}   # for the allocation whose pod does not use it`],
        },
      });
    }
    return result(findings);
  },
};
