/**
 * Every numeric option of every data command meets NaN, words, fractions and out-of-range values with one
 * line naming the flag and the value as typed, and nothing is written.
 */
import { readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { describeRule, parseNumberOption } from "../../src/cli/options.js";
import { InputError } from "../../src/errors.js";
import { scratch } from "../bag/helpers.js";
import { runCli } from "../helpers/cli.js";
import { cli } from "../helpers/in-process.js";
import { FIXTURES } from "../helpers/system.js";

const DATASET = path.join(FIXTURES, "lerobot_v3_reference");

interface Case {
  /** The command line up to the option. */
  command: (out: string) => string[];
  flag: string;
  bad: string[];
  expected: RegExp;
}

const INTEGER_BAD = ["NaN", "abc", "1.5", "0", "-2", "1e400", "Infinity"];
const CASES: Case[] = [
  ...["episodes"].map((flag) => ({ command: (out: string) => ["make-sample-bag", "--out", out], flag, bad: INTEGER_BAD, expected: /expected an integer ≥ 1/ })),
  { command: (out) => ["make-sample-bag", "--out", out], flag: "cameras", bad: [...INTEGER_BAD, "5"], expected: /expected an integer ≥ 1 and ≤ 4/ },
  { command: (out) => ["make-sample-bag", "--out", out], flag: "seconds", bad: ["NaN", "abc", "0", "-1", "5000"], expected: /expected a number > 0 and ≤ 3600/ },
  { command: (out) => ["make-sample-bag", "--out", out], flag: "width", bad: [...INTEGER_BAD, "4000"], expected: /expected an integer ≥ 1 and ≤ 3840/ },
  { command: (out) => ["make-sample-bag", "--out", out], flag: "height", bad: [...INTEGER_BAD, "3000"], expected: /expected an integer ≥ 1 and ≤ 2160/ },
  { command: (out) => ["make-sample-bag", "--out", out], flag: "seed", bad: ["NaN", "abc", "1.5", "-1"], expected: /expected an integer ≥ 0/ },
  ...["action-horizon", "vocab-size", "max-episodes"].map((flag) => ({ command: (out: string) => ["train-tokenizer", "--dataset", DATASET, "--out", out], flag, bad: INTEGER_BAD, expected: /expected an integer ≥ 1/ })),
  { command: (out) => ["train-tokenizer", "--dataset", DATASET, "--out", out], flag: "scale", bad: ["NaN", "abc", "0", "-3"], expected: /expected a number > 0/ },
  { command: (out) => ["train-tokenizer", "--dataset", DATASET, "--out", out], flag: "sample-fraction", bad: ["NaN", "abc", "0", "1.5"], expected: /expected a number > 0 and ≤ 1/ },
  { command: (out) => ["train-tokenizer", "--dataset", DATASET, "--out", out], flag: "seed", bad: ["NaN", "abc", "0.5", "-1"], expected: /expected an integer ≥ 0/ },
  { command: () => ["check-tokenizer", "--tokenizer", "tok", "--dataset", DATASET], flag: "num-samples", bad: INTEGER_BAD, expected: /expected an integer ≥ 1/ },
  { command: () => ["check-tokenizer", "--tokenizer", "tok", "--dataset", DATASET], flag: "max-mse", bad: ["NaN", "abc", "-0.1"], expected: /expected a number ≥ 0/ },
  { command: () => ["check-tokenizer", "--tokenizer", "tok", "--dataset", DATASET], flag: "seed", bad: ["NaN", "abc", "2.5"], expected: /expected an integer ≥ 0/ },
  { command: (out) => ["make-test-model", "--out", out], flag: "seed", bad: ["NaN", "abc", "2.5", "-1"], expected: /expected an integer ≥ 0/ },
  { command: (out) => ["make-test-model", "--out", out], flag: "horizon", bad: INTEGER_BAD, expected: /expected an integer ≥ 1/ },
];

describe("numeric options", () => {
  for (const { command, flag, bad, expected } of CASES) {
    it(`${command("out")[0]} --${flag} rejects ${bad.join(", ")}`, async () => {
      const dir = scratch();
      const out = path.join(dir, "out");
      for (const value of bad) {
        const failure = await cli([...command(out), `--${flag}`, value]).then(() => undefined, (error: unknown) => error);
        expect(failure, `--${flag} ${value}`).toBeInstanceOf(InputError);
        const message = (failure as Error).message;
        expect(message.startsWith(`--${flag} ${value}: `), message).toBe(true);
        expect(message).toMatch(expected);
        expect(message).toMatch(new RegExp(`; see pi0fast ${command("out")[0]} --help$`));
      }
      // nothing was written, not even a staging folder
      expect(readdirSync(dir)).toEqual([]);
    });
  }

  it("names a missing value, a repeated flag, and accepts what the rule allows", async () => {
    await expect(cli(["make-sample-bag", "--out", "x", "--episodes"])).rejects.toThrow(/Not enough arguments following: episodes; see pi0fast make-sample-bag --help/);
    await expect(cli(["make-sample-bag", "--out", "x", "--episodes", "2", "--episodes", "3"])).rejects.toThrow(/--episodes: given 2 times; give it once/);
    expect(parseNumberOption("--seconds", "2.5", { above: 0 })).toBe(2.5);
    expect(parseNumberOption("--episodes", "3", { integer: true, min: 1 })).toBe(3);
    expect(parseNumberOption("--episodes", "1e1", { integer: true, min: 1 })).toBe(10);
    expect(parseNumberOption("--max-mse", 0, { min: 0 })).toBe(0);
    expect(describeRule({ above: 0, max: 1 })).toBe("a number > 0 and ≤ 1");
  });

  it("through the real entry point: exit 2, one line, no bag written (it wrote 0 bags and exited 0)", () => {
    const dir = scratch();
    const result = runCli(["make-sample-bag", "--out", path.join(dir, "bags"), "--episodes", "NaN"]);
    expect(result.status).toBe(2);
    expect(result.stderr.trim().split("\n")).toEqual(["pi0fast: --episodes NaN: expected an integer ≥ 1; see pi0fast make-sample-bag --help"]);
    expect(readdirSync(dir)).toEqual([]);
  });
});
