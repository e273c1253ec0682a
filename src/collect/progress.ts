/**
 * Collection progress: one plain data type (FleetProgress), a pure renderer (a line of text from
 * a snapshot), and a small driver that redraws that line on a TTY or prints a plain log
 * otherwise (CI, pipes, files).
 */
import type { Writable } from 'node:stream';

export type CollectPhase = 'connect' | 'discovery' | 'resources' | 'logs' | 'nodes' | 'pack' | 'done';

export interface FleetEvent {
  node: string;
  status: 'done' | 'failed' | 'retrying' | 'skipped' | 'started';
  error?: string;
  attempt?: number;
  bytes?: number;
  durationMs?: number;
}

export interface FleetProgress {
  phase: CollectPhase;
  /** What the phase is doing now (resource being listed, …). */
  message?: string;
  /** Nodes selected for collection (including those skipped by resume). */
  total: number;
  done: number;
  failed: number;
  running: number;
  /** Already complete in the bundle being resumed. */
  skipped: number;
  /** Bytes received from nodes (compressed, as transferred). */
  bytesIn: number;
  /** Bytes written into the bundle. */
  bytesWritten: number;
  startedAt: number;
  elapsedMs: number;
  /** Estimated time to finish the node phase; undefined until a node finished. */
  etaMs?: number;
  /** The event that caused this snapshot, if any. */
  event?: FleetEvent;
}

