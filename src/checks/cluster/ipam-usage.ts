/**
 * IPAM utilisation per pool, block and node, from the IPAMBlocks' allocations (what `calicoctl
 * ipam show --show-blocks` prints), shared by ipam.pool-exhausted and ipam.pool-near-exhaustion.
 */
import type { Cidr } from '../../calico/policy/net.js';
import type { ClusterResources, IPAMBlock, IPPool } from '../../model/resources.js';
import { cidrCovers, cidrOf, cidrSize } from './util.js';

export interface BlockUsage {
  block: IPAMBlock;
  cidr: Cidr;
  node?: string;
  size: number;
  used: number;
}

export interface PoolUsage {
  pool: IPPool;
  cidr: Cidr;
  capacity: number;
  used: number;
  blocks: BlockUsage[];
  /** Blocks the pool can hold (capacity / block size). */
  maxBlocks: number;
  freeBlocks: number;
  /** Nodes whose every affine block in this pool is full. */
  fullNodes: string[];
  strictAffinity: boolean;
}

export function blockUsage(blk: IPAMBlock): BlockUsage | undefined {
  const cidr = cidrOf(blk.spec.cidr);
  if (!cidr) return undefined;
  const size = blk.spec.allocations.length > 0 ? blk.spec.allocations.length : cidrSize(cidr);
  let used = 0;
  for (const a of blk.spec.allocations) if (a !== null) used++;
  return { block: blk, cidr, ...(blk.spec.affinityNode ? { node: blk.spec.affinityNode } : {}), size, used };
}

const cache = new WeakMap<ClusterResources, PoolUsage[]>();

export function poolUsage(c: ClusterResources): PoolUsage[] {
  const hit = cache.get(c);
  if (hit) return hit;
  const strict = c.ipamConfigs[0]?.spec.strictAffinity ?? false;
  const blocks = c.ipamBlocks.filter((x) => !x.spec.deleted).map(blockUsage).filter((x): x is BlockUsage => x !== undefined);
  const out: PoolUsage[] = [];
  for (const pool of c.ipPools) {
    const cidr = cidrOf(pool.spec.cidr);
    if (!cidr) continue;
    const inPool = blocks.filter((x) => cidrCovers(cidr, x.cidr));
    const capacity = cidrSize(cidr);
    const blockSize = Math.max(cidr.bits, pool.spec.blockSize);
    const maxBlocks = 2 ** Math.min(52, blockSize - cidr.bits);
    const byNode = new Map<string, BlockUsage[]>();
    for (const x of inPool) if (x.node) byNode.set(x.node, [...(byNode.get(x.node) ?? []), x]);
    const fullNodes = [...byNode].filter(([, l]) => l.every((x) => x.used >= x.size)).map(([n]) => n);
    out.push({
      pool,
      cidr,
      capacity,
      used: inPool.reduce((s, x) => s + x.used, 0),
      blocks: inPool,
      maxBlocks,
      freeBlocks: Math.max(0, maxBlocks - inPool.length),
      fullNodes,
      strictAffinity: strict || inPool.some((x) => x.block.spec.strictAffinity),
    });
  }
  cache.set(c, out);
  return out;
}

export function pct(n: number, d: number): string {
  return d > 0 ? `${Math.floor((n / d) * 1000) / 10}%` : '0%';
}

/** A candidate range for a new pool: the next range of the same size that overlaps no pool. */
export function nextFreeRange(c: ClusterResources, cidr: Cidr): string | undefined {
  if (cidr.family !== 4 || cidr.bits < 8) return undefined;
  const step = 2 ** (32 - cidr.bits);
  const pools = c.ipPools.map((p) => cidrOf(p.spec.cidr)).filter((x): x is Cidr => x !== undefined);
  for (let k = 1; k < 64; k++) {
    const base = cidr.v4 + k * step;
    if (base > 0xffffffff) return undefined;
    const cand = cidrOf(`${base >>> 24}.${(base >>> 16) & 255}.${(base >>> 8) & 255}.${base & 255}/${cidr.bits}`);
    if (!cand) return undefined;
    const privateRange = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10'].map((t) => cidrOf(t)!).some((r) => cidrCovers(r, cand));
    if (!privateRange) return undefined;
    if (pools.every((p) => !cidrCovers(p, cand) && !cidrCovers(cand, p))) return cand.canonical;
  }
  return undefined;
}
