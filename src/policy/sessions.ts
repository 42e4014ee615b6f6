/**
 * ONNX sessions of a model directory on the first execution provider that works, in the configured order
 * (default cuda, webgpu, cpu), and the check of every graph's tensor names, element types and fixed
 * dimensions against the manifest. A provider that fails is logged with its reason and the next one is
 * tried; a WebGPU failure sticks for the process (onnxruntime cannot retry the adapter).
 */
import { existsSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import * as ort from "onnxruntime-node";
import { InputError } from "../errors.js";
import { MODEL_FILES, type Manifest } from "./manifest.js";
import { noGpuReason } from "./vulkan.js";

export const PROVIDERS = ["cuda", "webgpu", "cpu"] as const;
export type ProviderName = (typeof PROVIDERS)[number];
export const DEFAULT_PROVIDERS: readonly ProviderName[] = ["cuda", "webgpu", "cpu"];

export interface ModelSessions {
  vision: ort.InferenceSession;
  /** Always on the CPU: a table lookup of a few rows, and it keeps the 1 GB table out of GPU memory. */
  embed: ort.InferenceSession;
  decoder: ort.InferenceSession;
  provider: ProviderName;
  /** Providers tried before `provider`, with why each was skipped. */
  skipped: { provider: ProviderName; reason: string }[];
}

export interface SessionOptions {
  providers?: readonly ProviderName[];
  /** Where skipped providers are reported. */
  warn?: (message: string) => void;
  /** CPU intra-op threads (default: onnxruntime's choice). */
  threads?: number;
}

let webgpuFailure: string | undefined;

/** Why the CUDA provider cannot run here, or undefined when its libraries are installed. */
export function cudaUnavailableReason(): string | undefined {
  let bindingDir: string;
  try {
    const entry = createRequire(import.meta.url).resolve("onnxruntime-node");
    bindingDir = path.join(path.dirname(entry), "..", "bin", "napi-v6", process.platform, process.arch);
  } catch {
    return "onnxruntime-node is not resolvable";
  }
  const library = path.join(bindingDir, process.platform === "win32" ? "onnxruntime_providers_cuda.dll" : "libonnxruntime_providers_cuda.so");
  return existsSync(library) ? undefined : "the CUDA provider libraries are not installed (onnxruntime-node was installed without them)";
}

/** The model files a directory must hold, checked before onnxruntime sees them. */
export function checkModelFiles(dir: string, manifest: Manifest): void {
  const required = [...Object.values(MODEL_FILES), manifest.text_tokenizer, path.join(manifest.fast_tokenizer, "processor_config.json"), path.join(manifest.fast_tokenizer, "tokenizer.json")];
  for (const file of required) {
    const full = path.join(dir, file);
    if (!existsSync(full)) throw new InputError(`${full}: missing; a model directory needs ${required.join(", ")}`);
    if (statSync(full).size === 0) throw new InputError(`${full}: empty file`);
  }
}

export async function createSessions(dir: string, manifest: Manifest, options: SessionOptions = {}): Promise<ModelSessions> {
  const order = options.providers ?? DEFAULT_PROVIDERS;
  if (order.length === 0) throw new InputError("providers: empty list; expected some of cuda, webgpu, cpu");
  const warn = options.warn ?? (() => {});
  const skipped: ModelSessions["skipped"] = [];
  const file = (name: string) => path.join(dir, name);
  const cpuOptions = sessionOptions("cpu", manifest, options.threads);
  const embed = await load(file(MODEL_FILES.embed), cpuOptions);
  checkEmbed(embed, manifest, file(MODEL_FILES.embed));

  for (const [index, provider] of order.entries()) {
    // Without a GPU, WebGPU runs on a software Vulkan driver: only worth it when nothing better follows.
    const cpuFollows = order.slice(index + 1).includes("cpu");
    const reason = provider === "cuda" ? cudaUnavailableReason() : provider === "webgpu" ? (webgpuFailure ?? (cpuFollows ? noGpuReason() : undefined)) : undefined;
    if (reason !== undefined) {
      skipped.push({ provider, reason });
      warn(`execution provider ${provider} skipped: ${reason}`);
      continue;
    }
    let decoder: ort.InferenceSession;
    let vision: ort.InferenceSession;
    try {
      // On the CPU a failure is the file's fault: `load` names it.
      decoder = await load(file(MODEL_FILES.decoder), sessionOptions(provider, manifest, options.threads));
      vision = await load(file(MODEL_FILES.vision), sessionOptions(provider, manifest, options.threads, false));
    } catch (error) {
      if (provider === "cpu") throw error;
      const message = error instanceof Error ? error.message.split("\n")[0]! : String(error);
      if (provider === "webgpu") webgpuFailure = `earlier failure in this process: ${message}`;
      skipped.push({ provider, reason: message });
      warn(`execution provider ${provider} failed, falling back: ${message}`);
      continue;
    }
    checkDecoder(decoder, manifest, file(MODEL_FILES.decoder));
    checkVision(vision, manifest, file(MODEL_FILES.vision));
    return { vision, embed, decoder, provider, skipped };
  }
  throw new InputError(`providers [${order.join(", ")}]: none is usable here (${skipped.map((s) => `${s.provider}: ${s.reason}`).join("; ")}); add cpu to the list`);
}

function sessionOptions(provider: ProviderName, manifest: Manifest, threads: number | undefined, decoder = true): ort.InferenceSession.SessionOptions {
  // Severity 3: errors only (onnxruntime warns about shape ops it places on the CPU on purpose).
  const options: ort.InferenceSession.SessionOptions = { executionProviders: [provider], graphOptimizationLevel: "all", logSeverityLevel: 3 };
  if (threads !== undefined && threads > 0) options.intraOpNumThreads = threads;
  if (provider === "webgpu" && decoder) {
    // The KV cache stays on the GPU between steps; logits come back to the CPU for the argmax.
    const locations: Record<string, ort.Tensor.DataLocation> = { logits: "cpu" };
    for (let l = 0; l < manifest.decoder.num_layers; l++) {
      locations[`present.${l}.key`] = "gpu-buffer";
      locations[`present.${l}.value`] = "gpu-buffer";
    }
    options.preferredOutputLocation = locations;
  }
  return options;
}

async function load(file: string, options: ort.InferenceSession.SessionOptions): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(file, options);
  } catch (error) {
    throw new InputError(`${file}: onnxruntime cannot load it: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`);
  }
}

