/**
 * When the blender asks for a new chunk. One request at a time: the first as soon as the arm is known,
 * the next after `warmupSteps` steps of the first chunk, then every `stepsBetweenReplan` steps, and earlier
 * when the newest chunk would otherwise run out before an answer can arrive, judged from the request → chunk
 * latency measured continuously over a sliding window. Answers to requests sent before the first chunk
 * (model loading, warm-up) never enter the window: a warm-up latency is no estimate of the steady one
 * (LeRobot PR #4223). A request unanswered for `timeoutMs` is sent again, and counted.
 * Pure: time in bigint nanoseconds.
 */
import type { ExecutionState } from "./blender.js";

export interface ReplanSettings {
  readonly warmupSteps: number;
  readonly stepsBetweenReplan: number;
  readonly timeoutMs: number;
  /** Arrivals kept for the latency estimate. */
  readonly latencyWindow: number;
}

export interface ReplanCounters {
  requests: number;
  /** Requests sent again after `timeoutMs` without an answer. */
  timeouts: number;
}

export interface ReplanDecision {
  readonly requestId: number;
  readonly why: "first" | "warmup" | "cadence" | "early" | "retry";
}

interface InFlight {
  requestId: number;
  /** When this request cycle began (a retry keeps it): the latency is what the blender waited. */
  firstSentNs: bigint;
  sentNs: bigint;
  /** Sent before the first chunk was switched in. */
  warmup: boolean;
}

export class ReplanScheduler {
  private settings: ReplanSettings;
  private inFlight: InFlight | undefined;
  private lastRequestNs: bigint | undefined;
  private nextRequestId = 1;
  private readonly latenciesMs: number[] = [];
  private slowestWarmupMs: number | undefined;
  readonly counters: ReplanCounters = { requests: 0, timeouts: 0 };

  constructor(settings: ReplanSettings) {
    this.settings = settings;
  }

  updateSettings(settings: ReplanSettings): void {
    this.settings = settings;
    while (this.latenciesMs.length > settings.latencyWindow) this.latenciesMs.shift();
  }

  get requestInFlight(): boolean {
    return this.inFlight !== undefined;
  }

  /** Steady request → chunk latencies, oldest first. */
  get latencyWindowMs(): readonly number[] {
    return this.latenciesMs;
  }

  /** The latency the early request plans with: p95 of the window (undefined while it is empty). */
  latencyEstimateMs(): number | undefined {
    return this.latenciesMs.length === 0 ? undefined : percentile(this.latenciesMs, 0.95);
  }

  /** The slowest answer to a request sent before the first chunk (model loading, warm-up): reported, never planned with. */
  get warmupLatencyMs(): number | undefined {
    return this.slowestWarmupMs;
  }

  /** Whether to send a request at this tick; `armKnown` is false until the arm's position is known. */
  decide(timeNs: bigint, execution: ExecutionState, armKnown: boolean): ReplanDecision | undefined {
    if (!armKnown) return undefined;
    const inFlight = this.inFlight;
    if (inFlight !== undefined) {
      if (Number(timeNs - inFlight.sentNs) / 1e6 < this.settings.timeoutMs) return undefined;
      this.counters.timeouts++;
      return this.send(timeNs, "retry", inFlight.firstSentNs, inFlight.warmup);
    }
    if (execution.dtS === undefined) return this.send(timeNs, "first", timeNs, true);
    // A chunk is accepted but waits for its stamp: nothing to plan from yet.
    if (execution.firstSwitchNs === undefined) return undefined;
    const dtNs = execution.dtS * 1e9;
    const stepsSince = (sinceNs: bigint) => Number(timeNs - sinceNs) / dtNs;
    const warmingUp = this.lastRequestNs === undefined || this.lastRequestNs < execution.firstSwitchNs;
    if (warmingUp) {
      return stepsSince(execution.firstSwitchNs) >= this.settings.warmupSteps ? this.send(timeNs, "warmup", timeNs, false) : undefined;
    }
    if (stepsSince(this.lastRequestNs!) >= this.settings.stepsBetweenReplan) return this.send(timeNs, "cadence", timeNs, false);
    const latencyMs = this.latencyEstimateMs();
    // One step of margin: the answer must land before the last step, not on it.
    if (latencyMs !== undefined && execution.remainingS !== undefined && execution.remainingS * 1000 <= latencyMs + execution.dtS * 1000) {
      return this.send(timeNs, "early", timeNs, false);
    }
    return undefined;
  }

  /** A chunk arrived (accepted or not): it answers the request in flight, if any. */
  onChunkArrival(timeNs: bigint): void {
    const inFlight = this.inFlight;
    if (inFlight === undefined) return;
    this.inFlight = undefined;
    const latencyMs = Number(timeNs - inFlight.firstSentNs) / 1e6;
    if (inFlight.warmup) {
      this.slowestWarmupMs = Math.max(this.slowestWarmupMs ?? 0, latencyMs);
      return;
    }
    this.latenciesMs.push(latencyMs);
    while (this.latenciesMs.length > this.settings.latencyWindow) this.latenciesMs.shift();
  }

  private send(timeNs: bigint, why: ReplanDecision["why"], firstSentNs: bigint, warmup: boolean): ReplanDecision {
    const requestId = this.nextRequestId++;
    this.inFlight = { requestId, firstSentNs, sentNs: timeNs, warmup };
    this.lastRequestNs = timeNs;
    this.counters.requests++;
    return { requestId, why };
  }
}

/** The q-quantile of some values (nearest rank). */
export function percentile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
