import { describe } from 'vitest';

/** True when this process may create network namespaces and run iptables. */
export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/**
 * `describe` for suites that need root and network namespaces. Outside CI a non-root run skips
 * them with a visible reason; in CI (CI=true) a missing privilege fails loudly instead.
 */
export function describeRoot(name: string, fn: () => void): void {
  if (isRoot()) {
    describe(name, fn);
    return;
  }
  if (process.env.CI === 'true') {
    describe(name, () => {
      throw new Error(`${name}: needs root and network namespaces, and CI=true forbids skipping it`);
    });
    return;
  }
  describe.skip(`${name} (skipped: needs root)`, fn);
}
