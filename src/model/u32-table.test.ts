import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { U32Table } from './u32-table.js';

describe('U32Table', () => {
  it('answers like a Map for any keys and values, through growth and overwrites', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.constantFrom(0, 1, 0xffffffff, 0x80000000)), fc.integer({ min: 0, max: 127 })), { maxLength: 400 }),
        fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 50 }),
        fc.nat(20),
        (entries, probes, expected) => {
          const t = new U32Table(expected);
          const m = new Map<number, number>();
          for (const [k, v] of entries) {
            t.set(k, v);
            m.set(k, v);
          }
          expect(t.size).toBe(m.size);
          for (const k of [...m.keys(), ...probes]) expect(t.get(k)).toBe(m.get(k) ?? -1);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('takes keys as uint32 (a negative int32 is the same address)', () => {
    const t = new U32Table();
    t.set(-1, 5);
    expect(t.get(0xffffffff)).toBe(5);
    expect(t.get(-1)).toBe(5);
  });

  it('refuses values it cannot store', () => {
    const t = new U32Table();
    expect(() => t.set(1, 128)).toThrow(RangeError);
    expect(() => t.set(1, -1)).toThrow(RangeError);
  });
});
