#!/usr/bin/env node
/**
 * The `pi0fast` executable. Commands that run nodes listen for SIGINT/SIGTERM before the rest of the program
 * loads (nodes/shutdown-signals.ts). When the command is done (finished, failed or stopped) the process exits
 * with its status: nothing it started (a worker thread, rcl, a native session) may keep it running.
 */
import { hideBin } from "yargs/helpers";
import { listenForShutdownSignals } from "../nodes/shutdown-signals.js";
import { requestedCommand } from "./commands.js";

const argv = hideBin(process.argv);
if (requestedCommand(argv)?.runsUntilStopped === true) listenForShutdownSignals();
const { main, reportError } = await import("./main.js");
let status = 0;
try {
  await main(argv);
} catch (error) {
  status = reportError(error);
}
process.exit(status);
