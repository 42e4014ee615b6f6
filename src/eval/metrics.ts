/**
 * Replay evaluation metrics, computed from what went over the topics (commands, chunks, requests) and the
 * bag's recorded action: per-joint tracking error, latency percentiles, control-period jitter, decode status
 * counts, skipped steps, underruns, smoothness. Pure and deterministic; `metricsJson` writes them with sorted
 * keys and fixed rounding, so identical inputs give identical bytes.
 */
import { Pi0fastRosActionChunkConstants as Decode } from "../msgs/messages.js";
import type { JointTrajectory } from "./trajectory.js";

export interface CommandSample {
  /** The command's time (its header stamp: the control tick). */
  timeNs: bigint;
  /** In the record's `jointNames` order. */
  positionsRad: ArrayLike<number>;
}

export interface ChunkArrival {
  /** When the chunk reached the blender (bus time). */
  arrivalNs: bigint;
  /** Its header stamp: step i is meant for stamp + i·dt. */
  stampNs: bigint;
  dtS: number;
  horizon: number;
  decodeStatus: number;
  inferenceLatencyMs: number;
}

export interface ReplayRecord {
  jointNames: readonly string[];
  /** The blender's nominal control period. */
  controlPeriodNs: bigint;
  commands: readonly CommandSample[];
  chunks: readonly ChunkArrival[];
  replanRequests: number;
  recordedAction: JointTrajectory;
}

export interface Percentiles {
  count: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
}

export interface JointMetrics {
  mae_rad: number | null;
  rmse_rad: number | null;
  max_abs_error_rad: number | null;
  max_step_rad: number | null;
  jerk_rms_rad_s3: number | null;
  /** The recorded action's own jerk at the same times: the smoothness to compare with. */
  recorded_jerk_rms_rad_s3: number | null;
}

export interface ReplayMetrics {
  /** The ticks compared: from the first chunk's arrival to the end of the recorded action. */
  window: { start_ns: string | null; end_ns: string | null; duration_s: number; ticks: number };
  tracking: { mae_rad: number | null; rmse_rad: number | null; max_abs_error_rad: number | null };
  joints: Record<string, JointMetrics>;
  /** The latency each chunk reports (time from observation to chunk at the policy). */
  latency_ms: Percentiles;
  /** Chunk arrival time minus its stamp: how old its step 0 is when it lands. */
  chunk_age_on_arrival_ms: Percentiles;
  control: {
    nominal_period_ms: number;
    period_ms: Percentiles & { min: number | null };
    /** |period − nominal| per tick. */
    jitter_ms: Percentiles;
    /** Ticks that should have happened between two commands but did not. */
    ticks_missed: number;
  };
  decode_status: { ok: number; repaired: number; failed: number };
  chunks: number;
  replan_requests: number;
  /** Steps of arrived chunks already in the past on arrival (skipped by the blender). */
  skipped_steps: number;
  /** Window ticks no usable chunk covered (the blender held its last target). */
  underruns: number;
  max_step_rad: number | null;
}

/** Percentile of sorted values, linear between ranks (numpy's default). */
export function percentile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const rank = (q / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.min(sorted.length - 1, low + 1);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (rank - low);
}

export function percentiles(values: readonly number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  return { count: sorted.length, p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99), max: sorted.length > 0 ? sorted[sorted.length - 1]! : null };
}

/** Steps of a chunk meant for times before `arrivalNs`. */
export function skippedSteps(chunk: ChunkArrival): number {
  if (chunk.arrivalNs <= chunk.stampNs) return 0;
  const dtNs = chunk.dtS * 1e9;
  return Math.min(chunk.horizon, Math.ceil(Number(chunk.arrivalNs - chunk.stampNs) / dtNs - 1e-9));
}

