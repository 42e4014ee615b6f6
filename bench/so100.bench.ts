/**
 * `npm run bench -- so100 [--cycles 2000] [--commands 1000]`
 * - The control cycle through a socat pty pair at 1 Mbaud to the simulated arm (served by
 *   `pi0fast so100 sim` in its own process): SYNC_READ of 6 positions + SYNC_WRITE of 6 goals, round trip
 *   p50/p99 and the highest rate it sustains back to back; the same loop with LeRobot's FeetechMotorsBus
 *   (Feetech's scservo_sdk) on the same pty as the reference, when the LeRobot venv is there.
 * - The controller node's command-to-bus latency on the local graph (real clock, simulated arm in
 *   memory): joint_command published → its goal's SYNC_WRITE bytes handed to the transport, p50/p99,
 *   against the graph's own publish → callback latency measured in the same run.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startSo100Controller, so100ControllerParameters } from "../src/nodes/so100_controller.js";
import { LocalBus } from "../src/ros/local-graph.js";
import { FeetechBus, MemoryTransport, openSerialTransport } from "../src/so100/bus.js";
import { REGISTERS, decodeRegister } from "../src/so100/control-table.js";
import { FrameParser, Instruction } from "../src/so100/protocol.js";
import { SIM_CALIBRATION, SimulatedArm } from "../src/so100/sim-arm.js";
import { radiansToTicks } from "../src/so100/units.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const IDS = [1, 2, 3, 4, 5, 6];

function option(args: string[], name: string, fallback: number): number {
  const index = args.indexOf(name);
  return index >= 0 ? Number(args[index + 1]) : fallback;
}

function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

function summary(samplesMs: number[]): { p50: number; p99: number; mean: number } {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  return { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), mean: samplesMs.reduce((a, b) => a + b, 0) / samplesMs.length };
}

const fmt = (ms: number): string => `${ms.toFixed(3)} ms`;

async function waitFor(predicate: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000 && !predicate(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  if (!predicate()) throw new Error(`gave up waiting for ${what}`);
}

async function ptyPair(dir: string): Promise<{ arm: string; client: string; socat: ChildProcess }> {
  const arm = path.join(dir, "arm");
  const client = path.join(dir, "client");
  const socat = spawn("socat", ["-d", "-d", `pty,raw,echo=0,link=${arm}`, `pty,raw,echo=0,link=${client}`], { stdio: "ignore" });
  await waitFor(() => existsSync(arm) && existsSync(client), "socat's pty pair");
  return { arm, client, socat };
}

/** SYNC_READ 6 positions + SYNC_WRITE 6 goals, back to back, with our bus. */
async function ourCycles(port: string, cycles: number): Promise<{ cycleMs: number[]; totalS: number }> {
  const bus = new FeetechBus(await openSerialTransport(port, 1_000_000), { timeoutMs: 100, retries: 2 });
  const cycle = async (): Promise<void> => {
    const present = await bus.syncRead("Present_Position", IDS);
    await bus.syncWrite("Goal_Position", IDS.map((id) => [id, present.get(id)!] as const));
  };
  for (let i = 0; i < 200; i++) await cycle();
  const cycleMs: number[] = [];
  const start = performance.now();
  for (let i = 0; i < cycles; i++) {
    const t0 = performance.now();
    await cycle();
    cycleMs.push(performance.now() - t0);
  }
  const totalS = (performance.now() - start) / 1000;
  await bus.close();
  return { cycleMs, totalS };
}

const LEROBOT_LOOP = String.raw`
import json, sys, time
from lerobot.motors import Motor, MotorNormMode
from lerobot.motors.feetech import FeetechMotorsBus
port, cycles = sys.argv[1], int(sys.argv[2])
bus = FeetechMotorsBus(port=port, motors={f"m{i}": Motor(i, "sts3215", MotorNormMode.DEGREES) for i in range(1, 7)})
bus.connect()
def cycle():
    present = bus.sync_read("Present_Position", normalize=False, num_retry=2)
    bus.sync_write("Goal_Position", present, normalize=False)
for _ in range(200): cycle()
samples, failures = [], 0
start = time.perf_counter()
for _ in range(cycles):
    t0 = time.perf_counter()
    try:
        cycle()
    except ConnectionError:
        failures += 1
    samples.append((time.perf_counter() - t0) * 1000)
total = time.perf_counter() - start
bus.disconnect(disable_torque=False)
print(json.dumps({"cycle_ms": samples, "total_s": total, "failures": failures}))
`;

