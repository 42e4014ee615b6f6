/**
 * Orthonormal DCT-II (forward) and DCT-III (inverse) along the time axis of a row-major `[T, D]` chunk,
 * the transforms scipy computes with `dct/idct(axis=0, norm="ortho")`.
 *
 * For the horizons FAST uses (T ≤ 64) a precomputed basis beats an FFT. The basis is symmetric in time
 * (`basis[k, T−1−n] = (−1)^k · basis[k, n]`), so the transform is two half-size matrix products over
 * Float64Arrays: even frequencies against `x[n] + x[T−1−n]`, odd ones against `x[n] − x[T−1−n]` —
 * `T²·D/2` multiply-adds, no allocation besides the output. The forward transform of an even T folds the
 * even half once more (see `dctOrtho`), `3T²·D/8` multiply-adds. Each output is summed in a fixed order.
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

/**
 * The basis folded at its symmetry, per horizon T (h = ⌊T/2⌋, e = ⌈T/2⌉):
 * `even[i, n] = basis[2i, n]` (e × e: the middle column of an odd T included), `odd[i, n] = basis[2i+1, n]`
 * (h × h: the middle column, cos(π/2)·norm, is zero), and both transposed for the inverse.
 */
interface FoldedBasis {
  even: Float64Array;
  evenT: Float64Array;
  odd: Float64Array;
  oddT: Float64Array;
  /**
   * For an even T (h = T/2, hh = ⌊h/2⌋, he = ⌈h/2⌉), the even rows folded again: `evenEven[j, n] = basis[4j, n]`
   * (he × he) and `evenOdd[j, n] = basis[4j+2, n]` (hh × hh). Empty for an odd T.
   */
  evenEven: Float64Array;
  evenOdd: Float64Array;
}

const foldedCache = new Map<number, FoldedBasis>();

function foldedBasis(horizon: number): FoldedBasis {
  let folded = foldedCache.get(horizon);
  if (folded === undefined) {
    const basis = dctBasis(horizon);
    const half = horizon >> 1;
    const evens = horizon - half;
    const even = new Float64Array(evens * evens);
    const evenT = new Float64Array(evens * evens);
    const odd = new Float64Array(half * half);
    const oddT = new Float64Array(half * half);
    for (let i = 0; i < evens; i++) {
      for (let n = 0; n < evens; n++) {
        even[i * evens + n] = evenT[n * evens + i] = basis[2 * i * horizon + n]!;
      }
    }
    for (let i = 0; i < half; i++) {
      for (let n = 0; n < half; n++) odd[i * half + n] = oddT[n * half + i] = basis[(2 * i + 1) * horizon + n]!;
    }
    const foldsTwice = horizon % 2 === 0;
    const quarter = foldsTwice ? half >> 1 : 0;
    const quarterEvens = foldsTwice ? half - quarter : 0;
    const evenEven = new Float64Array(quarterEvens * quarterEvens);
    const evenOdd = new Float64Array(quarter * quarter);
    for (let j = 0; j < quarterEvens; j++) {
      for (let n = 0; n < quarterEvens; n++) evenEven[j * quarterEvens + n] = basis[4 * j * horizon + n]!;
    }
    for (let j = 0; j < quarter; j++) {
      for (let n = 0; n < quarter; n++) evenOdd[j * quarter + n] = basis[(4 * j + 2) * horizon + n]!;
    }
    folded = { even, evenT, odd, oddT, evenEven, evenOdd };
    foldedCache.set(horizon, folded);
  }
  return folded;
}

function checkShape(values: ArrayLike<number>, horizon: number, dims: number): void {
  if (!Number.isInteger(dims) || dims < 1) throw new RangeError(`DCT dims must be a positive integer, got ${dims}`);
  if (values.length !== horizon * dims) {
    throw new RangeError(`expected a ${horizon}×${dims} chunk (${horizon * dims} values), got ${values.length}`);
  }
}

// Scratch for the folded halves (the transforms are synchronous, so one set serves every call).
let sums = new Float64Array(0);
let differences = new Float64Array(0);

function scratch(length: number): void {
  if (sums.length < length) {
    sums = new Float64Array(length);
    differences = new Float64Array(length);
  }
}

/**
 * `out[row(r), d] = Σ_j matrix[r, j] · input[inRow(j), d]` for `r < rows`, `j < inner`, `d < dims`, where
 * `row(r) = outStart + r·outStep` and `inRow(j) = inStart + j·inStep`; `matrix` is `rows × inner` row-major.
 * Each sum runs in order of `j` from +0.
 */
