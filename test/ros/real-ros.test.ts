/**
 * Our nodes on a real ROS 2 middleware (rcl + rmw_fastrtps from the PyPI wheels, see
 * tools/ros2-wheels/README.md), in separate processes exchanging pi0fast_ros messages. .ci/run sets the
 * middleware up; locally the test is skipped unless the same set-up exists.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { makeTestModel } from "../../src/policy/index.js";
import { installPrefix, rosEnvironment, runDriver, startNodeProcess } from "../helpers/ros-processes.js";

const rosEnv = rosEnvironment();

describe.skipIf(rosEnv === undefined)("nodes on a real ROS 2 middleware", () => {
  it(`${installPrefix !== undefined ? "installed policy_node (ros2 run layout)" : "policy node"} and a driver node, two processes, exchange Observation and ActionChunk; launch-style params reach a namespaced node`, async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "pi0fast-ros-"));
    const modelDir = path.join(dir, "model");
    await makeTestModel({ out: modelDir, preset: "tiny", seed: 3 });
    // The fully qualified key `ros2 launch` writes for a node with both name= and namespace=, which
    // rclnodejs 2.2.0 alone ignores. trigger: observation makes the chunk arrive without a replan request,
    // so the chunk itself proves the parameters arrived.
    const paramsFile = path.join(dir, "launch_params.yaml");
    writeFileSync(
      paramsFile,
      `/itest/policy:\n  ros__parameters:\n    model_dir: ${JSON.stringify(modelDir)}\n    providers: [cpu]\n    trigger: observation\n    warmup_inferences: 0\n`,
    );
    const policy = startNodeProcess(rosEnv!, "policy", ["--ros-args", "-r", "__node:=policy", "-r", "__ns:=/itest", "--params-file", paramsFile]);
    const driver = await runDriver(rosEnv!, "ros-driver.ts", ["--ros-args", "-r", "__ns:=/itest"], { MODEL_DIR: modelDir }, 150_000);
    const policyCode = await policy.stop();
    const policyLog = policy.log();

    expect(driver.status, `driver stderr: ${driver.stderr}\npolicy log: ${policyLog}`).toBe(0);
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
    expect(policyCode, policyLog).toBe(0);
  });
});
