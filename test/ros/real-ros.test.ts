/**
 * Our nodes on a real ROS 2 middleware (rcl + rmw_fastrtps from the PyPI wheels, see
 * tools/ros2-wheels/README.md), in separate processes exchanging pi0fast_ros messages. .ci/run sets the
 * middleware up; locally the test is skipped unless the same set-up exists.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { makeTestModel } from "../../src/policy/index.js";
import { REPO_ROOT } from "../helpers/system.js";

const envFile = process.env.PI0FAST_ROS_ENV ?? path.join(REPO_ROOT, ".ros/venv/ros2-env.sh");
const overlay = process.env.PI0FAST_ROS_OVERLAY ?? path.join(REPO_ROOT, ".ros/overlay");
const generated = path.join(REPO_ROOT, "node_modules/rclnodejs/generated/pi0fast_ros");
/** The package installed by CMake (.ci/run sets it); REQUIRE_SYSTEM_DEPS makes it required. */
const installPrefix = process.env.PI0FAST_ROS_INSTALL;
if (installPrefix === undefined && process.env.REQUIRE_SYSTEM_DEPS === "1") {
  throw new Error("PI0FAST_ROS_INSTALL is not set: .ci/run builds and installs the package with CMake and sets it");
}

function rosEnvironment(): NodeJS.ProcessEnv | undefined {
  const missing = [envFile, overlay, generated].filter((p) => !existsSync(p));
  if (missing.length > 0) {
    const message = `a ROS 2 middleware with rclnodejs and the pi0fast_ros messages (missing: ${missing.join(", ")}; .ci/run sets it up)`;
    if (process.env.REQUIRE_SYSTEM_DEPS === "1") throw new Error(`${message} is required by REQUIRE_SYSTEM_DEPS=1`);
    console.warn(`skipping the real-middleware tests: they need ${message}`);
    return undefined;
  }
  const dump = spawnSync("bash", ["-c", `. "${envFile}" && env -0`], { encoding: "utf8" });
  const env: NodeJS.ProcessEnv = Object.fromEntries(
    dump.stdout
      .split("\0")
      .filter((line) => line.includes("="))
      .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
  );
  env.AMENT_PREFIX_PATH = `${overlay}:${env.AMENT_PREFIX_PATH ?? ""}`;
  env.LD_LIBRARY_PATH = `${overlay}/lib:${env.LD_LIBRARY_PATH ?? ""}`;
  // Keep this run's DDS traffic to itself and to this machine.
  env.ROS_DOMAIN_ID = String(1 + (process.pid % 100));
  env.ROS_AUTOMATIC_DISCOVERY_RANGE = "LOCALHOST";
  return env;
}

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
    const tsx = ["--import", "tsx"];
    const rosArgs = ["--ros-args", "-r", "__node:=policy", "-r", "__ns:=/itest", "--params-file", paramsFile];
    // Where CI built and installed the package (CMakeLists.txt), start the installed executable as
    // `ros2 run pi0fast_ros policy_node` would; otherwise the same node from the sources.
    const [command, args, env] =
      installPrefix !== undefined
        ? [path.join(installPrefix, "lib/pi0fast_ros/policy_node"), rosArgs, { ...rosEnv, AMENT_PREFIX_PATH: `${installPrefix}:${rosEnv!.AMENT_PREFIX_PATH}`, LD_LIBRARY_PATH: `${installPrefix}/lib:${rosEnv!.LD_LIBRARY_PATH}` }]
        : [process.execPath, [...tsx, path.join(REPO_ROOT, "src/cli/bin.ts"), "node", "policy", "--graph", "ros", ...rosArgs], rosEnv];
    const policy = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let policyLog = "";
    policy.stdout.on("data", (chunk: Buffer) => (policyLog += chunk.toString()));
    policy.stderr.on("data", (chunk: Buffer) => (policyLog += chunk.toString()));
    const policyExit = new Promise<number | null>((resolve) => policy.on("exit", (code) => resolve(code)));

    const driver = spawnSync(process.execPath, [...tsx, path.join(REPO_ROOT, "test/ros/nodes/ros-driver.ts"), "--ros-args", "-r", "__ns:=/itest"], {
      env: { ...rosEnv, MODEL_DIR: modelDir },
      encoding: "utf8",
      timeout: 150_000,
    });
    policy.kill("SIGINT");
    const policyCode = await policyExit;

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
    const rosArgs = ["--ros-args", "-r", "__node:=so100_controller", "-r", "__ns:=/itest", "--params-file", paramsFile];
    const [command, args, env] =
      installPrefix !== undefined
        ? [path.join(installPrefix, "lib/pi0fast_ros/so100_controller_node"), rosArgs, { ...rosEnv, AMENT_PREFIX_PATH: `${installPrefix}:${rosEnv!.AMENT_PREFIX_PATH}`, LD_LIBRARY_PATH: `${installPrefix}/lib:${rosEnv!.LD_LIBRARY_PATH}` }]
        : [process.execPath, ["--import", "tsx", path.join(REPO_ROOT, "src/cli/bin.ts"), "node", "so100_controller", "--graph", "ros", ...rosArgs], rosEnv];
    const controller = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let log = "";
    controller.stdout.on("data", (chunk: Buffer) => (log += chunk.toString()));
    controller.stderr.on("data", (chunk: Buffer) => (log += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => controller.on("exit", (code) => resolve(code)));

    const driver = spawnSync(process.execPath, ["--import", "tsx", path.join(REPO_ROOT, "test/ros/nodes/so100-service-driver.ts"), "--ros-args", "-r", "__ns:=/itest"], { env: rosEnv, encoding: "utf8", timeout: 150_000 });
    controller.kill("SIGINT");
    const code = await exited;

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
