/**
 * Against the references: Hugging Face's Python `tokenizers` trainer with FAST's settings, numpy/scipy
 * encoding, and the `tokenizers` npm binding loading our artifact.
 */
import { Tokenizer, byteLevelPreTokenizer } from "tokenizers";
import { describe, expect, it } from "vitest";
import { BYTE_TO_CHAR, pushUtf8, splitWords } from "../../src/fast/byte-level.js";
import { BpeModel } from "../../src/fast/bpe.js";
import { checkAdvice, reconstructionReport } from "../../src/fast/check.js";
import { FastTokenizer } from "../../src/fast/tokenizer.js";
import { rangeAlphabet, trainFastTokenizer } from "../../src/fast/train.js";
import { interopPython, runPython } from "../helpers/system.js";
import { syntheticChunks } from "./synthetic.js";

/** FAST's `fit` and `__call__`, written against numpy/scipy/tokenizers as the reference does. */
const REFERENCE = `
import json, sys, numpy as np
from scipy.fft import dct
from tokenizers import ByteLevelBPETokenizer, Tokenizer, trainers
job = json.load(sys.stdin)
T, D, scale, vocab_size = job["horizon"], job["dims"], job["scale"], job["vocab_size"]
chunks = [np.array(c, dtype=np.float64).reshape(T, D) for c in job["chunks"]]
coeffs = [dct(a, axis=0, norm="ortho").flatten() for a in chunks]
rounded = np.around(np.concatenate(coeffs) * scale)
max_token, min_token = int(rounded.max()), int(rounded.min())
def strings(cs):
    for c in cs:
        yield "".join(map(chr, (np.around(c * scale) - min_token).astype(int)))
bpe = ByteLevelBPETokenizer()
trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, show_progress=False, special_tokens=[],
    initial_alphabet=[chr(i) for i in range(max_token - min_token + 1)], max_token_length=10000)
bpe._tokenizer.train_from_iterator(strings(coeffs), trainer=trainer)
ref = json.loads(bpe._tokenizer.to_str())
ours = Tokenizer.from_str(job["tokenizer_json"])
ids = [e.ids for e in ours.encode_batch(list(strings(coeffs)))]
print(json.dumps({"min_token": min_token, "max_token": max_token, "vocab": ref["model"]["vocab"], "merges": ref["model"]["merges"], "ids": ids}))
`;

const python = interopPython(["numpy", "scipy", "tokenizers"]);

describe.skipIf(python === undefined)("FAST against the Python reference (numpy, scipy, tokenizers 0.23)", () => {
  const cases = [
    { name: "10×7, scale 10, vocab 1024", horizon: 10, dims: 7, scale: 10, vocabSize: 1024, count: 3000 },
    // A range past 127 puts two-byte UTF-8 code points into the words.
    { name: "50×7, scale 40, vocab 2048", horizon: 50, dims: 7, scale: 40, vocabSize: 2048, count: 600 },
    { name: "10×6, scale 10, vocab 300 (stops at the vocabulary size)", horizon: 10, dims: 6, scale: 10, vocabSize: 300, count: 500 },
  ];
  for (const { name, horizon, dims, scale, vocabSize, count } of cases) {
    it(`trains the same vocabulary and merges, and numpy/scipy encodes to the same ids: ${name}`, () => {
      const chunks = syntheticChunks(count, horizon, dims, horizon + dims);
      const trained = trainFastTokenizer(chunks, { horizon, dims, scale, vocabSize });
      const job = { horizon, dims, scale, vocab_size: vocabSize, chunks: chunks.map((c) => Array.from(c)), tokenizer_json: trained.tokenizerJson };
      const reference = JSON.parse(runPython(python!, REFERENCE, JSON.stringify(job))) as {
        min_token: number; max_token: number; vocab: Record<string, number>; merges: [string, string][]; ids: number[][];
      };
      expect(trained.config.minToken).toBe(reference.min_token);
      expect(trained.maxToken).toBe(reference.max_token);
      const ours = JSON.parse(trained.tokenizerJson) as { model: { vocab: Record<string, number>; merges: [string, string][] } };
      expect(ours.model.vocab).toEqual(reference.vocab);
      expect(ours.model.merges).toEqual(reference.merges);
      expect(chunks.map((chunk) => trained.tokenizer.encode(chunk, horizon, dims).tokenIds)).toEqual(reference.ids);
    });
  }
});

