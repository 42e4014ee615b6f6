import { writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { InputError } from "../../src/errors.js";
import { CalibrationMismatchError } from "../../src/so100/arm.js";
import { SO100_JOINTS } from "../../src/so100/calibration.js";
import { REGISTERS } from "../../src/so100/control-table.js";
import { RAD_PER_TICK } from "../../src/so100/limits.js";
import { Instruction, StatusError } from "../../src/so100/protocol.js";
import { SIM_CALIBRATION } from "../../src/so100/sim-arm.js";
import { callEnableTorque, callHold, startControllerFixture, type ControllerFixture } from "./controller-fixture.js";

let fixture: ControllerFixture | undefined;
afterEach(async () => {
  await fixture?.stop();
  fixture = undefined;
});

const ZERO = SO100_JOINTS.map(() => 0);

function torqueRegisters(f: ControllerFixture): number[] {
  return f.sim.servos.map((s) => s.get("Torque_Enable"));
}

/** Index in the traffic log of the first instruction matching. */
function firstIndex(f: ControllerFixture, match: (code: number, parameters: Uint8Array) => boolean): number {
  return f.traffic.findIndex((t) => t.instructions.some((i) => match(i.code, i.parameters)));
}

describe("SO-100 controller: torque", () => {
  it("switches torque off at start and ignores commands until ~/enable_torque; then holds the present position", async () => {
    // Servos left powered with torque on by an earlier run.
    fixture = await startControllerFixture({}, { prepare: (sim) => sim.servos.forEach((servo) => servo.write(REGISTERS.Torque_Enable.address, [1])) });
    expect(torqueRegisters(fixture)).toEqual([0, 0, 0, 0, 0, 0]);
    fixture.command([0.3, 0, 0, 0, 0, 0]);
    await fixture.advanceMs(200);
    expect(fixture.goalWrites()).toEqual([]);
    expect(fixture.jointStates.length).toBeGreaterThan(5);
    const response = await callEnableTorque(fixture, true);
    expect(response.success).toBe(true);
    expect(torqueRegisters(fixture)).toEqual([1, 1, 1, 1, 1, 1]);
    // The goal (= present) reached the servos before torque did.
    const goal = firstIndex(fixture, (code, p) => code === Instruction.SYNC_WRITE && p[0] === REGISTERS.Goal_Position.address);
    const torque = firstIndex(fixture, (code, p) => code === Instruction.WRITE && p[0] === REGISTERS.Torque_Enable.address && p[1] === 1);
    expect(goal).toBeGreaterThan(0);
    expect(goal).toBeLessThan(torque);
    const [hold] = fixture.goalWrites();
    const present = fixture.presentBefore(hold!.atNs);
    expect(hold!.goals).toEqual([1, 2, 3, 4, 5, 6].map((id) => present.get(id)));
    await fixture.advanceMs(0);
    expect(fixture.status("servo bus")!.values.commands_ignored).toBe("1");
  });

  it("switches torque on at start with torque_on_start, and off through ~/enable_torque false", async () => {
    fixture = await startControllerFixture({ torque_on_start: true });
    expect(torqueRegisters(fixture)).toEqual([1, 1, 1, 1, 1, 1]);
    expect((await callEnableTorque(fixture, false)).success).toBe(true);
    expect(torqueRegisters(fixture)).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it("answers a service whose bus work fails with success false and the reason", async () => {
    fixture = await startControllerFixture({ bus_retries: 0 });
    fixture.sim.joint("wrist_roll").errorBits = StatusError.OVERHEAT;
    const response = await callEnableTorque(fixture, true);
    expect(response).toEqual({ success: false, message: expect.stringMatching(/servo bus: .*servo 5 reports overheat/) });
    expect(torqueRegisters(fixture)).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it("refuses torque while a joint is outside its limits, naming it", async () => {
    fixture = await startControllerFixture();
    const elbow = fixture.joints[2]!;
    fixture.sim.joint("elbow_flex").moveByHand(elbow.limits.upperTicks + 200);
    const response = await callEnableTorque(fixture, true);
    await fixture.advanceMs(0);
    expect(response.success).toBe(false);
    expect(response.message).toMatch(/elbow_flex at 1\.\d+ rad is outside its limits \[-1\.\d+, 1\.\d+\]/);
    expect(torqueRegisters(fixture)).toEqual([0, 0, 0, 0, 0, 0]);
  });
});

describe("SO-100 controller: following joint_command", () => {
  it("moves toward the command no faster than max_joint_velocity_rad_s and publishes joint_states in radians", async () => {
    fixture = await startControllerFixture({ torque_on_start: true, max_joint_velocity_rad_s: 1 });
    for (let i = 0; i < 100; i++) {
      fixture.command([0.5, 0, 0, 0, 0, 0]);
      await fixture.advanceMs(20);
    }
    const last = fixture.jointStates.at(-1)!;
    expect(last.name).toEqual([...SO100_JOINTS]);
    expect(last.position[0]).toBeCloseTo(0.5, 1);
    const writes = fixture.goalWrites();
    for (let k = 1; k < writes.length; k++) {
      const dtS = Number(writes[k]!.atNs - writes[k - 1]!.atNs) / 1e9;
      expect(Math.abs(writes[k]!.goals[0]! - writes[k - 1]!.goals[0]!) * RAD_PER_TICK).toBeLessThanOrEqual(1 * dtS + 1e-9);
    }
    // 0.5 rad at 1 rad/s: the goal needs about half a second, not one write.
    const reached = writes.findIndex((w) => Math.abs(w.goals[0]! - fixture!.goalWrites()[0]!.goals[0]! - 0.5 / RAD_PER_TICK) < 2);
    expect(Number(writes[reached]!.atNs - writes[0]!.atNs) / 1e9).toBeGreaterThan(0.45);
  });

  it("clamps a command outside the joint limits to them, and counts it", async () => {
    fixture = await startControllerFixture({ torque_on_start: true, max_joint_velocity_rad_s: 10 });
    for (let i = 0; i < 50; i++) {
      fixture.command([5, 0, 0, 0, 0, 0]);
      await fixture.advanceMs(20);
    }
    const writes = fixture.goalWrites();
    expect(writes.at(-1)!.goals[0]).toBe(fixture.joints[0]!.limits.upperTicks);
    expect(Math.max(...writes.map((w) => w.goals[0]!))).toBe(fixture.joints[0]!.limits.upperTicks);
    await fixture.advanceMs(1000);
    expect(Number(fixture.status("servo bus")!.values.commands_clamped)).toBe(50);
  });

  it("rejects NaN, unknown joints and mismatched lengths whole, counting them, and keeps the last good target", async () => {
    fixture = await startControllerFixture({ torque_on_start: true });
    fixture.command([0.2], ["shoulder_pan"]);
    await fixture.advanceMs(20);
    // One per control period: the subscription keeps only the latest command.
    for (const [positions, names] of [
      [[Number.NaN, 0.4], ["shoulder_pan", "elbow_flex"]],
      [[0.4], ["elbow"]],
      [[0.4, 0.4], ["elbow_flex"]],
      [[Number.POSITIVE_INFINITY], ["wrist_flex"]],
    ] as const) {
      fixture.command([...positions], [...names]);
      await fixture.advanceMs(20);
    }
    for (let i = 0; i < 30; i++) await fixture.advanceMs(20);
    const final = fixture.goalWrites().at(-1)!.goals;
    const start = fixture.goalWrites()[0]!.goals;
    expect(final.slice(1)).toEqual(start.slice(1));
    expect(final[0]! - start[0]!).toBeCloseTo(0.2 / RAD_PER_TICK, -1);
    await fixture.advanceMs(1000);
    const bus = fixture.status("servo bus")!.values;
    expect(bus.commands_rejected).toBe("4");
    expect(bus.last_rejection).toMatch(/wrist_flex position is Infinity/);
  });

  it("takes Float64MultiArray commands in joint_names order", async () => {
    fixture = await startControllerFixture({ torque_on_start: true, command_type: "float64_multi_array" });
    for (let i = 0; i < 40; i++) {
      fixture.command([0, 0, 0.3, 0, 0, 0]);
      await fixture.advanceMs(20);
    }
    expect(fixture.jointStates.at(-1)!.position[2]).toBeCloseTo(0.3, 1);
    fixture.command([0, 0, 0.3]);
    await fixture.advanceMs(1000);
    expect(fixture.status("servo bus")!.values.last_rejection).toMatch(/has 3 values, expected 6/);
  });
});

describe("SO-100 controller: holding", () => {
  it("holds the present position when commands stop for command_timeout_ms, and resumes on the next command", async () => {
    fixture = await startControllerFixture({ torque_on_start: true, command_timeout_ms: 200, max_joint_velocity_rad_s: 5 });
    fixture.command([0.8, 0, 0, 0, 0, 0]);
    const commandNs = fixture.bus.clock.nowNs();
    await fixture.advanceMs(20);
    await fixture.advanceMs(400);
    const writes = fixture.goalWrites();
    const hold = writes.at(-1)!;
    // The hold is the present position read just before, and nothing moves after it.
    const present = fixture.presentBefore(hold.atNs);
    expect(hold.goals).toEqual([1, 2, 3, 4, 5, 6].map((id) => present.get(id)));
    expect(Number(hold.atNs - commandNs) / 1e6).toBeGreaterThan(200);
    expect(Number(hold.atNs - commandNs) / 1e6).toBeLessThanOrEqual(200 + 20);
    await fixture.advanceMs(500);
    expect(fixture.goalWrites().length).toBe(writes.length);
    expect(fixture.status("servo bus")?.message ?? "").toMatch(/holding \(watchdog\)/);
    fixture.command([0.8, 0, 0, 0, 0, 0]);
    await fixture.advanceMs(100);
    expect(fixture.goalWrites().length).toBeGreaterThan(writes.length);
  });

  it("holds on e_stop and ignores commands until released; after release it waits for a fresh command", async () => {
    fixture = await startControllerFixture({ torque_on_start: true, command_timeout_ms: 10_000 });
    fixture.command([0.5, 0, 0, 0, 0, 0]);
    await fixture.advanceMs(60);
    fixture.eStop(true);
    await fixture.advanceMs(0);
    const atStop = fixture.goalWrites().length;
    for (let i = 0; i < 10; i++) {
      fixture.command([0.5, 0, 0, 0, 0, 0]);
      await fixture.advanceMs(20);
    }
    expect(fixture.goalWrites().length).toBe(atStop);
    expect(torqueRegisters(fixture)).toEqual([1, 1, 1, 1, 1, 1]);
    fixture.eStop(false);
    await fixture.advanceMs(200);
    expect(fixture.goalWrites().length).toBe(atStop);
    fixture.command([0.5, 0, 0, 0, 0, 0]);
    await fixture.advanceMs(40);
    expect(fixture.goalWrites().length).toBeGreaterThan(atStop);
  });

  it("switches torque off on e_stop with e_stop_action torque_off, and keeps it off after release until ~/enable_torque", async () => {
    fixture = await startControllerFixture({ torque_on_start: true, e_stop_action: "torque_off" });
    fixture.eStop(true);
    await fixture.advanceMs(20);
    expect(torqueRegisters(fixture)).toEqual([0, 0, 0, 0, 0, 0]);
    expect((await callEnableTorque(fixture, true)).message).toMatch(/e_stop is engaged/);
    fixture.eStop(false);
    await fixture.advanceMs(100);
    expect(torqueRegisters(fixture)).toEqual([0, 0, 0, 0, 0, 0]);
    expect((await callEnableTorque(fixture, true)).success).toBe(true);
    expect(torqueRegisters(fixture)).toEqual([1, 1, 1, 1, 1, 1]);
  });

  it("~/hold holds and ignores commands until ~/enable_torque true", async () => {
    fixture = await startControllerFixture({ torque_on_start: true, command_timeout_ms: 10_000 });
    fixture.command([0.4, 0, 0, 0, 0, 0]);
    await fixture.advanceMs(40);
    const response = await callHold(fixture);
    expect(response).toEqual({ success: true, message: expect.stringMatching(/ignored until ~\/enable_torque true/) });
    const held = fixture.goalWrites().length;
    for (let i = 0; i < 10; i++) {
      fixture.command([0.4, 0, 0, 0, 0, 0]);
      await fixture.advanceMs(20);
    }
    expect(fixture.goalWrites().length).toBe(held);
    await callEnableTorque(fixture, true);
    fixture.command([0.4, 0, 0, 0, 0, 0]);
    await fixture.advanceMs(40);
    expect(fixture.goalWrites().length).toBeGreaterThan(held + 1);
  });
});

describe("SO-100 controller: faults", () => {
  it("retries bad checksums and reports them; the positions published are the good ones", async () => {
    fixture = await startControllerFixture({ torque_on_start: true });
    await fixture.advanceMs(100);
    const truth = fixture.sim.servos.map((s) => Math.round(s.presentTicks));
    fixture.sim.faults.corruptReplies = 5;
    const published = fixture.jointStates.length;
    await fixture.advanceMs(200);
    expect(fixture.jointStates.length).toBeGreaterThan(published);
    for (const state of fixture.jointStates.slice(published)) {
      state.position.forEach((rad, j) => expect(Math.round(fixture!.joints[j]!.calibration.range_min / 2 + fixture!.joints[j]!.calibration.range_max / 2 + rad / RAD_PER_TICK)).toBe(truth[j]));
    }
    await fixture.advanceMs(1000);
    const bus = fixture.status("servo bus")!.values;
    // The five corrupt replies came in one SYNC_READ: one retry got all six good ones.
    expect(Number(bus.corrupt_packets)).toBe(5);
    expect(Number(bus.retries)).toBe(1);
    expect(Number(bus.failed_transactions)).toBe(0);
  });

  it("never takes a status packet with error bits as positions: no joint_states, no goals, an error diagnostic naming the bits", async () => {
    fixture = await startControllerFixture({ torque_on_start: true, command_timeout_ms: 10_000 });
    fixture.command([0.3, 0, 0, 0, 0, 0]);
    await fixture.advanceMs(40);
    fixture.sim.joint("wrist_flex").errorBits = StatusError.OVERLOAD | StatusError.OVERHEAT;
    await fixture.advanceMs(40);
    const published = fixture.jointStates.length;
    const written = fixture.goalWrites().length;
    for (let i = 0; i < 10; i++) {
      fixture.command([0.3, 0, 0, 0, 0, 0]);
      await fixture.advanceMs(20);
    }
    expect(fixture.jointStates.length).toBe(published);
    expect(fixture.goalWrites().length).toBe(written);
    await fixture.advanceMs(1000);
    const servo = fixture.status("servo wrist_flex (id 4)")!;
    expect(servo.level).toBe(2);
    expect(servo.values.status_bits).toBe("overheat, overload");
    expect(Number(servo.values.errors)).toBeGreaterThan(0);
    fixture.sim.joint("wrist_flex").errorBits = 0;
    await fixture.advanceMs(100);
    expect(fixture.jointStates.length).toBeGreaterThan(published);
  });

  it("on losing the port: an error diagnostic, reconnect attempts, then holding the present position, not the stale goal", async () => {
    fixture = await startControllerFixture({ torque_on_start: true, reconnect_interval_ms: 300, command_timeout_ms: 10_000, max_joint_velocity_rad_s: 2 });
    for (let i = 0; i < 5; i++) {
      fixture.command([1.0, 0, 0, 0, 0, 0]);
      await fixture.advanceMs(20);
    }
    fixture.transport.disconnect("device unplugged");
    await fixture.advanceMs(20);
    const bus = fixture.status("servo bus")!;
    expect(bus.level).toBe(2);
    expect(bus.message).toMatch(/disconnected \(device unplugged\)/);
    // While it is gone the arm keeps moving to its last goal; commands are ignored.
    fixture.command([1.0, 0, 0, 0, 0, 0]);
    await fixture.advanceMs(1000);
    expect(fixture.opened).toBeGreaterThanOrEqual(2);
    const writes = fixture.goalWrites();
    const afterReconnect = writes.at(-1)!;
    const present = fixture.presentBefore(afterReconnect.atNs);
    expect(afterReconnect.goals).toEqual([1, 2, 3, 4, 5, 6].map((id) => present.get(id)));
    expect(fixture.status("servo bus")!.message).toMatch(/holding \(reconnect\)/);
    await fixture.advanceMs(500);
    expect(fixture.goalWrites().length).toBe(writes.length);
  });
});

describe("SO-100 controller: connecting", () => {
  it("refuses to move when the servos' calibration differs from the file (LeRobot's rule), naming the values", async () => {
    const simCalibration = structuredClone(SIM_CALIBRATION);
    simCalibration.wrist_roll!.homing_offset = 100;
    const error = await startControllerFixture({}, { simCalibration }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CalibrationMismatchError);
    expect((error as Error).message).toMatch(/wrist_roll \(id 5\) Homing_Offset 100 in the servo, 1240 in the file.*write_calibration: true/);
  });

  it("writes the file's calibration into the servos with write_calibration", async () => {
    const simCalibration = structuredClone(SIM_CALIBRATION);
    simCalibration.gripper!.range_max = 3000;
    fixture = await startControllerFixture({ write_calibration: true }, { simCalibration });
    expect(fixture.sim.joint("gripper").get("Max_Position_Limit")).toBe(SIM_CALIBRATION.gripper!.range_max);
    fixture.sim.powerCycle();
    expect(fixture.sim.joint("gripper").get("Max_Position_Limit")).toBe(SIM_CALIBRATION.gripper!.range_max);
  });

  it("configures the servos as LeRobot does (P 16, D 32, acceleration 254, gripper torque limits)", async () => {
    fixture = await startControllerFixture();
    const pan = fixture.sim.joint("shoulder_pan");
    expect([pan.get("P_Coefficient"), pan.get("I_Coefficient"), pan.get("D_Coefficient"), pan.get("Acceleration"), pan.get("Return_Delay_Time")]).toEqual([16, 0, 32, 254, 0]);
    expect(fixture.sim.joint("gripper").get("Max_Torque_Limit")).toBe(500);
    expect(pan.get("Lock")).toBe(1);
  });

  it("names a missing servo and a hardware mode without calibration", async () => {
    const fiveServos = structuredClone(SIM_CALIBRATION);
    fiveServos.gripper!.id = 9;
    await expect(startControllerFixture({}, { simCalibration: fiveServos, calibration: SIM_CALIBRATION })).rejects.toThrow(/missing gripper \(id 6\): PING id 6: no status packet/);
    await expect(startControllerFixture({ mode: "hardware" })).rejects.toThrow(InputError);
    const dir = mkdtempSync(path.join(tmpdir(), "so100-cal-"));
    writeFileSync(path.join(dir, "bad.json"), JSON.stringify({ shoulder_pan: { id: 1 } }));
    await expect(startControllerFixture({ calibration_file: path.join(dir, "bad.json") })).rejects.toThrow(/bad\.json: shoulder_pan\.drive_mode/);
  });
});
