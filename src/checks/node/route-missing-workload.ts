/**
 * route.missing-workload: a pod scheduled on this node (per the cluster resources) with an
 * address has no host route (/32, /128) to its cali interface. Felix programs
 * `<podIP> dev caliXXXX scope link` for every local endpoint; without it traffic to the pod
 * follows the block's blackhole (or the default route), and the pod's own packets fail the strict
 * rp_filter on its veth. Seeds C1, S7, S14, M5.
 */
import type { Evidence } from '../../model/evidence.js';
import type { Check, CheckResult, Finding } from '../types.js';
import { dedupe, epEv, ifaceArtifact, ifaceEv, missing, notChecked, remediation, restartCalicoNode, routeEv } from './common.js';
import { decisionText, hasFamilyRoutes, workloadRouteStates } from './routes.js';

const ID = 'route.missing-workload';

export const routeMissingWorkload: Check = {
  id: ID,
  category: 'routing',
  severity: 'error',
  title: "A local pod has no host route to its interface",
  seeds: ['C1', 'S7', 'S14', 'M5'],
  run(ctx): CheckResult {
    const b = ctx.bundle;
    const out: CheckResult = { findings: [], notChecked: [] };
    const rt = ctx.runtime();
    for (const n of b.nodes) {
      if (!n.routes || !(hasFamilyRoutes(n, 4) || hasFamilyRoutes(n, 6))) {
        out.notChecked.push(notChecked(ID, missing(n, 'ip-route'), n.name));
        continue;
      }
      const nr = rt.nodes.get(n.name)!;
      for (const s of workloadRouteStates(ctx, nr)) {
        if (s.routes.some((r) => r.type === 'unicast')) continue;
        const { ep, ip } = s;
        const iface = nr.interfaces.get(ep.interfaceName);
        const evidence: Evidence[] = [epEv(b, ep, ip, `${ep.from} ${ep.id}: ${ip} on ${n.name}, interface ${ep.interfaceName}`)];
        const drop = s.routes.find((r) => r.type !== 'unicast');
        if (drop) evidence.push(routeEv(b, n, drop, `a ${drop.type} host route for ${ip} instead of a route to ${ep.interfaceName}`));
        if (s.decision.route) evidence.push(routeEv(b, n, s.decision.route, `what catches ${ip} instead: ${decisionText(s.decision)}`));
        if (iface) evidence.push(ifaceEv(b, n, iface, `the pod's veth exists${iface.up ? '' : ' but is down'}`));
        else if (n.interfaces) evidence.push({ artifact: ifaceArtifact(n), node: n.name, note: `no interface ${ep.interfaceName} on ${n.name}: the pod's veth is gone` });
        const gone = n.interfaces !== undefined && !iface;
        const cmd = s.family === 6 ? 'ip -6 route' : 'ip route';
        const f: Finding = {
          check: ID,
          severity: 'error',
          category: 'routing',
          title: `No route to pod ${ep.id} (${ip}) on ${n.name}`,
          explanation:
            `Pod ${ep.id} runs on ${n.name} with address ${ip}, but ${n.name} has no ${s.family === 6 ? '/128' : '/32'} route for it to ${ep.interfaceName}. ` +
            `Traffic to the pod ${s.decision.kind === 'unicast' ? `is sent to ${decisionText(s.decision)} instead` : s.decision.kind === 'no-route' ? 'has no route at all' : `hits ${decisionText(s.decision)} and is dropped`}, ` +
            `and the pod's own packets fail the reverse-path check on its veth, so every flow to or from it fails. ` +
            (gone ? `The veth ${ep.interfaceName} itself does not exist: the pod's network namespace lost its interface (CNI failure or a deleted sandbox).` : `Felix programs this route when it knows the endpoint; it is missing when Felix is not in sync, failed to program routes, or something deleted it.`),
          node: n.name,
          subject: ep.id,
          evidence: dedupe(evidence),
          remediation: remediation(
            gone ? `Recreate the pod so the CNI plugin rebuilds its veth, then check that Felix programs the route.` : `Let Felix reprogram the route (restart calico-node on ${n.name} if it is not in sync), or add it by hand to restore traffic now.`,
            [`${cmd} get ${ip}  # on ${n.name}`, `${cmd} show ${ip}  # on ${n.name}: expect '${ip} dev ${ep.interfaceName} scope link'`, `ip link show ${ep.interfaceName}  # on ${n.name}`],
            gone
              ? [`kubectl delete pod -n ${ep.namespace} ${ep.name}`]
              : [`${cmd} replace ${ip} dev ${ep.interfaceName} scope link  # on ${n.name}; Felix will keep it once in sync`, `${restartCalicoNode(b.cluster, n.name)}  # restart Felix on ${n.name}`],
          ),
        };
        out.findings.push(f);
      }
    }
    return out;
  },
};

