/**
 * A recorded joint trajectory (the bag's action topic: the leader arm or a teleop command) as samples in
 * time, with linear interpolation between them. The ground truth the replay evaluation compares against, and
 * what the recorded oracle answers replans with. Pure: no I/O.
 */
import { InputError } from "../errors.js";

export interface JointSample {
  /** The sample's time (the message's header stamp; its receive time when the stamp is zero). */
  timeNs: bigint;
  names: readonly string[];
  positionsRad: ArrayLike<number>;
}

export class JointTrajectory {
  readonly jointNames: readonly string[];
  /** Time of sample 0; the other times are seconds after it (exact to well under a nanosecond over hours). */
  readonly startNs: bigint;
  readonly timesS: Float64Array;
  /** Row-major: one row of `jointNames.length` positions per sample. */
  readonly positionsRad: Float64Array;

  constructor(jointNames: readonly string[], startNs: bigint, timesS: Float64Array, positionsRad: Float64Array) {
    if (timesS.length === 0) throw new InputError("a joint trajectory needs at least one sample");
    if (positionsRad.length !== timesS.length * jointNames.length) throw new Error(`${positionsRad.length} positions for ${timesS.length} samples of ${jointNames.length} joints`);
    this.jointNames = jointNames;
    this.startNs = startNs;
    this.timesS = timesS;
    this.positionsRad = positionsRad;
  }

  /**
   * From joint state samples (any joint order, extra joints ignored), sorted by time. `source` names the
   * topic in errors: a sample lacking one of `jointNames` or holding a non-finite position is refused.
   */
  static fromSamples(samples: readonly JointSample[], jointNames: readonly string[], source: string): JointTrajectory {
    if (samples.length === 0) throw new InputError(`${source}: holds no joint state; expected the recorded action (positions of ${jointNames.join(", ")})`);
    const sorted = [...samples].sort((a, b) => (a.timeNs < b.timeNs ? -1 : a.timeNs > b.timeNs ? 1 : 0));
    const startNs = sorted[0]!.timeNs;
    const timesS = new Float64Array(sorted.length);
    const positions = new Float64Array(sorted.length * jointNames.length);
    sorted.forEach((sample, row) => {
      timesS[row] = Number(sample.timeNs - startNs) / 1e9;
      jointNames.forEach((joint, column) => {
        const index = sample.names.indexOf(joint);
        if (index < 0 || index >= sample.positionsRad.length) throw new InputError(`${source}: the joint state at ${sample.timeNs} ns has no position for '${joint}' (names: ${sample.names.join(", ") || "none"}); expected ${jointNames.join(", ")}`);
        const value = sample.positionsRad[index]!;
        if (!Number.isFinite(value)) throw new InputError(`${source}: the joint state at ${sample.timeNs} ns has position ${value} for '${joint}'; expected a finite number of radians`);
        positions[row * jointNames.length + column] = value;
      });
    });
    return new JointTrajectory(jointNames, startNs, timesS, positions);
  }

  get endNs(): bigint {
    return this.startNs + BigInt(Math.round(this.timesS[this.timesS.length - 1]! * 1e9));
  }

  /** Positions at `timeNs`, linear between samples, held at the first and last sample outside them. */
  at(timeNs: bigint, out: Float64Array = new Float64Array(this.jointNames.length)): Float64Array {
    return this.atSeconds(Number(timeNs - this.startNs) / 1e9, out);
  }

  /** Same as `at`, with the time in seconds after `startNs`. */
  atSeconds(t: number, out: Float64Array = new Float64Array(this.jointNames.length)): Float64Array {
    const times = this.timesS;
    const dims = this.jointNames.length;
    const last = times.length - 1;
    if (t <= times[0]! || last === 0) return copyRow(this.positionsRad, 0, dims, out);
    if (t >= times[last]!) return copyRow(this.positionsRad, last, dims, out);
    // the last sample at or before t
    let low = 0;
    let high = last;
    while (high - low > 1) {
      const middle = (low + high) >> 1;
      if (times[middle]! <= t) low = middle;
      else high = middle;
    }
    const span = times[high]! - times[low]!;
    const s = span > 0 ? (t - times[low]!) / span : 0;
    for (let d = 0; d < dims; d++) {
      const a = this.positionsRad[low * dims + d]!;
      out[d] = a + (this.positionsRad[high * dims + d]! - a) * s;
    }
    return out;
  }
}

function copyRow(source: Float64Array, row: number, dims: number, out: Float64Array): Float64Array {
  for (let d = 0; d < dims; d++) out[d] = source[row * dims + d]!;
  return out;
}
