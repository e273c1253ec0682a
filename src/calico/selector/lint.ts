/**
 * Selector lint: explains why a selector is rejected and proposes a corrected one for the
 * mistakes operators actually make (`=` for `==`, `AND`/`OR`, `[...]` sets, unquoted values,
 * typographic quotes, `has (x)`, Kubernetes `app=web,tier=db` syntax, trailing newlines from
 * YAML block scalars, ...), and warns about valid selectors that probably do not mean what the
 * author thinks. A lenient parser reads the sloppy text into a real AST; the proposed fix is
 * that AST printed back, and it is only offered when Calico's own grammar accepts it.
 */
import { type SelectorNode, walk } from './ast.js';
import { canonicalOf, prettyOf } from './canonical.js';
import { compileNode, recordGetter } from './compile.js';
import { parseAst } from './parser.js';
import { type SelectorError, isValidLabelKey, tokenize } from './tokenizer.js';

export interface LintResult {
  valid: boolean;
  error?: SelectorError;
  /** What is wrong and how to fix it, in one sentence (invalid selectors only). */
  suggestion?: string;
  /** A corrected selector; always accepted by Calico. */
  fixed?: string;
  /** Doubts about a valid selector (or about the fixed one). */
  warnings: string[];
}

// ---------------------------------------------------------------------------------------------
// Lenient scanner

type LooseKind = 'word' | 'str' | 'op';

interface LooseToken {
  kind: LooseKind;
  /** word text, string contents, or canonical op ('==', '!=', '!', '&&', '||', '(', ')', '{', '}', '[', ']', ',', ':'). */
  value: string;
  pos: number;
  /** Repairs implied by reading this token leniently. */
  notes: string[];
}

const SINGLE_QUOTES = new Set(["'", '\u2018', '\u2019', '\u201a', '\u201b', '\u2032']);
const DOUBLE_QUOTES = new Set(['"', '\u201c', '\u201d', '\u201e', '\u201f', '\u2033']);
const ALL_QUOTES = new Set([...SINGLE_QUOTES, ...DOUBLE_QUOTES, '`']);
const SPECIAL = new Set(['(', ')', '{', '}', '[', ']', ',', ';', '=', '!', '&', '|', '<', '>']);

const NOTE = {
  smartQuotes: 'replace typographic quotes (‘ ’ “ ”) with ASCII quotes',
  backtick: "use ' or \" instead of backticks",
  unterminated: 'add the missing closing quote',
  singleEq: "use '==' for equality ('=' is not a Calico operator)",
  tripleEq: "use '==' (not '===')",
  ltgt: "use '!=' for inequality",
  bangEqEq: "use '!=' (not '!==')",
  amp: "use '&&' for AND",
  pipe: "use '||' for OR",
  trailingNewline:
    "remove the trailing newline (a YAML '|' block scalar keeps it; use '|-', '>-' or a quoted string)",
  leadingNewline: 'remove the leading newline',
  lineBreak: 'put the selector on one line (line breaks are not allowed between tokens)',
  hasSpace: "remove the space between 'has' and '(' (Calico requires 'has(')",
  fnCase: 'function names are lowercase: has(), all(), global()',
  hasQuoted: 'has() takes a bare label key, not a quoted string',
  bracketSet: "sets use braces: in {'a', 'b'}, not [...]",
  parenSet: "sets use braces: in {'a', 'b'}, not (...)",
  setComma: 'separate set values with commas',
  k8sComma: "Kubernetes-style comma lists are not Calico syntax; join terms with '&&'",
  bareLabel: 'a bare label key is Kubernetes syntax; Calico needs has(key)',
  yamlColon: "use 'key == value', not 'key: value'",
  trailingColon: "remove the ':' after the label key (':' is not allowed in keys)",
  bangIn: "use 'not in', not '!in'",
  missingAnd: "join terms with '&&'",
  missingParen: "add the missing ')'",
  semicolon: "join terms with '&&', not ';'",
  danglingOp: "remove the dangling operator at the end",
  doubledEq: "write '==' without a space between the two '='",
} as const;