export function computeMetrics(record: ReplayRecord): ReplayMetrics {
  const dims = record.jointNames.length;
  const periodS = Number(record.controlPeriodNs) / 1e9;
  const usable = record.chunks.filter((chunk) => chunk.decodeStatus !== Decode.DECODE_FAILED);
  const firstArrival = usable.reduce<bigint | undefined>((first, chunk) => (first === undefined || chunk.arrivalNs < first ? chunk.arrivalNs : first), undefined);
  const endNs = record.recordedAction.endNs;
  const window = firstArrival === undefined ? [] : record.commands.filter((command) => command.timeNs >= firstArrival && command.timeNs <= endNs);

  // tracking error against the recorded action at the command times
  const absSum = new Float64Array(dims);
  const squareSum = new Float64Array(dims);
  const maxAbs = new Float64Array(dims);
  const truth = new Float64Array(dims);
  const truthRows: Float64Array[] = [];
  for (const command of window) {
    record.recordedAction.at(command.timeNs, truth);
    truthRows.push(Float64Array.from(truth));
    for (let d = 0; d < dims; d++) {
      const error = Math.abs(command.positionsRad[d]! - truth[d]!);
      absSum[d] = absSum[d]! + error;
      squareSum[d] = squareSum[d]! + error * error;
      if (error > maxAbs[d]!) maxAbs[d] = error;
    }
  }
  const n = window.length;
  const joints: Record<string, JointMetrics> = {};
  record.jointNames.forEach((name, d) => {
    joints[name] = {
      mae_rad: n > 0 ? absSum[d]! / n : null,
      rmse_rad: n > 0 ? Math.sqrt(squareSum[d]! / n) : null,
      max_abs_error_rad: n > 0 ? maxAbs[d]! : null,
      max_step_rad: maxStep(record.commands, d),
      jerk_rms_rad_s3: jerkRms(window.map((command) => command.positionsRad[d]!), periodS),
      recorded_jerk_rms_rad_s3: jerkRms(truthRows.map((row) => row[d]!), periodS),
    };
  });
  const total = (values: Float64Array) => values.reduce((sum, value) => sum + value, 0);

  // control periods between consecutive commands (all of them: the clock runs before the first chunk too)
  const periodsMs: number[] = [];
  let ticksMissed = 0;
  for (let k = 1; k < record.commands.length; k++) {
    const periodNs = Number(record.commands[k]!.timeNs - record.commands[k - 1]!.timeNs);
    periodsMs.push(periodNs / 1e6);
    ticksMissed += Math.max(0, Math.round(periodNs / Number(record.controlPeriodNs)) - 1);
  }
  const nominalMs = Number(record.controlPeriodNs) / 1e6;

  // underruns: window ticks later than the last step of every usable chunk arrived by then
  const byArrival = [...usable].sort((a, b) => (a.arrivalNs < b.arrivalNs ? -1 : a.arrivalNs > b.arrivalNs ? 1 : 0));
  let underruns = 0;
  let next = 0;
  let coveredUntilNs: bigint | undefined;
  for (const command of window) {
    while (next < byArrival.length && byArrival[next]!.arrivalNs <= command.timeNs) {
      const chunk = byArrival[next++]!;
      const lastStepNs = chunk.stampNs + BigInt(Math.round((chunk.horizon - 1) * chunk.dtS * 1e9));
      if (coveredUntilNs === undefined || lastStepNs > coveredUntilNs) coveredUntilNs = lastStepNs;
    }
    if (coveredUntilNs === undefined || command.timeNs > coveredUntilNs) underruns++;
  }

  const stepMaxima = record.jointNames.map((name) => joints[name]!.max_step_rad).filter((value): value is number => value !== null);
  const status = { ok: 0, repaired: 0, failed: 0 };
  for (const chunk of record.chunks) {
    if (chunk.decodeStatus === Decode.DECODE_OK) status.ok++;
    else if (chunk.decodeStatus === Decode.DECODE_REPAIRED) status.repaired++;
    else status.failed++;
  }
  const jitter = percentiles(periodsMs.map((period) => Math.abs(period - nominalMs)));
  const periods = percentiles(periodsMs);
  return {
    window: {
      start_ns: n > 0 ? String(window[0]!.timeNs) : null,
      end_ns: n > 0 ? String(window[n - 1]!.timeNs) : null,
      duration_s: n > 1 ? Number(window[n - 1]!.timeNs - window[0]!.timeNs) / 1e9 : 0,
      ticks: n,
    },
    tracking: {
      mae_rad: n > 0 ? total(absSum) / (n * dims) : null,
      rmse_rad: n > 0 ? Math.sqrt(total(squareSum) / (n * dims)) : null,
      max_abs_error_rad: n > 0 ? Math.max(...maxAbs) : null,
    },
    joints,
    latency_ms: percentiles(record.chunks.map((chunk) => chunk.inferenceLatencyMs)),
    chunk_age_on_arrival_ms: percentiles(record.chunks.map((chunk) => Number(chunk.arrivalNs - chunk.stampNs) / 1e6)),
    control: {
      nominal_period_ms: nominalMs,
      period_ms: { ...periods, min: periodsMs.length > 0 ? Math.min(...periodsMs) : null },
      jitter_ms: jitter,
      ticks_missed: ticksMissed,
    },
    decode_status: status,
    chunks: record.chunks.length,
    replan_requests: record.replanRequests,
    skipped_steps: usable.reduce((sum, chunk) => sum + skippedSteps(chunk), 0),
    underruns,
    max_step_rad: stepMaxima.length > 0 ? Math.max(...stepMaxima) : null,
  };
}

function maxStep(commands: readonly CommandSample[], d: number): number | null {
  if (commands.length < 2) return null;
  let max = 0;
  for (let k = 1; k < commands.length; k++) max = Math.max(max, Math.abs(commands[k]!.positionsRad[d]! - commands[k - 1]!.positionsRad[d]!));
  return max;
}

/** RMS of the third finite difference over the period, rad/s³. */
export function jerkRms(positions: readonly number[], periodS: number): number | null {
  if (positions.length < 4) return null;
  let sum = 0;
  for (let k = 3; k < positions.length; k++) {
    const jerk = (positions[k]! - 3 * positions[k - 1]! + 3 * positions[k - 2]! - positions[k - 3]!) / periodS ** 3;
    sum += jerk * jerk;
  }
  return Math.sqrt(sum / (positions.length - 3));
}

/**
 * Canonical JSON: keys sorted at every level, integers as they are, other numbers to 6 significant digits
 * (−0 as 0), non-finite numbers as null, two-space indentation and a final newline.
 */
export function metricsJson(value: unknown): string {
  return `${JSON.stringify(canonical(value), null, 2)}\n`;
}

function canonical(value: unknown): unknown {
  if (typeof value === "number") {
    if (!Number.isFinite(value)) return null;
    if (Number.isInteger(value)) return value === 0 ? 0 : value;
    const rounded = Number(value.toPrecision(6));
    return rounded === 0 ? 0 : rounded;
  }
  if (typeof value === "bigint") return String(value);
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) out[key] = canonical((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}
