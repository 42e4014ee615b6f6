import { describe, expect, it } from "vitest";
import { computeMetrics, jerkRms, metricsJson, percentile, percentiles, skippedSteps, type ChunkArrival, type CommandSample, type ReplayRecord } from "../../src/eval/metrics.js";
import { JointTrajectory } from "../../src/eval/trajectory.js";

const START = 1_760_000_000_000_000_000n;
const PERIOD = 10_000_000n; // 100 Hz
const JOINTS = ["shoulder_pan", "gripper"];

/** Recorded action sampled at every tick: pan = sin(t), gripper = 0.5 + 0.1 t. */
function recorded(ticks: number): JointTrajectory {
  const samples = Array.from({ length: ticks }, (_, k) => {
    const t = k / 100;
    // joint order differs from JOINTS and an extra joint is present: the trajectory picks by name
    return { timeNs: START + BigInt(k) * PERIOD, names: ["gripper", "elbow_flex", "shoulder_pan"], positionsRad: [0.5 + 0.1 * t, 9, Math.sin(t)] };
  });
  return JointTrajectory.fromSamples(samples.reverse(), JOINTS, "/leader/joint_states");
}

function chunk(overrides: Partial<ChunkArrival> = {}): ChunkArrival {
  return { arrivalNs: START, stampNs: START, dtS: 0.01, horizon: 1000, decodeStatus: 0, inferenceLatencyMs: 0, ...overrides };
}

function record(commands: CommandSample[], chunks: ChunkArrival[], ticks = 200): ReplayRecord {
  return { jointNames: JOINTS, controlPeriodNs: PERIOD, commands, chunks, replanRequests: chunks.length, recordedAction: recorded(ticks) };
}

describe("JointTrajectory", () => {
  it("interpolates linearly between samples and holds the ends", () => {
    const trajectory = JointTrajectory.fromSamples(
      [
        { timeNs: START, names: ["a", "b"], positionsRad: [0, 1] },
        { timeNs: START + 100_000_000n, names: ["b", "a"], positionsRad: [3, 1] },
      ],
      ["a", "b"],
      "test",
    );
    expect([...trajectory.at(START + 25_000_000n)]).toEqual([0.25, 1.5]);
    expect([...trajectory.at(START - 1_000_000_000n)]).toEqual([0, 1]);
    expect([...trajectory.at(START + 5_000_000_000n)]).toEqual([1, 3]);
    expect(trajectory.endNs).toBe(START + 100_000_000n);
  });

  it("names the topic, the time and the joint a sample lacks", () => {
    expect(() => JointTrajectory.fromSamples([{ timeNs: 5n, names: ["a"], positionsRad: [0] }], ["a", "gripper"], "/leader/joint_states")).toThrow(
      "/leader/joint_states: the joint state at 5 ns has no position for 'gripper' (names: a); expected a, gripper",
    );
    expect(() => JointTrajectory.fromSamples([{ timeNs: 5n, names: ["a"], positionsRad: [Number.NaN] }], ["a"], "/x")).toThrow(/position NaN for 'a'/);
    expect(() => JointTrajectory.fromSamples([], ["a"], "/x")).toThrow(/holds no joint state/);
  });
});

