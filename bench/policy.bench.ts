/**
 * `npm run bench -- policy [--gpu] [options]`
 *
 * CPU (default): the `small` test model (6 layers, width 512). Per prefix length (0/256/512/800 tokens): time
 * per decode step with the KV cache (the prefix lengths interleaved step by step, medians), time of one full
 * recomputation of the same sequence without it, the speed-up, and the step's growth from prefix 0
 * (target ≤ 1.3×). Then the runtime overhead: time outside `session.run` as a share of chunk latency
 * (target ≤ 5%).
 *
 * `--gpu`: a real-size model (`--model <dir>`, or `paligemma-3b` fp16 built into `--out`), on `--provider`
 * (webgpu, cuda): ms per decode step against the memory-bandwidth bound (decoder weight bytes /
 * `--bandwidth-gbs`, default 4800 = H200), prefill ms, chunk latency for 10 and 50 action tokens.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Decoder, PREFIX_GROUP, type DecoderRun, type EmbeddingArray } from "../src/policy/decoder.js";
import { MODEL_FILES } from "../src/policy/manifest.js";
import { Pi0FastPolicy } from "../src/policy/policy.js";
import type { ProviderName } from "../src/policy/sessions.js";
import { makeTestModel, type PresetName } from "../src/policy/test-model.js";

interface Args {
  gpu: boolean;
  model?: string;
  out?: string;
  preset: PresetName;
  dtype: "fp32" | "fp16";
  provider: ProviderName[];
  prefixes: number[];
  steps: number;
  bandwidthGbs: number;
}

function parseArgs(argv: string[]): Args {
  const value = (flag: string) => {
    const index = argv.indexOf(flag);
    return index >= 0 ? argv[index + 1] : undefined;
  };
  const gpu = argv.includes("--gpu");
  return {
    gpu,
    model: value("--model"),
    out: value("--out"),
    preset: (value("--preset") ?? (gpu ? "paligemma-3b" : "small")) as PresetName,
    dtype: (value("--dtype") ?? (gpu ? "fp16" : "fp32")) as "fp32" | "fp16",
    provider: (value("--provider") ?? (gpu ? "webgpu" : "cpu")).split(",") as ProviderName[],
    prefixes: (value("--prefixes") ?? "0,256,512,800").split(",").map(Number),
    steps: Number(value("--steps") ?? 48),
    bandwidthGbs: Number(value("--bandwidth-gbs") ?? 4800),
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function fmt(ms: number): string {
  return ms.toFixed(ms < 10 ? 2 : 1).padStart(8);
}

function embeddings(decoder: Decoder, count: number, seed: number): EmbeddingArray {
  const values = Float32Array.from({ length: count * decoder.width }, (_, i) => Math.sin(i * 0.61 + seed) * 0.3);
  if (decoder.dtype === "float32") return values;
  // float16 bits through a Float32 → half rounding good enough for timing inputs.
  const bits = new Uint16Array(values.length);
  const view = new DataView(new ArrayBuffer(4));
  values.forEach((v, i) => {
    view.setFloat32(0, v);
    const x = view.getUint32(0);
    const exponent = ((x >>> 23) & 0xff) - 112;
    bits[i] = ((x >>> 16) & 0x8000) | (exponent <= 0 ? 0 : (exponent << 10) | ((x >>> 13) & 0x3ff));
  });
  return bits;
}

function groups(prefix: number, suffix: number): BigInt64Array {
  const result = new BigInt64Array(prefix + suffix).fill(BigInt(PREFIX_GROUP));
  for (let i = 0; i < suffix; i++) result[prefix + i] = BigInt(PREFIX_GROUP + 1 + i);
  return result;
}

/** Prefill `prefixLength` positions (+1 forced token), then `steps` cached steps. Returns per-step ms. */
async function cachedSteps(policy: Pi0FastPolicy, prefixLength: number, steps: number): Promise<{ prefillMs: number; stepMs: number[]; runMs: number }> {
  const decoder = policy.decoder;
  const width = decoder.width;
  const start = performance.now();
  let run = await decoder.run(embeddings(decoder, prefixLength + 1, prefixLength), groups(prefixLength, 1), decoder.emptyCache());
  const prefillMs = performance.now() - start;
  let cache = run.cache;
  const stepMs: number[] = [];
  let runMs = 0;
  for (let step = 0; step < steps; step++) {
    const stepStart = performance.now();
    // Feed an action token (never "|"/EOS) so the chunk length is fixed.
    const best = bestActionLogit(policy, run.logits);
    const embedding = policy.tokenEmbeddings.subarray(best * width, (best + 1) * width);
    run = await decoder.run(embedding, groups(prefixLength, cache.length - prefixLength + 1), cache);
    cache.dispose();
    cache = run.cache;
    runMs += run.runMs;
    stepMs.push(performance.now() - stepStart);
  }
  cache.dispose();
  return { prefillMs, stepMs, runMs };
}

