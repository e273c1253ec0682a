/**
 * bgp.port-blocked (C8): a rule in a node's iptables that drops BGP (TCP 179) to or from its
 * peers. Runs, with the netfilter engine over the node's own dump, four packets per peer:
 * the peer's SYN to the node's BGP port and the answer to the node's own connection (PREROUTING,
 * INPUT), and the node's SYN to the peer and its answer to the peer's connection (OUTPUT,
 * POSTROUTING). The dropping rule's line is the evidence. A drop that depends on a match the
 * engine cannot evaluate is reported as "may drop" (warning).
 */
import { EnumeratingChooser } from '../../engine/netfilter/env.js';
import { type HookName, type HookResult, runHook } from '../../engine/netfilter/evaluate.js';
import { type Packet, newPacket } from '../../engine/packet.js';
import type { NodeData } from '../../model/bundle.js';
import type { Evidence } from '../../model/evidence.js';
import type { NodeRuntime } from '../../trace/runtime.js';
import { type Check, type Finding, type NotChecked, result } from '../types.js';
import { bgpSessions, dedupeEvidence, ev, listText, nodeIPv4, nodesByAddress, notChecked } from './util.js';

const ID = 'bgp.port-blocked';
const EPHEMERAL = 40000;

interface Probe {
  peer: string;
  what: string;
  pkt: () => Packet;
  hooks: HookName[];
}

interface Outcome {
  fate: 'drop' | 'maybe' | 'pass';
  decisions: HookResult['decision'][];
}

function runProbe(rt: NodeRuntime, probe: Probe): Outcome {
  const rs = rt.rules4!;
  const chooser = new EnumeratingChooser(64);
  let drops = 0;
  let runs = 0;
  const decisions: HookResult['decision'][] = [];
  do {
    chooser.begin();
    runs++;
    const pkt = probe.pkt();
    let dropped: HookResult | undefined;
    for (const hook of probe.hooks) {
      const r = runHook(rs, hook, pkt, rt.env, chooser, { record: false });
      if (r.fate === 'drop' || r.fate === 'reject') {
        dropped = r;
        break;
      }
    }
    if (dropped) {
      drops++;
      decisions.push(dropped.decision);
    }
  } while (chooser.next());
  return { fate: drops === 0 ? 'pass' : drops === runs ? 'drop' : 'maybe', decisions };
}

function reply(p: Packet): Packet {
  p.ct.state = 'ESTABLISHED';
  p.ct.dir = 'REPLY';
  p.ct.status = ['SEEN_REPLY', 'CONFIRMED'];
  p.tcpFlags = 0x12;
  return p;
}

function localAddress(n: NodeData, cluster: Parameters<typeof nodeIPv4>[0]): { ip?: string; iface?: string } {
  const ip = nodeIPv4(cluster, n.name);
  for (const i of n.interfaces ?? []) {
    for (const a of i.addrs) {
      if (a.family !== 4) continue;
      if (ip ? a.address === ip : i.name !== 'lo' && !i.name.startsWith('cali') && i.name !== 'tunl0' && i.name !== 'vxlan.calico' && a.scope !== 'host') return { ip: a.address, iface: i.name };
    }
  }
  return { ip, iface: 'eth0' };
}

