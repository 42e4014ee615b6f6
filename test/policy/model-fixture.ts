import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { makeTestModel, type MakeTestModelOptions } from "../../src/policy/test-model.js";
import type { PolicyInput } from "../../src/policy/policy.js";
import type { Manifest } from "../../src/policy/manifest.js";

const made: string[] = [];

/** A fresh test model directory (removed by `removeModels`). */
export async function tinyModel(options: Omit<MakeTestModelOptions, "out"> = {}): Promise<{ dir: string; manifest: Manifest }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "pi0fast-policy-test-"));
  made.push(dir);
  const manifest = await makeTestModel({ preset: "tiny", ...options, out: dir });
  return { dir, manifest };
}

export function removeModels(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** A deterministic observation for a manifest; `variant` changes images, state and task. */
export function observation(manifest: Manifest, variant = 0): PolicyInput {
  const size = manifest.vision.image_size;
  const tasks = ["pick up the red cube", "Open_the drawer", "stack the blocks\nslowly", "push the button"];
  return {
    images: manifest.vision.cameras.map((_, c) => ({ width: size, height: size, data: Uint8Array.from({ length: size * size * 3 }, (_, i) => (i * (7 + variant) + c * 13 + variant * 29) & 0xff) })),
    state: manifest.state.names.map((name, d) => (name === "gripper" ? 20 + 15 * variant : -60 + 25 * d + 11 * variant)),
    instruction: tasks[variant % tasks.length]!,
  };
}
