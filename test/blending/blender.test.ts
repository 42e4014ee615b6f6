import { describe, expect, it } from "vitest";
import { ChunkBlender } from "../../src/blending/blender.js";
import { chunkMessage, DT_S, JOINTS, maxStepRad, PERIOD_NS, runTicks, settings, START_NS, startedBlender } from "./fixtures.js";

const MS = 1_000_000n;
const n = JOINTS.length;

describe("chunk blender: start", () => {
  it("commands nothing before every joint was seen, then the arm's present position, whatever chunk waits", () => {
    const blender = new ChunkBlender(settings({ alignOffset: false }));
    blender.offerChunk(chunkMessage(1, START_NS, () => 1.0), START_NS);
    expect(blender.tick(START_NS)).toBeUndefined();
    expect(blender.state).toBe("waiting_for_joint_state");
    // Other joints and NaNs are ignored; one joint is still missing.
    blender.observeJointState(["base_link_joint", ...JOINTS.slice(0, 5)], [9, 0.1, 0.2, NaN, 0.4, 0.5]);
    expect(blender.tick(START_NS + PERIOD_NS)).toBeUndefined();
    blender.observeJointState(["gripper", "elbow_flex"], [0.6, 0.3]);
    const first = blender.tick(START_NS + 2n * PERIOD_NS);
    expect([...first!]).toEqual([0.1, 0.2, 0.3, 0.4, 0.5, 0.6]);
    expect(blender.state).toBe("holding");
  });
});

describe("chunk blender: steps skipped by the stamps, never by a latency estimate", () => {
  it("starts a chunk that arrives d steps late at step d: 21 for the first after a 0.7 s warm-up, 9 for one 0.3 s late", () => {
    const blender = startedBlender(settings({ alignOffset: false, blend: { schedule: "latest_only" } }));
    // Joint values name the step: 0.1 per step, chunk 2 offset by 5.
    const first = chunkMessage(1, START_NS, (i) => 0.1 * i);
    const arrival1 = START_NS + 700n * MS;
    runTicks(blender, START_NS + PERIOD_NS, arrival1);
    expect(blender.offerChunk(first, arrival1).accepted).toBe(true);
    const atArrival = blender.tick(arrival1)!;
    expect(atArrival[0]).toBeCloseTo(0.1 * 21, 9);
    expect(blender.counters.lastSkippedSteps).toBe(21);

    const stamp2 = arrival1 + 200n * MS;
    const arrival2 = stamp2 + 300n * MS;
    runTicks(blender, arrival1 + PERIOD_NS, arrival2);
    blender.offerChunk(chunkMessage(2, stamp2, (i) => 5 + 0.1 * i), arrival2);
    const atSecond = blender.tick(arrival2)!;
    expect(atSecond[3]).toBeCloseTo(5 + 0.1 * 9, 9);
    expect(blender.counters.lastSkippedSteps).toBe(9);
    // Between steps the tick interpolates: 15 ms later is step 9.45.
    expect(blender.tick(arrival2 + 15n * MS)![3]).toBeCloseTo(5 + 0.1 * 9.45, 9);
  });

  it("skips nothing of a chunk stamped in the future: step 0 runs at its stamp", () => {
    const blender = startedBlender(settings({ alignOffset: false }), JOINTS.map(() => 0.25));
    const stampNs = START_NS + 50n * MS;
    blender.offerChunk(chunkMessage(1, stampNs, (i) => 1 + i), START_NS + PERIOD_NS);
    const before = runTicks(blender, START_NS + PERIOD_NS, stampNs);
    for (const { command } of before) expect(command[0]).toBe(0.25);
    expect(blender.tick(stampNs)![0]).toBe(1);
    expect(blender.counters.lastSkippedSteps).toBe(0);
  });
});

