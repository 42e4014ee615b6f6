/**
 * A realistic SO-100 teleoperation recording for tests, the demo and the evaluation: the leader arm's
 * joint states (the action) drive smooth reaching motions within the SO-101 URDF limits, the follower
 * tracks them 50 ms behind at 100 Hz, cameras at 30 Hz show a rendered view of the follower's pose,
 * and an instruction String starts each episode.
 */
import path from "node:path";
import { InputError } from "../errors.js";
import { StagedOutput } from "../output-dir.js";
import { SO100_JOINTS, SO101_URDF_LIMITS_RAD } from "../so100/calibration.js";
import { BagWriter, type BagStorage } from "./writer.js";
import { seededRandom } from "../random.js";

export interface SampleBagOptions {
  outDir: string;
  format: BagStorage;
  episodes: number;
  seconds: number;
  cameras: number;
  width: number;
  height: number;
  seed: number;
  /** Replace an existing non-empty `outDir`. */
  overwrite?: boolean;
  /** Called after each episode is written. */
  onEpisode?: (index: number, bagDir: string) => void;
}

/** URDF limits (rad) of the SO-101 (REFERENCE §4), used for targets. */
export const SO100_LIMITS_RAD: Readonly<Record<(typeof SO100_JOINTS)[number], readonly [number, number]>> = SO101_URDF_LIMITS_RAD;

export const SAMPLE_TOPICS = {
  follower: "/joint_states",
  leader: "/leader/joint_states",
  instruction: "/instruction",
  camera: (index: number): string => `/camera/${SAMPLE_CAMERA_NAMES[index] ?? `cam${index}`}/image_raw`,
};
export const SAMPLE_CAMERA_NAMES = ["front", "wrist", "side", "top"];
export const SAMPLE_TASKS = ["pick up the red cube", "push the cube to the left", "wave at the camera"];

const STATE_RATE_HZ = 100;
const CAMERA_RATE_HZ = 30;
const FOLLOWER_LAG_S = 0.05;
/** The recordings start at a fixed, realistic epoch so two runs with the same seed are byte-identical. */
const EPOCH_NS = 1_760_000_000_000_000_000n;


/** Waypoints every ~1.5 s joined by minimum-jerk segments: smooth, bounded, deterministic. */
export class ReachingMotion {
  readonly #times: number[] = [];
  readonly #poses: number[][] = [];

  constructor(seconds: number, random: () => number) {
    const home = [0, -0.3, 0.4, 0.2, 0, 0.2];
    let t = 0;
    this.#times.push(0);
    this.#poses.push(home);
    while (t < seconds + 2) {
      t += 1.2 + random() * 0.8;
      this.#times.push(t);
      this.#poses.push(
        SO100_JOINTS.map((joint) => {
          const [low, high] = SO100_LIMITS_RAD[joint];
          const margin = 0.6;
          const centre = (low + high) / 2;
          return centre + (random() * 2 - 1) * ((high - low) / 2) * margin;
        }),
      );
    }
  }

  /** Joint positions (rad) at `t` seconds. */
  at(t: number): number[] {
    let index = 0;
    while (index < this.#times.length - 2 && this.#times[index + 1]! <= t) index++;
    const t0 = this.#times[index]!;
    const t1 = this.#times[index + 1]!;
    const s = Math.min(1, Math.max(0, (t - t0) / (t1 - t0)));
    const blend = s * s * s * (10 - 15 * s + 6 * s * s);
    const a = this.#poses[index]!;
    const b = this.#poses[index + 1]!;
    return a.map((value, joint) => value + (b[joint]! - value) * blend);
  }
}

/** Renders the arm's pose into a packed rgb8 frame, seen from one of a few viewpoints. */
export class ArmRenderer {
  readonly width: number;
  readonly height: number;
  readonly #background: Uint8Array;
  readonly #view: number;

  constructor(width: number, height: number, view: number) {
    this.width = width;
    this.height = height;
    this.#view = view;
    this.#background = new Uint8Array(width * height * 3);
    const tint = [[200, 205, 215], [185, 200, 190], [210, 195, 185], [190, 190, 210]][view % 4]!;
    for (let y = 0; y < height; y++) {
      const table = y > height * 0.7;
      for (let x = 0; x < width; x++) {
        const i = (y * width + x) * 3;
        this.#background[i] = table ? 150 : tint[0]!;
        this.#background[i + 1] = table ? 110 : tint[1]!;
        this.#background[i + 2] = table ? 70 : tint[2]!;
      }
    }
  }

