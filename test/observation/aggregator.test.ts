import sharp from "sharp";
import { afterAll, describe, expect, it } from "vitest";
import { makeHeader, nsFromTime, type DiagnosticMsgsDiagnosticArray, type Pi0fastRosActionChunk, type Pi0fastRosObservation } from "../../src/msgs/messages.js";
import { NODES } from "../../src/nodes/index.js";
import { observationAggregatorNode } from "../../src/nodes/observation_aggregator.js";
import { policyNode } from "../../src/nodes/policy.js";
import { LocalBus, type LocalGraph } from "../../src/ros/local-graph.js";
import { SO100_JOINTS } from "../../src/so100/calibration.js";
import { removeModels, tinyModel } from "../policy/model-fixture.js";

const START_NS = 1_760_000_000_000_000_000n;
const MS = 1_000_000n;
const CAMERA_PERIOD_NS = 33_333_333n;

/** A frame's pixel value tells its camera and index, so a test can check each image came with its own stamp. */
const shade = (camera: number, frame: number) => 10 + ((frame * 7 + camera * 100) % 230);

function rawFrame(camera: number, frame: number, stampNs: bigint) {
  return { header: makeHeader(stampNs, `cam${camera}`), height: 48, width: 64, encoding: "rgb8", is_bigendian: 0, step: 64 * 3, data: new Uint8Array(64 * 48 * 3).fill(shade(camera, frame)) };
}

async function pngFrame(camera: number, frame: number, stampNs: bigint) {
  const data = await sharp(new Uint8Array(64 * 48 * 3).fill(shade(camera, frame)), { raw: { width: 64, height: 48, channels: 3 } }).png().toBuffer();
  return { header: makeHeader(stampNs, `cam${camera}`), format: "png", data: new Uint8Array(data) };
}

/** Joint angles (rad) at a time: each joint its own slow ramp. */
const jointsAt = (tNs: bigint) => SO100_JOINTS.map((_, j) => (Number(tNs - START_NS) / 1e9) * 0.1 * (j + 1));

interface Event {
  atNs: bigint;
  send: () => void | Promise<void>;
}

interface Rig {
  bus: LocalBus;
  graph: LocalGraph;
  observations: Pi0fastRosObservation[];
  diagnostics: DiagnosticMsgsDiagnosticArray[];
  /** Two cameras at 30 Hz (the second 2 ms after the first), joint states at 100 Hz, for `seconds`. */
  scenario(seconds: number, options?: { cameraDelayNs?: [bigint, bigint]; stopCamera1AfterNs?: bigint; compressedCamera1?: boolean; noJointStates?: boolean }): Event[];
  play(events: Event[], untilNs: bigint): Promise<void>;
  instruction(text: string): void;
  stop(): Promise<void>;
}

