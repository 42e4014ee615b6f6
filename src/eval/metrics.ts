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
  chunkId?: number;
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

/** Grows by doubling; the control periods of a long run (a 10-minute demo: 60k ticks, 480 kB). */
class GrowingSamples {
  private values = new Float64Array(1024);
  length = 0;

  push(value: number): void {
    if (this.length === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.length++] = value;
  }

  toArray(): number[] {
    return Array.from(this.values.subarray(0, this.length));
  }
}

/** Running sums of a per-joint error. */
class ErrorSums {
  readonly abs: Float64Array;
  readonly square: Float64Array;
  readonly max: Float64Array;
  count = 0;

  constructor(dims: number) {
    this.abs = new Float64Array(dims);
    this.square = new Float64Array(dims);
    this.max = new Float64Array(dims);
  }

  add(errors: ArrayLike<number>): void {
    for (let d = 0; d < this.abs.length; d++) {
      const error = Math.abs(errors[d]!);
      this.abs[d] = this.abs[d]! + error;
      this.square[d] = this.square[d]! + error * error;
      if (error > this.max[d]!) this.max[d] = error;
    }
    this.count++;
  }
}

/** Running sum of squared third differences of one signal at a fixed period. */
class JerkSums {
  private readonly last: number[] = [];
  private sum = 0;
  private count = 0;

  add(value: number): void {
    if (this.last.length === 3) {
      const [a, b, c] = this.last as [number, number, number];
      const third = value - 3 * c + 3 * b - a;
      this.sum += third * third;
      this.count++;
      this.last.shift();
    }
    this.last.push(value);
  }

  rms(periodS: number): number | null {
    return this.count > 0 ? Math.sqrt(this.sum / this.count) / periodS ** 3 : null;
  }
}

export interface AccumulatorOptions {
  jointNames: readonly string[];
  controlPeriodNs: bigint;
  /** The truth commands are compared with at their times (replay: the recorded action); it also ends the window. */
  reference?: JointTrajectory;
}

/**
 * The metrics as events arrive, in time order: chunks on arrival, commands at their ticks. Memory is bounded
 * by the chunks and the control periods (for their percentiles), so a long live run can feed it too. Without
 * a `reference`, tracking errors come from `addTrackingError` (the demo: arm position against its command).
 */
export class MetricsAccumulator {
  private readonly dims: number;
  private readonly periodS: number;
  private readonly tracking: ErrorSums;
  private readonly jerk: JerkSums[];
  private readonly referenceJerk: JerkSums[];
  private readonly maxStep: Float64Array;
  private readonly periodsMs = new GrowingSamples();
  private readonly latenciesMs: number[] = [];
  private readonly agesMs: number[] = [];
  private readonly truth: Float64Array;
  private previous: CommandSample | undefined;
  private ticksMissed = 0;
  private windowStartNs: bigint | undefined;
  private windowEndNs: bigint | undefined;
  private windowTicks = 0;
  private engaged = false;
  private coveredUntilNs: bigint | undefined;
  private underruns = 0;
  private skipped = 0;
  private chunks = 0;
  private requests = 0;
  private readonly status = { ok: 0, repaired: 0, failed: 0 };

  constructor(private readonly options: AccumulatorOptions) {
    this.dims = options.jointNames.length;
    this.periodS = Number(options.controlPeriodNs) / 1e9;
    this.tracking = new ErrorSums(this.dims);
    this.jerk = options.jointNames.map(() => new JerkSums());
    this.referenceJerk = options.jointNames.map(() => new JerkSums());
    this.maxStep = new Float64Array(this.dims);
    this.truth = new Float64Array(this.dims);
  }

  addChunk(chunk: ChunkArrival): void {
    this.chunks++;
    this.latenciesMs.push(chunk.inferenceLatencyMs);
    this.agesMs.push(Number(chunk.arrivalNs - chunk.stampNs) / 1e6);
    if (chunk.decodeStatus === Decode.DECODE_OK) this.status.ok++;
    else if (chunk.decodeStatus === Decode.DECODE_REPAIRED) this.status.repaired++;
    else {
      this.status.failed++;
      return; // a failed chunk holds no steps: it neither engages nor covers anything
    }
    this.engaged = true;
    this.skipped += skippedSteps(chunk);
    const lastStepNs = chunk.stampNs + BigInt(Math.round((chunk.horizon - 1) * chunk.dtS * 1e9));
    if (this.coveredUntilNs === undefined || lastStepNs > this.coveredUntilNs) this.coveredUntilNs = lastStepNs;
  }

  addReplanRequest(): void {
    this.requests++;
  }

  /** Steps skipped on arrival so far. */
  get skippedSteps(): number {
    return this.skipped;
  }

  /** Window ticks no usable chunk covered so far. */
  get underrunTicks(): number {
    return this.underruns;
  }

