/**
 * "Why does my selector match nothing?" For each positive `k == v`, `k in {…}`, `has(k)` term
 * that no candidate satisfies, looks for the near misses that explain most empty selections:
 * a value differing only by case (`app == 'Web'`), a misspelt value or key (`-`↔`_`, case,
 * edit distance ≤ 2), or endpoints that would match in another namespace.
 */
import { type LabelNode, type NodePath, type SelectorNode, replaceAt, toStringSet, walk } from './ast.js';
import { prettyOf } from './canonical.js';
import { compileNode, recordGetter } from './compile.js';
import { parseAst } from './parser.js';
import type { Selector } from './selector.js';
import { LABEL_NAMESPACE } from './selector.js';

export interface NearMissCandidate {
  id: string;
  labels: Record<string, string>;
  namespace?: string;
}

export type NearMissKind = 'case' | 'key' | 'namespace' | 'value-typo';

export interface NearMissHint {
  kind: NearMissKind;
  message: string;
  /** Candidates the suggested change would select. */
  wouldMatch: string[];
  /** The selector with the change applied (absent for namespace hints). */
  fixed?: string;
}

export interface NearMissOptions {
  /**
   * The query is restricted to this namespace (e.g. the selector of a namespaced policy):
   * only candidates in it count as matches, and matches elsewhere become `namespace` hints.
   */
  namespace?: string;
  /** Maximum edit distance for typo hints (default 2; keys/values of ≤ 4 chars use 1). */
  maxDistance?: number;
  /** Maximum hints returned (default 10). */
  limit?: number;
}

/** Optimal-string-alignment distance (Levenshtein + adjacent transpositions), capped. */
export function editDistance(a: string, b: string, cap = Infinity): number {
  if (a === b) return 0;
  if (Math.abs(a.length - b.length) > cap) return cap + 1;
  const n = b.length;
  let prev2 = new Array<number>(n + 1).fill(0);
  let prev = Array.from({ length: n + 1 }, (_, j) => j);
  let cur = new Array<number>(n + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    let rowMin = cur[0];
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, prev2[j - 2] + 1);
      cur[j] = v;
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > cap) return cap + 1;
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[n];
}

/** Keys that differ only by case or `-`/`_`. */
function normaliseKey(k: string): string {
  return k.toLowerCase().replaceAll('_', '-');
}

function distanceLimit(s: string, maxDistance: number): number {
  return s.length <= 4 ? Math.min(1, maxDistance) : maxDistance;
}

interface Scored extends NearMissHint {
  score: number;
}

const KIND_WEIGHT: Record<NearMissKind, number> = { case: 40, key: 30, 'value-typo': 20, namespace: 25 };

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

