/** The integer side of FAST: scaling, numpy rounding, frequency-major flattening is the `[T, D]` layout itself. */

/** 1.5 · 2^52: adding it to |v| < 2^51 leaves no fraction bits, so the FPU's round-to-nearest-even rounds v. */
const ROUNDING_MAGIC = 6755399441055744;
const MAGIC_LIMIT = 2 ** 51;

/** numpy `around` / `rint`: round half to even. */
export function roundHalfEven(value: number): number {
  // Fast path: (v + M) − M is exact round-half-even for |v| < 2^51 (both steps are exact but the one rounding
  // of v's fraction, done by IEEE 754 in its default mode); no floor, compare or float modulo.
  if (Math.abs(value) < MAGIC_LIMIT) return value + ROUNDING_MAGIC - ROUNDING_MAGIC;
  return roundHalfEvenSlow(value);
}

/** Round half to even by floor and fraction: for |v| ≥ 2^51 (already an integer or a half), ±∞ and NaN. */
function roundHalfEvenSlow(value: number): number {
  const floor = Math.floor(value);
  const fraction = value - floor;
  if (fraction < 0.5) return floor;
  if (fraction > 0.5) return floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

export interface CodePoints {
  codePoints: Int32Array;
  /** Values below `min_token` raised to it (the reference does so silently). */
  clampedCount: number;
}

/**
 * DCT coefficients (row-major `[T, D]`, so already frequency-major with dims interleaved) → the code points
 * FAST writes: `max(round(c · scale) − minToken, 0)`.
 */
export function coefficientsToCodePoints(coefficients: ArrayLike<number>, scale: number, minToken: number): CodePoints {
  const codePoints = new Int32Array(coefficients.length);
  const clampedCount = quantizeInto(coefficients, scale, minToken, codePoints);
  return { codePoints, clampedCount };
}

/** `coefficientsToCodePoints` into a caller's buffer (at least `coefficients.length` long); returns the clamped count. */
export function quantizeInto(coefficients: ArrayLike<number>, scale: number, minToken: number, out: Int32Array): number {
  let clampedCount = 0;
  for (let i = 0; i < coefficients.length; i++) {
    const value = roundHalfEven(coefficients[i]! * scale) - minToken;
    if (value < 0) clampedCount++;
    out[i] = value < 0 ? 0 : value;
  }
  return clampedCount;
}
