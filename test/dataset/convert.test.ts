import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parquetMetadata, parquetReadObjects, parquetSchema } from "hyparquet";
import { beforeAll, describe, expect, it } from "vitest";
import { makeSampleBags, SAMPLE_TOPICS } from "../../src/bag/sample.js";
import { BagWriter } from "../../src/bag/writer.js";
import { convertBags } from "../../src/dataset/convert.js";
import { loadMapping, parseMapping } from "../../src/dataset/mapping.js";
import { openLeRobotDataset, readEpisodes } from "../../src/dataset/read.js";
import { FIXTURES, REPO_ROOT, hasProgram } from "../helpers/system.js";
import { copyFixture, runCli, scratch } from "../bag/helpers.js";

const REFERENCE = path.join(FIXTURES, "lerobot_v3_reference");
const SAMPLE_MAPPING = path.join(REPO_ROOT, "config/convert.sample.yaml");
const haveFfmpeg = hasProgram("ffmpeg", ["-version"]);

async function parquetRows(file: string): Promise<Record<string, unknown>[]> {
  const buffer = readFileSync(file);
  return parquetReadObjects({ file: buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength) as ArrayBuffer });
}

function parquetColumns(file: string): Map<string, string> {
  const buffer = readFileSync(file);
  const metadata = parquetMetadata(buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength) as ArrayBuffer);
  const describeNode = (node: ReturnType<typeof parquetSchema>): string =>
    node.children.length === 0 ? String(node.element.type) : `list<${describeNode(node.children[0]!.children[0]!)}>`;
  return new Map(parquetSchema(metadata).children.map((child) => [child.element.name, describeNode(child)]));
}

function kv(file: string): string[] {
  const buffer = readFileSync(file);
  const metadata = parquetMetadata(buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength) as ArrayBuffer);
  return (metadata.key_value_metadata ?? []).map((entry) => entry.key);
}

