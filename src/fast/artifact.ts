/**
 * The FAST tokenizer on disk: the Hugging Face folder (`processor_config.json`, `tokenizer.json`,
 * `tokenizer_config.json`) that LeRobot and openpi load, plus the `metadata.json` that
 * `lerobot-train-tokenizer` writes (with the normalization stats added, so the folder alone says how to
 * normalize), and the `processing_action_tokenizer.py` that `auto_map` names, so transformers' AutoProcessor loads
 * the folder (./hf-processor.ts). Loading validates every field and names the file and field at fault.
 */
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { Tokenizer } from "tokenizers";
import { z } from "zod";
import { InputError } from "../errors.js";
import { StagedOutput } from "../output-dir.js";
import { BpeModel, TokenizerJsonError } from "./bpe.js";
import { PROCESSOR_MODULE_FILE, PROCESSOR_MODULE_SOURCE } from "./hf-processor.js";
import { NORMALIZATION_MODES } from "./normalize.js";
import { FastTokenizer, type FastConfig } from "./tokenizer.js";

export const PROCESSOR_CLASS = "UniversalActionProcessor";
const AUTO_MAP = { AutoProcessor: "processing_action_tokenizer.UniversalActionProcessor" };

const positiveInt = z.number().int().positive();
const processorConfigSchema = z.object({
  scale: z.number().positive().finite(),
  vocab_size: positiveInt,
  min_token: z.number().int(),
  action_dim: positiveInt.nullable(),
  time_horizon: positiveInt.nullable(),
  processor_class: z.literal(PROCESSOR_CLASS),
  auto_map: z.record(z.string(), z.string()).optional(),
});

const statsArray = z.array(z.number());
const compressionStatsSchema = z.object({
  compression_ratio: z.number(),
  mean_token_length: z.number(),
  p99_token_length: z.number(),
  min_token_length: z.number(),
  max_token_length: z.number(),
});
export type CompressionStats = z.infer<typeof compressionStatsSchema>;

/** metadata.json: LeRobot's fields, then ours (`normalization_stats`, `dataset`, `max_token`, `seed`). */
export const fastMetadataSchema = z.object({
  repo_id: z.string().nullable(),
  vocab_size: positiveInt,
  scale: z.number().positive(),
  encoded_dims: z.string(),
  encoded_dim_ranges: z.array(z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()])),
  total_encoded_dims: positiveInt,
  delta_dims: z.string().nullable(),
  delta_dim_list: z.array(z.number().int().nonnegative()).nullable(),
  use_delta_transform: z.boolean(),
  state_key: z.string(),
  normalization_mode: z.enum(NORMALIZATION_MODES),
  action_horizon: positiveInt,
  num_training_chunks: z.number().int().nonnegative(),
  compression_stats: compressionStatsSchema,
  normalization_stats: z.record(z.string(), statsArray).optional(),
  dataset: z.string().optional(),
  max_token: z.number().int().optional(),
  sample_fraction: z.number().optional(),
  seed: z.number().int().optional(),
});
export type FastMetadata = z.infer<typeof fastMetadataSchema>;

export interface FastArtifact {
  tokenizer: FastTokenizer;
  /** metadata.json, absent from artifacts not written by a trainer (e.g. the universal FAST+ tokenizer). */
  metadata: FastMetadata | undefined;
}

function zodProblem(file: string, error: z.ZodError): InputError {
  const issue = error.issues[0]!;
  const field = issue.path.length > 0 ? issue.path.join(".") : "(top level)";
  return new InputError(`${file}: field '${field}' is invalid: ${issue.message}`);
}

async function readJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new InputError(`${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)}); expected a FAST tokenizer folder with processor_config.json and tokenizer.json`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InputError(`${file}: not valid JSON (${(error as Error).message})`);
  }
}

