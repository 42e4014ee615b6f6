/**
 * Child process of read-only.test.ts: `bag info --verify` of each bag named on the command line, one JSON
 * line per bag, so a test running as root can read bags as a user who cannot write beside them.
 */
import { bagInfo } from "../../src/cli/bag-commands.js";

for (const bag of process.argv.slice(2)) {
  try {
    const info = await bagInfo(bag, true);
    process.stdout.write(`${JSON.stringify({ bag, messages: info.verified!.messages, problems: info.verified!.problems, topics: info.topics })}\n`);
  } catch (error) {
    process.stdout.write(`${JSON.stringify({ bag, error: (error as Error).message })}\n`);
  }
}
