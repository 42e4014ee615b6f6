/**
 * What `pi0fast demo` plays and runs, generated once and cached: a sample SO-100 recording, its LeRobot
 * dataset (joint states and actions; no video, so no ffmpeg is needed), a FAST tokenizer trained on that
 * dataset's actions and a tiny test model using that tokenizer and the dataset's normalization stats. The
 * cache folder is keyed by a recipe version and the seed: a change of either builds a fresh one.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { makeSampleBags, SAMPLE_TOPICS } from "../bag/sample.js";
import { convertBags } from "../dataset/convert.js";
import { parseMapping } from "../dataset/mapping.js";
import { openLeRobotDataset } from "../dataset/read.js";
import { InputError } from "../errors.js";
import { datasetChunks } from "../fast/dataset-chunks.js";
import { trainFastTokenizer } from "../fast/train.js";
import { makeTestModel } from "../policy/test-model.js";
import { SO100_JOINTS } from "../so100/calibration.js";

/** Bump when what is generated changes: caches of older recipes are then rebuilt. */
export const DEMO_RECIPE_VERSION = 1;

export const DEMO_RECIPE = {
  episodes: 3,
  seconds: 10,
  cameras: 2,
  /** Small frames: the tiny model looks at 32 px, and the cache stays ~70 MB. */
  width: 128,
  height: 96,
  fps: 30,
  horizon: 10,
  fastVocabSize: 256,
} as const;

export interface DemoAssets {
  dir: string;
  /** The recording the demo plays (episode 0). */
  bagDir: string;
  datasetDir: string;
  modelDir: string;
  /** True when this call generated them. */
  generated: boolean;
}

const MANIFEST = "demo-assets.json";

/** The package's own `.cache/demo` (beside `src/` and `dist/`). */
export function defaultDemoCacheDir(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../.cache/demo");
}

/** The cached assets for `seed`, generating them when missing or of another recipe version. */
export async function demoAssets(options: { cacheDir?: string; seed?: number; log?: (line: string) => void } = {}): Promise<DemoAssets> {
  const cacheDir = options.cacheDir ?? defaultDemoCacheDir();
  const seed = options.seed ?? 0;
  const key = `v${DEMO_RECIPE_VERSION}-seed${seed}`;
  const dir = path.join(cacheDir, key);
  const layout = (root: string, generated: boolean): DemoAssets => ({ dir: root, bagDir: path.join(root, "bags", "episode_000"), datasetDir: path.join(root, "dataset"), modelDir: path.join(root, "model"), generated });
  if (isComplete(dir, key)) return layout(dir, false);

  const log = options.log ?? (() => undefined);
  mkdirSync(cacheDir, { recursive: true });
  // Caches of other recipes or seeds that are not wanted now are stale; a crashed build leaves a partial folder.
  for (const entry of readdirSync(cacheDir)) if (entry.startsWith(`${key}.partial-`) || (entry.startsWith("v") && !entry.startsWith(`v${DEMO_RECIPE_VERSION}-`))) rmSync(path.join(cacheDir, entry), { recursive: true, force: true });
  const staging = `${dir}.partial-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  try {
    const r = DEMO_RECIPE;
    log(`generating the demo's recording, dataset, FAST tokenizer and tiny model in ${dir} (once)`);
    const bags = await makeSampleBags({ outDir: path.join(staging, "bags"), format: "mcap", episodes: r.episodes, seconds: r.seconds, cameras: r.cameras, width: r.width, height: r.height, seed });
    const joints = { joints: [...SO100_JOINTS], units: "degrees" };
    const mapping = parseMapping({ fps: r.fps, state: { topic: SAMPLE_TOPICS.follower, ...joints }, action: { topic: SAMPLE_TOPICS.leader, ...joints }, task: { topic: SAMPLE_TOPICS.instruction } }, "the demo's mapping", staging);
    const datasetDir = path.join(staging, "dataset");
    await convertBags({ bags, mapping, outDir: datasetDir, onBadFrame: "fail" });
    const dataset = await openLeRobotDataset(datasetDir);
    const state = dataset.stats?.["observation.state"];
    const action = dataset.stats?.action;
    if (state === undefined || action === undefined) throw new Error(`${datasetDir}: meta/stats.json lacks observation.state or action stats`);
    const encodedDims = SO100_JOINTS.map((_, d) => d);
    const chunks = await datasetChunks(dataset, { horizon: r.horizon, encodedDims, deltaDims: [], stateKey: "observation.state", mode: "QUANTILES", sampleFraction: 1, seed });
    const trained = trainFastTokenizer(chunks.chunks, { horizon: r.horizon, dims: encodedDims.length, vocabSize: r.fastVocabSize });
    log(`FAST tokenizer: ${chunks.chunks.length} chunks of ${r.horizon}×${encodedDims.length}, vocabulary ${trained.tokenizer.vocabSize()}`);
    await makeTestModel({
      out: path.join(staging, "model"),
      preset: "tiny",
      seed,
      horizon: r.horizon,
      actionNames: [...SO100_JOINTS],
      fastTokenizer: trained.tokenizer,
      normalization: { state: { mode: "QUANTILES", stats: state }, actions: { mode: "QUANTILES", stats: action } },
      dtS: 1 / r.fps,
    });
    writeFileSync(path.join(staging, MANIFEST), `${JSON.stringify({ key, recipe: DEMO_RECIPE, recipe_version: DEMO_RECIPE_VERSION, seed }, null, 2)}\n`);
    rmSync(dir, { recursive: true, force: true });
    renameSync(staging, dir);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    if (error instanceof InputError) throw error;
    throw new Error(`generating the demo assets in ${dir} failed: ${(error as Error).message}`, { cause: error });
  }
  return layout(dir, true);
}

function isComplete(dir: string, key: string): boolean {
  const file = path.join(dir, MANIFEST);
  if (!existsSync(file)) return false;
  try {
    return (JSON.parse(readFileSync(file, "utf8")) as { key?: string }).key === key;
  } catch {
    return false;
  }
}
