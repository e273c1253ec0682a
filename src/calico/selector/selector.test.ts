import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type SelectorNode,
  andSelectors,
  canonicalOf,
  canonicalWithLabelPrefix,
  compareCodePoints,
  mustParseSelector,
  namespaceSelectorToEndpointSelector,
  overlayGetter,
  parseAst,
  parseSelector,
  parseSelectorCached,
  prettyOf,
  recordGetter,
  ruleSelectorFor,
  ruleSelectorsFor,
  serviceAccountSelector,
  toStringSet,
  tokenize,
} from './index.js';

/** Naive tree-walking interpreter of Calico's semantics; the oracle for the compiled closures. */
function interpret(n: SelectorNode, labels: Record<string, string>): boolean {
  const has = (k: string) => Object.hasOwn(labels, k);
  switch (n.kind) {
    case 'all':
    case 'global':
      return true;
    case 'has':
      return has(n.label);
    case 'eq':
      return has(n.label) && labels[n.label] === n.value;
    case 'ne':
      return !has(n.label) || labels[n.label] !== n.value;
    case 'contains':
      return has(n.label) && labels[n.label].includes(n.value);
    case 'startsWith':
      return has(n.label) && labels[n.label].startsWith(n.value);
    case 'endsWith':
      return has(n.label) && labels[n.label].endsWith(n.value);
    case 'in':
      return has(n.label) && n.values.includes(labels[n.label]);
    case 'notIn':
      return !has(n.label) || !n.values.includes(labels[n.label]);
    case 'not':
      return !interpret(n.operand, labels);
    case 'and':
      return n.operands.every((o) => interpret(o, labels));
    case 'or':
      return n.operands.some((o) => interpret(o, labels));
  }
}

// Labels include contextual keywords and prototype names on purpose.
const labelKey = fc.constantFrom(
  'a', 'b', 'app', 'k8s-app', 'x/y.z', 'has', 'all', 'global', 'in', 'not', 'contains',
  'startswith', 'ends', 'constructor', '__proto__', '-x', 'projectcalico.org/namespace',
);
const labelValue = fc
  .constantFrom('', 'v', 'web', 'Web', 'a b', "it's", 'say "hi"', 'all()', 'ü', '\u{1F600}', '\uE000', 'x,y', '}')
  .chain((v) => fc.constantFrom(v, `${v}1`));

const leaf: fc.Arbitrary<SelectorNode> = fc.oneof(
  fc.constant<SelectorNode>({ kind: 'all' }),
  fc.constant<SelectorNode>({ kind: 'global' }),
  labelKey.map((label): SelectorNode => ({ kind: 'has', label })),
  fc
    .tuple(fc.constantFrom('eq', 'ne', 'contains', 'startsWith', 'endsWith' as const), labelKey, labelValue)
    .map(([kind, label, value]): SelectorNode => ({ kind, label, value })),
  fc
    .tuple(fc.constantFrom('in', 'notIn' as const), labelKey, fc.array(labelValue, { maxLength: 4 }))
    .map(([kind, label, values]): SelectorNode => ({ kind, label, values: toStringSet(values) })),
);

/** ASTs the parser can produce, except NOT directly over NOT (Calico prints that as `!!x`). */
const { node: astArb } = fc.letrec<{ node: SelectorNode }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    tie('node')
      .filter((n) => n.kind !== 'not')
      .map((operand): SelectorNode => ({ kind: 'not', operand })),
    fc.array(tie('node'), { minLength: 2, maxLength: 4 }).map((operands): SelectorNode => ({ kind: 'and', operands })),
    fc.array(tie('node'), { minLength: 2, maxLength: 4 }).map((operands): SelectorNode => ({ kind: 'or', operands })),
  ),
}));

const labelsArb = fc.dictionary(labelKey, labelValue, { maxKeys: 6 }).map((d) => {
  // fc.dictionary may create `__proto__` as an own property; keep it a plain own-key record.
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(d)) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true });
  return out;
});

const tokenSoup = fc
  .array(
    fc.constantFrom(
      'a', 'b', 'has(a)', 'has( b )', 'all()', 'global()', '==', '!=', '=', '!', '&&', '||', '&', '(', ')', '{', '}',
      ',', '"x"', "'y'", '"', "'", 'in', 'not in', 'notin', 'contains', 'starts with', 'endswith', ' ', '\t', '\n', 'ü',
      ':', 'has (a)', 'inf',
    ),
    { maxLength: 14 },
  )
  .map((xs) => xs.join(''));

