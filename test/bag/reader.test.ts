import { readdirSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { BagReader, type BagMessage } from "../../src/bag/reader.js";
import { canonicalTypeName } from "../../src/bag/metadata.js";
import { BagWriter } from "../../src/bag/writer.js";
import { BAGS, scratch } from "./helpers.js";

async function collect(bag: BagReader, options: Parameters<BagReader["messages"]>[0] = {}): Promise<BagMessage[]> {
  const messages: BagMessage[] = [];
  for await (const message of bag.messages(options)) messages.push(message);
  return messages;
}

const fixtureBags = readdirSync(BAGS).filter((name) => !name.startsWith("LICENSE") && name !== "legacy_single_file");

describe("every fixture bag", () => {
  it.each(fixtureBags)("%s: decodes every message, in time order, with metadata.yaml's counts", async (name) => {
    const bag = await BagReader.open(path.join(BAGS, name));
    expect(bag.metadata).toBeDefined();
    const counts = new Map<string, number>();
    let previous = -1n;
    for await (const message of bag.messages()) {
      expect(message.message).toBeTypeOf("object");
      expect(message.logTimeNs >= previous).toBe(true);
      previous = message.logTimeNs;
      counts.set(message.topic, (counts.get(message.topic) ?? 0) + 1);
    }
    for (const topic of bag.metadata!.topics) expect(counts.get(topic.name) ?? 0, topic.name).toBe(topic.messageCount);
    expect([...counts.values()].reduce((a, b) => a + b, 0)).toBe(bag.metadata!.messageCount);
  });
});

describe("known values", () => {
  it.each(["rosbags_rs_sqlite3", "rosbags_rs_mcap"])("%s: the JointState", async (name) => {
    const bag = await BagReader.open(path.join(BAGS, name));
    const [first] = await collect(bag, { topics: ["/test/sensor_msgs/joint_state"] });
    expect(first!.type).toBe("sensor_msgs/msg/JointState");
    expect(first!.message).toMatchObject({ header: { stamp: { sec: 1749315324 }, frame_id: "test_frame" }, name: ["joint1", "joint2", "joint3"] });
    expect(Array.from(first!.message!.position as Float64Array)).toEqual([0.1, 0.2, 0.3]);
    expect(Array.from(first!.message!.effort as Float64Array)).toEqual([1, 2, 3]);
  });

  it("keeps receive times above 2^53 exact", async () => {
    const bag = await BagReader.open(path.join(BAGS, "rosbags_rs_sqlite3"));
    const [first] = await collect(bag, { topics: ["/test/sensor_msgs/joint_state"] });
    expect(first!.logTimeNs).toBe(1749315328875930112n);
  });

  it("falls back to the standard definition when the bag's is a placeholder (talker .db3)", async () => {
    const bag = await BagReader.open(path.join(BAGS, "talker_sqlite3"));
    const [log] = await collect(bag, { topics: ["/rosout"] });
    expect(log!.message).toMatchObject({ level: 20, name: "minimal_publisher", msg: "Publishing: 'Hello, world! 0'", line: 38 });
  });

  it("reads the Jazzy recording in both storages (zstd FILE compression for sqlite3)", async () => {
    for (const name of ["jazzy_mcap", "jazzy_sqlite3_zstd_file"]) {
      const bag = await BagReader.open(path.join(BAGS, name));
      if (name.endsWith("zstd_file")) expect([bag.compressionFormat, bag.compressionMode]).toEqual(["zstd", "FILE"]);
      const [image] = await collect(bag, { topics: ["/camera/image_raw"] });
      expect(image!.message).toMatchObject({ width: 64, height: 48, encoding: "rgb8", step: 192 });
      expect((image!.message!.data as Uint8Array).length).toBe(64 * 48 * 3);
      const [instruction] = await collect(bag, { topics: ["/instruction"] });
      expect(instruction!.message).toEqual({ data: "pick up the red cube" });
      const [compressed] = await collect(bag, { topics: ["/camera/compressed"] });
      expect(String(compressed!.message!.format)).toMatch(/jpeg/);
    }
  });

  it("reads a legacy single .db3 without metadata.yaml and types without /msg/", async () => {
    const bag = await BagReader.open(path.join(BAGS, "legacy_single_file/sample.db3"));
    expect(bag.metadata).toBeUndefined();
    expect(bag.topics.map((topic) => topic.type)).toContain("sensor_msgs/msg/Image");
    const messages = await collect(bag);
    expect(messages).toHaveLength(5);
    const image = messages.find((message) => message.topic === "/image")!;
    expect(image.message).toMatchObject({ width: 640, height: 480, encoding: "bgr8" });
  });

  it("decodes service events from the .srv text rosbag2 stores", async () => {
    const bag = await BagReader.open(path.join(BAGS, "services_mcap"));
    const [event] = await collect(bag, { topics: ["/test_service1/_service_event"] });
    expect(event!.message).toMatchObject({ info: { event_type: 0, sequence_number: 1n }, request: [{ bool_value: false }], response: [] });
  });
});

describe("filters and layout", () => {
  it("filters by topic and by an inclusive time window, across split files", async () => {
    const bag = await BagReader.open(path.join(BAGS, "split_sqlite3"));
    expect(bag.files).toHaveLength(5);
    const all = await collect(bag, { topics: ["AAA"], decode: false });
    expect(all).toHaveLength(804);
    expect(all.every((message) => message.message === undefined && message.topic === "AAA")).toBe(true);
    const window = await collect(bag, { startNs: 1500n, endNs: 2500n, decode: false });
    expect(window.length).toBeGreaterThan(0);
    expect(window.every((message) => message.logTimeNs >= 1500n && message.logTimeNs <= 2500n)).toBe(true);
    expect(new Set(window.map((message) => message.file)).size).toBeGreaterThan(1);
    await expect(collect(bag, { topics: ["ZZZ"] })).rejects.toThrow(/has no topic ZZZ.*its topics are: HHH \(std_msgs\/msg\/String\)/);
  });

  it("split MCAP equals split sqlite3 message for message", async () => {
    const sqlite = await collect(await BagReader.open(path.join(BAGS, "split_sqlite3")));
    const mcap = await collect(await BagReader.open(path.join(BAGS, "split_mcap")));
    expect(mcap.map((m) => [m.topic, m.logTimeNs, m.message])).toEqual(sqlite.map((m) => [m.topic, m.logTimeNs, m.message]));
  });

  it("reads sqlite3 messages in receive-time order where the ids are not (ORDER BY timestamp, id)", async () => {
    // rosbag2 numbers rows in the order it writes them, which need not be the order of their timestamps
    const bagDir = path.join(scratch(), "ids_out_of_time_order");
    const writer = await BagWriter.create(bagDir, "sqlite3");
    await writer.addTopic("/instruction", "std_msgs/msg/String");
    await writer.addTopic("/joint_states", "sensor_msgs/msg/JointState");
    const start = 1_760_000_000_000_000_000n;
    const written: [string, bigint][] = [["first", 30n], ["second", 10n], ["third", 20n], ["fourth", 10n], ["fifth", 40n], ["sixth", 0n]];
    for (const [data, offsetNs] of written) await writer.write("/instruction", start + offsetNs, { data });
    await writer.write("/joint_states", start + 15n, { header: { stamp: { sec: 0, nanosec: 0 }, frame_id: "" }, name: [], position: new Float64Array(0), velocity: new Float64Array(0), effort: new Float64Array(0) });
    await writer.close();
    const file = path.join(bagDir, readdirSync(bagDir).find((name) => name.endsWith(".db3"))!);
    const db = new Database(file, { readonly: true });
    db.defaultSafeIntegers(true);
    const byId = db.prepare("SELECT timestamp FROM messages ORDER BY id").all().map((row) => (row as { timestamp: bigint }).timestamp - start);
    db.close();
    expect(byId).toEqual([30n, 10n, 20n, 10n, 40n, 0n, 15n]);

    const messages = await collect(await BagReader.open(bagDir));
    // equal timestamps keep the order they were written in (id order)
    expect(messages.map((message) => [message.logTimeNs - start, message.topic === "/instruction" ? message.message!.data : "joint_states"])).toEqual([
      [0n, "sixth"],
      [10n, "second"],
      [10n, "fourth"],
      [15n, "joint_states"],
      [20n, "third"],
      [30n, "first"],
      [40n, "fifth"],
    ]);
    const window = await collect(await BagReader.open(bagDir), { topics: ["/instruction"], startNs: start + 10n, endNs: start + 30n });
    expect(window.map((message) => message.message!.data)).toEqual(["second", "fourth", "third", "first"]);
  });

  it("normalizes type names", () => {
    expect(canonicalTypeName("sensor_msgs/Image")).toBe("sensor_msgs/msg/Image");
    expect(canonicalTypeName("sensor_msgs/msg/Image")).toBe("sensor_msgs/msg/Image");
  });
});
