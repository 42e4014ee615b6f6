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
