/**
 * Tiny LeRobot `pi0_fast` checkpoints built with LeRobot's own classes (tools/lerobot/tiny_pi0fast.py), LeRobot's
 * inference on their observation (tools/lerobot/reference_pi0fast.py) and their exports (tools/export_pi0fast.py),
 * built once and cached under `.cache/lerobot-pi0fast/<hash of the scripts>/` (each into a temporary folder, then
 * renamed, so concurrent test files and interrupted runs never see half a fixture).
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { makeTestModel } from "../../src/policy/test-model.js";
import { REPO_ROOT, lerobotEnv } from "../helpers/system.js";

const CACHE = path.join(REPO_ROOT, ".cache/lerobot-pi0fast");
export const HF_HOME = path.join(CACHE, "hf");

/** The sizes tiny_pi0fast.py injects, as the exporter's --dims. */
export const TINY_DIMS = { vocab_size: 1024, width: 64, depth: 2, mlp_dim: 128, num_heads: 4, num_kv_heads: 1, head_dim: 16, vision_width: 32, vision_depth: 2, vision_mlp_dim: 64, vision_num_heads: 2, patch_size: 8, image_size: 32 };

export const EXPORTER = path.join(REPO_ROOT, "tools/export_pi0fast.py");

export interface LerobotReference {
  prompt_ids: number[];
  token_ids: number[];
  actions: number[][];
  select_action: number[];
  image_features: number[][][];
  prefill_logits: number[];
}

export interface TinyCheckpoint {
  dir: string;
  checkpoint: string;
  textTokenizer: string;
  fastTokenizer: string;
  observationDir: string;
  observation: { cameras: string[]; state: number[]; task: string };
  reference: LerobotReference;
}

function hashOf(files: string[]): string {
  const hash = createHash("sha256");
  for (const file of files) hash.update(readFileSync(path.join(REPO_ROOT, file)));
  return hash.digest("hex").slice(0, 16);
}

const CHECKPOINT_SOURCES = ["tools/lerobot/tiny_pi0fast.py", "tools/lerobot/reference_pi0fast.py", "src/fast/hf-processor.ts", "src/fast/artifact.ts", "src/fast/train.ts", "src/fast/bpe-trainer.ts", "src/policy/test-model.ts"];

/** Builds `final` with `build(temporary)` unless it exists; the first finished build wins. */
function cached(final: string, build: (temporary: string) => void | Promise<void>): Promise<void> | void {
  if (existsSync(final)) return;
  mkdirSync(path.dirname(final), { recursive: true });
  const temporary = mkdtempSync(`${final}.tmp-`);
  const finish = () => {
    try {
      renameSync(temporary, final);
    } catch (error) {
      if (!existsSync(final)) throw error;
    } finally {
      rmSync(temporary, { recursive: true, force: true });
    }
  };
  const fail = (error: unknown) => {
    rmSync(temporary, { recursive: true, force: true });
    throw error;
  };
  try {
    const result = build(temporary);
    if (result instanceof Promise) return result.then(finish, fail);
    finish();
  } catch (error) {
    fail(error);
  }
}

/** Runs a Python script of tools/ offline; its stderr's tail becomes the error. */
export function runTool(python: string, args: string[], env: NodeJS.ProcessEnv = {}): string {
  try {
    return execFileSync(python, args, { env: { ...lerobotEnv(HF_HOME), ...env }, encoding: "utf8", maxBuffer: 1 << 28, stdio: ["ignore", "pipe", "pipe"], timeout: 600_000 });
  } catch (error) {
    const failure = error as { stderr?: string; message: string };
    throw new Error(`${path.basename(args[0]!)} failed: ${failure.stderr?.split("\n").slice(-15).join("\n") ?? failure.message}`);
  }
}

/** A tiny checkpoint with `cameras` cameras, LeRobot's reference answer on its observation, both cached. */
export async function tinyCheckpoint(python: string, cameras: 1 | 2): Promise<TinyCheckpoint> {
  const key = hashOf(CHECKPOINT_SOURCES);
  const root = path.join(CACHE, key);
  const fastTokenizer = path.join(root, "fast");
  await cached(fastTokenizer, async (temporary) => {
    // The FAST tokenizer the project writes (processing_action_tokenizer.py included): LeRobot loads it with AutoProcessor.
    const model = mkdtempSync(path.join(os.tmpdir(), "pi0fast-fast-"));
    try {
      await makeTestModel({ out: model, preset: "tiny" });
      cpSync(path.join(model, "fast"), temporary, { recursive: true });
    } finally {
      rmSync(model, { recursive: true, force: true });
    }
  });
  const dir = path.join(root, `cameras-${cameras}`);
  await cached(dir, (temporary) => {
    runTool(python, [path.join(REPO_ROOT, "tools/lerobot/tiny_pi0fast.py"), "--action-tokenizer", fastTokenizer, "--out", temporary, "--cameras", String(cameras)]);
    const reference = runTool(python, [
      path.join(REPO_ROOT, "tools/lerobot/reference_pi0fast.py"),
      ...["--checkpoint", path.join(temporary, "checkpoint"), "--observation", path.join(temporary, "observation")],
      ...["--text-tokenizer", path.join(temporary, "text_tokenizer"), "--action-tokenizer", fastTokenizer, "--tiny"],
    ]);
    JSON.parse(reference);
    writeFileSync(path.join(temporary, "reference.json"), reference);
  });
  const observationDir = path.join(dir, "observation");
  return {
    dir,
    checkpoint: path.join(dir, "checkpoint"),
    textTokenizer: path.join(dir, "text_tokenizer"),
    fastTokenizer,
    observationDir,
    observation: JSON.parse(readFileSync(path.join(observationDir, "observation.json"), "utf8")),
    reference: JSON.parse(readFileSync(path.join(dir, "reference.json"), "utf8")),
  };
}

/** The tiny checkpoint exported in `dtype`, cached beside it (rebuilt when the exporter changes). */
export async function exportedModel(python: string, tiny: TinyCheckpoint, dtype: "fp32" | "fp16"): Promise<string> {
  const model = path.join(tiny.dir, `model-${dtype}-${hashOf(["tools/export_pi0fast.py"])}`);
  await cached(model, (temporary) => {
    rmSync(temporary, { recursive: true, force: true });
    runTool(python, [EXPORTER, ...exportArgs(tiny, temporary), "--dtype", dtype]);
  });
  return model;
}

/** The exporter's arguments for a tiny checkpoint (all-degrees units: no calibration needed for radians). */
export function exportArgs(tiny: TinyCheckpoint, out: string): string[] {
  return ["--checkpoint", tiny.checkpoint, "--text-tokenizer", tiny.textTokenizer, "--action-tokenizer", tiny.fastTokenizer, "--out", out, "--dims", JSON.stringify(TINY_DIMS), "--units", "degrees"];
}
