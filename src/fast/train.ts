/**
 * FAST's `fit`: DCT every chunk, find the coefficient range, train the byte-level BPE on the chunks'
 * code-point strings with the reference's trainer settings.
 */
import { BYTE_TO_CHAR, pushUtf8, splitWords } from "./byte-level.js";
import { trainBpe } from "./bpe-trainer.js";
import { dctOrtho } from "./dct.js";
import { roundHalfEven } from "./quantize.js";
import { FastTokenizer, type FastConfig } from "./tokenizer.js";

export interface TrainFastOptions {
  horizon: number;
  dims: number;
  /** Default 10. */
  scale?: number;
  /** Default 1024. */
  vocabSize?: number;
  /** Called with the vocabulary size reached after each merge. */
  onProgress?: (vocabSize: number, targetVocabSize: number) => void;
}

export interface TrainedFast {
  config: FastConfig;
  tokenizer: FastTokenizer;
  tokenizerJson: string;
  /** Largest scaled coefficient seen (the reference does not save it). */
  maxToken: number;
  chunkCount: number;
}

/** Thrown when the chunks cannot train a tokenizer (e.g. their coefficient range exceeds the vocabulary). */
export class FastTrainingError extends Error {}

export function trainFastTokenizer(chunks: Iterable<ArrayLike<number>>, options: TrainFastOptions): TrainedFast {
  const { horizon, dims } = options;
  const scale = options.scale ?? 10;
  const vocabSize = options.vocabSize ?? 1024;
  const size = horizon * dims;

  // Scaled, rounded coefficients of every chunk, kept as one Int32Array (100k × 70 values ≈ 28 MB).
  let scaled = new Int32Array(1024 * size);
  let chunkCount = 0;
  let minToken = Infinity;
  let maxToken = -Infinity;
  const coefficients = new Float64Array(size);
  for (const chunk of chunks) {
    if (chunk.length !== size) throw new FastTrainingError(`chunk ${chunkCount} has ${chunk.length} values, expected ${horizon}×${dims} = ${size}`);
    dctOrtho(chunk, horizon, dims, coefficients);
    if ((chunkCount + 1) * size > scaled.length) {
      const grown = new Int32Array(scaled.length * 2);
      grown.set(scaled);
      scaled = grown;
    }
    const base = chunkCount * size;
    for (let i = 0; i < size; i++) {
      const value = roundHalfEven(coefficients[i]! * scale);
      if (!Number.isFinite(value)) throw new FastTrainingError(`chunk ${chunkCount} has a non-finite value`);
      scaled[base + i] = value;
      if (value < minToken) minToken = value;
      if (value > maxToken) maxToken = value;
    }
    chunkCount++;
  }
  if (chunkCount === 0) throw new FastTrainingError("no chunks to train on");
  if (maxToken - minToken > vocabSize) {
    throw new FastTrainingError(
      `the scaled DCT coefficients span ${minToken}..${maxToken} (${maxToken - minToken} values), more than the vocabulary size ${vocabSize}: raise the vocabulary size, lower the scale or normalize the actions`,
    );
  }

  // Words (pre-tokenizer pieces) with counts, keyed by their code-point string.
  const wordCounts = new Map<string, number>();
  const codePoints = new Int32Array(size);
  for (let chunkIndex = 0; chunkIndex < chunkCount; chunkIndex++) {
    const base = chunkIndex * size;
    for (let i = 0; i < size; i++) codePoints[i] = scaled[base + i]! - minToken;
    let start = 0;
    for (const end of splitWords(codePoints)) {
      let word = "";
      for (let i = start; i < end; i++) word += String.fromCodePoint(codePoints[i]!);
      wordCounts.set(word, (wordCounts.get(word) ?? 0) + 1);
      start = end;
    }
  }

  const range = maxToken - minToken;
  const bpe = trainBpe(wordCounts, {
    vocabSize,
    minFrequency: 2,
    initialAlphabet: rangeAlphabet(range),
    maxTokenLength: 10000,
    onProgress: options.onProgress ? (reached) => options.onProgress!(reached, vocabSize) : undefined,
  });
  const config: FastConfig = { scale, vocabSize, minToken, actionDim: dims, timeHorizon: horizon };
  return { config, tokenizer: new FastTokenizer(config, bpe), tokenizerJson: bpe.toTokenizerJson(), maxToken, chunkCount };
}

/**
 * The initial alphabet: the reference's `chr(0..range)`, plus the byte-level characters of those code points.
 * The reference gives its alphabet as raw characters, but the ByteLevel pre-tokenizer turns bytes 0–32,
 * 127–160 and 173 (and the bytes of every code point from 128 on) into other characters: a value of the range
 * whose byte characters never occurred in the training chunks would get no token, and a BPE without an
 * unknown token drops it, so a chunk holding it decodes short. With its byte characters every value of the
 * range stays encodable; when every value occurs in training the vocabulary is the reference's, id for id.
 */
export function rangeAlphabet(range: number): number[] {
  const alphabet = new Set<number>();
  const bytes: number[] = [];
  for (let codePoint = 0; codePoint <= range; codePoint++) {
    alphabet.add(codePoint);
    bytes.length = 0;
    pushUtf8(bytes, codePoint);
    for (const byte of bytes) alphabet.add(BYTE_TO_CHAR[byte]!.codePointAt(0)!);
  }
  return [...alphabet];
}
