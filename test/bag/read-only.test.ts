/**
 * Reading a bag writes nothing beside it, and bags on read-only storage read with exact counts: rosbag2's
 * WAL-mode `.db3` files are opened `immutable` (better-sqlite3 is built with URI filenames by
 * scripts/better-sqlite3-uri.mjs), and a file with writes still in its `-wal` is read with them.
 */
import { execFileSync } from "node:child_process";
import { chownSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { parse as parseYaml } from "yaml";
import { afterAll, describe, expect, it } from "vitest";
import { BagReader } from "../../src/bag/reader.js";
import { makeSampleBags } from "../../src/bag/sample.js";
import { bagInfo } from "../../src/cli/bag-commands.js";
import { convertBags } from "../../src/dataset/convert.js";
import { loadMapping } from "../../src/dataset/mapping.js";
import { REPO_ROOT, hasProgram } from "../helpers/system.js";
import { BAGS, SQLITE_FIXTURES, copyFixture, eachReadOnlyView, folderSnapshot, pristineCopy, runCli, scratch, type ReadOnlyView } from "./helpers.js";

const READ_BAGS = path.join(REPO_ROOT, "test/bag/read-bags.ts");
const ALL_FIXTURES = readdirSync(BAGS).filter((name) => !name.startsWith("LICENSE"));
/** legacy_single_file has no metadata.yaml: one Image, one CompressedImage, a String and two NavSatFix. */
const LEGACY_MESSAGES = 5;

interface ReadResult {
  bag: string;
  messages?: number;
  problems?: string[];
  error?: string;
}

/** `bag info --verify` of `bags` in a child process run as the view's reader. */
function readAs(view: ReadOnlyView, bags: string[]): ReadResult[] {
  const output = execFileSync(process.execPath, ["--import", "tsx", READ_BAGS, ...bags], {
    cwd: REPO_ROOT,
    encoding: "utf8",
    maxBuffer: 1 << 26,
    ...(view.uid !== undefined ? { uid: view.uid, gid: view.gid } : {}),
  });
  return output.trim().split("\n").map((line) => JSON.parse(line) as ReadResult);
}

/** metadata.yaml's message count, read with the yaml package rather than the reader's own parser. */
function expectedMessages(name: string): number {
  const file = path.join(BAGS, name, "metadata.yaml");
  if (!existsSync(file)) return LEGACY_MESSAGES;
  return (parseYaml(readFileSync(file, "utf8")) as { rosbag2_bagfile_information: { message_count: number } }).rosbag2_bagfile_information.message_count;
}

/** rosbag2's journal mode: bytes 18 and 19 of the header (file format read/write versions) are 2 in WAL mode. */
function isWalMode(file: string): boolean {
  const header = readFileSync(file).subarray(18, 20);
  return header[0] === 2 && header[1] === 2;
}

const made: string[] = [];
afterAll(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** `folder`, its scratch parent removed after the tests. */
function cleanedUp(folder: string): string {
  made.push(path.dirname(folder));
  return folder;
}

describe("sqlite3 bags on read-only storage", () => {
  it("every sqlite3 fixture reads with exact counts through a read-only view of its folder, as it is and as rosbag2 left it", () => {
    expect(SQLITE_FIXTURES.length).toBe(7);
    // rosbag2's WAL-mode files: what SQLite cannot open read-only without writing -shm/-wal beside them
    expect(SQLITE_FIXTURES.filter((name) => readdirSync(path.join(BAGS, name)).some((file) => file.endsWith(".db3") && isWalMode(path.join(BAGS, name, file))))).toEqual(["empty_bag", "legacy_single_file", "talker_sqlite3"]);
    const pristine = scratch("pi0fast-pristine-");
    made.push(pristine);
    for (const name of SQLITE_FIXTURES) cpSync(cleanedUp(pristineCopy(name)), path.join(pristine, name), { recursive: true });
    expect(readdirSync(path.join(pristine, "talker_sqlite3")).sort()).toEqual(["metadata.yaml", "talker.db3"]);
    for (const folder of [BAGS, pristine]) {
      const kinds = eachReadOnlyView(folder, (view) => {
        const results = readAs(view, SQLITE_FIXTURES.map((name) => path.join(view.path, name)));
        expect(results.map((result) => [path.basename(result.bag), result.error ?? result.problems, result.messages])).toEqual(
          SQLITE_FIXTURES.map((name) => [name, [], expectedMessages(name)]),
        );
      });
      expect(kinds).toContain("copy without write bits");
    }
  });

  it("a bag whose -wal still holds messages is read with all of them, and on read-only storage the error says why not", async () => {
    const recorded = cleanedUp(pristineCopy("talker_sqlite3"));
    const crashed = cleanedUp(path.join(scratch(), "talker_crashed"));
    mkdirSync(crashed);
    // A recorder that died: 5 more messages committed to the -wal, never checkpointed into the .db3.
    const db = new Database(path.join(recorded, "talker.db3"));
    db.pragma("wal_autocheckpoint = 0");
    db.defaultSafeIntegers(true);
    const last = db.prepare("SELECT topic_id, data FROM messages ORDER BY timestamp DESC LIMIT 1").get() as { topic_id: bigint; data: Buffer };
    const insert = db.prepare("INSERT INTO messages (topic_id, timestamp, data) VALUES (?, ?, ?)");
    const lastNs = (db.prepare("SELECT MAX(timestamp) AS t FROM messages").get() as { t: bigint }).t;
    for (let i = 1n; i <= 5n; i++) insert.run(last.topic_id, lastNs + i * 1_000_000n, last.data);
    cpSync(path.join(recorded, "talker.db3"), path.join(crashed, "talker.db3"));
    cpSync(path.join(recorded, "talker.db3-wal"), path.join(crashed, "talker.db3-wal"));
    db.close();
    const before = await folderSnapshot(crashed);

    const bag = await BagReader.open(crashed);
    expect(bag.messageCount).toBe(25);
    let read = 0;
    for await (const _ of bag.messages()) read += 1;
    expect(read).toBe(25);
    // The .db3 and its -wal are as they were; SQLite needed the -shm it created to read the -wal.
    const after = await folderSnapshot(crashed);
    expect(Object.keys(after).sort()).toEqual(["talker.db3", "talker.db3-shm", "talker.db3-wal"]);
    expect({ ...after, "talker.db3-shm": undefined }).toEqual({ ...before, "talker.db3-shm": undefined });

    rmSync(path.join(crashed, "talker.db3-shm"));
    eachReadOnlyView(crashed, (view) => {
      const [result] = readAs(view, [view.path]);
      expect(result!.error).toMatch(/talker\.db3: talker\.db3-wal holds \d+ bytes of writes not yet in the file .* it needs to write talker\.db3-shm beside the file; read the bag from writable storage/);
    });
  });

  it("reads a bag whose path holds characters a URI reserves (space ? # % and non-ASCII)", async () => {
    const bag = path.join(cleanedUp(path.join(scratch(), "bag ?#%41 é")), "talker_sqlite3");
    cpSync(cleanedUp(pristineCopy("talker_sqlite3")), bag, { recursive: true });
    const before = await folderSnapshot(path.dirname(bag));
    const info = await bagInfo(bag, true);
    expect(info.verified).toEqual({ messages: 20, problems: [] });
    expect(await folderSnapshot(path.dirname(bag))).toEqual(before);
  });
});

describe("reading leaves the bag's folder byte-for-byte as it was", () => {
  it.each(ALL_FIXTURES)("%s: bag info --verify and a filtered read, on a copy as it is and as rosbag2 left it", async (name) => {
    for (const bag of [cleanedUp(copyFixture(name)), cleanedUp(pristineCopy(name))]) {
      const before = await folderSnapshot(bag);
      const info = await bagInfo(bag, true);
      expect(info.verified).toEqual({ messages: expectedMessages(name), problems: [] });
      const reader = await BagReader.open(bag);
      if (reader.topics.length > 0) for await (const _ of reader.messages({ topics: [reader.topics[0]!.name], decode: false }));
      expect(await folderSnapshot(bag)).toEqual(before);
    }
  });
});

const haveFfmpeg = hasProgram("ffmpeg", ["-version"]);

describe.skipIf(!haveFfmpeg)("convert", () => {
  it("converts a WAL-mode sqlite3 bag from a read-only view to the same dataset, leaving the bag as it was", async () => {
    const root = scratch("pi0fast-convert-ro-");
    made.push(root);
    const [bag] = await makeSampleBags({ outDir: path.join(root, "bags"), format: "sqlite3", episodes: 1, seconds: 1, cameras: 2, width: 64, height: 64, seed: 5 });
    const file = path.join(bag!, readdirSync(bag!).find((entry) => entry.endsWith(".db3"))!);
    // rosbag2's journal mode: the header says WAL, and no -wal is left once the writer closed
    const db = new Database(file);
    db.pragma("journal_mode = WAL");
    db.close();
    expect(isWalMode(file)).toBe(true);
    expect(readdirSync(bag!).sort()).toEqual([path.basename(file), "metadata.yaml"]);

    const mapping = path.join(REPO_ROOT, "config/convert.sample.yaml");
    const before = await folderSnapshot(bag!);
    const reference = path.join(root, "dataset-writable");
    await convertBags({ bags: [bag!], mapping: loadMapping(mapping), outDir: reference, onBadFrame: "fail" });
    expect(await folderSnapshot(bag!)).toEqual(before);

    const kinds = eachReadOnlyView(bag!, (view) => {
      // the dataset goes where the view's reader can write
      const outParent = scratch("pi0fast-convert-out-");
      made.push(outParent);
      if (view.uid !== undefined) chownSync(outParent, view.uid, view.gid!);
      const out = path.join(outParent, "dataset");
      const result = runCli(["convert", view.path, "--mapping", mapping, "--out", out], view.uid !== undefined ? { uid: view.uid, gid: view.gid! } : {});
      expect(result.status, result.stderr).toBe(0);
      const info = (dir: string) => JSON.parse(readFileSync(path.join(dir, "meta/info.json"), "utf8")) as { total_frames: number; total_episodes: number };
      expect(info(out)).toEqual(info(reference));
      expect(info(out).total_frames).toBeGreaterThan(20);
      const data = "data/chunk-000/file-000.parquet";
      expect(readFileSync(path.join(out, data)).equals(readFileSync(path.join(reference, data)))).toBe(true);
    });
    expect(kinds).toContain("copy without write bits");
  });
});
