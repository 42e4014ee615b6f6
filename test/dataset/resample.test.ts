import { describe, expect, it } from "vitest";
import { frameTimeNs, StreamResampler } from "../../src/dataset/resample.js";
import { quantileSorted, scalarStats, ImageStatsAccumulator } from "../../src/dataset/stats.js";

const ms = (value: number) => BigInt(value) * 1_000_000n;

describe("StreamResampler", () => {
  it("hold answers with the latest sample at or before the frame, once a later one arrives", () => {
    const stream = new StreamResampler<string>("hold", ms(50));
    stream.push(ms(0), "a");
    expect(stream.resolve(ms(10)).state).toBe("pending");
    stream.push(ms(30), "b");
    expect(stream.resolve(ms(10))).toMatchObject({ state: "ready", value: "a" });
    expect(stream.resolve(ms(30)).state).toBe("pending");
    stream.push(ms(200), "c");
    expect(stream.resolve(ms(30))).toMatchObject({ state: "ready", value: "b" });
    expect(stream.resolve(ms(100))).toEqual({ state: "stale", ageNs: ms(70) });
    stream.end();
    expect(stream.resolve(ms(240))).toMatchObject({ state: "ready", value: "c" });
  });

  it("nearest picks the closer side within the tolerance", () => {
    const stream = new StreamResampler<string>("nearest", ms(20));
    stream.push(ms(0), "a");
    stream.push(ms(30), "b");
    expect(stream.resolve(ms(10))).toMatchObject({ value: "a" });
    expect(stream.resolve(ms(20))).toMatchObject({ value: "b", timeNs: ms(30) });
    stream.push(ms(100), "c");
    expect(stream.resolve(ms(65)).state).toBe("stale");
    expect(stream.resolve(ms(90))).toMatchObject({ value: "c" });
  });

  it("puts frame i at exactly i/fps", () => {
    expect(frameTimeNs(1_000n, 3, 30)).toBe(1_000n + 100_000_000n);
    expect(frameTimeNs(0n, 1, 30)).toBe(33_333_333n);
  });
});

describe("stats", () => {
  it("uses numpy's linear quantiles and population std", () => {
    expect(quantileSorted([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantileSorted([0, 10], 0.01)).toBeCloseTo(0.1, 12);
    const stats = scalarStats([1, 2, 3, 4]);
    expect(stats).toMatchObject({ min: [1], max: [4], mean: [2.5], count: [4] });
    expect(stats.std[0]).toBeCloseTo(Math.sqrt(1.25), 12);
    expect(stats.q99[0]).toBeCloseTo(3.97, 12);
  });

  it("image stats are per channel in [0, 1]", () => {
    const images = new ImageStatsAccumulator();
    images.add(Uint8Array.from([0, 255, 51, 255, 255, 51]));
    const stats = images.stats();
    expect(stats.min).toEqual([0, 1, 0.2]);
    expect(stats.mean).toEqual([0.5, 1, 0.2]);
    expect(stats.count).toEqual([1]);
  });
});
