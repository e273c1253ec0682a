/** Every cluster check: unique id, a module and a test beside it, documented in docs/checks/cluster.md. */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CLUSTER_CHECKS } from '../../src/checks/cluster-checks.js';
import { ALL_CHECKS } from '../../src/checks/registry.js';
import { makeBundle } from './helpers.js';
import { diagnose } from '../../src/checks/run.js';

const ROOT = path.join(import.meta.dirname, '..', '..');
const doc = readFileSync(path.join(ROOT, 'docs', 'checks', 'cluster.md'), 'utf8');

describe('cluster checks registry', () => {
  it('has unique ids, all registered', () => {
    const ids = CLUSTER_CHECKS.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const c of CLUSTER_CHECKS) expect(ALL_CHECKS).toContain(c);
  });

  for (const c of CLUSTER_CHECKS) {
    it(`${c.id}: module, test and documentation`, () => {
      const file = path.join(ROOT, 'src', 'checks', 'cluster', `${c.id.replace(/\./g, '-')}`);
      expect(existsSync(`${file}.ts`)).toBe(true);
      expect(existsSync(`${file}.test.ts`)).toBe(true);
      expect(doc).toContain(`### \`${c.id}\``);
      expect(c.seeds.length).toBeGreaterThan(0);
    });
  }

  it('never throws on an empty bundle, and says what it could not check', () => {
    const d = diagnose(makeBundle({}), {}, CLUSTER_CHECKS);
    expect(d.failedChecks).toEqual([]);
    expect(d.findings).toEqual([]);
    expect(d.notChecked.length).toBeGreaterThan(0);
  });
});
