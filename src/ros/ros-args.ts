/**
 * The `--ros-args` part of a node's command line, as `ros2 run` and `ros2 launch` pass it:
 * `-r/--remap [node:]from:=to` (`__node`, `__ns` included), `-p/--param [node:]name:=yaml`,
 * `--params-file path`, `--log-level [name:=]level`. Pure: reading the params files is the caller's job.
 */
import { parse as parseYaml } from "yaml";
import { InputError } from "../errors.js";

export interface RosArgs {
  /** `__node:=` remapping, if any. */
  nodeName?: string;
  /** `__ns:=` remapping, if any. */
  namespace?: string;
  /** Topic remappings (`from` → `to`) in the order given, with the node prefix if one was given. */
  remaps: Array<{ node?: string; from: string; to: string }>;
  /** `--params-file` paths in order. */
  paramsFiles: string[];
  /** `-p` overrides in order: after every params file, later ones win. */
  params: Array<{ node?: string; name: string; value: unknown }>;
  logLevel?: string;
  /** Arguments outside `--ros-args ... [--]`. */
  rest: string[];
}

export function parseRosArgs(argv: readonly string[]): RosArgs {
  const args: RosArgs = { remaps: [], paramsFiles: [], params: [], rest: [] };
  let inRos = false;
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]!;
    if (arg === "--ros-args") {
      inRos = true;
      continue;
    }
    if (!inRos) {
      args.rest.push(arg);
      continue;
    }
    if (arg === "--") {
      inRos = false;
      continue;
    }
    const next = (): string => {
      const value = argv[i + 1];
      if (value === undefined) throw new InputError(`ROS argument '${arg}' needs a value after it`);
      i += 1;
      return value;
    };
    if (arg === "-r" || arg === "--remap") {
      const rule = splitRule(next(), arg);
      if (rule.from === "__node" || rule.from === "__name") args.nodeName = rule.to;
      else if (rule.from === "__ns") args.namespace = rule.to;
      else args.remaps.push(rule);
    } else if (arg === "-p" || arg === "--param") {
      const rule = splitRule(next(), arg);
      args.params.push({ ...(rule.node !== undefined ? { node: rule.node } : {}), name: rule.from, value: parseYaml(rule.to) as unknown });
    } else if (arg === "--params-file") {
      args.paramsFiles.push(next());
    } else if (arg === "--log-level") {
      args.logLevel = next();
    } else if (arg === "-e" || arg === "--enclave") {
      next();
    } else if (arg === "--disable-rosout-logs" || arg === "--enable-rosout-logs" || arg === "--disable-stdout-logs" || arg === "--enable-stdout-logs" || arg === "--disable-external-lib-logs" || arg === "--enable-external-lib-logs") {
      // Logging switches: rcl handles them; nothing for us to do.
    } else {
      throw new InputError(`unknown ROS argument '${arg}' (expected -r, -p, --params-file, --log-level, -e or a logging switch)`);
    }
  }
  return args;
}

function splitRule(rule: string, flag: string): { node?: string; from: string; to: string } {
  const separator = rule.indexOf(":=");
  if (separator <= 0) throw new InputError(`ROS argument '${flag} ${rule}': expected 'name:=value'`);
  const left = rule.slice(0, separator);
  const to = rule.slice(separator + 2);
  // A node prefix ends at the first ':' that is not part of ':='.
  const colon = left.indexOf(":");
  return colon > 0 ? { node: left.slice(0, colon), from: left.slice(colon + 1), to } : { from: left, to };
}
