/**
 * Reading a LeRobot v3.0 dataset from disk: `meta/info.json`, `meta/stats.json`, the episodes table
 * (the parquet files under `meta/episodes/`) and, per episode, numeric feature columns (`action`,
 * `observation.state`) from the data parquet files. Episodes are read one data file at a time, so memory
 * follows the largest data file, not the dataset.
 */
import { existsSync, readdirSync } from "node:fs";
import { readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parquetReadObjects } from "hyparquet";
import { InputError } from "../errors.js";

export interface FeatureInfo {
  dtype: string;
  shape: number[];
  names?: unknown;
}

export interface DatasetInfo {
  codebase_version: string;
  robot_type?: string | null;
  fps: number;
  total_episodes: number;
  total_frames: number;
  data_path: string;
  features: Record<string, FeatureInfo>;
}

/** One row of the episodes table. */
export interface EpisodeInfo {
  episodeIndex: number;
  length: number;
  dataChunkIndex: number;
  dataFileIndex: number;
  /** Global frame index range [from, to). */
  fromIndex: number;
  toIndex: number;
}

/** meta/stats.json: per feature, per statistic, a flat list of per-dimension values. */
export type DatasetStats = Record<string, Record<string, number[]>>;

export interface LeRobotDataset {
  root: string;
  info: DatasetInfo;
  stats: DatasetStats | undefined;
  episodes: EpisodeInfo[];
}

/** Where LeRobot keeps `user/name` datasets: `$HF_LEROBOT_HOME/<repo_id>`, by default under ~/.cache/huggingface/lerobot. */
export function resolveRepoId(repoId: string, env: NodeJS.ProcessEnv = process.env): string {
  if (!/^[\w.-]+\/[\w.-]+$/.test(repoId)) throw new InputError(`--repo-id ${JSON.stringify(repoId)}: expected <user>/<name>`);
  const home = env.HF_LEROBOT_HOME ?? path.join(env.HF_HOME ?? path.join(os.homedir(), ".cache", "huggingface"), "lerobot");
  return path.join(home, repoId);
}

