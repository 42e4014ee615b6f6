/**
 * Chunks from a LeRobot v3.0 dataset on disk (reads parquet; the chunk arithmetic is in ./chunks.ts).
 * Shared by `train-tokenizer` and `check-tokenizer`, so both see the data the same way.
 */
import { featureWidth, readEpisodes, type LeRobotDataset } from "../dataset/read.js";
import { InputError } from "../errors.js";
import { chunkSpec, sampleWindows, windowChunk, type ChunkSpec } from "./chunks.js";
import { seededRandom } from "../random.js";
import type { NormalizationMode } from "./normalize.js";

export interface DatasetChunkOptions {
  horizon: number;
  encodedDims: number[];
  deltaDims: number[];
  stateKey: string;
  mode: NormalizationMode;
  /** Per-dataset-dim action stats; defaults to meta/stats.json's `action`. */
  actionStats?: Record<string, number[]>;
  /** Fraction of each episode's windows to keep (1 = all). */
  sampleFraction: number;
  seed: number;
  /** Episode indices to read; all when undefined. */
  episodes?: number[];
  onEpisode?: (done: number, total: number) => void;
}

export interface DatasetChunks {
  spec: ChunkSpec;
  chunks: Float64Array[];
  /** The same chunks in dataset units (encoded dims, delta applied, not normalized). */
  raw: Float64Array[];
  /** Where each chunk starts: episode index and frame index within the episode. */
  origins: { episode: number; frame: number }[];
  episodesRead: number;
}

export async function datasetChunks(dataset: LeRobotDataset, options: DatasetChunkOptions): Promise<DatasetChunks> {
  const actionWidth = featureWidth(dataset, "action");
  const actionStats = options.actionStats ?? dataset.stats?.action;
  if (actionStats === undefined && options.mode !== "IDENTITY") {
    throw new InputError(`${dataset.root}: meta/stats.json has no 'action' stats, which --normalization-mode ${options.mode.toLowerCase()} needs; use --normalization-mode identity or add the stats`);
  }
  let spec: ChunkSpec;
  try {
    spec = chunkSpec({ horizon: options.horizon, actionWidth, encodedDims: options.encodedDims, deltaDims: options.deltaDims, mode: options.mode, actionStats });
  } catch (error) {
    throw new InputError(`--encoded-dims/--delta-dims/--normalization-mode: ${(error as Error).message}`);
  }
  const useState = options.deltaDims.length > 0;
  const stateWidth = useState ? featureWidth(dataset, options.stateKey) : actionWidth;
  if (useState && options.deltaDims.some((dim) => dim >= stateWidth)) {
    throw new InputError(`--delta-dims: ${options.deltaDims.join(",")} reaches past '${options.stateKey}' (${stateWidth} dims)`);
  }
  const keys = useState ? ["action", options.stateKey] : ["action"];
  const chunks: Float64Array[] = [];
  const raw: Float64Array[] = [];
  const origins: { episode: number; frame: number }[] = [];
  const total = options.episodes?.length ?? dataset.episodes.length;
  let episodesRead = 0;
  for await (const { episode, features } of readEpisodes(dataset, keys, options.episodes)) {
    const actions = features.action!;
    const states = useState ? features[options.stateKey] : undefined;
    // One generator per episode, so an episode's sample does not depend on which episodes precede it.
    const random = seededRandom(options.seed * 1_000_003 + episode.episodeIndex);
    for (const start of sampleWindows(episode.length, options.horizon, options.sampleFraction, random)) {
      const window = windowChunk(actions, states, start, spec, stateWidth);
      chunks.push(window.chunk);
      raw.push(window.raw);
      origins.push({ episode: episode.episodeIndex, frame: start });
    }
    episodesRead++;
    options.onEpisode?.(episodesRead, total);
  }
  return { spec, chunks, raw, origins, episodesRead };
}
