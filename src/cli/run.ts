/**
 * Shared plumbing for the thin CLI commands: JSON vs text output and error handling.
 * Errors reach the user as one line (`caliscope: error: …`), never as a stack trace; set
 * CALISCOPE_DEBUG=1 to see the stack.
 */
import { BundleError } from '../bundle/source.js';

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Exit codes: 0 ok, 1 findings at or above --fail-on, 2 usage / bad input, 3 internal error. */
export const EXIT = { ok: 0, findings: 1, usage: 2, internal: 3 } as const;

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, jsonReplacer, 2)}\n`);
}

/** Maps and Sets appear in models; JSON has neither. */
export function jsonReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Map) return Object.fromEntries(value);
  if (value instanceof Set) return [...value];
  if (typeof value === 'bigint') return value.toString();
  return value;
}

export function fail(message: string, code: number = EXIT.usage): never {
  process.stderr.write(`caliscope: error: ${message}\n`);
  process.exit(code);
}

/** Wraps a command action so that every failure ends as a clear message and an exit code. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<number | void> | number | void) {
  return async (...args: A): Promise<void> => {
    try {
      const code = await fn(...args);
      if (typeof code === 'number' && code !== 0) process.exitCode = code;
    } catch (e) {
      if (process.env.CALISCOPE_DEBUG) process.stderr.write(`${(e as Error).stack}\n`);
      if (e instanceof UsageError || e instanceof BundleError) fail(e.message, EXIT.usage);
      const err = e as NodeJS.ErrnoException;
      if (err && (err.code === 'ENOENT' || err.code === 'EACCES' || err.code === 'EISDIR')) fail(err.message, EXIT.usage);
      fail(`internal error: ${(e as Error)?.message ?? String(e)} (set CALISCOPE_DEBUG=1 for details)`, EXIT.internal);
    }
  };
}
