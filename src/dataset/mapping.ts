/**
 * The `convert` mapping: which topics become which LeRobot features, in which units, at which rate.
 * See config/convert.sample.yaml for a documented example.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { InputError } from "../errors.js";
import type { Calibration } from "../so100/calibration.js";
import { readCalibrationFile } from "../so100/calibration-file.js";
import { storedVideoSize } from "./video.js";

const Unit = z.enum(["degrees", "range_m100_100", "range_0_100", "radians"]);

const JointsSchema = z.object({
  topic: z.string().min(1),
  /** Joint names as they appear in the JointState's `name` array, in feature order. */
  joints: z.array(z.string().min(1)).min(1),
  /** One unit for all joints, or a unit per joint (missing joints take `default`, else degrees). */
  units: z.union([Unit, z.record(z.string(), Unit)]).default("degrees"),
  /** Feature names (default `<joint>.pos`). */
  names: z.array(z.string().min(1)).optional(),
});

const CameraSchema = z.object({
  topic: z.string().min(1),
  /** Frame size in the dataset (frames of another size are resized to it); default: the first frame's size. */
  width: z.number().int().positive().optional(),
  height: z.number().int().positive().optional(),
});

export const MappingSchema = z
  .object({
    fps: z.number().positive().max(1000),
    robot_type: z.string().default("so100_follower"),
    /** LeRobot calibration JSON, needed by the range units; relative to the mapping file. */
    calibration: z.string().optional(),
    cameras: z.record(z.string().regex(/^[A-Za-z0-9_]+$/, "a camera key is letters, digits and _"), CameraSchema).default({}),
    state: JointsSchema,
    action: JointsSchema,
    task: z.union([z.object({ constant: z.string().min(1) }).strict(), z.object({ topic: z.string().min(1) }).strict()]),
    resampling: z
      .object({ policy: z.enum(["hold", "nearest"]).default("hold"), tolerance_s: z.number().positive().default(0.1) })
      .strict()
      .default({ policy: "hold", tolerance_s: 0.1 }),
    episodes: z
      .discriminatedUnion("split", [
        z.object({ split: z.literal("per_bag") }).strict(),
        z.object({ split: z.literal("time_gap"), gap_s: z.number().positive() }).strict(),
        z.object({ split: z.literal("topic"), topic: z.string().min(1) }).strict(),
      ])
      .default({ split: "per_bag" }),
    video: z
      .object({ preset: z.number().int().min(0).max(13).default(10), crf: z.number().int().min(0).max(63).default(30), gop: z.number().int().min(1).default(2) })
      .strict()
      .default({ preset: 10, crf: 30, gop: 2 }),
  })
  .strict();

export type Mapping = z.infer<typeof MappingSchema>;
export type JointsMapping = z.infer<typeof JointsSchema>;

export interface LoadedMapping {
  mapping: Mapping;
  calibration: Calibration | undefined;
  source: string;
}

/** Validates a parsed mapping; `source` names it in errors, `baseDir` resolves the calibration path. */
export function parseMapping(document: unknown, source: string, baseDir: string): LoadedMapping {
  const result = MappingSchema.safeParse(document);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new InputError(`${source}: ${issue.path.join(".") || "(root)"}: ${issue.message}`);
  }
  const mapping = result.data;
  for (const part of ["state", "action"] as const) {
    const joints = mapping[part];
    if (joints.names !== undefined && joints.names.length !== joints.joints.length) {
      throw new InputError(`${source}: ${part}.names has ${joints.names.length} entries, expected one per joint (${joints.joints.length})`);
    }
  }
  for (const [key, camera] of Object.entries(mapping.cameras)) {
    if (camera.width !== undefined && camera.height !== undefined) checkVideoSize(`${source}: cameras.${key}`, camera.width, camera.height);
  }
  const usesRange = (["state", "action"] as const).some((part) => {
    const units = mapping[part].units;
    return typeof units === "string" ? units.startsWith("range") : Object.values(units).some((unit) => unit.startsWith("range"));
  });
  let calibration: Calibration | undefined;
  if (mapping.calibration !== undefined) {
    calibration = readCalibrationFile(path.resolve(baseDir, mapping.calibration), `${source}: calibration file`);
  } else if (usesRange) {
    throw new InputError(`${source}: range_m100_100 / range_0_100 units need 'calibration:' (a LeRobot calibration JSON)`);
  }
  return { mapping, calibration, source };
}

export function loadMapping(file: string): LoadedMapping {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    throw new InputError(`${file}: mapping file cannot be read`);
  }
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    throw new InputError(`${file}: not valid YAML (${(error as Error).message.split("\n")[0]})`);
  }
  return parseMapping(document, file, path.dirname(file));
}

/** Throws an InputError (naming `where` and the size) when the video layer cannot store frames of this size. */
export function checkVideoSize(where: string, width: number, height: number): void {
  try {
    storedVideoSize(width, height);
  } catch (error) {
    if (error instanceof RangeError) throw new InputError(`${where}: frame size ${error.message}; set a smaller width/height in the mapping`);
    throw error;
  }
}

/** The unit of `joint` under a joints mapping. */
export function unitOf(joints: JointsMapping, joint: string): z.infer<typeof Unit> {
  if (typeof joints.units === "string") return joints.units;
  return joints.units[joint] ?? joints.units.default ?? "degrees";
}
