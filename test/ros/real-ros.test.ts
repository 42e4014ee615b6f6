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
