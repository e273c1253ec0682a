/**
 * The kernel-verified accuracy suite: for the healthy lab and every fault of the catalogue,
 * caliscope's trace of each probed flow (from a bundle collected from the lab) is compared with
 * what the kernel did to that flow's real packets.
 *
 *   kernel     — the probe (src/lab/probe.ts): delivered (`ok`) or not; for failures, where, from
 *                nftables packet tracing in the node namespaces during the same probe run
 *                (src/lab/kernel-trace.ts): the node and chain of a dropping rule or policy, the
 *                node whose stack dropped it after a hook (routing, rp_filter, forwarding, MTU),
 *                "never left its pod", "lost between two nodes", "left the cluster", or "answered
 *                by the wrong pod".
 *   caliscope  — `traceFlow` on the loaded bundle: delivered or dropped (forward or reply), and
 *                where (DropInfo: node, table/chain or route/sysctl/mtu/…).
 *
 * A flow agrees when the verdicts are equal and, for a drop, the direction, the kind of place
 * (netfilter rule vs kernel stack vs before the node …), the node and, for rule drops, the chain
 * are equal. An indeterminate caliscope verdict is a disagreement.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Bundle } from '../model/bundle.js';
import { loadBundle } from '../bundle/load.js';
import { traceFlow, TraceQueryError } from '../trace/flow.js';
import type { DropInfo, PathResult, TraceQuery, TraceResult } from '../trace/types.js';
import { labCollect } from './collect.js';
import { FAULTS, labBreak, labFix, type FaultContext } from './faults.js';
import { addressBook, kernelAccount, startKernelTrace, type KernelAccount, type KernelFate, type KernelTraceIndex, type LabAddressBook } from './kernel-trace.js';
import { labProbe, probeKey, type LabProbeOptions, type ProbeResult } from './probe.js';
import type { LabState } from './state.js';

export type FlowVerdict = 'delivered' | 'dropped' | 'indeterminate';

/** Where a flow died, in terms both sides can state. */
export interface FlowWhere {
  direction: 'forward' | 'reply';
  /**
   * netfilter: a rule or chain policy; stack: the node's routing/sysctl/MTU handling; not-sent:
   * never left its pod (the pod side of its veth); underlay: lost between two nodes; outside:
   * sent out of the cluster (to the gateway); misdelivered: reached another pod than intended.
   */
  kind: 'netfilter' | 'stack' | 'not-sent' | 'underlay' | 'outside' | 'misdelivered' | 'unknown';
  node?: string;
  /** underlay: the node it was heading to. */
  toward?: string;
  table?: string;
  chain?: string;
  /** misdelivered: the pod that got it. */
  to?: string;
  detail: string;
}

export interface SideAccount {
  verdict: FlowVerdict;
  where?: FlowWhere;
}

export interface FlowComparison {
  probe: ProbeResult;
  kernel: SideAccount;
  caliscope: SideAccount;
  agree: boolean;
  /** Why they disagree. */
  why?: string;
  /**
   * The first measurement disagreed and the flow was probed again on its own (under a new trace):
   * what the first one said. Only a disagreement that reproduces counts.
   */
  firstMeasurement?: { kernel: SideAccount; why?: string };
}

export interface ScenarioRow {
  mode: string;
  scenario: string;
  flows: FlowComparison[];
  ms: number;
}

// ---------------------------------------------------------------------------------------------
// Probe → trace query

