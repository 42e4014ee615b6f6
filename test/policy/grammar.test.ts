import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { trainFastTokenizer } from "../../src/fast/train.js";
import { ActionGrammar } from "../../src/policy/grammar.js";

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** Walks the grammar choosing among allowed tokens with `pick`; returns the concatenated bytes and steps. */
function walk(grammar: ActionGrammar, tokenBytes: readonly Uint8Array[], budget: number, pick: (allowed: number[]) => number): { bytes: number[]; steps: number; ended: boolean } {
  let state = grammar.start(budget);
  const bytes: number[] = [];
  for (let step = 0; step < budget; step++) {
    if (grammar.allowsEnd(state)) return { bytes, steps: step + 1, ended: true };
    const allowed = tokenBytes.map((_, id) => id).filter((id) => grammar.allows(state, id));
    if (allowed.length === 0) return { bytes, steps: step, ended: false };
    const id = allowed[pick(allowed)]!;
    bytes.push(...tokenBytes[id]!);
    state = grammar.advance(state, id);
  }
  return { bytes, steps: budget, ended: false };
}

describe("ActionGrammar", () => {
  // Tokens that split code points: lone lead bytes, lone continuations, mixed multi-byte runs, and
  // sequences that are never valid (overlong, surrogates, out of range) — the grammar must avoid them all.
  const tokenBytes: Uint8Array[] = [
    ...Array.from({ length: 128 }, (_, b) => Uint8Array.of(b)),
    Uint8Array.of(0xc3),
    Uint8Array.of(0xa9),
    Uint8Array.of(0x80),
    Uint8Array.of(0xe0),
    Uint8Array.of(0xa0, 0x80),
    Uint8Array.of(0xa0),
    Uint8Array.of(0xc3, 0xa9, 0x41),
    Uint8Array.of(0x41, 0xc3),
    Uint8Array.of(0xc0, 0x80), // overlong
    Uint8Array.of(0xed, 0xa0, 0x80), // surrogate
    Uint8Array.of(0xf4, 0x90, 0x80, 0x80), // above U+10FFFF
    Uint8Array.of(0xe0, 0xa5, 0x80), // U+0940, above maxCodePoint
    Uint8Array.of(0xdf, 0xbf), // U+07FF
    Uint8Array.of(0x41, 0x42, 0x43, 0x44, 0x45),
  ];
  const maxCodePoint = 0x900;

  it("lets every walk end at exactly the coefficient count, as valid UTF-8 within range and budget", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 30 }), fc.infiniteStream(fc.nat()), (count, slack, choices) => {
        const grammar = new ActionGrammar({ tokenBytes, coefficientCount: count, maxCodePoint });
        const budget = grammar.minimumSteps() + slack;
        const iterator = choices[Symbol.iterator]();
        const result = walk(grammar, tokenBytes, budget, (allowed) => (iterator.next().value as number) % allowed.length);
        expect(result.ended).toBe(true);
        expect(result.steps).toBeLessThanOrEqual(budget);
        const text = strictUtf8.decode(Uint8Array.from(result.bytes));
        const codePoints = [...text].map((char) => char.codePointAt(0)!);
        expect(codePoints.length).toBe(count);
        expect(codePoints.every((cp) => cp <= maxCodePoint)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("allows '|' only at a code-point boundary after exactly the coefficient count", () => {
    const grammar = new ActionGrammar({ tokenBytes, coefficientCount: 2, maxCodePoint });
    let state = grammar.start(10);
    expect(grammar.allowsEnd(state)).toBe(false);
    state = grammar.advance(state, 0x41); // "A"
    expect(grammar.allowsEnd(state)).toBe(false);
    const lead = 128; // 0xC3
    expect(grammar.allows(state, lead)).toBe(true);
    state = grammar.advance(state, lead);
    expect(grammar.allowsEnd(state)).toBe(false);
    // After a lead byte only a continuation fits; a token that would finish a third code point cannot.
    expect(grammar.allows(state, 0x41)).toBe(false);
    expect(grammar.allows(state, 128 + 6)).toBe(false); // 0xC3 0xA9 0x41 → would make 3 code points
    state = grammar.advance(state, 129); // 0xA9
    expect(grammar.allowsEnd(state)).toBe(true);
    expect(tokenBytes.some((_, id) => grammar.allows(state, id))).toBe(false);
  });

  it("never allows overlong, surrogate or out-of-range sequences", () => {
    const grammar = new ActionGrammar({ tokenBytes, coefficientCount: 5, maxCodePoint });
    const start = grammar.start(50);
    for (const id of [136, 137, 138, 139]) expect(grammar.allows(start, id)).toBe(false);
    expect(grammar.allows(start, 140)).toBe(true); // U+07FF is fine
  });

  it("steers into the budget: with the fewest steps possible the walk still ends", () => {
    const grammar = new ActionGrammar({ tokenBytes, coefficientCount: 22, maxCodePoint });
    // The longest tokens give 5 and 2 code points: 22 = 5·4 + 2 → at least 5 tokens, then "|".
    expect(grammar.minimumSteps()).toBe(6);
    const result = walk(grammar, tokenBytes, grammar.minimumSteps(), (allowed) => allowed.length - 1);
    expect(result.ended).toBe(true);
  });

  it("constrains a trained FAST vocabulary the same way", () => {
    const horizon = 8;
    const dims = 3;
    const chunks = Array.from({ length: 200 }, (_, c) => Float64Array.from({ length: horizon * dims }, (_, i) => Math.sin(c * 0.37 + (i % dims)) * Math.cos((Math.floor(i / dims) + c) * 0.2)));
    const { tokenizer } = trainFastTokenizer(chunks, { horizon, dims, vocabSize: 300 });
    const bytes = tokenizer.tokenBytes();
    const grammar = new ActionGrammar({ tokenBytes: bytes, coefficientCount: horizon * dims, maxCodePoint: tokenizer.config.vocabSize });
    fc.assert(
      fc.property(fc.infiniteStream(fc.nat()), (choices) => {
        const iterator = choices[Symbol.iterator]();
        const ids: number[] = [];
        let state = grammar.start(grammar.minimumSteps() + 20);
        while (!grammar.allowsEnd(state)) {
          const allowed = bytes.map((_, id) => id).filter((id) => grammar.allows(state, id));
          const id = allowed[(iterator.next().value as number) % allowed.length]!;
          ids.push(id);
          state = grammar.advance(state, id);
        }
        expect(tokenizer.decode(ids, horizon, dims, "strict").status).toBe("ok");
      }),
      { numRuns: 100 },
    );
  });
});
