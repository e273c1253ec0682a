/**
 * The kernel-verified accuracy suite as a script (root only): for each mode, a lab with the
 * Felix-style renderer; the baseline and every fault of the catalogue: break → collect → probe
 * under nftables tracing → trace every probed flow with caliscope → compare → fix. Prints the
 * agreement table (src/lab/accuracy.ts) and exits 1 on any disagreement.
 *
 *   sudo npx tsx scripts/accuracy.ts [--mode vxlan|bgp] [--fault <id|baseline>]… [--concurrency N] [--keep <dir>] [--verbose]
 *
 * --keep writes each scenario's bundle, probe results and raw `nft monitor trace` output under
 * <dir>/<mode>-<scenario>/ (to look into a disagreement).
 */
import { ACCURACY_PROBE_OPTS, accuracyTable, measureAllFaults, type ScenarioRow } from '../src/lab/accuracy.js';
import { defaultLabSpec, labDown, labUp, type LabMode } from '../src/lab/index.js';
import { defaultLabRenderer } from '../src/lab/render/index.js';


interface Args {
  modes: LabMode[];
  faults?: string[];
  verbose: boolean;
  concurrency: number;
  keepDir?: string;
}

function parseArgs(argv: string[]): Args {
  const modes: LabMode[] = [];
  const faults: string[] = [];
  let verbose = false;
  let concurrency: number = ACCURACY_PROBE_OPTS.concurrency;
  let keepDir: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--mode') {
      const m = argv[++i];
      if (m !== 'vxlan' && m !== 'bgp') throw new Error(`--mode must be vxlan or bgp, got ${m}`);
      modes.push(m);
    } else if (a === '--fault') faults.push(argv[++i]);
    else if (a === '--concurrency') {
      concurrency = Number(argv[++i]);
      if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error('--concurrency must be a positive integer');
    } else if (a === '--keep') keepDir = argv[++i];
    else if (a === '--verbose' || a === '-v') verbose = true;
    else throw new Error(`unknown argument ${a} (usage: accuracy.ts [--mode vxlan|bgp] [--fault <id|baseline>]… [--concurrency N] [--keep <dir>] [--verbose])`);
  }
  return { modes: modes.length ? modes : ['vxlan', 'bgp'], ...(faults.length ? { faults } : {}), verbose, concurrency, ...(keepDir ? { keepDir } : {}) };
}

function randomPrefix(): string {
  const chars = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let s = 'csa';
  for (let i = 0; i < 4; i++) s += chars[Math.floor(Math.random() * chars.length)];
  return s;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const renderDataplane = defaultLabRenderer();
  const rows: ScenarioRow[] = [];
  const t0 = Date.now();
  const log = (m: string) => process.stderr.write(`${m}\n`);
  for (const mode of args.modes) {
    const prefix = randomPrefix();
    const state = await labUp(defaultLabSpec(mode), { prefix, renderDataplane });
    try {
      rows.push(
        ...(await measureAllFaults(state, {
          probe: { ...ACCURACY_PROBE_OPTS, concurrency: args.concurrency },
          ctx: { renderDataplane },
          faults: args.faults,
          log: args.verbose ? log : undefined,
          keepDir: args.keepDir,
        })),
      );
    } finally {
      await labDown({ prefix });
    }
  }
  process.stdout.write(`${accuracyTable(rows)}\n\n(${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
  if (rows.some((r) => r.flows.some((f) => !f.agree))) process.exitCode = 1;
}

main().catch((e: unknown) => {
  process.stderr.write(`accuracy: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(2);
});
