/**
 * FAST tokenizer figures, each against the Python reference path measured in the same run (when the
 * interop venv exists), for chunks of 10×7 and 50×7:
 *   (a) DCT + scale + round-half-even + offset/clamp alone: ours against numpy/scipy (target ≥ 5× faster);
 *   (b) our full encode + decode per chunk: DCT, quantize, pre-tokenize, BPE, then ids → code points →
 *       coefficients → inverse DCT (target ≤ 20 µs for 10×7), over a stream of chunks never seen before;
 *   (c) the Python path doing the same: scipy DCT, numpy rounding, `chr` string, Hugging Face `tokenizers`
 *       encode and decode (the Rust core directly, a lower bound for the reference's transformers wrapper),
 *       `ord`, scipy inverse DCT.
 * Every figure is the median over 41 timing windows of about 2 ms (µs per chunk), ours and Python's
 * alike; a shared CPU still moves them, so run the bench more than once. Then BPE training time and peak memory for 100k chunks of 10×7 at vocabulary 1024.
 *
 *   npm run bench -- fast [--train-chunks 100000]
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { BpeModel } from "../src/fast/bpe.js";
import { dctBasis, dctOrtho } from "../src/fast/dct.js";
import { quantizeInto } from "../src/fast/quantize.js";
import { FastTokenizer } from "../src/fast/tokenizer.js";
import { trainFastTokenizer } from "../src/fast/train.js";
import { extremeChunks, syntheticChunks } from "../test/fast/synthetic.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const WINDOWS = 41;
/** Window length: short enough that most windows run without being preempted on a shared CPU. */
const WINDOW_US = 2000;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
}

/**
 * Median over `WINDOWS` windows of about `WINDOW_US` each of the mean time per call (µs), after `warmup`
 * calls; at most `maxCalls` calls in all after the warm-up (the length of a stream of fresh inputs).
 */
function microseconds(run: () => void, warmup: number, maxCalls = Infinity): number {
  const start = performance.now();
  for (let i = 0; i < warmup; i++) run();
  const estimate = ((performance.now() - start) * 1000) / warmup;
  const calls = Math.max(1, Math.min(Math.round(WINDOW_US / estimate), Math.floor(maxCalls / WINDOWS)));
  const perCall: number[] = [];
  for (let window = 0; window < WINDOWS; window++) {
    const begin = performance.now();
    for (let i = 0; i < calls; i++) run();
    perCall.push(((performance.now() - begin) * 1000) / calls);
  }
  return median(perCall);
}

interface PythonFigures {
  dctRound: number;
  encodeDecode: number;
  encode: number;
  decode: number;
}

/** The reference's per-chunk work in numpy/scipy/tokenizers, timed as above; undefined without the venv. */
function pythonReference(job: { horizon: number; dims: number; scale: number; minToken: number; tokenizerJson: string; chunks: number[][]; windows: number; windowUs: number }): PythonFigures | undefined {
  const python = process.env.INTEROP_PYTHON ?? path.join(ROOT, ".venv-interop/bin/python");
  if (!existsSync(python)) return undefined;
  const script = `
import itertools, json, statistics, sys, timeit, numpy as np
from scipy.fft import dct, idct
from tokenizers import Tokenizer
job = json.load(sys.stdin)
T, D, scale, min_token = job["horizon"], job["dims"], job["scale"], job["minToken"]
chunks = [np.array(c, dtype=np.float64).reshape(T, D) for c in job["chunks"]]
tok = Tokenizer.from_str(job["tokenizerJson"])
def dct_round(a):
    return np.maximum(np.around(dct(a, axis=0, norm="ortho") * scale).flatten() - min_token, 0).astype(int)
def encode(a):
    return tok.encode("".join(map(chr, dct_round(a)))).ids
def decode(ids):
    text = tok.decode(ids)
    coeff = (np.array(list(map(ord, text))) + min_token).reshape(-1, D)
    return idct(coeff / scale, axis=0, norm="ortho")
encoded = [encode(a) for a in chunks]
def median_us(f, items):
    source = itertools.cycle(items)
    run = lambda: f(next(source))
    warmup = 200
    estimate = timeit.timeit(run, number=warmup) / warmup
    calls = max(1, round(job["windowUs"] * 1e-6 / estimate))
    return statistics.median(timeit.repeat(run, number=calls, repeat=job["windows"])) / calls * 1e6
print(json.dumps({
    "dctRound": median_us(dct_round, chunks),
    "encode": median_us(encode, chunks),
    "decode": median_us(decode, encoded),
    "encodeDecode": median_us(lambda a: decode(encode(a)), chunks),
}))`;
  try {
    return JSON.parse(execFileSync(python, ["-c", script], { input: JSON.stringify(job), encoding: "utf8", maxBuffer: 1 << 28 })) as PythonFigures;
  } catch (error) {
    console.log(`  (Python reference failed: ${(error as Error).message.split("\n")[0]})`);
    return undefined;
  }
}

const fixed = (value: number) => value.toFixed(value < 10 ? 2 : 1);

