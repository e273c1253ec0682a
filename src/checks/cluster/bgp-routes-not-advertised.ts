/**
 * bgp.routes-not-advertised (C9, C2): a node's IPAM block (from its BlockAffinities / IPAMBlocks)
 * that another node has no route for (BIRD's `show route`, else the kernel routes) while that
 * node's BGP sessions are up — with the causes the bundle can show: the pool's
 * disableBGPExport, a BGPFilter that rejects the block, the owner's BIRD lacking its own block
 * route. Also reported on their own (warning): a BGPFilter used by a BGPPeer that rejects the
 * export of pool blocks, and a disableBGPExport pool whose blocks other nodes must reach by BGP.
 */
import type { Cidr } from '../../calico/policy/net.js';
import type { NodeData } from '../../model/bundle.js';
import type { Evidence } from '../../model/evidence.js';
import type { BGPFilter, BGPFilterRule, ClusterResources, IPPool, ResourceSource } from '../../model/resources.js';
import { type Check, type Finding, type NotChecked, result } from '../types.js';
import { bgpSessions, cidrCovers, cidrOf, ev, listText, nodeIPv4, notChecked, poolFor, resEv } from './util.js';
import type { Bundle } from '../../model/bundle.js';

const ID = 'bgp.routes-not-advertised';

interface OwnedBlock {
  node: string;
  cidr: Cidr;
  source: ResourceSource;
  state?: string;
}

/** Blocks per node: confirmed BlockAffinities, then IPAMBlocks with a host affinity. */
export function blocksByNode(c: ClusterResources): Map<string, OwnedBlock[]> {
  const out = new Map<string, OwnedBlock[]>();
  const seen = new Set<string>();
  const add = (node: string, cidrText: string, source: ResourceSource, state?: string) => {
    const cidr = cidrOf(cidrText);
    if (!cidr || seen.has(`${node}|${cidr.canonical}`)) return;
    seen.add(`${node}|${cidr.canonical}`);
    const l = out.get(node) ?? [];
    l.push({ node, cidr, source, ...(state ? { state } : {}) });
    out.set(node, l);
  };
  for (const a of c.blockAffinities) if (!a.spec.deleted && a.spec.state !== 'pendingDeletion') add(a.spec.node, a.spec.cidr, a.source, a.spec.state);
  for (const blk of c.ipamBlocks) if (!blk.spec.deleted && blk.spec.affinityNode && (blk.spec.affinityType ?? 'host') === 'host') add(blk.spec.affinityNode, blk.spec.cidr, blk.source);
  return out;
}

/** First matching export rule of a BGPFilter for a locally originated prefix; undefined = no rule matched (accepted by default) or undecidable. */
export function filterVerdict(f: BGPFilter, prefix: Cidr): { action: 'Accept' | 'Reject'; rule: BGPFilterRule; index: number } | 'undecidable' | undefined {
  const rules = prefix.family === 4 ? f.spec.exportV4 : f.spec.exportV6;
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i];
    if (r.source === 'RemotePeers') continue; // only routes learned from peers
    if (r.interface) continue; // interface routes, not IPAM blocks
    if (r.peerType || r.communities?.length || r.asPathPrefix?.length || r.operations?.length) return 'undecidable';
    if (r.cidr) {
      const c = cidrOf(r.cidr);
      if (!c) return 'undecidable';
      const within = cidrCovers(c, prefix);
      const op = r.matchOperator ?? 'In';
      const hit = op === 'Equal' ? c.canonical === prefix.canonical : op === 'NotEqual' ? c.canonical !== prefix.canonical : op === 'In' ? within : op === 'NotIn' ? !within : undefined;
      if (hit === undefined) return 'undecidable';
      if (!hit) continue;
    }
    if (r.prefixLength) {
      if (r.prefixLength.min !== undefined && prefix.bits < r.prefixLength.min) continue;
      if (r.prefixLength.max !== undefined && prefix.bits > r.prefixLength.max) continue;
    }
    if (r.action === 'Accept' || r.action === 'Reject') return { action: r.action, rule: r, index: i };
    return 'undecidable';
  }
  return undefined;
}