describe("computeMetrics", () => {
  it("gives per-joint MAE and RMSE of the commands against the recorded action at the command times", () => {
    // pan off by 0 and 0.2 on alternate ticks (MAE 0.1, RMSE 0.1·√2), gripper off by −0.05 everywhere
    const commands: CommandSample[] = Array.from({ length: 100 }, (_, k) => {
      const t = k / 100;
      return { timeNs: START + BigInt(k) * PERIOD, positionsRad: [Math.sin(t) + (k % 2 === 0 ? 0 : 0.2), 0.5 + 0.1 * t - 0.05] };
    });
    const metrics = computeMetrics(record(commands, [chunk()]));
    expect(metrics.window.ticks).toBe(100);
    expect(metrics.joints.shoulder_pan!.mae_rad).toBeCloseTo(0.1, 12);
    expect(metrics.joints.shoulder_pan!.rmse_rad).toBeCloseTo(0.1 * Math.SQRT2, 12);
    expect(metrics.joints.shoulder_pan!.max_abs_error_rad).toBeCloseTo(0.2, 12);
    expect(metrics.joints.gripper!.mae_rad).toBeCloseTo(0.05, 12);
    expect(metrics.joints.gripper!.rmse_rad).toBeCloseTo(0.05, 12);
    expect(metrics.tracking.mae_rad).toBeCloseTo(0.075, 12);
    expect(metrics.tracking.rmse_rad).toBeCloseTo(Math.sqrt((0.02 + 0.0025) / 2), 12);
  });

  it("compares only from the first usable chunk's arrival to the end of the recorded action", () => {
    const commands: CommandSample[] = Array.from({ length: 300 }, (_, k) => ({ timeNs: START + BigInt(k) * PERIOD, positionsRad: [k < 50 ? 5 : Math.sin(k / 100), 0.5 + 0.001 * k] }));
    const chunks = [chunk({ arrivalNs: START + 10n * PERIOD, decodeStatus: 2 }), chunk({ arrivalNs: START + 50n * PERIOD })];
    const metrics = computeMetrics(record(commands, chunks, 200));
    expect(metrics.window.start_ns).toBe(String(START + 50n * PERIOD));
    expect(metrics.window.end_ns).toBe(String(START + 199n * PERIOD));
    expect(metrics.window.ticks).toBe(150);
    expect(metrics.joints.shoulder_pan!.mae_rad).toBeCloseTo(0, 12);
    expect(metrics.decode_status).toEqual({ ok: 1, repaired: 0, failed: 1 });
  });

  it("counts skipped steps and the ticks no chunk covered (underruns)", () => {
    expect(skippedSteps(chunk({ stampNs: START, arrivalNs: START + 25_000_000n, dtS: 0.01 }))).toBe(3);
    expect(skippedSteps(chunk({ stampNs: START, arrivalNs: START + 20_000_000n, dtS: 0.01 }))).toBe(2);
    expect(skippedSteps(chunk({ stampNs: START + 5n, arrivalNs: START }))).toBe(0);
    expect(skippedSteps(chunk({ stampNs: START, arrivalNs: START + 10_000_000_000n, horizon: 7 }))).toBe(7);
    const commands: CommandSample[] = Array.from({ length: 100 }, (_, k) => ({ timeNs: START + BigInt(k) * PERIOD, positionsRad: [0, 0] }));
    // chunk A covers ticks 0..19; chunk B arrives at tick 30 stamped at tick 25 and covers 25..64
    const chunks = [chunk({ horizon: 20 }), chunk({ stampNs: START + 25n * PERIOD, arrivalNs: START + 30n * PERIOD, horizon: 40 })];
    const metrics = computeMetrics(record(commands, chunks));
    expect(metrics.underruns).toBe(10 + 35); // ticks 20..29 and 65..99
    expect(metrics.skipped_steps).toBe(5);
    expect(metrics.chunk_age_on_arrival_ms.max).toBeCloseTo(50, 9);
  });

  it("measures control periods, jitter and missed ticks", () => {
    const times = [0n, 10n, 20n, 31n, 40n, 60n, 70n].map((ms) => START + ms * 1_000_000n);
    const commands = times.map((timeNs) => ({ timeNs, positionsRad: [0, 0] }));
    const metrics = computeMetrics(record(commands, [chunk()]));
    expect(metrics.control.nominal_period_ms).toBe(10);
    expect(metrics.control.period_ms.max).toBe(20);
    expect(metrics.control.period_ms.min).toBe(9);
    expect(metrics.control.jitter_ms.max).toBe(10);
    expect(metrics.control.ticks_missed).toBe(1);
  });

  it("measures the largest step between ticks and the jerk", () => {
    // x = t³ has jerk 6 everywhere: the third difference is exact for a cubic
    const commands = Array.from({ length: 50 }, (_, k) => ({ timeNs: START + BigInt(k) * PERIOD, positionsRad: [(k / 100) ** 3, k === 20 ? 0.3 : 0] }));
    const metrics = computeMetrics(record(commands, [chunk()]));
    expect(metrics.joints.shoulder_pan!.jerk_rms_rad_s3).toBeCloseTo(6, 6);
    expect(metrics.joints.gripper!.max_step_rad).toBeCloseTo(0.3, 12);
    expect(metrics.max_step_rad).toBeCloseTo(0.3, 12);
    // the recorded gripper ramp has no jerk
    expect(metrics.joints.gripper!.recorded_jerk_rms_rad_s3).toBeCloseTo(0, 3);
    expect(jerkRms([1, 2, 3], 0.01)).toBeNull();
  });

  it("reports latency percentiles linear between ranks, as numpy does", () => {
    expect(percentile([1, 2, 3, 4], 50)).toBe(2.5);
    expect(percentile([1, 2, 3, 4], 95)).toBeCloseTo(3.85, 12);
    expect(percentile([], 50)).toBeNull();
    expect(percentiles([300, 100, 200])).toEqual({ count: 3, p50: 200, p95: 290, p99: 298, max: 300 });
    const metrics = computeMetrics(record([], [chunk({ inferenceLatencyMs: 100 }), chunk({ inferenceLatencyMs: 300 })]));
    expect(metrics.latency_ms.p50).toBe(200);
    expect(metrics.window.ticks).toBe(0);
    expect(metrics.tracking.mae_rad).toBeNull();
  });
});

describe("metricsJson", () => {
  it("sorts keys at every level and rounds to 6 significant digits, so equal metrics give equal bytes", () => {
    const a = metricsJson({ b: 1 / 3, a: { z: -0, y: Number.NaN, x: [2.000000001, 123456789] }, c: 7n });
    const b = metricsJson({ c: 7n, a: { x: [2.0000000012, 123456789], y: Number.NaN, z: 0 }, b: 0.3333333 });
    expect(a).toBe(b);
    expect(a).toBe('{\n  "a": {\n    "x": [\n      2,\n      123456789\n    ],\n    "y": null,\n    "z": 0\n  },\n  "b": 0.333333,\n  "c": "7"\n}\n');
  });
});