/** A dimension: fixed, `null` for any, `"variable"` for one that must be symbolic (the cache's positions). */
type Expected = { name: string; type: string; shape: (number | null | "variable")[]; note?: string };

function checkValues(kind: "input" | "output", actual: readonly ort.InferenceSession.ValueMetadata[], expected: Expected[], file: string): void {
  const byName = new Map(actual.map((value) => [value.name, value]));
  for (const want of expected) {
    const value = byName.get(want.name);
    if (value === undefined) throw new InputError(`${file}: ${kind} '${want.name}' is missing; the graph has ${kind}s ${actual.map((v) => v.name).join(", ")}`);
    if (!value.isTensor) throw new InputError(`${file}: ${kind} '${want.name}' is not a tensor`);
    if (value.type !== want.type) throw new InputError(`${file}: ${kind} '${want.name}' is ${value.type}, expected ${want.type} (pi0fast.json dtype)`);
    if (value.shape.length !== want.shape.length) throw new InputError(`${file}: ${kind} '${want.name}' has rank ${value.shape.length}, expected [${want.shape.map((d) => d ?? "?").join(", ")}]`);
    want.shape.forEach((dim, axis) => {
      const got = value.shape[axis];
      if (dim === "variable" && typeof got === "number" && got >= 0) {
        throw new InputError(`${file}: ${kind} '${want.name}' has dimension ${axis} = ${got}, expected the variable number of positions${want.note ?? ""}; shape [${value.shape.join(", ")}]`);
      }
      if (typeof dim === "number" && typeof got === "number" && got !== dim) {
        throw new InputError(`${file}: ${kind} '${want.name}' has dimension ${axis} = ${got}, expected ${dim} (pi0fast.json${want.note ?? ""}); shape [${value.shape.join(", ")}]`);
      }
    });
  }
}

function checkEmbed(session: ort.InferenceSession, m: Manifest, file: string): void {
  checkValues("input", session.inputMetadata, [{ name: "input_ids", type: "int64", shape: [null, null] }], file);
  checkValues("output", session.outputMetadata, [{ name: "inputs_embeds", type: m.dtype, shape: [null, null, m.decoder.hidden_size] }], file);
}

function checkVision(session: ort.InferenceSession, m: Manifest, file: string): void {
  const size = m.vision.image_size;
  checkValues("input", session.inputMetadata, [{ name: "pixel_values", type: "float32", shape: [null, 3, size, size] }], file);
  checkValues("output", session.outputMetadata, [{ name: "image_features", type: m.dtype, shape: [null, m.vision.tokens_per_image, m.decoder.hidden_size] }], file);
}

function checkDecoder(session: ort.InferenceSession, m: Manifest, file: string): void {
  const d = m.decoder;
  const positionsLast = m.key_cache_layout === "bhds";
  const note = `, key_cache_layout ${m.key_cache_layout}`;
  const cache = (prefix: string): Expected[] =>
    Array.from({ length: d.num_layers }, (_, l): Expected[] => [
      { name: `${prefix}.${l}.key`, type: m.dtype, shape: positionsLast ? [null, d.num_key_value_heads, d.head_dim, "variable"] : [null, d.num_key_value_heads, "variable", d.head_dim], note },
      { name: `${prefix}.${l}.value`, type: m.dtype, shape: [null, d.num_key_value_heads, "variable", d.head_dim] },
    ]).flat();
  checkValues(
    "input",
    session.inputMetadata,
    [
      { name: "inputs_embeds", type: m.dtype, shape: [null, null, d.hidden_size] },
      { name: "attention_mask", type: "int64", shape: [null, null] },
      { name: "position_ids", type: "int64", shape: [null, null] },
      ...cache("past_key_values"),
    ],
    file,
  );
  checkValues("output", session.outputMetadata, [{ name: "logits", type: "float32", shape: [null, null, m.logit_token_ids.length] }, ...cache("present")], file);
  const extra = session.inputNames.filter((name) => !/^(inputs_embeds|attention_mask|position_ids|past_key_values\.\d+\.(key|value))$/.test(name));
  if (extra.length > 0) throw new InputError(`${file}: unexpected input(s) ${extra.join(", ")}; the decoder contract has inputs_embeds, attention_mask, position_ids, past_key_values.{i}.key|value`);
  const layers = session.inputNames.filter((name) => name.startsWith("past_key_values.")).length / 2;
  if (layers !== d.num_layers) throw new InputError(`${file}: has ${layers} layers of past_key_values, pi0fast.json decoder.num_layers says ${d.num_layers}`);
}
