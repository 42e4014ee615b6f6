import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseCalibration, type MotorCalibration } from "../../src/so100/calibration.js";
import {
  fromRadians,
  radiansToDegrees,
  radiansToTicks,
  ticksToDegrees,
  ticksToRange0To100,
  ticksToRangeM100,
  toRadians,
} from "../../src/so100/units.js";

const motor: MotorCalibration = { id: 2, drive_mode: 0, homing_offset: 12, range_min: 800, range_max: 3200 };

describe("SO-100 units", () => {
  it("converts radians to degrees by 180/π", () => {
    expect(radiansToDegrees(Math.PI)).toBeCloseTo(180, 12);
    expect(fromRadians(-Math.PI / 2, "degrees")).toBeCloseTo(-90, 12);
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
