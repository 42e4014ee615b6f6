/**
 * `pi0fast eval` without the command line: one replay per latency, the metrics document (metrics.json) and
 * the comparison table. The wall-clock speed is reported beside, never inside, the metrics.
 */
import type { ParamsFileEntry } from "../ros/parameters.js";
import { metricsJson, type ReplayMetrics } from "./metrics.js";
import { runReplay, type ReplayLatency, type ReplayPolicy, type ReplayResult } from "./replay.js";

export interface EvaluationOptions {
  bagPath: string;
  configName: string;
  params: readonly ParamsFileEntry[];
  policy: ReplayPolicy;
  latencies: readonly ReplayLatency[];
  overrides?: Readonly<Record<string, Record<string, unknown>>>;
  /** Called with the run index and the fraction of its bag replayed. */
  onProgress?: (run: number, fraction: number) => void;
}

export interface Evaluation {
  options: EvaluationOptions;
  runs: ReplayResult[];
}

export function latencyLabel(latency: ReplayLatency): string {
  return latency.kind === "injected" ? `${latency.ms} ms` : "measured";
}

export async function evaluate(options: EvaluationOptions): Promise<Evaluation> {
  const runs: ReplayResult[] = [];
  for (const [index, latency] of options.latencies.entries()) {
    runs.push(
      await runReplay({
        bagPath: options.bagPath,
        params: options.params,
        configName: options.configName,
        policy: options.policy,
        latency,
        ...(options.overrides !== undefined ? { overrides: options.overrides } : {}),
        onProgress: (fraction) => options.onProgress?.(index, fraction),
      }),
    );
  }
  return { options, runs };
}

/** metrics.json: the inputs as given and each run's metrics; identical inputs give identical bytes. */
export function metricsDocument(evaluation: Evaluation): string {
  const { options, runs } = evaluation;
  return metricsJson({
    bag: { path: options.bagPath, duration_s: runs[0]?.bagDurationS ?? 0 },
    config: options.configName,
    policy: options.policy.kind === "recorded" ? { kind: "recorded" } : { kind: "model", model_dir: options.policy.modelDir },
    runs: runs.map((run) => ({ injected_latency_ms: run.latency.kind === "injected" ? run.latency.ms : "measured", ...run.metrics })),
  });
}

const COLUMNS: [string, (m: ReplayMetrics) => number | null][] = [
  ["mae_rad", (m) => m.tracking.mae_rad],
  ["rmse_rad", (m) => m.tracking.rmse_rad],
  ["max_err_rad", (m) => m.tracking.max_abs_error_rad],
  ["lat_p95_ms", (m) => m.latency_ms.p95],
  ["skipped", (m) => m.skipped_steps],
  ["underruns", (m) => m.underruns],
  ["max_step_rad", (m) => m.max_step_rad],
  ["chunks", (m) => m.chunks],
];

/** One row per run: latency, tracking error, latency p95, skipped steps, underruns, max step, chunks. */
export function comparisonTable(evaluation: Evaluation): { header: string[]; rows: string[][] } {
  const format = (value: number | null) => (value === null ? "n/a" : Number.isInteger(value) ? String(value) : value.toFixed(4));
  return {
    header: ["latency", ...COLUMNS.map(([name]) => name)],
    rows: evaluation.runs.map((run) => [latencyLabel(run.latency), ...COLUMNS.map(([, pick]) => format(pick(run.metrics)))]),
  };
}

/** The table as aligned text for the terminal. */
export function formatTable(table: { header: string[]; rows: string[][] }): string {
  const widths = table.header.map((cell, c) => Math.max(cell.length, ...table.rows.map((row) => row[c]!.length)));
  const line = (cells: string[]) => cells.map((cell, c) => cell.padStart(widths[c]!)).join("  ");
  return [line(table.header), ...table.rows.map(line)].join("\n");
}
