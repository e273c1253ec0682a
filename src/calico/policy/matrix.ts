/**
 * Reachability matrix over endpoint pairs for one port/protocol, like the Kubernetes e2e truth
 * tables (test/e2e/network/netpol/reachability.go, TruthTable.PrettyPrint: rows = from,
 * columns = to, `.` allowed, `X` blocked).
 *
 * For one packet, whether a rule matches splits into packet-only checks (once per rule) and one
 * check per rule side and endpoint (cached per side key and endpoint, so identical sides in many
 * policies share the work). Policy selectors are evaluated once per endpoint
 * (policiesForEndpoint caches the tier blocks).
 *
 * Two strategies with the same semantics as walkEndpoint (evaluate.ts):
 * - `vector` (default, single IP family): per endpoint and direction, one pass over its rules
 *   filters all peers at once — the rules' decisions are applied to the set of still-undecided
 *   peers, Pass moves peers to the next tier, end of tier denies the rest, then profiles.
 * - `pairwise`: walkEndpoint for every pair with a memoised rule match (used for mixed IPv4/IPv6
 *   endpoint sets, and by the tests as a cross-check of the vector walk).
 */
import type { Endpoint } from '../endpoints.js';
import { type RuleMatchFn, failsafeHit, flowFamily, localWorkloadToHost, makePacket, walkEndpoint } from './evaluate.js';
import { type Peer, type PolicyPacket, makePeer, packetMiss, protocolName, protocolNumber, sideMiss } from './match.js';
import type { Direction, ResolvedEntity, ResolvedRule } from './model.js';
import type { Family } from './net.js';
import { type PolicyModel, policiesForEndpoint, profileFor } from './resolve.js';

export interface MatrixOptions {
  /** Only endpoints of this namespace (rows and columns). */
  namespace?: string;
  port?: number;
  protocol: string | number;
  icmp?: { type?: number; code?: number };
  /** Include host endpoints (default: workloads only, like the Kubernetes truth tables). */
  includeHosts?: boolean;
  /** Include endpoints without an IP address (unscheduled or starting pods); default no. */
  includeWithoutIp?: boolean;
  /** Explicit endpoint list (overrides namespace/includeHosts/includeWithoutIp). */
  endpoints?: Endpoint[];
  strategy?: 'vector' | 'pairwise';
}

/** Cell bits. */
export const CELL_EGRESS_OK = 1;
export const CELL_INGRESS_OK = 2;
/** Source and destination are the same endpoint (never seen by Calico). */
export const CELL_SELF = 4;

export interface ReachabilityMatrix {
  ids: string[];
  protocol: string;
  port?: number;
  /** Row-major N×N: CELL_* bits; allowed = both EGRESS_OK and INGRESS_OK. */
  cells: Uint8Array;
  /** Ordered pairs of distinct endpoints (the diagonal is not counted). */
  pairs: number;
  allowedCount: number;
  blockedCount: number;
}

export function cellAllowed(m: ReachabilityMatrix, i: number, j: number): boolean {
  const c = m.cells[i * m.ids.length + j];
  return (c & (CELL_EGRESS_OK | CELL_INGRESS_OK)) === (CELL_EGRESS_OK | CELL_INGRESS_OK);
}

function selectEndpoints(model: PolicyModel, opts: MatrixOptions): Endpoint[] {
  if (opts.endpoints) return opts.endpoints;
  return model.endpoints.filter(
    (e) => (opts.includeHosts || e.kind === 'workload') && (opts.namespace === undefined || e.namespace === opts.namespace) && (opts.includeWithoutIp || e.ips.length > 0),
  );
}

/** Memoised rule matching for one packet and a fixed list of peers. */
class RuleCache {
  /** Per rule uid: 0 unknown, 1 the packet rules it out, 2 it does not. */
  private readonly pkt: Int8Array;
  /** Per side key (+ which side): 0 unknown, 1 no, 2 yes, per peer index. */
  private readonly sides = new Map<string, Int8Array>();
  private readonly byUid: (Int8Array | undefined)[];

