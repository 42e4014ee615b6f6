/**
 * An error caused by input the caller can fix (a flag, a file, a message, a parameter).
 * Its message names the input, what was wrong and what was expected; the CLI prints it without a stack.
 */
export class InputError extends Error {
  override readonly name = "InputError";
}

/** Formats a value for an error message without flooding the terminal. */
export function describeValue(value: unknown, maxLength = 80): string {
  let text: string;
  try {
    text = typeof value === "string" ? JSON.stringify(value) : typeof value === "bigint" ? `${value}n` : JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > maxLength ? `${text.slice(0, maxLength - 1)}…` : text;
}
