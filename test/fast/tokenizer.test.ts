import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BpeModel } from "../../src/fast/bpe.js";
import { dctBasis, dctOrtho } from "../../src/fast/dct.js";
import { FastTokenizer } from "../../src/fast/tokenizer.js";
import { trainFastTokenizer, FastTrainingError } from "../../src/fast/train.js";
import { reconstructionReport } from "../../src/fast/check.js";
import { extremeChunks, syntheticChunks } from "./synthetic.js";

const HORIZON = 10;
const DIMS = 7;
const trained = trainFastTokenizer([...syntheticChunks(3000, HORIZON, DIMS, 7), ...extremeChunks(HORIZON, DIMS, dctBasis(HORIZON))], { horizon: HORIZON, dims: DIMS });
const tokenizer = trained.tokenizer;
const finiteChunk = fc.float64Array({ minLength: HORIZON * DIMS, maxLength: HORIZON * DIMS, min: -1, max: 1, noNaN: true, noDefaultInfinity: true });

describe("FastTokenizer encode/decode", () => {
  it("trains to the requested vocabulary with the reference config", () => {
    expect(tokenizer.vocabSize()).toBe(1024);
    expect(trained.config).toMatchObject({ scale: 10, vocabSize: 1024, actionDim: DIMS, timeHorizon: HORIZON });
    // Chunks within [-1, 1] reach ±√T·scale in the DC coefficient.
    expect(trained.config.minToken).toBe(-Math.round(Math.sqrt(HORIZON) * 10));
    expect(trained.maxToken).toBe(Math.round(Math.sqrt(HORIZON) * 10));
  });

  it("round-trips any chunk in [-1, 1] within 0.5/scale per DCT coefficient", () => {
    fc.assert(
      fc.property(finiteChunk, (chunk) => {
        const { tokenIds, clampedCount } = tokenizer.encode(chunk, HORIZON, DIMS);
        expect(clampedCount).toBe(0);
        const decoded = tokenizer.decode(tokenIds, HORIZON, DIMS);
        expect(decoded.status).toBe("ok");
        const original = dctOrtho(chunk, HORIZON, DIMS);
        const back = dctOrtho(decoded.actions, HORIZON, DIMS);
        for (let i = 0; i < original.length; i++) expect(Math.abs(back[i]! - original[i]!)).toBeLessThanOrEqual(0.5 / 10 + 1e-9);
      }),
      { numRuns: 300 },
    );
  });

  it("compresses smooth chunks and reconstructs them with small error", () => {
    const report = reconstructionReport(tokenizer, syntheticChunks(200, HORIZON, DIMS, 99), HORIZON, DIMS);
    expect(report.decodeFailures).toBe(0);
    expect(report.mse).toBeLessThan(0.01);
    expect(report.compressionRatio).toBeGreaterThan(2);
  });

  it("clamps and counts coefficients below min_token", () => {
    const chunk = new Float64Array(HORIZON * DIMS).fill(-3);
    const { clampedCount } = tokenizer.encode(chunk, HORIZON, DIMS);
    expect(clampedCount).toBe(DIMS);
  });

  it("decodes any token sequence without throwing, with a truthful status", () => {
    const size = tokenizer.vocabSize();
    const tokenBytes = tokenizer.tokenBytes();
    const anyId = fc.oneof(fc.integer({ min: 0, max: size - 1 }), fc.integer({ min: -5, max: size + 5 }), fc.constantFrom(NaN, 1.5, Infinity));
    fc.assert(
      fc.property(fc.array(anyId, { maxLength: 80 }), fc.constantFrom("strict" as const, "relaxed" as const), (ids, mode) => {
        const result = tokenizer.decode(ids, HORIZON, DIMS, mode);
        expect(result.actions.length).toBe(HORIZON * DIMS);
        // What a correct decoder sees: the bytes of the known ids, as UTF-8, as code points in range.
        const known = ids.filter((id) => Number.isInteger(id) && id >= 0 && id < size);
        const bytes = Buffer.concat(known.map((id) => tokenBytes[id]!));
        const text = bytes.toString("utf8");
        const valid = Buffer.from(text, "utf8").equals(bytes);
        const codePoints = [...text].map((c) => c.codePointAt(0)!);
        const clean = known.length === ids.length && valid && codePoints.every((c) => c <= 1024) && codePoints.length === HORIZON * DIMS;
        if (result.status === "failed") {
          expect(result.actions.every(Number.isNaN)).toBe(true);
          expect(result.detail).not.toBe("");
          expect(mode === "strict" ? !clean : codePoints.length === 0).toBe(true);
        } else {
          expect(result.actions.every(Number.isFinite)).toBe(true);
          expect(result.status === "ok").toBe(clean);
          expect(result.detail === "").toBe(clean);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("relaxed decode pads a short sequence and reports it; strict decode fails it", () => {
    const { tokenIds } = tokenizer.encode(syntheticChunks(1, HORIZON, DIMS, 5)[0]!, HORIZON, DIMS);
    const short = tokenIds.slice(0, -1);
    expect(tokenizer.decode(short, HORIZON, DIMS, "strict").status).toBe("failed");
    const relaxed = tokenizer.decode(short, HORIZON, DIMS, "relaxed");
    expect(relaxed.status).toBe("repaired");
    expect(relaxed.detail).toMatch(/instead of 70.*padded/);
    const long = tokenizer.decode([...tokenIds, ...tokenIds.slice(0, 3)], HORIZON, DIMS, "relaxed");
    expect(long.status).toBe("repaired");
    expect(long.detail).toMatch(/truncated/);
    const empty = tokenizer.decode([], HORIZON, DIMS, "relaxed");
    expect(empty.status).toBe("failed");
    expect(empty.actions.every(Number.isNaN)).toBe(true);
  });

  it("refuses to train when the coefficient range exceeds the vocabulary", () => {
    expect(() => trainFastTokenizer(syntheticChunks(20, HORIZON, DIMS), { horizon: HORIZON, dims: DIMS, scale: 1000, vocabSize: 256 })).toThrow(FastTrainingError);
  });

  it("gives the raw bytes of every id", () => {
    const tokenBytes = tokenizer.tokenBytes();
    expect(tokenBytes).toHaveLength(tokenizer.vocabSize());
    const { tokenIds } = tokenizer.encode(syntheticChunks(1, HORIZON, DIMS, 11)[0]!, HORIZON, DIMS);
    const text = Buffer.concat(tokenIds.map((id) => tokenBytes[id]!)).toString("utf8");
    expect([...text]).toHaveLength(HORIZON * DIMS);
  });
});

describe("the BPE word cache", () => {
  const { vocab, merges } = tokenizer.bpe;

  it("gives the same ids on a hit as on a miss, and as without a cache", () => {
    const uncached = new BpeModel(vocab, merges, { wordCacheEntries: 0 });
    // A tiny cache, so that it also fills up and starts over during the run.
    const small = new BpeModel(vocab, merges, { wordCacheEntries: 8 });
    const codePoint = fc.oneof(fc.integer({ min: 0, max: 70 }), fc.constantFrom(32, 32, 32, 9, 10, 39, 115), fc.integer({ min: 0, max: 0x10ffff }).filter((c) => c < 0xd800 || c > 0xdfff));
    fc.assert(
      fc.property(fc.array(codePoint, { maxLength: 120 }), (codePoints) => {
        const expected = uncached.encodeCodePoints(codePoints);
        const cached = new BpeModel(vocab, merges);
        expect(cached.encodeCodePoints(codePoints)).toEqual(expected);
        const afterMisses = cached.wordCacheStats();
        expect(cached.encodeCodePoints(codePoints)).toEqual(expected);
        const afterHits = cached.wordCacheStats();
        expect(afterHits.misses).toBe(afterMisses.misses);
        expect(small.encodeCodePoints(codePoints)).toEqual(expected);
        expect(small.encodeCodePoints(codePoints)).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it("gives the same ids for whole chunks with a warm cache as without one", () => {
    const uncached = new FastTokenizer(tokenizer.config, new BpeModel(vocab, merges, { wordCacheEntries: 0 }));
    const chunks = syntheticChunks(300, HORIZON, DIMS, 21);
    const first = chunks.map((chunk) => tokenizer.encode(chunk, HORIZON, DIMS).tokenIds);
    const again = chunks.map((chunk) => tokenizer.encode(chunk, HORIZON, DIMS).tokenIds);
    const reference = chunks.map((chunk) => uncached.encode(chunk, HORIZON, DIMS).tokenIds);
    expect(first).toEqual(reference);
    expect(again).toEqual(reference);
    expect(tokenizer.bpe.wordCacheStats().hits).toBeGreaterThan(0);
  });

  it("rejects values that are not code points, as String.fromCodePoint does", () => {
    for (const bad of [-1, 0x110000, 1.5, NaN]) expect(() => tokenizer.bpe.encodeCodePoints([65, bad])).toThrow(RangeError);
  });
});
