import type { CommandModule } from "yargs";

/**
 * A command's options and handler. Its name and one-line description live in the catalog
 * (commands.ts), so `pi0fast --help` lists every command without loading any of them.
 */
export type CommandBody<T = object, U = object> = Pick<CommandModule<T, U>, "builder" | "handler"> & { handler: CommandModule<T, U>["handler"] };
