/**
 * Writes a LeRobot v3.0 dataset: data/chunk-000/file-000.parquet (all episodes), one AV1 video per camera
 * with the episodes back to back, meta/info.json, meta/stats.json, meta/tasks.parquet and
 * meta/episodes/chunk-000/file-000.parquet. Everything goes into a staged output (src/output-dir.ts) moved
 * into place only when complete, so a failed run never leaves something that looks like a dataset.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { InputError } from "../errors.js";
import { StagedOutput } from "../output-dir.js";
import { pandasTaskIndexMetadata, writeParquet, type Column } from "./parquet.js";
import { ImageStatsAccumulator, nestImageStats, scalarStats, vectorStats, QUANTILE_KEYS, type FeatureStats } from "./stats.js";
import { storedVideoSize, VideoEncoder } from "./video.js";

export interface CameraFeature {
  key: string;
  /** The image topic, for messages. */
  topic: string;
  /** Size of the frames given to `addFrame` (the video may store them scaled up; see ./video.ts). */
  width: number;
  height: number;
}

/** "camera front (/camera/front/image_raw)". */
export function cameraLabel(camera: { key: string; topic: string }): string {
  return `camera ${camera.key} (${camera.topic})`;
}

export interface DatasetLayout {
  outDir: string;
  fps: number;
  robotType: string;
  stateNames: string[];
  actionNames: string[];
  cameras: CameraFeature[];
  video: { preset: number; crf: number; gop: number };
  /** Replace an existing non-empty `outDir`. */
  overwrite?: boolean;
}

interface EpisodeRecord {
  index: number;
  length: number;
  fromIndex: number;
  tasks: string[];
  stats: Record<string, FeatureStats>;
  imageStats: Record<string, ImageStatsAccumulator>;
}

/** Frames sampled per episode for image stats (LeRobot samples about 100). */
const IMAGE_STATS_SAMPLES = 100;

export const DATA_PATH = "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet";
export const VIDEO_PATH = "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4";

export class LeRobotDatasetWriter {
  readonly layout: DatasetLayout;
  readonly #output: StagedOutput;
  readonly #encoders = new Map<string, VideoEncoder>();
  readonly #state: Float32Array[] = [];
  readonly #action: Float32Array[] = [];
  readonly #timestamp: number[] = [];
  readonly #frameIndex: number[] = [];
  readonly #episodeIndex: number[] = [];
  readonly #taskIndex: number[] = [];
  readonly #tasks = new Map<string, number>();
  readonly #episodes: EpisodeRecord[] = [];
  #episodeFrames = 0;
  #episodeImageStats: Record<string, ImageStatsAccumulator> = {};
  #episodeTaskTexts: (string | undefined)[] = [];
  #imageStride = 1;

