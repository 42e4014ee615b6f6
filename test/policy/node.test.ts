import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { policyNode } from "../../src/nodes/policy.js";
import { NODES } from "../../src/nodes/index.js";
import { LocalBus } from "../../src/ros/local-graph.js";
import { makeHeader, timeFromNs, type DiagnosticMsgsDiagnosticArray, type Pi0fastRosActionChunk, type Pi0fastRosObservation } from "../../src/msgs/messages.js";
import type { Manifest } from "../../src/policy/manifest.js";
import { observation, removeModels, tinyModel } from "./model-fixture.js";

const START_NS = 1_000_000_000_000n;

function observationMessage(manifest: Manifest, stampNs: bigint): Pi0fastRosObservation {
  const input = observation(manifest);
  const size = manifest.vision.image_size;
  return {
    header: makeHeader(stampNs, "base"),
    // Reversed on purpose: the node matches cameras by name.
    camera_names: [...manifest.vision.cameras].reverse(),
    images: [...input.images].reverse().map((image) => ({ header: makeHeader(stampNs), height: size, width: size, encoding: "rgb8", is_bigendian: 0, step: size * 3, data: image.data })),
    image_stamps: manifest.vision.cameras.map(() => timeFromNs(stampNs)),
    state: Float64Array.from(input.state),
    state_names: manifest.state.names,
    state_stamp: timeFromNs(stampNs),
    instruction: input.instruction,
  };
}

async function startNode(parameters: Record<string, unknown>) {
  const bus = new LocalBus({ clock: START_NS, logSink: () => {} });
  const tester = bus.createGraph("tester");
  const chunks: Pi0fastRosActionChunk[] = [];
  const diagnostics: DiagnosticMsgsDiagnosticArray[] = [];
  tester.createSubscription("pi0fast_ros/msg/ActionChunk", "action_chunk", "reliable", (chunk) => void chunks.push(chunk));
  tester.createSubscription("diagnostic_msgs/msg/DiagnosticArray", "/diagnostics", "reliable", (array) => void diagnostics.push(array));
  const observations = tester.createPublisher("pi0fast_ros/msg/Observation", "observation", "reliable");
  const replans = tester.createPublisher("pi0fast_ros/msg/ReplanRequest", "replan_request", "reliable");
  // The node starts after the tester listens: its load diagnostics are not latched.
  const graph = bus.createGraph("policy", { parameters: { providers: ["cpu"], warmup_inferences: 1, ...parameters } });
  const handle = await policyNode.create(graph, graph.declareParameters(policyNode.parameters));
  let requestId = 0;
  const replan = () => replans.publish({ header: makeHeader(bus.clock.nowNs()), request_id: ++requestId, current_chunk_id: 0, current_step: 0 });
  return { bus, graph, handle, chunks, diagnostics, observations, replan };
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Waits for a model reload (real work, not simulated time), delivering what the node published meanwhile. */
async function waitFor(bus: LocalBus, condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    await bus.flush();
  }
  expect(condition()).toBe(true);
}

