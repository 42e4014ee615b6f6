/**
 * `make-test-model`: a model directory that conforms to the contract of ./manifest.ts, with seeded random
 * weights. A patch-embedding vision encoder, a token embedding and a Gemma-style decoder (RMSNorm with
 * `1 + w`, rotary positions, multi-query attention, GeGLU MLP, embeddings scaled by √width), prefix-LM
 * attention through the `attention_mask` groups, and an LM head over the action tokens, `"|"` and EOS only
 * (tied to the embedding rows, or its own with `untiedLmHead`). The `paligemma-3b` preset has the real
 * dimensions and external weight files: it measures real-size latency, it does not act.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { InputError } from "../errors.js";
import { writeFastArtifact } from "../fast/artifact.js";
import { trainFastTokenizer } from "../fast/train.js";
import type { FastTokenizer } from "../fast/tokenizer.js";
import { GraphBuilder, type Dim, type ElementType, type ExternalData } from "./onnx-builder.js";
import { MANIFEST_FILE, MODEL_FILES, type Manifest } from "./manifest.js";

export interface ModelPreset {
  numLayers: number;
  hiddenSize: number;
  intermediateSize: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  imageSize: number;
  patchSize: number;
  cameras: string[];
  /** Total vocabulary; `undefined` = just large enough for the test tokenizers. */
  vocabSize?: number;
  fastVocabSize: number;
  /** Weights above this many bytes go to `<file>_data` (needed past protobuf's 2 GB). */
  externalData: boolean;
}

export const PRESETS = {
  tiny: { numLayers: 2, hiddenSize: 64, intermediateSize: 128, numHeads: 4, numKvHeads: 1, headDim: 16, imageSize: 32, patchSize: 8, cameras: ["base_0_rgb", "wrist_0_rgb"], fastVocabSize: 256, externalData: false },
  small: { numLayers: 6, hiddenSize: 512, intermediateSize: 2048, numHeads: 8, numKvHeads: 1, headDim: 64, imageSize: 224, patchSize: 14, cameras: ["base_0_rgb", "wrist_0_rgb"], fastVocabSize: 1024, externalData: false },
  "paligemma-3b": {
    numLayers: 18,
    hiddenSize: 2048,
    intermediateSize: 16384,
    numHeads: 8,
    numKvHeads: 1,
    headDim: 256,
    imageSize: 224,
    patchSize: 14,
    cameras: ["base_0_rgb", "left_wrist_0_rgb", "right_wrist_0_rgb"],
    vocabSize: 257_152,
    fastVocabSize: 1024,
    externalData: true,
  },
} satisfies Record<string, ModelPreset>;

export type PresetName = keyof typeof PRESETS;
export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];

export interface MakeTestModelOptions {
  out: string;
  preset?: PresetName;
  dtype?: "fp32" | "fp16";
  seed?: number;
  /**
   * An LM head of its own instead of the embedding rows (default false). Tied, a random model's residual stream
   * is mostly the token it was just fed, whose own row scores highest: it repeats one token whatever the input.
   * Untied, its greedy tokens change with the images, the prompt, the positions and the attention mask.
   */
  untiedLmHead?: boolean;
  /** Chunk shape the FAST tokenizer is trained for (SO-100: 6 joints). */
  horizon?: number;
  actionNames?: string[];
  /** A FAST tokenizer trained for `horizon` × the action names (e.g. on a dataset) instead of synthetic chunks. */
  fastTokenizer?: FastTokenizer;
  /** State and action normalization (a dataset's stats, in degrees / 0..100); default quantiles ±90, gripper 0..100. */
  normalization?: { state: Manifest["state"]["normalization"]; actions: Manifest["actions"]["normalization"] };
  /** Time between chunk steps (default 1/30 s: a 30 fps dataset). */
  dtS?: number;
}

const SO100_NAMES = ["shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper"];

/** Text tokenizer layout: 4 special tokens, then the 256 byte-level characters. */
const SPECIALS = ["<pad>", "<eos>", "<bos>", "<unk>"] as const;
const EOS_ID = 1;
const BOS_ID = 2;
const TEXT_VOCAB = SPECIALS.length + 256;
/** PaliGemma leaves its last 128 ids out of the action mapping. */
const SKIPPED_TAIL = 128;