/**
 * Cached decode steps at several prefix lengths, interleaved: one step of every prefix per round (the order
 * rotating each round), so that a load change on a shared machine lands on every prefix length alike
 * instead of on whichever was measured at that moment. Returns per-step ms by prefix.
 */
async function interleavedSteps(policy: Pi0FastPolicy, prefixLengths: readonly number[], steps: number): Promise<number[][]> {
  const decoder = policy.decoder;
  const width = decoder.width;
  const runs: DecoderRun[] = [];
  for (const prefixLength of prefixLengths) runs.push(await decoder.run(embeddings(decoder, prefixLength + 1, prefixLength), groups(prefixLength, 1), decoder.emptyCache()));
  const stepMs = prefixLengths.map(() => [] as number[]);
  try {
    for (let step = 0; step < steps; step++) {
      for (let k = 0; k < prefixLengths.length; k++) {
        const i = (k + step) % prefixLengths.length;
        const prefixLength = prefixLengths[i]!;
        const previous = runs[i]!;
        const stepStart = performance.now();
        const best = bestActionLogit(policy, previous.logits);
        const embedding = policy.tokenEmbeddings.subarray(best * width, (best + 1) * width);
        runs[i] = await decoder.run(embedding, groups(prefixLength, previous.cache.length - prefixLength + 1), previous.cache);
        previous.cache.dispose();
        stepMs[i]!.push(performance.now() - stepStart);
      }
    }
  } finally {
    for (const run of runs) run.cache.dispose();
  }
  return stepMs;
}

/** The best action-token logit of the last position (never "|"/EOS, so the chunk length is fixed). */
function bestActionLogit(policy: Pi0FastPolicy, logits: Float32Array): number {
  const count = policy.decoder.logitCount;
  const offset = logits.length - count;
  let best = 0;
  for (let i = 0; i < count; i++) if (policy.vocabulary.fastIdOfLogit[i]! >= 0 && logits[offset + i]! > logits[offset + best]!) best = i;
  return best;
}

async function recompute(policy: Pi0FastPolicy, prefixLength: number, suffixLength: number): Promise<number> {
  const decoder = policy.decoder;
  const input = embeddings(decoder, prefixLength + suffixLength, 1);
  const start = performance.now();
  const run = await decoder.run(input, groups(prefixLength, suffixLength), decoder.emptyCache());
  const ms = performance.now() - start;
  run.cache.dispose();
  return ms;
}

function directoryBytes(dir: string, prefix: string): number {
  return readdirSync(dir)
    .filter((name) => name.startsWith(prefix))
    .reduce((sum, name) => sum + statSync(path.join(dir, name)).size, 0);
}

async function buildModel(args: Args): Promise<{ dir: string; temporary: boolean }> {
  if (args.model !== undefined) return { dir: args.model, temporary: false };
  const dir = args.out ?? mkdtempSync(path.join(os.tmpdir(), `pi0fast-bench-${args.preset}-`));
  const start = performance.now();
  await makeTestModel({ out: dir, preset: args.preset, dtype: args.dtype, seed: 0 });
  console.log(`built ${args.preset} ${args.dtype} in ${dir} (${((performance.now() - start) / 1000).toFixed(1)} s)`);
  return { dir, temporary: args.out === undefined };
}

