/** The FAST action tokenizer: public surface for the policy runtime and the data pipeline. */
export { FastTokenizer, type FastConfig, type DecodeResult, type DecodeStatus, type EncodeResult } from "./tokenizer.js";
export { trainFastTokenizer, FastTrainingError, type TrainFastOptions, type TrainedFast } from "./train.js";
export { BpeModel, type BpeMerge } from "./bpe.js";
export { trainBpe, type BpeTrainerOptions } from "./bpe-trainer.js";
export { dctOrtho, idctOrtho, dctBasis } from "./dct.js";
export { roundHalfEven, coefficientsToCodePoints } from "./quantize.js";
export { NORMALIZATION_MODES, type NormalizationMode, type FeatureStats } from "./normalize.js";
export { reconstructionReport, type ReconstructionReport } from "./check.js";
export { loadFastArtifact, writeFastArtifact, type FastArtifact, type FastMetadata, type CompressionStats } from "./artifact.js";
