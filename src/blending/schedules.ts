/**
 * Blend schedules: how much a newer chunk weighs against what the older chunks command where they overlap.
 * The active chunks are folded oldest first, `value = (1 − w)·value + w·chunk`, with `w` from here.
 */

export const BLEND_SCHEDULES = ["constant", "linear", "exponential", "temporal_ensembling", "latest_only"] as const;
export type BlendSchedule = (typeof BLEND_SCHEDULES)[number];

export interface BlendSettings {
  readonly schedule: BlendSchedule;
  /** `constant`: the newer chunk's weight (0.7 = LeRobot's weighted_average). */
  readonly alpha: number;
  /** `linear`, `exponential`: ramp length in the newer chunk's steps. */
  readonly steps: number;
  /** `temporal_ensembling`: ACT's m in exp(−m·i), i = 0 the oldest prediction. */
  readonly ensembleM: number;
}

/**
 * The weight of a chunk over the fold of the older chunks covering the same time.
 * `rank` is its place among the chunks covering that time (0 = oldest, which starts the fold: weight 1);
 * `stepsSinceSwitch` is how many of its steps (fractional) have passed since it was switched in.
 */
export function foldWeight(settings: BlendSettings, rank: number, stepsSinceSwitch: number): number {
  if (rank === 0) return 1;
  switch (settings.schedule) {
    case "latest_only":
      return 1;
    case "constant":
      return settings.alpha;
    case "linear":
      return ramp(settings.steps, stepsSinceSwitch);
    case "exponential": {
      // RTC's soft mask (Black et al. 2025): the older chunk keeps c·(e^c − 1)/(e − 1), c falling 1 → 0.
      const c = 1 - ramp(settings.steps, stepsSinceSwitch);
      return 1 - (c * Math.expm1(c)) / Math.expm1(1);
    }
    case "temporal_ensembling": {
      // Normalized exp(−m·i) weights: the rank-th chunk's share of the sum over ranks 0..rank.
      const m = settings.ensembleM;
      const weight = Math.exp(-m * rank);
      const sum = m === 0 ? rank + 1 : -Math.expm1(-m * (rank + 1)) / -Math.expm1(-m);
      return weight / sum;
    }
  }
}

/** True when a chunk with this weight hides every older chunk for good (their steps can be forgotten). */
export function replacesOlder(settings: BlendSettings, stepsSinceSwitch: number): boolean {
  if (settings.schedule === "latest_only") return true;
  if (settings.schedule === "linear" || settings.schedule === "exponential") return ramp(settings.steps, stepsSinceSwitch) >= 1;
  return false;
}

function ramp(steps: number, stepsSinceSwitch: number): number {
  if (steps <= 0) return 1;
  return Math.min(1, Math.max(0, stepsSinceSwitch / steps));
}
