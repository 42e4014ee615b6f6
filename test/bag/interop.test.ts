/**
 * Interop with the reference implementation, Python `rosbags` (tools/requirements-interop.txt): bags it
 * writes read identically here, and the bags make-sample-bag writes read identically there.
 */
import { createHash } from "node:crypto";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { McapStorage } from "../../src/bag/mcap-storage.js";
import { BagReader } from "../../src/bag/reader.js";
import { makeSampleBags } from "../../src/bag/sample.js";
import { SqliteStorage } from "../../src/bag/sqlite-storage.js";
import type { StorageFile } from "../../src/bag/storage.js";
import { interopPython, runPython } from "../helpers/system.js";
import { NON_ASCII_TEXTS, scratch, writeNonAsciiBag } from "./helpers.js";

const python = interopPython(["rosbags"]);

/** A JSON view both sides can produce: arrays as lists, bytes as sha256, ints as numbers. */
function normalize(value: unknown): unknown {
  if (value instanceof Uint8Array) return { sha256: createHash("sha256").update(value).digest("hex"), length: value.length };
  if (ArrayBuffer.isView(value)) return Array.from(value as unknown as ArrayLike<number>);
  if (typeof value === "bigint") return Number(value);
  if (Array.isArray(value)) return value.map(normalize);
  if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalize(v)]));
  return value;
}

const PY_NORMALIZE = `
import hashlib, json, numpy as np
def norm(v):
    if isinstance(v, np.ndarray):
        if v.dtype == np.uint8: return {"sha256": hashlib.sha256(v.tobytes()).hexdigest(), "length": int(v.size)}
        return [x.item() for x in v]
    if isinstance(v, (list, tuple)): return [norm(x) for x in v]
    if hasattr(v, "__dataclass_fields__"): return {k: norm(getattr(v, k)) for k in v.__dataclass_fields__ if k != "__msgtype__"}
    if isinstance(v, np.generic): return v.item()
    return v
`;

async function ourView(bagPath: string): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const message of (await BagReader.open(bagPath)).messages()) out.push([message.topic, Number(message.logTimeNs), normalize(message.message)]);
  return out;
}

/** Each bag's messages as rosbags decodes them, from one Python process (its start-up is most of the cost). */
function theirViews(bagPaths: string[]): unknown[][] {
  const code = `${PY_NORMALIZE}
from rosbags.rosbag2 import Reader
from rosbags.typesys import Stores, get_typestore
ts = get_typestore(Stores.ROS2_JAZZY)
views = []
for path in ${JSON.stringify(bagPaths)}:
    out = []
    with Reader(path) as r:
        for conn, t, raw in r.messages():
            out.append([conn.topic, t, norm(ts.deserialize_cdr(raw, conn.msgtype))])
    views.append(out)
print(json.dumps(views))`;
  return JSON.parse(runPython(python!, code)) as unknown[][];
}

function theirView(bagPath: string): unknown[] {
  return theirViews([bagPath])[0]!;
}

/** Five messages of each of five types, as rosbags writes them; one Python process for all `bags`. */
function writeWithRosbags(bags: { path: string; storage: "sqlite3" | "mcap"; compression?: "MESSAGE" | "FILE" }[]): void {
  runPython(
    python!,
    `
import json
import numpy as np
from rosbags.rosbag2 import Writer, StoragePlugin, CompressionMode, CompressionFormat
from rosbags.typesys import Stores, get_typestore
ts = get_typestore(Stores.ROS2_JAZZY)
T = ts.types
Time = T["builtin_interfaces/msg/Time"]; Header = T["std_msgs/msg/Header"]
for path, storage, compression in json.loads(${JSON.stringify(JSON.stringify(bags.map((bag) => [bag.path, bag.storage, bag.compression ?? ""])))}):
    w = Writer(path, version=9, storage_plugin=StoragePlugin[storage.upper()])
    if compression: w.set_compression(CompressionMode[compression], CompressionFormat.ZSTD)
    with w:
        c_js = w.add_connection("/joint_states", "sensor_msgs/msg/JointState", typestore=ts)
        c_img = w.add_connection("/camera/image_raw", "sensor_msgs/msg/Image", typestore=ts)
        c_jpg = w.add_connection("/camera/compressed", "sensor_msgs/msg/CompressedImage", typestore=ts)
        c_txt = w.add_connection("/instruction", "std_msgs/msg/String", typestore=ts)
        c_f64 = w.add_connection("/command", "std_msgs/msg/Float64MultiArray", typestore=ts)
        base = 1_795_985_562_107_327_621
        for i in range(5):
            h = Header(stamp=Time(sec=1795985562 + i, nanosec=123 * i), frame_id="base_link")
            t = base + i * 10_000_000
            js = T["sensor_msgs/msg/JointState"](header=h, name=["shoulder_pan", "gripper"], position=np.array([0.1 * i, -1.5 + i], dtype=np.float64), velocity=np.array([], dtype=np.float64), effort=np.array([np.pi, -0.0], dtype=np.float64))
            w.write(c_js, t, ts.serialize_cdr(js, "sensor_msgs/msg/JointState"))
            img = T["sensor_msgs/msg/Image"](header=h, height=4, width=5, encoding="bgr8", is_bigendian=0, step=16, data=np.arange(64, dtype=np.uint8) + i)
            w.write(c_img, t + 1, ts.serialize_cdr(img, "sensor_msgs/msg/Image"))
            jpg = T["sensor_msgs/msg/CompressedImage"](header=h, format="jpeg", data=np.array([255, 216, 255, i], dtype=np.uint8))
            w.write(c_jpg, t + 2, ts.serialize_cdr(jpg, "sensor_msgs/msg/CompressedImage"))
            w.write(c_txt, t + 3, ts.serialize_cdr(T["std_msgs/msg/String"](data="pick up the cube ✓ %d" % i), "std_msgs/msg/String"))
            layout = T["std_msgs/msg/MultiArrayLayout"](dim=[T["std_msgs/msg/MultiArrayDimension"](label="joints", size=2, stride=2)], data_offset=0)
            w.write(c_f64, t + 4, ts.serialize_cdr(T["std_msgs/msg/Float64MultiArray"](layout=layout, data=np.array([1e-300, -2.5])), "std_msgs/msg/Float64MultiArray"))
`,
  );
}

