import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { installPrefix } from "../helpers/ros-processes.js";
import { REPO_ROOT } from "../helpers/system.js";

describe("pi0fast command line", () => {
  it("lists its working commands", () => {
    const result = runCli(["--help"]);
    expect(result.status).toBe(0);
    for (const command of ["node <name>", "run", "train-tokenizer", "check-tokenizer", "convert"]) expect(result.stdout).toContain(`pi0fast ${command}`);
  });

  it("names an unknown command, an unknown node and a bad flag value, exiting 2 without a stack", () => {
    const unknownCommand = runCli(["fly"]);
    expect(unknownCommand.status).toBe(2);
    expect(unknownCommand.stderr).toMatch(/Unknown argument: fly/);

    const unknownNode = runCli(["node", "teleporter"]);
    expect(unknownNode.status).toBe(2);
    expect(unknownNode.stderr).toMatch(/the package has no node 'teleporter'; its nodes are: /);
    expect(unknownNode.stderr).not.toMatch(/\n\s+at /);

    const badGraph = runCli(["node", "teleporter", "--graph", "dds"]);
    expect(badGraph.status).toBe(2);
    expect(badGraph.stderr).toMatch(/Invalid values:\s+Argument: graph, Given: "dds", Choices: "local", "ros"/);
  });

  it("says plainly when a config is missing or names a node the package lacks", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "pi0fast-cli-"));
    const missing = runCli(["run", "--config", path.join(dir, "nope.yaml")]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain(`params file ${path.join(dir, "nope.yaml")}: does not exist`);

    const config = path.join(dir, "pipeline.yaml");
    writeFileSync(config, "/**:\n  ros__parameters:\n    use_sim_time: false\n/**/gripper_camera_driver:\n  ros__parameters:\n    fps: 30\n");
    const unknown = runCli(["run", "--config", config]);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/section '\/\*\*\/gripper_camera_driver' names node 'gripper_camera_driver', which the package lacks; its nodes are: /);

    const empty = path.join(dir, "empty.yaml");
    writeFileSync(empty, "/**:\n  ros__parameters:\n    use_sim_time: false\n");
    const none = runCli(["run", "--config", empty]);
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/names no node of the package/);
  });

  it("answers a yargs error (unknown flag, missing argument, bad choice) with one line and where the help is, not the help", () => {
    const cases: [string[], string][] = [
      [["convert", "bags", "--mapping", "m.yaml", "--out", "ds", "--bogus"], "pi0fast: Unknown argument: bogus; see pi0fast convert --help"],
      [["convert"], "pi0fast: Not enough non-option arguments: got 0, need at least 1; see pi0fast convert --help"],
      [["make-sample-bag"], "pi0fast: Missing required argument: out; see pi0fast make-sample-bag --help"],
      [["make-sample-bag", "--out", "x", "--format", "zip"], 'pi0fast: Invalid values: Argument: format, Given: "zip", Choices: "mcap", "sqlite3"; see pi0fast make-sample-bag --help'],
      [["bag", "info"], "pi0fast: Not enough non-option arguments: got 0, need at least 1; see pi0fast bag info --help"],
      [[], "pi0fast: name a command; see pi0fast --help"],
    ];
    for (const [args, line] of cases) {
      const result = runCli(args);
      expect(result.status, args.join(" ")).toBe(2);
      expect(result.stderr.split("\n").filter((text) => text !== ""), args.join(" ")).toEqual([line]);
      expect(result.stdout).toBe("");
    }
  });

  it("keeps --ros-args away from the local graph", () => {
    const result = runCli(["node", "teleporter", "--ros-args", "-r", "__ns:=/so100"]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/no node 'teleporter'/);
  });

  it("runs as `npx pi0fast` inside the checkout, as the README says, without npm warnings", () => {
    const result = spawnSync("npx", ["--offline", "pi0fast", "--help"], { cwd: path.join(REPO_ROOT, "config"), encoding: "utf8", timeout: 120_000, killSignal: "SIGKILL" });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain("pi0fast node <name>");
    expect(result.stderr).not.toMatch(/npm warn/i);
  });

  it(`runs through ${installPrefix !== undefined ? "the installed lib/pi0fast_ros/pi0fast" : "bin/pi0fast"}, what \`ros2 run pi0fast_ros pi0fast\` starts`, () => {
    const executable = installPrefix !== undefined ? path.join(installPrefix, "lib/pi0fast_ros/pi0fast") : path.join(REPO_ROOT, "bin/pi0fast");
    const result = spawnSync(executable, ["node", "teleporter"], { cwd: tmpdir(), encoding: "utf8", timeout: 120_000, killSignal: "SIGKILL" });
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr).toMatch(/^pi0fast: the package has no node 'teleporter'; its nodes are: chunk_blender, observation_aggregator, policy, so100_controller\n$/);
  });
});