  constructor(layout: DatasetLayout) {
    this.layout = layout;
    this.#output = StagedOutput.begin(layout.outDir, { overwrite: layout.overwrite ?? false, label: `--out ${layout.outDir}` });
    try {
      const root = this.#output.path;
      mkdirSync(path.join(root, "meta/episodes/chunk-000"), { recursive: true });
      mkdirSync(path.join(root, "data/chunk-000"), { recursive: true });
      for (const camera of layout.cameras) {
        const dir = path.join(root, `videos/observation.images.${camera.key}/chunk-000`);
        mkdirSync(dir, { recursive: true });
        this.#encoders.set(
          camera.key,
          new VideoEncoder({ file: path.join(dir, "file-000.mp4"), label: cameraLabel(camera), width: camera.width, height: camera.height, fps: layout.fps, ...layout.video }),
        );
      }
    } catch (error) {
      this.abort();
      throw error;
    }
  }

  get totalFrames(): number {
    return this.#state.length;
  }

  get episodeCount(): number {
    return this.#episodes.length;
  }

  /** `expectedFrames` (when known) spreads the image-stats samples over the episode. */
  beginEpisode(expectedFrames?: number): void {
    this.#episodeFrames = 0;
    this.#episodeTaskTexts = [];
    this.#episodeImageStats = Object.fromEntries(this.layout.cameras.map((camera) => [camera.key, new ImageStatsAccumulator()]));
    this.#imageStride = expectedFrames === undefined ? 3 : Math.max(1, Math.floor(expectedFrames / IMAGE_STATS_SAMPLES));
  }

  /** Appends one frame; `task` may be undefined until the episode's first task is known. */
  async addFrame(state: Float32Array, action: Float32Array, images: Map<string, Uint8Array>, task: string | undefined): Promise<void> {
    for (const camera of this.layout.cameras) {
      const rgb = images.get(camera.key);
      if (rgb === undefined) throw new Error(`frame without camera ${camera.key}`);
      if (this.#episodeFrames % this.#imageStride === 0) this.#episodeImageStats[camera.key]!.add(rgb);
      await this.#encoders.get(camera.key)!.write(rgb);
    }
    this.#state.push(state);
    this.#action.push(action);
    this.#timestamp.push(this.#episodeFrames / this.layout.fps);
    this.#frameIndex.push(this.#episodeFrames);
    this.#episodeIndex.push(this.#episodes.length);
    this.#episodeTaskTexts.push(task);
    this.#episodeFrames += 1;
  }

  /** Closes the episode (frames before the first known task take the first task); returns it, if it has frames. */
  endEpisode(where: string): { index: number; length: number; tasks: string[] } | undefined {
    if (this.#episodeFrames === 0) return undefined;
    const first = this.#episodeTaskTexts.find((task) => task !== undefined);
    if (first === undefined) throw new InputError(`${where}: no task text reached this episode; publish the task topic before or during it, or use task: {constant: …}`);
    const texts = this.#episodeTaskTexts.map((task) => task ?? first);
    for (const text of texts) {
      if (!this.#tasks.has(text)) this.#tasks.set(text, this.#tasks.size);
      this.#taskIndex.push(this.#tasks.get(text)!);
    }
    const fromIndex = this.#state.length - this.#episodeFrames;
    const slice = <T>(values: T[]): T[] => values.slice(fromIndex);
    this.#episodes.push({
      index: this.#episodes.length,
      length: this.#episodeFrames,
      fromIndex,
      tasks: [...new Set(texts)],
      stats: this.#featureStats(slice(this.#state), slice(this.#action), slice(this.#timestamp), slice(this.#frameIndex), slice(this.#episodeIndex), fromIndex, slice(this.#taskIndex)),
      imageStats: this.#episodeImageStats,
    });
    const episode = this.#episodes[this.#episodes.length - 1]!;
    return { index: episode.index, length: episode.length, tasks: episode.tasks };
  }

  #featureStats(state: Float32Array[], action: Float32Array[], timestamp: number[], frameIndex: number[], episodeIndex: number[], fromIndex: number, taskIndex: number[]): Record<string, FeatureStats> {
    return {
      "observation.state": vectorStats(state, this.layout.stateNames.length),
      action: vectorStats(action, this.layout.actionNames.length),
      timestamp: scalarStats(timestamp),
      frame_index: scalarStats(frameIndex),
      episode_index: scalarStats(episodeIndex),
      index: scalarStats(frameIndex.map((_, i) => fromIndex + i)),
      task_index: scalarStats(taskIndex),
    };
  }

  /** Writes parquet and metadata, finishes the videos and moves the dataset into place. */
  async finish(): Promise<void> {
    if (this.#episodes.length === 0) throw new InputError(`${this.layout.outDir}: no episode produced any frame; nothing to write`);
    for (const encoder of this.#encoders.values()) await encoder.finish();
    const root = this.#output.path;
    const total = this.#state.length;
    const { fps, cameras } = this.layout;
    const cameraFeatures = cameras.map((camera) => `observation.images.${camera.key}`);
    const hfFeatures = {
      "observation.state": { feature: { dtype: "float32", _type: "Value" }, length: this.layout.stateNames.length, _type: "List" },
      action: { feature: { dtype: "float32", _type: "Value" }, length: this.layout.actionNames.length, _type: "List" },
      timestamp: { dtype: "float32", _type: "Value" },
      frame_index: { dtype: "int64", _type: "Value" },
      episode_index: { dtype: "int64", _type: "Value" },
      index: { dtype: "int64", _type: "Value" },
      task_index: { dtype: "int64", _type: "Value" },
    };
    writeParquet(
      path.join(root, "data/chunk-000/file-000.parquet"),
      [
        { name: "observation.state", kind: "float32_list", data: this.#state },
        { name: "action", kind: "float32_list", data: this.#action },
        { name: "timestamp", kind: "float32", data: this.#timestamp },
        { name: "frame_index", kind: "int64", data: this.#frameIndex },
        { name: "episode_index", kind: "int64", data: this.#episodeIndex },
        { name: "index", kind: "int64", data: this.#state.map((_, i) => i) },
        { name: "task_index", kind: "int64", data: this.#taskIndex },
      ],
      { huggingface: JSON.stringify({ info: { features: hfFeatures } }) },
    );
    const taskTexts = [...this.#tasks.keys()];
    writeParquet(
      path.join(root, "meta/tasks.parquet"),
      [
        { name: "task_index", kind: "int64", data: taskTexts.map((_, i) => i) },
        { name: "__index_level_0__", kind: "string", data: taskTexts },
      ],
      { pandas: pandasTaskIndexMetadata() },
    );
    this.#writeEpisodes(root, cameraFeatures);
    const globalStats = this.#featureStats(this.#state, this.#action, this.#timestamp, this.#frameIndex, this.#episodeIndex, 0, this.#taskIndex);
    const stats: Record<string, unknown> = { ...globalStats };
    cameras.forEach((camera, i) => {
      const merged = new ImageStatsAccumulator();
      for (const episode of this.#episodes) merged.merge(episode.imageStats[camera.key]!);
      stats[cameraFeatures[i]!] = nestImageStats(merged.stats());
    });
    writeFileSync(path.join(root, "meta/stats.json"), `${JSON.stringify(stats, null, 4)}\n`);
    writeFileSync(path.join(root, "meta/info.json"), `${JSON.stringify(this.#info(total, taskTexts.length), null, 4)}\n`);
    this.#output.commit();
  }

  #writeEpisodes(root: string, cameraFeatures: string[]): void {
    const episodes = this.#episodes;
    const columns: Column[] = [
      { name: "episode_index", kind: "int64", data: episodes.map((e) => e.index) },
      { name: "tasks", kind: "string_list", data: episodes.map((e) => e.tasks) },
      { name: "length", kind: "int64", data: episodes.map((e) => e.length) },
      { name: "data/chunk_index", kind: "int64", data: episodes.map(() => 0) },
      { name: "data/file_index", kind: "int64", data: episodes.map(() => 0) },
      { name: "dataset_from_index", kind: "int64", data: episodes.map((e) => e.fromIndex) },
      { name: "dataset_to_index", kind: "int64", data: episodes.map((e) => e.fromIndex + e.length) },
    ];
    for (const feature of cameraFeatures) {
      columns.push(
        { name: `videos/${feature}/chunk_index`, kind: "int64", data: episodes.map(() => 0) },
        { name: `videos/${feature}/file_index`, kind: "int64", data: episodes.map(() => 0) },
        { name: `videos/${feature}/from_timestamp`, kind: "float64", data: episodes.map((e) => e.fromIndex / this.layout.fps) },
        { name: `videos/${feature}/to_timestamp`, kind: "float64", data: episodes.map((e) => (e.fromIndex + e.length) / this.layout.fps) },
      );
    }
    const statKeys = ["min", "max", "mean", "std", "count", ...QUANTILE_KEYS] as const;
    // integer features keep integer min/max, as LeRobot writes them
    const addStats = (feature: string, pick: (e: EpisodeRecord) => FeatureStats, image: boolean, integer = false): void => {
      for (const key of statKeys) {
        const kind = key === "count" || (integer && (key === "min" || key === "max")) ? "int64_list" : image ? "float64_list3" : "float64_list";
        const values = episodes.map((e) => {
          const stats = pick(e);
          return key === "count" || !image ? stats[key] : stats[key].map((v) => [[v]]);
        });
        columns.push({ name: `stats/${feature}/${key}`, kind, data: values });
      }
    };
    addStats("observation.state", (e) => e.stats["observation.state"]!, false);
    addStats("action", (e) => e.stats.action!, false);
    this.layout.cameras.forEach((camera, i) => addStats(cameraFeatures[i]!, (e) => e.imageStats[camera.key]!.stats(), true));
    for (const feature of ["timestamp", "frame_index", "episode_index", "index", "task_index"]) addStats(feature, (e) => e.stats[feature]!, false, feature !== "timestamp");
    columns.push(
      { name: "meta/episodes/chunk_index", kind: "int64", data: episodes.map(() => 0) },
      { name: "meta/episodes/file_index", kind: "int64", data: episodes.map(() => 0) },
    );
    writeParquet(path.join(root, "meta/episodes/chunk-000/file-000.parquet"), columns);
  }

  #info(totalFrames: number, totalTasks: number): unknown {
    const { fps } = this.layout;
    const features: Record<string, unknown> = {
      "observation.state": { dtype: "float32", shape: [this.layout.stateNames.length], names: this.layout.stateNames },
      action: { dtype: "float32", shape: [this.layout.actionNames.length], names: this.layout.actionNames },
    };
    for (const camera of this.layout.cameras) {
      // the size a decoder returns, which is what LeRobot reads the frames at
      const stored = storedVideoSize(camera.width, camera.height);
      features[`observation.images.${camera.key}`] = {
        dtype: "video",
        shape: [stored.height, stored.width, 3],
        names: ["height", "width", "channels"],
        info: {
          "video.height": stored.height,
          "video.width": stored.width,
          "video.codec": "av1",
          "video.pix_fmt": "yuv420p",
          "video.is_depth_map": false,
          "video.fps": fps,
          "video.channels": 3,
          has_audio: false,
        },
      };
    }
    for (const [name, dtype] of [["timestamp", "float32"], ["frame_index", "int64"], ["episode_index", "int64"], ["index", "int64"], ["task_index", "int64"]] as const) {
      features[name] = { dtype, shape: [1], names: null };
    }
    return {
      codebase_version: "v3.0",
      robot_type: this.layout.robotType,
      total_episodes: this.#episodes.length,
      total_frames: totalFrames,
      total_tasks: totalTasks,
      chunks_size: 1000,
      data_files_size_in_mb: 100,
      video_files_size_in_mb: 500,
      fps,
      splits: { train: `0:${this.#episodes.length}` },
      data_path: DATA_PATH,
      video_path: this.layout.cameras.length > 0 ? VIDEO_PATH : null,
      features,
    };
  }

  /** Stops the encoders and deletes the staged dataset (synchronous, so a signal handler may call it). */
  abort(): void {
    for (const encoder of this.#encoders.values()) encoder.abort();
    this.#output.discard();
  }
}