describe.skipIf(!haveFfmpeg)("convert: sample bags → LeRobot v3.0", () => {
  const root = scratch("pi0fast-convert-");
  const datasets: Record<string, string> = {};
  const options = { episodes: 2, seconds: 2, cameras: 2, width: 96, height: 64, seed: 7 };

  beforeAll(async () => {
    for (const format of ["mcap", "sqlite3"] as const) {
      const bags = await makeSampleBags({ outDir: path.join(root, `bags-${format}`), format, ...options });
      datasets[format] = path.join(root, `dataset-${format}`);
      await convertBags({ bags, mapping: loadMapping(SAMPLE_MAPPING), outDir: datasets[format]!, onBadFrame: "fail" });
    }
  });

  it("MCAP and sqlite3 recordings give identical datasets", () => {
    const files = (dir: string): string[] => readdirSync(dir, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile()).map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name))).sort();
    expect(files(datasets.mcap!)).toEqual(files(datasets.sqlite3!));
    for (const file of files(datasets.mcap!)) {
      if (file.endsWith(".mp4")) continue; // encoder output is compared by frame count below
      expect(readFileSync(path.join(datasets.sqlite3!, file)).equals(readFileSync(path.join(datasets.mcap!, file))), file).toBe(true);
    }
  });

  it("matches the reference dataset's schema", () => {
    const ours = JSON.parse(readFileSync(path.join(datasets.mcap!, "meta/info.json"), "utf8"));
    const reference = JSON.parse(readFileSync(path.join(REFERENCE, "meta/info.json"), "utf8"));
    expect(Object.keys(ours).sort()).toEqual(Object.keys(reference).sort());
    expect(ours).toMatchObject({ codebase_version: "v3.0", fps: 30, chunks_size: 1000, data_path: reference.data_path, video_path: reference.video_path, total_episodes: 2, splits: { train: "0:2" } });
    for (const key of ["observation.state", "action", "timestamp", "frame_index", "episode_index", "index", "task_index"]) {
      expect(ours.features[key].dtype, key).toBe(reference.features[key].dtype);
      expect(ours.features[key].shape, key).toEqual(key.includes(".") || key === "action" ? [6] : reference.features[key].shape);
    }
    expect(ours.features["observation.images.front"]).toMatchObject({ dtype: "video", shape: [64, 96, 3], info: { "video.codec": "av1", "video.pix_fmt": "yuv420p", "video.fps": 30 } });
    const pairs: [string, string][] = [["data/chunk-000/file-000.parquet", "data/chunk-000/file-000.parquet"], ["meta/tasks.parquet", "meta/tasks.parquet"]];
    for (const [mine, theirs] of pairs) {
      expect(parquetColumns(path.join(datasets.mcap!, mine)), mine).toEqual(parquetColumns(path.join(REFERENCE, theirs)));
      // pyarrow adds its own ARROW:schema (fixed_size_list); we write plain lists, which LeRobot reads the same
      expect(kv(path.join(datasets.mcap!, mine)), mine).toEqual(kv(path.join(REFERENCE, theirs)).filter((key) => key !== "ARROW:schema"));
    }
    const rename = (name: string) => name.replace("observation.images.wrist", "observation.images.front");
    const referenceEpisodes = new Map([...parquetColumns(path.join(REFERENCE, "meta/episodes/chunk-000/file-000.parquet"))].map(([name, type]) => [rename(name), type]));
    const ourEpisodes = parquetColumns(path.join(datasets.mcap!, "meta/episodes/chunk-000/file-000.parquet"));
    for (const [name, type] of referenceEpisodes) expect(ourEpisodes.get(name), name).toBe(type);
    const stats = JSON.parse(readFileSync(path.join(datasets.mcap!, "meta/stats.json"), "utf8"));
    const referenceStats = JSON.parse(readFileSync(path.join(REFERENCE, "meta/stats.json"), "utf8"));
    expect(Object.keys(stats["observation.state"]).sort()).toEqual(Object.keys(referenceStats["observation.state"]).sort());
    expect(stats["observation.images.front"].mean).toHaveLength(3);
  });

  it("reads back through the project's LeRobot reader with the bag's values", async () => {
    const dataset = await openLeRobotDataset(datasets.mcap!);
    expect(dataset.episodes).toHaveLength(2);
    for (const episode of dataset.episodes) expect(episode.length).toBeGreaterThanOrEqual(58); // 2 s at 30 fps, less the start-up
    const rows = await parquetRows(path.join(datasets.mcap!, "data/chunk-000/file-000.parquet"));
    let frames = 0;
    for await (const episode of readEpisodes(dataset, ["observation.state", "action"])) {
      const state = episode.features["observation.state"]!;
      for (let r = 0; r < episode.episode.length; r++) {
        const row = rows[episode.episode.fromIndex + r]!;
        expect(Array.from(state.subarray(r * 6, r * 6 + 6))).toEqual(Array.from(row["observation.state"] as number[]));
        expect(row.timestamp).toBeCloseTo(r / 30, 6);
      }
      frames += episode.episode.length;
    }
    expect(frames).toBe(rows.length);
    // degrees within the SO-101 limits, and the follower lags the leader: not identical columns
    const states = rows.map((row) => row["observation.state"] as number[]);
    expect(Math.max(...states.flat().map(Math.abs))).toBeLessThan(170);
    expect(states.some((state, i) => state[1] !== (rows[i]!.action as number[])[1])).toBe(true);
    const tasks = await parquetRows(path.join(datasets.mcap!, "meta/tasks.parquet"));
    expect(tasks.map((t) => t.__index_level_0__)).toEqual(["pick up the red cube", "push the cube to the left"]);
  });

  it("encodes AV1 yuv420p with one frame per row at i/fps", async () => {
    const { spawnSync } = await import("node:child_process");
    const video = path.join(datasets.mcap!, "videos/observation.images.front/chunk-000/file-000.mp4");
    const probe = spawnSync("ffprobe", ["-v", "error", "-select_streams", "v:0", "-show_entries", "stream=codec_name,pix_fmt,nb_frames:packet=pts_time", "-of", "json", video], { encoding: "utf8" });
    const parsed = JSON.parse(probe.stdout);
    const info = JSON.parse(readFileSync(path.join(datasets.mcap!, "meta/info.json"), "utf8"));
    expect(parsed.streams[0]).toMatchObject({ codec_name: "av1", pix_fmt: "yuv420p", nb_frames: String(info.total_frames) });
    const times = parsed.packets.map((p: { pts_time: string }) => Number(p.pts_time)).sort((a: number, b: number) => a - b);
    times.forEach((t: number, i: number) => expect(Math.abs(t - i / 30)).toBeLessThan(1e-4));
  });
});

