/**
 * Fleet collection: the node collector on many nodes at once, each run as one framed shell
 * script (node-script.ts) inside the node's `calico-node` pod through the exec API — no agent to
 * install. Bounded concurrency, a per-node timeout, retries with exponential backoff, results
 * written into the bundle as each node finishes, and resume (nodes already complete are skipped).
 *
 * Default concurrency 16: each node costs one exec stream through the API server and kubelet
 * (long-running requests, outside the API server's max-inflight budget but not free), and the
 * collector holds at most one node's outputs in memory per slot (tens of MB on big nodes with
 * kube-proxy iptables). At ~5–10 s per node, 16 slots cover 5,000 nodes in roughly 30–50 min
 * without being noticed by the control plane; raise `parallel` on large control planes.
 */
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { assembleNode } from './node.js';
import { planNodeSteps, type PlanOptions, type Step } from './node-plan.js';
import { buildNodeScript, FrameReceiver, newNonce, type FrameParseResult } from './node-script.js';
import type { ProgressTracker } from './progress.js';
import type { BundleSink } from './sink.js';
import { sleep } from './kube.js';

export interface FleetTarget {
  node: string;
  namespace: string;
  pod: string;
  container: string;
}

/** Runs `command` in the target container, streaming stdout/stderr, resolving with the exit code. Must end both streams or let the caller do it. */
export type PodExecTransport = (
  target: FleetTarget,
  command: string[],
  io: { stdout: Writable; stderr: Writable; signal: AbortSignal },
) => Promise<{ code: number; message?: string }>;

export const DEFAULT_PARALLEL = 16;
export const DEFAULT_NODE_TIMEOUT_MS = 180_000;
export const DEFAULT_RETRIES = 2;

export interface FleetOptions {
  targets: FleetTarget[];
  transport: PodExecTransport;
  sink: BundleSink;
  progress: ProgressTracker;
  plan?: PlanOptions;
  parallel?: number;
  nodeTimeoutMs?: number;
  retries?: number;
  /** First retry delay; doubles per attempt, with ±25% jitter (default 2 s). */
  retryBaseMs?: number;
  /** Node names already complete in the bundle (resume). */
  skip?: Set<string>;
  /** Stops starting nodes and cancels running ones (their results are not written). */
  signal?: AbortSignal;
  /** Called after a node's files are written (to record it as complete). */
  onNodeComplete?: (node: string) => Promise<void>;
}

export interface FleetResult {
  done: string[];
  failed: { node: string; error: string }[];
  skipped: string[];
  aborted: boolean;
}

export async function runFleet(o: FleetOptions): Promise<FleetResult> {
  const parallel = Math.max(1, o.parallel ?? DEFAULT_PARALLEL);
  const timeoutMs = o.nodeTimeoutMs ?? DEFAULT_NODE_TIMEOUT_MS;
  const retries = Math.max(0, o.retries ?? DEFAULT_RETRIES);
  const baseMs = o.retryBaseMs ?? 2000;
  const steps = planNodeSteps({ timeoutMs: Math.min(30_000, timeoutMs), ...o.plan });
  const res: FleetResult = { done: [], failed: [], skipped: [], aborted: false };
  const todo = o.targets.filter((t) => {
    if (o.skip?.has(t.node)) {
      res.skipped.push(t.node);
      return false;
    }
    return true;
  });
  o.progress.setTotal(o.targets.length, res.skipped.length);
  o.progress.phase('nodes');
  let next = 0;
  const worker = async () => {
    while (!o.signal?.aborted) {
      const t = todo[next++];
      if (!t) return;
      await collectTarget(t, steps, o, { timeoutMs, retries, baseMs }, res);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, todo.length) }, worker));
  res.aborted = !!o.signal?.aborted;
  return res;
}

