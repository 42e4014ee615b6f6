import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { FIXTURES, REPO_ROOT } from "../helpers/system.js";

export const BAGS = path.join(FIXTURES, "bags");

/** A fresh temporary directory. */
export function scratch(prefix = "pi0fast-test-"): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

/** A writable copy of a fixture bag. */
export function copyFixture(name: string): string {
  const target = path.join(scratch(), name);
  cpSync(path.join(BAGS, name), target, { recursive: true });
  return target;
}

/** Runs the bag/dataset commands as the CLI does; returns exit code and output. */
export function runCli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ["--import", "tsx", path.join(REPO_ROOT, "test/bag/cli.ts"), ...args], { encoding: "utf8", cwd: REPO_ROOT });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
