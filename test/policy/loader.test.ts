import { readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { main } from "../../src/cli/main.js";
import { InputError } from "../../src/errors.js";
import { Pi0FastPolicy } from "../../src/policy/policy.js";
import { observation, removeModels, tinyModel } from "./model-fixture.js";

function editManifest(dir: string, edit: (json: Record<string, any>) => void): void {
  const file = path.join(dir, "pi0fast.json");
  const json = JSON.parse(readFileSync(file, "utf8")) as Record<string, any>;
  edit(json);
  writeFileSync(file, JSON.stringify(json));
}

async function loadError(dir: string): Promise<Error> {
  const error = await Pi0FastPolicy.load(dir, { providers: ["cpu"] }).then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  expect(error).toBeInstanceOf(InputError);
  return error!;
}

describe("model directory validation", () => {
  afterAll(() => removeModels());

  it("names a missing manifest", async () => {
    const { dir } = await tinyModel();
    rmSync(path.join(dir, "pi0fast.json"));
    expect((await loadError(dir)).message).toMatch(/pi0fast\.json: cannot read it/);
  });

  it("names a manifest field that is wrong", async () => {
    const { dir } = await tinyModel();
    editManifest(dir, (json) => (json.decoder.num_key_value_heads = 3));
    expect((await loadError(dir)).message).toMatch(/decoder\.num_key_value_heads.*must divide/);
    editManifest(dir, (json) => {
      json.decoder.num_key_value_heads = 1;
      json.actions.units = ["degrees"];
    });
    expect((await loadError(dir)).message).toMatch(/actions\.units.*1 entries for 6/);
  });

  it("names the graph, tensor and dimension that disagree with the manifest", async () => {
    const { dir } = await tinyModel();
    editManifest(dir, (json) => (json.decoder.head_dim = 32));
    expect((await loadError(dir)).message).toMatch(/decoder_model\.onnx: input 'past_key_values\.0\.key' has dimension 2 = 16, expected 32/);
    editManifest(dir, (json) => {
      json.decoder.head_dim = 16;
      json.decoder.num_layers = 3;
    });
    expect((await loadError(dir)).message).toMatch(/decoder_model\.onnx: input 'past_key_values\.2\.key' is missing/);
    editManifest(dir, (json) => {
      json.decoder.num_layers = 2;
      json.dtype = "float16";
    });
    expect((await loadError(dir)).message).toMatch(/embed_tokens\.onnx: output 'inputs_embeds' is float32, expected float16/);
    // The test models cache keys transposed; a manifest claiming the transformers.js layout is caught.
    editManifest(dir, (json) => {
      json.dtype = "float32";
      json.key_cache_layout = "bhsd";
    });
    expect((await loadError(dir)).message).toMatch(/decoder_model\.onnx: input 'past_key_values\.0\.key' has dimension 2 = 16, expected the variable number of positions, key_cache_layout bhsd/);
  });

  it("names a corrupt or missing file", async () => {
    const { dir } = await tinyModel();
    writeFileSync(path.join(dir, "decoder_model.onnx"), "not a model");
    expect((await loadError(dir)).message).toMatch(/decoder_model\.onnx: onnxruntime cannot load it/);
    rmSync(path.join(dir, "fast", "tokenizer.json"));
    expect((await loadError(dir)).message).toMatch(/fast[/\\]tokenizer\.json: missing/);
  });

  it("rejects NaN state and wrong images with the field named", async () => {
    const { dir, manifest } = await tinyModel();
    const policy = await Pi0FastPolicy.load(dir, { providers: ["cpu"] });
    try {
      const input = observation(manifest);
      await expect(policy.infer({ ...input, state: [0, NaN, 0, 0, 0, 0] })).rejects.toThrow(/state 'shoulder_lift': NaN/);
      await expect(policy.infer({ ...input, images: input.images.slice(1) })).rejects.toThrow(/1 given, the model expects 2/);
      await expect(policy.infer({ ...input, images: input.images.map((image) => ({ ...image, width: 16 })) })).rejects.toThrow(/16×32, the model expects 32×32/);
      // The policy is still usable after bad input.
      expect((await policy.infer(input)).status).toBe("ok");
    } finally {
      await policy.dispose();
    }
  });

  it("refuses a step budget too small for a whole chunk", async () => {
    const { dir } = await tinyModel();
    await expect(Pi0FastPolicy.load(dir, { providers: ["cpu"], maxDecodeSteps: 2 })).rejects.toThrow(/max decode steps 2: too few/);
  });
});

describe("pi0fast policy check", () => {
  afterAll(() => removeModels());

  it("reports provider, status, tokens and stage timings as JSON", async () => {
    const { dir } = await tinyModel({ seed: 9 });
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    try {
      await main(["policy", "check", "--model", dir, "--provider", "cpu", "--json"]);
      const report = JSON.parse(String(log.mock.calls.at(-1)![0])) as Record<string, any>;
      expect(report.provider).toBe("cpu");
      expect(report.status).toBe("ok");
      expect(report.token_count).toBeGreaterThan(0);
      expect(report.timings_ms.decode_steps).toBe(report.token_count);
      for (const stage of ["vision", "prefill", "decode_step_mean", "fast_decode", "total"]) expect(typeof report.timings_ms[stage]).toBe("number");
    } finally {
      log.mockRestore();
    }
  });

  it("fails with the file named on an incomplete model directory", async () => {
    const { dir } = await tinyModel();
    rmSync(path.join(dir, "vision_encoder.onnx"));
    await expect(main(["policy", "check", "--model", dir, "--provider", "cpu"])).rejects.toThrow(/vision_encoder\.onnx: missing/);
  });

  it("writes a model with make-test-model", async () => {
    const { dir } = await tinyModel();
    const out = path.join(dir, "again");
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    try {
      await main(["make-test-model", "--out", out, "--seed", "7", "--dtype", "fp16"]);
    } finally {
      log.mockRestore();
    }
    const manifest = JSON.parse(readFileSync(path.join(out, "pi0fast.json"), "utf8")) as Record<string, any>;
    expect(manifest.dtype).toBe("float16");
    expect(manifest.name).toBe("test-tiny-fp16-seed7");
  });
});
