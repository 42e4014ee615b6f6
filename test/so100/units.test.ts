import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseCalibration, type MotorCalibration } from "../../src/so100/calibration.js";
import {
  fromRadians,
  lerobotDegreesToRadians,
  radiansToLerobotDegrees,
  radiansToTicks,
  ticksToDegrees,
  ticksToRadians,
  ticksToRange0To100,
  ticksToRangeM100,
  toRadians,
} from "../../src/so100/units.js";

const motor: MotorCalibration = { id: 2, drive_mode: 0, homing_offset: 12, range_min: 800, range_max: 3200 };

describe("SO-100 units", () => {
  it("ROS radians are true angles: 4096 ticks per turn, zero at the middle of the calibrated range", () => {
    expect(ticksToRadians(2000 + 1024, motor)).toBeCloseTo(Math.PI / 2, 12);
    expect(radiansToTicks(-Math.PI, motor)).toBe(2000 - 2048);
  });

  it("LeRobot degrees from ROS radians equal LeRobot's degrees from the same ticks (its 4095 divisor)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4095 }), fc.integer({ min: 0, max: 2000 }), fc.integer({ min: 1, max: 2095 }), (raw, rangeMin, span) => {
        const m = { ...motor, range_min: rangeMin, range_max: rangeMin + span };
        // What the converter does with a joint_states recording vs what LeRobot records itself.
        expect(fromRadians(ticksToRadians(raw, m), "degrees")).toBeCloseTo(ticksToDegrees(raw, m), 9);
        // And a policy's degrees land on the ticks LeRobot's unnormalize computes (before its int()).
        const degrees = ticksToDegrees(raw, m);
        expect(radiansToTicks(toRadians(degrees, "degrees"), m)).toBeCloseTo((degrees * 4095) / 360 + (m.range_min + m.range_max) / 2, 9);
      }),
    );
    expect(radiansToLerobotDegrees(Math.PI)).toBeCloseTo((180 * 4096) / 4095, 12);
    expect(lerobotDegreesToRadians(radiansToLerobotDegrees(1.234))).toBeCloseTo(1.234, 14);
  });

  it("follows LeRobot's formulas from raw ticks", () => {
    expect(ticksToDegrees(2000 + 4095 / 4, motor)).toBeCloseTo(90, 9); // centre is 2000
    expect(ticksToRangeM100(800, motor)).toBe(-100);
    expect(ticksToRangeM100(3200, motor)).toBe(100);
    expect(ticksToRangeM100(2000, motor)).toBe(0);
    expect(ticksToRangeM100(5000, motor)).toBe(100); // clipped
    expect(ticksToRange0To100(800, motor)).toBe(0);
    expect(ticksToRange0To100(2600, motor)).toBe(75);
    expect(ticksToRange0To100(2600, { ...motor, drive_mode: 1 })).toBe(25);
    expect(ticksToRangeM100(2600, { ...motor, drive_mode: 1 })).toBe(-50);
  });

  it("maps radians through raw ticks for the range units", () => {
    expect(radiansToTicks(0, motor)).toBe(2000);
    const quarterTurnTicks = 1024;
    expect(fromRadians(Math.PI / 2, "range_m100_100", motor)).toBeCloseTo(((2000 + quarterTurnTicks - 800) / 2400) * 200 - 100, 9);
    expect(() => fromRadians(0, "range_0_100")).toThrow(/calibration/);
  });

  it("round-trips every unit inside the calibrated range", () => {
    fc.assert(
      fc.property(fc.double({ min: -1.5, max: 1.5, noNaN: true }), fc.constantFrom("degrees", "range_m100_100", "range_0_100" as const), fc.integer({ min: 0, max: 1 }), (rad, unit, driveMode) => {
        const m = { ...motor, drive_mode: driveMode };
        expect(toRadians(fromRadians(rad, unit, m), unit, m)).toBeCloseTo(rad, 9);
      }),
    );
  });

  it("validates calibration JSON and names the bad field", () => {
    expect(parseCalibration({ gripper: motor }, "cal.json").gripper).toEqual(motor);
    expect(() => parseCalibration({ gripper: { ...motor, range_min: "x" } }, "cal.json")).toThrow(/cal\.json: gripper\.range_min/);
    expect(() => parseCalibration({ gripper: { ...motor, range_max: 700 } }, "cal.json")).toThrow(/range_max \(700\) is not above range_min/);
  });
});
