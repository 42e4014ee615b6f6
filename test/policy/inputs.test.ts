/**
 * What the policy really feeds its graphs, watched at the onnxruntime sessions: the `pixel_values` tensor of
 * the vision encoder and the attention groups and logits of the decoder's prefill. On a test model whose greedy
 * tokens change with its input (an untied LM head), so that a wrong image or mask shows in the tokens.
 */
import type * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { chooseToken, PREFIX_GROUP } from "../../src/policy/decoder.js";
import { fastIdToVocabId, type Manifest } from "../../src/policy/manifest.js";
import { DEFAULT_MAX_DECODE_STEPS, Pi0FastPolicy, type PolicyInput } from "../../src/policy/policy.js";
import { interopPython, runPython } from "../helpers/system.js";
import { observation, removeModels, tinyModel } from "./model-fixture.js";

interface DecoderRunRecord {
  attentionMask: BigInt64Array;
  embeds: Float32Array;
  logits: Float32Array;
}

/** Copies of every decoder run's feeds and logits while `body` runs (onnxruntime may reuse its buffers). */
async function recordDecoderRuns(session: ort.InferenceSession, body: () => Promise<unknown>): Promise<DecoderRunRecord[]> {
  const records: DecoderRunRecord[] = [];
  const run = session.run.bind(session);
  const spy = vi.spyOn(session, "run").mockImplementation((async (feeds: ort.InferenceSession.FeedsType) => {
    const outputs = await run(feeds);
    records.push({
      attentionMask: BigInt64Array.from(feeds.attention_mask!.data as BigInt64Array),
      embeds: Float32Array.from(feeds.inputs_embeds!.data as Float32Array),
      logits: Float32Array.from(outputs.logits!.data as Float32Array),
    });
    return outputs;
  }) as typeof session.run);
  try {
    await body();
  } finally {
    spy.mockRestore();
  }
  return records;
}

/** The `pixel_values` tensor the vision encoder is given for `input`. */
async function pixelValues(policy: Pi0FastPolicy, input: PolicyInput): Promise<{ data: Float32Array; dims: readonly number[]; type: string }> {
  const vision = policy.sessions.vision;
  let seen: { data: Float32Array; dims: readonly number[]; type: string } | undefined;
  const run = vision.run.bind(vision);
  const spy = vi.spyOn(vision, "run").mockImplementation((async (feeds: ort.InferenceSession.FeedsType) => {
    const tensor = feeds.pixel_values!;
    seen = { data: Float32Array.from(tensor.data as Float32Array), dims: tensor.dims, type: tensor.type };
    return run(feeds);
  }) as typeof vision.run);
  try {
    await policy.infer(input);
  } finally {
    spy.mockRestore();
  }
  return seen!;
}

/** The same observation with red and blue exchanged in every pixel. */
function swapRedBlue(input: PolicyInput): PolicyInput {
  return {
    ...input,
    images: input.images.map((image) => {
      const data = image.data.slice();
      for (let i = 0; i < data.length; i += 3) [data[i], data[i + 2]] = [image.data[i + 2]!, image.data[i]!];
      return { ...image, data };
    }),
  };
}

