/**
 * bgp.as-mismatch (C8): a BGP peer whose AS differs from what the other end runs with.
 * - BIRD's `Neighbor AS` for a peer differs from the AS the cluster resources give the remote
 *   node (Calico Node spec.bgp.asNumber, the Kubernetes annotation, else BGPConfiguration's
 *   asNumber, default 64512) or, for an external peer, the BGPPeer's asNumber;
 * - or the last error is `Bad peer AS`: `BGP Error: Bad peer AS` means the peer's OPEN carried an
 *   AS this node does not expect (the peer runs with the wrong AS), `Received: Bad peer AS` means
 *   the peer refused this node's AS.
 * Findings are grouped by the node (or external peer) whose AS is wrong.
 */
import type { Evidence } from '../../model/evidence.js';
import { type Check, type Finding, result } from '../types.js';
import { type BgpSession, bgpSessions, configuredAs, ev, listText, nodesByAddress, notChecked, resEv } from './util.js';

const ID = 'bgp.as-mismatch';

interface Suspect {
  /** Node name or external peer IP. */
  who: string;
  isNode: boolean;
  complaints: { s: BgpSession; why: string; kind: 'rejected-by-peer' | 'rejected-peer' | 'config' }[];
}

export const bgpAsMismatch: Check = {
  id: ID,
  category: 'bgp',
  severity: 'error',
  title: 'BGP peers with mismatched AS numbers',
  seeds: ['C8'],
  run(ctx) {
    const b = ctx.bundle;
    const c = b.cluster;
    const byAddr = nodesByAddress(c);
    const external = new Map<string, number | undefined>();
    for (const p of c.bgpPeers) if (p.spec.peerAddress) external.set(p.spec.peerAddress, p.spec.asNumber);
    const suspects = new Map<string, Suspect>();
    const blame = (who: string, isNode: boolean, s: BgpSession, why: string, kind: Suspect['complaints'][number]['kind']) => {
      let x = suspects.get(who);
      if (!x) suspects.set(who, (x = { who, isNode, complaints: [] }));
      x.complaints.push({ s, why, kind });
    };
    let withData = 0;
    for (const n of b.nodes) {
      const sessions = bgpSessions(b, n);
      if (!sessions) continue;
      withData++;
      for (const s of sessions) {
        const peerNode = byAddr.get(s.peerIp);
        const err = s.lastError ?? '';
        if (/Received:.*bad peer as/i.test(err)) {
          blame(n.name, true, s, `${s.peerIp} rejected ${n.name}'s OPEN: "${err}" (the AS ${n.name} announces is not what ${s.peerIp} expects)`, 'rejected-by-peer');
          continue;
        }
        if (/bad peer as/i.test(err)) {
          blame(peerNode ?? s.peerIp, peerNode !== undefined, s, `${n.name} rejected the OPEN from ${s.peerIp}: "${err}" (${s.peerIp} announced an AS other than ${s.neighborAs ?? 'the configured one'})`, 'rejected-peer');
          continue;
        }
        if (s.neighborAs === undefined) continue;
        const expected = peerNode ? configuredAs(c, peerNode) : external.has(s.peerIp) && external.get(s.peerIp) !== undefined ? { as: external.get(s.peerIp)!, from: `BGPPeer with peerIP ${s.peerIp}` } : undefined;
        if (expected && expected.as !== s.neighborAs) {
          blame(peerNode ?? s.peerIp, peerNode !== undefined, s, `${n.name}'s BIRD expects AS ${s.neighborAs} from ${s.peerIp}, but ${expected.from} is ${expected.as} (one side is stale: if the resources are right, restart calico-node on ${n.name} so confd rewrites its bird.cfg)`, 'config');
        }
      }
    }
    if (withData === 0) return result([], [notChecked(ID, 'no bird-protocols or calicoctl-node-status in the bundle')]);
    const findings: Finding[] = [];
    for (const x of suspects.values()) {
      const evidence: Evidence[] = [];
      for (const { s } of x.complaints) {
        evidence.push(ev(b, s.artifact, s.line, `${s.node} → ${s.peerIp}`, s.node));
        if (s.detailLines?.neighborAs) evidence.push(ev(b, s.artifact, s.detailLines.neighborAs, undefined, s.node));
        if (s.detailLines?.lastError) evidence.push(ev(b, s.artifact, s.detailLines.lastError, undefined, s.node));
      }
      const cfg = x.isNode ? configuredAs(c, x.who) : undefined;
      if (cfg?.source) evidence.push(resEv(b, cfg.source, `${cfg.from}: ${cfg.as}`));
      const ip = x.isNode ? listText([...new Set(x.complaints.map((k) => k.s.peerIp))]) : x.who;
      // Rejected by its peers only (external routers): the node's configured AS is what they refuse.
      const byPeersOnly = x.complaints.every((k) => k.kind === 'rejected-by-peer');
      const asLine = byPeersOnly ? '<the AS the peers are configured to expect for this node>' : String(cfg?.as ?? 64512);
      const nodeYaml = cfg ? `apiVersion: projectcalico.org/v3\nkind: Node\nmetadata:\n  name: ${x.who}\nspec:\n  bgp:\n    asNumber: ${asLine}\n` : undefined;
      const cfgText = cfg
        ? byPeersOnly
          ? `\n${x.who} runs with AS ${cfg.as} (${cfg.from}); that is the AS its peers refuse: either give ${x.who} the AS the peers expect, or configure the peers to expect ${cfg.as}.`
          : `\nThe cluster resources give ${x.who} AS ${cfg.as} (${cfg.from}); if they are right, ${x.who}'s BIRD runs with a stale or hand-edited bird.cfg.`
        : '';
      findings.push({
        check: ID,
        severity: 'error',
        category: 'bgp',
        ...(x.isNode ? { node: x.who } : {}),
        title: x.isNode ? `${x.who} runs BGP with an AS its peers do not expect` : `external BGP peer ${x.who}: AS mismatch`,
        explanation:
          `BGP OPEN messages carry the sender's AS; a peer that expects another AS refuses the session ("Bad peer AS"), so no routes are exchanged with ${x.who} (${ip}).\n` +
          x.complaints.map((k) => `- ${k.why}`).join('\n') +
          cfgText,
        subject: x.who,
        evidence,
        remediation: {
          summary: !x.isNode
            ? `Set the BGPPeer's asNumber to the AS the router ${x.who} really uses (or fix the router).`
            : byPeersOnly
              ? `Make the AS agree: set spec.bgp.asNumber on Node ${x.who} (or BGPConfiguration asNumber for all nodes) to the AS its peers expect, or change the peers' neighbor configuration to AS ${cfg?.as ?? 64512}.`
              : `Make ${x.who} run the AS its peers expect (${cfg?.as ?? 64512}): set spec.bgp.asNumber on Node ${x.who} accordingly; if the resources are already right, restart calico-node on ${x.who} so confd rewrites bird.cfg.`,
          confirm: [
            x.isNode ? `calicoctl get node ${x.who} -o yaml | grep -A3 bgp` : `calicoctl get bgppeer -o yaml | grep -B3 -A3 ${x.who}`,
            'calicoctl get bgpconfiguration default -o yaml',
            `kubectl exec -n calico-system <calico-node pod> -c calico-node -- birdcl -s /var/run/calico/bird.ctl show protocols all ${x.complaints[0].s.name ?? ''}`.trimEnd(),
          ],
          fix: x.isNode
            ? [`calicoctl patch node ${x.who} --patch '{"spec":{"bgp":{"asNumber":${byPeersOnly ? '<AS>' : (cfg?.as ?? 64512)}}}}'`, ...(byPeersOnly ? [] : [`kubectl delete pod -n calico-system <calico-node pod on ${x.who}>`])]
            : ['calicoctl apply -f bgppeer.yaml'],
          ...(nodeYaml ? { yaml: nodeYaml } : {}),
        },
      });
    }
    return result(findings);
  },
};