function hasRoute(n: NodeData, block: Cidr): { found: boolean; via: 'bird' | 'kernel' } {
  const v6 = block.family === 6;
  const bird = v6 ? n.bird6Routes : n.birdRoutes;
  if (bird) {
    for (const r of bird) {
      if (r.kind === 'blackhole' || r.kind === 'unreachable' || r.kind === 'prohibit') continue;
      const c = cidrOf(r.prefix);
      if (c && c.bits > 0 && cidrCovers(c, block)) return { found: true, via: 'bird' };
    }
    return { found: false, via: 'bird' };
  }
  for (const r of n.routes ?? []) {
    if (r.type !== 'unicast' || r.table !== 'main') continue;
    const c = cidrOf(r.dst);
    if (c && c.bits > 0 && cidrCovers(c, block)) return { found: true, via: 'kernel' };
  }
  return { found: false, via: 'kernel' };
}

function ownRoute(n: NodeData | undefined, block: Cidr): boolean | undefined {
  const bird = block.family === 6 ? n?.bird6Routes : n?.birdRoutes;
  if (!bird) return undefined;
  return bird.some((r) => cidrOf(r.prefix)?.canonical === block.canonical);
}

/** BGPFilters used by BGPPeers, with the peers using them. */
function usedFilters(c: ClusterResources): { f: BGPFilter; peers: string[] }[] {
  const out: { f: BGPFilter; peers: string[] }[] = [];
  for (const f of c.bgpFilters) {
    const peers = c.bgpPeers.filter((p) => p.spec.filters.includes(f.metadata.name)).map((p) => p.metadata.name);
    if (peers.length > 0) out.push({ f, peers });
  }
  return out;
}

function poolEvidence(b: Bundle, p: IPPool): Evidence {
  return resEv(b, p.source, `IPPool ${p.metadata.name} ${p.spec.cidr}${p.spec.disableBGPExport ? ' disableBGPExport: true' : ''}`);
}