function multiply(
  matrix: Float64Array, rows: number, inner: number,
  input: ArrayLike<number>, inStart: number, inStep: number,
  dims: number, out: Float64Array, outStart: number, outStep: number,
): void {
  const inStride = inStep * dims;
  const inBase = inStart * dims;
  let r = 0;
  for (; r + 2 <= rows; r += 2) {
    const w0 = r * inner;
    const w1 = w0 + inner;
    const o0 = (outStart + r * outStep) * dims;
    const o1 = o0 + outStep * dims;
    let d = 0;
    for (; d + 4 <= dims; d += 4) {
      let a0 = 0, a1 = 0, a2 = 0, a3 = 0, b0 = 0, b1 = 0, b2 = 0, b3 = 0;
      for (let j = 0, at = inBase + d; j < inner; j++, at += inStride) {
        const p = matrix[w0 + j]!;
        const q = matrix[w1 + j]!;
        const x0 = input[at]!, x1 = input[at + 1]!, x2 = input[at + 2]!, x3 = input[at + 3]!;
        a0 += p * x0; a1 += p * x1; a2 += p * x2; a3 += p * x3;
        b0 += q * x0; b1 += q * x1; b2 += q * x2; b3 += q * x3;
      }
      out[o0 + d] = a0; out[o0 + d + 1] = a1; out[o0 + d + 2] = a2; out[o0 + d + 3] = a3;
      out[o1 + d] = b0; out[o1 + d + 1] = b1; out[o1 + d + 2] = b2; out[o1 + d + 3] = b3;
    }
    for (; d < dims; d++) {
      let a0 = 0, b0 = 0;
      for (let j = 0, at = inBase + d; j < inner; j++, at += inStride) {
        const x0 = input[at]!;
        a0 += matrix[w0 + j]! * x0;
        b0 += matrix[w1 + j]! * x0;
      }
      out[o0 + d] = a0;
      out[o1 + d] = b0;
    }
  }
  if (r < rows) {
    const w0 = r * inner;
    const o0 = (outStart + r * outStep) * dims;
    for (let d = 0; d < dims; d++) {
      let a0 = 0;
      for (let j = 0, at = inBase + d; j < inner; j++, at += inStride) a0 += matrix[w0 + j]! * input[at]!;
      out[o0 + d] = a0;
    }
  }
}

// Dim-major scratch for the forward transform's folded halves: `[D, rows]`, each dim's values contiguous.
let foldSums = new Float64Array(0);
let foldDifferences = new Float64Array(0);
let foldQuarterDifferences = new Float64Array(0);

/**
 * `out[row(r), d] = Σ_j matrix[r, j] · input[d, j]` for `r < rows`, `j < inner`, `d < dims`, where
 * `row(r) = outStart + r·outStep`, `matrix` is `rows × inner` and `input` is dim-major `dims × inner`.
 * Both operands are read at unit stride by the same index `j`, which is what V8 compiles best (measured
 * faster than two rows × four dims over the row-major chunk, whose index strides by D). Two rows × two
 * dims per pass: four independent sums, each run in order of `j` from +0. An odd row or dim count reuses
 * the last row/dim for the missing one and drops its sums, so there is a single loop body.
 */
function multiplyDimMajor(
  matrix: Float64Array, rows: number, inner: number, input: Float64Array, dims: number,
  out: Float64Array, outStart: number, outStep: number,
): void {
  for (let r = 0; r < rows; r += 2) {
    const secondRow = r + 1 < rows;
    const w0 = r * inner;
    const w1 = secondRow ? w0 + inner : w0;
    const o0 = (outStart + r * outStep) * dims;
    const o1 = o0 + outStep * dims;
    for (let d = 0; d < dims; d += 2) {
      const secondDim = d + 1 < dims;
      const x0 = d * inner;
      const x1 = secondDim ? x0 + inner : x0;
      let a0 = 0, a1 = 0, b0 = 0, b1 = 0;
      for (let j = 0; j < inner; j++) {
        const p = matrix[w0 + j]!, q = matrix[w1 + j]!;
        const u = input[x0 + j]!, v = input[x1 + j]!;
        a0 += p * u; a1 += p * v;
        b0 += q * u; b1 += q * v;
      }
      out[o0 + d] = a0;
      if (secondDim) out[o0 + d + 1] = a1;
      if (secondRow) {
        out[o1 + d] = b0;
        if (secondDim) out[o1 + d + 1] = b1;
      }
    }
  }
}

