/**
 * `npm run bench -- real-model --model <dir> [--provider cpu] [--prefix 300] [--steps 8]`
 *
 * An exported model (e.g. tools/export_pi0fast.py of a full-size checkpoint) on one provider: load time, vision
 * time for its cameras, prefill time for a prefix of `--prefix` positions, and the per-token decode time with the
 * KV cache (median of `--steps` steps) against the memory-bandwidth bound: decoder weight bytes / the memory
 * bandwidth measured in the same run (a 512 MiB copy, read + write bytes over its time, median of 5).
 */
import { readdirSync, statSync } from "node:fs";
import path from "node:path";
import * as ort from "onnxruntime-node";
import { PREFIX_GROUP, type EmbeddingArray } from "../src/policy/decoder.js";
import { MODEL_FILES } from "../src/policy/manifest.js";
import { Pi0FastPolicy } from "../src/policy/policy.js";
import type { ProviderName } from "../src/policy/sessions.js";

function option(argv: string[], flag: string): string | undefined {
  const index = argv.indexOf(flag);
  return index >= 0 ? argv[index + 1] : undefined;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Copy bandwidth in GB/s: bytes read + bytes written per second. */
function copyBandwidthGbs(): number {
  const bytes = 512 * 1024 * 1024;
  const source = new Float64Array(bytes / 8).fill(1.5);
  const target = new Float64Array(bytes / 8);
  target.set(source); // pages in
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const start = performance.now();
    target.set(source);
    times.push(performance.now() - start);
  }
  return (2 * bytes) / (median(times) / 1000) / 1e9;
}

export async function run(argv: string[]): Promise<void> {
  const model = option(argv, "--model");
  if (model === undefined) throw new Error("real-model bench: give --model <exported model directory>");
  const provider = (option(argv, "--provider") ?? "cpu") as ProviderName;
  const prefixLength = Number(option(argv, "--prefix") ?? 300);
  const steps = Number(option(argv, "--steps") ?? 8);

  const bandwidthGbs = copyBandwidthGbs();
  const decoderBytes = readdirSync(model)
    .filter((name) => name.startsWith(MODEL_FILES.decoder))
    .reduce((sum, name) => sum + statSync(path.join(model, name)).size, 0);
  const boundMs = (decoderBytes / (bandwidthGbs * 1e9)) * 1000;

  const loadStart = performance.now();
  const policy = await Pi0FastPolicy.load(model, { providers: [provider] });
  const loadMs = performance.now() - loadStart;
  try {
    const m = policy.manifest;
    const size = m.vision.image_size;
    const images = m.vision.cameras.map((_, c) => ({ width: size, height: size, data: Uint8Array.from({ length: size * size * 3 }, (_, i) => (i * 13 + c) & 0xff) }));
    const visionStart = performance.now();
    await policy.imageFeatures(policy.pixelValues(images));
    const visionMs = performance.now() - visionStart;

    // A prefix of real token embeddings (the logit tokens' rows, cycled), then cached steps of one token each.
    const width = m.decoder.hidden_size;
    const rows = policy.tokenEmbeddings;
    const rowCount = rows.length / width;
    const prefix = new (rows.constructor as { new (length: number): EmbeddingArray })(prefixLength * width);
    for (let p = 0; p < prefixLength; p++) prefix.set(rows.subarray((p % rowCount) * width, ((p % rowCount) + 1) * width), p * width);
    const groups = new BigInt64Array(prefixLength + steps + 1).fill(BigInt(PREFIX_GROUP));
    for (let i = 0; i <= steps; i++) groups[prefixLength + i] = BigInt(PREFIX_GROUP + 1 + i);
    const prefillStart = performance.now();
    let step = await policy.decoder.run(prefix, groups.subarray(0, prefixLength), policy.decoder.emptyCache());
    const prefillMs = performance.now() - prefillStart;
    const stepMs: number[] = [];
    for (let i = 0; i < steps; i++) {
      const start = performance.now();
      const next = await policy.decoder.run(rows.subarray(0, width), groups.subarray(0, prefixLength + i + 1), step.cache);
      stepMs.push(performance.now() - start);
      step.cache.dispose();
      step = next;
    }
    step.cache.dispose();
    const d = m.decoder;
    console.log(`${m.name} (${m.dtype}) on ${policy.provider}, onnxruntime ${ort.env.versions.common}: ${d.num_layers} layers × width ${d.hidden_size}, ${m.vision.cameras.length} camera(s)`);
    console.log(`  load ${(loadMs / 1000).toFixed(1)} s; vision ${visionMs.toFixed(0)} ms; prefill of ${prefixLength} positions ${prefillMs.toFixed(0)} ms`);
    console.log(`  decode: median ${median(stepMs).toFixed(1)} ms/token over ${steps} cached steps (first ${stepMs[0]!.toFixed(1)} ms)`);
    console.log(`  bandwidth bound: decoder ${(decoderBytes / 1e9).toFixed(2)} GB / measured copy bandwidth ${bandwidthGbs.toFixed(1)} GB/s = ${boundMs.toFixed(1)} ms/token → ${(median(stepMs) / boundMs).toFixed(2)}× the bound`);
  } finally {
    await policy.dispose();
  }
}
