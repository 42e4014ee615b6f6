/**
 * Message definitions, parsed: the package's own `.msg` files plus the standard ROS 2 messages the nodes
 * use (from `@foxglove/rosmsg-msgs-common`, Jazzy). The type generator, the CDR round-trip tests and the
 * message normalization of `RosGraph` all start from here, so they cannot disagree.
 */
import type { MessageDefinition, MessageDefinitionField } from "@foxglove/message-definition";
import { parse } from "@foxglove/rosmsg";
import { ros2jazzy } from "@foxglove/rosmsg-msgs-common";

export const PACKAGE_NAME = "pi0fast_ros";

/** Standard messages the nodes publish or subscribe (their dependencies come along). */
export const STANDARD_MESSAGE_TYPES = [
  "std_msgs/msg/Header",
  "std_msgs/msg/String",
  "std_msgs/msg/Bool",
  "std_msgs/msg/Float64MultiArray",
  "trajectory_msgs/msg/JointTrajectory",
  "sensor_msgs/msg/Image",
  "sensor_msgs/msg/CompressedImage",
  "sensor_msgs/msg/JointState",
  "diagnostic_msgs/msg/DiagnosticArray",
  "rosgraph_msgs/msg/Clock",
] as const;

/**
 * Standard services the nodes offer, as their `.srv` text (std_srvs, Jazzy: the common-messages package
 * has no services). A test compares them with the installed std_srvs when a ROS 2 install is at hand.
 */
export const STANDARD_SERVICE_TEXT: Readonly<Record<string, string>> = {
  "std_srvs/srv/SetBool": "bool data # e.g. for hardware enabling / disabling\n---\nbool success   # indicate successful run of triggered service\nstring message # informational, e.g. for error messages\n",
  "std_srvs/srv/Trigger": "---\nbool success   # indicate successful run of triggered service\nstring message # informational, e.g. for error messages\n",
};

/** A service type: its request and response messages (`pkg/srv/Type_Request`, `_Response`). */
export interface ServiceDefinition {
  readonly name: string;
  readonly request: MessageDefinition;
  readonly response: MessageDefinition;
}

/** Parses a `.srv` text: request fields, a `---` line, response fields (primitive fields only). */
export function parseSrvFile(typeName: string, text: string): ServiceDefinition {
  const parts = text.split(/^---[ \t]*$/m);
  if (parts.length !== 2) throw new Error(`${typeName}: a service definition has one '---' line between request and response, found ${parts.length - 1}`);
  const half = (part: string, suffix: string): MessageDefinition => {
    const [parsed] = parse(part, { ros2: true, skipTypeFixup: true });
    const definitions = parsed?.definitions ?? [];
    const complex = definitions.find((field) => field.isComplex);
    if (complex !== undefined) throw new Error(`${typeName}: field '${complex.name}' of type ${complex.type}: only primitive fields are supported in services`);
    return { name: `${typeName}${suffix}`, definitions };
  };
  return { name: typeName, request: half(parts[0]!, "_Request"), response: half(parts[1]!, "_Response") };
}

export function standardServiceDefinitions(): Map<string, ServiceDefinition> {
  return new Map(Object.entries(STANDARD_SERVICE_TEXT).map(([name, text]) => [name, parseSrvFile(name, text)]));
}

/** `pkg/Type` or `pkg/msg/Type` → `pkg/msg/Type`. */
export function fullTypeName(name: string): string {
  const parts = name.split("/");
  if (parts.length === 2) return `${parts[0]}/msg/${parts[1]}`;
  if (parts.length === 3) return name;
  throw new Error(`message type '${name}' is not of the form pkg/Type or pkg/msg/Type`);
}

/** `pkg/msg/Type` → `pkg/Type` (the spelling the foxglove libraries and `.msg` files use). */
export function shortTypeName(name: string): string {
  const parts = name.split("/");
  return parts.length === 3 ? `${parts[0]}/${parts[2]}` : name;
}

// rosgraph_msgs/Clock is not in the common set; it is one field.
const EXTRA_STANDARD: Record<string, MessageDefinition> = {
  "rosgraph_msgs/Clock": {
    name: "rosgraph_msgs/Clock",
    definitions: [{ name: "clock", type: "time", isComplex: false, isArray: false }],
  },
};

function standardDefinition(shortName: string): MessageDefinition | undefined {
  return (ros2jazzy as Record<string, MessageDefinition>)[shortName] ?? EXTRA_STANDARD[shortName];
}

/** Parses one `.msg` file of this package; complex field types become full `pkg/msg/Type` names. */
export function parseMsgFile(typeName: string, text: string): MessageDefinition {
  const [parsed] = parse(text, { ros2: true, skipTypeFixup: true });
  if (parsed === undefined) throw new Error(`${typeName}: the definition is empty`);
  const [pkg] = typeName.split("/");
  const definitions = parsed.definitions.map((field): MessageDefinitionField => {
    if (!field.isComplex) return field;
    const type = field.type.includes("/") ? fullTypeName(field.type) : `${pkg}/msg/${field.type}`;
    return { ...field, type };
  });
  return { name: typeName, definitions };
}

/**
 * All definitions reachable from the given package messages and the standard set, keyed by full name,
 * with complex field types spelled `pkg/msg/Type`. `time`/`duration` stay primitive (builtin_interfaces).
 */
export function collectDefinitions(packageMessages: MessageDefinition[]): Map<string, MessageDefinition> {
  const byName = new Map<string, MessageDefinition>();
  for (const message of packageMessages) byName.set(message.name ?? "", message);
  const pending = [...STANDARD_MESSAGE_TYPES, ...packageMessages.flatMap((m) => m.definitions.filter((f) => f.isComplex).map((f) => f.type))];
  while (pending.length > 0) {
    const name = fullTypeName(pending.pop()!);
    if (byName.has(name)) continue;
    const standard = standardDefinition(shortTypeName(name));
    if (standard === undefined) throw new Error(`message type '${name}' has no definition (neither in msg/ nor among the standard messages)`);
    const definitions = standard.definitions.map((field) => (field.isComplex ? { ...field, type: fullTypeName(field.type) } : field));
    byName.set(name, { name, definitions });
    for (const field of definitions) if (field.isComplex) pending.push(field.type);
  }
  return byName;
}

/**
 * The definition list for `@foxglove/rosmsg2-serialization` (root first, dependencies after, short names),
 * as that library expects.
 */
export function serializationDefinitions(root: string, all: ReadonlyMap<string, MessageDefinition>): MessageDefinition[] {
  const ordered: MessageDefinition[] = [];
  const seen = new Set<string>();
  const visit = (name: string): void => {
    if (seen.has(name)) return;
    seen.add(name);
    const definition = all.get(name);
    if (definition === undefined) throw new Error(`message type '${name}' has no definition`);
    ordered.push({
      name: shortTypeName(name),
      definitions: definition.definitions.map((field) => (field.isComplex ? { ...field, type: shortTypeName(field.type) } : field)),
    });
    for (const field of definition.definitions) if (field.isComplex) visit(field.type);
  };
  visit(root);
  return ordered;
}
