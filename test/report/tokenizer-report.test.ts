/**
 * check-tokenizer's HTML report: each dimension's plot draws the checked chunks as they were and as they came
 * back (the values, mapped back from the drawing), the error histogram counts every decoded value, and the
 * page stands alone (inline SVG, no scripts, no fetched assets).
 */
import { describe, expect, it } from "vitest";
import { reconstructionReport, type ChunkReconstruction } from "../../src/fast/check.js";
import { affineNormalization, normalizeInPlace } from "../../src/fast/normalize.js";
import { trainFastTokenizer } from "../../src/fast/train.js";
import { plotView } from "../../src/report/render.js";
import { chunksToPlot, reconstructionErrors, tokenizerReportHtml, tokenizerReportSpecs, type TokenizerReportInput } from "../../src/report/tokenizer-report.js";
import { syntheticChunks } from "../fast/synthetic.js";

const HORIZON = 10;
const DIMS = 3;

/** A real round trip: a tokenizer trained on synthetic chunks, checked on others given in "degrees". */
function checkedInput(): TokenizerReportInput {
  const stats = { min: [-90, -45, 0], max: [90, 45, 100], mean: [0, 0, 50], std: [30, 15, 20], q01: [-90, -45, 0], q99: [90, 45, 100] };
  const normalization = affineNormalization("MIN_MAX", stats, DIMS);
  const raw = syntheticChunks(30, HORIZON, DIMS, 5).map((chunk) => chunk.map((value, i) => [value * 90, value * 45, 50 + value * 50][i % DIMS]!));
  const chunks = raw.map((values) => normalizeInPlace(Float64Array.from(values), normalization));
  const trained = trainFastTokenizer(syntheticChunks(400, HORIZON, DIMS, 6), { horizon: HORIZON, dims: DIMS, scale: 10 });
  const checked: ChunkReconstruction[] = [];
  const report = reconstructionReport(trained.tokenizer, chunks, HORIZON, DIMS, { raw, normalization, onChunk: (chunk) => checked.push(chunk) });
  // one chunk that did not decode, as the check records it
  checked[7] = { ...checked[7]!, decoded: new Float64Array(HORIZON * DIMS).fill(NaN), decodedUnits: null, mse: NaN, detail: "59 coefficients instead of 60 (10×6)" };
  return { report, chunks: checked, origins: checked.map((_, i) => ({ episode: i % 2, frame: i * 3 })), dimNames: ["shoulder_pan.pos", "shoulder_lift.pos", "gripper.pos"], fps: 30, tokenizer: "tok", dataset: "ds" };
}

describe("check-tokenizer --report", () => {
  const input = checkedInput();

  it("plots the chunks with the largest, median and smallest error", () => {
    const picked = chunksToPlot(input.chunks, 3);
    const errors = input.chunks.filter((c) => Number.isFinite(c.mse)).map((c) => c.mse).sort((a, b) => b - a);
    expect(picked.map((c) => c.mse)).toEqual([errors[0], errors[Math.round((errors.length - 1) / 2)], errors[errors.length - 1]]);
  });

  it("each dimension's plot draws the original and reconstructed values of those chunks, in dataset units", async () => {
    const specs = tokenizerReportSpecs(input);
    expect(specs.dimensions).toHaveLength(DIMS);
    const picked = chunksToPlot(input.chunks, 3);
    for (let d = 0; d < DIMS; d++) {
      const view = await plotView(specs.dimensions[d]!);
      const y = view.scale("y") as unknown as { invert(pixel: number): number };
      const x = view.scale("x") as unknown as { invert(pixel: number): number };
      const drawn = new Map<string, number[]>();
      const walk = (node: { marktype?: string; items?: unknown[] }): void => {
        for (const item of (node.items ?? []) as { marktype?: string; items?: unknown[]; datum?: { series: string }; x: number; y: number }[]) {
          if (node.marktype === "line") {
            const values = drawn.get(item.datum!.series) ?? [];
            values[Math.round(x.invert(item.x) * 30)] = y.invert(item.y);
            drawn.set(item.datum!.series, values);
          } else walk(item);
        }
      };
      walk((view.scenegraph() as unknown as { root: never }).root);
      view.finalize();
      expect(drawn.size).toBe(picked.length * 2);
      for (const chunk of picked) {
        const origin = input.origins[chunk.index]!;
        const label = `episode ${origin.episode}, frame ${origin.frame}`;
        const column = (values: Float64Array) => Array.from({ length: HORIZON }, (_, t) => expect.closeTo(values[t * DIMS + d]!, 9));
        expect(drawn.get(`${label} original`)).toEqual(column(chunk.originalUnits!));
        expect(drawn.get(`${label} reconstructed`)).toEqual(column(chunk.decodedUnits!));
      }
    }
  });

  it("the error histogram counts every value of every decoded chunk", async () => {
    const errors = reconstructionErrors(input.chunks);
    expect(errors).toHaveLength((input.chunks.length - 1) * HORIZON * DIMS);
    const bins = (tokenizerReportSpecs(input).errors.data as { values: { count: number; start: number; end: number }[] }).values;
    expect(bins.reduce((sum, bin) => sum + bin.count, 0)).toBe(errors.length);
    expect(Math.min(...bins.map((bin) => bin.start))).toBeCloseTo(Math.min(...errors), 12);
    expect(Math.max(...bins.map((bin) => bin.end))).toBeCloseTo(Math.max(...errors), 12);
  });

  it("writes one page: a figure per dimension and the histogram inline, the failed chunk named, nothing fetched", async () => {
    const html = await tokenizerReportHtml(input);
    expect(html.match(/<svg /g)).toHaveLength(DIMS + 1);
    for (const name of input.dimNames) expect(html).toContain(`>${name}</text>`);
    expect(html).toContain("59 coefficients instead of 60 (10×6)");
    expect(html).toContain(`<td>${input.report.mse.toExponential(3)}</td>`);
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|url\(/i);
    expect(html.replace(/xmlns(:xlink)?="http:\/\/www\.w3\.org\/[^"]+"/g, "")).not.toMatch(/https?:/);
  });
});
