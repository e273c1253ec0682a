/**
 * The parsed-selector object and the selector transformations Calico applies before Felix
 * hashes a rule's selector into an IP set (libcalico-go/lib/backend/syncersv1/updateprocessors/
 * rules.go, selectors.go; felix/calc/rule_scanner.go).
 */
import { type SelectorNode, collectLabelKeys, mapLabels } from './ast.js';
import { canonicalOf, makeUniqueId, prettyOf, selectorUid } from './canonical.js';
import { type CompiledMatcher, type LabelSource, compileNode, toMatches } from './compile.js';
import { parseAst } from './parser.js';
import type { SelectorError } from './tokenizer.js';

export interface Selector {
  /** The input text. */
  readonly source: string;
  readonly ast: SelectorNode;
  /** Exactly Calico's `Selector.String()`. */
  readonly canonical: string;
  /** `s:` + base64url_nopad(SHA-224("s:" + canonical)); Felix's IP set ID for this selector. */
  readonly uid: string;
  /** Every label key the selector mentions. */
  readonly labelKeys: Set<string>;
  /** Evaluates against a label map or a getter (compiled once; no AST walk per call). */
  readonly matches: (labels: LabelSource) => boolean;
  /** The compiled closure itself, for hot loops that already have a getter. */
  readonly matchesGetter: CompiledMatcher;
}

export type ParseSelectorResult = { ok: true; selector: Selector } | { ok: false; error: SelectorError };

export function selectorFromAst(ast: SelectorNode, source?: string): Selector {
  const canonical = canonicalOf(ast);
  const matchesGetter = compileNode(ast);
  return Object.freeze({
    source: source ?? canonical,
    ast,
    canonical,
    uid: selectorUid(canonical),
    labelKeys: collectLabelKeys(ast),
    matches: toMatches(matchesGetter),
    matchesGetter,
  });
}

/** Parses a Calico selector. Never throws; errors carry a 0-based position. */
export function parseSelector(expr: string): ParseSelectorResult {
  const r = parseAst(expr);
  if (!r.ok) return r;
  try {
    return { ok: true, selector: selectorFromAst(r.ast, expr) };
  } catch (e) {
    // A pathologically deep AST (thousands of nested `!(`) can overflow the stack when printed.
    if (e instanceof RangeError) return { ok: false, error: { message: 'selector nested too deeply', position: 0 } };
    throw e;
  }
}

const CACHE_LIMIT = 10_000;
const cache = new Map<string, ParseSelectorResult>();

/**
 * parseSelector with a bounded cache: the same selector text recurs across many policies and
 * rules, and Selector objects are immutable so they can be shared.
 */
export function parseSelectorCached(expr: string): ParseSelectorResult {
  let r = cache.get(expr);
  if (r === undefined) {
    r = parseSelector(expr);
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(expr, r);
  }
  return r;
}

/** Parses or throws; for selectors the program itself builds. */
export function mustParseSelector(expr: string): Selector {
  const r = parseSelector(expr);
  if (!r.ok) throw new Error(`invalid selector ${JSON.stringify(expr)}: ${r.error.message} at ${r.error.position}`);
  return r.selector;
}


/** Label prefix Calico applies to namespace selectors (namespace labels arrive as `pcns.<k>`). */
export const NAMESPACE_LABEL_PREFIX = 'pcns.';
/** Label prefix Calico applies to service-account selectors (`pcsa.<k>`). */
export const SERVICE_ACCOUNT_LABEL_PREFIX = 'pcsa.';
export const LABEL_NAMESPACE = 'projectcalico.org/namespace';
export const LABEL_SERVICE_ACCOUNT = 'projectcalico.org/serviceaccount';
export const LABEL_ORCHESTRATOR = 'projectcalico.org/orchestrator';

/**
 * Canonical form after prefixing every label key (Calico's PrefixVisitor), e.g. `pcns.` for
 * namespaceSelector. A string that does not parse yields undefined (Calico yields "").
 */
export function canonicalWithLabelPrefix(selector: Selector, prefix: string): string;
export function canonicalWithLabelPrefix(selector: string, prefix: string): string | undefined;
export function canonicalWithLabelPrefix(selector: Selector | string, prefix: string): string | undefined {
  let ast: SelectorNode;
  if (typeof selector === 'string') {
    const r = parseAst(selector);
    if (!r.ok) return undefined;
    ast = r.ast;
  } else {
    ast = selector.ast;
  }
  return canonicalOf(mapLabels(ast, (l) => prefix + l));
}

/**
 * Calico rewrites the prefixed namespace selector *as a string*: every `all()` becomes
 * `has(projectcalico.org/namespace)` and every `global()` `!has(projectcalico.org/namespace)`.
 * This equals an AST rewrite of all()/global() nodes except when a string literal itself contains
 * "all()" or "global()", which Calico also rewrites; we reproduce that so hashes match.
 */
