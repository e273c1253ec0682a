/**
 * A hash table from uint32 keys (IPv4 addresses) to small values (0–127), for ipset lookups the
 * engine makes for every set match of every packet. Hand-written rather than a Map because a
 * Map<number, number> costs a call into the runtime per lookup; open addressing over typed arrays
 * is a few loads, inlined into the caller. Only `set` and `get`: sets never shrink once compiled.
 */
export class U32Table {
  /** Slots of two: the key, then the value + 1 (0: empty). One array, so a lookup touches one line of memory. */
  private slots: Uint32Array;
  private shift: number;
  private mask: number;
  size = 0;

  constructor(expected = 8) {
    let bits = 3;
    while (1 << bits < expected * 2) bits++;
    this.slots = new Uint32Array(2 << bits);
    this.shift = 32 - bits;
    this.mask = (1 << bits) - 1;
  }

  /** Stores v (0–127) under key k (taken as uint32). */
  set(k: number, v: number): void {
    if (v < 0 || v > 127 || !Number.isInteger(v)) throw new RangeError(`U32Table value ${v} is not 0–127`);
    if ((this.size + 1) * 4 > this.slots.length) this.grow();
    const slots = this.slots;
    const key = k >>> 0;
    let i = Math.imul(key, 0x9e3779b1) >>> this.shift;
    for (;;) {
      const s = i << 1;
      if (slots[s + 1] === 0 || slots[s] === key) {
        if (slots[s + 1] === 0) this.size++;
        slots[s] = key;
        slots[s + 1] = v + 1;
        return;
      }
      i = (i + 1) & this.mask;
    }
  }

  /** The value under key k, or -1 when absent. */
  get(k: number): number {
    const slots = this.slots;
    const key = k >>> 0;
    let i = Math.imul(key, 0x9e3779b1) >>> this.shift;
    for (;;) {
      const s = i << 1;
      const tag = slots[s + 1];
      if (tag === 0) return -1;
      if (slots[s] === key) return tag - 1;
      i = (i + 1) & this.mask;
    }
  }

  private grow(): void {
    const old = this.slots;
    const bits = 32 - this.shift + 1;
    this.slots = new Uint32Array(2 << bits);
    this.shift = 32 - bits;
    this.mask = (1 << bits) - 1;
    this.size = 0;
    for (let s = 0; s < old.length; s += 2) if (old[s + 1] !== 0) this.set(old[s], old[s + 1] - 1);
  }
}