describe('parseSelector basics', () => {
  it('exposes canonical, uid, label keys and a matcher', () => {
    const r = parseSelector("app == 'web' && has(tier) || k8s-app in {'b', 'a'}");
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const s = r.selector;
    expect(s.canonical).toBe('((app == "web" && has(tier)) || k8s-app in {"a", "b"})');
    expect(s.uid).toMatch(/^s:[A-Za-z0-9_-]{38}$/);
    expect([...s.labelKeys]).toEqual(['app', 'tier', 'k8s-app']);
    expect(s.matches({ app: 'web', tier: '' })).toBe(true);
    expect(s.matches({ app: 'web' })).toBe(false);
    expect(s.matches({ 'k8s-app': 'a' })).toBe(true);
  });

  it('reports errors with 0-based positions', () => {
    const cases: Array<[string, number]> = [
      ["app = 'web'", 4],
      ["app == web", 7],
      ['a == "b" &', 9],
      ['a == "x', 5],
      ['(a == "b"', 9],
      ['a == "b")', 8],
      ['has (a)', 4],
      ['a == "b"\n', 8],
      ['ä == "b"', 0],
      ['a inf {"x"}', 2],
      ['', -1],
    ];
    for (const [expr, pos] of cases) {
      const r = parseSelector(expr);
      if (pos < 0) {
        expect(r.ok).toBe(true);
        continue;
      }
      expect(r.ok, expr).toBe(false);
      if (!r.ok) expect(r.error.position, expr).toBe(pos);
    }
  });

  it("accepts `app=='web'` without spaces (the seed doc's 'space problem' row is not a Calico error)", () => {
    const r = parseSelector("app=='web'");
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.selector.canonical).toBe('app == "web"');
    for (const s of ["app!='web'", "app in{'a','b'}", "a=='x'&&b!='y'||!has(c)", 'a notin{"x"}', 'a startswith"x"']) {
      expect(parseSelector(s).ok, s).toBe(true);
    }
  });

  it('reproduces Calico printing NOT(NOT x) as `!!x`, which reparses to x', () => {
    const r = mustParseSelector('!(!a == "x")');
    expect(r.canonical).toBe('!!a == "x"');
    const again = mustParseSelector(r.canonical);
    expect(again.canonical).toBe('a == "x"');
    expect(again.uid).not.toBe(r.uid); // different IP set IDs in Felix, same semantics
    expect(r.matches({ a: 'x' })).toBe(again.matches({ a: 'x' }));
  });

  it('sorts set members by code point like Go, not by UTF-16 unit', () => {
    expect(compareCodePoints('\uE000', '\u{1F600}')).toBeLessThan(0);
    expect('\uE000' < '\u{1F600}').toBe(false); // why a custom comparator is needed
    expect(mustParseSelector('a in {"\u{1F600}", "\uE000", "b"}').canonical).toBe('a in {"b", "\uE000", "\u{1F600}"}');
  });

  it('ignores inherited object properties and supports overlay getters', () => {
    const s = mustParseSelector('has(constructor) || has(toString) || __proto__ == "x"');
    expect(s.matches({})).toBe(false);
    const ep = recordGetter({ app: 'web' });
    const profile = recordGetter({ 'pcns.team': 'a', app: 'ignored' });
    const both = overlayGetter(ep, profile);
    expect(mustParseSelector("app == 'web' && pcns.team == 'a'").matchesGetter(both)).toBe(true);
  });

  it('caches parses', () => {
    const a = parseSelectorCached('a == "b"');
    expect(parseSelectorCached('a == "b"')).toBe(a);
  });

  it('label keys are limited to 512 characters', () => {
    expect(parseSelector(`has(${'k'.repeat(512)})`).ok).toBe(true);
    const r = parseSelector(`has(${'k'.repeat(513)})`);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).toMatch(/label too long/);
  });

  it('reports deep nesting instead of overflowing the stack', () => {
    const r = parseSelector(`${'('.repeat(50_000)}a == "b"${')'.repeat(50_000)}`);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).toMatch(/nested too deeply/);
    for (const depth of [100, 1000, 3000, 6000]) {
      const nots = parseSelector(`${'!('.repeat(depth)}a == "b"${')'.repeat(depth)}`);
      if (nots.ok) expect(nots.selector.matches({ a: 'b' })).toBe(depth % 2 === 0);
      else expect(nots.error.message).toMatch(/nested too deeply/);
    }
  });
});

