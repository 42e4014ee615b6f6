import { readFileSync } from "node:fs";
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

/** Reads and validates a LeRobot calibration JSON file. */
export function readCalibrationFile(file: string): Calibration {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new InputError(`calibration file ${file}: cannot read it as JSON (${(error as Error).message})`);
  }
  return parseCalibration(json, file);
}
