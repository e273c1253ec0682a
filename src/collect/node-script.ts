/**
 * The node collector as ONE POSIX shell script, for the fleet path: the Kubernetes exec API
 * runs one command per call, so the whole plan (node-plan.ts) goes out as a script that runs
 * every step with `timeout`, caps each output with `head -c`, and frames it on stdout:
 *
 *   @@<nonce> BEGIN <step-id> <alternative-index>
 *   <raw output bytes>
 *   @@<nonce> END <step-id> rc=<exit code> ms=<duration>        (preceded by one added "\n")
 *   @@<nonce> NOTFOUND <step-id>      no alternative's program exists
 *   @@<nonce> SKIP <step-id>          condition not met (plain iptables-save when a backend tool exists)
 *   @@<nonce> DONE                    the script finished
 *
 * Each command's stderr goes to the exec's stderr stream after a `@@<nonce> ERR <step-id>` line.
 * When the pod has gzip, stdout is gzip-compressed (the receiver detects the gzip magic). The
 * random nonce makes a collision with command output practically impossible. Nothing is written
 * on the node: no temp files, only reads.
 */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { DEFAULT_MAX_STDERR, formatCommand } from './exec.js';
import { httpAlternatives, parseHttpOutput } from './http-probe.js';
import type { Argv, Step, StepResult } from './node-plan.js';

export function newNonce(): string {
  return randomBytes(8).toString('hex');
}

