/**
 * Tokenizer with the exact acceptance rules of Calico's
 * libcalico-go/lib/selector/tokenizer/tokenizer.go (re-implemented, not copied):
 * - only space and tab are whitespace; anything else unexpected is an error;
 * - string literals run to the next identical quote, no escapes;
 * - operator words (`contains`, `starts with`, `ends with`, `not in`, `in`) are recognised only
 *   directly after a label, multi-word ones with any (or no) space/tab between the words;
 * - `has(`, `all(`, `global(` are recognised only when not directly after a label;
 * - label keys are `[A-Za-z0-9_./-]{1,512}`.
 * Positions are 0-based offsets into the JS string (UTF-16 code units).
 */

export type TokenKind =
  | 'label'
  | 'string'
  | 'lbrace'
  | 'rbrace'
  | 'comma'
  | 'eq'
  | 'ne'
  | 'in'
  | 'not'
  | 'notIn'
  | 'contains'
  | 'startsWith'
  | 'endsWith'
  | 'all'
  | 'has'
  | 'lparen'
  | 'rparen'
  | 'and'
  | 'or'
  | 'global'
  | 'eof';

export interface Token {
  kind: TokenKind;
  /** Label name, string literal contents, or the `has(...)` label. */
  value: string;
  /** Offset of the token's first character. */
  pos: number;
}

export interface SelectorError {
  message: string;
  /** 0-based character offset where parsing failed. */
  position: number;
}

export type TokenizeResult = { ok: true; tokens: Token[] } | { ok: false; error: SelectorError };

export const MAX_LABEL_LENGTH = 512;

export function isIdentChar(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) || // a-z
    (c >= 0x41 && c <= 0x5a) || // A-Z
    (c >= 0x30 && c <= 0x39) || // 0-9
    c === 0x5f || // _
    c === 0x2e || // .
    c === 0x2f || // /
    c === 0x2d // -
  );
}

function skipWs(s: string, i: number): number {
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09) break;
    i++;
  }
  return i;
}

function identEnd(s: string, i: number): number {
  while (i < s.length && isIdentChar(s.charCodeAt(i))) i++;
  return i;
}

/** True when position i is end of input or a non-identifier character. */
function wordBoundary(s: string, i: number): boolean {
  return i >= s.length || !isIdentChar(s.charCodeAt(i));
}

/** Matches `words` separated by optional whitespace at i; returns the end offset or -1. */
function matchWords(s: string, i: number, words: readonly string[]): number {
  let j = i;
  for (const w of words) {
    if (!s.startsWith(w, j)) return -1;
    j = skipWs(s, j + w.length);
  }
  // Trailing whitespace was skipped above; Calico checks the boundary after it, which is
  // equivalent to checking right after the last word (whitespace is a boundary).
  return wordBoundary(s, j) ? j : -1;
}

const OPERATOR_WORDS: ReadonlyArray<[TokenKind, readonly string[]]> = [
  ['contains', ['contains']],
  ['startsWith', ['starts', 'with']],
  ['endsWith', ['ends', 'with']],
  ['notIn', ['not', 'in']],
  ['in', ['in']],
];

/** True when `label` is a syntactically valid selector label key. */
export function isValidLabelKey(label: string): boolean {
  return label.length > 0 && label.length <= MAX_LABEL_LENGTH && identEnd(label, 0) === label.length;
}

function cutIdentifier(s: string, i: number): { ok: true; end: number } | { ok: false; error: SelectorError } {
  const end = identEnd(s, i);
  if (end === i) {
    return { ok: false, error: { message: describeUnexpected(s, i, 'expected identifier'), position: i } };
  }
  if (end - i > MAX_LABEL_LENGTH) {
    return {
      ok: false,
      error: { message: `label too long (${end - i} characters, maximum ${MAX_LABEL_LENGTH})`, position: i },
    };
  }
  return { ok: true, end };
}

