/**
 * mtu.mismatch: MTUs that do not fit the path. Two cases:
 * - a tunnel device's MTU is larger than the underlay MTU minus the encapsulation overhead
 *   (VXLAN 50, IPv6 VXLAN 70, IP-in-IP 20, WireGuard 60 / 80): encapsulated packets exceed the
 *   underlay and are fragmented or need PMTU discovery (warning);
 * - the pods' veth MTU is larger than the MTU of the device their cross-node traffic leaves by
 *   (the tunnel, or the underlay when not encapsulating), or than another node's underlay: a
 *   full-size don't-fragment packet is dropped (ICMP fragmentation-needed, often filtered), so
 *   large transfers hang while pings and handshakes work (error).
 * Seeds C1, C10, C11, F6.
 */
import type { Evidence } from '../../model/evidence.js';
import type { IpInterface, IpRoute } from '../../model/iproute.js';
import type { Check, CheckResult } from '../types.js';
import {
  allBlocks,
  dedupe,
  encapOverhead,
  ifaceEv,
  isWorkloadIfaceName,
  listText,
  localEndpoints,
  missing,
  notChecked,
  remediation,
  routeEv,
  tunnelKind,
  underlayIface,
  workloadPrefixes,
} from './common.js';
import { isPodRoute, poolsOf } from './routes.js';

const ID = 'mtu.mismatch';

const MTU_DOC = 'https://docs.tigera.io/calico/latest/networking/configuring/mtu';

