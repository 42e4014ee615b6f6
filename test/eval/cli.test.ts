import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeSampleBags } from "../../src/bag/sample.js";
import { runCli } from "../helpers/cli.js";
import { REPO_ROOT } from "../helpers/system.js";

const CONFIG = path.join(REPO_ROOT, "config/eval.yaml");
let root: string;
let bagDir: string;

beforeAll(async () => {
  root = mkdtempSync(path.join(tmpdir(), "pi0fast-eval-cli-"));
  [bagDir] = (await makeSampleBags({ outDir: path.join(root, "bags"), format: "mcap", episodes: 1, seconds: 3, cameras: 2, width: 64, height: 64, seed: 2 })) as [string];
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The one line a bad input gets, and exit status 2. */
function rejected(args: string[]): string {
  const result = runCli(["eval", ...args]);
  expect(result.status, `${args.join(" ")}\n${result.stderr}`).toBe(2);
  const lines = result.stderr.split("\n").filter((line) => line !== "");
  expect(lines, args.join(" ")).toHaveLength(1);
  return lines[0]!;
}

describe("pi0fast eval", () => {
  it("writes metrics.json (one run per latency, the same bytes when run again) and report.html with its plots", () => {
    const out = path.join(root, "eval");
    const first = runCli(["eval", "--bag", bagDir, "--config", CONFIG, "--out", out, "--policy", "recorded", "--latency-ms", "0,300"]);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/latency\s+mae_rad\s+rmse_rad/);
    expect(first.stdout).toMatch(/^\s+0 ms\s+\d/m);
    expect(first.stdout).toMatch(/^\s+300 ms\s+\d/m);
    expect(first.stdout).toMatch(/replayed 6\.0 s of recording in [\d.]+ s \([\d.]+× real time/);
    expect(readdirSync(out).sort()).toEqual(["metrics.json", "report.html"]);
    expect(readdirSync(root).filter((name) => name.includes("partial"))).toEqual([]);
    const metrics = JSON.parse(readFileSync(path.join(out, "metrics.json"), "utf8"));
    expect(metrics.runs.map((run: { injected_latency_ms: number }) => run.injected_latency_ms)).toEqual([0, 300]);
    expect(metrics.policy).toEqual({ kind: "recorded" });
    const report = readFileSync(path.join(out, "report.html"), "utf8");
    // comparison plot, then per run six joints and two histograms
    expect(report.match(/<svg/g)?.length).toBe(1 + 2 * (6 + 2));
    expect(report).toContain("tracking error vs latency");
    expect(report).not.toMatch(/https?:\/\/(?!www\.w3\.org)/);

    const again = runCli(["eval", "--bag", bagDir, "--config", CONFIG, "--out", out, "--latency-ms", "0,300", "--overwrite"]);
    expect(again.status, again.stderr).toBe(0);
    expect(readFileSync(path.join(out, "metrics.json"), "utf8")).toBe(JSON.stringify(metrics, null, 2) + "\n");
  });

  it("refuses a non-empty --out without --overwrite, before replaying anything", () => {
    const out = path.join(root, "used");
    mkdirSync(out);
    writeFileSync(path.join(out, "notes.txt"), "mine");
    // with a bag that is not there: the output is judged first
    expect(rejected(["--bag", path.join(root, "no-bag"), "--config", CONFIG, "--out", out])).toBe(`pi0fast: --out ${out}: already exists and is not empty; give --overwrite to replace it, or choose a new path`);
    expect(readFileSync(path.join(out, "notes.txt"), "utf8")).toBe("mine");
  });

  it("meets bad input with one line naming it", () => {
    const out = path.join(root, "never");
    const base = ["--bag", bagDir, "--config", CONFIG, "--out", out];
    expect(rejected([...base, "--latency-ms", "0,fast"])).toBe(`pi0fast: --latency-ms "0,fast": 'fast' is not a latency; expected milliseconds ≥ 0 (at most 60000), comma-separated, like 0,100,300`);
    expect(rejected([...base, "--latency-ms", "-5"])).toMatch(/'-5' is not a latency/);
    expect(rejected([...base, "--policy", "oracle"])).toBe(`pi0fast: --policy "oracle": expected 'recorded' (or --model <dir> for a model)`);
    expect(rejected([...base, "--policy", "recorded", "--model", root])).toMatch(/give one of them/);
    expect(rejected([...base, "--model", path.join(root, "no-model")])).toMatch(/--model .*no-model: no such folder; expected a model directory/);
    expect(rejected(["--bag", path.join(root, "no-bag"), "--config", CONFIG, "--out", out])).toMatch(/no-bag: no such bag/);
    expect(rejected(["--bag", bagDir, "--config", path.join(root, "no.yaml"), "--out", out])).toMatch(/params file .*no\.yaml: does not exist/);
    const config = path.join(root, "other-topics.yaml");
    writeFileSync(config, readFileSync(CONFIG, "utf8").replace("camera_topics: [/camera/front/image_raw, /camera/wrist/image_raw]", "camera_topics: [/camera/top/image_raw, /camera/wrist/image_raw]"));
    expect(rejected(["--bag", bagDir, "--config", config, "--out", out])).toMatch(/has no topic \/camera\/top\/image_raw \(named in .*other-topics\.yaml\); its topics are: \/instruction \(std_msgs\/msg\/String\)/);
    expect(existsSync(out)).toBe(false);
  });
});
