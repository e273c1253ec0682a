/**
 * The kernel's routing decision from a node's `ip rule` and `ip route show table all`:
 * policy rules by priority (from/to/fwmark/iif/oif, not, goto, suppress_prefixlength), then the
 * rule's table by longest prefix (lowest metric among equals, routes over a down interface are
 * dead), route types (local, blackhole, unreachable, prohibit, throw) and reverse-path checks
 * for rp_filter. Pure: built once per node from its parsed artifacts.
 */
import type { IpInterface, IpRoute, IpRule } from '../model/iproute.js';
import { parseAddr, parsePrefix } from '../model/ipset.js';

export interface RouteQuery {
  family: 4 | 6;
  dst: string;
  src?: string;
  mark?: number;
  /** Incoming interface; `lo` for locally generated packets (what `ip rule iif lo` matches). */
  iif?: string;
  oif?: string;
  proto?: number;
  sport?: number;
  dport?: number;
}

export type RouteKind = 'local' | 'unicast' | 'broadcast' | 'multicast' | 'blackhole' | 'unreachable' | 'prohibit' | 'no-route';

export interface RouteDecision {
  kind: RouteKind;
  route?: IpRoute;
  /** The policy rule that led to the table (absent when the node has no ip rules in the bundle: defaults apply). */
  rule?: IpRule;
  table?: string;
  dev?: string;
  gateway?: string;
  onlink?: boolean;
  /** Preferred source address for locally generated packets. */
  src?: string;
  mtu?: number;
  /** Why a kind was chosen when no route was found, or what was assumed. */
  note?: string;
}

interface Bucket {
  len: number;
  map: Map<string, IpRoute[]>;
}

interface FamilyTable {
  buckets: Bucket[];
}

function keyOf(family: 4 | 6, addr: string, len: number): string | undefined {
  const p = parsePrefix(`${addr}/${len}`);
  if (!p) return undefined;
  return family === 4 ? String(p.v4 >>> 0) : p.v6.toString(16);
}

const DEFAULT_RULES: IpRule[] = [
  { priority: 0, not: false, table: 'local', action: 'lookup', line: 0 },
  { priority: 32766, not: false, table: 'main', action: 'lookup', line: 0 },
  { priority: 32767, not: false, table: 'default', action: 'lookup', line: 0 },
];

function cidrHas(cidr: string | undefined, ip: string | undefined): boolean | undefined {
  if (cidr === undefined) return true;
  if (ip === undefined) return undefined;
  const p = parsePrefix(cidr);
  const a = parseAddr(ip);
  if (!p || !a) return undefined;
  if ((p.family === 'inet') !== (a.family === 'inet')) return false;
  if (a.family === 'inet') {
    const mask = p.prefixLen === 0 ? 0 : (0xffffffff << (32 - p.prefixLen)) >>> 0;
    return ((a.v4 & mask) >>> 0) === p.v4 >>> 0;
  }
  const shift = BigInt(128 - p.prefixLen);
  return a.v6 >> shift === p.v6 >> shift;
}

export class Routing {
  private readonly tables = new Map<string, Map<4 | 6, FamilyTable>>();
  readonly rules: IpRule[];
  readonly rulesFromBundle: boolean;
  private readonly ifaces: Map<string, IpInterface>;
  /** Addresses configured on the node's interfaces: address → interface names. */
  readonly localAddrs = new Map<string, string[]>();
  readonly hasRoutes: boolean;

