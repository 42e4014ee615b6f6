/**
 * `pi0fast demo` (what `npm start` runs): the whole pipeline in real time on the embedded graph with the
 * cached sample recording and tiny model, a live status line, then a summary and demo-report.html.
 */
import { writeFileSync } from "node:fs";
import type { CommandBody } from "./command-body.js";
import { InputError } from "../errors.js";
import { runDemo, type DemoTransport } from "../demo/demo.js";
import { demoReport } from "../demo/report.js";
import { summaryLines } from "../demo/summary.js";
import { readParamsFile } from "../nodes/host.js";
import { shutdownRequested } from "../nodes/shutdown-signals.js";
import { StagedOutput } from "../output-dir.js";
import { numberOption, SEED } from "./options.js";

interface DemoArgs {
  "duration-s": number;
  seed: number;
  report: string;
  transport: DemoTransport;
  "cache-dir"?: string;
  params?: string;
}

export const demoCommand: CommandBody<object, DemoArgs> = {
  builder: (y) =>
    y
      .option("duration-s", numberOption("duration-s", { above: 0, max: 86_400 }, { default: 30, describe: "how long the pipeline runs, seconds (Ctrl-C stops it sooner)" }))
      .option("seed", numberOption("seed", SEED, { default: 0, describe: "seed of the sample recording and the tiny model (each seed is cached once)" }))
      .option("report", { type: "string", default: "demo-report.html", describe: "HTML report written at the end (replaced if it exists)" })
      .option("transport", { choices: ["auto", "pty", "memory"] as const, default: "auto" as const, describe: "the simulated arm behind a socat pty pair (auto: when socat is installed) or in memory" })
      .option("cache-dir", { type: "string", describe: "where the generated recording and model are cached (default: the package's .cache/demo)" })
      .option("params", { type: "string", describe: "ROS 2 params file whose node sections override the demo's parameters" }) as never,
  handler: async (args) => {
    const durationS = args["duration-s"];
    if (args.report.trim() === "") throw new InputError("--report: empty; expected a file path for the HTML report");
    const extraParams = args.params !== undefined ? readParamsFile(args.params) : [];
    const stopRequested = shutdownRequested();
    const log = (line: string) => process.stderr.write(`pi0fast: ${line}\n`);
    const result = await runDemo({
      durationS,
      seed: args.seed,
      transport: args.transport,
      stopRequested,
      log,
      extraParams,
      ...(args["cache-dir"] !== undefined ? { cacheDir: args["cache-dir"] } : {}),
      ...(process.stderr.isTTY === true ? { statusTty: process.stderr } : {}),
    });
    if (result === undefined) {
      log("stopped before the pipeline ran");
      return;
    }
    const html = await demoReport(result);
    await StagedOutput.write(args.report, { overwrite: true, label: `--report ${args.report}`, kind: "file" }, (staging) => writeFileSync(staging, html));
    process.stdout.write(`${summaryLines(result).join("\n")}\nwrote ${args.report}\n`);
  },
};
