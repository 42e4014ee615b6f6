import { describe, expect, it } from "vitest";
import { z } from "zod";
import { LocalBus, type LogLevel } from "../../src/ros/local-graph.js";
import { makeHeader, nsFromTime, timeFromNs, type StdMsgsString } from "../../src/msgs/messages.js";
import { parseParamsFile } from "../../src/ros/parameters.js";
import { InputError } from "../../src/errors.js";

const MS = 1_000_000n;
const text = (data: string): StdMsgsString => ({ data });

describe("LocalGraph topics", () => {
  it("delivers in publish order to every subscription of the resolved topic", async () => {
    const bus = new LocalBus({ clock: 0n });
    const talker = bus.createGraph("talker", { namespace: "/so100" });
    const listener = bus.createGraph("listener", { namespace: "/so100" });
    const received: string[] = [];
    const elsewhere: string[] = [];
    listener.createSubscription("std_msgs/msg/String", "chatter", "reliable", (m) => void received.push(m.data));
    bus.createGraph("other", { namespace: "/other" }).createSubscription("std_msgs/msg/String", "chatter", "reliable", (m) => void elsewhere.push(m.data));
    const publisher = talker.createPublisher("std_msgs/msg/String", "chatter", "reliable");
    expect(publisher.topic).toBe("/so100/chatter");
    for (const word of ["a", "b", "c"]) publisher.publish(text(word));
    await bus.flush();
    expect(received).toEqual(["a", "b", "c"]);
    expect(elsewhere).toEqual([]);
  });

  it("keeps only the last `depth` messages of a slow subscription (drop oldest)", async () => {
    const bus = new LocalBus({ clock: 0n });
    const graph = bus.createGraph("node");
    const received: string[] = [];
    graph.createSubscription("std_msgs/msg/String", "/x", { profile: "reliable", depth: 2 }, (m) => void received.push(m.data));
    const publisher = graph.createPublisher("std_msgs/msg/String", "/x", "reliable");
    for (const word of ["1", "2", "3", "4", "5"]) publisher.publish(text(word));
    await bus.flush();
    expect(received).toEqual(["4", "5"]);
  });

  it("gives a late transient-local subscription the latched history, a volatile one nothing", async () => {
    const bus = new LocalBus({ clock: 0n });
    const graph = bus.createGraph("node");
    const publisher = graph.createPublisher("std_msgs/msg/String", "/instruction", "latched");
    publisher.publish(text("old"));
    publisher.publish(text("pick the cube"));
    const late: string[] = [];
    const volatile: string[] = [];
    graph.createSubscription("std_msgs/msg/String", "/instruction", "latched", (m) => void late.push(m.data));
    graph.createSubscription("std_msgs/msg/String", "/instruction", "reliable", (m) => void volatile.push(m.data));
    await bus.flush();
    expect(late).toEqual(["pick the cube"]);
    expect(volatile).toEqual([]);
  });

  it("does not deliver from a best-effort publisher to a reliable subscription, and warns once", async () => {
    const logs: Array<[LogLevel, string]> = [];
    const bus = new LocalBus({ clock: 0n, logSink: (level, _node, message) => void logs.push([level, message]) });
    const graph = bus.createGraph("camera");
    const reliable: string[] = [];
    const sensor: string[] = [];
    graph.createSubscription("std_msgs/msg/String", "/image", "reliable", (m) => void reliable.push(m.data));
    graph.createSubscription("std_msgs/msg/String", "/image", "sensor", (m) => void sensor.push(m.data));
    const publisher = graph.createPublisher("std_msgs/msg/String", "/image", "sensor");
    publisher.publish(text("frame 1"));
    publisher.publish(text("frame 2"));
    await bus.flush();
    expect(sensor).toEqual(["frame 1", "frame 2"]);
    expect(reliable).toEqual([]);
    expect(logs.filter(([level, message]) => level === "warn" && message.includes("incompatible QoS"))).toHaveLength(1);
  });

  it("refuses a second type on a topic, naming both", () => {
    const bus = new LocalBus({ clock: 0n });
    const graph = bus.createGraph("node");
    graph.createPublisher("std_msgs/msg/String", "/joint_states", "reliable");
    expect(() => graph.createSubscription("sensor_msgs/msg/JointState", "/joint_states", "reliable", () => {})).toThrow(
      /'\/joint_states' carries std_msgs\/msg\/String; cannot use it as sensor_msgs\/msg\/JointState/,
    );
  });

  it("resolves private, relative and absolute names and applies remaps", () => {
    const bus = new LocalBus({ clock: 0n, remaps: [{ from: "/camera/image_raw", to: "/wrist/image" }, { node: "policy", from: "observation", to: "/obs" }] });
    const policy = bus.createGraph("policy", { namespace: "/so100" });
    expect(policy.resolveTopic("~/status")).toBe("/so100/policy/status");
    expect(policy.resolveTopic("action_chunk")).toBe("/so100/action_chunk");
    expect(policy.resolveTopic("/camera/image_raw")).toBe("/wrist/image");
    expect(policy.resolveTopic("observation")).toBe("/obs");
    expect(bus.createGraph("blender", { namespace: "/so100" }).resolveTopic("observation")).toBe("/so100/observation");
    expect(() => bus.createGraph("bad name")).toThrow(InputError);
  });
});