/** The trace query for a probed flow, as the CLI would build it from pod names, IPs and Services. */
export function probeToQuery(r: ProbeResult, topo: { external: { ip: string } }): TraceQuery {
  const from = r.from === 'external' ? topo.external.ip : r.from;
  // External → NodePort: the node address (the Service is reached through it).
  const to = r.from === 'external' || r.to === 'external' ? r.dstIp : r.to.startsWith('svc:') ? `svc ${r.to.slice(4)}` : r.to;
  return {
    from,
    to,
    protocol: r.protocol,
    ...(r.port !== undefined ? { port: r.port } : {}),
    // The probe's size is the ICMP payload; the trace wants the IP packet's total length.
    ...(r.size !== undefined ? { size: r.size + 28 } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// Caliscope's side

type TracePath = TraceResult['paths'][number];

/** The Service backend a path went to: its final destination, or the last DNAT on the way. */
export function pathBackend(p: PathResult): string | undefined {
  let dnat: string | undefined;
  for (const h of p.hops) for (const s of h.steps) if (s.kind === 'hook') for (const n of s.nat) if (n.kind === 'DNAT') dnat = n.after.addr;
  return dnat ?? (p.verdict === 'delivered' ? p.finalPacket?.dst : undefined);
}

function dropWhere(p: PathResult, direction: FlowWhere['direction']): FlowWhere {
  const d = p.dropped as DropInfo;
  const hop = [...p.hops].reverse().find((h) => h.outcome === 'dropped');
  const kind: FlowWhere['kind'] =
    hop?.kind === 'pod-egress' ? 'not-sent' : hop?.kind === 'external' ? 'outside' : d.where === 'rule' || d.where === 'policy' ? 'netfilter' : d.where === 'underlay' ? 'underlay' : d.where === 'endpoint' ? 'misdelivered' : 'stack';
  return { direction, kind, node: d.node, table: d.table, chain: kind === 'netfilter' ? d.chain : undefined, detail: `${d.where}: ${d.reason}` };
}

/** The pods a TCP/UDP probe must reach (the pod, or a Service's endpoints); undefined = anyone. */
function intendedPods(r: ProbeResult, state: Pick<LabState, 'topology'>): string[] | undefined {
  if (r.protocol === 'ICMP') return undefined;
  if (r.to === 'external') return ['external'];
  if (r.to.startsWith('svc:')) {
    const svc = state.topology.services.find((s) => `svc:${s.key}` === r.to);
    const sp = svc?.ports.find((p) => (r.from === 'external' ? p.nodePort === r.port : p.port === r.port) && p.protocol === r.protocol);
    return sp?.endpoints.map((e) => e.pod);
  }
  return [r.to];
}

/** caliscope's verdict for one path (forward, then reply). */
export function pathAccount(p: TracePath, r: ProbeResult, state: Pick<LabState, 'topology'>, sourceId: string): SideAccount {
  if (p.verdict === 'dropped') return { verdict: 'dropped', where: dropWhere(p, 'forward') };
  if (p.verdict === 'indeterminate') return { verdict: 'indeterminate', where: { direction: 'forward', kind: 'unknown', detail: p.indeterminate?.reason ?? 'indeterminate' } };
  const want = intendedPods(r, state);
  const got = p.deliveredTo?.startsWith('external') ? 'external' : p.deliveredTo;
  if (want && got && !want.includes(got)) return { verdict: 'dropped', where: { direction: 'forward', kind: 'misdelivered', to: got, detail: `delivered to ${p.deliveredTo}` } };
  const rep = p.reply;
  if (!rep) return { verdict: 'indeterminate', where: { direction: 'reply', kind: 'unknown', detail: 'no reply traced' } };
  if (rep.verdict === 'dropped') return { verdict: 'dropped', where: dropWhere(rep, 'reply') };
  if (rep.verdict === 'indeterminate') return { verdict: 'indeterminate', where: { direction: 'reply', kind: 'unknown', detail: rep.indeterminate?.reason ?? 'indeterminate' } };
  const back = rep.deliveredTo?.startsWith('external') ? 'external' : rep.deliveredTo;
  if (back !== sourceId) return { verdict: 'dropped', where: { direction: 'reply', kind: 'misdelivered', to: back, detail: `reply delivered to ${rep.deliveredTo}` } };
  return { verdict: 'delivered' };
}

/**
 * caliscope's verdict for a probe. With several paths (a Service's backends), the one the kernel
 * took: the backend it DNATed to (seen in the trace) or that answered.
 */
export function caliscopeAccount(t: TraceResult, r: ProbeResult, state: Pick<LabState, 'topology'>, backendIp?: string): SideAccount & { paths: number } {
  const sourceId = r.from === 'external' ? 'external' : r.from;
  let paths: TracePath[] = t.paths;
  if (paths.length > 1 && backendIp) {
    const chosen = paths.filter((p) => pathBackend(p) === backendIp);
    if (chosen.length > 0) paths = chosen;
  }
  const accts = paths.map((p) => pathAccount(p, r, state, sourceId));
  const first = accts[0] ?? { verdict: 'indeterminate' as const, where: { direction: 'forward' as const, kind: 'unknown' as const, detail: 'no path' } };
  // Several candidate paths left (the kernel's choice unknown): they must all say the same.
  const same = accts.every((a) => a.verdict === first.verdict && whereKey(a.where) === whereKey(first.where));
  if (!same) return { verdict: 'indeterminate', where: { direction: 'forward', kind: 'unknown', detail: `depends on the backend: ${accts.map((a) => `${a.verdict}${a.where ? ` (${a.where.detail})` : ''}`).join(' | ')}` }, paths: accts.length };
  return { ...first, paths: accts.length };
}

function whereKey(w: FlowWhere | undefined): string {
  return w ? `${w.direction}|${w.kind}|${w.node ?? ''}|${w.chain ?? ''}|${w.to ?? ''}` : '';
}

// ---------------------------------------------------------------------------------------------
// The kernel's side

function fateWhere(f: KernelFate, direction: FlowWhere['direction'], source: string): FlowWhere {
  switch (f.kind) {
    case 'not-sent':
      return { direction, kind: 'not-sent', node: f.node, detail: `never reached ${f.node ?? 'a node'}: it did not leave ${direction === 'forward' ? source : 'the answering pod'}` };
    case 'netfilter':
      return { direction, kind: 'netfilter', node: f.node, table: f.table, chain: f.chain, detail: `${f.node} ${f.table}/${f.chain} (${f.hook}): ${f.text.replace(/\s+/g, ' ').trim()}` };
    case 'stack':
      return { direction, kind: 'stack', node: f.node, detail: `${f.node}: passed ${f.afterHook}, then dropped by the stack (routing, rp_filter, forwarding or MTU)` };
    case 'underlay':
      return { direction, kind: 'underlay', node: f.node, toward: f.toward, detail: `left ${f.node}${f.toward ? ` toward ${f.toward}` : ''} and never arrived` };
    case 'outside':
      return { direction, kind: 'outside', node: f.node, detail: `${f.node} sent it (to ${f.dst}) out of the cluster, to the gateway` };
    case 'delivered':
      return { direction, kind: 'misdelivered', node: f.node, to: f.to, detail: `delivered to ${f.to}` };
  }
}

/** The kernel's verdict and, for a failed probe, where the trace saw it die. */
export function kernelSide(r: ProbeResult, acct: KernelAccount | undefined): SideAccount {
  if (r.ok) return { verdict: 'delivered' };
  // TCP/UDP answered by the wrong pod: the probe says so itself.
  if (r.servedBy) return { verdict: 'dropped', where: { direction: 'forward', kind: 'misdelivered', to: r.servedBy, detail: r.detail } };
  if (!acct) return { verdict: 'dropped', where: { direction: 'forward', kind: 'unknown', detail: r.detail } };
  const source = r.from;
  if (acct.forward.kind !== 'delivered') return { verdict: 'dropped', where: fateWhere(acct.forward, 'forward', source) };
  const intended = r.to.startsWith('svc:') || r.to === 'external' ? undefined : r.to;
  if (r.protocol !== 'ICMP' && intended && acct.forward.to !== intended) return { verdict: 'dropped', where: { direction: 'forward', kind: 'misdelivered', to: acct.forward.to, detail: `delivered to ${acct.forward.to}` } };
  const rep = acct.reply;
  if (!rep) return { verdict: 'dropped', where: { direction: 'reply', kind: 'unknown', detail: r.detail } };
  if (rep.kind === 'delivered') {
    const back = rep.to;
    if (back !== source) return { verdict: 'dropped', where: { direction: 'reply', kind: 'misdelivered', node: rep.node, to: back, detail: `reply delivered to ${back}` } };
    return { verdict: 'dropped', where: { direction: 'reply', kind: 'unknown', detail: `the trace shows both directions delivered; probe: ${r.detail}` } };
  }
  // A reply that never showed up from the external host: the host did not answer (no route back).
  if (rep.kind === 'not-sent' && acct.forward.to === 'external') return { verdict: 'dropped', where: { direction: 'reply', kind: 'outside', detail: 'the external host never answered (no route back to the source)' } };
  return { verdict: 'dropped', where: fateWhere(rep, 'reply', source) };
}

// ---------------------------------------------------------------------------------------------
// Comparison

/** Do the two accounts agree? (verdict; for drops also direction, kind of place, node, chain). */
export function compareFlow(kernel: SideAccount, caliscope: SideAccount): { agree: boolean; why?: string } {
  if (caliscope.verdict === 'indeterminate') return { agree: false, why: `caliscope is indeterminate: ${caliscope.where?.detail ?? ''}` };
  if (kernel.verdict !== caliscope.verdict) return { agree: false, why: `kernel ${kernel.verdict}, caliscope ${caliscope.verdict}` };
  if (kernel.verdict === 'delivered') return { agree: true };
  const k = kernel.where;
  const c = caliscope.where;
  if (!k || !c) return { agree: false, why: 'a drop without a place' };
  if (k.kind === 'unknown') return { agree: false, why: `the kernel trace does not show where: ${k.detail}` };
  if (k.direction !== c.direction) return { agree: false, why: `kernel drops the ${k.direction}, caliscope the ${c.direction}` };
  if (k.kind === 'misdelivered' || c.kind === 'misdelivered') {
    if (k.kind !== c.kind || k.to !== c.to) return { agree: false, why: `kernel: ${k.detail}; caliscope: ${c.detail}` };
    return { agree: true };
  }
  if (k.kind === 'underlay') {
    // Lost on the wire: caliscope must blame the link (MTU, underlay) at one of its two ends.
    if (!['underlay', 'stack'].includes(c.kind) || (c.node !== k.node && c.node !== k.toward)) return { agree: false, why: `kernel: ${k.detail}; caliscope: ${c.kind} on ${c.node}` };
    return { agree: true };
  }
  if (k.kind !== c.kind) return { agree: false, why: `kernel: ${k.kind} (${k.detail}); caliscope: ${c.kind} (${c.detail})` };
  if (k.node !== undefined && k.node !== c.node) return { agree: false, why: `kernel drops on ${k.node}, caliscope on ${c.node}` };
  if (k.kind === 'netfilter' && (k.chain !== c.chain || k.table !== c.table)) return { agree: false, why: `kernel: ${k.table}/${k.chain}, caliscope: ${c.table}/${c.chain}` };
  return { agree: true };
}

// ---------------------------------------------------------------------------------------------
// The table

const flowText = (r: ProbeResult) => `${r.from} -> ${r.to}${r.to.startsWith('svc:') || r.to === 'external' || r.from === 'external' ? ` (${r.dstIp})` : ''} ${r.protocol}${r.port !== undefined ? `/${r.port}` : ''}${r.size ? ` ${r.size + 28}B DF` : ''}`;
const sideText = (s: SideAccount) => `${s.verdict}${s.where ? ` [${s.where.direction} ${s.where.kind}${s.where.node ? ` ${s.where.node}` : ''}${s.where.chain ? ` ${s.where.table}/${s.where.chain}` : ''}${s.where.to ? ` → ${s.where.to}` : ''}]` : ''}`;

/** `mode  scenario  flows  agree  disagree` per scenario, a total line, then every disagreement. */
export function accuracyTable(rows: ScenarioRow[]): string {
  const head = ['mode', 'scenario', 'flows', 'dropped', 'agree', 'disagree'];
  const body = rows.map((r) => {
    const agree = r.flows.filter((f) => f.agree).length;
    return [r.mode, r.scenario, String(r.flows.length), String(r.flows.filter((f) => f.kernel.verdict === 'dropped').length), String(agree), String(r.flows.length - agree)];
  });
  const flows = rows.reduce((n, r) => n + r.flows.length, 0);
  const agree = rows.reduce((n, r) => n + r.flows.filter((f) => f.agree).length, 0);
  const dropped = rows.reduce((n, r) => n + r.flows.filter((f) => f.kernel.verdict === 'dropped').length, 0);
  body.push(['all', `${rows.length} scenarios`, String(flows), String(dropped), String(agree), String(flows - agree)]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i >= 2 ? c.padStart(w[i]) : c.padEnd(w[i]))).join('  ');
  const out = [line(head), line(w.map((n) => '-'.repeat(n))), ...body.map(line)];
  // Where the kernel dropped what it dropped, over all scenarios (what "agree" had to match).
  const places = new Map<string, number>();
  for (const r of rows) for (const f of r.flows) if (f.kernel.where) places.set(`${f.kernel.where.kind} (${f.kernel.where.direction})`, (places.get(`${f.kernel.where.kind} (${f.kernel.where.direction})`) ?? 0) + 1);
  if (places.size) out.push('', `kernel drop places: ${[...places].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ')}`);
  const again = rows.flatMap((r) => r.flows.filter((f) => f.firstMeasurement).map((f) => ({ r, f })));
  if (again.length) {
    out.push('', `probed again alone after a first disagreement (${again.length}):`);
    for (const { r, f } of again) out.push(`  ${r.mode} ${r.scenario}: ${flowText(f.probe)}: first ${sideText(f.firstMeasurement!.kernel)} — ${f.firstMeasurement!.why ?? ''}; again: ${f.agree ? 'agrees' : 'disagrees'}`);
  }
  const bad = rows.flatMap((r) => r.flows.filter((f) => !f.agree).map((f) => ({ r, f })));
  if (bad.length) {
    out.push('', `disagreements (${bad.length}):`);
    for (const { r, f } of bad) out.push(`  ${r.mode} ${r.scenario}: ${flowText(f.probe)}: kernel ${sideText(f.kernel)} | caliscope ${sideText(f.caliscope)} — ${f.why ?? ''}`);
  }
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Running it on a lab

/**
 * Probes in flight / per-probe timeout. The renderer's policies deny ≈270 of the 436 flows even in
 * the healthy lab and every denied TCP/UDP/ICMP probe waits out its 1 s timeout, so 128 in flight
 * (not the 64 of the fault tests) keeps a scenario near 4 s.
 */
export const ACCURACY_PROBE_OPTS = { concurrency: 128, timeoutMs: 1000 } as const;

export interface AccuracyOptions {
  probe?: LabProbeOptions;
  ctx?: FaultContext;
  log?: (msg: string) => void;
  /** Keep each scenario's bundle, probe results and raw nft traces under `<keepDir>/<mode>-<scenario>/`. */
  keepDir?: string;
}

/** Compares every probed flow of one state of the lab (bundle loaded from `bundle`). */
export function compareFlows(state: LabState, bundle: Bundle, results: ProbeResult[], ix: KernelTraceIndex, book: LabAddressBook = addressBook(state)): FlowComparison[] {
  return results.map((r) => {
    const acct = r.ok ? undefined : kernelAccount(ix, book, r);
    const kernel = kernelSide(r, acct);
    let backend = acct?.dnatTo;
    if (!backend && r.servedBy) backend = book.pods.get(r.servedBy)?.ip;
    let caliscope: SideAccount;
    try {
      const t = traceFlow(bundle, probeToQuery(r, state.topology));
      caliscope = caliscopeAccount(t, r, state, backend);
    } catch (e) {
      if (!(e instanceof TraceQueryError)) throw e;
      caliscope = { verdict: 'indeterminate', where: { direction: 'forward', kind: 'unknown', detail: `trace refused the query: ${e.message}` } };
    }
    const c = compareFlow(kernel, caliscope);
    return { probe: r, kernel, caliscope, agree: c.agree, ...(c.why ? { why: c.why } : {}) };
  });
}

/** Collect → probe under kernel tracing → trace every flow → compare, for the lab as it is now. */
export async function measureState(state: LabState, mode: string, scenario: string, opts: AccuracyOptions = {}): Promise<ScenarioRow> {
  const t0 = Date.now();
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `caliscope-accuracy-${scenario}-`));
  try {
    await labCollect(state, path.join(dir, 'bundle'));
    let results: ProbeResult[] = [];
    let ix: (KernelTraceIndex & { raw: Map<string, string> }) | undefined;
    // A monitor that could not keep up lost trace events: that run says nothing reliable about
    // where flows died, so the probe runs again (the lab has not changed).
    for (let attempt = 1; attempt <= 3; attempt++) {
      const tracer = await startKernelTrace(state);
      try {
        results = await labProbe(state, opts.probe);
      } catch (e) {
        await tracer.stop().catch(() => undefined);
        throw e;
      }
      ix = await tracer.stop();
      if (ix.lostEvents.length === 0) break;
      opts.log?.(`${mode} ${scenario}: nft monitor lost trace events on ${ix.lostEvents.join(', ')} (run ${attempt}); probing again`);
    }
    if (!ix || ix.lostEvents.length) throw new Error(`${mode} ${scenario}: the kernel trace lost events in 3 runs`);
    if (opts.keepDir) {
      // Everything needed to look into a disagreement later: the bundle, the probe results, the raw traces.
      const keep = path.join(opts.keepDir, `${mode}-${scenario}`);
      await fs.rm(keep, { recursive: true, force: true });
      await fs.mkdir(keep, { recursive: true });
      await fs.cp(path.join(dir, 'bundle'), path.join(keep, 'bundle'), { recursive: true });
      await fs.writeFile(path.join(keep, 'probe.json'), `${JSON.stringify(results, null, 1)}\n`);
      for (const [node, text] of ix.raw) await fs.writeFile(path.join(keep, `${node}.nft-trace.txt`), text);
    }
    const bundle = await loadBundle(path.join(dir, 'bundle'));
    const flows = compareFlows(state, bundle, results, ix);
    // 128 probes in flight share the nodes with `nft monitor`: a probe can time out on a loaded
    // lab, or a reply be matched to a concurrent flow of the same port. A disagreement must
    // reproduce when the flow is probed again alone (the lab is unchanged); an engine or renderer
    // bug does, measurement noise does not. The first measurement is kept and printed.
    const bad = flows.map((f, i) => (f.agree ? -1 : i)).filter((i) => i >= 0);
    if (bad.length > 0 && bad.length <= 16) {
      const want = new Set(bad.map((i) => probeKey(flows[i].probe)));
      const tracer = await startKernelTrace(state);
      let again: ProbeResult[];
      try {
        again = await labProbe(state, { ...opts.probe, concurrency: 1, filter: (p) => want.has(probeKey(p)) });
      } finally {
        ix = await tracer.stop();
      }
      const redo = compareFlows(state, bundle, again, ix);
      for (const i of bad) {
        const r = redo.find((x) => probeKey(x.probe) === probeKey(flows[i].probe));
        if (!r) continue;
        opts.log?.(`${mode} ${scenario}: ${flowText(flows[i].probe)} disagreed (${flows[i].why}); probed again alone: ${r.agree ? 'agrees' : `still disagrees (${r.why})`}`);
        flows[i] = { ...r, firstMeasurement: { kernel: flows[i].kernel, why: flows[i].why } };
      }
    }
    return { mode, scenario, flows, ms: Date.now() - t0 };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** The baseline, then break → measure → fix for every fault of the lab's mode. */
export async function measureAllFaults(state: LabState, opts: AccuracyOptions & { faults?: string[] } = {}): Promise<ScenarioRow[]> {
  const mode = state.topology.mode;
  const log = opts.log ?? (() => undefined);
  const ctx = opts.ctx ?? {};
  const rows: ScenarioRow[] = [];
  const wanted = opts.faults;
  if (!wanted || wanted.includes('baseline')) {
    rows.push(await measureState(state, mode, 'baseline', opts));
    log(summaryLine(rows[rows.length - 1]));
  }
  for (const def of FAULTS.filter((f) => f.modes.includes(mode) && (!wanted || wanted.includes(f.id)))) {
    if (def.needs === 'renderer' && !ctx.renderDataplane) continue;
    const t0 = Date.now();
    await labBreak(state, def.id, {}, ctx);
    let row: ScenarioRow;
    try {
      row = await measureState(state, mode, def.id, opts);
    } finally {
      await labFix(state, def.id, ctx);
    }
    row.ms = Date.now() - t0;
    rows.push(row);
    log(summaryLine(row));
  }
  return rows;
}

export function summaryLine(r: ScenarioRow): string {
  const agree = r.flows.filter((f) => f.agree).length;
  return `${r.mode} ${r.scenario}: ${r.flows.length} flows, ${r.flows.filter((f) => f.kernel.verdict === 'dropped').length} dropped, ${agree} agree, ${r.flows.length - agree} disagree (${r.ms} ms)`;
}
