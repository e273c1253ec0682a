/**
 * Interfaces, addresses, routes, policy rules, neighbours and bridge FDB entries as read from
 * iproute2 (`ip addr|link|route|rule|neigh`, `bridge fdb`), in text or JSON (`-j`) form.
 *
 * Provenance: every element keeps `line`, the 1-based line it was printed on. For JSON input an
 * element has no line of its own: `line` is the line where its object starts (meaningful for
 * pretty-printed `ip -j -p` output; always 1 for the default one-line `ip -j` output), and
 * `objectIndex` is its 0-based position among the top-level array's elements (across several
 * concatenated arrays), so evidence can still say "element N". Text elements have no objectIndex.
 *
 * Normalisations (so text and JSON of the same state compare equal):
 * - route `dst` is always a CIDR: `default` becomes `0.0.0.0/0` / `::/0`, a host `10.0.0.1`
 *   becomes `10.0.0.1/32` (`/128` for IPv6). Rule `from`/`to` likewise; `all` becomes undefined.
 * - table numbers with a standard name become that name (255 local, 254 main, 253 default,
 *   0 unspec); a route printed without a table is in `main`. Other numbers stay as text ("100").
 * - route `protocol` is as printed (`kernel`, `bird`, `80`, …). iproute2 omits `proto boot` unless
 *   `-d` is given, so an absent protocol means boot: see `routeProtocol()`.
 */

export type IpFamilyNumber = 4 | 6;

/** Where a JSON-derived element sat in its top-level array (absent for text input). */
export interface JsonOrigin {
  objectIndex?: number;
}

export interface IpAddrEntry {
  family: IpFamilyNumber;
  /** The local address (`inet 10.0.0.1/24` → `10.0.0.1`). */
  address: string;
  prefixLen: number;
  scope?: string;
  broadcast?: string;
  /** Point-to-point peer (`inet 10.0.0.1 peer 10.0.0.2/32`); prefixLen then belongs to the peer. */
  peer?: string;
  /** IPv4 label (`eth0`, `eth0:1`). */
  label?: string;
  /** secondary, dynamic, noprefixroute, nodad, tentative, deprecated, dadfailed, mngtmpaddr, … */
  flags: string[];
  /** Seconds, or 'forever'. */
  validLft?: number | 'forever';
  preferredLft?: number | 'forever';
  line: number;
}

export interface VxlanInfo {
  /** VNI. */
  id: number;
  /** UDP destination port (`dstport`). */
  port?: number;
  /** Local underlay address (IPv4 or IPv6). */
  local?: string;
  /** Underlay device. */
  dev?: string;
  /** MAC learning; Felix creates vxlan.calico with `nolearning`. Undefined when not printed. */
  learning?: boolean;
  /** Unicast default remote, or multicast group. */
  remote?: string;
  group?: string;
  srcPortLow?: number;
  srcPortHigh?: number;
  /** Collect-metadata ("external") device. */
  external?: boolean;
}

export interface IpipInfo {
  /** `any`, `ipip`, `ip6ip`, `mplsip`, as printed. */
  proto?: string;
  /** `any` when unset. */
  remote?: string;
  local?: string;
  dev?: string;
  /** 0 = inherit. */
  ttl?: number;
  pmtudisc?: boolean;
  external?: boolean;
}

export type IpLinkKind =
  | 'veth'
  | 'vxlan'
  | 'ipip'
  | 'wireguard'
  | 'bridge'
  | 'dummy'
  | 'loopback'
  | 'device'
  | (string & {});

