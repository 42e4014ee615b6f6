/** Settings and chunks for the blending tests. */
import { ChunkBlender, type BlenderSettings } from "../../src/blending/blender.js";
import type { ChunkInput } from "../../src/blending/chunk.js";
import type { BlendSettings } from "../../src/blending/schedules.js";
import { makeHeader } from "../../src/msgs/messages.js";
import { SO100_JOINTS } from "../../src/so100/calibration.js";

export const JOINTS: readonly string[] = SO100_JOINTS;
export const START_NS = 1_000_000_000_000n;
/** 100 Hz. */
export const PERIOD_NS = 10_000_000n;
export const DT_S = 1 / 30;

export function settings(overrides: Partial<Omit<BlenderSettings, "blend">> & { blend?: Partial<BlendSettings> } = {}): BlenderSettings {
  const { blend, ...rest } = overrides;
  return {
    jointNames: JOINTS,
    controlPeriodS: Number(PERIOD_NS) / 1e9,
    alignOffset: true,
    alignFadeS: 0.3,
    // Fast enough to never hold back the tests that are not about the limit.
    limits: { maxJointVelocityRadS: [1000], positionMinRad: [], positionMaxRad: [] },
    maxChunkAgeMs: 1000,
    ...rest,
    blend: { schedule: "constant", alpha: 0.7, steps: 10, ensembleM: 0.01, ...blend },
  };
}

/** A chunk whose joint j at step i is `positionAt(i, j)`. */
export function chunkMessage(chunkId: number, stampNs: bigint, positionAt: (step: number, joint: number) => number, horizon = 50, dtS = DT_S): ChunkInput {
  const actions = new Float64Array(horizon * JOINTS.length);
  for (let i = 0; i < horizon; i++) for (let j = 0; j < JOINTS.length; j++) actions[i * JOINTS.length + j] = positionAt(i, j);
  return { header: makeHeader(stampNs), chunk_id: chunkId, dt_s: dtS, horizon, action_names: [...JOINTS], actions_rad: actions, decode_status: 0, decode_detail: "" };
}

/** A blender that has seen the arm at `presentRad` and issued its first command at START_NS. */
export function startedBlender(s: BlenderSettings, presentRad: readonly number[] = JOINTS.map(() => 0)): ChunkBlender {
  const blender = new ChunkBlender(s);
  blender.observeJointState([...JOINTS], presentRad);
  blender.tick(START_NS);
  return blender;
}

/** Ticks every period from `fromNs` (inclusive) to `toNs` (exclusive); the commands with their times. */
export function runTicks(blender: ChunkBlender, fromNs: bigint, toNs: bigint): Array<{ timeNs: bigint; command: Float64Array }> {
  const out: Array<{ timeNs: bigint; command: Float64Array }> = [];
  for (let t = fromNs; t < toNs; t += PERIOD_NS) {
    const command = blender.tick(t);
    if (command !== undefined) out.push({ timeNs: t, command });
  }
  return out;
}

/** Largest change of any joint between consecutive commands. */
export function maxStepRad(commands: ReadonlyArray<{ command: Float64Array }>): number {
  let max = 0;
  for (let k = 1; k < commands.length; k++) {
    for (let j = 0; j < commands[k]!.command.length; j++) max = Math.max(max, Math.abs(commands[k]!.command[j]! - commands[k - 1]!.command[j]!));
  }
  return max;
}
