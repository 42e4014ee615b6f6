import { mkdtempSync, readFileSync, symlinkSync, mkdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseNormalizationMode } from "../../src/cli/fast-commands.js";
import { cli } from "../helpers/in-process.js";
import { FIXTURES } from "../helpers/system.js";

const DATASET = path.join(FIXTURES, "lerobot_v3_reference");

let work: string;
beforeEach(() => {
  work = mkdtempSync(path.join(os.tmpdir(), "fast-cli-"));
});
afterEach(() => {
  delete process.env.HF_LEROBOT_HOME;
});

describe("pi0fast train-tokenizer / check-tokenizer", () => {
  it("trains on 5 episodes of the reference dataset and checks on the 6th below MSE 0.01", async () => {
    const out = path.join(work, "tok");
    const trained = await cli(["train-tokenizer", "--dataset", DATASET, "--out", out, "--max-episodes", "5"]);
    expect(trained.stdout).toMatch(/from 5 episodes/);
    const metadata = JSON.parse(readFileSync(path.join(out, "metadata.json"), "utf8"));
    expect(metadata).toMatchObject({ action_horizon: 10, encoded_dims: "0:6", total_encoded_dims: 6, normalization_mode: "QUANTILES", vocab_size: 1024, scale: 10 });
    // 10% of each episode's sliding windows (stride 1): ⌊(length − 9) · 0.1⌋ for 383, 386, 379, 382, 90 frames.
    expect(metadata.num_training_chunks).toBe(37 + 37 + 37 + 37 + 8);
    expect(metadata.normalization_stats.q01).toHaveLength(6);
    expect(metadata.compression_stats.compression_ratio).toBeGreaterThan(1);

    const checked = await cli(["check-tokenizer", "--tokenizer", out, "--dataset", DATASET, "--episodes", "5", "--json"]);
    const report = JSON.parse(checked.stdout);
    expect(checked.exitCode).toBe(0);
    expect(report.chunks).toBe(100);
    expect(report.decodeFailures).toBe(0);
    expect(report.mse).toBeLessThan(0.01);
    expect(report.maxAbsErrorPerDim).toHaveLength(6);
  });

  it("accepts LeRobot's spellings, --repo_id under HF_LEROBOT_HOME and bounds for min-max", async () => {
    const home = path.join(work, "lerobot");
    mkdirSync(path.join(home, "user"), { recursive: true });
    symlinkSync(DATASET, path.join(home, "user", "so101"));
    process.env.HF_LEROBOT_HOME = home;
    const out = path.join(work, "tok");
    await cli(["train-tokenizer", "--repo_id", "user/so101", "--output_dir", out, "--action_horizon", "8", "--encoded_dims", "0:3,4:6", "--vocab_size", "512", "--normalization_mode", "bounds", "--max_episodes", "2", "--sample_fraction", "0.2"]);
    const metadata = JSON.parse(readFileSync(path.join(out, "metadata.json"), "utf8"));
    expect(metadata).toMatchObject({ repo_id: "user/so101", action_horizon: 8, encoded_dim_ranges: [[0, 3], [4, 6]], total_encoded_dims: 5, vocab_size: 512, normalization_mode: "MIN_MAX" });
    const config = JSON.parse(readFileSync(path.join(out, "processor_config.json"), "utf8"));
    expect(config).toMatchObject({ action_dim: 5, time_horizon: 8, vocab_size: 512 });
    const checked = await cli(["check-tokenizer", "--tokenizer_path", out, "--repo_id", "user/so101", "--num_samples", "20", "--json"]);
    expect(JSON.parse(checked.stdout).chunks).toBe(20);
  });

  it("exits non-zero above --max-mse and says what to change", async () => {
    const out = path.join(work, "tok");
    await cli(["train-tokenizer", "--dataset", DATASET, "--out", out, "--max-episodes", "1"]);
    const checked = await cli(["check-tokenizer", "--tokenizer", out, "--dataset", DATASET, "--max-mse", "0", "--num-samples", "10"]);
    expect(checked.exitCode).toBe(1);
    expect(checked.stderr).toMatch(/above --max-mse 0: the rounding is too coarse; retrain with a larger --scale .*--vocab-size.*--encoded-dims/);
    expect(checked.stdout).toMatch(/MSE \(normalized\)/);
  });

  it("rejects bad input with the flag named", async () => {
    await expect(cli(["train-tokenizer", "--dataset", DATASET, "--out", path.join(work, "t"), "--encoded-dims", "0-6"])).rejects.toThrow(/--encoded-dims "0-6"/);
    await expect(cli(["train-tokenizer", "--dataset", DATASET, "--out", path.join(work, "t"), "--encoded-dims", "0:9"])).rejects.toThrow(/dim 6 is outside the action's 6 dims/);
    await expect(cli(["train-tokenizer", "--out", path.join(work, "t")])).rejects.toThrow(/--dataset: missing/);
    await expect(cli(["train-tokenizer", "--dataset", DATASET, "--out", path.join(work, "t"), "--normalization-mode", "zscore"])).rejects.toThrow(/--normalization-mode "zscore": expected one of/);
    await expect(cli(["train-tokenizer", "--dataset", DATASET, "--out", path.join(work, "t"), "--vocab-size", "20", "--normalization-mode", "identity"])).rejects.toThrow(/--vocab-size\/--scale: .*span/);
    await expect(cli(["check-tokenizer", "--tokenizer", path.join(work, "missing"), "--dataset", DATASET])).rejects.toThrow(/processor_config\.json: cannot read it/);
  });

  it("parses every normalization spelling", () => {
    expect(["quantiles", "MEAN_STD", "min-max", "bounds", "quantile10", "identity"].map(parseNormalizationMode)).toEqual(["QUANTILES", "MEAN_STD", "MIN_MAX", "MIN_MAX", "QUANTILE10", "IDENTITY"]);
  });
});
