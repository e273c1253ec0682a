/**
 * Line iteration shared by the text parsers. Handles LF and CRLF, yields 1-based line numbers,
 * and never allocates an array of all lines (a 1,000,000-line dump is iterated in place).
 */
export interface Line {
  /** 1-based */
  no: number;
  text: string;
}

export function* iterLines(text: string): Generator<Line> {
  let start = 0;
  let no = 0;
  const n = text.length;
  while (start < n) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = n;
    let stop = end;
    if (stop > start && text.charCodeAt(stop - 1) === 13) stop--;
    no++;
    yield { no, text: text.slice(start, stop) };
    start = end + 1;
  }
}

/** Call `fn` for every line; faster than the generator on hot paths (no iterator objects). */
export function forEachLine(text: string, fn: (line: string, no: number) => void): void {
  let start = 0;
  let no = 0;
  const n = text.length;
  while (start < n) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = n;
    let stop = end;
    if (stop > start && text.charCodeAt(stop - 1) === 13) stop--;
    no++;
    fn(text.slice(start, stop), no);
    start = end + 1;
  }
}

/** Heuristic used by every parser to refuse binary input with one clear issue instead of thousands. */
export function looksBinary(text: string): boolean {
  const sample = text.slice(0, 8192);
  if (sample.length === 0) return false;
  let bad = 0;
  for (let i = 0; i < sample.length; i++) {
    const c = sample.charCodeAt(i);
    if (c === 0) return true;
    if ((c < 9 || (c > 13 && c < 32)) || c === 0xfffd) bad++;
  }
  return bad / sample.length > 0.1;
}
