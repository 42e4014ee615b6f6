/**
 * The model contract: `pi0fast.json` beside the ONNX graphs. Dimensions, token ids, the FAST-id → vocab-id
 * mapping, the logit index → token id table, normalization stats and units, the tokenizer folders.
 * Reading it validates every field and names the field that is wrong.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import { InputError } from "../errors.js";
import { NORMALIZATION_MODES } from "../fast/normalize.js";

export const MANIFEST_FILE = "pi0fast.json";

const positiveInt = z.number().int().positive();
const tokenId = z.number().int().nonnegative();
const floats = z.array(z.number());

const normalizationSchema = z.object({
  mode: z.enum(NORMALIZATION_MODES),
  /** Per-dimension statistics as in LeRobot's meta/stats.json (only those the mode needs). */
  stats: z.object({ min: floats, max: floats, mean: floats, std: floats, q01: floats, q10: floats, q90: floats, q99: floats }).partial(),
});

/** Joint units a policy can speak; `radians` means no conversion. */
export const POLICY_UNITS = ["degrees", "range_m100_100", "range_0_100", "radians"] as const;
export type PolicyUnit = (typeof POLICY_UNITS)[number];

export const manifestSchema = z.object({
  format: z.literal("pi0fast-onnx"),
  format_version: z.literal(1),
  name: z.string(),
  /** Element type of embeddings, KV cache and weights; logits are always float32. */
  dtype: z.enum(["float32", "float16"]),
  decoder: z.object({
    num_layers: positiveInt,
    hidden_size: positiveInt,
    intermediate_size: positiveInt,
    num_attention_heads: positiveInt,
    num_key_value_heads: positiveInt,
    head_dim: positiveInt,
    vocab_size: positiveInt,
  }),
  /**
   * How `attention_mask` carries the prefix-LM pattern: one group number per position, 0 = padding; a query
   * attends to every key whose group is non-zero and not above its own (openpi's cumulative `ar_mask`).
   * The prefix shares group 1 (bidirectional); each suffix token opens a new group (causal).
   */
  attention_mask: z.literal("prefix_lm_groups"),
  /**
   * Axis order of the cached keys (`past_key_values.{i}.key`, `present.{i}.key`): `bhsd` is the transformers.js
   * layout [batch, KV heads, positions, head dim]; `bhds` stores them transposed, [batch, KV heads, head dim,
   * positions], so Q·Kᵀ reads the cache as it is and no step transposes the whole of K (the new positions
   * are concatenated on the last axis). Values are always `bhsd`. Absent means `bhsd`.
   */
  key_cache_layout: z.enum(["bhsd", "bhds"]).default("bhsd"),
  vision: z.object({
    image_size: positiveInt,
    tokens_per_image: positiveInt,
    cameras: z.array(z.string().min(1)).min(1),
  }),
  tokens: z.object({
    bos: tokenId,
    eos: tokenId,
    /** `"|"`, which ends the action tokens. */
    pipe: tokenId,
    /** The ids of `"Action: "`: forced before decoding (openpi layout) or generated first (lerobot layout). */
    action_prefix: z.array(tokenId).min(1),
  }),
  /** FAST id f is vocab id `last_vocab_id - f` (PaliGemma: 257152 − 1 − 128). */
  action_tokens: z.object({ last_vocab_id: tokenId }),
  /** The decoder's logits cover only these vocab ids, in this order (FAST ids, `"|"`, EOS). */
  logit_token_ids: z.array(tokenId).min(2),
  prompt: z.object({
    /**
     * The prefix the model was trained on (REFERENCE §11). `openpi`: BOS, the prompt, then `"Action: "` forced
     * into the prefill. `lerobot`: BOS, the prompt, BOS again, all in the bidirectional prefix; the model then
     * generates `"Action: "` itself (its ids must be among the logits). Absent means `openpi`.
     */
    layout: z.enum(["openpi", "lerobot"]).default("openpi"),
    /** openpi lowercases the task; LeRobot keeps its case; both replace `_` and newlines with spaces. */
    task_cleaning: z.enum(["openpi", "lerobot"]),
    state_bins: positiveInt,
    /** LeRobot's `tokenizer_max_length`: the prompt's ids (first BOS included) are cut to this many. */
    max_tokens: positiveInt.optional(),
  }),
  state: z.object({ names: z.array(z.string()).min(1), normalization: normalizationSchema }),
  actions: z.object({
    names: z.array(z.string()).min(1),
    units: z.array(z.enum(POLICY_UNITS)).min(1),
    horizon: positiveInt,
    dt_s: z.number().positive(),
    normalization: normalizationSchema,
  }),
  /** Folder (relative to the model) of the FAST artifact: processor_config.json + tokenizer.json. */
  fast_tokenizer: z.string().min(1),
  /** The text tokenizer's Hugging Face `tokenizer.json` (relative to the model). */
  text_tokenizer: z.string().min(1),
});

