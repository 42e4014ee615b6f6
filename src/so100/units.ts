/**
 * Joint units between ROS and LeRobot policies, in one place.
 *
 * ROS topics carry radians (REP-103). LeRobot datasets carry one of:
 * - DEGREES (body joints, LeRobot default since 2026-02): from raw ticks `(raw − (min+max)/2) · 360 / 4095`;
 *   from ROS radians the plain conversion `rad · 180/π` (the calibrated zero is the range centre).
 * - RANGE_M100_100 (older body joints): `((clip(raw) − min)/(max − min)) · 200 − 100`.
 * - RANGE_0_100 (gripper): `((clip(raw) − min)/(max − min)) · 100`.
 * `drive_mode` 1 inverts the range modes. The range modes need the calibration: radians → raw ticks first,
 * with raw = centre + rad · 4096/(2π) (the STS3215 turns 4096 ticks per revolution, centred on the range
 * middle as LeRobot's calibration does).
 */
import type { MotorCalibration } from "./calibration.js";

export type JointUnit = "degrees" | "range_m100_100" | "range_0_100";

/** STS3215: ticks per full turn. */
export const TICKS_PER_TURN = 4096;
/** LeRobot's DEGREES scale uses the largest tick value, 4095. */
const DEGREES_TICK_SPAN = 4095;

export function radiansToDegrees(rad: number): number {
  return (rad * 180) / Math.PI;
}

export function degreesToRadians(deg: number): number {
  return (deg * Math.PI) / 180;
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
  if (unit === "degrees") return radiansToDegrees(rad);
  if (motor === undefined) throw new Error(`unit ${unit} needs a calibration`);
  const raw = radiansToTicks(rad, motor);
  return unit === "range_m100_100" ? ticksToRangeM100(raw, motor) : ticksToRange0To100(raw, motor);
}

/** A policy unit → ROS radians. */
export function toRadians(value: number, unit: JointUnit, motor?: MotorCalibration): number {
  if (unit === "degrees") return degreesToRadians(value);
  if (motor === undefined) throw new Error(`unit ${unit} needs a calibration`);
  const raw = unit === "range_m100_100" ? rangeM100ToTicks(value, motor) : range0To100ToTicks(value, motor);
  return ticksToRadians(raw, motor);
}