describe("chunk blender: blend schedules in the overlap", () => {
  const a = 1.0;
  const b = 2.0;
  /** Chunk A (all joints a) switched in at START + 10 ms, chunk B (all b) at START + 200 ms; the commands from B's switch-over on. */
  function overlap(schedule: Parameters<typeof settings>[0]) {
    const blender = startedBlender(settings({ alignOffset: false, ...schedule }));
    blender.offerChunk(chunkMessage(1, START_NS, () => a), START_NS);
    runTicks(blender, START_NS + PERIOD_NS, START_NS + 200n * MS);
    blender.offerChunk(chunkMessage(2, START_NS + 200n * MS, () => b), START_NS + 200n * MS);
    return runTicks(blender, START_NS + 200n * MS, START_NS + 700n * MS).map(({ timeNs, command }) => ({ stepsSinceSwitch: Number(timeNs - START_NS - 200n * MS) / 1e9 / DT_S, value: command[0]! }));
  }

  it("constant: blend_alpha for the new chunk (0.7 = LeRobot's weighted average) until the old one runs out", () => {
    for (const { value } of overlap({ blend: { schedule: "constant", alpha: 0.7 } })) expect(value).toBeCloseTo(0.3 * a + 0.7 * b, 12);
    for (const { value } of overlap({ blend: { schedule: "constant", alpha: 0.25 } })) expect(value).toBeCloseTo(0.75 * a + 0.25 * b, 12);
  });

  it("latest_only: the new chunk alone", () => {
    for (const { value } of overlap({ blend: { schedule: "latest_only" } })) expect(value).toBe(b);
  });

  it("linear: a ramp from the old chunk to the new over blend_steps", () => {
    const values = overlap({ blend: { schedule: "linear", steps: 10 } });
    for (const { stepsSinceSwitch, value } of values) expect(value).toBeCloseTo(a + (b - a) * Math.min(1, stepsSinceSwitch / 10), 9);
    expect(values[0]!.value).toBe(a);
    expect(values.at(-1)!.value).toBe(b);
  });

  it("exponential: RTC's soft mask, the old chunk keeping c·(e^c − 1)/(e − 1) as c falls from 1 to 0 over blend_steps", () => {
    const values = overlap({ blend: { schedule: "exponential", steps: 6 } });
    for (const { stepsSinceSwitch, value } of values) {
      const c = Math.max(0, 1 - stepsSinceSwitch / 6);
      const oldWeight = (c * (Math.exp(c) - 1)) / (Math.E - 1);
      expect(value).toBeCloseTo(oldWeight * a + (1 - oldWeight) * b, 9);
    }
    // Faster than linear at first: the old chunk's weight falls steeply from 1.
    const third = values.find((v) => v.stepsSinceSwitch >= 2)!;
    expect(third.value - a).toBeGreaterThan(((b - a) * third.stepsSinceSwitch) / 6);
  });

  it("temporal_ensembling: ACT's exp(−m·i) average over every chunk covering the time, i = 0 the oldest", () => {
    const m = 0.5;
    const blender = startedBlender(settings({ alignOffset: false, blend: { schedule: "temporal_ensembling", ensembleM: m } }));
    const values = [1, 2, 4];
    values.forEach((v, k) => {
      const t = START_NS + BigInt(k) * 100n * MS;
      blender.offerChunk(chunkMessage(k + 1, t, () => v), t);
      runTicks(blender, t === START_NS ? t + PERIOD_NS : t, t + 100n * MS);
    });
    const weights = values.map((_, i) => Math.exp(-m * i));
    const expected = values.reduce((sum, v, i) => sum + weights[i]! * v, 0) / weights.reduce((x, y) => x + y, 0);
    expect(blender.tick(START_NS + 300n * MS)![2]).toBeCloseTo(expected, 12);
  });
});

