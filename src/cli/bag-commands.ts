import { writeFileSync } from "node:fs";
import path from "node:path";
import cliProgress from "cli-progress";
import type { Argv, CommandModule } from "yargs";
import type { CommandBody } from "./command-body.js";
import { InputError } from "../errors.js";
import { BagReader } from "../bag/reader.js";
import { makeSampleBags, SAMPLE_CAMERA_NAMES, type SampleBagOptions } from "../bag/sample.js";
import { convertBags, type BadFramePolicy, type EpisodeSummary } from "../dataset/convert.js";
import { bagFacts, mappingYaml, proposeMapping } from "../dataset/init-mapping.js";
import { loadMapping } from "../dataset/mapping.js";
import { StagedOutput } from "../output-dir.js";
import { exitCleanlyOnSignals } from "./interrupt.js";
import { numberOption, OVERWRITE_OPTION, POSITIVE_INTEGER, SEED } from "./options.js";

export interface BagInfo {
  path: string;
  storage: string;
  compression: { format: string; mode: string };
  metadataVersion: number | null;
  files: string[];
  startNs: string;
  durationNs: string;
  durationS: number;
  messageCount: number;
  topics: { name: string; type: string; messageCount: number }[];
  verified?: { messages: number; problems: string[] };
}

/** Reads and decodes every message; returns the disagreements with metadata.yaml (none: a sound bag). */
export async function verifyBag(bag: BagReader): Promise<{ messages: number; problems: string[] }> {
  const counts = new Map<string, number>();
  let messages = 0;
  for await (const message of bag.messages({ validateCrcs: true })) {
    counts.set(message.topic, (counts.get(message.topic) ?? 0) + 1);
    messages += 1;
  }
  const problems: string[] = [];
  for (const topic of bag.topics) {
    const found = counts.get(topic.name) ?? 0;
    if (found !== topic.messageCount) problems.push(`${topic.name}: ${found} messages read, metadata says ${topic.messageCount}`);
  }
  for (const [name, found] of counts) {
    if (!bag.topics.some((topic) => topic.name === name)) problems.push(`${name}: ${found} messages on a topic metadata.yaml does not list`);
  }
  if (bag.metadata !== undefined && messages !== bag.metadata.messageCount) {
    problems.push(`${messages} messages read in all, metadata says ${bag.metadata.messageCount}`);
  }
  return { messages, problems };
}

export async function bagInfo(bagPath: string, verify: boolean): Promise<BagInfo> {
  const bag = await BagReader.open(bagPath);
  let startNs = bag.metadata?.startNs;
  let durationNs = bag.metadata?.durationNs;
  if (startNs === undefined || durationNs === undefined) {
    let first: bigint | undefined;
    let last = 0n;
    for await (const message of bag.messages({ decode: false })) {
      first ??= message.logTimeNs;
      last = message.logTimeNs;
    }
    startNs = first ?? 0n;
    durationNs = first === undefined ? 0n : last - first;
  }
  const info: BagInfo = {
    path: bagPath,
    storage: bag.storageIdentifier,
    compression: { format: bag.compressionFormat || "none", mode: bag.compressionMode || "none" },
    metadataVersion: bag.metadata?.version ?? null,
    files: bag.files.map((file) => path.basename(file)),
    startNs: String(bag.messageCount === 0 ? 0n : startNs),
    durationNs: String(durationNs),
    durationS: Number(durationNs) / 1e9,
    messageCount: bag.messageCount,
    topics: bag.topics.map((topic) => ({ name: topic.name, type: topic.type, messageCount: topic.messageCount })),
  };
  if (verify) info.verified = await verifyBag(bag);
  return info;
}