export type Manifest = z.infer<typeof manifestSchema>;

/** The ONNX files of a model directory, by role. */
export const MODEL_FILES = {
  vision: "vision_encoder.onnx",
  embed: "embed_tokens.onnx",
  decoder: "decoder_model.onnx",
} as const;

/** Reads and validates `<dir>/pi0fast.json`, including the cross-field rules zod cannot state alone. */
export function readManifest(dir: string): Manifest {
  const file = path.join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new InputError(`${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)}); expected a model directory holding ${MANIFEST_FILE}, ${Object.values(MODEL_FILES).join(", ")}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new InputError(`${file}: not valid JSON (${(error as Error).message})`);
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InputError(`${file}: field '${issue.path.join(".") || "(top level)"}' is invalid: ${issue.message}`);
  }
  const manifest = parsed.data;
  checkManifest(manifest, file);
  return manifest;
}

function checkManifest(m: Manifest, file: string): void {
  const fail = (field: string, problem: string): never => {
    throw new InputError(`${file}: field '${field}' ${problem}`);
  };
  const d = m.decoder;
  if (d.num_attention_heads % d.num_key_value_heads !== 0) fail("decoder.num_key_value_heads", `(${d.num_key_value_heads}) must divide num_attention_heads (${d.num_attention_heads})`);
  if (d.head_dim % 2 !== 0) fail("decoder.head_dim", `(${d.head_dim}) must be even for rotary positions`);
  const ids = (field: string, values: number[]) => values.forEach((id, i) => id >= d.vocab_size && fail(`${field}${values.length > 1 || field.endsWith("ids") ? `[${i}]` : ""}`, `is ${id}, outside the vocabulary of ${d.vocab_size}`));
  ids("tokens.bos", [m.tokens.bos]);
  ids("tokens.eos", [m.tokens.eos]);
  ids("tokens.pipe", [m.tokens.pipe]);
  ids("tokens.action_prefix", m.tokens.action_prefix);
  ids("logit_token_ids", m.logit_token_ids);
  ids("action_tokens.last_vocab_id", [m.action_tokens.last_vocab_id]);
  if (!m.logit_token_ids.includes(m.tokens.pipe)) fail("logit_token_ids", `lacks the "|" id ${m.tokens.pipe}: decoding could never end`);
  if (new Set(m.logit_token_ids).size !== m.logit_token_ids.length) fail("logit_token_ids", "lists an id twice");
  if (m.prompt.layout === "lerobot") {
    const missing = m.tokens.action_prefix.find((id) => !m.logit_token_ids.includes(id));
    if (missing !== undefined) fail("logit_token_ids", `lacks the "Action: " id ${missing}: the lerobot layout generates it`);
  }
  const a = m.actions;
  if (a.units.length !== a.names.length) fail("actions.units", `has ${a.units.length} entries for ${a.names.length} action names`);
  checkStats(m.state.normalization, m.state.names.length, "state.normalization.stats", fail);
  checkStats(a.normalization, a.names.length, "actions.normalization.stats", fail);
}

const NEEDED: Record<(typeof NORMALIZATION_MODES)[number], readonly string[]> = {
  QUANTILES: ["q01", "q99"],
  QUANTILE10: ["q10", "q90"],
  MEAN_STD: ["mean", "std"],
  MIN_MAX: ["min", "max"],
  IDENTITY: [],
};

function checkStats(norm: Manifest["state"]["normalization"], dims: number, field: string, fail: (field: string, problem: string) => never): void {
  for (const key of NEEDED[norm.mode]) {
    const values = (norm.stats as Record<string, number[] | undefined>)[key];
    if (values === undefined) fail(`${field}.${key}`, `is missing: ${norm.mode} normalization needs it`);
    else if (values.length !== dims) fail(`${field}.${key}`, `has ${values.length} values, expected ${dims} (one per name)`);
  }
}

/** FAST id → vocab id. */
export function fastIdToVocabId(manifest: Manifest, fastId: number): number {
  return manifest.action_tokens.last_vocab_id - fastId;
}

/** Vocab id → FAST id, or -1 for a token that is not an action token. */
export function vocabIdToFastId(manifest: Manifest, vocabId: number, fastVocabSize: number): number {
  const fastId = manifest.action_tokens.last_vocab_id - vocabId;
  return fastId >= 0 && fastId < fastVocabSize ? fastId : -1;
}
