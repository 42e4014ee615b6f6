/**
 * The chunk blender node on a LocalGraph with a simulated clock, fed by a scripted policy (chunks answered
 * after a chosen latency) and a simulated arm that follows its commands with a lag.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { chunkBlenderNode, chunkBlenderParameters } from "../../src/nodes/chunk_blender.js";
import { NODES } from "../../src/nodes/index.js";
import { makeHeader, nsFromTime, type DiagnosticMsgsDiagnosticStatus, type Pi0fastRosActionChunk, type SensorMsgsJointState } from "../../src/msgs/messages.js";
import { LocalBus, type LocalGraph } from "../../src/ros/local-graph.js";
import { validateParameters } from "../../src/ros/parameters.js";
import { SO100_JOINTS } from "../../src/so100/calibration.js";
import { runCli } from "../helpers/cli.js";
import { startScriptedPolicy, type ScriptedPolicyOptions } from "../helpers/scripted-policy.js";

const START_NS = 1_000_000_000_000n;
const MS = 1_000_000n;
const JOINTS = [...SO100_JOINTS];
const P0 = [0.1, -0.3, 0.5, 0.2, -0.1, 0.4];

interface Rig {
  bus: LocalBus;
  blenderGraph: LocalGraph;
  commands: SensorMsgsJointState[];
  statuses: DiagnosticMsgsDiagnosticStatus[];
  /** Each status with its array's stamp. */
  stamped: Array<{ stampNs: bigint; status: DiagnosticMsgsDiagnosticStatus }>;
  policy: ReturnType<typeof startScriptedPolicy>;
  stop(): Promise<void>;
}

/**
 * The blender, a scripted policy and an arm that reports, at 50 Hz from `armStartNs` on, the command it
 * got three control ticks earlier (P0 before the first).
 */
async function rig(parameters: Record<string, unknown>, policy: ScriptedPolicyOptions, armStartNs = START_NS + 50n * MS): Promise<Rig> {
  const bus = new LocalBus({ clock: START_NS, logSink: () => {} });
  const tester = bus.createGraph("tester");
  const commands: SensorMsgsJointState[] = [];
  const statuses: DiagnosticMsgsDiagnosticStatus[] = [];
  const stamped: Rig["stamped"] = [];
  tester.createSubscription("sensor_msgs/msg/JointState", "joint_command", "reliable", (command) => void commands.push(command));
  tester.createSubscription("diagnostic_msgs/msg/DiagnosticArray", "/diagnostics", "reliable", (array) => {
    statuses.push(...array.status);
    for (const status of array.status) stamped.push({ stampNs: nsFromTime(array.header.stamp), status });
  });
  const jointStates = tester.createPublisher("sensor_msgs/msg/JointState", "joint_states", "sensor");
  const armTimer = { started: false };
  tester.createTimer(20n * MS, () => {
    if (bus.clock.nowNs() < armStartNs) return;
    armTimer.started = true;
    const lagged = commands.length > 3 ? commands[commands.length - 4]!.position : Float64Array.from(P0);
    jointStates.publish({ header: makeHeader(bus.clock.nowNs()), name: JOINTS, position: Float64Array.from(lagged), velocity: new Float64Array(0), effort: new Float64Array(0) });
  });
  const scripted = startScriptedPolicy(bus.createGraph("policy"), policy);
  const blenderGraph = bus.createGraph("chunk_blender", { parameters });
  const handle = await chunkBlenderNode.create(blenderGraph, blenderGraph.declareParameters(chunkBlenderNode.parameters));
  return {
    bus,
    blenderGraph,
    commands,
    statuses,
    stamped,
    policy: scripted,
    stop: async () => {
      await handle.shutdown();
      scripted.stop();
      bus.close();
    },
  };
}

/** The policy's intent: a slow sweep around P0 (rad, t in s). */
const intent = (timeS: number) => P0.map((p, j) => p + 0.2 * Math.sin(0.8 * (timeS - 1000) + j));

