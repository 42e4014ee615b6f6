/** Reading a LeRobot calibration JSON file (the I/O side of calibration.ts). */
import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { InputError } from "../errors.js";
import { parseCalibration, type Calibration } from "./calibration.js";

/** Where `lerobot-calibrate` writes an SO-101 follower's calibration (`<id>.json` inside). */
export const LEROBOT_CALIBRATION_DIR = "~/.cache/huggingface/lerobot/calibration/robots/so101_follower";

/** `~/x` → the home folder's x, as a shell would. */
export function expandHome(file: string): string {
  return file === "~" || file.startsWith("~/") ? path.join(os.homedir(), file.slice(1)) : file;
}

/** Reads and validates a calibration file as LeRobot writes it; `what` names the setting in errors. */
export function readCalibrationFile(file: string, what = "calibration file"): Calibration {
  const resolved = expandHome(file);
  let text: string;
  try {
    text = readFileSync(resolved, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(`${what} ${file}: ${code === "ENOENT" ? "does not exist" : `cannot be read (${code ?? String(error)})`}; LeRobot writes them to ${LEROBOT_CALIBRATION_DIR}/<robot id>.json`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new InputError(`${what} ${file}: not JSON (${(error as Error).message})`);
  }
  return parseCalibration(json, file);
}
