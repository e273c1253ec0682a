import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type NearMissCandidate, editDistance, mustParseSelector, nearMisses, parseSelector } from './index.js';

const NS = 'projectcalico.org/namespace';
const EPS: NearMissCandidate[] = [
  { id: 'default/web-1', namespace: 'default', labels: { app: 'web', tier: 'frontend', [NS]: 'default' } },
  { id: 'default/web-2', namespace: 'default', labels: { app: 'web', tier: 'frontend', [NS]: 'default' } },
  { id: 'default/web-3', namespace: 'default', labels: { app: 'web', [NS]: 'default' } },
  { id: 'default/db-1', namespace: 'default', labels: { app: 'db', tier: 'backend', [NS]: 'default' } },
  { id: 'prod/api-1', namespace: 'prod', labels: { app: 'api', 'k8s-app': 'dns', [NS]: 'prod' } },
  { id: 'prod/api-2', namespace: 'prod', labels: { app: 'api', [NS]: 'prod' } },
];

describe('editDistance', () => {
  it('counts edits and transpositions', () => {
    expect(editDistance('frontend', 'frontend')).toBe(0);
    expect(editDistance('fronted', 'frontend')).toBe(1);
    expect(editDistance('fornt', 'front')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('abc', 'xyzxyz', 2)).toBe(3); // capped
  });

  it('is symmetric and bounded by the longer length', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), (a, b) => {
        const d = editDistance(a, b);
        expect(editDistance(b, a)).toBe(d);
        expect(d).toBeLessThanOrEqual(Math.max(a.length, b.length));
      }),
    );
  });
});

describe('nearMisses', () => {
  it('seed 002 example: app == Web finds app=web by case', () => {
    const [h] = nearMisses("app == 'Web'", EPS);
    expect(h.kind).toBe('case');
    expect(h.message).toMatch(/^3 endpoints have app=web/);
    expect(h.wouldMatch).toEqual(['default/web-1', 'default/web-2', 'default/web-3']);
    expect(h.fixed).toBe("app == 'web'");
    expect(parseSelector(h.fixed!).ok).toBe(true);
  });

  it('the fix keeps the other terms, so wouldMatch is what the fixed selector selects', () => {
    const [h] = nearMisses("app == 'Web' && tier == 'frontend'", EPS);
    expect(h.kind).toBe('case');
    expect(h.wouldMatch).toEqual(['default/web-1', 'default/web-2']);
    expect(mustParseSelector(h.fixed!).matches(EPS[0].labels)).toBe(true);
  });

  it('set members', () => {
    const [h] = nearMisses("app in {'Web', 'x'}", EPS);
    expect(h).toMatchObject({ kind: 'case', fixed: "app in {'web', 'x'}" });
  });

  it('keys differing by typo, case or -/_', () => {
    expect(nearMisses("ap == 'web'", EPS)[0]).toMatchObject({ kind: 'key', fixed: "app == 'web'" });
    expect(nearMisses("k8s_app == 'dns'", EPS)[0]).toMatchObject({
      kind: 'key',
      fixed: "k8s-app == 'dns'",
      wouldMatch: ['prod/api-1'],
    });
    expect(nearMisses('has(Tier)', EPS)[0]).toMatchObject({ kind: 'key', fixed: 'has(tier)' });
  });

  it('value typos', () => {
    expect(nearMisses("tier == 'fronted'", EPS)[0]).toMatchObject({
      kind: 'value-typo',
      fixed: "tier == 'frontend'",
      wouldMatch: ['default/web-1', 'default/web-2'],
    });
  });

  it('namespace: query scoped to a namespace, matches elsewhere', () => {
    const hints = nearMisses("app == 'api'", EPS, { namespace: 'default' });
    expect(hints).toHaveLength(1);
    expect(hints[0].kind).toBe('namespace');
    expect(hints[0].wouldMatch).toEqual(['prod/api-1', 'prod/api-2']);
    expect(hints[0].message).toMatch(/prod \(2\)/);
  });

  it('namespace: explicit namespace term in the selector', () => {
    const hints = nearMisses(`app == 'api' && ${NS} == 'default'`, EPS);
    expect(hints[0]).toMatchObject({ kind: 'namespace', wouldMatch: ['prod/api-1', 'prod/api-2'] });
  });

  it('returns nothing when the selector already matches or nothing is close', () => {
    expect(nearMisses("app == 'web'", EPS)).toEqual([]);
    expect(nearMisses("color == 'purple'", EPS)).toEqual([]);
    expect(nearMisses('not valid', EPS)).toEqual([]);
  });

  it('ranks fixes that make the selector match above ones that do not', () => {
    const hints = nearMisses("app == 'Web' && tier == 'backend'", EPS);
    // app=web endpoints are not backend; the useful hints come first and say so when they cannot match.
    for (const h of hints) expect(h.wouldMatch.length).toBeGreaterThan(0);
    expect(hints.some((h) => /still exclude/.test(h.message))).toBe(true);
  });

  it('never throws on random selectors and candidates', () => {
    const key = fc.constantFrom('app', 'App', 'tier', 'k8s-app', 'k8s_app', NS);
    const val = fc.constantFrom('web', 'Web', 'db', 'frontend', 'default', 'prod', '');
    const cand = fc.record({
      id: fc.string({ minLength: 1, maxLength: 5 }),
      labels: fc.dictionary(key, val, { maxKeys: 4 }),
      namespace: fc.option(fc.constantFrom('default', 'prod'), { nil: undefined }),
    });
    const sel = fc
      .tuple(key, val, fc.constantFrom('==', '!=', 'in', 'has'), key, val)
      .map(([k, v, op, k2, v2]) =>
        op === 'has' ? `has(${k}) && ${k2} == '${v2}'` : op === 'in' ? `${k} in {'${v}', '${v2}'}` : `${k} ${op} '${v}'`,
      );
    fc.assert(
      fc.property(sel, fc.array(cand, { maxLength: 6 }), fc.option(fc.constantFrom('default', 'prod')), (s, cs, ns) => {
        const hints = nearMisses(s, cs, ns === null ? {} : { namespace: ns });
        for (const h of hints) {
          if (h.fixed !== undefined) expect(parseSelector(h.fixed).ok).toBe(true);
          expect(h.message.length).toBeGreaterThan(0);
        }
      }),
    );
  });
});
