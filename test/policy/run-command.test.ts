/** `pi0fast policy run` through the real entry point, on a tiny test model: the JSON report and bad input. */
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Manifest } from "../../src/policy/manifest.js";
import { runCli } from "../helpers/cli.js";
import { removeModels, tinyModel } from "./model-fixture.js";

let dir: string;
let manifest: Manifest;
let images: Record<string, string>;
const work = mkdtempSync(path.join(os.tmpdir(), "pi0fast-run-"));

async function png(name: string, width: number, height: number, seed: number): Promise<string> {
  const file = path.join(work, name);
  const data = Buffer.from(Array.from({ length: width * height * 3 }, (_, i) => (i * 7 + seed * 31) & 0xff));
  await sharp(data, { raw: { width, height, channels: 3 } }).png().toFile(file);
  return file;
}

beforeAll(async () => {
  ({ dir, manifest } = await tinyModel());
  const size = manifest.vision.image_size;
  images = { base_0_rgb: await png("base.png", size, size, 1), wrist_0_rgb: await png("wrist.png", size, size, 2) };
});
afterAll(removeModels);

const STATE = "--state=-30,10.5,20,0,45,30";
const imageArgs = (chosen: Record<string, string>) => Object.entries(chosen).flatMap(([camera, file]) => ["--image", `${camera}=${file}`]);
const run = (args: string[]) => runCli(["policy", "run", "--model", dir, "--provider", "cpu", ...args]);

function expectInputError(args: string[], message: RegExp): void {
  const result = run(args);
  expect(result.status).toBe(2);
  const lines = result.stderr.trim().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(message);
}

describe("pi0fast policy run", () => {
  it("prints one JSON object: prompt and generated ids, FAST ids, status, [horizon][dims] actions in policy units and radians, timings", () => {
    const result = run([...imageArgs(images), STATE, "--task", "pick up the cube", "--json"]);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(Object.keys(report)).toEqual(expect.arrayContaining(["prompt_ids", "token_ids", "fast_ids", "status", "actions", "actions_rad", "timings"]));
    expect(report.prompt_ids[0]).toBe(manifest.tokens.bos);
    expect(report.token_ids.at(-1)).toBe(manifest.tokens.pipe);
    expect(report.token_ids.slice(0, -1)).toEqual(report.fast_ids.map((fastId: number) => manifest.action_tokens.last_vocab_id - fastId));
    expect(report.status).toBe("ok");
    const dims = manifest.actions.names.length;
    expect(report.actions).toHaveLength(manifest.actions.horizon);
    for (const [step, row] of (report.actions as number[][]).entries()) {
      expect(row).toHaveLength(dims);
      // The tiny test model's actions are degrees.
      row.forEach((degrees, d) => expect(report.actions_rad[step][d]).toBeCloseTo((degrees * Math.PI * 4095) / (180 * 4096), 12));
    }
    expect(report.timings.total_ms).toBeGreaterThan(0);
  });

  it("takes the checkpoint's full feature key, resizes other image sizes, and prints a readable report without --json", async () => {
    const big = await png("big.png", manifest.vision.image_size * 2, manifest.vision.image_size + 8, 3);
    const result = run(["--image", `observation.images.base_0_rgb=${big}`, "--image", `wrist_0_rgb=${images.wrist_0_rgb}`, STATE, "--task", "stack"]);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^prompt ids {2}2 /m);
    expect(result.stdout).toMatch(/^status {6}ok, ended by pipe$/m);
    expect(result.stdout.split("\n").filter((line) => /^ {2} +\d+ /.test(line))).toHaveLength(manifest.actions.horizon);
  });

  it("names the camera, the state value or the file that is wrong", () => {
    expectInputError([...imageArgs({ ...images, top: images.base_0_rgb! }), STATE, "--task", "t"], /--image top=.*: the model has no camera 'top'; its cameras are base_0_rgb, wrist_0_rgb/);
    expectInputError([...imageArgs({ base_0_rgb: images.base_0_rgb! }), STATE, "--task", "t"], /--image: no image for camera\(s\) wrist_0_rgb/);
    expectInputError([...imageArgs(images), "--image", `base_0_rgb=${images.wrist_0_rgb}`, STATE, "--task", "t"], /camera 'base_0_rgb' given twice/);
    expectInputError([...imageArgs(images), "--image", "wrist", STATE, "--task", "t"], /--image wrist: expected <camera>=<image file>/);
    expectInputError([...imageArgs(images), "--state=1,2,3", "--task", "t"], /--state 1,2,3: 3 values, the model expects 6 \(shoulder_pan, /);
    expectInputError([...imageArgs(images), "--state=1,2,x,4,5,6", "--task", "t"], /--state 1,2,x,4,5,6: value 3 \('x'\) is not a number/);
    expectInputError([...imageArgs({ ...images, wrist_0_rgb: path.join(work, "missing.png") }), STATE, "--task", "t"], /--image wrist_0_rgb=.*missing\.png: cannot read it \(ENOENT\)/);
    const garbage = path.join(work, "garbage.png");
    writeFileSync(garbage, "not an image");
    expectInputError([...imageArgs({ ...images, wrist_0_rgb: garbage }), STATE, "--task", "t"], /--image wrist_0_rgb=.*garbage\.png: the png data \(12 bytes\) does not decode/);
    expectInputError([...imageArgs(images), STATE, "--task", "t", "--calibration", path.join(work, "none.json")], /--calibration .*none\.json: cannot read it as JSON \(ENOENT\)/);
  });
});