export const mtuMismatch: Check = {
  id: ID,
  category: 'interfaces',
  severity: 'error',
  title: 'MTUs do not fit the encapsulation or the path',
  seeds: ['C1', 'C10', 'C11', 'F6'],
  run(ctx): CheckResult {
    const b = ctx.bundle;
    const out: CheckResult = { findings: [], notChecked: [] };
    const rt = ctx.runtime();
    const model = ctx.policy();
    const pools = poolsOf(ctx);
    const prefixes = workloadPrefixes(b.cluster);
    // Underlay MTU and pod veth MTU of every node in the bundle.
    const underlays = new Map<string, IpInterface>();
    const vethMtu = new Map<string, { mtu: number; iface: IpInterface }>();
    for (const n of b.nodes) {
      const ul = underlayIface(b, n);
      if (ul?.iface.mtu) underlays.set(n.name, ul.iface);
      const names = new Set(localEndpoints(model, n.name).map((e) => e.interfaceName));
      for (const i of n.interfaces ?? []) {
        if (!i.mtu || !(names.has(i.name) || (names.size === 0 && isWorkloadIfaceName(i.name, prefixes) && !tunnelKind(i)))) continue;
        const cur = vethMtu.get(n.name);
        if (!cur || i.mtu > cur.mtu) vethMtu.set(n.name, { mtu: i.mtu, iface: i });
      }
    }
    for (const n of b.nodes) {
      if (!n.interfaces) {
        out.notChecked.push(notChecked(ID, missing(n, 'ip-addr or ip-link'), n.name));
        continue;
      }
      const ul = underlays.get(n.name);
      const nr = rt.nodes.get(n.name)!;
      // 1. Tunnels larger than the underlay allows.
      if (ul?.mtu) {
        for (const t of n.interfaces) {
          const kind = tunnelKind(t);
          if (!kind || !t.mtu) continue;
          const over = encapOverhead(kind, t.name.includes('v6') ? 6 : 4);
          const max = ul.mtu - over;
          if (t.mtu <= max) continue;
          out.findings.push({
            check: ID,
            severity: 'warning',
            category: 'interfaces',
            title: `${t.name} MTU ${t.mtu} exceeds ${ul.name} MTU ${ul.mtu} minus ${over} bytes of ${kind} on ${n.name}`,
            explanation: `${kind === 'vxlan' ? 'VXLAN' : kind === 'ipip' ? 'IP-in-IP' : 'WireGuard'} adds ${over} bytes, so ${t.name} should not exceed ${max} on an underlay of ${ul.mtu}. A full ${t.mtu}-byte packet becomes ${t.mtu + over} bytes on ${ul.name}: it is fragmented${kind === 'ipip' ? ' or, with DF set, answered with ICMP fragmentation-needed' : ''}, which costs throughput and breaks where fragments or ICMP are filtered.`,
            node: n.name,
            subject: t.name,
            evidence: [ifaceEv(b, n, t, `tunnel MTU ${t.mtu}`), ifaceEv(b, n, ul, `underlay MTU ${ul.mtu}`)],
            remediation: remediation(
              `Set the ${kind} MTU to ${max} (or let Calico detect it: remove the explicit MTU) and restart calico-node; pods pick up the new veth MTU when recreated.`,
              [`ip -d link show ${t.name}  # on ${n.name}`, `ip link show ${ul.name}  # on ${n.name}`],
              [`calicoctl patch felixconfiguration default --patch '{"spec":{"${kind === 'vxlan' ? 'vxlanMTU' : kind === 'ipip' ? 'ipipMTU' : 'wireguardMTU'}":${max}}}'`, `# operator installs: kubectl patch installation default --type merge -p '{"spec":{"calicoNetwork":{"mtu":${max}}}}'`, `# see ${MTU_DOC}`],
            ),
          });
        }
      }
      // 2. Pod veths larger than the device their cross-node traffic leaves by, or than another node's underlay.
      const veth = vethMtu.get(n.name);
      if (!veth) continue;
      const byDev = new Map<string, { limit: number; iface?: IpInterface; targets: string[]; route?: IpRoute }>();
      if (n.routes) {
        for (const blk of allBlocks(b)) {
          if (blk.node === n.name || blk.prefix.family !== 'inet') continue;
          const d = nr.routing.lookup({ family: 4, dst: blk.prefix.text });
          if (d.kind !== 'unicast' || !d.dev || !isPodRoute(d.route, pools, blk.prefix.text)) continue;
          const dev = nr.interfaces.get(d.dev);
          const limit = d.route?.mtu ?? dev?.mtu;
          if (!limit) continue;
          const k = `${d.dev}|${limit}`;
          const e = byDev.get(k) ?? { limit, iface: dev, targets: [], route: d.route };
          e.targets.push(blk.node);
          byDev.set(k, e);
        }
      }
      for (const [k, e] of byDev) {
        if (veth.mtu <= e.limit) continue;
        const dev = k.split('|')[0];
        const targets = [...new Set(e.targets)];
        const tk = e.iface ? tunnelKind(e.iface) : undefined;
        const evidence: Evidence[] = [ifaceEv(b, n, veth.iface, `pod veth MTU ${veth.mtu}`)];
        if (e.iface) evidence.push(ifaceEv(b, n, e.iface, `${tk ? 'tunnel' : 'outgoing interface'} MTU ${e.iface.mtu}`));
        if (e.route) evidence.push(routeEv(b, n, e.route, `pod traffic to ${listText(targets, 2)} leaves by ${dev}${e.route.mtu ? ` (route mtu ${e.route.mtu})` : ''}`));
        const right = tk && ul?.mtu ? Math.min(e.limit, ul.mtu - encapOverhead(tk)) : e.limit;
        out.findings.push({
          check: ID,
          severity: 'error',
          category: 'interfaces',
          title: `Pod MTU ${veth.mtu} on ${n.name} is larger than ${dev} (${e.limit}) toward ${listText(targets, 2)}`,
          explanation: `Pods on ${n.name} use an MTU of ${veth.mtu} (their veth ${veth.iface.name}), but their traffic to pods on ${listText(targets, 3)} leaves by ${dev} with MTU ${e.limit}${tk ? ` (${tk} encapsulation)` : ''}. Full-size packets with don't-fragment set (TCP, path-MTU pings) are dropped with ICMP fragmentation-needed: small requests work, large transfers stall.`,
          node: n.name,
          subject: dev,
          evidence: dedupe(evidence),
          remediation: remediation(
            `Give pods an MTU of at most ${right} (Calico's veth MTU) and recreate them, or raise ${dev}'s MTU if the network allows.`,
            [`ip link show ${veth.iface.name}; ip link show ${dev}  # on ${n.name}`, `kubectl exec <pod on ${n.name}> -- ping -M do -s ${veth.mtu - 28} <pod IP on ${targets[0]}>`],
            [`kubectl patch installation default --type merge -p '{"spec":{"calicoNetwork":{"mtu":${right}}}}'  # operator; manifests: veth_mtu in the calico-config ConfigMap`, `# then restart calico-node and recreate the pods; see ${MTU_DOC}`],
          ),
        });
      }
      // 3. This node's underlay is smaller than the packets other nodes' pods send it unencapsulated.
      if (ul?.mtu) {
        const bigger = [...vethMtu].filter(([name, v]) => name !== n.name && v.mtu > ul.mtu! && (underlays.get(name)?.mtu ?? 0) > ul.mtu!);
        const encapsulated = (n.routes ?? []).some((r) => r.dev && nr.interfaces.get(r.dev) && tunnelKind(nr.interfaces.get(r.dev)!));
        // When this node's own pods are too large too, case 2 already says so.
        if (bigger.length > 0 && !encapsulated && veth.mtu <= ul.mtu) {
          const others = bigger.map(([name]) => name);
          out.findings.push({
            check: ID,
            severity: 'error',
            category: 'interfaces',
            title: `${n.name}'s underlay MTU ${ul.mtu} is smaller than other nodes' pod MTU`,
            explanation: `${listText(others, 3)} send${others.length === 1 ? 's' : ''} pod packets of up to ${bigger[0][1].mtu} bytes unencapsulated, but ${ul.name} on ${n.name} has MTU ${ul.mtu}. Full-size packets to ${n.name}'s pods are dropped on the way in.`,
            node: n.name,
            subject: ul.name,
            evidence: [ifaceEv(b, n, ul, `underlay MTU ${ul.mtu}`), ...bigger.slice(0, 2).map(([name, v]) => ifaceEv(b, b.nodes.find((x) => x.name === name)!, v.iface, `pod veth MTU ${v.mtu} on ${name}`))],
            remediation: remediation(`Use one underlay MTU on all nodes, or lower the pod MTU cluster-wide to fit the smallest.`, [`ip link show ${ul.name}  # on ${n.name}`], [`ip link set ${ul.name} mtu ${bigger[0][1].mtu}  # on ${n.name}, if the network allows`]),
          });
        }
      }
    }
    return out;
  },
};
