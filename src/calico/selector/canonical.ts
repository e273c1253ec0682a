/**
 * Calico's canonical selector string (`Selector.String()`, collectFragments in
 * libcalico-go/lib/selector/parser/ast.go) and unique ID (hash.MakeUniqueID("s", …)).
 * The canonical string is what Felix hashes into IP set names, so it must be byte-exact.
 */
import { createHash } from 'node:crypto';
import type { SelectorNode } from './ast.js';

const OP_TEXT = {
  eq: ' == ',
  ne: ' != ',
  contains: ' contains ',
  startsWith: ' starts with ',
  endsWith: ' ends with ',
} as const;

/** Calico quotes with `"` unless the value itself contains `"`. */
function quoteCanonical(v: string): string {
  return v.includes('"') ? `'${v}'` : `"${v}"`;
}

export function canonicalOf(node: SelectorNode): string {
  const out: string[] = [];
  emit(node, out);
  return out.join('');
}

function emit(node: SelectorNode, out: string[]): void {
  switch (node.kind) {
    case 'all':
      out.push('all()');
      return;
    case 'global':
      out.push('global()');
      return;
    case 'has':
      out.push('has(', node.label, ')');
      return;
    case 'in':
    case 'notIn':
      out.push(node.label, node.kind === 'in' ? ' in {' : ' not in {', node.values.map(quoteCanonical).join(', '), '}');
      return;
    case 'not':
      out.push('!');
      emit(node.operand, out);
      return;
    case 'and':
    case 'or': {
      const sep = node.kind === 'and' ? ' && ' : ' || ';
      out.push('(');
      node.operands.forEach((o, i) => {
        if (i > 0) out.push(sep);
        emit(o, out);
      });
      out.push(')');
      return;
    }
    default:
      out.push(node.label, OP_TEXT[node.kind], quoteCanonical(node.value));
  }
}

/** base64url without padding, as Go's base64.RawURLEncoding. */
export function base64UrlNoPad(buf: Uint8Array): string {
  return Buffer.from(buf).toString('base64url');
}

/** hash.MakeUniqueID: `<prefix>:` + base64url_nopad(SHA-224(`<prefix>:<content>`)). */
export function makeUniqueId(prefix: string, content: string): string {
  const digest = createHash('sha224').update(`${prefix}:${content}`, 'utf8').digest();
  return `${prefix}:${base64UrlNoPad(digest)}`;
}

/** The selector's unique ID (also its IP set ID in Felix). */
export function selectorUid(canonical: string): string {
  return makeUniqueId('s', canonical);
}

/**
 * Human-facing rendering for suggestions: single quotes (the usual YAML style), no redundant
 * outer parentheses, `!(...)` around negated comparisons. Not Calico's canonical form, but it
 * parses to an equivalent selector.
 */
export function prettyOf(node: SelectorNode): string {
  return pretty(node, 0);
}

function quotePretty(v: string): string {
  return v.includes("'") ? `"${v}"` : `'${v}'`;
}

/** prec: 0 top/or-operand, 1 and-operand, 2 not-operand. */
function pretty(node: SelectorNode, prec: number): string {
  switch (node.kind) {
    case 'all':
      return 'all()';
    case 'global':
      return 'global()';
    case 'has':
      return `has(${node.label})`;
    case 'in':
    case 'notIn':
      return `${node.label} ${node.kind === 'in' ? 'in' : 'not in'} {${node.values.map(quotePretty).join(', ')}}`;
    case 'not': {
      const o = node.operand;
      const simple = o.kind === 'has' || o.kind === 'all' || o.kind === 'global' || o.kind === 'not';
      return simple ? `!${pretty(o, 2)}` : `!(${pretty(o, 0)})`;
    }
    case 'and': {
      const s = node.operands.map((o) => pretty(o, 1)).join(' && ');
      return prec >= 1 ? `(${s})` : s;
    }
    case 'or': {
      const s = node.operands.map((o) => pretty(o, 0)).join(' || ');
      return prec >= 1 ? `(${s})` : s;
    }
    default:
      return `${node.label}${OP_TEXT[node.kind]}${quotePretty(node.value)}`;
  }
}