describe("LocalGraph simulated clock", () => {
  it("fires timers in time order at their exact times, and stamps follow the clock", async () => {
    const bus = new LocalBus({ clock: 1_000n * MS });
    const graph = bus.createGraph("clocked");
    const fired: Array<[string, bigint]> = [];
    graph.createTimer(10n * MS, () => void fired.push(["fast", graph.nowNs()]));
    graph.createTimer(25n * MS, () => void fired.push(["slow", graph.nowNs()]));
    await bus.advanceBy(50n * MS);
    expect(fired).toEqual([
      ["fast", 1_010n * MS],
      ["fast", 1_020n * MS],
      ["slow", 1_025n * MS],
      ["fast", 1_030n * MS],
      ["fast", 1_040n * MS],
      ["fast", 1_050n * MS],
      ["slow", 1_050n * MS],
    ]);
    expect(graph.nowNs()).toBe(1_050n * MS);
  });

  it("delivers messages published by a timer before time moves on, awaiting async callbacks", async () => {
    const bus = new LocalBus({ clock: 0n });
    const source = bus.createGraph("source");
    const sink = bus.createGraph("sink");
    const publisher = source.createPublisher("std_msgs/msg/Header", "/tick", "reliable");
    source.createTimer(10n * MS, () => publisher.publish(makeHeader(source.nowNs())));
    const seen: Array<[bigint, bigint]> = [];
    sink.createSubscription("std_msgs/msg/Header", "/tick", "reliable", async (header) => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      seen.push([nsFromTime(header.stamp), sink.nowNs()]);
    });
    await bus.advanceBy(30n * MS);
    expect(seen).toEqual([
      [10n * MS, 10n * MS],
      [20n * MS, 20n * MS],
      [30n * MS, 30n * MS],
    ]);
  });

  it("rethrows a callback's error from advanceTo", async () => {
    const bus = new LocalBus({ clock: 0n });
    bus.createGraph("failing").createTimer(MS, () => {
      throw new Error("servo bus fault");
    });
    await expect(bus.advanceBy(2n * MS)).rejects.toThrow("servo bus fault");
  });

  it("stops a cancelled timer and a destroyed node", async () => {
    const bus = new LocalBus({ clock: 0n });
    const graph = bus.createGraph("node");
    let ticks = 0;
    const timer = graph.createTimer(MS, () => void (ticks += 1));
    await bus.advanceBy(3n * MS);
    timer.cancel();
    await bus.advanceBy(3n * MS);
    expect(ticks).toBe(3);
    let messages = 0;
    graph.createSubscription("std_msgs/msg/String", "/x", "reliable", () => void (messages += 1));
    const publisher = bus.createGraph("talker").createPublisher("std_msgs/msg/String", "/x", "reliable");
    graph.destroy();
    publisher.publish(text("lost"));
    await bus.flush();
    expect(messages).toBe(0);
  });

  it("converts stamps to ROS time and back, including before the epoch", () => {
    for (const stamp of [0n, 1n, 999_999_999n, 1_700_000_000_123_456_789n, -1n, -1_500_000_000n]) {
      const time = timeFromNs(stamp);
      expect(time.nanosec).toBeGreaterThanOrEqual(0);
      expect(time.nanosec).toBeLessThan(1e9);
      expect(nsFromTime(time)).toBe(stamp);
    }
  });
});

