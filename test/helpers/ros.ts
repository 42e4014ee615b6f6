/**
 * A real ROS 2 middleware for tests (rcl + rmw_fastrtps from the PyPI wheels, see tools/ros2-wheels/README.md):
 * its environment, or undefined (a skip) where it is not set up; .ci/run sets it up. Also how to start the
 * policy node on it: the CMake-installed executable, as `ros2 run` would, where CI installed the package.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { REPO_ROOT } from "./system.js";

const envFile = process.env.PI0FAST_ROS_ENV ?? path.join(REPO_ROOT, ".ros/venv/ros2-env.sh");
const overlay = process.env.PI0FAST_ROS_OVERLAY ?? path.join(REPO_ROOT, ".ros/overlay");
const generated = path.join(REPO_ROOT, "node_modules/rclnodejs/generated/pi0fast_ros");
/** The package installed by CMake (.ci/run sets it); REQUIRE_SYSTEM_DEPS makes it required. */
export const installPrefix = process.env.PI0FAST_ROS_INSTALL;
if (installPrefix === undefined && process.env.REQUIRE_SYSTEM_DEPS === "1") {
  throw new Error("PI0FAST_ROS_INSTALL is not set: .ci/run builds and installs the package with CMake and sets it");
}

let cached: NodeJS.ProcessEnv | undefined | null = null;

/** The environment of a process on the middleware, or undefined when it is missing (see REQUIRE_SYSTEM_DEPS). */
export function rosEnvironment(): NodeJS.ProcessEnv | undefined {
  if (cached !== null) return cached;
  const missing = [envFile, overlay, generated].filter((p) => !existsSync(p));
  if (missing.length > 0) {
    const message = `a ROS 2 middleware with rclnodejs and the pi0fast_ros messages (missing: ${missing.join(", ")}; .ci/run sets it up)`;
    if (process.env.REQUIRE_SYSTEM_DEPS === "1") throw new Error(`${message} is required by REQUIRE_SYSTEM_DEPS=1`);
    console.warn(`skipping the real-middleware tests: they need ${message}`);
    cached = undefined;
    return cached;
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
  cached = env;
  return cached;
}

export const TSX = ["--import", "tsx"];

/**
 * Starts the policy node on ROS with these ROS arguments: the installed `lib/pi0fast_ros/policy_node` where CI
 * installed the package, otherwise the same node from the sources.
 */
export function spawnPolicyNode(rosArgs: string[], env: NodeJS.ProcessEnv): ChildProcessWithoutNullStreams {
  if (installPrefix !== undefined) {
    return spawn(path.join(installPrefix, "lib/pi0fast_ros/policy_node"), rosArgs, {
      env: { ...env, AMENT_PREFIX_PATH: `${installPrefix}:${env.AMENT_PREFIX_PATH}`, LD_LIBRARY_PATH: `${installPrefix}/lib:${env.LD_LIBRARY_PATH}` },
    });
  }
  return spawn(process.execPath, [...TSX, path.join(REPO_ROOT, "src/cli/bin.ts"), "node", "policy", "--graph", "ros", ...rosArgs], { env });
}

/** Collects a child's stdout and stderr, and resolves when a line matching `pattern` has appeared (false if it exits first). */
export function watchOutput(child: ChildProcessWithoutNullStreams): { output: () => string; seen: (pattern: RegExp) => Promise<boolean>; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; atMs: number }> } {
  let output = "";
  const listeners: Array<() => void> = [];
  const onData = (chunk: Buffer): void => {
    output += chunk.toString();
    for (const listener of [...listeners]) listener();
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; atMs: number }>((resolve) => child.on("exit", (code, signal) => resolve({ code, signal, atMs: performance.now() })));
  const seen = (pattern: RegExp): Promise<boolean> =>
    new Promise((resolve) => {
      const check = (): void => {
        if (pattern.test(output)) resolve(true);
      };
      listeners.push(check);
      check();
      void exited.then(() => resolve(pattern.test(output)));
    });
  return { output: () => output, seen, exited };
}
