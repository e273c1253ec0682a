import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  createProgressDisplay,
  emptyProgress,
  formatBytes,
  formatDuration,
  ProgressTracker,
  renderProgressLine,
  renderProgressLog,
  renderProgressSummary,
  type FleetProgress,
} from './progress.js';

const base = (p: Partial<FleetProgress>): FleetProgress => ({ ...emptyProgress(0), phase: 'nodes', total: 5000, startedAt: 0, ...p });

describe('progress rendering (pure)', () => {
  it('formats bytes and durations', () => {
    expect([formatBytes(0), formatBytes(1023), formatBytes(1536), formatBytes(52 * 1024 ** 2), formatBytes(3.5 * 1024 ** 3)]).toEqual(['0 B', '1023 B', '1.5 KiB', '52 MiB', '3.5 GiB']);
    expect([formatDuration(0), formatDuration(59_400), formatDuration(61_000), formatDuration(3 * 3600_000 + 5 * 60_000)]).toEqual(['0s', '59s', '1m01s', '3h05m']);
  });

  it('a TTY line with bar, counts, bytes, elapsed and ETA, within the width', () => {
    const p = base({ done: 1200, failed: 3, running: 16, skipped: 300, bytesIn: 7.2 * 1024 ** 3, elapsedMs: 600_000, etaMs: 1_500_000 });
    const line = renderProgressLine(p, 120);
    expect(line).toBe(`nodes [${'#'.repeat(7)}${'.'.repeat(16)}] 30% 1503/5000  done 1200  failed 3  running 16  resumed 300  7.2 GiB  10m00s  ETA 25m00s`);
    expect(line.length).toBeLessThanOrEqual(120);
    expect(renderProgressLine(p, 60).length).toBe(60);
    expect(renderProgressLine(base({ phase: 'resources', message: 'pods', bytesWritten: 2048, elapsedMs: 3000 }))).toBe('resources: pods  2.0 KiB written  3s');
  });

  it('plain log lines: one per node event and per phase change', () => {
    const prev = base({ done: 9 });
    expect(renderProgressLog(base({ done: 10, event: { node: 'n1', status: 'done', bytes: 5_000_000, durationMs: 4200 } }), prev)).toBe('[10/5000] node n1: done (4.8 MiB, 4s)');
    expect(renderProgressLog(base({ failed: 1, event: { node: 'n2', status: 'failed', error: 'timed out after 180000 ms' } }), prev)).toBe('[1/5000] node n2: FAILED: timed out after 180000 ms');
    expect(renderProgressLog(base({ event: { node: 'n3', status: 'retrying', attempt: 2, error: 'EOF' } }), prev)).toBe('[0/5000] node n3: retrying (attempt 2): EOF');
    expect(renderProgressLog(base({ event: { node: 'n4', status: 'started' } }), prev)).toBeUndefined();
    expect(renderProgressLog(base({ phase: 'logs' }), prev)).toBe('logs');
    expect(renderProgressLog(base({ phase: 'resources', message: 'pods' }), base({ phase: 'resources', message: 'nodes' }))).toBe('resources: pods');
  });

  it('summary lists failures (capped)', () => {
    const fails = Array.from({ length: 52 }, (_, i) => ({ node: `n${i}`, error: 'boom' }));
    const s = renderProgressSummary(base({ done: 4948, failed: 52, bytesIn: 1024 ** 3, bytesWritten: 4 * 1024 ** 3, elapsedMs: 1_800_000 }), fails);
    expect(s.split('\n')[0]).toBe('collected 4948 node(s), 52 failed, 1.0 GiB transferred, 4.0 GiB written in 30m00s');
    expect(s.split('\n')).toHaveLength(52);
    expect(s).toMatch(/… and 2 more \(see manifest.json failures\)$/);
  });
});

describe('progress display driver', () => {
  const sink = () => {
    const chunks: string[] = [];
    const w = new Writable({
      write(c: Buffer, _e, cb) {
        chunks.push(c.toString());
        cb();
      },
    }) as Writable & { isTTY?: boolean; columns?: number };
    return { w, chunks };
  };

  it('plain mode prints log lines only', () => {
    const { w, chunks } = sink();
    const d = createProgressDisplay(w, { tty: false });
    d.update(base({ phase: 'resources', message: 'pods' }));
    d.update(base({ phase: 'nodes', done: 1, event: { node: 'a', status: 'done' } }));
    d.update(base({ phase: 'nodes', done: 1, running: 3, event: { node: 'b', status: 'started' } }));
    d.end();
    expect(chunks.join('')).toBe('resources: pods\n[1/5000] node a: done\n');
  });

  it('TTY mode redraws one line, keeps failures visible, and clears at the end', async () => {
    const { w, chunks } = sink();
    w.columns = 100;
    const d = createProgressDisplay(w, { tty: true, intervalMs: 20 });
    d.update(base({ done: 1 }));
    d.update(base({ done: 2 })); // within the interval: deferred
    d.update(base({ failed: 1, event: { node: 'x', status: 'failed', error: 'refused' } }));
    await new Promise((r) => setTimeout(r, 40));
    d.end();
    const out = chunks.join('');
    expect(out.startsWith('\r\x1b[Knodes [')).toBe(true);
    expect(out).toContain('\r\x1b[K[1/5000] node x: FAILED: refused\n');
    expect(out.endsWith('\r\x1b[K')).toBe(true);
  });

  it('the tracker emits monotonic snapshots and an ETA from the node rate', () => {
    const seen: FleetProgress[] = [];
    const t = new ProgressTracker((p) => seen.push(p));
    t.setTotal(4, 1);
    t.phase('nodes');
    t.nodeEvent({ node: 'a', status: 'started' });
    t.nodeEvent({ node: 'a', status: 'done' }, { bytesIn: 10 });
    t.nodeEvent({ node: 'b', status: 'started' });
    t.nodeEvent({ node: 'b', status: 'failed', error: 'x' }, { bytesIn: 5 });
    const last = seen[seen.length - 1];
    expect(last).toMatchObject({ total: 4, skipped: 1, done: 1, failed: 1, running: 0, bytesIn: 15 });
    expect(last.etaMs).toBeGreaterThanOrEqual(0);
    for (let i = 1; i < seen.length; i++) expect(seen[i].done + seen[i].failed).toBeGreaterThanOrEqual(seen[i - 1].done + seen[i - 1].failed);
  });
});