function otherWs(ch: string): boolean {
  return /^[\s\u00a0\u1680\u2000-\u200b\u2028\u2029\u202f\u205f\u3000\ufeff]$/u.test(ch) && ch !== ' ' && ch !== '\t';
}

class LenientFail extends Error {}

function scanLoose(input: string, notes: string[]): LooseToken[] {
  const toks: LooseToken[] = [];
  const s = input;
  let i = 0;
  const firstContent = s.search(/[^\s\u00a0\u1680\u2000-\u200b\u2028\u2029\u202f\u205f\u3000\ufeff]/u);
  const lastContent = (() => {
    for (let j = s.length - 1; j >= 0; j--) if (!/\s/u.test(s[j]) && !otherWs(s[j])) return j;
    return -1;
  })();
  while (i < s.length) {
    const ch = s[i];
    if (ch === ' ' || ch === '\t') {
      i++;
      continue;
    }
    if (otherWs(ch)) {
      const code = ch.charCodeAt(0);
      const isNewline = ch === '\n' || ch === '\r';
      if (isNewline && (firstContent < 0 || i > lastContent)) notes.push(NOTE.trailingNewline);
      else if (isNewline && i < firstContent) notes.push(NOTE.leadingNewline);
      else if (isNewline) notes.push(NOTE.lineBreak);
      else {
        notes.push(
          `replace U+${code.toString(16).toUpperCase().padStart(4, '0')} with a plain space (only space and tab separate tokens)`,
        );
      }
      i++;
      continue;
    }
    const start = i;
    if (ALL_QUOTES.has(ch)) {
      toks.push(scanString(s, i, (end) => (i = end)));
      continue;
    }
    if (SPECIAL.has(ch)) {
      const rest = s.slice(i);
      const op = (value: string, len: number, ...n: string[]) => {
        toks.push({ kind: 'op', value, pos: start, notes: n });
        i += len;
      };
      if (rest.startsWith('===')) op('==', 3, NOTE.tripleEq);
      else if (rest.startsWith('==')) op('==', 2);
      else if (rest.startsWith('!==')) op('!=', 3, NOTE.bangEqEq);
      else if (rest.startsWith('!=')) op('!=', 2);
      else if (rest.startsWith('<>')) op('!=', 2, NOTE.ltgt);
      else if (rest.startsWith('&&&')) op('&&', 3, NOTE.amp);
      else if (rest.startsWith('&&')) op('&&', 2);
      else if (rest.startsWith('||')) op('||', 2);
      else if (ch === '=') op('==', 1, NOTE.singleEq);
      else if (ch === '&') op('&&', 1, NOTE.amp);
      else if (ch === '|') op('||', 1, NOTE.pipe);
      else if (ch === '<' || ch === '>') throw new LenientFail(`unsupported operator '${ch}'`);
      else op(ch, 1);
      continue;
    }
    // A word: anything up to whitespace, a special character or a quote.
    let j = i;
    while (j < s.length && !SPECIAL.has(s[j]) && !ALL_QUOTES.has(s[j]) && s[j] !== ' ' && s[j] !== '\t' && !otherWs(s[j])) {
      j++;
    }
    let word = s.slice(i, j);
    i = j;
    if (word.length > 1 && word.endsWith(':')) {
      word = word.slice(0, -1);
      toks.push({ kind: 'word', value: word, pos: start, notes: [] });
      toks.push({ kind: 'op', value: ':', pos: start + word.length, notes: [] });
    } else if (word === ':') {
      toks.push({ kind: 'op', value: ':', pos: start, notes: [] });
    } else {
      toks.push({ kind: 'word', value: word, pos: start, notes: [] });
    }
  }
  return toks;
}