/** Reads and validates a FAST artifact folder. */
export async function loadFastArtifact(dir: string): Promise<FastArtifact> {
  const configFile = path.join(dir, "processor_config.json");
  const parsedConfig = processorConfigSchema.safeParse(await readJson(configFile));
  if (!parsedConfig.success) throw zodProblem(configFile, parsedConfig.error);
  const raw = parsedConfig.data;
  const config: FastConfig = { scale: raw.scale, vocabSize: raw.vocab_size, minToken: raw.min_token, actionDim: raw.action_dim, timeHorizon: raw.time_horizon };

  const tokenizerFile = path.join(dir, "tokenizer.json");
  const tokenizerJson = await readJson(tokenizerFile);
  let bpe: BpeModel;
  try {
    bpe = BpeModel.fromTokenizerJson(tokenizerJson);
  } catch (error) {
    if (error instanceof TokenizerJsonError) throw new InputError(`${tokenizerFile}: field '${error.field}' is invalid: ${error.message.slice(error.field.length + 2)}`);
    throw error;
  }
  try {
    // The Hugging Face library must accept the file too: it is what LeRobot and openpi load.
    Tokenizer.fromString(JSON.stringify(tokenizerJson));
  } catch (error) {
    throw new InputError(`${tokenizerFile}: Hugging Face tokenizers rejects it: ${(error as Error).message}`);
  }

  const metadataFile = path.join(dir, "metadata.json");
  let metadata: FastMetadata | undefined;
  if (existsSync(metadataFile)) {
    const parsedMetadata = fastMetadataSchema.safeParse(await readJson(metadataFile));
    if (!parsedMetadata.success) throw zodProblem(metadataFile, parsedMetadata.error);
    metadata = parsedMetadata.data;
    if (metadata.scale !== config.scale || metadata.vocab_size !== config.vocabSize) {
      throw new InputError(`${metadataFile}: scale ${metadata.scale} / vocab_size ${metadata.vocab_size} disagree with processor_config.json (${config.scale} / ${config.vocabSize})`);
    }
  }
  return { tokenizer: new FastTokenizer(config, bpe), metadata };
}

/** processor_config.json as `save_pretrained` writes it (keys sorted). */
export function processorConfigJson(config: FastConfig): string {
  const json = {
    action_dim: config.actionDim,
    auto_map: AUTO_MAP,
    min_token: config.minToken,
    processor_class: PROCESSOR_CLASS,
    scale: config.scale,
    time_horizon: config.timeHorizon,
    vocab_size: config.vocabSize,
  };
  return `${JSON.stringify(json, null, 2)}\n`;
}

/** tokenizer_config.json for PreTrainedTokenizerFast (its model_max_length is the library's "unset" value). */
export function tokenizerConfigJson(): string {
  return `{
  "added_tokens_decoder": {},
  "clean_up_tokenization_spaces": false,
  "extra_special_tokens": {},
  "model_max_length": 1000000000000000019884624838656,
  "processor_class": "${PROCESSOR_CLASS}",
  "tokenizer_class": "PreTrainedTokenizerFast"
}
`;
}

/**
 * Writes the artifact folder through a staged output (src/output-dir.ts): a new or empty `dir`, an existing
 * FAST artifact (regenerated in place), or anything with `overwrite`; never half-written.
 */
export async function writeFastArtifact(dir: string, tokenizer: FastTokenizer, metadata: FastMetadata | undefined, options: { overwrite?: boolean } = {}): Promise<void> {
  const isArtifact = existsSync(path.join(dir, "processor_config.json"));
  await StagedOutput.write(dir, { overwrite: options.overwrite === true || isArtifact, label: `--out ${dir}` }, async (staging) => {
    await writeFile(path.join(staging, "processor_config.json"), processorConfigJson(tokenizer.config));
    await writeFile(path.join(staging, "tokenizer.json"), tokenizer.bpe.toTokenizerJson());
    await writeFile(path.join(staging, "tokenizer_config.json"), tokenizerConfigJson());
    await writeFile(path.join(staging, "special_tokens_map.json"), "{}\n");
    await writeFile(path.join(staging, PROCESSOR_MODULE_FILE), PROCESSOR_MODULE_SOURCE);
    if (metadata !== undefined) await writeFile(path.join(staging, "metadata.json"), `${JSON.stringify(fastMetadataSchema.parse(metadata), null, 2)}\n`);
  });
}