  render(jointsRad: readonly number[], target: Uint8Array = new Uint8Array(this.width * this.height * 3)): Uint8Array {
    target.set(this.#background);
    const [pan = 0, lift = 0, elbow = 0, wristFlex = 0, , gripper = 0] = jointsRad;
    const scale = Math.min(this.width, this.height) / 3.2;
    const baseX = this.width / 2 + (this.#view === 1 ? pan * scale * 0.5 : 0);
    const baseY = this.height * 0.72;
    // a side view of the planar chain; the shoulder pan foreshortens it and shifts the colour
    const reach = this.#view === 1 ? 1 : Math.cos(pan) * 0.8 + 0.2;
    let angle = -Math.PI / 2 + lift;
    let x = baseX;
    let y = baseY;
    const links: [number, number, number, number[]][] = [
      [1.0, lift, 0.06, [60, 60, 70]],
      [0.9, elbow, 0.05, [220, 120, 40]],
      [0.45, wristFlex, 0.04, [40, 90, 200]],
    ];
    this.#disc(target, x, y, scale * 0.12, [40, 40, 40]);
    links.forEach(([length, , thickness, colour], index) => {
      if (index > 0) angle += links[index]![1];
      const nx = x + Math.cos(angle) * length * scale * 0.5 * reach;
      const ny = y + Math.sin(angle) * length * scale * 0.5;
      this.#segment(target, x, y, nx, ny, Math.max(1.5, thickness * scale), colour);
      x = nx;
      y = ny;
    });
    const open = (gripper + 0.2) * 0.25 * scale;
    const jaw = 0.15 * scale;
    for (const side of [-1, 1]) {
      const ox = x + Math.cos(angle + (side * Math.PI) / 2) * open;
      const oy = y + Math.sin(angle + (side * Math.PI) / 2) * open;
      this.#segment(target, ox, oy, ox + Math.cos(angle) * jaw, oy + Math.sin(angle) * jaw, Math.max(1, scale * 0.025), [230, 230, 60]);
    }
    this.#disc(target, this.width * 0.75, this.height * 0.74, scale * 0.08, [210, 30, 30]);
    return target;
  }

  #disc(target: Uint8Array, cx: number, cy: number, radius: number, colour: number[]): void {
    const r2 = radius * radius;
    const x0 = Math.max(0, Math.floor(cx - radius));
    const x1 = Math.min(this.width - 1, Math.ceil(cx + radius));
    const y0 = Math.max(0, Math.floor(cy - radius));
    const y1 = Math.min(this.height - 1, Math.ceil(cy + radius));
    for (let py = y0; py <= y1; py++) {
      for (let px = x0; px <= x1; px++) {
        if ((px - cx) ** 2 + (py - cy) ** 2 > r2) continue;
        const i = (py * this.width + px) * 3;
        target[i] = colour[0]!;
        target[i + 1] = colour[1]!;
        target[i + 2] = colour[2]!;
      }
    }
  }

  #segment(target: Uint8Array, ax: number, ay: number, bx: number, by: number, thickness: number, colour: number[]): void {
    const steps = Math.max(1, Math.ceil(Math.hypot(bx - ax, by - ay) / Math.max(1, thickness / 2)));
    for (let step = 0; step <= steps; step++) {
      const s = step / steps;
      this.#disc(target, ax + (bx - ax) * s, ay + (by - ay) * s, thickness / 2, colour);
    }
  }
}

function stampOf(ns: bigint): { sec: number; nanosec: number } {
  return { sec: Number(ns / 1_000_000_000n), nanosec: Number(ns % 1_000_000_000n) };
}

function jointState(stampNs: bigint, positions: number[], velocities: number[]): unknown {
  return {
    header: { stamp: stampOf(stampNs), frame_id: "" },
    name: [...SO100_JOINTS],
    position: Float64Array.from(positions),
    velocity: Float64Array.from(velocities),
    effort: new Float64Array(0),
  };
}