/** Reads a string literal leniently starting at the quote at `i`. */
function scanString(s: string, i: number, setEnd: (end: number) => void): LooseToken {
  const open = s[i];
  const notes: string[] = [];
  if (open === '`') notes.push(NOTE.backtick);
  else if (open !== '"' && open !== "'") notes.push(NOTE.smartQuotes);
  const family = open === '`' ? new Set(['`']) : SINGLE_QUOTES.has(open) ? SINGLE_QUOTES : DOUBLE_QUOTES;
  // 1. the same quote family (Calico itself only accepts the identical ASCII character).
  for (let j = i + 1; j < s.length; j++) {
    if (family.has(s[j])) {
      if (s[j] !== open) notes.push(NOTE.smartQuotes);
      setEnd(j + 1);
      return { kind: 'str', value: s.slice(i + 1, j), pos: i, notes: dedupe(notes) };
    }
  }
  // 2. a quote of the other family: `"web'`.
  for (let j = i + 1; j < s.length; j++) {
    if (ALL_QUOTES.has(s[j])) {
      notes.push(`close the string with the quote it opened with (${open}…${s[j]})`);
      setEnd(j + 1);
      return { kind: 'str', value: s.slice(i + 1, j), pos: i, notes };
    }
  }
  // 3. unterminated: take the rest of the word.
  let j = i + 1;
  while (j < s.length && !/[\s)}\],&|]/u.test(s[j])) j++;
  notes.push(NOTE.unterminated);
  setEnd(j);
  return { kind: 'str', value: s.slice(i + 1, j), pos: i, notes };
}

function dedupe<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}

// ---------------------------------------------------------------------------------------------
// Lenient parser

const OP_WORDS_CONTAINS = /^contains$/i;
const KEYWORD_AND = /^and$/i;
const KEYWORD_OR = /^or$/i;
const KEYWORD_NOT = /^not$/i;

class LenientParser {
  private i = 0;
  readonly notes: string[] = [];
  private readonly unquoted: string[] = [];

  constructor(private readonly toks: LooseToken[]) {}

  parse(): SelectorNode {
    if (this.toks.length === 0) return { kind: 'all' };
    const node = this.parseOr(false);
    if (this.i < this.toks.length) throw new LenientFail('trailing tokens');
    if (this.unquoted.length > 0) {
      const shown = dedupe(this.unquoted).slice(0, 3);
      this.notes.push(`quote values: ${shown.map((v) => `${v} → '${v}'`).join(', ')}`);
    }
    return node;
  }

  private peek(off = 0): LooseToken | undefined {
    return this.toks[this.i + off];
  }

  private take(): LooseToken {
    const t = this.toks[this.i++];
    if (!t) throw new LenientFail('unexpected end');
    this.notes.push(...t.notes);
    return t;
  }

  private isOp(t: LooseToken | undefined, v: string): boolean {
    return t !== undefined && t.kind === 'op' && t.value === v;
  }

  private isWord(t: LooseToken | undefined, re: RegExp): boolean {
    return t !== undefined && t.kind === 'word' && re.test(t.value);
  }

  private parseOr(inParens: boolean): SelectorNode {
    const operands = [this.parseAnd(inParens)];
    for (;;) {
      const t = this.peek();
      if ((this.isOp(t, '||') || this.isWord(t, KEYWORD_OR)) && this.peek(1) === undefined) {
        this.i++;
        this.notes.push(NOTE.danglingOp);
        break;
      }
      if (this.isOp(t, '||')) this.take();
      else if (this.isWord(t, KEYWORD_OR)) {
        this.take();
        this.notes.push(`use '||' instead of '${t!.value}'`);
      } else break;
      operands.push(this.parseAnd(inParens));
    }
    return operands.length === 1 ? operands[0] : { kind: 'or', operands };
  }

  /** True when the next token can start an operation (for a missing '&&'). */
  private startsOperation(t: LooseToken | undefined): boolean {
    if (!t) return false;
    if (t.kind === 'word') return !KEYWORD_OR.test(t.value) && !KEYWORD_AND.test(t.value);
    return t.kind === 'op' && (t.value === '!' || t.value === '(');
  }

