import type { Command } from 'commander';
import { loadBundle } from '../../bundle/load.js';
import { crossCheck } from '../../trace/crosscheck.js';
import { traceContext, traceFlow, TraceQueryError } from '../../trace/flow.js';
import type { TraceQuery } from '../../trace/types.js';
import { renderTraceText } from '../../report/trace-text.js';
import { styleFor } from '../../report/style.js';
import { action, printJson, UsageError } from '../run.js';

export function registerTraceCommand(program: Command): void {
  program
    .command('trace')
    .description('follow one flow through the real rules, routes, ipsets, NAT and tunnels of every node it crosses, and the reply back (S15, M1)')
    .argument('<bundle>', 'bundle directory or .tar.gz')
    .requiredOption('--from <src>', 'ns/pod or IP')
    .requiredOption('--to <dst>', 'ns/pod, IP, or svc ns/name')
    .option('--port <n>', 'destination port (the Service port for svc targets)')
    .option('--protocol <p>', 'TCP, UDP, SCTP or ICMP', 'TCP')
    .option('--size <bytes>', 'IP packet size to simulate (MTU questions)')
    .option('-v, --verbose', 'every rule that acted, and tcpdump commands per hop')
    .option('--json', 'print JSON')
    .action(
      action(async (path: string, opts: { from: string; to: string; port?: string; protocol: string; size?: string; verbose?: boolean; json?: boolean }) => {
        const protocol = opts.protocol.toUpperCase() as TraceQuery['protocol'];
        if (!['TCP', 'UDP', 'SCTP', 'ICMP'].includes(protocol)) throw new UsageError(`--protocol must be TCP, UDP, SCTP or ICMP, got ${opts.protocol}`);
        const port = opts.port !== undefined ? Number(opts.port) : undefined;
        if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) throw new UsageError(`--port must be 0-65535, got ${opts.port}`);
        const size = opts.size !== undefined ? Number(opts.size) : undefined;
        if (size !== undefined && (!Number.isInteger(size) || size < 20 || size > 65535)) throw new UsageError(`--size must be 20-65535, got ${opts.size}`);
        const b = await loadBundle(path);
        let r;
        try {
          r = traceFlow(b, { from: opts.from, to: opts.to, port, protocol, size });
        } catch (e) {
          if (e instanceof TraceQueryError) throw new UsageError(e.message);
          throw e;
        }
        const ctx = traceContext(b);
        Object.assign(r, crossCheck(ctx.model, ctx.rt, r));
        if (opts.json) printJson(r);
        else process.stdout.write(`${renderTraceText(r, styleFor(), { verbose: opts.verbose })}\n`);
        // A reply that dies is a failed connection, even though the forward packet arrived.
        return r.verdict === 'delivered' && (!r.reply || r.reply.verdict === 'delivered') ? 0 : 1;
      }),
    );
}
