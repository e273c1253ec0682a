/**
 * ipam.orphan-block-affinity (C6): a BlockAffinity (or an IPAMBlock's host affinity) for a node
 * that does not exist — its block stays reserved for nobody — or a BlockAffinity whose IPAMBlock
 * does not exist (the claim half-finished or the block was deleted by hand).
 */
import type { Evidence } from '../../model/evidence.js';
import { type Check, type Finding, type NotChecked, result } from '../types.js';
import { cidrOf, knownNodeNames, notChecked, resEv } from './util.js';

const ID = 'ipam.orphan-block-affinity';

export const ipamOrphanBlockAffinity: Check = {
  id: ID,
  category: 'ipam',
  severity: 'warning',
  title: 'Block affinities for nodes or blocks that do not exist',
  seeds: ['C6'],
  run(ctx) {
    const b = ctx.bundle;
    const c = b.cluster;
    if (c.blockAffinities.length === 0 && c.ipamBlocks.length === 0) return result([], [notChecked(ID, 'no BlockAffinities or IPAMBlocks in the bundle')]);
    const nodes = knownNodeNames(c);
    const nc: NotChecked[] = [];
    if (nodes.size === 0) nc.push(notChecked(ID, 'no Nodes in the bundle: affinities to missing nodes not checked'));
    if (c.ipamBlocks.length === 0 && c.blockAffinities.length > 0) nc.push(notChecked(ID, 'no IPAMBlocks in the bundle: affinities to missing blocks not checked'));
    const blockCidrs = new Set(c.ipamBlocks.map((x) => cidrOf(x.spec.cidr)?.canonical ?? x.spec.cidr));
    const findings: Finding[] = [];
    const reported = new Set<string>();
    const push = (node: string, cidr: string, why: 'node' | 'block', ev: Evidence[], name: string, kind: 'BlockAffinity' | 'IPAMBlock') => {
      const key = `${why}|${node}|${cidr}`;
      if (reported.has(key)) return;
      reported.add(key);
      findings.push({
        check: ID,
        severity: 'warning',
        category: 'ipam',
        node,
        title: why === 'node' ? `Block ${cidr} is affine to node ${node}, which does not exist` : `BlockAffinity ${name} (${node}) points at block ${cidr}, which does not exist`,
        explanation:
          why === 'node'
            ? `No Node named ${node} is in the cluster, yet ${kind} ${name} still reserves ${cidr} for it. The block's addresses (and any allocations in it) are unusable until the affinity is released; usually a node deleted without IPAM clean-up (kube-controllers' node controller normally does it).`
            : `The affinity claims ${cidr} for ${node}, but there is no IPAMBlock for it: a block claim that did not complete, or a block deleted by hand. calicoctl ipam check reports it; IPAM may try to claim the range again.`,
        subject: cidr,
        evidence: ev,
        remediation: {
          summary: why === 'node' ? `Release what ${node} held: calicoctl ipam check, then delete the stale affinity (and release its allocations).` : 'Delete the dangling BlockAffinity.',
          confirm: ['calicoctl ipam check', `kubectl get blockaffinities.crd.projectcalico.org | grep ${cidr.replace(/[./]/g, '-')}`, 'kubectl get nodes'],
          fix:
            why === 'node'
              ? [`calicoctl delete node ${node}   # removes the node's affinities and tunnel addresses, if the Calico Node still exists`, `kubectl delete blockaffinities.crd.projectcalico.org ${name}`]
              : [`kubectl delete blockaffinities.crd.projectcalico.org ${name}`],
        },
      });
    };
    for (const a of c.blockAffinities) {
      if (a.spec.deleted) continue;
      const cidr = cidrOf(a.spec.cidr)?.canonical ?? a.spec.cidr;
      const e = resEv(b, a.source, `BlockAffinity ${a.metadata.name}: node ${a.spec.node}, ${a.spec.cidr}, ${a.spec.state}`);
      if (nodes.size > 0 && !nodes.has(a.spec.node)) push(a.spec.node, cidr, 'node', [e], a.metadata.name, 'BlockAffinity');
      if (c.ipamBlocks.length > 0 && !blockCidrs.has(cidr)) push(a.spec.node, cidr, 'block', [e], a.metadata.name, 'BlockAffinity');
    }
    for (const blk of c.ipamBlocks) {
      const node = blk.spec.affinityNode;
      if (!node || blk.spec.deleted || nodes.size === 0 || nodes.has(node) || (blk.spec.affinityType ?? 'host') !== 'host') continue;
      push(node, cidrOf(blk.spec.cidr)?.canonical ?? blk.spec.cidr, 'node', [resEv(b, blk.source, `IPAMBlock ${blk.spec.cidr} affinity ${blk.spec.affinity}`)], blk.metadata.name, 'IPAMBlock');
    }
    return result(findings, nc);
  },
};
