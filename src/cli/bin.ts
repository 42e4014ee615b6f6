#!/usr/bin/env node
import { hideBin } from "yargs/helpers";
import { main, reportError } from "./main.js";

main(hideBin(process.argv)).catch((error: unknown) => {
  process.exitCode = reportError(error);
});