/** The reference trained on few chunks, with its own alphabet and with ours; both encoded by Python `tokenizers`. */
const FEW_CHUNKS = `
import json, sys, numpy as np
from scipy.fft import dct
from tokenizers import ByteLevelBPETokenizer, Tokenizer, trainers
job = json.load(sys.stdin)
T, D, scale = job["horizon"], job["dims"], job["scale"]
coeffs = [dct(np.array(c, dtype=np.float64).reshape(T, D), axis=0, norm="ortho").flatten() for c in job["chunks"]]
held_out = [dct(np.array(c, dtype=np.float64).reshape(T, D), axis=0, norm="ortho").flatten() for c in job["held_out"]]
rounded = np.around(np.concatenate(coeffs) * scale)
max_token, min_token = int(rounded.max()), int(rounded.min())
def strings(cs):
    for c in cs:
        yield "".join(map(chr, np.clip(np.around(c * scale) - min_token, 0, None).astype(int)))
def train(alphabet):
    bpe = ByteLevelBPETokenizer()
    trainer = trainers.BpeTrainer(vocab_size=1024, min_frequency=2, show_progress=False, special_tokens=[],
        initial_alphabet=alphabet, max_token_length=10000)
    bpe._tokenizer.train_from_iterator(strings(coeffs), trainer=trainer)
    return Tokenizer.from_str(bpe._tokenizer.to_str())
def lengths(tokenizer):
    return [len(tokenizer.decode(tokenizer.encode(s).ids)) for s in strings(held_out)]
reference = train([chr(i) for i in range(max_token - min_token + 1)])
with_ours = train([chr(c) for c in job["alphabet"]])
ours = Tokenizer.from_str(job["tokenizer_json"])
print(json.dumps({"reference_lengths": lengths(reference), "our_lengths": lengths(ours),
    "same_as_trained_with_our_alphabet": json.loads(with_ours.to_str())["model"] == json.loads(ours.to_str())["model"],
    "reference_json": reference.to_str(), "min_token": min_token, "max_token": max_token}))
`;

interface FewChunksResult {
  reference_lengths: number[];
  our_lengths: number[];
  same_as_trained_with_our_alphabet: boolean;
  reference_json: string;
  min_token: number;
  max_token: number;
}

describe.skipIf(python === undefined)("FAST trained on few chunks, against the Python reference", () => {
  it("the reference's tokenizer drops held-out values of its own range; ours keeps them, and equals tokenizers' trainer given its alphabet", () => {
    const horizon = 10;
    const dims = 6;
    const chunks = syntheticChunks(16, horizon, dims, 21);
    const heldOut = syntheticChunks(200, horizon, dims, 22);
    const trained = trainFastTokenizer(chunks, { horizon, dims, scale: 10, vocabSize: 1024 });
    const range = trained.maxToken - trained.config.minToken;
    const job = { horizon, dims, scale: 10, chunks: chunks.map((c) => Array.from(c)), held_out: heldOut.map((c) => Array.from(c)), alphabet: rangeAlphabet(range), tokenizer_json: trained.tokenizerJson };
    const result = JSON.parse(runPython(python!, FEW_CHUNKS, JSON.stringify(job))) as FewChunksResult;
    // Held-out chunks whose coefficients stay within the trained range: every one should round-trip whole.
    const inRange = heldOut.map((chunk) => Array.from(trained.tokenizer.codePoints(chunk, horizon, dims).codePoints).every((cp) => cp <= range));
    expect(inRange.filter(Boolean).length).toBeGreaterThan(100);
    const short = (lengths: number[]) => lengths.filter((length, i) => inRange[i] && length !== horizon * dims).length;
    expect(short(result.reference_lengths)).toBeGreaterThan(0);
    expect(short(result.our_lengths)).toBe(0);
    expect(result.same_as_trained_with_our_alphabet).toBe(true);

    // check-tokenizer on the reference's tokenizer (what lerobot-train-tokenizer saves) names that cause and its cure
    const reference = new FastTokenizer({ scale: 10, vocabSize: 1024, minToken: result.min_token, actionDim: dims, timeHorizon: horizon }, BpeModel.fromTokenizerJson(JSON.parse(result.reference_json)));
    const report = reconstructionReport(reference, heldOut, horizon, dims, { maxToken: result.max_token });
    expect(report.decodeFailures).toBe(short(result.reference_lengths) + heldOut.filter((_, i) => !inRange[i] && result.reference_lengths[i] !== horizon * dims).length);
    expect(report.droppedValues).toBeGreaterThan(report.aboveTrainedRange ?? 0);
    const advice = checkAdvice(report, 0.01, { minToken: result.min_token, maxToken: result.max_token, trainingChunks: 16, sampleFraction: 0.1 });
    expect(advice[0]).toMatch(new RegExp(`^${report.decodeFailures} chunk\\(s\\) decode short because the tokenizer has no token for \\d+ coefficient value\\(s\\) inside its trained range ${result.min_token}\\.\\.${result.max_token} \\(q = -?\\d+`));
    expect(advice[0]).toMatch(/never occurred in 16 training chunks \(--sample-fraction 0\.1\).*--sample-fraction 1/);
    // our own tokenizer on the same held-out chunks: whatever fails is above the trained range, and says so
    const ours = reconstructionReport(trained.tokenizer, heldOut, horizon, dims, { maxToken: trained.maxToken });
    expect(ours.droppedValues).toBe(ours.aboveTrainedRange);
    const oursAdvice = checkAdvice(ours, 0.01, { minToken: trained.config.minToken, maxToken: trained.maxToken, trainingChunks: 16 });
    expect(oursAdvice.some((line) => line.includes("inside its trained range"))).toBe(false);
    if (ours.decodeFailures > 0) expect(oursAdvice[0]).toMatch(/above the trained max_token/);
  });
});

