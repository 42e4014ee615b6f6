import { mkdtempSync, readFileSync, writeFileSync, existsSync, readdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { InputError } from "../../src/errors.js";
import { loadFastArtifact, writeFastArtifact } from "../../src/fast/artifact.js";
import { FastTokenizer } from "../../src/fast/tokenizer.js";
import { trainFastTokenizer } from "../../src/fast/train.js";
import { syntheticChunks } from "./synthetic.js";

const trained = trainFastTokenizer(syntheticChunks(500, 10, 6, 2), { horizon: 10, dims: 6 });

async function written(): Promise<string> {
  const dir = path.join(mkdtempSync(path.join(os.tmpdir(), "fast-artifact-")), "tokenizer");
  await writeFastArtifact(dir, trained.tokenizer, undefined);
  return dir;
}

function edit(file: string, change: (json: Record<string, unknown>) => void): void {
  const json = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  change(json);
  writeFileSync(file, JSON.stringify(json));
}

describe("FAST artifact folder", () => {
  it("writes the Hugging Face layout and loads it back identically", async () => {
    const dir = await written();
    expect(readdirSync(dir).sort()).toEqual(["processing_action_tokenizer.py", "processor_config.json", "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json"]);
    expect(JSON.parse(readFileSync(path.join(dir, "processor_config.json"), "utf8"))).toEqual({
      action_dim: 6,
      auto_map: { AutoProcessor: "processing_action_tokenizer.UniversalActionProcessor" },
      min_token: trained.config.minToken,
      processor_class: "UniversalActionProcessor",
      scale: 10,
      time_horizon: 10,
      vocab_size: 1024,
    });
    const loaded = await FastTokenizer.load(dir);
    expect(loaded.config).toEqual(trained.config);
    for (const chunk of syntheticChunks(50, 10, 6, 8)) expect(loaded.encode(chunk, 10, 6)).toEqual(trained.tokenizer.encode(chunk, 10, 6));
    expect(readdirSync(path.dirname(dir))).toEqual(["tokenizer"]);
  });

  it("accepts the universal tokenizer's null action_dim and time_horizon", async () => {
    const dir = await written();
    edit(path.join(dir, "processor_config.json"), (json) => {
      json.action_dim = null;
      json.time_horizon = null;
    });
    expect((await loadFastArtifact(dir)).tokenizer.config).toMatchObject({ actionDim: null, timeHorizon: null });
  });

  const broken: [string, string, (json: Record<string, unknown>) => void, RegExp][] = [
    ["processor_config.json", "a negative scale", (json) => (json.scale = -1), /processor_config\.json: field 'scale'/],
    ["processor_config.json", "a fractional min_token", (json) => (json.min_token = 1.5), /processor_config\.json: field 'min_token'/],
    ["processor_config.json", "a missing vocab_size", (json) => delete json.vocab_size, /processor_config\.json: field 'vocab_size'/],
    ["processor_config.json", "another processor class", (json) => (json.processor_class = "Other"), /field 'processor_class'/],
    ["tokenizer.json", "a prefix space", (json) => ((json.pre_tokenizer as Record<string, unknown>).add_prefix_space = true), /tokenizer\.json: field 'pre_tokenizer\.add_prefix_space'/],
    ["tokenizer.json", "a normalizer", (json) => (json.normalizer = { type: "Lowercase" }), /tokenizer\.json: field 'normalizer'/],
    ["tokenizer.json", "a merge of unknown tokens", (json) => ((json.model as { merges: unknown[] }).merges[0] = ["x", "\u0001"]), /field 'model\.merges\[0\]'/],
  ];
  for (const [file, what, change, message] of broken) {
    it(`names the file and field of ${what}`, async () => {
      const dir = await written();
      edit(path.join(dir, file), change);
      const error = await loadFastArtifact(dir).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InputError);
      expect((error as Error).message).toMatch(message);
    });
  }

  it("says which file is missing", async () => {
    const error = await loadFastArtifact(path.join(os.tmpdir(), "no-such-tokenizer")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toMatch(/processor_config\.json: cannot read it/);
  });

  it("replaces an existing artifact but refuses to overwrite an unrelated folder", async () => {
    const dir = await written();
    await writeFastArtifact(dir, trained.tokenizer, undefined);
    expect(existsSync(path.join(dir, "tokenizer.json"))).toBe(true);
    const other = mkdtempSync(path.join(os.tmpdir(), "fast-other-"));
    writeFileSync(path.join(other, "notes.txt"), "keep me");
    await expect(writeFastArtifact(other, trained.tokenizer, undefined)).rejects.toThrow(/already exists and is not empty; give --overwrite to replace it/);
    expect(readdirSync(other)).toEqual(["notes.txt"]);
  });
});
