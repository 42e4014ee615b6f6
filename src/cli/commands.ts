/**
 * Every `pi0fast` sub-command: its name, its one-line description and how to load it. Only the command
 * being run is loaded (onnxruntime, sharp, sqlite and the rest stay unloaded for the others), so help and
 * light commands start fast. Only commands that work are listed: each issue adds its own.
 */
import type { CommandModule } from "yargs";

export interface CommandEntry {
  /** The yargs command string (name and positionals). */
  readonly command: string;
  readonly describe: string;
  /** Runs until SIGINT/SIGTERM (the nodes): the signals are then listened for before anything else loads. */
  readonly runsUntilStopped?: boolean;
  load(): Promise<LoadedCommand>;
}

/* eslint-disable @typescript-eslint/no-explicit-any -- each command types its own arguments */
export interface LoadedCommand {
  builder?: CommandModule<any, any>["builder"];
  handler: (args: any) => void | Promise<void>;
}
/* eslint-enable @typescript-eslint/no-explicit-any */

export const COMMANDS: readonly CommandEntry[] = [
  {
    command: "node <name>",
    describe: "Run one node of the package (under ROS 2 with --graph ros; ROS arguments go after --ros-args)",
    runsUntilStopped: true,
    load: async () => (await import("./node-command.js")).nodeCommand,
  },
  {
    command: "run",
    describe: "Run every node a params file names on one local graph (no ROS needed)",
    runsUntilStopped: true,
    load: async () => (await import("./run-command.js")).runCommand,
  },
  {
    command: "make-test-model",
    describe: "Write a Pi0-FAST model directory with seeded random weights (tests, demos, GPU latency at real size)",
    load: async () => (await import("./policy-commands.js")).makeTestModelCommand,
  },
  {
    command: "policy <command>",
    describe: "Policy model tools (policy check --model <dir>)",
    load: async () => (await import("./policy-commands.js")).policyCommand,
  },
  {
    command: "so100 <command>",
    describe: "SO-100 / SO-101 servo bus: so100 scan | read --port <dev>, so100 sim --port <dev> (the simulated arm on a serial device)",
    load: async () => (await import("./so100-commands.js")).so100Command,
  },
  {
    command: "make-sample-bag",
    describe: "Write a realistic SO-100 recording (one bag per episode) for tests and demos",
    load: async () => (await import("./bag-commands.js")).makeSampleBagCommand,
  },
  {
    command: "bag <command>",
    describe: "Inspect rosbag2 bags (bag info <bag> [--json] [--verify])",
    load: async () => (await import("./bag-commands.js")).bagCommand,
  },
  {
    command: "convert <bags..>",
    describe: "Convert rosbag2 bag(s) into a LeRobot v3.0 dataset (parquet + AV1 video)",
    load: async () => (await import("./bag-commands.js")).convertCommand,
  },
  {
    command: "demo",
    describe: "Run the whole pipeline in real time on a sample recording and a tiny model, the arm simulated (what npm start runs)",
    runsUntilStopped: true,
    load: async () => (await import("./demo-command.js")).demoCommand,
  },
  {
    command: "eval",
    describe: "Replay a bag through the nodes on a simulated clock and compare the commands with its recorded action (metrics.json, report.html)",
    load: async () => (await import("./eval-command.js")).evalCommand,
  },
  {
    command: "train-tokenizer",
    describe: "Train a FAST action tokenizer on a LeRobot v3.0 dataset (the options of lerobot-train-tokenizer)",
    load: async () => (await import("./fast-commands.js")).trainTokenizerCommand,
  },
  {
    command: "check-tokenizer",
    describe: "Measure a FAST tokenizer's reconstruction error and compression on a LeRobot v3.0 dataset",
    load: async () => (await import("./fast-commands.js")).checkTokenizerCommand,
  },
];

/** The catalog entry `argv` asks for: the first word that is not an option. */
export function requestedCommand(argv: readonly string[]): CommandEntry | undefined {
  const word = argv.find((arg) => !arg.startsWith("-"));
  return COMMANDS.find((entry) => entry.command.split(" ")[0] === word);
}
