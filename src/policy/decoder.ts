/**
 * The decoder session and the greedy generation loop: prefill the cache with the bidirectional prefix (and,
 * in openpi's layout, the forced `"Action: "` tokens) in one run, then one cached step per token, each choosing
 * the best logit among the tokens the grammar allows (in LeRobot's layout the model generates `"Action: "` first).
 */
import * as ort from "onnxruntime-node";
import type { ActionGrammar, GrammarState } from "./grammar.js";
import { KvCache, type KeyCacheLayout } from "./kv-cache.js";
import type { Manifest } from "./manifest.js";

/** Embedding rows in the model's element type: float32, or float16 bits. */
export type EmbeddingArray = Float32Array | Uint16Array;

/** Attention group of the prefix (bidirectional); suffix tokens take 2, 3, … (causal). */
export const PREFIX_GROUP = 1;

export interface DecoderRun {
  /** Logits of every new position, row-major `[sequenceLength, logitCount]`. */
  logits: Float32Array;
  cache: KvCache;
  runMs: number;
}

export class Decoder {
  readonly width: number;
  readonly logitCount: number;
  readonly dtype: Manifest["dtype"];
  private readonly layers: number;
  private readonly kvHeads: number;
  private readonly headDim: number;
  private readonly keyLayout: KeyCacheLayout;

  constructor(
    readonly session: ort.InferenceSession,
    manifest: Manifest,
  ) {
    this.width = manifest.decoder.hidden_size;
    this.logitCount = manifest.logit_token_ids.length;
    this.dtype = manifest.dtype;
    this.layers = manifest.decoder.num_layers;
    this.kvHeads = manifest.decoder.num_key_value_heads;
    this.headDim = manifest.decoder.head_dim;
    this.keyLayout = manifest.key_cache_layout;
  }

  emptyCache(): KvCache {
    return KvCache.empty(this.layers, this.kvHeads, this.headDim, this.dtype, this.keyLayout);
  }

  /**
   * Runs `embeds` (`sequenceLength` new positions) after `cache`. `groups` holds the attention group of every
   * position, past and new (`cache.length + sequenceLength` values); positions continue from the cache.
   */
  async run(embeds: EmbeddingArray, groups: BigInt64Array, cache: KvCache): Promise<DecoderRun> {
    const sequenceLength = embeds.length / this.width;
    const total = cache.length + sequenceLength;
    if (groups.length !== total) throw new Error(`attention groups: ${groups.length} values for ${total} positions (${embeds.length} embeds, cache ${cache.length})`);
    const positions = new BigInt64Array(sequenceLength);
    for (let i = 0; i < sequenceLength; i++) positions[i] = BigInt(cache.length + i);
    const feeds: Record<string, ort.Tensor> = {
      inputs_embeds: new ort.Tensor(this.dtype, embeds, [1, sequenceLength, this.width]),
      attention_mask: new ort.Tensor("int64", groups, [1, total]),
      position_ids: new ort.Tensor("int64", positions, [1, sequenceLength]),
      ...cache.tensors,
    };
    const start = performance.now();
    const outputs = await this.session.run(feeds);
    const runMs = performance.now() - start;
    return { logits: outputs.logits!.data as Float32Array, cache: KvCache.fromPresent(outputs, this.layers), runMs };
  }
}

/** What each logit index stands for. */
export interface LogitVocabulary {
  /** FAST id of each logit index, -1 for `"|"`/EOS/others. */
  fastIdOfLogit: Int32Array;
  /** Logit index of each FAST id. */
  logitOfFastId: Int32Array;
  pipeIndex: number;
  /** -1 when the logits do not cover EOS. */
  eosIndex: number;
}

export interface GenerateOptions {
  vocabulary: LogitVocabulary;
  /** Embeddings of the logit tokens, `[logitCount, width]`, for feeding a chosen token back. */
  tokenEmbeddings: EmbeddingArray;
  /** Most decoding steps, the final `"|"` included. */
  maxSteps: number;
  /** Without a grammar the plain argmax runs until `"|"`, EOS or `maxSteps`. */
  grammar?: ActionGrammar;
  /**
   * Logit indices the model generates before the action tokens (LeRobot's `"Action: "`); with a grammar they are
   * the only tokens allowed at their steps, which count against `maxSteps`.
   */
  leadingLogits?: readonly number[];
}

export type GenerationEnd = "pipe" | "eos" | "max_steps";