/** Shell-quotes one word. */
function q(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

const shVar = (id: string) => `NF_${id.replace(/[^A-Za-z0-9]/g, '_')}`;

/** The alternatives a step tries, in order (HTTP steps become curl / wget / bash). */
export function stepAlternatives(step: Step): Argv[] {
  return step.kind === 'http' ? httpAlternatives(step.url, step.timeoutMs) : step.alternatives;
}

export function buildNodeScript(steps: Step[], nonce: string): string {
  const lines: string[] = [
    '#!/bin/sh',
    '# caliscope node collection: read-only dumps, framed on stdout (see node-script.ts).',
    `N=${nonce}`,
    'have() { command -v "$1" >/dev/null 2>&1; }',
    // timeout, head and date are optional: without them no kill, no cap, no durations — never a broken run.
    'if have timeout; then TO=1; else TO=; fi',
    'if have head; then HEAD=1; else HEAD=; fi',
    'if have date; then DATE=1; else DATE=; fi',
    'now_ms() { [ -n "$DATE" ] || { echo 0; return; }; d=$(date +%s%N 2>/dev/null); case "$d" in ""|*[!0-9]*) s=$(date +%s 2>/dev/null); case "$s" in ""|*[!0-9]*) echo 0;; *) echo $((s * 1000));; esac;; *) echo $((d / 1000000));; esac; }',
    'to() { if [ -n "$TO" ]; then timeout -s KILL "$secs" "$@"; else "$@"; fi; }',
    // run ID ALT SECS LIMIT CMD ARGS...: frames the output, caps it at LIMIT bytes, keeps the exit code.
    'run() {',
    '  id=$1; alt=$2; secs=$3; lim=$4; shift 4',
    '  printf \'@@%s ERR %s\\n\' "$N" "$id" >&2',
    '  printf \'@@%s BEGIN %s %s\\n\' "$N" "$id" "$alt"',
    '  s=$(now_ms)',
    '  if [ -n "$HEAD" ]; then',
    '    rc=$( { { to "$@" </dev/null; echo $? >&7; } | head -c "$lim" >&5; } 7>&1 )',
    '  else',
    '    to "$@" </dev/null >&5; rc=$?',
    '  fi',
    '  e=$(now_ms)',
    '  printf \'\\n@@%s END %s rc=%s ms=%s\\n\' "$N" "$id" "${rc:-255}" "$((e - s))"',
    '  printf \'\\n\' >&2',
    '}',
    'main() {',
    'exec 5>&1',
  ];
  for (const step of steps) {
    const alts = stepAlternatives(step);
    const secs = Math.max(1, Math.ceil(step.timeoutMs / 1000));
    // One byte over the cap tells the receiver the output was cut.
    const lim = step.maxBytes + (step.kind === 'http' ? 64 * 1024 : 0) + 1;
    const body: string[] = [];
    alts.forEach((argv, i) => {
      body.push(`${i === 0 ? 'if' : 'elif'} have ${q(argv[0])}; then run ${q(step.id)} ${i} ${secs} ${lim} ${argv.map(q).join(' ')}`);
    });
    body.push(`else ${shVar(step.id)}=1; printf '@@%s NOTFOUND %s\\n' "$N" ${q(step.id)}; fi`);
    if (step.kind === 'cmd' && step.onlyIfNotFound?.length) {
      const cond = step.onlyIfNotFound.map((id) => `[ -n "$${shVar(id)}" ]`).join(' && ');
      lines.push(`if ${cond}; then`, ...body.map((b) => `  ${b}`), `else printf '@@%s SKIP %s\\n' "$N" ${q(step.id)}; fi`);
    } else {
      lines.push(...body);
    }
  }
  lines.push(`printf '@@%s DONE\\n' "$N"`, '}', 'if have gzip; then main | gzip -c; else main; fi', '');
  return lines.join('\n');
}

export interface FrameParseResult {
  results: Map<string, StepResult>;
  /** The script reached its end (`DONE`). */
  complete: boolean;
  /** Raw bytes received on stdout (compressed size when gzip was used). */
  bytesIn: number;
}

/**
 * Receives the script's stdout (and stderr) as streams and rebuilds the step results.
 * Memory is bounded by the largest single output, not the node's total.
 */
export class FrameReceiver {
  readonly stdout: Writable;
  readonly stderr: Writable;
  private readonly results = new Map<string, StepResult>();
  private readonly stepById: Map<string, Step>;
  private readonly beginPrefix: Buffer;
  private readonly endMarker: Buffer;
  private pending: Buffer = Buffer.alloc(0);
  private current: { id: string; alt: number; chunks: Buffer[]; len: number } | undefined;
  private complete = false;
  private bytesIn = 0;
  private gunzip: ReturnType<typeof createGunzip> | undefined;
  private stderrText = '';
  private gzipDone: Promise<void> = Promise.resolve();
  private error: Error | undefined;

  constructor(
    steps: Step[],
    private readonly nonce: string,
  ) {
    this.stepById = new Map(steps.map((s) => [s.id, s]));
    this.beginPrefix = Buffer.from(`@@${nonce} `);
    this.endMarker = Buffer.from(`\n@@${nonce} END `);
    this.stdout = new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        this.bytesIn += chunk.length;
        this.rawIn(chunk);
        cb();
      },
      final: (cb) => {
        if (this.head?.length) {
          this.feed(this.head);
          this.head = undefined;
        }
        if (this.gunzip) {
          this.gunzip.end();
          this.gzipDone.then(() => cb(), () => cb());
        } else cb();
      },
    });
    this.stderr = new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        // Keep a bounded amount of stderr per step; it is framed by ERR lines.
        if (this.stderrText.length < 256 * 1024) this.stderrText += chunk.toString('utf8');
        cb();
      },
    });
  }

  /** Bytes received so far (compressed). */
  get received(): number {
    return this.bytesIn;
  }

  private head: Buffer | undefined = Buffer.alloc(0);

  private rawIn(chunk: Buffer): void {
    if (this.head) {
      // Decide gzip vs plain on the first two bytes, however the stream is chunked.
      const h: Buffer = Buffer.concat([this.head, chunk]);
      if (h.length < 2) {
        this.head = h;
        return;
      }
      this.head = undefined;
      if (h[0] === 0x1f && h[1] === 0x8b) {
        this.gunzip = createGunzip();
        this.gunzip.on('data', (c: Buffer) => this.feed(c));
        this.gzipDone = new Promise((resolve) => {
          this.gunzip!.on('end', resolve);
          this.gunzip!.on('error', (e) => {
            this.error = e;
            resolve();
          });
        });
      }
      chunk = h;
    }
    if (this.gunzip) this.gunzip.write(chunk);
    else this.feed(chunk);
  }

  private feed(c: Buffer): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, c]) : c;
    this.drain();
  }

  private drain(): void {
    for (;;) {
      if (this.current) {
        const i = this.pending.indexOf(this.endMarker);
        if (i < 0) {
          // Move everything that cannot be the start of the marker into the body.
          const keep = Math.min(this.pending.length, this.endMarker.length - 1);
          const take = this.pending.length - keep;
          if (take > 0) this.addBody(this.pending.subarray(0, take));
          this.pending = this.pending.subarray(take);
          return;
        }
        const nl = this.pending.indexOf(0x0a, i + this.endMarker.length);
        if (nl < 0) {
          if (i > 0) {
            this.addBody(this.pending.subarray(0, i));
            this.pending = this.pending.subarray(i);
          }
          return;
        }
        this.addBody(this.pending.subarray(0, i));
        const endLine = this.pending.subarray(i + 1, nl).toString('utf8');
        this.pending = this.pending.subarray(nl + 1);
        this.finishFrame(endLine);
        continue;
      }
      const nl = this.pending.indexOf(0x0a);
      if (nl < 0) return;
      const line = this.pending.subarray(0, nl);
      this.pending = this.pending.subarray(nl + 1);
      if (line.length < this.beginPrefix.length || !line.subarray(0, this.beginPrefix.length).equals(this.beginPrefix)) continue;
      const [verb, id, alt] = line.subarray(this.beginPrefix.length).toString('utf8').trim().split(' ');
      if (verb === 'BEGIN' && id) this.current = { id, alt: Number(alt) || 0, chunks: [], len: 0 };
      else if (verb === 'NOTFOUND' && id) this.results.set(id, this.empty(id, 0, { notFound: true, code: 127 }));
      else if (verb === 'SKIP' && id) this.results.set(id, this.empty(id, 0, { skipped: true }));
      else if (verb === 'DONE') this.complete = true;
    }
  }

  private addBody(b: Buffer): void {
    const cur = this.current!;
    const step = this.stepById.get(cur.id);
    // Keep one byte beyond the cap so finishFrame can tell the output was cut.
    const cap = (step?.maxBytes ?? Infinity) + (step?.kind === 'http' ? 64 * 1024 : 0) + 1;
    if (cur.len >= cap) return;
    const part = cur.len + b.length > cap ? b.subarray(0, cap - cur.len) : b;
    cur.chunks.push(Buffer.from(part));
    cur.len += part.length;
  }

  private commandOf(id: string, alt: number): string {
    const step = this.stepById.get(id);
    if (!step) return id;
    const argv = stepAlternatives(step)[alt] ?? stepAlternatives(step)[0];
    return formatCommand(argv[0], argv.slice(1));
  }

  private empty(id: string, alt: number, extra: Partial<StepResult>): StepResult {
    return { id, command: this.commandOf(id, alt), stdout: Buffer.alloc(0), stderr: '', code: 0, timedOut: false, ...extra };
  }

  private finishFrame(endLine: string): void {
    const cur = this.current!;
    this.current = undefined;
    const m = /^@@\S+ END (\S+) rc=(-?\d+) ms=(-?\d+)/.exec(endLine);
    const step = this.stepById.get(cur.id);
    const rc = m ? Number(m[2]) : 255;
    const ms = m ? Number(m[3]) : undefined;
    let stdout = Buffer.concat(cur.chunks);
    const max = (step?.maxBytes ?? Infinity) + (step?.kind === 'http' ? 64 * 1024 : 0);
    const truncated = stdout.length > max;
    if (truncated) stdout = stdout.subarray(0, max);
    const secs = step ? Math.max(1, Math.ceil(step.timeoutMs / 1000)) : Infinity;
    const timedOut = (rc === 124 || rc === 137) && ms !== undefined && ms >= secs * 1000 - 250;
    const r: StepResult = {
      id: cur.id,
      command: this.commandOf(cur.id, cur.alt),
      stdout,
      stderr: '',
      // A command killed by SIGPIPE after head -c reached the cap was cut by us, not failing.
      code: truncated && (rc === 141 || rc === 0) ? 0 : rc,
      timedOut,
      ...(truncated ? { truncated: true } : {}),
      ...(ms !== undefined && ms >= 0 ? { durationMs: ms } : {}),
    };
    this.results.set(cur.id, r);
  }

  /** Call after both streams ended (or the exec failed): the results received. */
  finish(): FrameParseResult {
    // Attach stderr sections.
    const marker = `@@${this.nonce} ERR `;
    for (const section of this.stderrText.split(marker).slice(1)) {
      const nl = section.indexOf('\n');
      const id = section.slice(0, nl < 0 ? section.length : nl).trim();
      const text = nl < 0 ? '' : section.slice(nl + 1).replace(/^\n+|\n+$/g, '');
      const r = this.results.get(id);
      if (r && text) r.stderr = text.slice(0, DEFAULT_MAX_STDERR);
    }
    // HTTP steps need stderr too (wget prints the status line there).
    for (const [id, r] of this.results) {
      if (this.stepById.get(id)?.kind === 'http' && !r.notFound && !r.skipped) this.results.set(id, parseHttpOutput(r));
    }
    if (this.error && !this.complete) this.complete = false;
    return { results: this.results, complete: this.complete, bytesIn: this.bytesIn };
  }
}
