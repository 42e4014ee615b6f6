/**
 * Runs the bag/dataset commands the way `pi0fast` does (same failure handling: InputError → one line,
 * exit 2), without loading the other issues' commands. Used by the CLI tests through tsx.
 */
import yargs from "yargs";
import { InputError } from "../../src/errors.js";
import { bagCommand, convertCommand, makeSampleBagCommand } from "../../src/cli/bag-commands.js";

const cli = yargs(process.argv.slice(2))
  .scriptName("pi0fast")
  .strict()
  .demandCommand(1)
  .fail((message, error) => {
    if (error) throw error;
    throw new InputError(message);
  })
  .command(bagCommand)
  .command(makeSampleBagCommand)
  .command(convertCommand);

try {
  await cli.parseAsync();
} catch (error) {
  if (error instanceof InputError) {
    process.stderr.write(`pi0fast: ${error.message}\n`);
    process.exitCode = 2;
  } else {
    process.stderr.write(`pi0fast: unexpected failure\n${error instanceof Error ? error.stack : String(error)}\n`);
    process.exitCode = 1;
  }
}
