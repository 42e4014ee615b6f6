/**
 * `pi0fast train-tokenizer` and `pi0fast check-tokenizer`. Options follow `lerobot-train-tokenizer`;
 * LeRobot's spellings (`--action_horizon`, `--output_dir`, `--repo_id`, …) are accepted as aliases.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import cliProgress from "cli-progress";
import type { Argv, CommandModule } from "yargs";
import type { CommandBody } from "./command-body.js";
import { openLeRobotDataset, resolveRepoId, type LeRobotDataset } from "../dataset/read.js";
import { InputError } from "../errors.js";
import { loadFastArtifact, writeFastArtifact, type FastMetadata } from "../fast/artifact.js";
import { checkAdvice, reconstructionReport, percentile, type ChunkReconstruction, type ReconstructionReport } from "../fast/check.js";
import { parseDimList, parseDimRanges, rangesToIndices, sampleIndices } from "../fast/chunks.js";
import { seededRandom } from "../random.js";
import { datasetChunks } from "../fast/dataset-chunks.js";
import { encodedStats } from "../fast/chunks.js";
import { NORMALIZATION_MODES, type NormalizationMode } from "../fast/normalize.js";
import { FastTrainingError, trainFastTokenizer } from "../fast/train.js";
import { checkOutput, StagedOutput } from "../output-dir.js";
import { exitCleanlyOnSignals } from "./interrupt.js";
import { numberOption, OVERWRITE_OPTION, POSITIVE_INTEGER, SEED } from "./options.js";

/** Accepts LeRobot's names in any case, and `bounds` for min-max. */
export function parseNormalizationMode(text: string): NormalizationMode {
  const upper = text.trim().toUpperCase().replace(/-/g, "_");
  const mode = upper === "BOUNDS" ? "MIN_MAX" : upper;
  if (!(NORMALIZATION_MODES as readonly string[]).includes(mode)) {
    throw new InputError(`--normalization-mode ${JSON.stringify(text)}: expected one of ${NORMALIZATION_MODES.map((m) => m.toLowerCase()).join(", ")} (or bounds)`);
  }
  return mode as NormalizationMode;
}

function parseRanges(flag: string, text: string): [number, number][] {
  try {
    return parseDimRanges(text);
  } catch (error) {
    throw new InputError(`${flag} ${JSON.stringify(text)}: ${(error as Error).message}; expected ranges like 0:6 or 0:6,7:23`);
  }
}

function parseList(flag: string, text: string): number[] {
  try {
    return parseDimList(text);
  } catch (error) {
    throw new InputError(`${flag} ${JSON.stringify(text)}: ${(error as Error).message}; expected indices like 0,1,2`);
  }
}

function datasetOptions<T>(y: Argv<T>) {
  return y
    .option("dataset", { type: "string", describe: "LeRobot v3.0 dataset folder", alias: ["root"] })
    .option("repo-id", { type: "string", describe: "<user>/<name>: the dataset under $HF_LEROBOT_HOME (default ~/.cache/huggingface/lerobot)", alias: ["repo_id"] })
    .option("episodes", { type: "string", describe: "comma-separated episode indices to use (default: all)" });
}

async function openDatasetFromArgs(args: { dataset?: string; "repo-id"?: string }): Promise<{ dataset: LeRobotDataset; repoId: string | null }> {
  if (args.dataset === undefined && args["repo-id"] === undefined) throw new InputError("--dataset: missing; give --dataset <dir> or --repo-id <user/name>");
  const root = args.dataset ?? resolveRepoId(args["repo-id"]!);
  return { dataset: await openLeRobotDataset(root), repoId: args["repo-id"] ?? null };
}

function episodeList(dataset: LeRobotDataset, text: string | undefined, maxEpisodes: number | undefined): number[] | undefined {
  let episodes = text === undefined ? undefined : parseList("--episodes", text);
  if (maxEpisodes !== undefined) episodes = (episodes ?? dataset.episodes.map((e) => e.episodeIndex)).slice(0, maxEpisodes);
  return episodes;
}

