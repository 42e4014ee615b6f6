/**
 * What `pi0fast demo` shows while it runs and sums up at the end, from the topics alone: observation rate,
 * chunk latency, skipped steps, underruns, control jitter, the arm's tracking error (its joint states against
 * the command of the same instant), resident memory. Memory stays bounded over a long run: the whole-run
 * figures come from the replay metrics accumulator, the recent ones from short rings.
 */
import { MetricsAccumulator, percentile, type ChunkArrival, type ReplayMetrics } from "../eval/metrics.js";

/** A fixed-size ring of the latest values. */
class Ring<T> {
  private readonly items: T[] = [];
  private next = 0;

  constructor(readonly capacity: number) {}

  push(item: T): void {
    if (this.items.length < this.capacity) this.items.push(item);
    else this.items[this.next] = item;
    this.next = (this.next + 1) % this.capacity;
  }

  /** Oldest first. */
  values(): T[] {
    return this.items.length < this.capacity ? [...this.items] : [...this.items.slice(this.next), ...this.items.slice(0, this.next)];
  }

  get length(): number {
    return this.items.length;
  }
}

interface TimedPositions {
  timeNs: bigint;
  positionsRad: Float64Array;
}

export interface DemoStatus {
  elapsedS: number;
  observationRateHz: number;
  latencyP50Ms: number | null;
  latencyP95Ms: number | null;
  skippedSteps: number;
  underruns: number;
  /** |period − nominal| p99 over the recent ticks. */
  jitterP99Ms: number | null;
  /** Mean |arm − command| over joints and the recent joint states. */
  trackingErrorRad: number | null;
  rssMb: number;
}

export interface TraceSample {
  /** Seconds from the start. */
  t: number;
  command: number[];
  arm: number[];
}

export interface DemoSummary {
  durationS: number;
  observations: number;
  metrics: ReplayMetrics;
  /** Resident memory at 1 Hz: seconds from the start and MB. */
  memory: { t: number; rssMb: number }[];
  /** The last seconds of command and arm position, for the report. */
  trace: TraceSample[];
  /** Every chunk's reported latency (a few per second). */
  chunkLatenciesMs: number[];
}

/** Trace points kept: the last 20 s at 20 Hz. */
const TRACE_POINTS = 400;
const TRACE_PERIOD_NS = 50_000_000n;

export class DemoMonitor {
  private readonly accumulator: MetricsAccumulator;
  private readonly observations = new Ring<bigint>(300);
  private observationCount = 0;
  private readonly latenciesMs = new Ring<number>(50);
  private readonly allLatenciesMs: number[] = [];
  private readonly periodsMs = new Ring<number>(500);
  private readonly errors = new Ring<number>(200);
  /** Recent commands, to find the one of a joint state's instant. */
  private readonly commands = new Ring<TimedPositions>(200);
  private readonly trace = new Ring<TraceSample>(TRACE_POINTS);
  private lastTraceNs: bigint | undefined;
  private lastCommandNs: bigint | undefined;
  private readonly memory: { t: number; rssMb: number }[] = [];
  private readonly nominalMs: number;

  constructor(
    readonly jointNames: readonly string[],
    readonly controlPeriodNs: bigint,
    readonly startNs: bigint,
  ) {
    this.accumulator = new MetricsAccumulator({ jointNames, controlPeriodNs });
    this.nominalMs = Number(controlPeriodNs) / 1e6;
  }

  onObservation(stampNs: bigint): void {
    this.observations.push(stampNs);
    this.observationCount++;
  }

  onChunk(chunk: ChunkArrival): void {
    this.accumulator.addChunk(chunk);
    this.latenciesMs.push(chunk.inferenceLatencyMs);
    this.allLatenciesMs.push(chunk.inferenceLatencyMs);
  }

  onReplanRequest(): void {
    this.accumulator.addReplanRequest();
  }

