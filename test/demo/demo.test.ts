/**
 * `pi0fast demo` through the real entry point: a short full run (socat pty when socat is installed), Ctrl-C
 * during start-up and while running (exit 0, nothing left running), bad input.
 */
import type { ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoAssets } from "../../src/demo/assets.js";
import { runCli, startCli } from "../helpers/cli.js";
import { hasProgram } from "../helpers/system.js";

const root = mkdtempSync(path.join(tmpdir(), "pi0fast-demo-test-"));
const cacheDir = path.join(root, "cache");
const socat = hasProgram("socat", ["-V"]);

beforeAll(async () => {
  // generated once here, so each run below starts the pipeline at once
  await demoAssets({ cacheDir });
});

const started: ChildProcess[] = [];
afterAll(() => {
  // a failed test must not leave its demo (and socat) running
  for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  rmSync(root, { recursive: true, force: true });
});

/** Processes whose command line mentions `text` (socat, a stray node), read from /proc. */
function processesMentioning(text: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
    try {
      const commandLine = readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
      if (commandLine.includes(text)) found.push(`${pid}: ${commandLine}`);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** Starts the demo and resolves when stderr first matches `pattern`. */
function startDemo(args: string[], pattern: RegExp) {
  const child = startCli(["demo", "--cache-dir", cacheDir, ...args]);
  started.push(child);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  const seen = new Promise<void>((resolve) => {
    child.stderr!.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      if (pattern.test(stderr)) resolve();
    });
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, seen, exited, output: () => ({ stdout, stderr }) };
}

function scratchOf(stderr: string): string | undefined {
  return /on the pty (\S+)\/bus-client/.exec(stderr)?.[1];
}

describe("pi0fast demo", () => {
  it("runs the pipeline closed-loop for --duration-s, then prints the summary and writes demo-report.html", () => {
    const report = path.join(root, "demo-report.html");
    const result = runCli(["demo", "--duration-s", "8", "--cache-dir", cacheDir, "--report", report], { timeoutMs: 120_000 });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toContain(socat ? "simulated arm on the pty" : "simulated arm in memory");
    const out = result.stdout;
    expect(out).toMatch(/^ran \d+\.\d s \(its full duration\), model test-tiny-fp32-seed0, simulated arm (through a socat pty|in memory)$/m);
    const observations = Number(/^observations (\d+)/m.exec(out)?.[1]);
    const chunks = Number(/chunks (\d+) \(ok/.exec(out)?.[1]);
    const ticks = Number(/^control ticks (\d+)/m.exec(out)?.[1]);
    expect(observations).toBeGreaterThan(20);
    expect(chunks).toBeGreaterThan(5);
    expect(ticks).toBeGreaterThan(200);
    // the arm's own joint states follow the commands (with torque off it stays put: MAE ≈ 0.27 rad)
    const armErrorRad = Number(/^arm tracking error \(arm − command\) MAE (\d+\.\d{4}) rad/m.exec(out)?.[1]);
    expect(armErrorRad).toBeGreaterThan(0);
    expect(armErrorRad).toBeLessThan(0.15);
    expect(out).toContain(`wrote ${report}`);
    const html = readFileSync(report, "utf8");
    expect(html.match(/<svg/g)?.length).toBe(6 + 2);
    expect(html).toContain("shoulder_pan");
    if (socat) {
      const scratch = scratchOf(result.stderr)!;
      expect(existsSync(scratch)).toBe(false);
      expect(processesMentioning(scratch)).toEqual([]);
    }
  });

  for (const moment of ["while the nodes start", "while it runs"] as const) {
    it(`stops cleanly on Ctrl-C ${moment}: exit 0, no socat or thread left behind`, async () => {
      const demo = startDemo(["--duration-s", "120", "--report", path.join(root, `interrupted-${moment.length}.html`)], /starting .* Ctrl-C stops/);
      await demo.seen;
      const scratch = scratchOf(demo.output().stderr);
      if (moment === "while it runs") {
        // the first status line comes 10 s in on a pipe: by then every node runs
        await new Promise<void>((resolve) => demo.child.stderr!.on("data", () => /\d+\.\d\/120 s {2}obs/.test(demo.output().stderr) && resolve()));
      }
      demo.child.kill("SIGINT");
      const code = await demo.exited;
      const { stdout, stderr } = demo.output();
      expect(code, stderr).toBe(0);
      if (moment === "while it runs") expect(stdout).toMatch(/\(stopped by a signal\)/);
      else expect(`${stdout}${stderr}`).toMatch(/stopped by a signal|stopped before the pipeline ran/);
      if (scratch !== undefined) {
        expect(existsSync(scratch)).toBe(false);
        expect(processesMentioning(scratch)).toEqual([]);
      }
    });
  }

  it("meets bad input with one line naming it", () => {
    const cases: [string[], RegExp][] = [
      [["--duration-s", "0"], /^pi0fast: --duration-s 0: expected a number > 0 and ≤ 86400; see pi0fast demo --help$/],
      [["--duration-s", "soon"], /^pi0fast: --duration-s soon: expected a number > 0 and ≤ 86400; see pi0fast demo --help$/],
      [["--seed", "1.5"], /^pi0fast: --seed 1\.5: expected an integer ≥ 0; see pi0fast demo --help$/],
      [["--transport", "usb"], /^pi0fast: Invalid values: Argument: transport, Given: "usb", Choices: "auto", "pty", "memory"/],
      [["--params", path.join(root, "none.yaml")], /^pi0fast: params file .*none\.yaml: does not exist$/],
    ];
    for (const [args, line] of cases) {
      const result = runCli(["demo", "--cache-dir", cacheDir, ...args]);
      expect(result.status, args.join(" ")).toBe(2);
      const lines = result.stderr.split("\n").filter((text) => text !== "");
      expect(lines, args.join(" ")).toHaveLength(1);
      expect(lines[0]).toMatch(line);
    }
  });
});
