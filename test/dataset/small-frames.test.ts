/**
 * Frames SVT-AV1 cannot take (the 64×48 Jazzy fixture, odd sizes) convert: ffmpeg scales them up by a whole
 * factor, nearest neighbour, and the dataset says the stored size. Sizes beyond the encoder are refused when
 * the mapping is read, naming the camera and the size.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { BagReader } from "../../src/bag/reader.js";
import { convertBags } from "../../src/dataset/convert.js";
import { loadMapping, parseMapping } from "../../src/dataset/mapping.js";
import { ffmpegArguments, storedVideoSize } from "../../src/dataset/video.js";
import { imageMessageToRgb } from "../../src/observation/image.js";
import { copyFixture, runCli, scratch } from "../bag/helpers.js";
import { hasProgram } from "../helpers/system.js";

const haveFfmpeg = hasProgram("ffmpeg", ["-version"]);

describe("stored video size", () => {
  it("is the smallest whole-factor scale-up with even sides of at least 64 px", () => {
    expect(storedVideoSize(640, 480)).toEqual({ width: 640, height: 480, factor: 1 });
    expect(storedVideoSize(64, 48)).toEqual({ width: 128, height: 96, factor: 2 });
    expect(storedVideoSize(321, 240)).toEqual({ width: 642, height: 480, factor: 2 });
    expect(storedVideoSize(33, 25)).toEqual({ width: 132, height: 100, factor: 4 });
    expect(storedVideoSize(1, 1)).toEqual({ width: 64, height: 64, factor: 64 });
    expect(() => storedVideoSize(16386, 64)).toThrow(/16386×64 exceeds the largest frame SVT-AV1 encodes, 16384×8704/);
    expect(() => storedVideoSize(8193, 100)).toThrow(/scaled ×2 to 16386×200/);
    expect(ffmpegArguments({ file: "f.mp4", label: "camera c", width: 64, height: 48, fps: 20 })).toEqual(expect.arrayContaining(["-vf", "scale=128:96:flags=neighbor,format=rgb24"]));
    expect(ffmpegArguments({ file: "f.mp4", label: "camera c", width: 640, height: 480, fps: 20 })).not.toContain("-vf");
  });

  it("a size the encoder cannot take is refused when the mapping is read, naming the camera and the size", () => {
    const base = { fps: 30, state: { topic: "/j", joints: ["a"] }, action: { topic: "/j", joints: ["a"] }, task: { constant: "t" } };
    expect(() => parseMapping({ ...base, cameras: { front: { topic: "/c", width: 20000, height: 100 } } }, "m.yaml", ".")).toThrow(
      /^m\.yaml: cameras\.front: frame size 20000×100 exceeds the largest frame SVT-AV1 encodes, 16384×8704; set a smaller width\/height in the mapping$/,
    );
    expect(() => parseMapping({ ...base, cameras: { front: { topic: "/c", width: 64, height: 48 } } }, "m.yaml", ".")).not.toThrow();
  });
});

describe.skipIf(!haveFfmpeg)("the 64×48 Jazzy fixture", () => {
  it("converts with the mapping --init-mapping writes for it; the video holds the bag's frames, each pixel a 2×2 block", async () => {
    const dir = scratch();
    const bag = copyFixture("jazzy_mcap");
    const mappingFile = path.join(dir, "jazzy.yaml");
    const init = runCli(["convert", bag, "--init-mapping", mappingFile]);
    expect(init.status, init.stderr).toBe(0);
    const summary = await convertBags({ bags: [bag], mapping: loadMapping(mappingFile), outDir: path.join(dir, "ds"), onBadFrame: "fail" });
    expect(summary.episodes).toBe(1);
    const info = JSON.parse(readFileSync(path.join(dir, "ds/meta/info.json"), "utf8"));
    expect(info.features["observation.images.camera_image_raw"]).toMatchObject({ shape: [96, 128, 3], info: { "video.width": 128, "video.height": 96, "video.codec": "av1" } });
    const video = path.join(dir, "ds/videos/observation.images.camera_image_raw/chunk-000/file-000.mp4");
    const probe = JSON.parse(spawnSync("ffprobe", ["-v", "error", "-select_streams", "v:0", "-show_entries", "stream=codec_name,width,height,nb_frames", "-of", "json", video], { encoding: "utf8" }).stdout);
    expect(probe.streams[0]).toMatchObject({ codec_name: "av1", width: 128, height: 96, nb_frames: String(info.total_frames) });

    const decoded = spawnSync("ffmpeg", ["-v", "error", "-i", video, "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"], { maxBuffer: 1 << 28 }).stdout;
    const originals: Uint8Array[] = [];
    for await (const message of (await BagReader.open(bag)).messages({ topics: ["/camera/image_raw"] })) originals.push((await imageMessageToRgb(message.type, message.message!, "fixture")).data);
    const W = 128;
    const frameBytes = W * 96 * 3;
    let worstMatch = 0;
    let blockDeviation = 0;
    let samples = 0;
    for (let f = 0; f < decoded.length / frameBytes; f++) {
      const frame = decoded.subarray(f * frameBytes, (f + 1) * frameBytes);
      const halved = new Float64Array(64 * 48 * 3);
      for (let y = 0; y < 48; y++) {
        for (let x = 0; x < 64; x++) {
          for (let c = 0; c < 3; c++) {
            const block = [0, 1].flatMap((dy) => [0, 1].map((dx) => frame[((2 * y + dy) * W + 2 * x + dx) * 3 + c]!));
            const mean = block.reduce((a, b) => a + b) / 4;
            halved[(y * 64 + x) * 3 + c] = mean;
            blockDeviation += block.reduce((sum, value) => sum + Math.abs(value - mean), 0) / 4;
            samples++;
          }
        }
      }
      // the nearest recorded frame (resampling picks one per dataset frame) within a few levels of AV1 loss
      const distances = originals.map((original) => original.reduce((sum, value, i) => sum + Math.abs(value - halved[i]!), 0) / original.length);
      worstMatch = Math.max(worstMatch, Math.min(...distances));
    }
    expect(worstMatch).toBeLessThan(4);
    // nearest neighbour: the four pixels of a block agree (an interpolating scaler blurs them apart)
    expect(blockDeviation / samples).toBeLessThan(1);
  });

  it("an odd frame size converts too (the encoder took none but even sizes)", async () => {
    const dir = scratch();
    const bag = copyFixture("jazzy_mcap");
    const mappingFile = path.join(dir, "odd.yaml");
    writeFileSync(mappingFile, "fps: 20\ncameras:\n  cam: {topic: /camera/compressed, width: 65, height: 49}\nstate: {topic: /joint_states, joints: [shoulder_pan, gripper]}\naction: {topic: /leader/joint_states, joints: [shoulder_pan, gripper]}\ntask: {topic: /instruction}\nresampling: {tolerance_s: 0.15}\n");
    await convertBags({ bags: [bag], mapping: loadMapping(mappingFile), outDir: path.join(dir, "ds"), onBadFrame: "fail" });
    const info = JSON.parse(readFileSync(path.join(dir, "ds/meta/info.json"), "utf8"));
    expect(info.features["observation.images.cam"].shape).toEqual([98, 130, 3]);
    expect(readdirSync(dir).sort()).toEqual(["ds", "odd.yaml"]);
  });
});
