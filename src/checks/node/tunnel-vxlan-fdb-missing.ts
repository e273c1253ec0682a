/**
 * tunnel.vxlan-fdb-missing: a route via vxlan.calico whose next hop (the remote VTEP's tunnel
 * address) has no permanent neighbour entry, or whose MAC has no FDB entry with a destination —
 * or the entries point at the wrong MAC / host. vxlan.calico runs without learning: Felix
 * programs `ip neigh … nud permanent` and `bridge fdb … dst <node IP> self permanent` per remote
 * node, and without them the kernel cannot build the VXLAN packet. Seeds C2, S10, F3.
 */
import type { Evidence } from '../../model/evidence.js';
import type { IpRoute } from '../../model/iproute.js';
import { parseAddr } from '../../model/ipset.js';
import type { Check, CheckResult } from '../types.js';
import { dedupe, fdbEv, ifaceArtifact, missing, neighEv, nodeIPv4, notChecked, remediation, restartCalicoNode, routeEv, tunnelKind } from './common.js';

const ID = 'tunnel.vxlan-fdb-missing';

export const tunnelVxlanFdbMissing: Check = {
  id: ID,
  category: 'interfaces',
  severity: 'error',
  title: 'A VXLAN route has no neighbour or FDB entry',
  seeds: ['C2', 'S10', 'F3'],
  run(ctx): CheckResult {
    const b = ctx.bundle;
    const c = b.cluster;
    const out: CheckResult = { findings: [], notChecked: [] };
    // Tunnel address → node (and the MAC Felix publishes for it).
    const vtepOwner = new Map<string, { node: string; mac?: string }>();
    for (const cn of c.calicoNodes) {
      const t = cn.spec.ipv4VXLANTunnelAddr && parseAddr(cn.spec.ipv4VXLANTunnelAddr)?.text;
      if (t) vtepOwner.set(t, { node: cn.metadata.name, mac: cn.spec.vxlanTunnelMACAddr?.toLowerCase() });
      const t6 = cn.spec.ipv6VXLANTunnelAddr && parseAddr(cn.spec.ipv6VXLANTunnelAddr)?.text;
      if (t6) vtepOwner.set(t6, { node: cn.metadata.name, mac: cn.spec.vxlanTunnelMACAddrV6?.toLowerCase() });
    }
    for (const kn of c.nodes) {
      const t = kn.calico.ipv4VXLANTunnelAddr && parseAddr(kn.calico.ipv4VXLANTunnelAddr)?.text;
      if (t && !vtepOwner.has(t)) vtepOwner.set(t, { node: kn.metadata.name, mac: kn.calico.vxlanTunnelMACAddr?.toLowerCase() });
    }
    for (const n of b.nodes) {
      const ifaces = new Map((n.interfaces ?? []).map((i) => [i.name, i]));
      const isVx = (dev: string) => {
        const i = ifaces.get(dev);
        return i ? tunnelKind(i) === 'vxlan' : /^vxlan(-v6)?\.calico$/.test(dev);
      };
      const byHop = new Map<string, { dev: string; gw: string; routes: IpRoute[] }>();
      for (const r of n.routes ?? []) {
        if (r.table === 'local' || r.type !== 'unicast') continue;
        const hops = r.nexthops?.length ? r.nexthops.map((h) => ({ dev: h.dev, via: h.via })) : [{ dev: r.dev, via: r.via }];
        for (const h of hops) {
          if (!h.dev || !h.via || !isVx(h.dev)) continue;
          const gw = parseAddr(h.via)?.text ?? h.via;
          const k = `${h.dev}|${gw}`;
          const e = byHop.get(k) ?? { dev: h.dev, gw, routes: [] };
          e.routes.push(r);
          byHop.set(k, e);
        }
      }
      if (byHop.size === 0) continue;
      if (!n.neighbors) {
        out.notChecked.push(notChecked(ID, missing(n, 'ip-neigh'), n.name));
        continue;
      }
      const fdbMissing = !n.fdb;
      // Indexes: a node has one neighbour and one FDB entry per remote VTEP, and hundreds of nodes.
      const neighBy = new Map<string, (typeof n.neighbors)[number][]>();
      for (const x of n.neighbors) {
        const k = parseAddr(x.dst)?.text ?? x.dst;
        neighBy.set(k, [...(neighBy.get(k) ?? []), x]);
      }
      const fdbBy = new Map<string, NonNullable<typeof n.fdb>[number][]>();
      for (const f of n.fdb ?? []) {
        const k = f.mac.toLowerCase();
        fdbBy.set(k, [...(fdbBy.get(k) ?? []), f]);
      }
      if (fdbMissing) out.notChecked.push(notChecked(ID, `${missing(n, 'bridge-fdb')} (neighbour entries checked only)`, n.name));
      for (const { dev, gw, routes } of byHop.values()) {
        const owner = vtepOwner.get(gw);
        const remoteIp = owner ? nodeIPv4(c, owner.node)?.ip : undefined;
        const evidence: Evidence[] = routes.slice(0, 2).map((r) => routeEv(b, n, r, `route via the VTEP ${gw} on ${dev}`));
        const neigh = (neighBy.get(gw) ?? []).find((x) => x.dev === dev || x.dev === '');
        let problem: string | undefined;
        let fixCmds: string[] = [];
        const mac = owner?.mac;
        if (!neigh || !neigh.lladdr) {
          problem = neigh ? `the neighbour entry for ${gw} on ${dev} has no MAC (${neigh.state.join(' ')})` : `there is no neighbour (ARP) entry for ${gw} on ${dev}`;
          if (neigh) evidence.push(neighEv(b, n, neigh, 'incomplete'));
          else evidence.push({ artifact: n.artifacts['ip-neigh'] ?? `nodes/${n.name}/ip-neigh`, node: n.name, note: `no entry for ${gw} dev ${dev}` });
          if (mac) fixCmds.push(`ip neigh replace ${gw} lladdr ${mac} dev ${dev} nud permanent  # on ${n.name}`);
        } else {
          const nm = neigh.lladdr.toLowerCase();
          evidence.push(neighEv(b, n, neigh, `VTEP ${gw} → MAC ${nm}`));
          if (!neigh.state.includes('PERMANENT')) problem = `the neighbour entry for ${gw} on ${dev} is ${neigh.state.join(' ') || 'not permanent'}, not the PERMANENT entry Felix programs (vxlan.calico has no ARP)`;
          else if (mac && nm !== mac) problem = `the neighbour entry maps ${gw} to ${nm}, but ${owner!.node}'s VXLAN MAC is ${mac} (stale after the node's tunnel was recreated)`;
          if (!problem && !fdbMissing) {
            const fdb = (fdbBy.get(nm) ?? []).find((f) => (f.dev === dev || f.dev === '') && f.dst);
            if (!fdb) {
              problem = `there is no FDB entry with a destination for MAC ${nm} on ${dev}: the kernel does not know which host to send the VXLAN packet to`;
              evidence.push({ artifact: n.artifacts['bridge-fdb'] ?? `nodes/${n.name}/bridge-fdb`, node: n.name, note: `no '${nm} dev ${dev} dst …' entry` });
              if (remoteIp) fixCmds.push(`bridge fdb replace ${nm} dev ${dev} dst ${remoteIp} self permanent  # on ${n.name}`);
            } else {
              evidence.push(fdbEv(b, n, fdb, `MAC ${nm} → host ${fdb.dst}`));
              if (remoteIp && parseAddr(fdb.dst!)?.text !== parseAddr(remoteIp)?.text) {
                problem = `the FDB entry sends MAC ${nm} to ${fdb.dst}, but ${owner!.node} (owner of VTEP ${gw}) is at ${remoteIp}`;
                fixCmds.push(`bridge fdb replace ${nm} dev ${dev} dst ${remoteIp} self permanent  # on ${n.name}`);
              }
            }
          }
        }
        if (!problem) continue;
        fixCmds = [...fixCmds, restartCalicoNode(c, n.name) + '  # Felix reprograms neighbours and FDB'];
        out.findings.push({
          check: ID,
          severity: 'error',
          category: 'interfaces',
          title: `VXLAN to ${owner ? owner.node : gw} is not programmed on ${n.name}`,
          explanation: `${routes.length} route(s) on ${n.name} send pod traffic via ${gw} on ${dev}${owner ? ` (${owner.node}'s VXLAN tunnel address)` : ''}, but ${problem}. Cross-node traffic from ${n.name} to those pods is dropped before it is encapsulated.`,
          node: n.name,
          subject: gw,
          evidence: dedupe(evidence.length ? evidence : [{ artifact: ifaceArtifact(n), node: n.name }]),
          remediation: remediation(
            `Let Felix reprogram the VXLAN neighbour and FDB entries (restart calico-node on ${n.name} if it is not in sync); add them by hand to restore traffic now.`,
            [`ip neigh show dev ${dev}  # on ${n.name}`, `bridge fdb show dev ${dev}  # on ${n.name}`, ...(owner ? [`calicoctl get node ${owner.node} -o yaml  # spec.ipv4VXLANTunnelAddr, spec.vxlanTunnelMACAddr`] : [])],
            fixCmds,
          ),
        });
      }
    }
    return out;
  },
};