/** The zstd frame magic number, 0xFD2FB528 little-endian. */
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

async function openStorageFile(file: string, storage: "sqlite3" | "mcap"): Promise<StorageFile> {
  return storage === "sqlite3" ? SqliteStorage.open(file) : McapStorage.open(file);
}

describe.skipIf(python === undefined)("rosbags interop", () => {
  it.each(["sqlite3", "mcap"] as const)("bags rosbags writes (%s) decode to identical values", async (storage) => {
    const bag = path.join(scratch(), "written_by_rosbags");
    writeWithRosbags([{ path: bag, storage }]);
    const ours = await ourView(bag);
    expect(ours).toHaveLength(25);
    expect(ours).toEqual(theirView(bag));
  });

  it("bags rosbags compresses with zstd (MESSAGE and FILE mode, sqlite3 and MCAP) decode to identical values", async () => {
    const bags = (["MESSAGE", "FILE"] as const).flatMap((compression) =>
      (["sqlite3", "mcap"] as const).map((storage) => ({ path: path.join(scratch(), `rosbags_${compression}_${storage}`), storage, compression })),
    );
    writeWithRosbags(bags);
    const theirs = theirViews(bags.map((bag) => bag.path));
    for (const [index, { path: bagPath, storage, compression }] of bags.entries()) {
      const bag = await BagReader.open(bagPath);
      expect([bag.storageIdentifier, bag.compressionFormat, bag.compressionMode]).toEqual([storage, "zstd", compression]);
      expect(bag.files.every((file) => file.endsWith(".zstd"))).toBe(compression === "FILE");
      if (compression === "MESSAGE") {
        // the stored blobs are zstd frames, so this test goes through the decompression
        const stored = await openStorageFile(bag.files[0]!, storage);
        for await (const record of stored.records({})) expect([...record.data.subarray(0, 4)]).toEqual(ZSTD_MAGIC);
        await stored.close();
      }
      const ours = await ourView(bagPath);
      expect(ours).toHaveLength(25);
      expect(ours).toEqual(theirs[index]);
    }
  });

  it.each(["sqlite3", "mcap"] as const)("bags make-sample-bag writes (%s) read identically in rosbags", async (format) => {
    const [bag] = await makeSampleBags({ outDir: path.join(scratch(), "sample"), format, episodes: 1, seconds: 0.5, cameras: 1, width: 64, height: 64, seed: 3 });
    const theirs = theirView(bag!);
    expect(theirs.length).toBeGreaterThan(100);
    expect(await ourView(bag!)).toEqual(theirs);
  });

  it("non-ASCII strings our BagWriter writes (sqlite3 and MCAP) read identically in rosbags", async () => {
    const bagDirs = [path.join(scratch(), "non_ascii_sqlite3"), path.join(scratch(), "non_ascii_mcap")];
    await writeNonAsciiBag(bagDirs[0]!, "sqlite3");
    await writeNonAsciiBag(bagDirs[1]!, "mcap");
    const theirs = theirViews(bagDirs);
    for (const [index, bagDir] of bagDirs.entries()) {
      expect(theirs[index]!.slice(0, NON_ASCII_TEXTS.length).map((entry) => (entry as unknown[])[2])).toEqual(NON_ASCII_TEXTS.map((data) => ({ data })));
      expect(await ourView(bagDir)).toEqual(theirs[index]);
    }
  });
});
