/**
 * `pi0fast demo`: the whole pipeline in real time on the embedded graph, with nothing but this repository.
 * The cached sample recording's cameras and instruction play in real time (looping); the observation
 * aggregator, the policy (tiny model trained on that recording, in its worker thread), the chunk blender and
 * the SO-100 controller run on one LocalBus; the controller drives the simulated arm through a socat pty pair
 * (in memory without socat) and the aggregator observes that arm's joint states: the loop is closed.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { SAMPLE_TOPICS } from "../bag/sample.js";
import { BagPlayer } from "../eval/bag-player.js";
import { nsFromTime, type SensorMsgsJointState } from "../msgs/messages.js";
import { startLocal } from "../nodes/host.js";
import { readManifest } from "../policy/manifest.js";
import type { LocalBus } from "../ros/local-graph.js";
import { resolveOverrides, type ParamsFileEntry } from "../ros/parameters.js";
import { SO100_JOINTS } from "../so100/calibration.js";
import { SIM_CALIBRATION, SimulatedArm } from "../so100/sim-arm.js";
import { serveSimulatedArm, type ServedArm } from "../so100/sim-serial.js";
import { demoAssets } from "./assets.js";
import { DemoMonitor, formatStatus, type DemoSummary } from "./monitor.js";
import { startPtyPair, type PtyPair } from "../so100/pty-pair.js";

export const DEMO_NAMESPACE = "/so100";
const DEMO_NODES = ["observation_aggregator", "policy", "chunk_blender", "so100_controller"];
const CONTROL_RATE_HZ = 100;

export type DemoTransport = "auto" | "pty" | "memory";

export interface DemoOptions {
  durationS: number;
  seed?: number;
  cacheDir?: string;
  transport?: DemoTransport;
  /** Resolves when the user asks to stop (Ctrl-C); the demo then stops cleanly and returns. */
  stopRequested: Promise<unknown>;
  /** A terminal for the live status line (redrawn in place); without one a line every 10 s goes to `log`. */
  statusTty?: NodeJS.WriteStream;
  log: (line: string) => void;
  /** Params-file sections applied over the demo's own (a user's tuning). */
  extraParams?: readonly ParamsFileEntry[];
}

export interface DemoResult {
  summary: DemoSummary;
  transport: "pty" | "memory";
  stoppedBy: "duration" | "signal";
  assetsGenerated: boolean;
  modelName: string;
}

function hasSocat(): boolean {
  return spawnSync("socat", ["-V"], { stdio: "ignore" }).status === 0;
}

/** Runs the demo; undefined when the stop came before the pipeline was running. */
export async function runDemo(options: DemoOptions): Promise<DemoResult | undefined> {
  let stopped = false;
  void options.stopRequested.then(() => (stopped = true));
  const assets = await demoAssets({ ...(options.cacheDir !== undefined ? { cacheDir: options.cacheDir } : {}), seed: options.seed ?? 0, log: options.log });
  if (stopped) return undefined;
  const manifest = readManifest(assets.modelDir);
  const transport = options.transport === "memory" || (options.transport !== "pty" && !hasSocat()) ? "memory" : "pty";
  const scratch = mkdtempSync(path.join(tmpdir(), "pi0fast-demo-"));
  let pty: PtyPair | undefined;
  let served: ServedArm | undefined;
  try {
    let controller: Record<string, unknown> = { mode: "sim" };
    if (transport === "pty") {
      pty = await startPtyPair(scratch);
      served = await serveSimulatedArm(pty.armEnd, new SimulatedArm({ calibration: SIM_CALIBRATION, nowNs: () => process.hrtime.bigint() }));
      const calibrationFile = path.join(scratch, "sim-arm-calibration.json");
      writeFileSync(calibrationFile, `${JSON.stringify(SIM_CALIBRATION, null, 2)}\n`);
      controller = { mode: "hardware", port: pty.clientEnd, calibration_file: calibrationFile };
    }
    const cameraTopics = manifest.vision.cameras.map((_, c) => SAMPLE_TOPICS.camera(c).slice(1));
    const params: ParamsFileEntry[] = [
      { nodePattern: "/**/observation_aggregator", parameters: { camera_names: manifest.vision.cameras, camera_topics: cameraTopics, image_size: manifest.vision.image_size, state_units: ["degrees"] } },
      // Inference leaves one core to the control loop (100 Hz tick p99 on 2 cores: 7.3 ms with both, 1.7 ms with one).
      { nodePattern: "/**/policy", parameters: { model_dir: assets.modelDir, providers: ["cpu"], warmup_inferences: 2, cpu_threads: Math.max(1, availableParallelism() - 1) } },
      { nodePattern: "/**/chunk_blender", parameters: { control_rate_hz: CONTROL_RATE_HZ } },
      { nodePattern: "/**/so100_controller", parameters: { ...controller, torque_on_start: true, read_rate_hz: 50 } },
      ...(options.extraParams ?? []),
    ];
    options.log(`starting ${DEMO_NODES.join(", ")} in ${DEMO_NAMESPACE} (simulated arm ${transport === "pty" ? `on the pty ${pty!.clientEnd}` : "in memory"}); Ctrl-C stops`);
    // the monitor's nominal period is the blender's, whatever --params made it
    const controlRateHz = Number(resolveOverrides(params, `${DEMO_NAMESPACE}/chunk_blender`).control_rate_hz ?? CONTROL_RATE_HZ);
    const run = await startLocal(DEMO_NODES, { params, namespace: DEMO_NAMESPACE, logLevel: "warn", stopRequested: options.stopRequested });
    if (run === undefined) return undefined;
    try {
      return await drive(options, run.bus, assets.bagDir, cameraTopics, controlRateHz, {
        transport,
        assetsGenerated: assets.generated,
        modelName: manifest.name,
      });
    } finally {
      await run.stop();
    }
  } finally {
    await served?.close();
    await pty?.kill();
    rmSync(scratch, { recursive: true, force: true });
  }
}

