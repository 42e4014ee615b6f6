/**
 * One rule for existing output, across every command that writes: a new path or an empty folder is written,
 * a non-empty one is refused (one line naming it, nothing touched) unless --overwrite, which replaces it;
 * no staging path is ever left beside it.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { makeSampleBags } from "../../src/bag/sample.js";
import { convertBags } from "../../src/dataset/convert.js";
import { loadMapping } from "../../src/dataset/mapping.js";
import { InputError } from "../../src/errors.js";
import { discardStagedOutputs, StagedOutput } from "../../src/output-dir.js";
import { scratch } from "../bag/helpers.js";
import { cli } from "../helpers/in-process.js";
import { FIXTURES, REPO_ROOT, hasProgram } from "../helpers/system.js";
import { runCli } from "../helpers/cli.js";

const DATASET = path.join(FIXTURES, "lerobot_v3_reference");
const SAMPLE_MAPPING = path.join(REPO_ROOT, "config/convert.sample.yaml");
const haveFfmpeg = hasProgram("ffmpeg", ["-version"]);

/** A folder holding one file the test checks is kept (refused) or gone (overwritten). */
function occupied(dir: string, name: string): string {
  const target = path.join(dir, name);
  mkdirSync(target);
  writeFileSync(path.join(target, "keep.txt"), "mine");
  return target;
}

function onlyEntries(dir: string): string[] {
  return readdirSync(dir).sort();
}

