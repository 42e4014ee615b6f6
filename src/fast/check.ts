/** Reconstruction report of a FAST tokenizer on held-out chunks: what `pi0fast check-tokenizer` prints. */
import type { FastTokenizer } from "./tokenizer.js";
import { unnormalizeInPlace, type AffineNormalization } from "./normalize.js";

export interface ReconstructionReport {
  chunks: number;
  horizon: number;
  dims: number;
  /** Mean squared error in normalized units (over decodable chunks). */
  mse: number;
  /** Mean squared error in dataset units (against the actions before normalization, so it includes clipping). */
  mseDatasetUnits: number | null;
  /** Per dim, the largest absolute error, normalized units. */
  maxAbsErrorPerDim: number[];
  /** Per dim, the largest absolute error, dataset units. */
  maxAbsErrorPerDimDatasetUnits: number[] | null;
  /** T·D / mean tokens. */
  compressionRatio: number;
  meanTokens: number;
  p99Tokens: number;
  minTokens: number;
  maxTokens: number;
  /** Coefficients below `min_token`, clamped by the encoder. */
  clampedValues: number;
  /** Chunks whose own encoding failed to decode strictly. */
  decodeFailures: number;
  failureDetails: string[];
  /** Coefficient values the BPE has no token for (a byte of their UTF-8 is missing), dropped by the encoder. */
  droppedValues: number;
  /** The most frequent dropped values: scaled coefficient `q` (as `min_token` counts) and how often. */
  droppedCoefficients: { q: number; count: number }[];
  /** Values above the trained `max_token` (null when the artifact does not record it). */
  aboveTrainedRange: number | null;
}

/** One checked chunk, for plots: normalized units, and dataset units when known. */
export interface ChunkReconstruction {
  index: number;
  original: Float64Array;
  /** NaN when the chunk did not decode. */
  decoded: Float64Array;
  originalUnits: Float64Array | null;
  decodedUnits: Float64Array | null;
  /** Mean squared error, normalized units; NaN when the chunk did not decode. */
  mse: number;
  detail: string;
}

export interface ReconstructionOptions {
  /** Actions before normalization (same order as the chunks) and their normalization, for dataset-unit figures. */
  raw?: readonly Float64Array[];
  normalization?: AffineNormalization;
  /** The largest scaled coefficient seen in training (metadata.json's `max_token`), to tell values above it. */
  maxToken?: number;
  /** Receives every chunk's round trip. */
  onChunk?: (chunk: ChunkReconstruction) => void;
}

/** numpy's default percentile (linear interpolation between order statistics). */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const position = (q / 100) * (sorted.length - 1);
  const low = Math.floor(position);
  const high = Math.min(sorted.length - 1, low + 1);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (position - low);
}

/**
 * Encodes and strictly decodes every chunk, measuring the round trip. `options.raw` (same order, dataset
 * units) and `options.normalization` give the dataset-unit figures when present.
 */