describe("policy node on a LocalGraph with a simulated clock", () => {
  let dir: string;
  let manifest: Manifest;
  beforeAll(async () => {
    ({ dir, manifest } = await tinyModel({ seed: 6 }));
  });
  afterAll(() => removeModels());

  it("is registered as 'policy' and declares itself blocking", () => {
    expect(NODES.policy).toBe(policyNode);
    expect(policyNode.blocking).toBe(true);
  });

  it("publishes a chunk for a replan request, stamped with the freshest observation", async () => {
    const node = await startNode({ model_dir: dir });
    try {
      node.observations.publish(observationMessage(manifest, START_NS - 50_000_000n));
      node.observations.publish(observationMessage(manifest, START_NS - 10_000_000n));
      node.replan();
      await node.bus.advanceBy(1_000_000n);
      expect(node.chunks.length).toBe(1);
      const chunk = node.chunks[0]!;
      expect(chunk.header.stamp).toEqual(timeFromNs(START_NS - 10_000_000n));
      expect(chunk.chunk_id).toBe(1);
      expect(chunk.horizon).toBe(manifest.actions.horizon);
      expect(chunk.action_names).toEqual(manifest.actions.names);
      expect(chunk.actions_rad.length).toBe(manifest.actions.horizon * manifest.actions.names.length);
      expect(chunk.decode_status).toBe(0);
      expect(chunk.token_count).toBeGreaterThan(0);
      expect(chunk.inference_latency_ms).toBeGreaterThan(0);
      expect(chunk.dt_s).toBeCloseTo(manifest.actions.dt_s);
    } finally {
      await node.handle.shutdown();
      node.bus.close();
    }
  });

  it("gives no chunk for an observation older than max_observation_age_ms, only a diagnostic", async () => {
    const node = await startNode({ model_dir: dir, max_observation_age_ms: 100 });
    try {
      node.observations.publish(observationMessage(manifest, START_NS - 300_000_000n));
      node.replan();
      await node.bus.advanceBy(1_000_000n);
      expect(node.chunks.length).toBe(0);
      const statuses = node.diagnostics.flatMap((array) => array.status);
      expect(statuses.some((status) => status.name === "policy: inference" && /ms old/.test(status.message))).toBe(true);
      // The pending request is served by the next fresh observation.
      node.observations.publish(observationMessage(manifest, node.bus.clock.nowNs()));
      await node.bus.advanceBy(1_000_000n);
      expect(node.chunks.length).toBe(1);
    } finally {
      await node.handle.shutdown();
      node.bus.close();
    }
  });

  it("refuses a model_dir that is no model, at start and on a live change, naming the parameter and the path", async () => {
    const notAModel = mkdtempSync(path.join(tmpdir(), "pi0fast-not-a-model-"));
    for (const [bad, problem] of [
      [`${dir}-does-not-exist`, "does not exist"],
      [notAModel, "holds no pi0fast.json"],
      [path.join(dir, "pi0fast.json"), "is not a directory"],
    ] as const) {
      const bus = new LocalBus({ clock: START_NS, logSink: () => {} });
      const graph = bus.createGraph("policy", { parameters: { model_dir: bad } });
      expect(() => graph.declareParameters(policyNode.parameters)).toThrow(new RegExp(`parameter 'model_dir' = "${escape(bad)}": ${escape(bad)} ${problem}`));
    }
    const node = await startNode({ model_dir: dir });
    try {
      const rejected = node.graph.setParameters({ model_dir: notAModel });
      expect(rejected.successful).toBe(false);
      expect(rejected.successful ? "" : rejected.reason).toMatch(/model_dir.*holds no pi0fast\.json/);
    } finally {
      await node.handle.shutdown();
      node.bus.close();
    }
  });

  it("fails its start on a model that cannot load, but only reports one that breaks while it runs", async () => {
    const broken = mkdtempSync(path.join(tmpdir(), "pi0fast-broken-model-"));
    writeFileSync(path.join(broken, "pi0fast.json"), "{ not json");
    await expect(startNode({ model_dir: broken })).rejects.toThrow(/parameter 'model_dir' = ".*pi0fast-broken-model-.*": .*pi0fast\.json: not valid JSON/);

    const node = await startNode({ model_dir: dir });
    try {
      const modelStatuses = (level: number) => node.diagnostics.flatMap((array) => array.status).filter((status) => status.name === "policy: model" && status.level === level).length;
      expect(node.graph.setParameters({ model_dir: broken }).successful).toBe(true);
      await waitFor(node.bus, () => modelStatuses(2) === 1);
      // Still up: back on a good model it answers again.
      expect(node.graph.setParameters({ model_dir: dir }).successful).toBe(true);
      await waitFor(node.bus, () => modelStatuses(0) === 2);
      node.observations.publish(observationMessage(manifest, node.bus.clock.nowNs()));
      node.replan();
      await node.bus.advanceBy(1_000_000n);
      expect(node.chunks.length).toBe(1);
    } finally {
      await node.handle.shutdown();
      node.bus.close();
    }
  });

  it("reports a bad observation and keeps serving good ones", async () => {
    const good = await startNode({ model_dir: dir });
    try {
      const bad = observationMessage(manifest, START_NS);
      bad.state[2] = NaN;
      good.observations.publish(bad);
      good.replan();
      await good.bus.advanceBy(1_000_000n);
      expect(good.chunks.length).toBe(0);
      expect(good.diagnostics.flatMap((array) => array.status).some((status) => status.level === 2 && /elbow_flex/.test(status.message))).toBe(true);
      good.observations.publish(observationMessage(manifest, good.bus.clock.nowNs()));
      good.replan();
      await good.bus.advanceBy(1_000_000n);
      expect(good.chunks.length).toBe(1);
    } finally {
      await good.handle.shutdown();
      good.bus.close();
    }
  });
});
