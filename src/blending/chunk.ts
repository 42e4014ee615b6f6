/**
 * Chunks as timed trajectories: step `i` of a chunk is meant for `stampNs + i·dt_s`. Sampling at a tick's
 * time interpolates linearly between steps, so the steps already in the past are skipped by construction,
 * never by a latency estimate. Pure: no I/O, no ROS.
 */
import { Pi0fastRosActionChunkConstants as Decode, nsFromTime, type Pi0fastRosActionChunk } from "../msgs/messages.js";

/** A validated chunk, its columns in the blender's joint order. */
export interface TimedChunk {
  readonly chunkId: number;
  readonly stampNs: bigint;
  readonly dtS: number;
  readonly horizon: number;
  readonly jointCount: number;
  /** horizon × jointCount, row-major, radians. */
  readonly positionsRad: Float64Array;
  readonly repaired: boolean;
}

/** Where a time falls relative to a chunk. */
export type ChunkPhase = "before" | "inside" | "after";

/** The fields of a pi0fast_ros/ActionChunk the blender reads. */
export type ChunkInput = Pick<Pi0fastRosActionChunk, "header" | "chunk_id" | "dt_s" | "horizon" | "action_names" | "actions_rad" | "decode_status" | "decode_detail">;

/** Why a chunk was refused. */
export type DropReason = "decode_failed" | "bad_shape" | "non_finite" | "joint_names" | "stale" | "future" | "not_newer";

export const DROP_REASONS: readonly DropReason[] = ["decode_failed", "bad_shape", "non_finite", "joint_names", "stale", "future", "not_newer"];

export type ChunkVerdict = { accepted: true; chunk: TimedChunk; ageMs: number } | { accepted: false; reason: DropReason; detail: string; ageMs: number };

/**
 * The fractional step index of `timeNs` in a chunk (0 at its stamp, 1 one dt later). A time within a
 * nanosecond of a step is on it: stamps are whole nanoseconds, step times `i·dt_s` are not.
 */
export function stepAt(chunk: Pick<TimedChunk, "stampNs" | "dtS">, timeNs: bigint): number {
  const sinceNs = Number(timeNs - chunk.stampNs);
  const dtNs = chunk.dtS * 1e9;
  const step = sinceNs / dtNs;
  const whole = Math.round(step);
  return Math.abs(sinceNs - whole * dtNs) <= 1 ? whole : step;
}

/** Time of a chunk's last step. */
export function chunkEndNs(chunk: Pick<TimedChunk, "stampNs" | "dtS" | "horizon">): bigint {
  return chunk.stampNs + BigInt(Math.round((chunk.horizon - 1) * chunk.dtS * 1e9));
}

/**
 * Writes the chunk's positions at `timeNs` into `out` (linear between steps) and says where the time falls.
 * Before step 0 and past the last step nothing is written.
 */
export function sampleChunk(chunk: TimedChunk, timeNs: bigint, out: Float64Array): ChunkPhase {
  const step = stepAt(chunk, timeNs);
  if (step < 0) return "before";
  const last = chunk.horizon - 1;
  if (step > last) return "after";
  const n = chunk.jointCount;
  const row = Math.floor(step);
  const p = chunk.positionsRad;
  if (row >= last) {
    for (let j = 0; j < n; j++) out[j] = p[last * n + j]!;
    return "inside";
  }
  const fraction = step - row;
  const a = row * n;
  const b = a + n;
  for (let j = 0; j < n; j++) out[j] = p[a + j]! + fraction * (p[b + j]! - p[a + j]!);
  return "inside";
}

export interface ChunkLimits {
  /** The blender's joints, in command order. */
  readonly jointNames: readonly string[];
  /** A chunk older than this on arrival (arrival − stamp) is dropped; as far in the future, too. */
  readonly maxChunkAgeMs: number;
}

/**
 * Checks an arriving chunk and reorders its columns to the blender's joints. Refuses a failed decode, a
 * shape that does not hold `horizon × names`, a non-positive step period, any non-finite value, joint names
 * other than the blender's, and a chunk older (or further in the future) than `maxChunkAgeMs`.
 */
export function toTimedChunk(message: ChunkInput, limits: ChunkLimits, arrivalNs: bigint): ChunkVerdict {
  const stampNs = nsFromTime(message.header.stamp);
  const ageMs = Number(arrivalNs - stampNs) / 1e6;
  const drop = (reason: DropReason, detail: string): ChunkVerdict => ({ accepted: false, reason, detail: `chunk ${message.chunk_id}: ${detail}`, ageMs });
  if (message.decode_status === Decode.DECODE_FAILED) return drop("decode_failed", `decode failed${message.decode_detail ? ` (${message.decode_detail})` : ""}`);
  const names = message.action_names;
  const n = limits.jointNames.length;
  const columns = limits.jointNames.map((name) => names.indexOf(name));
  const missing = limits.jointNames.filter((_, j) => columns[j]! < 0);
  const unexpected = names.filter((name) => !limits.jointNames.includes(name));
  if (missing.length > 0 || unexpected.length > 0 || names.length !== n) {
    const parts = [missing.length > 0 ? `missing ${missing.join(", ")}` : "", unexpected.length > 0 ? `unexpected ${unexpected.join(", ")}` : "", names.length !== n && missing.length === 0 && unexpected.length === 0 ? "a name repeated" : ""].filter((part) => part !== "");
    return drop("joint_names", `action_names [${names.join(", ")}]: ${parts.join("; ")}; expected ${limits.jointNames.join(", ")}`);
  }
  const horizon = message.horizon;
  if (!Number.isInteger(horizon) || horizon < 1 || message.actions_rad.length !== horizon * n) {
    return drop("bad_shape", `${message.actions_rad.length} values for horizon ${horizon} × ${n} joints; expected ${horizon * n}`);
  }
  if (!Number.isFinite(message.dt_s) || message.dt_s <= 0) return drop("bad_shape", `dt_s ${message.dt_s}; expected a positive step period in seconds`);
  const source = message.actions_rad;
  const positionsRad = new Float64Array(horizon * n);
  for (let i = 0; i < horizon; i++) {
    for (let j = 0; j < n; j++) {
      const value = source[i * n + columns[j]!]!;
      if (!Number.isFinite(value)) return drop("non_finite", `step ${i} ${limits.jointNames[j]} is ${value}`);
      positionsRad[i * n + j] = value;
    }
  }
  if (ageMs > limits.maxChunkAgeMs) return drop("stale", `${ageMs.toFixed(1)} ms old on arrival (> max_chunk_age_ms ${limits.maxChunkAgeMs})`);
  if (-ageMs > limits.maxChunkAgeMs) return drop("future", `stamped ${(-ageMs).toFixed(1)} ms in the future (> max_chunk_age_ms ${limits.maxChunkAgeMs}): do the clocks agree?`);
  const chunk: TimedChunk = { chunkId: message.chunk_id, stampNs, dtS: message.dt_s, horizon, jointCount: n, positionsRad, repaired: message.decode_status === Decode.DECODE_REPAIRED };
  if (arrivalNs > chunkEndNs(chunk)) return drop("stale", `ran out ${(Number(arrivalNs - chunkEndNs(chunk)) / 1e6).toFixed(1)} ms before it arrived`);
  return { accepted: true, chunk, ageMs };
}
