import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkSelector, isKubernetesLabelKey, isKubernetesLabelValue, lintSelector, parseSelector } from './index.js';

/** [input, fixed, a fragment the suggestion must mention] */
const MISTAKES: Array<[string, string, RegExp]> = [
  // seed 002 table
  [`app == "web'`, `app == 'web'`, /quote it opened with/],
  [`app = 'web'`, `app == 'web'`, /'=='/],
  [`app in ['a', 'b']`, `app in {'a', 'b'}`, /braces/],
  [`app == 'web' AND env == 'prod'`, `app == 'web' && env == 'prod'`, /'&&' instead of 'AND'/],
  // more operator habits
  [`app == 'web' and env == 'prod'`, `app == 'web' && env == 'prod'`, /'&&' instead of 'and'/],
  [`app == 'web' OR env == 'prod'`, `app == 'web' || env == 'prod'`, /'\|\|' instead of 'OR'/],
  [`app == 'web' or has(x)`, `app == 'web' || has(x)`, /'\|\|' instead of 'or'/],
  [`NOT has(app)`, `!has(app)`, /'!' instead of 'NOT'/],
  [`a == "b" & has(c)`, `a == 'b' && has(c)`, /'&&'/],
  [`a == "b" | has(c)`, `a == 'b' || has(c)`, /'\|\|'/],
  [`a === 'b'`, `a == 'b'`, /===/],
  [`a <> 'b'`, `a != 'b'`, /'!='/],
  [`a !in {"b"}`, `a not in {'b'}`, /not in/],
  [`app IN {'a'}`, `app in {'a'}`, /lowercase/],
  // quoting
  [`app == web`, `app == 'web'`, /quote values/i],
  [`app == 1`, `app == '1'`, /quote values/i],
  [`app == 'web`, `app == 'web'`, /missing closing quote/],
  [`app == ‘web’`, `app == 'web'`, /typographic/],
  [`app == “web”`, `app == 'web'`, /typographic/],
  ['app == `web`', `app == 'web'`, /backticks/],
  // functions
  [`has (app)`, `has(app)`, /space between 'has' and '\('/],
  [`HAS(app)`, `has(app)`, /lowercase/],
  [`has('app')`, `has(app)`, /bare label key/],
  [`all ()`, `all()`, /space/],
  // whitespace from YAML
  [`app == 'web'\n`, `app == 'web'`, /trailing newline/],
  [`app == 'web'\r\n`, `app == 'web'`, /trailing newline/],
  [`\napp == 'web'`, `app == 'web'`, /leading newline/],
  [`app == 'web' &&\n  tier == 'db'`, `app == 'web' && tier == 'db'`, /one line/],
  [`app\u00a0== 'web'`, `app == 'web'`, /U\+00A0/],
  // ':' in keys, YAML habits
  [`kubernetes.io/hostname: == 'node-1'`, `kubernetes.io/hostname == 'node-1'`, /':'/],
  [`app: web`, `app == 'web'`, /key == value/],
  [`app:web`, `app == 'web'`, /key == value/],
  // Kubernetes label-selector syntax
  [`app=web,tier=db`, `app == 'web' && tier == 'db'`, /comma/],
  [`app in ('a','b')`, `app in {'a', 'b'}`, /braces/],
  [`environment in (production, qa)`, `environment in {'production', 'qa'}`, /braces/],
  [`tier notin (frontend)`, `tier not in {'frontend'}`, /braces/],
  [`!app`, `!has(app)`, /has\(key\)/],
  [`app,tier`, `has(app) && has(tier)`, /has\(key\)/],
  [`role.kubernetes.io/master`, `has(role.kubernetes.io/master)`, /has\(key\)/],
  // structure
  [`a == "b" c == "d"`, `a == 'b' && c == 'd'`, /'&&'/],
  [`a in {"b" "c"}`, `a in {'b', 'c'}`, /commas/],
  [`a == "b" ||`, `a == 'b'`, /dangling/],
  [`app == "web" && (tier == "db" || tier == 'cache'`, `app == 'web' && (tier == 'db' || tier == 'cache')`, /missing '\)'/],
  [`app == "web" ; tier == "db"`, `app == 'web' && tier == 'db'`, /';'/],
  [`a = = "b"`, `a == 'b'`, /'=='/],
];