/** Writes one episode's bag. Messages go out in receive-time order. */
export async function writeSampleEpisode(bagDir: string, options: SampleBagOptions, episode: number): Promise<void> {
  const random = seededRandom(options.seed * 1000 + episode);
  const motion = new ReachingMotion(options.seconds, random);
  const task = SAMPLE_TASKS[episode % SAMPLE_TASKS.length]!;
  const writer = await BagWriter.create(bagDir, options.format);
  try {
    await writer.addTopic(SAMPLE_TOPICS.instruction, "std_msgs/msg/String");
    await writer.addTopic(SAMPLE_TOPICS.follower, "sensor_msgs/msg/JointState");
    await writer.addTopic(SAMPLE_TOPICS.leader, "sensor_msgs/msg/JointState");
    const renderers: ArmRenderer[] = [];
    for (let camera = 0; camera < options.cameras; camera++) {
      await writer.addTopic(SAMPLE_TOPICS.camera(camera), "sensor_msgs/msg/Image");
      renderers.push(new ArmRenderer(options.width, options.height, camera));
    }
    const start = EPOCH_NS + BigInt(episode) * 3_600_000_000_000n;
    type Event = { timeNs: bigint; order: number; emit: () => Promise<void> };
    const events: Event[] = [];
    const durationNs = BigInt(Math.round(options.seconds * 1e9));
    events.push({ timeNs: start, order: 0, emit: () => writer.write(SAMPLE_TOPICS.instruction, start, { data: task }) });
    const statePeriodNs = 1_000_000_000n / BigInt(STATE_RATE_HZ);
    for (let k = 0n; k * statePeriodNs <= durationNs; k++) {
      const t = Number(k * statePeriodNs) / 1e9;
      const stamp = start + k * statePeriodNs;
      // jitter in the receive time as a real transport has, a fraction of a millisecond
      const jitter = BigInt(Math.floor(random() * 400_000));
      events.push({
        timeNs: stamp + 1_000_000n + jitter,
        order: 1,
        emit: () => {
          const follower = motion.at(t - FOLLOWER_LAG_S);
          const ahead = motion.at(t - FOLLOWER_LAG_S + 0.01);
          const noise = follower.map((value) => value + (random() - 0.5) * 0.002);
          return writer.write(SAMPLE_TOPICS.follower, stamp + 1_000_000n + jitter, jointState(stamp, noise, ahead.map((v, j) => (v - follower[j]!) * 100)));
        },
      });
      events.push({
        timeNs: stamp + 3_000_000n + jitter,
        order: 2,
        emit: () => {
          const leader = motion.at(t);
          const ahead = motion.at(t + 0.01);
          return writer.write(SAMPLE_TOPICS.leader, stamp + 3_000_000n + jitter, jointState(stamp, leader, ahead.map((v, j) => (v - leader[j]!) * 100)));
        },
      });
    }
    const frames = Math.floor(options.seconds * CAMERA_RATE_HZ) + 1;
    const frameBuffer = new Uint8Array(options.width * options.height * 3);
    for (let frame = 0; frame < frames; frame++) {
      const stamp = start + BigInt(Math.round((frame * 1e9) / CAMERA_RATE_HZ));
      renderers.forEach((renderer, camera) => {
        const receive = stamp + 8_000_000n + BigInt(camera) * 500_000n;
        events.push({
          timeNs: receive,
          order: 3 + camera,
          emit: () => {
            const pose = motion.at(Number(stamp - start) / 1e9 - FOLLOWER_LAG_S);
            renderer.render(pose, frameBuffer);
            return writer.write(SAMPLE_TOPICS.camera(camera), receive, {
              header: { stamp: stampOf(stamp), frame_id: `${SAMPLE_CAMERA_NAMES[camera] ?? `cam${camera}`}_optical_frame` },
              height: options.height,
              width: options.width,
              encoding: "rgb8",
              is_bigendian: 0,
              step: options.width * 3,
              data: frameBuffer,
            });
          },
        });
      });
    }
    events.sort((a, b) => (a.timeNs < b.timeNs ? -1 : a.timeNs > b.timeNs ? 1 : a.order - b.order));
    for (const event of events) await event.emit();
    await writer.close();
  } catch (error) {
    await writer.abort();
    throw error;
  }
}

/**
 * Writes `<outDir>/episode_000 …` (one bag per episode) through a staged output: `outDir` new or empty, or
 * replaced with `overwrite`; an interrupted run leaves nothing.
 */
export async function makeSampleBags(options: SampleBagOptions): Promise<string[]> {
  const positive = (name: string, value: number, integer: boolean) => {
    if (!(Number.isFinite(value) && value > 0 && (!integer || Number.isInteger(value)))) throw new InputError(`--${name} ${value}: expected a positive ${integer ? "integer" : "number"}`);
  };
  positive("episodes", options.episodes, true);
  positive("seconds", options.seconds, false);
  positive("cameras", options.cameras, true);
  positive("width", options.width, true);
  positive("height", options.height, true);
  return StagedOutput.write(options.outDir, { overwrite: options.overwrite ?? false, label: `--out ${options.outDir}` }, async (staging) => {
    const names: string[] = [];
    for (let episode = 0; episode < options.episodes; episode++) {
      const name = `episode_${String(episode).padStart(3, "0")}`;
      await writeSampleEpisode(path.join(staging, name), options, episode);
      names.push(name);
      options.onEpisode?.(episode, path.join(options.outDir, name));
    }
    return names.map((name) => path.join(options.outDir, name));
  });
}
