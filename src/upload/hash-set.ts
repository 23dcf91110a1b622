/**
 * A set of 64-bit hashes in one open-addressing table (two Uint32 words per slot), for spotting
 * repeated values in files of any length without keeping the values. Callers that know how many
 * values to expect size it once (`initialSlots`, e.g. from the file's size), so it seldom has to grow;
 * otherwise it grows by doubling when it is 3/4 full, so it costs 8 bytes per slot: 10.7 to 21.3 bytes per distinct value, 11-21 MB
 * per million (plus a short-lived second table while it grows). A `limit` bounds it: past that
 * many distinct values `add` stops remembering new ones and says so.
 *
 * Two different values share a hash with probability about n^2 / 2^65 (3 in a million at ten
 * million values), in which case the second is wrongly reported as a repeat.
 */
export class HashSet64 {
  private table: Uint32Array;
  private mask: number;
  private count = 0;
  /** True once a value was not remembered because the set was at its limit. */
  saturated = false;
  /** What addAll's touch loop read, kept so the compiler cannot drop the loop. */
  private touched = 0;

  constructor(
    readonly limit = 5_000_000,
    initialSlots = 1024,
  ) {
    let slots = 16;
    while (slots < initialSlots) slots *= 2;
    this.table = new Uint32Array(slots * 2);
    this.mask = slots - 1;
  }

  get size(): number {
    return this.count;
  }

  /** Bytes held by the table right now. */
  get bytes(): number {
    return this.table.byteLength;
  }

  /** Adds the value's hash. Returns true when it was already there (a repeat). */
  addString(value: string): boolean {
    const [hi, lo] = hash64(value);
    return this.add(hi, lo);
  }

  /**
   * `add` for each of the first `n` (hi, lo) pairs of `hashes`, in order; returns how many were
   * repeats. Same result as n calls to `add`, but first it reads each value's home slot in a loop
   * of independent loads, so the CPU fetches their cache lines side by side instead of one cache
   * miss after another (the table is megabytes, the rows' own bytes keep evicting it; bench item 5).
   */
  addAll(hashes: Uint32Array, n: number): number {
    const table = this.table;
    const mask = this.mask;
    let touched = 0;
    for (let i = 0; i < n * 2; i += 2) touched ^= table[homeSlot(hashes[i] as number, hashes[i + 1] as number, mask) * 2] as number;
    this.touched = touched;
    let repeats = 0;
    for (let i = 0; i < n * 2; i += 2) if (this.add(hashes[i] as number, hashes[i + 1] as number)) repeats += 1;
    return repeats;
  }

  add(hi: number, lo: number): boolean {
    // (0, 0) marks an empty slot; the one value hashing to it is stored as (0, 1).
    if (hi === 0 && lo === 0) lo = 1;
    let slot = homeSlot(hi, lo, this.mask);
    for (;;) {
      const h = this.table[slot * 2] as number;
      const l = this.table[slot * 2 + 1] as number;
      if (h === 0 && l === 0) break;
      if (h === hi && l === lo) return true;
      slot = (slot + 1) & this.mask;
    }
    if (this.count >= this.limit) {
      this.saturated = true;
      return false;
    }
    this.table[slot * 2] = hi;
    this.table[slot * 2 + 1] = lo;
    this.count += 1;
    if (this.count * 4 > (this.mask + 1) * 3) this.grow();
    return false;
  }

  private grow(): void {
    const old = this.table;
    const slots = (this.mask + 1) * 2;
    this.table = new Uint32Array(slots * 2);
    this.mask = slots - 1;
    this.count = 0;
    for (let i = 0; i < old.length; i += 2) {
      const h = old[i] as number;
      const l = old[i + 1] as number;
      if (h !== 0 || l !== 0) this.add(h, l);
    }
  }
}

/** Where the probe for a value starts. */
function homeSlot(hi: number, lo: number, mask: number): number {
  return (lo ^ Math.imul(hi, 0x9e3779b1)) & mask;
}

/**
 * Two independent 32-bit FNV-1a style hashes over the UTF-16 code units, as the high and low
 * words of one 64-bit hash. Not cryptographic: it only has to spread distinct emails apart.
 */
export function hash64(value: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ value.length;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  // A final mix so short strings differing in one character differ in every bit.
  a ^= a >>> 16;
  a = Math.imul(a, 0x85ebca6b);
  a ^= a >>> 13;
  b ^= b >>> 16;
  b = Math.imul(b, 0xc2b2ae35);
  b ^= b >>> 16;
  return [a >>> 0, b >>> 0];
}
