/**
 * `pi0fast eval`: replays a bag through the nodes on a simulated clock, one run per latency, and writes
 * metrics.json and report.html into a new (or empty, or --overwrite) folder, atomically.
 */
import { existsSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import cliProgress from "cli-progress";
import type { CommandBody } from "./command-body.js";
import { InputError } from "../errors.js";
import { comparisonTable, evaluate, formatTable, metricsDocument } from "../eval/evaluation.js";
import { evaluationReport } from "../eval/report.js";
import type { ReplayLatency, ReplayPolicy } from "../eval/replay.js";
import { readParamsFile } from "../nodes/host.js";
import { exitCleanlyOnSignals } from "./interrupt.js";
import { OVERWRITE_OPTION } from "./options.js";
import { StagedOutput, checkOutput } from "../output-dir.js";

interface EvalArgs {
  bag: string;
  config: string;
  out: string;
  model?: string;
  policy?: string;
  "latency-ms"?: string;
  overwrite: boolean;
  progress: boolean;
}

/** Default latencies of the recorded oracle: none, a fast model, a slow one. */
const DEFAULT_ORACLE_LATENCIES_MS = [0, 100, 300];

/** "0,100,300" → milliseconds; each a finite number ≥ 0 (at most a minute). */
export function parseLatencies(text: string): number[] {
  const parts = text.split(",").map((part) => part.trim());
  return parts.map((part) => {
    const value = Number(part);
    if (part === "" || !Number.isFinite(value) || value < 0 || value > 60_000) throw new InputError(`--latency-ms ${JSON.stringify(text)}: '${part}' is not a latency; expected milliseconds ≥ 0 (at most 60000), comma-separated, like 0,100,300`);
    return value;
  });
}

export const evalCommand: CommandBody<object, EvalArgs> = {
  builder: (y) =>
    y
      .option("bag", { type: "string", demandOption: true, describe: "rosbag2 recording (directory or .db3/.mcap file)" })
      .option("config", { type: "string", demandOption: true, describe: "eval config: the bag's topics and the nodes' parameters (see config/eval.yaml)" })
      .option("out", { type: "string", demandOption: true, describe: "new or empty folder for metrics.json and report.html" })
      .option("model", { type: "string", describe: "Pi0-FAST model directory: run the policy node on it" })
      .option("policy", { type: "string", describe: "recorded: the oracle answering with the recorded future actions (the default without --model)" })
      .option("latency-ms", { type: "string", describe: "injected latencies, one run each (default 0,100,300 for the oracle; a model's own measured latency)" })
      .option("overwrite", OVERWRITE_OPTION)
      .option("progress", { type: "boolean", default: process.stderr.isTTY === true, describe: "show a progress bar" }) as never,
  handler: async (args) => {
    if (args.policy !== undefined && args.policy !== "recorded") throw new InputError(`--policy ${JSON.stringify(args.policy)}: expected 'recorded' (or --model <dir> for a model)`);
    if (args.policy !== undefined && args.model !== undefined) throw new InputError("--policy recorded and --model: give one of them (the oracle, or a model)");
    if (args.model !== undefined && !(existsSync(args.model) && statSync(args.model).isDirectory())) throw new InputError(`--model ${args.model}: no such folder; expected a model directory (pi0fast.json + ONNX graphs)`);
    const policy: ReplayPolicy = args.model !== undefined ? { kind: "model", modelDir: args.model } : { kind: "recorded" };
    const latencies: ReplayLatency[] =
      args["latency-ms"] !== undefined
        ? parseLatencies(args["latency-ms"]).map((ms) => ({ kind: "injected", ms }))
        : policy.kind === "recorded"
          ? DEFAULT_ORACLE_LATENCIES_MS.map((ms) => ({ kind: "injected", ms }))
          : [{ kind: "measured" }];
    // Refuse a used --out before minutes of replay, not after.
    checkOutput(args.out, { overwrite: args.overwrite, label: `--out ${args.out}` });
    const params = readParamsFile(args.config);

    const bar = args.progress ? new cliProgress.SingleBar({ format: "eval [{bar}] {percentage}% | run {run}/{runs}", stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic) : undefined;
    bar?.start(latencies.length * 100, 0, { run: 1, runs: latencies.length });
    let evaluation;
    try {
      evaluation = await evaluate({
        bagPath: args.bag,
        configName: args.config,
        params,
        policy,
        latencies,
        onProgress: (run, fraction) => bar?.update(Math.round((run + fraction) * 100), { run: run + 1, runs: latencies.length }),
      });
    } finally {
      bar?.stop();
    }
    const report = await evaluationReport(evaluation);
    const interrupt = exitCleanlyOnSignals("eval", args.out);
    try {
      await StagedOutput.write(args.out, { overwrite: args.overwrite, label: `--out ${args.out}` }, (staging) => {
        writeFileSync(path.join(staging, "metrics.json"), metricsDocument(evaluation));
        writeFileSync(path.join(staging, "report.html"), report);
      });
    } finally {
      interrupt.dispose();
    }
    process.stdout.write(`${formatTable(comparisonTable(evaluation))}\n`);
    const bagS = evaluation.runs.reduce((sum, run) => sum + run.bagDurationS, 0);
    const wallS = evaluation.runs.reduce((sum, run) => sum + run.wallS, 0);
    const speeds = evaluation.runs.map((run) => `${(run.bagDurationS / run.wallS).toFixed(1)}×`).join(", ");
    process.stdout.write(`replayed ${bagS.toFixed(1)} s of recording in ${wallS.toFixed(1)} s (${(bagS / wallS).toFixed(1)}× real time; per run ${speeds})\nwrote ${path.join(args.out, "metrics.json")} and ${path.join(args.out, "report.html")}\n`);
  },
};