  constructor(routes: IpRoute[] | undefined, rules: IpRule[] | undefined, interfaces: IpInterface[] | undefined) {
    this.ifaces = new Map((interfaces ?? []).map((i) => [i.name, i]));
    for (const i of interfaces ?? [])
      for (const a of i.addrs) {
        const t = parseAddr(a.address)?.text ?? a.address;
        const l = this.localAddrs.get(t) ?? [];
        l.push(i.name);
        this.localAddrs.set(t, l);
      }
    this.hasRoutes = (routes?.length ?? 0) > 0;
    const all = [...(routes ?? [])];
    // A capture without `table all` has no local table: rebuild it from interface addresses, as the kernel does.
    if (!all.some((r) => r.table === 'local')) {
      for (const [addr, devs] of this.localAddrs) {
        const family = addr.includes(':') ? 6 : 4;
        all.push({ family, type: 'local', dst: `${addr}/${family === 4 ? 32 : 128}`, prefixLen: family === 4 ? 32 : 128, table: 'local', dev: devs[0], onlink: false, linkdown: false, flags: [], line: 0, raw: `local ${addr} dev ${devs[0]} (from ip addr)`, scope: 'host' });
      }
    }
    for (const r of all) this.add(r);
    this.rulesFromBundle = (rules?.length ?? 0) > 0;
    this.rules = (this.rulesFromBundle ? [...rules!] : DEFAULT_RULES).sort((a, b) => a.priority - b.priority);
  }

  private add(r: IpRoute): void {
    let byFam = this.tables.get(r.table);
    if (!byFam) this.tables.set(r.table, (byFam = new Map()));
    let ft = byFam.get(r.family);
    if (!ft) byFam.set(r.family, (ft = { buckets: [] }));
    const slash = r.dst.indexOf('/');
    const addr = slash < 0 ? r.dst : r.dst.slice(0, slash);
    const key = keyOf(r.family, addr, r.prefixLen);
    if (key === undefined) return;
    let b = ft.buckets.find((x) => x.len === r.prefixLen);
    if (!b) {
      ft.buckets.push((b = { len: r.prefixLen, map: new Map() }));
      ft.buckets.sort((x, y) => y.len - x.len);
    }
    const list = b.map.get(key);
    if (list) list.push(r);
    else b.map.set(key, [r]);
  }

  iface(name: string | undefined): IpInterface | undefined {
    return name === undefined ? undefined : this.ifaces.get(name);
  }

  /** A route is dead when its device exists in the bundle and is administratively down. */
  private alive(r: IpRoute): boolean {
    if (r.type !== 'unicast' && r.type !== 'local') return true;
    if (r.dev === undefined) return true;
    const i = this.ifaces.get(r.dev);
    return !i || i.up;
  }

  /** Longest-prefix match in one table. */
  lookupTable(table: string, family: 4 | 6, dst: string): IpRoute | undefined {
    const ft = this.tables.get(table)?.get(family);
    if (!ft) return undefined;
    const a = parseAddr(dst);
    if (!a) return undefined;
    for (const b of ft.buckets) {
      let key: string;
      if (family === 4) {
        const mask = b.len === 0 ? 0 : (0xffffffff << (32 - b.len)) >>> 0;
        key = String((a.v4 & mask) >>> 0);
      } else {
        const shift = BigInt(128 - b.len);
        key = ((a.v6 >> shift) << shift).toString(16);
      }
      const list = b.map.get(key);
      if (!list) continue;
      let best: IpRoute | undefined;
      for (const r of list) {
        if (!this.alive(r)) continue;
        if (!best || (r.metric ?? 0) < (best.metric ?? 0)) best = r;
      }
      if (best) return best;
    }
    return undefined;
  }

