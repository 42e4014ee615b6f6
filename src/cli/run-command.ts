import type { CommandModule } from "yargs";
import type { CommandBody } from "./command-body.js";
import { InputError } from "../errors.js";
import { nodesNamedIn, readParamsFile, shutdownSignal, startLocal } from "../nodes/host.js";
import { nodeNames } from "../nodes/index.js";

interface RunArgs {
  config: string;
  namespace: string;
}

export const runCommand: CommandBody<object, RunArgs> = {
  builder: (yargs) =>
    yargs
      .option("config", { type: "string", demandOption: true, describe: "params file whose node sections (/**/<node>) say which nodes run" })
      .option("namespace", { type: "string", default: "/", describe: "namespace of every node" }),
  handler: async (args) => {
    const params = readParamsFile(args.config);
    const names = nodesNamedIn(params, args.config);
    if (names.length === 0) {
      throw new InputError(`${args.config} names no node of the package (expected sections like '/**/<node>:'); its nodes are: ${nodeNames().join(", ") || "(none yet)"}`);
    }
    // Listen before starting: a Ctrl-C during start-up must still stop the nodes cleanly.
    const stopRequested = shutdownSignal();
    const run = await startLocal(names, { params, namespace: args.namespace });
    process.stderr.write(`pi0fast: running ${names.join(", ")} on the local graph; Ctrl-C stops them\n`);
    await stopRequested;
    await run.stop();
    process.stderr.write("pi0fast: stopped\n");
  },
};