  private parseAnd(inParens: boolean): SelectorNode {
    const operands = [this.parseUnary(inParens)];
    for (;;) {
      const t = this.peek();
      if ((this.isOp(t, '&&') || this.isWord(t, KEYWORD_AND) || this.isOp(t, ',') || this.isOp(t, ';')) &&
        this.peek(1) === undefined) {
        this.i++;
        this.notes.push(NOTE.danglingOp);
        break;
      }
      if (this.isOp(t, '&&')) this.take();
      else if (this.isOp(t, ';')) {
        this.take();
        this.notes.push(NOTE.semicolon);
      } else if (this.isWord(t, KEYWORD_AND)) {
        this.take();
        this.notes.push(`use '&&' instead of '${t!.value}'`);
      } else if (this.isOp(t, ',')) {
        this.take();
        this.notes.push(NOTE.k8sComma);
      } else if (this.startsOperation(t)) {
        this.notes.push(NOTE.missingAnd);
      } else break;
      operands.push(this.parseUnary(inParens));
    }
    return operands.length === 1 ? operands[0] : { kind: 'and', operands };
  }

  private parseUnary(inParens: boolean): SelectorNode {
    const t = this.peek();
    if (this.isOp(t, '!')) {
      this.take();
      return { kind: 'not', operand: this.parseUnary(inParens) };
    }
    // `not` is negation unless it is a label followed by an operator (`not in {...}`, `not == 'x'`).
    if (this.isWord(t, KEYWORD_NOT) && !this.labelOperatorAt(1)) {
      this.take();
      this.notes.push(`use '!' instead of '${t!.value}'`);
      return { kind: 'not', operand: this.parseUnary(inParens) };
    }
    return this.parsePrimary(inParens);
  }

  /** Whether the token at offset `off` begins an operator that may follow a label. */
  private labelOperatorAt(off: number): boolean {
    const t = this.peek(off);
    if (!t) return false;
    if (t.kind === 'op') return t.value === '==' || t.value === '!=' || t.value === ':';
    if (t.kind !== 'word') return false;
    return /^(in|notin|contains|startswith|endswith|starts|ends)$/i.test(t.value) ||
      (/^not$/i.test(t.value) && this.isWord(this.peek(off + 1), /^in$/i));
  }

  private parsePrimary(inParens: boolean): SelectorNode {
    const t = this.peek();
    if (!t) throw new LenientFail('unexpected end');
    if (this.isOp(t, '(')) {
      this.take();
      const inner = this.parseOr(true);
      if (this.isOp(this.peek(), ')')) this.take();
      else if (this.peek() === undefined) this.notes.push(NOTE.missingParen);
      else throw new LenientFail("expected ')'");
      return inner;
    }
    if (t.kind !== 'word') throw new LenientFail('expected a term');
    const fn = /^(has|exists|all|global)$/i.exec(t.value);
    if (fn && this.isOp(this.peek(1), '(')) {
      const name = fn[1].toLowerCase();
      this.take();
      const paren = this.take();
      if (paren.pos !== t.pos + t.value.length && (name === 'has' || name === 'exists')) this.notes.push(NOTE.hasSpace);
      if (t.value !== name && name !== 'exists') this.notes.push(NOTE.fnCase);
      if (name === 'exists') this.notes.push("use has(key), not exists(key)");
      if (name === 'all' || name === 'global') {
        if (!this.isOp(this.peek(), ')')) throw new LenientFail(`expected ')' after ${name}(`);
        this.take();
        if (paren.pos !== t.pos + t.value.length) this.notes.push(`remove the space between '${name}' and '('`);
        return { kind: name };
      }
      const k = this.take();
      if (k.kind === 'str') this.notes.push(NOTE.hasQuoted);
      else if (k.kind !== 'word') throw new LenientFail('expected a label in has()');
      const label = this.labelKey(k.value);
      if (this.isOp(this.peek(), ')')) this.take();
      else if (this.peek() === undefined) this.notes.push(NOTE.missingParen);
      else throw new LenientFail("expected ')' after has(label");
      return { kind: 'has', label };
    }
    return this.parseLabelTerm(inParens);
  }