  private ruleMatches(rule: IpRule, q: RouteQuery): boolean | undefined {
    if (rule.family !== undefined && rule.family !== q.family) return false;
    let ok: boolean | undefined = true;
    const and = (v: boolean | undefined) => {
      if (v === false) ok = false;
      else if (v === undefined && ok !== false) ok = undefined;
    };
    // A locally generated packet without a bound source is looked up with 0.0.0.0 / ::, as the kernel does.
    and(cidrHas(rule.from, q.src ?? (q.family === 4 ? '0.0.0.0' : '::')));
    and(cidrHas(rule.to, q.dst));
    if (rule.fwmark) and(((q.mark ?? 0) & (rule.fwmark.mask ?? 0xffffffff)) >>> 0 === rule.fwmark.value >>> 0);
    if (rule.iif !== undefined) and(q.iif === rule.iif);
    if (rule.oif !== undefined) and(q.oif === rule.oif);
    if (rule.ipproto !== undefined) and(q.proto === undefined ? undefined : String(q.proto) === rule.ipproto || (rule.ipproto === 'tcp' && q.proto === 6) || (rule.ipproto === 'udp' && q.proto === 17));
    if (rule.dport) and(q.dport === undefined ? undefined : q.dport >= rule.dport.start && q.dport <= rule.dport.end);
    if (rule.sport) and(q.sport === undefined ? undefined : q.sport >= rule.sport.start && q.sport <= rule.sport.end);
    if (rule.uidrange) and(q.iif === 'lo' ? undefined : false);
    if (ok === undefined) return undefined;
    return rule.not ? !ok : ok;
  }

  /** The full decision: rules, then tables. */
  lookup(q: RouteQuery): RouteDecision {
    const notes: string[] = [];
    let i = 0;
    while (i < this.rules.length) {
      const rule = this.rules[i++];
      const m = this.ruleMatches(rule, q);
      if (m === undefined) {
        notes.push(`ip rule ${rule.priority} could not be evaluated for this packet; assumed not to match`);
        continue;
      }
      if (!m) continue;
      const fromBundle = this.rulesFromBundle ? rule : undefined;
      switch (rule.action) {
        case 'nop':
          continue;
        case 'goto': {
          const target = rule.goto ?? 0;
          const j = this.rules.findIndex((r) => r.priority >= target);
          if (j < 0) return { kind: 'no-route', rule: fromBundle, note: `ip rule goto ${target} leads nowhere` };
          i = j;
          continue;
        }
        case 'blackhole':
        case 'unreachable':
        case 'prohibit':
          return { kind: rule.action, rule: fromBundle, note: `ip rule ${rule.priority} ${rule.action}` };
        default:
          break;
      }
      const table = rule.table ?? 'main';
      const r = this.lookupTable(table, q.family, q.dst);
      if (!r) continue;
      if (r.type === 'throw') continue;
      // The kernel applies suppress_prefixlength only to successful lookups: a blackhole,
      // unreachable or prohibit route is an error result and is never suppressed.
      const isError = r.type === 'blackhole' || r.type === 'unreachable' || r.type === 'prohibit';
      if (!isError && rule.suppressPrefixlen !== undefined && r.prefixLen <= rule.suppressPrefixlen) continue;
      return this.decide(r, table, fromBundle, notes);
    }
    return { kind: 'no-route', note: [`no route to ${q.dst} in any table the rules lead to`, ...notes].join('; ') };
  }

  private decide(r: IpRoute, table: string, rule: IpRule | undefined, notes: string[]): RouteDecision {
    let via = r.via;
    let dev = r.dev;
    let onlink = r.onlink;
    if (r.nexthops && r.nexthops.length > 0) {
      const nh = r.nexthops[0];
      via = nh.via;
      dev = nh.dev;
      onlink = nh.onlink;
      if (r.nexthops.length > 1) notes.push(`multipath route: the first of ${r.nexthops.length} next hops is followed`);
    }
    const kind: RouteKind =
      r.type === 'local' ? 'local' : r.type === 'broadcast' ? 'broadcast' : r.type === 'multicast' ? 'multicast' : r.type === 'blackhole' || r.type === 'unreachable' || r.type === 'prohibit' ? r.type : 'unicast';
    const mtu = r.mtu ?? (dev ? this.ifaces.get(dev)?.mtu : undefined);
    return { kind, route: r, rule, table, dev, gateway: via, onlink, src: r.src ?? (dev ? this.primaryAddress(dev, r.family, via) : undefined), mtu, note: notes.length ? notes.join('; ') : undefined };
  }