function rewriteNamespaceKeywords(prefixedCanonical: string): string {
  return prefixedCanonical
    .split('all()')
    .join(`has(${LABEL_NAMESPACE})`)
    .split('global()')
    .join(`!has(${LABEL_NAMESPACE})`);
}

/**
 * The endpoint selector Calico derives from a rule's `namespaceSelector`: labels prefixed with
 * `pcns.`, `all()` → any namespaced endpoint, `global()` → non-namespaced endpoints. Returns the
 * canonical form, or undefined if `expr` does not parse.
 */
export function namespaceSelectorToEndpointSelector(expr: string): string | undefined {
  const prefixed = canonicalWithLabelPrefix(expr, NAMESPACE_LABEL_PREFIX);
  if (prefixed === undefined) return undefined;
  const r = parseAst(rewriteNamespaceKeywords(prefixed));
  return r.ok ? canonicalOf(r.ast) : undefined;
}

/**
 * Joins selector texts the way Calico combines rule selector parts before parsing:
 * one part is returned as is; several become `(a) && (b) && (c)`. Empty parts are skipped.
 * The result is raw text; parse it for the canonical form.
 */
export function andSelectors(parts: readonly string[]): string {
  const ps = parts.filter((p) => p !== '');
  if (ps.length <= 1) return ps[0] ?? '';
  return `(${ps.join(') && (')})`;
}

export interface ServiceAccountMatch {
  names?: readonly string[];
  selector?: string;
}

/** parseServiceAccounts in rules.go: `pcsa.`-prefixed selector ANDed with a name set. */
export function serviceAccountSelector(sa: ServiceAccountMatch): string {
  let updated = '';
  if (sa.selector) updated = canonicalWithLabelPrefix(sa.selector, SERVICE_ACCOUNT_LABEL_PREFIX) ?? '';
  const names = sa.names ?? [];
  if (names.length === 0) return updated;
  const r = parseAst(`${LABEL_SERVICE_ACCOUNT} in { '${names.join("', '")}' }`);
  if (!r.ok) return ''; // Calico logs and drops the whole SA match too.
  const namesSel = canonicalOf(r.ast);
  return updated !== '' ? `(${updated}) && (${namesSel})` : namesSel;
}

export interface EntityRuleSelectors {
  /** Namespace of the policy owning the rule; absent for global policies. */
  policyNamespace?: string;
  selector?: string;
  notSelector?: string;
  namespaceSelector?: string;
  serviceAccounts?: ServiceAccountMatch;
}

export interface RuleSelectors {
  /** Canonical positive selector Felix renders as `-m set --match-set` (absent if none). */
  selector?: string;
  /** Canonical negated selector (`-m set ! --match-set`), only when there is no positive one. */
  notSelector?: string;
  /** Set when some part fails to parse (Felix would never see such a rule). */
  error?: string;
}

/**
 * The selectors Felix turns into IP sets for one side (source/destination) of a rule:
 * GetEntityRuleSelector (namespace scoping, namespaceSelector, serviceAccounts) followed by
 * Felix's combineMatchesIfPossible, which folds notSelector into a positive selector as
 * `(pos) && (!(neg))`.
 */
export function ruleSelectorsFor(er: EntityRuleSelectors): RuleSelectors {
  const saSel = er.serviceAccounts ? serviceAccountSelector(er.serviceAccounts) : '';
  const notSelector = er.notSelector ?? '';
  let nsSel = '';
  if (er.namespaceSelector) {
    // Calico uses "" for an unparsable namespaceSelector, silently dropping the scoping.
    nsSel = namespaceSelectorToEndpointSelector(er.namespaceSelector) ?? '';
  } else if (er.policyNamespace) {
    nsSel = `${LABEL_NAMESPACE} == '${er.policyNamespace}'`;
  }
  let sel = andSelectors([saSel, er.selector ?? '']);
  if (nsSel !== '' && (sel !== '' || notSelector !== '' || !!er.namespaceSelector)) {
    sel = sel !== '' ? `(${nsSel}) && (${sel})` : nsSel;
  }
  let neg = notSelector;
  if (sel !== '' && neg !== '') {
    sel = `(${sel}) && (!(${neg}))`;
    neg = '';
  }
  const out: RuleSelectors = {};
  for (const [key, raw] of [
    ['selector', sel],
    ['notSelector', neg],
  ] as const) {
    if (raw === '') continue;
    const r = parseAst(raw);
    if (r.ok) out[key] = canonicalOf(r.ast);
    else out.error = `${key} ${JSON.stringify(raw)}: ${r.error.message} at ${r.error.position}`;
  }
  return out;
}

/** The canonical positive selector of a rule side, or undefined when it has none (or is invalid). */
export function ruleSelectorFor(er: EntityRuleSelectors): string | undefined {
  return ruleSelectorsFor(er).selector;
}

export { canonicalOf, makeUniqueId, prettyOf, selectorUid };
