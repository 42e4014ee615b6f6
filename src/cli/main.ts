import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { InputError } from "../errors.js";
import { COMMANDS } from "./commands.js";
import { setAsideRosArgs } from "./ros-args.js";

/**
 * The `pi0fast` command line. Bad input (an `InputError`, a bad flag) prints one line naming the input
 * and exits 2; anything else prints its stack and exits 1.
 */
export async function main(argv: string[]): Promise<void> {
  let cli = yargs(setAsideRosArgs(argv))
    .scriptName("pi0fast")
    .usage("$0 <command> [options]")
    .strict()
    .demandCommand(1, "Name a command (see the list above).")
    .help()
    .alias("h", "help")
    .version(false)
    .wrap(Math.min(110, process.stdout.columns ?? 110))
    .fail((message, error, y) => {
      if (error) throw error;
      y.showHelp("error");
      throw new InputError(message);
    });
  for (const command of COMMANDS) cli = cli.command(command);
  await cli.parseAsync();
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