describe('lintSelector', () => {
  it.each(MISTAKES)('%j → %s', (input, fixed, mention) => {
    const r = lintSelector(input);
    expect(r.valid).toBe(false);
    expect(r.error).toBeDefined();
    expect(parseSelector(input).ok).toBe(false);
    expect(r.fixed).toBe(fixed);
    expect(parseSelector(r.fixed!).ok).toBe(true);
    expect(r.suggestion).toMatch(mention);
    expect(r.suggestion).toContain(fixed);
  });

  it("`app=='web'` is valid Calico syntax (no spaces needed around operators)", () => {
    // The seed doc lists `app=='web'` under "空格问题" (space problem); Calico's tokenizer reads
    // `==` wherever it appears, and the conformance vectors `a=="b"`, `a=='v2' || has(a)` parse.
    const r = lintSelector("app=='web'");
    expect(r).toEqual({ valid: true, warnings: [] });
    expect(checkSelector("app=='web'", { app: 'web' })).toEqual({ valid: true, canonical: 'app == "web"', match: true });
  });

  it('whitespace-only problems keep the author text and string contents', () => {
    expect(lintSelector('a == "b"\n').fixed).toBe('a == "b"');
    expect(lintSelector('a == "x\ny" && b == "c"\n').fixed).toBe('a == "x\ny" && b == "c"');
    expect(lintSelector("app == 'web' &&\n    tier == 'db'\n").fixed).toBe("app == 'web' && tier == 'db'");
  });

  it('gives a hint without a fix when no safe repair exists', () => {
    const colon = lintSelector('a:b == "c"');
    expect(colon.fixed).toBeUndefined();
    expect(colon.suggestion).toMatch(/':' is not allowed/);
    const unicode = lintSelector('ä == "b"');
    expect(unicode.fixed).toBeUndefined();
    expect(unicode.suggestion).toMatch(/ASCII/);
    const garbage = lintSelector('this is not valid selector syntax');
    expect(garbage.fixed).toBeUndefined();
    expect(garbage.suggestion).toMatch(/valid forms/i);
  });

  it('warns about valid but suspicious selectors', () => {
    expect(lintSelector("app != 'web'").warnings.join()).toMatch(/no app label/);
    expect(lintSelector("app == 'a' && app == 'b'").warnings.join()).toMatch(/never match/);
    expect(lintSelector('has(a) && !has(a)').warnings.join()).toMatch(/never match/);
    expect(lintSelector('x in {}').warnings.join()).toMatch(/never matches/);
    expect(lintSelector('x not in {}').warnings.join()).toMatch(/every endpoint/);
    expect(lintSelector('global()').warnings.join()).toMatch(/namespaceSelector/);
    expect(lintSelector('!a == "x"').warnings.join()).toMatch(/negates the whole comparison/);
    expect(lintSelector("app == ' web'").warnings.join()).toMatch(/whitespace/);
    expect(lintSelector("app == 'a b'").warnings.join()).toMatch(/not a valid Kubernetes label value/);
    expect(lintSelector("-app == 'a'").warnings.join()).toMatch(/not a valid Kubernetes label key/);
    expect(lintSelector("app == 'web' && projectcalico.org/namespace == 'prod'").warnings).toEqual([]);
    expect(lintSelector("app == 'a' || app == 'b'").warnings).toEqual([]);
  });

  it('never throws, and any fix it offers parses', () => {
    const sloppy = fc
      .array(
        fc.constantFrom(
          'app', 'web', 'tier', '=', '==', '!=', ' ', 'AND', 'or', 'NOT', '&', '|', '&&', '(', ')', '[', ']', '{', '}',
          ',', "'", '"', '‘', '’', 'has', 'has(', 'in', 'notin', ':', '\n', '\u00a0', 'all()', ';', '`', '!', 'x y',
        ),
        { maxLength: 12 },
      )
      .map((xs) => xs.join(''));
    fc.assert(
      fc.property(fc.oneof(sloppy, fc.string()), (s) => {
        const r = lintSelector(s);
        expect(r.valid).toBe(parseSelector(s).ok);
        if (r.fixed !== undefined) expect(parseSelector(r.fixed).ok).toBe(true);
        if (!r.valid) expect(r.error).toBeDefined();
      }),
      { numRuns: 3000 },
    );
  });
});

describe('checkSelector (CLI JSON)', () => {
  it('valid selector, with and without labels', () => {
    expect(JSON.stringify(checkSelector("app == 'web'"))).toBe('{"valid":true,"canonical":"app == \\"web\\"","match":null}');
    expect(JSON.stringify(checkSelector("app == 'web'", { app: 'web' }))).toBe(
      '{"valid":true,"canonical":"app == \\"web\\"","match":true}',
    );
    expect(checkSelector("app == 'web'", { app: 'db' }).match).toBe(false);
    expect(checkSelector('', {}).canonical).toBe('all()');
  });

  it('invalid selector with suggestion', () => {
    expect(JSON.stringify(checkSelector("app = 'web'"))).toBe(
      JSON.stringify({
        valid: false,
        error: { message: "expected '==' ('=' alone is not an operator)", position: 4 },
        suggestion: "Use '==' for equality ('=' is not a Calico operator): app == 'web'",
      }),
    );
  });

  it('omits suggestion only when there is none', () => {
    const out = checkSelector(`${'('.repeat(50_000)}a == "b"${')'.repeat(50_000)}`);
    expect(out.valid).toBe(false);
    expect(Object.keys(out)).toEqual(['valid', 'error']);
  });
});

describe('Kubernetes label syntax helpers', () => {
  it('keys', () => {
    for (const k of ['app', 'k8s-app', 'app.kubernetes.io/name', 'projectcalico.org/namespace', 'pcns.team', 'A_b.c']) {
      expect(isKubernetesLabelKey(k), k).toBe(true);
    }
    for (const k of ['-app', 'app-', '/app', 'a/b/c', 'Example.com/x', 'a'.repeat(64)]) {
      expect(isKubernetesLabelKey(k), k).toBe(false);
    }
  });

  it('values', () => {
    expect(isKubernetesLabelValue('')).toBe(true);
    expect(isKubernetesLabelValue('v1.2_3-x')).toBe(true);
    expect(isKubernetesLabelValue('a b')).toBe(false);
    expect(isKubernetesLabelValue('x'.repeat(64))).toBe(false);
  });
});
