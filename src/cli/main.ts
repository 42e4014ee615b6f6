import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { InputError } from "../errors.js";
import { COMMANDS, requestedCommand } from "./commands.js";
import { setAsideRosArgs } from "./ros-args.js";

/**
 * The `pi0fast` command line. Bad input (an `InputError`, a bad flag) prints one line naming the input
 * and exits 2; anything else prints its stack and exits 1.
 */
export async function main(argv: string[]): Promise<void> {
  const args = setAsideRosArgs(argv);
  let cli = yargs(args)
    .scriptName("pi0fast")
    .usage("$0 <command> [options]")
    .strict()
    .demandCommand(1, "name a command")
    .help()
    .alias("h", "help")
    .version(false)
    .wrap(Math.min(110, process.stdout.columns ?? 110))
    .fail((message, error) => {
      // yargs' own complaints (and what an option's coerce threw) arrive as a YError or as a bare message
      if (error && error.name !== "YError") throw error;
      const text = (message ?? error?.message ?? "bad arguments").replace(/\s+/g, " ").trim();
      // one line and where to read more, not the whole help text
      throw new InputError(`${text}; see ${helpCommand(args)}`);
    });
  const requested = requestedCommand(args);
  for (const entry of COMMANDS) {
    if (entry === requested) {
      const body = await entry.load();
      cli = cli.command({ command: entry.command, describe: entry.describe, builder: body.builder ?? {}, handler: body.handler });
    } else {
      // Listed for help and strict parsing; never run, so never loaded.
      cli = cli.command(entry.command, entry.describe);
    }
  }
  await cli.parseAsync();
}

/** `pi0fast convert --help`, `pi0fast bag info --help`: the help of the command `argv` names (or the top level). */
export function helpCommand(argv: readonly string[]): string {
  const entry = requestedCommand(argv);
  if (entry === undefined) return "pi0fast --help";
  const words = argv.filter((arg) => !arg.startsWith("-"));
  const hasSubcommand = entry.command.includes("<command>") && words[1] !== undefined;
  return `pi0fast ${entry.command.split(" ")[0]}${hasSubcommand ? ` ${words[1]}` : ""} --help`;
}

/** Prints an error the way the CLI reports it and returns the exit code. */
export function reportError(error: unknown): number {
  if (error instanceof InputError) {
    process.stderr.write(`pi0fast: ${error.message}\n`);
    return 2;
  }
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.stderr.write(`pi0fast: unexpected failure\n${detail}\n`);
  return 1;
}
