/**
 * `lab up`: builds the lab from a spec. Order: state file (intent) → namespaces → underlay →
 * nodes → pods → cross-node routing (VXLAN devices, or BIRD full mesh) → dataplane programming
 * → listeners → wait for BGP and listeners. Any failure tears down what was built (unless
 * `keepOnFailure`), and the state file lets `labDown` finish the job after a crash.
 */
import { promises as fs } from 'node:fs';
import { startBird, waitForBirdRoutes, waitForMesh, writeBirdConfig } from './bird.js';
import { applyDataplane, detectIptablesBackend, type RenderDataplane } from './dataplane.js';
import { labDown } from './down.js';
import { buildNode, buildPod, buildUnderlay, buildVxlan, createNamespaces, startAgent, startPodAgent, waitForAgents } from './net.js';
import { writeLabScripts } from './scripts.js';
import { LabError, listNetns, requireLabHost } from './sh.js';
import { validateLabSpec, type LabSpec } from './spec.js';
import { DEFAULT_LAB_PREFIX, defaultStateDir, LAB_STATE_FORMAT, saveState, statePath, type IptablesBackend, type LabState } from './state.js';
import { buildTopology } from './topology.js';

export interface LabUpOptions {
  /** Prefix of every namespace name (`<prefix>-node-a`, …). Default `csl`. */
  prefix?: string;
  /** Where the state file, BIRD configs, agent scripts and logs go. Default /run/caliscope-lab/<prefix>. */
  stateDir?: string;
  /** The Felix-style renderer; the placeholder (minimal-dataplane.ts) when absent. */
  renderDataplane?: RenderDataplane;
  /** iptables backend to program (default: nft when iptables-nft-restore exists). */
  iptables?: IptablesBackend;
  /** Tear down an existing lab with the same prefix first (default: refuse). */
  replace?: boolean;
  /** How long to wait for BGP sessions to be Established (default 30 s). */
  bgpTimeoutMs?: number;
  /** Leave a half-built lab in place when up fails (for debugging); default false. */
  keepOnFailure?: boolean;
  log?: (msg: string) => void;
}

export async function labUp(spec: LabSpec, opts: LabUpOptions = {}): Promise<LabState> {
  requireLabHost(spec.mode === 'bgp' ? ['bird', 'birdc'] : []);
  validateLabSpec(spec);
  const prefix = opts.prefix ?? DEFAULT_LAB_PREFIX;
  const stateDir = opts.stateDir ?? defaultStateDir(prefix);
  const log = opts.log ?? (() => {});
  const topology = buildTopology(spec, prefix, stateDir);

  const existing = await listNetns(prefix);
  const hasState = await fs.access(statePath(stateDir)).then(
    () => true,
    () => false,
  );
  if (existing.length || hasState) {
    if (!opts.replace) {
      throw new LabError(`a lab with prefix ${prefix} already exists (${existing.length} namespaces${hasState ? `, state in ${stateDir}` : ''}); run \`caliscope lab down\` first or pass replace`);
    }
    await labDown({ stateDir, prefix });
  }

  const t0 = Date.now();
  const state: LabState = {
    format: LAB_STATE_FORMAT,
    prefix,
    stateDir,
    createdAt: new Date().toISOString(),
    phase: 'creating',
    spec,
    topology,
    iptables: opts.iptables ?? (await detectIptablesBackend()),
    namespaces: [],
    processes: [],
    faults: {},
    extraPods: [],
    ipamLeaks: [],
    timings: {},
  };
  try {
    await saveState(state);
    await writeLabScripts(stateDir);
    const t = topology;
    await createNamespaces(state, [t.underlayNs, ...t.nodes.map((n) => n.ns), t.external.ns, ...t.pods.map((p) => p.netns)]);
    log(`namespaces: ${state.namespaces.length}`);
    await buildUnderlay(t);
    await Promise.all(t.nodes.map((n) => buildNode(t, n)));
    // Pods of one node are built one after the other (each is a few `ip` calls in the node).
    await Promise.all(t.nodes.map(async (n) => {
      for (const p of t.pods.filter((x) => x.node === n.name)) await buildPod(t, p);
    }));
    state.timings.networkMs = Date.now() - t0;
    if (t.mode === 'vxlan') {
      await Promise.all(t.nodes.map((n) => buildVxlan(t, n)));
    }
    await applyDataplane(state, opts.renderDataplane);
    log(`dataplane: ${state.dataplane?.source}`);

    for (const p of t.pods) await startPodAgent(state, p);
    await startAgent(state, t.external.ns, 'external', t.external.ports, 'external');
    await saveState(state);

    if (t.mode === 'bgp') {
      for (const n of t.nodes) {
        await writeBirdConfig(t, n);
        const pid = await startBird(n);
        state.processes.push({ pid, kind: 'bird', netns: n.ns, label: n.name });
        await saveState(state);
      }
    }
    await waitForAgents(state, [...t.pods.map((p) => p.netns), t.external.ns]);
    if (t.mode === 'bgp') {
      const tb = Date.now();
      await waitForMesh(t, 'established', { timeoutMs: opts.bgpTimeoutMs ?? 30_000 });
      await waitForBirdRoutes(t);
      state.timings.bgpMs = Date.now() - tb;
    }
    state.phase = 'up';
    state.timings.upMs = Date.now() - t0;
    await saveState(state);
    log(`lab ${prefix} up in ${state.timings.upMs} ms`);
    return state;
  } catch (e) {
    state.phase = 'failed';
    await saveState(state).catch(() => {});
    if (!opts.keepOnFailure) await labDown({ stateDir, prefix }).catch(() => {});
    throw e;
  }
}