function formatInfo(info: BagInfo): string {
  const lines = [
    `bag:         ${info.path}`,
    `storage:     ${info.storage}${info.metadataVersion === null ? " (no metadata.yaml)" : ` (metadata v${info.metadataVersion})`}`,
    `compression: ${info.compression.format}${info.compression.format === "none" ? "" : ` (${info.compression.mode})`}`,
    `files:       ${info.files.join(", ")}`,
    `duration:    ${info.durationS.toFixed(3)} s`,
    `messages:    ${info.messageCount}`,
    "topics:",
    ...info.topics.map((topic) => `  ${topic.name}  ${topic.type}  ${topic.messageCount}`),
  ];
  if (info.verified !== undefined) {
    lines.push(info.verified.problems.length === 0 ? `verified:    all ${info.verified.messages} messages read and decoded; counts match` : `verify FAILED:\n  ${info.verified.problems.join("\n  ")}`);
  }
  return lines.join("\n");
}

export const bagInfoCommand: CommandModule<object, { bag: string; json: boolean; verify: boolean }> = {
  command: "info <bag>",
  describe: "Storage, compression, duration, topics with types and counts of a rosbag2 bag",
  builder: (y) =>
    y
      .positional("bag", { type: "string", demandOption: true, describe: "bag directory or .db3/.mcap file" })
      .option("json", { type: "boolean", default: false, describe: "print JSON" })
      .option("verify", { type: "boolean", default: false, describe: "read and decode every message and check the counts against metadata.yaml" }),
  handler: async (args) => {
    const info = await bagInfo(args.bag, args.verify);
    process.stdout.write(`${args.json ? JSON.stringify(info, null, 2) : formatInfo(info)}\n`);
    if (info.verified !== undefined && info.verified.problems.length > 0) {
      throw new InputError(`${args.bag}: verification failed: ${info.verified.problems.join("; ")}`);
    }
  },
};

export const bagCommand: CommandBody<object, object> = {
  builder: (y) => y.command(bagInfoCommand).demandCommand(1, "Name a bag command: info"),
  handler: () => undefined,
};

type SampleArgs = Omit<SampleBagOptions, "outDir" | "onEpisode"> & { out: string; overwrite: boolean };

export const makeSampleBagCommand: CommandBody<object, SampleArgs> = {
  builder: (y) =>
    y
      .option("out", { type: "string", demandOption: true, describe: "folder for the bags (new or empty)" })
      .option("overwrite", OVERWRITE_OPTION)
      .option("format", { choices: ["mcap", "sqlite3"] as const, default: "mcap" as const })
      .option("episodes", numberOption("episodes", POSITIVE_INTEGER, { default: 3, describe: "one bag each" }))
      .option("seconds", numberOption("seconds", { above: 0, max: 3600 }, { default: 10, describe: "length of each episode" }))
      .option("cameras", numberOption("cameras", { integer: true, min: 1, max: SAMPLE_CAMERA_NAMES.length }, { default: 2, describe: SAMPLE_CAMERA_NAMES.join(", ") }))
      .option("width", numberOption("width", { integer: true, min: 1, max: 3840 }, { default: 320, describe: "image width (px)" }))
      .option("height", numberOption("height", { integer: true, min: 1, max: 2160 }, { default: 240, describe: "image height (px)" }))
      .option("seed", numberOption("seed", SEED, { default: 0 })) as unknown as Argv<SampleArgs>,
  handler: async (args) => {
    const interrupt = exitCleanlyOnSignals("make-sample-bag", args.out);
    try {
      const bags = await makeSampleBags({ outDir: args.out, overwrite: args.overwrite, format: args.format, episodes: args.episodes, seconds: args.seconds, cameras: args.cameras, width: args.width, height: args.height, seed: args.seed });
      process.stdout.write(`wrote ${bags.length} ${args.format} bag(s):\n${bags.map((bag) => `  ${bag}`).join("\n")}\n`);
    } finally {
      interrupt.dispose();
    }
  },
};

interface ConvertArgs {
  bags: string[];
  mapping?: string;
  out?: string;
  "init-mapping"?: string;
  overwrite: boolean;
  "on-bad-frame": BadFramePolicy;
  progress: boolean;
}

