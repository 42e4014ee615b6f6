import type { CommandModule } from "yargs";
import { makeTestModelCommand, policyCommand } from "./policy-commands.js";
import { nodeCommand } from "./node-command.js";
import { runCommand } from "./run-command.js";
import { checkTokenizerCommand, trainTokenizerCommand } from "./fast-commands.js";
import { bagCommand, convertCommand, makeSampleBagCommand } from "./bag-commands.js";

/**
 * Every `pi0fast` sub-command. Only commands that work are registered here: each issue adds its own.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const COMMANDS: CommandModule<any, any>[] = [nodeCommand, runCommand, trainTokenizerCommand, checkTokenizerCommand, bagCommand, makeSampleBagCommand, convertCommand, makeTestModelCommand, policyCommand];
