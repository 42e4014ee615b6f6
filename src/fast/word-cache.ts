/**
 * The BPE encoder's memo of merged words: pre-tokenized word (its code points) → token ids. FAST strings
 * repeat the same few words (runs of the zero coefficient, small values) across chunks, so after warm-up
 * most words skip the merge loop. Open addressing over typed arrays: no string keys, no per-word objects.
 * Bounded: when full it starts over empty, which costs misses, never correctness.
 */

const EMPTY = 0;

export interface WordCacheStats {
  hits: number;
  misses: number;
  entries: number;
}

export class WordCache {
  /** Longest word (in code points) worth remembering; longer ones are merged every time. */
  readonly maxWordLength: number;
  private readonly maxEntries: number;
  /** Entry index + 1 per slot (0 = empty); the slot count is a power of two, at least twice `maxEntries`. */
  private readonly slots: Int32Array;
  private readonly mask: number;
  private readonly hashes: Int32Array;
  private readonly keyStarts: Int32Array;
  private readonly keyLengths: Int32Array;
  private readonly valueStarts: Int32Array;
  private readonly valueLengths: Int32Array;
  /** Code points of the cached words, back to back; grows by doubling up to `arenaLimit`. */
  private keys: Int32Array = new Int32Array(4096);
  /** Their token ids, back to back. */
  private values: Int32Array = new Int32Array(4096);
  private readonly arenaLimit: number;
  private count = 0;
  private keyUsed = 0;
  private valueUsed = 0;
  hits = 0;
  misses = 0;

  constructor(maxEntries = 1 << 15, maxWordLength = 256) {
    this.maxEntries = Math.max(1, maxEntries);
    this.maxWordLength = maxWordLength;
    let slotCount = 16;
    while (slotCount < 2 * this.maxEntries) slotCount *= 2;
    this.slots = new Int32Array(slotCount);
    this.mask = slotCount - 1;
    this.hashes = new Int32Array(this.maxEntries);
    this.keyStarts = new Int32Array(this.maxEntries);
    this.keyLengths = new Int32Array(this.maxEntries);
    this.valueStarts = new Int32Array(this.maxEntries);
    this.valueLengths = new Int32Array(this.maxEntries);
    this.arenaLimit = Math.max(4096, this.maxEntries * 32);
  }

  get size(): number {
    return this.count;
  }

  stats(): WordCacheStats {
    return { hits: this.hits, misses: this.misses, entries: this.count };
  }

  clear(): void {
    this.slots.fill(EMPTY);
    this.count = 0;
    this.keyUsed = 0;
    this.valueUsed = 0;
  }

  /**
   * Appends the ids cached for `codePoints[start..end)` (whose `wordHash` is `hash`) to `out` and returns
   * true, or returns false when the word is not cached.
   */
  appendIfCached(codePoints: ArrayLike<number>, start: number, end: number, hash: number, out: number[]): boolean {
    const length = end - start;
    const keys = this.keys;
    for (let slot = hash & this.mask; ; slot = (slot + 1) & this.mask) {
      const entry = this.slots[slot]! - 1;
      if (entry < 0) {
        this.misses++;
        return false;
      }
      if (this.hashes[entry] !== hash || this.keyLengths[entry] !== length) continue;
      const keyStart = this.keyStarts[entry]!;
      let i = 0;
      while (i < length && keys[keyStart + i] === codePoints[start + i]) i++;
      if (i < length) continue;
      const values = this.values;
      const valueStart = this.valueStarts[entry]!;
      const valueEnd = valueStart + this.valueLengths[entry]!;
      for (let v = valueStart; v < valueEnd; v++) out.push(values[v]!);
      this.hits++;
      return true;
    }
  }

  /** Remembers `ids[0..idCount)` for the word `codePoints[start..end)`, known not to be cached yet. */
  insert(codePoints: ArrayLike<number>, start: number, end: number, hash: number, ids: Int32Array, idCount: number): void {
    const length = end - start;
    if (length > this.maxWordLength) return;
    if (this.count >= this.maxEntries || this.keyUsed + length > this.arenaLimit || this.valueUsed + idCount > this.arenaLimit) this.clear();
    this.keys = ensureCapacity(this.keys, this.keyUsed + length);
    this.values = ensureCapacity(this.values, this.valueUsed + idCount);
    const entry = this.count++;
    this.hashes[entry] = hash;
    this.keyStarts[entry] = this.keyUsed;
    this.keyLengths[entry] = length;
    this.valueStarts[entry] = this.valueUsed;
    this.valueLengths[entry] = idCount;
    for (let i = 0; i < length; i++) this.keys[this.keyUsed + i] = codePoints[start + i]!;
    for (let i = 0; i < idCount; i++) this.values[this.valueUsed + i] = ids[i]!;
    this.keyUsed += length;
    this.valueUsed += idCount;
    let slot = hash & this.mask;
    while (this.slots[slot] !== EMPTY) slot = (slot + 1) & this.mask;
    this.slots[slot] = entry + 1;
  }
}

function ensureCapacity(array: Int32Array, needed: number): Int32Array {
  if (needed <= array.length) return array;
  let length = array.length;
  while (length < needed) length *= 2;
  const grown = new Int32Array(length);
  grown.set(array);
  return grown;
}

/** Hash of the code points `codePoints[start..end)`: FNV-1a over 32-bit values, then a murmur finalizer. */
export function wordHash(codePoints: ArrayLike<number>, start: number, end: number): number {
  let hash = 0x811c9dc5 ^ (end - start);
  for (let i = start; i < end; i++) {
    hash = Math.imul(hash ^ codePoints[i]!, 0x01000193);
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  return hash;
}
