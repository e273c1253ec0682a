/**
 * The lab's state file (`<stateDir>/state.json`): everything `lab up` and `lab break` created,
 * written *before* each step, so `labDown` can remove it all even after a crash half-way.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { LabSpec } from './spec.js';
import type { LabPodTopo, LabTopology } from './topology.js';

export const LAB_STATE_FORMAT = 'caliscope-lab/1';
export const DEFAULT_LAB_ROOT = '/run/caliscope-lab';
export const DEFAULT_LAB_PREFIX = 'csl';
export const STATE_FILE = 'state.json';

export function defaultStateDir(prefix: string = DEFAULT_LAB_PREFIX): string {
  return path.join(DEFAULT_LAB_ROOT, prefix);
}

export type IptablesBackend = 'nft' | 'legacy';

export interface LabProcess {
  pid: number;
  kind: 'agent' | 'bird' | 'other';
  /** Namespace the process runs in. */
  netns: string;
  /** What it is (pod key, node name). */
  label: string;
}

export interface ActiveFault {
  id: string;
  params: Record<string, string | number | boolean>;
  /** Fault-specific undo data. */
  undo: Record<string, unknown>;
  brokenAt: string;
}

/** An IPAM allocation with no pod behind it (fault ipam-leak; only in the emitted resources). */
export interface IpamLeak {
  block: string;
  ip: string;
  handleId: string;
  node: string;
  /** The pod the allocation claims (it does not exist). */
  namespace: string;
  pod: string;
}

export interface LabState {
  format: typeof LAB_STATE_FORMAT;
  prefix: string;
  stateDir: string;
  createdAt: string;
  /** `creating` until lab up finished; `up` afterwards; `failed` if up threw. */
  phase: 'creating' | 'up' | 'failed';
  spec: LabSpec;
  topology: LabTopology;
  iptables: IptablesBackend;
  /** Network namespaces created (recorded before each is created). */
  namespaces: string[];
  processes: LabProcess[];
  faults: Record<string, ActiveFault>;
  /** Pods added by faults (duplicate-pod-ip); they are real namespaces with listeners. */
  extraPods: LabPodTopo[];
  ipamLeaks: IpamLeak[];
  dataplane?: { source: 'renderer' | 'minimal'; loadedAt: string };
  timings: Record<string, number>;
}

export function statePath(stateDir: string): string {
  return path.join(stateDir, STATE_FILE);
}

/** Atomically rewrites the state file. */
export async function saveState(state: LabState): Promise<void> {
  await fs.mkdir(state.stateDir, { recursive: true });
  const file = statePath(state.stateDir);
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(tmp, `${JSON.stringify(state, null, 1)}\n`);
  await fs.rename(tmp, file);
}

export async function loadState(stateDir: string = defaultStateDir()): Promise<LabState> {
  let text: string;
  try {
    text = await fs.readFile(statePath(stateDir), 'utf8');
  } catch {
    throw new Error(`no lab state in ${stateDir} (is the lab up? \`caliscope lab up\` creates it)`);
  }
  const s = JSON.parse(text) as LabState;
  if (s.format !== LAB_STATE_FORMAT) throw new Error(`${statePath(stateDir)}: not a caliscope lab state file (format ${JSON.stringify(s.format)})`);
  return s;
}

/** Pods of the lab including those added by faults. */
export function allPods(state: LabState): LabPodTopo[] {
  return [...state.topology.pods, ...state.extraPods];
}
