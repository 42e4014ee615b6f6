/**
 * `npm run bench -- control [--duration-s 60] [--policy-threads 0] [--preset small]`
 *
 * 1. Blender CPU time per control tick, 6 joints, 50-step chunks arriving every 100 ms (overlaps blended,
 *    offsets fading): the pure core per blend schedule, then the node's whole timer callback (sampling,
 *    blending, limits, the JointState message, publish, replan decision) on a simulated-clock LocalGraph.
 *    Goal ≤ 50 µs.
 * 2. Control-tick period jitter at 100 Hz on the local graph in real time (`pi0fast run`'s set-up: the
 *    blender on the main thread, an arm publishing joint_states and 30 Hz observations beside it), for
 *    `--duration-s` seconds each: a bare LocalGraph timer (what the platform gives), the blender without the
 *    policy, then with the policy node running inference on the `--preset` test model (horizon 50) in its
 *    worker thread. p50 / p99 / max of |period − 10 ms| from the commands' stamps. Goal p99 ≤ 1 ms.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ChunkBlender } from "../src/blending/blender.js";
import { BLEND_SCHEDULES, type BlendSchedule } from "../src/blending/schedules.js";
import { makeHeader, Pi0fastRosActionChunkConstants as Decode, type Pi0fastRosActionChunk } from "../src/msgs/messages.js";
import { startLocal } from "../src/nodes/host.js";
import { blenderSettings, chunkBlenderNode, chunkBlenderParameters } from "../src/nodes/chunk_blender.js";
import { makeTestModel, type PresetName } from "../src/policy/test-model.js";
import type { Graph } from "../src/ros/graph.js";
import { LocalBus } from "../src/ros/local-graph.js";
import { SO100_JOINTS } from "../src/so100/calibration.js";

const JOINTS = [...SO100_JOINTS];
const HORIZON = 50;
const DT_S = 1 / 30;
const PERIOD_NS = 10_000_000n;
const MS = 1_000_000n;

function option(args: string[], name: string, fallback: number): number {
  const index = args.indexOf(name);
  if (index < 0) return fallback;
  const value = Number(args[index + 1]);
  if (!Number.isFinite(value) || value < 0) {
    console.error(`${name} ${args[index + 1] ?? "(missing)"}: expected a non-negative number`);
    process.exit(2);
  }
  return value;
}

function quantile(sorted: Float64Array | number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

function summary(values: number[]): { p50: number; p99: number; max: number; mean: number } {
  const sorted = Float64Array.from(values).sort();
  return { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), max: sorted[sorted.length - 1]!, mean: values.reduce((a, b) => a + b, 0) / values.length };
}

/** A chunk of the sweep the arm follows, stamped at `stampNs`. */
function chunkAt(chunkId: number, stampNs: bigint): Pi0fastRosActionChunk {
  const actions = new Float64Array(HORIZON * JOINTS.length);
  const t0 = Number(stampNs) / 1e9;
  for (let i = 0; i < HORIZON; i++) for (let j = 0; j < JOINTS.length; j++) actions[i * JOINTS.length + j] = 0.3 * Math.sin(0.7 * (t0 + i * DT_S) + j) + 0.002 * (chunkId % 7);
  return { header: makeHeader(stampNs), chunk_id: chunkId, dt_s: DT_S, horizon: HORIZON, action_names: JOINTS, actions_rad: actions, inference_latency_ms: 80, token_count: 0, decode_status: Decode.DECODE_OK, decode_detail: "" };
}

/** The pure core: ns per tick, 60 simulated seconds per schedule, a chunk every 100 ms stamped 80 ms before it arrives. */
function coreTickNs(schedule: BlendSchedule): number[] {
  const defaults = chunkBlenderParameters.parse({ blend_schedule: schedule });
  const blender = new ChunkBlender(blenderSettings(defaults));
  const start = 1_000_000_000_000n;
  blender.observeJointState(JOINTS, JOINTS.map(() => 0));
  blender.tick(start);
  const samples: number[] = [];
  let chunkId = 0;
  for (let k = 1; k <= 6000; k++) {
    const t = start + BigInt(k) * PERIOD_NS;
    if (k % 10 === 0) blender.offerChunk(chunkAt(++chunkId, t - 80n * MS), t);
    const before = process.hrtime.bigint();
    blender.tick(t);
    samples.push(Number(process.hrtime.bigint() - before));
  }
  return samples;
}

