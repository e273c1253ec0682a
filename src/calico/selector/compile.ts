/**
 * Compiles a selector AST once into nested closures over a label getter, so evaluation does no
 * AST dispatch (the reachability matrix evaluates every policy selector against every
 * endpoint). Semantics are those of the Evaluate methods in libcalico-go's ast.go.
 */
import type { SelectorNode } from './ast.js';

/** Returns the label's value, or undefined when the label is absent ("" is a present value). */
export type LabelGetter = (key: string) => string | undefined;
export type LabelSource = Readonly<Record<string, string>> | LabelGetter;
export type CompiledMatcher = (get: LabelGetter) => boolean;

const TRUE: CompiledMatcher = () => true;
const hasOwn = Object.prototype.hasOwnProperty;

/** A getter over a plain record that ignores inherited properties (`constructor`, `__proto__`). */
export function recordGetter(labels: Readonly<Record<string, string>>): LabelGetter {
  return (k) => (hasOwn.call(labels, k) ? labels[k] : undefined);
}

/** A getter that reads `first`, then `second` (endpoint labels over profile-inherited ones). */
export function overlayGetter(first: LabelGetter, second: LabelGetter): LabelGetter {
  return (k) => {
    const v = first(k);
    return v !== undefined ? v : second(k);
  };
}

export function compileNode(node: SelectorNode): CompiledMatcher {
  switch (node.kind) {
    case 'all':
    case 'global':
      return TRUE;
    case 'has': {
      const k = node.label;
      return (get) => get(k) !== undefined;
    }
    case 'eq': {
      const k = node.label;
      const v = node.value;
      return (get) => get(k) === v;
    }
    case 'ne': {
      const k = node.label;
      const v = node.value;
      return (get) => get(k) !== v; // absent (undefined) also differs
    }
    case 'contains': {
      const k = node.label;
      const v = node.value;
      return (get) => {
        const x = get(k);
        return x !== undefined && x.includes(v);
      };
    }
    case 'startsWith': {
      const k = node.label;
      const v = node.value;
      return (get) => {
        const x = get(k);
        return x !== undefined && x.startsWith(v);
      };
    }
    case 'endsWith': {
      const k = node.label;
      const v = node.value;
      return (get) => {
        const x = get(k);
        return x !== undefined && x.endsWith(v);
      };
    }
    case 'in': {
      const k = node.label;
      if (node.values.length === 0) return () => false;
      if (node.values.length === 1) {
        const only = node.values[0];
        return (get) => get(k) === only;
      }
      const set = new Set(node.values);
      return (get) => {
        const x = get(k);
        return x !== undefined && set.has(x);
      };
    }
    case 'notIn': {
      const k = node.label;
      if (node.values.length === 0) return TRUE;
      const set = new Set(node.values);
      return (get) => {
        const x = get(k);
        return x === undefined || !set.has(x);
      };
    }
    case 'not': {
      const inner = compileNode(node.operand);
      return (get) => !inner(get);
    }
    case 'and': {
      const fs = node.operands.map(compileNode);
      if (fs.length === 2) {
        const [a, b] = fs;
        return (get) => a(get) && b(get);
      }
      if (fs.length === 3) {
        const [a, b, c] = fs;
        return (get) => a(get) && b(get) && c(get);
      }
      return (get) => {
        for (let i = 0; i < fs.length; i++) if (!fs[i](get)) return false;
        return true;
      };
    }
    case 'or': {
      const fs = node.operands.map(compileNode);
      if (fs.length === 2) {
        const [a, b] = fs;
        return (get) => a(get) || b(get);
      }
      return (get) => {
        for (let i = 0; i < fs.length; i++) if (fs[i](get)) return true;
        return false;
      };
    }
  }
}

/** Wraps a compiled matcher so it accepts either a record or a getter. */
export function toMatches(fn: CompiledMatcher): (labels: LabelSource) => boolean {
  return (labels) => fn(typeof labels === 'function' ? labels : recordGetter(labels));
}