export const convertCommand: CommandBody<object, ConvertArgs> = {
  builder: (y) =>
    y
      .positional("bags", { type: "string", array: true, demandOption: true, describe: "bag directories or files" })
      .option("mapping", { type: "string", describe: "mapping YAML (see config/convert.sample.yaml)" })
      .option("out", { type: "string", describe: "dataset folder to write (new or empty)" })
      .option("init-mapping", { type: "string", describe: "write a starting mapping for these bags to this file instead of converting" })
      .option("overwrite", OVERWRITE_OPTION)
      .option("on-bad-frame", { choices: ["skip", "fail"] as const, default: "fail" as const, describe: "an image that does not match its header" })
      .option("progress", { type: "boolean", default: process.stderr.isTTY === true, describe: "show a progress bar (default on a terminal; otherwise one line per episode)" }) as unknown as Argv<ConvertArgs>,
  handler: async (args) => {
    if (args["init-mapping"] !== undefined) {
      if (args.mapping !== undefined || args.out !== undefined) throw new InputError("--init-mapping writes a mapping and converts nothing; leave out --mapping and --out (run convert with the mapping afterwards)");
      await initMapping(args.bags, args["init-mapping"], args.overwrite);
      return;
    }
    if (args.mapping === undefined) throw new InputError("--mapping: missing; give a mapping YAML (--init-mapping <file> writes one for these bags)");
    if (args.out === undefined) throw new InputError("--out: missing; give the dataset folder to write");
    const out = args.out;
    const mapping = loadMapping(args.mapping);
    const bar = args.progress ? new cliProgress.SingleBar({ format: "convert [{bar}] {percentage}% | {value}/{total} messages | {episodes} episode(s)", stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic) : undefined;
    let started = false;
    let episodes = 0;
    const interrupt = exitCleanlyOnSignals("convert", out);
    try {
      const summary = await convertBags({
        bags: args.bags,
        mapping,
        outDir: out,
        overwrite: args.overwrite,
        onBadFrame: args["on-bad-frame"],
        signal: interrupt.signal,
        onProgress: (read, total) => {
          if (bar === undefined) return;
          if (!started) {
            bar.start(total, 0, { episodes });
            started = true;
          }
          bar.update(read, { episodes });
        },
        onEpisode: (episode) => {
          episodes += 1;
          if (bar === undefined) process.stdout.write(`${episodeLine(episode)}\n`);
        },
        onWarning: (message) => {
          if (bar !== undefined && started) bar.stop();
          process.stderr.write(`pi0fast: ${message}\n`);
          started = false;
        },
      });
      bar?.stop();
      process.stdout.write(`wrote ${summary.outDir}: ${summary.episodes} episode(s), ${summary.frames} frames${summary.skippedFrames > 0 ? `, ${summary.skippedFrames} bad frame(s) skipped` : ""}\n`);
    } catch (error) {
      bar?.stop();
      throw error;
    } finally {
      interrupt.dispose();
    }
  },
};

/** "episode 0  bags/episode_000  93 frames (3.1 s)  pick up the red cube". */
export function episodeLine(episode: EpisodeSummary): string {
  return `episode ${episode.index}  ${episode.bag}  ${episode.frames} frames (${episode.durationS.toFixed(1)} s)  ${episode.tasks.map((task) => JSON.stringify(task)).join(", ")}`;
}

async function initMapping(bagPaths: string[], file: string, overwrite: boolean): Promise<void> {
  const facts = [];
  for (const bagPath of bagPaths) facts.push(await bagFacts(bagPath));
  const proposal = proposeMapping(facts);
  const text = mappingYaml(proposal, bagPaths);
  await StagedOutput.write(file, { overwrite, label: `--init-mapping ${file}`, kind: "file" }, (staging) => writeFileSync(staging, text));
  const cameras = proposal.cameras.map((camera) => `${camera.key} ${camera.width}×${camera.height}`).join(", ") || "none";
  process.stdout.write(
    `wrote ${file}: fps ${proposal.fps.value}, cameras ${cameras}, state ${proposal.state.topic}, action ${proposal.action.topic}, ` +
      `task ${"topic" in proposal.task ? proposal.task.topic : "constant"}\nnext: pi0fast convert ${bagPaths.join(" ")} --mapping ${file} --out <dataset>\n`,
  );
}
