/** Output safety: joint position limits and the velocity limit between consecutive commands. Pure. */

export interface JointLimits {
  /** One value for every joint, or one per joint (rad/s). */
  readonly maxJointVelocityRadS: readonly number[];
  /** Empty, or one per joint (rad): targets are clamped inside. */
  readonly positionMinRad: readonly number[];
  readonly positionMaxRad: readonly number[];
}

/** A joint's velocity limit from a one-value-or-per-joint list. */
export function velocityLimit(limits: JointLimits, joint: number): number {
  const v = limits.maxJointVelocityRadS;
  return v.length === 1 ? v[0]! : v[joint]!;
}

/**
 * Writes the next command into `out`: the target clamped to the position limits, then moved from
 * `previousRad` by at most `velocity · elapsedS` per joint. A non-finite target keeps the previous value.
 * A command found outside the position limits (limits changed at run time) moves back inside at the
 * velocity limit rather than jumping. Returns how many joints the velocity limit held back.
 */
export function limitCommand(limits: JointLimits, previousRad: Float64Array, targetRad: Float64Array, elapsedS: number, out: Float64Array): number {
  let limited = 0;
  const clamp = limits.positionMinRad.length > 0;
  for (let j = 0; j < out.length; j++) {
    const previous = previousRad[j]!;
    let target = targetRad[j]!;
    if (!Number.isFinite(target)) target = previous;
    if (clamp) target = Math.min(limits.positionMaxRad[j]!, Math.max(limits.positionMinRad[j]!, target));
    const maxStep = velocityLimit(limits, j) * elapsedS;
    const step = target - previous;
    // min/max: rounding must never carry a limited step past its target.
    if (step > maxStep) {
      out[j] = Math.min(previous + maxStep, target);
      limited++;
    } else if (step < -maxStep) {
      out[j] = Math.max(previous - maxStep, target);
      limited++;
    } else {
      out[j] = target;
    }
  }
  return limited;
}
