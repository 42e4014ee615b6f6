import { z } from "zod";
import { InputError } from "../errors.js";

/** SO-100 / SO-101 joints in LeRobot's order (servo ids 1–6). */
export const SO100_JOINTS = ["shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper"] as const;

/** One motor of a LeRobot calibration file (`<robot id>.json`). */
export const MotorCalibrationSchema = z.object({
  id: z.number().int(),
  drive_mode: z.number().int().min(0).max(1),
  homing_offset: z.number().int(),
  range_min: z.number().int().min(0).max(4095),
  range_max: z.number().int().min(0).max(4095),
});
export type MotorCalibration = z.infer<typeof MotorCalibrationSchema>;

/** A LeRobot calibration file: motor name → calibration. */
export const CalibrationSchema = z.record(z.string(), MotorCalibrationSchema);
export type Calibration = z.infer<typeof CalibrationSchema>;

/** Validates the parsed JSON of a LeRobot calibration file; `source` names it in errors. */
export function parseCalibration(json: unknown, source: string): Calibration {
  const result = CalibrationSchema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new InputError(`${source}: ${issue.path.join(".") || "(root)"}: ${issue.message}; expected LeRobot calibration JSON {motor: {id, drive_mode, homing_offset, range_min, range_max}}`);
  }
  for (const [name, motor] of Object.entries(result.data)) {
    if (motor.range_max <= motor.range_min) {
      throw new InputError(`${source}: ${name}.range_max (${motor.range_max}) is not above range_min (${motor.range_min})`);
    }
  }
  return result.data;
}

export type So100Joint = (typeof SO100_JOINTS)[number];

/**
 * URDF joint limits of the SO-101 in radians, TheRobotStudio "new calib" (REFERENCE §4). The controller's
 * joint limits are these intersected with the calibrated range.
 */
export const SO101_URDF_LIMITS_RAD: Readonly<Record<So100Joint, readonly [number, number]>> = {
  shoulder_pan: [-1.91986, 1.91986],
  shoulder_lift: [-1.74533, 1.74533],
  elbow_flex: [-1.69, 1.69],
  wrist_flex: [-1.65806, 1.65806],
  wrist_roll: [-2.74385, 2.84121],
  gripper: [-0.174533, 1.74533],
};
