/**
 * route.blackhole-shadow: the kernel's lookup for a pod address (any pod, or a remote node's IPAM
 * block) ends in a blackhole / unreachable / prohibit route, or an `ip rule` of that type, while a
 * real route for it exists that the drop overrides — because the drop route is more specific, or
 * sits in a table consulted earlier. The node's own block aggregate (Calico's blackhole for the
 * unallocated rest of its block) is expected and not reported. Seeds C1, C2, S7.
 */
import type { Evidence } from '../../model/evidence.js';
import type { IpRoute, IpRule } from '../../model/iproute.js';
import { parsePrefix, type ParsedPrefix } from '../../model/ipset.js';
import { Routing, type RouteDecision } from '../../engine/routing.js';
import type { Check, CheckResult } from '../types.js';
import { addrFamily, allBlocks, blocksOf, dedupe, epEv, listText, missing, notChecked, plural, prefixContains, prefixCovers, remediation, routeEv, ruleEv, sameCidr } from './common.js';
import { DROP_TYPES, decisionText, hasFamilyRoutes, isDropDecision, isPodRoute, poolsOf, routingWithout } from './routes.js';

const ID = 'route.blackhole-shadow';

interface Target {
  ip: string;
  what: string;
  pod?: string;
  local: boolean;
  /** Built only when the target is reported (quoting lines costs). */
  evidence: () => Evidence;
}

interface Group {
  route?: IpRoute;
  rule?: IpRule;
  decision: RouteDecision;
  alt: RouteDecision;
  pods: Target[];
  blocks: Target[];
}

