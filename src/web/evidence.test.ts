import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import type { Bundle } from '../model/bundle.js';
import { EvidenceReader } from './evidence.js';

function bundleOf(files: Record<string, string>): Bundle {
  return { rawText: (a: string) => files[a] } as unknown as Bundle;
}

describe('EvidenceReader', () => {
  const text = Array.from({ length: 20 }, (_, i) => `line ${i + 1}`).join('\n') + '\n';
  const r = new EvidenceReader(bundleOf({ 'a.txt': text, 'crlf.txt': 'x\r\ny\r\nz', 'empty.txt': '' }));

  it('returns the lines around a line, the line itself included', () => {
    const c = r.context('a.txt', 10, 2)!;
    expect(c.total).toBe(20);
    expect(c.lines).toEqual([8, 9, 10, 11, 12].map((n) => ({ n, text: `line ${n}` })));
  });

  it('clips at the start and the end of the artifact', () => {
    expect(r.context('a.txt', 1, 3)!.lines.map((l) => l.n)).toEqual([1, 2, 3, 4]);
    expect(r.context('a.txt', 20, 3)!.lines.map((l) => l.n)).toEqual([17, 18, 19, 20]);
    expect(r.context('a.txt', 500, 3)!.lines).toEqual([]);
  });

  it('treats line 0 (a whole-artifact issue) as the start', () => {
    expect(r.context('a.txt', 0, 2)!.lines.map((l) => l.n)).toEqual([1, 2, 3]);
  });

  it('drops CR of CRLF files and reads a last line without newline', () => {
    expect(r.context('crlf.txt', 2, 5)!.lines).toEqual([
      { n: 1, text: 'x' },
      { n: 2, text: 'y' },
      { n: 3, text: 'z' },
    ]);
    expect(r.context('empty.txt', 1, 1)!.lines).toEqual([{ n: 1, text: '' }]);
  });

  it('answers undefined for an artifact the bundle does not have', () => {
    expect(r.context('../../etc/passwd', 1)).toBeUndefined();
  });

  it('cuts a 10 MB line', () => {
    const big = new EvidenceReader(bundleOf({ b: `${'x'.repeat(10_000_000)}\nshort` }));
    const c = big.context('b', 1, 1)!;
    expect(c.lines[0].text.length).toBeLessThan(2100);
    expect(c.lines[1]).toEqual({ n: 2, text: 'short' });
  });

  it('agrees with split("\\n") for any text and line', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: fc.constantFrom('a', 'b', ' ', '\n') }), { maxLength: 30 }).map((a) => a.join('')), fc.nat(40), fc.nat(6), (t, line, ctx) => {
        const rd = new EvidenceReader(bundleOf({ t }));
        const c = rd.context('t', line, ctx)!;
        const lines = t.split('\n');
        if (t.endsWith('\n')) lines.pop();
        if (lines.length === 0) lines.push('');
        expect(c.total).toBe(lines.length);
        for (const l of c.lines) expect(l.text).toBe(lines[l.n - 1]);
        const at = line || 1;
        if (at <= lines.length) expect(c.lines.some((l) => l.n === at)).toBe(true);
      }),
    );
  });
});
