/**
 * The FAST action tokenizer (Hugging Face `physical-intelligence/fast`, UniversalActionProcessor):
 * chunk → DCT → scaled integers → code points → byte-level BPE ids, and back. No I/O here: `load` reads the
 * artifact through ./artifact.ts.
 */
import { BpeModel } from "./bpe.js";
import { dctOrtho, idctOrtho } from "./dct.js";
import { coefficientsToCodePoints, quantizeInto } from "./quantize.js";

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

/**
 * Per id, where its code points lie in one flat array when the id can be decoded without a UTF-8 decoder
 * (its bytes are whole UTF-8 and every code point is within 0..vocab_size); length −1 otherwise.
 */
interface DecodeTable {
  starts: Int32Array;
  lengths: Int32Array;
  points: Int32Array;
}

export class FastTokenizer {
  readonly config: FastConfig;
  readonly bpe: BpeModel;
  private decodeTable: DecodeTable | undefined;
  // Scratch for one encode or decode call (both are synchronous).
  private encodeCoefficients = new Float64Array(0);
  private encodeCodePoints = new Int32Array(0);
  private decodeCoefficients = new Float64Array(0);

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
    const size = horizon * dims;
    if (this.encodeCoefficients.length !== size) {
      this.encodeCoefficients = new Float64Array(size);
      this.encodeCodePoints = new Int32Array(size);
    }
    dctOrtho(chunk, horizon, dims, this.encodeCoefficients);
    const clampedCount = quantizeInto(this.encodeCoefficients, this.config.scale, this.config.minToken, this.encodeCodePoints);
    return { tokenIds: this.bpe.encodeCodePoints(this.encodeCodePoints), clampedCount };
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
    if (this.decodeCoefficients.length !== expected) this.decodeCoefficients = new Float64Array(expected);
    const coefficients = this.decodeCoefficients;
    const { scale, minToken } = this.config;
    let problems: string[] | undefined;
    let count = this.fastCoefficients(tokenIds, coefficients);
    if (count < 0) {
      problems = [];
      const codePoints = this.slowCodePoints(tokenIds, problems);
      count = codePoints.length;
      for (let i = 0; i < count && i < expected; i++) {
        const codePoint = codePoints[i]!;
        coefficients[i] = codePoint < 0 ? 0 : (codePoint + minToken) / scale;
      }
    }
    if (count !== expected) (problems ??= []).push(`${count} coefficients instead of ${expected} (${horizon}×${dims})`);

    if (problems !== undefined && problems.length > 0 && mode === "strict") return failed(expected, problems.join("; "));
    if (count === 0) return failed(expected, problems?.join("; ") || "no coefficients");

    if (count < expected) {
      coefficients.fill(0, count);
      problems!.push("padded with 0");
    } else if (count > expected) problems!.push("truncated");
    const detail = problems === undefined ? "" : problems.join("; ");
    return { actions: idctOrtho(coefficients, horizon, dims), status: detail === "" ? "ok" : "repaired", detail };
  }

  /**
   * The coefficients of ids that are all known, whole UTF-8 and within range, written into `coefficients`
   * up to its length; returns how many there are (possibly more than were written), or −1 to send decode
   * to the slow path.
   */
  private fastCoefficients(tokenIds: readonly number[], coefficients: Float64Array): number {
    this.decodeTable ??= this.buildDecodeTable();
    const { starts, lengths, points } = this.decodeTable;
    const size = lengths.length;
    const { scale, minToken } = this.config;
    const capacity = coefficients.length;
    let count = 0;
    for (let t = 0; t < tokenIds.length; t++) {
      const id = tokenIds[t]!;
      if (!(id >= 0 && id < size) || (id | 0) !== id) return -1;
      const length = lengths[id]!;
      if (length < 0) return -1;
      const start = starts[id]!;
      for (let j = 0; j < length; j++, count++) if (count < capacity) coefficients[count] = (points[start + j]! + minToken) / scale;
    }
    return count;
  }

  private buildDecodeTable(): DecodeTable {
    const perId = this.bpe.tokenCodePoints();
    const maxCodePoint = this.config.vocabSize;
    const starts = new Int32Array(perId.length);
    const lengths = new Int32Array(perId.length).fill(-1);
    const points = new Int32Array(perId.reduce((sum, p) => sum + (p?.length ?? 0), 0));
    let offset = 0;
    perId.forEach((codePoints, id) => {
      if (codePoints === null || codePoints.some((codePoint) => codePoint > maxCodePoint)) return;
      starts[id] = offset;
      lengths[id] = codePoints.length;
      points.set(codePoints, offset);
      offset += codePoints.length;
    });
    return { starts, lengths, points };
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
