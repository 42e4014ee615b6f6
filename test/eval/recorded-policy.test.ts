import { describe, expect, it } from "vitest";
import { latencyInjectorNode } from "../../src/eval/latency-injector.js";
import { recordedChunk, recordedPolicyNode } from "../../src/eval/recorded-policy.js";
import { JointTrajectory } from "../../src/eval/trajectory.js";
import { makeHeader, nsFromTime, type Pi0fastRosActionChunk, type Pi0fastRosObservation } from "../../src/msgs/messages.js";
import { startNode } from "../../src/nodes/host.js";
import { LocalBus } from "../../src/ros/local-graph.js";

const START = 1_000_000_000_000n;
const JOINTS = ["a", "b"];

/** a(t) = t, b(t) = t² (t in s after START), sampled every 10 ms for 3 s. */
const trajectory = JointTrajectory.fromSamples(
  Array.from({ length: 301 }, (_, k) => ({ timeNs: START + BigInt(k) * 10_000_000n, names: JOINTS, positionsRad: [k / 100, (k / 100) ** 2] })),
  JOINTS,
  "test",
);

function observation(stampNs: bigint): Pi0fastRosObservation {
  return { header: makeHeader(stampNs), camera_names: [], images: [], image_stamps: [], state: new Float64Array(0), state_names: [], state_stamp: makeHeader(stampNs).stamp, instruction: "" };
}

describe("recordedChunk", () => {
  it("holds the recorded action at stamp + i·dt, interpolated between samples", () => {
    const chunk = recordedChunk(trajectory, START + 105_000_000n, 4, 0.05);
    const expected = [0, 1, 2, 3].flatMap((i) => {
      const t = 0.105 + i * 0.05;
      const k = Math.floor(t * 100 + 1e-9);
      const s = t * 100 - k;
      return [t, (k / 100) ** 2 + (((k + 1) / 100) ** 2 - (k / 100) ** 2) * s];
    });
    expect(chunk).toHaveLength(8);
    [...chunk].forEach((value, i) => expect(value).toBeCloseTo(expected[i]!, 12));
  });
});

describe("recorded oracle behind the latency injector", () => {
  async function setUp(injector: Record<string, unknown>) {
    const bus = new LocalBus({ clock: START });
    const oracle = await startNode(recordedPolicyNode(trajectory), bus.createGraph("recorded_policy", { parameters: { horizon: 5, dt_s: 0.1, chunk_topic: "action_chunk_undelayed" } }));
    const delay = await startNode(latencyInjectorNode, bus.createGraph("latency_injector", { parameters: injector }));
    const driver = bus.createGraph("driver");
    const observations = driver.createPublisher("pi0fast_ros/msg/Observation", "observation", "reliable");
    const requests = driver.createPublisher("pi0fast_ros/msg/ReplanRequest", "replan_request", "reliable");
    const arrivals: { atNs: bigint; chunk: Pi0fastRosActionChunk }[] = [];
    driver.createSubscription("pi0fast_ros/msg/ActionChunk", "action_chunk", "reliable", (chunk) => void arrivals.push({ atNs: driver.nowNs(), chunk }));
    const request = (id: number) => requests.publish({ header: makeHeader(driver.nowNs()), request_id: id, current_chunk_id: 0, current_step: 0 });
    return { bus, observations, request, arrivals, stop: async () => (await oracle.shutdown(), await delay.shutdown(), bus.close()) };
  }

  it("answers a request with the recorded future from the freshest observation's stamp, after the injected latency", async () => {
    const t = await setUp({ latency_ms: 300 });
    await t.bus.advanceTo(START + 200_000_000n);
    t.observations.publish(observation(START + 150_000_000n));
    t.observations.publish(observation(START + 190_000_000n));
    t.request(1);
    await t.bus.advanceTo(START + 499_000_000n);
    expect(t.arrivals).toHaveLength(0);
    await t.bus.advanceTo(START + 600_000_000n);
    expect(t.arrivals).toHaveLength(1);
    const { atNs, chunk } = t.arrivals[0]!;
    expect(atNs).toBe(START + 500_000_000n);
    expect(nsFromTime(chunk.header.stamp)).toBe(START + 190_000_000n);
    expect(chunk.inference_latency_ms).toBe(300);
    expect(chunk.action_names).toEqual(JOINTS);
    expect([...chunk.actions_rad]).toEqual([...recordedChunk(trajectory, START + 190_000_000n, 5, 0.1)]);
    await t.stop();
  });

  it("waits for a first observation before answering", async () => {
    const t = await setUp({ latency_ms: 0 });
    t.request(1);
    await t.bus.advanceTo(START + 50_000_000n);
    expect(t.arrivals).toHaveLength(0);
    t.observations.publish(observation(START + 40_000_000n));
    await t.bus.flush();
    expect(t.arrivals.map((a) => a.atNs)).toEqual([START + 50_000_000n]);
    await t.stop();
  });

  it("without delay compensation stamps the chunk with its arrival time (the naive baseline)", async () => {
    const t = await setUp({ latency_ms: 100, delay_compensation: false });
    t.observations.publish(observation(START));
    t.request(1);
    await t.bus.advanceTo(START + 200_000_000n);
    const { atNs, chunk } = t.arrivals[0]!;
    expect(atNs).toBe(START + 100_000_000n);
    expect(nsFromTime(chunk.header.stamp)).toBe(START + 100_000_000n);
    // the steps are still those computed from the observation: what a latency-blind stack executes late
    expect([...chunk.actions_rad]).toEqual([...recordedChunk(trajectory, START, 5, 0.1)]);
    await t.stop();
  });

  it("holds a chunk for its own reported latency with measured_latency", async () => {
    const bus = new LocalBus({ clock: START });
    const delay = await startNode(latencyInjectorNode, bus.createGraph("latency_injector", { parameters: { latency_ms: 5, measured_latency: true } }));
    const driver = bus.createGraph("driver");
    const chunks = driver.createPublisher("pi0fast_ros/msg/ActionChunk", "action_chunk_undelayed", "reliable");
    const arrivals: bigint[] = [];
    driver.createSubscription("pi0fast_ros/msg/ActionChunk", "action_chunk", "reliable", () => void arrivals.push(driver.nowNs()));
    const chunk = (latencyMs: number): Pi0fastRosActionChunk => ({ header: makeHeader(START), chunk_id: 1, dt_s: 0.1, horizon: 1, action_names: ["a"], actions_rad: new Float64Array(1), inference_latency_ms: latencyMs, token_count: 1, decode_status: 0, decode_detail: "" });
    chunks.publish(chunk(250));
    chunks.publish(chunk(40));
    await bus.advanceTo(START + 1_000_000_000n);
    expect(arrivals).toEqual([START + 40_000_000n, START + 250_000_000n]);
    await delay.shutdown();
    bus.close();
  });
});