async function rig(parameters: Record<string, unknown>, options: { instruction?: string } = {}): Promise<Rig> {
  const bus = new LocalBus({ clock: START_NS, logSink: () => {} });
  const tester = bus.createGraph("tester", { namespace: "/so100" });
  const observations: Pi0fastRosObservation[] = [];
  const diagnostics: DiagnosticMsgsDiagnosticArray[] = [];
  tester.createSubscription("pi0fast_ros/msg/Observation", "observation", { profile: "reliable", depth: 100 }, (message) => void observations.push(message));
  tester.createSubscription("diagnostic_msgs/msg/DiagnosticArray", "/diagnostics", { profile: "reliable", depth: 100 }, (message) => void diagnostics.push(message));
  const instruction = tester.createPublisher("std_msgs/msg/String", "instruction", "latched");
  if (options.instruction !== undefined) instruction.publish({ data: options.instruction });
  const compressed = parameters.camera_transports !== undefined && (parameters.camera_transports as string[])[1] === "compressed";
  const camera0 = tester.createPublisher("sensor_msgs/msg/Image", "camera/front/image_raw", "sensor");
  const camera1Raw = compressed ? undefined : tester.createPublisher("sensor_msgs/msg/Image", "camera/wrist/image_raw", "sensor");
  const camera1Png = compressed ? tester.createPublisher("sensor_msgs/msg/CompressedImage", "camera/wrist/image_raw", "sensor") : undefined;
  const joints = tester.createPublisher("sensor_msgs/msg/JointState", "joint_states", "sensor");
  const graph = bus.createGraph("observation_aggregator", { namespace: "/so100", parameters: { image_size: 32, image_resize: "fill", ...parameters } });
  const handle = await observationAggregatorNode.create(graph, graph.declareParameters(observationAggregatorNode.parameters));
  return {
    bus,
    graph,
    observations,
    diagnostics,
    scenario(seconds, o = {}) {
      const events: Event[] = [];
      const delay = o.cameraDelayNs ?? [8n * MS, 9n * MS];
      const endNs = START_NS + BigInt(Math.round(seconds * 1e9));
      for (let frame = 0; START_NS + BigInt(frame) * CAMERA_PERIOD_NS < endNs; frame++) {
        const stamp0 = START_NS + BigInt(frame) * CAMERA_PERIOD_NS + 5n * MS;
        const stamp1 = stamp0 + 2n * MS;
        events.push({ atNs: stamp0 + delay[0], send: () => camera0.publish(rawFrame(0, frame, stamp0)) });
        if (o.stopCamera1AfterNs === undefined || stamp1 < START_NS + o.stopCamera1AfterNs) {
          events.push({ atNs: stamp1 + delay[1], send: async () => (camera1Png !== undefined ? camera1Png.publish(await pngFrame(1, frame, stamp1)) : camera1Raw!.publish(rawFrame(1, frame, stamp1))) });
        }
      }
      for (let tNs = START_NS; !o.noJointStates && tNs < endNs; tNs += 10n * MS) {
        const stamp = tNs;
        events.push({ atNs: stamp + MS, send: () => joints.publish({ header: makeHeader(stamp), name: [...SO100_JOINTS].reverse(), position: Float64Array.from(jointsAt(stamp).reverse()), velocity: new Float64Array(), effort: new Float64Array() }) });
      }
      return events.sort((a, b) => (a.atNs < b.atNs ? -1 : a.atNs > b.atNs ? 1 : 0));
    },
    async play(events, untilNs) {
      for (const event of events) {
        await bus.advanceTo(event.atNs);
        await event.send();
      }
      await bus.advanceTo(untilNs > bus.clock.nowNs() ? untilNs : bus.clock.nowNs());
    },
    instruction: (text) => instruction.publish({ data: text }),
    async stop() {
      await handle.shutdown();
      bus.close();
    },
  };
}

const statuses = (diagnostics: DiagnosticMsgsDiagnosticArray[]) => diagnostics.flatMap((array) => array.status).filter((status) => status.name === "observation_aggregator: observation");

