/**
 * Joint commands as they arrive (sensor_msgs/JointState by name, std_msgs/Float64MultiArray in order),
 * checked and turned into a target in radians inside the joint limits, pure. A command with a value that
 * is not a finite number, an unknown joint or mismatched lengths is rejected whole: half a command is
 * never applied.
 */
import { describeValue } from "../errors.js";
import type { JointLimits } from "./limits.js";

export type CommandVerdict =
  | { readonly accepted: true; readonly targetRad: Float64Array; readonly clampedJoints: string[] }
  | { readonly accepted: false; readonly reason: string };

function reject(reason: string): CommandVerdict {
  return { accepted: false, reason };
}

/** Clamps each joint into its limits, naming the joints that were outside. */
function clampToLimits(targetRad: Float64Array, jointNames: readonly string[], limits: readonly JointLimits[]): CommandVerdict {
  const clampedJoints: string[] = [];
  for (let j = 0; j < targetRad.length; j++) {
    const { lowerRad, upperRad } = limits[j]!;
    const value = targetRad[j]!;
    if (value < lowerRad || value > upperRad) {
      targetRad[j] = Math.min(upperRad, Math.max(lowerRad, value));
      clampedJoints.push(jointNames[j]!);
    }
  }
  return { accepted: true, targetRad, clampedJoints };
}

/**
 * A JointState command: joints by name, a subset allowed (the others keep `currentRad`, the target in
 * force or the present position).
 */
export function jointStateCommand(
  names: readonly string[],
  positions: ArrayLike<number>,
  jointNames: readonly string[],
  limits: readonly JointLimits[],
  currentRad: ArrayLike<number>,
): CommandVerdict {
  if (names.length === 0) return reject("JointState command names no joint");
  if (positions.length !== names.length) return reject(`JointState command has ${names.length} names and ${positions.length} positions`);
  const target = Float64Array.from(currentRad);
  const seen = new Set<string>();
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    const j = jointNames.indexOf(name);
    if (j < 0) return reject(`JointState command names unknown joint ${describeValue(name)}; the controller's joints are ${jointNames.join(", ")}`);
    if (seen.has(name)) return reject(`JointState command names joint '${name}' twice`);
    seen.add(name);
    const value = positions[i]!;
    if (!Number.isFinite(value)) return reject(`JointState command: ${name} position is ${value}, expected a finite number of radians`);
    target[j] = value;
  }
  return clampToLimits(target, jointNames, limits);
}

/** A Float64MultiArray command: one position per joint, in `jointNames` order. */
export function arrayCommand(data: ArrayLike<number>, jointNames: readonly string[], limits: readonly JointLimits[]): CommandVerdict {
  if (data.length !== jointNames.length) return reject(`Float64MultiArray command has ${data.length} values, expected ${jointNames.length} (${jointNames.join(", ")})`);
  const target = Float64Array.from(data);
  for (let j = 0; j < target.length; j++) {
    if (!Number.isFinite(target[j]!)) return reject(`Float64MultiArray command: ${jointNames[j]} position is ${target[j]}, expected a finite number of radians`);
  }
  return clampToLimits(target, jointNames, limits);
}