/** DCT-II ortho along time: `coefficients[k, d] = Σ_n basis[k, n] · chunk[n, d]`. */
export function dctOrtho(chunk: ArrayLike<number>, horizon: number, dims: number, out = new Float64Array(horizon * dims)): Float64Array {
  checkShape(chunk, horizon, dims);
  const { even, odd, evenEven, evenOdd } = foldedBasis(horizon);
  const half = horizon >> 1;
  const evens = horizon - half;
  if (foldSums.length < evens * dims) {
    foldSums = new Float64Array(evens * dims);
    foldDifferences = new Float64Array(evens * dims);
    foldQuarterDifferences = new Float64Array(evens * dims);
  }
  const sums = foldSums;
  const differences = foldDifferences;
  // Fold 1, transposing as it goes (the chunk is [T, D]; the products want each dim contiguous):
  // sums[d, n] = chunk[n, d] + chunk[T−1−n, d], differences[d, n] = chunk[n, d] − chunk[T−1−n, d];
  // an odd T's middle row goes to the sums alone.
  for (let d = 0; d < dims; d++) {
    const sumRow = d * evens;
    const differenceRow = d * half;
    for (let n = 0, top = d, bottom = (horizon - 1) * dims + d; n < half; n++, top += dims, bottom -= dims) {
      const a = chunk[top]!;
      const b = chunk[bottom]!;
      sums[sumRow + n] = a + b;
      differences[differenceRow + n] = a - b;
    }
    if (evens > half) sums[sumRow + half] = chunk[half * dims + d]!;
  }
  // Odd frequencies: a DCT-IV of the differences, no further symmetry.
  multiplyDimMajor(odd, half, half, differences, dims, out, 1, 2);
  if (horizon % 2 === 1) {
    multiplyDimMajor(even, evens, evens, sums, dims, out, 0, 2);
    return out;
  }
  // Fold 2 (even T): the even frequencies are a DCT-II of length h = T/2 of the sums, whose basis has the same
  // symmetry, so frequencies 4j take sums[n] + sums[h−1−n] and 4j+2 take sums[n] − sums[h−1−n] — a quarter of
  // the multiply-adds of the even half saved (T=50: 25² → 13² + 12²). Done in place over the sums.
  const quarter = half >> 1;
  const quarterEvens = half - quarter;
  const quarterDifferences = foldQuarterDifferences;
  for (let d = 0; d < dims; d++) {
    const sumRow = d * half;
    const quarterSumRow = d * quarterEvens;
    const quarterDifferenceRow = d * quarter;
    for (let n = 0; n < quarter; n++) {
      const a = sums[sumRow + n]!;
      const b = sums[sumRow + half - 1 - n]!;
      quarterDifferences[quarterDifferenceRow + n] = a - b;
      sums[sumRow + n] = a + b;
    }
    // (An odd h's middle sum stays as it is: it belongs to the quarter sums alone.)
    // Compact row d from stride h to stride ⌈h/2⌉ (front to back: the destination never passes the source).
    for (let n = 0; n < quarterEvens; n++) sums[quarterSumRow + n] = sums[sumRow + n]!;
  }
  multiplyDimMajor(evenEven, quarterEvens, quarterEvens, sums, dims, out, 0, 4);
  multiplyDimMajor(evenOdd, quarter, quarter, quarterDifferences, dims, out, 2, 4);
  return out;
}

/** DCT-III ortho along time (the inverse of `dctOrtho`): `chunk[n, d] = Σ_k basis[k, n] · coefficients[k, d]`. */
export function idctOrtho(coefficients: ArrayLike<number>, horizon: number, dims: number, out = new Float64Array(horizon * dims)): Float64Array {
  checkShape(coefficients, horizon, dims);
  if (!(coefficients instanceof Float64Array)) coefficients = Float64Array.from(coefficients);
  const { evenT, oddT } = foldedBasis(horizon);
  const half = horizon >> 1;
  const evens = horizon - half;
  scratch(evens * dims);
  // The even frequencies' part (symmetric in time) and the odd ones' (antisymmetric), for the first half.
  multiply(evenT, evens, evens, coefficients, 0, 2, dims, sums, 0, 1);
  multiply(oddT, half, half, coefficients, 1, 2, dims, differences, 0, 1);
  for (let n = 0; n < half; n++) {
    const top = n * dims;
    const bottom = (horizon - 1 - n) * dims;
    for (let d = 0; d < dims; d++) {
      const a = sums[top + d]!;
      const b = differences[top + d]!;
      out[top + d] = a + b;
      out[bottom + d] = a - b;
    }
  }
  if (evens > half) for (let d = 0; d < dims; d++) out[half * dims + d] = sums[half * dims + d]!;
  return out;
}
