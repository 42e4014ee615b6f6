/**
 * report.html of `pi0fast eval`: the comparison table and error-vs-latency plot, then per run the metrics per
 * joint, commanded vs recorded per joint and the chunk latency histogram, all inline SVG (src/report).
 */
import { htmlReport, type ReportSection } from "../report/html.js";
import { histogramBins, histogramSpec, lineSpec, type LineSeries } from "../report/plots.js";
import { renderSvg } from "../report/render.js";
import { comparisonTable, latencyLabel, type Evaluation } from "./evaluation.js";
import type { ReplayResult } from "./replay.js";

/** Points per plotted line: enough for the eye, small enough for the page. */
const MAX_POINTS = 800;

/** Every n-th index so at most `max` remain, the last always kept. */
export function decimate(length: number, max: number): number[] {
  const stride = Math.max(1, Math.ceil(length / max));
  const indices: number[] = [];
  for (let i = 0; i < length; i += stride) indices.push(i);
  if (length > 0 && indices[indices.length - 1] !== length - 1) indices.push(length - 1);
  return indices;
}

/** Commanded and recorded positions of one joint at the command times (seconds from the first command). */
export function jointSeries(run: ReplayResult, joint: number): LineSeries[] {
  if (run.commands.length === 0) return [];
  const startNs = run.commands[0]!.timeNs;
  const picked = decimate(run.commands.length, MAX_POINTS).map((i) => run.commands[i]!);
  const x = picked.map((command) => Number(command.timeNs - startNs) / 1e9);
  const truth = new Float64Array(run.jointNames.length);
  return [
    { name: "recorded action", x, y: picked.map((command) => run.recordedAction.at(command.timeNs, truth)[joint]!) },
    { name: "command", x, y: picked.map((command) => command.positionsRad[joint]!) },
  ];
}

async function runSection(run: ReplayResult): Promise<ReportSection> {
  const m = run.metrics;
  const figures = await Promise.all(
    run.jointNames.map((joint, j) => renderSvg(lineSpec({ title: joint, xTitle: "time (s)", yTitle: "position (rad)", series: jointSeries(run, j), width: 320, height: 160 }))),
  );
  if (run.chunks.length > 0) {
    const bins = histogramBins(run.chunks.map((chunk) => Number(chunk.arrivalNs - chunk.stampNs) / 1e6), 20);
    figures.push(await renderSvg(histogramSpec({ title: "chunk age on arrival (latency + observation age)", xTitle: "ms", bins, width: 420, height: 160 })));
    figures.push(await renderSvg(histogramSpec({ title: "policy latency", xTitle: "ms", bins: histogramBins(run.chunks.map((chunk) => chunk.inferenceLatencyMs), 20), width: 420, height: 160 })));
  }
  const f = (value: number | null, digits = 4) => (value === null ? "n/a" : value.toFixed(digits));
  return {
    heading: `Latency ${latencyLabel(run.latency)}`,
    paragraphs: [
      `${m.window.ticks} control ticks compared over ${m.window.duration_s.toFixed(2)} s; ${m.chunks} chunks (${m.decode_status.ok} ok, ${m.decode_status.repaired} repaired, ${m.decode_status.failed} failed), ${m.replan_requests} replan requests, ${m.skipped_steps} steps skipped on arrival, ${m.underruns} underrun ticks.`,
      `Latency p50/p95/p99 ${f(m.latency_ms.p50, 1)}/${f(m.latency_ms.p95, 1)}/${f(m.latency_ms.p99, 1)} ms; control period jitter p99 ${f(m.control.jitter_ms.p99, 3)} ms, ${m.control.ticks_missed} ticks missed; largest step between ticks ${f(m.max_step_rad)} rad.`,
    ],
    table: {
      header: ["joint", "MAE (rad)", "RMSE (rad)", "max |error| (rad)", "max step (rad)", "jerk RMS (rad/s³)", "recorded jerk RMS (rad/s³)"],
      rows: run.jointNames.map((joint) => {
        const j = m.joints[joint]!;
        return [joint, f(j.mae_rad), f(j.rmse_rad), f(j.max_abs_error_rad), f(j.max_step_rad), f(j.jerk_rms_rad_s3, 1), f(j.recorded_jerk_rms_rad_s3, 1)];
      }),
    },
    figures,
  };
}

export async function evaluationReport(evaluation: Evaluation): Promise<string> {
  const { options, runs } = evaluation;
  const injected = runs.filter((run) => run.latency.kind === "injected" && run.metrics.tracking.mae_rad !== null);
  const comparison: ReportSection = { heading: "Comparison", table: comparisonTable(evaluation), figures: [] };
  if (injected.length > 0) {
    const x = injected.map((run) => (run.latency.kind === "injected" ? run.latency.ms : 0));
    const series: LineSeries[] = [
      { name: "MAE", x, y: injected.map((run) => run.metrics.tracking.mae_rad!) },
      { name: "RMSE", x, y: injected.map((run) => run.metrics.tracking.rmse_rad!) },
    ];
    comparison.figures = [await renderSvg(lineSpec({ title: "tracking error vs latency", xTitle: "injected latency (ms)", yTitle: "error (rad)", series, width: 420, height: 220 }))];
  }
  const sections = [comparison];
  for (const run of runs) sections.push(await runSection(run));
  return htmlReport({
    title: `Replay evaluation: ${options.bagPath}`,
    subtitle: `${options.policy.kind === "recorded" ? "recorded oracle" : `model ${options.policy.modelDir}`}, config ${options.configName}; commands compared with the recorded action.`,
    sections,
  });
}