async function collectTarget(
  t: FleetTarget,
  steps: Step[],
  o: FleetOptions,
  k: { timeoutMs: number; retries: number; baseMs: number },
  res: FleetResult,
): Promise<void> {
  const started = Date.now();
  o.progress.nodeEvent({ node: t.node, status: 'started' });
  let lastError = '';
  let partial: FrameParseResult | undefined;
  let pendingBytes = 0;
  for (let attempt = 1; attempt <= k.retries + 1; attempt++) {
    if (o.signal?.aborted) break;
    const r = await attemptNode(t, steps, o.transport, k.timeoutMs, o.signal);
    if (!r.error) {
      if (o.signal?.aborted) return;
      let written;
      try {
        written = await assembleNode(r.parsed.results, steps, { sink: o.sink, nodeName: t.node, via: `pod ${t.namespace}/${t.pod}` });
      } catch (e) {
        // Writing failed (disk full, unusable name): this node fails, the fleet goes on.
        lastError = `could not write the node's files: ${(e as Error).message}`;
        break;
      }
      await o.onNodeComplete?.(t.node);
      res.done.push(t.node);
      o.progress.written(o.sink.bytes);
      o.progress.nodeEvent({ node: t.node, status: 'done', bytes: written.bytes, durationMs: Date.now() - started }, { bytesIn: r.parsed.bytesIn });
      return;
    }
    lastError = r.error;
    if (r.parsed.results.size > (partial?.results.size ?? 0)) partial = r.parsed;
    if (o.signal?.aborted) break;
    if (attempt <= k.retries) {
      o.progress.nodeEvent({ node: t.node, status: 'retrying', attempt: attempt + 1, error: r.error }, { bytesIn: r.parsed.bytesIn });
      const delay = k.baseMs * 2 ** (attempt - 1) * (0.75 + Math.random() * 0.5);
      await sleep(delay, o.signal);
    } else {
      pendingBytes = r.parsed.bytesIn;
    }
  }
  if (o.signal?.aborted) return;
  // Keep what arrived from the best attempt: a partial node is better than none, and the failure says why.
  if (partial && partial.results.size > 0) {
    try {
      await assembleNode(partial.results, steps, { sink: o.sink, nodeName: t.node });
      lastError += ` (partial output of ${partial.results.size}/${steps.length} steps kept)`;
    } catch {
      /* nothing more to keep */
    }
  }
  o.sink.failure({ target: `node/${t.node}`, command: `exec ${t.namespace}/${t.pod} -c ${t.container}`, error: lastError });
  res.failed.push({ node: t.node, error: lastError });
  o.progress.written(o.sink.bytes);
  o.progress.nodeEvent({ node: t.node, status: 'failed', error: lastError, durationMs: Date.now() - started }, { bytesIn: pendingBytes });
}

async function attemptNode(
  t: FleetTarget,
  steps: Step[],
  transport: PodExecTransport,
  timeoutMs: number,
  outer?: AbortSignal,
): Promise<{ parsed: FrameParseResult; error?: string }> {
  const nonce = newNonce();
  const rx = new FrameReceiver(steps, nonce);
  const ac = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    ac.abort();
  }, timeoutMs);
  const onOuter = () => ac.abort();
  outer?.addEventListener('abort', onOuter, { once: true });
  let error: string | undefined;
  try {
    const r = await transport(t, ['/bin/sh', '-c', buildNodeScript(steps, nonce)], { stdout: rx.stdout, stderr: rx.stderr, signal: ac.signal });
    if (r.code !== 0) error = `collection script exited with code ${r.code}${r.message ? `: ${r.message}` : ''}`;
  } catch (e) {
    error = timedOut ? `timed out after ${timeoutMs} ms` : (e as Error).message || String(e);
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener('abort', onOuter);
  }
  // Let the receiver drain (gunzip) before reading the results.
  if (!rx.stdout.writableEnded) rx.stdout.end();
  if (!rx.stderr.writableEnded) rx.stderr.end();
  if (!rx.stdout.writableFinished) await Promise.race([once(rx.stdout, 'finish'), sleep(5000)]).catch(() => {});
  const parsed = rx.finish();
  if (!error && !parsed.complete) error = 'output ended before the collection script finished';
  return { parsed, ...(error ? { error } : {}) };
}
