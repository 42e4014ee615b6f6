/**
 * A small ONNX graph builder over `onnx-proto`: named values, nodes, initializers (inline or in an external
 * data file for models over protobuf's 2 GB limit) and model serialization. Opset 17, default domain only,
 * so every op has a CPU and a WebGPU kernel in onnxruntime.
 */
import { closeSync, openSync, writeSync } from "node:fs";
import onnxProto from "onnx-proto";

const { onnx } = onnxProto;

export const OPSET = 17;

export type ElementType = "float32" | "float16" | "int64" | "bool";

const DATA_TYPES: Record<ElementType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  float16: onnx.TensorProto.DataType.FLOAT16,
  int64: onnx.TensorProto.DataType.INT64,
  bool: onnx.TensorProto.DataType.BOOL,
};

/** A dimension: a fixed size or a symbolic name (`batch`, `past_sequence_length`). */
export type Dim = number | string;

/** Where initializer bytes over `inlineLimitBytes` go: a file next to the model, written as the graph is built. */
export interface ExternalData {
  /** The data file's name as the model refers to it (relative to the model file). */
  readonly location: string;
  /** The data file's path for writing. */
  readonly path: string;
}

export class GraphBuilder {
  private readonly nodes: onnxProto.onnx.INodeProto[] = [];
  private readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  private readonly inputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly outputs: onnxProto.onnx.IValueInfoProto[] = [];
  private counter = 0;
  private externalFd: number | undefined;
  private externalOffset = 0;

  constructor(
    readonly name: string,
    private readonly external?: ExternalData,
    private readonly inlineLimitBytes = 1 << 20,
  ) {
    if (external !== undefined) this.externalFd = openSync(external.path, "w");
  }

  input(name: string, type: ElementType, shape: readonly Dim[]): string {
    this.inputs.push(valueInfo(name, type, shape));
    return name;
  }

  output(name: string, type: ElementType, shape: readonly Dim[]): void {
    this.outputs.push(valueInfo(name, type, shape));
  }

  /** A fresh value name with a readable prefix. */
  fresh(prefix: string): string {
    return `${prefix}_${this.counter++}`;
  }

  /** Adds a node and returns its single output's name (or `outputs` when given). */
  node(opType: string, inputs: readonly string[], attributes: Record<string, number | number[] | string> = {}, outputs?: readonly string[]): string {
    const outs = outputs ?? [this.fresh(opType.toLowerCase())];
    this.nodes.push({
      opType,
      input: [...inputs],
      output: [...outs],
      name: this.fresh(`n_${opType}`),
      attribute: Object.entries(attributes).map(([name, value]) => attribute(name, value)),
    });
    return outs[0]!;
  }

  /** A constant tensor. Float data are stored as `type` (fp16 converted here). */
  initializer(name: string, type: ElementType, dims: readonly number[], values: Float32Array | BigInt64Array | Uint8Array): string {
    const raw = rawBytes(type, values);
    const tensor: onnxProto.onnx.ITensorProto = { name, dataType: DATA_TYPES[type], dims: [...dims] };
    if (this.externalFd !== undefined && raw.byteLength > this.inlineLimitBytes) {
      writeSync(this.externalFd, raw);
      tensor.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
      tensor.externalData = [
        { key: "location", value: this.external!.location },
        { key: "offset", value: String(this.externalOffset) },
        { key: "length", value: String(raw.byteLength) },
      ];
      this.externalOffset += raw.byteLength;
    } else {
      tensor.rawData = raw;
    }
    this.initializers.push(tensor);
    return name;
  }

  /**
   * A float constant produced block by block (weights too large for one array); `type` float32 or float16.
   * The blocks must add up to the product of `dims`.
   */
  initializerBlocks(name: string, type: ElementType, dims: readonly number[], blocks: Iterable<Float32Array>): string {
    const count = dims.reduce((a, b) => a * b, 1);
    const bytesPer = type === "float16" ? 2 : 4;
    if (this.externalFd === undefined || count * bytesPer <= this.inlineLimitBytes) {
      const all = new Float32Array(count);
      let offset = 0;
      for (const block of blocks) {
        all.set(block, offset);
        offset += block.length;
      }
      return this.initializer(name, type, dims, all);
    }
    const start = this.externalOffset;
    let written = 0;
    for (const block of blocks) {
      const raw = rawBytes(type, block);
      writeSync(this.externalFd, raw);
      written += raw.byteLength;
    }
    if (written !== count * bytesPer) throw new Error(`initializer ${name}: blocks hold ${written / bytesPer} values, dims ${dims.join("×")} need ${count}`);
    this.externalOffset += written;
    this.initializers.push({
      name,
      dataType: DATA_TYPES[type],
      dims: [...dims],
      dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [
        { key: "location", value: this.external!.location },
        { key: "offset", value: String(start) },
        { key: "length", value: String(written) },
      ],
    });
    return name;
  }

  /** An int64 constant (shapes, axes, indices). */
  ints(values: readonly number[], name = this.fresh("const")): string {
    return this.initializer(name, "int64", [values.length], BigInt64Array.from(values.map(BigInt)));
  }

  /** A float scalar constant of `type`. */
  scalar(value: number, type: ElementType, name = this.fresh("scalar")): string {
    return this.initializer(name, type, [], Float32Array.of(value));
  }

  /** The serialized model; closes the external data file. */
  serialize(docString = ""): Uint8Array {
    if (this.externalFd !== undefined) {
      closeSync(this.externalFd);
      this.externalFd = undefined;
    }
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: "pi0fast_ros",
      docString,
      opsetImport: [{ domain: "", version: OPSET }],
      graph: {
        name: this.name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

function valueInfo(name: string, type: ElementType, shape: readonly Dim[]): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: DATA_TYPES[type],
        shape: { dim: shape.map((dim) => (typeof dim === "number" ? { dimValue: dim } : { dimParam: dim })) },
      },
    },
  };
}

function attribute(name: string, value: number | number[] | string): onnxProto.onnx.IAttributeProto {
  const Type = onnx.AttributeProto.AttributeType;
  if (typeof value === "string") return { name, type: Type.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: Type.INTS, ints: value };
  if (Number.isInteger(value)) return { name, type: Type.INT, i: value };
  return { name, type: Type.FLOAT, f: value };
}

function rawBytes(type: ElementType, values: Float32Array | BigInt64Array | Uint8Array): Uint8Array {
  if (type === "float16") {
    const half = float32ToFloat16(values as Float32Array);
    return new Uint8Array(half.buffer, half.byteOffset, half.byteLength);
  }
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE binary16 bits of each value, rounded to nearest even. */
export function float32ToFloat16(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = halfBits(values[i]!);
  return out;
}

function halfBits(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  let mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa !== 0 ? 0x200 : 0);
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - e;
    const half = mantissa >>> shift;
    const rest = mantissa & ((1 << shift) - 1);
    const midpoint = 1 << (shift - 1);
    return sign | (half + (rest > midpoint || (rest === midpoint && (half & 1) === 1) ? 1 : 0));
  }
  const half = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  return sign | (half + (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1) ? 1 : 0));
}

/** The float value of each IEEE binary16 bit pattern. */
export function float16ToFloat32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) {
    const h = bits[i]!;
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >>> 10) & 0x1f;
    const mantissa = h & 0x3ff;
    out[i] = exponent === 0 ? sign * mantissa * 2 ** -24 : exponent === 0x1f ? (mantissa ? NaN : sign * Infinity) : sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
  }
  return out;
}
