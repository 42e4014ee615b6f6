/**
 * Vocabulary id ↔ FAST id, against the mapping openpi and LeRobot use: `paligemma_id = vocab_size − 1 −
 * fast_skip_tokens − fast_id` (PaliGemma: vocabulary 257,152, the last 128 ids skipped).
 */
import { describe, expect, it } from "vitest";
import { fastIdToVocabId, vocabIdToFastId, type Manifest } from "../../src/policy/manifest.js";

const VOCAB_SIZE = 257_152;
const SKIPPED = 128;
/** Only `action_tokens` takes part in the mapping. */
const paligemma = { action_tokens: { last_vocab_id: VOCAB_SIZE - 1 - SKIPPED } } as Manifest;
const reference = (fastId: number) => VOCAB_SIZE - 1 - SKIPPED - fastId;

describe("vocabulary id ↔ FAST id (PaliGemma)", () => {
  it("maps known ids both ways", () => {
    expect([0, 1, 2, 1023, 2047].map((fastId) => fastIdToVocabId(paligemma, fastId))).toEqual([257_023, 257_022, 257_021, 256_000, 254_976]);
    expect([257_023, 257_022, 256_000].map((vocabId) => vocabIdToFastId(paligemma, vocabId, 1024))).toEqual([0, 1, 1023]);
  });

  it("says -1 for every id that is not an action token", () => {
    // the skipped tail, the id just past the FAST vocabulary, EOS, openpi's "|", BOS and the last id
    for (const vocabId of [257_024, 257_151, 255_999, 1, 235_371, 2, VOCAB_SIZE - 1]) expect(vocabIdToFastId(paligemma, vocabId, 1024), String(vocabId)).toBe(-1);
    expect(vocabIdToFastId(paligemma, 254_976, 2048)).toBe(2047);
    expect(vocabIdToFastId(paligemma, 254_975, 2048)).toBe(-1);
  });

  it.each([1024, 2048])("round-trips the whole FAST vocabulary of %i ids onto distinct vocabulary ids", (fastVocabSize) => {
    const vocabIds = new Set<number>();
    for (let fastId = 0; fastId < fastVocabSize; fastId++) {
      const vocabId = fastIdToVocabId(paligemma, fastId);
      expect(vocabId).toBe(reference(fastId));
      expect(vocabIdToFastId(paligemma, vocabId, fastVocabSize)).toBe(fastId);
      vocabIds.add(vocabId);
    }
    expect(vocabIds.size).toBe(fastVocabSize);
    // and every vocabulary id outside that range is no action token
    let actionTokens = 0;
    for (let vocabId = 0; vocabId < VOCAB_SIZE; vocabId++) if (vocabIdToFastId(paligemma, vocabId, fastVocabSize) >= 0) actionTokens++;
    expect(actionTokens).toBe(fastVocabSize);
  });
});
