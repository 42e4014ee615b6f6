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
    const tokenBytes = this.bpe.tokenBytes();
    let byteLength = 0;
    let unknownIds = 0;
    for (const id of tokenIds) {
      const bytes = Number.isInteger(id) ? tokenBytes[id] : undefined;
      if (bytes === undefined) unknownIds++;
      else byteLength += bytes.length;
    }
    if (unknownIds > 0) problems.push(`${unknownIds} token id(s) outside the vocabulary of ${tokenBytes.length} skipped`);
    const bytes = new Uint8Array(byteLength);
    let offset = 0;
    for (const id of tokenIds) {
      const tokenBytesOfId = Number.isInteger(id) ? tokenBytes[id] : undefined;
      if (tokenBytesOfId !== undefined) {
        bytes.set(tokenBytesOfId, offset);
        offset += tokenBytesOfId.length;
      }
    }

    let text: string;
    let invalidUtf8 = false;
    try {
      text = strictDecoder.decode(bytes);
    } catch {
      text = lossyDecoder.decode(bytes);
      invalidUtf8 = true;
    }
    // The reference allows code points 0..vocab_size (its fit requires max − min ≤ vocab_size).
    const maxCodePoint = this.config.vocabSize;
    const codePoints: number[] = [];
    let outOfRange = 0;
    for (const char of text) {
      const codePoint = char.codePointAt(0)!;
      if (codePoint > maxCodePoint) {
        outOfRange++;
        codePoints.push(-1);
      } else codePoints.push(codePoint);
    }
    if (invalidUtf8) problems.push("token bytes are not valid UTF-8");
    if (outOfRange > 0) problems.push(`${outOfRange} value(s) outside the coefficient range set to 0`);
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
}

function failed(length: number, detail: string): DecodeResult {
  return { actions: new Float64Array(length).fill(NaN), status: "failed", detail };
}
