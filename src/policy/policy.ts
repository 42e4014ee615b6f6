/**
 * The policy runtime: observation → images + prompt → prefix embeddings → constrained greedy decoding with
 * the KV cache → FAST decode → un-normalize → radians. Each stage is timed.
 */
import path from "node:path";
import * as ort from "onnxruntime-node";
import { InputError } from "../errors.js";
import { affineNormalization, normalizeInPlace, unnormalizeInPlace, type AffineNormalization, type FeatureStats } from "../fast/normalize.js";
import { FastTokenizer, type DecodeStatus } from "../fast/tokenizer.js";
import type { Calibration } from "../so100/calibration.js";
import { toRadians } from "../so100/units.js";
import { Decoder, generate, type EmbeddingArray, type GenerationEnd, type LogitVocabulary } from "./decoder.js";
import { ActionGrammar } from "./grammar.js";
import { readManifest, vocabIdToFastId, type Manifest, type PolicyUnit } from "./manifest.js";
import { PromptTokenizer, cleanTask, digitizeState, layoutPromptIds, promptText, type TaskCleaning } from "./prompt.js";
import { checkModelFiles, createSessions, type ModelSessions, type ProviderName, type SessionOptions } from "./sessions.js";

/** openpi's and LeRobot's decoding limit. */
export const DEFAULT_MAX_DECODE_STEPS = 256;

export interface PolicyOptions extends SessionOptions {
  /** Most decoding steps, `"|"` included (default 256). */
  maxDecodeSteps?: number;
  /** Constrained decoding (default true); false runs the plain argmax, as the reference does. */
  constrained?: boolean;
  /** FAST decode mode for what the decoder produced (default strict: anything malformed fails). */
  decodeMode?: "strict" | "relaxed";
  /** Overrides the manifest's task cleaning. */
  taskCleaning?: TaskCleaning;
  /** LeRobot calibration, needed when an action is in a range unit. */
  calibration?: Calibration;
}

/** One rgb8 image at the model's input size. */
export interface PolicyImage {
  width: number;
  height: number;
  data: Uint8Array;
}

export interface PolicyInput {
  /** One image per manifest camera, in the manifest's order. */
  images: readonly PolicyImage[];
  /** Robot state in the policy's units, one value per manifest state name. */
  state: ArrayLike<number>;
  instruction: string;
}

export interface StageTimings {
  visionMs: number;
  /** Prompt tokenization and embedding. */
  promptMs: number;
  /** The prefill run: the prefix (and openpi's forced `"Action: "`) into the cache. */
  prefillMs: number;
  /** Each cached decode step. */
  decodeStepMs: number[];
  fastDecodeMs: number;
  totalMs: number;
  /** Time inside onnxruntime's `session.run`, every stage. */
  sessionRunMs: number;
}

export interface PolicyResult {
  /** Row-major `[horizon, action names]`, radians. Empty when `status` is "failed". */
  actionsRad: Float64Array;
  /** The same chunk in the policy's units (its dataset's). */
  actions: Float64Array;
  horizon: number;
  actionNames: readonly string[];
  /** Token ids of the prefix after the images: the prompt as laid out, and openpi's forced `"Action: "`. */
  promptIds: number[];
  /** Generated token ids, the final `"|"` or EOS included. */
  tokenIds: number[];
  /** Logits of the prefill's last position, in `logit_token_ids` order. */
  prefillLogits: Float32Array;
  fastIds: number[];
  tokenCount: number;
  status: DecodeStatus;
  detail: string;
  end: GenerationEnd;
  timings: StageTimings;
  provider: ProviderName;
}

export class Pi0FastPolicy {
  readonly grammar: ActionGrammar;
  readonly decoder: Decoder;
  readonly vocabulary: LogitVocabulary;
  readonly tokenEmbeddings: EmbeddingArray;
  /** Logit indices of the `"Action: "` the model generates first (LeRobot's layout), else empty. */
  private readonly leadingLogits: number[];
  private readonly stateNorm: AffineNormalization;
  private readonly actionNorm: AffineNormalization;
  private readonly maxDecodeSteps: number;
  private readonly constrained: boolean;
  private readonly decodeMode: "strict" | "relaxed";
  private readonly taskCleaning: TaskCleaning;
  private readonly calibration: Calibration | undefined;

