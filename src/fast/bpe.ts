/**
 * A byte-level BPE model in Hugging Face's `tokenizer.json` form (model `BPE`, ByteLevel pre-tokenizer
 * and decoder, no normalizer, no special tokens) — the tokenizer FAST trains. Encoding applies merges
 * lowest rank first, leftmost first, within each pre-tokenized word, as `tokenizers` does; the `tokenizers`
 * binding itself is used to load and cross-check artifacts (its encode is asynchronous, and the policy
 * decodes on its control path synchronously).
 */
import { BYTE_TO_CHAR, pushUtf8, splitWordsInto, tokenToBytes } from "./byte-level.js";
import { WordCache, wordHash, type WordCacheStats } from "./word-cache.js";

const fatalDecoder = new TextDecoder("utf-8", { fatal: true });

/** A pair of token ids, packed so that numeric order is the lexicographic order of `(left, right)`. */
export function pairKey(left: number, right: number): number {
  return left * 0x200000 + right;
}

/** Hash of a pair of ids for the merge table. */
function pairHash(left: number, right: number): number {
  let hash = Math.imul(left, 0x9e3779b1) ^ right;
  hash = Math.imul(hash ^ (hash >>> 15), 0x85ebca6b);
  return hash ^ (hash >>> 13);
}

/** Heap entries are rank · POSITION_SPAN + position (words are far shorter than 2^22 bytes). */
const POSITION_SPAN = 0x400000;

function heapPush(heap: Float64Array, size: number, value: number): void {
  let i = size;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (heap[parent]! <= value) break;
    heap[i] = heap[parent]!;
    i = parent;
  }
  heap[i] = value;
}

/** Removes the top of a heap of `size` entries; returns the new size. */
function heapPop(heap: Float64Array, size: number): number {
  const last = heap[--size]!;
  if (size > 0) {
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= size) break;
      const child = left + 1 < size && heap[left + 1]! < heap[left]! ? left + 1 : left;
      if (heap[child]! >= last) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = last;
  }
  return size;
}

export interface BpeMerge {
  readonly left: number;
  readonly right: number;
  /** The id of the merged token. */
  readonly merged: number;
}