describe("observation aggregator on a simulated clock", () => {
  it("is registered under its name", () => {
    expect(NODES.observation_aggregator).toBe(observationAggregatorNode);
  });

  it("publishes synchronized observations at the model's size and units, each image with its own stamp", async () => {
    const r = await rig({ camera_transports: ["raw", "compressed"] }, { instruction: "pick up the red cube" });
    try {
      await r.play(r.scenario(1), START_NS + 1_100n * MS);
      // 30 frame pairs in 1 s; the cameras' lower bound proves each set as soon as its last member arrives.
      expect(r.observations.length).toBe(30);
      r.observations.forEach((observation, frame) => {
        const stamp0 = START_NS + BigInt(frame) * CAMERA_PERIOD_NS + 5n * MS;
        expect(observation.camera_names).toEqual(["base_0_rgb", "wrist_0_rgb"]);
        expect(observation.image_stamps.map(nsFromTime)).toEqual([stamp0, stamp0 + 2n * MS]);
        observation.images.forEach((image, camera) => {
          expect(image).toMatchObject({ width: 32, height: 32, encoding: "rgb8", step: 96 });
          expect(new Set(image.data)).toEqual(new Set([shade(camera, frame)]));
        });
        // The joint state nearest the cameras (10 ms apart: within 5 ms of the pair's span).
        const stateNs = nsFromTime(observation.state_stamp);
        expect(stateNs >= stamp0 - 5n * MS && stateNs <= stamp0 + 7n * MS).toBe(true);
        const newest = [stamp0 + 2n * MS, stateNs].reduce((a, b) => (a > b ? a : b));
        expect(nsFromTime(observation.header.stamp)).toBe(newest);
        // Degrees, in the policy's order, from a JointState listing the joints in reverse.
        expect(observation.state_names).toEqual([...SO100_JOINTS]);
        // LeRobot degrees (360/4095 per tick of a 4096-tick turn).
        const expected = jointsAt(stateNs).map((rad) => (rad * 180 * 4096) / (Math.PI * 4095));
        observation.state.forEach((value, j) => expect(value).toBeCloseTo(expected[j]!, 9));
        expect(observation.instruction).toBe("pick up the red cube");
      });
      expect(statuses(r.diagnostics).at(-1)).toMatchObject({ level: 0, message: "publishing (approximate sync)" });
    } finally {
      await r.stop();
    }
  });

  it("gives identical observations on every replay (async decoding included)", async () => {
    const once = async () => {
      const r = await rig({ camera_transports: ["raw", "compressed"], max_rate_hz: 12 }, { instruction: "stack" });
      try {
        await r.play(r.scenario(0.6), START_NS + 700n * MS);
        return r.observations.map((o) => ({ stamp: nsFromTime(o.header.stamp), images: o.images.map((image) => Array.from(image.data.subarray(0, 6))), state: Array.from(o.state) }));
      } finally {
        await r.stop();
      }
    };
    const first = await once();
    expect(first.length).toBeGreaterThan(5);
    expect(await once()).toEqual(first);
  });

  it("publishes at most max_rate_hz", async () => {
    const r = await rig({ max_rate_hz: 10 }, { instruction: "wave" });
    try {
      await r.play(r.scenario(2), START_NS + 2_100n * MS);
      // 60 sets in 2 s thinned to one per 100 ms slot.
      expect(r.observations.length).toBeGreaterThanOrEqual(19);
      expect(r.observations.length).toBeLessThanOrEqual(21);
    } finally {
      await r.stop();
    }
  });

  it("stops publishing when a camera stops, and names it and its age", async () => {
    const r = await rig({}, { instruction: "wave" });
    try {
      await r.play(r.scenario(2, { stopCamera1AfterNs: 500n * MS }), START_NS + 2_000n * MS);
      const lastStamp = nsFromTime(r.observations.at(-1)!.header.stamp);
      expect(lastStamp).toBeLessThan(START_NS + 500n * MS);
      const last = statuses(r.diagnostics).at(-1)!;
      expect(last.level).toBe(1);
      // At 2 s the wrist camera's last frame (stamp ≈ 0.472 s) is ≈ 1528 ms old.
      expect(last.message).toMatch(/^no observation: camera 'wrist_0_rgb' \(\/so100\/camera\/wrist\/image_raw\): last message 15\d\d ms old \(max_age_ms 200\)$/);
    } finally {
      await r.stop();
    }
  });

  it("names an input that never sent anything", async () => {
    const r = await rig({}, { instruction: "wave" });
    try {
      await r.play(r.scenario(1.2, { noJointStates: true }), START_NS + 1_200n * MS);
      expect(r.observations).toEqual([]);
      expect(statuses(r.diagnostics).at(-1)!.message).toBe("no observation: joint states (/so100/joint_states): no message yet (max_age_ms 200)");
    } finally {
      await r.stop();
    }
  });

  it("drops the sets of a camera that arrives later than max_age_ms, naming it and its age", async () => {
    const r = await rig({ queue_size: 40 }, { instruction: "wave" });
    try {
      // The wrist camera's frames arrive 250 ms after they were taken.
      await r.play(r.scenario(1, { cameraDelayNs: [8n * MS, 250n * MS] }), START_NS + 1_300n * MS);
      expect(r.observations).toEqual([]);
      const messages = statuses(r.diagnostics).map((status) => status.message);
      expect(messages.some((m) => /^no observation: camera 'base_0_rgb' \(\/so100\/camera\/front\/image_raw\) is 25\d ms old; camera 'wrist_0_rgb' \(\/so100\/camera\/wrist\/image_raw\) is 250 ms old/.test(m))).toBe(true);
    } finally {
      await r.stop();
    }
  });

  it("uses the freshest of each input in latest mode", async () => {
    const r = await rig({ sync: "latest" }, { instruction: "wave" });
    try {
      await r.play(r.scenario(0.5), START_NS + 500n * MS);
      expect(r.observations.length).toBeGreaterThan(10);
      for (const observation of r.observations) {
        // Published at the arrival of a message: every input's freshest stamp is at most one period old.
        const [stamp0, stamp1] = observation.image_stamps.map(nsFromTime);
        expect(stamp1! - stamp0!).toBeGreaterThanOrEqual(-CAMERA_PERIOD_NS + 2n * MS);
        expect(stamp1! - stamp0!).toBeLessThanOrEqual(2n * MS);
      }
    } finally {
      await r.stop();
    }
  });

  it("waits for an instruction when there is no default, then uses the latched one", async () => {
    const r = await rig({});
    try {
      await r.play(r.scenario(0.3), START_NS + 300n * MS);
      expect(r.observations).toEqual([]);
      expect(statuses(r.diagnostics).map((s) => s.message)).toContain("no observation: no instruction on /so100/instruction and default_instruction is empty");
      r.instruction("open the drawer");
      const resumeNs = r.bus.clock.nowNs();
      await r.play(r.scenario(0.6).filter((event) => event.atNs > resumeNs), START_NS + 600n * MS);
      expect(r.observations.length).toBeGreaterThan(5);
      expect(r.observations.every((o) => o.instruction === "open the drawer")).toBe(true);
      expect(statuses(r.diagnostics).at(-1)!.level).toBe(0);
    } finally {
      await r.stop();
    }
  });

  it("applies a parameter change, and rejects one that breaks a rule across parameters", async () => {
    const r = await rig({}, { instruction: "wave" });
    try {
      expect(r.graph.setParameters({ camera_topics: ["camera/front/image_raw"] })).toEqual({
        successful: false,
        reason: "parameter change: parameter 'camera_topics' = [\"camera/front/image_raw\"]: 1 camera_topics for 2 camera_names; expected one topic per camera",
      });
      expect(r.graph.setParameters({ max_rate_hz: 5 })).toEqual({ successful: true });
      await r.play(r.scenario(1), START_NS + 1_000n * MS);
      // Both cameras still (the bad change was refused), at the new rate: one per 200 ms slot.
      expect(r.observations.length).toBeGreaterThanOrEqual(4);
      expect(r.observations.length).toBeLessThanOrEqual(6);
      expect(r.observations.every((o) => o.images.length === 2)).toBe(true);
    } finally {
      await r.stop();
    }
  });

  it("refuses inconsistent parameters with a message naming them", async () => {
    const bus = new LocalBus({ clock: START_NS, logSink: () => {} });
    const create = (parameters: Record<string, unknown>) => {
      const graph = bus.createGraph("observation_aggregator", { parameters });
      return observationAggregatorNode.create(graph, graph.declareParameters(observationAggregatorNode.parameters));
    };
    expect(() => create({ camera_topics: ["a"] })).toThrow(
      `parameters of node '/observation_aggregator': parameter 'camera_topics' = ["a"]: 1 camera_topics for 2 camera_names; expected one topic per camera`,
    );
    expect(() => create({ camera_transports: ["raw", "raw", "raw"] })).toThrow(/parameter 'camera_transports' = .*: 3 camera_transports for 2 cameras/);
    expect(() => create({ camera_names: ["a", "a"] })).toThrow(/parameter 'camera_names' = .*: \[a, a\] names a camera twice/);
    expect(() => create({ state_names: ["x"] })).toThrow(/parameter 'state_names' = .*: 1 state names for 6 joints/);
    expect(() => create({ state_units: ["range_0_100"] })).toThrow(`parameter 'state_units' = ["range_0_100"]: the range_m100_100 / range_0_100 units need a LeRobot calibration file, and calibration_file is empty`);
    expect(() => create({ calibration_file: "/nonexistent/so100.json", state_units: ["range_0_100"] })).toThrow(/calibration_file \/nonexistent\/so100.json: does not exist/);
    bus.close();
  });
});

