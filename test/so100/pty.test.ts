/**
 * The bus, the CLI and the controller node through a real serial device: a socat pty pair at 1 Mbaud
 * with the simulated arm on the other end, the way a USB adapter and an arm are wired.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startSo100Controller, so100ControllerParameters } from "../../src/nodes/so100_controller.js";
import { LocalBus } from "../../src/ros/local-graph.js";
import type { DiagnosticMsgsDiagnosticStatus } from "../../src/msgs/messages.js";
import { SIM_CALIBRATION, SimulatedArm } from "../../src/so100/sim-arm.js";
import { serveSimulatedArm, type ServedArm } from "../../src/so100/sim-serial.js";
import { runCli, startCli } from "../helpers/cli.js";
import { hasProgram } from "../helpers/system.js";
import { startPtyPair, type PtyPair } from "./pty.js";

const socat = hasProgram("socat", ["-V"]);

async function waitFor(what: string, predicate: () => boolean, limitMs = 20_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function calibrationFile(dir: string): string {
  const file = path.join(dir, "my_arm.json");
  // As LeRobot writes it (draccus: indent 4).
  writeFileSync(file, JSON.stringify(SIM_CALIBRATION, null, 4));
  return file;
}

describe.skipIf(!socat)("the servo bus on a pty pair", () => {
  it("pi0fast so100 sim serves the arm; so100 scan and so100 read find and read it like a real one", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "so100-pty-"));
    const pty = await startPtyPair(dir);
    cleanups.push(() => pty.kill());
    const sim = startCli(["so100", "sim", "--port", pty.armEnd]);
    let simLog = "";
    sim.stderr.on("data", (chunk: Buffer) => (simLog += chunk.toString()));
    const simExit = new Promise<number | null>((resolve) => sim.on("exit", (code) => resolve(code)));
    cleanups.push(() => void sim.kill("SIGKILL"));
    await waitFor("the simulated arm to serve", () => /Ctrl-C stops it/.test(simLog));

    const scan = runCli(["so100", "scan", "--port", pty.clientEnd, "--ids", "1-8", "--timeout-ms", "300", "--json"]);
    expect(scan.status, scan.stderr).toBe(0);
    const found = JSON.parse(scan.stdout) as { servos: Array<{ id: number; model_number: number; model: string; firmware: string }> };
    expect(found.servos.map((s) => [s.id, s.model_number, s.model])).toEqual([1, 2, 3, 4, 5, 6].map((id) => [id, 777, "STS3215"]));
    expect(new Set(found.servos.map((s) => s.firmware)).size).toBe(1);

    const read = runCli(["so100", "read", "--port", pty.clientEnd, "--timeout-ms", "300", "--calibration", calibrationFile(dir), "--json"]);
    expect(read.status, read.stderr).toBe(0);
    const servos = (JSON.parse(read.stdout) as { servos: Array<{ joint: string; position_ticks: number; position_rad: number; voltage_v: number; temperature_c: number; torque: boolean; errors: string[] }> }).servos;
    expect(servos.map((s) => s.joint)).toEqual(Object.keys(SIM_CALIBRATION));
    for (const servo of servos) {
      const motor = SIM_CALIBRATION[servo.joint]!;
      // The simulated arm starts at the calibrated zero: the middle of each range.
      expect(servo.position_ticks).toBe(Math.round((motor.range_min + motor.range_max) / 2));
      expect(Math.abs(servo.position_rad)).toBeLessThan(0.001);
      expect(servo.voltage_v).toBeGreaterThan(10);
      expect(servo.torque).toBe(false);
      expect(servo.errors).toEqual([]);
    }
    const text = runCli(["so100", "read", "--port", pty.clientEnd, "--timeout-ms", "300"]);
    expect(text.stdout).toMatch(/radians need --calibration/);

    sim.kill("SIGINT");
    expect(await simExit).toBe(0);
    expect(simLog).toMatch(/simulated arm stopped \(SIGINT\)/);
  });

  it("names bad input with exit 2: no port, a port that does not exist, ids out of range", () => {
    const missing = runCli(["so100", "scan"]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/Missing required argument: port/);
    const nowhere = runCli(["so100", "read", "--port", "/dev/nonexistent-so100"]);
    expect(nowhere.status).toBe(2);
    expect(nowhere.stderr).toMatch(/serial port \/dev\/nonexistent-so100: cannot open it at 1000000 baud/);
    expect(nowhere.stderr).not.toMatch(/\n\s+at /);
    const ids = runCli(["so100", "scan", "--port", "/dev/null", "--ids", "1-300"]);
    expect(ids.status).toBe(2);
    expect(ids.stderr).toMatch(/--ids 1-300: '1-300' is not an id or range of ids in 0..253/);
  });

  it("the controller survives the port vanishing: error diagnostic, reconnect attempts, then it holds the present position instead of the stale goal", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "so100-loss-"));
    let pty: PtyPair = await startPtyPair(dir);
    cleanups.push(() => pty.kill());
    const arm = new SimulatedArm({ nowNs: () => process.hrtime.bigint() });
    let served: ServedArm = await serveSimulatedArm(pty.armEnd, arm);
    cleanups.push(() => served.close());

    const bus = new LocalBus({ logSink: () => {} });
    const graph = bus.createGraph("so100_controller", {
      parameters: { mode: "hardware", port: pty.clientEnd, calibration_file: calibrationFile(dir), torque_on_start: true, max_joint_velocity_rad_s: 0.4, reconnect_interval_ms: 100, command_timeout_ms: 60_000, bus_timeout_ms: 300 },
    });
    const handle = await startSo100Controller(graph, graph.declareParameters(so100ControllerParameters));
    cleanups.push(async () => {
      await handle.shutdown();
      bus.close();
    });
    const driver = bus.createGraph("driver");
    const statuses: DiagnosticMsgsDiagnosticStatus[] = [];
    driver.createSubscription("diagnostic_msgs/msg/DiagnosticArray", "/diagnostics", { profile: "reliable", depth: 50 }, (m) => void statuses.push(...m.status.filter((s) => s.name.endsWith("servo bus"))));
    const commands = driver.createPublisher("sensor_msgs/msg/JointState", "joint_command", "reliable");
    const pan = arm.joint("shoulder_pan");
    const startTicks = pan.presentTicks;
    // The stale goal: far away, reached only slowly at 0.4 rad/s.
    const command = setInterval(() => commands.publish({ header: { stamp: { sec: 0, nanosec: 0 }, frame_id: "" }, name: ["shoulder_pan"], position: Float64Array.of(1.2), velocity: new Float64Array(), effort: new Float64Array() }), 20);
    cleanups.push(() => clearInterval(command));
    await waitFor("the arm to start moving", () => pan.presentTicks > startTicks + 30);

    await pty.kill();
    await waitFor("an error diagnostic", () => statuses.some((s) => s.level === 2 && /disconnected/.test(s.message)));
    clearInterval(command);
    await served.closed;
    const goalAtLoss = pan.get("Goal_Position");
    const outage = statuses.length;

    // The adapter comes back: the same devices, the same arm (its servos never lost power).
    pty = await startPtyPair(dir);
    served = await serveSimulatedArm(pty.armEnd, arm);
    await waitFor("the reconnection", () => statuses.slice(outage).some((s) => s.values.some((v) => v.key === "connected" && v.value === "true")), 30_000);
    const presentAtReconnect = pan.presentTicks;
    await new Promise((resolve) => setTimeout(resolve, 500));
    // Held where it was: not driven on toward the last command's 1.2 rad.
    expect(Math.abs(pan.get("Goal_Position") - presentAtReconnect)).toBeLessThanOrEqual(2);
    expect(Math.abs(pan.presentTicks - presentAtReconnect)).toBeLessThanOrEqual(2);
    expect(pan.get("Goal_Position")).toBeLessThan(goalAtLoss + 5);
    expect(statuses.slice(outage).find((s) => s.values.some((v) => v.key === "connected" && v.value === "true"))!.message).toMatch(/holding \(reconnect\)/);
  });
});
