import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { canonicalWithLabelPrefix, parseSelector } from './index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
// The shared copy is the source of truth while developing; the fixture keeps CI self-contained.
const shared = path.resolve(root, '../shared/conformance/selector-cases.json');
const fixture = path.join(root, 'test/fixtures/conformance/selector-cases.json');
const casesPath = existsSync(shared) ? shared : fixture;

interface Case {
  selector: string;
  expect: 'match' | 'nomatch' | 'parse-error' | 'parses';
  labels?: Record<string, string> | null;
  canonical?: string;
  uid?: string;
  canonicalWithLabelPrefix?: { prefix: string; canonical: string };
  source: string;
  note?: string;
}

const cases = JSON.parse(readFileSync(casesPath, 'utf8')) as Case[];

function title(c: Case, i: number): string {
  const sel = c.selector.length > 60 ? `${c.selector.slice(0, 57)}...` : c.selector;
  return `#${i} ${c.expect} ${JSON.stringify(sel)}${c.labels ? ` ${JSON.stringify(c.labels)}` : ''}`;
}

describe(`selector conformance (${path.relative(root, casesPath)})`, () => {
  it('has all 342 vectors', () => {
    expect(cases).toHaveLength(342);
  });

  it.each(cases.map((c, i) => [title(c, i), c] as const))('%s', (_t, c) => {
    const r = parseSelector(c.selector);
    switch (c.expect) {
      case 'parse-error':
        expect(r.ok).toBe(false);
        if (!r.ok) {
          expect(r.error.position).toBeGreaterThanOrEqual(0);
          expect(r.error.position).toBeLessThanOrEqual(c.selector.length);
          expect(r.error.message.length).toBeGreaterThan(0);
        }
        break;
      case 'match':
      case 'nomatch': {
        expect(r.ok).toBe(true);
        if (!r.ok) return;
        const want = c.expect === 'match';
        const labels = c.labels ?? {};
        expect(r.selector.matches(labels)).toBe(want);
        // Same answer through a getter (how the engine calls it).
        expect(r.selector.matches((k) => (Object.hasOwn(labels, k) ? labels[k] : undefined))).toBe(want);
        break;
      }
      case 'parses':
        expect(r.ok).toBe(true);
        if (!r.ok) return;
        expect(r.selector.canonical).toBe(c.canonical);
        expect(r.selector.uid).toBe(c.uid);
        if (c.canonicalWithLabelPrefix) {
          expect(canonicalWithLabelPrefix(r.selector, c.canonicalWithLabelPrefix.prefix)).toBe(
            c.canonicalWithLabelPrefix.canonical,
          );
        }
        break;
    }
  });
});
