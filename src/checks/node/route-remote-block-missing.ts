/**
 * route.remote-block-missing: a remote node's IPAM block (IPAMBlocks / BlockAffinities, or that
 * node's own block blackhole when the IPAM objects are not in the bundle) — or a remote pod
 * address borrowed from another block — has no pod route on this node: the lookup ends at the
 * default route, a supernet, or nothing. BGP did not deliver it (session down, filters) or Felix
 * did not program the VXLAN route. Seeds C2, C8, C9, S7, M4.
 */
import type { Evidence } from '../../model/evidence.js';
import type { NodeData } from '../../model/bundle.js';
import type { RouteDecision } from '../../engine/routing.js';
import type { Check, CheckResult } from '../types.js';
import {
  addrFamily,
  allBlocks,
  bgpInUse,
  calicoNodeLogs,
  endpointsByBlock,
  blocksOf,
  dedupe,
  epEv,
  ev,
  listText,
  missing,
  nodeIPv4,
  notChecked,
  plural,
  poolOf,
  remediation,
  routeEv,
  sameCidr,
  type BlockInfo,
} from './common.js';
import { DROP_TYPES, decisionText, hasFamilyRoutes, isDropDecision, isPodRoute, poolsOf, routingWithout } from './routes.js';
import { parseAddr } from '../../model/ipset.js';

const ID = 'route.remote-block-missing';

interface Gap {
  what: string;
  sample: string;
  decision: RouteDecision;
  block?: BlockInfo;
  pods: string[];
  allocated: boolean;
  encap?: 'VXLAN' | 'IPIP';
  evidence: Evidence[];
}

function bgpSessionEvidence(b: import('../../model/bundle.js').Bundle, n: NodeData, peerIp: string | undefined): { evidence?: Evidence; state?: string } {
  if (!peerIp) return {};
  const t = parseAddr(peerIp)?.text;
  const p = (n.birdProtocols ?? []).find((x) => x.proto.toUpperCase() === 'BGP' && (x.neighborAddress === t || x.peer?.ip === t));
  if (p) return { evidence: ev(b, n.name, n.artifacts['bird-protocols'] ?? `nodes/${n.name}/bird-protocols.txt`, p.line, `BGP session with ${peerIp}`), state: p.bgpState ?? p.state };
  const s = [...(n.nodeStatus?.ipv4Peers ?? []), ...(n.nodeStatus?.ipv6Peers ?? [])].find((x) => parseAddr(x.address)?.text === t);
  if (s) return { evidence: ev(b, n.name, n.artifacts['calicoctl-node-status'] ?? `nodes/${n.name}/calicoctl-node-status.txt`, s.line, `BGP peer ${peerIp}`), state: s.bgpState ?? s.info };
  return {};
}

