import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";

/** Repository root (tests run from anywhere). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
/** Read-only fixtures written by other tools (rosbag2 bags, a LeRobot v3 dataset). */
export const FIXTURES = path.resolve(REPO_ROOT, "../shared/fixtures");

/** CI sets REQUIRE_SYSTEM_DEPS=1: there a missing program is a failure, locally it is a skip. */
const REQUIRED = process.env.REQUIRE_SYSTEM_DEPS === "1";

function missing(what: string): false {
  const message = `${what} is not available`;
  if (REQUIRED) throw new Error(`${message}, and REQUIRE_SYSTEM_DEPS=1 says the tests need it (install it as .ci/run does)`);
  console.warn(`skipping tests that need ${what}: ${message}`);
  return false;
}

/** True when `program` runs (`program -version`/`--version`); see REQUIRE_SYSTEM_DEPS. */
export function hasProgram(program: string, versionArgs: string[] = ["--version"]): boolean {
  const result = spawnSync(program, versionArgs, { stdio: "ignore" });
  return result.status === 0 ? true : missing(`the program '${program}'`);
}

/** A venv's interpreter when it exists and imports `modules`, else undefined (a skip; see REQUIRE_SYSTEM_DEPS). */
function venvPython(python: string, venv: string, modules: readonly string[]): string | undefined {
  if (!existsSync(python)) {
    missing(`${venv} at ${python}`);
    return undefined;
  }
  try {
    execFileSync(python, ["-c", modules.map((m) => `import ${m}`).join("; ")], { stdio: "ignore" });
  } catch {
    missing(`the Python modules ${modules.join(", ")} in ${python}`);
    return undefined;
  }
  return python;
}

/**
 * The Python interpreter holding the pinned interop requirements (tools/requirements-interop.txt), or
 * undefined (a skip) when it is missing. INTEROP_PYTHON overrides the default `.venv-interop/bin/python`.
 */
export function interopPython(modules: string[]): string | undefined {
  return venvPython(process.env.INTEROP_PYTHON ?? path.join(REPO_ROOT, ".venv-interop/bin/python"), "the interop Python venv", modules);
}

/**
 * The Python interpreter of the LeRobot 0.6.1 reference venv (tools/lerobot/setup.sh), or undefined (a skip)
 * when it is missing or does not import `modules`. LEROBOT_PYTHON overrides the default `.venv-lerobot/bin/python`.
 */
export function lerobotPython(modules: readonly string[] = ["lerobot", "torch", "transformers"]): string | undefined {
  return venvPython(process.env.LEROBOT_PYTHON ?? path.join(REPO_ROOT, ".venv-lerobot/bin/python"), "the LeRobot reference venv (tools/lerobot/setup.sh builds it)", modules);
}

/** Runs a Python snippet in the interop venv and returns its stdout. */
export function runPython(python: string, code: string, input?: string | Buffer): string {
  return execFileSync(python, ["-c", code], { input, maxBuffer: 1 << 30, encoding: "utf8" });
}

/** The environment LeRobot runs offline in: no hub, a writable HF_HOME (remote processor code is copied there). */
export function lerobotEnv(hfHome: string): NodeJS.ProcessEnv {
  return { ...process.env, HF_HUB_OFFLINE: "1", TRANSFORMERS_OFFLINE: "1", HF_HOME: hfHome, PYTHONUNBUFFERED: "1" };
}