  addCommand(command: CommandSample): void {
    const previous = this.previous;
    if (previous !== undefined) {
      const periodNs = Number(command.timeNs - previous.timeNs);
      this.periodsMs.push(periodNs / 1e6);
      this.ticksMissed += Math.max(0, Math.round(periodNs / Number(this.options.controlPeriodNs)) - 1);
      for (let d = 0; d < this.dims; d++) this.maxStep[d] = Math.max(this.maxStep[d]!, Math.abs(command.positionsRad[d]! - previous.positionsRad[d]!));
    }
    this.previous = command;
    const reference = this.options.reference;
    if (!this.engaged || (reference !== undefined && command.timeNs > reference.endNs)) return;
    // in the window: from the first usable chunk's arrival to the end of the reference
    this.windowStartNs ??= command.timeNs;
    this.windowEndNs = command.timeNs;
    this.windowTicks++;
    if (this.coveredUntilNs === undefined || command.timeNs > this.coveredUntilNs) this.underruns++;
    for (let d = 0; d < this.dims; d++) this.jerk[d]!.add(command.positionsRad[d]!);
    if (reference !== undefined) {
      reference.at(command.timeNs, this.truth);
      for (let d = 0; d < this.dims; d++) {
        this.referenceJerk[d]!.add(this.truth[d]!);
        this.truth[d] = command.positionsRad[d]! - this.truth[d]!;
      }
      this.tracking.add(this.truth);
    }
  }

  /** A tracking error measured elsewhere (per joint, radians), e.g. the arm's position against its command. */
  addTrackingError(errorsRad: ArrayLike<number>): void {
    this.tracking.add(errorsRad);
  }

  result(): ReplayMetrics {
    const { dims, tracking } = this;
    const n = tracking.count;
    const hasSteps = this.periodsMs.length > 0;
    const joints: Record<string, JointMetrics> = {};
    this.options.jointNames.forEach((name, d) => {
      joints[name] = {
        mae_rad: n > 0 ? tracking.abs[d]! / n : null,
        rmse_rad: n > 0 ? Math.sqrt(tracking.square[d]! / n) : null,
        max_abs_error_rad: n > 0 ? tracking.max[d]! : null,
        max_step_rad: hasSteps ? this.maxStep[d]! : null,
        jerk_rms_rad_s3: this.jerk[d]!.rms(this.periodS),
        recorded_jerk_rms_rad_s3: this.referenceJerk[d]!.rms(this.periodS),
      };
    });
    const total = (values: Float64Array) => values.reduce((sum, value) => sum + value, 0);
    const periodsMs = this.periodsMs.toArray();
    const nominalMs = Number(this.options.controlPeriodNs) / 1e6;
    return {
      window: {
        start_ns: this.windowStartNs !== undefined ? String(this.windowStartNs) : null,
        end_ns: this.windowEndNs !== undefined ? String(this.windowEndNs) : null,
        duration_s: this.windowStartNs !== undefined ? Number(this.windowEndNs! - this.windowStartNs) / 1e9 : 0,
        ticks: this.windowTicks,
      },
      tracking: {
        mae_rad: n > 0 ? total(tracking.abs) / (n * dims) : null,
        rmse_rad: n > 0 ? Math.sqrt(total(tracking.square) / (n * dims)) : null,
        max_abs_error_rad: n > 0 ? Math.max(...tracking.max) : null,
      },
      joints,
      latency_ms: percentiles(this.latenciesMs),
      chunk_age_on_arrival_ms: percentiles(this.agesMs),
      control: {
        nominal_period_ms: nominalMs,
        period_ms: { ...percentiles(periodsMs), min: periodsMs.length > 0 ? Math.min(...periodsMs) : null },
        jitter_ms: percentiles(periodsMs.map((period) => Math.abs(period - nominalMs))),
        ticks_missed: this.ticksMissed,
      },
      decode_status: { ...this.status },
      chunks: this.chunks,
      replan_requests: this.requests,
      skipped_steps: this.skipped,
      underruns: this.underruns,
      max_step_rad: hasSteps ? Math.max(...this.maxStep) : null,
    };
  }
}

/**
 * The metrics of a whole record: chunks and commands fed in time order (a chunk before a command of the same
 * instant: a tick at the arrival time already sees it).
 */
export function computeMetrics(record: ReplayRecord): ReplayMetrics {
  const accumulator = new MetricsAccumulator({ jointNames: record.jointNames, controlPeriodNs: record.controlPeriodNs, reference: record.recordedAction });
  const chunks = [...record.chunks].sort((a, b) => (a.arrivalNs < b.arrivalNs ? -1 : a.arrivalNs > b.arrivalNs ? 1 : 0));
  let next = 0;
  for (const command of record.commands) {
    while (next < chunks.length && chunks[next]!.arrivalNs <= command.timeNs) accumulator.addChunk(chunks[next++]!);
    accumulator.addCommand(command);
  }
  while (next < chunks.length) accumulator.addChunk(chunks[next++]!);
  for (let r = 0; r < record.replanRequests; r++) accumulator.addReplanRequest();
  return accumulator.result();
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