  private constructor(
    readonly dir: string,
    readonly manifest: Manifest,
    readonly fast: FastTokenizer,
    readonly prompt: PromptTokenizer,
    readonly sessions: ModelSessions,
    tokenEmbeddings: EmbeddingArray,
    options: PolicyOptions,
  ) {
    const m = manifest;
    const horizon = m.actions.horizon;
    const dims = m.actions.names.length;
    this.decoder = new Decoder(sessions.decoder, m);
    this.tokenEmbeddings = tokenEmbeddings;
    this.vocabulary = logitVocabulary(m, fast.vocabSize());
    const logitIndex = new Map(m.logit_token_ids.map((id, index) => [id, index]));
    this.leadingLogits = m.prompt.layout === "lerobot" ? m.tokens.action_prefix.map((id) => logitIndex.get(id)!) : [];
    this.grammar = new ActionGrammar({ tokenBytes: reachableTokenBytes(fast.tokenBytes(), this.vocabulary), coefficientCount: horizon * dims, maxCodePoint: fast.config.vocabSize });
    this.maxDecodeSteps = options.maxDecodeSteps ?? DEFAULT_MAX_DECODE_STEPS;
    this.constrained = options.constrained ?? true;
    this.decodeMode = options.decodeMode ?? "strict";
    this.taskCleaning = options.taskCleaning ?? m.prompt.task_cleaning;
    this.calibration = options.calibration;
    if (this.constrained && this.grammar.minimumSteps() + this.leadingLogits.length > this.maxDecodeSteps) {
      throw new InputError(`max decode steps ${this.maxDecodeSteps}: too few for a ${horizon}×${dims} chunk with this FAST vocabulary (needs at least ${this.grammar.minimumSteps() + this.leadingLogits.length})`);
    }
    this.stateNorm = normalization(m.state.normalization, m.state.names.length);
    this.actionNorm = normalization(m.actions.normalization, dims);
    m.actions.units.forEach((unit, d) => {
      const name = m.actions.names[d]!;
      if ((unit === "range_m100_100" || unit === "range_0_100") && this.calibration?.[name] === undefined) {
        throw new InputError(`action '${name}' is in ${unit}, which needs a calibration for '${name}' (a LeRobot calibration file); none was given`);
      }
    });
  }

  static async load(dir: string, options: PolicyOptions = {}): Promise<Pi0FastPolicy> {
    const manifest = readManifest(dir);
    checkModelFiles(dir, manifest);
    const fast = await FastTokenizer.load(path.join(dir, manifest.fast_tokenizer));
    const { horizon, names } = manifest.actions;
    if (fast.config.timeHorizon !== null && fast.config.timeHorizon !== horizon) {
      throw new InputError(`${path.join(dir, manifest.fast_tokenizer, "processor_config.json")}: time_horizon ${fast.config.timeHorizon} disagrees with pi0fast.json actions.horizon ${horizon}`);
    }
    if (fast.config.actionDim !== null && fast.config.actionDim !== names.length) {
      throw new InputError(`${path.join(dir, manifest.fast_tokenizer, "processor_config.json")}: action_dim ${fast.config.actionDim} disagrees with the ${names.length} names of pi0fast.json actions.names`);
    }
    const prompt = PromptTokenizer.load(path.join(dir, manifest.text_tokenizer), manifest.tokens.bos);
    const sessions = await createSessions(dir, manifest, options);
    try {
      const tokenEmbeddings = await embedTokens(sessions.embed, manifest.logit_token_ids);
      return new Pi0FastPolicy(dir, manifest, fast, prompt, sessions, tokenEmbeddings, options);
    } catch (error) {
      await releaseSessions(sessions);
      throw error;
    }
  }

  get provider(): ProviderName {
    return this.sessions.provider;
  }

