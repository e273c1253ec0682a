import type { Command } from 'commander';
import { writeFile } from 'node:fs/promises';
import { loadBundle } from '../../bundle/load.js';
import { AssetsMissingError } from '../../web/assets.js';
import { buildReportData, parseTraceSpec, renderReportHtml, TraceSpecError } from '../../web/report.js';
import { action, UsageError } from '../run.js';

export function registerReportCommand(program: Command): void {
  program
    .command('report')
    .description('write one self-contained HTML file (no external fetches) with the findings and chosen traces, for a ticket')
    .argument('<bundle>', 'bundle directory or .tar.gz')
    .requiredOption('-o, --out <file>', 'HTML file to write')
    .option('--trace <from,to,port,proto>', "a trace to include, e.g. 'frontend/web-1,backend/api-1,8080,TCP' (repeatable)", (v: string, prev: string[] = []) => [...prev, v])
    .action(
      action(async (path: string, opts: { out: string; trace?: string[] }) => {
        let queries;
        try {
          queries = (opts.trace ?? []).map(parseTraceSpec);
        } catch (e) {
          if (e instanceof TraceSpecError) throw new UsageError(e.message);
          throw e;
        }
        const bundle = await loadBundle(path);
        const data = buildReportData(bundle, queries);
        let html: string;
        try {
          html = renderReportHtml(data);
        } catch (e) {
          if (e instanceof AssetsMissingError) throw new UsageError(e.message);
          throw e;
        }
        await writeFile(opts.out, html);
        for (const t of data.traceErrors) process.stderr.write(`caliscope report: trace ${t.query}: ${t.error}\n`);
        const c = data.findings.counts;
        process.stdout.write(`wrote ${opts.out} (${Math.round(Buffer.byteLength(html) / 1024)} KiB): ${c.error} errors, ${c.warning} warnings, ${c.info} info; ${data.traces.length} traces\n`);
        return data.traceErrors.length > 0 ? 2 : 0;
      }),
    );
}
