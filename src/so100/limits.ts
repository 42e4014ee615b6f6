/**
 * Joint limits and the goal limiter, pure. The joint limits are the calibrated range intersected with the
 * URDF limits; the limiter turns any target into goals inside them that move no joint faster than the
 * velocity limit. Goals are whole ticks: each step moves a joint by at most ⌊v·Δt⌋ ticks, Δt counted from
 * that joint's last change, so the written goals themselves never exceed the limit.
 */
import type { MotorCalibration } from "./calibration.js";
import { TICKS_PER_TURN, radiansToTicks, ticksToRadians } from "./units.js";

export const RAD_PER_TICK = (2 * Math.PI) / TICKS_PER_TURN;

export interface JointLimits {
  readonly lowerRad: number;
  readonly upperRad: number;
  /** The same, in whole ticks inside them. */
  readonly lowerTicks: number;
  readonly upperTicks: number;
}

/** Calibrated range ∩ URDF limits; `joint` names the joint in errors. */
export function jointLimits(joint: string, motor: MotorCalibration, urdfRad?: readonly [number, number]): JointLimits {
  let lowerRad = ticksToRadians(motor.range_min, motor);
  let upperRad = ticksToRadians(motor.range_max, motor);
  if (urdfRad !== undefined) {
    lowerRad = Math.max(lowerRad, urdfRad[0]);
    upperRad = Math.min(upperRad, urdfRad[1]);
  }
  const lowerTicks = Math.ceil(radiansToTicks(lowerRad, motor) - 1e-9);
  const upperTicks = Math.floor(radiansToTicks(upperRad, motor) + 1e-9);
  if (!(lowerTicks <= upperTicks)) {
    throw new RangeError(`${joint}: the calibrated range ${motor.range_min}..${motor.range_max} ticks and the URDF limits [${urdfRad?.join(", ")}] rad do not overlap`);
  }
  return { lowerRad: ticksToRadians(lowerTicks, motor), upperRad: ticksToRadians(upperTicks, motor), lowerTicks, upperTicks };
}

export function clampTicks(ticks: number, limits: JointLimits): number {
  return Math.min(limits.upperTicks, Math.max(limits.lowerTicks, Math.round(ticks)));
}

export interface GoalLimiterOptions {
  limits: readonly JointLimits[];
  maxVelocityRadS: number;
  /**
   * Longest interval one step may use: after a pause the goal resumes at the velocity limit instead of
   * jumping by v × pause (raised to the time one tick takes, so slow limits still move).
   */
  maxStepIntervalS: number;
}

export class GoalLimiter {
  private goal: Int32Array | undefined;
  private readonly changedAtNs: BigInt64Array;
  private readonly maxVelocityTicksS: number;
  private readonly maxStepIntervalS: number;

  constructor(private readonly options: GoalLimiterOptions) {
    if (!(options.maxVelocityRadS > 0) || !Number.isFinite(options.maxVelocityRadS)) throw new RangeError(`max joint velocity must be a positive number, got ${options.maxVelocityRadS} rad/s`);
    this.changedAtNs = new BigInt64Array(options.limits.length);
    this.maxVelocityTicksS = options.maxVelocityRadS / RAD_PER_TICK;
    this.maxStepIntervalS = Math.max(options.maxStepIntervalS, 1 / this.maxVelocityTicksS);
  }

  /** The last goal (undefined before `reset`). */
  get goalTicks(): Readonly<Int32Array> | undefined {
    return this.goal;
  }

  /** Starts again from the present position (hold): the goal is the present, clamped to the limits. */
  reset(presentTicks: ArrayLike<number>, nowNs: bigint): Int32Array {
    const goal = new Int32Array(this.options.limits.length);
    for (let j = 0; j < goal.length; j++) goal[j] = clampTicks(presentTicks[j]!, this.options.limits[j]!);
    this.goal = goal;
    this.changedAtNs.fill(nowNs);
    return goal.slice();
  }

  /** The next goal toward `targetTicks` at `nowNs`, or undefined when no joint moves. */
  step(targetTicks: ArrayLike<number>, nowNs: bigint): Int32Array | undefined {
    const goal = this.goal;
    if (goal === undefined) throw new Error("GoalLimiter.step before reset: the present position is needed first");
    let changed = false;
    for (let j = 0; j < goal.length; j++) {
      const wanted = clampTicks(targetTicks[j]!, this.options.limits[j]!);
      const elapsedS = Math.min(Number(nowNs - this.changedAtNs[j]!) / 1e9, this.maxStepIntervalS);
      const budget = Math.floor(this.maxVelocityTicksS * Math.max(0, elapsedS));
      const delta = Math.max(-budget, Math.min(budget, wanted - goal[j]!));
      if (delta !== 0) {
        goal[j] = goal[j]! + delta;
        this.changedAtNs[j] = nowNs;
        changed = true;
      }
    }
    return changed ? goal.slice() : undefined;
  }
}
