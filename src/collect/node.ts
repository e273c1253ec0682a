/**
 * The node collector: `caliscope collect node`. Runs the plan of node-plan.ts, read-only, each
 * command with a timeout and an output cap, and writes the canonical files (NODE_FILE_NAMES)
 * under `nodes/<node>/` with sha256s, exit codes, durations and stderr in the manifest. A
 * missing tool or an unreachable endpoint is a manifest failure, never fatal.
 *
 * The same `assembleNode` writes the files whether the steps ran here (`runStepsLocal`, also
 * inside a network namespace through `netnsExec`) or in a calico-node pod (node-script.ts).
 */
import os from 'node:os';
import { NODE_FILE_NAMES } from '../bundle/artifacts.js';
import type { ManifestFailure } from '../model/manifest.js';
import type { BundleWriter } from './bundle-writer.js';
import { openOutput } from './output.js';
import { DEFAULT_MAX_STDERR, formatCommand, localExec, type Exec } from './exec.js';
import { execHttpGet, localHttpGet, type HttpGet } from './http-probe.js';
import { planNodeSteps, STEP_ARTIFACT, SYSCTL_PREFIXES, type CommandStep, type PlanOptions, type Step, type StepResult } from './node-plan.js';
import { BundleSink } from './sink.js';
import { Anonymizer } from './anonymize.js';

export interface NodeCollectOptions extends PlanOptions {
  /** Bundle to create: a directory, or a .tar.gz/.tgz (ignored when `writer` or `sink` is given). */
  outDir?: string;
  /** Default: this host's name. */
  nodeName?: string;
  /** How commands run (default: on this host). `netnsExec(ns)` runs them inside a namespace. */
  exec?: Exec;
  /** How Felix's HTTP endpoints are read (default: node:http locally; curl/wget/bash through `exec` when one is given). */
  httpGet?: HttpGet;
  /** Write into an existing bundle (the fleet, the lab) instead of creating one. */
  writer?: BundleWriter;
  sink?: BundleSink;
  /** Where this node's files go (default `nodes/<nodeName>/`). */
  prefix?: string;
  /** Remove secrets from every file (default true). */
  redact?: boolean;
  /** Consistent pseudonyms for names and IPs: true for a fresh key, or an Anonymizer to share one. */
  anonymize?: boolean | Anonymizer;
  onStep?: (r: StepResult) => void;
  signal?: AbortSignal;
}

export interface NodeCollectResult {
  node: string;
  /** Bundle paths written. */
  files: string[];
  failures: ManifestFailure[];
  notes: string[];
  bytes: number;
  durationMs: number;
  /** With `anonymize: true`: the key used (keep it to map names back). */
  anonymizeKey?: string;
}

/** Runs a command step: the first alternative whose program exists. */
export async function runCommandStep(step: CommandStep, exec: Exec, signal?: AbortSignal): Promise<StepResult> {
  let last: StepResult | undefined;
  for (const [cmd, ...args] of step.alternatives) {
    const r = await exec(cmd, args, { timeoutMs: step.timeoutMs, maxBytes: step.maxBytes, maxStderrBytes: DEFAULT_MAX_STDERR, signal });
    const res: StepResult = { id: step.id, command: formatCommand(cmd, args), ...r };
    if (!r.notFound) return res;
    last = res;
  }
  return last!;
}

/** Runs every step here (sequentially: a node under trouble should not be loaded further). */
export async function runStepsLocal(
  steps: Step[],
  exec: Exec,
  httpGet: HttpGet,
  onStep?: (r: StepResult) => void,
  signal?: AbortSignal,
): Promise<Map<string, StepResult>> {
  const results = new Map<string, StepResult>();
  for (const step of steps) {
    if (signal?.aborted) break;
    let r: StepResult;
    if (step.kind === 'http') {
      r = await httpGet(step);
    } else if (step.onlyIfNotFound && !step.onlyIfNotFound.every((id) => results.get(id)?.notFound)) {
      r = { id: step.id, command: formatCommand(step.alternatives[0][0], step.alternatives[0].slice(1)), stdout: Buffer.alloc(0), stderr: '', code: 0, timedOut: false, skipped: true };
    } else {
      r = await runCommandStep(step, exec, signal);
    }
    results.set(step.id, r);
    onStep?.(r);
  }
  return results;
}

