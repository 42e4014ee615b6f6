/**
 * Two contracts of the FAST tokenizer at their edges: `encode` rounds a scaled coefficient that is exactly
 * k + ½ half to even (numpy's `around`), and strict `decode` fails every malformed sequence even when it still
 * spells exactly T·D coefficients, while relaxed decode says what it repaired.
 */
import { describe, expect, it } from "vitest";
import { FastTokenizer } from "../../src/fast/tokenizer.js";
import { trainFastTokenizer } from "../../src/fast/train.js";
import { seededRandom } from "../../src/random.js";
import { interopPython, runPython } from "../helpers/system.js";
import { syntheticChunks } from "./synthetic.js";

describe("encode rounds ties half to even", () => {
  // One time step: the orthonormal DCT of a single step is the identity in any implementation, so the scaled
  // coefficients are exactly the values below times the scale, ties included.
  const horizon = 1;
  const dims = 6;
  const scale = 10;
  const random = seededRandom(15);
  const training = Array.from({ length: 500 }, () => Float64Array.from({ length: dims }, () => random() * 6 - 3));
  const trained = trainFastTokenizer(training, { horizon, dims, scale, vocabSize: 256 });
  const { minToken } = trained.config;
  // (k + ½) / scale for k = −30 … 29, kept where times the scale it is exactly k + ½ in floating point
  const ties = Array.from({ length: 60 }, (_, i) => i - 30)
    .map((k) => ({ k, value: (k + 0.5) / scale }))
    .filter(({ k, value }) => value * scale === k + 0.5);
  const chunks = Array.from({ length: Math.floor(ties.length / dims) }, (_, c) => Float64Array.from(ties.slice(c * dims, (c + 1) * dims), (tie) => tie.value));
  const evenOf = (k: number) => (k % 2 === 0 ? k : k + 1);

  it("gives the even neighbour of every ±k.5, positive and negative", () => {
    expect(ties.length).toBeGreaterThanOrEqual(48);
    expect(minToken).toBeLessThanOrEqual(-30);
    for (const [c, chunk] of chunks.entries()) {
      const { tokenIds, clampedCount } = trained.tokenizer.encode(chunk, horizon, dims);
      expect(clampedCount).toBe(0);
      const expected = ties.slice(c * dims, (c + 1) * dims).map(({ k }) => evenOf(k));
      // decode spells the code points back exactly: (code point + min_token) / scale
      const decoded = trained.tokenizer.decode(tokenIds, horizon, dims);
      expect(decoded.status).toBe("ok");
      expect(Array.from(decoded.actions, (value) => Math.round(value * scale))).toEqual(expected);
      expect(tokenIds).toEqual(trained.tokenizer.bpe.encodeCodePoints(expected.map((q) => q - minToken)));
    }
  });

  const python = interopPython(["numpy", "tokenizers"]);
  it.skipIf(python === undefined)("encodes every tie to the code points and ids of the Python reference (numpy around, Hugging Face tokenizers)", () => {
    // The one-step DCT is the identity, so the reference's coefficients are the values themselves: scipy's
    // one-point DCT is not bit-exact (0.25 comes back as 0.25000000000000006, no longer a tie at scale 10).
    const reference = JSON.parse(
      runPython(
        python!,
        `
import json, sys, numpy as np
from tokenizers import Tokenizer
job = json.load(sys.stdin)
tok = Tokenizer.from_str(job["tokenizer_json"])
out = []
for c in job["chunks"]:
    q = np.around(np.array(c, dtype=np.float64) * job["scale"]) - job["min_token"]
    points = np.maximum(q, 0).astype(int)
    out.append({"points": points.tolist(), "ids": tok.encode("".join(map(chr, points))).ids})
print(json.dumps(out))`,
        JSON.stringify({ scale, min_token: minToken, tokenizer_json: trained.tokenizerJson, chunks: chunks.map((chunk) => Array.from(chunk)) }),
      ),
    ) as { points: number[]; ids: number[] }[];
    expect(reference.map((entry) => entry.points.map((point) => point + minToken))).toEqual(chunks.map((_, c) => ties.slice(c * dims, (c + 1) * dims).map(({ k }) => evenOf(k))));
    expect(chunks.map((chunk) => trained.tokenizer.encode(chunk, horizon, dims).tokenIds)).toEqual(reference.map((entry) => entry.ids));
  });
});

