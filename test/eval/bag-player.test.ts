import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BagReader } from "../../src/bag/reader.js";
import { makeSampleBags, SAMPLE_TOPICS } from "../../src/bag/sample.js";
import { BagPlayer } from "../../src/eval/bag-player.js";
import { nsFromTime, type SensorMsgsJointState } from "../../src/msgs/messages.js";
import { LocalBus } from "../../src/ros/local-graph.js";

let root: string;
let bagDir: string;
/** What the bag holds on the played topics, read independently of the player. */
let recorded: { topic: string; logTimeNs: bigint; stampNs: bigint | undefined }[];

beforeAll(async () => {
  root = mkdtempSync(path.join(tmpdir(), "pi0fast-player-"));
  [bagDir] = await makeSampleBags({ outDir: path.join(root, "bags"), format: "mcap", episodes: 1, seconds: 0.6, cameras: 1, width: 64, height: 64, seed: 3 }) as [string];
  const bag = await BagReader.open(bagDir);
  recorded = [];
  for await (const message of bag.messages({ topics: [SAMPLE_TOPICS.follower, SAMPLE_TOPICS.camera(0), SAMPLE_TOPICS.instruction] })) {
    const header = (message.message as { header?: { stamp: { sec: number; nanosec: number } } }).header;
    recorded.push({ topic: message.topic, logTimeNs: message.logTimeNs, stampNs: header !== undefined ? nsFromTime(header.stamp) : undefined });
  }
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

const PLAYED = [
  { from: SAMPLE_TOPICS.follower, to: "joint_states" },
  { from: SAMPLE_TOPICS.camera(0), to: "/cameras/front" },
  { from: SAMPLE_TOPICS.instruction, to: "instruction", qos: "latched" as const },
];

describe("BagPlayer on a simulated clock", () => {
  it("publishes every message of the chosen topics, renamed, at its recorded receive time, with timers interleaved", async () => {
    const player = await BagPlayer.open(bagDir, PLAYED);
    expect(player.firstNs).toBe(recorded[0]!.logTimeNs);
    const bus = new LocalBus({ clock: player.firstNs });
    const node = bus.createGraph("listener", { namespace: "/so100" });
    const seen: { topic: string; atNs: bigint; stampNs: bigint | undefined }[] = [];
    const rename: Record<string, string> = { "/so100/joint_states": SAMPLE_TOPICS.follower, "/cameras/front": SAMPLE_TOPICS.camera(0), "/so100/instruction": SAMPLE_TOPICS.instruction };
    node.createSubscription("sensor_msgs/msg/JointState", "joint_states", { profile: "reliable", depth: 100 }, (m) => void seen.push({ topic: rename["/so100/joint_states"]!, atNs: node.nowNs(), stampNs: nsFromTime(m.header.stamp) }));
    node.createSubscription("sensor_msgs/msg/Image", "/cameras/front", { profile: "reliable", depth: 100 }, (m) => void seen.push({ topic: rename["/cameras/front"]!, atNs: node.nowNs(), stampNs: nsFromTime(m.header.stamp) }));
    node.createSubscription("std_msgs/msg/String", "instruction", "latched", () => void seen.push({ topic: rename["/so100/instruction"]!, atNs: node.nowNs(), stampNs: undefined }));
    const ticks: bigint[] = [];
    node.createTimer(50_000_000n, () => void ticks.push(node.nowNs()));
    const stats = await player.playSimulated(bus, { namespace: "/so100" });

    expect(stats.messages).toBe(recorded.length);
    expect(seen.map((m) => [m.topic, m.atNs, m.stampNs])).toEqual(recorded.map((m) => [m.topic, m.logTimeNs, m.stampNs]));
    // the 20 Hz timer fired at its own times, between the messages, up to the last one
    const expectedTicks: bigint[] = [];
    for (let t = player.firstNs + 50_000_000n; t <= player.lastNs; t += 50_000_000n) expectedTicks.push(t);
    expect(ticks).toEqual(expectedTicks);
    expect(bus.clock.nowNs()).toBe(player.lastNs);
    bus.close();
  });

  it("does not play topics it was not asked for", async () => {
    const player = await BagPlayer.open(bagDir, [{ from: SAMPLE_TOPICS.follower }]);
    const bus = new LocalBus({ clock: player.firstNs });
    const node = bus.createGraph("listener");
    let leader = 0;
    let follower = 0;
    node.createSubscription("sensor_msgs/msg/JointState", SAMPLE_TOPICS.leader, "reliable", () => void leader++);
    node.createSubscription("sensor_msgs/msg/JointState", SAMPLE_TOPICS.follower, { profile: "reliable", depth: 100 }, (m: SensorMsgsJointState) => {
      expect(m.position).toBeInstanceOf(Float64Array);
      follower++;
    });
    await player.playSimulated(bus);
    expect(leader).toBe(0);
    expect(follower).toBe(recorded.filter((m) => m.topic === SAMPLE_TOPICS.follower).length);
    bus.close();
  });

  it("names the missing topic and lists the bag's topics", async () => {
    await expect(BagPlayer.open(bagDir, [{ from: "/camera/top/image_raw" }])).rejects.toThrow(/has no topic \/camera\/top\/image_raw \(to play\); its topics are: .*\/joint_states \(sensor_msgs\/msg\/JointState\)/);
  });

  it("refuses a bus clock already past the bag", async () => {
    const player = await BagPlayer.open(bagDir, [{ from: SAMPLE_TOPICS.follower }]);
    const bus = new LocalBus({ clock: player.lastNs + 1n });
    await expect(player.playSimulated(bus)).rejects.toThrow(/already past the bag's first message/);
    bus.close();
  });
});

describe("BagPlayer in real time", () => {
  it("shifts every header stamp by one offset, loops on request and stops when aborted", async () => {
    const player = await BagPlayer.open(bagDir, [{ from: SAMPLE_TOPICS.follower, to: "joint_states" }]);
    const original = recorded.filter((m) => m.topic === SAMPLE_TOPICS.follower).map((m) => m.stampNs!);
    const bus = new LocalBus();
    const node = bus.createGraph("listener");
    const stamps: bigint[] = [];
    node.createSubscription("sensor_msgs/msg/JointState", "joint_states", { profile: "reliable", depth: 1000 }, (m) => void stamps.push(nsFromTime(m.header.stamp)));
    const controller = new AbortController();
    const limit = original.length + 5;
    let published = 0;
    const stats = await player.playRealTime(bus, {
      loop: true,
      signal: controller.signal,
      onMessage: () => {
        if (++published === limit) controller.abort();
      },
    });
    await bus.flush();
    expect(stats.messages).toBe(limit);
    expect(stats.passes).toBe(2);
    expect(stamps).toHaveLength(limit);
    const offset = stamps[0]! - original[0]!;
    expect(stamps.slice(0, original.length).map((stamp, i) => stamp - original[i]!)).toEqual(original.map(() => offset));
    // the second pass continues the time line after the first
    const secondOffset = stamps[original.length]! - original[0]!;
    expect(secondOffset).toBe(offset + player.durationNs + 33_333_333n);
    expect(stamps.slice(original.length).map((stamp, i) => stamp - original[i]!)).toEqual(stamps.slice(original.length).map(() => secondOffset));
    bus.close();
  });
});