export interface IpInterface extends JsonOrigin {
  ifindex: number;
  /** The name without the `@link` suffix (`cali1a2b3c4d5e6@if4` → `cali1a2b3c4d5e6`). */
  name: string;
  /**
   * Peer/lower interface index when it lives in another namespace: `@if4` in text,
   * `link_index` in JSON. For a Calico veth this is the pod-side eth0's ifindex in the pod netns.
   */
  peerIfindex?: number;
  /**
   * The name after `@` when it is a local interface (same-namespace veth peer, VLAN lower device),
   * or `NONE` (`tunl0@NONE`). Absent for `@ifN` (see peerIfindex).
   */
  link?: string;
  /** `link-netnsid N` (text) / `link_netnsid` (JSON). */
  linkNetnsId?: number;
  /** `link-netns NAME`: iproute2 prints the name instead of the id when the netns is named. */
  linkNetns?: string;
  /** As printed between `<>`: UP, LOWER_UP, BROADCAST, NO-CARRIER, M-DOWN, … */
  flags: string[];
  /** Administratively up (the UP flag). */
  up: boolean;
  /** Carrier up (the LOWER_UP flag). */
  lowerUp: boolean;
  /** `state UP|DOWN|UNKNOWN|LOWERLAYERDOWN|…`. */
  operState?: string;
  mtu?: number;
  qdisc?: string;
  /** Link-layer address (absent for link/none, e.g. WireGuard). */
  mac?: string;
  /** `link/<type>`: ether, loopback, none, ipip, … */
  linkType?: string;
  /** Bridge/bond master (`master br0`). */
  master?: string;
  /**
   * Device kind. Known from `ip -d` text / `ip -d -j` JSON (`linkinfo.info_kind`); with details and
   * no kind it is `loopback` or `device` (a physical NIC). Without details only `loopback` and
   * `ipip` (from link/loopback, link/ipip) are inferred; otherwise undefined.
   */
  kind?: IpLinkKind;
  /** Slave kind from details (`bridge_slave` → `bridge`). */
  slaveKind?: string;
  vxlan?: VxlanInfo;
  ipip?: IpipInfo;
  altnames?: string[];
  alias?: string;
  /** True when the capture had details (`-d`): kind/vxlan/ipip are then authoritative. */
  details: boolean;
  /** Addresses (empty for `ip link`). */
  addrs: IpAddrEntry[];
  /** Unknown tokens, kept verbatim (each also reported once per keyword as a warning). */
  extra?: string[];
  line: number;
}

export type RouteType =
  | 'unicast'
  | 'local'
  | 'broadcast'
  | 'blackhole'
  | 'unreachable'
  | 'prohibit'
  | 'throw'
  | 'multicast'
  | 'anycast'
  | 'nat';

export const ROUTE_TYPES: ReadonlySet<string> = new Set([
  'unicast',
  'local',
  'broadcast',
  'blackhole',
  'unreachable',
  'prohibit',
  'throw',
  'multicast',
  'anycast',
  'nat',
]);

export interface RouteNexthop {
  via?: string;
  dev?: string;
  weight?: number;
  onlink: boolean;
  /** All nexthop flags (onlink, linkdown, dead, …). */
  flags: string[];
  line: number;
}

export interface IpRoute extends JsonOrigin {
  family: IpFamilyNumber;
  type: RouteType;
  /** CIDR; `default` normalised to 0.0.0.0/0 or ::/0. */
  dst: string;
  prefixLen: number;
  /** Table name (standard numbers normalised to names); `main` when not printed. */
  table: string;
  /** As printed (`kernel`, `static`, `bird`, `dhcp`, `80`, `ra`, …); absent = boot (see routeProtocol). */
  protocol?: string;
  scope?: string;
  via?: string;
  dev?: string;
  /** Preferred source (`src` in text, `prefsrc` in JSON). */
  src?: string;
  metric?: number;
  onlink: boolean;
  linkdown: boolean;
  /** Route flags as printed (onlink, linkdown, dead, pervasive, offload, …). */
  flags: string[];
  mtu?: number;
  mtuLock?: boolean;
  /** Other route metrics (advmss, hoplimit, initcwnd, …) by name. */
  metrics?: Record<string, number | string>;
  nexthops?: RouteNexthop[];
  /** IPv6 router preference (`pref medium|high|low`). */
  pref?: string;
  /** Seconds until expiry (IPv6 `expires 593sec`). */
  expires?: number;
  /** IPv6 reject routes print `error -113`. */
  error?: number;
  /** IPv6 source-specific routing (`from 2001:db8::/64`). */
  from?: string;
  tos?: string;
  nhid?: number;
  /** Lightweight-tunnel encapsulation as printed (`mpls 100`, `ip id 5 dst …`). */
  encap?: string;
  /** Known but unmodelled attributes (realms, uid, cache info, …) as printed. */
  attrs?: Record<string, string>;
  extra?: string[];
  line: number;
  /** The route as printed (continuation lines joined with \n), or the JSON object. */
  raw: string;
}

export interface Fwmark {
  value: number;
  /** Absent means the full mask 0xffffffff (iproute2 then prints no mask). */
  mask?: number;
}

