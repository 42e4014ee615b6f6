/**
 * The KV cache as an explicit object passed from step to step: one named tensor per layer and kind, as the
 * decoder's `past_key_values.{i}.key|value` inputs. Each step's `present.*` outputs become the next cache;
 * the previous step's tensors are disposed (on WebGPU they are GPU buffers that would otherwise leak).
 */
import * as ort from "onnxruntime-node";

export type CacheType = "float32" | "float16";

/** Axis order of the cached keys (manifest `key_cache_layout`); values are always `bhsd`. */
export type KeyCacheLayout = "bhsd" | "bhds";

export class KvCache {
  private constructor(
    readonly tensors: Readonly<Record<string, ort.Tensor>>,
    /** Positions held (the past sequence length). */
    readonly length: number,
  ) {}

  /** The zero-length cache of the first step. */
  static empty(layers: number, kvHeads: number, headDim: number, type: CacheType, keyLayout: KeyCacheLayout = "bhsd"): KvCache {
    const tensors: Record<string, ort.Tensor> = {};
    const data = type === "float16" ? new Uint16Array(0) : new Float32Array(0);
    for (let l = 0; l < layers; l++) {
      tensors[`past_key_values.${l}.key`] = new ort.Tensor(type, data, keyLayout === "bhds" ? [1, kvHeads, headDim, 0] : [1, kvHeads, 0, headDim]);
      tensors[`past_key_values.${l}.value`] = new ort.Tensor(type, data, [1, kvHeads, 0, headDim]);
    }
    return new KvCache(tensors, 0);
  }

  /** The cache made of a step's `present.*` outputs. */
  static fromPresent(outputs: ort.InferenceSession.ReturnType, layers: number): KvCache {
    const tensors: Record<string, ort.Tensor> = {};
    let length = 0;
    for (let l = 0; l < layers; l++) {
      for (const kind of ["key", "value"]) {
        const present = outputs[`present.${l}.${kind}`];
        if (present === undefined) throw new Error(`decoder output present.${l}.${kind} is missing`);
        tensors[`past_key_values.${l}.${kind}`] = present;
        // Values are [batch, KV heads, positions, head dim] in either key layout.
        if (kind === "value") length = present.dims[2]!;
      }
    }
    return new KvCache(tensors, length);
  }

  /** Frees the tensors (GPU buffers on WebGPU; CPU tensors are left to the garbage collector). */
  dispose(): void {
    for (const tensor of Object.values(this.tensors)) if (tensor.location !== "cpu") tensor.dispose();
  }
}
