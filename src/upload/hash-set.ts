/**
 * A set of 64-bit hashes in one open-addressing table (two Uint32 words per slot, linear probing in Robin Hood order), for spotting
 * repeated values in files of any length without keeping the values. Callers that know how many
 * values to expect size it once (`initialSlots`, e.g. from the file's size), so it seldom has to grow;
 * otherwise it grows by doubling when it is 3/4 full, so it costs 8 bytes per slot: 10.7 to 21.3 bytes per distinct value, 11-21 MB
 * per million (plus a short-lived second table while it grows). A `limit` bounds it: past that
 * many distinct values `add` stops remembering new ones and says so.
 *
 * Two different values share a hash with probability about n^2 / 2^65 (3 in a million at ten
 * million values), in which case the second is wrongly reported as a repeat.
 *
 * Once the set is at its limit nothing more goes in, and in a long file nearly every lookup from
 * then on is of a value that is not there (bench item 5: 15 million rows, the table full after
 * 786,432). Those lookups first read one bit of a filter built then, a bit per remembered value's
 * hash in about 8 bits per value (1 MiB at the default limit, small enough to stay in the CPU's
 * cache where the 8 MiB table does not): a clear bit says "not there" for about 9 lookups in 10
 * without touching the table. A set bit may be another value's, so the table decides; the filter
 * never turns a repeat into a miss.
 */
export class HashSet64 {
  private table: Uint32Array;
  private mask: number;
  private count = 0;
  /** True once a value was not remembered because the set was at its limit. */
  saturated = false;
  /** What addAll's touch loop read, kept so the compiler cannot drop the loop. */
  private touched = 0;
  /** Built when the set reaches its limit: bit (hi >>> filterShift) set for each value in the table. */
  private filter: Int32Array | undefined;
  private filterShift = 32;

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

  /** Bytes held by the table (and the filter, once built) right now. */
  get bytes(): number {
    return this.table.byteLength + (this.filter?.byteLength ?? 0);
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
    const filter = this.filter;
    let touched = 0;
    if (filter) {
      const shift = this.filterShift;
      for (let i = 0; i < n * 2; i += 2) touched ^= filter[((hashes[i] as number) >>> shift) >>> 5] as number;
    } else {
      for (let i = 0; i < n * 2; i += 2) touched ^= table[homeSlot(hashes[i] as number, hashes[i + 1] as number, mask) * 2] as number;
    }
    this.touched = touched;
    let repeats = 0;
    for (let i = 0; i < n * 2; i += 2) if (this.add(hashes[i] as number, hashes[i + 1] as number)) repeats += 1;
    return repeats;
  }

  add(hi: number, lo: number): boolean {
    // (0, 0) marks an empty slot; the one value hashing to it is stored as (0, 1).
    if (hi === 0 && lo === 0) lo = 1;
    const filter = this.filter;
    if (filter) {
      const bit = hi >>> this.filterShift;
      if (((filter[bit >>> 5] as number) & (1 << (bit & 31))) === 0) return false;
    }
    const table = this.table;
    const mask = this.mask;
    let slot = homeSlot(hi, lo, mask);
    // Robin Hood order: along a run of full slots the values lie in the order of their home
    // slots, so a value nearer its home than this one is to its own says this one is not in the
    // table. A miss then reads about as many slots as a hit (about 2.5 at 3/4 load, against 8.5
    // for plain linear probing), and once the set is at its limit nearly every new email is a miss.
    for (let distance = 0; ; distance++, slot = (slot + 1) & mask) {
      const h = table[slot * 2] as number;
      const l = table[slot * 2 + 1] as number;
      if (h === 0 && l === 0) break;
      if (h === hi && l === lo) return true;
      if (((slot - homeSlot(h, l, mask)) & mask) < distance) break;
    }
    if (this.count >= this.limit) {
      this.saturated = true;
      this.filter ??= this.buildFilter();
      return false;
    }
    // In at the slot the search stopped at; the rest of the run moves one slot on, in its order.
    for (;;) {
      const h = table[slot * 2] as number;
      const l = table[slot * 2 + 1] as number;
      table[slot * 2] = hi;
      table[slot * 2 + 1] = lo;
      if (h === 0 && l === 0) break;
      hi = h;
      lo = l;
      slot = (slot + 1) & mask;
    }
    this.count += 1;
    if (this.count * 4 > (mask + 1) * 3) this.grow();
    return false;
  }

  /** The filter of the values in the table (see the top of the file): 8 or more bits per value, a power of two. */
  private buildFilter(): Int32Array {
    let bits = 1024;
    while (bits < this.count * 8 && bits < 2 ** 31) bits *= 2;
    this.filterShift = 32 - Math.log2(bits);
    const filter = new Int32Array(bits / 32);
    const table = this.table;
    for (let i = 0; i < table.length; i += 2) {
      const h = table[i] as number;
      if (h === 0 && table[i + 1] === 0) continue;
      const bit = h >>> this.filterShift;
      filter[bit >>> 5] = (filter[bit >>> 5] as number) | (1 << (bit & 31));
    }
    return filter;
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
 * Two different 32-bit hashes of the value's code units, as the high and low words of one 64-bit
 * hash. Not cryptographic: it only has to spread distinct emails apart. The units are taken four
 * at a time, one byte each (a unit above 0xFF folds into its neighbours), and each word of four is
 * mixed into both halves: MurmurHash3's x86_32 block step into one, xxHash32's round into the
 * other, with the length in both seeds (so the last, zero-padded word is never ambiguous) and
 * each's finaliser. Mixing per word, not per byte, makes each half's chain of dependent
 * multiplications a quarter as long: the email's hash was a fifth of the CSV check (issue #14).
 * email-bytes.ts hashes an email's bytes the same way (hashLowercasedBytes).
 */
export function hash64(value: string): [number, number] {
  const n = value.length;
  let a = seedA(n);
  let b = seedB(n);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const w = (((((value.charCodeAt(i) << 8) ^ value.charCodeAt(i + 1)) << 8) ^ value.charCodeAt(i + 2)) << 8) ^ value.charCodeAt(i + 3);
    a = mixA(a, w);
    b = mixB(b, w);
  }
  if (i < n) {
    let w = 0;
    for (; i < n; i++) w = (w << 8) ^ value.charCodeAt(i);
    a = mixA(a, w);
    b = mixB(b, w);
  }
  return [finishA(a), finishB(b)];
}

export function seedA(length: number): number {
  return 0x811c9dc5 ^ length;
}

export function seedB(length: number): number {
  return Math.imul(0x01000193 ^ length, 0x9e3779b1);
}

/** MurmurHash3 x86_32's block step. */
export function mixA(h: number, w: number): number {
  let k = Math.imul(w, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  h ^= Math.imul(k, 0x1b873593);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** xxHash32's round. */
export function mixB(h: number, w: number): number {
  h = (h + Math.imul(w, 0x85ebca77)) | 0;
  h = (h << 13) | (h >>> 19);
  return Math.imul(h, 0x9e3779b1);
}

/** MurmurHash3's fmix32. */
export function finishA(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** xxHash32's avalanche. */
export function finishB(h: number): number {
  h ^= h >>> 15;
  h = Math.imul(h, 0x85ebca77);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae3d);
  h ^= h >>> 16;
  return h >>> 0;
}
