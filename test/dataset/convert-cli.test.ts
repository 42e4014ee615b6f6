/**
 * `pi0fast convert` as a user meets it: nothing left behind on any failure or on Ctrl-C / SIGTERM (and the
 * internal staging path never named), a bag given twice warned about, progress on a terminal and one line
 * per episode elsewhere, and --init-mapping for a bag of its own.
 */
import { spawnSync } from "node:child_process";
import { once } from "node:events";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { makeSampleBags } from "../../src/bag/sample.js";
import { BagWriter } from "../../src/bag/writer.js";
import { cameraKeys } from "../../src/dataset/init-mapping.js";
import { runCli, scratch } from "../bag/helpers.js";
import { startCli } from "../helpers/cli.js";
import { REPO_ROOT, hasProgram } from "../helpers/system.js";

const SAMPLE_MAPPING = path.join(REPO_ROOT, "config/convert.sample.yaml");
const haveFfmpeg = hasProgram("ffmpeg", ["-version"]);
const haveScript = hasProgram("script", ["--version"]);

/** ffmpeg processes still running with an argument under `dir` (from /proc: no ps needed). */
function ffmpegUnder(dir: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
    let args: string[];
    try {
      args = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    } catch {
      continue; // gone meanwhile
    }
    if (path.basename(args[0] ?? "") === "ffmpeg" && args.some((arg) => arg.includes(dir))) found.push(args.join(" "));
  }
  return found;
}

