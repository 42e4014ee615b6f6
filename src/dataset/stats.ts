/**
 * Feature statistics as LeRobot stores them (meta/stats.json and the per-episode `stats/...` columns):
 * min, max, mean, std (population), count, and the quantiles q01, q10, q50, q90, q99.
 */
export const QUANTILES = [0.01, 0.1, 0.5, 0.9, 0.99] as const;
export const QUANTILE_KEYS = ["q01", "q10", "q50", "q90", "q99"] as const;

export interface FeatureStats {
  min: number[];
  max: number[];
  mean: number[];
  std: number[];
  count: number[];
  q01: number[];
  q10: number[];
  q50: number[];
  q90: number[];
  q99: number[];
}

/** Linear-interpolation quantile (numpy's default) of sorted values. */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  const high = Math.min(sorted.length - 1, low + 1);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (position - low);
}

/** Stats per dimension of `rows` (each row a vector of the same length). */
export function vectorStats(rows: ArrayLike<number>[], dims: number): FeatureStats {
  const stats: FeatureStats = { min: [], max: [], mean: [], std: [], count: [rows.length], q01: [], q10: [], q50: [], q90: [], q99: [] };
  const column = new Float64Array(rows.length);
  for (let d = 0; d < dims; d++) {
    let sum = 0;
    for (let i = 0; i < rows.length; i++) {
      column[i] = rows[i]![d]!;
      sum += column[i]!;
    }
    const mean = sum / rows.length;
    let squares = 0;
    for (let i = 0; i < rows.length; i++) squares += (column[i]! - mean) ** 2;
    column.sort();
    stats.min.push(column[0]!);
    stats.max.push(column[rows.length - 1]!);
    stats.mean.push(mean);
    stats.std.push(Math.sqrt(squares / rows.length));
    QUANTILE_KEYS.forEach((key, index) => stats[key].push(quantileSorted(column, QUANTILES[index]!)));
  }
  return stats;
}

/** Stats of a scalar feature. */
export function scalarStats(values: ArrayLike<number>): FeatureStats {
  return vectorStats(Array.from(values, (value) => [value]), 1);
}

/**
 * Per-channel stats of rgb8 frames normalized to [0, 1], from 256-bin histograms (exact for 8-bit data).
 * `count` is the number of frames sampled, as LeRobot reports it.
 */
export class ImageStatsAccumulator {
  readonly #histograms = [new Float64Array(256), new Float64Array(256), new Float64Array(256)];
  frames = 0;

  add(rgb: Uint8Array): void {
    const [r, g, b] = this.#histograms as [Float64Array, Float64Array, Float64Array];
    for (let i = 0; i < rgb.length; i += 3) {
      r[rgb[i]!]! += 1;
      g[rgb[i + 1]!]! += 1;
      b[rgb[i + 2]!]! += 1;
    }
    this.frames += 1;
  }

  merge(other: ImageStatsAccumulator): void {
    this.#histograms.forEach((histogram, channel) => histogram.forEach((_, bin) => (histogram[bin]! += other.#histograms[channel]![bin]!)));
    this.frames += other.frames;
  }

  /** Stats with LeRobot's image shape: each value a [channel][1][1] nest, flattened here per channel. */
  stats(): FeatureStats {
    const stats: FeatureStats = { min: [], max: [], mean: [], std: [], count: [this.frames], q01: [], q10: [], q50: [], q90: [], q99: [] };
    for (const histogram of this.#histograms) {
      let total = 0;
      let sum = 0;
      let min = 255;
      let max = 0;
      histogram.forEach((n, bin) => {
        if (n === 0) return;
        total += n;
        sum += n * bin;
        min = Math.min(min, bin);
        max = Math.max(max, bin);
      });
      const mean = total === 0 ? 0 : sum / total;
      let squares = 0;
      histogram.forEach((n, bin) => (squares += n * (bin - mean) ** 2));
      stats.min.push(min / 255);
      stats.max.push(max / 255);
      stats.mean.push(mean / 255);
      stats.std.push(total === 0 ? 0 : Math.sqrt(squares / total) / 255);
      QUANTILES.forEach((q, index) => {
        const target = q * (total - 1);
        let seen = 0;
        let value = 0;
        for (let bin = 0; bin < 256; bin++) {
          seen += histogram[bin]!;
          if (seen > target) {
            value = bin;
            break;
          }
        }
        stats[QUANTILE_KEYS[index]!].push(value / 255);
      });
    }
    return stats;
  }
}

/** LeRobot nests image stats as [channel][1][1]. */
export function nestImageStats(stats: FeatureStats): Record<string, unknown> {
  const nest = (values: number[]): number[][][] => values.map((value) => [[value]]);
  return {
    min: nest(stats.min),
    max: nest(stats.max),
    mean: nest(stats.mean),
    std: nest(stats.std),
    count: stats.count,
    q01: nest(stats.q01),
    q10: nest(stats.q10),
    q50: nest(stats.q50),
    q90: nest(stats.q90),
    q99: nest(stats.q99),
  };
}