export const routeRemoteBlockMissing: Check = {
  id: ID,
  category: 'routing',
  severity: 'error',
  title: "A remote node's pod block has no route",
  seeds: ['C2', 'C8', 'C9', 'S7', 'M4'],
  run(ctx): CheckResult {
    const b = ctx.bundle;
    const out: CheckResult = { findings: [], notChecked: [] };
    const rt = ctx.runtime();
    const model = ctx.policy();
    const pools = poolsOf(ctx);
    const blocks = allBlocks(b);
    const bgp = bgpInUse(b);
    for (const n of b.nodes) {
      if (!n.routes || !(hasFamilyRoutes(n, 4) || hasFamilyRoutes(n, 6))) {
        out.notChecked.push(notChecked(ID, missing(n, 'ip-route'), n.name));
        continue;
      }
      const fam = { 4: hasFamilyRoutes(n, 4), 6: hasFamilyRoutes(n, 6) };
      if (blocks.length === 0) {
        if (model.endpoints.some((e) => e.kind === 'workload' && e.node && e.node !== n.name && e.ips.length > 0)) out.notChecked.push(notChecked(ID, `no IPAM blocks, block affinities or other nodes' block routes in the bundle to compare ${n.name}'s routes with`, n.name));
        continue;
      }
      const nr = rt.nodes.get(n.name)!;
      const own = blocksOf(b, n.name);
      const isOwnAggregate = (d: RouteDecision) => !!d.route && own.some((x) => sameCidr(d.route!, x.prefix));
      const byNode = new Map<string, Gap[]>();
      const consider = (node: string, sample: string, what: string, block: BlockInfo | undefined, pods: string[], allocated: boolean, evidence: () => Evidence[], minLen = 0) => {
        const family = addrFamily(sample);
        if (!fam[family]) return;
        const d = nr.routing.lookup({ family, dst: sample });
        // A borrowed address needs a route more specific than the block it was borrowed from (which leads to the block's owner).
        if (d.kind === 'unicast' && isPodRoute(d.route, pools, sample) && (d.route?.prefixLen ?? 0) > minLen) return;
        if (d.kind === 'local') return;
        if (isDropDecision(d) && d.route && !isOwnAggregate(d)) {
          const alt = routingWithout(n, d.route).lookup({ family, dst: sample });
          if (alt.kind === 'unicast' && isPodRoute(alt.route, pools, sample)) return; // route.blackhole-shadow
        }
        const pool = poolOf(pools, sample);
        const encap = pool && !pool.pool.spec.disabled ? (pool.pool.spec.vxlanMode !== 'Never' ? 'VXLAN' : pool.pool.spec.ipipMode !== 'Never' ? 'IPIP' : undefined) : undefined;
        const l = byNode.get(node) ?? [];
        l.push({ what, sample, decision: d, block, pods, allocated, encap, evidence: evidence() });
        byNode.set(node, l);
      };
      const byBlock = endpointsByBlock(b, model);
      const known = new Set([...b.cluster.nodes.map((x) => x.metadata.name), ...b.cluster.calicoNodes.map((x) => x.metadata.name), ...b.nodes.map((x) => x.name)]);
      for (const blk of blocks) {
        // A block of a node the cluster no longer knows is ipam.orphan-block-affinity's subject.
        if (blk.node === n.name || !known.has(blk.node)) continue;
        const inside = (byBlock.get(blk) ?? []).filter((x) => x.ep.node === blk.node);
        consider(blk.node, inside[0]?.ip ?? blk.prefix.text, `block ${blk.cidr}`, blk, [...new Set(inside.map((x) => x.ep.id))], inside.length > 0, () => [blk.evidence]);
      }
      // Pods whose address is not in a block of their own node (borrowed addresses need their own route).
      for (const [blk, list] of byBlock) {
        for (const { ep: e, ip } of list) {
          if (e.node === n.name || (blk && blk.node === e.node)) continue;
          if (!blk && !poolOf(pools, ip)) continue; // not a Calico address (host-local IPAM, another CNI)
          consider(e.node, ip, `pod ${e.id} (${ip}${blk ? `, borrowed from ${blk.node}'s block ${blk.cidr}` : ''})`, undefined, [e.id], true, () => [epEv(b, e, ip, `${e.from} ${e.id}: ${ip} on ${e.node}`)], blk?.prefix.prefixLen ?? 0);
        }
      }

      for (const [remote, gaps] of byNode) {
        const serious = gaps.filter((g) => g.allocated);
        const encap = gaps.find((g) => g.encap)?.encap;
        const programmedBy = encap === 'VXLAN' ? 'Felix (VXLAN routes via vxlan.calico)' : encap === 'IPIP' ? 'BIRD (BGP routes via tunl0)' : 'BIRD (BGP)';
        const known = encap !== undefined || bgp;
        const remoteIp = nodeIPv4(b.cluster, remote)?.ip;
        const sess = bgpSessionEvidence(b, n, remoteIp);
        const evidence: Evidence[] = [];
        for (const g of gaps.slice(0, 4)) {
          evidence.push(...g.evidence);
          if (g.decision.route) evidence.push(routeEv(b, n, g.decision.route, `what ${g.sample} matches instead: ${decisionText(g.decision)}`));
          else evidence.push({ artifact: n.artifacts['ip-route'] ?? `nodes/${n.name}/ip-route`, node: n.name, note: `no route matches ${g.sample}` });
        }
        if (sess.evidence) evidence.push(sess.evidence);
        const rn = b.nodes.find((x) => x.name === remote);
        for (const g of gaps.slice(0, 2)) {
          const own = g.block && rn?.routes?.find((r) => DROP_TYPES.has(r.type) && sameCidr(r, g.block!.prefix));
          if (own && rn) evidence.push(routeEv(b, rn, own, `${remote} does hold the block`));
        }
        const pods = gaps.flatMap((g) => g.pods);
        const fam6 = addrFamily(gaps[0].sample) === 6;
        const ip = fam6 ? 'ip -6' : 'ip';
        out.findings.push({
          check: ID,
          severity: serious.length > 0 && known ? 'error' : 'warning',
          category: 'routing',
          title: `${n.name} has no route to ${listText(gaps.map((g) => g.what), 2)} of ${remote}`,
          explanation:
            `${n.name} has no pod route for ${listText(gaps.map((g) => g.what))} on ${remote}; ${gaps.length === 1 ? `the lookup for ${gaps[0].sample} ends at ${decisionText(gaps[0].decision)}` : `lookups end at ${decisionText(gaps[0].decision)}`}. ` +
            (pods.length ? `Traffic from ${n.name} to ${plural(pods.length, 'pod')} there (${listText(pods, 3)}) leaves the wrong way and is lost. ` : 'No pod uses these addresses yet, but new pods there will be unreachable from this node. ') +
            (known
              ? `These routes are programmed by ${programmedBy}${sess.state ? `; the BGP session with ${remote} is ${sess.state}` : ''}.`
              : `No BGP or encapsulation is visible in the bundle: unless the underlay network routes the pool (cloud route tables), pods on ${remote} are unreachable from here.`),
          node: n.name,
          subject: remote,
          evidence: dedupe(evidence),
          remediation: remediation(
            encap === 'VXLAN'
              ? `Check that Felix on ${n.name} knows ${remote} (its Node resource has a VXLAN tunnel address and MAC) and that vxlan.calico exists; Felix reprograms the route once in sync.`
              : `Check the BGP session between ${n.name} and ${remote} and that ${remote} exports the block (BGPFilter, disabled pool).`,
            [
              `${ip} route get ${gaps[0].sample}  # on ${n.name}`,
              ...(encap === 'VXLAN'
                ? [`ip route show dev vxlan.calico  # on ${n.name}`, `calicoctl get node ${remote} -o yaml  # spec.ipv4VXLANTunnelAddr, vxlanTunnelMACAddr`]
                : [`calicoctl node status  # on ${n.name}`, `birdcl show protocols all  # in calico-node on ${n.name}`, `birdcl show route for ${gaps[0].sample} all  # in calico-node on ${n.name}`]),
            ],
            encap === 'VXLAN' ? [`${calicoNodeLogs(b.cluster, n.name)} | grep -iE 'vxlan|route'`] : [`calicoctl get bgpconfiguration,bgppeer,bgpfilter -o yaml  # peering and filters`],
          ),
        });
      }
    }
    return out;
  },
};