export interface Generation {
  /** The action tokens, as FAST ids (`"|"`, EOS and the leading tokens left out). */
  fastIds: number[];
  /** Every generated token as its logit index, the final `"|"` or EOS included. */
  logitIndices: number[];
  /** The logits of the prefill's last position (what chose the first generated token). */
  prefillLogits: Float32Array;
  end: GenerationEnd;
  prefillMs: number;
  /** Wall time of each cached decode step (the one that produced `"|"` has no run). */
  stepMs: number[];
  /** Time inside `session.run`, all runs. */
  sessionRunMs: number;
}

/**
 * Greedy decoding: prefill `prefix` (bidirectional) and `suffix` (the forced `"Action: "` tokens, causal; empty
 * in LeRobot's layout) in one run, then one cached step per generated token.
 */
export async function generate(decoder: Decoder, prefix: EmbeddingArray, suffix: EmbeddingArray, options: GenerateOptions): Promise<Generation> {
  const width = decoder.width;
  const prefixLength = prefix.length / width;
  const suffixLength = suffix.length / width;
  const groups = new BigInt64Array(prefixLength + suffixLength + options.maxSteps);
  groups.fill(BigInt(PREFIX_GROUP), 0, prefixLength);
  for (let i = 0; i < groups.length - prefixLength; i++) groups[prefixLength + i] = BigInt(PREFIX_GROUP + 1 + i);

  const input = new (prefix.constructor as { new (length: number): EmbeddingArray })(prefix.length + suffix.length);
  input.set(prefix);
  input.set(suffix, prefix.length);
  const prefillStart = performance.now();
  let run = await decoder.run(input, groups.subarray(0, prefixLength + suffixLength), decoder.emptyCache());
  const prefillMs = performance.now() - prefillStart;
  let sessionRunMs = run.runMs;
  let cache = run.cache;
  let lastLogits = run.logits.subarray(run.logits.length - decoder.logitCount);
  const prefillLogits = lastLogits.slice();

  const { vocabulary, tokenEmbeddings, grammar } = options;
  const leading = options.leadingLogits ?? [];
  let state: GrammarState | undefined = grammar?.start(options.maxSteps - leading.length);
  const fastIds: number[] = [];
  const logitIndices: number[] = [];
  const stepMs: number[] = [];
  let end: GenerationEnd = "max_steps";
  try {
    for (let step = 0; step < options.maxSteps; step++) {
      const stepStart = performance.now();
      const choice = grammar !== undefined && step < leading.length ? leading[step]! : chooseToken(lastLogits.subarray(0, decoder.logitCount), vocabulary, grammar, state);
      if (choice < 0) break;
      logitIndices.push(choice);
      if (choice === vocabulary.pipeIndex || choice === vocabulary.eosIndex) {
        end = choice === vocabulary.eosIndex ? "eos" : "pipe";
        break;
      }
      const fastId = vocabulary.fastIdOfLogit[choice]!;
      if (fastId >= 0) fastIds.push(fastId);
      if (grammar !== undefined && fastId >= 0) state = grammar.advance(state!, fastId);
      if (step === options.maxSteps - 1) break;
      const embedding = tokenEmbeddings.subarray(choice * width, (choice + 1) * width);
      const total = cache.length + 1;
      run = await decoder.run(embedding, groups.subarray(0, total), cache);
      cache.dispose();
      cache = run.cache;
      sessionRunMs += run.runMs;
      lastLogits = run.logits;
      stepMs.push(performance.now() - stepStart);
    }
  } finally {
    cache.dispose();
  }
  return { fastIds, logitIndices, prefillLogits, end, prefillMs, stepMs, sessionRunMs };
}

/** Index of the largest allowed logit; -1 when nothing is allowed (a grammar never gets there). */
export function chooseToken(logits: Float32Array, vocabulary: LogitVocabulary, grammar: ActionGrammar | undefined, state: GrammarState | undefined): number {
  let best = -1;
  let bestValue = -Infinity;
  for (let i = 0; i < logits.length; i++) {
    const value = logits[i]!;
    if (!(value > bestValue)) continue;
    if (grammar !== undefined) {
      const fastId = vocabulary.fastIdOfLogit[i]!;
      const allowed = fastId >= 0 ? grammar.allows(state!, fastId) : i === vocabulary.pipeIndex && grammar.allowsEnd(state!);
      if (!allowed) continue;
    }
    best = i;
    bestValue = value;
  }
  return best;
}
