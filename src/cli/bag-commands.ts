import path from "node:path";
import cliProgress from "cli-progress";
import type { CommandModule } from "yargs";
import type { CommandBody } from "./command-body.js";
import { InputError } from "../errors.js";
import { BagReader } from "../bag/reader.js";
import { makeSampleBags, type SampleBagOptions } from "../bag/sample.js";
import { convertBags, type BadFramePolicy } from "../dataset/convert.js";
import { loadMapping } from "../dataset/mapping.js";

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

type SampleArgs = Omit<SampleBagOptions, "outDir" | "onEpisode"> & { out: string };

export const makeSampleBagCommand: CommandBody<object, SampleArgs> = {
  builder: (y) =>
    y
      .option("out", { type: "string", demandOption: true, describe: "new directory for the bags" })
      .option("format", { choices: ["mcap", "sqlite3"] as const, default: "mcap" as const })
      .option("episodes", { type: "number", default: 3 })
      .option("seconds", { type: "number", default: 10 })
      .option("cameras", { type: "number", default: 2 })
      .option("width", { type: "number", default: 320 })
      .option("height", { type: "number", default: 240 })
      .option("seed", { type: "number", default: 0 }),
  handler: async (args) => {
    const bags = await makeSampleBags({ outDir: args.out, format: args.format, episodes: args.episodes, seconds: args.seconds, cameras: args.cameras, width: args.width, height: args.height, seed: args.seed });
    process.stdout.write(`wrote ${bags.length} ${args.format} bag(s):\n${bags.map((bag) => `  ${bag}`).join("\n")}\n`);
  },
};

interface ConvertArgs {
  bags: string[];
  mapping: string;
  out: string;
  "on-bad-frame": BadFramePolicy;
  progress: boolean;
}

export const convertCommand: CommandBody<object, ConvertArgs> = {
  builder: (y) =>
    y
      .positional("bags", { type: "string", array: true, demandOption: true, describe: "bag directories or files" })
      .option("mapping", { type: "string", demandOption: true, describe: "mapping YAML (see config/convert.sample.yaml)" })
      .option("out", { type: "string", demandOption: true, describe: "new dataset directory" })
      .option("on-bad-frame", { choices: ["skip", "fail"] as const, default: "fail" as const, describe: "an image that does not match its header" })
      .option("progress", { type: "boolean", default: process.stderr.isTTY === true, describe: "show a progress bar" }),
  handler: async (args) => {
    const mapping = loadMapping(args.mapping);
    const bar = args.progress ? new cliProgress.SingleBar({ format: "convert [{bar}] {percentage}% | {value}/{total} messages", stream: process.stderr }, cliProgress.Presets.shades_classic) : undefined;
    let started = false;
    try {
      const summary = await convertBags({
        bags: args.bags,
        mapping,
        outDir: args.out,
        onBadFrame: args["on-bad-frame"],
        onProgress: (read, total) => {
          if (bar === undefined) return;
          if (!started) {
            bar.start(total, 0);
            started = true;
          }
          bar.update(read);
        },
        onWarning: (message) => process.stderr.write(`pi0fast: ${message}\n`),
      });
      bar?.stop();
      process.stdout.write(`wrote ${summary.outDir}: ${summary.episodes} episode(s), ${summary.frames} frames${summary.skippedFrames > 0 ? `, ${summary.skippedFrames} bad frame(s) skipped` : ""}\n`);
    } catch (error) {
      bar?.stop();
      throw error;
    }
  },
};
