import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { InputError } from "../../src/errors.js";
import { readManifest } from "../../src/policy/manifest.js";
import { Pi0FastPolicy } from "../../src/policy/policy.js";
import { layoutPromptIds } from "../../src/policy/prompt.js";
import { observation, removeModels, tinyModel } from "./model-fixture.js";

afterAll(removeModels);

describe("prompt layouts", () => {
  it("openpi: BOS, then the prompt", () => {
    expect(layoutPromptIds([10, 11, 12], { layout: "openpi", bos: 2 })).toEqual([2, 10, 11, 12]);
  });

  it("lerobot: BOS, the prompt, BOS again; the prompt cut to max_tokens first, BOS included", () => {
    expect(layoutPromptIds([10, 11, 12], { layout: "lerobot", bos: 2 })).toEqual([2, 10, 11, 12, 2]);
    expect(layoutPromptIds([10, 11, 12], { layout: "lerobot", bos: 2, maxTokens: 3 })).toEqual([2, 10, 11, 2]);
    expect(layoutPromptIds([10, 11, 12], { layout: "lerobot", bos: 2, maxTokens: 200 })).toEqual([2, 10, 11, 12, 2]);
  });

  it("a manifest without prompt.layout (models written before it existed) runs openpi's: \"Action: \" forced after the prompt", async () => {
    const { dir, manifest } = await tinyModel();
    const file = path.join(dir, "pi0fast.json");
    const json = JSON.parse(readFileSync(file, "utf8"));
    delete json.prompt.layout;
    writeFileSync(file, JSON.stringify(json));
    expect(readManifest(dir).prompt.layout).toBe("openpi");
    const policy = await Pi0FastPolicy.load(dir, { providers: ["cpu"] });
    try {
      const result = await policy.infer(observation(manifest));
      expect(result.promptIds[0]).toBe(manifest.tokens.bos);
      expect(result.promptIds.slice(-manifest.tokens.action_prefix.length)).toEqual(manifest.tokens.action_prefix);
      expect(result.promptIds.filter((id) => id === manifest.tokens.bos)).toHaveLength(1);
      // Generated: action tokens only, then "|".
      expect(result.tokenIds.at(-1)).toBe(manifest.tokens.pipe);
      expect(result.tokenIds.slice(0, -1)).toEqual(result.fastIds.map((fastId) => manifest.action_tokens.last_vocab_id - fastId));
      expect(result.status).toBe("ok");
    } finally {
      await policy.dispose();
    }
  });

  it("the lerobot layout needs the \"Action: \" ids among the logits, since the model generates them", async () => {
    const { dir } = await tinyModel();
    const file = path.join(dir, "pi0fast.json");
    const json = JSON.parse(readFileSync(file, "utf8"));
    json.prompt.layout = "lerobot";
    writeFileSync(file, JSON.stringify(json));
    expect(() => readManifest(dir)).toThrow(InputError);
    expect(() => readManifest(dir)).toThrow(/field 'logit_token_ids' lacks the "Action: " id \d+: the lerobot layout generates it/);
  });
});
