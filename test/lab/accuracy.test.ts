/**
 * Kernel-verified accuracy (src/lab/accuracy.ts): in each mode, one lab with the Felix-style
 * renderer; the baseline and every fault of the catalogue: break → collect → probe every flow
 * under nftables packet tracing → trace every probed flow with caliscope on the collected bundle
 * → compare verdicts and, for drops, the place (direction, node, chain) → fix.
 * Prints the agreement table; any disagreement fails the test.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { describeRoot } from '../helpers/root.js';
import { labUp } from '../../src/lab/up.js';
import { labDown } from '../../src/lab/down.js';
import { FAULTS } from '../../src/lab/faults.js';
import { defaultLabSpec, type LabMode } from '../../src/lab/spec.js';
import { defaultLabRenderer } from '../../src/lab/render/index.js';
import { ACCURACY_PROBE_OPTS, accuracyTable, measureAllFaults, type ScenarioRow } from '../../src/lab/accuracy.js';
import { randomPrefix } from './expectations.js';

const MODES: LabMode[] = ['vxlan', 'bgp'];
const renderDataplane = defaultLabRenderer();

describeRoot('kernel-verified accuracy: caliscope trace vs the kernel, every fault', () => {
  const prefixes: string[] = [];
  const all: ScenarioRow[] = [];

  afterAll(async () => {
    for (const prefix of prefixes) await labDown({ prefix });
    if (all.length) console.log(`[accuracy] agreement (both modes)\n${accuracyTable(all)}`);
  }, 60_000);

  describe.each(MODES)('%s mode', (mode) => {
    it('agrees with the kernel on every probed flow of the baseline and of every fault', async () => {
      const prefix = randomPrefix();
      prefixes.push(prefix);
      const t0 = Date.now();
      const state = await labUp(defaultLabSpec(mode), { prefix, renderDataplane });
      const rows = await measureAllFaults(state, { probe: ACCURACY_PROBE_OPTS, ctx: { renderDataplane } });
      all.push(...rows);
      await labDown({ prefix });
      console.log(`[accuracy] ${mode}: ${rows.length} scenarios in ${((Date.now() - t0) / 1000).toFixed(1)} s\n${accuracyTable(rows)}`);

      // Every fault of the mode was measured, on top of the baseline.
      expect(rows.map((r) => r.scenario)).toEqual(['baseline', ...FAULTS.filter((f) => f.modes.includes(mode)).map((f) => f.id)]);
      for (const r of rows) expect(r.flows.length, `${r.scenario}: probed flows`).toBeGreaterThan(400);
      // Faults must change what the kernel does (ipam-leak only changes cluster resources).
      const base = rows[0].flows.filter((f) => f.kernel.verdict === 'dropped').length;
      for (const r of rows.slice(1)) {
        if (r.scenario === 'ipam-leak') continue;
        expect(r.flows.some((f, i) => f.kernel.verdict !== rows[0].flows[i]?.kernel.verdict), `${r.scenario} changed no flow (baseline drops ${base})`).toBe(true);
      }
      const bad = rows.flatMap((r) => r.flows.filter((f) => !f.agree).map((f) => `${r.scenario}: ${f.probe.from} -> ${f.probe.to} ${f.probe.protocol}/${f.probe.port ?? ''}: ${f.why}`));
      expect(bad).toEqual([]);
    }, 120_000);
  });
});
