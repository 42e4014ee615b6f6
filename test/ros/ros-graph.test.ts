import { beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { createRosGraph } from "../../src/ros/ros-graph.js";
import { makeHeader } from "../../src/msgs/messages.js";
import { FakeDescriptor, FakeParameter, FakeQoS, FakeRange, FakeRclnodejs } from "./fake-rclnodejs.js";

const schema = z.object({
  control_rate_hz: z.number().positive().max(1000).default(30).describe("Control loop rate, Hz"),
  n_steps_warmup: z.number().int().min(0).default(5).describe("Steps of the first chunk before replanning"),
  schedule: z.enum(["constant", "linear"]).default("linear").describe("Blend schedule"),
  joint_ids: z.array(z.number().int()).default([1, 2, 3]),
  joint_names: z.array(z.string()).default(["shoulder_pan"]),
});

/** What `ros2 launch` writes for `<node name="chunk_blender" namespace="so100"><param .../>`. */
const LAUNCH_PARAMS = `
/so100/chunk_blender:
  ros__parameters:
    control_rate_hz: 50.0
    use_sim_time: true
`;
const PIPELINE_PARAMS = `
/**:
  ros__parameters:
    n_steps_warmup: 8
/**/chunk_blender:
  ros__parameters:
    schedule: constant
    joint_ids: [4, 5]
`;

function argv(...rosArgs: string[]): string[] {
  return ["node", "chunk_blender", "--graph", "ros", "--ros-args", ...rosArgs];
}

const files: Record<string, string> = { "/tmp/launch_params_x": LAUNCH_PARAMS, "/share/pipeline.yaml": PIPELINE_PARAMS };
const readFile = (path: string): string => {
  const text = files[path];
  if (text === undefined) throw new Error(`ENOENT: no such file '${path}'`);
  return text;
};

describe("RosGraph on the rclnodejs 2.x API", () => {
  beforeEach(() => FakeRclnodejs.reset());

  it("initializes rcl once with the whole argv and creates the node with name and namespace from the remaps", async () => {
    const args = argv("-r", "__node:=chunk_blender", "-r", "__ns:=/so100");
    const graph = await createRosGraph(FakeRclnodejs.api(), { nodeName: "blender_default", argv: args, readFile });
    await createRosGraph(FakeRclnodejs.api(), { nodeName: "second", argv: ["node", "x"], readFile });
    expect(FakeRclnodejs.initArgv).toBe(args);
    expect(FakeRclnodejs.nodes.map((n) => [n.name(), n.namespace()])).toEqual([
      ["chunk_blender", "/so100"],
      ["second", "/"],
    ]);
    expect(graph.nodeName).toBe("chunk_blender");
    expect(graph.namespace).toBe("/so100");
  });

  it("applies params-file sections for a node with both a name and a namespace, by ROS's matching rules", async () => {
    const graph = await createRosGraph(FakeRclnodejs.api(), {
      nodeName: "chunk_blender",
      argv: argv("-r", "__node:=chunk_blender", "-r", "__ns:=/so100", "--params-file", "/share/pipeline.yaml", "--params-file", "/tmp/launch_params_x", "-p", "n_steps_warmup:=9"),
      readFile,
    });
    const values = graph.declareParameters(schema);
    expect(values).toEqual({ control_rate_hz: 50, n_steps_warmup: 9, schedule: "constant", joint_ids: [4, 5], joint_names: ["shoulder_pan"] });
    const node = FakeRclnodejs.nodes[0]!;
    expect(node.recorded.setParameters.map((p) => [p.name, p.value])).toEqual([["use_sim_time", true]]);
  });

  it("declares every parameter with its ROS type, bigint integers, a descriptor and a range", async () => {
    const graph = await createRosGraph(FakeRclnodejs.api(), { nodeName: "chunk_blender", argv: ["node", "x"], readFile });
    graph.declareParameters(schema);
    const declared = FakeRclnodejs.nodes[0]!.recorded.declared;
    expect(declared.map((d) => [d.parameter.name, d.parameter.type, d.parameter.value, d.ignoreOverride])).toEqual([
      ["control_rate_hz", 3, 30, true],
      ["n_steps_warmup", 2, 5n, true],
      ["schedule", 4, "linear", true],
      ["joint_ids", 7, [1n, 2n, 3n], true],
      ["joint_names", 9, ["shoulder_pan"], true],
    ]);
    const descriptors = Object.fromEntries(declared.map((d) => [d.parameter.name, d.descriptor]));
    expect({ ...descriptors.control_rate_hz, toMessage: undefined }).toEqual({ ...new FakeDescriptor("control_rate_hz", 3, "Control loop rate, Hz", false, new FakeRange("float", 0, 1000, 0)), toMessage: undefined });
    expect(descriptors.n_steps_warmup!.range).toEqual(new FakeRange("integer", 0n, BigInt(Number.MAX_SAFE_INTEGER), 1n));
    expect(descriptors.schedule!.description).toBe("Blend schedule (one of: constant, linear)");
    expect(descriptors.joint_names!.range).toBeUndefined();
  });

  it("puts the ranges into the describe_parameters message, which rclnodejs 2.2.0's toMessage() leaves out", async () => {
    const graph = await createRosGraph(FakeRclnodejs.api(), { nodeName: "chunk_blender", argv: ["node", "x"], readFile });
    graph.declareParameters(schema);
    const messages = Object.fromEntries(FakeRclnodejs.nodes[0]!.recorded.declared.map((d) => [d.parameter.name, d.descriptor.toMessage() as Record<string, unknown>]));
    expect(messages.control_rate_hz).toMatchObject({ name: "control_rate_hz", description: "Control loop rate, Hz", floating_point_range: [{ from_value: 0, to_value: 1000, step: 0 }], integer_range: [] });
    expect(messages.n_steps_warmup).toMatchObject({ integer_range: [{ from_value: 0n, to_value: BigInt(Number.MAX_SAFE_INTEGER), step: 1n }], floating_point_range: [] });
    expect(messages.schedule).not.toHaveProperty("integer_range");
    expect(messages.schedule).not.toHaveProperty("floating_point_range");
  });

  it("applies use_sim_time as the params files resolve it, false over a shared true included", async () => {
    files["/tmp/sim_true"] = "/**:\n  ros__parameters:\n    use_sim_time: true\n";
    files["/tmp/launch_false"] = "/arm2/policy:\n  ros__parameters:\n    use_sim_time: false\n";
    await createRosGraph(FakeRclnodejs.api(), { nodeName: "policy", argv: argv("-r", "__ns:=/arm2", "--params-file", "/tmp/sim_true", "--params-file", "/tmp/launch_false"), readFile });
    expect(FakeRclnodejs.nodes[0]!.recorded.setParameters.map((p) => [p.name, p.value])).toEqual([["use_sim_time", false]]);
    files["/tmp/sim_bad"] = "/**:\n  ros__parameters:\n    use_sim_time: 'yes please'\n";
    await expect(createRosGraph(FakeRclnodejs.api(), { nodeName: "policy", argv: argv("--params-file", "/tmp/sim_bad"), readFile })).rejects.toThrow(/'use_sim_time' of node '\/policy' = "yes please": expected true or false/);
  });

  it("warns about a parameter the node does not declare, naming the closest one, but not about shared or ROS's own", async () => {
    files["/tmp/typo"] = "/**:\n  ros__parameters:\n    use_sim_time: false\n    joint_limits: [1.0]\n/**/chunk_blender:\n  ros__parameters:\n    control_rate: 50.0\n    qos_overrides./joint_command.publisher.depth: 3\n";
    const graph = await createRosGraph(FakeRclnodejs.api(), { nodeName: "chunk_blender", argv: argv("--params-file", "/tmp/typo", "-p", "n_step_warmup:=4"), readFile });
    graph.declareParameters(schema);
    const warnings = FakeRclnodejs.nodes[0]!.recorded.logs.filter(([level]) => level === "warn").map(([, message]) => message);
    expect(warnings).toEqual([
      "parameter 'control_rate' is not declared by node '/chunk_blender' and is ignored; did you mean 'control_rate_hz'?",
      "parameter 'n_step_warmup' is not declared by node '/chunk_blender' and is ignored; did you mean 'n_steps_warmup'?",
    ]);
  });

  it("takes a relative namespace as launch does and refuses one ROS would not take", async () => {
    const graph = await createRosGraph(FakeRclnodejs.api(), { nodeName: "policy", argv: argv("-r", "__ns:=so100"), readFile });
    expect([graph.namespace, FakeRclnodejs.nodes[0]!.namespace(), graph.resolveTopic("observation")]).toEqual(["/so100", "/so100", "/so100/observation"]);
    await expect(createRosGraph(FakeRclnodejs.api(), { nodeName: "policy", argv: argv("-r", "__ns:=/so 100"), readFile })).rejects.toThrow(/namespace '\/so 100' is not a valid ROS namespace/);
  });

  it("stays harmless once rcl shut down under it: publishes dropped, entities inert, the clock's last reading", async () => {
    const rcl = FakeRclnodejs.api();
    const graph = await createRosGraph(rcl, { nodeName: "policy", argv: ["node", "x"], readFile });
    const publisher = graph.createPublisher("std_msgs/msg/String", "status", "reliable");
    const before = graph.nowNs();
    rcl.shutdown();
    expect(() => publisher.publish({ data: "late" })).not.toThrow();
    expect(graph.nowNs()).toBe(before);
    expect(() => graph.createSubscription("std_msgs/msg/String", "in", "reliable", () => {}).destroy()).not.toThrow();
    expect(() => graph.createTimer(1_000_000n, () => {}).cancel()).not.toThrow();
    expect(() => graph.createPublisher("std_msgs/msg/String", "later", "reliable").publish({ data: "x" })).not.toThrow();
    expect(() => graph.declareParameters(schema)).not.toThrow();
    expect(() => graph.destroy()).not.toThrow();
    expect(FakeRclnodejs.nodes[0]!.recorded.publishers[0]!.published).toEqual([]);
  });

  it("refuses a params-file value the schema rejects, naming node and parameter", async () => {
    files["/tmp/bad"] = "/**:\n  ros__parameters:\n    control_rate_hz: -1.0\n";
    const graph = await createRosGraph(FakeRclnodejs.api(), { nodeName: "chunk_blender", argv: argv("--params-file", "/tmp/bad"), readFile });
    expect(() => graph.declareParameters(schema)).toThrow(/node '\/chunk_blender'.*'control_rate_hz' = -1/);
  });

  it("names a params file that cannot be read", async () => {
    await expect(createRosGraph(FakeRclnodejs.api(), { nodeName: "n", argv: argv("--params-file", "/nope.yaml"), readFile })).rejects.toThrow(/--params-file \/nope\.yaml: cannot be read/);
  });

  it("validates `ros2 param set` changes with the schema: accepts good ones, rejects bad ones with a reason", async () => {
    const graph = await createRosGraph(FakeRclnodejs.api(), { nodeName: "chunk_blender", argv: ["node", "x"], readFile });
    graph.declareParameters(schema);
    const changes: unknown[] = [];
    graph.onParametersChanged<z.infer<typeof schema>>((values, changed) => void changes.push([values.n_steps_warmup, changed]));
    const node = FakeRclnodejs.nodes[0]!;
    expect(node.setParameter(new FakeParameter("n_steps_warmup", 2, 12n))).toEqual({ successful: true, reason: "" });
    const rejected = node.setParameter(new FakeParameter("control_rate_hz", 3, 5000));
    expect(rejected.successful).toBe(false);
    expect(rejected.reason).toMatch(/control_rate_hz/);
    expect(node.setParameter(new FakeParameter("unrelated", 1, true))).toEqual({ successful: true, reason: "" });
    expect(changes).toEqual([[12, ["n_steps_warmup"]]]);
  });

  it("maps QoS names to rclnodejs QoS objects and passes full type names", async () => {
    const graph = await createRosGraph(FakeRclnodejs.api(), { nodeName: "aggregator", argv: argv("-r", "__ns:=/so100"), readFile });
    graph.createPublisher("pi0fast_ros/msg/Observation", "observation", "reliable");
    graph.createSubscription("sensor_msgs/msg/Image", "/camera/image_raw", "sensor", () => {});
    graph.createSubscription("std_msgs/msg/String", "instruction", "latched", () => {});
    graph.createPublisher("std_msgs/msg/Float64MultiArray", "commands", { profile: "reliable", depth: 1 });
    const recorded = FakeRclnodejs.nodes[0]!.recorded;
    expect(recorded.publishers.map((p) => [p.type, p.topic, p.qos])).toEqual([
      ["pi0fast_ros/msg/Observation", "observation", new FakeQoS(1, 10, 1, 2)],
      ["std_msgs/msg/Float64MultiArray", "commands", new FakeQoS(1, 1, 1, 2)],
    ]);
    expect(recorded.subscriptions.map((s) => [s.type, s.topic, s.qos])).toEqual([
      ["sensor_msgs/msg/Image", "/camera/image_raw", new FakeQoS(1, 5, 2, 2)],
      ["std_msgs/msg/String", "instruction", new FakeQoS(1, 1, 1, 1)],
    ]);
  });

  it("hands subscribers normalized messages (typed arrays) and publishes what the node gives", async () => {
    const graph = await createRosGraph(FakeRclnodejs.api(), { nodeName: "controller", argv: ["node", "x"], readFile });
    const received: unknown[] = [];
    graph.createSubscription("sensor_msgs/msg/JointState", "joint_states", "reliable", (m) => void received.push(m.position));
    const publisher = graph.createPublisher("std_msgs/msg/String", "status", "latched");
    FakeRclnodejs.nodes[0]!.recorded.subscriptions[0]!.callback({ header: makeHeader(1n), name: ["a"], position: [0.5], velocity: [], effort: [] });
    publisher.publish({ data: "ready" });
    expect(received).toEqual([new Float64Array([0.5])]);
    expect(FakeRclnodejs.nodes[0]!.recorded.publishers[0]!.published).toEqual([{ data: "ready" }]);
  });

  it("creates timers with bigint nanosecond periods on the node clock", async () => {
    const graph = await createRosGraph(FakeRclnodejs.api(), { nodeName: "blender", argv: ["node", "x"], readFile });
    let ticks = 0;
    const timer = graph.createTimer(20_000_000n, () => void (ticks += 1));
    const recorded = FakeRclnodejs.nodes[0]!.recorded.timers[0]!;
    expect(recorded.period).toBe(20_000_000n);
    recorded.callback();
    timer.cancel();
    expect([ticks, recorded.cancelled]).toEqual([1, true]);
    expect(graph.nowNs()).toBe(1_000_000_000n);
    expect(() => graph.createTimer(0n, () => {})).toThrow(/timer period must be positive/);
  });

  it("resolves topic names with the command-line remaps as rcl does", async () => {
    const graph = await createRosGraph(FakeRclnodejs.api(), { nodeName: "policy", argv: argv("-r", "__ns:=/so100", "-r", "observation:=/shared/obs"), readFile });
    expect(graph.resolveTopic("observation")).toBe("/shared/obs");
    expect(graph.resolveTopic("~/status")).toBe("/so100/policy/status");
    expect(graph.resolveTopic("action_chunk")).toBe("/so100/action_chunk");
  });
});

describe("loading rclnodejs", () => {
  it("refuses before importing rclnodejs when ROS 2 is not sourced, naming the fix", async () => {
    const { rclnodejsUnavailableReason } = await import("../../src/ros/ros-graph.js");
    expect(rclnodejsUnavailableReason({ ROS_DISTRO: "jazzy" })).toMatch(/ROS 2 is not sourced .*AMENT_PREFIX_PATH/);
    expect(rclnodejsUnavailableReason({ AMENT_PREFIX_PATH: "/opt/ros/jazzy" })).toMatch(/ROS 2 is not sourced/);
  });
});
