/**
 * ipam.pool-exhausted (C6): an enabled IP pool in which no address can be allocated any more —
 * every address allocated — or, with strict affinity, a node whose blocks are all full while the
 * pool has no free block left (it can neither claim a block nor borrow). New pods fail with
 * "failed to allocate for range" / "no IP addresses available".
 */
import type { Evidence } from '../../model/evidence.js';
import { type Check, type Finding, result } from '../types.js';
import { type PoolUsage, nextFreeRange, pct, poolUsage } from './ipam-usage.js';
import { listText, notChecked, resEv } from './util.js';
import type { Bundle } from '../../model/bundle.js';
import type { ClusterResources } from '../../model/resources.js';

const ID = 'ipam.pool-exhausted';

export function usageEvidence(b: Bundle, u: PoolUsage, maxBlocks = 6): Evidence[] {
  const out: Evidence[] = [resEv(b, u.pool.source, `IPPool ${u.pool.metadata.name} ${u.pool.spec.cidr}: ${u.used}/${u.capacity} in use (${pct(u.used, u.capacity)}), ${u.blocks.length}/${u.maxBlocks} blocks claimed`)];
  const sorted = [...u.blocks].sort((a, b2) => b2.used / b2.size - a.used / a.size);
  for (const x of sorted.slice(0, maxBlocks)) out.push(resEv(b, x.block.source, `block ${x.cidr.canonical}${x.node ? ` (${x.node})` : ''}: ${x.used}/${x.size} (${pct(x.used, x.size)})`));
  return out;
}

export function newPoolYaml(c: ClusterResources, u: PoolUsage): string {
  const cidr = nextFreeRange(c, u.cidr) ?? '<an unused range>';
  const p = u.pool.spec;
  return (
    `# a second pool; check that the range is unused in your network first\napiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: ${u.pool.metadata.name}-2\nspec:\n  cidr: ${cidr}\n  blockSize: ${p.blockSize}\n  ipipMode: ${p.ipipMode}\n  vxlanMode: ${p.vxlanMode}\n  natOutgoing: ${p.natOutgoing}\n  nodeSelector: ${JSON.stringify(p.nodeSelector)}\n`
  );
}

export const ipamPoolExhausted: Check = {
  id: ID,
  category: 'ipam',
  severity: 'error',
  title: 'IP pools (or nodes) that cannot allocate any more addresses',
  seeds: ['C6'],
  run(ctx) {
    const b = ctx.bundle;
    const c = b.cluster;
    if (c.ipPools.length === 0) return result([], [notChecked(ID, 'no IPPools in the bundle')]);
    if (c.ipamBlocks.length === 0) return result([], [notChecked(ID, 'no IPAMBlocks in the bundle (cluster/ipamblocks…): allocations unknown')]);
    const findings: Finding[] = [];
    for (const u of poolUsage(c)) {
      if (u.pool.spec.disabled) continue;
      const full = u.used >= u.capacity;
      const stuck = !full && u.freeBlocks === 0 && u.strictAffinity ? u.fullNodes : [];
      if (!full && stuck.length === 0) continue;
      findings.push({
        check: ID,
        severity: 'error',
        category: 'ipam',
        title: full
          ? `IPPool ${u.pool.metadata.name} (${u.pool.spec.cidr}) is exhausted: ${u.used} of ${u.capacity} addresses allocated`
          : `IPPool ${u.pool.metadata.name}: ${listText(stuck, 3)} cannot get an address (blocks full, no free block, strictAffinity)`,
        explanation: full
          ? 'Every address of the pool is allocated and no block is free: new pods fail with "failed to allocate for range 0: no IP addresses available in range set". Leaked allocations (see ipam.leaked-allocation) may account for part of it.'
          : `All ${u.maxBlocks} blocks of the pool are claimed and strict affinity forbids borrowing from other nodes' blocks, so ${listText(stuck, 4)} (whose blocks are all full) cannot allocate: new pods there stay in ContainerCreating.`,
        subject: u.pool.metadata.name,
        evidence: usageEvidence(b, u),
        remediation: {
          summary: 'Add a pool (or a larger one), release leaked addresses, or reduce the block size for new pools so addresses are spread better.',
          confirm: ['calicoctl ipam show --show-blocks', 'calicoctl ipam check', 'calicoctl get ippool -o wide'],
          fix: ['calicoctl apply -f new-ippool.yaml', 'calicoctl ipam check -o report.json && calicoctl ipam release --from-report=report.json   # leaked addresses'],
          yaml: newPoolYaml(c, u),
        },
      });
    }
    return result(findings);
  },
};