export const bgpPortBlocked: Check = {
  id: ID,
  category: 'bgp',
  severity: 'error',
  title: 'iptables rules that drop BGP (TCP 179) between nodes and their peers',
  seeds: ['C8'],
  run(ctx) {
    const b = ctx.bundle;
    const c = b.cluster;
    const byAddr = nodesByAddress(c);
    const global = c.bgpConfigurations.find((x) => x.spec.scope === 'global');
    const mesh = global ? global.spec.nodeToNodeMeshEnabled : true;
    const listenPort = global?.spec.listenPort ?? 179;
    const findings: Finding[] = [];
    const nc: NotChecked[] = [];
    const rt = ctx.runtime();
    let bgpNodes = 0;
    // Only clusters that use BGP: sessions were collected, BGP peers exist, or no pool uses VXLAN.
    const pools = c.ipPools.filter((p) => !p.spec.disabled && !p.spec.cidr.includes(':'));
    const usesBgp = b.nodes.some((n) => (bgpSessions(b, n) ?? []).length > 0) || c.bgpPeers.length > 0 || (pools.length > 0 && pools.every((p) => p.spec.vxlanMode === 'Never'));
    if (!usesBgp) return result([], [notChecked(ID, 'the cluster does not use BGP (no BGP sessions or peers in the bundle, VXLAN pools)')]);
    for (const n of b.nodes) {
      const sessions = bgpSessions(b, n) ?? [];
      const peers = new Map<string, number>();
      for (const s of sessions) if (!s.peerIp.includes(':')) peers.set(s.peerIp, 179);
      if (mesh) {
        for (const [ip, name] of byAddr) if (name !== n.name && !ip.includes(':') && ip === nodeIPv4(c, name)) peers.set(ip, listenPort);
      }
      for (const p of c.bgpPeers) {
        if (!p.spec.peerAddress || p.spec.peerAddress.includes(':')) continue;
        if (p.spec.node && p.spec.node !== n.name) continue;
        if (p.spec.nodeSelector && p.spec.nodeSelector.trim() !== 'all()') continue;
        peers.set(p.spec.peerAddress, p.spec.peerPort ?? 179);
      }
      if (peers.size === 0) continue;
      bgpNodes++;
      const nr = rt.nodes.get(n.name);
      if (!nr?.rules4) {
        nc.push(notChecked(ID, `no iptables-save for node ${n.name}`, n.name));
        continue;
      }
      const local = localAddress(n, c);
      if (!local.ip) {
        nc.push(notChecked(ID, `no address known for node ${n.name} (no ip-addr, no Calico Node address)`, n.name));
        continue;
      }
      const L = local.ip;
      const iface = local.iface;
      const blocked: { probe: Probe; out: Outcome }[] = [];
      for (const [peer, port] of peers) {
        if (peer === L) continue;
        const probes: Probe[] = [
          { peer, what: `${peer} → ${L}:${listenPort} (peer opens the session)`, hooks: ['PREROUTING', 'INPUT'], pkt: () => ({ ...newPacket({ src: peer, dst: L, proto: 6, sport: EPHEMERAL, dport: listenPort }), inIface: iface }) },
          { peer, what: `${peer}:${port} → ${L} (answer to ${n.name}'s session)`, hooks: ['PREROUTING', 'INPUT'], pkt: () => reply({ ...newPacket({ src: peer, dst: L, proto: 6, sport: port, dport: EPHEMERAL }), inIface: iface }) },
          { peer, what: `${L} → ${peer}:${port} (${n.name} opens the session)`, hooks: ['OUTPUT', 'POSTROUTING'], pkt: () => ({ ...newPacket({ src: L, dst: peer, proto: 6, sport: EPHEMERAL, dport: port }), outIface: iface }) },
          { peer, what: `${L}:${listenPort} → ${peer} (answer to the peer's session)`, hooks: ['OUTPUT', 'POSTROUTING'], pkt: () => reply({ ...newPacket({ src: L, dst: peer, proto: 6, sport: listenPort, dport: EPHEMERAL }), outIface: iface }) },
        ];
        for (const probe of probes) {
          const out = runProbe(nr, probe);
          if (out.fate !== 'pass') blocked.push({ probe, out });
        }
      }
      if (blocked.length === 0) continue;
      const artifact = n.artifacts.iptables ?? n.artifacts['iptables-nft'] ?? n.artifacts['iptables-legacy'] ?? '';
      const evidence: Evidence[] = [];
      const rules = new Map<number, { table: string; raw: string }>();
      for (const { out } of blocked) {
        for (const d of out.decisions) {
          if (!d) continue;
          if (d.rule) rules.set(d.line, { table: d.table, raw: d.rule.raw });
          evidence.push(ev(b, artifact, d.line, d.rule ? `${d.table}/${d.chain}: drops TCP 179` : `${d.table}/${d.chain} policy ${d.policy}`, n.name));
        }
      }
      const sure = blocked.some((x) => x.out.fate === 'drop');
      const peersHit = [...new Set(blocked.map((x) => x.probe.peer))];
      const ruleList = [...rules.values()];
      findings.push({
        check: ID,
        severity: sure ? 'error' : 'warning',
        category: 'bgp',
        node: n.name,
        title: `${n.name}: iptables ${sure ? 'drops' : 'may drop'} BGP (TCP ${listenPort}) ${peersHit.length === peers.size ? 'to/from all its peers' : `with ${listText(peersHit, 3)}`}`,
        explanation:
          `Walking TCP 179 packets through ${n.name}'s own iptables dump:\n` +
          blocked.map((x) => `- ${x.probe.what}: ${x.out.fate === 'drop' ? 'dropped' : 'dropped under some assumptions'} by ${x.out.decisions[0]?.rule ? `\`${x.out.decisions[0].rule.raw}\`` : `${x.out.decisions[0]?.chain} policy ${x.out.decisions[0]?.policy}`}`).join('\n') +
          `\nBIRD cannot keep its sessions (they stay Active/Connect or expire the hold timer), so routes to and from ${n.name}'s pods are withdrawn.`,
        subject: n.name,
        evidence: dedupeEvidence(evidence),
        remediation: {
          summary: `Allow TCP ${listenPort} between the nodes (and BGP peers) before the dropping rule${ruleList.length > 1 ? 's' : ''}, or remove ${ruleList.length > 1 ? 'them' : 'it'}; the sessions re-establish by themselves.`,
          confirm: [`iptables-save | grep -n -- '179'   # on ${n.name}`, `nc -zv ${peersHit[0]} 179   # from ${n.name}`, 'calicoctl node status'],
          fix: [...ruleList.map((r) => `iptables -t ${r.table} ${r.raw.replace(/^-A /, '-D ')}`), `iptables -I INPUT -p tcp --dport ${listenPort} -s ${peersHit[0]} -j ACCEPT   # if the drop is a deliberate firewall, allow the peers`],
        },
      });
    }
    if (bgpNodes === 0 && !nc.length) nc.push(notChecked(ID, 'no BGP peers known (no bird-protocols, calicoctl node status, Calico Nodes or BGPPeers in the bundle)'));
    return result(findings, nc);
  },
};