export const bgpRoutesNotAdvertised: Check = {
  id: ID,
  category: 'bgp',
  severity: 'error',
  title: "A node's pod block that other nodes have no route for while BGP is up",
  seeds: ['C9', 'C2'],
  run(ctx) {
    const b = ctx.bundle;
    const c = b.cluster;
    const findings: Finding[] = [];
    const nc: NotChecked[] = [];
    const owned = blocksByNode(c);
    const filters = usedFilters(c);
    const citedPools = new Set<string>();

    const observers = b.nodes.filter((n) => (bgpSessions(b, n) ?? []).length > 0);
    if (owned.size === 0) nc.push(notChecked(ID, 'no BlockAffinities or IPAMBlocks in the bundle: the nodes\' blocks are unknown'));
    else if (observers.length === 0) nc.push(notChecked(ID, 'no BGP sessions in the bundle (bird-protocols / calicoctl node status): cannot tell whether routes should have been learnt'));
    else {
      for (const [owner, blocks] of owned) {
        const ownerIp = nodeIPv4(c, owner);
        const ownerData = b.nodes.find((n) => n.name === owner);
        const missing: { block: OwnedBlock; on: NodeData; via: string; session?: { artifact: string; line: number } }[] = [];
        for (const m of observers) {
          if (m.name === owner) continue;
          if (!m.birdRoutes && !m.routes) {
            nc.push(notChecked(ID, `no bird-routes or ip-route for node ${m.name}`, m.name));
            continue;
          }
          const sessions = bgpSessions(b, m) ?? [];
          const direct = ownerIp ? sessions.find((s) => s.peerIp === ownerIp) : undefined;
          if (direct ? !direct.established : !sessions.some((s) => s.established)) continue; // bgp.peer-not-established
          for (const blk of blocks) {
            if (blk.cidr.family === 6 ? !m.bird6Routes && !m.routes : false) continue;
            const r = hasRoute(m, blk.cidr);
            if (!r.found) missing.push({ block: blk, on: m, via: r.via, ...(direct ? { session: { artifact: direct.artifact, line: direct.line } } : {}) });
          }
        }
        if (missing.length === 0) continue;
        const byBlock = new Map<string, typeof missing>();
        for (const x of missing) byBlock.set(x.block.cidr.canonical, [...(byBlock.get(x.block.cidr.canonical) ?? []), x]);
        for (const [cidrText, xs] of byBlock) {
          const blk = xs[0].block;
          const pool = poolFor(c.ipPools, blk.cidr);
          const causes: string[] = [];
          const evidence: Evidence[] = [resEv(b, blk.source, `block ${cidrText} of ${owner}`)];
          if (pool) {
            evidence.push(poolEvidence(b, pool));
            if (pool.spec.disableBGPExport) {
              causes.push(`IPPool ${pool.metadata.name} has disableBGPExport: true, so no node advertises its blocks`);
              citedPools.add(pool.metadata.name);
            }
          } else causes.push(`the block is in no IPPool of the bundle (Calico only exports blocks of its pools)`);
          if (blk.state && blk.state !== 'confirmed') causes.push(`the BlockAffinity is ${blk.state}, not confirmed`);
          if (ownRoute(ownerData, blk.cidr) === false) causes.push(`${owner}'s own BIRD has no route for the block (Calico's static blackhole for it is missing), so it has nothing to export`);
          for (const { f, peers } of filters) {
            const v = filterVerdict(f, blk.cidr);
            if (v && v !== 'undecidable' && v.action === 'Reject') causes.push(`BGPFilter ${f.metadata.name} (used by BGPPeer ${listText(peers, 2)}) rejects it at exportV4 rule ${v.index}`);
          }
          for (const x of xs) {
            const art = x.via === 'bird' ? x.on.artifacts['bird-routes'] : x.on.artifacts['ip-route'];
            if (x.session) evidence.push(ev(b, x.session.artifact, x.session.line, `${x.on.name}: session to ${owner} Established`, x.on.name));
            evidence.push({ artifact: art ?? '', node: x.on.name, note: `no route covering ${cidrText} (${x.via === 'bird' ? 'birdcl show route' : 'ip route'})` });
          }
          findings.push({
            check: ID,
            severity: 'error',
            category: 'bgp',
            node: owner,
            title: `Block ${cidrText} of ${owner} is not routed on ${listText(xs.map((x) => x.on.name), 3)} although BGP is up`,
            explanation:
              `${owner} owns ${cidrText}; ${listText(xs.map((x) => x.on.name), 4)} ${xs.length === 1 ? 'has' : 'have'} Established BGP sessions but no route covering it, so traffic from ${xs.length === 1 ? 'its' : 'their'} pods to ${owner}'s pods follows the default route and is lost.` +
              (causes.length > 0 ? `\nLikely cause: ${causes.join('; ')}.` : "\nNo cause is visible in the bundle: check the BIRD export filter (bird.cfg) and BIRD's export statistics on the owner."),
            subject: cidrText,
            evidence,
            remediation: {
              summary: pool?.spec.disableBGPExport ? `Set disableBGPExport: false on IPPool ${pool.metadata.name} (or use VXLAN for it), so its blocks are advertised.` : `Make ${owner} export ${cidrText}: fix the cause above; confirm with birdcl on both nodes.`,
              confirm: [
                `kubectl exec -n calico-system <calico-node pod on ${owner}> -c calico-node -- birdcl -s /var/run/calico/bird.ctl show route for ${cidrText} all`,
                `kubectl exec -n calico-system <calico-node pod on ${xs[0].on.name}> -c calico-node -- birdcl -s /var/run/calico/bird.ctl show route for ${cidrText}`,
                'calicoctl get ippool -o yaml',
                'calicoctl get bgpfilter -o yaml',
              ],
              fix: pool?.spec.disableBGPExport ? [`calicoctl patch ippool ${pool.metadata.name} --patch '{"spec":{"disableBGPExport":false}}'`] : [`kubectl delete pod -n calico-system <calico-node pod on ${owner}>   # confd re-renders bird.cfg`],
              ...(pool?.spec.disableBGPExport ? { yaml: `apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: ${pool.metadata.name}\nspec:\n  cidr: ${pool.spec.cidr}\n  disableBGPExport: false\n` } : {}),
            },
          });
        }
      }
    }

    // Configuration that keeps blocks from being advertised, reported on its own.
    const blockList = [...owned.values()].flat();
    for (const { f, peers } of filters) {
      const rejected = blockList.filter((blk) => {
        const v = filterVerdict(f, blk.cidr);
        return v && v !== 'undecidable' && v.action === 'Reject';
      });
      if (rejected.length === 0) continue;
      const v = filterVerdict(f, rejected[0].cidr) as { rule: BGPFilterRule; index: number };
      findings.push({
        check: ID,
        severity: 'warning',
        category: 'bgp',
        title: `BGPFilter ${f.metadata.name} rejects the export of ${rejected.length} pod block(s) to BGPPeer ${listText(peers, 2)}`,
        explanation: `exportV4 rule ${v.index} (${v.rule.action}${v.rule.cidr ? ` ${v.rule.matchOperator ?? 'In'} ${v.rule.cidr}` : ''}) matches ${listText(rejected.map((x) => `${x.cidr.canonical} (${x.node})`), 4)}: the peers using this filter never learn these pod routes.`,
        subject: f.metadata.name,
        evidence: [resEv(b, f.source, `BGPFilter ${f.metadata.name}`), ...c.bgpPeers.filter((p) => peers.includes(p.metadata.name)).map((p) => resEv(b, p.source, `BGPPeer ${p.metadata.name} filters: ${p.spec.filters.join(', ')}`))],
        remediation: {
          summary: 'Accept the pool CIDRs before the rejecting rule (or drop the rule) if these peers must reach the pods directly.',
          confirm: [`calicoctl get bgpfilter ${f.metadata.name} -o yaml`, `kubectl exec -n calico-system <calico-node pod> -c calico-node -- birdcl -s /var/run/calico/bird.ctl show route export <protocol of the peer>`],
          fix: ['calicoctl apply -f bgpfilter.yaml'],
          yaml: `apiVersion: projectcalico.org/v3\nkind: BGPFilter\nmetadata:\n  name: ${f.metadata.name}\nspec:\n  exportV4:\n  - action: Accept\n    matchOperator: In\n    cidr: ${poolFor(c.ipPools, rejected[0].cidr)?.spec.cidr ?? rejected[0].cidr.canonical}\n  # … the existing rules follow\n`,
        },
      });
    }
    const bgpCluster = observers.length > 0 || c.bgpPeers.length > 0;
    for (const p of c.ipPools) {
      if (!p.spec.disableBGPExport || p.spec.vxlanMode !== 'Never' || citedPools.has(p.metadata.name) || !bgpCluster) continue;
      const pc = cidrOf(p.spec.cidr);
      const inPool = pc ? blockList.filter((blk) => cidrCovers(pc, blk.cidr)) : [];
      if (inPool.length === 0) continue;
      findings.push({
        check: ID,
        severity: 'warning',
        category: 'bgp',
        title: `IPPool ${p.metadata.name} has disableBGPExport: its ${inPool.length} block(s) are not advertised over BGP`,
        explanation: `${p.spec.cidr} uses ${p.spec.ipipMode === 'Never' ? 'no encapsulation' : `IPIP ${p.spec.ipipMode}`}, which relies on BGP routes, but disableBGPExport keeps its blocks (${listText(inPool.map((x) => `${x.cidr.canonical} on ${x.node}`), 3)}) out of BGP: other nodes and routers cannot reach those pods unless something else routes them.`,
        subject: p.metadata.name,
        evidence: [poolEvidence(b, p), ...inPool.slice(0, 4).map((x) => resEv(b, x.source, `block ${x.cidr.canonical} of ${x.node}`))],
        remediation: {
          summary: 'Set disableBGPExport: false unless the pool is deliberately private (e.g. routed by other means).',
          confirm: [`calicoctl get ippool ${p.metadata.name} -o yaml`],
          fix: [`calicoctl patch ippool ${p.metadata.name} --patch '{"spec":{"disableBGPExport":false}}'`],
          yaml: `apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: ${p.metadata.name}\nspec:\n  cidr: ${p.spec.cidr}\n  disableBGPExport: false\n`,
        },
      });
    }
    return result(findings, nc);
  },
};
