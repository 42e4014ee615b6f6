/** The demo's summary as terminal lines, and the resident memory growth it reports. */
import type { DemoResult } from "./demo.js";
import type { DemoSummary } from "./monitor.js";

/** Resident memory growth from the end of the warm-up (a quarter of the run, at most 60 s) to the end. */
export function memoryGrowth(summary: DemoSummary): { warmupEndS: number; afterWarmupMb: number; endMb: number; growthPercent: number } | undefined {
  const samples = summary.memory;
  if (samples.length < 2) return undefined;
  const warmupEndS = Math.min(60, summary.durationS / 4);
  const after = samples.find((sample) => sample.t >= warmupEndS) ?? samples[0]!;
  const end = samples[samples.length - 1]!;
  return { warmupEndS, afterWarmupMb: after.rssMb, endMb: end.rssMb, growthPercent: ((end.rssMb - after.rssMb) / after.rssMb) * 100 };
}

const f = (value: number | null, digits = 1) => (value === null ? "n/a" : value.toFixed(digits));

/** The summary as terminal lines. */
export function summaryLines(result: DemoResult): string[] {
  const { summary } = result;
  const m = summary.metrics;
  const memory = memoryGrowth(summary);
  return [
    `ran ${summary.durationS.toFixed(1)} s (${result.stoppedBy === "signal" ? "stopped by a signal" : "its full duration"}), model ${result.modelName}, simulated arm ${result.transport === "pty" ? "through a socat pty" : "in memory"}`,
    `observations ${summary.observations} (${(summary.observations / Math.max(summary.durationS, 1e-9)).toFixed(1)} Hz); chunks ${m.chunks} (ok ${m.decode_status.ok}, repaired ${m.decode_status.repaired}, failed ${m.decode_status.failed}), replan requests ${m.replan_requests}`,
    `chunk latency p50 ${f(m.latency_ms.p50)} ms, p95 ${f(m.latency_ms.p95)} ms, p99 ${f(m.latency_ms.p99)} ms; steps skipped on arrival ${m.skipped_steps}; underrun ticks ${m.underruns}`,
    `control ticks ${m.control.period_ms.count + 1}, period p50 ${f(m.control.period_ms.p50, 2)} ms, jitter p99 ${f(m.control.jitter_ms.p99, 2)} ms, max ${f(m.control.jitter_ms.max, 2)} ms, ticks missed ${m.control.ticks_missed}`,
    `arm tracking error (arm − command) MAE ${f(m.tracking.mae_rad, 4)} rad, RMSE ${f(m.tracking.rmse_rad, 4)} rad, max ${f(m.tracking.max_abs_error_rad, 3)} rad; largest command step ${f(m.max_step_rad, 4)} rad`,
    memory === undefined ? "resident memory: too short a run to tell" : `resident memory ${memory.afterWarmupMb.toFixed(0)} MB after ${memory.warmupEndS.toFixed(0)} s of warm-up, ${memory.endMb.toFixed(0)} MB at the end (${memory.growthPercent >= 0 ? "+" : ""}${memory.growthPercent.toFixed(1)}%)`,
  ];
}