export async function run(args: string[]): Promise<void> {
  const trainIndex = args.indexOf("--train-chunks");
  const trainChunks = trainIndex >= 0 ? Number(args[trainIndex + 1]) : 100_000;

  console.log(`FAST per chunk, µs, median of ${WINDOWS} windows of ~${WINDOW_US / 1000} ms; Python = numpy/scipy (+ tokenizers) in the same run`);
  for (const horizon of [10, 50]) {
    const dims = 7;
    const size = horizon * dims;
    const trained = trainFastTokenizer([...syntheticChunks(5000, horizon, dims, 1), ...extremeChunks(horizon, dims, dctBasis(horizon))], { horizon, dims });
    const { scale, minToken } = trained.config;
    const warmup = horizon <= 16 ? 2000 : 500;
    // Streams of chunks the tokenizer has never seen, one per call, so the word cache only holds what
    // earlier chunks taught it (as when encoding a dataset); decode reads ids encoded by a separate copy.
    const streamLength = warmup + WINDOWS * (horizon <= 16 ? 400 : 60);
    const encodeStream = syntheticChunks(streamLength, horizon, dims, 2);
    const roundTripStream = syntheticChunks(streamLength, horizon, dims, 3);
    const uncachedStream = syntheticChunks(streamLength, horizon, dims, 6);
    const separate = new FastTokenizer(trained.config, BpeModel.fromTokenizerJson(JSON.parse(trained.tokenizerJson)));
    const decodeStream = syntheticChunks(streamLength, horizon, dims, 4).map((chunk) => separate.encode(chunk, horizon, dims).tokenIds);
    const meanTokens = decodeStream.reduce((sum, ids) => sum + ids.length, 0) / decodeStream.length;
    const fresh = streamLength - warmup;

    // (a) DCT + rounding alone, into reused buffers as the encoder does.
    const coefficients = new Float64Array(size);
    const codePoints = new Int32Array(size);
    let i = 0;
    const dctRoundUs = microseconds(() => {
      dctOrtho(encodeStream[i++ & 1023]!, horizon, dims, coefficients);
      quantizeInto(coefficients, scale, minToken, codePoints);
    }, warmup);

    // (b) the full tokenizer: encode, decode, and both in one call per chunk.
    const tokenizer = trained.tokenizer;
    i = 0;
    const encodeUs = microseconds(() => tokenizer.encode(encodeStream[i++]!, horizon, dims), warmup, fresh);
    i = 0;
    const decodeUs = microseconds(() => tokenizer.decode(decodeStream[i++]!, horizon, dims), warmup, fresh);
    i = 0;
    const before = tokenizer.bpe.wordCacheStats();
    const roundTripUs = microseconds(() => {
      const { tokenIds } = tokenizer.encode(roundTripStream[i++]!, horizon, dims);
      tokenizer.decode(tokenIds, horizon, dims);
    }, warmup, fresh);
    const after = tokenizer.bpe.wordCacheStats();
    const hitRate = (after.hits - before.hits) / (after.hits - before.hits + after.misses - before.misses);
    // The same without the word cache: every word merged every time.
    const uncached = new FastTokenizer(trained.config, new BpeModel(trained.tokenizer.bpe.vocab, trained.tokenizer.bpe.merges, { wordCacheEntries: 0 }));
    i = 0;
    const uncachedUs = microseconds(() => {
      const { tokenIds } = uncached.encode(uncachedStream[i++]!, horizon, dims);
      uncached.decode(tokenIds, horizon, dims);
    }, warmup, fresh);

    // (c) the Python path on the same kind of chunks.
    const reference = pythonReference({
      horizon, dims, scale, minToken, tokenizerJson: trained.tokenizerJson, windows: WINDOWS, windowUs: WINDOW_US,
      chunks: syntheticChunks(1000, horizon, dims, 5).map((chunk) => Array.from(chunk)),
    });

    const target = horizon === 10 ? ` (target ≤ 20: ${roundTripUs <= 20 ? "met" : "NOT met"})` : "";
    console.log(`  ${horizon}×${dims} (${meanTokens.toFixed(1)} tokens per chunk)`);
    console.log(
      `    (a) DCT+round: ours ${fixed(dctRoundUs)}` +
        (reference ? `, numpy/scipy ${fixed(reference.dctRound)} → ours ${(reference.dctRound / dctRoundUs).toFixed(1)}× faster (target ≥ 5×: ${reference.dctRound / dctRoundUs >= 5 ? "met" : "NOT met"})` : ", no interop venv: Python skipped"),
    );
    console.log(
      `    (b) ours encode ${fixed(encodeUs)} + decode ${fixed(decodeUs)}; encode+decode ${fixed(roundTripUs)}${target}; ` +
        `word cache hit rate ${(hitRate * 100).toFixed(1)}%, without the cache ${fixed(uncachedUs)}`,
    );
    if (reference) {
      console.log(
        `    (c) Python encode ${fixed(reference.encode)} + decode ${fixed(reference.decode)}; encode+decode ${fixed(reference.encodeDecode)} → ours ${(reference.encodeDecode / roundTripUs).toFixed(1)}× faster`,
      );
    }
  }

  console.log(`BPE training: ${trainChunks} chunks of 10×7, vocabulary 1024, one thread`);
  const chunks = syntheticChunks(trainChunks, 10, 7, 3);
  global.gc?.();
  const baseline = process.memoryUsage().rss;
  let peakRss = baseline;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
  const start = performance.now();
  let lastReached = 0;
  const trained = trainFastTokenizer(chunks, {
    horizon: 10,
    dims: 7,
    onProgress: (reached) => {
      lastReached = reached;
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    },
  });
  const seconds = (performance.now() - start) / 1000;
  clearInterval(sampler);
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  console.log(
    `  ${seconds.toFixed(2)} s, vocabulary ${trained.tokenizer.vocabSize()} (${lastReached} reached), peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB ` +
      `(${((peakRss - baseline) / 2 ** 20).toFixed(0)} MiB above the ${(baseline / 2 ** 20).toFixed(0)} MiB before training, chunks included)`,
  );
}
