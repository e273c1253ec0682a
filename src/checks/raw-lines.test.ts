import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RawLines } from './raw-lines.js';

describe('RawLines', () => {
  it('gives the lines split would, without carriage returns, and the line of any offset (property)', () => {
    const text = fc.array(fc.oneof(fc.constantFrom('\n', '\r\n', '\r', 'a', ' ', '-A x', ''), fc.string({ maxLength: 8 })), { maxLength: 40 }).map((p) => p.join(''));
    fc.assert(
      fc.property(text, (t) => {
        const want = t.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
        const r = RawLines.of(t);
        expect(r.count).toBe(want.length);
        for (let n = 1; n <= want.length; n++) expect(r.line(n)).toBe(want[n - 1]);
        expect(r.line(0)).toBeUndefined();
        expect(r.line(want.length + 1)).toBeUndefined();
        // Every character is on the line split puts it on.
        let line = 1;
        for (let o = 0; o < t.length; o++) {
          expect(r.lineAt(o)).toBe(line);
          if (t[o] === '\n') line++;
        }
      }),
      { numRuns: 300 },
    );
  });

  it('indexes a large artifact without making its lines', () => {
    const t = Array.from({ length: 200_000 }, (_, i) => `[0:0] -A cali-fw-${i} -j ACCEPT`).join('\n');
    const r = RawLines.of(t);
    expect(r.count).toBe(200_000);
    expect(r.line(123_457)).toBe('[0:0] -A cali-fw-123456 -j ACCEPT');
    expect(r.lineAt(t.indexOf('cali-fw-199999'))).toBe(200_000);
  });
});