  constructor(
    private readonly model: PolicyModel,
    readonly packet: PolicyPacket,
    readonly peers: Peer[],
  ) {
    this.pkt = new Int8Array(model.uids.next);
    this.byUid = new Array<Int8Array | undefined>(model.uids.next);
  }

  packetOk(r: ResolvedRule): boolean {
    let p = this.pkt[r.uid];
    if (p === 0) {
      p = packetMiss(r, this.packet) === undefined ? 2 : 1;
      this.pkt[r.uid] = p;
    }
    return p === 2;
  }

  /** The per-peer result array of a side (filled lazily). */
  sideArray(e: ResolvedEntity, which: 'source' | 'destination'): Int8Array {
    let arr = this.byUid[e.uid];
    if (arr) return arr;
    const key = `${which === 'source' ? 'S' : 'D'}${e.key}`;
    arr = this.sides.get(key);
    if (!arr) this.sides.set(key, (arr = new Int8Array(this.peers.length)));
    this.byUid[e.uid] = arr;
    return arr;
  }

  side(e: ResolvedEntity, which: 'source' | 'destination', idx: number): boolean {
    if (e.empty) return true;
    const arr = this.sideArray(e, which);
    let v = arr[idx];
    if (v === 0) {
      v = sideMiss(this.model, e, this.peers[idx], this.packet, which) === undefined ? 2 : 1;
      arr[idx] = v;
    }
    return v === 2;
  }
}

// ---------------------------------------------------------------------------------------------
// Vector walk

interface Scratch {
  active: Int32Array;
  passed: Int32Array;
}

/**
 * Verdicts of `ep` (at index `local`) in `dir` for every peer index in 0..n-1 except itself:
 * out[k] = 1 allow, 2 deny. The same decision procedure as walkEndpoint, applied to a set.
 */
function walkVector(model: PolicyModel, cache: RuleCache, ep: Endpoint, local: number, dir: Direction, n: number, out: Uint8Array, s: Scratch): void {
  const localWhich = dir === 'egress' ? 'source' : 'destination';
  const remoteWhich = dir === 'egress' ? 'destination' : 'source';
  const active = s.active;
  const passed = s.passed;
  let count = 0;
  for (let k = 0; k < n; k++) if (k !== local) active[count++] = k;

  /** Applies one matching-for-`local` rule to the active peers; returns the new active count. */
  const apply = (r: ResolvedRule, count: number, passedCount: { v: number }): number => {
    const remote = dir === 'egress' ? r.destination : r.source;
    const action = r.action;
    if (action === 'Log') return count;
    const code = action === 'Allow' ? 1 : action === 'Deny' ? 2 : 0;
    if (remote.empty) {
      for (let t = 0; t < count; t++) {
        const k = active[t];
        if (code) out[k] = code;
        else passed[passedCount.v++] = k;
      }
      return 0;
    }
    const arr = cache.sideArray(remote, remoteWhich);
    let w = 0;
    for (let t = 0; t < count; t++) {
      const k = active[t];
      let v = arr[k];
      if (v === 0) {
        v = sideMiss(model, remote, cache.peers[k], cache.packet, remoteWhich) === undefined ? 2 : 1;
        arr[k] = v;
      }
      if (v === 2) {
        if (code) out[k] = code;
        else passed[passedCount.v++] = k;
      } else active[w++] = k;
    }
    return w;
  };

  const ruleLocallyOk = (r: ResolvedRule) => cache.packetOk(r) && cache.side(dir === 'egress' ? r.source : r.destination, localWhich, local);

  for (const b of policiesForEndpoint(model, ep, dir)) {
    if (b.policies.length === 0 || count === 0) continue;
    const pc = { v: 0 };
    for (const p of b.policies) {
      for (const r of p[dir]) {
        if (count === 0) break;
        if (!ruleLocallyOk(r)) continue;
        count = apply(r, count, pc);
      }
      if (count === 0) break;
    }
    if (b.tier.defaultAction !== 'Pass') {
      for (let t = 0; t < count; t++) out[active[t]] = 2;
      count = 0;
    }
    for (let t = 0; t < pc.v; t++) active[count++] = passed[t];
  }
  for (const name of ep.profiles) {
    if (count === 0) break;
    const prof = profileFor(model, name);
    const pc = { v: 0 };
    for (const r of prof[dir]) {
      if (count === 0) break;
      if (!ruleLocallyOk(r)) continue;
      count = apply(r, count, pc);
    }
    // Pass in a profile: on to the next profile.
    for (let t = 0; t < pc.v; t++) active[count++] = passed[t];
  }
  for (let t = 0; t < count; t++) out[active[t]] = 2;
}

