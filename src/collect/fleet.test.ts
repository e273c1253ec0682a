/**
 * Fleet collection against a test double of 200 nodes. No real API server can run here, so the
 * exec transport is fake — but what it streams back is the framed output of a REAL run of the
 * node-collection script inside a Calico-shaped network namespace
 * (scripts/fixtures/capture-node-frames.sh), with injected failures, timeouts, flaky and slow
 * nodes. The Kubernetes lists (200 Nodes, 200 calico-node pods) come from the replay API server.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBundle } from '../bundle/source.js';
import { readManifest, verifyManifest } from '../bundle/manifest.js';
import { collectCluster } from './cluster.js';
import type { PodExecTransport } from './fleet.js';
import type { FleetProgress } from './progress.js';
import { FIXTURES, startReplayServer, type ReplayServer } from '../../test/collect/k8s-replay.js';

const N = 200;
const PARALLEL = 16;
const frames = JSON.parse(readFileSync(path.join(FIXTURES, 'exec/node-frames.json'), 'utf8')) as { nonce: string; plan: Record<string, unknown> };
const framesPlain = gunzipSync(readFileSync(path.join(FIXTURES, 'exec/node-frames.stdout')));
const framesErr = readFileSync(path.join(FIXTURES, 'exec/node-frames.stderr'));
const names = Array.from({ length: N }, (_, i) => `ip-10-0-${Math.floor(i / 250)}-${(i % 250) + 1}.ec2.internal`);

/** Injected behaviour per node index. */
const FAIL = new Set([13, 57, 140]); // exec refused every time
const FLAKY = new Set([21, 88]); // first attempt drops the connection, then fine
const HANG = new Set([99]); // never answers: the per-node timeout must fire
const SLOW = new Set([5, 150, 151]); // slow but within the timeout
const CUT = new Set([170]); // the stream ends mid-way every time

function nodeList() {
  return {
    kind: 'NodeList',
    apiVersion: 'v1',
    metadata: { resourceVersion: '900001' },
    items: names.map((n, i) => ({ metadata: { name: n, uid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, resourceVersion: String(1000 + i), labels: { 'kubernetes.io/hostname': n, pool: i % 2 ? 'b' : 'a' } }, spec: {}, status: {} })),
  };
}

function calicoPods() {
  return {
    kind: 'PodList',
    apiVersion: 'v1',
    metadata: { resourceVersion: '900002' },
    items: names.map((n, i) => ({
      metadata: { name: `calico-node-${i.toString(36).padStart(5, '0')}`, namespace: 'calico-system', labels: { 'k8s-app': 'calico-node' } },
      spec: { nodeName: n, hostNetwork: true, containers: [{ name: 'calico-node', image: 'quay.io/calico/node:v3.30.2' }] },
      status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }], containerStatuses: [{ name: 'calico-node', ready: true, restartCount: 0 }] },
    })),
  };
}

interface Stats {
  active: number;
  max: number;
  calls: Map<string, number>;
}

/** Replays the captured frames with the caller's nonce, in uneven chunks, gzip for even nodes. */
function fakeTransport(stats: Stats, o: { failAll?: boolean } = {}): PodExecTransport {
  return async (t, command, io) => {
    const i = names.indexOf(t.node);
    stats.calls.set(t.node, (stats.calls.get(t.node) ?? 0) + 1);
    const attempt = stats.calls.get(t.node)!;
    stats.active++;
    stats.max = Math.max(stats.max, stats.active);
    try {
      expect(t.container).toBe('calico-node');
      expect(command[0]).toBe('/bin/sh');
      const nonce = /^N=([0-9a-f]{16})$/m.exec(command[2])![1];
      if (o.failAll || FAIL.has(i)) throw new Error(`pods "${t.pod}" is forbidden: cannot exec into pods in the namespace "calico-system"`);
      if (FLAKY.has(i) && attempt === 1) throw new Error('exec connection closed before the command finished');
      if (HANG.has(i)) {
        await new Promise<void>((resolve) => io.signal.addEventListener('abort', () => resolve(), { once: true }));
        throw new Error('aborted');
      }
      await new Promise((r) => setTimeout(r, SLOW.has(i) ? 120 : 2 + (i % 7)));
      let body = Buffer.from(framesPlain.toString('latin1').split(frames.nonce).join(nonce), 'latin1');
      if (CUT.has(i)) body = body.subarray(0, Math.floor(body.length / 2));
      const out = i % 2 === 0 ? gzipSync(body) : body;
      let pos = 0;
      let k = 1;
      while (pos < out.length) {
        const size = 500 + ((i * 131 + k++ * 977) % 4000);
        io.stdout.write(out.subarray(pos, pos + size));
        pos += size;
        if (k % 4 === 0) await new Promise((r) => setImmediate(r));
      }
      io.stderr.write(Buffer.from(framesErr.toString('latin1').split(frames.nonce).join(nonce), 'latin1'));
      io.stdout.end();
      io.stderr.end();
      return { code: 0 };
    } finally {
      stats.active--;
    }
  };
}

