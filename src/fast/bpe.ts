/**
 * A byte-level BPE model in Hugging Face's `tokenizer.json` form (model `BPE`, ByteLevel pre-tokenizer
 * and decoder, no normalizer, no special tokens) — the tokenizer FAST trains. Encoding applies merges
 * lowest rank first, leftmost first, within each pre-tokenized word, as `tokenizers` does; the `tokenizers`
 * binding itself is used to load and cross-check artifacts (its encode is asynchronous, and the policy
 * decodes on its control path synchronously).
 */
import { BYTE_TO_CHAR, pushUtf8, splitWords, tokenToBytes } from "./byte-level.js";

const fatalDecoder = new TextDecoder("utf-8", { fatal: true });

/** A pair of token ids, packed so that numeric order is the lexicographic order of `(left, right)`. */
export function pairKey(left: number, right: number): number {
  return left * 0x200000 + right;
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
  /** pairKey → rank * 2^21 + merged id, one lookup per candidate pair. */
  private readonly mergeTable: Map<number, number>;
  /** Vocabulary id of each byte's single-character token, or -1 when the vocabulary lacks it. */
  private readonly byteIds: Int32Array;
  private readonly wordCache = new Map<string, number[]>();
  private tokenBytesCache: Uint8Array[] | undefined;
  private tokenCodePointsCache: (Int32Array | null)[] | undefined;

  constructor(vocab: readonly string[], merges: readonly BpeMerge[]) {
    this.vocab = vocab;
    this.merges = merges;
    this.ids = new Map(vocab.map((token, id) => [token, id]));
    this.mergeTable = new Map();
    merges.forEach((merge, rank) => {
      const key = pairKey(merge.left, merge.right);
      // A repeated pair takes its last rank, as the map `tokenizers` builds in order does.
      this.mergeTable.set(key, rank * 0x200000 + merge.merged);
    });
    this.byteIds = Int32Array.from(BYTE_TO_CHAR, (char) => this.ids.get(char) ?? -1);
  }

  get size(): number {
    return this.vocab.length;
  }

  idOf(token: string): number | undefined {
    return this.ids.get(token);
  }

  /**
   * Token ids of a code-point sequence: split into words, each word's UTF-8 bytes merged.
   * Bytes missing from the vocabulary are dropped, as `tokenizers` does without an unknown token.
   */
  encodeCodePoints(codePoints: ArrayLike<number>, out: number[] = []): number[] {
    let text = "";
    for (let i = 0; i < codePoints.length; i += 4096) {
      const piece = Array.prototype.slice.call(codePoints, i, i + 4096) as number[];
      text += String.fromCodePoint(...piece);
    }
    let start = 0;
    let charStart = 0;
    const bytes: number[] = [];
    for (const end of splitWords(codePoints)) {
      let charEnd = charStart;
      for (let i = start; i < end; i++) charEnd += codePoints[i]! > 0xffff ? 2 : 1;
      const key = text.slice(charStart, charEnd);
      let word = this.wordCache.get(key);
      if (word === undefined) {
        bytes.length = 0;
        for (let i = start; i < end; i++) pushUtf8(bytes, codePoints[i]!);
        word = this.mergeWord(bytes);
        if (this.wordCache.size > 100_000) this.wordCache.clear();
        this.wordCache.set(key, word);
      }
      for (let i = 0; i < word.length; i++) out.push(word[i]!);
      start = end;
      charStart = charEnd;
    }
    return out;
  }

  /**
   * Applies merges to one word's bytes as `tokenizers`' `Word::merge_all` does: a min-heap of candidate
   * merges ordered by (rank, position), stale entries skipped, new neighbours queued after each merge.
   */
  private mergeWord(bytes: readonly number[]): number[] {
    const symbols: number[] = [];
    for (const byte of bytes) {
      const id = this.byteIds[byte]!;
      if (id >= 0) symbols.push(id);
    }
    const n = symbols.length;
    if (n < 2) return symbols;
    const next = Int32Array.from({ length: n }, (_, i) => (i + 1 < n ? i + 1 : -1));
    const prev = Int32Array.from({ length: n }, (_, i) => i - 1);
    const alive = new Uint8Array(n).fill(1);
    // Heap entries packed as rank · 2^20 + position (words are far shorter than 2^20 bytes).
    const heap: number[] = [];
    const push = (value: number) => {
      let i = heap.push(value) - 1;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (heap[parent]! <= value) break;
        heap[i] = heap[parent]!;
        i = parent;
      }
      heap[i] = value;
    };
    const pop = (): number => {
      const top = heap[0]!;
      const last = heap.pop()!;
      if (heap.length > 0) {
        let i = 0;
        for (;;) {
          const left = 2 * i + 1;
          if (left >= heap.length) break;
          const child = left + 1 < heap.length && heap[left + 1]! < heap[left]! ? left + 1 : left;
          if (heap[child]! >= last) break;
          heap[i] = heap[child]!;
          i = child;
        }
        heap[i] = last;
      }
      return top;
    };
    const queue = (position: number) => {
      const right = next[position]!;
      if (right < 0) return;
      const value = this.mergeTable.get(pairKey(symbols[position]!, symbols[right]!));
      if (value !== undefined) push(Math.floor(value / 0x200000) * 0x100000 + position);
    };
    for (let i = 0; i + 1 < n; i++) queue(i);
    while (heap.length > 0) {
      const entry = pop();
      const rank = Math.floor(entry / 0x100000);
      const position = entry % 0x100000;
      const right = next[position]!;
      if (!alive[position] || right < 0) continue;
      const value = this.mergeTable.get(pairKey(symbols[position]!, symbols[right]!));
      if (value === undefined || Math.floor(value / 0x200000) !== rank) continue;
      symbols[position] = value % 0x200000;
      alive[right] = 0;
      next[position] = next[right]!;
      if (next[position]! >= 0) prev[next[position]!] = position;
      if (prev[position]! >= 0) queue(prev[position]!);
      queue(position);
    }
    const merged: number[] = [];
    for (let i = 0; i < n; i++) if (alive[i]) merged.push(symbols[i]!);
    return merged;
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