function progressBar(label: string): cliProgress.SingleBar {
  return new cliProgress.SingleBar({ format: `${label} [{bar}] {value}/{total}`, stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic);
}

interface TrainArgs {
  dataset?: string;
  "repo-id"?: string;
  out?: string;
  episodes?: string;
  "action-horizon": number;
  "encoded-dims": string;
  "delta-dims"?: string;
  "use-delta-transform": boolean;
  "state-key": string;
  "vocab-size": number;
  scale: number;
  "normalization-mode": string;
  "sample-fraction": number;
  seed: number;
  "max-episodes"?: number;
  overwrite: boolean;
}

export const trainTokenizerCommand: CommandBody<object, TrainArgs> = {
  builder: (y) =>
    datasetOptions(y)
      .option("out", { type: "string", describe: "folder to write the tokenizer to (Hugging Face layout + metadata.json)", alias: ["output_dir", "output-dir"] })
      .option("overwrite", OVERWRITE_OPTION)
      .option("action-horizon", numberOption("action-horizon", POSITIVE_INTEGER, { default: 10, describe: "actions per chunk", alias: ["action_horizon"] }))
      .option("encoded-dims", { type: "string", default: "0:6", describe: "action dims to encode, ranges start:end", alias: ["encoded_dims"] })
      .option("delta-dims", { type: "string", describe: "dims made relative to the chunk's first state, e.g. 0,1,2", alias: ["delta_dims"] })
      .option("use-delta-transform", { type: "boolean", default: false, describe: "apply --delta-dims", alias: ["use_delta_transform"] })
      .option("state-key", { type: "string", default: "observation.state", describe: "state feature for the delta transform", alias: ["state_key"] })
      .option("vocab-size", numberOption("vocab-size", POSITIVE_INTEGER, { default: 1024, describe: "BPE vocabulary size", alias: ["vocab_size"] }))
      .option("scale", numberOption("scale", { above: 0 }, { default: 10, describe: "DCT coefficient scale before rounding" }))
      .option("normalization-mode", { type: "string", default: "quantiles", describe: "quantiles | mean_std | min_max (bounds) | quantile10 | identity", alias: ["normalization_mode"] })
      .option("sample-fraction", numberOption("sample-fraction", { above: 0, max: 1 }, { default: 0.1, describe: "fraction of each episode's sliding windows to train on", alias: ["sample_fraction"] }))
      .option("seed", numberOption("seed", SEED, { default: 0, describe: "seed of the window sample" }))
      .option("max-episodes", numberOption("max-episodes", POSITIVE_INTEGER, { describe: "use only the first N episodes", alias: ["max_episodes"] })) as unknown as Argv<TrainArgs>,
  handler: async (args) => {
    const { dataset, repoId } = await openDatasetFromArgs(args);
    const out = args.out ?? `fast_tokenizer_${(repoId ?? path.basename(path.resolve(dataset.root))).replace(/\//g, "_")}`;
    // Refused before the work, not after it.
    checkOutput(out, { overwrite: args.overwrite, label: `--out ${out}` });
    const horizon = args["action-horizon"];
    const vocabSize = args["vocab-size"];
    const mode = parseNormalizationMode(args["normalization-mode"]);
    const ranges = parseRanges("--encoded-dims", args["encoded-dims"]);
    const encodedDims = rangesToIndices(ranges);
    const deltaDims = args["use-delta-transform"] && args["delta-dims"] !== undefined ? parseList("--delta-dims", args["delta-dims"]) : [];
    const episodes = episodeList(dataset, args.episodes, args["max-episodes"]);

    const readBar = progressBar("reading episodes");
    readBar.start(episodes?.length ?? dataset.episodes.length, 0);
    const data = await datasetChunks(dataset, {
      horizon, encodedDims, deltaDims, stateKey: args["state-key"], mode, sampleFraction: args["sample-fraction"], seed: args.seed, episodes,
      onEpisode: (done) => readBar.update(done),
    });
    readBar.stop();
    if (data.chunks.length === 0) throw new InputError(`--dataset ${dataset.root}: no episode has ${horizon} frames, so there are no chunks; lower --action-horizon`);

    const trainBar = progressBar("training BPE (vocabulary)");
    trainBar.start(vocabSize, 0);
    let trained;
    try {
      trained = trainFastTokenizer(data.chunks, { horizon, dims: encodedDims.length, scale: args.scale, vocabSize, onProgress: (reached) => trainBar.update(reached) });
    } catch (error) {
      if (error instanceof FastTrainingError) throw new InputError(`--vocab-size/--scale: ${error.message}`);
      throw error;
    } finally {
      trainBar.stop();
    }

    // LeRobot's compression stats: up to 1000 chunks sampled with a fixed seed.
    const sample = sampleIndices(data.chunks.length, 1000, seededRandom(42));
    const lengths = sample.map((i) => trained.tokenizer.encode(data.chunks[i]!, horizon, encodedDims.length).tokenIds.length);
    const mean = lengths.reduce((a, b) => a + b, 0) / lengths.length;
    const metadata: FastMetadata = {
      repo_id: repoId,
      vocab_size: vocabSize,
      scale: args.scale,
      encoded_dims: args["encoded-dims"],
      encoded_dim_ranges: ranges,
      total_encoded_dims: encodedDims.length,
      delta_dims: args["delta-dims"] ?? null,
      delta_dim_list: deltaDims.length > 0 ? deltaDims : null,
      use_delta_transform: args["use-delta-transform"],
      state_key: args["state-key"],
      normalization_mode: mode,
      action_horizon: horizon,
      num_training_chunks: data.chunks.length,
      compression_stats: {
        compression_ratio: (horizon * encodedDims.length) / mean,
        mean_token_length: mean,
        p99_token_length: percentile(lengths, 99),
        min_token_length: Math.min(...lengths),
        max_token_length: Math.max(...lengths),
      },
      normalization_stats: encodedStats(dataset.stats?.action ?? {}, encodedDims) as Record<string, number[]>,
      dataset: repoId ?? path.resolve(dataset.root),
      max_token: trained.maxToken,
      sample_fraction: args["sample-fraction"],
      seed: args.seed,
    };
    const interrupt = exitCleanlyOnSignals("train-tokenizer", out);
    try {
      await writeFastArtifact(out, trained.tokenizer, metadata, { overwrite: args.overwrite });
    } finally {
      interrupt.dispose();
    }
    const stats = metadata.compression_stats;
    process.stdout.write(
      `wrote ${out}: ${data.chunks.length} chunks of ${horizon}×${encodedDims.length} from ${data.episodesRead} episodes, ` +
        `vocabulary ${trained.tokenizer.vocabSize()}/${vocabSize}, min_token ${trained.config.minToken}, ` +
        `compression ${stats.compression_ratio.toFixed(2)}× (mean ${stats.mean_token_length.toFixed(1)} tokens, p99 ${stats.p99_token_length.toFixed(0)})\n`,
    );
  },
};

interface CheckArgs {
  tokenizer: string;
  dataset?: string;
  "repo-id"?: string;
  episodes?: string;
  "num-samples": number;
  "max-mse": number;
  "encoded-dims"?: string;
  "normalization-mode"?: string;
  seed: number;
  json: boolean;
  report?: string;
  overwrite: boolean;
}

function formatReport(report: ReconstructionReport): string {
  const dims = (values: number[] | null) => (values ? values.map((v) => v.toExponential(2)).join(" ") : "n/a");
  return [
    `chunks checked        ${report.chunks} (${report.horizon}×${report.dims})`,
    `MSE (normalized)      ${report.mse.toExponential(3)}`,
    `MSE (dataset units)   ${report.mseDatasetUnits === null ? "n/a" : report.mseDatasetUnits.toExponential(3)}`,
    `max |error| per dim   ${dims(report.maxAbsErrorPerDim)} (normalized)`,
    `                      ${dims(report.maxAbsErrorPerDimDatasetUnits)} (dataset units)`,
    `compression           ${report.compressionRatio.toFixed(2)}× (mean ${report.meanTokens.toFixed(1)} tokens, p99 ${report.p99Tokens.toFixed(0)}, min ${report.minTokens}, max ${report.maxTokens})`,
    `clamped values        ${report.clampedValues}`,
    `decode failures       ${report.decodeFailures}${report.failureDetails.length > 0 ? ` (${report.failureDetails.join("; ")})` : ""}`,
    ...(report.droppedValues > 0 ? [`values without token  ${report.droppedValues} (q = ${report.droppedCoefficients.map((entry) => `${entry.q} ×${entry.count}`).join(", ")})`] : []),
    ...(report.aboveTrainedRange ? [`above max_token       ${report.aboveTrainedRange}`] : []),
  ].join("\n");
}

export const checkTokenizerCommand: CommandBody<object, CheckArgs> = {
  builder: (y) =>
    datasetOptions(y)
      .option("tokenizer", { type: "string", demandOption: true, describe: "tokenizer folder (processor_config.json, tokenizer.json)", alias: ["tokenizer_path", "tokenizer-path"] })
      .option("num-samples", numberOption("num-samples", POSITIVE_INTEGER, { default: 100, describe: "chunks to check", alias: ["num_samples"] }))
      .option("max-mse", numberOption("max-mse", { min: 0 }, { default: 0.01, describe: "fail above this MSE (normalized units)", alias: ["max_mse"] }))
      .option("encoded-dims", { type: "string", describe: "override the dims in metadata.json", alias: ["encoded_dims"] })
      .option("normalization-mode", { type: "string", describe: "override the mode in metadata.json", alias: ["normalization_mode"] })
      .option("seed", numberOption("seed", SEED, { default: 0, describe: "seed of the chunk sample" }))
      .option("json", { type: "boolean", default: false, describe: "print the report as JSON" })
      .option("report", { type: "string", describe: "also write an HTML page with plots (original vs reconstructed per dimension, error distribution)" })
      .option("overwrite", OVERWRITE_OPTION) as unknown as Argv<CheckArgs>,
  handler: async (args) => {
    if (args.report !== undefined) checkOutput(args.report, { overwrite: args.overwrite, label: `--report ${args.report}`, kind: "file" });
    const { tokenizer, metadata } = await loadFastArtifact(args.tokenizer);
    const { dataset } = await openDatasetFromArgs(args);
    const numSamples = args["num-samples"];

    const horizon = metadata?.action_horizon ?? tokenizer.config.timeHorizon;
    if (horizon === null) throw new InputError(`${args.tokenizer}: neither metadata.json nor processor_config.json gives the horizon (time_horizon is null)`);
    const encodedDimsText = args["encoded-dims"] ?? metadata?.encoded_dims ?? (tokenizer.config.actionDim !== null ? `0:${tokenizer.config.actionDim}` : undefined);
    if (encodedDimsText === undefined) throw new InputError(`--encoded-dims: missing; ${args.tokenizer} does not say which dims it encodes`);
    const encodedDims = rangesToIndices(parseRanges("--encoded-dims", encodedDimsText));
    if (tokenizer.config.actionDim !== null && tokenizer.config.actionDim !== encodedDims.length) {
      throw new InputError(`--encoded-dims ${encodedDimsText}: ${encodedDims.length} dims, but the tokenizer was trained on action_dim ${tokenizer.config.actionDim}`);
    }
    const mode = args["normalization-mode"] !== undefined ? parseNormalizationMode(args["normalization-mode"]) : (metadata?.normalization_mode ?? "QUANTILES");
    // Stats recorded at training time (restricted to the encoded dims) win over today's dataset stats.
    const recorded = metadata?.normalization_stats;
    const actionStats = recorded !== undefined && Object.keys(recorded).length > 0 && args["encoded-dims"] === undefined ? spreadStats(recorded, encodedDims) : undefined;
    const data = await datasetChunks(dataset, {
      horizon, encodedDims, deltaDims: metadata?.use_delta_transform ? (metadata.delta_dim_list ?? []) : [], stateKey: metadata?.state_key ?? "observation.state",
      mode, actionStats, sampleFraction: 1, seed: args.seed, episodes: episodeList(dataset, args.episodes, undefined),
    });
    if (data.chunks.length === 0) throw new InputError(`--dataset ${dataset.root}: no episode has ${horizon} frames to make a chunk`);
    const picked = sampleIndices(data.chunks.length, numSamples, seededRandom(args.seed)).sort((a, b) => a - b);
    const checked: ChunkReconstruction[] = [];
    const report = reconstructionReport(tokenizer, picked.map((i) => data.chunks[i]!), horizon, encodedDims.length, {
      raw: picked.map((i) => data.raw[i]!),
      normalization: data.spec.normalization,
      ...(metadata?.max_token !== undefined ? { maxToken: metadata.max_token } : {}),
      ...(args.report !== undefined ? { onChunk: (chunk: ChunkReconstruction) => checked.push(chunk) } : {}),
    });
    process.stdout.write(args.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`);
    if (args.report !== undefined) {
      const { tokenizerReportHtml } = await import("../report/tokenizer-report.js");
      const names = featureNames(dataset, "action");
      const html = await tokenizerReportHtml({
        report, chunks: checked, origins: picked.map((i) => data.origins[i]!), dimNames: encodedDims.map((dim) => names[dim] ?? `action[${dim}]`),
        fps: dataset.info.fps, tokenizer: args.tokenizer, dataset: dataset.root,
      });
      const interrupt = exitCleanlyOnSignals("check-tokenizer", args.report);
      try {
        await StagedOutput.write(args.report, { overwrite: args.overwrite, label: `--report ${args.report}`, kind: "file" }, (staging) => writeFile(staging, html));
      } finally {
        interrupt.dispose();
      }
      if (!args.json) process.stdout.write(`report                ${args.report}\n`);
    }
    const advice = checkAdvice(report, args["max-mse"], {
      minToken: tokenizer.config.minToken,
      ...(metadata?.max_token !== undefined ? { maxToken: metadata.max_token } : {}),
      ...(metadata?.num_training_chunks !== undefined ? { trainingChunks: metadata.num_training_chunks } : {}),
      ...(metadata?.sample_fraction !== undefined ? { sampleFraction: metadata.sample_fraction } : {}),
    });
    if (report.decodeFailures > 0 || !(report.mse <= args["max-mse"])) {
      for (const line of advice) process.stderr.write(`pi0fast: ${line}\n`);
      process.exitCode = 1;
    }
  },
};

/** The dataset's names for a feature's dims (info.json `names`, a list or LeRobot's older `{motors: [...]}`). */
function featureNames(dataset: LeRobotDataset, key: string): string[] {
  const names = dataset.info.features[key]?.names;
  if (Array.isArray(names)) return names.map(String);
  if (names !== null && typeof names === "object") {
    const first = Object.values(names)[0];
    if (Array.isArray(first)) return first.map(String);
  }
  return [];
}

/** Stats saved for the encoded dims, placed back at their dataset dims (the rest unused). */
function spreadStats(recorded: Record<string, number[]>, encodedDims: number[]): Record<string, number[]> {
  const width = Math.max(...encodedDims) + 1;
  const spread: Record<string, number[]> = {};
  for (const [name, values] of Object.entries(recorded)) {
    if (values.length !== encodedDims.length) continue;
    const full = new Array<number>(width).fill(0);
    encodedDims.forEach((dim, i) => (full[dim] = values[i]!));
    spread[name] = full;
  }
  return spread;
}