  /** The address the kernel would pick on `dev` (same subnet as the gateway if any, else the first global one). */
  primaryAddress(dev: string, family: 4 | 6, toward?: string): string | undefined {
    const i = this.ifaces.get(dev);
    if (!i) return undefined;
    const addrs = i.addrs.filter((a) => a.family === family && !a.flags.includes('secondary'));
    if (toward) {
      const same = addrs.find((a) => cidrHas(`${a.address}/${a.prefixLen}`, toward));
      if (same) return same.address;
    }
    return (addrs.find((a) => a.scope === undefined || a.scope === 'global') ?? addrs[0])?.address;
  }

  /**
   * The source address MASQUERADE picks (the kernel's inet_select_addr with universe scope): a
   * primary global address of the outgoing device (one in the next hop's subnet first); a device
   * without one (a Calico veth) borrows the first primary global address of any interface, in
   * ifindex order.
   */
  selectSourceAddress(dev: string, family: 4 | 6, toward?: string): string | undefined {
    const global = (i: IpInterface) => i.addrs.filter((a) => a.family === family && !a.flags.includes('secondary') && (a.scope === undefined || a.scope === 'global'));
    const i = this.ifaces.get(dev);
    if (i) {
      const own = global(i);
      const same = toward ? own.find((a) => cidrHas(`${a.address}/${a.prefixLen}`, toward)) : undefined;
      if (same ?? own[0]) return (same ?? own[0]).address;
    }
    if (family === 6) return this.primaryAddress(dev, family, toward);
    for (const o of [...this.ifaces.values()].sort((a, b) => a.ifindex - b.ifindex)) {
      const a = global(o)[0];
      if (a) return a.address;
    }
    return undefined;
  }

  /** Address type as `-m addrtype` sees it. */
  addrType(ip: string, limitIface?: string): string | undefined {
    const a = parseAddr(ip);
    if (!a) return undefined;
    if (a.family === 'inet') {
      if (a.v4 === 0xffffffff) return 'BROADCAST';
      if (a.v4 >>> 28 === 0xe) return 'MULTICAST';
    } else if (a.text.startsWith('ff')) return 'MULTICAST';
    const r = this.lookupTable('local', a.family === 'inet' ? 4 : 6, a.text);
    if (r && (r.prefixLen === (a.family === 'inet' ? 32 : 128) || r.type === 'local')) {
      if (r.type === 'local') {
        if (limitIface !== undefined && r.dev !== limitIface && !(this.localAddrs.get(a.text) ?? []).includes(limitIface)) return 'UNICAST';
        return 'LOCAL';
      }
      if (r.type === 'broadcast') return 'BROADCAST';
    }
    if (this.localAddrs.has(a.text)) {
      if (limitIface !== undefined && !this.localAddrs.get(a.text)!.includes(limitIface)) return 'UNICAST';
      return 'LOCAL';
    }
    if (!this.hasRoutes && this.localAddrs.size === 0) return undefined;
    return 'UNICAST';
  }

  /**
   * Reverse-path check as rp_filter / `-m rpfilter` do it: look the source up as a destination
   * (with the packet's mark when validmark) and require the answer to leave by the incoming
   * interface (strict) or to exist at all (loose). undefined when the node's routes are unknown.
   */
  reversePath(pkt: { family: 4 | 6; src: string; dst: string; inIface?: string; mark: number }, opts: { loose: boolean; validmark: boolean; acceptLocal: boolean }): boolean | undefined {
    if (!this.hasRoutes) return undefined;
    const d = this.lookup({ family: pkt.family, dst: pkt.src, src: pkt.dst, iif: pkt.inIface, mark: opts.validmark ? pkt.mark : 0 });
    if (d.kind === 'local') return opts.acceptLocal;
    if (d.kind !== 'unicast') return false;
    if (opts.loose) return true;
    if (d.route?.nexthops && d.route.nexthops.length > 1) return d.route.nexthops.some((n) => n.dev === pkt.inIface);
    return d.dev === pkt.inIface;
  }
}
