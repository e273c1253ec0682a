/**
 * bgp.peer-not-established (C8, C2, C12): BGP sessions that are not Established, per node, from
 * BIRD's `show protocols [all]` (preferred) or `calicoctl node status`, with state, since and the
 * last error, and what that error usually means. Also: BIRD not running at all.
 */
import type { Evidence } from '../../model/evidence.js';
import { type Check, type Finding, type NotChecked, result } from '../types.js';
import { type BgpSession, bgpSessions, ev, listText, nodesByAddress, notChecked, plural } from './util.js';

const ID = 'bgp.peer-not-established';

/** What a BIRD last error / state usually means, and the check that pins it down. */
export function diagnoseSession(s: BgpSession): string {
  const e = s.lastError ?? '';
  if (/bad peer as/i.test(e)) return 'the AS numbers of the two ends disagree (see bgp.as-mismatch)';
  if (/no listening socket/i.test(e)) return 'BIRD could not open its listening socket on the BGP port: another process (e.g. bgpd/FRR, or a second BIRD) already holds TCP 179 on this node — stop it, or move Calico to another port (BGPConfiguration listenPort)';
  if (/bad bgp identifier/i.test(e)) return 'both ends use the same BGP router ID: the node is peering with its own address (a BGPPeer pointing a node at itself) or two nodes share a router ID (same detected IP, or CALICO_ROUTER_ID)';
  if (/connection refused/i.test(e)) return 'the peer answers TCP 179 with a reset: its BIRD is not running or not listening on that address, or a firewall REJECTs';
  if (/hold timer expired/i.test(e)) return 'keepalives stopped arriving: TCP 179 is being dropped on the path (see bgp.port-blocked) or the peer is overloaded/down';
  if (/no route to host|network unreachable|host unreachable/i.test(e)) return 'the peer address is not reachable from this node (routing or the peer is down)';
  if (/authentication|md5|password/i.test(e)) return 'the BGP passwords of the two ends differ';
  if (/connection timed out|timed out/i.test(e)) return 'TCP 179 gets no answer: dropped by a firewall (see bgp.port-blocked) or the peer is down';
  const st = (s.bgpState ?? '').toLowerCase();
  if (st === 'active' || st === 'connect') return 'BIRD keeps trying to open TCP 179 and gets no answer: dropped by a firewall (see bgp.port-blocked), the peer is down, or the peer IP is wrong';
  if (st === 'idle') return 'BIRD is waiting before retrying after an error';
  if (st === 'opensent' || st === 'openconfirm') return 'TCP connects but the BGP OPEN exchange does not complete (AS, router ID or capabilities rejected)';
  if (s.state === 'down') return 'the protocol is down (disabled or the peer was removed)';
  return 'the session is not up';
}