export function emptyProgress(now = Date.now()): FleetProgress {
  return { phase: 'connect', total: 0, done: 0, failed: 0, running: 0, skipped: 0, bytesIn: 0, bytesWritten: 0, startedAt: now, elapsedMs: 0 };
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = -1;
  do {
    v /= 1024;
    i++;
  } while (v >= 1024 && i < units.length - 1);
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** One status line for a TTY (fits `width` columns). Pure. */
export function renderProgressLine(p: FleetProgress, width = 100): string {
  let line: string;
  if (p.phase === 'nodes') {
    const finished = p.done + p.failed + p.skipped;
    const pct = p.total ? Math.floor((finished / p.total) * 100) : 100;
    const rest =
      ` ${pct}% ${finished}/${p.total}  done ${p.done}  failed ${p.failed}  running ${p.running}` +
      (p.skipped ? `  resumed ${p.skipped}` : '') +
      `  ${formatBytes(p.bytesIn)}  ${formatDuration(p.elapsedMs)}` +
      (p.etaMs !== undefined ? `  ETA ${formatDuration(p.etaMs)}` : '');
    // The bar takes what the counters leave (10 to 30 columns).
    const barW = Math.max(10, Math.min(30, width - rest.length - 'nodes []'.length));
    const fill = p.total ? Math.round((finished / p.total) * barW) : barW;
    line = `nodes [${'#'.repeat(fill)}${'.'.repeat(barW - fill)}]${rest}`;
  } else {
    line = `${p.phase}${p.message ? `: ${p.message}` : ''}  ${formatBytes(p.bytesWritten)} written  ${formatDuration(p.elapsedMs)}`;
  }
  return line.length > width ? `${line.slice(0, width - 1)}…` : line;
}

/** A plain log line for an event or phase change (non-TTY output); undefined when nothing is worth a line. Pure. */
export function renderProgressLog(p: FleetProgress, previous?: FleetProgress): string | undefined {
  const e = p.event;
  if (e && (e.status === 'done' || e.status === 'failed' || e.status === 'retrying')) {
    const finished = p.done + p.failed + p.skipped;
    const what =
      e.status === 'done'
        ? `done${e.bytes !== undefined ? ` (${formatBytes(e.bytes)}${e.durationMs !== undefined ? `, ${formatDuration(e.durationMs)}` : ''})` : ''}`
        : e.status === 'failed'
          ? `FAILED: ${e.error ?? 'unknown error'}`
          : `retrying (attempt ${e.attempt ?? '?'}): ${e.error ?? ''}`;
    return `[${finished}/${p.total}] node ${e.node}: ${what}`;
  }
  if (!previous || previous.phase !== p.phase || (p.message && p.message !== previous.message && p.phase !== 'nodes')) {
    return `${p.phase}${p.message ? `: ${p.message}` : ''}`;
  }
  return undefined;
}

/** A final summary. Pure. */
export function renderProgressSummary(p: FleetProgress, failures: { node: string; error: string }[] = []): string {
  const lines = [
    `collected ${p.done} node(s)${p.skipped ? ` (+${p.skipped} from the resumed bundle)` : ''}, ${p.failed} failed, ${formatBytes(p.bytesIn)} transferred, ${formatBytes(p.bytesWritten)} written in ${formatDuration(p.elapsedMs)}`,
  ];
  for (const f of failures.slice(0, 50)) lines.push(`  failed: ${f.node}: ${f.error}`);
  if (failures.length > 50) lines.push(`  … and ${failures.length - 50} more (see manifest.json failures)`);
  return lines.join('\n');
}

export interface ProgressDisplay {
  update(p: FleetProgress): void;
  /** Clears the live line (TTY) before the caller prints a summary. */
  end(): void;
}

/**
 * Drives a display on `out`: on a TTY one line redrawn at most every `intervalMs` (plus every
 * event line for failures, so they stay visible); otherwise one plain line per node event and
 * per phase change.
 */
export function createProgressDisplay(out: Writable & { isTTY?: boolean; columns?: number }, o: { tty?: boolean; intervalMs?: number } = {}): ProgressDisplay {
  const tty = o.tty ?? !!out.isTTY;
  const interval = o.intervalMs ?? 100;
  let last = 0;
  let previous: FleetProgress | undefined;
  let pending: FleetProgress | undefined;
  let timer: NodeJS.Timeout | undefined;
  let drawn = false;
  const draw = (p: FleetProgress) => {
    out.write(`\r\x1b[K${renderProgressLine(p, (out.columns ?? 100) - 1)}`);
    drawn = true;
    last = Date.now();
  };
  return {
    update(p) {
      if (!tty) {
        const line = renderProgressLog(p, previous);
        if (line) out.write(`${line}\n`);
        previous = p;
        return;
      }
      if (p.event?.status === 'failed') {
        out.write(`\r\x1b[K${renderProgressLog(p)}\n`);
        drawn = false;
      }
      previous = p;
      if (Date.now() - last >= interval) draw(p);
      else {
        pending = p;
        timer ??= setTimeout(() => {
          timer = undefined;
          if (pending) draw(pending);
          pending = undefined;
        }, interval);
        timer.unref?.();
      }
    },
    end() {
      if (timer) clearTimeout(timer);
      timer = undefined;
      if (tty && drawn) out.write('\r\x1b[K');
    },
  };
}

/** Holds the live FleetProgress and emits snapshots; counters only ever grow (monotonic). */
export class ProgressTracker {
  private readonly p: FleetProgress;
  private nodesStartedAt: number | undefined;
  private nodeWork = 0;

  constructor(private readonly onProgress?: (p: FleetProgress) => void) {
    this.p = emptyProgress();
  }

  snapshot(): FleetProgress {
    return { ...this.p, elapsedMs: Date.now() - this.p.startedAt, ...(this.p.event ? { event: { ...this.p.event } } : {}) };
  }

  phase(phase: CollectPhase, message?: string): void {
    this.p.phase = phase;
    this.p.message = message;
    this.p.event = undefined;
    if (phase === 'nodes' && this.nodesStartedAt === undefined) this.nodesStartedAt = Date.now();
    this.emit();
  }

  setTotal(total: number, skipped: number): void {
    this.p.total = total;
    this.p.skipped = skipped;
    this.emit();
  }

  written(bytes: number): void {
    if (bytes > this.p.bytesWritten) this.p.bytesWritten = bytes;
  }

  nodeEvent(e: FleetEvent, delta: { bytesIn?: number } = {}): void {
    if (e.status === 'started') this.p.running++;
    if (e.status === 'done' || e.status === 'failed') {
      this.p.running = Math.max(0, this.p.running - 1);
      if (e.status === 'done') this.p.done++;
      else this.p.failed++;
      this.nodeWork++;
    }
    if (delta.bytesIn) this.p.bytesIn += delta.bytesIn;
    const remaining = this.p.total - this.p.done - this.p.failed - this.p.skipped;
    if (this.nodesStartedAt !== undefined && this.nodeWork > 0) {
      const rate = this.nodeWork / Math.max(1, Date.now() - this.nodesStartedAt);
      this.p.etaMs = Math.round(remaining / rate);
    }
    this.p.event = e;
    this.emit();
  }

  private emit(): void {
    this.onProgress?.(this.snapshot());
  }
}
