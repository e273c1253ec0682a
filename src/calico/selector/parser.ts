/**
 * Recursive-descent parser with the grammar and tree shape of Calico's
 * libcalico-go/lib/selector/parser/parser.go (re-implemented):
 *   or_expr  := and_expr ("||" and_expr)*      -- one operand is returned unwrapped
 *   and_expr := operation ("&&" operation)*
 *   operation:= "!"* primary                   -- an odd number of "!" wraps in one NotNode
 *   primary  := has(l) | all() | global() | "(" or_expr ")"
 *             | l (== | != | contains | starts with | ends with) STRING
 *             | l (in | not in) "{" [STRING ("," STRING)* [","]] "}"
 * Parentheses produce no node of their own, so `!(!a == "x")` is NOT(NOT(a == "x")), which
 * Calico prints as `!!a == "x"` (not the same string as `a == "x"`).
 */
import { type CompareOp, type SelectorNode, toStringSet } from './ast.js';
import { type SelectorError, type Token, type TokenKind, tokenize } from './tokenizer.js';

export type ParseAstResult = { ok: true; ast: SelectorNode } | { ok: false; error: SelectorError };

const COMPARE_OPS: Partial<Record<TokenKind, CompareOp>> = {
  eq: 'eq',
  ne: 'ne',
  contains: 'contains',
  startsWith: 'startsWith',
  endsWith: 'endsWith',
};

const TOKEN_TEXT: Record<TokenKind, string> = {
  label: 'label',
  string: 'string',
  lbrace: "'{'",
  rbrace: "'}'",
  comma: "','",
  eq: "'=='",
  ne: "'!='",
  in: "'in'",
  not: "'!'",
  notIn: "'not in'",
  contains: "'contains'",
  startsWith: "'starts with'",
  endsWith: "'ends with'",
  all: "'all()'",
  has: "'has()'",
  lparen: "'('",
  rparen: "')'",
  and: "'&&'",
  or: "'||'",
  global: "'global()'",
  eof: 'end of selector',
};

export function describeToken(t: Token): string {
  if (t.kind === 'label') return `label "${t.value}"`;
  if (t.kind === 'string') return `string "${t.value}"`;
  return TOKEN_TEXT[t.kind];
}

class ParseFailure {
  constructor(readonly error: SelectorError) {}
}

class Parser {
  private i = 0;
  constructor(private readonly toks: Token[]) {}

  private fail(message: string, tok: Token = this.toks[this.i]): never {
    throw new ParseFailure({ message, position: tok.pos });
  }

  private peek(): Token {
    return this.toks[this.i];
  }

  parseRoot(): SelectorNode {
    if (this.peek().kind === 'eof') return { kind: 'all' };
    const node = this.parseOr();
    const t = this.peek();
    if (t.kind !== 'eof') {
      this.fail(`unexpected ${describeToken(t)} at end of selector (missing '&&' or '||'?)`, t);
    }
    return node;
  }

  private parseOr(): SelectorNode {
    const operands = [this.parseAnd()];
    while (this.peek().kind === 'or') {
      this.i++;
      operands.push(this.parseAnd());
    }
    return operands.length === 1 ? operands[0] : { kind: 'or', operands };
  }

  private parseAnd(): SelectorNode {
    const operands = [this.parseOperation()];
    while (this.peek().kind === 'and') {
      this.i++;
      operands.push(this.parseOperation());
    }
    return operands.length === 1 ? operands[0] : { kind: 'and', operands };
  }

  private parseOperation(): SelectorNode {
    let negated = false;
    while (this.peek().kind === 'not') {
      negated = !negated;
      this.i++;
    }
    const node = this.parsePrimary();
    return negated ? { kind: 'not', operand: node } : node;
  }

  private parsePrimary(): SelectorNode {
    const t = this.peek();
    switch (t.kind) {
      case 'has':
        this.i++;
        return { kind: 'has', label: t.value };
      case 'all':
        this.i++;
        return { kind: 'all' };
      case 'global':
        this.i++;
        return { kind: 'global' };
      case 'lparen': {
        this.i++;
        const inner = this.parseOr();
        const close = this.peek();
        if (close.kind !== 'rparen') this.fail(`expected ')', found ${describeToken(close)}`, close);
        this.i++;
        return inner;
      }
      case 'label':
        return this.parseLabelOp(t);
      default:
        return this.fail(`unexpected ${describeToken(t)}, expected a label, has(), all(), global(), '!' or '('`, t);
    }
  }

  private parseLabelOp(labelTok: Token): SelectorNode {
    const op = this.toks[this.i + 1];
    const label = labelTok.value;
    const cmp = COMPARE_OPS[op.kind];
    if (cmp !== undefined) {
      const rhs = this.toks[this.i + 2];
      if (rhs === undefined || rhs.kind !== 'string') {
        this.fail(
          `expected a quoted string after ${describeToken(op)}, found ${rhs ? describeToken(rhs) : 'end of selector'}`,
          rhs ?? op,
        );
      }
      this.i += 3;
      return { kind: cmp, label, value: rhs.value };
    }
    if (op.kind === 'in' || op.kind === 'notIn') {
      const open = this.toks[this.i + 2];
      if (open === undefined || open.kind !== 'lbrace') {
        this.fail(
          `expected set literal '{...}' after ${describeToken(op)}, found ${open ? describeToken(open) : 'end of selector'}`,
          open ?? op,
        );
      }
      this.i += 3;
      const values: string[] = [];
      while (this.peek().kind === 'string') {
        values.push(this.peek().value);
        this.i++;
        if (this.peek().kind === 'comma') this.i++;
        else break;
      }
      const close = this.peek();
      if (close.kind !== 'rbrace') this.fail(`expected '}' or a quoted string in set, found ${describeToken(close)}`, close);
      this.i++;
      return { kind: op.kind, label, values: toStringSet(values) };
    }
    return this.fail(`expected an operator after label "${label}", found ${describeToken(op)}`, op);
  }
}

/** Parses a selector into its AST, or returns the first error. Never throws. */
export function parseAst(expr: string): ParseAstResult {
  const tok = tokenize(expr);
  if (!tok.ok) return tok;
  try {
    return { ok: true, ast: new Parser(tok.tokens).parseRoot() };
  } catch (e) {
    if (e instanceof ParseFailure) return { ok: false, error: e.error };
    // Deeply nested input can overflow the stack; report it instead of throwing.
    if (e instanceof RangeError) return { ok: false, error: { message: 'selector nested too deeply', position: 0 } };
    throw e;
  }
}
