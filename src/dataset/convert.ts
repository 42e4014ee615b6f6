/**
 * bag(s) → LeRobot v3.0 dataset. One streaming pass per bag: every mapped topic feeds a resampler, frames
 * on the fps clock are emitted as soon as every stream can answer them, and camera frames go straight to
 * ffmpeg. Memory holds a few frames per camera and the (small) numeric columns, whatever the bag size.
 */
import { realpathSync } from "node:fs";
import { InputError } from "../errors.js";
import { stampText } from "../msgs/messages.js";
import { BagReader, type BagMessage } from "../bag/reader.js";
import { BadImageError, imageMessageToRgb, resizeRgb, type RgbImage } from "../observation/image.js";
import { jointPositionsToState } from "../observation/state.js";
import type { Calibration } from "../so100/calibration.js";
import { cameraLabel, LeRobotDatasetWriter, type CameraFeature } from "./lerobot-writer.js";
import { checkVideoSize, unitOf, type JointsMapping, type LoadedMapping } from "./mapping.js";
import { frameTimeNs, StreamResampler } from "./resample.js";

export type BadFramePolicy = "skip" | "fail";

export interface ConvertOptions {
  bags: string[];
  mapping: LoadedMapping;
  outDir: string;
  onBadFrame: BadFramePolicy;
  /** Replace an existing non-empty `outDir` (see src/output-dir.ts). */
  overwrite?: boolean;
  /** Aborting stops at once: ffmpeg killed, the staged dataset deleted (synchronously, in the abort). */
  signal?: AbortSignal;
  /** Progress: messages read so far out of the mapped topics' total. */
  onProgress?: (read: number, total: number) => void;
  /** Called as each episode is complete. */
  onEpisode?: (episode: EpisodeSummary) => void;
  /** Non-fatal notes (skipped frames, a bag given twice). */
  onWarning?: (message: string) => void;
}

export interface EpisodeSummary {
  index: number;
  bag: string;
  frames: number;
  durationS: number;
  tasks: string[];
}

export interface ConvertSummary {
  episodes: number;
  frames: number;
  skippedFrames: number;
  outDir: string;
}

/** JointState → the mapped joints in policy units, as float32. */
export function jointVector(message: Record<string, unknown>, joints: JointsMapping, calibration: Calibration | undefined, where: string): Float32Array {
  const names = message.name as string[] | undefined;
  const positions = message.position as ArrayLike<number> | undefined;
  if (!Array.isArray(names) || positions === undefined) throw new InputError(`${where}: not a JointState (no name/position arrays)`);
  const units = joints.joints.map((joint) => unitOf(joints, joint));
  return Float32Array.from(jointPositionsToState(names, positions, { joints: joints.joints, units, calibration }, where));
}

/** Peeks at the first message of each camera topic to learn the frame size when the mapping omits it. */
async function cameraSizes(bags: BagReader[], loaded: LoadedMapping, onBadFrame: BadFramePolicy): Promise<CameraFeature[]> {
  const features: CameraFeature[] = [];
  for (const [key, camera] of Object.entries(loaded.mapping.cameras)) {
    let width = camera.width;
    let height = camera.height;
    if (width === undefined || height === undefined) {
      search: for (const bag of bags) {
        for await (const message of bag.messages({ topics: [camera.topic] })) {
          try {
            const image = await imageMessageToRgb(message.type, message.message!, `${camera.topic} at ${stampText(message.logTimeNs)}`);
            width ??= image.width;
            height ??= image.height;
            break search;
          } catch (error) {
            if (error instanceof BadImageError && onBadFrame === "skip") continue;
            throw error;
          }
        }
      }
    }
    const feature = { key, topic: camera.topic };
    if (width === undefined || height === undefined) throw new InputError(`${loaded.source}: ${cameraLabel(feature)} has no decodable image in any bag; set its width and height`);
    // before anything is written: a size the encoder cannot take is an input error, named here
    checkVideoSize(`${loaded.source}: ${cameraLabel(feature)}`, width, height);
    features.push({ ...feature, width, height });
  }
  return features;
}

