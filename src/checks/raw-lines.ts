/**
 * Raw lines of a bundle's artifacts, for the text of evidence lines. Checks quote a handful of
 * lines, but an artifact can be a 150 MB iptables-save: so only each line's start offset is kept
 * (an Int32Array, built with indexOf) and a line's text is sliced when asked for, rather than
 * splitting the whole file into a million strings. One index per (bundle, artifact), shared by
 * every check.
 */
import type { Bundle } from '../model/bundle.js';

export class RawLines {
  /** Offset where line n (1-based) starts is starts[n - 1]; the text ends at text.length. */
  private constructor(
    private readonly text: string,
    private readonly starts: Int32Array,
    /** Number of lines (a final newline does not start another line of text, but is counted like `split` would). */
    readonly count: number,
  ) {}

  static of(text: string): RawLines {
    let starts = new Int32Array(1024);
    let n = 0;
    let at = 0;
    for (;;) {
      if (n === starts.length) {
        const more = new Int32Array(n * 2);
        more.set(starts);
        starts = more;
      }
      starts[n++] = at;
      const nl = text.indexOf('\n', at);
      if (nl < 0) break;
      at = nl + 1;
    }
    return new RawLines(text, starts, n);
  }

  /** Text of line n (1-based) without its newline or a carriage return before it; undefined past the end. */
  line(n: number): string | undefined {
    if (!(n >= 1 && n <= this.count)) return undefined;
    const s = this.starts[n - 1];
    let e = n < this.count ? this.starts[n] - 1 : this.text.length;
    if (e > s && this.text.charCodeAt(e - 1) === 13) e--;
    return this.text.slice(s, e);
  }

  /** The 1-based line holding character offset `offset`. */
  lineAt(offset: number): number {
    let lo = 0;
    let hi = this.count - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  }
}

const cache = new WeakMap<Bundle, Map<string, RawLines | null>>();

/** The line index of an artifact of bundle b, made once; undefined when the bundle has no such text. */
export function rawLines(b: Bundle, artifact: string): RawLines | undefined {
  let m = cache.get(b);
  if (!m) cache.set(b, (m = new Map()));
  const hit = m.get(artifact);
  if (hit !== undefined) return hit ?? undefined;
  const text = b.rawText(artifact);
  const v = text === undefined ? null : RawLines.of(text);
  m.set(artifact, v);
  return v ?? undefined;
}