describe(`fleet collection of ${N} nodes through a fake exec transport replaying a real node capture`, () => {
  let srv: ReplayServer;
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'csf-fleet-test-'));
  beforeAll(async () => {
    srv = await startReplayServer('crd', {
      extra: [
        { path: '/api/v1/nodes', body: nodeList() },
        { path: '/api/v1/nodes', query: { labelSelector: 'pool=a' }, body: { ...nodeList(), items: nodeList().items.filter((n) => n.metadata.labels.pool === 'a') } },
        { path: '/api/v1/pods', query: { labelSelector: 'k8s-app in (calico-node,calico-kube-controllers,calico-typha)' }, body: calicoPods() },
      ],
    });
  });
  afterAll(async () => {
    await srv.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  const base = () => ({
    kubeconfig: srv.kubeconfig,
    nodes: 'all' as const,
    parallel: PARALLEL,
    nodeTimeoutMs: 800,
    retries: 2,
    retryBaseMs: 5,
    plan: frames.plan,
    logs: { calicoNode: 'none' as const },
  });

  it('bounds concurrency, reports monotonic progress, lists failures and completes the rest; resume collects only the missing nodes', async () => {
    const out = path.join(tmp, 'fleet.tar.gz');
    // --- run 1: "crashes" (is aborted) after 60 nodes are complete.
    const stats1: Stats = { active: 0, max: 0, calls: new Map() };
    const ac = new AbortController();
    const events1: FleetProgress[] = [];
    const r1 = await collectCluster({
      ...base(),
      out,
      transport: fakeTransport(stats1),
      signal: ac.signal,
      onProgress: (p) => {
        events1.push(p);
        if (p.done >= 60) ac.abort();
      },
    });
    expect(r1.complete).toBe(false);
    expect(stats1.max).toBeLessThanOrEqual(PARALLEL);
    const partial = await openBundle(`${out}.partial`);
    const m1 = readManifest(partial).manifest!;
    expect(m1.complete).toBe(false);
    const done1 = (m1.source as unknown as { nodesComplete: string[] }).nodesComplete;
    expect(done1.length).toBeGreaterThanOrEqual(60);
    expect(done1.length).toBeLessThan(N);
    // The partial bundle is usable: every listed file is whole.
    expect(verifyManifest(partial, m1).mismatched).toEqual([]);
    expect(verifyManifest(partial, m1).missing).toEqual([]);

    // --- run 2: resume.
    const stats2: Stats = { active: 0, max: 0, calls: new Map() };
    const events: FleetProgress[] = [];
    const r2 = await collectCluster({ ...base(), out, resume: true, transport: fakeTransport(stats2), onProgress: (p) => events.push(p) });
    expect(r2.complete).toBe(true);
    // Only the missing nodes were contacted.
    for (const n of done1) expect(stats2.calls.has(n), `${n} collected twice`).toBe(false);
    expect(new Set([...done1, ...stats2.calls.keys()])).toEqual(new Set(names));
    expect(stats2.max).toBeLessThanOrEqual(PARALLEL);
    expect(stats2.max).toBeGreaterThan(1);
    // Resource lists were complete in run 1: not listed again.
    expect(r2.nodes!.skipped.length).toBe(done1.length);

    // Progress: monotonic counters, sane totals.
    const nodeEvents = events.filter((p) => p.phase === 'nodes');
    expect(nodeEvents.length).toBeGreaterThan(N - done1.length);
    for (let k = 1; k < nodeEvents.length; k++) {
      const a = nodeEvents[k - 1];
      const b = nodeEvents[k];
      expect(b.done).toBeGreaterThanOrEqual(a.done);
      expect(b.failed).toBeGreaterThanOrEqual(a.failed);
      expect(b.bytesIn).toBeGreaterThanOrEqual(a.bytesIn);
      expect(b.elapsedMs).toBeGreaterThanOrEqual(a.elapsedMs);
      expect(b.done + b.failed + b.skipped).toBeLessThanOrEqual(b.total);
      expect(b.running).toBeLessThanOrEqual(PARALLEL);
    }
    const last = nodeEvents[nodeEvents.length - 1];
    expect(last.total).toBe(N);
    expect(last.done + last.failed + last.skipped).toBe(N);
    expect(last.etaMs).toBe(0);

    // Failures: the refused, the hung and the cut-off node are listed with their errors.
    const bad = [...FAIL, ...HANG, ...CUT].map((i) => names[i]).filter((n) => !done1.includes(n));
    const failed = new Map(r2.nodes!.failed.map((f) => [f.node, f.error]));
    for (const n of bad) expect(failed.has(n), n).toBe(true);
    for (const i of FAIL) if (failed.has(names[i])) expect(failed.get(names[i])).toMatch(/forbidden/);
    if (failed.has(names[99])) expect(failed.get(names[99])).toMatch(/timed out after 800 ms/);
    if (failed.has(names[170])) expect(failed.get(names[170])).toMatch(/output ended before the collection script finished \(partial output of \d+\/\d+ steps kept\)/);
    for (const i of FLAKY) expect(failed.has(names[i])).toBe(false);
    // Retries: a refused node was tried 1 + retries times.
    for (const i of FAIL) if (stats2.calls.has(names[i])) expect(stats2.calls.get(names[i])).toBe(3);

    // The final bundle: every good node has its files, the manifest lists all, failures recorded.
    const src = await openBundle(out);
    const m = readManifest(src).manifest!;
    expect(m.complete).toBe(true);
    expect(verifyManifest(src, m).ok).toBe(true);
    const complete = new Set((m.source as unknown as { nodesComplete: string[] }).nodesComplete);
    expect(complete.size).toBe(N - bad.length);
    for (const n of names) {
      if (bad.includes(n)) continue;
      for (const f of ['iptables-save.txt', 'iptables-legacy-save.txt', 'iptables-nft-save.txt', 'ipset.txt', 'ip-addr.json', 'ip-route.json', 'conntrack.txt', 'sysctl.txt', 'bird-protocols.txt', 'bird-routes.txt', 'felix-metrics.txt', 'felix-health.txt'])
        expect(src.has(`nodes/${n}/${f}`), `${n}/${f}`).toBe(true);
    }
    const nodeFailures = m.failures!.filter((f) => f.target.startsWith('node/') && !f.command?.startsWith('birdc'));
    expect(new Set(nodeFailures.map((f) => f.target))).toEqual(new Set(bad.map((n) => `node/${n}`)));
    // bird6 is not running on the captured node: recorded per node, not fatal.
    expect(m.failures!.some((f) => f.command?.includes('bird6.ctl') && /Unable to connect/.test(f.error))).toBe(true);
  });

  it('a node whose exec fails on every attempt is recorded; the collection still completes', async () => {
    const out = path.join(tmp, 'allfail');
    const stats: Stats = { active: 0, max: 0, calls: new Map() };
    const r = await collectCluster({ ...base(), out, retries: 0, nodeSelector: 'pool=a', transport: fakeTransport(stats, { failAll: true }) });
    expect(r.complete).toBe(true);
    expect(r.nodes!.done).toEqual([]);
    expect(r.nodes!.failed.length).toBe(N / 2);
    expect(r.nodes!.failed[0].error).toMatch(/forbidden/);
    expect(srv.requests.some((q) => q.startsWith('GET /api/v1/nodes?labelSelector=pool%3Da'))).toBe(true);
  });
});
