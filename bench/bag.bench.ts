/**
 * `npm run bench -- bag [--seconds-throughput 4] [--seconds-memory 20] [--parts throughput,memory,encode]`
 * - read + decode throughput of our reader on sqlite3 and MCAP, against `cat` of the same files;
 * - peak RSS of our process converting a ≥ 1 GB bag (2 cameras 640×480 rgb8 at 30 Hz), ffmpeg excluded, for
 *   MCAP and for sqlite3 in rosbag2's WAL journal mode (opened immutable, so SQLite's own cache is what grows);
 * - AV1 encode frames per second (640×480, the converter's settings).
 * Every bag is generated into a temporary folder and deleted afterwards.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { BagReader } from "../src/bag/reader.js";
import { makeSampleBags } from "../src/bag/sample.js";
import { convertBags } from "../src/dataset/convert.js";
import { loadMapping } from "../src/dataset/mapping.js";
import { VideoEncoder } from "../src/dataset/video.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const mappingFile = path.join(repoRoot, "config/convert.sample.yaml");

function option(args: string[], name: string, fallback: number): number {
  const index = args.indexOf(name);
  return index >= 0 ? Number(args[index + 1]) : fallback;
}

function bagBytes(bagDir: string): number {
  return readdirSync(bagDir).reduce((sum, name) => sum + statSync(path.join(bagDir, name)).size, 0);
}

function storageFiles(bagDir: string): string[] {
  return readdirSync(bagDir).filter((name) => !name.endsWith(".yaml")).map((name) => path.join(bagDir, name));
}

async function readThroughput(bagDir: string): Promise<{ mbPerS: number; messages: number }> {
  const bytes = bagBytes(bagDir);
  const started = performance.now();
  let messages = 0;
  for await (const message of (await BagReader.open(bagDir)).messages()) {
    if (message.message !== undefined) messages += 1;
  }
  return { mbPerS: bytes / 1e6 / ((performance.now() - started) / 1000), messages };
}

function catThroughput(files: string[]): number {
  const bytes = files.reduce((sum, file) => sum + statSync(file).size, 0);
  const started = performance.now();
  const result = spawnSync("sh", ["-c", 'cat "$@" > /dev/null', "cat", ...files]);
  if (result.status !== 0) throw new Error("cat failed");
  return bytes / 1e6 / ((performance.now() - started) / 1000);
}

/** The memory measure runs in a child so its peak RSS is the converter's alone. */
async function convertChild(args: string[]): Promise<void> {
  const [bagDir, outDir] = args;
  const started = performance.now();
  const summary = await convertBags({ bags: [bagDir!], mapping: loadMapping(mappingFile), outDir: outDir!, onBadFrame: "fail" });
  const seconds = (performance.now() - started) / 1000;
  // maxRSS is in kilobytes; it counts this process only, not ffmpeg
  process.stdout.write(`${JSON.stringify({ maxRssMb: process.resourceUsage().maxRSS / 1024, seconds, frames: summary.frames })}\n`);
}

async function encodeFps(dir: string, frames: number): Promise<number> {
  const encoder = new VideoEncoder({ file: path.join(dir, "encode.mp4"), label: "bench camera", width: 640, height: 480, fps: 30 });
  const frame = new Uint8Array(640 * 480 * 3);
  const started = performance.now();
  for (let i = 0; i < frames; i++) {
    for (let p = 0; p < frame.length; p += 3) frame[p] = (p / 3 + i * 4) & 255;
    await encoder.write(frame);
  }
  await encoder.finish();
  return frames / ((performance.now() - started) / 1000);
}