export function reconstructionReport(tokenizer: FastTokenizer, chunks: readonly Float64Array[], horizon: number, dims: number, options: ReconstructionOptions = {}): ReconstructionReport {
  const units = options.raw !== undefined && options.normalization !== undefined ? { raw: options.raw, normalization: options.normalization } : undefined;
  const tokenCounts: number[] = [];
  const maxAbs = new Array<number>(dims).fill(0);
  const maxAbsUnits = new Array<number>(dims).fill(0);
  let squared = 0;
  let squaredUnits = 0;
  let values = 0;
  let clampedValues = 0;
  let decodeFailures = 0;
  let droppedValues = 0;
  let aboveTrainedRange = 0;
  const dropped = new Map<number, number>();
  const failureDetails: string[] = [];
  const { minToken } = tokenizer.config;
  chunks.forEach((chunk, index) => {
    const { tokenIds, clampedCount } = tokenizer.encode(chunk, horizon, dims);
    tokenCounts.push(tokenIds.length);
    clampedValues += clampedCount;
    const codePoints = tokenizer.codePoints(chunk, horizon, dims).codePoints;
    for (const codePoint of codePoints) {
      if (options.maxToken !== undefined && codePoint + minToken > options.maxToken) aboveTrainedRange++;
      if (!tokenizer.bpe.canEncode(codePoint)) {
        droppedValues++;
        dropped.set(codePoint + minToken, (dropped.get(codePoint + minToken) ?? 0) + 1);
      }
    }
    const decoded = tokenizer.decode(tokenIds, horizon, dims, "strict");
    const originalUnits = units ? units.raw[index]! : null;
    if (decoded.status !== "ok") {
      decodeFailures++;
      if (failureDetails.length < 5) failureDetails.push(`chunk ${index}: ${decoded.detail}`);
      options.onChunk?.({ index, original: chunk, decoded: decoded.actions, originalUnits, decodedUnits: null, mse: NaN, detail: decoded.detail });
      return;
    }
    const decodedUnits = units ? unnormalizeInPlace(Float64Array.from(decoded.actions), units.normalization) : null;
    let chunkSquared = 0;
    for (let i = 0; i < chunk.length; i++) {
      const error = decoded.actions[i]! - chunk[i]!;
      chunkSquared += error * error;
      const d = i % dims;
      maxAbs[d] = Math.max(maxAbs[d]!, Math.abs(error));
      if (decodedUnits && originalUnits) {
        const unitError = decodedUnits[i]! - originalUnits[i]!;
        squaredUnits += unitError * unitError;
        maxAbsUnits[d] = Math.max(maxAbsUnits[d]!, Math.abs(unitError));
      }
    }
    squared += chunkSquared;
    values += chunk.length;
    options.onChunk?.({ index, original: chunk, decoded: Float64Array.from(decoded.actions), originalUnits, decodedUnits, mse: chunkSquared / chunk.length, detail: "" });
  });
  const meanTokens = tokenCounts.reduce((a, b) => a + b, 0) / Math.max(1, tokenCounts.length);
  return {
    chunks: chunks.length,
    horizon,
    dims,
    mse: values > 0 ? squared / values : NaN,
    mseDatasetUnits: units && values > 0 ? squaredUnits / values : null,
    maxAbsErrorPerDim: maxAbs,
    maxAbsErrorPerDimDatasetUnits: units ? maxAbsUnits : null,
    compressionRatio: (horizon * dims) / meanTokens,
    meanTokens,
    p99Tokens: percentile(tokenCounts, 99),
    minTokens: Math.min(...tokenCounts),
    maxTokens: Math.max(...tokenCounts),
    clampedValues,
    decodeFailures,
    failureDetails,
    droppedValues,
    droppedCoefficients: [...dropped].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, 8).map(([q, count]) => ({ q, count })),
    aboveTrainedRange: options.maxToken !== undefined ? aboveTrainedRange : null,
  };
}

/** What the tokenizer was trained on, as metadata.json records it (all optional: other trainers omit it). */
export interface TrainingFacts {
  minToken: number;
  maxToken?: number;
  trainingChunks?: number;
  sampleFraction?: number;
}

/**
 * Why a check failed and what to change, one sentence per cause (empty when it passed). Each cause is named
 * by what the figures show, so the cure fits it: a value without a token is a training-coverage problem,
 * not a quantization one.
 */
export function checkAdvice(report: ReconstructionReport, maxMse: number, training: TrainingFacts): string[] {
  const advice: string[] = [];
  const trainedOn = training.trainingChunks !== undefined ? `${training.trainingChunks} training chunks${training.sampleFraction !== undefined ? ` (--sample-fraction ${training.sampleFraction})` : ""}` : "its training chunks";
  if (report.decodeFailures > 0) {
    const values = report.droppedCoefficients.map((entry) => entry.q).join(", ");
    const range = training.maxToken !== undefined ? `${training.minToken}..${training.maxToken}` : `from ${training.minToken}`;
    const above = report.aboveTrainedRange ?? 0;
    const inside = report.droppedValues - above;
    if (inside > 0) {
      advice.push(
        `${report.decodeFailures} chunk(s) decode short because the tokenizer has no token for ${inside} coefficient value(s) inside its trained range ${range} (q = ${values}): ` +
          `their byte-level characters never occurred in ${trainedOn}, and a byte-level BPE drops what it has no token for; ` +
          "retrain with this train-tokenizer (its alphabet covers the whole range) or on more chunks (--sample-fraction 1, more episodes)",
      );
    }
    if (above > 0) {
      advice.push(
        `${above} coefficient value(s) lie above the trained max_token ${training.maxToken}: the checked actions go beyond what ${trainedOn} reached; ` +
          "train on data that covers them (more episodes, --sample-fraction 1) or use a normalization that clips (quantiles)",
      );
    }
    if (report.droppedValues === 0) advice.push(`${report.decodeFailures} chunk(s) did not decode (${report.failureDetails[0] ?? "no detail"})`);
  }
  if (report.mse > maxMse) {
    advice.push(
      `reconstruction MSE ${report.mse.toExponential(3)} is above --max-mse ${maxMse}: the rounding is too coarse; retrain with a larger --scale ` +
        "(finer quantization, more tokens per chunk; the coefficient range grows with it, so --vocab-size may have to follow), " +
        "fewer --encoded-dims, or a normalization that maps the actions to about [-1, 1]",
    );
  }
  return advice;
}
