/**
 * The replay evaluation through the real nodes on the simulated clock, with the recorded oracle: deterministic,
 * ~0 error without latency, the error a delay implies when nothing compensates it, and the blender's delay
 * handling beating the naive baseline.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BagReader } from "../../src/bag/reader.js";
import { makeSampleBags, SAMPLE_TOPICS } from "../../src/bag/sample.js";
import { evaluate, metricsDocument } from "../../src/eval/evaluation.js";
import { runReplay, type ReplayResult } from "../../src/eval/replay.js";
import { nsFromTime } from "../../src/msgs/messages.js";
import { readParamsFile } from "../../src/nodes/host.js";
import { parseParamsFile } from "../../src/ros/parameters.js";
import { makeTestModel } from "../../src/policy/test-model.js";
import { SO100_JOINTS } from "../../src/so100/calibration.js";
import { FIXTURES, REPO_ROOT } from "../helpers/system.js";

const CONFIG = path.join(REPO_ROOT, "config/eval.yaml");
const params = readParamsFile(CONFIG);
let root: string;
let bagDir: string;
/** The bag's leader arm, read here without the eval's trajectory code: times (ns) and positions per joint. */
let leader: { timeNs: bigint; positions: number[] }[];

beforeAll(async () => {
  root = mkdtempSync(path.join(tmpdir(), "pi0fast-replay-"));
  [bagDir] = (await makeSampleBags({ outDir: path.join(root, "bags"), format: "mcap", episodes: 1, seconds: 4, cameras: 2, width: 64, height: 64, seed: 7 })) as [string];
  leader = [];
  const bag = await BagReader.open(bagDir);
  for await (const message of bag.messages({ topics: [SAMPLE_TOPICS.leader] })) {
    const state = message.message as { header: { stamp: { sec: number; nanosec: number } }; name: string[]; position: Float64Array };
    leader.push({ timeNs: nsFromTime(state.header.stamp), positions: SO100_JOINTS.map((joint) => state.position[state.name.indexOf(joint)]!) });
  }
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The leader arm at `timeNs`, linear between its samples. */
function leaderAt(timeNs: bigint): number[] {
  let k = 0;
  while (k < leader.length - 2 && leader[k + 1]!.timeNs <= timeNs) k++;
  const a = leader[k]!;
  const b = leader[k + 1]!;
  const s = Math.min(1, Math.max(0, Number(timeNs - a.timeNs) / Number(b.timeNs - a.timeNs)));
  return a.positions.map((value, j) => value + (b.positions[j]! - value) * s);
}

function replay(latencyMs: number, overrides: Record<string, Record<string, unknown>> = {}): Promise<ReplayResult> {
  return runReplay({ bagPath: bagDir, params, configName: CONFIG, policy: { kind: "recorded" }, latency: { kind: "injected", ms: latencyMs }, overrides });
}

const NAIVE = { latency_injector: { delay_compensation: false } };

describe("pi0fast eval replay (recorded oracle)", () => {
  it("is deterministic: two evaluations give byte-identical metrics.json", async () => {
    const options = { bagPath: bagDir, params, configName: CONFIG, policy: { kind: "recorded" as const }, latencies: [{ kind: "injected" as const, ms: 100 }] };
    const first = metricsDocument(await evaluate(options));
    const second = metricsDocument(await evaluate(options));
    expect(second).toBe(first);
    expect(JSON.parse(first).runs[0].chunks).toBeGreaterThan(5);
  });

  it("gives ~0 error at 0 latency", async () => {
    const run = await replay(0);
    expect(run.metrics.window.ticks).toBeGreaterThan(300);
    expect(run.metrics.underruns).toBe(0);
    // the residue is the chunk's 33 ms step interpolation of a recording sampled at 100 Hz
    expect(run.metrics.tracking.mae_rad!).toBeLessThan(0.001);
  });

  // Without compensation, the tick at t executes the latest chunk from its step 0 on arrival: it commands the
  // recorded action at t − d, d = arrival − the observation stamp the chunk was computed from.
  for (const k of [10, 30]) {
    it(`gives the error a delay of ${k} control periods implies when nothing compensates it`, async () => {
      const latencyMs = k * 10; // control period 10 ms (100 Hz)
      const run = await replay(latencyMs, { ...NAIVE, chunk_blender: { blend_schedule: "latest_only", align_offset: false } });
      const observationStamp = new Map(run.policyChunks.map((chunk) => [chunk.chunkId, chunk.stampNs]));
      const arrivals = run.chunks.map((chunk) => ({ arrivalNs: chunk.arrivalNs, delayNs: chunk.arrivalNs - observationStamp.get(chunk.chunkId!)! }));
      expect(arrivals.every((arrival) => arrival.delayNs >= BigInt(latencyMs) * 1_000_000n)).toBe(true);
      let sum = 0;
      let count = 0;
      for (const command of run.commands) {
        if (command.timeNs < arrivals[0]!.arrivalNs || command.timeNs > leader[leader.length - 1]!.timeNs) continue;
        const active = arrivals.filter((arrival) => arrival.arrivalNs <= command.timeNs).pop()!;
        const truth = leaderAt(command.timeNs);
        const delayed = leaderAt(command.timeNs - active.delayNs);
        sum += truth.reduce((total, value, j) => total + Math.abs(value - delayed[j]!), 0) / truth.length;
        count++;
      }
      const expectedMae = sum / count;

      expect(run.metrics.window.ticks).toBe(count);
      expect(expectedMae).toBeGreaterThan(0.01);
      expect(run.metrics.tracking.mae_rad!).toBeGreaterThan(expectedMae * 0.97);
      expect(run.metrics.tracking.mae_rad!).toBeLessThan(expectedMae * 1.03);
    });
  }

  it("with the blender's delay handling has far less error at 300 ms than the naive execute-from-step-0 baseline", async () => {
    const compensated = await replay(300);
    const naive = await replay(300, NAIVE);
    expect(naive.metrics.tracking.mae_rad!).toBeGreaterThan(0.02);
    expect(compensated.metrics.tracking.mae_rad!).toBeLessThan(naive.metrics.tracking.mae_rad! / 10);
    // the compensated run skips the steps already in the past on arrival; the naive one never does
    expect(compensated.metrics.skipped_steps).toBeGreaterThan(compensated.metrics.chunks * 8);
    expect(naive.metrics.skipped_steps).toBe(0);
  });

  it("runs the policy node on a model and holds each chunk back for its own measured latency", async () => {
    const modelDir = path.join(root, "model");
    await makeTestModel({ out: modelDir, preset: "tiny", seed: 1 });
    const run = await runReplay({ bagPath: bagDir, params, configName: CONFIG, policy: { kind: "model", modelDir }, latency: { kind: "measured" } });
    expect(run.chunks.length).toBeGreaterThan(3);
    expect(run.metrics.decode_status.ok + run.metrics.decode_status.repaired + run.metrics.decode_status.failed).toBe(run.chunks.length);
    const answered = new Map(run.policyChunks.map((chunk) => [chunk.chunkId, chunk.answeredNs]));
    for (const chunk of run.chunks) {
      expect(chunk.inferenceLatencyMs).toBeGreaterThan(0);
      expect(chunk.arrivalNs - answered.get(chunk.chunkId!)!).toBe(BigInt(Math.round(chunk.inferenceLatencyMs * 1e6)));
    }
    expect(run.metrics.window.ticks).toBeGreaterThan(100);
  });

  it("replays a recording made by ROS 2 Jazzy itself (one camera, leader and follower arms)", async () => {
    const jazzy = path.join(FIXTURES, "bags/jazzy_mcap");
    const jazzyParams = parseParamsFile(
      [
        "/**/eval:\n  ros__parameters:\n    camera_topics: [/camera/image_raw]\n    action_topic: /leader/joint_states",
        "/**/observation_aggregator:\n  ros__parameters:\n    camera_names: [base_0_rgb]\n    image_size: 32",
        "/**/chunk_blender:\n  ros__parameters:\n    max_joint_velocity_rad_s: [5.0]",
      ].join("\n"),
      "jazzy.yaml",
    );
    const at = async (ms: number) => (await runReplay({ bagPath: jazzy, params: jazzyParams, configName: "jazzy.yaml", policy: { kind: "recorded" }, latency: { kind: "injected", ms } })).metrics;
    const fast = await at(0);
    const slow = await at(300);
    expect(fast.chunks).toBeGreaterThan(5);
    expect(fast.window.ticks).toBeGreaterThan(200);
    expect(fast.underruns).toBe(0);
    expect(slow.skipped_steps).toBeGreaterThan(fast.skipped_steps);
    expect(slow.tracking.mae_rad!).toBeGreaterThan(fast.tracking.mae_rad!);
  });

  it("names the topic the bag lacks and lists the bag's topics", async () => {
    const bad = [...params, { nodePattern: "/**/eval", parameters: { action_topic: "/teleop/joint_command" } }];
    await expect(runReplay({ bagPath: bagDir, params: bad, configName: "my.yaml", policy: { kind: "recorded" }, latency: { kind: "injected", ms: 0 } })).rejects.toThrow(
      /has no topic \/teleop\/joint_command \(named in my\.yaml\); its topics are: \/instruction \(std_msgs\/msg\/String\), \/joint_states/,
    );
  });

  it("names the eval parameter that is wrong", async () => {
    const bad = [...params, { nodePattern: "/**/eval", parameters: { camera_topics: "/camera/front/image_raw" } }];
    await expect(runReplay({ bagPath: bagDir, params: bad, configName: "my.yaml", policy: { kind: "recorded" }, latency: { kind: "injected", ms: 0 } })).rejects.toThrow(/my\.yaml \(section \/\*\*\/eval\): parameter 'camera_topics'/);
  });
});
