/**
 * Episode frames → training chunks, as `lerobot-train-tokenizer` builds them: sliding windows of
 * `horizon` actions with stride 1, optional delta against the window's first state, a per-episode random
 * sample, the encoded dims picked out, then normalized with the dataset's action stats.
 */
import { affineNormalization, normalizeInPlace, type AffineNormalization, type FeatureStats, type NormalizationMode } from "./normalize.js";

/** "0:6,7:23" → [[0, 6], [7, 23]] (half-open ranges, as LeRobot writes them). */
export function parseDimRanges(text: string): [number, number][] {
  const ranges = text.split(",").map((part) => {
    const match = /^\s*(\d+)\s*:\s*(\d+)\s*$/.exec(part);
    if (!match) throw new RangeError(`'${part.trim()}' is not a range start:end`);
    const start = Number(match[1]);
    const end = Number(match[2]);
    if (end <= start) throw new RangeError(`range ${start}:${end} is empty (end must exceed start)`);
    return [start, end] as [number, number];
  });
  return ranges;
}

/** "0,1,2" → [0, 1, 2]. */
export function parseDimList(text: string): number[] {
  return text.split(",").map((part) => {
    const value = Number(part.trim());
    if (part.trim() === "" || !Number.isInteger(value) || value < 0) throw new RangeError(`'${part.trim()}' is not a dimension index`);
    return value;
  });
}

/** Dim indices of the ranges, in order. */
export function rangesToIndices(ranges: readonly [number, number][]): number[] {
  return ranges.flatMap(([start, end]) => Array.from({ length: end - start }, (_, i) => start + i));
}


/** `count` distinct indices of 0..n−1, in random order (partial Fisher–Yates). */
export function sampleIndices(n: number, count: number, random: () => number): number[] {
  const pool = Array.from({ length: n }, (_, i) => i);
  const take = Math.min(n, count);
  for (let i = 0; i < take; i++) {
    const j = i + Math.floor(random() * (n - i));
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return pool.slice(0, take);
}

export interface ChunkSpec {
  horizon: number;
  /** Dataset action width. */
  actionWidth: number;
  /** Indices of the action dims to encode. */
  encodedDims: number[];
  /** Dims made relative to the window's first state (LeRobot's delta transform), or none. */
  deltaDims: number[];
  normalization: AffineNormalization;
}

export function chunkSpec(options: {
  horizon: number;
  actionWidth: number;
  encodedDims: number[];
  deltaDims?: number[];
  mode: NormalizationMode;
  /** Stats of the whole action (per dataset dim); restricted to the encoded dims here. */
  actionStats: Record<string, number[]> | undefined;
}): ChunkSpec {
  const { encodedDims, actionWidth } = options;
  for (const dim of [...encodedDims, ...(options.deltaDims ?? [])]) {
    if (dim >= actionWidth) throw new RangeError(`dim ${dim} is outside the action's ${actionWidth} dims (0..${actionWidth - 1})`);
  }
  return {
    horizon: options.horizon,
    actionWidth,
    encodedDims,
    deltaDims: options.deltaDims ?? [],
    normalization: affineNormalization(options.mode, encodedStats(options.actionStats ?? {}, encodedDims), encodedDims.length),
  };
}

/** The action stats restricted to the encoded dims (scalar stats such as `count` are left out). */
export function encodedStats(actionStats: Record<string, number[]>, encodedDims: number[]): FeatureStats {
  const stats: Record<string, number[]> = {};
  for (const [name, values] of Object.entries(actionStats)) {
    if (Array.isArray(values) && values.length > Math.max(...encodedDims)) stats[name] = encodedDims.map((dim) => Number(values[dim]));
  }
  return stats as FeatureStats;
}

/** Number of windows an episode of `length` frames gives. */
export function windowCount(length: number, horizon: number): number {
  return Math.max(0, length - horizon + 1);
}

/**
 * The normalized, encoded-dims chunk of the window starting at `start` (row-major `[horizon, dims]`),
 * plus the same values in dataset units before normalization.
 */
export function windowChunk(
  actions: Float64Array,
  states: Float64Array | undefined,
  start: number,
  spec: ChunkSpec,
  stateWidth = spec.actionWidth,
): { chunk: Float64Array; raw: Float64Array } {
  const dims = spec.encodedDims.length;
  const raw = new Float64Array(spec.horizon * dims);
  for (let t = 0; t < spec.horizon; t++) {
    const frame = (start + t) * spec.actionWidth;
    spec.encodedDims.forEach((dim, d) => {
      let value = actions[frame + dim]!;
      if (states !== undefined && spec.deltaDims.includes(dim)) value -= states[start * stateWidth + dim]!;
      raw[t * dims + d] = value;
    });
  }
  return { chunk: normalizeInPlace(Float64Array.from(raw), spec.normalization), raw };
}

/** The window starts sampled from one episode: `max(1, ⌊n · fraction⌋)` of its n windows. */
export function sampleWindows(length: number, horizon: number, fraction: number, random: () => number): number[] {
  const n = windowCount(length, horizon);
  if (n === 0) return [];
  if (fraction >= 1) return Array.from({ length: n }, (_, i) => i);
  return sampleIndices(n, Math.max(1, Math.floor(n * fraction)), random).sort((a, b) => a - b);
}