/** Thrown by `BpeModel.fromTokenizerJson` for anything that is not a FAST byte-level BPE; carries the field. */
export class TokenizerJsonError extends Error {
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`);
  }
}

export class BpeModel {
  /** Token string by id. */
  readonly vocab: readonly string[];
  /** Merges in rank order. */
  readonly merges: readonly BpeMerge[];
  private readonly ids: Map<string, number>;
  /**
   * The merges as an open-addressing table: slot → left id (-1 = empty), right id, rank, merged id. A pair
   * listed twice keeps its last rank, as the map `tokenizers` builds in order does.
   */
  private readonly mergeLeft: Int32Array;
  private readonly mergeRight: Int32Array;
  private readonly mergeRank: Int32Array;
  private readonly mergeResult: Int32Array;
  private readonly mergeMask: number;
  /** Vocabulary id of each byte's single-character token, or -1 when the vocabulary lacks it. */
  private readonly byteIds: Int32Array;
  /** Word → ids memo; null when disabled. */
  private readonly wordCache: WordCache | null;
  // Scratch for one encode call (encoding is synchronous, so one set per model).
  private wordEnds = new Int32Array(256);
  private symbols = new Int32Array(64);
  private nextSymbol = new Int32Array(64);
  private prevSymbol = new Int32Array(64);
  private alive = new Uint8Array(64);
  private heap = new Float64Array(192);
  private tokenBytesCache: Uint8Array[] | undefined;
  private tokenCodePointsCache: (Int32Array | null)[] | undefined;

  /**
   * `options.wordCacheEntries` bounds the word → ids memo (default 32768 words; 0 turns it off). The memo
   * only saves time: ids are the same with it or without it.
   */
  constructor(vocab: readonly string[], merges: readonly BpeMerge[], options: { wordCacheEntries?: number } = {}) {
    this.vocab = vocab;
    this.merges = merges;
    this.ids = new Map(vocab.map((token, id) => [token, id]));
    let slotCount = 16;
    while (slotCount < 2 * merges.length) slotCount *= 2;
    this.mergeMask = slotCount - 1;
    this.mergeLeft = new Int32Array(slotCount).fill(-1);
    this.mergeRight = new Int32Array(slotCount);
    this.mergeRank = new Int32Array(slotCount);
    this.mergeResult = new Int32Array(slotCount);
    merges.forEach((merge, rank) => {
      let slot = pairHash(merge.left, merge.right) & this.mergeMask;
      while (this.mergeLeft[slot] !== -1 && (this.mergeLeft[slot] !== merge.left || this.mergeRight[slot] !== merge.right)) slot = (slot + 1) & this.mergeMask;
      this.mergeLeft[slot] = merge.left;
      this.mergeRight[slot] = merge.right;
      this.mergeRank[slot] = rank;
      this.mergeResult[slot] = merge.merged;
    });
    this.byteIds = Int32Array.from(BYTE_TO_CHAR, (char) => this.ids.get(char) ?? -1);
    const cacheEntries = options.wordCacheEntries ?? 1 << 15;
    this.wordCache = cacheEntries > 0 ? new WordCache(cacheEntries) : null;
  }

  get size(): number {
    return this.vocab.length;
  }

  idOf(token: string): number | undefined {
    return this.ids.get(token);
  }

  /** False when a byte of the code point's UTF-8 has no token: `encodeCodePoints` would drop it. */
  canEncode(codePoint: number): boolean {
    const bytes: number[] = [];
    pushUtf8(bytes, codePoint);
    return bytes.every((byte) => this.byteIds[byte]! >= 0);
  }

  /**
   * Token ids of a code-point sequence: split into words, each word's UTF-8 bytes merged.
   * Bytes missing from the vocabulary are dropped, as `tokenizers` does without an unknown token.
   */
  encodeCodePoints(codePoints: ArrayLike<number>, out: number[] = []): number[] {
    const length = codePoints.length;
    for (let i = 0; i < length; i++) {
      const codePoint = codePoints[i]!;
      if (codePoint >>> 0 !== codePoint || codePoint > 0x10ffff) throw new RangeError(`Invalid code point ${codePoint}`);
    }
    if (this.wordEnds.length < length) this.wordEnds = new Int32Array(length);
    const ends = this.wordEnds;
    const wordCount = splitWordsInto(codePoints, length, ends);
    const cache = this.wordCache;
    let start = 0;
    for (let w = 0; w < wordCount; w++) {
      const end = ends[w]!;
      const hash = cache === null ? 0 : wordHash(codePoints, start, end);
      if (cache === null || !cache.appendIfCached(codePoints, start, end, hash, out)) {
        const count = this.mergeWord(codePoints, start, end);
        const symbols = this.symbols;
        for (let i = 0; i < count; i++) out.push(symbols[i]!);
        cache?.insert(codePoints, start, end, hash, symbols, count);
      }
      start = end;
    }
    return out;
  }

  /** Hits, misses and size of the word memo (zeros when it is off). */
  wordCacheStats(): WordCacheStats {
    return this.wordCache?.stats() ?? { hits: 0, misses: 0, entries: 0 };
  }

  /** Slot of the merge of `(left, right)`, or -1. */
  private findMerge(left: number, right: number): number {
    const mergeLeft = this.mergeLeft;
    for (let slot = pairHash(left, right) & this.mergeMask; ; slot = (slot + 1) & this.mergeMask) {
      const slotLeft = mergeLeft[slot]!;
      if (slotLeft === left && this.mergeRight[slot] === right) return slot;
      if (slotLeft === -1) return -1;
    }
  }

  /** Queues the merge of the symbol at `position` with its right neighbour, if there is one. */
  private queueMerge(position: number, heapSize: number): number {
    const right = this.nextSymbol[position]!;
    if (right < 0) return heapSize;
    const slot = this.findMerge(this.symbols[position]!, this.symbols[right]!);
    if (slot < 0) return heapSize;
    heapPush(this.heap, heapSize, this.mergeRank[slot]! * POSITION_SPAN + position);
    return heapSize + 1;
  }

  /**
   * Merges one word (`codePoints[start..end)`, as UTF-8 bytes) as `tokenizers`' `Word::merge_all` does: a
   * min-heap of candidate merges ordered by (rank, position), stale entries skipped, new neighbours queued
   * after each merge. Leaves the ids in `this.symbols[0..count)` and returns `count`.
   */
  private mergeWord(codePoints: ArrayLike<number>, start: number, end: number): number {
    const capacity = 4 * (end - start);
    if (this.symbols.length < capacity) {
      let length = this.symbols.length;
      while (length < capacity) length *= 2;
      this.symbols = new Int32Array(length);
      this.nextSymbol = new Int32Array(length);
      this.prevSymbol = new Int32Array(length);
      this.alive = new Uint8Array(length);
      this.heap = new Float64Array(3 * length);
    }
    const symbols = this.symbols;
    const byteIds = this.byteIds;
    let n = 0;
    for (let i = start; i < end; i++) {
      const codePoint = codePoints[i]!;
      let id: number;
      if (codePoint < 0x80) {
        if ((id = byteIds[codePoint]!) >= 0) symbols[n++] = id;
      } else if (codePoint < 0x800) {
        if ((id = byteIds[0xc0 | (codePoint >> 6)]!) >= 0) symbols[n++] = id;
        if ((id = byteIds[0x80 | (codePoint & 0x3f)]!) >= 0) symbols[n++] = id;
      } else if (codePoint < 0x10000) {
        if ((id = byteIds[0xe0 | (codePoint >> 12)]!) >= 0) symbols[n++] = id;
        if ((id = byteIds[0x80 | ((codePoint >> 6) & 0x3f)]!) >= 0) symbols[n++] = id;
        if ((id = byteIds[0x80 | (codePoint & 0x3f)]!) >= 0) symbols[n++] = id;
      } else {
        if ((id = byteIds[0xf0 | (codePoint >> 18)]!) >= 0) symbols[n++] = id;
        if ((id = byteIds[0x80 | ((codePoint >> 12) & 0x3f)]!) >= 0) symbols[n++] = id;
        if ((id = byteIds[0x80 | ((codePoint >> 6) & 0x3f)]!) >= 0) symbols[n++] = id;
        if ((id = byteIds[0x80 | (codePoint & 0x3f)]!) >= 0) symbols[n++] = id;
      }
    }
    if (n < 2) return n;
    const next = this.nextSymbol;
    const prev = this.prevSymbol;
    const alive = this.alive;
    for (let i = 0; i < n; i++) {
      next[i] = i + 1 < n ? i + 1 : -1;
      prev[i] = i - 1;
      alive[i] = 1;
    }
    const heap = this.heap;
    let heapSize = 0;
    for (let i = 0; i + 1 < n; i++) heapSize = this.queueMerge(i, heapSize);
    while (heapSize > 0) {
      const entry = heap[0]!;
      heapSize = heapPop(heap, heapSize);
      const rank = Math.floor(entry / POSITION_SPAN) | 0;
      const position = (entry - rank * POSITION_SPAN) | 0;
      const right = next[position]!;
      if (!alive[position] || right < 0) continue;
      const slot = this.findMerge(symbols[position]!, symbols[right]!);
      if (slot < 0 || this.mergeRank[slot] !== rank) continue;
      symbols[position] = this.mergeResult[slot]!;
      alive[right] = 0;
      const after = next[right]!;
      next[position] = after;
      if (after >= 0) prev[after] = position;
      if (prev[position]! >= 0) heapSize = this.queueMerge(prev[position]!, heapSize);
      heapSize = this.queueMerge(position, heapSize);
    }
    let count = 0;
    for (let i = 0; i < n; i++) if (alive[i]) symbols[count++] = symbols[i]!;
    return count;
  }

  /** The bytes each id stands for (ByteLevel decoding of the token string), indexed by id. */
  tokenBytes(): Uint8Array[] {
    this.tokenBytesCache ??= this.vocab.map(tokenToBytes);
    return this.tokenBytesCache;
  }

  /**
   * Per id, the code points its bytes spell when they are complete UTF-8 on their own (null otherwise):
   * a sequence of such ids decodes without a UTF-8 decoder, since valid pieces concatenate validly.
   */
  tokenCodePoints(): (Int32Array | null)[] {
    this.tokenCodePointsCache ??= this.tokenBytes().map((bytes) => {
      try {
        const text = fatalDecoder.decode(bytes);
        return Int32Array.from(text, (char) => char.codePointAt(0)!);
      } catch {
        return null;
      }
    });
    return this.tokenCodePointsCache;
  }

  /** Hugging Face's `tokenizer.json` for this model, pretty-printed as `tokenizers` saves it. */
  toTokenizerJson(): string {
    const vocab: Record<string, number> = {};
    this.vocab.forEach((token, id) => (vocab[token] = id));
    const byteLevel = (addPrefixSpace: boolean, trimOffsets: boolean) => ({ type: "ByteLevel", add_prefix_space: addPrefixSpace, trim_offsets: trimOffsets, use_regex: true });
    const json = {
      version: "1.0",
      truncation: null,
      padding: null,
      added_tokens: [],
      normalizer: null,
      pre_tokenizer: byteLevel(false, true),
      post_processor: byteLevel(true, false),
      decoder: byteLevel(true, true),
      model: {
        type: "BPE",
        dropout: null,
        unk_token: null,
        continuing_subword_prefix: null,
        end_of_word_suffix: null,
        fuse_unk: false,
        byte_fallback: false,
        ignore_merges: false,
        vocab,
        merges: this.merges.map((merge) => [this.vocab[merge.left], this.vocab[merge.right]]),
      },
    };
    return `${JSON.stringify(json, null, 2)}\n`;
  }

  /**
   * Reads a parsed `tokenizer.json`, checking it is the tokenizer FAST uses: BPE, ByteLevel pre-tokenizer
   * without prefix space and with the regex, ByteLevel decoder, no normalizer, no added tokens, no dropout.
   */
  static fromTokenizerJson(json: unknown): BpeModel {
    const root = asRecord(json, "(top level)");
    if (root.normalizer !== null && root.normalizer !== undefined) throw new TokenizerJsonError("normalizer", `expected null, found ${JSON.stringify(root.normalizer).slice(0, 60)}`);
    const pre = asRecord(root.pre_tokenizer, "pre_tokenizer");
    if (pre.type !== "ByteLevel") throw new TokenizerJsonError("pre_tokenizer.type", `expected "ByteLevel", found ${JSON.stringify(pre.type)}`);
    if (pre.add_prefix_space !== false) throw new TokenizerJsonError("pre_tokenizer.add_prefix_space", `expected false, found ${JSON.stringify(pre.add_prefix_space)}`);
    if (pre.use_regex === false) throw new TokenizerJsonError("pre_tokenizer.use_regex", "expected true (the GPT-2 split), found false");
    const decoder = asRecord(root.decoder, "decoder");
    if (decoder.type !== "ByteLevel") throw new TokenizerJsonError("decoder.type", `expected "ByteLevel", found ${JSON.stringify(decoder.type)}`);
    if (Array.isArray(root.added_tokens) && root.added_tokens.length > 0) throw new TokenizerJsonError("added_tokens", `expected none (FAST has no special tokens), found ${root.added_tokens.length}`);
    const model = asRecord(root.model, "model");
    if (model.type !== undefined && model.type !== "BPE") throw new TokenizerJsonError("model.type", `expected "BPE", found ${JSON.stringify(model.type)}`);
    if (model.dropout !== null && model.dropout !== undefined) throw new TokenizerJsonError("model.dropout", `expected null, found ${JSON.stringify(model.dropout)}`);
    for (const field of ["continuing_subword_prefix", "end_of_word_suffix"] as const) {
      if (model[field] !== null && model[field] !== undefined && model[field] !== "") throw new TokenizerJsonError(`model.${field}`, `expected null, found ${JSON.stringify(model[field])}`);
    }
    const vocabObject = asRecord(model.vocab, "model.vocab");
    const entries = Object.entries(vocabObject);
    const vocab = new Array<string>(entries.length);
    for (const [token, id] of entries) {
      if (typeof id !== "number" || !Number.isInteger(id) || id < 0 || id >= entries.length || vocab[id] !== undefined) {
        throw new TokenizerJsonError(`model.vocab[${JSON.stringify(token)}]`, `expected a unique id in 0..${entries.length - 1}, found ${JSON.stringify(id)}`);
      }
      vocab[id] = token;
    }
    if (!Array.isArray(model.merges)) throw new TokenizerJsonError("model.merges", "expected an array of merges");
    const ids = new Map(vocab.map((token, id) => [token, id]));
    const merges = model.merges.map((entry: unknown, rank: number): BpeMerge => {
      // Older files spell a merge "left right"; byte-level tokens never contain a space.
      const pair = typeof entry === "string" ? entry.split(" ") : entry;
      if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== "string" || typeof pair[1] !== "string") {
        throw new TokenizerJsonError(`model.merges[${rank}]`, `expected a pair of tokens, found ${JSON.stringify(entry).slice(0, 60)}`);
      }
      const [leftToken, rightToken] = pair as [string, string];
      const left = ids.get(leftToken);
      const right = ids.get(rightToken);
      const merged = ids.get(leftToken + rightToken);
      if (left === undefined || right === undefined || merged === undefined) {
        throw new TokenizerJsonError(`model.merges[${rank}]`, `merge ${JSON.stringify(pair)} names a token missing from model.vocab`);
      }
      return { left, right, merged };
    });
    return new BpeModel(vocab, merges);
  }
}

function asRecord(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new TokenizerJsonError(field, `expected an object, found ${JSON.stringify(value)?.slice(0, 60)}`);
  return value as Record<string, unknown>;
}
