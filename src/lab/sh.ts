/**
 * Running the lab's commands: every command that changes something runs inside a lab network
 * namespace (`ip -n <ns>` or `ip netns exec <ns>`); only `ip netns add/del/list/pids` run in the
 * root namespace, and they change nothing there but the list of named namespaces.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { formatCommand } from '../collect/exec.js';

export class LabError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LabError';
  }
}

/** Thrown from a waitFor check to stop waiting at once. */
export class StopWaiting extends LabError {}

export interface RunOptions {
  /** Written to the command's stdin. */
  input?: string;
  timeoutMs?: number;
  /** Return a non-zero exit instead of throwing. */
  allowFail?: boolean;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export async function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const res = await new Promise<RunResult>((resolve) => {
    let child;
    try {
      child = spawn(cmd, args, { stdio: [opts.input !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    } catch (e) {
      resolve({ code: 127, stdout: '', stderr: (e as Error).message, timedOut: false });
      return;
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout!.on('data', (c: Buffer) => out.push(c));
    child.stderr!.on('data', (c: Buffer) => err.push(c));
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: 127, stdout: '', stderr: e.message, timedOut: false });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? -1 : 0), stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), timedOut });
    });
    if (opts.input !== undefined) {
      child.stdin!.on('error', () => {
        /* the command exited before reading everything; its exit code tells */
      });
      child.stdin!.end(opts.input);
    }
  });
  if (res.code !== 0 && !opts.allowFail) {
    const why = res.timedOut ? `timed out after ${timeoutMs} ms` : `exit code ${res.code}`;
    throw new LabError(`${formatCommand(cmd, args)}: ${why}${res.stderr.trim() ? `: ${res.stderr.trim().split('\n').slice(0, 5).join(' | ')}` : ''}`);
  }
  return res;
}

/** Runs `cmd` inside network namespace `ns`. */
export function nsRun(ns: string, cmd: string, args: string[], opts?: RunOptions): Promise<RunResult> {
  return run('ip', ['netns', 'exec', ns, cmd, ...args], opts);
}

/** Runs `ip` commands (one per line, without the leading `ip`) in one process inside `ns`. */
export async function ipBatch(ns: string, lines: string[], opts: RunOptions = {}): Promise<RunResult | undefined> {
  if (lines.length === 0) return undefined;
  return run('ip', ['-n', ns, '-batch', '-'], { ...opts, input: `${lines.join('\n')}\n` });
}

/** `sysctl -w` inside `ns`; keys in dotted form (interface names must not contain dots). */
export async function sysctlSet(ns: string, values: Record<string, string | number>): Promise<void> {
  const args = Object.entries(values).map(([k, v]) => `${k}=${v}`);
  if (args.length) await nsRun(ns, 'sysctl', ['-q', '-w', ...args]);
}

export async function sysctlGet(ns: string, key: string): Promise<string> {
  const r = await nsRun(ns, 'sysctl', ['-n', key]);
  return r.stdout.trim();
}

/** Lab namespace names currently present (`ip netns list`), optionally those starting with `<prefix>-`. */
export async function listNetns(prefix?: string): Promise<string[]> {
  const r = await run('ip', ['netns', 'list'], { allowFail: true });
  if (r.code !== 0) return [];
  const names = r.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0])
    .filter((n) => n);
  return prefix === undefined ? names : names.filter((n) => n.startsWith(`${prefix}-`));
}

const sleepImpl = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
export const sleep = sleepImpl;

/** Polls `check` until it returns a value other than undefined, or throws LabError after `timeoutMs`. */
export async function waitFor<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      if (e instanceof StopWaiting) throw e;
      last = e;
    }
    if (Date.now() > deadline) throw new LabError(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (${(last as Error).message})` : ''}`);
    await sleepImpl(intervalMs);
  }
}

function onPath(bin: string): boolean {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':').concat(['/usr/sbin', '/sbin'])) {
    try {
      accessSync(`${dir}/${bin}`, constants.X_OK);
      return true;
    } catch {
      /* next */
    }
  }
  return false;
}

/**
 * Refuses clearly unless this is Linux, we are root, and the tools the lab drives exist.
 * `extra` names more programs needed by the caller (e.g. `bird`, `birdc` in bgp mode).
 */
export function requireLabHost(extra: string[] = [], host: { platform?: string; uid?: number } = {}): void {
  const platform = host.platform ?? process.platform;
  const uid = host.uid ?? (typeof process.getuid === 'function' ? process.getuid() : -1);
  if (platform !== 'linux') throw new LabError(`caliscope lab needs Linux (network namespaces, iptables); this is ${platform}`);
  if (uid !== 0) {
    throw new LabError('caliscope lab needs root: it creates network namespaces, veths, routes and iptables rules (only inside its own namespaces). Run it as root (sudo).');
  }
  const missing = ['ip', 'sysctl', 'ipset', 'iptables-restore', 'bridge', ...extra].filter((b) => !onPath(b));
  if (missing.length) throw new LabError(`caliscope lab needs these programs, not found on PATH: ${missing.join(', ')}`);
}

export function hasProgram(bin: string): boolean {
  return onPath(bin);
}

/** True while `pid` runs; a zombie (exited, not yet reaped by init) counts as gone. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}