describe("the tokenizers npm binding", () => {
  const horizon = 10;
  const dims = 7;
  const trained = trainFastTokenizer(syntheticChunks(2000, horizon, dims, 3), { horizon, dims, scale: 20 });

  it("loads our tokenizer.json and encodes and decodes exactly as we do", async () => {
    const binding = Tokenizer.fromString(trained.tokenizerJson);
    expect(binding.getVocabSize()).toBe(trained.tokenizer.vocabSize());
    for (const chunk of syntheticChunks(200, horizon, dims, 4)) {
      const { codePoints } = trained.tokenizer.codePoints(chunk, horizon, dims);
      const text = String.fromCodePoint(...codePoints);
      const ours = trained.tokenizer.encode(chunk, horizon, dims).tokenIds;
      const theirs = await binding.encode(text);
      expect(ours).toEqual(theirs.getIds());
      expect(await binding.decode(ours, false)).toBe(text);
    }
  });

  it("splits words as Hugging Face's ByteLevel pre-tokenizer does", () => {
    const pre = byteLevelPreTokenizer(false, true);
    const toByteLevel = (codePoints: number[]) => {
      const bytes: number[] = [];
      for (const c of codePoints) pushUtf8(bytes, c);
      return bytes.map((b) => BYTE_TO_CHAR[b]).join("");
    };
    const pieces = (codePoints: number[]) => pre.preTokenizeString(String.fromCodePoint(...codePoints)).map(([piece]) => piece);
    const check = (codePoints: number[]) => {
      let start = 0;
      const ours = splitWords(codePoints).map((end) => toByteLevel(codePoints.slice(start, (start = end))));
      expect(ours, JSON.stringify(codePoints)).toEqual(pieces(codePoints));
    };
    // Every code point of the Basic Multilingual Plane after a letter, a digit, punctuation and a space.
    const mismatches: number[] = [];
    for (let c = 0; c < 0x10000; c++) {
      if (c >= 0xd800 && c <= 0xdfff) continue;
      for (const before of [0x61, 0x31, 0x21, 0x20]) {
        let start = 0;
        const ours = splitWords([before, c]).map((end) => toByteLevel([before, c].slice(start, (start = end))));
        const theirs = pieces([before, c]);
        if (ours.length !== theirs.length || ours.some((piece, i) => piece !== theirs[i])) mismatches.push(c);
      }
    }
    expect(mismatches.map((c) => c.toString(16))).toEqual([]);
    // The code points FAST strings are made of (vocabularies up to 2048) in every context of the regex.
    const contexts = [[], [0x61], [0x31], [0x21], [0x20], [0x20, 0x20], [0x09], [0x27], [0x27, 0x73]];
    for (let c = 0; c <= 2048; c++) {
      for (const before of contexts) for (const after of [[], [0x61], [0x20, 0x61], [0x20]]) check([...before, c, ...after]);
    }
    // And runs of the ASCII range FAST strings are made of.
    let state = 9;
    for (let i = 0; i < 2000; i++) {
      const codePoints = Array.from({ length: 20 }, () => ((state = (state * 1103515245 + 12345) & 0x7fffffff) % 140));
      check(codePoints);
    }
  });
});
