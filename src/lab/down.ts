/**
 * `lab down`: stops every process of the lab (recorded ones, and any process still living in a
 * lab namespace, e.g. after a crash before the pid was recorded), deletes every namespace whose
 * name starts with `<prefix>-` (recorded or not) and removes the state dir. Idempotent.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { listNetns, pidAlive, run, sleep } from './sh.js';
import { DEFAULT_LAB_PREFIX, DEFAULT_LAB_ROOT, defaultStateDir, loadState, statePath, type LabState } from './state.js';
import { checkPrefix } from './topology.js';

export interface LabDownOptions {
  stateDir?: string;
  /** Used when the state file is missing or unreadable. Default `csl`. */
  prefix?: string;
}

export interface LabDownResult {
  prefix: string;
  killed: number[];
  namespacesDeleted: string[];
  stateDirRemoved: boolean;
}

/** Tears the lab down. `labDown('/run/caliscope-lab/csl')` or `labDown({ prefix: 'csl' })`. */
export async function labDown(target?: string | LabDownOptions): Promise<LabDownResult> {
  const opts: LabDownOptions = typeof target === 'string' ? { stateDir: target } : (target ?? {});
  let state: LabState | undefined;
  const stateDir = opts.stateDir ?? defaultStateDir(opts.prefix ?? DEFAULT_LAB_PREFIX);
  try {
    state = await loadState(stateDir);
  } catch {
    state = undefined;
  }
  const prefix = state?.prefix ?? opts.prefix ?? (opts.stateDir ? path.basename(opts.stateDir) : DEFAULT_LAB_PREFIX);
  checkPrefix(prefix);

  const present = await listNetns(prefix);
  const namespaces = [...new Set([...(state?.namespaces ?? []), ...present])].filter((n) => n.startsWith(`${prefix}-`));

  // Processes: the recorded ones that are still what we started, plus whatever lives in our namespaces.
  const pids = new Set<number>();
  for (const p of state?.processes ?? []) if (await isOurProcess(p.pid, stateDir)) pids.add(p.pid);
  for (const ns of present) {
    const r = await run('ip', ['netns', 'pids', ns], { allowFail: true });
    for (const s of r.stdout.split('\n')) {
      const pid = Number(s.trim());
      if (Number.isInteger(pid) && pid > 1 && pid !== process.pid) pids.add(pid);
    }
  }
  const killed = [...pids];
  for (const pid of killed) signal(pid, 'SIGTERM');
  for (let i = 0; i < 20 && killed.some(alive); i++) await sleep(50);
  for (const pid of killed) if (alive(pid)) signal(pid, 'SIGKILL');

  const deleted: string[] = [];
  for (const ns of namespaces) {
    const r = await run('ip', ['netns', 'del', ns], { allowFail: true });
    if (r.code === 0) deleted.push(ns);
  }

  let stateDirRemoved = false;
  if (await looksLikeLabDir(stateDir)) {
    await fs.rm(stateDir, { recursive: true, force: true });
    stateDirRemoved = true;
  }
  return { prefix, killed, namespacesDeleted: deleted, stateDirRemoved };
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* gone */
  }
}

const alive = pidAlive;

/** A recorded pid still runs one of our programs (its command line names the state dir). */
async function isOurProcess(pid: number, stateDir: string): Promise<boolean> {
  try {
    const cmd = (await fs.readFile(`/proc/${pid}/cmdline`, 'utf8')).replace(/\0/g, ' ');
    return cmd.includes(stateDir);
  } catch {
    return false;
  }
}

/** Only remove a directory that is a lab state dir (has our state file, or sits under the default root). */
async function looksLikeLabDir(dir: string): Promise<boolean> {
  const exists = await fs.stat(dir).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!exists) return false;
  if (path.resolve(dir).startsWith(`${DEFAULT_LAB_ROOT}/`)) return true;
  return fs.access(statePath(dir)).then(
    () => true,
    () => false,
  );
}
