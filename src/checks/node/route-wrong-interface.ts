/**
 * route.wrong-interface: the host route of a local pod points at another interface than the
 * pod's veth (a stale route left by a previous pod with the same IP, a duplicate IP, a route via
 * a gateway), or the route is right but the kernel's lookup — through policy rules or a
 * better-metric route — sends the pod's traffic elsewhere. Seeds C1, C7, S7, M5.
 */
import type { Evidence } from '../../model/evidence.js';
import type { Check, CheckResult, Severity } from '../types.js';
import { dedupe, epEv, ifaceEv, missing, notChecked, remediation, restartCalicoNode, routeDevs, routeEv, ruleEv } from './common.js';
import { decisionText, hasFamilyRoutes, workloadRouteStates } from './routes.js';

const ID = 'route.wrong-interface';

export const routeWrongInterface: Check = {
  id: ID,
  category: 'routing',
  severity: 'error',
  title: "A local pod's route leaves by the wrong interface",
  seeds: ['C1', 'C7', 'S7', 'M5'],
  run(ctx): CheckResult {
    const b = ctx.bundle;
    const out: CheckResult = { findings: [], notChecked: [] };
    const rt = ctx.runtime();
    const model = ctx.policy();
    for (const n of b.nodes) {
      if (!n.routes || !(hasFamilyRoutes(n, 4) || hasFamilyRoutes(n, 6))) {
        out.notChecked.push(notChecked(ID, missing(n, 'ip-route'), n.name));
        continue;
      }
      const nr = rt.nodes.get(n.name)!;
      const owners = new Map<string, string>();
      for (const e of model.endpoints) if (e.node === n.name && e.kind === 'workload') owners.set(e.interfaceName, e.id);
      for (const s of workloadRouteStates(ctx, nr)) {
        const { ep, ip, decision: d } = s;
        const unicast = s.routes.filter((r) => r.type === 'unicast');
        if (unicast.length === 0) continue; // route.missing-workload
        const right = unicast.filter((r) => !r.via && routeDevs(r).length === 1 && routeDevs(r)[0] === ep.interfaceName);
        const cmd = s.family === 6 ? 'ip -6 route' : 'ip route';
        const epIface = nr.interfaces.get(ep.interfaceName);
        if (right.length > 0 && !(d.kind === 'unicast' && d.dev !== ep.interfaceName && !(epIface && !epIface.up))) continue;
        const evidence: Evidence[] = [epEv(b, ep, ip, `${ep.from} ${ep.id}: ${ip}, interface ${ep.interfaceName}`)];
        let severity: Severity = 'error';
        let what: string;
        if (right.length === 0) {
          const wrong = unicast[0];
          const dev = routeDevs(wrong)[0];
          const devIface = dev ? nr.interfaces.get(dev) : undefined;
          const other = dev ? owners.get(dev) : undefined;
          for (const r of unicast) evidence.push(routeEv(b, n, r, `the route for ${ip} uses ${routeDevs(r).join(', ') || 'no device'}${r.via ? ` via ${r.via}` : ''}`));
          if (epIface) evidence.push(ifaceEv(b, n, epIface, `the pod's own veth`));
          if (devIface) evidence.push(ifaceEv(b, n, devIface, other ? `belongs to pod ${other}` : 'the interface the route uses'));
          // When the pod's interface name was only computed and is not on the node, the route may be right under another naming.
          if (!epIface && n.interfaces && devIface && !other && ep.from === 'Pod') severity = 'warning';
          what = wrong.via
            ? `the route sends ${ip} via ${wrong.via}${dev ? ` on ${dev}` : ''}, away from this node's pod`
            : other
              ? `the route points at ${dev}, the veth of pod ${other} (two pods with one address, or a stale route)`
              : dev && n.interfaces && !devIface
                ? `the route points at ${dev}, which does not exist any more (a stale route of a deleted pod)`
                : `the route points at ${dev ?? 'no device'} instead of ${ep.interfaceName}`;
        } else if (d.kind === 'unicast' && d.dev !== ep.interfaceName && !(epIface && !epIface.up)) {
          if (d.route) evidence.push(routeEv(b, n, d.route, `the route the kernel picks for ${ip}`));
          if (d.rule) evidence.push(ruleEv(b, n, d.rule, `policy rule that leads to table ${d.table}`));
          evidence.push(routeEv(b, n, right[0], `the pod's own route, not used`));
          what = `the pod's route exists, but the kernel's lookup${d.rule ? ` (ip rule ${d.rule.priority}, table ${d.table})` : ''} picks ${decisionText(d)}`;
        } else continue;
        out.findings.push({
          check: ID,
          severity,
          category: 'routing',
          title: `Traffic to pod ${ep.id} (${ip}) on ${n.name} does not go to ${ep.interfaceName}`,
          explanation: `Pod ${ep.id} is on ${n.name} behind ${ep.interfaceName}, but ${what}. Packets for the pod are delivered to the wrong place or dropped, and the pod's replies fail the strict reverse-path check on its veth.`,
          node: n.name,
          subject: ep.id,
          evidence: dedupe(evidence),
          remediation: remediation(
            `Replace the route so ${ip} goes to ${ep.interfaceName}; if another pod holds the same address, release the duplicate (see ipam.duplicate-ip).`,
            [`${cmd} get ${ip}  # on ${n.name}: expect 'dev ${ep.interfaceName}'`, `${cmd} show table all | grep -w ${ip}  # on ${n.name}`, `ip rule show  # on ${n.name}`],
            [`${cmd} replace ${ip} dev ${ep.interfaceName} scope link  # on ${n.name}`, `${restartCalicoNode(b.cluster, n.name)}  # let Felix resync its routes`],
          ),
        });
      }
    }
    return out;
  },
};
