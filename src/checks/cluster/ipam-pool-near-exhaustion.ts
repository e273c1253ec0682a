/**
 * ipam.pool-near-exhaustion (C6): an enabled IP pool at ≥ 90% of its addresses, or with every
 * block claimed (new nodes can only borrow addresses from other nodes' blocks), with the fullest
 * blocks as evidence. Exhausted pools are left to ipam.pool-exhausted.
 */
import { type Check, type Finding, result } from '../types.js';
import { newPoolYaml, usageEvidence } from './ipam-pool-exhausted.js';
import { pct, poolUsage } from './ipam-usage.js';
import { listText, notChecked } from './util.js';

const ID = 'ipam.pool-near-exhaustion';
export const NEAR = 0.9;

export const ipamPoolNearExhaustion: Check = {
  id: ID,
  category: 'ipam',
  severity: 'warning',
  title: 'IP pools at 90% or more, or without a free block',
  seeds: ['C6'],
  run(ctx) {
    const b = ctx.bundle;
    const c = b.cluster;
    if (c.ipPools.length === 0) return result([], [notChecked(ID, 'no IPPools in the bundle')]);
    if (c.ipamBlocks.length === 0) return result([], [notChecked(ID, 'no IPAMBlocks in the bundle (cluster/ipamblocks…): allocations unknown')]);
    const findings: Finding[] = [];
    for (const u of poolUsage(c)) {
      if (u.pool.spec.disabled || u.used >= u.capacity) continue;
      if (u.freeBlocks === 0 && u.strictAffinity && u.fullNodes.length > 0) continue; // exhausted for those nodes
      const high = u.used / u.capacity >= NEAR;
      const noBlock = u.freeBlocks === 0;
      if (!high && !noBlock) continue;
      const full = u.blocks.filter((x) => x.used / x.size >= NEAR);
      findings.push({
        check: ID,
        severity: 'warning',
        category: 'ipam',
        title: high
          ? `IPPool ${u.pool.metadata.name} (${u.pool.spec.cidr}) is ${pct(u.used, u.capacity)} allocated (${u.used}/${u.capacity})`
          : `IPPool ${u.pool.metadata.name} (${u.pool.spec.cidr}) has no free block left (${u.blocks.length}/${u.maxBlocks} claimed, ${pct(u.used, u.capacity)} of addresses in use)`,
        explanation:
          (high ? `The pool is close to exhaustion: ${u.capacity - u.used} addresses left. ` : '') +
          (noBlock
            ? `Every block is claimed by a node: a node whose blocks fill up, or a new node, can only borrow single addresses from other nodes' blocks${u.strictAffinity ? ' — and strictAffinity forbids that' : ' (each borrowed address adds a /32 route)'}. `
            : '') +
          (full.length > 0 ? `Blocks at ≥ 90%: ${listText(full.map((x) => `${x.cidr.canonical}${x.node ? ` (${x.node})` : ''} ${x.used}/${x.size}`), 4)}.` : ''),
        subject: u.pool.metadata.name,
        evidence: usageEvidence(b, u),
        remediation: {
          summary: 'Plan more address space now: add a pool, and release leaked allocations.',
          confirm: ['calicoctl ipam show --show-blocks', 'calicoctl ipam check'],
          fix: ['calicoctl apply -f new-ippool.yaml'],
          yaml: newPoolYaml(c, u),
        },
      });
    }
    return result(findings);
  },
};
