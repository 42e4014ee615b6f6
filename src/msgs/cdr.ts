/**
 * A CDR (XCDR1, little-endian) writer for ROS 2 messages, taking the same definition list as
 * `@foxglove/rosmsg2-serialization`'s MessageWriter. That writer sizes strings by UTF-16 length and so
 * corrupts any non-ASCII string (an instruction "saisir la tasse rouge → bac" comes out truncated); this
 * one encodes UTF-8 and sizes by bytes. Reading stays with `MessageReader`, which is correct.
 */
import os from "node:os";
import type { MessageDefinition, MessageDefinitionField } from "@foxglove/message-definition";

const SIZES: Readonly<Record<string, number>> = {
  bool: 1,
  int8: 1,
  uint8: 1,
  byte: 1,
  char: 1,
  int16: 2,
  uint16: 2,
  int32: 4,
  uint32: 4,
  float32: 4,
  int64: 8,
  uint64: 8,
  float64: 8,
};

const utf8 = new TextEncoder();
const LITTLE_ENDIAN_HOST = os.endianness() === "LE";

type NumericArrayConstructor = { from(values: ArrayLike<number>): unknown; new (length: number): unknown };
const TYPED_ARRAY_OF: Readonly<Record<string, NumericArrayConstructor>> = {
  int8: Int8Array,
  uint8: Uint8Array,
  byte: Uint8Array,
  char: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  float32: Float32Array,
  float64: Float64Array,
};

export class CdrMessageWriter {
  private readonly byName = new Map<string, MessageDefinition>();
  private readonly root: MessageDefinition;

  /** `definitions[0]` is the root message; the others are its dependencies (short or full names). */
  constructor(definitions: readonly MessageDefinition[]) {
    const [root] = definitions;
    if (root === undefined) throw new Error("CdrMessageWriter needs at least the root message definition");
    this.root = root;
    for (const definition of definitions) if (definition.name !== undefined) this.byName.set(definition.name, definition);
  }

  // Kept between messages: a stream of camera frames grows it once, not per frame.
  private readonly buffer = new GrowableBuffer();

  writeMessage(message: unknown): Uint8Array {
    const buffer = this.buffer;
    buffer.reset();
    buffer.bytes(new Uint8Array([0, 1, 0, 0])); // encapsulation: CDR_LE
    this.writeStruct(buffer, this.root, message);
    return buffer.result();
  }

  private definition(type: string): MessageDefinition {
    const found = this.byName.get(type) ?? this.byName.get(type.replace("/msg/", "/"));
    if (found === undefined) throw new Error(`no definition for nested type '${type}'`);
    return found;
  }

  private writeStruct(buffer: GrowableBuffer, definition: MessageDefinition, message: unknown): void {
    const fields = definition.definitions.filter((field) => field.isConstant !== true);
    if (fields.length === 0) {
      buffer.scalar("uint8", 0); // rosidl's structure_needs_at_least_one_member
      return;
    }
    const values = (typeof message === "object" && message !== null ? message : {}) as Record<string, unknown>;
    for (const field of fields) this.writeField(buffer, field, values[field.name]);
  }

  private writeField(buffer: GrowableBuffer, field: MessageDefinitionField, value: unknown): void {
    if (!field.isArray) {
      this.writeOne(buffer, field, value);
      return;
    }
    const items = (value === undefined || value === null ? [] : value) as ArrayLike<unknown>;
    if (field.arrayLength !== undefined) {
      if (items.length !== field.arrayLength) throw new Error(`field '${field.name}' is a fixed array of ${field.arrayLength}, got ${items.length} items`);
    } else {
      buffer.scalar("uint32", items.length);
    }
    const bulk = field.isComplex !== true && LITTLE_ENDIAN_HOST ? TYPED_ARRAY_OF[field.type] : undefined;
    if (bulk !== undefined && items.length > 0) {
      // Numeric arrays (images, joint positions) go in one copy: same bytes as element by element.
      const typed = items instanceof bulk ? (items as unknown as ArrayBufferView) : (bulk.from(items as ArrayLike<number>) as unknown as ArrayBufferView);
      buffer.align(SIZES[field.type]!);
      buffer.bytes(new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength));
      return;
    }
    for (let i = 0; i < items.length; i += 1) this.writeOne(buffer, field, items[i]);
  }

  private writeOne(buffer: GrowableBuffer, field: MessageDefinitionField, value: unknown): void {
    if (field.isComplex === true) {
      this.writeStruct(buffer, this.definition(field.type), value);
    } else if (field.type === "string") {
      const encoded = utf8.encode(typeof value === "string" ? value : "");
      buffer.scalar("uint32", encoded.length + 1);
      buffer.bytes(encoded);
      buffer.bytes(new Uint8Array([0]));
    } else if (field.type === "time" || field.type === "duration") {
      const time = (value ?? {}) as { sec?: number; nanosec?: number };
      buffer.scalar("int32", time.sec ?? 0);
      buffer.scalar("uint32", time.nanosec ?? 0);
    } else if (field.type in SIZES) {
      buffer.scalar(field.type, value ?? 0);
    } else {
      throw new Error(`field '${field.name}': cannot write ROS type '${field.type}'`);
    }
  }
}

class GrowableBuffer {
  private data = new Uint8Array(256);
  private view = new DataView(this.data.buffer);
  private length = 0;

  reset(): void {
    this.length = 0;
  }

  private reserve(extra: number): void {
    if (this.length + extra <= this.data.length) return;
    let capacity = this.data.length * 2;
    while (capacity < this.length + extra) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(this.data.subarray(0, this.length));
    this.data = grown;
    this.view = new DataView(grown.buffer);
  }

  bytes(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.data.set(bytes, this.length);
    this.length += bytes.length;
  }

  /** Pads to a multiple of `size` bytes, counted from the payload after the 4-byte encapsulation header. */
  align(size: number): void {
    const padding = (size - ((this.length - 4) % size)) % size;
    this.reserve(padding);
    this.data.fill(0, this.length, this.length + padding);
    this.length += padding;
  }

  /** Writes a primitive aligned to its size. */
  scalar(type: string, value: unknown): void {
    const size = SIZES[type]!;
    this.align(size);
    this.reserve(size);
    const at = this.length;
    const view = this.view;
    switch (type) {
      case "bool":
        view.setUint8(at, value === true || value === 1 ? 1 : 0);
        break;
      case "int8":
        view.setInt8(at, Number(value));
        break;
      case "uint8":
      case "byte":
      case "char":
        view.setUint8(at, Number(value));
        break;
      case "int16":
        view.setInt16(at, Number(value), true);
        break;
      case "uint16":
        view.setUint16(at, Number(value), true);
        break;
      case "int32":
        view.setInt32(at, Number(value), true);
        break;
      case "uint32":
        view.setUint32(at, Number(value), true);
        break;
      case "float32":
        view.setFloat32(at, Number(value), true);
        break;
      case "float64":
        view.setFloat64(at, Number(value), true);
        break;
      case "int64":
        view.setBigInt64(at, BigInt(value as number | bigint), true);
        break;
      case "uint64":
        view.setBigUint64(at, BigInt(value as number | bigint), true);
        break;
    }
    this.length += size;
  }

  result(): Uint8Array {
    return this.data.slice(0, this.length);
  }
}
