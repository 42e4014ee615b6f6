import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { chunkEndNs, sampleChunk, stepAt, toTimedChunk, type ChunkInput, type TimedChunk } from "../../src/blending/chunk.js";
import { makeHeader } from "../../src/msgs/messages.js";

const JOINTS = ["a", "b", "c"];
const START_NS = 1_000_000_000_000n;

/** A chunk whose joint j at step i is 10·j + i² (curved, so interpolation is visible). */
function chunk(horizon: number, dtS: number, stampNs = START_NS): TimedChunk {
  const positionsRad = new Float64Array(horizon * JOINTS.length);
  for (let i = 0; i < horizon; i++) for (let j = 0; j < JOINTS.length; j++) positionsRad[i * JOINTS.length + j] = 10 * j + i * i;
  return { chunkId: 1, stampNs, dtS, horizon, jointCount: JOINTS.length, positionsRad, repaired: false };
}

function message(overrides: Partial<ChunkInput> = {}, stampNs = START_NS): ChunkInput {
  const horizon = overrides.horizon ?? 4;
  const names = overrides.action_names ?? JOINTS;
  return {
    header: makeHeader(stampNs),
    chunk_id: 7,
    dt_s: 0.05,
    horizon,
    action_names: names,
    actions_rad: Float64Array.from({ length: horizon * names.length }, (_, k) => k),
    decode_status: 0,
    decode_detail: "",
    ...overrides,
  };
}

describe("chunk sampling", () => {
  it("equals the chunk exactly at its steps, for any step period", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), fc.double({ min: 0.001, max: 0.5, noNaN: true }), fc.nat(), (horizon, dtS, pick) => {
        const c = chunk(horizon, dtS);
        const i = pick % horizon;
        const out = new Float64Array(JOINTS.length);
        // The tick falls on the step as closely as whole nanoseconds allow.
        const timeNs = START_NS + BigInt(Math.round(i * dtS * 1e9));
        expect(sampleChunk(c, timeNs, out)).toBe("inside");
        for (let j = 0; j < JOINTS.length; j++) expect(out[j]).toBe(c.positionsRad[i * JOINTS.length + j]);
      }),
    );
  });

  it("interpolates linearly between steps", () => {
    const c = chunk(5, 0.1);
    const out = new Float64Array(3);
    // 0.25 of the way from step 2 (4) to step 3 (9).
    expect(sampleChunk(c, START_NS + 225_000_000n, out)).toBe("inside");
    expect(out[0]).toBeCloseTo(4 + 0.25 * 5, 12);
    expect(out[2]).toBeCloseTo(20 + 4 + 0.25 * 5, 12);
    fc.assert(
      fc.property(fc.double({ min: 0, max: 4, noNaN: true }), (step) => {
        sampleChunk(c, START_NS + BigInt(Math.round(step * 0.1 * 1e9)), out);
        const row = Math.min(3, Math.floor(step));
        const f = step - row;
        expect(out[1]).toBeCloseTo(10 + row * row + f * ((row + 1) ** 2 - row * row), 6);
      }),
    );
  });

  it("is 'before' ahead of step 0 and 'after' past the last step, writing nothing", () => {
    const c = chunk(3, 0.1);
    const out = new Float64Array(3).fill(-1);
    expect(sampleChunk(c, START_NS - 2n, out)).toBe("before");
    expect(sampleChunk(c, chunkEndNs(c), out)).toBe("inside");
    expect(out[0]).toBe(4);
    out.fill(-1);
    expect(sampleChunk(c, chunkEndNs(c) + 1_000_000n, out)).toBe("after");
    expect([...out]).toEqual([-1, -1, -1]);
  });

  it("places a tick d steps after the stamp at step d, from the stamps alone", () => {
    const c = chunk(50, 1 / 30);
    expect(stepAt(c, START_NS + 700_000_000n)).toBeCloseTo(21, 9);
    expect(stepAt(c, START_NS + 300_000_000n)).toBeCloseTo(9, 9);
  });
});

describe("chunk validation", () => {
  const limits = { jointNames: JOINTS, maxChunkAgeMs: 500 };

  it("accepts a chunk and reorders its columns to the blender's joints", () => {
    const verdict = toTimedChunk(message({ action_names: ["c", "a", "b"], actions_rad: Float64Array.from([3, 1, 2, 30, 10, 20]), horizon: 2 }), limits, START_NS + 40_000_000n);
    expect(verdict.accepted).toBe(true);
    if (!verdict.accepted) return;
    expect([...verdict.chunk.positionsRad]).toEqual([1, 2, 3, 10, 20, 30]);
    expect(verdict.ageMs).toBe(40);
  });

  it("drops failed decodes, wrong names, wrong shapes, bad periods and non-finite values, naming what was wrong", () => {
    const cases: Array<[Partial<ChunkInput>, string, RegExp]> = [
      [{ decode_status: 2, decode_detail: "68 values" }, "decode_failed", /decode failed \(68 values\)/],
      [{ action_names: ["a", "b", "x"] }, "joint_names", /missing c; unexpected x; expected a, b, c/],
      [{ action_names: ["a", "b"], actions_rad: new Float64Array(8) }, "joint_names", /missing c/],
      [{ action_names: ["a", "b", "c", "a"], actions_rad: new Float64Array(16) }, "joint_names", /a name repeated/],
      [{ actions_rad: new Float64Array(11) }, "bad_shape", /11 values for horizon 4 × 3 joints; expected 12/],
      [{ horizon: 0, actions_rad: new Float64Array(0) }, "bad_shape", /horizon 0/],
      [{ dt_s: 0 }, "bad_shape", /dt_s 0/],
      [{ dt_s: NaN }, "bad_shape", /dt_s NaN/],
      [{ actions_rad: Float64Array.from({ length: 12 }, (_, k) => (k === 7 ? NaN : k)) }, "non_finite", /step 2 b is NaN/],
      [{ actions_rad: Float64Array.from({ length: 12 }, (_, k) => (k === 0 ? Infinity : k)) }, "non_finite", /step 0 a is Infinity/],
    ];
    for (const [overrides, reason, detail] of cases) {
      const verdict = toTimedChunk(message(overrides), limits, START_NS);
      expect(verdict.accepted, JSON.stringify(overrides)).toBe(false);
      if (verdict.accepted) continue;
      expect(verdict.reason).toBe(reason);
      expect(verdict.detail).toMatch(detail);
    }
  });

  it("drops a chunk older than max_chunk_age_ms on arrival, one that ran out, and one from far in the future", () => {
    const stale = toTimedChunk(message(), limits, START_NS + 600_000_000n);
    expect(stale).toMatchObject({ accepted: false, reason: "stale" });
    expect(toTimedChunk(message(), { ...limits, maxChunkAgeMs: 1000 }, START_NS + 600_000_000n)).toMatchObject({ accepted: false, reason: "stale" });
    expect(toTimedChunk(message(), limits, START_NS - 600_000_000n)).toMatchObject({ accepted: false, reason: "future" });
    // Slightly in the future (clock skew) is fine: it waits for its stamp.
    expect(toTimedChunk(message(), limits, START_NS - 20_000_000n).accepted).toBe(true);
    expect(toTimedChunk(message(), limits, START_NS + 149_000_000n).accepted).toBe(true);
  });
});
