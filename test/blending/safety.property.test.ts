/**
 * Whatever arrives — random stamps, latencies, periods, NaNs, wrong shapes and names, failed decodes,
 * duplicates, out-of-order chunks, irregular ticks, settings changed mid-run — no command moves a joint
 * faster than its velocity limit, leaves the position limits (or, when limits are switched on while
 * outside them, moves anywhere but back in), or is NaN.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ChunkBlender, type BlenderSettings } from "../../src/blending/blender.js";
import { DROP_REASONS, type ChunkInput, type DropReason } from "../../src/blending/chunk.js";
import { BLEND_SCHEDULES } from "../../src/blending/schedules.js";
import { makeHeader } from "../../src/msgs/messages.js";
import { JOINTS, START_NS, settings } from "./fixtures.js";

const n = JOINTS.length;
const LIMIT_RAD = 1.2;
const MS = 1_000_000n;

const settingsArb = fc.record({
  schedule: fc.constantFrom(...BLEND_SCHEDULES),
  alpha: fc.double({ min: 0, max: 1, noNaN: true }),
  steps: fc.integer({ min: 0, max: 20 }),
  ensembleM: fc.double({ min: -1, max: 1, noNaN: true }),
  alignOffset: fc.boolean(),
  alignFadeS: fc.double({ min: 0, max: 1, noNaN: true }),
  velocities: fc.oneof(fc.array(fc.double({ min: 0.01, max: 10, noNaN: true }), { minLength: 1, maxLength: 1 }), fc.array(fc.double({ min: 0.01, max: 10, noNaN: true }), { minLength: n, maxLength: n })),
  positionLimits: fc.boolean(),
  maxChunkAgeMs: fc.oneof(fc.integer({ min: 500, max: 2000 }), fc.integer({ min: 1, max: 500 })),
});

const chunkArb = fc.record({
  // Mostly a plausible latency, sometimes wild (far past, future, out of order).
  stampOffsetMs: fc.oneof({ arbitrary: fc.integer({ min: -400, max: 0 }), weight: 4 }, { arbitrary: fc.integer({ min: -1500, max: 300 }), weight: 1 }),
  horizon: fc.integer({ min: 1, max: 60 }),
  dtS: fc.oneof({ arbitrary: fc.constantFrom(1 / 30, 0.02, 0.1), weight: 4 }, { arbitrary: fc.constantFrom(0.001, 1e-7, 5), weight: 1 }),
  amplitudeRad: fc.double({ min: -20, max: 20, noNaN: true }),
  frequency: fc.double({ min: 0, max: 30, noNaN: true }),
  corruption: fc.oneof({ arbitrary: fc.constant("none"), weight: 10 }, { arbitrary: fc.constantFrom("nan", "infinity", "short", "names", "shuffled", "failed", "repaired", "duplicate"), weight: 6 }),
});

const eventArb = fc.record({
  gapMs: fc.integer({ min: 0, max: 60 }),
  chunk: fc.option(chunkArb, { freq: 4 }),
  newSettings: fc.option(settingsArb, { freq: 12 }),
});

type SettingsDraw = typeof settingsArb extends fc.Arbitrary<infer T> ? T : never;

function toSettings(draw: SettingsDraw): BlenderSettings {
  return settings({
    blend: { schedule: draw.schedule, alpha: draw.alpha, steps: draw.steps, ensembleM: draw.ensembleM },
    alignOffset: draw.alignOffset,
    alignFadeS: draw.alignFadeS,
    maxChunkAgeMs: draw.maxChunkAgeMs,
    limits: {
      maxJointVelocityRadS: draw.velocities,
      positionMinRad: draw.positionLimits ? JOINTS.map(() => -LIMIT_RAD) : [],
      positionMaxRad: draw.positionLimits ? JOINTS.map(() => LIMIT_RAD) : [],
    },
  });
}

function chunkFrom(draw: typeof chunkArb extends fc.Arbitrary<infer T> ? T : never, chunkId: number, nowNs: bigint, previous: ChunkInput | undefined): ChunkInput {
  if (draw.corruption === "duplicate" && previous !== undefined) return previous;
  const names = draw.corruption === "names" ? [...JOINTS.slice(0, n - 1), "elbow"] : draw.corruption === "shuffled" ? [...JOINTS].reverse() : [...JOINTS];
  const length = draw.corruption === "short" ? draw.horizon * n - 1 : draw.horizon * n;
  const actions = Float64Array.from({ length }, (_, k) => draw.amplitudeRad * Math.sin(draw.frequency * k * draw.dtS + (k % n)));
  if (draw.corruption === "nan") actions[length >> 1] = NaN;
  if (draw.corruption === "infinity") actions[0] = -Infinity;
  return {
    header: makeHeader(nowNs + BigInt(draw.stampOffsetMs) * MS),
    chunk_id: chunkId,
    dt_s: draw.dtS,
    horizon: draw.horizon,
    action_names: names,
    actions_rad: actions,
    decode_status: draw.corruption === "failed" ? 2 : draw.corruption === "repaired" ? 1 : 0,
    decode_detail: "",
  };
}

describe("chunk blender safety, for any input (fast-check)", () => {
  it("never commands NaN, beyond the position limits, or faster than max_joint_velocity_rad_s", () => {
    const seen = { accepted: 0, blends: 0, rateLimitedTicks: 0, underruns: 0, dropped: Object.fromEntries(DROP_REASONS.map((reason) => [reason, 0])) as Record<DropReason, number> };
    fc.assert(
      fc.property(settingsArb, fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: n, maxLength: n }), fc.array(eventArb, { minLength: 1, maxLength: 60 }), (initial, presentRad, events) => {
        let current = toSettings(initial);
        const blender = new ChunkBlender(current);
        blender.observeJointState([...JOINTS], presentRad);
        let nowNs = START_NS;
        let previous: { command: Float64Array; timeNs: bigint } | undefined;
        let lastChunk: ChunkInput | undefined;
        let chunkId = 0;
        let commands = 0;
        const check = () => {
          const command = blender.tick(nowNs);
          expect(command).toBeDefined();
          commands++;
          for (let j = 0; j < n; j++) {
            const x = command![j]!;
            expect(Number.isFinite(x)).toBe(true);
            if (current.limits.positionMinRad.length > 0) {
              // Inside the limits, or (limits switched on while outside) moving back in, never further out.
              const outside = (value: number) => Math.max(0, -LIMIT_RAD - value, value - LIMIT_RAD);
              expect(outside(x)).toBeLessThanOrEqual(previous === undefined ? 0 : outside(previous.command[j]!));
            }
            if (previous === undefined) {
              expect(x).toBe(presentRad[j]);
              continue;
            }
            const v = current.limits.maxJointVelocityRadS;
            const elapsedS = Math.min(current.controlPeriodS, Number(nowNs - previous.timeNs) / 1e9);
            expect(Math.abs(x - previous.command[j]!)).toBeLessThanOrEqual((v.length === 1 ? v[0]! : v[j]!) * elapsedS * (1 + 1e-12) + 1e-15);
          }
          previous = { command: command!, timeNs: nowNs };
        };
        check();
        for (const event of events) {
          if (event.newSettings !== null) {
            current = toSettings(event.newSettings);
            blender.updateSettings(current);
          }
          if (event.chunk !== null) {
            const message = chunkFrom(event.chunk, ++chunkId, nowNs, lastChunk);
            blender.offerChunk(message, nowNs);
            lastChunk = message;
          }
          // A few regular ticks, then an irregular gap (0 = two ticks at the same time).
          for (let k = 0; k < 3; k++) {
            nowNs += 10n * MS;
            check();
          }
          nowNs += BigInt(event.gapMs) * MS;
          check();
        }
        expect(commands).toBe(1 + 4 * events.length);
        const c = blender.counters;
        seen.accepted += c.chunksAccepted;
        for (const reason of DROP_REASONS) seen.dropped[reason] += c.dropped[reason];
        seen.blends += c.blends;
        seen.rateLimitedTicks += c.rateLimitedTicks;
        seen.underruns += c.underruns;
      }),
      { numRuns: 300 },
    );
    // The runs did exercise tracking, blending, limiting, underruns and every refusal (about half these counts is typical).
    expect(seen.accepted).toBeGreaterThan(250);
    expect(seen.blends).toBeGreaterThan(100);
    expect(seen.rateLimitedTicks).toBeGreaterThan(1000);
    expect(seen.underruns).toBeGreaterThan(10);
    for (const reason of DROP_REASONS) expect(seen.dropped[reason], reason).toBeGreaterThan(0);
  });
});