async function cpuBench(args: Args, policy: Pi0FastPolicy): Promise<void> {
  const d = policy.manifest.decoder;
  console.log(`\nKV cache vs recomputation — ${policy.manifest.name}: ${d.num_layers} layers, width ${d.hidden_size}, ${d.num_attention_heads} heads / ${d.num_key_value_heads} KV head, on ${policy.provider}`);
  console.log(`${"prefix".padStart(7)} ${"step ms".padStart(8)} ${"recompute ms".padStart(13)} ${"speed-up".padStart(9)} ${"vs prefix 0".padStart(12)}`);
  await cachedSteps(policy, args.prefixes[0]!, 4); // warm-up
  const stepMs = await interleavedSteps(policy, args.prefixes, args.steps);
  let baseline = 0;
  for (const [index, prefix] of args.prefixes.entries()) {
    const step = median(stepMs[index]!.slice(2));
    const full: number[] = [];
    for (let i = 0; i < 3; i++) full.push(await recompute(policy, prefix, 1 + args.steps / 2));
    const recomputeMs = median(full);
    if (index === 0) baseline = step;
    console.log(`${String(prefix).padStart(7)} ${fmt(step)} ${fmt(recomputeMs).padStart(13)} ${`${(recomputeMs / step).toFixed(1)}×`.padStart(9)} ${`${(step / baseline).toFixed(2)}×`.padStart(12)}`);
  }
  console.log(`(steps: median of ${args.steps - 2} per prefix, prefixes interleaved step by step; target for prefix ${args.prefixes.at(-1)} ≤ 1.30× prefix ${args.prefixes[0]})`);

  const size = policy.manifest.vision.image_size;
  const input = {
    images: policy.manifest.vision.cameras.map((_, c) => ({ width: size, height: size, data: Uint8Array.from({ length: size * size * 3 }, (_, i) => (i * 13 + c) & 0xff) })),
    state: policy.manifest.state.names.map(() => 0),
    instruction: "pick up the red cube",
  };
  await policy.infer(input);
  const shares: number[] = [];
  const totals: number[] = [];
  let tokens = 0;
  for (let i = 0; i < 5; i++) {
    const result = await policy.infer(input);
    shares.push((result.timings.totalMs - result.timings.sessionRunMs) / result.timings.totalMs);
    totals.push(result.timings.totalMs);
    tokens = result.tokenCount;
  }
  console.log(`\nruntime overhead — whole chunk (${tokens} action tokens, constrained, prefix ${policy.manifest.vision.cameras.length}×${policy.manifest.vision.tokens_per_image} image tokens + prompt):`);
  console.log(`  chunk latency median ${median(totals).toFixed(1)} ms; outside session.run: median ${(median(shares) * 100).toFixed(2)}% (target ≤ 5%)`);
}

async function gpuBench(args: Args, policy: Pi0FastPolicy, dir: string): Promise<void> {
  const weightBytes = directoryBytes(dir, MODEL_FILES.decoder);
  const boundMs = (weightBytes / (args.bandwidthGbs * 1e9)) * 1000;
  const prefix = args.prefixes.at(-1)!;
  console.log(`\n${policy.manifest.name} on ${policy.provider}: decoder ${(weightBytes / 1e9).toFixed(2)} GB → bandwidth bound ${boundMs.toFixed(2)} ms/token at ${args.bandwidthGbs} GB/s`);
  await cachedSteps(policy, prefix, 4); // shader compilation, allocations
  for (const tokens of [10, 50]) {
    const runs = [];
    for (let i = 0; i < 3; i++) runs.push(await cachedSteps(policy, prefix, tokens));
    const step = median(runs.flatMap((r) => r.stepMs.slice(1)));
    const prefill = median(runs.map((r) => r.prefillMs));
    const chunk = median(runs.map((r) => r.prefillMs + r.stepMs.reduce((a, b) => a + b, 0)));
    console.log(`  prefix ${prefix}, ${tokens} tokens: prefill ${prefill.toFixed(1)} ms, step ${step.toFixed(2)} ms (${(step / boundMs).toFixed(2)}× the bound, target ≤ 1.5×), chunk ${chunk.toFixed(1)} ms (decoder only)`);
  }
  const size = policy.manifest.vision.image_size;
  const result = await policy.infer({
    images: policy.manifest.vision.cameras.map(() => ({ width: size, height: size, data: new Uint8Array(size * size * 3).fill(100) })),
    state: policy.manifest.state.names.map(() => 0),
    instruction: "pick up the red cube",
  });
  const t = result.timings;
  console.log(`  whole chunk: vision ${t.visionMs.toFixed(1)} ms, prefill ${t.prefillMs.toFixed(1)} ms, ${result.tokenCount} tokens, total ${t.totalMs.toFixed(1)} ms, status ${result.status}`);
}

export async function run(argv: string[]): Promise<void> {
  const args = parseArgs(argv);
  if (args.gpu && process.env.XDG_RUNTIME_DIR === undefined) process.env.XDG_RUNTIME_DIR = mkdtempSync(path.join(os.tmpdir(), "pi0fast-xdg-"));
  const { dir, temporary } = await buildModel(args);
  try {
    for (const provider of args.gpu ? args.provider : args.provider.slice(0, 1)) {
      const policy = await Pi0FastPolicy.load(dir, { providers: [provider], maxDecodeSteps: 256, warn: (message) => console.log(`note: ${message}`) }).catch((error: unknown) => {
        console.log(`provider ${provider}: not available (${error instanceof Error ? error.message : String(error)})`);
        return undefined;
      });
      if (policy === undefined) continue;
      try {
        if (args.gpu) await gpuBench(args, policy, dir);
        else await cpuBench(args, policy);
      } finally {
        await policy.dispose();
      }
    }
  } finally {
    if (temporary) rmSync(dir, { recursive: true, force: true });
  }
}
