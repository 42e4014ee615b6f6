import type { CommandModule } from "yargs";
import type { CommandBody } from "./command-body.js";
import { InputError } from "../errors.js";
import { findNode, readParamsFile, runOnRos, startLocal } from "../nodes/host.js";
import { shutdownRequested } from "../nodes/shutdown-signals.js";
import { nodeNames } from "../nodes/index.js";
import { rosArgsOf } from "./ros-args.js";

interface NodeArgs {
  name: string;
  graph: "local" | "ros";
  params?: string;
  namespace?: string;
}

export const nodeCommand: CommandBody<object, NodeArgs> = {
  builder: (yargs) =>
    yargs
      .positional("name", { type: "string", demandOption: true, describe: `the node: ${nodeNames().join(", ") || "(none yet)"}` })
      .option("graph", { choices: ["local", "ros"] as const, default: "local" as const, describe: "local: in-process graph; ros: rclnodejs on ROS 2" })
      .option("params", { type: "string", describe: "ROS 2 params file (the /**: ros__parameters: layout)" })
      .option("namespace", { type: "string", describe: "node namespace, relative (so100) or absolute (/so100); on ROS, --ros-args -r __ns:= overrides it" }),
  handler: async (args) => {
    findNode(args.name);
    if (args.graph === "ros") {
      const rosArgs = rosArgsOf();
      const withParams = args.params !== undefined ? ["--ros-args", "--params-file", args.params] : [];
      await runOnRos(args.name, [process.argv[0] ?? "node", process.argv[1] ?? "pi0fast", ...rosArgs, ...withParams], args.namespace !== undefined ? { namespace: args.namespace } : {});
      return;
    }
    if (rosArgsOf().length > 0) throw new InputError("--ros-args only apply with --graph ros; on the local graph use --params and --namespace");
    const params = args.params !== undefined ? readParamsFile(args.params) : [];
    const stopRequested = shutdownRequested();
    const run = await startLocal([args.name], { params, ...(args.namespace !== undefined ? { namespace: args.namespace } : {}), stopRequested });
    if (run === undefined) {
      process.stderr.write(`pi0fast: node '${args.name}' stopped during start-up\n`);
      return;
    }
    process.stderr.write(`pi0fast: node '${args.name}' running on the local graph; Ctrl-C stops it\n`);
    await stopRequested;
    await run.stop();
    process.stderr.write(`pi0fast: node '${args.name}' stopped\n`);
  },
};
