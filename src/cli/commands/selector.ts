import type { Command } from 'commander';
import { loadBundle } from '../../bundle/load.js';
import { checkSelector, lintSelector } from '../../calico/selector/lint.js';
import { nearMisses } from '../../calico/selector/nearmiss.js';
import { parseSelector } from '../../calico/selector/index.js';
import { buildPolicyModel } from '../../calico/policy/resolve.js';
import { effectiveLabels } from '../../calico/endpoints.js';
import { styleFor } from '../../report/style.js';
import { action, EXIT, printJson, UsageError } from '../run.js';

function parseLabels(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of s.split(',').map((x) => x.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new UsageError(`--labels: expected k=v[,k2=v2], got ${JSON.stringify(part)}`);
    out[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return out;
}

export function registerSelectorCommands(program: Command): void {
  const sel = program.command('selector').description('validate Calico selectors and see what they match (P4)');

  sel
    .command('check')
    .description('parse a selector as Calico does; print its canonical form, lint suggestions, and whether it matches --labels')
    .argument('<expr>', 'selector expression, e.g. "app == \'web\' && has(tier)"')
    .option('--labels <k=v,...>', 'labels to evaluate against')
    .option('--json', 'print JSON')
    .action(
      action((expr: string, opts: { labels?: string; json?: boolean }) => {
        const labels = opts.labels !== undefined ? parseLabels(opts.labels) : undefined;
        const r = checkSelector(expr, labels);
        if (opts.json) printJson(r);
        else {
          const st = styleFor();
          if (r.valid) {
            process.stdout.write(`${st.green('valid')}: ${r.canonical}\n`);
            if (r.match !== null) process.stdout.write(`matches {${Object.entries(labels ?? {}).map(([k, v]) => `${k}=${v}`).join(', ')}}: ${r.match ? st.green('yes') : st.red('no')}\n`);
            for (const w of lintSelector(expr).warnings) process.stdout.write(`${st.yellow('warning')}: ${w}\n`);
          } else {
            const err = r.error ?? { message: 'invalid selector', position: 0 };
            process.stdout.write(`${st.red('invalid')}: ${err.message} at position ${err.position}\n  ${expr}\n  ${' '.repeat(Math.max(0, err.position))}^\n`);
            if (r.suggestion) process.stdout.write(`suggestion: ${r.suggestion}\n`);
          }
        }
        return r.valid ? EXIT.ok : EXIT.usage;
      }),
    );

  sel
    .command('match')
    .description('list the endpoints of a bundle a selector matches, with near-miss hints when it matches nothing')
    .argument('<bundle>', 'bundle directory or .tar.gz')
    .argument('<expr>', 'selector expression')
    .option('--namespace <ns>', 'only endpoints in this namespace (as a namespaced policy would)')
    .option('--json', 'print JSON')
    .action(
      action(async (path: string, expr: string, opts: { namespace?: string; json?: boolean }) => {
        const parsed = parseSelector(expr);
        if (!parsed.ok) {
          const r = checkSelector(expr);
          if (opts.json) printJson(r);
          else process.stdout.write(`invalid selector: ${parsed.error.message} at position ${parsed.error.position}${!r.valid && r.suggestion ? `\nsuggestion: ${r.suggestion}` : ''}\n`);
          return EXIT.usage;
        }
        const b = await loadBundle(path);
        const model = buildPolicyModel(b.cluster);
        const eps = model.endpoints.filter((e) => !opts.namespace || e.namespace === opts.namespace);
        const matching = eps.filter((e) => parsed.selector.matches(e.getLabel));
        const hints =
          matching.length === 0
            ? nearMisses(parsed.selector, model.endpoints.map((e) => ({ id: e.id, labels: effectiveLabels(e), namespace: e.namespace })), { namespace: opts.namespace })
            : [];
        const out = {
          selector: parsed.selector.canonical,
          namespace: opts.namespace ?? null,
          matches: matching.map((e) => ({ id: e.id, kind: e.kind, node: e.node, ips: e.ips, interface: e.interfaceName })),
          nearMisses: hints,
        };
        if (opts.json) printJson(out);
        else {
          const st = styleFor();
          process.stdout.write(`${st.bold(parsed.selector.canonical)}: ${matching.length} of ${eps.length} endpoints\n`);
          for (const m of out.matches) process.stdout.write(`  ${m.id}  ${m.node}  ${m.ips.join(',')}  ${m.interface}\n`);
          for (const h of hints) process.stdout.write(`${st.yellow('near miss')}: ${h.message}${h.fixed ? `\n  try: ${h.fixed}` : ''}\n`);
        }
      }),
    );
}
