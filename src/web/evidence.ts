/**
 * Raw lines around an evidence line (the Findings view's "show context"). Artifacts can be
 * hundreds of megabytes, so each is split into a line-start index once and a few indexes are kept.
 */
import type { Bundle } from '../model/bundle.js';

export interface EvidenceContext {
  artifact: string;
  /** The line asked for (1-based). */
  line: number;
  /** Lines in the artifact. */
  total: number;
  lines: { n: number; text: string }[];
}

interface LineIndex {
  text: string;
  starts: Uint32Array | Float64Array;
  count: number;
}

/** Longest line returned whole; longer ones (a 10 MB single line) are cut. */
const MAX_LINE_CHARS = 2000;

function indexLines(text: string): LineIndex {
  let count = 1;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) count++;
  if (text.endsWith('\n')) count--;
  const starts = text.length < 2 ** 32 ? new Uint32Array(count + 1) : new Float64Array(count + 1);
  let n = 0;
  starts[n++] = 0;
  for (let i = text.indexOf('\n'); i !== -1 && n < count; i = text.indexOf('\n', i + 1)) starts[n++] = i + 1;
  starts[count] = text.endsWith('\n') ? text.length : text.length + 1;
  return { text, starts, count };
}

export class EvidenceReader {
  private readonly cache = new Map<string, LineIndex>();

  constructor(
    private readonly bundle: Bundle,
    private readonly keep = 8,
  ) {}

  private index(artifact: string): LineIndex | undefined {
    const hit = this.cache.get(artifact);
    if (hit) {
      // Most recently used last.
      this.cache.delete(artifact);
      this.cache.set(artifact, hit);
      return hit;
    }
    let text: string | undefined;
    try {
      text = this.bundle.rawText(artifact);
    } catch {
      return undefined;
    }
    if (text === undefined) return undefined;
    const idx = indexLines(text);
    this.cache.set(artifact, idx);
    while (this.cache.size > this.keep) this.cache.delete(this.cache.keys().next().value as string);
    return idx;
  }

  has(artifact: string): boolean {
    return this.index(artifact) !== undefined;
  }

  /** `context` lines before and after `line`; line 0 (the whole artifact) shows its first lines. */
  context(artifact: string, line: number, context = 5): EvidenceContext | undefined {
    const idx = this.index(artifact);
    if (!idx) return undefined;
    const ctx = Math.max(0, Math.min(200, Math.floor(context)));
    const at = Math.max(0, Math.floor(line));
    const from = Math.max(1, (at || 1) - ctx);
    const to = Math.min(idx.count, (at || 1) + ctx);
    const lines: { n: number; text: string }[] = [];
    for (let n = from; n <= to; n++) {
      let t = idx.text.slice(idx.starts[n - 1], idx.starts[n] - 1);
      if (t.endsWith('\r')) t = t.slice(0, -1);
      if (t.length > MAX_LINE_CHARS) t = `${t.slice(0, MAX_LINE_CHARS)}… (${t.length} chars)`;
      lines.push({ n, text: t });
    }
    return { artifact, line: at, total: idx.count, lines };
  }
}
