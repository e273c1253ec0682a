import type { Command } from 'commander';
import { loadBundle } from '../../bundle/load.js';
import { buildPolicyModel } from '../../calico/policy/resolve.js';
import { policiesFor, renderPoliciesForText, policyCheck, renderPolicyCheckText, PolicyQueryError } from '../../calico/policy/explain.js';
import { matrixJson, reachabilityMatrix, renderMatrixText } from '../../calico/policy/matrix.js';
import { action, printJson, UsageError } from '../run.js';

function wrap<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof PolicyQueryError) throw new UsageError(e.message);
    throw e;
  }
}

export function registerPolicyCommands(program: Command): void {
  const pol = program.command('policy').description('what Calico should do with a flow, from the cluster resources (P1–P3, P7, C4, C5)');

  pol
    .command('for')
    .description('the policies that select an endpoint, per direction, in evaluation order, with why each selects it')
    .argument('<bundle>', 'bundle directory or .tar.gz')
    .argument('<endpoint>', 'ns/pod (or an IP)')
    .option('--json', 'print JSON')
    .action(
      action(async (path: string, ref: string, opts: { json?: boolean }) => {
        const model = buildPolicyModel((await loadBundle(path)).cluster);
        const r = wrap(() => policiesFor(model, ref));
        if (opts.json) printJson(r);
        else process.stdout.write(`${renderPoliciesForText(r)}\n`);
      }),
    );

  pol
    .command('check')
    .description('egress verdict at the source and ingress verdict at the destination, with the deciding rule and the trail before it')
    .argument('<bundle>', 'bundle directory or .tar.gz')
    .requiredOption('--from <endpoint>', 'ns/pod or IP')
    .requiredOption('--to <endpoint>', 'ns/pod or IP')
    .option('--port <n>', 'destination port')
    .option('--protocol <p>', 'TCP, UDP, SCTP or ICMP', 'TCP')
    .option('--json', 'print JSON')
    .action(
      action(async (path: string, opts: { from: string; to: string; port?: string; protocol: string; json?: boolean }) => {
        const port = opts.port !== undefined ? Number(opts.port) : undefined;
        if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) throw new UsageError(`--port must be 0-65535, got ${opts.port}`);
        const model = buildPolicyModel((await loadBundle(path)).cluster);
        const r = wrap(() => policyCheck(model, { from: opts.from, to: opts.to, port, protocol: opts.protocol.toUpperCase() }));
        if (opts.json) printJson(r);
        else process.stdout.write(`${renderPolicyCheckText(r)}\n`);
      }),
    );

  pol
    .command('matrix')
    .description('reachability matrix for all endpoint pairs (like the Kubernetes e2e truth tables)')
    .argument('<bundle>', 'bundle directory or .tar.gz')
    .option('--namespace <ns>', 'only endpoints of this namespace')
    .option('--port <n/proto>', 'port and protocol, e.g. 80/TCP', '80/TCP')
    .option('--json', 'print JSON')
    .action(
      action(async (path: string, opts: { namespace?: string; port: string; json?: boolean }) => {
        const m = /^(\d+)(?:\/(\w+))?$/.exec(opts.port) ?? /^(?:\/)?(ICMP)$/i.exec(opts.port);
        if (!m) throw new UsageError(`--port: expected N/PROTO such as 80/TCP, got ${opts.port}`);
        const port = /^\d+$/.test(m[1]) ? Number(m[1]) : undefined;
        const protocol = (port === undefined ? m[1] : (m[2] ?? 'TCP')).toUpperCase();
        const model = buildPolicyModel((await loadBundle(path)).cluster);
        const mx = wrap(() => reachabilityMatrix(model, { namespace: opts.namespace, port, protocol }));
        if (opts.json) printJson(matrixJson(mx));
        else process.stdout.write(`${renderMatrixText(mx)}\n`);
      }),
    );
}
