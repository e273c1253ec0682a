import type { Command } from 'commander';
import { loadBundle } from '../../bundle/load.js';
import { diagnose } from '../../checks/run.js';
import { ALL_CHECKS } from '../../checks/registry.js';
import { renderDiagnosisMarkdown, renderDiagnosisText } from '../../report/diagnosis-text.js';
import { styleFor, table } from '../../report/style.js';
import { action, EXIT, printJson, UsageError } from '../run.js';

function list(v: string, prev: string[] = []): string[] {
  return [...prev, ...v.split(',').map((s) => s.trim()).filter(Boolean)];
}

export function registerDiagnoseCommand(program: Command): void {
  program
    .command('diagnose')
    .description("what is wrong with the cluster's networking: ranked findings with evidence and remediation")
    .argument('<bundle>', 'bundle directory or .tar.gz')
    .option('--json', 'print JSON (schema in docs/checks.md)')
    .option('--markdown', 'print Markdown for a ticket')
    .option('--fail-on <severity>', 'exit 1 when a finding is at least this severe: error or warning')
    .option('--check <ids>', 'run only these checks (comma separated; `route` or `route.*` selects a group)', list)
    .option('--skip <ids>', 'skip these checks', list)
    .option('--list-checks', 'list the checks and exit')
    .action(
      action(async (path: string, opts: { json?: boolean; markdown?: boolean; failOn?: string; check?: string[]; skip?: string[]; listChecks?: boolean }) => {
        if (opts.listChecks) {
          const rows = ALL_CHECKS.map((c) => [c.id, c.severity, c.category, c.title]);
          if (opts.json) printJson(ALL_CHECKS.map(({ id, severity, category, title, seeds }) => ({ id, severity, category, title, seeds })));
          else process.stdout.write(`${table([['id', 'severity', 'category', 'title'], ...rows], { header: true })}\n`);
          return;
        }
        if (opts.failOn && opts.failOn !== 'error' && opts.failOn !== 'warning') throw new UsageError('--fail-on must be error or warning');
        const known = new Set(ALL_CHECKS.map((c) => c.id));
        for (const id of [...(opts.check ?? []), ...(opts.skip ?? [])]) {
          const base = id.replace(/\*$/, '').replace(/\.$/, '');
          if (!known.has(id) && ![...known].some((k) => k.startsWith(`${base}.`) || k.startsWith(base))) throw new UsageError(`unknown check ${id} (see --list-checks)`);
        }
        const b = await loadBundle(path);
        const d = diagnose(b, { only: opts.check, skip: opts.skip });
        if (opts.json) printJson(d);
        else if (opts.markdown) process.stdout.write(`${renderDiagnosisMarkdown(d)}\n`);
        else process.stdout.write(`${renderDiagnosisText(d, styleFor())}\n`);
        if (opts.failOn === 'error' && d.counts.error > 0) return EXIT.findings;
        if (opts.failOn === 'warning' && d.counts.error + d.counts.warning > 0) return EXIT.findings;
      }),
    );
}