describe("LocalGraph real clock", () => {
  it("runs timers and deliveries from the event loop", async () => {
    const bus = new LocalBus();
    const graph = bus.createGraph("realtime");
    const publisher = graph.createPublisher("std_msgs/msg/String", "/beat", "reliable");
    const received: string[] = [];
    graph.createSubscription("std_msgs/msg/String", "/beat", "reliable", (m) => void received.push(m.data));
    let count = 0;
    const done = new Promise<void>((resolve) => {
      graph.createTimer(2n * MS, () => {
        count += 1;
        publisher.publish(text(`beat ${count}`));
        if (count === 3) resolve();
      });
    });
    await done;
    await new Promise((resolve) => setImmediate(resolve));
    bus.close();
    expect(received).toEqual(["beat 1", "beat 2", "beat 3"]);
    expect(graph.nowNs()).toBeGreaterThan(1_600_000_000n * 1_000_000_000n);
  });

  it("never fires a timer before its due time (setTimeout alone counts whole milliseconds and can wake early)", async () => {
    const bus = new LocalBus();
    const graph = bus.createGraph("realtime");
    const periodNs = 10n * MS;
    const firedNs: bigint[] = [];
    const startNs = graph.nowNs();
    await new Promise<void>((resolve) => {
      graph.createTimer(periodNs, () => {
        firedNs.push(graph.nowNs());
        if (firedNs.length === 40) resolve();
      });
    });
    bus.close();
    // Ticks are due at start + k·period (a late tick is skipped, never shifted earlier).
    let dueNs = startNs + periodNs;
    for (const atNs of firedNs) {
      expect(atNs >= dueNs, `fired ${Number(dueNs - atNs) / 1e6} ms before it was due`).toBe(true);
      dueNs += periodNs * (1n + (atNs - dueNs) / periodNs);
    }
  });
});

describe("LocalGraph parameters", () => {
  const schema = z.object({
    control_rate_hz: z.number().positive().max(1000).default(30).describe("Control loop rate"),
    joint_names: z.array(z.string()).default(["shoulder_pan"]),
    schedule: z.enum(["constant", "linear"]).default("linear"),
  });

  it("takes defaults, then matching params-file sections in order, then node overrides", () => {
    const params = parseParamsFile(
      [
        "/**:",
        "  ros__parameters:",
        "    control_rate_hz: 50.0",
        "/**/blender:",
        "  ros__parameters:",
        "    schedule: constant",
        "/other/blender:",
        "  ros__parameters:",
        "    control_rate_hz: 10.0",
      ].join("\n"),
      "pipeline.yaml",
    );
    const bus = new LocalBus({ clock: 0n, params });
    expect(bus.createGraph("blender", { namespace: "/so100" }).declareParameters(schema)).toEqual({
      control_rate_hz: 50,
      joint_names: ["shoulder_pan"],
      schedule: "constant",
    });
    expect(bus.createGraph("blender", { namespace: "/other" }).declareParameters(schema).control_rate_hz).toBe(10);
    expect(bus.createGraph("blender", { namespace: "/so100", parameters: { control_rate_hz: 20 } }).declareParameters(schema).control_rate_hz).toBe(20);
    expect(bus.createGraph("policy").declareParameters(schema).schedule).toBe("linear");
  });

  it("rejects a bad value naming the node, the parameter and the value", () => {
    const bus = new LocalBus({ clock: 0n, params: parseParamsFile("/**:\n  ros__parameters:\n    control_rate_hz: -5\n", "p.yaml") });
    expect(() => bus.createGraph("blender").declareParameters(schema)).toThrow(/node '\/blender'.*'control_rate_hz' = -5/);
  });

  it("applies a valid change atomically, rejects an invalid one without changing anything", () => {
    const bus = new LocalBus({ clock: 0n });
    const graph = bus.createGraph("blender");
    graph.declareParameters(schema);
    const seen: unknown[] = [];
    graph.onParametersChanged<z.infer<typeof schema>>((values, changed) => void seen.push([values.control_rate_hz, values.schedule, changed]));
    expect(graph.setParameters({ control_rate_hz: 100, schedule: "constant" })).toEqual({ successful: true });
    const rejected = graph.setParameters({ control_rate_hz: 5000, schedule: "linear" });
    expect(rejected.successful).toBe(false);
    expect(graph.setParameters({ no_such_parameter: 1 })).toEqual({ successful: false, reason: "no parameter named 'no_such_parameter'" });
    expect(seen).toEqual([[100, "constant", ["control_rate_hz", "schedule"]]]);
  });
});