// ---------------------------------------------------------------------------------------------

export function reachabilityMatrix(model: PolicyModel, opts: MatrixOptions): ReachabilityMatrix {
  const eps = selectEndpoints(model, opts);
  const n = eps.length;
  const proto = protocolNumber(opts.protocol);
  if (proto === undefined) throw new Error(`unknown protocol ${JSON.stringify(opts.protocol)}`);
  // Derived profiles and tier blocks are created before the caches are sized.
  for (const e of eps) {
    for (const p of e.profiles) profileFor(model, p);
    policiesForEndpoint(model, e, 'ingress');
    policiesForEndpoint(model, e, 'egress');
  }
  const query = { protocol: proto, ...(opts.port !== undefined ? { port: opts.port } : {}), ...(opts.icmp ? { icmp: opts.icmp } : {}) };
  const single = eps.every((e) => e.ips.length === 0 || e.ips.some((ip) => !ip.includes(':')));
  const cells = new Uint8Array(n * n);
  if (single && opts.strategy !== 'pairwise') vectorCells(model, eps, query, cells);
  else pairwiseCells(model, eps, query, cells, single ? 4 : undefined);
  let allowed = 0;
  for (let k = 0; k < cells.length; k++) if ((cells[k] & 3) === 3 && (cells[k] & CELL_SELF) === 0) allowed++;
  const pairs = n * (n - 1);
  const out: ReachabilityMatrix = { ids: eps.map((e) => e.id), protocol: protocolName(proto), cells, pairs, allowedCount: allowed, blockedCount: pairs - allowed };
  if (opts.port !== undefined) out.port = opts.port;
  return out;
}

type Query = Parameters<typeof makePacket>[0];

function vectorCells(model: PolicyModel, eps: Endpoint[], query: Query, cells: Uint8Array): void {
  const n = eps.length;
  const pkt = makePacket(query, 4);
  const peers = eps.map((e) => makePeer(model, e, 4));
  const cache = new RuleCache(model, pkt, peers);
  const s: Scratch = { active: new Int32Array(n), passed: new Int32Array(n) };
  const row = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    cells[i * n + i] = CELL_SELF | CELL_EGRESS_OK | CELL_INGRESS_OK;
    // Egress at i towards every j.
    row.fill(0);
    walkVector(model, cache, eps[i], i, 'egress', n, row, s);
    const host = eps[i].kind === 'host';
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      if (row[j] === 1 || (host && failsafeHit(model, 'egress', pkt, peers[j]))) cells[i * n + j] |= CELL_EGRESS_OK;
    }
    // Ingress at i from every j (column i).
    row.fill(0);
    walkVector(model, cache, eps[i], i, 'ingress', n, row, s);
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      if (row[j] === 1 || localWorkloadToHost(eps[j], eps[i]) || (host && failsafeHit(model, 'ingress', pkt, peers[j]))) cells[j * n + i] |= CELL_INGRESS_OK;
    }
  }
}

