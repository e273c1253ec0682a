/**
 * AST of a Calico label selector, mirroring the node types of
 * libcalico-go/lib/selector/parser/ast.go (one node kind per Go node type).
 */

/** Comparison operators whose right-hand side is one string. */
export type CompareOp = 'eq' | 'ne' | 'contains' | 'startsWith' | 'endsWith';
/** Set-membership operators. */
export type SetOp = 'in' | 'notIn';

export interface CompareNode {
  kind: CompareOp;
  label: string;
  value: string;
}

export interface SetNode {
  kind: SetOp;
  label: string;
  /** Sorted by code point (= Go byte order) and de-duplicated, as Calico's StringSet. */
  values: string[];
}

export interface HasNode {
  kind: 'has';
  label: string;
}

export interface AllNode {
  kind: 'all';
}

export interface GlobalNode {
  kind: 'global';
}

export interface NotNode {
  kind: 'not';
  operand: SelectorNode;
}

export interface AndNode {
  kind: 'and';
  /** Always 2 or more: the parser returns a lone operand unwrapped. */
  operands: SelectorNode[];
}

export interface OrNode {
  kind: 'or';
  operands: SelectorNode[];
}

export type LeafNode = CompareNode | SetNode | HasNode | AllNode | GlobalNode;
export type SelectorNode = LeafNode | NotNode | AndNode | OrNode;

/** Leaf kinds that name a label. */
export type LabelNode = CompareNode | SetNode | HasNode;

export function isLabelNode(n: SelectorNode): n is LabelNode {
  return n.kind !== 'all' && n.kind !== 'global' && n.kind !== 'not' && n.kind !== 'and' && n.kind !== 'or';
}

/**
 * Go compares strings byte-wise (UTF-8), which equals code-point order. JS `<` compares UTF-16
 * code units, which differs only between astral characters and U+E000..U+FFFF; so compare by
 * code point to sort set literals exactly as Calico does.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (ca === cb) continue;
    const surA = ca >= 0xd800 && ca <= 0xdfff;
    const surB = cb >= 0xd800 && cb <= 0xdfff;
    if (surA !== surB) return surA ? 1 : -1; // a surrogate encodes a code point > U+FFFF
    return ca - cb;
  }
  return a.length - b.length;
}

/** Calico's ConvertToStringSetInPlace: sort (byte order) and drop duplicates. */
export function toStringSet(values: readonly string[]): string[] {
  const sorted = [...values].sort(compareCodePoints);
  const out: string[] = [];
  for (const v of sorted) if (out.length === 0 || out[out.length - 1] !== v) out.push(v);
  return out;
}

/** Every label key the selector references (in first-seen order). */
export function collectLabelKeys(node: SelectorNode, into: Set<string> = new Set()): Set<string> {
  switch (node.kind) {
    case 'all':
    case 'global':
      break;
    case 'not':
      collectLabelKeys(node.operand, into);
      break;
    case 'and':
    case 'or':
      for (const o of node.operands) collectLabelKeys(o, into);
      break;
    default:
      into.add(node.label);
  }
  return into;
}

/** A copy of the AST with `fn` applied to every label key (Calico's PrefixVisitor generalised). */
export function mapLabels(node: SelectorNode, fn: (label: string) => string): SelectorNode {
  switch (node.kind) {
    case 'all':
    case 'global':
      return node;
    case 'not':
      return { kind: 'not', operand: mapLabels(node.operand, fn) };
    case 'and':
    case 'or':
      return { kind: node.kind, operands: node.operands.map((o) => mapLabels(o, fn)) };
    case 'has':
      return { kind: 'has', label: fn(node.label) };
    case 'in':
    case 'notIn':
      return { kind: node.kind, label: fn(node.label), values: node.values };
    default:
      return { kind: node.kind, label: fn(node.label), value: node.value };
  }
}

/** A copy of the AST with every node for which `fn` returns a replacement replaced (pre-order). */
export function rewrite(node: SelectorNode, fn: (n: SelectorNode) => SelectorNode | undefined): SelectorNode {
  const r = fn(node);
  if (r !== undefined) return r;
  switch (node.kind) {
    case 'not':
      return { kind: 'not', operand: rewrite(node.operand, fn) };
    case 'and':
    case 'or':
      return { kind: node.kind, operands: node.operands.map((o) => rewrite(o, fn)) };
    default:
      return node;
  }
}

/** Path of operand indexes from the root to a node (a `not` has the single index 0). */
export type NodePath = readonly number[];

/** Visits every node with its path and whether it sits under an odd number of negations. */
export function walk(
  node: SelectorNode,
  visit: (n: SelectorNode, path: NodePath, negated: boolean) => void,
  path: number[] = [],
  negated = false,
): void {
  visit(node, path, negated);
  if (node.kind === 'not') {
    walk(node.operand, visit, [...path, 0], !negated);
  } else if (node.kind === 'and' || node.kind === 'or') {
    node.operands.forEach((o, i) => walk(o, visit, [...path, i], negated));
  }
}

/** A copy of the AST with the node at `path` replaced. */
export function replaceAt(node: SelectorNode, path: NodePath, replacement: SelectorNode): SelectorNode {
  if (path.length === 0) return replacement;
  const [head, ...rest] = path;
  if (node.kind === 'not') return { kind: 'not', operand: replaceAt(node.operand, rest, replacement) };
  if (node.kind === 'and' || node.kind === 'or') {
    const operands = node.operands.slice();
    operands[head] = replaceAt(operands[head], rest, replacement);
    return { kind: node.kind, operands };
  }
  return node;
}
