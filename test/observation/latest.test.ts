import { describe, expect, it } from "vitest";
import { LatestSynchronizer } from "../../src/observation/latest.js";
import { RateLimiter } from "../../src/observation/rate-limiter.js";

const MS = 1_000_000n;

describe("latest mode: the freshest of each input", () => {
  it("forms a set only when every input has a message no older than the allowed age", () => {
    const sync = new LatestSynchronizer<string>(3);
    sync.add(0, 100n * MS, "a1");
    sync.add(2, 105n * MS, "j1");
    expect(sync.take(110n * MS, 50n * MS)).toEqual({ unfit: [{ topic: 1, ageNs: undefined }] });
    sync.add(1, 95n * MS, "b1");
    sync.add(0, 133n * MS, "a2");
    // An older message arriving late does not replace the freshest.
    sync.add(0, 120n * MS, "a-late");
    const taken = sync.take(140n * MS, 50n * MS);
    expect(taken.set?.map((entry) => entry.message)).toEqual(["a2", "b1", "j1"]);
    // The edge: exactly max age is fresh, one nanosecond more is stale.
    expect(sync.take(145n * MS, 50n * MS).set).toBeDefined();
    expect(sync.take(145n * MS + 1n, 50n * MS)).toEqual({ unfit: [{ topic: 1, ageNs: 50n * MS + 1n }] });
  });
});

describe("maximum publish rate", () => {
  it("keeps every event of a source at the maximum rate despite jitter, and thins a faster one", () => {
    const limiter = new RateLimiter(30);
    const periodMs = 1000 / 30;
    // 30 Hz with ±8 ms of jitter: every frame goes out.
    const jittered = Array.from({ length: 90 }, (_, k) => BigInt(Math.round((k * periodMs + (k % 3 === 0 ? 8 : k % 3 === 1 ? -8 : 0)) * 1e6)));
    expect(jittered.filter((t) => limiter.tryAcquire(t)).length).toBe(90);
    // 100 Hz over 0..2.99 s into a 30 Hz limit: one event per 33.3 ms slot (91 slots); the first slot is
    // centred on the first event, so only the first gap is shorter (20 ms), the others 30 or 40 ms.
    const fast = new RateLimiter(30);
    const accepted = Array.from({ length: 300 }, (_, k) => BigInt(k) * 10n * MS).filter((t) => fast.tryAcquire(t));
    expect(accepted.length).toBe(91);
    expect(accepted[1]! - accepted[0]!).toBe(20n * MS);
    for (let i = 2; i < accepted.length; i++) expect(accepted[i]! - accepted[i - 1]!).toBeGreaterThanOrEqual(30n * MS);
  });

  it("refuses a rate that is not a positive number", () => {
    expect(() => new RateLimiter(0)).toThrow(/positive number of Hz, got 0/);
  });
});
