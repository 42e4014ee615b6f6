/**
 * The FAST action tokenizer (Hugging Face `physical-intelligence/fast`, UniversalActionProcessor):
 * chunk → DCT → scaled integers → code points → byte-level BPE ids, and back. No I/O here: `load` reads the
 * artifact through ./artifact.ts.
 */
import { BpeModel } from "./bpe.js";
import { dctOrtho, idctOrtho } from "./dct.js";
import { coefficientsToCodePoints } from "./quantize.js";

/** processor_config.json. `actionDim`/`timeHorizon` are null in the universal FAST+ tokenizer. */
export interface FastConfig {
  scale: number;
  vocabSize: number;
  minToken: number;
  actionDim: number | null;
  timeHorizon: number | null;
}

export type DecodeStatus = "ok" | "repaired" | "failed";

export interface DecodeResult {
  /** `T·D` values, row-major `[T, D]`, normalized units. All NaN when `status` is "failed". */
  actions: Float64Array;
  status: DecodeStatus;
  /** Empty when ok; otherwise what was wrong and what was done about it. */
  detail: string;
}

export interface EncodeResult {
  tokenIds: number[];
  /** Coefficients below `min_token` that were raised to it. */
  clampedCount: number;
}

const strictDecoder = new TextDecoder("utf-8", { fatal: true });
const lossyDecoder = new TextDecoder("utf-8");

export class FastTokenizer {
  readonly config: FastConfig;
  readonly bpe: BpeModel;

  constructor(config: FastConfig, bpe: BpeModel) {
    this.config = config;
    this.bpe = bpe;
  }

  /** Loads a Hugging Face FAST artifact folder (processor_config.json + tokenizer.json). */
  static async load(dir: string): Promise<FastTokenizer> {
    const { loadFastArtifact } = await import("./artifact.js");
    return (await loadFastArtifact(dir)).tokenizer;
  }

  /** Actual trained vocabulary size (can be below `config.vocabSize`). */
  vocabSize(): number {
    return this.bpe.size;
  }

  /** For constrained decoding: the raw bytes each BPE id stands for, indexed by id. */
  tokenBytes(): Uint8Array[] {
    return this.bpe.tokenBytes();
  }

  /** Code points of a chunk (row-major `[horizon, dims]`, normalized units) before BPE. */
  codePoints(chunk: ArrayLike<number>, horizon: number, dims: number): { codePoints: Int32Array; clampedCount: number } {
    return coefficientsToCodePoints(dctOrtho(chunk, horizon, dims), this.config.scale, this.config.minToken);
  }

  encode(chunk: ArrayLike<number>, horizon: number, dims: number): EncodeResult {
    const { codePoints, clampedCount } = this.codePoints(chunk, horizon, dims);
    return { tokenIds: this.bpe.encodeCodePoints(codePoints), clampedCount };
  }

  /**
   * Token ids → a `[horizon, dims]` chunk. Never throws on token input.
   * - strict: anything but exactly `horizon·dims` valid coefficients fails.
   * - relaxed (LeRobot's): unknown ids are skipped, undecodable bytes and out-of-range values become 0,
   *   the coefficient vector is padded with 0 or truncated to `horizon·dims` — reported as "repaired".
   * A failed decode returns NaN actions, never a plausible all-zero chunk.
   */
  decode(tokenIds: readonly number[], horizon: number, dims: number, mode: "strict" | "relaxed" = "strict"): DecodeResult {
    const expected = horizon * dims;
    if (!Number.isInteger(horizon) || !Number.isInteger(dims) || horizon < 1 || dims < 1) {
      return failed(Math.max(0, Number.isFinite(expected) ? expected : 0), `invalid shape ${horizon}×${dims}`);
    }
    const problems: string[] = [];
    const codePoints = this.fastCodePoints(tokenIds) ?? this.slowCodePoints(tokenIds, problems);
    if (codePoints.length !== expected) problems.push(`${codePoints.length} coefficients instead of ${expected} (${horizon}×${dims})`);

    if (problems.length > 0 && mode === "strict") return failed(expected, problems.join("; "));
    if (codePoints.length === 0) return failed(expected, problems.join("; ") || "no coefficients");

    const { scale, minToken } = this.config;
    const coefficients = new Float64Array(expected);
    const count = Math.min(expected, codePoints.length);
    for (let i = 0; i < count; i++) {
      const codePoint = codePoints[i]!;
      coefficients[i] = codePoint < 0 ? 0 : (codePoint + minToken) / scale;
    }
    if (codePoints.length < expected) problems.push("padded with 0");
    else if (codePoints.length > expected) problems.push("truncated");
    return { actions: idctOrtho(coefficients, horizon, dims), status: problems.length > 0 ? "repaired" : "ok", detail: problems.join("; ") };
  }

  /** Code points of ids that are all known, whole UTF-8 and within range; undefined sends decode to the slow path. */
  private fastCodePoints(tokenIds: readonly number[]): number[] | undefined {
    const perId = this.bpe.tokenCodePoints();
    const maxCodePoint = this.config.vocabSize;
    const codePoints: number[] = [];
    for (const id of tokenIds) {
      const points = perId[id];
      if (points === undefined || points === null) return undefined;
      for (let i = 0; i < points.length; i++) {
        if (points[i]! > maxCodePoint) return undefined;
        codePoints.push(points[i]!);
      }
    }
    return codePoints;
  }

  /**
   * What `tokenizers` would decode: unknown ids skipped, bytes joined and decoded as UTF-8 with replacement
   * characters; values outside 0..vocab_size (the reference's fit guarantees max − min ≤ vocab_size) marked −1.
   */
  private slowCodePoints(tokenIds: readonly number[], problems: string[]): number[] {
    const tokenBytes = this.bpe.tokenBytes();
    const pieces: Uint8Array[] = [];
    let unknownIds = 0;
    for (const id of tokenIds) {
      const bytes = Number.isInteger(id) ? tokenBytes[id] : undefined;
      if (bytes === undefined) unknownIds++;
      else pieces.push(bytes);
    }
    if (unknownIds > 0) problems.push(`${unknownIds} token id(s) outside the vocabulary of ${tokenBytes.length} skipped`);
    const bytes = new Uint8Array(pieces.reduce((sum, piece) => sum + piece.length, 0));
    let offset = 0;
    for (const piece of pieces) {
      bytes.set(piece, offset);
      offset += piece.length;
    }
    let text: string;
    try {
      text = strictDecoder.decode(bytes);
    } catch {
      text = lossyDecoder.decode(bytes);
      problems.push("token bytes are not valid UTF-8");
    }
    const maxCodePoint = this.config.vocabSize;
    const codePoints: number[] = [];
    let outOfRange = 0;
    for (const char of text) {
      const codePoint = char.codePointAt(0)!;
      if (codePoint > maxCodePoint) outOfRange++;
      codePoints.push(codePoint > maxCodePoint ? -1 : codePoint);
    }
    if (outOfRange > 0) problems.push(`${outOfRange} value(s) outside the coefficient range set to 0`);
    return codePoints;
  }
}

function failed(length: number, detail: string): DecodeResult {
  return { actions: new Float64Array(length).fill(NaN), status: "failed", detail };
}
