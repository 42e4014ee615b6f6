/**
 * LeRobot's own SO-101 follower (lerobot 0.6.1: SOFollower on FeetechMotorsBus and Feetech's scservo_sdk)
 * against our simulated arm through a pty pair: it connects (ping, model, firmware), checks the
 * calibration, configures the servos, reads them and moves them, exactly as on a real arm. Its numbers
 * are the oracle for ours: its degrees and goal ticks must equal what units.ts computes.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { SO100_JOINTS } from "../../src/so100/calibration.js";
import { SIM_CALIBRATION, SimulatedArm } from "../../src/so100/sim-arm.js";
import { serveSimulatedArm } from "../../src/so100/sim-serial.js";
import { fromRadians, radiansToTicks, ticksToRadians, toRadians } from "../../src/so100/units.js";
import { hasProgram, lerobotPython } from "../helpers/system.js";
import { startPtyPair } from "./pty.js";

const python = lerobotPython(["lerobot.robots.so_follower", "scservo_sdk", "serial"]);
const socat = hasProgram("socat", ["-V"]);

// LeRobot gives a reply about 50 ms; a pty pair through socat on a shared test machine sometimes takes
// longer (a dedicated USB adapter does not), so the window is widened. Nothing else of LeRobot is changed.
const PATIENT = String.raw`
import scservo_sdk as scs
def patient_timeout(self, packet_length):
    self.packet_start_time = self.getCurrentTime()
    self.packet_timeout = (self.tx_time_per_byte * packet_length) + 1000
def make_patient(bus):
    bus.port_handler.setPacketTimeout = patient_timeout.__get__(bus.port_handler, scs.PortHandler)
`;

const SCRIPT = String.raw`
import json, sys, time
from pathlib import Path
from lerobot.robots.so_follower import SO101Follower, SOFollowerRobotConfig
${PATIENT}
port, calibration_dir, targets = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
robot = SO101Follower(SOFollowerRobotConfig(port=port, id="sim_arm", calibration_dir=Path(calibration_dir)))
make_patient(robot.bus)
robot.connect(calibrate=False)
out = {"is_calibrated": robot.is_calibrated}
bus = robot.bus
out["torque_after_connect"] = bus.sync_read("Torque_Enable", normalize=False)
out["raw_before"] = bus.sync_read("Present_Position", normalize=False)
out["observation_before"] = robot.get_observation()
sent = robot.send_action({f"{name}.pos": value for name, value in targets.items()})
out["sent"] = sent
out["goal_raw"] = bus.sync_read("Goal_Position", normalize=False)
time.sleep(2.0)
out["raw_after"] = bus.sync_read("Present_Position", normalize=False)
out["observation_after"] = robot.get_observation()
robot.disconnect()
print(json.dumps(out))
`;

const CHECK_ONLY = String.raw`
import json, sys
from pathlib import Path
from lerobot.robots.so_follower import SO101Follower, SOFollowerRobotConfig
${PATIENT}
robot = SO101Follower(SOFollowerRobotConfig(port=sys.argv[1], id="sim_arm", calibration_dir=Path(sys.argv[2])))
make_patient(robot.bus)
robot.bus.connect()
print(json.dumps({"is_calibrated": robot.is_calibrated}))
robot.bus.disconnect(disable_torque=False)
`;

function runPython(code: string, args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  // Asynchronously: the simulated arm answers from this process's event loop.
  return new Promise((resolve) => {
    const child = spawn(python!, ["-c", code, ...args], { env: { ...process.env, HF_HUB_OFFLINE: "1" } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("exit", (status) => resolve({ status, stdout, stderr }));
  });
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function servedArm(simCalibration = SIM_CALIBRATION) {
  const dir = mkdtempSync(path.join(tmpdir(), "so100-lerobot-"));
  const calibrationDir = path.join(dir, "calibration");
  mkdirSync(calibrationDir);
  // What lerobot-calibrate saved for this arm.
  writeFileSync(path.join(calibrationDir, "sim_arm.json"), JSON.stringify(SIM_CALIBRATION, null, 4));
  const pty = await startPtyPair(dir);
  cleanups.push(() => pty.kill());
  const arm = new SimulatedArm({ calibration: simCalibration, nowNs: () => process.hrtime.bigint() });
  const served = await serveSimulatedArm(pty.armEnd, arm);
  cleanups.push(() => served.close());
  return { arm, port: pty.clientEnd, calibrationDir };
}

describe.skipIf(python === undefined || !socat)("LeRobot's SO-101 follower on the simulated arm", () => {
  it("connects, finds it calibrated, configures it, reads it and moves it; its degrees and goal ticks are ours", async () => {
    const { arm, port, calibrationDir } = await servedArm();
    const targets = { shoulder_pan: 20, shoulder_lift: -10, elbow_flex: 15.5, wrist_flex: 0, wrist_roll: -30, gripper: 40 };
    const result = await runPython(SCRIPT, [port, calibrationDir, JSON.stringify(targets)]);
    expect(result.status, result.stderr).toBe(0);
    const out = JSON.parse(result.stdout.trim().split("\n").pop()!) as {
      is_calibrated: boolean;
      torque_after_connect: Record<string, number>;
      raw_before: Record<string, number>;
      observation_before: Record<string, number>;
      goal_raw: Record<string, number>;
      raw_after: Record<string, number>;
      observation_after: Record<string, number>;
    };
    expect(out.is_calibrated).toBe(true);
    // SOFollower.configure leaves torque on (LeRobot's torque_disabled() context re-enables it).
    expect(Object.values(out.torque_after_connect)).toEqual([1, 1, 1, 1, 1, 1]);
    for (const joint of SO100_JOINTS) {
      const motor = SIM_CALIBRATION[joint]!;
      const middle = (motor.range_min + motor.range_max) / 2;
      expect(out.raw_before[joint]).toBe(Math.round(middle));
      // LeRobot's normalisation of the ticks it read = ours through ROS radians.
      const ours = joint === "gripper" ? fromRadians(ticksToRadians(out.raw_before[joint]!, motor), "range_0_100", motor) : fromRadians(ticksToRadians(out.raw_before[joint]!, motor), "degrees");
      expect(out.observation_before[`${joint}.pos`]).toBeCloseTo(ours, 9);
      // The goal LeRobot wrote (int() of its unnormalisation) = ours from the same target, truncated alike.
      const target = targets[joint as keyof typeof targets];
      const ourTicks = joint === "gripper" ? radiansToTicks(toRadians(target, "range_0_100", motor), motor) : radiansToTicks(toRadians(target, "degrees"), motor);
      expect(out.goal_raw[joint]).toBe(Math.trunc(ourTicks + 1e-9));
      expect(arm.joint(joint).get("Goal_Position")).toBe(out.goal_raw[joint]);
      // And the arm went there.
      expect(Math.abs(out.raw_after[joint]! - out.goal_raw[joint]!)).toBeLessThanOrEqual(2);
      expect(out.observation_after[`${joint}.pos`]).toBeCloseTo(target, 0);
    }
    // LeRobot's disconnect switches torque off; its configuration stayed in the servos.
    expect(arm.servos.map((s) => s.torqueEnabled)).toEqual([false, false, false, false, false, false]);
    expect(arm.joint("gripper").get("Max_Torque_Limit")).toBe(500);
    expect(arm.joint("elbow_flex").get("P_Coefficient")).toBe(16);
  });

  it("agrees with our connect check when the servos' calibration differs from the file", async () => {
    const different = structuredClone(SIM_CALIBRATION);
    different.elbow_flex!.range_min += 40;
    const { port, calibrationDir } = await servedArm(different);
    const result = await runPython(CHECK_ONLY, [port, calibrationDir]);
    expect(result.status, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout.trim().split("\n").pop()!)).toEqual({ is_calibrated: false });
  });
});