function lerobotPythonPath(): string | undefined {
  const python = process.env.LEROBOT_PYTHON ?? path.join(repoRoot, ".venv-lerobot/bin/python");
  return existsSync(python) ? python : undefined;
}

async function lerobotCycles(python: string, port: string, cycles: number): Promise<{ cycleMs: number[]; totalS: number; failures: number } | string> {
  return new Promise((resolve) => {
    const child = spawn(python, ["-c", LEROBOT_LOOP, port, String(cycles)], { env: { ...process.env, HF_HUB_OFFLINE: "1" } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("exit", (code) => {
      if (code !== 0) return resolve(`LeRobot's loop failed: ${stderr.trim().split("\n").pop()}`);
      const out = JSON.parse(stdout.trim().split("\n").pop()!) as { cycle_ms: number[]; total_s: number; failures: number };
      resolve({ cycleMs: out.cycle_ms, totalS: out.total_s, failures: out.failures });
    });
  });
}

async function benchPty(cycles: number): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), "so100-bench-"));
  const pty = await ptyPair(dir);
  const sim = spawn(process.execPath, ["--import", "tsx", path.join(repoRoot, "src/cli/bin.ts"), "so100", "sim", "--port", pty.arm], { stdio: ["ignore", "ignore", "pipe"] });
  let simLog = "";
  sim.stderr!.on("data", (chunk: Buffer) => (simLog += chunk.toString()));
  try {
    await waitFor(() => /Ctrl-C stops it/.test(simLog), "the simulated arm");
    // Bytes one cycle puts on a real bus: SYNC_READ (14) + 6 replies of 8 + SYNC_WRITE of 6 goals (26).
    const wireBytes = 14 + 6 * 8 + 26;
    const wireMs = ((wireBytes * 10) / 1_000_000) * 1000;
    console.log(`SYNC_READ 6 positions + SYNC_WRITE 6 goals through a socat pty pair at 1 Mbaud (${cycles} cycles after 200 warm-up)`);
    console.log(`  (a pty has no wire time: on a real 1 Mbaud bus the cycle's ${wireBytes} bytes add ${wireMs.toFixed(2)} ms, 8N1)`);
    const ours = await ourCycles(pty.client, cycles);
    const o = summary(ours.cycleMs);
    console.log(`  ours (serialport):        p50 ${fmt(o.p50)}  p99 ${fmt(o.p99)}  sustained ${(cycles / ours.totalS).toFixed(0)} cycles/s`);
    const python = lerobotPythonPath();
    if (python === undefined) {
      console.log("  LeRobot FeetechMotorsBus: not measured (no LeRobot venv: tools/lerobot/setup.sh .venv-lerobot, or LEROBOT_PYTHON)");
      return;
    }
    const theirs = await lerobotCycles(python, pty.client, cycles);
    if (typeof theirs === "string") {
      console.log(`  LeRobot FeetechMotorsBus: ${theirs}`);
      return;
    }
    const t = summary(theirs.cycleMs);
    console.log(`  LeRobot FeetechMotorsBus: p50 ${fmt(t.p50)}  p99 ${fmt(t.p99)}  sustained ${(cycles / theirs.totalS).toFixed(0)} cycles/s${theirs.failures > 0 ? `  (${theirs.failures} cycles failed after retries)` : ""}`);
    console.log(`  LeRobot / ours:           p50 ${(t.p50 / o.p50).toFixed(2)}×  p99 ${(t.p99 / o.p99).toFixed(2)}×;  sustained rate: ours ${(theirs.totalS / ours.totalS).toFixed(2)}× LeRobot's`);
  } finally {
    sim.kill("SIGINT");
    pty.socat.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
}