describe("StagedOutput", () => {
  it("writes into a hidden sibling and moves it into place; a failure leaves the old output as it was", async () => {
    const dir = scratch();
    const target = occupied(dir, "out");
    await expect(StagedOutput.write(target, { overwrite: true, label: "--out out" }, (staging) => {
      writeFileSync(path.join(staging, "half.txt"), "x");
      throw new Error("disk full");
    })).rejects.toThrow("disk full");
    expect(onlyEntries(dir)).toEqual(["out"]);
    expect(onlyEntries(target)).toEqual(["keep.txt"]);
    await StagedOutput.write(target, { overwrite: true, label: "--out out" }, (staging) => writeFileSync(path.join(staging, "new.txt"), "y"));
    expect(onlyEntries(dir)).toEqual(["out"]);
    expect(onlyEntries(target)).toEqual(["new.txt"]);
  });

  it("accepts an empty folder, refuses a non-empty one or a file where a folder goes", () => {
    const dir = scratch();
    mkdirSync(path.join(dir, "empty"));
    const staged = StagedOutput.begin(path.join(dir, "empty"), { overwrite: false, label: "--out empty" });
    expect(path.basename(staged.path).startsWith(".")).toBe(true);
    staged.commit();
    occupied(dir, "full");
    expect(() => StagedOutput.begin(path.join(dir, "full"), { overwrite: false, label: "--out full" })).toThrow(/--out full: already exists and is not empty; give --overwrite/);
    writeFileSync(path.join(dir, "file"), "x");
    expect(() => StagedOutput.begin(path.join(dir, "file"), { overwrite: true, label: "--out file" })).toThrow(/exists and is a file; expected a folder/);
  });

  it("discardStagedOutputs removes every open staging path (what the signal handler calls)", () => {
    const dir = scratch();
    StagedOutput.begin(path.join(dir, "a"), { overwrite: false, label: "a" });
    StagedOutput.begin(path.join(dir, "b"), { overwrite: false, label: "b" });
    expect(readdirSync(dir)).toHaveLength(2);
    discardStagedOutputs();
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe("the output rule, command by command", () => {
  it("make-sample-bag: refuses a non-empty --out, writes into an empty one, --overwrite replaces", async () => {
    const dir = scratch();
    const target = occupied(dir, "bags");
    const args = ["make-sample-bag", "--out", target, "--episodes", "1", "--seconds", "0.5", "--cameras", "1", "--width", "32", "--height", "24"];
    await expect(cli(args)).rejects.toThrow(new RegExp(`--out ${target}: already exists and is not empty; give --overwrite`));
    expect(onlyEntries(target)).toEqual(["keep.txt"]);
    await cli([...args, "--overwrite"]);
    expect(onlyEntries(target)).toEqual(["episode_000"]);
    mkdirSync(path.join(dir, "empty"));
    await cli([...args.map((arg) => (arg === target ? path.join(dir, "empty") : arg))]);
    expect(onlyEntries(path.join(dir, "empty"))).toEqual(["episode_000"]);
    expect(onlyEntries(dir)).toEqual(["bags", "empty"]);
  });

  it("make-test-model: refuses a non-empty --out (it overwrote silently), --overwrite replaces", async () => {
    const dir = scratch();
    const target = occupied(dir, "model");
    await expect(cli(["make-test-model", "--out", target])).rejects.toThrow(/already exists and is not empty/);
    expect(onlyEntries(target)).toEqual(["keep.txt"]);
    await cli(["make-test-model", "--out", target, "--overwrite"]);
    expect(readdirSync(target)).toContain("pi0fast.json");
    expect(readdirSync(target)).not.toContain("keep.txt");
    expect(onlyEntries(dir)).toEqual(["model"]);
  });

  it("train-tokenizer: refuses a non-empty --out before reading the dataset, --overwrite replaces", async () => {
    const dir = scratch();
    const target = occupied(dir, "tok");
    const args = ["train-tokenizer", "--dataset", DATASET, "--out", target, "--max-episodes", "1"];
    await expect(cli(args)).rejects.toThrow(/already exists and is not empty/);
    expect(onlyEntries(target)).toEqual(["keep.txt"]);
    await cli([...args, "--overwrite"]);
    expect(onlyEntries(target)).toContain("processor_config.json");
    expect(onlyEntries(target)).not.toContain("keep.txt");
    // once it holds a tokenizer, a second run is still refused without --overwrite
    await expect(cli(args)).rejects.toThrow(/already exists and is not empty/);
    expect(onlyEntries(dir)).toEqual(["tok"]);
  });

  it("check-tokenizer --report and convert --init-mapping: an existing file is refused unless --overwrite", async () => {
    const dir = scratch();
    const tokenizer = path.join(dir, "tok");
    await cli(["train-tokenizer", "--dataset", DATASET, "--out", tokenizer, "--max-episodes", "1"]);
    const report = path.join(dir, "report.html");
    writeFileSync(report, "mine");
    const check = ["check-tokenizer", "--tokenizer", tokenizer, "--dataset", DATASET, "--num-samples", "5", "--report", report];
    await expect(cli(check)).rejects.toThrow(new RegExp(`--report ${report}: already exists; give --overwrite`));
    expect(readFileSync(report, "utf8")).toBe("mine");
    await cli([...check, "--overwrite"]);
    expect(readFileSync(report, "utf8")).toMatch(/^<!DOCTYPE html>/);

    const mapping = path.join(dir, "mapping.yaml");
    writeFileSync(mapping, "mine");
    const init = ["convert", path.join(FIXTURES, "bags/jazzy_mcap"), "--init-mapping", mapping];
    await expect(cli(init)).rejects.toThrow(/--init-mapping .*mapping\.yaml: already exists; give --overwrite/);
    expect(readFileSync(mapping, "utf8")).toBe("mine");
    await cli([...init, "--overwrite"]);
    expect(readFileSync(mapping, "utf8")).toMatch(/^# Mapping for `pi0fast convert`/);
    expect(onlyEntries(dir)).toEqual(["mapping.yaml", "report.html", "tok"]);
  });

  it.skipIf(!haveFfmpeg)("convert: accepts an empty --out (it refused even that), refuses a non-empty one, --overwrite replaces", async () => {
    const dir = scratch();
    const bags = await makeSampleBags({ outDir: path.join(dir, "bags"), format: "mcap", episodes: 1, seconds: 1, cameras: 2, width: 64, height: 64, seed: 1 });
    mkdirSync(path.join(dir, "empty"));
    await convertBags({ bags, mapping: loadMapping(SAMPLE_MAPPING), outDir: path.join(dir, "empty"), onBadFrame: "fail" });
    expect(existsSync(path.join(dir, "empty/meta/info.json"))).toBe(true);
    const target = occupied(dir, "ds");
    const failure = await convertBags({ bags, mapping: loadMapping(SAMPLE_MAPPING), outDir: target, onBadFrame: "fail" }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(InputError);
    expect((failure as Error).message).toMatch(/already exists and is not empty; give --overwrite/);
    expect(onlyEntries(target)).toEqual(["keep.txt"]);
    await convertBags({ bags, mapping: loadMapping(SAMPLE_MAPPING), outDir: target, onBadFrame: "fail", overwrite: true });
    expect(onlyEntries(target)).toEqual(["data", "meta", "videos"]);
    expect(onlyEntries(dir)).toEqual(["bags", "ds", "empty"]);
  });

  it("through the real entry point: exit 2 and one line", () => {
    const dir = scratch();
    const target = occupied(dir, "bags");
    const result = runCli(["make-sample-bag", "--out", target]);
    expect(result.status).toBe(2);
    expect(result.stderr.trim().split("\n")).toEqual([`pi0fast: --out ${target}: already exists and is not empty; give --overwrite to replace it, or choose a new path`]);
  });
});