  onCommand(timeNs: bigint, positionsRad: Float64Array): void {
    this.accumulator.addCommand({ timeNs, positionsRad });
    if (this.lastCommandNs !== undefined) this.periodsMs.push(Number(timeNs - this.lastCommandNs) / 1e6);
    this.lastCommandNs = timeNs;
    this.commands.push({ timeNs, positionsRad });
  }

  /** The arm's position at `timeNs` against the command in force then (the latest at or before it). */
  onArmState(timeNs: bigint, positionsRad: Float64Array): void {
    const recent = this.commands.values();
    let command: TimedPositions | undefined;
    for (let i = recent.length - 1; i >= 0; i--) {
      if (recent[i]!.timeNs <= timeNs) {
        command = recent[i];
        break;
      }
    }
    if (command === undefined) return;
    const errors = Array.from(positionsRad, (value, d) => value - command.positionsRad[d]!);
    this.accumulator.addTrackingError(errors);
    this.errors.push(errors.reduce((sum, error) => sum + Math.abs(error), 0) / errors.length);
    if (this.lastTraceNs === undefined || timeNs - this.lastTraceNs >= TRACE_PERIOD_NS) {
      this.lastTraceNs = timeNs;
      this.trace.push({ t: Number(timeNs - this.startNs) / 1e9, command: Array.from(command.positionsRad), arm: Array.from(positionsRad) });
    }
  }

  sampleMemory(nowNs: bigint, rssBytes: number): void {
    this.memory.push({ t: Number(nowNs - this.startNs) / 1e9, rssMb: rssBytes / 2 ** 20 });
  }

  status(nowNs: bigint, rssBytes: number): DemoStatus {
    const stamps = this.observations.values();
    const windowNs = 2_000_000_000n;
    const recent = stamps.filter((stamp) => nowNs - stamp <= windowNs);
    const sortedLatencies = this.latenciesMs.values().sort((a, b) => a - b);
    const jitter = this.periodsMs.values().map((period) => Math.abs(period - this.nominalMs)).sort((a, b) => a - b);
    const errors = this.errors.values();
    return {
      elapsedS: Number(nowNs - this.startNs) / 1e9,
      observationRateHz: recent.length / (Number(windowNs) / 1e9),
      latencyP50Ms: percentile(sortedLatencies, 50),
      latencyP95Ms: percentile(sortedLatencies, 95),
      skippedSteps: this.accumulator.skippedSteps,
      underruns: this.accumulator.underrunTicks,
      jitterP99Ms: percentile(jitter, 99),
      trackingErrorRad: errors.length > 0 ? errors.reduce((a, b) => a + b, 0) / errors.length : null,
      rssMb: rssBytes / 2 ** 20,
    };
  }

  summary(nowNs: bigint): DemoSummary {
    return { durationS: Number(nowNs - this.startNs) / 1e9, observations: this.observationCount, metrics: this.accumulator.result(), memory: [...this.memory], trace: this.trace.values(), chunkLatenciesMs: [...this.allLatenciesMs] };
  }
}

/** One terminal line: `12.0/30 s  obs 29.9 Hz  chunk p50 16 ms p95 22 ms  skipped 12  underruns 0  jitter p99 0.41 ms  arm error 0.012 rad  rss 310 MB`. */
export function formatStatus(status: DemoStatus, durationS: number): string {
  const ms = (value: number | null, digits = 0) => (value === null ? "–" : `${value.toFixed(digits)} ms`);
  return [
    `${status.elapsedS.toFixed(1)}/${durationS} s`,
    `obs ${status.observationRateHz.toFixed(1)} Hz`,
    `chunk p50 ${ms(status.latencyP50Ms)} p95 ${ms(status.latencyP95Ms)}`,
    `skipped ${status.skippedSteps}`,
    `underruns ${status.underruns}`,
    `jitter p99 ${ms(status.jitterP99Ms, 2)}`,
    `arm error ${status.trackingErrorRad === null ? "–" : `${status.trackingErrorRad.toFixed(3)} rad`}`,
    `rss ${status.rssMb.toFixed(0)} MB`,
  ].join("  ");
}
