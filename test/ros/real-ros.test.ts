/**
 * Our nodes on a real ROS 2 middleware (rcl + rmw_fastrtps from the PyPI wheels, see
 * tools/ros2-wheels/README.md), in separate processes exchanging pi0fast_ros messages and calling each other's
 * parameter services. .ci/run sets the middleware up; locally the tests are skipped unless the same set-up exists.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { makeTestModel } from "../../src/policy/index.js";
import { installPrefix, rosEnvironment, runDriver, spawnNode, startNodeProcess, watchOutput } from "../helpers/ros-processes.js";

const rosEnv = rosEnvironment();

describe.skipIf(rosEnv === undefined)("nodes on a real ROS 2 middleware", () => {
  let dir: string;
  let modelDir: string;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "pi0fast-ros-"));
    modelDir = path.join(dir, "model");
    await makeTestModel({ out: modelDir, preset: "tiny", seed: 3 });
  });

  /** A params file in `dir`. */
  const paramsFile = (name: string, text: string): string => {
    const file = path.join(dir, name);
    writeFileSync(file, text);
    return file;
  };

  it(`${installPrefix !== undefined ? "installed policy_node (ros2 run layout)" : "policy node"} and a driver node, two processes, exchange Observation and ActionChunk; launch-style params reach a namespaced node`, async () => {
    // The fully qualified key `ros2 launch` writes for a node with both name= and namespace=, which
    // rclnodejs 2.2.0 alone ignores. trigger: observation makes the chunk arrive without a replan request,
    // so the chunk itself proves the parameters arrived.
    const params = paramsFile("launch_params.yaml", `/itest/policy:
  ros__parameters:
    model_dir: ${JSON.stringify(modelDir)}
    providers: [cpu]
    trigger: observation
    warmup_inferences: 0
`);
    const policy = spawnNode("policy", ["--ros-args", "-r", "__node:=policy", "-r", "__ns:=/itest", "--params-file", params], rosEnv!);
    const watched = watchOutput(policy);
    const driver = await runDriver(rosEnv!, "ros-driver.ts", ["--ros-args", "-r", "__ns:=/itest"], { MODEL_DIR: modelDir }, 150_000);
    policy.kill("SIGINT");
    const { code } = await watched.exited;

    expect(driver.status, `driver stderr: ${driver.stderr}\npolicy log: ${watched.output()}`).toBe(0);
    const seen = JSON.parse(driver.stdout.trim().split("\n").pop()!) as {
      chunkStamp: string;
      sentStamps: string[];
      decodeStatus: number;
      horizon: number;
      actionNames: string[];
      actionCount: number;
      typedArray: boolean;
      tokenCount: number;
    };
    expect(seen.sentStamps).toContain(seen.chunkStamp);
    expect(seen.decodeStatus).toBe(0);
    expect(seen.horizon).toBeGreaterThan(0);
    expect(seen.actionCount).toBe(seen.horizon * seen.actionNames.length);
    expect(seen.typedArray).toBe(true);
    expect(seen.tokenCount).toBeGreaterThan(0);
    expect(code, watched.output()).toBe(0);
  });

  it("seen by ROS's own services from another process: ranges in describe_parameters, use_sim_time as the files resolve it, a bad model_dir refused by param set, status on /diagnostics while idle", async () => {
    // As `ros2 launch` passes them: the user's file says use_sim_time true for every node, launch's own file
    // (under the node's full name) says false. A misspelled parameter is warned about, naming the right one.
    const shared = paramsFile("shared.yaml", "/**:\n  ros__parameters:\n    use_sim_time: true\n");
    const own = paramsFile(
      "own.yaml",
      `/probed/policy:\n  ros__parameters:\n    use_sim_time: false\n    model_dir: ${JSON.stringify(modelDir)}\n    providers: [cpu]\n    warmup_inferences: 0\n    max_decod_steps: 10\n`,
    );
    const policy = spawnNode("policy", ["--ros-args", "-r", "__node:=policy", "-r", "__ns:=/probed", "--params-file", shared, "--params-file", own], rosEnv!);
    const watched = watchOutput(policy);
    try {
      expect(await watched.seen(/policy running/), watched.output()).toBe(true);
      const badModelDir = path.join(dir, "no-such-model");
      const probe = await runDriver(rosEnv!, "ros-probe.ts", ["--ros-args", "-r", "__ns:=/probed"], { TARGET: "/probed/policy", BAD_MODEL_DIR: badModelDir }, 120_000);
      expect(probe.status, `probe stderr: ${probe.stderr}\npolicy log: ${watched.output()}`).toBe(0);
      type Range = { from_value: number; to_value: number; step: number };
      const seen = JSON.parse(probe.stdout.trim().split("\n").pop()!) as {
        diagnostics: string[];
        described: Array<{ name: string; integer_range: Range[]; floating_point_range: Range[] }>;
        got: Array<{ bool_value: boolean; integer_value: number }>;
        set: Array<{ successful: boolean; reason: string }>;
        after: Array<{ string_value: string }>;
      };
      const described = Object.fromEntries(seen.described.map((d) => [d.name, d]));
      expect(described.max_decode_steps!.integer_range).toEqual([{ from_value: 2, to_value: 4096, step: 1 }]);
      expect(described.max_observation_age_ms!.floating_point_range).toEqual([{ from_value: 0, to_value: Number.MAX_SAFE_INTEGER, step: 0 }]);
      expect([described.model_dir!.integer_range, described.model_dir!.floating_point_range]).toEqual([[], []]);
      expect(seen.got.map((value) => [value.bool_value, value.integer_value])).toEqual([
        [false, 0],
        [false, 256],
      ]);
      expect(seen.set[0]!.successful).toBe(false);
      expect(seen.set[0]!.reason).toContain(`parameter 'model_dir' = "${badModelDir}": ${badModelDir} does not exist`);
      expect(seen.after[0]!.string_value).toBe(modelDir);
      expect(seen.diagnostics).toContain("policy: model: loaded on cpu");
      expect(watched.output()).toMatch(/parameter 'max_decod_steps' is not declared by node '\/probed\/policy' and is ignored; did you mean 'max_decode_steps'\?/);
    } finally {
      policy.kill("SIGINT");
    }
    expect((await watched.exited).code, watched.output()).toBe(0);
  });

  it("exits 2 with one line naming the parameter and the path when model_dir is no model", async () => {
    const missing = path.join(dir, "missing-model");
    const params = paramsFile("missing.yaml", `/**/policy:\n  ros__parameters:\n    model_dir: ${JSON.stringify(missing)}\n`);
    const watched = watchOutput(spawnNode("policy", ["--ros-args", "-r", "__ns:=/badcfg", "--params-file", params], rosEnv!));
    const { code } = await watched.exited;
    expect(code, watched.output()).toBe(2);
    const lines = watched.output().trim().split("\n");
    expect(lines, watched.output()).toEqual([`pi0fast: parameters of node '/badcfg/policy': parameter 'model_dir' = "${missing}": ${missing} does not exist; expected a directory with pi0fast.json and the ONNX graphs, or "" for the tiny test model`]);
  });

  it("exits 0 on Ctrl-C at every moment of start-up: loading the model, warming up, running", async () => {
    const params = paramsFile("slow_start.yaml", `/**/policy:\n  ros__parameters:\n    model_dir: ${JSON.stringify(modelDir)}\n    providers: [cpu]\n    warmup_inferences: 20\n`);
    const moments: Array<[string, RegExp]> = [
      ["loading the model", /loading the model in/],
      ["warming up", /warming up on cpu/],
      ["running", /policy running/],
    ];
    const figures: string[] = [];
    for (const [moment, line] of moments) {
      const policy = spawnNode("policy", ["--ros-args", "-r", "__ns:=/ctrlc", "--params-file", params], rosEnv!);
      const watched = watchOutput(policy);
      expect(await watched.seen(line), `${moment}: ${watched.output()}`).toBe(true);
      const sentAtMs = performance.now();
      policy.kill("SIGINT");
      const { code, signal, atMs } = await watched.exited;
      figures.push(`${moment} ${(atMs - sentAtMs).toFixed(0)} ms`);
      expect([code, signal], `${moment}: ${watched.output()}`).toEqual([0, null]);
      expect(watched.output(), moment).not.toMatch(/unexpected failure|Cannot read properties/);
      // The signal landed during start-up: the node never came up.
      if (moment !== "running") expect(watched.output(), moment).not.toMatch(/policy running/);
    }
    console.log(`SIGINT to exit on the real middleware (this machine's load included): ${figures.join(", ")}`);
  });
});

