/** The Pi0-FAST policy runtime: model contract, sessions, KV cache, prompt, constrained decoding. */
export { Pi0FastPolicy, DEFAULT_MAX_DECODE_STEPS, logitVocabulary, type PolicyImage, type PolicyInput, type PolicyOptions, type PolicyResult, type StageTimings } from "./policy.js";
export { readManifest, manifestSchema, MANIFEST_FILE, MODEL_FILES, fastIdToVocabId, vocabIdToFastId, type Manifest, type PolicyUnit } from "./manifest.js";
export { createSessions, checkModelFiles, cudaUnavailableReason, PROVIDERS, DEFAULT_PROVIDERS, type ProviderName, type ModelSessions, type SessionOptions } from "./sessions.js";
export { Decoder, generate, chooseToken, PREFIX_GROUP, type EmbeddingArray, type Generation, type GenerationEnd, type LogitVocabulary } from "./decoder.js";
export { KvCache } from "./kv-cache.js";
export { ActionGrammar, type GrammarState } from "./grammar.js";
export { cleanTask, digitizeState, promptText, PromptTokenizer, type TaskCleaning } from "./prompt.js";
export { makeTestModel, PRESETS, PRESET_NAMES, type PresetName, type MakeTestModelOptions } from "./test-model.js";