describe('selector properties', () => {
  it('never throws on random strings', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), tokenSoup), (s) => {
        const r = parseSelector(s);
        if (!r.ok) {
          expect(r.error.position).toBeGreaterThanOrEqual(0);
          expect(r.error.position).toBeLessThanOrEqual(s.length);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('token soup: canonical reparses, is stable after one round trip, and keeps semantics', () => {
    fc.assert(
      fc.property(tokenSoup, labelsArb, (s, labels) => {
        const r = parseSelector(s);
        if (!r.ok) return;
        const c1 = mustParseSelector(r.selector.canonical);
        const c2 = mustParseSelector(c1.canonical);
        expect(c2.canonical).toBe(c1.canonical);
        expect(c1.matches(labels)).toBe(r.selector.matches(labels));
      }),
      { numRuns: 3000 },
    );
  });

  it('random ASTs: parse(canonical(ast)) round-trips to the same canonical and AST', () => {
    fc.assert(
      fc.property(astArb, (ast) => {
        const canonical = canonicalOf(ast);
        const r = parseAst(canonical);
        expect(r.ok).toBe(true);
        if (!r.ok) return;
        expect(canonicalOf(r.ast)).toBe(canonical);
        expect(r.ast).toEqual(ast);
        // The human-facing form is equivalent too.
        const p = parseAst(prettyOf(ast));
        expect(p.ok).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('compiled closure agrees with a naive interpreter', () => {
    fc.assert(
      fc.property(astArb, fc.array(labelsArb, { minLength: 1, maxLength: 8 }), (ast, labelSets) => {
        const sel = mustParseSelector(canonicalOf(ast));
        for (const labels of labelSets) {
          const want = interpret(ast, labels);
          expect(sel.matches(labels)).toBe(want);
          expect(sel.matchesGetter(recordGetter(labels))).toBe(want);
          expect(prettyOf(ast) === '' || mustParseSelector(prettyOf(ast)).matches(labels)).toBe(want);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('tokenizer positions are increasing and in range', () => {
    fc.assert(
      fc.property(tokenSoup, (s) => {
        const t = tokenize(s);
        if (!t.ok) return;
        let last = -1;
        for (const tok of t.tokens) {
          expect(tok.pos).toBeGreaterThanOrEqual(last);
          expect(tok.pos).toBeLessThanOrEqual(s.length);
          last = tok.pos;
        }
        expect(t.tokens[t.tokens.length - 1].kind).toBe('eof');
      }),
    );
  });
});

describe('Calico selector transformations', () => {
  it('canonicalWithLabelPrefix prefixes every key', () => {
    expect(canonicalWithLabelPrefix("team == 'a' || !has(b)", 'pcns.')).toBe('(pcns.team == "a" || !has(pcns.b))');
    expect(canonicalWithLabelPrefix('not valid', 'pcns.')).toBeUndefined();
  });

  it('namespaceSelectorToEndpointSelector maps all()/global() and prefixes labels', () => {
    expect(namespaceSelectorToEndpointSelector('all()')).toBe('has(projectcalico.org/namespace)');
    expect(namespaceSelectorToEndpointSelector('global()')).toBe('!has(projectcalico.org/namespace)');
    expect(namespaceSelectorToEndpointSelector('')).toBe('has(projectcalico.org/namespace)');
    expect(namespaceSelectorToEndpointSelector("team == 'a' && !global()")).toBe(
      '(pcns.team == "a" && has(projectcalico.org/namespace))',
    );
    // Calico rewrites the text, so even a literal "all()" inside a value changes (reproduced).
    expect(namespaceSelectorToEndpointSelector("x == 'all()'")).toBe(
      'pcns.x == "has(projectcalico.org/namespace)"',
    );
    expect(namespaceSelectorToEndpointSelector('a = b')).toBeUndefined();
  });

  it('andSelectors joins like Calico', () => {
    expect(andSelectors([])).toBe('');
    expect(andSelectors(['a == "b"'])).toBe('a == "b"');
    expect(andSelectors(['a == "b"', '', 'has(c) || has(d)'])).toBe('(a == "b") && (has(c) || has(d))');
  });

  it('ruleSelectorFor: namespaced policy selector (felix-rules.md §5 example)', () => {
    expect(
      ruleSelectorFor({ policyNamespace: 'default', selector: "projectcalico.org/orchestrator == 'k8s' && app == 'web'" }),
    ).toBe('(projectcalico.org/namespace == "default" && (projectcalico.org/orchestrator == "k8s" && app == "web"))');
  });

  it('ruleSelectorFor: no selector fields → no selector, global policy → selector alone', () => {
    expect(ruleSelectorFor({ policyNamespace: 'default' })).toBeUndefined();
    expect(ruleSelectorFor({ selector: "app == 'x'" })).toBe('app == "x"');
  });

  it('ruleSelectorFor: namespaceSelector replaces the own-namespace restriction', () => {
    expect(ruleSelectorFor({ policyNamespace: 'ns1', namespaceSelector: "team == 'a'", selector: "app == 'x'" })).toBe(
      '(pcns.team == "a" && app == "x")',
    );
    expect(ruleSelectorFor({ policyNamespace: 'ns1', namespaceSelector: 'all()' })).toBe(
      'has(projectcalico.org/namespace)',
    );
  });

  it('ruleSelectorsFor: notSelector alone is namespaced and folded into the positive selector', () => {
    expect(ruleSelectorsFor({ policyNamespace: 'ns1', notSelector: "app == 'x'" })).toEqual({
      selector: '(projectcalico.org/namespace == "ns1" && !app == "x")',
    });
    expect(ruleSelectorsFor({ notSelector: "app == 'x'" })).toEqual({ notSelector: 'app == "x"' });
  });

  it('serviceAccounts: names become a set, selector is pcsa.-prefixed', () => {
    expect(serviceAccountSelector({ names: ['b', 'a'] })).toBe('projectcalico.org/serviceaccount in {"a", "b"}');
    expect(serviceAccountSelector({ names: ['api'], selector: "role == 'x'" })).toBe(
      '(pcsa.role == "x") && (projectcalico.org/serviceaccount in {"api"})',
    );
    expect(ruleSelectorFor({ policyNamespace: 'ns', serviceAccounts: { names: ['api'] }, selector: 'has(app)' })).toBe(
      '(projectcalico.org/namespace == "ns" && (projectcalico.org/serviceaccount in {"api"} && has(app)))',
    );
  });
});
