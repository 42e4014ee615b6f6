import type { MessageDefinition } from "@foxglove/message-definition";
import { parseRos2idl } from "@foxglove/ros2idl-parser";
import { parse as parseRosmsg } from "@foxglove/rosmsg";
import { ros2galactic, ros2humble, ros2iron, ros2jazzy } from "@foxglove/rosmsg-msgs-common";
import { MessageReader } from "@foxglove/rosmsg2-serialization";
import { InputError } from "../errors.js";
import { shortTypeName } from "./metadata.js";

/** A message definition as a bag stores it: `ros2msg`, `ros2idl`, or nothing. */
export interface StoredDefinition {
  encoding: string;
  text: string;
}

/** Newest distribution first: a type that changed keeps its current layout. */
const STANDARD_SETS: Record<string, MessageDefinition>[] = [ros2jazzy, ros2iron, ros2humble, ros2galactic];

/** The standard definition of `type` with everything it depends on, root first; undefined when not standard. */
export function standardDefinitions(type: string): MessageDefinition[] | undefined {
  const key = shortTypeName(type);
  const set = STANDARD_SETS.find((candidate) => candidate[key] !== undefined);
  if (set === undefined) return undefined;
  const ordered: MessageDefinition[] = [];
  const seen = new Set<string>();
  const visit = (name: string): void => {
    if (seen.has(name)) return;
    seen.add(name);
    const definition = set[name];
    if (definition === undefined) return;
    ordered.push(name === key ? { ...definition, name: undefined } as MessageDefinition : definition);
    for (const field of definition.definitions) if (field.isComplex === true) visit(field.type);
  };
  visit(key);
  return ordered;
}

const SEPARATOR = "=".repeat(80);

/**
 * rosbag2 stores a service event topic (`pkg/srv/Name_Event`) with the `.srv` text (request `---` response);
 * the message on the wire is `service_msgs/ServiceEvent`-shaped: info, request[<=1], response[<=1].
 */
export function serviceEventDefinition(type: string, srvText: string): string | undefined {
  const match = /^([^/]+)\/srv\/(.+)_Event$/.exec(type);
  if (match === null) return undefined;
  const [head = "", ...dependencies] = srvText.split(new RegExp(`^${SEPARATOR}\\s*$`, "m"));
  const parts = head.split(/^---\s*$/m);
  if (parts.length !== 2) return undefined;
  const [pkg, name] = [match[1]!, match[2]!];
  const sections = [
    `service_msgs/ServiceEventInfo info\n${pkg}/${name}_Request[<=1] request\n${pkg}/${name}_Response[<=1] response\n`,
    "MSG: service_msgs/ServiceEventInfo\nuint8 event_type\nbuiltin_interfaces/Time stamp\nchar[16] client_gid\nint64 sequence_number\n",
    "MSG: builtin_interfaces/Time\nint32 sec\nuint32 nanosec\n",
    `MSG: ${pkg}/${name}_Request\n${parts[0]}`,
    `MSG: ${pkg}/${name}_Response\n${parts[1]}`,
    ...dependencies,
  ];
  return sections.join(`\n${SEPARATOR}\n`);
}

/** Parses a stored definition; undefined when it is empty, unparseable or names types it does not define. */
export function parseStoredDefinition(stored: StoredDefinition | undefined): MessageDefinition[] | undefined {
  if (stored === undefined || stored.text.trim() === "") return undefined;
  let definitions: MessageDefinition[];
  try {
    if (stored.encoding === "ros2msg") definitions = parseRosmsg(stored.text, { ros2: true });
    else if (stored.encoding === "ros2idl") definitions = parseRos2idl(stored.text);
    else return undefined;
  } catch {
    return undefined;
  }
  const defined = new Set(definitions.map((definition) => definition.name ?? ""));
  for (const definition of definitions) {
    for (const field of definition.definitions) {
      if (field.isComplex === true && !defined.has(field.type)) return undefined;
    }
  }
  return definitions.length > 0 ? definitions : undefined;
}

/** CDR pads a message to 4 bytes; more left over than that means the definition does not describe the bytes. */
const MAX_ALIGNMENT_PADDING = 3;

/**
 * Decodes one topic's CDR messages. It uses the bag's own definition first; a placeholder or missing one
 * (it fails to decode, or leaves bytes over) falls back to the standard definition of the type.
 */
export class TopicDecoder {
  readonly #topic: string;
  readonly #type: string;
  readonly #candidates: { source: string; reader: MessageReader }[] = [];
  #current = 0;

  constructor(topic: string, type: string, stored: StoredDefinition | undefined) {
    this.#topic = topic;
    this.#type = type;
    const serviceEvent = stored?.encoding === "ros2msg" ? serviceEventDefinition(type, stored.text) : undefined;
    const own = parseStoredDefinition(serviceEvent !== undefined ? { encoding: "ros2msg", text: serviceEvent } : stored);
    if (own !== undefined) this.#candidates.push({ source: "the bag's definition", reader: new MessageReader(own) });
    const standard = standardDefinitions(type);
    if (standard !== undefined) this.#candidates.push({ source: "the standard definition", reader: new MessageReader(standard) });
  }

  /** True when some definition is known for the type. */
  get hasDefinition(): boolean {
    return this.#candidates.length > 0;
  }

  /** Decodes one message; `where` names the file and time for the error. */
  decode(data: Uint8Array, where: string): Record<string, unknown> {
    if (this.#candidates.length === 0) {
      throw new InputError(
        `${where}: topic ${this.#topic} has type ${this.#type}, which the bag gives no definition for and which is not a standard type`,
      );
    }
    const failures: string[] = [];
    for (let index = this.#current; index < this.#candidates.length; index++) {
      const candidate = this.#candidates[index]!;
      try {
        const message = candidate.reader.readMessage<Record<string, unknown>>(data);
        const left = data.byteLength - candidate.reader.lastReadByteLength();
        if (left <= MAX_ALIGNMENT_PADDING) {
          this.#current = index;
          return message;
        }
        failures.push(`${candidate.source} leaves ${left} of ${data.byteLength} bytes undecoded`);
      } catch (error) {
        failures.push(`${candidate.source} fails (${(error as Error).message})`);
      }
    }
    throw new InputError(
      `${where}: a ${data.byteLength}-byte message on ${this.#topic} does not decode as ${this.#type}: ${failures.join("; ")}`,
    );
  }
}