  private labelKey(raw: string): string {
    if (!isValidLabelKey(raw)) throw new LenientFail(`invalid label key ${raw}`);
    return raw;
  }

  private parseLabelTerm(inParens: boolean): SelectorNode {
    const w = this.take();
    // `key:value` written as one word (YAML habit).
    const colon = w.value.indexOf(':');
    if (colon > 0 && colon < w.value.length - 1 && !this.labelOperatorAt(0)) {
      this.notes.push(NOTE.yamlColon);
      return { kind: 'eq', label: this.labelKey(w.value.slice(0, colon)), value: w.value.slice(colon + 1) };
    }
    const label = this.labelKey(w.value);
    let t = this.peek();
    if (this.isOp(t, ':')) {
      this.take();
      const after = this.peek();
      if (this.labelOperatorAt(0)) {
        this.notes.push(NOTE.trailingColon);
        t = after;
      } else {
        this.notes.push(NOTE.yamlColon);
        return { kind: 'eq', label, value: this.value() };
      }
    }
    if (this.isOp(t, '==')) {
      this.take();
      if (this.isOp(this.peek(), '==') && this.peek()!.notes.includes(NOTE.singleEq)) {
        // `a = = "b"`: the first '=' was already read as '=='.
        this.take();
        this.notes.push(NOTE.doubledEq);
      }
      return { kind: 'eq', label, value: this.value() };
    }
    if (this.isOp(t, '!=')) {
      this.take();
      return { kind: 'ne', label, value: this.value() };
    }
    if (this.isOp(t, '!') && this.isWord(this.peek(1), /^in$/i)) {
      this.take();
      this.take();
      this.notes.push(NOTE.bangIn);
      return { kind: 'notIn', label, values: this.setLiteral() };
    }
    if (t?.kind === 'word') {
      const v = t.value;
      const lower = v.toLowerCase();
      const caseNote = () => {
        if (v !== lower) this.notes.push(`operators are lowercase: '${lower}', not '${v}'`);
      };
      if (OP_WORDS_CONTAINS.test(v)) {
        this.take();
        caseNote();
        return { kind: 'contains', label, value: this.value() };
      }
      if (/^(startswith|endswith)$/i.test(v)) {
        this.take();
        caseNote();
        return { kind: lower === 'startswith' ? 'startsWith' : 'endsWith', label, value: this.value() };
      }
      if (/^(starts|ends)$/i.test(v) && this.isWord(this.peek(1), /^with$/i)) {
        this.take();
        const w2 = this.take();
        if (v !== lower || w2.value !== 'with') this.notes.push(`operators are lowercase: '${lower} with'`);
        return { kind: lower === 'starts' ? 'startsWith' : 'endsWith', label, value: this.value() };
      }
      if (/^in$/i.test(v)) {
        this.take();
        caseNote();
        return { kind: 'in', label, values: this.setLiteral() };
      }
      if (/^notin$/i.test(v)) {
        this.take();
        if (v !== 'notin') this.notes.push(`operators are lowercase: 'not in', not '${v}'`);
        return { kind: 'notIn', label, values: this.setLiteral() };
      }
      if (/^not$/i.test(v) && this.isWord(this.peek(1), /^in$/i)) {
        this.take();
        const w2 = this.take();
        if (v !== 'not' || w2.value !== 'in') this.notes.push(`operators are lowercase: 'not in', not '${v} ${w2.value}'`);
        return { kind: 'notIn', label, values: this.setLiteral() };
      }
    }
    // Nothing operator-like follows: Kubernetes existence syntax (`app`, `!app`).
    const next = this.peek();
    const ends =
      next === undefined ||
      this.isOp(next, ')') ||
      this.isOp(next, '&&') ||
      this.isOp(next, '||') ||
      this.isOp(next, ',') ||
      this.isWord(next, KEYWORD_AND) ||
      this.isWord(next, KEYWORD_OR);
    if (ends && (inParens || !this.isOp(next, ')'))) {
      this.notes.push(NOTE.bareLabel);
      return { kind: 'has', label };
    }
    throw new LenientFail(`no operator after ${label}`);
  }