describe.skipIf(rosEnv === undefined)("the SO-100 controller's services on a real ROS 2 middleware", () => {
  it(`${installPrefix !== undefined ? "installed so100_controller_node" : "so100_controller node"}: a second process calls ~/enable_torque and ~/hold (std_srvs) and sees the arm follow, then hold`, async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "pi0fast-ros-so100-"));
    const paramsFile = path.join(dir, "launch_params.yaml");
    writeFileSync(paramsFile, "/itest/so100_controller:\n  ros__parameters:\n    mode: sim\n    max_joint_velocity_rad_s: 2.0\n    command_timeout_ms: 5000.0\n");
    const controller = startNodeProcess(rosEnv!, "so100_controller", ["--ros-args", "-r", "__node:=so100_controller", "-r", "__ns:=/itest", "--params-file", paramsFile]);
    const driver = await runDriver(rosEnv!, "so100-service-driver.ts", ["--ros-args", "-r", "__ns:=/itest"], {}, 150_000);
    const code = await controller.stop();
    const log = controller.log();

    expect(driver.status, `driver stderr: ${driver.stderr}\ncontroller log: ${log}`).toBe(0);
    const seen = JSON.parse(driver.stdout.trim().split("\n").pop()!) as {
      start: number;
      beforeTorque: number;
      torque: { success: boolean; message: string };
      moved: number;
      held: { success: boolean; message: string };
      atHold: number;
      afterHold: number;
    };
    // Torque off at start: commands before ~/enable_torque do nothing.
    expect(Math.abs(seen.beforeTorque - seen.start)).toBeLessThan(0.01);
    expect(seen.torque.success).toBe(true);
    expect(seen.moved - seen.start).toBeGreaterThan(0.2);
    expect(seen.held).toEqual({ success: true, message: expect.stringMatching(/holding the present position/) });
    expect(Math.abs(seen.afterHold - seen.atHold)).toBeLessThan(0.01);
    expect(code, log).toBe(0);
  });
});
