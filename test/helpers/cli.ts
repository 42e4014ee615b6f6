import { spawn, spawnSync } from "node:child_process";
import path from "node:path";
import { REPO_ROOT } from "./system.js";

const BIN = path.join(REPO_ROOT, "src/cli/bin.ts");

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `pi0fast <args>` from the TypeScript sources (so tests never see a stale dist/); `uid`/`gid` run it as
 * another user (a root test reading what that user cannot write).
 */
export function runCli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; uid?: number; gid?: number } = {}): CliResult {
  const result = spawnSync(process.execPath, ["--import", "tsx", BIN, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env: { ...process.env, ...options.env },
    encoding: "utf8",
    timeout: options.timeoutMs ?? 120_000,
    ...(options.uid !== undefined ? { uid: options.uid } : {}),
    ...(options.gid !== undefined ? { gid: options.gid } : {}),
    // A command that hangs must not hang the test too: SIGTERM is one it may be (wrongly) ignoring.
    killSignal: "SIGKILL",
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Starts `pi0fast <args>` and returns the child process (for long-running commands and signals). */
export function startCli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  return spawn(process.execPath, ["--import", "tsx", BIN, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
}