  private value(): string {
    const t = this.take();
    if (t.kind === 'str') return t.value;
    if (t.kind === 'word' && !KEYWORD_AND.test(t.value) && !KEYWORD_OR.test(t.value)) {
      this.unquoted.push(t.value);
      return t.value;
    }
    throw new LenientFail('expected a value');
  }

  private setLiteral(): string[] {
    const open = this.take();
    if (open.kind !== 'op' || (open.value !== '{' && open.value !== '[' && open.value !== '(')) {
      // `a in 'x'` / `a in x`: a single value.
      if (open.kind === 'str' || open.kind === 'word') {
        this.notes.push("wrap set values in braces: in {'a'}");
        if (open.kind === 'word') this.unquoted.push(open.value);
        return [open.value];
      }
      throw new LenientFail('expected a set');
    }
    if (open.value === '[') this.notes.push(NOTE.bracketSet);
    if (open.value === '(') this.notes.push(NOTE.parenSet);
    const values: string[] = [];
    for (;;) {
      const t = this.peek();
      if (t === undefined) throw new LenientFail('unterminated set');
      if (t.kind === 'op' && (t.value === '}' || t.value === ']' || t.value === ')')) {
        this.take();
        return values;
      }
      if (t.kind === 'op' && t.value === ',') {
        this.take();
        continue;
      }
      const v = this.take();
      if (v.kind === 'str') values.push(v.value);
      else if (v.kind === 'word') {
        this.unquoted.push(v.value);
        values.push(v.value);
      } else throw new LenientFail('bad set element');
      const after = this.peek();
      if (after && (after.kind === 'str' || after.kind === 'word')) this.notes.push(NOTE.setComma);
    }
  }
}

