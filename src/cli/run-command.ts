import type { CommandModule } from "yargs";
import type { CommandBody } from "./command-body.js";
import { InputError } from "../errors.js";
import { nodesNamedIn, readParamsFile, startLocal } from "../nodes/host.js";
import { shutdownRequested } from "../nodes/shutdown-signals.js";
import { nodeNames } from "../nodes/index.js";

interface RunArgs {
  config: string;
  namespace: string;
}

export const runCommand: CommandBody<object, RunArgs> = {
  builder: (yargs) =>
    yargs
      .option("config", { type: "string", demandOption: true, describe: "params file whose node sections (/**/<node>) say which nodes run" })
      .option("namespace", { type: "string", default: "/", describe: "namespace of every node, relative (so100) or absolute (/so100)" }),
  handler: async (args) => {
    const params = readParamsFile(args.config);
    const names = nodesNamedIn(params, args.config);
    if (names.length === 0) {
      throw new InputError(`${args.config} names no node of the package (expected sections like '/**/<node>:'); its nodes are: ${nodeNames().join(", ") || "(none yet)"}`);
    }
    const stopRequested = shutdownRequested();
    const run = await startLocal(names, { params, namespace: args.namespace, stopRequested });
    if (run === undefined) {
      process.stderr.write("pi0fast: stopped during start-up\n");
      return;
    }
    process.stderr.write(`pi0fast: running ${names.join(", ")} on the local graph; Ctrl-C stops them\n`);
    await stopRequested;
    await run.stop();
    process.stderr.write("pi0fast: stopped\n");
  },
};