describe("LocalGraph names, misspelled parameters and shutdown", () => {
  const schema = z.object({
    max_decode_steps: z.number().int().default(256),
    model_dir: z.string().default(""),
  });

  it("warns about each parameter of the node's own sections it does not declare, naming the closest, not about shared sections or ROS's own", () => {
    const logs: Array<[LogLevel, string, string]> = [];
    const params = parseParamsFile(
      "/**:\n  ros__parameters:\n    use_sim_time: false\n    control_rate_hz: 30.0\n/**/policy:\n  ros__parameters:\n    max_decod_steps: 10\n    model_dir: ''\n    qos_overrides./x.publisher.depth: 2\n",
      "pipeline.yaml",
    );
    const bus = new LocalBus({ clock: 0n, params, logSink: (level, node, message) => void logs.push([level, node, message]) });
    expect(bus.createGraph("policy", { namespace: "/so100", parameters: { model_dri: "/m" } }).declareParameters(schema).max_decode_steps).toBe(256);
    expect(logs).toEqual([
      ["warn", "/so100/policy", "parameter 'max_decod_steps' is not declared by node '/so100/policy' and is ignored; did you mean 'max_decode_steps'?"],
      ["warn", "/so100/policy", "parameter 'model_dri' is not declared by node '/so100/policy' and is ignored; did you mean 'model_dir'?"],
    ]);
  });

  it("takes a relative namespace as launch does and refuses one ROS would not take, naming it", () => {
    const bus = new LocalBus({ clock: 0n });
    const graph = bus.createGraph("policy", { namespace: "so100" });
    expect([graph.namespace, graph.resolveTopic("observation")]).toEqual(["/so100", "/so100/observation"]);
    expect(bus.createGraph("policy", { namespace: "/arm/left/" }).namespace).toBe("/arm/left");
    expect(() => bus.createGraph("policy", { namespace: "so 100" })).toThrow(/namespace 'so 100' is not a valid ROS namespace/);
    expect(() => bus.createGraph("policy", { namespace: "/9arm" })).toThrow(/namespace '\/9arm' is not a valid ROS namespace/);
    expect(() => bus.createGraph("2policy")).toThrow(/node name '2policy' is not a valid ROS node name/);
  });

  it("stays harmless once the node is destroyed or the bus closed: publishes dropped, new entities inert", async () => {
    const bus = new LocalBus({ clock: 0n });
    const node = bus.createGraph("node");
    const listener = bus.createGraph("listener");
    const received: string[] = [];
    listener.createSubscription("std_msgs/msg/String", "/x", "reliable", (m) => void received.push(m.data));
    const publisher = node.createPublisher("std_msgs/msg/String", "/x", "reliable");
    node.destroy();
    publisher.publish(text("after destroy"));
    node.createPublisher("std_msgs/msg/String", "/x", "reliable").publish(text("new after destroy"));
    let ticks = 0;
    node.createTimer(MS, () => void (ticks += 1));
    await bus.advanceBy(10n * MS);
    expect([received, ticks]).toEqual([[], 0]);

    const late = bus.createGraph("late");
    const latePublisher = late.createPublisher("std_msgs/msg/String", "/x", "reliable");
    bus.close();
    expect(() => latePublisher.publish(text("after close"))).not.toThrow();
    expect(() => late.createSubscription("std_msgs/msg/String", "/x", "reliable", () => {}).destroy()).not.toThrow();
    expect(() => late.createTimer(MS, () => {}).cancel()).not.toThrow();
    expect(received).toEqual([]);
  });
});
