/**
 * `--ros-args …` at the end of a command line belongs to ROS, not to yargs: the CLI keeps it aside and
 * the node command hands it to rcl.
 */
let rosArgs: string[] = [];

/** Splits argv at `--ros-args`; returns what yargs should parse. */
export function setAsideRosArgs(argv: readonly string[]): string[] {
  const at = argv.indexOf("--ros-args");
  rosArgs = at >= 0 ? argv.slice(at) : [];
  return at >= 0 ? argv.slice(0, at) : [...argv];
}

export function rosArgsOf(): string[] {
  return [...rosArgs];
}
