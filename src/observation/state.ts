/**
 * Joint states (ROS radians) → a policy's state vector: the named joints, in the policy's order and in its
 * dataset's units (src/so100/units.ts; the range units need the LeRobot calibration). The dataset converter
 * and the observation aggregator both go through here, so a policy sees the units it was trained on.
 */
import { InputError } from "../errors.js";
import type { PolicyUnit } from "../policy/manifest.js";
import type { Calibration } from "../so100/calibration.js";
import { fromRadians } from "../so100/units.js";

/** Which joints become the state, under which names and in which units. */
export interface StateMapping {
  /** Joint names as the JointState's `name` array spells them, in the policy's state order. */
  readonly joints: readonly string[];
  /** The policy's names for them (its manifest's `state.names`). */
  readonly names: readonly string[];
  /** One unit per joint. */
  readonly units: readonly PolicyUnit[];
  readonly calibration: Calibration | undefined;
}

/**
 * Checks a mapping given as configuration: `names` empty means the joint names, `units` holds one unit
 * for all joints or one per joint, and a range unit needs its motor in the calibration. `source` names
 * the configuration in errors.
 */
export function stateMapping(
  config: { joints: readonly string[]; names: readonly string[]; units: readonly PolicyUnit[]; calibration: Calibration | undefined },
  source: string,
): StateMapping {
  const { joints, calibration } = config;
  const problem = stateShapeProblem(config);
  if (problem !== undefined) throw new InputError(`${source}: ${problem}`);
  const names = config.names.length === 0 ? joints : config.names;
  const units = joints.map((_, i) => config.units[config.units.length === 1 ? 0 : i]!);
  units.forEach((unit, i) => {
    if (unit.startsWith("range") && calibration?.[joints[i]!] === undefined) {
      throw new InputError(`${source}: joint '${joints[i]}' is in ${unit}, which needs its motor in a LeRobot calibration file; ${calibration === undefined ? "none was given" : "the calibration has no such motor"}`);
    }
  });
  return { joints, names, units, calibration };
}

/** What is wrong with the counts of joints, names and units, if anything (the calibration aside). */
export function stateShapeProblem(config: { joints: readonly string[]; names: readonly string[]; units: readonly PolicyUnit[] }): string | undefined {
  const { joints, names, units } = config;
  if (joints.length === 0) return "no state joints; expected the JointState names of the policy's state";
  if (names.length !== 0 && names.length !== joints.length) return `${names.length} state names for ${joints.length} joints; expected one name per joint (or none: the joint names)`;
  if (units.length !== 1 && units.length !== joints.length) return `${units.length} state units for ${joints.length} joints; expected one unit for all or one per joint`;
  return undefined;
}

/** Positions (radians) of a JointState → the mapped joints in their units; `where` names the message in errors. */
export function jointPositionsToState(jointNames: readonly string[], positionsRad: ArrayLike<number>, mapping: Pick<StateMapping, "joints" | "units" | "calibration">, where: string): Float64Array {
  const state = new Float64Array(mapping.joints.length);
  mapping.joints.forEach((joint, i) => {
    const index = jointNames.indexOf(joint);
    if (index < 0 || index >= positionsRad.length) {
      throw new InputError(`${where}: joint '${joint}' is not in this JointState (it has: ${jointNames.join(", ") || "no names"})`);
    }
    const rad = positionsRad[index]!;
    const unit = mapping.units[i]!;
    if (unit === "radians") {
      state[i] = rad;
      return;
    }
    const motor = mapping.calibration?.[joint];
    if (unit !== "degrees" && motor === undefined) throw new InputError(`${where}: the calibration has no motor '${joint}', which unit ${unit} needs`);
    state[i] = fromRadians(rad, unit, motor);
  });
  return state;
}