describe("chunk blender: offset alignment", () => {
  /** Chunk 1 follows q(t) = 0.5 sin(2t) from the arm's start; chunk 2 starts 50 mrad behind it (a lagging arm's observation). */
  function switchOver(alignOffset: boolean) {
    const q = (timeS: number) => 0.5 * Math.sin(2 * timeS);
    const blender = startedBlender(settings({ alignOffset, alignFadeS: 0.3 }), JOINTS.map(() => q(0)));
    blender.offerChunk(chunkMessage(1, START_NS, (i) => q(i * DT_S)), START_NS);
    const stamp2 = START_NS + 300n * MS;
    const ticks = runTicks(blender, START_NS + PERIOD_NS, stamp2 + 100n * MS);
    blender.offerChunk(chunkMessage(2, stamp2, (i) => q(0.3 + i * DT_S) - 0.05), stamp2 + 100n * MS);
    ticks.push(...runTicks(blender, stamp2 + 100n * MS, stamp2 + 1000n * MS));
    return { ticks, q };
  }

  it("keeps the command continuous at switch-over (step between ticks bounded), while without it the same chunks jump", () => {
    // q moves at most 1 rad/s (10 mrad per tick); the 35 mrad offset fades over 0.3 s by a raised cosine.
    const aligned = switchOver(true);
    expect(maxStepRad(aligned.ticks)).toBeLessThan(0.01 + (0.035 * Math.PI) / 2 / 30 + 1e-9);
    const jumping = switchOver(false);
    // 0.7 × 50 mrad at the switch, less the trajectory's own motion in that tick.
    expect(maxStepRad(jumping.ticks)).toBeGreaterThan(0.025);
  });

  it("still converges to the policy's intent once the offset has faded", () => {
    const { ticks, q } = switchOver(true);
    const late = ticks.filter(({ timeNs }) => timeNs >= START_NS + 800n * MS);
    expect(late.length).toBe(50);
    for (const { timeNs, command } of late) {
      const t = Number(timeNs - START_NS) / 1e9;
      // The constant blend: 0.3 of chunk 1 (q) and 0.7 of chunk 2 (q − 0.05), linear between steps.
      expect(command[0]).toBeCloseTo(q(t) - 0.7 * 0.05, 2);
    }
  });

  it("starts from the arm's position rather than jumping to a first chunk far from it", () => {
    const blender = startedBlender(settings({ alignOffset: true, alignFadeS: 0.5 }), JOINTS.map(() => 0));
    blender.offerChunk(chunkMessage(1, START_NS, () => 0.4, 50), START_NS);
    const ticks = runTicks(blender, START_NS + PERIOD_NS, START_NS + 1000n * MS);
    expect(ticks[0]!.command[0]).toBeCloseTo(0, 12);
    expect(maxStepRad(ticks)).toBeLessThan((0.4 * Math.PI) / 2 / 50 + 1e-9);
    expect(ticks.at(-1)!.command[0]).toBeCloseTo(0.4, 12);
  });

  it("re-aligns after a settings change, so a new schedule cannot make the command jump", () => {
    const blender = startedBlender(settings({ alignOffset: true }), JOINTS.map(() => 1));
    blender.offerChunk(chunkMessage(1, START_NS, () => 1), START_NS);
    runTicks(blender, START_NS + PERIOD_NS, START_NS + 100n * MS);
    blender.offerChunk(chunkMessage(2, START_NS + 100n * MS, () => 1.1), START_NS + 100n * MS);
    const ticks = runTicks(blender, START_NS + 100n * MS, START_NS + 600n * MS);
    expect(ticks.at(-1)!.command[0]).toBeCloseTo(0.3 * 1 + 0.7 * 1.1, 12);
    // latest_only alone would jump 30 mrad to chunk 2.
    blender.updateSettings(settings({ alignOffset: true, blend: { schedule: "latest_only" } }));
    ticks.push(...runTicks(blender, START_NS + 600n * MS, START_NS + 1000n * MS));
    expect(maxStepRad(ticks)).toBeLessThan(0.005);
    expect(ticks.at(-1)!.command[0]).toBeCloseTo(1.1, 9);
  });
});