  async infer(input: PolicyInput): Promise<PolicyResult> {
    const m = this.manifest;
    const start = performance.now();
    const pixels = this.pixelValues(input.images);
    const state = this.checkedState(input.state);
    if (typeof input.instruction !== "string") throw new InputError("observation instruction: expected a string");

    const visionStart = performance.now();
    const imageFeatures = await this.imageFeatures(pixels);
    const visionMs = performance.now() - visionStart;

    const promptStart = performance.now();
    const textIds = await this.promptIds(input.instruction, state);
    const forced = m.prompt.layout === "openpi" ? m.tokens.action_prefix : [];
    const embedStart = performance.now();
    const embeds = await embedTokens(this.sessions.embed, [...textIds, ...forced]);
    const embedMs = performance.now() - embedStart;
    const promptMs = performance.now() - promptStart;

    const width = m.decoder.hidden_size;
    const textLength = textIds.length * width;
    const prefix = new (imageFeatures.constructor as { new (length: number): EmbeddingArray })(imageFeatures.length + textLength);
    prefix.set(imageFeatures);
    prefix.set(embeds.subarray(0, textLength), imageFeatures.length);
    const generation = await generate(this.decoder, prefix, embeds.subarray(textLength), {
      vocabulary: this.vocabulary,
      tokenEmbeddings: this.tokenEmbeddings,
      maxSteps: this.maxDecodeSteps,
      leadingLogits: this.leadingLogits,
      ...(this.constrained ? { grammar: this.grammar } : {}),
    });
    const tokenIds = generation.logitIndices.map((index) => m.logit_token_ids[index]!);

    const fastStart = performance.now();
    const horizon = m.actions.horizon;
    const dims = m.actions.names.length;
    const leadingIds = this.leadingLogits.map((index) => m.logit_token_ids[index]!);
    // LeRobot rejects a generation that does not start with "Action:" (only the plain argmax can do that).
    const leadingOk = leadingIds.every((id, i) => tokenIds[i] === id);
    const decoded = leadingOk ? this.fast.decode(generation.fastIds, horizon, dims, this.decodeMode) : { status: "failed" as const, detail: `generation did not start with "Action: " (ids ${leadingIds.join(" ")})`, actions: new Float64Array(0) };
    const failed = decoded.status === "failed";
    const actions = failed ? new Float64Array(0) : unnormalizeInPlace(decoded.actions, this.actionNorm);
    const actionsRad = new Float64Array(actions.length);
    for (let i = 0; i < actions.length; i++) actionsRad[i] = this.toRadians(actions[i]!, i % dims);
    const fastDecodeMs = performance.now() - fastStart;

    const endNote = generation.end === "pipe" ? "" : `decoding ended by ${generation.end === "eos" ? "EOS" : `the ${this.maxDecodeSteps}-step limit`} before "|"`;
    return {
      actionsRad,
      actions,
      horizon: failed ? 0 : horizon,
      actionNames: m.actions.names,
      promptIds: [...textIds, ...forced],
      tokenIds,
      prefillLogits: generation.prefillLogits,
      fastIds: generation.fastIds,
      tokenCount: generation.fastIds.length,
      status: decoded.status,
      detail: [decoded.detail, endNote].filter((text) => text !== "").join("; "),
      end: generation.end,
      timings: {
        visionMs,
        promptMs,
        prefillMs: generation.prefillMs,
        decodeStepMs: generation.stepMs,
        fastDecodeMs,
        totalMs: performance.now() - start,
        sessionRunMs: visionMs + embedMs + generation.sessionRunMs,
      },
      provider: this.provider,
    };
  }

  async dispose(): Promise<void> {
    await releaseSessions(this.sessions);
  }

  private toRadians(value: number, dim: number): number {
    const unit: PolicyUnit = this.manifest.actions.units[dim]!;
    if (unit === "radians") return value;
    const name = this.manifest.actions.names[dim]!;
    return toRadians(value, unit, this.calibration?.[name]);
  }

  /** The prompt's token ids as the prefix holds them, for an instruction and a state in policy units. */
  async promptIds(instruction: string, state: ArrayLike<number>): Promise<number[]> {
    const m = this.manifest;
    const bins = digitizeState(normalizeInPlace(this.checkedState(state), this.stateNorm), m.prompt.state_bins);
    const textIds = await this.prompt.encodeText(promptText(cleanTask(instruction, this.taskCleaning), bins));
    return layoutPromptIds(textIds, { layout: m.prompt.layout, bos: m.tokens.bos, maxTokens: m.prompt.max_tokens });
  }

