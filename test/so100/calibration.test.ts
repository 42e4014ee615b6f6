import { mkdtempSync, writeFileSync } from "node:fs";
import os, { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { armJoints } from "../../src/so100/arm.js";
import { SO100_JOINTS, SO101_URDF_LIMITS_RAD } from "../../src/so100/calibration.js";
import { expandHome, readCalibrationFile } from "../../src/so100/calibration-file.js";
import { GoalLimiter, RAD_PER_TICK, jointLimits } from "../../src/so100/limits.js";
import { SIM_CALIBRATION } from "../../src/so100/sim-arm.js";
import { ticksToRadians } from "../../src/so100/units.js";

describe("LeRobot calibration files", () => {
  it("reads them as lerobot-calibrate writes them and names what is wrong", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "so100-cal-"));
    const file = path.join(dir, "my_arm.json");
    writeFileSync(file, JSON.stringify(SIM_CALIBRATION, null, 4));
    expect(readCalibrationFile(file)).toEqual(SIM_CALIBRATION);
    expect(() => readCalibrationFile(path.join(dir, "nope.json"), "calibration_file")).toThrow(/calibration_file .*nope\.json: does not exist; LeRobot writes them to ~\/\.cache\/huggingface\/lerobot\/calibration\/robots\/so101_follower\/<robot id>\.json/);
    writeFileSync(file, "{ not json");
    expect(() => readCalibrationFile(file)).toThrow(/my_arm\.json: not JSON/);
    expect(expandHome("~/x.json")).toBe(path.join(os.homedir(), "x.json"));
    expect(expandHome("/abs/x.json")).toBe("/abs/x.json");
  });

  it("names a joint the calibration lacks and two joints on one servo", () => {
    expect(() => armJoints(["shoulder_pan", "tool"], SIM_CALIBRATION, "cal.json")).toThrow(/cal\.json: no calibration for joint 'tool'/);
    expect(() => armJoints(["shoulder_pan", "elbow_flex"], { ...SIM_CALIBRATION, elbow_flex: { ...SIM_CALIBRATION.elbow_flex!, id: 1 } }, "cal.json")).toThrow(/shares servo id 1/);
  });
});

describe("joint limits", () => {
  it("are the calibrated range intersected with the URDF limits, in whole ticks inside both", () => {
    const joints = armJoints(SO100_JOINTS, SIM_CALIBRATION, "sim");
    for (const joint of joints) {
      const calibrated = [ticksToRadians(joint.calibration.range_min, joint.calibration), ticksToRadians(joint.calibration.range_max, joint.calibration)];
      const urdf = SO101_URDF_LIMITS_RAD[joint.name as (typeof SO100_JOINTS)[number]];
      expect(joint.limits.lowerRad).toBeGreaterThanOrEqual(Math.max(calibrated[0]!, urdf[0]) - 1e-12);
      expect(joint.limits.upperRad).toBeLessThanOrEqual(Math.min(calibrated[1]!, urdf[1]) + 1e-12);
      expect(joint.limits.upperRad - joint.limits.lowerRad).toBeGreaterThan(Math.min(calibrated[1]!, urdf[1]) - Math.max(calibrated[0]!, urdf[0]) - 2 * RAD_PER_TICK);
    }
    // wrist_roll's calibrated range is the whole turn: the URDF bounds it.
    expect(joints[4]!.limits.upperRad).toBeCloseTo(2.84121, 2);
    // The gripper's calibrated range is narrower than the URDF's at the top.
    expect(joints[5]!.limits.upperTicks).toBe(SIM_CALIBRATION.gripper!.range_max);
    expect(() => jointLimits("j", { id: 1, drive_mode: 0, homing_offset: 0, range_min: 0, range_max: 100 }, [2, 3])).toThrow(/j: the calibrated range 0\.\.100 ticks and the URDF limits \[2, 3\] rad do not overlap/);
  });

  it("the limiter resumes at the velocity limit after a pause instead of jumping by v × pause", () => {
    const limits = [{ lowerRad: -3, upperRad: 3, lowerTicks: -2000, upperTicks: 2000 }];
    const limiter = new GoalLimiter({ limits, maxVelocityRadS: 1, maxStepIntervalS: 0.04 });
    limiter.reset([0], 0n);
    const goal = limiter.step([1000], 10_000_000_000n)!;
    expect(goal[0]! * RAD_PER_TICK).toBeLessThanOrEqual(1 * 0.04);
    expect(goal[0]).toBe(Math.floor(0.04 / RAD_PER_TICK));
    expect(limiter.step([1000], 10_000_000_000n)).toBeUndefined();
  });
});
