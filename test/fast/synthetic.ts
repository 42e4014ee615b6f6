/** Smooth, arm-like synthetic chunks (normalized units) for tokenizer tests and benches. */
import { seededRandom } from "../../src/random.js";

/** `count` chunks of `horizon×dims`: per dim a slow sinusoid plus a ramp and a little noise, within about [-1, 1]. */
export function syntheticChunks(count: number, horizon: number, dims: number, seed = 1): Float64Array[] {
  const random = seededRandom(seed);
  const chunks: Float64Array[] = [];
  for (let c = 0; c < count; c++) {
    const chunk = new Float64Array(horizon * dims);
    for (let d = 0; d < dims; d++) {
      const phase = random() * 2 * Math.PI;
      const frequency = 0.02 + random() * 0.15;
      const amplitude = 0.3 + random() * 0.6;
      const ramp = (random() - 0.5) * 0.02;
      for (let t = 0; t < horizon; t++) {
        chunk[t * dims + d] = amplitude * Math.sin(phase + 2 * Math.PI * frequency * t) + ramp * t + (random() - 0.5) * 0.01;
      }
    }
    chunks.push(chunk);
  }
  return chunks;
}

/**
 * Chunks whose DCT coefficients reach the extremes possible for values in [-1, 1] (the sign pattern of each
 * basis row, and its negation), so a tokenizer trained with them covers every chunk within [-1, 1].
 */
export function extremeChunks(horizon: number, dims: number, basis: Float64Array): Float64Array[] {
  const chunks: Float64Array[] = [];
  for (let k = 0; k < horizon; k++) {
    for (const sign of [1, -1]) {
      const chunk = new Float64Array(horizon * dims);
      for (let t = 0; t < horizon; t++) for (let d = 0; d < dims; d++) chunk[t * dims + d] = sign * Math.sign(basis[k * horizon + t]! || 1);
      chunks.push(chunk);
    }
  }
  return chunks;
}
