/**
 * BGP state of a node as BIRD and `calicoctl node status` report it (calico-formats.md §1, §2).
 * Calico runs BIRD 1.6 (its fork); the parsers read both `birdcl`/`birdc` terminal output and the
 * control socket's raw form with 4-digit reply codes.
 */

/** Protocol state column of `show protocols` (BIRD's proto_state_name). */
export type BirdProtoState = 'up' | 'down' | 'start' | 'stop' | 'feed' | 'flush';

/** First word of a BGP protocol's info column / `BGP state:`. Other words can appear (e.g. `Passive`). */
export type BgpState = 'Idle' | 'Connect' | 'Active' | 'OpenSent' | 'OpenConfirm' | 'Established' | 'Close' | (string & {});

export const BGP_STATES: readonly string[] = ['Idle', 'Connect', 'Active', 'OpenSent', 'OpenConfirm', 'Established', 'Close'];

/** How Calico names its BGP protocols: `Mesh_<ip>`, `Global_<ip>`, `Node_<ip>`. */
export type CalicoPeerType = 'node-to-node mesh' | 'global' | 'node specific';

export interface CalicoPeerRef {
  type: CalicoPeerType;
  /** The peer address decoded from the protocol name (`_` → `.` for IPv4, `:` for IPv6). */
  ip: string;
  /** From a `_port_<n>` suffix, when Calico added one for a non-default port. */
  port?: number;
}

export interface BirdRouteCounts {
  imported: number;
  exported: number;
  preferred: number;
  filtered?: number;
}

export interface BirdProtocol {
  name: string;
  /** `BGP`, `Kernel`, `Device`, `Direct`, `Static`, `Pipe`, … as BIRD prints it. */
  proto: string;
  table: string;
  state: BirdProtoState | (string & {});
  /** Time (`09:54:10`), date (`2016-11-21`) or both (`2016-11-21 09:54:10`), as printed. */
  since: string;
  /** The info column, words joined by single spaces (`Active Socket: Connection refused`). */
  info: string;
  /** BGP only: the first word of info, or `BGP state:` from `show protocols all`. */
  bgpState?: BgpState;
  /** BGP only: the rest of info after the state, or `Last error:` from `show protocols all`. */
  lastError?: string;
  /** BGP only, for names Calico generates. */
  peer?: CalicoPeerRef;
  neighborAddress?: string;
  neighborAs?: number;
  /** `Local AS:` (BIRD 2 prints it; BIRD 1.6 does not). */
  localAs?: number;
  routes?: BirdRouteCounts;
  /** 1-based line of the protocol's row. */
  line: number;
  /** The row as printed (without the control-socket code). */
  raw: string;
  /** `show protocols all`: every `Key: value` line of the block (stats rows as `Import updates` → `2 0 0 0 2`). */
  detail?: Record<string, string>;
}

export type BirdRouteKind = 'via' | 'dev' | 'blackhole' | 'unreachable' | 'prohibit';

export interface BirdNextHop {
  via?: string;
  iface?: string;
  weight?: number;
}

export interface BirdRoute {
  prefix: string;
  kind: BirdRouteKind;
  via?: string;
  iface?: string;
  /** Multipath (ECMP) routes: every next hop; `via`/`iface` hold the first. */
  nexthops?: BirdNextHop[];
  /** Protocol that supplied the route (`kernel1`, `static1`, `Mesh_10_0_0_12`, …). */
  protocol: string;
  since?: string;
  /** BIRD's ` from <addr>` inside the brackets: the BGP neighbour when it differs from the gateway. */
  from?: string;
  /** `*`: the route BIRD selected (exported to the kernel). */
  primary: boolean;
  pref?: number;
  /** The number after `/` in `(100/0)`; absent for `(100)` and `(100/?)`. */
  igpMetric?: number;
  /** BGP origin as printed, without brackets: `i`, `e`, `?`, `AS65001?`, `AS65001i`. */
  origin?: string;
  /** Set on the indented lines under a prefix (alternative routes): that prefix. */
  alternateOf?: string;
  /** `show route all`: `Type`, `BGP.origin`, `BGP.as_path`, `BGP.next_hop`, `BGP.local_pref`, `Kernel.*`, … */
  attrs?: Record<string, string>;
  line: number;
  raw: string;
}

export interface NodeStatusPeer {
  address: string;
  /** `node-to-node mesh`, `global`, `node specific` (as printed). */
  type: string;
  state: string;
  since: string;
  /** Info cell, wrapped continuation rows joined with a space. */
  info: string;
  bgpState?: BgpState;
  lastError?: string;
  line: number;
}

export interface CalicoNodeStatus {
  /** `Calico process is running.` / `… is not running.`; undefined when neither line is present. */
  running: boolean | undefined;
  /** Every line outside the tables that is not a section title (e.g. `The BGP backend process (BIRD) is not running.`). */
  messages: string[];
  ipv4Peers: NodeStatusPeer[];
  ipv6Peers: NodeStatusPeer[];
  noIpv4Peers?: boolean;
  noIpv6Peers?: boolean;
}

const PEER_TYPES: Record<string, CalicoPeerType> = {
  mesh: 'node-to-node mesh',
  global: 'global',
  node: 'node specific',
};

/**
 * Decodes a Calico BGP protocol name the way calicoctl does (node/pkg/status/populators/peers.go):
 * `Mesh_10_0_0_12` → 10.0.0.12, `Mesh_fd80_24e2_f998_72d7__2` → fd80:24e2:f998:72d7::2.
 * Calico picks the separator by the BIRD instance (bird vs bird6); here, four decimal groups mean IPv4.
 */
export function calicoPeerFromName(name: string): CalicoPeerRef | undefined {
  const m = /^(Mesh|Global|Node)_(.+)$/i.exec(name);
  if (!m) return undefined;
  const type = PEER_TYPES[m[1].toLowerCase()];
  let rest = m[2];
  let port: number | undefined;
  const pm = /_port_(\d{1,5})$/.exec(rest);
  if (pm) {
    port = Number(pm[1]);
    rest = rest.slice(0, pm.index);
  }
  const ip = /^\d{1,3}(_\d{1,3}){3}$/.test(rest) ? rest.replace(/_/g, '.') : rest.replace(/_/g, ':');
  return port === undefined ? { type, ip } : { type, ip, port };
}

/** Splits a BGP info text (`Active Socket: Connection refused`) into state and the rest. */
export function splitBgpInfo(info: string): { bgpState?: string; lastError?: string } {
  const t = info.trim();
  if (t === '') return {};
  const sp = t.indexOf(' ');
  if (sp < 0) return { bgpState: t };
  const rest = t.slice(sp + 1).trim();
  return rest === '' ? { bgpState: t.slice(0, sp) } : { bgpState: t.slice(0, sp), lastError: rest };
}
