/**
 * Numeric command-line options, validated once for every command: the text as typed is checked (so `abc`
 * and `NaN` are named as given, never echoed as NaN) and a bad value is one line, exit 2.
 */
import type { Options } from "yargs";
import { InputError } from "../errors.js";

export interface NumberRule {
  integer?: boolean;
  /** Smallest allowed value (inclusive). */
  min?: number;
  /** Values must be greater than this. */
  above?: number;
  /** Largest allowed value (inclusive). */
  max?: number;
}

const NUMBER_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** What a rule accepts, in words: "an integer ≥ 1", "a number > 0 and ≤ 1". */
export function describeRule(rule: NumberRule): string {
  const bounds = [
    rule.min !== undefined ? `≥ ${rule.min}` : undefined,
    rule.above !== undefined ? `> ${rule.above}` : undefined,
    rule.max !== undefined ? `≤ ${rule.max}` : undefined,
  ].filter((bound) => bound !== undefined);
  return `${rule.integer ? "an integer" : "a number"}${bounds.length > 0 ? ` ${bounds.join(" and ")}` : ""}`;
}

/** The value of `flag` (as yargs hands it over: the typed text, a number, or several) checked against `rule`. */
export function parseNumberOption(flag: string, value: unknown, rule: NumberRule): number {
  if (Array.isArray(value)) throw new InputError(`${flag}: given ${value.length} times; give it once`);
  const text = typeof value === "number" ? String(value) : typeof value === "string" ? value.trim() : "";
  const expected = `expected ${describeRule(rule)}`;
  if (text === "") throw new InputError(`${flag}: no value; ${expected}`);
  const number = typeof value === "number" ? value : NUMBER_TEXT.test(text) ? Number(text) : NaN;
  const fits =
    Number.isFinite(number) &&
    (!rule.integer || Number.isInteger(number)) &&
    (rule.min === undefined || number >= rule.min) &&
    (rule.above === undefined || number > rule.above) &&
    (rule.max === undefined || number <= rule.max);
  if (!fits) throw new InputError(`${flag} ${text}: ${expected}`);
  return number;
}

/**
 * A yargs option declaration for a number: no yargs `type` (which would turn `abc` into NaN before we see it),
 * the check as `coerce`, the rule appended to the description.
 */
export function numberOption(name: string, rule: NumberRule, options: { describe?: string; default?: number; alias?: string[] } = {}): Options {
  return {
    describe: `${options.describe ? `${options.describe} ` : ""}(${describeRule(rule)})`,
    requiresArg: true,
    coerce: (value: unknown) => parseNumberOption(`--${name}`, value, rule),
    ...(options.default !== undefined ? { default: options.default } : {}),
    ...(options.alias !== undefined ? { alias: options.alias } : {}),
  };
}

/** Common rules. */
export const POSITIVE_INTEGER: NumberRule = { integer: true, min: 1 };
export const SEED: NumberRule = { integer: true, min: 0 };

/** `--overwrite`, the same for every command that writes output (see src/output-dir.ts). */
export const OVERWRITE_OPTION: Options = { type: "boolean", default: false, describe: "replace the output if it exists and is not empty" };
