/**
 * The `check-tokenizer --report` page: per action dimension, a few chunks as they were and as the tokenizer
 * gives them back; the distribution of the reconstruction error; the figures of the text report.
 */
import type { ChunkReconstruction, ReconstructionReport } from "../fast/check.js";
import { htmlReport, type ReportSection } from "./html.js";
import { histogramBins, histogramSpec, lineSpec, type LineSeries, type PlotSpec } from "./plots.js";
import { renderSvg } from "./render.js";

export interface TokenizerReportInput {
  report: ReconstructionReport;
  /** Every checked chunk, in the order checked. */
  chunks: readonly ChunkReconstruction[];
  /** Per checked chunk, where it starts in the dataset. */
  origins: readonly { episode: number; frame: number }[];
  /** Names of the encoded dims (the dataset's action names). */
  dimNames: readonly string[];
  fps: number;
  tokenizer: string;
  dataset: string;
  /** How many chunks each dimension's plot shows (default 3: largest, median and smallest error). */
  plottedChunks?: number;
}

/** The chunks a report plots: decoded ones spread over the error range, largest error first. */
export function chunksToPlot(chunks: readonly ChunkReconstruction[], count: number): ChunkReconstruction[] {
  const decoded = chunks.filter((chunk) => Number.isFinite(chunk.mse)).sort((a, b) => b.mse - a.mse || a.index - b.index);
  if (decoded.length <= count) return decoded;
  const picked = new Set<number>();
  for (let i = 0; i < count; i++) picked.add(Math.round((i * (decoded.length - 1)) / Math.max(1, count - 1)));
  return [...picked].sort((a, b) => a - b).map((position) => decoded[position]!);
}

/** Reconstruction errors of every decoded value (dataset units when known), dims interleaved as in the chunks. */
export function reconstructionErrors(chunks: readonly ChunkReconstruction[]): number[] {
  const errors: number[] = [];
  for (const chunk of chunks) {
    if (!Number.isFinite(chunk.mse)) continue;
    const original = chunk.originalUnits ?? chunk.original;
    const decoded = chunk.decodedUnits ?? chunk.decoded;
    for (let i = 0; i < original.length; i++) errors.push(decoded[i]! - original[i]!);
  }
  return errors;
}

/** The plot specs of the page, in order: one per dimension, then the error histogram. */
export function tokenizerReportSpecs(input: TokenizerReportInput): { dimensions: PlotSpec[]; errors: PlotSpec } {
  const { report, fps } = input;
  const dims = report.dims;
  const plotted = chunksToPlot(input.chunks, input.plottedChunks ?? 3);
  const inUnits = report.mseDatasetUnits !== null;
  const unitLabel = inUnits ? "dataset units" : "normalized";
  const times = Array.from({ length: report.horizon }, (_, step) => step / fps);
  const dimensions = Array.from({ length: dims }, (_, d) => {
    const series: LineSeries[] = plotted.flatMap((chunk) => {
      const origin = input.origins[chunk.index];
      const label = origin !== undefined ? `episode ${origin.episode}, frame ${origin.frame}` : `chunk ${chunk.index}`;
      const pick = (values: Float64Array) => times.map((_, step) => values[step * dims + d]!);
      return [
        { name: `${label} original`, colour: label, dash: "original", x: times, y: pick(chunk.originalUnits ?? chunk.original) },
        { name: `${label} reconstructed`, colour: label, dash: "reconstructed", x: times, y: pick(chunk.decodedUnits ?? chunk.decoded) },
      ];
    });
    return lineSpec({ title: input.dimNames[d] ?? `dim ${d}`, xTitle: "time in chunk (s)", yTitle: unitLabel, series });
  });
  const errors = histogramSpec({ title: `reconstruction error, all dims (${unitLabel})`, xTitle: `reconstructed − original (${unitLabel})`, bins: histogramBins(reconstructionErrors(input.chunks), 40) });
  return { dimensions, errors };
}

export async function tokenizerReportHtml(input: TokenizerReportInput): Promise<string> {
  const { report } = input;
  const specs = tokenizerReportSpecs(input);
  const dimensionSvgs = await Promise.all(specs.dimensions.map((spec) => renderSvg(spec)));
  const errorSvg = await renderSvg(specs.errors);
  const exp = (value: number | null) => (value === null || !Number.isFinite(value) ? "n/a" : value.toExponential(3));
  const sections: ReportSection[] = [
    {
      heading: "Summary",
      table: {
        header: ["figure", "value"],
        rows: [
          ["chunks checked", `${report.chunks} (${report.horizon}×${report.dims})`],
          ["MSE (normalized)", exp(report.mse)],
          ["MSE (dataset units)", exp(report.mseDatasetUnits)],
          ["compression", `${report.compressionRatio.toFixed(2)}× (mean ${report.meanTokens.toFixed(1)} tokens, p99 ${report.p99Tokens.toFixed(0)})`],
          ["clamped values", String(report.clampedValues)],
          ["decode failures", String(report.decodeFailures)],
        ],
      },
    },
    {
      heading: "Trajectories: original (solid) and reconstructed (dashed)",
      paragraphs: [`Per action dimension, the checked chunks with the largest, the median and the smallest error; time from the chunk's first action at ${input.fps} fps.`],
      figures: dimensionSvgs,
    },
    {
      heading: "Error distribution",
      table: {
        header: ["dimension", "max |error| (normalized)", "max |error| (dataset units)"],
        rows: report.maxAbsErrorPerDim.map((value, d) => [input.dimNames[d] ?? `dim ${d}`, exp(value), exp(report.maxAbsErrorPerDimDatasetUnits?.[d] ?? null)]),
      },
      figures: [errorSvg],
    },
  ];
  const failed = input.chunks.filter((chunk) => !Number.isFinite(chunk.mse));
  if (failed.length > 0) {
    sections.push({
      heading: "Chunks that did not decode",
      table: {
        header: ["chunk", "why"],
        rows: failed.map((chunk) => {
          const origin = input.origins[chunk.index];
          return [origin !== undefined ? `episode ${origin.episode}, frame ${origin.frame}` : `chunk ${chunk.index}`, chunk.detail];
        }),
      },
    });
  }
  return htmlReport({ title: "FAST tokenizer check", subtitle: `${input.tokenizer} on ${input.dataset}`, sections });
}