function lastStatus(statuses: DiagnosticMsgsDiagnosticStatus[], name: string): Record<string, string> {
  const status = statuses.filter((s) => s.name === `chunk_blender: ${name}`).at(-1);
  expect(status, `a '${name}' status`).toBeDefined();
  return { message: status!.message, level: String(status!.level), ...Object.fromEntries(status!.values.map((kv) => [kv.key, kv.value])) };
}

function maxStepRad(commands: SensorMsgsJointState[]): number {
  let max = 0;
  for (let k = 1; k < commands.length; k++) for (let j = 0; j < JOINTS.length; j++) max = Math.max(max, Math.abs(commands[k]!.position[j]! - commands[k - 1]!.position[j]!));
  return max;
}

describe("chunk blender node (LocalGraph, simulated clock, scripted policy)", () => {
  it("is registered as 'chunk_blender' and is not blocking (it owns the control clock)", () => {
    expect(NODES.chunk_blender).toBe(chunkBlenderNode);
    expect(chunkBlenderNode.blocking).not.toBe(true);
  });

  it("commands nothing before joint_states, then the arm's position, then tracks the policy's chunks at 100 Hz", async () => {
    const r = await rig({ max_joint_velocity_rad_s: [1.5] }, { latencyMs: (i) => (i === 0 ? 700 : 120), observationAgeMs: 20, trajectory: intent });
    try {
      await r.bus.advanceTo(START_NS + 45n * MS);
      expect(r.commands).toEqual([]);
      expect(r.policy.requests).toEqual([]);
      await r.bus.advanceTo(START_NS + 4000n * MS);
      // The arm first reports at 60 ms (the 50 Hz timer's first tick after 50 ms); the next control tick commands it.
      expect(nsFromTime(r.commands[0]!.header.stamp)).toBe(START_NS + 60n * MS);
      expect([...r.commands[0]!.position]).toEqual(P0);
      expect(r.commands[0]!.name).toEqual(JOINTS);
      for (let k = 1; k < r.commands.length; k++) expect(nsFromTime(r.commands[k]!.header.stamp) - nsFromTime(r.commands[k - 1]!.header.stamp)).toBe(10n * MS);
      expect(maxStepRad(r.commands)).toBeLessThanOrEqual(1.5 * 0.01 + 1e-12);
      // The first request went out with the first command; then warm-up, cadence and early requests.
      expect(nsFromTime(r.policy.requests[0]!.header.stamp)).toBe(START_NS + 60n * MS);
      expect(r.policy.requests.map((q) => q.request_id)).toEqual(r.policy.requests.map((_, i) => i + 1));
      expect(r.policy.requests.length).toBeGreaterThan(8);
      expect(r.policy.requests.at(-1)!.current_chunk_id).toBeGreaterThan(1);
      // Past the fades, the command is the policy's trajectory (up to linear interpolation between steps).
      for (const command of r.commands.filter((c) => nsFromTime(c.header.stamp) > START_NS + 2500n * MS)) {
        const expected = intent(Number(nsFromTime(command.header.stamp)) / 1e9);
        for (let j = 0; j < JOINTS.length; j++) expect(Math.abs(command.position[j]! - expected[j]!)).toBeLessThan(1e-4);
      }
      const chunks = lastStatus(r.statuses, "chunks");
      expect(chunks.latency_p50_ms).toBe("120.0");
      expect(chunks.latency_p95_ms).toBe("120.0");
      expect(chunks.warmup_latency_ms).toBe("700.0");
      expect(chunks.dropped).toBe("0");
      expect(Number(chunks.chunk_age_ms)).toBeCloseTo(140, 6);
      const control = lastStatus(r.statuses, "control");
      expect(control.state).toBe("tracking");
      expect(control.underruns).toBe("0");
      expect(Number(control.blends)).toBeGreaterThan(5);
      expect(Number(control.skipped_steps_last)).toBe(5); // 140 ms old at 30 Hz: steps 0–4 are past
    } finally {
      await r.stop();
    }
  });

  it("drops NaN and failed chunks, retries an unanswered request, holds through the underrun, all in /diagnostics", async () => {
    const r = await rig(
      { replan_timeout_ms: 600, n_steps_between_replan: 5 },
      {
        latencyMs: 100,
        horizon: 15,
        trajectory: intent,
        tamper: (chunk, i) => {
          if (i === 1) return { ...chunk, actions_rad: chunk.actions_rad.map((v, k) => (k === 7 ? NaN : v)) };
          if (i === 2) return { ...chunk, decode_status: 2, decode_detail: "68 values instead of 90" };
          if (i === 3) return undefined;
          return chunk;
        },
      },
    );
    try {
      await r.bus.advanceTo(START_NS + 3000n * MS);
      const chunks = lastStatus(r.statuses, "chunks");
      expect(chunks.dropped_non_finite).toBe("1");
      expect(chunks.dropped_decode_failed).toBe("1");
      expect(chunks.replan_timeouts).toBe("1");
      const dropStatus = r.statuses.find((s) => s.name === "chunk_blender: chunks" && /dropped: chunk 3: decode failed \(68 values instead of 90\)/.test(s.message));
      expect(dropStatus?.level).toBe(1);
      const control = lastStatus(r.statuses, "control");
      expect(Number(control.underruns)).toBeGreaterThanOrEqual(1);
      expect(r.statuses.some((s) => s.name === "chunk_blender: control" && s.message === "chunks ran out: holding the last command" && s.level === 1)).toBe(true);
      expect(r.commands.every((c) => c.position.every(Number.isFinite))).toBe(true);
      expect(maxStepRad(r.commands)).toBeLessThanOrEqual(2.0 * 0.01 + 1e-12);
      // During the underrun (request 4 unanswered for 600 ms) the command held still.
      // Chunk 1 is the last one accepted before the retry's answer (chunk 4): from its last step to that answer.
      const [first, , , retried] = r.policy.published;
      const ranOutNs = nsFromTime(first!.chunk.header.stamp) + BigInt(Math.round((14 / 30) * 1e9));
      const held = r.commands.filter((c) => nsFromTime(c.header.stamp) > ranOutNs && nsFromTime(c.header.stamp) < retried!.publishedNs);
      expect(held.length).toBeGreaterThan(30);
      for (const c of held) expect([...c.position]).toEqual([...held[0]!.position]);
      // The underrun is reported at the tick it starts, and the control status at least once a second.
      const controlStatuses = r.stamped.filter((s) => s.status.name === "chunk_blender: control");
      const firstUnderrun = controlStatuses.find((s) => s.status.values.some((kv) => kv.key === "state" && kv.value === "underrun"))!;
      expect(firstUnderrun.stampNs - ranOutNs).toBeGreaterThan(0n);
      expect(firstUnderrun.stampNs - ranOutNs).toBeLessThanOrEqual(10n * MS);
      for (let k = 1; k < controlStatuses.length; k++) expect(controlStatuses[k]!.stampNs - controlStatuses[k - 1]!.stampNs).toBeLessThanOrEqual(1000n * MS);
    } finally {
      await r.stop();
    }
  });

  it("reports its state once a second while nothing arrives: holding the arm, one request in flight", async () => {
    const r = await rig({ replan_timeout_ms: 10_000 }, { latencyMs: 50, trajectory: intent, tamper: () => undefined });
    try {
      await r.bus.advanceTo(START_NS + 3500n * MS);
      const control = r.stamped.filter((s) => s.status.name === "chunk_blender: control");
      expect(control.map((s) => Number(s.stampNs - START_NS) / 1e6)).toEqual([10, 1010, 2010, 3010]);
      expect(control.at(-1)!.status.message).toBe("holding the arm's position: no chunk yet");
      expect(lastStatus(r.statuses, "chunks").replan_requests).toBe("1");
      expect(r.commands.every((c) => [...c.position].every((p, j) => p === P0[j]))).toBe(true);
    } finally {
      await r.stop();
    }
  });

  it("publishes Float64MultiArray in joint_names order, or a one-point JointTrajectory one period ahead", async () => {
    for (const commandInterface of ["float64_multi_array", "joint_trajectory"] as const) {
      const bus = new LocalBus({ clock: START_NS, logSink: () => {} });
      const tester = bus.createGraph("tester");
      const received: unknown[] = [];
      const topic = commandInterface === "float64_multi_array" ? "/forward_position_controller/commands" : "/joint_trajectory_controller/joint_trajectory";
      if (commandInterface === "float64_multi_array") tester.createSubscription("std_msgs/msg/Float64MultiArray", topic, "reliable", (m) => void received.push(m));
      else tester.createSubscription("trajectory_msgs/msg/JointTrajectory", topic, "reliable", (m) => void received.push(m));
      const reversed = [...JOINTS].reverse();
      const graph = bus.createGraph("chunk_blender", { parameters: { command_interface: commandInterface, command_topic: topic, joint_names: reversed, control_rate_hz: 50 } });
      const handle = await chunkBlenderNode.create(graph, graph.declareParameters(chunkBlenderNode.parameters));
      tester.createPublisher("sensor_msgs/msg/JointState", "joint_states", "reliable").publish({ header: makeHeader(START_NS), name: JOINTS, position: Float64Array.from(P0), velocity: new Float64Array(0), effort: new Float64Array(0) });
      await bus.advanceBy(100n * MS);
      expect(received.length).toBe(5);
      if (commandInterface === "float64_multi_array") {
        expect([...(received[0] as { data: Float64Array }).data]).toEqual([...P0].reverse());
      } else {
        const trajectory = received[0] as { joint_names: string[]; points: Array<{ positions: Float64Array; time_from_start: { sec: number; nanosec: number } }> };
        expect(trajectory.joint_names).toEqual(reversed);
        expect(trajectory.points.length).toBe(1);
        expect([...trajectory.points[0]!.positions]).toEqual([...P0].reverse());
        expect(trajectory.points[0]!.time_from_start).toEqual({ sec: 0, nanosec: 20_000_000 });
      }
      await handle.shutdown();
      bus.close();
    }
  });

  it("takes parameter changes at run time: velocity limit, control rate; refuses a limit list of the wrong length", async () => {
    const r = await rig({}, { latencyMs: 50, trajectory: (t) => intent(t).map((v) => v + 0.5 * Math.sin(8 * t)) });
    try {
      await r.bus.advanceTo(START_NS + 1000n * MS);
      expect(r.blenderGraph.setParameters({ max_joint_velocity_rad_s: [0.05], control_rate_hz: 50 })).toEqual({ successful: true });
      const from = r.commands.length;
      await r.bus.advanceTo(START_NS + 2000n * MS);
      const after = r.commands.slice(from);
      expect(nsFromTime(after[1]!.header.stamp) - nsFromTime(after[0]!.header.stamp)).toBe(20n * MS);
      expect(maxStepRad(after)).toBeLessThanOrEqual(0.05 * 0.02 + 1e-12);
      expect(maxStepRad(after)).toBeGreaterThan(0.05 * 0.02 * 0.99);
      const refused = r.blenderGraph.setParameters({ max_joint_velocity_rad_s: [1, 2, 3] });
      expect(refused.successful).toBe(false);
      expect(!refused.successful && refused.reason).toMatch(/max_joint_velocity_rad_s.*has 3 values; expected one, or one per joint \(6\)/);
    } finally {
      await r.stop();
    }
  });

  it("refuses bad parameters at start, naming them", () => {
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ max_joint_velocity_rad_s: [1, 2] }, /max_joint_velocity_rad_s.*expected one, or one per joint \(6\)/],
      [{ joint_position_min_rad: [0, 0, 0, 0, 0, 0] }, /joint_position_max_rad.*given together/],
      [{ joint_position_min_rad: [0, 0, 0, 0, 0, 0], joint_position_max_rad: [1, 1, 1, 0, 1, 1] }, /joint_position_max_rad.*above its lower limit/],
      [{ joint_names: ["a", "a"] }, /joint_names.*twice/],
      [{ blend_schedule: "cubic" }, /blend_schedule/],
      [{ control_rate_hz: 0 }, /control_rate_hz/],
    ];
    for (const [values, message] of bad) expect(() => validateParameters(chunkBlenderParameters, values, "test")).toThrow(message);
  });

  it("as a command, exits 2 with one line naming a bad parameter", () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), "pi0fast-blender-")), "bad.yaml");
    writeFileSync(file, "/**/chunk_blender:\n  ros__parameters:\n    max_joint_velocity_rad_s: [1.0, 2.0]\n");
    const result = runCli(["node", "chunk_blender", "--params", file]);
    expect(result.status).toBe(2);
    expect(result.stderr.trim().split("\n")).toEqual([`pi0fast: parameters of node '/chunk_blender': parameter 'max_joint_velocity_rad_s' = [1,2]: has 2 values; expected one, or one per joint (6)`]);
  });

  it("never publishes NaN or a step faster than the velocity limit, for any chunks arriving at any time (fast-check)", async () => {
    const chunkArb = fc.record({
      atMs: fc.integer({ min: 0, max: 1500 }),
      stampOffsetMs: fc.integer({ min: -800, max: 100 }),
      horizon: fc.integer({ min: 1, max: 50 }),
      amplitudeRad: fc.double({ min: -5, max: 5, noNaN: true }),
      corruption: fc.constantFrom("none", "none", "nan", "short", "names", "failed"),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(chunkArb, { maxLength: 25 }), fc.constantFrom("constant", "linear", "temporal_ensembling", "latest_only"), async (arrivals, schedule) => {
        const bus = new LocalBus({ clock: START_NS, logSink: () => {} });
        const tester = bus.createGraph("tester");
        const commands: SensorMsgsJointState[] = [];
        tester.createSubscription("sensor_msgs/msg/JointState", "joint_command", "reliable", (c) => void commands.push(c));
        const chunks = tester.createPublisher("pi0fast_ros/msg/ActionChunk", "action_chunk", "reliable");
        const graph = bus.createGraph("chunk_blender", { parameters: { blend_schedule: schedule, max_joint_velocity_rad_s: [0.8] } });
        const handle = await chunkBlenderNode.create(graph, graph.declareParameters(chunkBlenderNode.parameters));
        tester.createPublisher("sensor_msgs/msg/JointState", "joint_states", "reliable").publish({ header: makeHeader(START_NS), name: JOINTS, position: Float64Array.from(P0), velocity: new Float64Array(0), effort: new Float64Array(0) });
        const sorted = [...arrivals].sort((a, b) => a.atMs - b.atMs);
        let id = 0;
        for (const arrival of sorted) {
          const atNs = START_NS + BigInt(arrival.atMs) * MS;
          await bus.advanceTo(atNs > bus.clock.nowNs() ? atNs : bus.clock.nowNs());
          const length = arrival.corruption === "short" ? arrival.horizon * 6 - 2 : arrival.horizon * 6;
          const message: Pi0fastRosActionChunk = {
            header: makeHeader(bus.clock.nowNs() + BigInt(arrival.stampOffsetMs) * MS),
            chunk_id: ++id,
            dt_s: 1 / 30,
            horizon: arrival.horizon,
            action_names: arrival.corruption === "names" ? ["x", ...JOINTS.slice(1)] : JOINTS,
            actions_rad: Float64Array.from({ length }, (_, k) => (arrival.corruption === "nan" && k === 3 ? NaN : arrival.amplitudeRad * Math.cos(k))),
            inference_latency_ms: 0,
            token_count: 0,
            decode_status: arrival.corruption === "failed" ? 2 : 0,
            decode_detail: "",
          };
          chunks.publish(message);
        }
        await bus.advanceTo(START_NS + 2000n * MS);
        await handle.shutdown();
        bus.close();
        expect(commands.length).toBeGreaterThan(150);
        expect([...commands[0]!.position]).toEqual(P0);
        for (const c of commands) expect(c.position.every(Number.isFinite)).toBe(true);
        expect(maxStepRad(commands)).toBeLessThanOrEqual(0.8 * 0.01 * (1 + 1e-12));
      }),
      { numRuns: 25 },
    );
  });
});