describe("observation aggregator feeding the policy node", () => {
  afterAll(() => removeModels());

  it("produces observations the tiny model's policy turns into chunks", async () => {
    const { dir, manifest } = await tinyModel({ seed: 3 });
    const r = await rig({ camera_names: manifest.vision.cameras, image_size: manifest.vision.image_size, image_resize: "pad" }, { instruction: "pick up the red cube" });
    const chunks: Pi0fastRosActionChunk[] = [];
    const graph = r.bus.createGraph("policy", { namespace: "/so100", parameters: { model_dir: dir, providers: ["cpu"], warmup_inferences: 0, trigger: "observation" } });
    const policy = await policyNode.create(graph, graph.declareParameters(policyNode.parameters));
    r.bus.createGraph("listener", { namespace: "/so100" }).createSubscription("pi0fast_ros/msg/ActionChunk", "action_chunk", "reliable", (chunk) => void chunks.push(chunk));
    try {
      await r.play(r.scenario(0.2), START_NS + 250n * MS);
      expect(r.observations.length).toBeGreaterThan(0);
      expect(chunks.length).toBeGreaterThan(0);
      const stamps = new Set(r.observations.map((o) => nsFromTime(o.header.stamp)));
      for (const chunk of chunks) {
        expect(stamps.has(nsFromTime(chunk.header.stamp))).toBe(true);
        expect(chunk.decode_status).not.toBe(2);
        expect(chunk.actions_rad.length).toBe(manifest.actions.horizon * manifest.actions.names.length);
      }
    } finally {
      await policy.shutdown();
      await r.stop();
    }
  }, 60_000);
});

