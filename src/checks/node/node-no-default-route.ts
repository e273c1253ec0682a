/**
 * node.no-default-route: the node has no route toward the outside (no default route in any
 * table its policy rules lead to): pods (with natOutgoing) and the node itself cannot reach
 * anything beyond the routes it has. Seeds C3.
 */
import type { Check, CheckResult } from '../types.js';
import { dedupe, missing, notChecked, remediation, routeEv, underlayIface } from './common.js';
import { decisionText, hasFamilyRoutes } from './routes.js';

const ID = 'node.no-default-route';

/** Addresses far apart in the IPv4 space: a split default (0/1 + 128/1) covers both. */
const PROBES = ['8.8.8.8', '198.51.100.1'];

export const nodeNoDefaultRoute: Check = {
  id: ID,
  category: 'routing',
  severity: 'warning',
  title: 'The node has no default route',
  seeds: ['C3'],
  run(ctx): CheckResult {
    const b = ctx.bundle;
    const out: CheckResult = { findings: [], notChecked: [] };
    const rt = ctx.runtime();
    for (const n of b.nodes) {
      if (!n.routes || !hasFamilyRoutes(n, 4)) {
        out.notChecked.push(notChecked(ID, missing(n, 'ip-route'), n.name));
        continue;
      }
      const nr = rt.nodes.get(n.name)!;
      const misses = PROBES.map((ip) => ({ ip, d: nr.routing.lookup({ family: 4, dst: ip }) })).filter((x) => x.d.kind !== 'unicast');
      if (misses.length === 0) continue;
      const m = misses[0];
      const ul = underlayIface(b, n);
      out.findings.push({
        check: ID,
        severity: 'warning',
        category: 'routing',
        title: `${n.name} has no default route`,
        explanation: `${n.name} has no route for addresses outside its known networks (the lookup for ${m.ip} gives ${decisionText(m.d)}). Pods on it cannot reach external addresses even with natOutgoing, and the node cannot reach registries or external APIs — unless this is an isolated network by design.`,
        node: n.name,
        subject: 'default route',
        evidence: dedupe([...(m.d.route ? [routeEv(b, n, m.d.route, `what ${m.ip} matches`)] : [{ artifact: n.artifacts['ip-route'] ?? `nodes/${n.name}/ip-route`, node: n.name, note: `no route in ${n.routes.filter((r) => r.family === 4 && r.table !== 'local').length} IPv4 routes covers ${m.ip}` }])]),
        remediation: remediation(
          `Restore the default route (DHCP, netplan/NetworkManager configuration, or a static route to the gateway).`,
          [`ip route get ${m.ip}  # on ${n.name}`, `ip route show default  # on ${n.name}`],
          [`ip route add default via <gateway> dev ${ul?.iface.name ?? '<underlay>'}  # on ${n.name}; persist it in the network configuration`],
        ),
      });
    }
    return out;
  },
};