async function readJsonFile(file: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw new InputError(`${file}: missing; expected ${what}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InputError(`${file}: not valid JSON (${(error as Error).message})`);
  }
}

async function readParquet(file: string, columns?: string[]): Promise<Record<string, unknown>[]> {
  const buffer = await readFile(file);
  const arrayBuffer = buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength) as ArrayBuffer;
  try {
    return await parquetReadObjects({ file: arrayBuffer, ...(columns ? { columns } : {}) });
  } catch (error) {
    throw new InputError(`${file}: cannot read it as parquet (${(error as Error).message})`);
  }
}

function toNumber(value: unknown, file: string, field: string): number {
  const number = typeof value === "bigint" ? Number(value) : value;
  if (typeof number !== "number" || !Number.isFinite(number)) throw new InputError(`${file}: column '${field}' holds ${String(value)}, expected a number`);
  return number;
}

function parquetFilesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) files.push(...parquetFilesUnder(full));
    else if (entry.name.endsWith(".parquet")) files.push(full);
  }
  return files;
}

/** Opens a dataset folder: validates info.json, reads stats.json (if present) and the episodes table. */
export async function openLeRobotDataset(root: string): Promise<LeRobotDataset> {
  if (!existsSync(root)) throw new InputError(`--dataset ${root}: no such folder; expected a LeRobot v3.0 dataset (meta/info.json, data/, meta/episodes/)`);
  const infoFile = path.join(root, "meta", "info.json");
  const info = (await readJsonFile(infoFile, "a LeRobot dataset's info.json")) as Partial<DatasetInfo>;
  if (info.codebase_version !== "v3.0") {
    throw new InputError(`${infoFile}: codebase_version is ${JSON.stringify(info.codebase_version)}, expected "v3.0" (convert older datasets with LeRobot's v2.1 → v3.0 converter)`);
  }
  if (typeof info.data_path !== "string") throw new InputError(`${infoFile}: field 'data_path' is missing, expected a path template`);
  if (typeof info.features !== "object" || info.features === null) throw new InputError(`${infoFile}: field 'features' is missing`);
  if (typeof info.fps !== "number") throw new InputError(`${infoFile}: field 'fps' is missing, expected a number`);

  const statsFile = path.join(root, "meta", "stats.json");
  const stats = existsSync(statsFile) ? ((await readJsonFile(statsFile, "dataset statistics")) as DatasetStats) : undefined;

  const episodeFiles = parquetFilesUnder(path.join(root, "meta", "episodes"));
  if (episodeFiles.length === 0) throw new InputError(`${path.join(root, "meta", "episodes")}: no episode parquet files; expected meta/episodes/chunk-000/file-000.parquet`);
  const columns = ["episode_index", "length", "data/chunk_index", "data/file_index", "dataset_from_index", "dataset_to_index"];
  const episodes: EpisodeInfo[] = [];
  for (const file of episodeFiles) {
    for (const row of await readParquet(file, columns)) {
      const get = (field: string) => toNumber(row[field], file, field);
      episodes.push({
        episodeIndex: get("episode_index"),
        length: get("length"),
        dataChunkIndex: get("data/chunk_index"),
        dataFileIndex: get("data/file_index"),
        fromIndex: get("dataset_from_index"),
        toIndex: get("dataset_to_index"),
      });
    }
  }
  episodes.sort((a, b) => a.episodeIndex - b.episodeIndex);
  return { root, info: info as DatasetInfo, stats, episodes };
}

/** The per-frame width of a numeric feature (e.g. 6 for an SO-101 `action`). */
export function featureWidth(dataset: LeRobotDataset, key: string): number {
  const feature = dataset.info.features[key];
  if (feature === undefined) {
    throw new InputError(`${path.join(dataset.root, "meta", "info.json")}: no feature '${key}'; features are ${Object.keys(dataset.info.features).join(", ")}`);
  }
  return feature.shape.reduce((a, b) => a * b, 1);
}

/** One episode's frames of the asked features, each row-major `[length, width]`. */
export interface EpisodeFrames {
  episode: EpisodeInfo;
  features: Record<string, Float64Array>;
}

function dataFile(dataset: LeRobotDataset, episode: EpisodeInfo): string {
  const relative = dataset.info.data_path.replace(/\{(\w+)(?::0?(\d+)d)?\}/g, (_, name: string, width: string | undefined) => {
    const value = name === "chunk_index" ? episode.dataChunkIndex : name === "file_index" ? episode.dataFileIndex : name === "episode_chunk" ? episode.dataChunkIndex : undefined;
    if (value === undefined) throw new InputError(`${path.join(dataset.root, "meta", "info.json")}: data_path uses '{${name}}', expected chunk_index and file_index`);
    return width ? String(value).padStart(Number(width), "0") : String(value);
  });
  return path.join(dataset.root, relative);
}

/**
 * Reads episodes in order (all, or those listed), yielding the asked numeric features per episode.
 * Each data file is read once for all the episodes it holds.
 */
export async function* readEpisodes(dataset: LeRobotDataset, keys: string[], episodeIndices?: number[]): AsyncGenerator<EpisodeFrames> {
  const widths = keys.map((key) => featureWidth(dataset, key));
  const wanted = episodeIndices === undefined ? dataset.episodes : episodeIndices.map((index) => {
    const episode = dataset.episodes.find((e) => e.episodeIndex === index);
    if (episode === undefined) throw new InputError(`episode ${index}: not in ${dataset.root} (episodes ${dataset.episodes[0]?.episodeIndex}..${dataset.episodes.at(-1)?.episodeIndex})`);
    return episode;
  });
  let cachedFile: string | undefined;
  let cachedRows: Record<string, unknown>[] = [];
  for (const episode of wanted) {
    const file = dataFile(dataset, episode);
    if (file !== cachedFile) {
      if (!existsSync(file)) throw new InputError(`${file}: missing; meta/episodes names it for episode ${episode.episodeIndex}`);
      cachedRows = await readParquet(file, ["index", "episode_index", "frame_index", ...keys]);
      cachedFile = file;
    }
    const rows = cachedRows.filter((row) => toNumber(row.episode_index, file, "episode_index") === episode.episodeIndex);
    rows.sort((a, b) => toNumber(a.frame_index, file, "frame_index") - toNumber(b.frame_index, file, "frame_index"));
    if (rows.length !== episode.length) {
      throw new InputError(`${file}: episode ${episode.episodeIndex} has ${rows.length} frames, meta/episodes says ${episode.length}`);
    }
    const features: Record<string, Float64Array> = {};
    keys.forEach((key, k) => {
      const width = widths[k]!;
      const values = new Float64Array(rows.length * width);
      rows.forEach((row, r) => {
        const cell = row[key];
        const list = Array.isArray(cell) || ArrayBuffer.isView(cell) ? (cell as ArrayLike<unknown>) : [cell];
        if (list.length !== width) throw new InputError(`${file}: '${key}' of frame ${r} in episode ${episode.episodeIndex} has ${list.length} values, expected ${width}`);
        for (let d = 0; d < width; d++) values[r * width + d] = toNumber(list[d], file, key);
      });
      features[key] = values;
    });
    yield { episode, features };
  }
}