/** Writes the model directory and returns its manifest. */
export async function makeTestModel(options: MakeTestModelOptions): Promise<Manifest> {
  const presetName = options.preset ?? "tiny";
  const preset: ModelPreset = PRESETS[presetName];
  if (preset === undefined) throw new InputError(`--preset ${String(presetName)}: unknown preset; expected one of ${PRESET_NAMES.join(", ")}`);
  const dtype: ElementType = (options.dtype ?? "fp32") === "fp16" ? "float16" : "float32";
  const seed = options.seed ?? 0;
  const horizon = options.horizon ?? 10;
  const actionNames = options.actionNames ?? SO100_NAMES;
  const dims = actionNames.length;
  const out = path.resolve(options.out);
  if (existsSync(out) && readdirSync(out).some((name) => name !== MANIFEST_FILE && !name.endsWith(".onnx") && !name.endsWith(".onnx_data") && name !== "fast" && name !== "tokenizer.json")) {
    throw new InputError(`--out ${options.out}: folder holds files that are not a model's; choose a new or empty folder`);
  }
  mkdirSync(out, { recursive: true });

  // FAST tokenizer given, or trained on smooth synthetic chunks in normalized units.
  const fast = options.fastTokenizer ?? syntheticFastTokenizer(seed, horizon, dims, preset.fastVocabSize);
  const { actionDim, timeHorizon } = fast.config;
  if ((actionDim !== null && actionDim !== dims) || (timeHorizon !== null && timeHorizon !== horizon)) {
    throw new InputError(`the FAST tokenizer is for ${timeHorizon ?? "any"}×${actionDim ?? "any"} chunks; the model's are ${horizon}×${dims}`);
  }
  await writeFastArtifact(path.join(out, "fast"), fast, undefined);
  const fastVocab = fast.vocabSize();

  const vocabSize = preset.vocabSize ?? TEXT_VOCAB + fastVocab + SKIPPED_TAIL;
  const lastVocabId = vocabSize - 1 - SKIPPED_TAIL;
  if (lastVocabId - (fastVocab - 1) < TEXT_VOCAB) throw new Error(`vocabulary ${vocabSize} too small for ${fastVocab} action tokens`);
  const pipeId = SPECIALS.length + "|".charCodeAt(0);
  const actionPrefix = [..."Action: "].map((char) => SPECIALS.length + char.charCodeAt(0));
  const logitTokenIds = [...Array.from({ length: fastVocab }, (_, f) => lastVocabId - f), pipeId, EOS_ID];
  writeFileSync(path.join(out, "tokenizer.json"), textTokenizerJson());

  const p = preset;
  const tokensPerImage = (p.imageSize / p.patchSize) ** 2;
  const external = (file: string) => (p.externalData ? { location: `${file}_data`, path: path.join(out, `${file}_data`) } : undefined);
  const weights = new Random(seed + 1);

  writeFileSync(path.join(out, MODEL_FILES.vision), buildVisionEncoder(p, dtype, weights, external(MODEL_FILES.vision)));
  // The embedding's rows for the logit tokens double as the LM head (tied, as in Gemma).
  const lmHeadRows = new Float32Array(logitTokenIds.length * p.hiddenSize);
  writeFileSync(path.join(out, MODEL_FILES.embed), buildEmbedTokens(p, vocabSize, dtype, weights, logitTokenIds, lmHeadRows, external(MODEL_FILES.embed)));
  // Its own generator, so the other weights are those of the tied model with the same seed.
  const lmHead = options.untiedLmHead === true ? new Random(seed + 2).normal(lmHeadRows.length, 1 / Math.sqrt(p.hiddenSize)) : lmHeadRows;
  writeFileSync(path.join(out, MODEL_FILES.decoder), buildDecoder(p, dtype, weights, lmHead, logitTokenIds.length, external(MODEL_FILES.decoder)));

  const jointStats = { q01: actionNames.map((name) => (name === "gripper" ? 0 : -90)), q99: actionNames.map((name) => (name === "gripper" ? 100 : 90)) };
  const manifest: Manifest = {
    format: "pi0fast-onnx",
    format_version: 1,
    name: `test-${presetName}-${options.dtype ?? "fp32"}-seed${seed}${options.untiedLmHead === true ? "-untied" : ""}`,
    dtype: dtype === "float16" ? "float16" : "float32",
    decoder: {
      num_layers: p.numLayers,
      hidden_size: p.hiddenSize,
      intermediate_size: p.intermediateSize,
      num_attention_heads: p.numHeads,
      num_key_value_heads: p.numKvHeads,
      head_dim: p.headDim,
      vocab_size: vocabSize,
    },
    attention_mask: "prefix_lm_groups",
    key_cache_layout: "bhds",
    vision: { image_size: p.imageSize, tokens_per_image: tokensPerImage, cameras: p.cameras },
    tokens: { bos: BOS_ID, eos: EOS_ID, pipe: pipeId, action_prefix: actionPrefix },
    action_tokens: { last_vocab_id: lastVocabId },
    logit_token_ids: logitTokenIds,
    prompt: { layout: "openpi", task_cleaning: "openpi", state_bins: 256 },
    state: { names: actionNames, normalization: options.normalization?.state ?? { mode: "QUANTILES", stats: jointStats } },
    actions: { names: actionNames, units: actionNames.map(() => "degrees" as const), horizon, dt_s: options.dtS ?? 1 / 30, normalization: options.normalization?.actions ?? { mode: "QUANTILES", stats: jointStats } },
    fast_tokenizer: "fast",
    text_tokenizer: "tokenizer.json",
  };
  writeFileSync(path.join(out, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

function syntheticFastTokenizer(seed: number, horizon: number, dims: number, vocabSize: number): FastTokenizer {
  const rng = new Random(seed);
  const chunks: Float64Array[] = [];
  for (let c = 0; c < 400; c++) chunks.push(smoothChunk(rng, horizon, dims));
  return trainFastTokenizer(chunks, { horizon, dims, vocabSize }).tokenizer;
}

/** A smooth trajectory per joint in [-1, 1]: offset, drift and one slow oscillation. */
function smoothChunk(rng: Random, horizon: number, dims: number): Float64Array {
  const chunk = new Float64Array(horizon * dims);
  for (let d = 0; d < dims; d++) {
    const offset = rng.uniform() * 1.6 - 0.8;
    const drift = (rng.uniform() - 0.5) * 0.4;
    const amplitude = rng.uniform() * 0.2;
    const phase = rng.uniform() * 2 * Math.PI;
    for (let t = 0; t < horizon; t++) {
      const s = t / horizon;
      chunk[t * dims + d] = Math.max(-1, Math.min(1, offset + drift * s + amplitude * Math.sin(2 * Math.PI * s + phase)));
    }
  }
  return chunk;
}

/** A byte-level BPE `tokenizer.json` with no merges: every byte is a token after the 4 specials. */
export function textTokenizerJson(): string {
  const vocab: Record<string, number> = {};
  SPECIALS.forEach((token, id) => (vocab[token] = id));
  byteLevelAlphabet().forEach((char, byte) => (vocab[char] = SPECIALS.length + byte));
  return JSON.stringify({
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: SPECIALS.map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
    model: { type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges: [] },
  });
}

/** GPT-2's printable stand-in for each byte (the text tokenizer's alphabet, by byte). */
function byteLevelAlphabet(): string[] {
  const table: string[] = [];
  let next = 256;
  for (let byte = 0; byte < 256; byte++) {
    const printable = (byte >= 33 && byte <= 126) || (byte >= 161 && byte <= 172) || (byte >= 174 && byte <= 255);
    table.push(String.fromCodePoint(printable ? byte : next++));
  }
  return table;
}

/** Seeded generator (mulberry32) with normal samples from a fixed table for speed at 3B parameters. */
export class Random {
  private state: number;
  private readonly normals = new Float32Array(1 << 16);

  constructor(seed: number) {
    this.state = seed >>> 0 || 0x9e3779b9;
    for (let i = 0; i < this.normals.length; i += 2) {
      const u = Math.max(this.uniform(), 1e-12);
      const v = this.uniform();
      const r = Math.sqrt(-2 * Math.log(u));
      this.normals[i] = r * Math.cos(2 * Math.PI * v);
      this.normals[i + 1] = r * Math.sin(2 * Math.PI * v);
    }
  }

  next32(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  uniform(): number {
    return this.next32() / 4294967296;
  }

  fillNormal(out: Float32Array, std: number, mean = 0): Float32Array {
    const table = this.normals;
    for (let i = 0; i < out.length; i += 2) {
      const bits = this.next32();
      out[i] = mean + std * table[bits & 0xffff]!;
      if (i + 1 < out.length) out[i + 1] = mean + std * table[bits >>> 16]!;
    }
    return out;
  }

  normal(count: number, std: number, mean = 0): Float32Array {
    return this.fillNormal(new Float32Array(count), std, mean);
  }
}

function buildVisionEncoder(p: ModelPreset, dtype: ElementType, rng: Random, external: ExternalData | undefined): Uint8Array {
  const g = new GraphBuilder("vision_encoder", external);
  const W = p.hiddenSize;
  const n = p.imageSize / p.patchSize;
  const pixels = g.input("pixel_values", "float32", ["batch", 3, p.imageSize, p.imageSize]);
  const cast = dtype === "float16" ? g.node("Cast", [pixels], { to: 10 }) : pixels;
  const fanIn = 3 * p.patchSize * p.patchSize;
  const kernel = g.initializer("patch_embedding.weight", dtype, [W, 3, p.patchSize, p.patchSize], rng.normal(W * fanIn, 1 / Math.sqrt(fanIn)));
  const bias = g.initializer("patch_embedding.bias", dtype, [W], rng.normal(W, 0.02));
  const patches = g.node("Conv", [cast, kernel, bias], { kernel_shape: [p.patchSize, p.patchSize], strides: [p.patchSize, p.patchSize] });
  const flat = g.node("Reshape", [patches, g.ints([0, W, n * n])]);
  const tokens = g.node("Transpose", [flat], { perm: [0, 2, 1] });
  const positions = g.initializer("position_embedding", dtype, [n * n, W], rng.normal(n * n * W, 0.02));
  const embedded = g.node("Add", [tokens, positions]);
  // PaliGemma divides image features by √width; the decoder multiplies every embedding by it.
  g.node("Mul", [embedded, g.scalar(1 / Math.sqrt(W), dtype)], {}, ["image_features"]);
  g.output("image_features", dtype, ["batch", n * n, W]);
  return g.serialize("pi0fast test model: vision encoder");
}

function buildEmbedTokens(p: ModelPreset, vocabSize: number, dtype: ElementType, rng: Random, logitTokenIds: number[], lmHeadRows: Float32Array, external: ExternalData | undefined): Uint8Array {
  const g = new GraphBuilder("embed_tokens", external);
  const W = p.hiddenSize;
  const ids = g.input("input_ids", "int64", ["batch", "sequence_length"]);
  const rowOf = new Map(logitTokenIds.map((id, index) => [id, index]));
  const blockRows = 4096;
  function* blocks(): Generator<Float32Array> {
    for (let first = 0; first < vocabSize; first += blockRows) {
      const rows = Math.min(blockRows, vocabSize - first);
      const block = rng.normal(rows * W, 1 / Math.sqrt(W));
      for (let r = 0; r < rows; r++) {
        const index = rowOf.get(first + r);
        if (index !== undefined) lmHeadRows.set(block.subarray(r * W, (r + 1) * W), index * W);
      }
      yield block;
    }
  }
  const table = g.initializerBlocks("embed_tokens.weight", dtype, [vocabSize, W], blocks());
  g.node("Gather", [table, ids], { axis: 0 }, ["inputs_embeds"]);
  g.output("inputs_embeds", dtype, ["batch", "sequence_length", W]);
  return g.serialize("pi0fast test model: token embedding");
}

const FLOAT = 1;
const FLOAT16 = 10;

function buildDecoder(p: ModelPreset, dtype: ElementType, rng: Random, lmHeadRows: Float32Array, logitCount: number, external: ExternalData | undefined): Uint8Array {
  const g = new GraphBuilder("decoder_model", external);
  const { hiddenSize: W, numHeads: H, numKvHeads: KVH, headDim: Hd, intermediateSize: I } = p;
  const G = H / KVH;
  const half = Hd / 2;
  const fp16 = dtype === "float16";
  // Keys are cached transposed (manifest key_cache_layout "bhds"): Q·Kᵀ takes them as they are.
  const keyShape = (positions: string): Dim[] => ["batch", KVH, Hd, positions];
  const valueShape = (positions: string): Dim[] => ["batch", KVH, positions, Hd];
  const embeds = g.input("inputs_embeds", dtype, ["batch", "sequence_length", W]);
  const mask = g.input("attention_mask", "int64", ["batch", "total_sequence_length"]);
  const positionIds = g.input("position_ids", "int64", ["batch", "sequence_length"]);
  for (let l = 0; l < p.numLayers; l++) {
    g.input(`past_key_values.${l}.key`, dtype, keyShape("past_sequence_length"));
    g.input(`past_key_values.${l}.value`, dtype, valueShape("past_sequence_length"));
  }
  const toDtype = (value: string) => (fp16 ? g.node("Cast", [value], { to: FLOAT16 }) : value);
  const weight = (name: string, rows: number, cols: number) => g.initializerBlocks(name, dtype, [rows, cols], rowBlocks(rng, rows, cols, 1 / Math.sqrt(rows)));
  const normWeight = (name: string) => g.initializer(name, "float32", [W], rng.normal(W, 0.1, 1));

  function rmsNorm(x: string, scale: string): string {
    const xf = fp16 ? g.node("Cast", [x], { to: FLOAT }) : x;
    const meanSquare = g.node("ReduceMean", [g.node("Mul", [xf, xf])], { axes: [-1], keepdims: 1 });
    const inverse = g.node("Reciprocal", [g.node("Sqrt", [g.node("Add", [meanSquare, g.scalar(1e-6, "float32")])])]);
    return toDtype(g.node("Mul", [g.node("Mul", [xf, inverse]), scale]));
  }

  // Rotary positions: cos/sin of position × inverse frequency, halves rotated (Gemma, base 10000).
  const invFreq = Float32Array.from({ length: half }, (_, i) => 1 / 10000 ** ((2 * i) / Hd));
  const freqs = g.node("Mul", [g.node("Unsqueeze", [g.node("Cast", [positionIds], { to: FLOAT }), g.ints([2])]), g.initializer("rotary.inv_freq", "float32", [half], invFreq)]);
  const angles = g.node("Concat", [freqs, freqs], { axis: -1 });
  const cos = toDtype(g.node("Cos", [angles]));
  const sin = toDtype(g.node("Sin", [angles]));
  const cos4 = g.node("Unsqueeze", [cos, g.ints([1])]);
  const sin4 = g.node("Unsqueeze", [sin, g.ints([1])]);
  // Queries are [batch, KV head, position, group, head dim]: positions before the G heads of a group.
  const cos5 = g.node("Unsqueeze", [cos, g.ints([1, 3])]);
  const sin5 = g.node("Unsqueeze", [sin, g.ints([1, 3])]);
  const firstHalf = [g.ints([0]), g.ints([half]), g.ints([-1])];
  const secondHalf = [g.ints([half]), g.ints([Hd]), g.ints([-1])];
  const rotate = (x: string, c: string, s: string) => {
    const x1 = g.node("Slice", [x, ...firstHalf]);
    const x2 = g.node("Slice", [x, ...secondHalf]);
    const rotated = g.node("Concat", [g.node("Neg", [x2]), x1], { axis: -1 });
    return g.node("Add", [g.node("Mul", [x, c]), g.node("Mul", [rotated, s])]);
  };

  // Prefix-LM mask from the groups: key group non-zero and not above the query's group. Built once per run
  // as [batch, 1, new positions × G, keys] (row s·G + g: query head g of new position s), the layout of the
  // grouped scores below, so every layer uses it as is.
  const groups = g.node("Cast", [mask], { to: FLOAT });
  const keyGroups = g.node("Unsqueeze", [groups, g.ints([1, 2])]);
  const queryCount = g.node("Shape", [positionIds], { start: 1, end: 2 });
  const newGroups = g.node("Slice", [groups, g.node("Neg", [queryCount]), g.ints([Number.MAX_SAFE_INTEGER]), g.ints([1])]);
  const rowGroups = g.node("Reshape", [g.node("Add", [g.node("Unsqueeze", [newGroups, g.ints([2])]), g.initializer("attention.group_rows", "float32", [1, 1, G], new Float32Array(G))]), g.ints([0, -1])]);
  const queryGroups = g.node("Unsqueeze", [rowGroups, g.ints([1, 3])]);
  const allowed = g.node("And", [g.node("Greater", [keyGroups, g.scalar(0, "float32")]), g.node("LessOrEqual", [keyGroups, queryGroups])]);
  const blocked = g.scalar(fp16 ? -65504 : -1e9, dtype);
  const queryScale = g.scalar(1 / Math.sqrt(Hd), dtype);

  let h = g.node("Mul", [embeds, g.scalar(Math.sqrt(W), dtype)]);
  for (let l = 0; l < p.numLayers; l++) {
    const x = rmsNorm(h, normWeight(`layers.${l}.input_layernorm.weight`));
    // Multi-query attention without copies of the cache: the G query heads that share a KV head are the rows
    // of one matrix ([batch, KV head, positions × G, head dim]), so each layer reads K and V once per step
    // with one product each, and only the new positions' keys are transposed.
    const q5 = g.node("Transpose", [g.node("Reshape", [g.node("MatMul", [x, weight(`layers.${l}.q_proj`, W, H * Hd)]), g.ints([0, 0, KVH, G, Hd])])], { perm: [0, 2, 1, 3, 4] });
    const q = g.node("Reshape", [g.node("Mul", [rotate(q5, cos5, sin5), queryScale]), g.ints([0, KVH, -1, Hd])]);
    const heads = (value: string) => g.node("Transpose", [g.node("Reshape", [value, g.ints([0, 0, KVH, Hd])])], { perm: [0, 2, 1, 3] });
    const k = g.node("Transpose", [rotate(heads(g.node("MatMul", [x, weight(`layers.${l}.k_proj`, W, KVH * Hd)])), cos4, sin4)], { perm: [0, 1, 3, 2] });
    const v = heads(g.node("MatMul", [x, weight(`layers.${l}.v_proj`, W, KVH * Hd)]));
    const presentKey = g.node("Concat", [`past_key_values.${l}.key`, k], { axis: 3 }, [`present.${l}.key`]);
    const presentValue = g.node("Concat", [`past_key_values.${l}.value`, v], { axis: 2 }, [`present.${l}.value`]);
    const scores = g.node("Where", [allowed, g.node("MatMul", [q, presentKey]), blocked]);
    const probs = g.node("Softmax", [scores], { axis: -1 });
    // [batch, KV head, positions × G, head dim] → [batch, positions, KV head × G × head dim].
    const context = g.node("Reshape", [g.node("MatMul", [probs, presentValue]), g.ints([0, 0, -1, G * Hd])]);
    const merged = g.node("Reshape", [g.node("Transpose", [context], { perm: [0, 2, 1, 3] }), g.ints([0, 0, H * Hd])]);
    h = g.node("Add", [h, g.node("MatMul", [merged, weight(`layers.${l}.o_proj`, H * Hd, W)])]);

    const y = rmsNorm(h, normWeight(`layers.${l}.post_attention_layernorm.weight`));
    const gate = g.node("MatMul", [y, weight(`layers.${l}.gate_proj`, W, I)]);
    const up = g.node("MatMul", [y, weight(`layers.${l}.up_proj`, W, I)]);
    h = g.node("Add", [h, g.node("MatMul", [g.node("Mul", [geluTanh(g, gate, dtype), up]), weight(`layers.${l}.down_proj`, I, W)])]);
  }
  const final = rmsNorm(h, normWeight("norm.weight"));
  // LM head [W, logits]: the transposed embedding rows of the logit tokens.
  const head = new Float32Array(W * logitCount);
  for (let r = 0; r < logitCount; r++) for (let c = 0; c < W; c++) head[c * logitCount + r] = lmHeadRows[r * W + c]!;
  const logits = g.node("MatMul", [final, g.initializer("lm_head.weight", dtype, [W, logitCount], head)]);
  g.node("Cast", [logits], { to: FLOAT }, ["logits"]);
  g.output("logits", "float32", ["batch", "sequence_length", logitCount]);
  for (let l = 0; l < p.numLayers; l++) {
    g.output(`present.${l}.key`, dtype, keyShape("total_sequence_length"));
    g.output(`present.${l}.value`, dtype, valueShape("total_sequence_length"));
  }
  return g.serialize("pi0fast test model: Gemma-style decoder with a KV cache");
}

function* rowBlocks(rng: Random, rows: number, cols: number, std: number): Generator<Float32Array> {
  const rowsPerBlock = Math.max(1, Math.floor((1 << 22) / cols));
  for (let first = 0; first < rows; first += rowsPerBlock) yield rng.normal(Math.min(rowsPerBlock, rows - first) * cols, std);
}

/** GELU, tanh approximation (Gemma's `gelu_pytorch_tanh`). */
function geluTanh(g: GraphBuilder, x: string, dtype: ElementType): string {
  const cube = g.node("Mul", [g.node("Mul", [x, x]), x]);
  const inner = g.node("Mul", [g.node("Add", [x, g.node("Mul", [cube, g.scalar(0.044715, dtype)])]), g.scalar(Math.sqrt(2 / Math.PI), dtype)]);
  return g.node("Mul", [g.node("Mul", [x, g.scalar(0.5, dtype)]), g.node("Add", [g.node("Tanh", [inner]), g.scalar(1, dtype)])]);
}