describe.skipIf(!haveFfmpeg)("convert on the command line", () => {
  let dir: string;
  let bags: string[];
  beforeAll(async () => {
    dir = scratch("pi0fast-convert-cli-");
    // long enough that a signal sent after the first episode lands before the last
    bags = await makeSampleBags({ outDir: path.join(dir, "bags"), format: "mcap", episodes: 4, seconds: 3, cameras: 2, width: 320, height: 240, seed: 3 });
  });

  for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
    it(`${signal} mid-way: exit ${code}, one line, no dataset, no staging folder, no ffmpeg left`, async () => {
      const out = path.join(dir, `ds-${signal}`);
      const child = startCli(["convert", ...bags, "--mapping", SAMPLE_MAPPING, "--out", out]);
      let stdout = "";
      let stderr = "";
      child.stderr.on("data", (chunk) => (stderr += String(chunk)));
      const firstEpisode = new Promise<void>((resolve) => {
        child.stdout.on("data", (chunk) => {
          stdout += String(chunk);
          if (stdout.includes("episode 0 ")) resolve();
        });
      });
      const exited = once(child, "exit");
      await firstEpisode;
      child.kill(signal);
      const [exitCode] = await exited;
      expect(exitCode).toBe(code);
      expect(stdout).not.toMatch(/^wrote /m);
      expect(stderr.trim().split("\n")).toEqual([`pi0fast: convert interrupted by ${signal}; nothing was written to ${out}`]);
      expect(readdirSync(dir).sort()).toEqual(["bags", ...readdirSync(dir).filter((name) => name.startsWith("ds-") && name !== `ds-${signal}`)].sort());
      expect(ffmpegUnder(dir)).toEqual([]);
    });
  }

  it("a failure inside an episode: one line without the staging path, nothing left", () => {
    const mapping = path.join(dir, "strict.yaml");
    writeFileSync(mapping, `${readFileSyncText(SAMPLE_MAPPING).replace("tolerance_s: 0.1", "tolerance_s: 0.001")}`);
    const out = path.join(dir, "ds-stale");
    const result = runCli(["convert", bags[0]!, "--mapping", mapping, "--out", out]);
    expect(result.status).toBe(2);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toMatch(/has no sample within 0\.001 s of frame/);
    expect(result.stderr).not.toMatch(/partial/);
    expect(readdirSync(dir).filter((name) => name.includes("stale") || name.startsWith("."))).toEqual([]);
  });

  it("the same bag given twice: a warning, converted once", () => {
    const out = path.join(dir, "ds-twice");
    const result = runCli(["convert", bags[0]!, `${bags[0]!}/`, path.join(bags[0]!, "episode_000_0.mcap"), "--mapping", SAMPLE_MAPPING, "--out", out]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr.trim().split("\n")).toEqual([
      `pi0fast: ${bags[0]}/ is the same bag as ${bags[0]}, given twice; converting it once`,
      `pi0fast: ${path.join(bags[0]!, "episode_000_0.mcap")} is the same bag as ${bags[0]}, given twice; converting it once`,
    ]);
    expect(result.stdout).toMatch(/wrote .*: 1 episode\(s\)/);
  });

  it.skipIf(!haveScript)("on a terminal: a progress bar instead of the episode lines", () => {
    const out = path.join(dir, "ds-tty");
    const command = [process.execPath, "--import", "tsx", path.join(REPO_ROOT, "src/cli/bin.ts"), "convert", bags[0]!, "--mapping", SAMPLE_MAPPING, "--out", out].map((arg) => `'${arg}'`).join(" ");
    const result = spawnSync("script", ["-qec", command, "/dev/null"], { cwd: REPO_ROOT, encoding: "utf8", timeout: 120_000 });
    expect(result.status, result.stdout).toBe(0);
    expect(result.stdout).toMatch(/convert \[[█░]+\] 100% \| \d+\/\d+ messages \| 1 episode\(s\)/);
    expect(result.stdout).not.toMatch(/episode 0 {2}/);
    expect(result.stdout).toMatch(/wrote .*ds-tty: 1 episode\(s\)/);
  });

  it("a first frame the encoder cannot take: named with its camera and size before anything is written", async () => {
    const bagDir = path.join(dir, "wide-bag");
    const writer = await BagWriter.create(bagDir, "mcap");
    await writer.addTopic("/joint_states", "sensor_msgs/msg/JointState");
    await writer.addTopic("/camera/line/image_raw", "sensor_msgs/msg/Image");
    for (let i = 0; i < 10; i++) {
      const t = 1_000_000_000_000n + BigInt(i) * 33_000_000n;
      await writer.write("/camera/line/image_raw", t, { header: { stamp: { sec: 1000, nanosec: 0 }, frame_id: "" }, height: 2, width: 16400, encoding: "mono8", is_bigendian: 0, step: 16400, data: new Uint8Array(32800) });
      await writer.write("/joint_states", t + 1n, { header: { stamp: { sec: 1000, nanosec: 0 }, frame_id: "" }, name: ["a"], position: [i / 10], velocity: [], effort: [] });
    }
    await writer.close();
    const mapping = path.join(dir, "wide.yaml");
    writeFileSync(mapping, "fps: 30\ncameras:\n  line: {topic: /camera/line/image_raw}\nstate: {topic: /joint_states, joints: [a], units: radians}\naction: {topic: /joint_states, joints: [a], units: radians}\ntask: {constant: t}\n");
    const result = runCli(["convert", bagDir, "--mapping", mapping, "--out", path.join(dir, "ds-wide")]);
    expect(result.status).toBe(2);
    expect(result.stderr.trim()).toBe(`pi0fast: ${mapping}: camera line (/camera/line/image_raw): frame size 16400×2 (scaled ×32 to 524800×64 to reach even sides of 64 px) exceeds the largest frame SVT-AV1 encodes, 16384×8704; set a smaller width/height in the mapping`);
    expect(readdirSync(dir).filter((name) => name.includes("wide") && name !== "wide-bag" && name !== "wide.yaml")).toEqual([]);
  });

  it("--init-mapping: a mapping for the sample bags that converts them as they are", () => {
    const mapping = path.join(dir, "init.yaml");
    const init = runCli(["convert", bags[0]!, "--init-mapping", mapping]);
    expect(init.status, init.stderr).toBe(0);
    expect(init.stdout).toMatch(/cameras front 320×240, wrist 320×240, state \/joint_states, action \/leader\/joint_states, task \/instruction/);
    const text = readFileSyncText(mapping);
    expect(text).toMatch(/^fps: 30 {2}# the fastest camera's rate \(\/camera\/front\/image_raw, 30\.0 Hz\)$/m);
    const converted = runCli(["convert", bags[0]!, "--mapping", mapping, "--out", path.join(dir, "ds-init")]);
    expect(converted.status, converted.stderr).toBe(0);
    expect(converted.stdout).toMatch(/: 1 episode\(s\)/);
    expect(runCli(["convert", bags[0]!, "--init-mapping", path.join(dir, "x.yaml"), "--out", "ds"]).stderr).toMatch(/--init-mapping writes a mapping and converts nothing/);
  });

  it("names cameras after their topics", () => {
    expect(cameraKeys(["/camera/front/image_raw", "/camera/wrist/image_raw"])).toEqual(["front", "wrist"]);
    expect(cameraKeys(["/camera/image_raw", "/camera/compressed"])).toEqual(["camera_image_raw", "camera_compressed"]);
    expect(cameraKeys(["/usb_cam/image_raw/compressed"])).toEqual(["usb_cam"]);
  });
});

function readFileSyncText(file: string): string {
  return readFileSync(file, "utf8");
}
