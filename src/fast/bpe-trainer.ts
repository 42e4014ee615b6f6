/**
 * Hugging Face's BpeTrainer (`tokenizers` 0.23) in TypeScript, with the settings FAST trains with and the
 * npm binding cannot set: vocabulary size, `min_frequency`, an initial alphabet, `max_token_length`.
 * Same merge semantics, step for step: pair counts weighted by word count, a max-heap on
 * (count, then the smaller pair of ids), lazy re-queueing of stale counts, merges applied only to the words
 * recorded with the queue entry, and the trained vocabulary ordered as `tokenizers` orders it.
 */
import { BYTE_TO_CHAR, pushUtf8 } from "./byte-level.js";
import { BpeModel, pairKey, type BpeMerge } from "./bpe.js";

export interface BpeTrainerOptions {
  vocabSize: number;
  minFrequency: number;
  /** Code points always in the alphabet (FAST: every code point of its coefficient range). */
  initialAlphabet: Iterable<number>;
  maxTokenLength?: number;
  /** Called after each merge with the vocabulary size reached. */
  onProgress?: (vocabSize: number) => void;
}

interface QueueEntry {
  key: number;
  count: number;
  /** Indices of the words the merge is applied to (may repeat; merging twice is a no-op). */
  words: number[];
}

/** Max-heap on count, then on the smaller pair. */
class MergeQueue {
  private readonly heap: QueueEntry[] = [];

  get size(): number {
    return this.heap.length;
  }

  private before(a: QueueEntry, b: QueueEntry): boolean {
    return a.count > b.count || (a.count === b.count && a.key < b.key);
  }

  push(entry: QueueEntry): void {
    const heap = this.heap;
    let i = heap.push(entry) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(entry, heap[parent]!)) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = entry;
  }

  pop(): QueueEntry | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last !== undefined) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= heap.length) break;
        const right = left + 1;
        const child = right < heap.length && this.before(heap[right]!, heap[left]!) ? right : left;
        if (!this.before(heap[child]!, last)) break;
        heap[i] = heap[child]!;
        i = child;
      }
      heap[i] = last;
    }
    return top;
  }
}

/**
 * Trains a byte-level BPE on words (code-point strings, already split by the pre-tokenizer) with their
 * counts. The returned model's ids and merges equal those of `tokenizers`' trainer on the same words.
 */
export function trainBpe(wordCounts: ReadonlyMap<string, number>, options: BpeTrainerOptions): BpeModel {
  const maxTokenLength = options.maxTokenLength ?? Number.MAX_SAFE_INTEGER;

  // Alphabet: the byte characters of the words and the initial alphabet, ordered by code point.
  const alphabet = new Set<number>();
  const byteWords: Uint8Array[] = [];
  const counts: number[] = [];
  const bytes: number[] = [];
  for (const [word, count] of wordCounts) {
    bytes.length = 0;
    for (const char of word) pushUtf8(bytes, char.codePointAt(0)!);
    const encoded = Uint8Array.from(bytes);
    for (const byte of encoded) alphabet.add(BYTE_TO_CHAR[byte]!.codePointAt(0)!);
    byteWords.push(encoded);
    counts.push(count);
  }
  for (const codePoint of options.initialAlphabet) alphabet.add(codePoint);
  const vocab: string[] = [...alphabet].sort((a, b) => a - b).map((codePoint) => String.fromCodePoint(codePoint));
  const ids = new Map(vocab.map((token, id) => [token, id]));
  const tokenLength: number[] = vocab.map(() => 1);
  const byteId = BYTE_TO_CHAR.map((char) => ids.get(char) ?? -1);

  const words: number[][] = byteWords.map((encoded) => Array.from(encoded, (byte) => byteId[byte]!));

  // Pair counts and, per pair, the words to visit when it is merged.
  const pairCounts = new Map<number, number>();
  let whereToUpdate = new Map<number, number[]>();
  const noteWord = (key: number, wordIndex: number) => {
    const list = whereToUpdate.get(key);
    if (list === undefined) whereToUpdate.set(key, [wordIndex]);
    else if (list[list.length - 1] !== wordIndex) list.push(wordIndex);
  };
  words.forEach((symbols, wordIndex) => {
    const count = counts[wordIndex]!;
    for (let i = 0; i + 1 < symbols.length; i++) {
      const key = pairKey(symbols[i]!, symbols[i + 1]!);
      pairCounts.set(key, (pairCounts.get(key) ?? 0) + count);
      noteWord(key, wordIndex);
    }
  });

  const queue = new MergeQueue();
  const flushUpdates = () => {
    for (const [key, list] of whereToUpdate) {
      const count = pairCounts.get(key)!;
      if (count > 0) queue.push({ key, count, words: list });
    }
    whereToUpdate = new Map();
  };
  flushUpdates();

  const merges: BpeMerge[] = [];
  while (vocab.length < options.vocabSize && queue.size > 0) {
    const top = queue.pop()!;
    const current = pairCounts.get(top.key)!;
    if (top.count !== current) {
      top.count = current;
      queue.push(top);
      continue;
    }
    if (top.count < 1 || options.minFrequency > top.count) break;

    const left = Math.floor(top.key / 0x200000);
    const right = top.key % 0x200000;
    const token = vocab[left]! + vocab[right]!;
    let merged = ids.get(token);
    if (merged === undefined) {
      merged = vocab.length;
      vocab.push(token);
      ids.set(token, merged);
      tokenLength.push(tokenLength[left]! + tokenLength[right]!);
    }
    merges.push({ left, right, merged });

    const mergedLength = tokenLength[merged]!;
    for (const wordIndex of top.words) {
      const symbols = words[wordIndex]!;
      const count = counts[wordIndex]!;
      // `Word::merge`: scan left to right, merge each occurrence, report the pairs lost and formed.
      // (Inlined rather than a closure per word: this loop is the trainer's hot path.)
      for (let i = 0; i < symbols.length; i++) {
        if (symbols[i] !== left || i + 1 >= symbols.length || symbols[i + 1] !== right) continue;
        if (i > 0) {
          const before = symbols[i - 1]!;
          const lost = pairKey(before, left);
          pairCounts.set(lost, (pairCounts.get(lost) ?? 0) - count);
          if (tokenLength[before]! + mergedLength < maxTokenLength) {
            const formed = pairKey(before, merged);
            pairCounts.set(formed, (pairCounts.get(formed) ?? 0) + count);
            noteWord(formed, wordIndex);
          }
        }
        symbols.splice(i, 2, merged);
        if (i < symbols.length - 1) {
          const after = symbols[i + 1]!;
          const lost = pairKey(right, after);
          pairCounts.set(lost, (pairCounts.get(lost) ?? 0) - count);
          if (tokenLength[after]! + mergedLength < maxTokenLength) {
            const formed = pairKey(merged, after);
            pairCounts.set(formed, (pairCounts.get(formed) ?? 0) + count);
            noteWord(formed, wordIndex);
          }
        }
      }
    }
    flushUpdates();
    options.onProgress?.(vocab.length);
  }

  // `tokenizers` keeps one rank per pair (the last one given) and saves merges ordered by rank.
  const lastRank = new Map<number, number>();
  merges.forEach((merge, rank) => lastRank.set(pairKey(merge.left, merge.right), rank));
  const uniqueMerges = merges.filter((merge, rank) => lastRank.get(pairKey(merge.left, merge.right)) === rank);
  return new BpeModel(vocab, uniqueMerges);
}
