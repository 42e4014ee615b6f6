import { describe, expect, it } from "vitest";
import type { ExecutionState } from "../../src/blending/blender.js";
import { percentile, ReplanScheduler, type ReplanDecision, type ReplanSettings } from "../../src/blending/replan.js";

const MS = 1_000_000n;
const T0 = 1_000_000_000_000n;
const PERIOD = 10n * MS;
const DT_S = 1 / 30;
const SETTINGS: ReplanSettings = { warmupSteps: 5, stepsBetweenReplan: 10, timeoutMs: 1000, latencyWindow: 4 };

/** An execution with a 50-step chunk stamped at `stampNs`, switched in at `switchNs`. */
function executing(stampNs: bigint, switchNs: bigint, nowNs: bigint, horizon = 50): ExecutionState {
  return { chunkId: 1, step: 0, dtS: DT_S, remainingS: Number(stampNs - nowNs) / 1e9 + (horizon - 1) * DT_S, firstSwitchNs: switchNs };
}

const NOTHING: ExecutionState = { chunkId: 0, step: 0, dtS: undefined, remainingS: undefined, firstSwitchNs: undefined };

/** Ticks from `fromNs` to `toNs` (exclusive); the decisions with their times. */
function ticks(scheduler: ReplanScheduler, fromNs: bigint, toNs: bigint, execution: (nowNs: bigint) => ExecutionState): Array<ReplanDecision & { atNs: bigint }> {
  const out: Array<ReplanDecision & { atNs: bigint }> = [];
  for (let t = fromNs; t < toNs; t += PERIOD) {
    const decision = scheduler.decide(t, execution(t), true);
    if (decision !== undefined) out.push({ ...decision, atNs: t });
  }
  return out;
}

describe("replan scheduler", () => {
  it("asks nothing before the arm is known, then once at once, and nothing more while that request is in flight", () => {
    const scheduler = new ReplanScheduler(SETTINGS);
    expect(scheduler.decide(T0, NOTHING, false)).toBeUndefined();
    expect(scheduler.decide(T0, NOTHING, true)).toEqual({ requestId: 1, why: "first" });
    expect(ticks(scheduler, T0 + PERIOD, T0 + 900n * MS, () => NOTHING)).toEqual([]);
    expect(scheduler.requestInFlight).toBe(true);
  });

  it("asks after n_steps_warmup steps of the first chunk, then every n_steps_between_replan steps", () => {
    const scheduler = new ReplanScheduler({ ...SETTINGS, stepsBetweenReplan: 12 });
    scheduler.decide(T0, NOTHING, true);
    // A slow first answer (model loading): 700 ms.
    const switchNs = T0 + 700n * MS;
    scheduler.onChunkArrival(switchNs);
    const requests: Array<ReplanDecision & { atNs: bigint }> = [];
    let answerAtNs: bigint | undefined;
    for (let t = switchNs; t < switchNs + 2000n * MS; t += PERIOD) {
      if (answerAtNs !== undefined && t >= answerAtNs) {
        scheduler.onChunkArrival(t);
        answerAtNs = undefined;
      }
      const decision = scheduler.decide(t, executing(T0, switchNs, t, 200), true);
      if (decision === undefined) continue;
      requests.push({ ...decision, atNs: t });
      answerAtNs = t + 80n * MS;
    }
    // 5 steps of 1/30 s after the switch-over = 166.7 ms → the tick at 170 ms; then 12 steps = 400 ms apart.
    expect(requests.map((r) => [r.why, Number(r.atNs - switchNs) / 1e6])).toEqual([
      ["warmup", 170],
      ["cadence", 570],
      ["cadence", 970],
      ["cadence", 1370],
      ["cadence", 1770],
    ]);
    expect(scheduler.latencyWindowMs).toEqual([80, 80, 80, 80]);
  });

  it("keeps one request in flight, measures request → chunk latency without the warm-up, and retries after replan_timeout_ms (counted)", () => {
    const scheduler = new ReplanScheduler({ ...SETTINGS, stepsBetweenReplan: 3 });
    scheduler.decide(T0, NOTHING, true);
    scheduler.onChunkArrival(T0 + 2000n * MS);
    expect(scheduler.warmupLatencyMs).toBe(2000);
    expect(scheduler.latencyWindowMs).toEqual([]);
    const switchNs = T0 + 2000n * MS;
    let t = switchNs;
    const latencies = [120, 90, 150, 110, 100];
    for (const latencyMs of latencies) {
      let decision: ReplanDecision | undefined;
      while ((decision = scheduler.decide(t, executing(switchNs, switchNs, t, 1000), true)) === undefined) t += PERIOD;
      expect(decision.why).not.toBe("retry");
      t += BigInt(latencyMs) * MS;
      scheduler.onChunkArrival(t);
    }
    // The window keeps the last 4 steady latencies; the 2 s warm-up never entered it.
    expect(scheduler.latencyWindowMs).toEqual([90, 150, 110, 100]);
    expect(scheduler.latencyEstimateMs()).toBe(150);
    // Now no answer: a retry after 1000 ms, counted; the latency runs from the first send.
    const sent = scheduler.decide(t + 200n * MS, executing(switchNs, switchNs, t + 200n * MS, 1000), true)!;
    expect(sent.why).toBe("cadence");
    expect(scheduler.decide(t + 1190n * MS, executing(switchNs, switchNs, t, 1000), true)).toBeUndefined();
    const retry = scheduler.decide(t + 1200n * MS, executing(switchNs, switchNs, t, 1000), true)!;
    expect(retry).toEqual({ requestId: sent.requestId + 1, why: "retry" });
    expect(scheduler.counters.timeouts).toBe(1);
    scheduler.onChunkArrival(t + 1300n * MS);
    expect(scheduler.latencyWindowMs.at(-1)).toBe(1100);
  });

  it("asks early when the newest chunk would run out before an answer (p95 latency + one step) could land", () => {
    const scheduler = new ReplanScheduler({ ...SETTINGS, warmupSteps: 0, stepsBetweenReplan: 1000 });
    scheduler.decide(T0, NOTHING, true);
    scheduler.onChunkArrival(T0 + 100n * MS);
    const switchNs = T0 + 100n * MS;
    // The warm-up request at once (0 steps), answered in 300 ms: the window holds 300.
    expect(scheduler.decide(switchNs, executing(T0, switchNs, switchNs), true)?.why).toBe("warmup");
    scheduler.onChunkArrival(switchNs + 300n * MS);
    // A new chunk stamped at switchNs runs out at switchNs + 49/30 s = 1633 ms: ask once ≤ 300 + 33.3 ms remain.
    const early = ticks(scheduler, switchNs + 310n * MS, switchNs + 2000n * MS, (t) => executing(switchNs, switchNs, t));
    expect(early[0]).toMatchObject({ why: "early", atNs: switchNs + 1300n * MS });
  });

  it("computes nearest-rank percentiles", () => {
    expect(percentile([5, 1, 4, 2, 3], 0.5)).toBe(3);
    expect(percentile([5, 1, 4, 2, 3], 0.95)).toBe(5);
    expect(percentile([7], 0.95)).toBe(7);
  });
});