async function drive(
  options: DemoOptions,
  bus: LocalBus,
  bagDir: string,
  cameraTopics: string[],
  controlRateHz: number,
  context: Omit<DemoResult, "summary" | "stoppedBy">,
): Promise<DemoResult> {
  const startNs = bus.clock.nowNs();
  const monitor = new DemoMonitor(SO100_JOINTS, BigInt(Math.round(1e9 / controlRateHz)), startNs);
  const recorder = bus.createGraph("demo_monitor", { namespace: DEMO_NAMESPACE });
  const positions = (message: SensorMsgsJointState) => Float64Array.from(SO100_JOINTS, (joint) => message.position[message.name.indexOf(joint)] ?? Number.NaN);
  // Best-effort subscriptions hear reliable and best-effort publishers alike.
  recorder.createSubscription("pi0fast_ros/msg/Observation", "observation", { profile: "sensor", depth: 10 }, (message) => monitor.onObservation(nsFromTime(message.header.stamp)));
  recorder.createSubscription("pi0fast_ros/msg/ActionChunk", "action_chunk", { profile: "sensor", depth: 10 }, (chunk) =>
    monitor.onChunk({ arrivalNs: recorder.nowNs(), stampNs: nsFromTime(chunk.header.stamp), dtS: chunk.dt_s, horizon: chunk.horizon, decodeStatus: chunk.decode_status, inferenceLatencyMs: chunk.inference_latency_ms }),
  );
  recorder.createSubscription("pi0fast_ros/msg/ReplanRequest", "replan_request", { profile: "sensor", depth: 10 }, () => monitor.onReplanRequest());
  recorder.createSubscription("sensor_msgs/msg/JointState", "joint_command", { profile: "sensor", depth: 100 }, (message) => monitor.onCommand(nsFromTime(message.header.stamp), positions(message)));
  recorder.createSubscription("sensor_msgs/msg/JointState", "joint_states", { profile: "sensor", depth: 100 }, (message) => monitor.onArmState(nsFromTime(message.header.stamp), positions(message)));

  const player = await BagPlayer.open(bagDir, [
    ...cameraTopics.map((topic) => ({ from: `/${topic}`, to: topic })),
    { from: SAMPLE_TOPICS.instruction, to: "instruction", qos: "latched" as const },
  ]);
  const abort = new AbortController();
  const playing = player.playRealTime(bus, { loop: true, signal: abort.signal, namespace: DEMO_NAMESPACE });
  const tty = options.statusTty;
  let lastLogged = 0;
  const statusTimer = setInterval(() => {
    const status = monitor.status(bus.clock.nowNs(), process.memoryUsage().rss);
    if (tty !== undefined) tty.write(`\r\u001b[K${formatStatus(status, options.durationS)}`);
    else if (status.elapsedS - lastLogged >= 10) {
      lastLogged = status.elapsedS;
      options.log(formatStatus(status, options.durationS));
    }
  }, 500);
  const memoryTimer = setInterval(() => monitor.sampleMemory(bus.clock.nowNs(), process.memoryUsage().rss), 1000);
  let stoppedBy: DemoResult["stoppedBy"];
  try {
    const timeUp = new AbortController();
    const elapsed = sleep(options.durationS * 1000, "duration" as const, { signal: timeUp.signal }).catch(() => "duration" as const);
    stoppedBy = await Promise.race([elapsed, options.stopRequested.then(() => "signal" as const)]);
    timeUp.abort();
  } finally {
    clearInterval(statusTimer);
    clearInterval(memoryTimer);
    abort.abort();
    await playing.catch(() => undefined);
    if (tty !== undefined) tty.write("\r\u001b[K");
  }
  monitor.sampleMemory(bus.clock.nowNs(), process.memoryUsage().rss);
  const summary = monitor.summary(bus.clock.nowNs());
  recorder.destroy();
  return { ...context, summary, stoppedBy };
}