describe.skipIf(!haveFfmpeg)("convert: bad input leaves no dataset", () => {
  it("a mapping naming a topic the bag lacks lists the bag's topics", async () => {
    const out = path.join(scratch(), "ds");
    const mapping = loadMapping(SAMPLE_MAPPING);
    await expect(convertBags({ bags: [copyFixture("jazzy_mcap")], mapping, outDir: out, onBadFrame: "fail" })).rejects.toThrow(
      /jazzy_mcap: has no topic \/camera\/front\/image_raw, \/camera\/wrist\/image_raw .*its topics are: .*\/leader\/joint_states \(sensor_msgs\/msg\/JointState\)/,
    );
    expect(existsSync(out)).toBe(false);
  });

  it("an empty bag, through the CLI: one line, exit 2, nothing written", () => {
    const dir = scratch();
    const out = path.join(dir, "ds");
    const result = runCli(["convert", copyFixture("empty_bag"), "--mapping", SAMPLE_MAPPING, "--out", out]);
    expect(result.status).toBe(2);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toMatch(/empty_bag: the bag holds no messages/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("validates the mapping with zod and names the field", () => {
    expect(() => parseMapping({ fps: 30, state: { topic: "/a", joints: [] }, action: { topic: "/b", joints: ["x"] }, task: { constant: "t" } }, "m.yaml", ".")).toThrow(/m\.yaml: state\.joints/);
    expect(() => parseMapping({ fps: 30, state: { topic: "/a", joints: ["x"], units: "range_0_100" }, action: { topic: "/b", joints: ["x"] }, task: { constant: "t" } }, "m.yaml", ".")).toThrow(/need 'calibration:'/);
  });

  it("a bad camera frame: fail names the topic and stamp, skip holds the previous frame", async () => {
    const dir = scratch();
    const bagDir = path.join(dir, "bag");
    const writer = await BagWriter.create(bagDir, "sqlite3");
    await writer.addTopic("/joint_states", "sensor_msgs/msg/JointState");
    await writer.addTopic("/cam", "sensor_msgs/msg/Image");
    const joints = ["shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper"];
    const start = 1_000_000_000_000n;
    for (let i = 0; i <= 100; i++) {
      const t = start + BigInt(i) * 10_000_000n;
      if (i % 3 === 0) {
        const bad = i === 30;
        await writer.write("/cam", t, { header: { stamp: { sec: 1000, nanosec: 0 }, frame_id: "" }, height: 64, width: 64, encoding: "rgb8", is_bigendian: 0, step: 192, data: new Uint8Array(bad ? 30 : 64 * 64 * 3).fill(i) });
      }
      await writer.write("/joint_states", t + 1n, { header: { stamp: { sec: 1000, nanosec: 0 }, frame_id: "" }, name: joints, position: joints.map(() => i / 100), velocity: [], effort: [] });
    }
    await writer.close();
    const mappingFile = path.join(dir, "mapping.yaml");
    writeFileSync(mappingFile, `fps: 30\ncameras:\n  cam: {topic: /cam}\nstate: {topic: /joint_states, joints: [${joints}], units: radians}\naction: {topic: /joint_states, joints: [${joints}]}\ntask: {constant: test}\n`);
    const failing = await convertBags({ bags: [bagDir], mapping: loadMapping(mappingFile), outDir: path.join(dir, "fail"), onBadFrame: "fail" }).then(
      () => new Error("no error"),
      (e: unknown) => e as Error,
    );
    expect(failing.message).toMatch(/\/cam at 1000\.300000000 s .*64×64 rgb8 with step 192 needs 12288 bytes but carries 30/);
    expect(readdirSync(dir).sort()).toEqual(["bag", "mapping.yaml"]);
    const warnings: string[] = [];
    const summary = await convertBags({ bags: [bagDir], mapping: loadMapping(mappingFile), outDir: path.join(dir, "skip"), onBadFrame: "skip", onWarning: (w) => warnings.push(w) });
    expect(summary).toMatchObject({ skippedFrames: 1, episodes: 1 });
    expect(warnings[0]).toMatch(/\/cam at 1000\.300000000 s/);
  });
});
