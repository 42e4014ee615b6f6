import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Decoder, generate, PREFIX_GROUP, type EmbeddingArray } from "../../src/policy/decoder.js";
import { Pi0FastPolicy } from "../../src/policy/policy.js";
import { observation, removeModels, tinyModel } from "./model-fixture.js";
import { lerobotDegreesToRadians } from "../../src/so100/units.js";

/** Groups of a prefix of `prefixLength` (bidirectional) followed by `suffixLength` causal tokens. */
function groupsFor(prefixLength: number, suffixLength: number): BigInt64Array {
  const groups = new BigInt64Array(prefixLength + suffixLength).fill(BigInt(PREFIX_GROUP));
  for (let i = 0; i < suffixLength; i++) groups[prefixLength + i] = BigInt(PREFIX_GROUP + 1 + i);
  return groups;
}

function randomEmbeds(count: number, width: number, seed: number): Float32Array {
  let state = seed;
  return Float32Array.from({ length: count * width }, () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return (state / 2147483648 - 0.5) * 0.5;
  });
}

function argmax(values: Float32Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

describe("decoder on the tiny fp32 model (CPU)", () => {
  let policy: Pi0FastPolicy;
  let decoder: Decoder;
  const prefixLength = 24;
  const suffixLength = 3;

  beforeAll(async () => {
    const { dir } = await tinyModel({ seed: 3 });
    policy = await Pi0FastPolicy.load(dir, { providers: ["cpu"] });
    decoder = policy.decoder;
  });
  afterAll(async () => {
    await policy?.dispose();
    removeModels();
  });

  it("gives the same tokens and logits (within 1e-4) with the KV cache as recomputing the whole sequence", async () => {
    const W = decoder.width;
    const V = decoder.logitCount;
    const steps = 12;
    const prefix = randomEmbeds(prefixLength, W, 11);
    const suffix = randomEmbeds(suffixLength, W, 12);
    let sequence: Float32Array = new Float32Array([...prefix, ...suffix]);
    let run = await decoder.run(sequence, groupsFor(prefixLength, suffixLength), decoder.emptyCache());
    let cache = run.cache;
    let cachedLogits = run.logits.subarray(run.logits.length - V);
    const tokens: number[] = [];
    let worst = 0;
    for (let step = 0; step < steps; step++) {
      const full = await decoder.run(sequence, groupsFor(prefixLength, suffixLength + step), decoder.emptyCache());
      const recomputed = full.logits.subarray(full.logits.length - V);
      worst = Math.max(worst, maxAbsDiff(cachedLogits, recomputed));
      const choice = argmax(cachedLogits);
      expect(choice).toBe(argmax(recomputed));
      tokens.push(choice);
      const embedding = (policy.tokenEmbeddings as Float32Array).subarray(choice * W, (choice + 1) * W);
      sequence = new Float32Array([...sequence, ...embedding]);
      expect(cache.length).toBe(prefixLength + suffixLength + step);
      run = await decoder.run(embedding, groupsFor(prefixLength, suffixLength + step + 1), cache);
      cache = run.cache;
      cachedLogits = run.logits;
    }
    expect(worst).toBeLessThan(1e-4);
    // The generation loop takes the same path: unconstrained, it emits the same tokens.
    const generation = await generate(decoder, prefix, suffix, { vocabulary: policy.vocabulary, tokenEmbeddings: policy.tokenEmbeddings, maxSteps: steps });
    const expected = tokens.slice(0, generation.fastIds.length + (generation.end === "max_steps" ? 0 : 1));
    const emitted = generation.fastIds.map((fastId) => policy.vocabulary.logitOfFastId[fastId]!);
    if (generation.end !== "max_steps") emitted.push(generation.end === "pipe" ? policy.vocabulary.pipeIndex : policy.vocabulary.eosIndex);
    expect(emitted).toEqual(expected);
  });

  it("attends bidirectionally within the prefix and causally within the suffix", async () => {
    const W = decoder.width;
    const V = decoder.logitCount;
    const base = randomEmbeds(prefixLength + suffixLength, W, 21);
    const groups = groupsFor(prefixLength, suffixLength);
    const logitsOf = async (embeds: EmbeddingArray) => (await decoder.run(embeds, groups, decoder.emptyCache())).logits;
    const row = (logits: Float32Array, position: number) => logits.subarray(position * V, (position + 1) * V);
    const reference = await logitsOf(base);

    // Changing the last prefix token changes the first prefix position: the prefix is bidirectional.
    const laterPrefix = base.slice();
    laterPrefix.set(randomEmbeds(1, W, 22), (prefixLength - 1) * W);
    expect(maxAbsDiff(row(reference, 0), row(await logitsOf(laterPrefix), 0))).toBeGreaterThan(1e-3);

    // Changing the last suffix token leaves every earlier position alone: the suffix is causal.
    const lastSuffix = base.slice();
    lastSuffix.set(randomEmbeds(1, W, 23), (prefixLength + suffixLength - 1) * W);
    const changed = await logitsOf(lastSuffix);
    for (let position = 0; position < prefixLength + suffixLength - 1; position++) expect(maxAbsDiff(row(reference, position), row(changed, position))).toBe(0);
    // …and does change its own position (the test would notice a mask that hides everything).
    expect(maxAbsDiff(row(reference, prefixLength + suffixLength - 1), row(changed, prefixLength + suffixLength - 1))).toBeGreaterThan(1e-3);

    // A suffix token sees earlier suffix tokens.
    const firstSuffix = base.slice();
    firstSuffix.set(randomEmbeds(1, W, 24), prefixLength * W);
    expect(maxAbsDiff(row(reference, prefixLength + suffixLength - 1), row(await logitsOf(firstSuffix), prefixLength + suffixLength - 1))).toBeGreaterThan(1e-3);
  });

  it("runs a whole observation to a chunk in radians, stamped with timings", async () => {
    const result = await policy.infer(observation(policy.manifest));
    expect(result.status).toBe("ok");
    expect(result.end).toBe("pipe");
    expect(result.provider).toBe("cpu");
    expect(result.actionsRad.length).toBe(policy.manifest.actions.horizon * policy.manifest.actions.names.length);
    expect(result.actionsRad.every(Number.isFinite)).toBe(true);
    // LeRobot degrees in the policy's units, radians out (src/so100/units.ts).
    expect(result.actionsRad[0]).toBeCloseTo(lerobotDegreesToRadians(result.actions[0]!), 12);
    expect(result.timings.decodeStepMs.length).toBe(result.tokenCount);
    expect(result.timings.sessionRunMs).toBeLessThanOrEqual(result.timings.totalMs);
  });
});

describe("constrained decoding", () => {
  afterAll(() => removeModels());

  it("always yields a decodable chunk, where the plain argmax of the same random models does not", async () => {
    const statuses = { constrained: [] as string[], plain: [] as string[] };
    for (const seed of [1, 2, 5, 8]) {
      const { dir, manifest } = await tinyModel({ seed });
      for (const constrained of [true, false]) {
        const policy = await Pi0FastPolicy.load(dir, { providers: ["cpu"], constrained, maxDecodeSteps: 90 });
        try {
          for (let variant = 0; variant < 3; variant++) {
            const result = await policy.infer(observation(manifest, variant));
            (constrained ? statuses.constrained : statuses.plain).push(result.status);
            if (constrained) expect(result.tokenCount).toBeLessThanOrEqual(89);
          }
        } finally {
          await policy.dispose();
        }
      }
    }
    expect(statuses.constrained.every((status) => status === "ok")).toBe(true);
    expect(statuses.plain.filter((status) => status !== "ok").length).toBeGreaterThan(0);
  });

  it("works on an fp16 model", async () => {
    const { dir, manifest } = await tinyModel({ seed: 4, dtype: "fp16" });
    const policy = await Pi0FastPolicy.load(dir, { providers: ["cpu"] });
    try {
      expect(policy.manifest.dtype).toBe("float16");
      const result = await policy.infer(observation(manifest, 1));
      expect(result.status).toBe("ok");
      expect(result.actionsRad.every(Number.isFinite)).toBe(true);
    } finally {
      await policy.dispose();
    }
  });
});
