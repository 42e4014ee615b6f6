/**
 * The demo's summary (terminal lines) and demo-report.html: whole-run figures, the arm against its command
 * per joint over the last seconds, the control period and chunk latency distributions, resident memory.
 */
import { htmlReport, type ReportSection } from "../report/html.js";
import { histogramBins, histogramSpec, lineSpec } from "../report/plots.js";
import { renderSvg } from "../report/render.js";
import type { DemoResult } from "./demo.js";
import { summaryLines } from "./summary.js";

const f = (value: number | null, digits = 1) => (value === null ? "n/a" : value.toFixed(digits));

export async function demoReport(result: DemoResult): Promise<string> {
  const { summary } = result;
  const m = summary.metrics;
  const joints = Object.keys(m.joints);
  const trace = summary.trace;
  const jointFigures = await Promise.all(
    joints.map((joint, j) =>
      renderSvg(
        lineSpec({
          title: joint,
          xTitle: "time (s)",
          yTitle: "position (rad)",
          series: [
            { name: "command", x: trace.map((s) => s.t), y: trace.map((s) => s.command[j]!) },
            { name: "arm", x: trace.map((s) => s.t), y: trace.map((s) => s.arm[j]!) },
          ],
          width: 320,
          height: 160,
        }),
      ),
    ),
  );
  const sections: ReportSection[] = [
    { heading: "Summary", paragraphs: summaryLines(result) },
    {
      heading: "Arm tracking per joint",
      table: {
        header: ["joint", "MAE (rad)", "RMSE (rad)", "max |error| (rad)", "max command step (rad)", "command jerk RMS (rad/s³)"],
        rows: joints.map((joint) => {
          const j = m.joints[joint]!;
          return [joint, f(j.mae_rad, 4), f(j.rmse_rad, 4), f(j.max_abs_error_rad, 4), f(j.max_step_rad, 4), f(j.jerk_rms_rad_s3, 1)];
        }),
      },
      paragraphs: ["The arm's joint states against the command in force at their stamp, over the last seconds of the run."],
      figures: jointFigures,
    },
    {
      heading: "Timing and memory",
      figures: [
        await renderSvg(histogramSpec({ title: "chunk latency", xTitle: "ms", bins: histogramBins(summary.chunkLatenciesMs, 20), width: 420, height: 160 })),
        await renderSvg(lineSpec({ title: "resident memory", xTitle: "time (s)", yTitle: "MB", series: [{ name: "rss", x: summary.memory.map((s) => s.t), y: summary.memory.map((s) => s.rssMb) }], width: 420, height: 160 })),
      ],
    },
  ];
  return htmlReport({ title: "pi0fast demo", subtitle: `${new Date().toISOString()}: model ${result.modelName}, ${summary.durationS.toFixed(1)} s`, sections });
}
