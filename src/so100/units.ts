/**
 * Joint units between ROS and LeRobot policies, in one place.
 *
 * ROS topics carry radians (REP-103), true angles: the STS3215 turns 4096 ticks per revolution, and the
 * calibrated zero is the middle of the calibrated range (as LeRobot's DEGREES), so
 * `rad = (raw − (min+max)/2) · 2π/4096`. URDF limits and everything on ROS use these radians.
 * LeRobot datasets carry one of:
 * - DEGREES (body joints, LeRobot default since 2026-02): `(raw − (min+max)/2) · 360 / 4095`. LeRobot
 *   divides by 4095, so its "degree" is 4096/4095 of a true one; from ROS radians therefore
 *   `deg = rad · 180/π · 4096/4095`. With that factor a joint_states recording converted to degrees equals
 *   what LeRobot records from the same ticks, and a policy's degrees command the ticks LeRobot would send.
 * - RANGE_M100_100 (older body joints): `((clip(raw) − min)/(max − min)) · 200 − 100`.
 * - RANGE_0_100 (gripper): `((clip(raw) − min)/(max − min)) · 100`.
 * `drive_mode` 1 inverts the range modes (not DEGREES, as in LeRobot). The range modes go through raw
 * ticks and need the calibration.
 */
import type { MotorCalibration } from "./calibration.js";

export type JointUnit = "degrees" | "range_m100_100" | "range_0_100";

/** STS3215: ticks per full turn. */
export const TICKS_PER_TURN = 4096;
/** LeRobot's DEGREES scale uses the largest tick value, 4095. */
const DEGREES_TICK_SPAN = 4095;

/** ROS radians → LeRobot DEGREES (360/4095 per tick, see above). */
export function radiansToLerobotDegrees(rad: number): number {
  return (((rad * TICKS_PER_TURN) / (2 * Math.PI)) * 360) / DEGREES_TICK_SPAN;
}

/** LeRobot DEGREES → ROS radians. */
export function lerobotDegreesToRadians(deg: number): number {
  return (((deg * DEGREES_TICK_SPAN) / 360) * 2 * Math.PI) / TICKS_PER_TURN;
}

function rangeCentre(motor: MotorCalibration): number {
  return (motor.range_min + motor.range_max) / 2;
}

/** ROS radians → raw ticks, zero at the middle of the calibrated range. */
export function radiansToTicks(rad: number, motor: MotorCalibration): number {
  return rangeCentre(motor) + (rad * TICKS_PER_TURN) / (2 * Math.PI);
}

/** Raw ticks → ROS radians. */
export function ticksToRadians(raw: number, motor: MotorCalibration): number {
  return ((raw - rangeCentre(motor)) * 2 * Math.PI) / TICKS_PER_TURN;
}

/** LeRobot DEGREES from raw ticks. */
export function ticksToDegrees(raw: number, motor: MotorCalibration): number {
  return ((raw - rangeCentre(motor)) * 360) / DEGREES_TICK_SPAN;
}

function clip(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}

/** LeRobot RANGE_M100_100 from raw ticks (clipped to the calibrated range, inverted by drive_mode). */
export function ticksToRangeM100(raw: number, motor: MotorCalibration): number {
  const value = ((clip(raw, motor.range_min, motor.range_max) - motor.range_min) / (motor.range_max - motor.range_min)) * 200 - 100;
  return motor.drive_mode === 1 ? -value : value;
}

/** LeRobot RANGE_0_100 from raw ticks (clipped, inverted by drive_mode). */
export function ticksToRange0To100(raw: number, motor: MotorCalibration): number {
  const value = ((clip(raw, motor.range_min, motor.range_max) - motor.range_min) / (motor.range_max - motor.range_min)) * 100;
  return motor.drive_mode === 1 ? 100 - value : value;
}

/** Inverse of `ticksToRangeM100` inside the range. */
export function rangeM100ToTicks(value: number, motor: MotorCalibration): number {
  const v = motor.drive_mode === 1 ? -value : value;
  return motor.range_min + ((v + 100) / 200) * (motor.range_max - motor.range_min);
}

/** Inverse of `ticksToRange0To100` inside the range. */
export function range0To100ToTicks(value: number, motor: MotorCalibration): number {
  const v = motor.drive_mode === 1 ? 100 - value : value;
  return motor.range_min + (v / 100) * (motor.range_max - motor.range_min);
}

/** ROS radians → a policy unit. The range units need the motor's calibration. */
export function fromRadians(rad: number, unit: JointUnit, motor?: MotorCalibration): number {
  if (unit === "degrees") return radiansToLerobotDegrees(rad);
  if (motor === undefined) throw new Error(`unit ${unit} needs a calibration`);
  const raw = radiansToTicks(rad, motor);
  return unit === "range_m100_100" ? ticksToRangeM100(raw, motor) : ticksToRange0To100(raw, motor);
}

/** A policy unit → ROS radians. */
export function toRadians(value: number, unit: JointUnit, motor?: MotorCalibration): number {
  if (unit === "degrees") return lerobotDegreesToRadians(value);
  if (motor === undefined) throw new Error(`unit ${unit} needs a calibration`);
  const raw = unit === "range_m100_100" ? rangeM100ToTicks(value, motor) : range0To100ToTicks(value, motor);
  return ticksToRadians(raw, motor);
}
