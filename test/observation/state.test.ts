import { describe, expect, it } from "vitest";
import { jointPositionsToState, stateMapping } from "../../src/observation/state.js";
import type { Calibration } from "../../src/so100/calibration.js";
import { SO100_JOINTS } from "../../src/so100/calibration.js";

const calibration: Calibration = {
  shoulder_pan: { id: 1, drive_mode: 0, homing_offset: 0, range_min: 1000, range_max: 3000 },
  gripper: { id: 6, drive_mode: 1, homing_offset: 0, range_min: 2000, range_max: 3024 },
};

describe("joint states → policy state", () => {
  it("picks the policy's joints by name, in its order, in degrees", () => {
    const mapping = stateMapping({ joints: ["elbow_flex", "shoulder_pan"], names: [], units: ["degrees"], calibration: undefined }, "params");
    expect(mapping.names).toEqual(["elbow_flex", "shoulder_pan"]);
    const state = jointPositionsToState([...SO100_JOINTS], [0.5, 0, Math.PI / 2, 0, 0, 0], mapping, "/joint_states at 1 s");
    // LeRobot degrees: 360/4095 per tick of a 4096-tick turn, so π/2 rad = 90·4096/4095.
    expect(Array.from(state)).toEqual([(90 * 4096) / 4095, (0.5 * 180 * 4096) / (Math.PI * 4095)]);
  });

  it("converts the LeRobot range units through the calibration (drive mode inverting), radians untouched", () => {
    const mapping = stateMapping({ joints: ["shoulder_pan", "gripper", "wrist_roll"], names: ["pan.pos", "gripper.pos", "roll.pos"], units: ["range_m100_100", "range_0_100", "radians"], calibration }, "params");
    // pan: centre 2000, +π/4 rad = +512 ticks → (2512 − 1000)/2000·200 − 100 = 51.2
    // gripper: centre 2512, −π/8 rad = −256 ticks → 2256: (256/1024)·100 = 25, inverted → 75
    const state = jointPositionsToState(["gripper", "wrist_roll", "shoulder_pan"], [-Math.PI / 8, 0.3, Math.PI / 4], mapping, "js");
    expect(state[0]).toBeCloseTo(51.2, 10);
    expect(state[1]).toBeCloseTo(75, 10);
    expect(state[2]).toBe(0.3);
    expect(mapping.names).toEqual(["pan.pos", "gripper.pos", "roll.pos"]);
  });

  it("names the configuration or message that is wrong", () => {
    const base = { joints: ["shoulder_pan", "gripper"], names: [] as string[], units: ["degrees" as const], calibration: undefined };
    expect(() => stateMapping({ ...base, names: ["a"] }, "params of observation_aggregator")).toThrow(/params of observation_aggregator: 1 state names for 2 joints/);
    expect(() => stateMapping({ ...base, units: ["degrees", "degrees", "degrees"] }, "p")).toThrow(/3 state units for 2 joints; expected one unit for all or one per joint/);
    expect(() => stateMapping({ ...base, units: ["degrees", "range_0_100"] }, "p")).toThrow(/joint 'gripper' is in range_0_100, which needs its motor in a LeRobot calibration file; none was given/);
    expect(() => stateMapping({ ...base, joints: ["elbow_flex"], units: ["range_m100_100"], calibration }, "p")).toThrow(/the calibration has no such motor/);
    const mapping = stateMapping(base, "p");
    expect(() => jointPositionsToState(["shoulder_pan"], [0], mapping, "/so100/joint_states at 3.000000000 s")).toThrow(
      "/so100/joint_states at 3.000000000 s: joint 'gripper' is not in this JointState (it has: shoulder_pan)",
    );
    expect(() => jointPositionsToState(["shoulder_pan", "gripper"], [0], mapping, "js")).toThrow(/joint 'gripper' is not in this JointState/);
  });
});