export const bgpPeerNotEstablished: Check = {
  id: ID,
  category: 'bgp',
  severity: 'error',
  title: 'BGP sessions that are not Established',
  seeds: ['C8', 'C2', 'C12'],
  run(ctx) {
    const b = ctx.bundle;
    const byAddr = nodesByAddress(b.cluster);
    const findings: Finding[] = [];
    const nc: NotChecked[] = [];
    let withData = 0;
    for (const n of b.nodes) {
      const sessions = bgpSessions(b, n);
      if (n.nodeStatus && n.nodeStatus.messages.some((m) => /BIRD\)? is not running|bird.* is not running/i.test(m))) {
        const artifact = n.artifacts['calicoctl-node-status'] ?? '';
        const m = n.nodeStatus.messages.find((x) => /not running/i.test(x))!;
        findings.push({
          check: ID,
          severity: 'error',
          category: 'bgp',
          node: n.name,
          title: `${n.name}: the BGP daemon (BIRD) is not running`,
          explanation: `calicoctl node status says "${m}". Without BIRD the node neither learns other nodes' blocks nor advertises its own: cross-node traffic in BGP/IPIP mode fails.`,
          subject: n.name,
          evidence: [ev(b, artifact, findLine(b.rawText(artifact), m), 'calicoctl node status', n.name)],
          remediation: {
            summary: 'Check why BIRD is not running in calico-node (the calico-node logs, CALICO_NETWORKING_BACKEND=bird, the bird.cfg confd renders).',
            confirm: [`kubectl logs -n calico-system <calico-node pod on ${n.name}> -c calico-node | grep -i bird`, 'calicoctl node status'],
            fix: [`kubectl delete pod -n calico-system <calico-node pod on ${n.name}>`],
          },
        });
      }
      if (!sessions) continue;
      withData++;
      const bad = sessions.filter((s) => !s.established);
      if (bad.length === 0) continue;
      const evidence: Evidence[] = [];
      const lines: string[] = [];
      for (const s of bad) {
        const peerNode = byAddr.get(s.peerIp);
        evidence.push(ev(b, s.artifact, s.line, `${s.peerIp}${peerNode ? ` (${peerNode})` : ''}: ${s.bgpState ?? s.state}`, n.name));
        if (s.detailLines?.lastError) evidence.push(ev(b, s.artifact, s.detailLines.lastError, undefined, n.name));
        lines.push(
          `- ${s.name ?? s.peerIp}: peer ${s.peerIp}${peerNode ? ` (node ${peerNode})` : s.type ? ` (${s.type})` : ''}, state ${s.state}${s.bgpState ? `/${s.bgpState}` : ''} since ${s.since ?? '?'}` +
            `${s.lastError ? `, last error "${s.lastError}"` : ''} — ${diagnoseSession(s)}`,
        );
      }
      const first = bad[0];
      const birdName = first.name ?? `<protocol for ${first.peerIp}>`;
      findings.push({
        check: ID,
        severity: 'error',
        category: 'bgp',
        node: n.name,
        title: `${n.name}: ${plural(bad.length, 'BGP session')} not Established (${listText(bad.map((s) => `${s.peerIp} ${s.bgpState ?? s.state}`), 3)})`,
        explanation:
          `${bad.length} of ${sessions.length} BGP sessions of ${n.name} are down. Routes to the pod blocks behind these peers are not exchanged, so cross-node pod traffic between them fails (BGP and IPIP modes).\n` +
          lines.join('\n'),
        subject: n.name,
        evidence,
        remediation: {
          summary: 'Find out why each session fails (last error above), fix that, and the session comes up by itself within a minute.',
          confirm: [
            `kubectl exec -n calico-system <calico-node pod on ${n.name}> -c calico-node -- birdcl -s /var/run/calico/bird.ctl show protocols all ${birdName}`,
            'calicoctl node status',
            `nc -zv ${first.peerIp} 179   # from ${n.name}`,
          ],
          fix: ['see bgp.port-blocked / bgp.as-mismatch for the matching causes; after fixing: calicoctl node status shows Established'],
        },
      });
    }
    // A node whose BIRD has no BGP peers while others have sessions: it neither learns nor advertises routes.
    const others = b.nodes.filter((n) => (bgpSessions(b, n) ?? []).length > 0);
    if (others.length > 0) {
      for (const n of b.nodes) {
        const sessions = bgpSessions(b, n);
        if (!sessions || sessions.length > 0) continue;
        const artifact = n.nodeStatus && !n.birdProtocols ? (n.artifacts['calicoctl-node-status'] ?? '') : (n.artifacts['bird-protocols'] ?? '');
        const line = n.nodeStatus && !n.birdProtocols ? findLine(b.rawText(artifact), 'No IPv4 peers found') : undefined;
        findings.push({
          check: ID,
          severity: 'error',
          category: 'bgp',
          node: n.name,
          title: `${n.name}: BIRD has no BGP peers while other nodes do`,
          explanation:
            `${n.name} has no BGP session at all, while ${listText(others.map((o) => o.name), 3)} ${others.length === 1 ? 'has' : 'have'} sessions: ${n.name} neither learns the other nodes' pod blocks nor advertises its own, and it refuses the sessions other nodes open to it ("Connection refused"). ` +
            'Usually its Calico Node has no (or a wrong) BGP address, the node-to-node mesh is off without BGPPeers selecting it, or it runs with another datastore.',
          subject: n.name,
          evidence: [ev(b, artifact, line, 'no BGP peers', n.name)],
          remediation: {
            summary: `Give ${n.name} its peers: check its Calico Node's spec.bgp.ipv4Address (IP autodetection), the BGPConfiguration nodeToNodeMeshEnabled, and BGPPeers selecting it.`,
            confirm: [`calicoctl get node ${n.name} -o yaml`, 'calicoctl get bgpconfiguration default -o yaml', 'calicoctl get bgppeer -o wide', `calicoctl node status   # on ${n.name}`],
            fix: [`kubectl set env daemonset/calico-node -n calico-system IP_AUTODETECTION_METHOD=can-reach=<another node's IP>   # if the address is wrong`],
          },
        });
      }
    }
    if (withData === 0) nc.push(notChecked(ID, 'no bird-protocols or calicoctl-node-status in the bundle (not a BGP cluster, or BGP state was not collected)'));
    else for (const n of b.nodes) if (!n.birdProtocols && !n.bird6Protocols && !n.nodeStatus) nc.push(notChecked(ID, `no bird-protocols or calicoctl-node-status for node ${n.name}`, n.name));
    return result(findings, nc);
  },
};

function findLine(text: string | undefined, needle: string): number | undefined {
  if (!text) return undefined;
  const i = text.split('\n').findIndex((l) => l.includes(needle));
  return i >= 0 ? i + 1 : undefined;
}
