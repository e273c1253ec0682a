/**
 * iface.down: an interface the pod network needs is down — a pod's cali veth (administratively
 * down, or no carrier because the pod side is down), vxlan.calico / tunl0 / wireguard.cali, or
 * the underlay interface. The kernel treats routes over a down device as dead. Seeds C1, C2, S10.
 */
import type { Evidence } from '../../model/evidence.js';
import type { IpInterface } from '../../model/iproute.js';
import type { Check, CheckResult, Finding } from '../types.js';
import {
  dedupe,
  encapPools,
  epEv,
  ifaceEv,
  isWorkloadIfaceName,
  listText,
  localEndpoints,
  missing,
  notChecked,
  plural,
  remediation,
  routeDevs,
  routeEv,
  tunnelKind,
  underlayIface,
  workloadPrefixes,
} from './common.js';

const ID = 'iface.down';

/** Why an interface counts as down, or undefined when it is up. */
export function downReason(i: IpInterface): string | undefined {
  if (!i.up) return 'administratively down (no UP flag)';
  const state = (i.operState ?? '').toUpperCase();
  if (!i.lowerUp && (i.flags.includes('NO-CARRIER') || state === 'DOWN' || state === 'LOWERLAYERDOWN' || state === 'NOTPRESENT')) {
    return i.kind === 'veth' || isWorkloadIfaceName(i.name) ? 'up but without carrier: the other end of the veth (the pod side) is down' : `up but without carrier (state ${state || 'DOWN'})`;
  }
  return undefined;
}

export const ifaceDown: Check = {
  id: ID,
  category: 'interfaces',
  severity: 'error',
  title: 'An interface the pod network needs is down',
  seeds: ['C1', 'C2', 'S10'],
  run(ctx): CheckResult {
    const b = ctx.bundle;
    const out: CheckResult = { findings: [], notChecked: [] };
    const model = ctx.policy();
    const prefixes = workloadPrefixes(b.cluster);
    const encap = { vxlan: encapPools(b.cluster, 'vxlan').length > 0, ipip: encapPools(b.cluster, 'ipip').length > 0 };
    for (const n of b.nodes) {
      if (!n.interfaces) {
        out.notChecked.push(notChecked(ID, missing(n, 'ip-addr or ip-link'), n.name));
        continue;
      }
      const pods = new Map<string, string[]>();
      for (const e of localEndpoints(model, n.name)) pods.set(e.interfaceName, [...(pods.get(e.interfaceName) ?? []), e.id]);
      const routesVia = new Map<string, typeof n.routes>();
      for (const r of n.routes ?? []) {
        if (r.table === 'local') continue;
        for (const d of routeDevs(r)) routesVia.set(d, [...(routesVia.get(d) ?? []), r]);
      }
      const ul = underlayIface(b, n);
      const vethDown: { i: IpInterface; why: string; pods: string[] }[] = [];
      for (const i of n.interfaces) {
        const why = downReason(i);
        if (!why) continue;
        const routes = routesVia.get(i.name) ?? [];
        const podIds = pods.get(i.name) ?? [];
        const tk = tunnelKind(i);
        if (isWorkloadIfaceName(i.name, prefixes) && !tk) {
          if (podIds.length > 0 || routes.length > 0) vethDown.push({ i, why, pods: podIds });
          continue;
        }
        const isUnderlay = ul?.iface.name === i.name;
        const needed = tk ? (tk === 'vxlan' && encap.vxlan) || (tk === 'ipip' && encap.ipip) : false;
        if (!tk && !isUnderlay) continue;
        if (tk && !needed && routes.length === 0) continue;
        const evidence: Evidence[] = [ifaceEv(b, n, i, why)];
        for (const r of routes.slice(0, 3)) evidence.push(routeEv(b, n, r, `route over ${i.name}: dead while it is down`));
        const role = isUnderlay ? `the underlay interface (${ul!.how})` : `the ${tk === 'vxlan' ? 'VXLAN' : tk === 'ipip' ? 'IP-in-IP' : 'WireGuard'} tunnel device`;
        const f: Finding = {
          check: ID,
          severity: isUnderlay || routes.length > 0 || needed ? 'error' : 'warning',
          category: 'interfaces',
          title: `${i.name} is down on ${n.name}`,
          explanation: `${i.name} is ${role} of ${n.name} and is ${why}. ${isUnderlay ? `Everything ${n.name} sends to other nodes, pods and the outside uses it.` : `Cross-node pod traffic that is encapsulated through it is lost`}${routes.length ? ` (${plural(routes.length, 'route')} use it and are dead).` : '.'}`,
          node: n.name,
          subject: i.name,
          evidence: dedupe(evidence),
          remediation: remediation(
            `Bring ${i.name} up${tk ? `; Felix recreates and configures ${i.name} when it is running and in sync` : ''}.`,
            [`ip -d link show ${i.name}  # on ${n.name}`],
            [`ip link set ${i.name} up  # on ${n.name}`],
          ),
        };
        out.findings.push(f);
      }
      if (vethDown.length > 0) {
        const evidence: Evidence[] = [];
        for (const v of vethDown.slice(0, 6)) {
          evidence.push(ifaceEv(b, n, v.i, `${v.why}${v.pods.length ? `; veth of ${v.pods.join(', ')}` : ''}`));
          const e = model.endpoints.find((x) => x.interfaceName === v.i.name && x.node === n.name);
          if (e) evidence.push(epEv(b, e, e.ips[0], `${e.from} ${e.id}`));
        }
        const podIds = vethDown.flatMap((v) => v.pods);
        const first = vethDown[0];
        out.findings.push({
          check: ID,
          severity: 'error',
          category: 'interfaces',
          title: `${plural(vethDown.length, 'pod veth')} down on ${n.name}${podIds.length ? ` (${listText(podIds, 2)})` : ''}`,
          explanation: `${listText(vethDown.map((v) => `${v.i.name} (${v.why})`), 3)}. The kernel does not use routes over a down interface, so ${podIds.length ? listText(podIds, 3) : 'these pods'} cannot send or receive anything.`,
          node: n.name,
          subject: first.i.name,
          evidence: dedupe(evidence),
          remediation: remediation(
            `Bring the veth up on the host; if its pod side is down, the pod's network namespace is broken: recreate the pod.`,
            vethDown.slice(0, 3).map((v) => `ip -d link show ${v.i.name}  # on ${n.name}`),
            [`ip link set ${first.i.name} up  # on ${n.name}`, ...(podIds[0] ? [`kubectl delete pod -n ${podIds[0].split('/')[0]} ${podIds[0].split('/')[1]}  # recreate the pod`] : [])],
          ),
        });
      }
    }
    return out;
  },
};