/** joint_command → SYNC_WRITE latency of the node on a real-clock local graph. */
async function benchNode(commands: number): Promise<void> {
  const bus = new LocalBus({ logSink: () => {} });
  const arm = new SimulatedArm({ nowNs: () => bus.clock.nowNs() });
  // Goal writes as the transport receives them: the pan goal and when.
  const writes: Array<{ atMs: number; panTicks: number }> = [];
  const parser = new FrameParser();
  const peer = {
    receive(bytes: Uint8Array): Uint8Array {
      const atMs = performance.now();
      parser.push(bytes);
      for (let r = parser.next(); r !== undefined; r = parser.next()) {
        if (r.kind === "frame" && r.code === Instruction.SYNC_WRITE && r.parameters[0] === REGISTERS.Goal_Position.address) {
          writes.push({ atMs, panTicks: decodeRegister(REGISTERS.Goal_Position, r.parameters, 3) });
        }
      }
      return arm.receive(bytes);
    },
  };
  const graph = bus.createGraph("so100_controller", { parameters: { mode: "sim", torque_on_start: true, max_joint_velocity_rad_s: 20, read_rate_hz: 50 } });
  const handle = await startSo100Controller(graph, graph.declareParameters(so100ControllerParameters), { openTransport: async () => new MemoryTransport(peer) });
  const driver = bus.createGraph("driver");
  const publisher = driver.createPublisher("sensor_msgs/msg/JointState", "joint_command", "reliable");
  const deliveredMs: number[] = [];
  driver.createSubscription("sensor_msgs/msg/JointState", "joint_command", { profile: "sensor", depth: 1 }, () => void deliveredMs.push(performance.now()));
  const pan = SIM_CALIBRATION.shoulder_pan!;
  const latencies: number[] = [];
  const graphLatencies: number[] = [];
  for (let k = 0; k < commands + 50; k++) {
    // Alternating ±0.05 rad: each command is one goal step, written at once (10 ms between commands).
    const targetRad = k % 2 === 0 ? 0.05 : -0.05;
    const expectedTicks = Math.round(radiansToTicks(targetRad, pan));
    const before = writes.length;
    const delivered = deliveredMs.length;
    const t0 = performance.now();
    publisher.publish({ header: { stamp: { sec: 0, nanosec: 0 }, frame_id: "" }, name: ["shoulder_pan"], position: Float64Array.of(targetRad), velocity: new Float64Array(), effort: new Float64Array() });
    await waitFor(() => writes.slice(before).some((w) => w.panTicks === expectedTicks) && deliveredMs.length > delivered, "the goal write");
    if (k >= 50) {
      latencies.push(writes.slice(before).find((w) => w.panTicks === expectedTicks)!.atMs - t0);
      graphLatencies.push(deliveredMs[delivered]! - t0);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await handle.shutdown();
  bus.close();
  const node = summary(latencies);
  const graphOnly = summary(graphLatencies);
  console.log(`so100_controller command-to-bus latency, local graph, real clock, simulated arm in memory (${commands} commands at ~100 Hz)`);
  console.log(`  joint_command publish → goal SYNC_WRITE handed to the transport: p50 ${fmt(node.p50)}  p99 ${fmt(node.p99)}`);
  console.log(`  reference, publish → a plain subscriber's callback (same graph): p50 ${fmt(graphOnly.p50)}  p99 ${fmt(graphOnly.p99)}`);
}

export async function run(args: string[]): Promise<void> {
  const cycles = option(args, "--cycles", 2000);
  const commands = option(args, "--commands", 1000);
  if (!(cycles > 0) || !(commands > 0)) throw new Error("--cycles and --commands take positive counts");
  console.log(`load average ${loadavg().map((l) => l.toFixed(2)).join(" ")} on ${cpus().length} cores (figures on a loaded machine are upper bounds)`);
  await benchPty(cycles);
  await benchNode(commands);
}
