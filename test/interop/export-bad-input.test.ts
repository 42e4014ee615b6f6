/**
 * tools/export_pi0fast.py on bad input: one line naming the file or key, exit status 2, and nothing written
 * (no model directory, no temporary folder left beside it). And a re-export replaces a model directory whole.
 */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, truncateSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { lerobotEnv, lerobotPython } from "../helpers/system.js";
import { EXPORTER, HF_HOME, TINY_DIMS, exportArgs, tinyCheckpoint, type TinyCheckpoint } from "./lerobot-fixture.js";

const python = lerobotPython();

function exporter(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(python!, [EXPORTER, ...args], { env: lerobotEnv(HF_HOME), encoding: "utf8", timeout: 300_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A copy of the tiny checkpoint that a case may break. */
function checkpointCopy(tiny: TinyCheckpoint): string {
  const copy = path.join(mkdtempSync(path.join(os.tmpdir(), "pi0fast-export-")), "checkpoint");
  cpSync(tiny.checkpoint, copy, { recursive: true });
  return copy;
}

function expectRefused(args: string[], out: string, message: RegExp): void {
  const before = existsSync(out) ? readdirSync(out) : undefined;
  const result = exporter(args);
  expect(result.status).toBe(2);
  const lines = result.stderr.trim().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^export_pi0fast\.py: /);
  expect(lines[0]).toMatch(message);
  expect(existsSync(out) ? readdirSync(out) : undefined).toEqual(before);
  // No temporary or half-written model beside --out.
  expect(readdirSync(path.dirname(out)).filter((name) => name.startsWith(`${path.basename(out)}.`))).toEqual([]);
}

describe.skipIf(python === undefined)("export_pi0fast.py bad input", () => {
  let tiny: TinyCheckpoint;
  let outParent: string;
  let out: string;
  beforeAll(async () => {
    tiny = await tinyCheckpoint(python!, 1);
  }, 600_000);
  beforeAll(() => {
    outParent = mkdtempSync(path.join(os.tmpdir(), "pi0fast-export-out-"));
    out = path.join(outParent, "model");
  });
  const args = (changes: Record<string, string | undefined> = {}) => {
    const base = exportArgs(tiny, out);
    const result: string[] = [];
    for (let i = 0; i < base.length; i += 2) {
      const flag = base[i]!;
      const value = flag in changes ? changes[flag] : base[i + 1]!;
      if (value !== undefined) result.push(flag, value);
    }
    return result;
  };

  it("refuses a folder that is not a pi0_fast checkpoint, naming config.json's type", () => {
    const copy = checkpointCopy(tiny);
    const config = JSON.parse(readFileSync(path.join(copy, "config.json"), "utf8"));
    writeFileSync(path.join(copy, "config.json"), JSON.stringify({ ...config, type: "act" }));
    expectRefused(args({ "--checkpoint": copy }), out, /config\.json: field 'type' is "act", expected "pi0_fast"/);
  });

  it("refuses a folder without config.json", () => {
    const empty = mkdtempSync(path.join(os.tmpdir(), "pi0fast-export-empty-"));
    expectRefused(args({ "--checkpoint": empty }), out, /config\.json: cannot read it/);
  });

  it("refuses a truncated model.safetensors, naming the file", () => {
    const copy = checkpointCopy(tiny);
    const weights = path.join(copy, "model.safetensors");
    truncateSync(weights, Math.floor(statSync(weights).size / 2));
    expectRefused(args({ "--checkpoint": copy }), out, /model\.safetensors: truncated: its header describes \d+ bytes, the file has \d+/);
  });

  it("refuses a missing text tokenizer and a missing FAST tokenizer, naming the folder and file", () => {
    const empty = mkdtempSync(path.join(os.tmpdir(), "pi0fast-export-tok-"));
    expectRefused(args({ "--text-tokenizer": empty }), out, /--text-tokenizer .*: no tokenizer\.json there/);
    expectRefused(args({ "--action-tokenizer": empty }), out, /--action-tokenizer .*: no processor_config\.json there/);
  });

  it("checks every tensor against the named variant's sizes (the tiny checkpoint says gemma_2b)", () => {
    expectRefused(args({ "--dims": undefined }), out, /tensor 'model\.paligemma_with_expert\.paligemma\.lm_head\.weight' has shape \[1024, 64\], expected \[257152, 2048\] for paligemma_variant gemma_2b/);
  });

  it("checks --dims: exactly its keys, and every tensor's shape", () => {
    const { head_dim: _, ...missing } = TINY_DIMS;
    expectRefused(args({ "--dims": JSON.stringify(missing) }), out, /--dims: missing head_dim; expected exactly the keys/);
    expectRefused(args({ "--dims": JSON.stringify({ ...TINY_DIMS, extra: 1 }) }), out, /--dims: unknown extra/);
    expectRefused(args({ "--dims": JSON.stringify({ ...TINY_DIMS, mlp_dim: 256 }) }), out, /tensor 'model\.paligemma_with_expert\.paligemma\.model\.language_model\.layers\.0\.mlp\.gate_proj\.weight' has shape \[128, 64\], expected \[256, 64\] for --dims/);
  });

  it("refuses an opset outside 17..22", () => {
    expectRefused([...args(), "--opset", "23"], out, /--opset 23: expected 17\.\.22/);
  });

  it("never writes into a non-empty folder that is not a model, and replaces a model directory whole", () => {
    const busy = path.join(outParent, "busy");
    mkdirSync(busy);
    writeFileSync(path.join(busy, "notes.txt"), "mine");
    expectRefused(args({ "--out": busy }), busy, /--out .*busy: folder is not empty and holds no pi0fast\.json/);
    expect(readdirSync(busy)).toEqual(["notes.txt"]);

    expect(exporter(args()).status).toBe(0);
    writeFileSync(path.join(out, "stale.onnx"), "left from an older export");
    const again = exporter(args());
    expect(again.status).toBe(0);
    expect(readdirSync(out).sort()).toEqual(["decoder_model.onnx", "embed_tokens.onnx", "fast", "pi0fast.json", "tokenizer.json", "vision_encoder.onnx"]);
    expect(readdirSync(outParent).sort()).toEqual(["busy", "model"]);
  });
});
