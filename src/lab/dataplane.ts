/**
 * The seam between the lab's network (built by up.ts) and its iptables/ipset programming.
 *
 * `labUp` calls `renderDataplane(ctx)` — the Felix-style renderer when one is given, else the
 * placeholder in minimal-dataplane.ts — and loads each node's result inside the node's namespace
 * with `ipset restore` and `iptables-restore`. Faults that add iptables rules (iptables-drop,
 * bgp-port-blocked, vxlan-underlay-blocked) record them in the state, and every (re)load puts
 * them back, since iptables-restore replaces whole tables.
 */
import type { LabSpec } from './spec.js';
import { allPods, saveState, type IptablesBackend, type LabState } from './state.js';
import { LabError, nsRun, run } from './sh.js';
import { renderKubeProxy, type KubeProxyRules } from './kube-proxy.js';
import type { LabNodeTopo, LabPodTopo, LabTopology } from './topology.js';
import { minimalDataplane } from './minimal-dataplane.js';

/** What to load on one node. Both texts are in save/restore format. */
export interface NodeDataplane {
  /** For `iptables-restore` (tables present are replaced whole). */
  iptablesRestore: string;
  /** For `ipset restore`; sets are created or flushed and refilled, stale ones destroyed. */
  ipsetRestore: string;
}

export interface LabDataplaneContext {
  spec: LabSpec;
  topology: LabTopology;
  /** Every pod, including pods added by faults (duplicate-pod-ip). */
  pods: LabPodTopo[];
  /** kube-proxy's rules for the spec's Services (identical on every node). */
  kubeProxy: KubeProxyRules;
  /** Active faults, for renderers that implement policy/ipset faults (`needs: 'renderer'`). */
  faults: LabState['faults'];
  iptables: IptablesBackend;
}

/** Returns the programming of every node, keyed by node name. */
export type RenderDataplane = (ctx: LabDataplaneContext) => Promise<Record<string, NodeDataplane>> | Record<string, NodeDataplane>;

/** An iptables rule a fault inserted, re-inserted after each dataplane load. */
export interface FaultIptablesRule {
  node: string;
  table: 'filter' | 'nat' | 'mangle' | 'raw';
  chain: string;
  /** Match and target, e.g. `-p udp --dport 4789 -j DROP`. */
  rule: string[];
}

export function iptablesCmd(backend: IptablesBackend): string {
  return backend === 'legacy' ? 'iptables-legacy' : 'iptables-nft';
}

export function iptablesRestoreCmd(backend: IptablesBackend): string {
  return backend === 'legacy' ? 'iptables-legacy-restore' : 'iptables-nft-restore';
}

export function dataplaneContext(state: LabState): LabDataplaneContext {
  return {
    spec: state.spec,
    topology: state.topology,
    pods: allPods(state),
    kubeProxy: renderKubeProxy(state.topology),
    faults: state.faults,
    iptables: state.iptables,
  };
}

/** `create X …` → `create X … -exist` + `flush X`, so a reload refills existing sets in place. */
export function ipsetReloadScript(text: string): { script: string; sets: string[] } {
  const sets: string[] = [];
  const lines: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^create\s+(\S+)/.exec(line);
    if (m) {
      sets.push(m[1]);
      lines.push(/\s-exist(\s|$)/.test(line) ? line : `${line} -exist`, `flush ${m[1]}`);
    } else if (/^add\s/.test(line)) {
      lines.push(/\s-exist(\s|$)/.test(line) ? line : `${line} -exist`);
    } else {
      lines.push(line);
    }
  }
  return { script: lines.length ? `${lines.join('\n')}\n` : '', sets };
}

/** Loads one node's programming inside its namespace. */
export async function loadNodeDataplane(node: LabNodeTopo, dp: NodeDataplane, backend: IptablesBackend): Promise<void> {
  const { script, sets } = ipsetReloadScript(dp.ipsetRestore);
  if (script) await nsRun(node.ns, 'ipset', ['restore'], { input: script });
  await nsRun(node.ns, iptablesRestoreCmd(backend), [], { input: dp.iptablesRestore.endsWith('\n') ? dp.iptablesRestore : `${dp.iptablesRestore}\n` });
  // Sets no longer referenced by the new rules and not in the new programming go away.
  const have = await nsRun(node.ns, 'ipset', ['list', '-n'], { allowFail: true });
  const keep = new Set(sets);
  for (const name of have.stdout.split('\n').map((s) => s.trim()).filter(Boolean)) {
    if (!keep.has(name)) await nsRun(node.ns, 'ipset', ['destroy', name], { allowFail: true });
  }
}

export async function insertFaultRule(state: LabState, r: FaultIptablesRule): Promise<void> {
  const node = state.topology.nodes.find((n) => n.name === r.node);
  if (!node) throw new LabError(`no node ${r.node}`);
  await nsRun(node.ns, iptablesCmd(state.iptables), ['-w', '-t', r.table, '-I', r.chain, '1', ...r.rule]);
}

export async function deleteFaultRule(state: LabState, r: FaultIptablesRule): Promise<void> {
  const node = state.topology.nodes.find((n) => n.name === r.node);
  if (!node) return;
  await nsRun(node.ns, iptablesCmd(state.iptables), ['-w', '-t', r.table, '-D', r.chain, ...r.rule], { allowFail: true });
}

/** Rules recorded by active faults under `undo.iptablesRules`. */
export function activeFaultRules(state: LabState): FaultIptablesRule[] {
  return Object.values(state.faults).flatMap((f) => (Array.isArray(f.undo.iptablesRules) ? (f.undo.iptablesRules as FaultIptablesRule[]) : []));
}

/**
 * Renders and loads every node's programming (the renderer when given, else the placeholder),
 * then puts back rules of active faults.
 */
export async function applyDataplane(state: LabState, render?: RenderDataplane): Promise<void> {
  const ctx = dataplaneContext(state);
  const programming = await (render ?? minimalDataplane)(ctx);
  for (const node of state.topology.nodes) {
    if (!programming[node.name]) throw new LabError(`the dataplane renderer returned nothing for node ${node.name}`);
  }
  await Promise.all(state.topology.nodes.map((node) => loadNodeDataplane(node, programming[node.name], state.iptables)));
  for (const r of activeFaultRules(state)) await insertFaultRule(state, r);
  state.dataplane = { source: render ? 'renderer' : 'minimal', loadedAt: new Date().toISOString() };
  await saveState(state);
}

/** Which iptables backend to use when none is asked for: nft when its tools exist. */
export async function detectIptablesBackend(): Promise<IptablesBackend> {
  const r = await run('iptables-nft-restore', ['--version'], { allowFail: true });
  return r.code === 0 ? 'nft' : 'legacy';
}
