import type { Command } from 'commander';
import { collectNode, type NodeCollectOptions } from '../../collect/node.js';
import { netnsExec } from '../../collect/exec.js';
import { collectCluster } from '../../collect/cluster.js';
import { collectEtcd } from '../../collect/etcd.js';
import { createProgressDisplay, renderProgressSummary, type FleetProgress } from '../../collect/progress.js';
import { action, EXIT, printJson, UsageError } from '../run.js';

function duration(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(v.trim());
  if (!m) throw new UsageError(`expected a duration such as 30s, 500ms or 2m, got ${v}`);
  const n = Number(m[1]);
  return m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000;
}

function bytes(v: string): number {
  const m = /^(\d+)([KMG]i?B?)?$/i.exec(v.trim());
  if (!m) throw new UsageError(`expected a size such as 256MiB, got ${v}`);
  const unit = (m[2] ?? '').toUpperCase()[0];
  return Number(m[1]) * (unit === 'K' ? 1024 : unit === 'M' ? 1024 ** 2 : unit === 'G' ? 1024 ** 3 : 1);
}

const list = (v: string, prev: string[] = []) => [...prev, ...v.split(',').map((s) => s.trim()).filter(Boolean)];

interface PlanFlags {
  timeout?: string;
  maxOutput?: string;
  conntrackMax?: string;
  birdSocket?: string;
  bird6Socket?: string;
  felixMetricsUrl?: string;
  felixHealthUrl?: string;
  felixLog?: string;
  felixLogBytes?: string;
  skip?: string[];
}

function planOptions(o: PlanFlags): NodeCollectOptions {
  return {
    timeoutMs: o.timeout ? duration(o.timeout) : undefined,
    maxOutputBytes: o.maxOutput ? bytes(o.maxOutput) : undefined,
    conntrackMaxLines: o.conntrackMax ? Number(o.conntrackMax) : undefined,
    birdSocket: o.birdSocket,
    bird6Socket: o.bird6Socket,
    felixMetricsUrl: o.felixMetricsUrl,
    felixHealthUrl: o.felixHealthUrl,
    felixLogFile: o.felixLog,
    felixLogBytes: o.felixLogBytes ? bytes(o.felixLogBytes) : undefined,
    skip: o.skip,
  };
}

function addPlanFlags(c: Command): Command {
  return c
    .option('--timeout <dur>', 'timeout of each command', '30s')
    .option('--max-output <size>', 'cap per command output', '256MiB')
    .option('--conntrack-max <n>', 'conntrack -L lines kept', '200000')
    .option('--bird-socket <path>', 'BIRD control socket (default /var/run/calico/bird.ctl)')
    .option('--bird6-socket <path>', 'BIRD6 control socket')
    .option('--felix-metrics-url <url>', 'Felix Prometheus endpoint (default http://localhost:9091/metrics)')
    .option('--felix-health-url <url>', 'Felix health endpoint (default http://localhost:9099)')
    .option('--felix-log <file>', 'Felix / calico-node log file to include')
    .option('--felix-log-bytes <size>', 'bytes kept from the end of the log', '50MiB')
    .option('--skip <steps>', 'leave out steps by id (comma separated), e.g. conntrack', list);
}

