/**
 * `caliscope lab up|probe|faults|break|fix|collect|down`: the Calico-shaped dataplane in network
 * namespaces (docs/lab.md). Thin: every step is a function of src/lab/.
 */
import { promises as fs } from 'node:fs';
import type { Command } from 'commander';
import {
  FAULTS,
  LabError,
  LabSpecError,
  availableFaults,
  defaultLabSpec,
  defaultStateDir,
  formatProbeResults,
  labBreak,
  labCollect,
  labDown,
  labFix,
  labFixAll,
  labProbe,
  labUp,
  loadState,
  parseLabSpec,
  summarizeProbes,
  DEFAULT_LAB_PREFIX,
  type FaultParams,
  type LabMode,
} from '../../lab/index.js';
import { defaultLabRenderer } from '../../lab/render/index.js';
import type { RenderDataplane } from '../../lab/dataplane.js';
import { action, printJson, UsageError } from '../run.js';

interface Common {
  prefix: string;
  stateDir?: string;
  minimal?: boolean;
}

/** The lab creates namespaces and loads rules: Linux and root only, said plainly. */
function requireRoot(): void {
  if (process.platform !== 'linux') throw new UsageError('the lab needs Linux network namespaces; this is ' + process.platform);
  if (typeof process.getuid === 'function' && process.getuid() !== 0) throw new UsageError('the lab creates network namespaces and must run as root (try sudo)');
}

/** Lab and spec errors are the user's to fix: one line, exit 2. */
async function labAction<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof LabError || e instanceof LabSpecError) throw new UsageError(e.message);
    if (e instanceof Error && /^no lab state in /.test(e.message)) throw new UsageError(e.message);
    throw e;
  }
}

function renderer(o: Common): RenderDataplane | undefined {
  return o.minimal ? undefined : defaultLabRenderer();
}

function stateDirOf(o: Common): string {
  return o.stateDir ?? defaultStateDir(o.prefix);
}

function addCommon(c: Command): Command {
  return c
    .option('--prefix <p>', 'prefix of every namespace of this lab', DEFAULT_LAB_PREFIX)
    .option('--state-dir <dir>', 'where the lab keeps its state (default /run/caliscope-lab/<prefix>)');
}

function params(v: string, prev: FaultParams = {}): FaultParams {
  const i = v.indexOf('=');
  if (i <= 0) throw new UsageError(`expected --param key=value, got ${v}`);
  return { ...prev, [v.slice(0, i)]: v.slice(i + 1) };
}

