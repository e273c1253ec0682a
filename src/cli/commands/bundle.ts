import type { Command } from 'commander';
import { loadBundle } from '../../bundle/load.js';
import { openBundle } from '../../bundle/source.js';
import { readManifest, verifyManifest } from '../../bundle/manifest.js';
import { initBundle, sealBundle } from '../../collect/bundle-writer.js';
import { renderInspectText, summarizeBundle } from '../../report/inspect.js';
import { styleFor } from '../../report/style.js';
import { action, EXIT, printJson, UsageError } from '../run.js';

export function registerBundleCommands(program: Command): void {
  const bundle = program.command('bundle').description('make, inspect and check bundles of raw evidence');

  bundle
    .command('inspect')
    .description('what a bundle holds per node and for the cluster, and every parse issue')
    .argument('<bundle>', 'bundle directory or .tar.gz')
    .option('--json', 'print JSON')
    .option('--max-issues <n>', 'issues to list in text output', '50')
    .action(
      action(async (path: string, opts: { json?: boolean; maxIssues: string }) => {
        const b = await loadBundle(path);
        const s = summarizeBundle(b);
        if (opts.json) printJson(s);
        else process.stdout.write(`${renderInspectText(s, styleFor(), { maxIssues: Number(opts.maxIssues) || 50 })}\n`);
      }),
    );

  bundle
    .command('init')
    .description('create an empty bundle layout with a README of which command output goes where')
    .argument('<dir>', 'directory to create')
    .option('--node <name...>', 'create nodes/<name>/ directories')
    .action(
      action(async (dir: string, opts: { node?: string[] }) => {
        await initBundle(dir, opts.node ?? []);
        process.stdout.write(`created bundle layout in ${dir}; copy raw outputs in (see ${dir}/README.md), then run: caliscope bundle seal ${dir}\n`);
      }),
    );

  bundle
    .command('seal')
    .description('(re)write manifest.json with the sha256 of every file of a bundle directory')
    .argument('<dir>', 'bundle directory')
    .option('--json', 'print the manifest as JSON')
    .action(
      action(async (dir: string, opts: { json?: boolean }) => {
        const m = await sealBundle(dir);
        if (opts.json) printJson(m);
        else process.stdout.write(`sealed ${m.files.length} files in ${dir}/manifest.json\n`);
      }),
    );

  bundle
    .command('verify')
    .description('check every file against the sha256 in the manifest; reading also rejects unsafe archive members')
    .argument('<bundle>', 'bundle directory or .tar.gz')
    .option('--json', 'print JSON')
    .action(
      action(async (path: string, opts: { json?: boolean }) => {
        const src = await openBundle(path);
        const { manifest, issues } = readManifest(src);
        if (!manifest) throw new UsageError(issues.length ? issues.map((i) => i.reason).join('; ') : `${path} has no manifest.json (hand-made bundle? run: caliscope bundle seal)`);
        const res = verifyManifest(src, manifest);
        const out = { ...res, refused: src.refused, complete: manifest.complete !== false, manifestIssues: issues };
        if (opts.json) printJson(out);
        else {
          const st = styleFor();
          const lines = [`${res.ok ? st.green('OK') : st.red('FAILED')}: ${res.checked} files checked`];
          for (const m of res.mismatched) lines.push(st.red(`  sha256 mismatch: ${m.path} (manifest ${m.expected.slice(0, 12)}…, file ${m.actual.slice(0, 12)}…)`));
          for (const m of res.missing) lines.push(st.red(`  missing: ${m}`));
          for (const u of res.unlisted) lines.push(st.yellow(`  not in manifest: ${u}`));
          for (const r of src.refused) lines.push(st.red(`  refused: ${r.path}: ${r.reason}`));
          if (manifest.complete === false) lines.push(st.yellow('  the manifest says the collection did not complete (partial bundle)'));
          process.stdout.write(`${lines.join('\n')}\n`);
        }
        return res.ok && src.refused.length === 0 ? EXIT.ok : EXIT.findings;
      }),
    );
}
