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
 * Encodes and strictly decodes every chunk, measuring the round trip. `raw` (same order, dataset units)
 * and `normalization` give the dataset-unit figures when present.
 */
export function reconstructionReport(
  tokenizer: FastTokenizer,
  chunks: readonly Float64Array[],
  horizon: number,
  dims: number,
  dataset?: { raw: readonly Float64Array[]; normalization: AffineNormalization },
): ReconstructionReport {
  const tokenCounts: number[] = [];
  const maxAbs = new Array<number>(dims).fill(0);
  const maxAbsUnits = new Array<number>(dims).fill(0);
  let squared = 0;
  let squaredUnits = 0;
  let values = 0;
  let clampedValues = 0;
  let decodeFailures = 0;
  const failureDetails: string[] = [];
  chunks.forEach((chunk, index) => {
    const { tokenIds, clampedCount } = tokenizer.encode(chunk, horizon, dims);
    tokenCounts.push(tokenIds.length);
    clampedValues += clampedCount;
    const decoded = tokenizer.decode(tokenIds, horizon, dims, "strict");
    if (decoded.status !== "ok") {
      decodeFailures++;
      if (failureDetails.length < 5) failureDetails.push(`chunk ${index}: ${decoded.detail}`);
      return;
    }
    const units = dataset ? unnormalizeInPlace(Float64Array.from(decoded.actions), dataset.normalization) : undefined;
    for (let i = 0; i < chunk.length; i++) {
      const error = decoded.actions[i]! - chunk[i]!;
      squared += error * error;
      const d = i % dims;
      maxAbs[d] = Math.max(maxAbs[d]!, Math.abs(error));
      if (units && dataset) {
        const unitError = units[i]! - dataset.raw[index]![i]!;
        squaredUnits += unitError * unitError;
        maxAbsUnits[d] = Math.max(maxAbsUnits[d]!, Math.abs(unitError));
      }
    }
    values += chunk.length;
  });
  const meanTokens = tokenCounts.reduce((a, b) => a + b, 0) / Math.max(1, tokenCounts.length);
  return {
    chunks: chunks.length,
    horizon,
    dims,
    mse: values > 0 ? squared / values : NaN,
    mseDatasetUnits: dataset && values > 0 ? squaredUnits / values : null,
    maxAbsErrorPerDim: maxAbs,
    maxAbsErrorPerDimDatasetUnits: dataset ? maxAbsUnits : null,
    compressionRatio: (horizon * dims) / meanTokens,
    meanTokens,
    p99Tokens: percentile(tokenCounts, 99),
    minTokens: Math.min(...tokenCounts),
    maxTokens: Math.max(...tokenCounts),
    clampedValues,
    decodeFailures,
    failureDetails,
  };
}
