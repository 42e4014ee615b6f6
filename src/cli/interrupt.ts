/**
 * Ctrl-C (SIGINT) or SIGTERM during a command that writes output: stop at once, leave nothing behind
 * (staged outputs removed, child processes stopped through `signal`), one line, exit 130 / 143.
 */
import { discardStagedOutputs } from "../output-dir.js";

const EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;

/**
 * Installs the handlers for the length of one command; `signal` aborts when one arrives (listeners run
 * before the process exits). Returns the function that removes the handlers.
 */
export function exitCleanlyOnSignals(command: string, target: string): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const handlers = (Object.keys(EXIT_CODES) as (keyof typeof EXIT_CODES)[]).map((name) => {
    const handler = (): void => {
      controller.abort(new Error(`${command} interrupted by ${name}`));
      discardStagedOutputs();
      process.stderr.write(`\npi0fast: ${command} interrupted by ${name}; nothing was written to ${target}\n`);
      process.exit(EXIT_CODES[name]);
    };
    process.once(name, handler);
    return [name, handler] as const;
  });
  return {
    signal: controller.signal,
    dispose: () => {
      for (const [name, handler] of handlers) process.removeListener(name, handler);
    },
  };
}