/** A graph whose timers report each callback's duration. */
function timingTimers(graph: Graph, samplesNs: number[]): Graph {
  return new Proxy(graph, {
    get(target, property) {
      if (property === "createTimer") {
        return (periodNs: bigint, callback: () => void | Promise<void>) =>
          target.createTimer(periodNs, () => {
            const before = process.hrtime.bigint();
            const result = callback();
            samplesNs.push(Number(process.hrtime.bigint() - before));
            return result;
          });
      }
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** The node's whole tick on a simulated clock, answered by an in-bench policy (100 ms latency). */
async function nodeTickNs(): Promise<number[]> {
  const bus = new LocalBus({ clock: 1_000_000_000_000n, logSink: () => {} });
  const peer = bus.createGraph("peer");
  const chunks = peer.createPublisher("pi0fast_ros/msg/ActionChunk", "action_chunk", "reliable");
  let chunkId = 0;
  peer.createSubscription("pi0fast_ros/msg/ReplanRequest", "replan_request", "reliable", () => {
    const stampNs = bus.clock.nowNs();
    const timer = peer.createTimer(100n * MS, () => {
      timer.cancel();
      chunks.publish(chunkAt(++chunkId, stampNs));
    });
  });
  let commands = 0;
  peer.createSubscription("sensor_msgs/msg/JointState", "joint_command", "reliable", () => void commands++);
  const samples: number[] = [];
  const graph = bus.createGraph("chunk_blender", { parameters: { n_steps_between_replan: 3 } });
  const handle = await chunkBlenderNode.create(timingTimers(graph, samples), graph.declareParameters(chunkBlenderNode.parameters));
  peer.createPublisher("sensor_msgs/msg/JointState", "joint_states", "reliable").publish({ header: makeHeader(bus.clock.nowNs()), name: JOINTS, position: new Float64Array(6), velocity: new Float64Array(0), effort: new Float64Array(0) });
  await bus.advanceBy(60_000n * MS);
  if (commands < 5900 || chunkId < 100) throw new Error(`node tick bench: only ${commands} commands and ${chunkId} chunks in 60 simulated seconds`);
  await handle.shutdown();
  bus.close();
  return samples.slice(100);
}

/** The reference: a bare LocalGraph timer at 100 Hz in real time, doing nothing but reading the clock. */
async function idleTimerJitter(durationS: number): Promise<JitterResult> {
  const bus = new LocalBus({ logSink: () => {} });
  const graph = bus.createGraph("idle");
  const stampsNs: bigint[] = [];
  graph.createTimer(PERIOD_NS, () => void stampsNs.push(graph.nowNs()));
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const from = stampsNs.length;
  await new Promise((resolve) => setTimeout(resolve, durationS * 1000));
  bus.close();
  return { ...periodErrors(stampsNs.slice(from)), chunks: 0, diagnostics: {} };
}

function periodErrors(stampsNs: bigint[]): Pick<JitterResult, "periodErrorMs" | "ticks" | "lateOver1Ms"> {
  const errorsMs: number[] = [];
  for (let k = 1; k < stampsNs.length; k++) errorsMs.push(Math.abs(Number(stampsNs[k]! - stampsNs[k - 1]! - PERIOD_NS) / 1e6));
  return { periodErrorMs: summary(errorsMs), ticks: stampsNs.length, lateOver1Ms: errorsMs.filter((e) => e > 1).length };
}

interface JitterResult {
  periodErrorMs: ReturnType<typeof summary>;
  ticks: number;
  lateOver1Ms: number;
  chunks: number;
  diagnostics: Record<string, string>;
}

/** `pi0fast run`'s local graph in real time; the tick times are the commands' header stamps. */
async function jitter(withPolicy: boolean, durationS: number, modelDir: string, policyThreads: number): Promise<JitterResult> {
  const params = [
    { nodePattern: "/**/chunk_blender", parameters: { max_chunk_age_ms: 5000 } },
    { nodePattern: "/**/policy", parameters: { model_dir: modelDir, providers: ["cpu"], warmup_inferences: 1, cpu_threads: policyThreads, max_observation_age_ms: 5000 } },
  ];
  const run = await startLocal(withPolicy ? ["policy", "chunk_blender"] : ["chunk_blender"], { params, namespace: "/so100", logLevel: "error" });
  if (run === undefined) throw new Error("stopped while the nodes were starting");
  const peer = run.bus.createGraph("bench_arm", { namespace: "/so100" });
  const stampsNs: bigint[] = [];
  let chunks = 0;
  let diagnostics: Record<string, string> = {};
  let armRad = new Float64Array(JOINTS.length);
  peer.createSubscription("sensor_msgs/msg/JointState", "joint_command", "reliable", (command) => {
    stampsNs.push(BigInt(command.header.stamp.sec) * 1_000_000_000n + BigInt(command.header.stamp.nanosec));
    armRad = Float64Array.from(command.position);
  });
  peer.createSubscription("pi0fast_ros/msg/ActionChunk", "action_chunk", "reliable", () => void chunks++);
  peer.createSubscription("diagnostic_msgs/msg/DiagnosticArray", "/diagnostics", "reliable", (array) => {
    for (const status of array.status) if (status.name.startsWith("chunk_blender")) diagnostics = { ...diagnostics, ...Object.fromEntries(status.values.map((kv) => [kv.key, kv.value])) };
  });
  const jointStates = peer.createPublisher("sensor_msgs/msg/JointState", "joint_states", "reliable");
  peer.createTimer(20n * MS, () => jointStates.publish({ header: makeHeader(peer.nowNs()), name: JOINTS, position: Float64Array.from(armRad), velocity: new Float64Array(0), effort: new Float64Array(0) }));
  const observations = peer.createPublisher("pi0fast_ros/msg/Observation", "observation", { profile: "reliable", depth: 1 });
  const size = 224;
  peer.createTimer(33n * MS, () => {
    const stamp = makeHeader(peer.nowNs());
    observations.publish({
      header: stamp,
      camera_names: ["base_0_rgb", "wrist_0_rgb"],
      images: [0, 1].map(() => ({ header: stamp, height: size, width: size, encoding: "rgb8", is_bigendian: 0, step: size * 3, data: new Uint8Array(size * size * 3).fill(100) })),
      image_stamps: [stamp.stamp, stamp.stamp],
      state: new Float64Array(JOINTS.length),
      state_names: JOINTS,
      state_stamp: stamp.stamp,
      instruction: "pick up the red cube",
    });
  });
  // One second to settle (JIT, first chunks), then the measured window.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const from = stampsNs.length;
  await new Promise((resolve) => setTimeout(resolve, durationS * 1000));
  const window = stampsNs.slice(from);
  peer.destroy();
  await run.stop();
  return { ...periodErrors(window), chunks, diagnostics };
}

export async function run(args: string[]): Promise<void> {
  const durationS = option(args, "--duration-s", 60);
  const policyThreads = option(args, "--policy-threads", 0);
  const presetIndex = args.indexOf("--preset");
  const preset = (presetIndex >= 0 ? args[presetIndex + 1] : "small") as PresetName;
  if (durationS <= 0) {
    console.error(`--duration-s ${durationS}: expected a positive number of seconds`);
    process.exit(2);
  }
  console.log(`control bench (node ${process.version}, ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")})`);

  console.log(`\nblender CPU time per tick, ${JOINTS.length} joints, ${HORIZON}-step chunks every 100 ms (goal ≤ 50 µs)`);
  console.log(`${"".padEnd(44)} ${"p50 µs".padStart(8)} ${"p99 µs".padStart(8)} ${"mean µs".padStart(8)}`);
  for (const schedule of BLEND_SCHEDULES) {
    coreTickNs(schedule); // warm the JIT
    const s = summary(coreTickNs(schedule).map((ns) => ns / 1000));
    console.log(`${`core tick, ${schedule}`.padEnd(44)} ${s.p50.toFixed(2).padStart(8)} ${s.p99.toFixed(2).padStart(8)} ${s.mean.toFixed(2).padStart(8)}`);
  }
  await nodeTickNs();
  const node = summary((await nodeTickNs()).map((ns) => ns / 1000));
  console.log(`${"node timer callback (constant, + msg, publish)".padEnd(44)} ${node.p50.toFixed(2).padStart(8)} ${node.p99.toFixed(2).padStart(8)} ${node.mean.toFixed(2).padStart(8)}`);

  const dir = mkdtempSync(path.join(os.tmpdir(), "pi0fast-bench-control-"));
  try {
    const started = performance.now();
    await makeTestModel({ out: dir, preset, seed: 0, horizon: HORIZON });
    console.log(`\nbuilt the ${preset} test model (horizon ${HORIZON}) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    console.log(`control-tick period error at 100 Hz, real time, ${durationS} s each (goal p99 ≤ 1 ms)`);
    console.log(`${"".padEnd(40)} ${"ticks".padStart(6)} ${"p50 ms".padStart(7)} ${"p99 ms".padStart(7)} ${"max ms".padStart(7)} ${">1 ms".padStart(6)}  policy`);
    const line = (label: string, r: JitterResult, policy: string) => {
      const e = r.periodErrorMs;
      console.log(`${label.padEnd(40)} ${String(r.ticks).padStart(6)} ${e.p50.toFixed(3).padStart(7)} ${e.p99.toFixed(3).padStart(7)} ${e.max.toFixed(2).padStart(7)} ${String(r.lateOver1Ms).padStart(6)}  ${policy}`);
    };
    line("bare LocalGraph timer (reference)", await idleTimerJitter(durationS), "none");
    line("blender + arm + observations", await jitter(false, durationS, dir, policyThreads), "none");
    const r = await jitter(true, durationS, dir, policyThreads);
    const d = r.diagnostics;
    line(`+ policy (${preset}, worker thread)`, r, `${r.chunks} chunks, latency p50 ${d.latency_p50_ms} / p95 ${d.latency_p95_ms} ms, underruns ${d.underruns}, rate-limited ticks ${d.rate_limited_ticks}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
