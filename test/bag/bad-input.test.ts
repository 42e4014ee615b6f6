import { existsSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync, statSync, openSync, writeSync, closeSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { InputError } from "../../src/errors.js";
import { BagReader } from "../../src/bag/reader.js";
import { copyFixture, runCli, scratch } from "./helpers.js";

async function readAll(bagPath: string): Promise<number> {
  const bag = await BagReader.open(bagPath);
  let count = 0;
  for await (const _ of bag.messages()) count += 1;
  return count;
}

function overwrite(file: string, offset: number, bytes: Buffer): void {
  const fd = openSync(file, "r+");
  writeSync(fd, bytes, 0, bytes.length, offset);
  closeSync(fd);
}

describe("damaged bags are reported with the file and what is wrong", () => {
  it("a truncated .db3", async () => {
    const bag = copyFixture("rosbags_rs_sqlite3");
    const file = path.join(bag, "test_bag_sqlite3.db3");
    truncateSync(file, Math.floor(statSync(file).size / 3));
    const error = await readAll(bag).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toMatch(/test_bag_sqlite3\.db3: not a readable rosbag2 sqlite3 file/);
  });

  it("a corrupted .db3 header", async () => {
    const bag = copyFixture("talker_sqlite3");
    overwrite(path.join(bag, "talker.db3"), 0, Buffer.from("this is not sqlite at all"));
    await expect(readAll(bag)).rejects.toThrow(/talker\.db3: not a readable rosbag2 sqlite3 file \(file is not a database\)/);
  });

  it("a truncated .mcap (no summary, cut inside a record)", async () => {
    const bag = copyFixture("jazzy_mcap");
    const file = path.join(bag, "jazzy_mcap_0.mcap");
    truncateSync(file, Math.floor(statSync(file).size / 2));
    await expect(readAll(bag)).rejects.toThrow(/jazzy_mcap_0\.mcap: the file ends inside a record .* cut off or damaged/);
  });

  it("a corrupted .mcap", async () => {
    const bag = copyFixture("talker_mcap");
    overwrite(path.join(bag, "talker.mcap"), 0, Buffer.from("XXXXXXXX"));
    await expect(readAll(bag)).rejects.toThrow(/talker\.mcap: does not start with the MCAP magic/);
  });

  it("a file listed in metadata.yaml that is missing", async () => {
    const bag = copyFixture("split_mcap");
    rmSync(path.join(bag, "wbag_2.mcap"));
    await expect(BagReader.open(bag)).rejects.toThrow(/metadata\.yaml lists wbag_2\.mcap, which is missing/);
  });

  it("an unknown type with no definition", async () => {
    const dir = scratch();
    const bag = copyFixture("split_sqlite3");
    const db = new Database(path.join(bag, "wbag_0.db3"));
    db.prepare("UPDATE topics SET type = 'my_pkg/msg/Mystery' WHERE name = 'AAA'").run();
    db.close();
    rmSync(path.join(bag, "metadata.yaml"));
    expect(dir).toBeTruthy();
    await expect(readAll(bag)).rejects.toThrow(/wbag_0\.db3 at \d+ ns: topic AAA has type my_pkg\/msg\/Mystery, which the bag gives no definition for and which is not a standard type/);
  });

  it("out-of-order timestamps across split files", async () => {
    const bag = copyFixture("split_sqlite3");
    const metadataFile = path.join(bag, "metadata.yaml");
    writeFileSync(metadataFile, readFileSync(metadataFile, "utf8").replace("- wbag_0.db3\n    - wbag_1.db3", "- wbag_1.db3\n    - wbag_0.db3"));
    await expect(readAll(bag)).rejects.toThrow(/wbag_0\.db3: its first message \(1000 ns\) is earlier than the last message of .*wbag_1\.db3 \(1821 ns\)/);
  });

  it("bag info --verify finds counts that disagree with metadata.yaml and exits non-zero", () => {
    const bag = copyFixture("talker_sqlite3");
    const db = new Database(path.join(bag, "talker.db3"));
    db.prepare("DELETE FROM messages WHERE id = (SELECT MAX(id) FROM messages WHERE topic_id = 3)").run();
    db.close();
    const result = runCli(["bag", "info", bag, "--verify"]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^pi0fast: .*talker_sqlite3: verification failed: \/topic: 9 messages read, metadata says 10/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    const missing = runCli(["bag", "info", path.join(bag, "nope")]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/nope: no such bag/);
  });

  it("bag info prints storage, compression, duration and topics; --json is machine-readable", () => {
    const result = runCli(["bag", "info", copyFixture("jazzy_sqlite3_zstd_file"), "--json", "--verify"]);
    expect(result.status).toBe(0);
    const info = JSON.parse(result.stdout);
    expect(info).toMatchObject({ storage: "sqlite3", compression: { format: "zstd", mode: "FILE" }, metadataVersion: 9, messageCount: 689, verified: { messages: 689, problems: [] } });
    expect(info.durationS).toBeCloseTo(2.9858, 3);
    expect(info.topics).toContainEqual({ name: "/camera/image_raw", type: "sensor_msgs/msg/Image", messageCount: 59 });
  });

  it("an empty bag has no messages to read", async () => {
    const bag = await BagReader.open(copyFixture("empty_bag"));
    expect(bag.messageCount).toBe(0);
    expect(await readAll(bag.path)).toBe(0);
    expect(existsSync(bag.path)).toBe(true);
    expect(readdirSync(bag.path).length).toBeGreaterThan(0);
  });
});