export function nearMisses(
  selector: Selector | string,
  candidates: readonly NearMissCandidate[],
  opts: NearMissOptions = {},
): NearMissHint[] {
  let ast: SelectorNode;
  if (typeof selector === 'string') {
    const r = parseAst(selector);
    if (!r.ok) return [];
    ast = r.ast;
  } else {
    ast = selector.ast;
  }
  const maxDistance = opts.maxDistance ?? 2;
  const limit = opts.limit ?? 10;
  const getters = candidates.map((c) => recordGetter(c.labels));
  const inScope = (i: number) => opts.namespace === undefined || candidates[i].namespace === opts.namespace;
  const matchIds = (node: SelectorNode, scope: (i: number) => boolean = inScope): string[] => {
    const f = compileNode(node);
    const ids: string[] = [];
    getters.forEach((g, i) => {
      if (scope(i) && f(g)) ids.push(candidates[i].id);
    });
    return ids;
  };
  if (matchIds(ast).length > 0) return [];

  const hints: Scored[] = [];
  const seenFixed = new Set<string>();
  const pushFix = (kind: NearMissKind, path: NodePath, replacement: SelectorNode, describe: (n: number) => string, holders: string[]) => {
    const fixedAst = replaceAt(ast, path, replacement);
    const fixed = prettyOf(fixedAst);
    if (seenFixed.has(fixed)) return;
    seenFixed.add(fixed);
    const would = matchIds(fixedAst);
    const wouldMatch = would.length > 0 ? would : holders;
    hints.push({
      kind,
      message: describe(wouldMatch.length) + (would.length === 0 ? ' (other terms of the selector still exclude them)' : ''),
      wouldMatch,
      fixed,
      score: (would.length > 0 ? 100 : 0) + KIND_WEIGHT[kind] + Math.min(wouldMatch.length, 19),
    });
  };

  // Keys and values present on in-scope candidates.
  const valuesByKey = new Map<string, Map<string, string[]>>();
  candidates.forEach((c, i) => {
    if (!inScope(i)) return;
    for (const [k, v] of Object.entries(c.labels)) {
      let m = valuesByKey.get(k);
      if (!m) valuesByKey.set(k, (m = new Map()));
      const ids = m.get(v);
      if (ids) ids.push(c.id);
      else m.set(v, [c.id]);
    }
  });

  const leaves: Array<{ node: LabelNode; path: NodePath }> = [];
  walk(ast, (n, path, negated) => {
    if (!negated && (n.kind === 'eq' || n.kind === 'in' || n.kind === 'has')) leaves.push({ node: n, path: [...path] });
  });

  for (const { node, path } of leaves) {
    const key = node.label;
    const wanted = node.kind === 'eq' ? [node.value] : node.kind === 'in' ? node.values : [];
    // A namespace term: who would match without it? (It may exclude them only in combination.)
    if (key === LABEL_NAMESPACE && node.kind !== 'has') {
      const relaxed = replaceAt(ast, path, { kind: 'all' });
      const ids = matchIds(relaxed, () => true);
      if (ids.length > 0) hints.push(namespaceHint(ids, candidates, wanted.join(', '), 'the selector restricts to'));
    }
    if (matchIds(node).length > 0) continue; // this term alone is satisfiable; not a misspelling
    const present = valuesByKey.get(key);

    // Values of the right key differing by case or by a small typo.
    if (present && node.kind !== 'has') {
      for (const want of wanted) {
        for (const [have, ids] of present) {
          if (have === want) continue;
          const isCase = have.toLowerCase() === want.toLowerCase();
          const isTypo =
            !isCase &&
            (normaliseKey(have) === normaliseKey(want) ||
              editDistance(have, want, distanceLimit(want, maxDistance)) <= distanceLimit(want, maxDistance));
          if (!isCase && !isTypo) continue;
          const replacement: SelectorNode =
            node.kind === 'eq'
              ? { kind: 'eq', label: key, value: have }
              : { kind: 'in', label: key, values: node.kind === 'in' ? sortedReplace(node.values, want, have) : [have] };
          pushFix(
            isCase ? 'case' : 'value-typo',
            path,
            replacement,
            (n) =>
              `${plural(n, 'endpoint')} ${n === 1 ? 'has' : 'have'} ${key}=${have}; the selector asks for ${key}=${want}` +
              (isCase ? ' (values are case-sensitive)' : ''),
            ids,
          );
        }
      }
    }

    // Keys differing by case, '-'/'_' or a small typo.
    for (const [haveKey, vals] of valuesByKey) {
      if (haveKey === key) continue;
      const similar =
        normaliseKey(haveKey) === normaliseKey(key) ||
        editDistance(haveKey, key, distanceLimit(key, maxDistance)) <= distanceLimit(key, maxDistance);
      if (!similar) continue;
      const holders = [...vals.values()].flat();
      const replacement: SelectorNode =
        node.kind === 'has'
          ? { kind: 'has', label: haveKey }
          : node.kind === 'eq'
            ? { kind: 'eq', label: haveKey, value: node.value }
            : { kind: 'in', label: haveKey, values: 'values' in node ? node.values : [] };
      pushFix(
        'key',
        path,
        replacement,
        (n) => `${plural(n, 'endpoint')} ${n === 1 ? 'has' : 'have'} label key ${haveKey}; the selector uses ${key}`,
        holders,
      );
    }

  }

  // The query is scoped to a namespace: endpoints elsewhere that the selector would match.
  if (opts.namespace !== undefined) {
    const elsewhere = matchIds(ast, (i) => candidates[i].namespace !== opts.namespace);
    if (elsewhere.length > 0) hints.push(namespaceHint(elsewhere, candidates, opts.namespace, 'the query is limited to'));
  }

  hints.sort((a, b) => b.score - a.score || b.wouldMatch.length - a.wouldMatch.length);
  return hints.slice(0, limit).map(({ score: _score, ...h }) => h);
}

function sortedReplace(values: readonly string[], from: string, to: string): string[] {
  return toStringSet([...values.filter((v) => v !== from), to]);
}

function namespaceHint(
  ids: string[],
  candidates: readonly NearMissCandidate[],
  ns: string,
  phrase: string,
): Scored {
  const byId = new Map(candidates.map((c) => [c.id, c]));
  const counts = new Map<string, number>();
  for (const id of ids) {
    const c = byId.get(id);
    const n = c?.namespace ?? c?.labels[LABEL_NAMESPACE] ?? '(no namespace)';
    counts.set(n, (counts.get(n) ?? 0) + 1);
  }
  const where = [...counts].map(([n, k]) => `${n} (${k})`).join(', ');
  return {
    kind: 'namespace',
    message: `${plural(ids.length, 'endpoint')} in other namespaces would match: ${where}; ${phrase} ${ns}`,
    wouldMatch: ids,
    score: 100 + KIND_WEIGHT.namespace + Math.min(ids.length, 19),
  };
}
