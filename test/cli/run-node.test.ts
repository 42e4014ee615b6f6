import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { runCli, startCli } from "../helpers/cli.js";
import { REPO_ROOT } from "../helpers/system.js";

/** Starts `pi0fast <args>`, waits for `ready` on stderr, sends SIGINT, returns the exit code and output. */
async function startAndInterrupt(args: string[], ready: RegExp): Promise<{ code: number | null; stderr: string }> {
  const child = startCli(args);
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const started = await Promise.race([
    new Promise<boolean>((resolve) => child.stderr.on("data", () => ready.test(stderr) && resolve(true))),
    exited.then(() => false),
  ]);
  if (started) child.kill("SIGINT");
  return { code: await exited, stderr };
}

function configFile(policyParameters = ""): string {
  const dir = mkdtempSync(path.join(tmpdir(), "pi0fast-run-"));
  const file = path.join(dir, "pipeline.yaml");
  writeFileSync(file, `/**:\n  ros__parameters:\n    use_sim_time: false\n/**/policy:\n  ros__parameters:\n    providers: [cpu]\n    warmup_inferences: 1\n${policyParameters}`);
  return file;
}

/** stderr without the lines a node logs while it runs: what a user reads of an error. */
function errorLines(stderr: string): string[] {
  return stderr.split("\n").filter((line) => line.length > 0 && !line.startsWith("["));
}

describe("pi0fast run / node with the package's nodes", () => {
  it("runs every node the config names on the local graph, in a relative namespace as launch takes it, and stops cleanly on SIGINT", async () => {
    const result = await startAndInterrupt(["run", "--config", configFile("    max_decod_steps: 10\n"), "--namespace", "so100"], /running policy on the local graph/);
    expect(result.stderr).toMatch(/\[\/so100\/policy\] model '.+' loaded .* on cpu/);
    expect(result.stderr).toContain("[WARN] [/so100/policy] parameter 'max_decod_steps' is not declared by node '/so100/policy' and is ignored; did you mean 'max_decode_steps'?");
    expect(result.stderr).toMatch(/pi0fast: stopped/);
    expect(result.code).toBe(0);
  });

  it("stops cleanly on SIGINT while the model is still loading", async () => {
    for (const args of [
      ["run", "--config", configFile()],
      ["node", "policy", "--params", configFile()],
    ]) {
      const result = await startAndInterrupt(args, /loading the model in/);
      expect(result.stderr, args.join(" ")).toMatch(/stopped during start-up/);
      expect(result.stderr, args.join(" ")).not.toMatch(/running|unexpected failure/);
      expect(result.code, result.stderr).toBe(0);
    }
  });

  it("exits 2 with one line, and never stays running, on a namespace ROS would refuse", () => {
    for (const args of [
      ["run", "--config", configFile(), "--namespace", "so 100"],
      ["node", "policy", "--namespace", "/9lives"],
    ]) {
      const result = runCli(args, { timeoutMs: 60_000 });
      expect(result.status, `${args.join(" ")}: ${result.stderr}`).toBe(2);
      expect(errorLines(result.stderr)).toEqual([expect.stringMatching(/^pi0fast: namespace '(so 100|\/9lives)' is not a valid ROS namespace: /)]);
    }
  });

  it("exits 2 with one line naming the parameter and the path when model_dir is no model", () => {
    const missing = path.join(tmpdir(), "pi0fast-no-such-model");
    const notAModel = mkdtempSync(path.join(tmpdir(), "pi0fast-not-a-model-"));
    for (const [args, dir, problem] of [
      [["run", "--config", configFile(`    model_dir: ${JSON.stringify(missing)}\n`)], missing, "does not exist"],
      [["node", "policy", "--params", configFile(`    model_dir: ${JSON.stringify(notAModel)}\n`)], notAModel, "holds no pi0fast.json, so it is no Pi0-FAST model directory"],
    ] as const) {
      const result = runCli([...args], { timeoutMs: 60_000 });
      expect(result.status, `${args.join(" ")}: ${result.stderr}`).toBe(2);
      expect(errorLines(result.stderr)).toEqual([
        `pi0fast: parameters of node '/policy': parameter 'model_dir' = "${dir}": ${dir} ${problem}; expected a directory with pi0fast.json and the ONNX graphs, or "" for the tiny test model`,
      ]);
    }
  });

  it("runs one node with its params file and stops cleanly on SIGINT", async () => {
    const result = await startAndInterrupt(["node", "policy", "--params", configFile()], /node 'policy' running/);
    expect(result.stderr).toMatch(/node 'policy' stopped/);
    expect(result.code).toBe(0);
  });

  it("explains what --graph ros needs when ROS 2 is not sourced, without touching an installed rclnodejs build", () => {
    const build = path.join(REPO_ROOT, "node_modules/rclnodejs/build/Release/rclnodejs.node");
    const builtBefore = existsSync(build);
    const env = { ...process.env, ROS_DISTRO: "", AMENT_PREFIX_PATH: "" };
    const result = runCli(["node", "policy", "--graph", "ros", "--ros-args", "-r", "__ns:=/so100"], { env });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/--graph ros needs rclnodejs: ROS 2 is not sourced in this shell .*source \/opt\/ros\/<distro>\/setup\.bash/);
    // rclnodejs, once imported without ROS, would run `npm run rebuild` and delete its own build first.
    expect(existsSync(build)).toBe(builtBefore);
  });
});