describe("observation aggregator on a real clock", () => {
  it("publishes in synchronization order while decoding runs concurrently, the freshest waiting set winning", async () => {
    const bus = new LocalBus({ logSink: () => {} });
    const tester = bus.createGraph("tester");
    const observations: Pi0fastRosObservation[] = [];
    tester.createSubscription("pi0fast_ros/msg/Observation", "observation", { profile: "reliable", depth: 100 }, (message) => void observations.push(message));
    const camera0 = tester.createPublisher("sensor_msgs/msg/CompressedImage", "camera/front/image_raw", "sensor");
    const camera1 = tester.createPublisher("sensor_msgs/msg/CompressedImage", "camera/wrist/image_raw", "sensor");
    const joints = tester.createPublisher("sensor_msgs/msg/JointState", "joint_states", "sensor");
    const graph = bus.createGraph("observation_aggregator", { parameters: { camera_transports: ["compressed"], default_instruction: "wave", max_rate_hz: 1000, max_age_ms: 60_000, queue_size: 50 } });
    const handle = await observationAggregatorNode.create(graph, graph.declareParameters(observationAggregatorNode.parameters));
    try {
      // Large frames of uneven size so decodes finish out of order if nothing kept them in line.
      const big = async (camera: number, frame: number, stampNs: bigint) => {
        const side = frame % 2 === 0 ? 1024 : 32;
        const data = await sharp(new Uint8Array(side * side * 3).fill(shade(camera, frame)), { raw: { width: side, height: side, channels: 3 } }).png({ compressionLevel: 0 }).toBuffer();
        return { header: makeHeader(stampNs), format: "png", data: new Uint8Array(data) };
      };
      const base = bus.clock.nowNs();
      const frames = await Promise.all(Array.from({ length: 12 }, async (_, frame) => [await big(0, frame, base + BigInt(frame) * CAMERA_PERIOD_NS), await big(1, frame, base + BigInt(frame) * CAMERA_PERIOD_NS + MS)] as const));
      frames.forEach(([a, b], frame) => {
        const stamp = base + BigInt(frame) * CAMERA_PERIOD_NS;
        joints.publish({ header: makeHeader(stamp), name: [...SO100_JOINTS], position: new Float64Array(6), velocity: new Float64Array(), effort: new Float64Array() });
        camera0.publish(a);
        camera1.publish(b);
      });
      // Wait until the node is idle (no new observation for 500 ms, at most 20 s).
      for (let idle = 0, seen = -1, waited = 0; idle < 5 && waited < 200; waited++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        idle = observations.length === seen ? idle + 1 : 0;
        seen = observations.length;
      }
      expect(observations.length).toBeGreaterThan(0);
      const stamps = observations.map((o) => nsFromTime(o.image_stamps[0]!));
      for (let i = 1; i < stamps.length; i++) expect(stamps[i]! > stamps[i - 1]!).toBe(true);
      for (const observation of observations) {
        const frame = Number((nsFromTime(observation.image_stamps[0]!) - base) / CAMERA_PERIOD_NS);
        expect(new Set(observation.images[0]!.data).has(shade(0, frame))).toBe(true);
      }
      expect(bus.callbackErrors).toEqual([]);
    } finally {
      await handle.shutdown();
      bus.close();
    }
  }, 30_000);
});