describe("strict decode fails malformed sequences that still spell T·D coefficients", () => {
  const horizon = 10;
  const dims = 7;
  const expected = horizon * dims;
  // scale 40 puts code points past 127 into the strings: two UTF-8 bytes each, so byte tokens exist that are
  // not whole UTF-8 on their own
  const merged = trainFastTokenizer(syntheticChunks(600, horizon, dims, 17), { horizon, dims, scale: 40, vocabSize: 1024 }).tokenizer;
  const chunk = syntheticChunks(1, horizon, dims, 99)[0]!;
  const valid = merged.encode(chunk, horizon, dims).tokenIds;
  const lossy = new TextDecoder("utf-8");
  const characters = (tokenizer: FastTokenizer, ids: number[]) => [...lossy.decode(Buffer.concat(ids.filter((id) => Number.isInteger(id) && id >= 0 && id < tokenizer.vocabSize()).map((id) => tokenizer.tokenBytes()[id]!)))].length;

  /** Strict fails with `problem` named; relaxed repairs, naming every problem in `repairs`. */
  function expectStrictFailsRelaxedRepairs(tokenizer: FastTokenizer, ids: number[], problem: RegExp, repairs: RegExp[]) {
    expect(characters(tokenizer, ids), "the malformed sequence still spells T·D coefficients").toBe(expected);
    const strict = tokenizer.decode(ids, horizon, dims, "strict");
    expect(strict.status).toBe("failed");
    expect(strict.detail).toMatch(problem);
    expect(strict.actions.every(Number.isNaN)).toBe(true);
    const relaxed = tokenizer.decode(ids, horizon, dims, "relaxed");
    expect(relaxed.status).toBe("repaired");
    for (const repair of repairs) expect(relaxed.detail).toMatch(repair);
    expect(relaxed.actions.every(Number.isFinite)).toBe(true);
    return relaxed;
  }

  it("decodes the well-formed sequence (the premise)", () => {
    expect(merged.decode(valid, horizon, dims, "strict")).toMatchObject({ status: "ok", detail: "" });
  });

  it.each([
    ["past the vocabulary", merged.vocabSize() + 3],
    ["negative", -1],
    ["not an integer", 2.5],
    ["NaN", NaN],
  ])("an id %s", (_, badId) => {
    const ids = [...valid.slice(0, 5), badId, ...valid.slice(5)];
    const relaxed = expectStrictFailsRelaxedRepairs(merged, ids, /1 token id\(s\) outside the vocabulary of \d+/, [/1 token id\(s\) outside the vocabulary of \d+ skipped/]);
    // skipping the id leaves the well-formed chunk
    expect(relaxed.actions).toEqual(merged.decode(valid, horizon, dims).actions);
  });

  it("bytes that are not UTF-8", () => {
    const tokenBytes = merged.tokenBytes();
    const oneTwoByteCharacter = valid.findIndex((id) => tokenBytes[id]!.length === 2 && [...lossy.decode(tokenBytes[id]!)].length === 1 && tokenBytes[id]![0]! >= 0xc2);
    const continuationByte = tokenBytes.findIndex((bytes) => bytes.length === 1 && bytes[0]! >= 0x80 && bytes[0]! <= 0xbf);
    expect(oneTwoByteCharacter).toBeGreaterThanOrEqual(0);
    expect(continuationByte).toBeGreaterThanOrEqual(0);
    // one character replaced by a lone continuation byte: still one character (U+FFFD) when decoded lossily
    const ids = valid.map((id, i) => (i === oneTwoByteCharacter ? continuationByte : id));
    expectStrictFailsRelaxedRepairs(merged, ids, /not valid UTF-8/, [/token bytes are not valid UTF-8/, /1 value\(s\) outside the coefficient range set to 0/]);
  });

  it("a value outside the coefficient range", () => {
    // vocab_size 210 just covers the range of these chunks (203), so the trainer keeps only its alphabet:
    // every code point past 127 is two byte tokens, and U+00FF (0xC3 0xBF) spells 255, past vocab_size
    const alphabetOnly = trainFastTokenizer(syntheticChunks(600, horizon, dims, 17), { horizon, dims, scale: 40, vocabSize: 210 }).tokenizer;
    const plain = alphabetOnly.encode(chunk, horizon, dims).tokenIds;
    const tokenBytes = alphabetOnly.tokenBytes();
    const byteToken = (byte: number) => tokenBytes.findIndex((bytes) => bytes.length === 1 && bytes[0] === byte);
    const ascii = plain.findIndex((id) => tokenBytes[id]!.length === 1 && tokenBytes[id]![0]! < 0x80);
    expect([byteToken(0xc3), byteToken(0xbf), ascii].every((index) => index >= 0)).toBe(true);
    expect(alphabetOnly.decode(plain, horizon, dims, "strict").status).toBe("ok");
    const ids = [...plain.slice(0, ascii), byteToken(0xc3), byteToken(0xbf), ...plain.slice(ascii + 1)];
    const relaxed = expectStrictFailsRelaxedRepairs(alphabetOnly, ids, /outside the coefficient range/, [/1 value\(s\) outside the coefficient range set to 0/]);
    expect(relaxed.detail).not.toMatch(/UTF-8|skipped|instead of/);
  });
});
