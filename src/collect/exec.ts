/**
 * Running read-only commands for the collectors. `Exec` is the seam that lets the same node
 * collector run on the local host, inside a network namespace (`netnsExec`), or against output
 * already streamed from a `calico-node` pod (`replayExec` in node-script.ts).
 *
 * Every command has a timeout (the whole process group is killed, so a hung `conntrack` or
 * `birdc` child cannot outlive us) and an output cap (reading stops, the group is killed, and the
 * result says `truncated`).
 */
import { spawn } from 'node:child_process';

export interface ExecOptions {
  /** Kill the command's process group after this long (default 30 s). */
  timeoutMs?: number;
  /** Stop reading stdout after this many bytes and kill the command (default 256 MiB). */
  maxBytes?: number;
  /** Bytes of stderr kept (default 4 KiB). */
  maxStderrBytes?: number;
  /** Aborts the command like a timeout. */
  signal?: AbortSignal;
}

export interface ExecResult {
  stdout: Buffer;
  /** The first `maxStderrBytes` of stderr. */
  stderr: string;
  /** Exit code; 127 when the program does not exist, -1 when killed by a signal. */
  code: number;
  timedOut: boolean;
  /** Reading stopped at `maxBytes`. */
  truncated?: boolean;
  /** The program is not installed (ENOENT, shell 127, or `ip netns exec` "exec of … failed"). */
  notFound?: boolean;
  durationMs?: number;
}

export type Exec = (cmd: string, args: string[], opts?: ExecOptions) => Promise<ExecResult>;

export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_BYTES = 256 * 1024 * 1024;
export const DEFAULT_MAX_STDERR = 4096;

/** `cmd arg1 arg2` for manifests and messages (arguments with spaces are quoted). */
export function formatCommand(cmd: string, args: string[]): string {
  return [cmd, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** Runs a program on this host, without a shell. */
export const localExec: Exec = (cmd, args, opts = {}) => {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  const maxStderr = opts.maxStderrBytes ?? DEFAULT_MAX_STDERR;
  const started = Date.now();
  return new Promise((resolve) => {
    let child;
    try {
      // detached: the child leads its own process group, so a timeout kills its children too.
      child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, LC_ALL: 'C' } });
    } catch (e) {
      resolve({ stdout: Buffer.alloc(0), stderr: (e as Error).message, code: 127, timedOut: false, notFound: true, durationMs: 0 });
      return;
    }
    const out: Buffer[] = [];
    let outLen = 0;
    let err = Buffer.alloc(0);
    let timedOut = false;
    let truncated = false;
    let settled = false;
    const killGroup = () => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, timeoutMs);
    const onAbort = () => {
      timedOut = true;
      killGroup();
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (c: Buffer) => {
      if (truncated) return;
      if (outLen + c.length > maxBytes) {
        out.push(c.subarray(0, maxBytes - outLen));
        outLen = maxBytes;
        truncated = true;
        killGroup();
        return;
      }
      out.push(c);
      outLen += c.length;
    });
    child.stderr.on('data', (c: Buffer) => {
      if (err.length < maxStderr) err = Buffer.concat([err, c]).subarray(0, maxStderr);
    });
    const finish = (code: number, notFound = false, extraErr = '') => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      const stderr = (err.toString('utf8') + extraErr).slice(0, maxStderr);
      resolve({
        stdout: Buffer.concat(out),
        stderr,
        code,
        timedOut,
        truncated: truncated || undefined,
        notFound: notFound || looksNotFound(code, stderr) || undefined,
        durationMs: Date.now() - started,
      });
    };
    child.on('error', (e: NodeJS.ErrnoException) => finish(127, e.code === 'ENOENT', e.message));
    child.on('close', (code, signal) => finish(code ?? (signal ? -1 : 0)));
  });
};

/** True when a wrapper (`ip netns exec`, a shell, `timeout`) reports that the program itself is missing. */
export function looksNotFound(code: number, stderr: string): boolean {
  if (code === 0) return false;
  if (/exec of "[^"]*" failed: No such file or directory/.test(stderr)) return true;
  if (code === 127 && /not found|No such file/i.test(stderr)) return true;
  if (code === 127 && stderr === '') return true;
  return false;
}

/**
 * Runs commands inside network namespace `ns` (`ip netns exec <ns> …`). The lab uses this to
 * run the exact node collector inside each simulated node.
 */
export function netnsExec(ns: string, base: Exec = localExec): Exec {
  if (!/^[A-Za-z0-9_.-]+$/.test(ns)) throw new Error(`invalid network namespace name ${JSON.stringify(ns)}`);
  return (cmd, args, opts) => base('ip', ['netns', 'exec', ns, cmd, ...args], opts);
}