function describeUnexpected(s: string, i: number, base: string): string {
  if (i >= s.length) return `${base}, found end of selector`;
  const cp = s.codePointAt(i)!;
  const ch = String.fromCodePoint(cp);
  const printable = cp >= 0x21 && cp < 0x7f ? `'${ch}'` : `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
  return `${base}, found ${printable}`;
}

export function tokenize(input: string): TokenizeResult {
  const tokens: Token[] = [];
  const s = input;
  let i = 0;
  const fail = (message: string, position: number): TokenizeResult => ({ ok: false, error: { message, position } });
  for (;;) {
    i = skipWs(s, i);
    if (i >= s.length) {
      tokens.push({ kind: 'eof', value: '', pos: s.length });
      return { ok: true, tokens };
    }
    const start = i;
    const c = s[i];
    const lastKind = tokens.length > 0 ? tokens[tokens.length - 1].kind : undefined;
    switch (c) {
      case '(':
        tokens.push({ kind: 'lparen', value: '', pos: start });
        i++;
        continue;
      case ')':
        tokens.push({ kind: 'rparen', value: '', pos: start });
        i++;
        continue;
      case '{':
        tokens.push({ kind: 'lbrace', value: '', pos: start });
        i++;
        continue;
      case '}':
        tokens.push({ kind: 'rbrace', value: '', pos: start });
        i++;
        continue;
      case ',':
        tokens.push({ kind: 'comma', value: '', pos: start });
        i++;
        continue;
      case '"':
      case "'": {
        const close = s.indexOf(c, i + 1);
        if (close < 0) return fail('unterminated string', start);
        tokens.push({ kind: 'string', value: s.slice(i + 1, close), pos: start });
        i = close + 1;
        continue;
      }
      case '=':
        if (s.startsWith('==', i)) {
          tokens.push({ kind: 'eq', value: '', pos: start });
          i += 2;
          continue;
        }
        return fail("expected '==' ('=' alone is not an operator)", start);
      case '!':
        if (s.startsWith('!=', i)) {
          tokens.push({ kind: 'ne', value: '', pos: start });
          i += 2;
        } else {
          tokens.push({ kind: 'not', value: '', pos: start });
          i++;
        }
        continue;
      case '&':
        if (s.startsWith('&&', i)) {
          tokens.push({ kind: 'and', value: '', pos: start });
          i += 2;
          continue;
        }
        return fail("expected '&&'", start);
      case '|':
        if (s.startsWith('||', i)) {
          tokens.push({ kind: 'or', value: '', pos: start });
          i += 2;
          continue;
        }
        return fail("expected '||'", start);
      default:
        break;
    }
    if (lastKind === 'label') {
      let matched = false;
      for (const [kind, words] of OPERATOR_WORDS) {
        const end = matchWords(s, i, words);
        if (end >= 0) {
          tokens.push({ kind, value: '', pos: start });
          i = end;
          matched = true;
          break;
        }
      }
      if (matched) continue;
      return fail(
        `expected operator after label "${tokens[tokens.length - 1].value}" (==, !=, in, not in, contains, starts with, ends with)`,
        start,
      );
    }
    if (s.startsWith('has(', i)) {
      const idStart = skipWs(s, i + 4);
      const id = cutIdentifier(s, idStart);
      if (!id.ok) return { ok: false, error: id.error };
      const after = skipWs(s, id.end);
      if (s[after] !== ')') return fail("no closing ')' after has(", after);
      tokens.push({ kind: 'has', value: s.slice(idStart, id.end), pos: start });
      i = after + 1;
      continue;
    }
    if (s.startsWith('all(', i) || s.startsWith('global(', i)) {
      const isAll = s[i] === 'a';
      const after = skipWs(s, i + (isAll ? 4 : 7));
      if (s[after] !== ')') return fail(`no closing ')' after ${isAll ? 'all' : 'global'}(`, after);
      tokens.push({ kind: isAll ? 'all' : 'global', value: '', pos: start });
      i = after + 1;
      continue;
    }
    const id = cutIdentifier(s, i);
    if (!id.ok) return { ok: false, error: id.error };
    tokens.push({ kind: 'label', value: s.slice(i, id.end), pos: start });
    i = id.end;
  }
}