describe("chunk blender: safety", () => {
  it("holds the last command when the chunks run out (an underrun, counted) and resumes on the next chunk", () => {
    const blender = startedBlender(settings({ alignOffset: false }));
    blender.offerChunk(chunkMessage(1, START_NS, (i) => 0.01 * i, 10), START_NS);
    const ticks = runTicks(blender, START_NS + PERIOD_NS, START_NS + 800n * MS);
    const end = START_NS + 300n * MS; // step 9 of dt 1/30
    const after = ticks.filter(({ timeNs }) => timeNs > end);
    for (const { command } of after) expect(command[0]).toBeCloseTo(0.09, 12);
    expect(blender.state).toBe("underrun");
    expect(blender.counters.underruns).toBe(1);
    expect(blender.counters.underrunTicks).toBe(after.length);
    blender.offerChunk(chunkMessage(2, START_NS + 800n * MS, () => 0.5), START_NS + 800n * MS);
    expect(blender.tick(START_NS + 800n * MS)![0]).toBe(0.5);
    expect(blender.state).toBe("tracking");
  });

  it("drops a stale chunk, a duplicate and an out-of-order one, counting each, and keeps commanding the arm", () => {
    const blender = startedBlender(settings({ maxChunkAgeMs: 500 }), JOINTS.map(() => 0.2));
    expect(blender.offerChunk(chunkMessage(1, START_NS, () => 3), START_NS + 600n * MS)).toMatchObject({ accepted: false, reason: "stale" });
    expect(blender.offerChunk(chunkMessage(2, START_NS + 500n * MS, () => 0.2), START_NS + 600n * MS).accepted).toBe(true);
    expect(blender.offerChunk(chunkMessage(2, START_NS + 500n * MS, () => 0.2), START_NS + 610n * MS)).toMatchObject({ accepted: false, reason: "not_newer" });
    expect(blender.offerChunk(chunkMessage(3, START_NS + 400n * MS, () => 3), START_NS + 620n * MS)).toMatchObject({ accepted: false, reason: "not_newer" });
    expect(blender.counters.dropped.stale).toBe(1);
    expect(blender.counters.dropped.not_newer).toBe(2);
    for (const { command } of runTicks(blender, START_NS + 600n * MS, START_NS + 900n * MS)) expect(command[0]).toBeCloseTo(0.2, 12);
  });

  it("never moves a joint faster than its velocity limit, per joint or one for all, late ticks included", () => {
    const limits = [0.5, 1, 1.5, 2, 2.5, 3];
    const blender = startedBlender(settings({ alignOffset: false, limits: { maxJointVelocityRadS: limits, positionMinRad: [], positionMaxRad: [] } }));
    blender.offerChunk(chunkMessage(1, START_NS, (i) => (i % 2 === 0 ? 1 : -1), 50), START_NS);
    let previous = blender.lastCommand!;
    let previousNs = START_NS;
    // A 40 ms hiccup in the middle: the limit still allows one period's travel, not four.
    const times = [...Array.from({ length: 30 }, (_, k) => START_NS + BigInt(k + 1) * PERIOD_NS), START_NS + 340n * MS, START_NS + 350n * MS];
    for (const t of times) {
      const command = blender.tick(t)!;
      for (let j = 0; j < n; j++) expect(Math.abs(command[j]! - previous[j]!)).toBeLessThanOrEqual(limits[j]! * Math.min(0.01, Number(t - previousNs) / 1e9) + 1e-12);
      previous = command;
      previousNs = t;
    }
    expect(blender.counters.rateLimitedTicks).toBeGreaterThan(times.length / 2);
    const single = startedBlender(settings({ alignOffset: false, limits: { maxJointVelocityRadS: [0.2], positionMinRad: [], positionMaxRad: [] } }));
    single.offerChunk(chunkMessage(1, START_NS, () => 1), START_NS);
    expect(single.tick(START_NS + PERIOD_NS)![5]).toBeCloseTo(0.002, 12);
  });

  it("clamps targets inside the position limits", () => {
    const lower = JOINTS.map(() => -0.5);
    const upper = JOINTS.map(() => 0.5);
    const blender = startedBlender(settings({ alignOffset: false, limits: { maxJointVelocityRadS: [1000], positionMinRad: lower, positionMaxRad: upper } }));
    blender.offerChunk(chunkMessage(1, START_NS, (i, j) => (j % 2 === 0 ? 3 : -3)), START_NS);
    const command = blender.tick(START_NS + PERIOD_NS)!;
    expect([...command]).toEqual([0.5, -0.5, 0.5, -0.5, 0.5, -0.5]);
  });
});
