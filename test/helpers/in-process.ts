import { vi } from "vitest";
import { main } from "../../src/cli/main.js";

/** Runs `pi0fast <argv>` in-process through the real entry (bad input → InputError) and captures the output. */
export async function cli(argv: string[]): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  let stdout = "";
  let stderr = "";
  const out = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => ((stdout += String(chunk)), true));
  const err = vi.spyOn(process.stderr, "write").mockImplementation((chunk) => ((stderr += String(chunk)), true));
  process.exitCode = 0;
  try {
    await main(argv);
    return { stdout, stderr, exitCode: Number(process.exitCode ?? 0) };
  } finally {
    out.mockRestore();
    err.mockRestore();
    process.exitCode = 0;
  }
}
