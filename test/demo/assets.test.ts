import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BagReader } from "../../src/bag/reader.js";
import { SAMPLE_TOPICS } from "../../src/bag/sample.js";
import { openLeRobotDataset } from "../../src/dataset/read.js";
import { DEMO_RECIPE, DEMO_RECIPE_VERSION, demoAssets } from "../../src/demo/assets.js";
import { datasetChunks } from "../../src/fast/dataset-chunks.js";
import { trainFastTokenizer } from "../../src/fast/train.js";
import { readManifest } from "../../src/policy/manifest.js";

const cacheDir = mkdtempSync(path.join(tmpdir(), "pi0fast-demo-cache-"));
afterAll(() => rmSync(cacheDir, { recursive: true, force: true }));

describe("demo assets", () => {
  it("generate a recording, its dataset, a FAST tokenizer trained on it and a model with its stats, once", async () => {
    // a cache of an older recipe and a crashed build are cleared away
    const stale = path.join(cacheDir, `v${DEMO_RECIPE_VERSION - 1}-seed0`);
    mkdirSync(stale, { recursive: true });
    const crashed = path.join(cacheDir, `v${DEMO_RECIPE_VERSION}-seed0.partial-99999`);
    mkdirSync(crashed, { recursive: true });

    const assets = await demoAssets({ cacheDir, seed: 0 });
    expect(assets.generated).toBe(true);
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(crashed)).toBe(false);

    const bag = await BagReader.open(assets.bagDir);
    expect(bag.topics.map((topic) => topic.name).sort()).toEqual([SAMPLE_TOPICS.camera(0), SAMPLE_TOPICS.camera(1), SAMPLE_TOPICS.instruction, SAMPLE_TOPICS.follower, SAMPLE_TOPICS.leader].sort());

    // the model's FAST tokenizer is the one the dataset's actions train, and its normalization is the dataset's
    const dataset = await openLeRobotDataset(assets.datasetDir);
    expect(dataset.episodes).toHaveLength(DEMO_RECIPE.episodes);
    const chunks = await datasetChunks(dataset, { horizon: DEMO_RECIPE.horizon, encodedDims: [0, 1, 2, 3, 4, 5], deltaDims: [], stateKey: "observation.state", mode: "QUANTILES", sampleFraction: 1, seed: 0 });
    const trained = trainFastTokenizer(chunks.chunks, { horizon: DEMO_RECIPE.horizon, dims: 6, vocabSize: DEMO_RECIPE.fastVocabSize });
    expect(readFileSync(path.join(assets.modelDir, "fast", "tokenizer.json"), "utf8")).toBe(trained.tokenizer.bpe.toTokenizerJson());
    const manifest = readManifest(assets.modelDir);
    for (const [part, feature] of [["actions", "action"], ["state", "observation.state"]] as const) {
      expect(manifest[part].normalization.mode).toBe("QUANTILES");
      expect(manifest[part].normalization.stats.q01).toEqual(dataset.stats![feature]!.q01);
      expect(manifest[part].normalization.stats.q99).toEqual(dataset.stats![feature]!.q99);
    }
    expect(manifest.actions.horizon).toBe(DEMO_RECIPE.horizon);
    expect(manifest.actions.dt_s).toBeCloseTo(1 / DEMO_RECIPE.fps, 12);

    // a second call finds them: nothing is rewritten
    const modelTime = statSync(path.join(assets.modelDir, "pi0fast.json")).mtimeMs;
    const again = await demoAssets({ cacheDir, seed: 0 });
    expect(again).toEqual({ ...assets, generated: false });
    expect(statSync(path.join(assets.modelDir, "pi0fast.json")).mtimeMs).toBe(modelTime);
  });

  it("rebuild a cache whose marker does not match its recipe", async () => {
    const assets = await demoAssets({ cacheDir, seed: 0 });
    writeFileSync(path.join(assets.dir, "demo-assets.json"), JSON.stringify({ key: "v0-seed0" }));
    const rebuilt = await demoAssets({ cacheDir, seed: 0 });
    expect(rebuilt.generated).toBe(true);
    expect(JSON.parse(readFileSync(path.join(rebuilt.dir, "demo-assets.json"), "utf8")).key).toBe(`v${DEMO_RECIPE_VERSION}-seed0`);
  });
});