export const routeBlackholeShadow: Check = {
  id: ID,
  category: 'routing',
  severity: 'error',
  title: 'A drop route shadows the route to pods',
  seeds: ['C1', 'C2', 'S7'],
  run(ctx): CheckResult {
    const b = ctx.bundle;
    const out: CheckResult = { findings: [], notChecked: [] };
    const rt = ctx.runtime();
    const model = ctx.policy();
    const pools = poolsOf(ctx);
    for (const n of b.nodes) {
      if (!n.routes || !(hasFamilyRoutes(n, 4) || hasFamilyRoutes(n, 6))) {
        out.notChecked.push(notChecked(ID, missing(n, 'ip-route'), n.name));
        continue;
      }
      const nr = rt.nodes.get(n.name)!;
      const drops = n.routes.filter((r) => DROP_TYPES.has(r.type) && r.table !== 'local');
      const dropRules = (n.rules ?? []).filter((r) => r.action === 'blackhole' || r.action === 'unreachable' || r.action === 'prohibit');
      if (drops.length === 0 && dropRules.length === 0) continue;
      const dropPrefixes = drops.map((r) => parsePrefix(r.dst)).filter((p): p is ParsedPrefix => p !== undefined);
      const own = blocksOf(b, n.name);
      const isOwnAggregate = (r: IpRoute) => own.some((x) => sameCidr(r, x.prefix));
      const fam = { 4: hasFamilyRoutes(n, 4), 6: hasFamilyRoutes(n, 6) };

      const targets: Target[] = [];
      for (const e of model.endpoints) {
        if (e.kind !== 'workload') continue;
        for (const ip of e.ips) {
          if (!fam[addrFamily(ip)]) continue;
          targets.push({ ip, what: `pod ${e.id} (${ip}) on ${e.node || '?'}`, pod: e.id, local: e.node === n.name, evidence: () => epEv(b, e, ip, `${e.from} ${e.id}: ${ip} on ${e.node}`) });
        }
      }
      for (const blk of allBlocks(b)) {
        if (blk.node === n.name || !fam[blk.prefix.family === 'inet' ? 4 : 6]) continue;
        targets.push({ ip: blk.prefix.text, what: `block ${blk.cidr} of ${blk.node}`, local: false, evidence: () => blk.evidence });
        // A drop route inside the block catches addresses no pod uses yet: test its first address too.
        for (const p of dropPrefixes) {
          if (p.prefixLen > blk.prefix.prefixLen && prefixCovers(blk.prefix, p) && p.text !== blk.prefix.text) targets.push({ ip: p.text, what: `block ${blk.cidr} of ${blk.node} (${p.text}/${p.prefixLen})`, local: false, evidence: () => blk.evidence });
        }
      }

      const groups = new Map<IpRoute | IpRule, Group>();
      for (const t of targets) {
        if (dropRules.length === 0 && !dropPrefixes.some((p) => prefixContains(p, t.ip))) continue;
        const family = addrFamily(t.ip);
        const d = nr.routing.lookup({ family, dst: t.ip });
        if (!isDropDecision(d)) continue;
        let alt: RouteDecision;
        if (d.route) {
          if (t.local && isOwnAggregate(d.route)) continue; // the pod's /32 is missing: route.missing-workload
          alt = routingWithout(n, d.route).lookup({ family, dst: t.ip });
        } else if (d.rule) {
          const rule = d.rule;
          alt = new Routing(n.routes, (n.rules ?? []).filter((r) => r !== rule), n.interfaces).lookup({ family, dst: t.ip });
        } else continue;
        // Without a real route to shadow, the address is simply not routed: route.remote-block-missing.
        if (alt.kind !== 'unicast' || !isPodRoute(alt.route, pools, t.ip)) continue;
        const key = (d.route ?? d.rule)!;
        let g = groups.get(key);
        if (!g) groups.set(key, (g = { route: d.route, rule: d.route ? undefined : d.rule, decision: d, alt, pods: [], blocks: [] }));
        (t.pod ? g.pods : g.blocks).push(t);
      }

      for (const g of groups.values()) {
        const what = g.route ? `${g.route.type} ${g.route.dst}${g.route.table !== 'main' ? ` (table ${g.route.table})` : ''}` : `ip rule ${g.rule!.priority} ${g.rule!.action}`;
        const how = g.route
          ? g.decision.table !== g.alt.table
            ? `is found in table ${g.decision.table}, consulted before table ${g.alt.table ?? 'main'} that holds ${decisionText(g.alt)}`
            : `is more specific than ${decisionText(g.alt)}`
          : `is matched before the lookup reaches ${decisionText(g.alt)}`;
        const affected = [...g.pods.map((t) => t.what), ...g.blocks.map((t) => t.what)];
        const evidence: Evidence[] = [];
        if (g.route) evidence.push(routeEv(b, n, g.route, `the drop route${g.route.protocol ? ` (proto ${g.route.protocol})` : ''}`));
        if (g.decision.rule && g.decision.table !== 'main') evidence.push(ruleEv(b, n, g.decision.rule, `the rule that leads to table ${g.decision.table}`));
        if (g.rule) evidence.push(ruleEv(b, n, g.rule, 'the drop rule'));
        if (g.alt.route) evidence.push(routeEv(b, n, g.alt.route, 'the route it overrides'));
        for (const t of [...g.pods, ...g.blocks].slice(0, 6)) evidence.push(t.evidence());
        const sample = (g.pods[0] ?? g.blocks[0]).ip;
        const tableArg = g.route && g.route.table !== 'main' ? ` table ${g.route.table}` : '';
        const ip = addrFamily(sample) === 6 ? 'ip -6' : 'ip';
        out.findings.push({
          check: ID,
          severity: g.pods.length > 0 ? 'error' : 'warning',
          category: 'routing',
          title: `${what} on ${n.name} drops traffic to ${g.pods.length > 0 ? plural(g.pods.length, 'pod') : plural(g.blocks.length, 'remote block')}`,
          explanation:
            `On ${n.name} the ${what} ${how}, so the kernel drops packets to ${listText(affected)}. ` +
            (g.route && isOwnAggregate(g.route)
              ? `It is this node's own block aggregate, which Calico installs for the unallocated part of its block; the addresses above are not allocated here, so they need their own routes.`
              : `It is not a route Calico programs for this node's own block: something (a manual \`ip route add blackhole\`, a leftover of a deleted block, another agent) added it${g.route?.protocol === 'bird' ? ', and BIRD may export it to the other nodes, pulling their traffic here' : ''}.`),
          node: n.name,
          subject: g.route ? g.route.dst : `rule ${g.rule!.priority}`,
          evidence: dedupe(evidence),
          remediation: remediation(
            g.route ? `Delete the ${g.route.type} route (or shrink it to what it should cover) so the real route takes over again.` : `Remove the ${g.rule!.action} policy rule or narrow it so it no longer matches pod addresses.`,
            [`${ip} route get ${sample}  # on ${n.name}: expect ${decisionText(g.alt)}`, `${ip} route show table all type ${g.route?.type ?? 'blackhole'}  # on ${n.name}`, `ip rule show  # on ${n.name}`],
            g.route ? [`${ip} route del ${g.route.type} ${g.route.dst}${tableArg}  # on ${n.name}`] : [`ip rule del priority ${g.rule!.priority}  # on ${n.name}`],
          ),
        });
      }
    }
    return out;
  },
};
