import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { dctBasis, dctOrtho, idctOrtho } from "../../src/fast/dct.js";
import { roundHalfEven } from "../../src/fast/quantize.js";
import { interopPython, runPython } from "../helpers/system.js";
import { syntheticChunks } from "./synthetic.js";

describe("orthonormal DCT", () => {
  it("has an orthonormal basis (DCT-III inverts DCT-II)", () => {
    for (const horizon of [1, 2, 10, 50, 64]) {
      const basis = dctBasis(horizon);
      for (let i = 0; i < horizon; i++) {
        for (let j = 0; j < horizon; j++) {
          let dot = 0;
          for (let n = 0; n < horizon; n++) dot += basis[i * horizon + n]! * basis[j * horizon + n]!;
          expect(Math.abs(dot - (i === j ? 1 : 0))).toBeLessThan(1e-13);
        }
      }
    }
  });

  it("round-trips integer coefficients exactly after rounding", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 8 }), fc.integer(), (horizon, dims, seed) => {
        let state = seed;
        const integers = Array.from({ length: horizon * dims }, () => ((state = (state * 1103515245 + 12345) | 0) % 400) + 0);
        const chunk = idctOrtho(integers.map((q) => q / 10), horizon, dims);
        const back = Array.from(dctOrtho(chunk, horizon, dims), (c) => roundHalfEven(c * 10));
        expect(back.map((q) => q + 0)).toEqual(integers);
      }),
      { numRuns: 200 },
    );
  });

  it("forward and inverse equal the plain matrix products (folded paths, odd and even T, any D)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 8 }), fc.integer(), (horizon, dims, seed) => {
        let state = seed;
        const chunk = Float64Array.from({ length: horizon * dims }, () => ((state = (state * 1103515245 + 12345) | 0) / 2 ** 31) * 3);
        const basis = dctBasis(horizon);
        const forward = dctOrtho(chunk, horizon, dims);
        const inverse = idctOrtho(chunk, horizon, dims);
        for (let k = 0; k < horizon; k++) {
          for (let d = 0; d < dims; d++) {
            let plain = 0;
            let plainInverse = 0;
            for (let n = 0; n < horizon; n++) {
              plain += basis[k * horizon + n]! * chunk[n * dims + d]!;
              plainInverse += basis[n * horizon + k]! * chunk[n * dims + d]!;
            }
            expect(Math.abs(forward[k * dims + d]! - plain)).toBeLessThan(1e-12);
            expect(Math.abs(inverse[k * dims + d]! - plainInverse)).toBeLessThan(1e-12);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it("rejects a chunk of the wrong size", () => {
    expect(() => dctOrtho(new Float64Array(11), 10, 1)).toThrow(/10×1/);
  });

  const python = interopPython(["numpy", "scipy"]);
  describe.skipIf(python === undefined)("against scipy.fft dct/idct(norm='ortho')", () => {
    it("matches to 1e-12 for T in {1, 5, 10, 50, 64}", () => {
      const cases = [1, 5, 10, 50, 64].map((horizon, i) => ({ horizon, dims: 7, chunk: Array.from(syntheticChunks(1, horizon, 7, i + 3)[0]!) }));
      const script = `
import json, sys, numpy as np
from scipy.fft import dct, idct
out = []
for case in json.load(sys.stdin):
    a = np.array(case["chunk"], dtype=np.float64).reshape(case["horizon"], case["dims"])
    out.append({"dct": dct(a, axis=0, norm="ortho").ravel().tolist(), "idct": idct(a, axis=0, norm="ortho").ravel().tolist()})
print(json.dumps(out))`;
      const reference = JSON.parse(runPython(python!, script, JSON.stringify(cases))) as { dct: number[]; idct: number[] }[];
      cases.forEach(({ horizon, dims, chunk }, i) => {
        const ours = dctOrtho(chunk, horizon, dims);
        const inverse = idctOrtho(chunk, horizon, dims);
        reference[i]!.dct.forEach((value, j) => expect(Math.abs(ours[j]! - value)).toBeLessThan(1e-12));
        reference[i]!.idct.forEach((value, j) => expect(Math.abs(inverse[j]! - value)).toBeLessThan(1e-12));
      });
    });
  });
});

describe("roundHalfEven", () => {
  it("rounds like numpy.around", () => {
    expect([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 2.4999, -2.5001, 3.7].map((x) => roundHalfEven(x) + 0)).toEqual([-2, -2, 0, 0, 2, 2, 2, -3, 4]);
  });

  it("matches the floor-and-fraction rule on both sides of the fast path's 2^51 limit", () => {
    const reference = (value: number) => {
      const floor = Math.floor(value);
      const fraction = value - floor;
      return fraction < 0.5 ? floor : fraction > 0.5 ? floor + 1 : floor % 2 === 0 ? floor : floor + 1;
    };
    const edges = [0.49999999999999994, 0.5000000000000001, 2 ** 51 - 0.5, 2 ** 51 - 1.5, 2 ** 51, 2 ** 51 + 1, 2 ** 52 + 2, 1e300, Infinity];
    for (const value of edges.flatMap((x) => [x, -x])) expect(roundHalfEven(value) + 0).toBe(reference(value) + 0);
    expect(roundHalfEven(Number.NaN)).toBeNaN();
    fc.assert(
      fc.property(fc.double({ noNaN: true, min: -(2 ** 53), max: 2 ** 53 }), (value) => {
        expect(roundHalfEven(value) + 0).toBe(reference(value) + 0);
        expect(roundHalfEven(value + 0.5) + 0).toBe(reference(value + 0.5) + 0);
      }),
      { numRuns: 2000 },
    );
  });
});
