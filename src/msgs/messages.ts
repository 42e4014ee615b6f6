/**
 * Message types (generated from msg/ and the standard definitions) and the few helpers every node needs:
 * stamps as bigint nanoseconds, headers, and normalization of messages that arrive with plain arrays.
 */
import { MESSAGE_FIELDS, SERVICE_FIELDS, type MessageField, type MessageTypes, type RosTime, type ServiceTypes, type StdMsgsHeader } from "./messages.generated.js";
import { TYPED_ARRAYS } from "./message-codegen.js";

export * from "./messages.generated.js";

export type MessageTypeName = keyof MessageTypes;
export type MessageOf<N extends MessageTypeName> = MessageTypes[N];
export type ServiceTypeName = keyof ServiceTypes;
export type ServiceRequestOf<S extends ServiceTypeName> = ServiceTypes[S]["request"];
export type ServiceResponseOf<S extends ServiceTypeName> = ServiceTypes[S]["response"];

const NS_PER_S = 1_000_000_000n;

export function timeFromNs(stampNs: bigint): RosTime {
  const sec = stampNs / NS_PER_S;
  let nanosec = stampNs % NS_PER_S;
  // ROS Time keeps nanosec in [0, 1e9): a negative stamp borrows a second.
  if (nanosec < 0n) return { sec: Number(sec - 1n), nanosec: Number(nanosec + NS_PER_S) };
  return { sec: Number(sec), nanosec: Number(nanosec) };
}

export function nsFromTime(time: RosTime): bigint {
  return BigInt(time.sec) * NS_PER_S + BigInt(time.nanosec);
}

/** A stamp as `seconds.nanoseconds s`, for messages that name a message by its time. */
export function stampText(stampNs: bigint): string {
  return `${stampNs / NS_PER_S}.${String(stampNs % NS_PER_S).padStart(9, "0")} s`;
}

export function makeHeader(stampNs: bigint, frameId = ""): StdMsgsHeader {
  return { stamp: timeFromNs(stampNs), frame_id: frameId };
}

export function isMessageType(name: string): name is MessageTypeName {
  return Object.hasOwn(MESSAGE_FIELDS, name);
}

type TypedArrayConstructor = { from(source: ArrayLike<unknown>): unknown };

/**
 * Returns the message with every numeric array as the typed array the generated types promise and every
 * 64-bit integer as a bigint, recursing into nested messages. Middleware and CDR libraries differ here
 * (plain arrays, typed arrays, numbers for int64); nodes see one shape.
 */
export function normalizeMessage<N extends MessageTypeName>(type: N, message: unknown): MessageOf<N> {
  return normalizeFields(type, message) as MessageOf<N>;
}

export function isServiceType(name: string): name is ServiceTypeName {
  return Object.hasOwn(SERVICE_FIELDS, name);
}

/** A service request or response in the generated shape (the same rules as `normalizeMessage`). */
export function normalizeServiceMessage<S extends ServiceTypeName, H extends "request" | "response">(type: S, half: H, message: unknown): ServiceTypes[S][H] {
  const fields = SERVICE_FIELDS[type]?.[half];
  if (fields === undefined) throw new Error(`unknown service type '${type}'`);
  return normalizeWithFields(`${type}_${half === "request" ? "Request" : "Response"}`, fields, message ?? {}) as ServiceTypes[S][H];
}

function normalizeFields(type: string, message: unknown): unknown {
  const fields = MESSAGE_FIELDS[type as MessageTypeName];
  if (fields === undefined) throw new Error(`unknown message type '${type}'`);
  return normalizeWithFields(type, fields, message);
}

function normalizeWithFields(type: string, fields: readonly MessageField[], message: unknown): unknown {
  if (typeof message !== "object" || message === null) {
    throw new TypeError(`a ${type} message must be an object, got ${message === null ? "null" : typeof message}`);
  }
  const source = message as Record<string, unknown>;
  const result: Record<string, unknown> = {};
  for (const field of fields) {
    const value = source[field.name];
    if (field.isComplex) {
      result[field.name] = field.isArray ? toArray(value, field.name).map((item) => normalizeFields(field.type, item)) : normalizeFields(field.type, value);
    } else if (field.isArray) {
      const typed = TYPED_ARRAYS[field.type];
      if (typed === undefined) result[field.name] = toArray(value, field.name);
      else {
        const constructor = (globalThis as unknown as Record<string, TypedArrayConstructor>)[typed]!;
        // Already the promised typed array (CDR readers deliver them): kept as is, an image is not copied per byte.
        if (value instanceof (constructor as unknown as new () => unknown)) {
          result[field.name] = value;
          continue;
        }
        const array = toArray(value, field.name);
        const bigints = field.type === "int64" || field.type === "uint64";
        result[field.name] = constructor.from(bigints ? array.map((v) => BigInt(v as number | bigint)) : array);
      }
    } else if ((field.type === "int64" || field.type === "uint64") && typeof value === "number") {
      result[field.name] = BigInt(value);
    } else if (field.type === "time" || field.type === "duration") {
      const time = value as Partial<RosTime> | undefined;
      result[field.name] = { sec: Number(time?.sec ?? 0), nanosec: Number(time?.nanosec ?? 0) };
    } else {
      result[field.name] = value;
    }
  }
  return result;
}

function toArray(value: unknown, fieldName: string): unknown[] {
  if (Array.isArray(value)) return value;
  if (ArrayBuffer.isView(value)) return Array.from(value as unknown as ArrayLike<unknown>);
  if (value === undefined || value === null) return [];
  throw new TypeError(`field '${fieldName}' must be an array, got ${typeof value}`);
}
