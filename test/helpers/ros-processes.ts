/**
 * Our nodes as separate processes on a real ROS 2 middleware (rcl + rmw_fastrtps from the PyPI wheels, see
 * tools/ros2-wheels/README.md). .ci/run sets the middleware up; locally the tests are skipped unless the
 * same set-up exists.
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

/** The environment of a process on the middleware, or undefined (a skip) where it is not set up. */
export function rosEnvironment(): NodeJS.ProcessEnv | undefined {
  if (cached !== null) return cached;
  cached = readRosEnvironment();
  return cached;
}

function readRosEnvironment(): NodeJS.ProcessEnv | undefined {
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

export const TSX = ["--import", "tsx"];

/**
 * Starts one of the package's nodes with `--ros-args`: where CI built and installed the package
 * (CMakeLists.txt), the installed executable as `ros2 run pi0fast_ros <node>_node` would; otherwise the
 * same node from the sources.
 */
export function spawnNode(nodeName: string, rosArgs: string[], rosEnv: NodeJS.ProcessEnv): ChildProcessWithoutNullStreams {
  const [command, args, env] =
    installPrefix !== undefined
      ? [path.join(installPrefix, `lib/pi0fast_ros/${nodeName}_node`), rosArgs, { ...rosEnv, AMENT_PREFIX_PATH: `${installPrefix}:${rosEnv.AMENT_PREFIX_PATH}`, LD_LIBRARY_PATH: `${installPrefix}/lib:${rosEnv.LD_LIBRARY_PATH}` }]
      : [process.execPath, [...TSX, path.join(REPO_ROOT, "src/cli/bin.ts"), "node", nodeName, "--graph", "ros", ...rosArgs], rosEnv];
  return spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"] }) as unknown as ChildProcessWithoutNullStreams;
}

export interface WatchedOutput {
  /** Everything it printed so far. */
  output(): string;
  /** Resolves when a line matching `pattern` has appeared (false if the process exits first). */
  seen(pattern: RegExp): Promise<boolean>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; atMs: number }>;
}

/** Collects a child's stdout and stderr as it runs. */
export function watchOutput(child: ChildProcessWithoutNullStreams): WatchedOutput {
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

export interface NodeProcess {
  readonly child: ChildProcessWithoutNullStreams;
  /** Everything it printed so far. */
  log(): string;
  /** SIGINT, then its exit code. */
  stop(): Promise<number | null>;
}

/** A node process (see `spawnNode`) whose output is collected, stopped with SIGINT. */
export function startNodeProcess(rosEnv: NodeJS.ProcessEnv, nodeName: string, rosArgs: string[]): NodeProcess {
  const child = spawnNode(nodeName, rosArgs, rosEnv);
  const watched = watchOutput(child);
  return {
    child,
    log: () => watched.output(),
    stop: async () => {
      child.kill("SIGINT");
      return (await watched.exited).code;
    },
  };
}

/**
 * Runs a driver script (a RosGraph node under test/ros/nodes) to its end, without blocking this process
 * (the nodes' output keeps draining); its last stdout line is JSON.
 */
export function runDriver(rosEnv: NodeJS.ProcessEnv, script: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [...TSX, path.join(REPO_ROOT, "test/ros/nodes", script), ...args], { env: { ...rosEnv, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => {
    stderr += `\n(driver killed after ${timeoutMs} ms)`;
    child.kill("SIGKILL");
  }, timeoutMs);
  return new Promise((resolve) =>
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    }),
  );
}