/** Opens the bags, skipping (with a warning) one given twice: the same storage files under another name. */
async function openBags(paths: readonly string[], onWarning: ((message: string) => void) | undefined): Promise<BagReader[]> {
  const bags: BagReader[] = [];
  const seen = new Map<string, string>();
  for (const bagPath of paths) {
    const bag = await BagReader.open(bagPath);
    const files = bag.files.map((file) => realpathSync(file)).sort().join("\n");
    const first = seen.get(files);
    if (first !== undefined) {
      onWarning?.(`${bagPath} is the same bag as ${first}, given twice; converting it once`);
      continue;
    }
    seen.set(files, bagPath);
    bags.push(bag);
  }
  return bags;
}

interface Streams {
  state: StreamResampler<Float32Array>;
  action: StreamResampler<Float32Array>;
  cameras: Map<string, StreamResampler<Uint8Array>>;
}

export async function convertBags(options: ConvertOptions): Promise<ConvertSummary> {
  const { mapping, calibration, source } = options.mapping;
  if (options.bags.length === 0) throw new InputError("convert: name at least one bag");
  const bags = await openBags(options.bags, options.onWarning);
  const cameraTopics = new Map(Object.entries(mapping.cameras).map(([key, camera]) => [camera.topic, key]));
  const taskTopic = "topic" in mapping.task ? mapping.task.topic : undefined;
  const splitTopic = mapping.episodes.split === "topic" ? mapping.episodes.topic : undefined;
  const topics = [mapping.state.topic, mapping.action.topic, ...cameraTopics.keys(), ...(taskTopic ? [taskTopic] : []), ...(splitTopic ? [splitTopic] : [])];
  for (const bag of bags) {
    if (bag.messageCount === 0) throw new InputError(`${bag.path}: the bag holds no messages; nothing to convert`);
    bag.requireTopics([...new Set(topics)], `named by ${source}`);
  }
  const total = bags.reduce((sum, bag) => sum + bag.topics.filter((t) => topics.includes(t.name)).reduce((s, t) => s + t.messageCount, 0), 0);
  const cameras = await cameraSizes(bags, options.mapping, options.onBadFrame);
  const writer = new LeRobotDatasetWriter({
    outDir: options.outDir,
    fps: mapping.fps,
    robotType: mapping.robot_type,
    stateNames: mapping.state.names ?? mapping.state.joints.map((joint) => `${joint}.pos`),
    actionNames: mapping.action.names ?? mapping.action.joints.map((joint) => `${joint}.pos`),
    cameras,
    video: mapping.video,
    overwrite: options.overwrite ?? false,
  });
  const abort = (): void => writer.abort();
  options.signal?.addEventListener("abort", abort, { once: true });
  const toleranceNs = BigInt(Math.round(mapping.resampling.tolerance_s * 1e9));
  const newStreams = (): Streams => ({
    state: new StreamResampler(mapping.resampling.policy, toleranceNs),
    action: new StreamResampler(mapping.resampling.policy, toleranceNs),
    cameras: new Map(cameras.map((camera) => [camera.key, new StreamResampler<Uint8Array>(mapping.resampling.policy, toleranceNs)])),
  });
  let read = 0;
  let skipped = 0;
  const tasks: { timeNs: bigint; text: string }[] = [];
  try {
    for (const bag of bags) {
      let streams = newStreams();
      let startNs: bigint | undefined;
      let frame = 0;
      let lastTimeNs: bigint | undefined;
      let inEpisode = false;
      tasks.length = 0;
      const all = (): StreamResampler<unknown>[] => [streams.state, streams.action, ...streams.cameras.values()];
      const taskAt = (tNs: bigint): string | undefined => {
        if ("constant" in mapping.task) return mapping.task.constant;
        while (tasks.length >= 2 && tasks[1]!.timeNs <= tNs) tasks.shift();
        return tasks[0] !== undefined && tasks[0].timeNs <= tNs ? tasks[0].text : undefined;
      };
      const emitReady = async (final: boolean): Promise<void> => {
        if (startNs === undefined) {
          const firsts = all().map((stream) => stream.firstTimeNs);
          if (firsts.some((t) => t === undefined)) return;
          startNs = firsts.reduce((a, b) => (a! > b! ? a : b))!;
          writer.beginEpisode();
        }
        while (true) {
          const tNs = frameTimeNs(startNs, frame, mapping.fps);
          const state = streams.state.resolve(tNs);
          const action = streams.action.resolve(tNs);
          const images = new Map<string, Uint8Array>();
          const named: [string, ReturnType<StreamResampler<unknown>["resolve"]>][] = [[mapping.state.topic, state], [mapping.action.topic, action]];
          for (const [key, stream] of streams.cameras) {
            const resolution = stream.resolve(tNs);
            named.push([mapping.cameras[key]!.topic, resolution]);
            if (resolution.state === "ready") images.set(key, resolution.value);
          }
          if (named.some(([, r]) => r.state === "pending")) return;
          const stale = named.find(([, r]) => r.state === "stale");
          if (stale !== undefined) {
            if (final) return;
            const age = stale[1].state === "stale" && stale[1].ageNs !== undefined ? `${Number(stale[1].ageNs) / 1e6} ms` : "no sample";
            throw new InputError(
              `${bag.path}: ${stale[0]} has no sample within ${mapping.resampling.tolerance_s} s of frame ${frame} (${stampText(tNs)}; nearest: ${age}); raise resampling.tolerance_s or split the episode there`,
            );
          }
          if (state.state !== "ready" || action.state !== "ready") return;
          await writer.addFrame(state.value, action.value, images, taskAt(tNs));
          frame += 1;
        }
      };
      const endEpisode = async (): Promise<void> => {
        for (const stream of all()) stream.end();
        await emitReady(true);
        if (startNs !== undefined) {
          const episode = writer.endEpisode(`${bag.path} (episode ${writer.episodeCount})`);
          if (episode !== undefined) options.onEpisode?.({ index: episode.index, bag: bag.path, frames: episode.length, durationS: episode.length / mapping.fps, tasks: episode.tasks });
        }
        streams = newStreams();
        startNs = undefined;
        frame = 0;
        inEpisode = false;
      };
      for await (const message of bag.messages({ topics: [...new Set(topics)] })) {
        options.signal?.throwIfAborted();
        read += 1;
        if (read % 200 === 0) options.onProgress?.(read, total);
        const boundary =
          (mapping.episodes.split === "time_gap" && lastTimeNs !== undefined && message.logTimeNs - lastTimeNs > BigInt(Math.round(mapping.episodes.gap_s * 1e9))) ||
          (splitTopic !== undefined && message.topic === splitTopic);
        lastTimeNs = message.logTimeNs;
        if (boundary && inEpisode) await endEpisode();
        if (splitTopic !== undefined && message.topic === splitTopic) {
          inEpisode = true;
          if (message.topic !== taskTopic) continue;
        }
        if (mapping.episodes.split !== "topic") inEpisode = true;
        if (!inEpisode) continue;
        await feed(message, streams, tasks);
        await emitReady(false);
      }
      await endEpisode();
    }
    options.onProgress?.(total, total);
    options.signal?.throwIfAborted();
    await writer.finish();
    return { episodes: writer.episodeCount, frames: writer.totalFrames, skippedFrames: skipped, outDir: options.outDir };
  } catch (error) {
    writer.abort();
    throw error;
  } finally {
    options.signal?.removeEventListener("abort", abort);
  }

  async function feed(message: BagMessage, streams: Streams, taskQueue: { timeNs: bigint; text: string }[]): Promise<void> {
    const where = `${message.topic} at ${stampText(message.logTimeNs)} (${message.file})`;
    if (message.topic === taskTopic) {
      const text = (message.message as { data?: unknown }).data;
      if (typeof text !== "string") throw new InputError(`${where}: the task topic must carry std_msgs/msg/String, found ${message.type}`);
      taskQueue.push({ timeNs: message.logTimeNs, text });
    }
    if (message.topic === mapping.state.topic) streams.state.push(message.logTimeNs, jointVector(message.message!, mapping.state, calibration, where));
    if (message.topic === mapping.action.topic) streams.action.push(message.logTimeNs, jointVector(message.message!, mapping.action, calibration, where));
    const key = cameraTopics.get(message.topic);
    if (key !== undefined) {
      const camera = cameras.find((c) => c.key === key)!;
      let image: RgbImage;
      try {
        image = await resizeRgb(await imageMessageToRgb(message.type, message.message!, where), camera.width, camera.height);
      } catch (error) {
        if (error instanceof BadImageError && options.onBadFrame === "skip") {
          skipped += 1;
          options.onWarning?.(`skipped a bad frame: ${error.message}`);
          return;
        }
        throw error;
      }
      streams.cameras.get(key)!.push(message.logTimeNs, image.data);
    }
  }
}