  /** The vision encoder's features of stacked pixel values, `[cameras, tokens per image, width]`. */
  async imageFeatures(pixels: Float32Array): Promise<EmbeddingArray> {
    const { cameras, image_size: size } = this.manifest.vision;
    const vision = await this.sessions.vision.run({ pixel_values: new ort.Tensor("float32", pixels, [cameras.length, 3, size, size]) });
    return vision.image_features!.data as EmbeddingArray;
  }

  /** rgb8 HWC images → float32 CHW in [-1, 1], cameras stacked. */
  pixelValues(images: readonly PolicyImage[]): Float32Array {
    const { cameras, image_size: size } = this.manifest.vision;
    if (images.length !== cameras.length) throw new InputError(`observation images: ${images.length} given, the model expects ${cameras.length} (${cameras.join(", ")})`);
    const plane = size * size;
    const pixels = new Float32Array(cameras.length * 3 * plane);
    images.forEach((image, c) => {
      if (image.width !== size || image.height !== size) throw new InputError(`observation image '${cameras[c]}': ${image.width}×${image.height}, the model expects ${size}×${size} rgb8`);
      if (image.data.length !== plane * 3) throw new InputError(`observation image '${cameras[c]}': ${image.data.length} bytes, expected ${plane * 3} (${size}×${size} rgb8)`);
      const base = c * 3 * plane;
      for (let i = 0; i < plane; i++) {
        pixels[base + i] = image.data[i * 3]! / 127.5 - 1;
        pixels[base + plane + i] = image.data[i * 3 + 1]! / 127.5 - 1;
        pixels[base + 2 * plane + i] = image.data[i * 3 + 2]! / 127.5 - 1;
      }
    });
    return pixels;
  }

  private checkedState(state: ArrayLike<number>): Float64Array {
    const names = this.manifest.state.names;
    if (state.length !== names.length) throw new InputError(`observation state: ${state.length} values, the model expects ${names.length} (${names.join(", ")})`);
    const values = Float64Array.from(state);
    values.forEach((value, i) => {
      if (!Number.isFinite(value)) throw new InputError(`observation state '${names[i]}': ${value}, expected a finite number`);
    });
    return values;
  }
}

function normalization(spec: Manifest["state"]["normalization"], dims: number): AffineNormalization {
  return affineNormalization(spec.mode, spec.stats as FeatureStats, dims);
}

export function logitVocabulary(manifest: Manifest, fastVocabSize: number): LogitVocabulary {
  const ids = manifest.logit_token_ids;
  const fastIdOfLogit = new Int32Array(ids.length).fill(-1);
  const logitOfFastId = new Int32Array(fastVocabSize).fill(-1);
  ids.forEach((vocabId, index) => {
    const notAction = vocabId === manifest.tokens.pipe || vocabId === manifest.tokens.eos || manifest.tokens.action_prefix.includes(vocabId);
    const fastId = notAction ? -1 : vocabIdToFastId(manifest, vocabId, fastVocabSize);
    fastIdOfLogit[index] = fastId;
    if (fastId >= 0) logitOfFastId[fastId] = index;
  });
  return { fastIdOfLogit, logitOfFastId, pipeIndex: ids.indexOf(manifest.tokens.pipe), eosIndex: ids.indexOf(manifest.tokens.eos) };
}

/** Token bytes with those of FAST ids the logits cannot produce emptied (the grammar then never counts on them). */
function reachableTokenBytes(tokenBytes: Uint8Array[], vocabulary: LogitVocabulary): Uint8Array[] {
  return tokenBytes.map((bytes, fastId) => (vocabulary.logitOfFastId[fastId]! >= 0 ? bytes : new Uint8Array(0)));
}

async function embedTokens(session: ort.InferenceSession, ids: readonly number[]): Promise<EmbeddingArray> {
  const inputIds = new ort.Tensor("int64", BigInt64Array.from(ids.map(BigInt)), [1, ids.length]);
  const outputs = await session.run({ input_ids: inputIds });
  // A copy: onnxruntime may reuse an output's memory on a later run.
  return (outputs.inputs_embeds!.data as EmbeddingArray).slice();
}

async function releaseSessions(sessions: ModelSessions): Promise<void> {
  await Promise.all([sessions.vision.release(), sessions.embed.release(), sessions.decoder.release()]);
}
