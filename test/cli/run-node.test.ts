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

function configFile(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "pi0fast-run-"));
  const file = path.join(dir, "pipeline.yaml");
  writeFileSync(file, "/**:\n  ros__parameters:\n    use_sim_time: false\n/**/policy:\n  ros__parameters:\n    providers: [cpu]\n    warmup_inferences: 1\n");
  return file;
}

describe("pi0fast run / node with the package's nodes", () => {
  it("runs every node the config names on the local graph and stops cleanly on SIGINT", async () => {
    const result = await startAndInterrupt(["run", "--config", configFile(), "--namespace", "/so100"], /running policy on the local graph/);
    expect(result.stderr).toMatch(/\[\/so100\/policy\] model '.+' loaded .* on cpu/);
    expect(result.stderr).toMatch(/pi0fast: stopped/);
    expect(result.code).toBe(0);
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