describe("the policy node's reading of an observation's state", () => {
  it("takes the state by name in the model's order, and names a missing one", async () => {
    const { policyInput } = await import("../../src/nodes/policy.js");
    const manifest = { vision: { cameras: ["base_0_rgb"], image_size: 2 }, state: { names: ["a", "b", "c"] } };
    const message: Pi0fastRosObservation = {
      header: makeHeader(0n),
      camera_names: ["base_0_rgb"],
      images: [{ header: makeHeader(0n), height: 2, width: 2, encoding: "rgb8", is_bigendian: 0, step: 6, data: new Uint8Array(12) }],
      image_stamps: [],
      state: Float64Array.from([3, 1, 2]),
      state_names: ["c", "a", "b"],
      state_stamp: { sec: 0, nanosec: 0 },
      instruction: "x",
    };
    const policy = { manifest } as unknown as Parameters<typeof policyInput>[0];
    expect(Array.from(policyInput(policy, message).state)).toEqual([1, 2, 3]);
    expect(Array.from(policyInput(policy, { ...message, state_names: [] }).state)).toEqual([3, 1, 2]);
    expect(() => policyInput(policy, { ...message, state_names: ["c", "a", "x"] })).toThrow("observation: no state value named 'b' (has c, a, x); the model's state is a, b, c");
  });
});

describe("the aggregator in launch/pipeline.launch.xml", () => {
  it("remaps each default camera topic and joint_states to a launch argument, so it plugs into any driver", async () => {
    const { readFileSync } = await import("node:fs");
    const path = await import("node:path");
    const { XMLParser } = await import("fast-xml-parser");
    const { REPO_ROOT } = await import("../helpers/system.js");
    const launch = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "", isArray: (name) => ["node", "remap", "arg"].includes(name) }).parse(readFileSync(path.join(REPO_ROOT, "launch/pipeline.launch.xml"), "utf8")).launch;
    const node = (launch.node as Array<{ name: string; remap?: Array<{ from: string; to: string }> }>).find((n) => n.name === "observation_aggregator")!;
    const args = new Set((launch.arg as Array<{ name: string }>).map((arg) => arg.name));
    const defaults = observationAggregatorNode.parameters.parse({});
    for (const topic of [...defaults.camera_topics, "joint_states"]) {
      const remap = node.remap?.find((r) => r.from === topic);
      expect(remap, `remap of ${topic}`).toBeDefined();
      expect(args.has(/^\$\(var (\S+)\)$/.exec(remap!.to)?.[1] ?? "")).toBe(true);
    }
  });
});