describe("the policy's inputs on a test model whose tokens follow its input", () => {
  let policy: Pi0FastPolicy;
  let manifest: Manifest;

  beforeAll(async () => {
    const model = await tinyModel({ seed: 3, untiedLmHead: true });
    manifest = model.manifest;
    policy = await Pi0FastPolicy.load(model.dir, { providers: ["cpu"] });
  });
  afterAll(async () => {
    await policy?.dispose();
    removeModels();
  });

  it("emits different tokens for different observations, and not one token over and over", async () => {
    const chunks = [];
    for (let variant = 0; variant < 4; variant++) chunks.push((await policy.infer(observation(manifest, variant))).fastIds);
    expect(new Set(chunks.map((ids) => ids.join(","))).size).toBe(4);
    for (const ids of chunks) expect(new Set(ids).size).toBeGreaterThan(3);
  });

  describe("pixel_values", () => {
    const size = 32;
    const plane = size * size;
    /** Camera 0: red, green, blue, white, black, mid-grey and (0, 128, 255) at known places; camera 1: a gradient. */
    function knownImages(): PolicyInput {
      const base = observation(manifest);
      const first = new Uint8Array(plane * 3).fill(0);
      const put = (x: number, y: number, rgb: [number, number, number]) => first.set(rgb, (y * size + x) * 3);
      put(0, 0, [255, 0, 0]);
      put(1, 0, [0, 255, 0]);
      put(0, 1, [0, 0, 255]);
      put(2, 0, [255, 255, 255]);
      put(3, 0, [128, 128, 128]);
      put(31, 31, [0, 128, 255]);
      const second = Uint8Array.from({ length: plane * 3 }, (_, i) => (i * 5) & 0xff);
      return { ...base, images: [{ width: size, height: size, data: first }, { width: size, height: size, data: second }] };
    }

    it("is float32 [cameras, 3, H, W]: planar channels in R, G, B order, each byte v as v / 127.5 − 1", async () => {
      expect(manifest.vision.image_size).toBe(size);
      const input = knownImages();
      const pixels = await pixelValues(policy, input);
      expect(pixels.type).toBe("float32");
      expect(pixels.dims).toEqual([2, 3, size, size]);
      const at = (camera: number, channel: number, x: number, y: number) => pixels.data[camera * 3 * plane + channel * plane + y * size + x]!;
      const rgbAt = (camera: number, x: number, y: number) => [0, 1, 2].map((channel) => at(camera, channel, x, y));
      expect(rgbAt(0, 0, 0)).toEqual([1, -1, -1]);
      expect(rgbAt(0, 1, 0)).toEqual([-1, 1, -1]);
      expect(rgbAt(0, 0, 1)).toEqual([-1, -1, 1]);
      expect(rgbAt(0, 2, 0)).toEqual([1, 1, 1]);
      expect(rgbAt(0, 4, 0)).toEqual([-1, -1, -1]);
      expect(rgbAt(0, 3, 0)).toEqual([0, 1, 2].map(() => Math.fround(128 / 127.5 - 1)));
      expect(rgbAt(0, 31, 31)).toEqual([-1, Math.fround(128 / 127.5 - 1), 1]);
      // camera 1 starts after camera 0's three planes
      expect(rgbAt(1, 0, 0)).toEqual([0, 5, 10].map((v) => Math.fround(v / 127.5 - 1)));
      expect(rgbAt(1, 7, 2)).toEqual([0, 1, 2].map((c) => Math.fround((((2 * size + 7) * 3 + c) * 5 & 0xff) / 127.5 - 1)));
    });

    const python = interopPython(["numpy"]);
    it.skipIf(python === undefined)("equals LeRobot's [0, 1] → [−1, 1] of the HWC images transposed to CHW, computed by numpy", async () => {
      const input = knownImages();
      const pixels = await pixelValues(policy, input);
      const images = Buffer.concat(input.images.map((image) => Buffer.from(image.data)));
      const reference = JSON.parse(
        runPython(
          python!,
          `
import sys, json, numpy as np
raw = sys.stdin.buffer.read()
images = np.frombuffer(raw, dtype=np.uint8).reshape(2, ${size}, ${size}, 3)
x = images.astype(np.float32) / 255.0 * 2.0 - 1.0
print(json.dumps(np.ascontiguousarray(x.transpose(0, 3, 1, 2)).flatten().tolist()))`,
          images,
        ),
      ) as number[];
      expect(reference.length).toBe(pixels.data.length);
      let worst = 0;
      reference.forEach((value, i) => (worst = Math.max(worst, Math.abs(value - pixels.data[i]!))));
      expect(worst).toBeLessThan(1e-6);
    });

    it("a red/blue swap of the images changes the tokens", async () => {
      const input = observation(manifest);
      const swapped = swapRedBlue(input);
      expect(swapped.images[0]!.data).not.toEqual(input.images[0]!.data);
      const [plain, exchanged] = [await policy.infer(input), await policy.infer(swapped)];
      expect(plain.status).toBe("ok");
      expect(exchanged.fastIds).not.toEqual(plain.fastIds);
    });
  });

  describe("the prefix-LM mask of generate()", () => {
    it("prefills with one bidirectional group for the prefix and one causal group per forced token, and continues the groups while decoding", async () => {
      const runs = await recordDecoderRuns(policy.decoder.session, () => policy.infer(observation(manifest, 1)));
      const suffix = manifest.tokens.action_prefix.length;
      const prefill = runs[0]!;
      const total = prefill.attentionMask.length;
      expect(prefill.embeds.length).toBe(total * manifest.decoder.hidden_size);
      const imageTokens = manifest.vision.cameras.length * manifest.vision.tokens_per_image;
      expect(total - suffix).toBeGreaterThan(imageTokens);
      const expected = [...Array<bigint>(total - suffix).fill(BigInt(PREFIX_GROUP)), ...Array.from({ length: suffix }, (_, i) => BigInt(PREFIX_GROUP + 1 + i))];
      expect(Array.from(prefill.attentionMask)).toEqual(expected);
      // each decode step adds one position in a group of its own
      expect(runs.length).toBeGreaterThan(2);
      for (const [step, record] of runs.slice(1).entries()) {
        expect(Array.from(record.attentionMask)).toEqual([...expected, ...Array.from({ length: step + 1 }, (_, i) => BigInt(PREFIX_GROUP + 1 + suffix + i))]);
      }
    });

    it("its prefill logits are those of a bidirectional prefix, whose first token differs from a causal prefix's", async () => {
      const runs = await recordDecoderRuns(policy.decoder.session, () => policy.infer(observation(manifest, 2)));
      const result = await policy.infer(observation(manifest, 2));
      const prefill = runs[0]!;
      const total = prefill.attentionMask.length;
      const suffix = manifest.tokens.action_prefix.length;
      const logitCount = policy.decoder.logitCount;
      const lastRow = (logits: Float32Array) => logits.subarray(logits.length - logitCount);
      // references: the same embeddings under masks built here
      const bidirectional = BigInt64Array.from({ length: total }, (_, i) => BigInt(i < total - suffix ? PREFIX_GROUP : PREFIX_GROUP + 1 + i - (total - suffix)));
      const causal = BigInt64Array.from({ length: total }, (_, i) => BigInt(PREFIX_GROUP + i));
      const logitsWith = async (groups: BigInt64Array) => {
        const run = await policy.decoder.run(prefill.embeds, groups, policy.decoder.emptyCache());
        run.cache.dispose();
        return lastRow(run.logits).slice();
      };
      const [bidirectionalLogits, causalLogits] = [await logitsWith(bidirectional), await logitsWith(causal)];
      let worst = 0;
      lastRow(prefill.logits).forEach((value, i) => (worst = Math.max(worst, Math.abs(value - bidirectionalLogits[i]!))));
      expect(worst).toBeLessThan(1e-5);
      // the first token under each mask, chosen as generate() chooses (constrained by the grammar)
      const firstToken = (logits: Float32Array) => policy.vocabulary.fastIdOfLogit[chooseToken(logits, policy.vocabulary, policy.grammar, policy.grammar.start(DEFAULT_MAX_DECODE_STEPS))]!;
      expect(firstToken(bidirectionalLogits)).not.toBe(firstToken(causalLogits));
      expect(result.fastIds[0]).toBe(firstToken(bidirectionalLogits));
    });
  });

  it("maps every FAST id to the manifest's logit token and back", () => {
    const fastVocab = policy.fast.vocabSize();
    for (let fastId = 0; fastId < fastVocab; fastId++) {
      const logit = policy.vocabulary.logitOfFastId[fastId]!;
      expect(manifest.logit_token_ids[logit]).toBe(fastIdToVocabId(manifest, fastId));
      expect(policy.vocabulary.fastIdOfLogit[logit]).toBe(fastId);
    }
  });
});