export async function collectNode(opts: NodeCollectOptions): Promise<NodeCollectResult> {
  const nodeName = opts.nodeName ?? os.hostname();
  // The name becomes a directory: refuse anything that could leave nodes/<name>/.
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(nodeName)) throw new Error(`invalid node name ${JSON.stringify(nodeName)}`);
  const exec = opts.exec ?? localExec;
  const httpGet = opts.httpGet ?? (opts.exec ? execHttpGet(opts.exec) : localHttpGet);
  let finalize: (() => Promise<string>) | undefined;
  let anonymizeKey: string | undefined;
  let sink = opts.sink;
  if (!sink) {
    const anonymizer = opts.anonymize instanceof Anonymizer ? opts.anonymize : opts.anonymize ? Anonymizer.random() : undefined;
    const shownName = anonymizer ? anonymizer.name('node', nodeName) : nodeName;
    let writer = opts.writer;
    if (!writer) {
      if (!opts.outDir) throw new Error('collectNode needs outDir, writer or sink');
      const output = await openOutput(opts.outDir, { kind: 'node', node: shownName, ...(anonymizer ? { anonymized: true } : {}) });
      writer = output.writer;
      finalize = output.finalize;
    }
    sink = new BundleSink(writer, { redact: opts.redact ?? true, anonymizer });
    if (opts.anonymize === true) anonymizeKey = anonymizer?.keyHex;
  }
  const started = Date.now();
  const steps = planNodeSteps(opts);
  const results = await runStepsLocal(steps, exec, httpGet, opts.onStep, opts.signal);
  const res = await assembleNode(results, steps, { sink, nodeName, prefix: opts.prefix, conntrackMaxLines: opts.conntrackMaxLines });
  res.durationMs = Date.now() - started;
  if (anonymizeKey) res.anonymizeKey = anonymizeKey;
  if (finalize) await finalize();
  return res;
}

export interface AssembleOptions {
  sink: BundleSink;
  nodeName: string;
  prefix?: string;
  conntrackMaxLines?: number;
  /** How the steps were run, for the manifest (`local`, `netns csf-x`, `pod calico-system/calico-node-abc`). */
  via?: string;
}

const hasCaliChains = (t: string) => /^:cali-/m.test(t);
// Rule lines, with or without the `[packets:bytes]` prefix of `-c`.
const ruleCount = (t: string) => (t.match(/^(?:\[\d+:\d+\] )?-A /gm) ?? []).length;
const caliRuleCount = (t: string) => (t.match(/^(?:\[\d+:\d+\] )?-A cali-/gm) ?? []).length;

