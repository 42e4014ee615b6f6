import { describe, expect, it } from "vitest";
import { DemoMonitor, formatStatus } from "../../src/demo/monitor.js";

const START = 1_000_000_000_000n;
const MS = 1_000_000n;

describe("DemoMonitor", () => {
  it("compares each arm state with the command in force at its stamp", () => {
    const monitor = new DemoMonitor(["a", "b"], 10n * MS, START);
    monitor.onChunk({ arrivalNs: START, stampNs: START, dtS: 0.01, horizon: 1000, decodeStatus: 0, inferenceLatencyMs: 20 });
    monitor.onCommand(START + 10n * MS, Float64Array.from([1, 2]));
    monitor.onCommand(START + 20n * MS, Float64Array.from([3, 4]));
    // before any command: nothing to compare with
    monitor.onArmState(START + 5n * MS, Float64Array.from([9, 9]));
    // at 15 ms the command of 10 ms is in force: errors 0.5 and −1
    monitor.onArmState(START + 15n * MS, Float64Array.from([1.5, 1]));
    // at 20 ms the one of 20 ms: errors 0 and 0
    monitor.onArmState(START + 20n * MS, Float64Array.from([3, 4]));
    const summary = monitor.summary(START + 30n * MS);
    expect(summary.metrics.joints.a!.mae_rad).toBeCloseTo(0.25, 12);
    expect(summary.metrics.joints.b!.mae_rad).toBeCloseTo(0.5, 12);
    expect(summary.metrics.joints.b!.max_abs_error_rad).toBe(1);
    expect(summary.trace.map((sample) => sample.arm)).toEqual([[1.5, 1]]);
    const status = monitor.status(START + 30n * MS, 300 * 2 ** 20);
    expect(status.trackingErrorRad).toBeCloseTo((0.75 + 0) / 2, 12);
    expect(status.rssMb).toBe(300);
  });

  it("reports the observation rate over the last 2 s, chunk latency percentiles and jitter", () => {
    const monitor = new DemoMonitor(["a"], 10n * MS, START);
    for (let k = 0; k < 90; k++) monitor.onObservation(START + BigInt(k) * 33_333_333n);
    for (const latencyMs of [10, 20, 30, 40, 50]) monitor.onChunk({ arrivalNs: START, stampNs: START, dtS: 0.01, horizon: 10, decodeStatus: 0, inferenceLatencyMs: latencyMs });
    [0, 10, 20, 35, 40].forEach((ms) => monitor.onCommand(START + BigInt(ms) * MS, Float64Array.from([0])));
    const status = monitor.status(START + 3_000_000_000n, 0);
    // stamps k·33.33 ms for k = 31..89 are within 2 s of 3 s (k = 30 falls a few ns short)
    expect(status.observationRateHz).toBeCloseTo(59 / 2, 12);
    expect(status.latencyP50Ms).toBe(30);
    expect(status.latencyP95Ms).toBeCloseTo(48, 12);
    // periods 10, 10, 15, 5 ms: jitter 0, 0, 5, 5
    expect(status.jitterP99Ms).toBe(5);
    expect(formatStatus(status, 30)).toBe("3.0/30 s  obs 29.5 Hz  chunk p50 30 ms p95 48 ms  skipped 0  underruns 0  jitter p99 5.00 ms  arm error –  rss 0 MB");
  });
});
