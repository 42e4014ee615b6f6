import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { featureWidth, openLeRobotDataset, readEpisodes, resolveRepoId } from "../../src/dataset/read.js";
import { InputError } from "../../src/errors.js";
import { FIXTURES } from "../helpers/system.js";

const ROOT = path.join(FIXTURES, "lerobot_v3_reference");

describe("reading a LeRobot v3.0 dataset", () => {
  it("reads info, stats and the episodes table of the reference dataset", async () => {
    const dataset = await openLeRobotDataset(ROOT);
    expect(dataset.info.fps).toBe(30);
    expect(dataset.episodes.map((e) => e.episodeIndex)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(dataset.episodes.map((e) => e.length)).toEqual([383, 386, 379, 382, 90, 162]);
    expect(dataset.episodes.reduce((sum, e) => sum + e.length, 0)).toBe(1782);
    expect(dataset.episodes[1]).toMatchObject({ fromIndex: 383, toIndex: 769, dataChunkIndex: 0, dataFileIndex: 0 });
    expect(featureWidth(dataset, "action")).toBe(6);
    expect(dataset.stats?.action?.q01).toHaveLength(6);
    expect(dataset.stats?.action?.count).toEqual([1782]);
  });

  it("reads action and observation.state per episode, in frame order", async () => {
    const dataset = await openLeRobotDataset(ROOT);
    const episodes = [];
    for await (const episode of readEpisodes(dataset, ["action", "observation.state"])) episodes.push(episode);
    expect(episodes.map((e) => e.features.action!.length / 6)).toEqual([383, 386, 379, 382, 90, 162]);
    // Frame 0 of episode 0, as pyarrow reads it (float32 widened to float64).
    expect(Array.from(episodes[0]!.features.action!.slice(0, 6))).toEqual([
      -0.40046676993370056, -1.770646095275879, 1.7299857139587402, 0.9904264211654663, -0.13809198141098022, 0.4849036633968353,
    ]);
    expect(Array.from(episodes[0]!.features["observation.state"]!.slice(0, 2))).toEqual([-0.39169999957084656, -1.7452000379562378]);
    const only = [];
    for await (const episode of readEpisodes(dataset, ["action"], [5])) only.push(episode.episode.episodeIndex);
    expect(only).toEqual([5]);
  });

  it("names the input when the folder or a feature is wrong", async () => {
    await expect(openLeRobotDataset(path.join(os.tmpdir(), "no-such-dataset"))).rejects.toThrow(/no such folder/);
    const old = mkdtempSync(path.join(os.tmpdir(), "lerobot-old-"));
    mkdirSync(path.join(old, "meta"));
    writeFileSync(path.join(old, "meta", "info.json"), JSON.stringify({ codebase_version: "v2.1" }));
    const error = await openLeRobotDataset(old).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toMatch(/info\.json: codebase_version is "v2\.1", expected "v3\.0"/);
    const dataset = await openLeRobotDataset(ROOT);
    expect(() => featureWidth(dataset, "actions")).toThrow(/no feature 'actions'; features are .*action/);
    const episodes = readEpisodes(dataset, ["action"], [9]);
    await expect(episodes.next()).rejects.toThrow(/episode 9: not in/);
  });

  it("resolves a repo id under HF_LEROBOT_HOME, or the Hugging Face cache by default", () => {
    expect(resolveRepoId("user/so101", { HF_LEROBOT_HOME: "/data/lerobot" })).toBe(path.join("/data/lerobot", "user/so101"));
    expect(resolveRepoId("user/so101", {})).toBe(path.join(os.homedir(), ".cache", "huggingface", "lerobot", "user/so101"));
    expect(() => resolveRepoId("not a repo")).toThrow(InputError);
  });
});
