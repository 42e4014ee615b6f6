/**
 * Orthonormal DCT-II (forward) and DCT-III (inverse) along the time axis of a row-major `[T, D]` chunk,
 * the transforms scipy computes with `dct/idct(axis=0, norm="ortho")`.
 *
 * For the horizons FAST uses (T ≤ 64) a precomputed `T×T` basis beats an FFT: one pass of `T²·D`
 * multiply-adds with no allocation besides the output.
 */

const basisCache = new Map<number, Float64Array>();

/** The orthonormal DCT-II basis, row `k` (frequency) × column `n` (time step), row-major. */
export function dctBasis(horizon: number): Float64Array {
  let basis = basisCache.get(horizon);
  if (basis === undefined) {
    if (!Number.isInteger(horizon) || horizon < 1) throw new RangeError(`DCT horizon must be a positive integer, got ${horizon}`);
    basis = new Float64Array(horizon * horizon);
    const first = Math.sqrt(1 / horizon);
    const rest = Math.sqrt(2 / horizon);
    for (let k = 0; k < horizon; k++) {
      const norm = k === 0 ? first : rest;
      for (let n = 0; n < horizon; n++) {
        // Reduce the angle's argument modulo 4T so large k·n keep full precision.
        const phase = (k * (2 * n + 1)) % (4 * horizon);
        basis[k * horizon + n] = norm * Math.cos((Math.PI * phase) / (2 * horizon));
      }
    }
    basisCache.set(horizon, basis);
  }
  return basis;
}

function checkShape(values: ArrayLike<number>, horizon: number, dims: number): void {
  if (!Number.isInteger(dims) || dims < 1) throw new RangeError(`DCT dims must be a positive integer, got ${dims}`);
  if (values.length !== horizon * dims) {
    throw new RangeError(`expected a ${horizon}×${dims} chunk (${horizon * dims} values), got ${values.length}`);
  }
}

/** DCT-II ortho along time: `coefficients[k, d] = Σ_n basis[k, n] · chunk[n, d]`. */
export function dctOrtho(chunk: ArrayLike<number>, horizon: number, dims: number, out = new Float64Array(horizon * dims)): Float64Array {
  checkShape(chunk, horizon, dims);
  const basis = dctBasis(horizon);
  out.fill(0);
  for (let k = 0; k < horizon; k++) {
    const row = k * dims;
    for (let n = 0; n < horizon; n++) {
      const weight = basis[k * horizon + n]!;
      const input = n * dims;
      for (let d = 0; d < dims; d++) out[row + d]! += weight * chunk[input + d]!;
    }
  }
  return out;
}

/** DCT-III ortho along time (the inverse of `dctOrtho`): `chunk[n, d] = Σ_k basis[k, n] · coefficients[k, d]`. */
export function idctOrtho(coefficients: ArrayLike<number>, horizon: number, dims: number, out = new Float64Array(horizon * dims)): Float64Array {
  checkShape(coefficients, horizon, dims);
  const basis = dctBasis(horizon);
  out.fill(0);
  for (let k = 0; k < horizon; k++) {
    const input = k * dims;
    for (let n = 0; n < horizon; n++) {
      const weight = basis[k * horizon + n]!;
      const row = n * dims;
      for (let d = 0; d < dims; d++) out[row + d]! += weight * coefficients[input + d]!;
    }
  }
  return out;
}
