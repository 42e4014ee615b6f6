/**
 * `npm run bench -- observation [--seconds 8] [--image-size 224]`
 * The observation aggregator on a real-time LocalGraph: 3 cameras 640×480 rgb8 at 30 Hz and joint states at
 * 100 Hz, published by timers with their stamps taken at publish time, as drivers do. For each sync mode:
 * - CPU share: process CPU time (every thread, sharp's included) per wall second, minus that of a reference
 *   run of the same publishers with no aggregator;
 * - added latency: from the publish of the newest message of an observation's set to the observation's
 *   arrival at a subscriber (synchronization wait + decode + resize + publish), p50 / p99.
 */
import os from "node:os";
import { makeHeader, nsFromTime, type Pi0fastRosObservation } from "../src/msgs/messages.js";
import { observationAggregatorNode } from "../src/nodes/observation_aggregator.js";
import { LocalBus } from "../src/ros/local-graph.js";
import { SO100_JOINTS } from "../src/so100/calibration.js";

const WIDTH = 640;
const HEIGHT = 480;
const CAMERAS = ["base_0_rgb", "left_wrist_0_rgb", "right_wrist_0_rgb"];

function option(args: string[], name: string, fallback: number): number {
  const index = args.indexOf(name);
  return index >= 0 ? Number(args[index + 1]) : fallback;
}

interface RunResult {
  cpuShare: number;
  observations: number;
  seconds: number;
  latenciesMs: number[];
}

/** One run: the publishers, and the aggregator when `sync` is given. */
async function runOnce(seconds: number, imageSize: number, sync: "approximate" | "latest" | undefined, extra: Record<string, unknown> = {}): Promise<RunResult> {
  const bus = new LocalBus({ logSink: () => {} });
  const tester = bus.createGraph("tester");
  const cameras = CAMERAS.map((_, c) => tester.createPublisher("sensor_msgs/msg/Image", `camera/${c}/image_raw`, "sensor"));
  const joints = tester.createPublisher("sensor_msgs/msg/JointState", "joint_states", "sensor");
  const instruction = tester.createPublisher("std_msgs/msg/String", "instruction", "latched");
  instruction.publish({ data: "pick up the red cube" });
  // Two frames per camera, alternated, so no run sees one buffer only.
  const frames = CAMERAS.map((_, c) => [0, 1].map((k) => Uint8Array.from({ length: WIDTH * HEIGHT * 3 }, (_, i) => (i * (3 + c) + k * 41 + (i >> 10)) & 0xff)));
  /** performance.now() at publish, by stamp. */
  const publishedMs = new Map<bigint, number>();
  const latenciesMs: number[] = [];
  let observations = 0;
  let handle: { shutdown(): void | Promise<void> } | undefined;
  let recording = false;
  if (sync !== undefined) {
    tester.createSubscription("pi0fast_ros/msg/Observation", "observation", { profile: "reliable", depth: 100 }, (observation: Pi0fastRosObservation) => {
      const arrivedMs = performance.now();
      if (!recording) return;
      const newest = Math.max(...[...observation.image_stamps, observation.state_stamp].map((stamp) => publishedMs.get(nsFromTime(stamp)) ?? Number.NaN));
      if (Number.isFinite(newest)) latenciesMs.push(arrivedMs - newest);
      observations++;
    });
    const graph = bus.createGraph("observation_aggregator", {
      parameters: { camera_names: CAMERAS, camera_topics: CAMERAS.map((_, c) => `camera/${c}/image_raw`), image_size: imageSize, image_resize: "pad", sync, max_rate_hz: 30, ...extra },
    });
    handle = await observationAggregatorNode.create(graph, graph.declareParameters(observationAggregatorNode.parameters));
  }
  let frame = 0;
  const stampOnce = (): bigint => {
    // A unique stamp per message, so latencies are looked up by stamp.
    let stampNs = bus.clock.nowNs();
    while (publishedMs.has(stampNs)) stampNs += 1n;
    publishedMs.set(stampNs, performance.now());
    return stampNs;
  };
  tester.createTimer(33_333_333n, () => {
    frame++;
    cameras.forEach((publisher, c) => {
      const stampNs = stampOnce();
      publisher.publish({ header: makeHeader(stampNs, `camera${c}`), height: HEIGHT, width: WIDTH, encoding: "rgb8", is_bigendian: 0, step: WIDTH * 3, data: frames[c]![frame % 2]! });
    });
  });
  tester.createTimer(10_000_000n, () => {
    const stampNs = stampOnce();
    joints.publish({ header: makeHeader(stampNs), name: [...SO100_JOINTS], position: Float64Array.from(SO100_JOINTS, (_, j) => Math.sin(Number(stampNs % 10_000_000_000n) / 1e9 + j)), velocity: new Float64Array(), effort: new Float64Array() });
  });
  // One second of warm-up (sharp's first calls, JIT), then the measured window.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  recording = true;
  const cpuStart = process.cpuUsage();
  const wallStart = performance.now();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const cpu = process.cpuUsage(cpuStart);
  const wallS = (performance.now() - wallStart) / 1000;
  recording = false;
  await handle?.shutdown();
  bus.close();
  if (bus.callbackErrors.length > 0) throw bus.callbackErrors[0];
  return { cpuShare: (cpu.user + cpu.system) / 1e6 / wallS, observations, seconds: wallS, latenciesMs };
}

function quantile(sorted: number[], q: number): number {
  return sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export async function run(args: string[]): Promise<void> {
  const seconds = option(args, "--seconds", 8);
  const imageSize = option(args, "--image-size", 224);
  const load = os.loadavg().map((value) => value.toFixed(2)).join(" ");
  console.log(`observation aggregator: ${CAMERAS.length} cameras ${WIDTH}×${HEIGHT} rgb8 at 30 Hz + joint states at 100 Hz → ${imageSize}×${imageSize} (pad), real-time LocalGraph, ${seconds} s per run`);
  console.log(`machine: ${os.cpus().length} cores, load average ${load} (figures on a loaded machine are upper bounds)`);
  const reference = await runOnce(seconds, imageSize, undefined);
  console.log(`  publishers alone (reference): CPU ${(reference.cpuShare * 100).toFixed(1)}% of one core`);
  const runs = [
    { label: "approximate sync (defaults)", sync: "approximate" as const, extra: {} },
    { label: "approximate, joint_state_min_interval_ms 9", sync: "approximate" as const, extra: { joint_state_min_interval_ms: 9 } },
    { label: "latest sync", sync: "latest" as const, extra: {} },
  ];
  for (const { label, sync, extra } of runs) {
    const result = await runOnce(seconds, imageSize, sync, extra);
    const sorted = [...result.latenciesMs].sort((a, b) => a - b);
    const aggregatorShare = result.cpuShare - reference.cpuShare;
    console.log(
      `  ${label}: ${(result.observations / result.seconds).toFixed(1)} observations/s, aggregator CPU ${(aggregatorShare * 100).toFixed(1)}% of one core ` +
        `(${(result.cpuShare / reference.cpuShare).toFixed(1)}× the reference's), added latency p50 ${quantile(sorted, 0.5).toFixed(2)} ms, p99 ${quantile(sorted, 0.99).toFixed(2)} ms, max ${quantile(sorted, 1).toFixed(2)} ms (goal p99 ≤ 5 ms)`,
    );
  }
}
