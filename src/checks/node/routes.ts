/**
 * Route analyses shared by the route.* checks: each local pod address with its host routes and
 * the kernel's decision for it, drop routes and what the lookup would give without one, and
 * whether a route is a "proper" pod route (inside an IP pool) rather than the default route.
 */
import type { NodeData } from '../../model/bundle.js';
import type { IpRoute } from '../../model/iproute.js';
import { isHostRoute } from '../../model/iproute.js';
import { parseAddr, parsePrefix } from '../../model/ipset.js';
import { Routing, type RouteDecision } from '../../engine/routing.js';
import type { Endpoint } from '../../calico/endpoints.js';
import type { NodeRuntime } from '../../trace/runtime.js';
import type { CheckContext } from '../types.js';
import { addrFamily, localEndpoints, poolInfos, poolOf, type PoolInfo } from './common.js';

export const DROP_TYPES: ReadonlySet<string> = new Set(['blackhole', 'unreachable', 'prohibit']);

export function isDropDecision(d: RouteDecision): boolean {
  return d.kind === 'blackhole' || d.kind === 'unreachable' || d.kind === 'prohibit';
}

/** Unicast host routes (/32, /128) of a node by normalised address, any table but `local`. */
const hostIndex = new WeakMap<NodeData, Map<string, IpRoute[]>>();

export function hostRoutes(n: NodeData, ip: string): IpRoute[] {
  let m = hostIndex.get(n);
  if (!m) {
    m = new Map();
    for (const r of n.routes ?? []) {
      if (r.table === 'local' || !isHostRoute(r) || (r.type !== 'unicast' && !DROP_TYPES.has(r.type))) continue;
      const a = parseAddr(r.dst.replace(/\/\d+$/, ''))?.text;
      if (!a) continue;
      const l = m.get(a);
      if (l) l.push(r);
      else m.set(a, [r]);
    }
    hostIndex.set(n, m);
  }
  return m.get(parseAddr(ip)?.text ?? ip) ?? [];
}

/** Whether the node's capture has routes of this family (so a missing route means something). */
export function hasFamilyRoutes(n: NodeData, family: 4 | 6): boolean {
  return (n.routes ?? []).some((r) => r.family === family && r.table !== 'local' && !(family === 6 && r.dst.startsWith('fe80:')));
}

export interface WorkloadRouteState {
  ep: Endpoint;
  ip: string;
  family: 4 | 6;
  /** Host routes for the address (unicast or drop), any table. */
  routes: IpRoute[];
  /** What the kernel does with a packet to the address (forwarded from elsewhere, no marks). */
  decision: RouteDecision;
}

const stateCache = new WeakMap<NodeData, WorkloadRouteState[]>();

/** Every address of every pod scheduled on the node (families the capture covers). */
export function workloadRouteStates(ctx: CheckContext, nr: NodeRuntime): WorkloadRouteState[] {
  const n = nr.data;
  const hit = stateCache.get(n);
  if (hit) return hit;
  const out: WorkloadRouteState[] = [];
  const fam = { 4: hasFamilyRoutes(n, 4), 6: hasFamilyRoutes(n, 6) };
  for (const ep of localEndpoints(ctx.policy(), n.name)) {
    for (const ip of ep.ips) {
      const family = addrFamily(ip);
      if (!fam[family]) continue;
      out.push({ ep, ip, family, routes: hostRoutes(n, ip), decision: nr.routing.lookup({ family, dst: ip }) });
    }
  }
  stateCache.set(n, out);
  return out;
}

/** A route that really carries pod traffic: a host route, or a prefix inside an IP pool (not the default route or a supernet). */
export function isPodRoute(r: IpRoute | undefined, pools: PoolInfo[], ip: string): boolean {
  if (!r) return false;
  if (isHostRoute(r)) return true;
  const pool = poolOf(pools, ip);
  if (pool) return r.prefixLen >= pool.prefix.prefixLen;
  // No pool known for the address: anything but a default route counts.
  return r.prefixLen > 0;
}

const withoutCache = new WeakMap<IpRoute, Routing>();

/** The node's routing with one route removed (what the lookup would be without it). */
export function routingWithout(n: NodeData, r: IpRoute): Routing {
  let x = withoutCache.get(r);
  if (!x) {
    x = new Routing(
      (n.routes ?? []).filter((y) => y !== r),
      n.rules,
      n.interfaces,
    );
    withoutCache.set(r, x);
  }
  return x;
}

export function poolsOf(ctx: CheckContext): PoolInfo[] {
  return poolInfos(ctx.bundle.cluster);
}

/** Short text of a routing decision: `10.244.2.0/26 via 10.0.0.12 dev eth0`, `blackhole 10.244.1.0/26`. */
export function decisionText(d: RouteDecision): string {
  const r = d.route;
  const table = d.table && d.table !== 'main' ? ` table ${d.table}` : '';
  switch (d.kind) {
    case 'unicast':
      return `${r?.dst ?? '?'}${d.gateway ? ` via ${d.gateway}` : ''}${d.dev ? ` dev ${d.dev}` : ''}${table}`;
    case 'no-route':
      return 'no route';
    case 'local':
      return `local (${d.dev ?? '?'})`;
    default:
      return r ? `${d.kind} ${r.dst}${table}` : `${d.kind}${d.rule ? ` (ip rule ${d.rule.priority})` : ''}`;
  }
}

export function prefixOfRoute(r: IpRoute) {
  return parsePrefix(r.dst);
}