export type RuleAction = 'lookup' | 'blackhole' | 'unreachable' | 'prohibit' | 'goto' | 'nop' | 'nat';

export interface IpRule extends JsonOrigin {
  /** Known only when an address in the rule says so (`ip rule` and `ip -6 rule` print alike). */
  family?: IpFamilyNumber;
  priority: number;
  not: boolean;
  /** CIDR; undefined for `from all`. */
  from?: string;
  to?: string;
  tos?: string;
  fwmark?: Fwmark;
  iif?: string;
  iifDetached?: boolean;
  oif?: string;
  oifDetached?: boolean;
  l3mdev?: boolean;
  uidrange?: { start: number; end: number };
  ipproto?: string;
  sport?: { start: number; end: number };
  dport?: { start: number; end: number };
  tunId?: string;
  /** Lookup table (standard numbers normalised to names); absent for non-lookup actions. */
  table?: string;
  action: RuleAction;
  /** Target priority of `goto`. */
  goto?: number;
  suppressPrefixlen?: number;
  suppressIfgroup?: string;
  realms?: string;
  protocol?: string;
  unresolved?: boolean;
  extra?: string[];
  line: number;
}

export interface IpNeighbor extends JsonOrigin {
  family: IpFamilyNumber;
  dst: string;
  /** '' when the output was filtered by device (`ip neigh show dev X` omits it). */
  dev: string;
  lladdr?: string;
  /** PERMANENT, REACHABLE, STALE, DELAY, PROBE, FAILED, INCOMPLETE, NOARP, NONE (several may be set). */
  state: string[];
  router: boolean;
  proxy: boolean;
  externLearn?: boolean;
  protocol?: string;
  extra?: string[];
  line: number;
}

export interface FdbEntry extends JsonOrigin {
  mac: string;
  /** '' when the output was filtered by device. */
  dev: string;
  /** VXLAN remote underlay address. */
  dst?: string;
  vlan?: number;
  master?: string;
  /** Entry in the device's own table (`self`), e.g. a VXLAN remote or a multicast address. */
  self: boolean;
  permanent: boolean;
  /** permanent, static, stale, or `state=0x…`; absent for a learned (dynamic) entry. */
  state?: string;
  /** self, router, extern_learn, offload, master, sticky. */
  flags: string[];
  port?: number;
  vni?: number;
  srcVni?: number;
  via?: string;
  nhid?: number;
  extra?: string[];
  line: number;
}

// --- Tables -----------------------------------------------------------------------------------

const TABLE_NAMES: Readonly<Record<string, number>> = { unspec: 0, default: 253, main: 254, local: 255 };
const TABLE_BY_ID: Readonly<Record<number, string>> = { 0: 'unspec', 253: 'default', 254: 'main', 255: 'local' };

/** Numeric id of a routing table name (`main` → 254, `100` → 100); undefined for unknown names. */
export function routeTableId(name: string): number | undefined {
  if (Object.prototype.hasOwnProperty.call(TABLE_NAMES, name)) return TABLE_NAMES[name];
  if (/^\d{1,10}$/.test(name)) {
    const n = Number(name);
    return n <= 0xffffffff ? n : undefined;
  }
  return undefined;
}

/** `254` → `main`; other numbers and names unchanged. */
export function normaliseTableName(t: string | number): string {
  const s = String(t);
  if (/^\d{1,10}$/.test(s)) return TABLE_BY_ID[Number(s)] ?? String(Number(s));
  return s;
}

// --- Helpers ----------------------------------------------------------------------------------

/** A route to a single address (/32, /128). */
export function isHostRoute(route: Pick<IpRoute, 'family' | 'prefixLen'>): boolean {
  return route.prefixLen === (route.family === 4 ? 32 : 128);
}

/** The route's protocol with iproute2's omission undone: absent means `boot`. */
export function routeProtocol(route: Pick<IpRoute, 'protocol'>): string {
  return route.protocol ?? 'boot';
}

/**
 * Interfaces by name. On duplicate names (two captures concatenated) the first wins, matching
 * what a reader of the text would see first.
 */
export function interfacesByName<T extends { name: string }>(list: readonly T[]): Map<string, T> {
  const m = new Map<string, T>();
  for (const i of list) if (!m.has(i.name)) m.set(i.name, i);
  return m;
}