/** Reads sloppy selector text; returns the repaired AST and what was repaired, or undefined. */
export function lenientParse(expr: string): { ast: SelectorNode; notes: string[] } | undefined {
  const notes: string[] = [];
  try {
    const toks = scanLoose(expr, notes);
    const p = new LenientParser(toks);
    const ast = p.parse();
    return { ast, notes: dedupe([...notes, ...p.notes]) };
  } catch (e) {
    if (e instanceof LenientFail || e instanceof RangeError) return undefined;
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// Lint

/** Hints for errors the lenient parser cannot repair. */
function genericHint(expr: string, err: SelectorError): string | undefined {
  const at = expr.slice(err.position, err.position + 1);
  if (err.message.startsWith('label too long')) return 'label keys are limited to 512 characters';
  if (err.message.startsWith('expected identifier') && at !== '' && /[^\x20-\x7e]/u.test(at)) {
    return "label keys may only contain ASCII letters, digits, '_', '.', '/' and '-'";
  }
  if (at === ':') return "':' is not allowed in label keys (only letters, digits, '_', '.', '/', '-')";
  if (err.message === 'unterminated string') return 'close the string with the same quote character it opened with';
  if (err.message.includes('nested too deeply')) return undefined;
  return "valid forms: key == 'v', key != 'v', key in {'a', 'b'}, key not in {...}, has(key), " +
    "key contains/starts with/ends with 'v', all(), !term, (a && b), a || b";
}

export function lintSelector(expr: string): LintResult {
  const parsed = parseAst(expr);
  if (parsed.ok) return { valid: true, warnings: selectorWarnings(expr, parsed.ast) };
  const result: LintResult = { valid: false, error: parsed.error, warnings: [] };
  // Whitespace-only problems (YAML newlines, NBSP): keep the author's text otherwise untouched.
  const wsFixed = normaliseWhitespace(expr);
  if (wsFixed !== expr && parseAst(wsFixed).ok) {
    const notes: string[] = [];
    try {
      scanLoose(expr, notes);
    } catch {
      // only the whitespace notes matter here
    }
    const wsNotes = dedupe(notes);
    if (wsNotes.length > 0) {
      const check = parseAst(wsFixed);
      result.fixed = wsFixed;
      result.suggestion = `${capitalise(wsNotes.join('; '))}: ${wsFixed}`;
      if (check.ok) result.warnings = selectorWarnings(wsFixed, check.ast);
      return result;
    }
  }
  // The lenient reader is for selector-sized text; skip it for huge inputs.
  const lenient = expr.length <= 10_000 ? lenientParse(expr) : undefined;
  if (lenient && lenient.notes.length > 0) {
    const fixed = prettyOf(lenient.ast);
    const check = parseAst(fixed);
    if (check.ok) {
      result.fixed = fixed;
      result.suggestion = `${capitalise(lenient.notes.join('; '))}: ${fixed}`;
      result.warnings = selectorWarnings(fixed, check.ast);
      return result;
    }
  }
  const hint = genericHint(expr, parsed.error);
  if (hint) result.suggestion = capitalise(hint);
  return result;
}

/** Replaces non-space/tab whitespace outside string literals with single spaces and trims. */
function normaliseWhitespace(expr: string): string {
  let out = '';
  let quote = '';
  let afterBreak = false;
  for (const ch of expr) {
    if (quote !== '') {
      out += ch;
      if (ch === quote) quote = '';
      continue;
    }
    if (otherWs(ch) || ((ch === ' ' || ch === '\t') && afterBreak)) {
      // one space replaces a line break together with the indentation around it
      if (!out.endsWith(' ')) out += ' ';
      afterBreak = true;
      continue;
    }
    afterBreak = false;
    if (ch === '"' || ch === "'") quote = ch;
    out += ch;
  }
  return out.trim();
}

function capitalise(s: string): string {
  return s.length > 0 ? s[0].toUpperCase() + s.slice(1) : s;
}

const K8S_NAME = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Kubernetes label key syntax: [prefix/]name, prefix a DNS subdomain ≤ 253, name ≤ 63. */
export function isKubernetesLabelKey(key: string): boolean {
  const slash = key.indexOf('/');
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (slash >= 0) {
    const prefix = key.slice(0, slash);
    if (prefix.length === 0 || prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix)) return false;
  }
  return name.length > 0 && name.length <= 63 && K8S_NAME.test(name);
}

/** Kubernetes label value syntax: empty, or ≤ 63 chars of [-A-Za-z0-9_.] starting/ending alphanumeric. */
export function isKubernetesLabelValue(v: string): boolean {
  return v === '' || (v.length <= 63 && K8S_NAME.test(v));
}

/** Warnings for a selector Calico accepts. */
export function selectorWarnings(expr: string, ast: SelectorNode): string[] {
  const warnings: string[] = [];
  const seen = new Set<string>();
  const warn = (w: string) => {
    if (!seen.has(w)) {
      seen.add(w);
      warnings.push(w);
    }
  };
  walk(ast, (n, _path, negated) => {
    switch (n.kind) {
      case 'global':
        warn('global() matches every endpoint in a plain selector; it only means "non-namespaced" inside a namespaceSelector');
        break;
      case 'ne':
        if (!negated) {
          warn(`${n.label} != '${n.value}' also matches endpoints that have no ${n.label} label; use has(${n.label}) && ${n.label} != '${n.value}' if that is not intended`);
        }
        break;
      case 'notIn':
        if (n.values.length === 0) warn(`${n.label} not in {} matches every endpoint`);
        else if (!negated) {
          warn(`${n.label} not in {...} also matches endpoints that have no ${n.label} label`);
        }
        break;
      case 'in':
        if (n.values.length === 0) warn(`${n.label} in {} never matches anything`);
        break;
      default:
        break;
    }
    if (n.kind === 'has' || n.kind === 'eq' || n.kind === 'ne' || n.kind === 'in' || n.kind === 'notIn' ||
      n.kind === 'contains' || n.kind === 'startsWith' || n.kind === 'endsWith') {
      if (!isKubernetesLabelKey(n.label)) {
        warn(`'${n.label}' is not a valid Kubernetes label key, so no pod or namespace label can match it`);
      }
    }
    if (n.kind === 'eq' || n.kind === 'ne' || n.kind === 'in' || n.kind === 'notIn') {
      const values = 'values' in n ? n.values : [n.value];
      for (const v of values) {
        if (v !== v.trim()) warn(`value '${v}' has leading or trailing whitespace`);
        else if (/[\u2018\u2019\u201c\u201d]/u.test(v)) warn(`value '${v}' contains typographic quotes`);
        else if (!isKubernetesLabelValue(v)) {
          warn(`'${v}' is not a valid Kubernetes label value, so no pod or namespace label can equal it`);
        }
      }
    }
    if (n.kind === 'and' && !negated) {
      const c = contradiction(n.operands);
      if (c) warn(`can never match: ${c}`);
    }
  });
  // `!a == "x"` reads like (!a) == "x" but negates the whole comparison.
  const tok = tokenize(expr);
  if (tok.ok) {
    for (let i = 0; i + 1 < tok.tokens.length; i++) {
      const a = tok.tokens[i];
      const b = tok.tokens[i + 1];
      const c = tok.tokens[i + 2];
      if (a.kind === 'not' && b.kind === 'label' && c && c.kind !== 'lparen') {
        warn(`'!${b.value} …' negates the whole comparison: it means !(${b.value} …), which also matches endpoints without ${b.value}`);
        break;
      }
    }
  }
  return warnings;
}

/** A description of why the conjunction can never hold, from eq/in/has facts on one label. */
function contradiction(operands: readonly SelectorNode[]): string | undefined {
  const allowed = new Map<string, Set<string>>();
  const present = new Set<string>();
  const absent = new Set<string>();
  for (const o of operands) {
    let values: string[] | undefined;
    if (o.kind === 'eq') values = [o.value];
    else if (o.kind === 'in') values = o.values;
    if (o.kind === 'eq' || o.kind === 'in' || o.kind === 'has' || o.kind === 'contains' ||
      o.kind === 'startsWith' || o.kind === 'endsWith') present.add(o.label);
    if (o.kind === 'not' && o.operand.kind === 'has') absent.add(o.operand.label);
    if (values && (o.kind === 'eq' || o.kind === 'in')) {
      const prev = allowed.get(o.label);
      const next = prev ? new Set(values.filter((v) => prev.has(v))) : new Set(values);
      allowed.set(o.label, next);
      if (next.size === 0) return `${o.label} cannot take all the required values at once`;
    }
  }
  for (const k of present) if (absent.has(k)) return `${k} must be both present and absent`;
  return undefined;
}

export interface CheckSelectorOutput {
  valid: boolean;
  canonical?: string;
  match?: boolean | null;
  error?: SelectorError;
  suggestion?: string;
}

/**
 * What `caliscope selector check` prints: `{"valid":true,"canonical":…,"match":true|false|null}`
 * or `{"valid":false,"error":{"message":…,"position":N},"suggestion":…}` (suggestion omitted
 * when there is none). Keys are created in print order.
 */
export function checkSelector(expr: string, labels?: Record<string, string>): CheckSelectorOutput {
  const parsed = parseAst(expr);
  if (parsed.ok) {
    const canonical = canonicalOf(parsed.ast);
    const match = labels === undefined ? null : evaluateOnce(parsed.ast, labels);
    return { valid: true, canonical, match };
  }
  const lint = lintSelector(expr);
  const out: CheckSelectorOutput = {
    valid: false,
    error: { message: parsed.error.message, position: parsed.error.position },
  };
  if (lint.suggestion !== undefined) out.suggestion = lint.suggestion;
  return out;
}

function evaluateOnce(ast: SelectorNode, labels: Record<string, string>): boolean {
  return compileNode(ast)(recordGetter(labels));
}