/** Writes one node's step results as bundle files; records failures and notes. */
export async function assembleNode(results: Map<string, StepResult>, steps: Step[], o: AssembleOptions): Promise<NodeCollectResult> {
  const { sink, nodeName } = o;
  const prefix = o.prefix ?? `nodes/${nodeName}/`;
  const target = `node/${nodeName}`;
  const out: NodeCollectResult = { node: nodeName, files: [], failures: [], notes: [], bytes: 0, durationMs: 0 };
  const startBytes = sink.bytes;
  const fail = (command: string | undefined, error: string) => {
    const f: ManifestFailure = { target, ...(command ? { command } : {}), error };
    out.failures.push(f);
    sink.failure(f);
  };
  const note = (s: string) => {
    out.notes.push(s);
    sink.note(s);
  };
  const write = async (artifact: keyof typeof NODE_FILE_NAMES, r: StepResult, data: Buffer | string, extra: { command?: string; truncated?: boolean } = {}) => {
    const truncated = extra.truncated ?? (r.truncated || r.timedOut);
    const p = await sink.text(`${prefix}${NODE_FILE_NAMES[artifact]}`, data, {
      command: extra.command ?? r.command,
      exitCode: r.code,
      ...(r.stderr ? { stderr: r.stderr } : {}),
      ...(r.durationMs !== undefined ? { durationMs: r.durationMs } : {}),
      ...(truncated ? { truncated: true } : {}),
    });
    out.files.push(p);
  };
  /** A usable output: ran, exited 0 (or was cut by our own cap/timeout with output). */
  const usable = (r: StepResult | undefined): r is StepResult =>
    !!r && !r.notFound && !r.skipped && (r.code === 0 || ((r.truncated || r.timedOut) && r.stdout.length > 0));
  const tried = (id: string) => {
    const st = steps.find((s) => s.id === id);
    return st?.kind === 'cmd' && st.alternatives.length > 1 ? ` (tried ${[...new Set(st.alternatives.map((a) => a[0]))].join(', ')})` : '';
  };
  const report = (r: StepResult | undefined) => {
    if (!r || r.skipped) return;
    if (r.notFound) return fail(r.command, `tool not installed${tried(r.id)}`);
    if (r.timedOut) return fail(r.command, `timed out${r.durationMs !== undefined ? ` after ${r.durationMs} ms` : ''}${r.stdout.length ? ' (partial output kept, marked truncated)' : ''}`);
    if (r.code !== 0 && !r.truncated) {
      const msg = firstLine(r.stderr) || firstLine(r.stdout.subarray(0, 4096).toString('utf8'));
      fail(r.command, `exit code ${r.code}${msg ? `: ${msg}` : ''}`);
    }
  };

  // iptables / ip6tables: pick the backend holding Calico's chains; keep both when both hold rules.
  for (const fam of ['iptables', 'ip6tables'] as const) {
    const legacy = results.get(`${fam}-legacy-save`);
    const nft = results.get(`${fam}-nft-save`);
    const plain = results.get(`${fam}-save`);
    // A missing backend-specific tool is normal (older images ship only iptables-save).
    for (const r of [legacy, nft]) if (r && !r.notFound) report(r);
    report(plain);
    const l = usable(legacy) ? legacy.stdout.toString('utf8') : undefined;
    const n = usable(nft) ? nft.stdout.toString('utf8') : undefined;
    let main: StepResult | undefined;
    let mainWhy = '';
    if (l !== undefined && n !== undefined) {
      const lc = hasCaliChains(l);
      const nc = hasCaliChains(n);
      if (lc && nc) {
        main = caliRuleCount(n) >= caliRuleCount(l) ? nft : legacy;
        mainWhy = 'both backends hold cali- chains; the one with more cali- rules is used';
      } else if (nc || lc) {
        main = nc ? nft : legacy;
        mainWhy = `${nc ? 'nft' : 'legacy'} backend holds Calico's rules (cali- chains)`;
      } else {
        main = ruleCount(l) > ruleCount(n) ? legacy : nft;
        mainWhy = 'no cali- chains in either backend; the one with more rules is used';
      }
      if (ruleCount(l) > 0 && ruleCount(n) > 0) {
        await write(fam === 'iptables' ? 'iptables-legacy' : 'ip6tables-legacy', legacy!, legacy!.stdout);
        await write(fam === 'iptables' ? 'iptables-nft' : 'ip6tables-nft', nft!, nft!.stdout);
        note(`${nodeName}: ${fam}: ${mainWhy}; ${main === nft ? 'legacy' : 'nft'} also has ${ruleCount(main === nft ? l : n)} rules — both dumps saved (${fam}-legacy-save.txt, ${fam}-nft-save.txt)`);
      } else if (mainWhy && !/^no cali-/.test(mainWhy)) {
        note(`${nodeName}: ${fam}: ${mainWhy}`);
      }
    } else if (l !== undefined || n !== undefined) {
      main = l !== undefined ? legacy : nft;
    } else if (usable(plain)) {
      main = plain;
    }
    if (main) await write(fam, main, main.stdout);
  }

  // Simple one-command artifacts.
  const special = new Set(['sysctl', 'conntrack', 'felix-metrics', 'felix-readiness', 'felix-liveness']);
  for (const step of steps) {
    if (step.kind !== 'cmd' || /tables/.test(step.id) || special.has(step.id)) continue;
    const r = results.get(step.id);
    report(r);
    if (usable(r)) await write(STEP_ARTIFACT[step.id], r, r.stdout);
  }

  // conntrack -L: cap lines.
  const ct = results.get('conntrack');
  report(ct);
  if (usable(ct)) {
    const max = o.conntrackMaxLines ?? 200_000;
    let text = ct.stdout.toString('utf8');
    let capped = !!ct.truncated;
    const lines = text.split('\n');
    if (capped && lines.length > 1) lines.pop(); // the last line was cut mid-way
    if (lines.length > max) {
      lines.length = max;
      capped = true;
    }
    if (capped) text = `${lines.join('\n')}\n`;
    await write('conntrack', ct, text, { truncated: capped || ct.timedOut });
    if (capped) note(`${nodeName}: conntrack -L truncated to ${Math.min(max, lines.length)} entries`);
  }

  // sysctl: keep the networking subtrees.
  const sc = results.get('sysctl');
  report(sc);
  if (usable(sc)) {
    const kept = sc.stdout
      .toString('utf8')
      .split('\n')
      .filter((l) => SYSCTL_PREFIXES.some((p) => l.startsWith(p)))
      .join('\n');
    const subtrees = SYSCTL_PREFIXES.map((p) => p.slice(0, -1)).join(', ');
    const how = sc.command.startsWith('sysctl') ? `${sc.command} (filtered to ${subtrees})` : `read /proc/sys for ${subtrees} (no sysctl binary)`;
    await write('sysctl', sc, `${kept}\n`, { command: how });
  }

  // Felix metrics and health over HTTP.
  const via = (r: StepResult, url: string) => (r.command.startsWith('GET ') ? r.command : `GET ${url} (via ${r.command.split(' ')[0]})`);
  const httpFail = (r: StepResult, url: string) =>
    fail(`GET ${url}`, r.notFound ? 'no HTTP client (curl, wget, bash) available' : r.error ?? `HTTP ${r.httpStatus}`);
  const metrics = results.get('felix-metrics');
  const metricsStep = steps.find((s) => s.id === 'felix-metrics');
  if (metrics && metricsStep?.kind === 'http') {
    if (metrics.httpStatus === 200) await write('felix-metrics', metrics, metrics.stdout, { command: via(metrics, metricsStep.url) });
    else httpFail(metrics, metricsStep.url);
  }
  const health: string[] = [];
  let healthResult: StepResult | undefined;
  for (const id of ['felix-readiness', 'felix-liveness']) {
    const r = results.get(id);
    const step = steps.find((s) => s.id === id);
    if (!r || step?.kind !== 'http') continue;
    if (r.httpStatus && r.httpStatus > 0) {
      health.push(`GET ${step.url} -> ${r.httpStatus}\n${r.stdout.toString('utf8').trimEnd()}\n`);
      healthResult ??= r;
    } else httpFail(r, step.url);
  }
  if (healthResult) {
    await write('felix-health', healthResult, health.join('\n'), { command: steps.filter((s) => s.kind === 'http' && s.id !== 'felix-metrics').map((s) => `GET ${(s as { url: string }).url}`).join('; ') });
  }
  out.bytes = sink.bytes - startBytes;
  return out;
}

function firstLine(s: string): string {
  return (s.split('\n').find((l) => l.trim() !== '') ?? '').trim().slice(0, 300);
}
