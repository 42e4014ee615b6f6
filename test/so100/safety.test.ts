/**
 * The controller's safety property, over any sequence of commands: no goal that reaches the servos (decoded
 * from the bytes on the bus) leaves the joint limits or moves a joint faster than max_joint_velocity_rad_s,
 * except a hold, whose goal is the present position the servos just reported; and every malformed command
 * is counted as rejected.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SO100_JOINTS } from "../../src/so100/calibration.js";
import { RAD_PER_TICK, clampTicks } from "../../src/so100/limits.js";
import { startControllerFixture } from "./controller-fixture.js";

const VELOCITY_RAD_S = 1.2;
const READ_RATE_HZ = 50;

const position = fc.oneof(
  { weight: 6, arbitrary: fc.double({ min: -4, max: 4, noNaN: true }) },
  { weight: 1, arbitrary: fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e12, -1e12) },
);

type Event =
  | { kind: "command"; afterMs: number; names: string[]; positions: number[] }
  | { kind: "burst"; count: number; names: string[]; positions: number[] }
  | { kind: "gap"; ms: number }
  | { kind: "e_stop"; engaged: boolean };

const JOINTS: string[] = [...SO100_JOINTS];
const names: fc.Arbitrary<string[]> = fc.oneof(
  { weight: 5, arbitrary: fc.constant(JOINTS) },
  { weight: 2, arbitrary: fc.subarray(JOINTS, { minLength: 1 }) },
  { weight: 1, arbitrary: fc.constantFrom<string[]>(["shoulder_pan", "elbow"], ["tool0"], [], ["gripper", "gripper"]) },
);

const event: fc.Arbitrary<Event> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ kind: fc.constant("command" as const), afterMs: fc.integer({ min: 0, max: 120 }), names, positions: fc.array(position, { minLength: 0, maxLength: 7 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("burst" as const), count: fc.integer({ min: 2, max: 8 }), names, positions: fc.array(position, { minLength: 6, maxLength: 6 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("gap" as const), ms: fc.integer({ min: 100, max: 1500 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("e_stop" as const), engaged: fc.boolean() }) },
);

/** Whether the controller must reject this command whatever its state (what the test knows independently). */
function malformed(names: string[], positions: number[]): boolean {
  if (names.length === 0 || names.length !== positions.length) return true;
  if (new Set(names).size !== names.length) return true;
  if (names.some((name) => !(SO100_JOINTS as readonly string[]).includes(name))) return true;
  return positions.some((p) => !Number.isFinite(p));
}

describe("SO-100 controller safety", () => {
  it("keeps every goal on the bus inside the joint limits and under the velocity limit, whatever the commands", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(event, { minLength: 1, maxLength: 30 }), async (events) => {
        const f = await startControllerFixture({ torque_on_start: true, read_rate_hz: READ_RATE_HZ, max_joint_velocity_rad_s: VELOCITY_RAD_S, command_timeout_ms: 250 });
        let expectedRejections = 0;
        try {
          for (const e of events) {
            if (e.kind === "command") {
              await f.advanceMs(e.afterMs);
              f.command(e.positions, e.names);
              if (malformed(e.names, e.positions)) expectedRejections++;
              await f.advanceMs(0);
            } else if (e.kind === "burst") {
              // Published at one instant: only the latest reaches the node (keep-last 1).
              for (let i = 0; i < e.count; i++) f.command(e.positions.map((p) => (Number.isFinite(p) ? p * (i + 1) : p)), e.names);
              if (malformed(e.names, e.positions)) expectedRejections++;
              await f.advanceMs(0);
            } else if (e.kind === "gap") {
              await f.advanceMs(e.ms);
            } else {
              f.eStop(e.engaged);
              await f.advanceMs(0);
            }
          }
          await f.advanceMs(1000);

          const writes = f.goalWrites();
          const maxStepS = Math.max(2 / READ_RATE_HZ, RAD_PER_TICK / VELOCITY_RAD_S);
          const lastChangeNs = new Map<number, bigint>();
          let previous: number[] | undefined;
          for (const write of writes) {
            const present = f.presentBefore(write.atNs);
            write.goals.forEach((goal, j) => {
              const limits = f.joints[j]!.limits;
              expect(goal, `${SO100_JOINTS[j]} goal`).toBeGreaterThanOrEqual(limits.lowerTicks);
              expect(goal, `${SO100_JOINTS[j]} goal`).toBeLessThanOrEqual(limits.upperTicks);
              if (previous === undefined || goal === previous[j]) return;
              const holdsPresent = goal === clampTicks(present.get(j + 1)!, limits);
              const sinceS = Number(write.atNs - (lastChangeNs.get(j) ?? 0n)) / 1e9;
              const stepRad = Math.abs(goal - previous[j]!) * RAD_PER_TICK;
              if (!holdsPresent) expect(stepRad, `${SO100_JOINTS[j]} moved ${stepRad} rad in ${sinceS} s`).toBeLessThanOrEqual(VELOCITY_RAD_S * Math.min(sinceS, maxStepS) + 1e-9);
              lastChangeNs.set(j, write.atNs);
            });
            previous = write.goals;
          }
          expect(Number(f.status("servo bus")!.values.commands_rejected)).toBe(expectedRejections);
        } finally {
          await f.stop();
        }
      }),
      { numRuns: 60 },
    );
  });
});