export function registerCollectCommands(program: Command): void {
  const col = program.command('collect').description('collect a bundle of raw evidence (read-only; every command has a timeout; secrets are redacted)');

  addPlanFlags(
    col
      .command('node')
      .description("collect this node's dataplane (iptables, ipsets, routes, conntrack, BIRD, Felix) into a bundle")
      .requiredOption('-o, --out <dir|file.tar.gz>', 'bundle to write')
      .option('--node-name <name>', 'node name (default: hostname)')
      .option('--netns <ns>', 'collect inside this network namespace (ip netns exec)')
      .option('--anonymize', 'replace names and IPs with consistent pseudonyms')
      .option('--no-redact', 'keep secrets (not recommended)')
      .option('--json', 'print the result as JSON'),
  ).action(
    action(async (o: PlanFlags & { out: string; nodeName?: string; netns?: string; anonymize?: boolean; redact?: boolean; json?: boolean }) => {
      const r = await collectNode({
        ...planOptions(o),
        outDir: o.out,
        nodeName: o.nodeName,
        exec: o.netns ? netnsExec(o.netns) : undefined,
        anonymize: o.anonymize,
        redact: o.redact,
      });
      if (o.json) printJson(r);
      else {
        process.stdout.write(`collected ${r.files.length} files from ${r.node} into ${o.out} (${r.bytes} bytes, ${(r.durationMs / 1000).toFixed(1)} s)\n`);
        for (const f of r.failures) process.stdout.write(`  not collected: ${f.command ?? f.target}: ${f.error}\n`);
        for (const n of r.notes) process.stdout.write(`  note: ${n}\n`);
        if (r.anonymizeKey) process.stdout.write(`anonymize key (keep it to map names back): ${r.anonymizeKey}\n`);
      }
    }),
  );

  addPlanFlags(
    col
      .command('cluster')
      .description('collect cluster resources through the Kubernetes API (and optionally every node through its calico-node pod)')
      .requiredOption('-o, --out <dir|file.tar.gz>', 'bundle to write')
      .option('--kubeconfig <file>', 'kubeconfig (default: $KUBECONFIG, ~/.kube/config, in-cluster)')
      .option('--context <name>', 'kubeconfig context')
      .option('--in-cluster', "use the pod's service account")
      .option('-n, --namespace <ns>', 'only these namespaces (repeatable; Calico namespaces are always added)', (v, p: string[] = []) => [...p, v])
      .option('--nodes <all|names>', 'collect node dataplanes: all, or comma-separated names')
      .option('--node-selector <labels>', 'collect the nodes matching this label selector')
      .option('--parallel <n>', 'nodes collected at once', '16')
      .option('--node-timeout <dur>', 'per-node timeout', '180s')
      .option('--retries <n>', 'retries per node', '2')
      .option('--resume', 'continue a partial bundle at --out')
      .option('--anonymize', 'replace names and IPs with consistent pseudonyms')
      .option('--anonymize-key <hex>', 'key for --anonymize (needed to resume)')
      .option('--page-size <n>', 'list page size', '500')
      .option('--log-lines <n>', 'lines per component log', '5000')
      .option('--calico-node-logs <which>', 'auto, all, unhealthy or none', 'auto')
      .option('--format <f>', 'yaml, json or auto', 'auto')
      .option('--datastore <type>', 'kubernetes (default) or etcdv3')
      .option('--etcd-endpoints <urls>', 'etcd endpoints (comma separated) for --datastore etcdv3')
      .option('--etcd-ca-cert-file <f>')
      .option('--etcd-cert-file <f>')
      .option('--etcd-key-file <f>')
      .option('--etcd-username <u>')
      .option('--etcd-password <p>')
      .option('--json', 'print the result as JSON'),
  ).action(
    action(async (o: PlanFlags & Record<string, string | boolean | string[] | undefined>) => {
      const str = (k: string) => o[k] as string | undefined;
      const etcd = str('datastore') === 'etcdv3';
      if (etcd && !str('etcdEndpoints')) throw new UsageError('--datastore etcdv3 needs --etcd-endpoints');
      const nodes = str('nodes') === undefined ? undefined : str('nodes') === 'all' ? ('all' as const) : str('nodes')!.split(',').filter(Boolean);
      const ctrl = new AbortController();
      let interrupted = false;
      process.once('SIGINT', () => {
        interrupted = true;
        ctrl.abort();
      });
      const display = createProgressDisplay(process.stderr);
      let last: FleetProgress | undefined;
      const r = await collectCluster({
        out: str('out')!,
        kubeconfig: str('kubeconfig'),
        context: str('context'),
        inCluster: !!o.inCluster,
        namespaces: o.namespace as string[] | undefined,
        nodes,
        nodeSelector: str('nodeSelector'),
        parallel: Number(str('parallel')),
        nodeTimeoutMs: duration(str('nodeTimeout')!),
        retries: Number(str('retries')),
        resume: !!o.resume,
        anonymize: !!o.anonymize,
        anonymizeKey: str('anonymizeKey'),
        pageSize: Number(str('pageSize')),
        logs: { tailLines: Number(str('logLines')), calicoNode: str('calicoNodeLogs') as 'auto' },
        format: str('format') as 'auto',
        plan: planOptions(o),
        etcd: etcd
          ? { endpoints: str('etcdEndpoints')!.split(','), caFile: str('etcdCaCertFile'), certFile: str('etcdCertFile'), keyFile: str('etcdKeyFile'), username: str('etcdUsername'), password: str('etcdPassword') }
          : undefined,
        onProgress: (p) => {
          last = p;
          display.update(p);
        },
        signal: ctrl.signal,
      });
      display.end();
      if (o.json) printJson({ ...r, manifest: undefined, files: r.manifest.files.length, failures: r.manifest.failures });
      else {
        if (last && r.nodes) process.stdout.write(`${renderProgressSummary(last, r.nodes.failed)}\n`);
        process.stdout.write(`${r.complete ? 'wrote' : 'wrote PARTIAL'} bundle ${r.out}: ${r.manifest.files.length} files (Calico API: ${r.calicoApi}), ${r.manifest.failures?.length ?? 0} failures recorded in the manifest\n`);
        if (r.anonymizeKey) process.stdout.write(`anonymize key (keep it to resume or map names back): ${r.anonymizeKey}\n`);
        if (interrupted) process.stdout.write(`interrupted: run again with --resume to finish\n`);
      }
      return interrupted ? 130 : EXIT.ok;
    }),
  );

  col
    .command('etcd')
    .description("collect Calico's resources and IPAM from an etcdv3 datastore (no Kubernetes access)")
    .requiredOption('-o, --out <dir|file.tar.gz>', 'bundle to write')
    .requiredOption('--etcd-endpoints <urls>', 'comma-separated endpoints')
    .option('--etcd-ca-cert-file <f>')
    .option('--etcd-cert-file <f>')
    .option('--etcd-key-file <f>')
    .option('--etcd-username <u>')
    .option('--etcd-password <p>')
    .option('--anonymize', 'replace names and IPs with consistent pseudonyms')
    .option('--json', 'print the result as JSON')
    .action(
      action(async (o: { out: string; etcdEndpoints: string; etcdCaCertFile?: string; etcdCertFile?: string; etcdKeyFile?: string; etcdUsername?: string; etcdPassword?: string; anonymize?: boolean; json?: boolean }) => {
        const r = await collectEtcd({ out: o.out, endpoints: o.etcdEndpoints.split(','), caFile: o.etcdCaCertFile, certFile: o.etcdCertFile, keyFile: o.etcdKeyFile, username: o.etcdUsername, password: o.etcdPassword, anonymize: o.anonymize });
        if (o.json) printJson({ ...r, manifest: undefined });
        else process.stdout.write(`wrote ${o.out}${r.manifest ? `: ${r.manifest.files.length} files` : ''}\n`);
      }),
    );
}