function pairwiseCells(model: PolicyModel, eps: Endpoint[], query: Query, cells: Uint8Array, fixed: Family | undefined): void {
  const n = eps.length;
  const caches = new Map<Family, { cache: RuleCache; match: RuleMatchFn; cur: { src: number; dst: number } }>();
  const forFamily = (f: Family) => {
    let x = caches.get(f);
    if (!x) {
      const cache = new RuleCache(model, makePacket(query, f), eps.map((e) => makePeer(model, e, f)));
      const cur = { src: 0, dst: 0 };
      const match: RuleMatchFn = (r) => cache.packetOk(r) && cache.side(r.source, 'source', cur.src) && cache.side(r.destination, 'destination', cur.dst);
      x = { cache, match, cur };
      caches.set(f, x);
    }
    return x;
  };
  for (let i = 0; i < n; i++) {
    const src = eps[i];
    for (let j = 0; j < n; j++) {
      const k = i * n + j;
      if (i === j) {
        cells[k] = CELL_SELF | CELL_EGRESS_OK | CELL_INGRESS_OK;
        continue;
      }
      const dst = eps[j];
      const { cache, match, cur } = forFamily(fixed ?? flowFamily(model, src, dst));
      cur.src = i;
      cur.dst = j;
      const pkt = cache.packet;
      let c = 0;
      if ((src.kind === 'host' && failsafeHit(model, 'egress', pkt, cache.peers[j])) || walkEndpoint(model, src, 'egress', match).verdict === 'allow') c |= CELL_EGRESS_OK;
      if (localWorkloadToHost(src, dst) || (dst.kind === 'host' && failsafeHit(model, 'ingress', pkt, cache.peers[i])) || walkEndpoint(model, dst, 'ingress', match).verdict === 'allow') {
        c |= CELL_INGRESS_OK;
      }
      cells[k] = c;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Output

export interface MatrixJson {
  protocol: string;
  port: number | null;
  endpoints: string[];
  /** One string per source endpoint: `.` allowed, `X` blocked (by egress, ingress or both). */
  rows: string[];
  /** Per blocked pair, which side blocked it. */
  blocked: { from: string; to: string; egress: boolean; ingress: boolean }[];
  /** Allowed ordered pairs of distinct endpoints, out of `pairs`. */
  allowed: number;
  pairs: number;
}

export function matrixJson(m: ReachabilityMatrix): MatrixJson {
  const n = m.ids.length;
  const rows: string[] = [];
  const blocked: MatrixJson['blocked'] = [];
  for (let i = 0; i < n; i++) {
    let row = '';
    for (let j = 0; j < n; j++) {
      const c = m.cells[i * n + j];
      const ok = (c & 3) === 3;
      row += ok ? '.' : 'X';
      if (!ok) blocked.push({ from: m.ids[i], to: m.ids[j], egress: (c & CELL_EGRESS_OK) === 0, ingress: (c & CELL_INGRESS_OK) === 0 });
    }
    rows.push(row);
  }
  return { protocol: m.protocol, port: m.port ?? null, endpoints: m.ids, rows, blocked, allowed: m.allowedCount, pairs: m.pairs };
}

/**
 * The table as text. `style: 'tabs'` is the e2e suite's TruthTable.PrettyPrint layout
 * (`-` corner, tab-separated); the default pads columns for a terminal.
 */
export function renderMatrixText(m: ReachabilityMatrix, opts: { style?: 'aligned' | 'tabs' } = {}): string {
  const n = m.ids.length;
  const mark = (i: number, j: number) => ((m.cells[i * n + j] & 3) === 3 ? '.' : 'X');
  const head = `${m.protocol}${m.port !== undefined ? `/${m.port}` : ''}: ${m.allowedCount} of ${m.pairs} pairs allowed (rows: from, columns: to; . allowed, X blocked; an endpoint to itself is always allowed)`;
  if (n === 0) return `${head}\n(no endpoints)`;
  const lines = [head];
  if (opts.style === 'tabs') {
    lines.push(['-', ...m.ids].join('\t'));
    for (let i = 0; i < n; i++) lines.push([m.ids[i], ...m.ids.map((_, j) => mark(i, j))].join('\t'));
    return lines.join('\n');
  }
  const w0 = Math.max(1, ...m.ids.map((s) => s.length));
  const widths = m.ids.map((s) => Math.max(1, s.length));
  lines.push([' '.repeat(w0), ...m.ids.map((s, j) => s.padEnd(widths[j]))].join(' ').trimEnd());
  for (let i = 0; i < n; i++) lines.push([m.ids[i].padEnd(w0), ...m.ids.map((_, j) => mark(i, j).padEnd(widths[j]))].join(' ').trimEnd());
  return lines.join('\n');
}
