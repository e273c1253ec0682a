/**
 * ipam.blocks-per-host-limit (C6): a node with more affine blocks than IPAMConfig
 * maxBlocksPerHost allows (error: the limit was lowered under it), or at the limit (warning;
 * error when all its blocks are full — it cannot claim another block, so new pods there borrow
 * addresses or, with strictAffinity, fail). maxBlocksPerHost 0 means no limit.
 */
import type { Evidence } from '../../model/evidence.js';
import { type Check, type Finding, result } from '../types.js';
import { blockUsage } from './ipam-usage.js';
import { blocksByNode } from './bgp-routes-not-advertised.js';
import { cidrOf, notChecked, resEv } from './util.js';

const ID = 'ipam.blocks-per-host-limit';

export const ipamBlocksPerHostLimit: Check = {
  id: ID,
  category: 'ipam',
  severity: 'error',
  title: 'Nodes at or over IPAMConfig maxBlocksPerHost',
  seeds: ['C6'],
  run(ctx) {
    const b = ctx.bundle;
    const c = b.cluster;
    const cfg = c.ipamConfigs[0];
    if (!cfg || cfg.spec.maxBlocksPerHost <= 0) return result();
    if (c.blockAffinities.length === 0 && c.ipamBlocks.length === 0) return result([], [notChecked(ID, 'no BlockAffinities or IPAMBlocks in the bundle')]);
    const max = cfg.spec.maxBlocksPerHost;
    const strict = cfg.spec.strictAffinity;
    const usage = new Map(c.ipamBlocks.map((blk) => [cidrOf(blk.spec.cidr)?.canonical ?? blk.spec.cidr, blockUsage(blk)]));
    const findings: Finding[] = [];
    for (const [node, blocks] of blocksByNode(c)) {
      if (blocks.length < max) continue;
      const us = blocks.map((x) => usage.get(x.cidr.canonical));
      const allFull = us.every((u) => u !== undefined && u.used >= u.size);
      const over = blocks.length > max;
      const severity = over || allFull ? 'error' : 'warning';
      const evidence: Evidence[] = [resEv(b, cfg.source, `IPAMConfig maxBlocksPerHost: ${max}${strict ? ', strictAffinity: true' : ''}`)];
      blocks.forEach((x, i) => evidence.push(resEv(b, x.source, `${x.cidr.canonical} on ${node}${us[i] ? `: ${us[i]!.used}/${us[i]!.size}` : ''}`)));
      findings.push({
        check: ID,
        severity,
        category: 'ipam',
        node,
        title: over ? `${node} has ${blocks.length} blocks, more than maxBlocksPerHost ${max}` : `${node} is at maxBlocksPerHost (${max} blocks)${allFull ? ' and all are full' : ''}`,
        explanation:
          `IPAMConfig limits each node to ${max} affine block(s). ` +
          (allFull
            ? `${node}'s blocks are all full and it may not claim another: new pods there ${strict ? 'fail to get an address (strictAffinity forbids borrowing)' : "borrow single addresses from other nodes' blocks (extra /32 routes) or fail when none is free"}.`
            : over
              ? 'The node holds more than the limit (it was lowered after the blocks were claimed); it cannot claim any more.'
              : 'It cannot claim another block once these fill up.'),
        subject: node,
        evidence,
        remediation: {
          summary: `Raise maxBlocksPerHost (or set 0 for no limit), or spread pods over more nodes.`,
          confirm: ['calicoctl ipam show --show-configuration', 'calicoctl ipam show --show-blocks', `kubectl get pods -A -o wide --field-selector spec.nodeName=${node}`],
          fix: [`calicoctl ipam configure --max-blocks-per-host=${max * 2}`],
          yaml: `apiVersion: projectcalico.org/v3\nkind: IPAMConfiguration\nmetadata:\n  name: default\nspec:\n  strictAffinity: ${strict}\n  maxBlocksPerHost: ${max * 2}\n`,
        },
      });
    }
    return result(findings);
  },
};