export function registerLabCommands(program: Command): void {
  const lab = program
    .command('lab')
    .description('a real Calico-shaped dataplane in network namespaces: build it, probe it, break it, collect it (Linux, root)');

  addCommon(
    lab
      .command('up')
      .description('build the lab from a spec (default: 3 nodes, VXLAN, the sample workloads and policies)')
      .option('--spec <file>', 'lab spec (YAML); `docs/lab.md` describes it')
      .option('--mode <mode>', 'cross-node routing: vxlan or bgp (overrides the spec)')
      .option('--replace', 'tear down an existing lab with the same prefix first')
      .option('--minimal', 'program only a minimal forwarding dataplane instead of the Felix-style rules')
      .option('--json', 'print the lab state as JSON'),
  ).action(
    action(async (o: Common & { spec?: string; mode?: string; replace?: boolean; json?: boolean }) => {
      requireRoot();
      if (o.mode !== undefined && o.mode !== 'vxlan' && o.mode !== 'bgp') throw new UsageError(`--mode must be vxlan or bgp, got ${o.mode}`);
      const state = await labAction(async () => {
        let spec = o.spec ? parseLabSpec(await fs.readFile(o.spec, 'utf8'), o.spec) : defaultLabSpec((o.mode as LabMode | undefined) ?? 'vxlan');
        if (o.spec && o.mode) spec = { ...spec, mode: o.mode as LabMode };
        return labUp(spec, {
          prefix: o.prefix,
          ...(o.stateDir ? { stateDir: o.stateDir } : {}),
          ...(o.replace ? { replace: true } : {}),
          renderDataplane: renderer(o),
          log: o.json ? undefined : (m) => process.stderr.write(`${m}\n`),
        });
      });
      if (o.json) printJson(state);
      else {
        const t = state.topology;
        process.stdout.write(
          `lab ${state.prefix} is up: ${t.mode} mode, ${t.nodes.length} nodes (${t.nodes.map((n) => `${n.name} ${n.ip}`).join(', ')}), ${t.pods.length} pods, ${t.services.length} services; dataplane ${state.dataplane?.source ?? 'none'}\n` +
            `next: caliscope lab probe · caliscope lab break <fault> · caliscope lab collect -o bundle · caliscope lab down\n`,
        );
      }
    }),
  );

  addCommon(
    lab
      .command('probe')
      .description('real traffic for every pod pair and port, Services and the external host: the kernel’s truth matrix')
      .option('--timeout <ms>', 'per-probe timeout in ms', '1000')
      .option('--concurrency <n>', 'probes in flight', '64')
      .option('--json', 'JSON results'),
  ).action(
    action(async (o: Common & { timeout: string; concurrency: string; json?: boolean }) => {
      requireRoot();
      const state = await labAction(() => loadState(stateDirOf(o)));
      const results = await labAction(() => labProbe(state, { timeoutMs: Number(o.timeout), concurrency: Number(o.concurrency) }));
      if (o.json) printJson({ summary: summarizeProbes(results), results });
      else process.stdout.write(`${formatProbeResults(results)}\n`);
    }),
  );

  lab
    .command('faults')
    .description('the fault catalogue: what each fault changes and what the kernel then does')
    .option('--json', 'JSON')
    .action(
      action((o: { json?: boolean }) => {
        const rows = FAULTS.map((f) => ({ id: f.id, title: f.title, modes: f.modes, needs: f.needs ?? null, params: f.params, description: f.description }));
        if (o.json) printJson(rows);
        else for (const r of rows) process.stdout.write(`${r.id.padEnd(24)} ${r.title} [${r.modes.join(', ')}]\n`);
      }),
    );

  addCommon(
    lab
      .command('break <fault>')
      .description('break the lab in one of the catalogued ways (`caliscope lab faults`)')
      .option('--param <key=value>', 'fault parameter (repeatable)', params),
  ).action(
    action(async (id: string, o: Common & { param?: FaultParams }) => {
      requireRoot();
      const state = await labAction(() => loadState(stateDirOf(o)));
      const ctx = { renderDataplane: renderer(o) };
      if (!availableFaults(state, ctx).some((f) => f.id === id) && FAULTS.some((f) => f.id === id))
        throw new UsageError(`fault ${id} does not apply to this lab (${state.topology.mode} mode)`);
      const fault = await labAction(() => labBreak(state, id, o.param ?? {}, ctx));
      process.stdout.write(`broke ${fault.id}${Object.keys(fault.undo).length ? ` (${JSON.stringify(fault.undo)})` : ''}; \`caliscope lab fix ${fault.id}\` undoes it\n`);
    }),
  );

  addCommon(
    lab
      .command('fix [fault]')
      .description('undo a fault (or every active fault with --all)')
      .option('--all', 'undo every active fault'),
  ).action(
    action(async (id: string | undefined, o: Common & { all?: boolean }) => {
      requireRoot();
      const state = await labAction(() => loadState(stateDirOf(o)));
      const ctx = { renderDataplane: renderer(o) };
      if (o.all) {
        const ids = await labAction(() => labFixAll(state, ctx));
        process.stdout.write(ids.length ? `fixed ${ids.join(', ')}\n` : 'no active faults\n');
        return;
      }
      if (!id) throw new UsageError('name the fault to fix, or --all');
      await labAction(() => labFix(state, id, ctx));
      process.stdout.write(`fixed ${id}\n`);
    }),
  );

  addCommon(
    lab
      .command('collect')
      .description('collect a bundle from the lab with the real node collector (one per node namespace)')
      .requiredOption('-o, --out <path>', 'bundle directory, or a path ending in .tar.gz'),
  ).action(
    action(async (o: Common & { out: string }) => {
      requireRoot();
      const state = await labAction(() => loadState(stateDirOf(o)));
      const r = await labAction(() => labCollect(state, o.out));
      const failed = r.nodes.flatMap((n) => n.failures ?? []);
      process.stdout.write(`wrote ${r.out}: ${r.nodes.length} nodes, ${r.clusterFiles.length} cluster files, ${r.manifest.files.length} files in ${r.durationMs} ms${failed.length ? `; ${failed.length} command(s) failed (see manifest.json)` : ''}\n`);
    }),
  );

  addCommon(lab.command('down').description('stop every lab process, delete every lab namespace and the state (idempotent)')).action(
    action(async (o: Common) => {
      requireRoot();
      const r = await labAction(() => labDown(o.stateDir ? { stateDir: o.stateDir } : { prefix: o.prefix }));
      process.stdout.write(`lab ${r.prefix} is down: ${r.namespacesDeleted.length} namespaces deleted, ${r.killed.length} processes stopped\n`);
    }),
  );
}