/** Peak RSS of a child converting a `seconds`-long bag of `format` (sqlite3 switched to WAL mode, as rosbag2 writes it). */
async function convertMemory(dir: string, format: "mcap" | "sqlite3", seconds: number): Promise<void> {
  const [bigBag] = await makeSampleBags({ outDir: path.join(dir, `big-${format}`), format, episodes: 1, seconds, cameras: 2, width: 640, height: 480, seed: 2 });
  if (format === "sqlite3") {
    const db = new Database(storageFiles(bigBag!)[0]!);
    db.pragma("journal_mode = WAL");
    db.close();
  }
  const bigMb = bagBytes(bigBag!) / 1e6;
  const child = spawn(process.execPath, ["--import", "tsx", path.join(repoRoot, "bench/run.ts"), "bag", "--convert-child", bigBag!, path.join(dir, `dataset-${format}`)], { stdio: ["ignore", "pipe", "inherit"], cwd: repoRoot });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const code: number = await new Promise((resolve) => child.on("close", (c) => resolve(c ?? 1)));
  if (code !== 0) throw new Error(`convert child exited with ${code}`);
  const result = JSON.parse(output.trim().split("\n").at(-1)!) as { maxRssMb: number; seconds: number; frames: number };
  const label = format === "mcap" ? "MCAP" : "sqlite3 (WAL)";
  console.log(
    `convert ${bigMb.toFixed(0)} MB ${label} bag (2 × 640×480 rgb8 @ 30 Hz, ${seconds} s): peak RSS ${result.maxRssMb.toFixed(0)} MB (target ≤ 300 MB), ${result.frames} frames in ${result.seconds.toFixed(1)} s`,
  );
  rmSync(path.join(dir, `big-${format}`), { recursive: true, force: true });
  rmSync(path.join(dir, `dataset-${format}`), { recursive: true, force: true });
}

export async function run(args: string[]): Promise<void> {
  if (args[0] === "--convert-child") return convertChild(args.slice(1));
  const throughputSeconds = option(args, "--seconds-throughput", 4);
  const memorySeconds = option(args, "--seconds-memory", 20);
  const partsIndex = args.indexOf("--parts");
  const parts = new Set(partsIndex >= 0 ? args[partsIndex + 1]!.split(",") : ["throughput", "memory", "encode"]);
  const dir = mkdtempSync(path.join(tmpdir(), "pi0fast-bench-bag-"));
  try {
    console.log(`bag bench (node ${process.version}); scratch ${dir}`);
    for (const format of parts.has("throughput") ? (["sqlite3", "mcap"] as const) : []) {
      const [bag] = await makeSampleBags({ outDir: path.join(dir, `throughput-${format}`), format, episodes: 1, seconds: throughputSeconds, cameras: 2, width: 640, height: 480, seed: 1 });
      const files = storageFiles(bag!);
      catThroughput(files); // warm the page cache for both
      // Rounds alternate cat and our reader, so load changes hit both; medians compared, first run shown too.
      const cats: number[] = [];
      const reads: Array<{ mbPerS: number; messages: number }> = [];
      for (let round = 0; round < 5; round += 1) {
        cats.push(catThroughput(files));
        reads.push(await readThroughput(bag!));
      }
      const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
      const cat = median(cats);
      const ours = median(reads.map((r) => r.mbPerS));
      console.log(
        `read+decode ${format.padEnd(7)} ${(bagBytes(bag!) / 1e6).toFixed(0)} MB, ${reads[0]!.messages} messages: ${ours.toFixed(0)} MB/s (first run ${reads[0]!.mbPerS.toFixed(0)}); cat ${cat.toFixed(0)} MB/s; ratio ${((100 * ours) / cat).toFixed(0)}% (medians of 5 alternating rounds; target ≥ 50%)`,
      );
      rmSync(path.join(dir, `throughput-${format}`), { recursive: true, force: true });
    }
    if (parts.has("memory")) for (const format of ["mcap", "sqlite3"] as const) await convertMemory(dir, format, memorySeconds);
    if (parts.has("encode")) {
      const fps = await encodeFps(dir, 150);
      console.log(`AV1 encode (libsvtav1 preset 10, crf 30, g 2, 640×480): ${fps.toFixed(1)} frames/s`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
