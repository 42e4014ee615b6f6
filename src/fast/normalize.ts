/**
 * The normalization modes of LeRobot's `lerobot-train-tokenizer` (NormalizationMode), per dimension, with
 * the same epsilon. Quantile modes clip to the quantile range first, so they cannot be inverted outside it.
 */

export const NORMALIZATION_MODES = ["QUANTILES", "MEAN_STD", "MIN_MAX", "QUANTILE10", "IDENTITY"] as const;
export type NormalizationMode = (typeof NORMALIZATION_MODES)[number];

/** Per-dimension statistics (meta/stats.json's fields) restricted to the encoded dims. */
export type FeatureStats = Partial<Record<"min" | "max" | "mean" | "std" | "q01" | "q10" | "q50" | "q90" | "q99", number[]>>;

const EPS = 1e-8;

/** The stats a mode reads. */
export function statsNeeded(mode: NormalizationMode): (keyof FeatureStats)[] {
  switch (mode) {
    case "QUANTILES":
      return ["q01", "q99"];
    case "QUANTILE10":
      return ["q10", "q90"];
    case "MEAN_STD":
      return ["mean", "std"];
    case "MIN_MAX":
      return ["min", "max"];
    case "IDENTITY":
      return [];
  }
}

/** `scale`/`offset` per dim so that normalized = clip(x) · scale + offset; plus the clip bounds. */
export interface AffineNormalization {
  mode: NormalizationMode;
  scale: Float64Array;
  offset: Float64Array;
  low: Float64Array;
  high: Float64Array;
}

export function affineNormalization(mode: NormalizationMode, stats: FeatureStats, dims: number): AffineNormalization {
  const scale = new Float64Array(dims).fill(1);
  const offset = new Float64Array(dims);
  const low = new Float64Array(dims).fill(-Infinity);
  const high = new Float64Array(dims).fill(Infinity);
  const [a, b] = statsNeeded(mode).map((key) => {
    const values = stats[key];
    if (values === undefined || values.length !== dims) throw new RangeError(`${mode} normalization needs '${key}' with ${dims} values, found ${values?.length ?? "none"}`);
    return values;
  });
  for (let d = 0; d < dims; d++) {
    if (mode === "IDENTITY") continue;
    const first = a![d]!;
    const second = b![d]!;
    if (mode === "MEAN_STD") {
      scale[d] = 1 / Math.max(second, EPS);
      offset[d] = -first * scale[d]!;
    } else {
      // 2 (x − lo) / max(hi − lo, eps) − 1
      scale[d] = 2 / Math.max(second - first, EPS);
      offset[d] = -first * scale[d]! - 1;
      if (mode !== "MIN_MAX") {
        low[d] = first;
        high[d] = second;
      }
    }
  }
  return { mode, scale, offset, low, high };
}

/** Normalizes row-major `[rows, dims]` values in place. */
export function normalizeInPlace(values: Float64Array, norm: AffineNormalization): Float64Array {
  const dims = norm.scale.length;
  for (let i = 0; i < values.length; i++) {
    const d = i % dims;
    const clipped = Math.min(Math.max(values[i]!, norm.low[d]!), norm.high[d]!);
    values[i] = clipped * norm.scale[d]! + norm.offset[d]!;
  }
  return values;
}

/** Back to dataset units (the clip is not undone). */
export function unnormalizeInPlace(values: Float64Array, norm: AffineNormalization): Float64Array {
  const dims = norm.scale.length;
  for (let i = 0; i < values.length; i++) {
    const d = i % dims;
    values[i] = (values[i]! - norm.offset[d]!) / norm.scale[d]!;
  }
  return values;
}
