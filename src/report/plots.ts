/**
 * Plot specifications (Vega-Lite) for the project's HTML reports: the tokenizer check's trajectories and
 * error distribution, the replay evaluation's joint traces. Pure: data in, spec out; ./render.ts draws them.
 * Data is inlined into the spec, so a rendered plot needs no file or network.
 */

/** One line: `x[i]`, `y[i]` pairs. Lines sharing a `colour` key share a colour; `dash` keys pick the stroke. */
export interface LineSeries {
  name: string;
  x: readonly number[];
  y: readonly number[];
  /** Colour group (default: the series name). */
  colour?: string;
  /** Stroke group, e.g. "original" / "reconstructed" (default: one solid stroke). */
  dash?: string;
}

export interface LinePlot {
  title: string;
  xTitle: string;
  yTitle: string;
  series: readonly LineSeries[];
  width?: number;
  height?: number;
}

/** One bar of a histogram: values in [start, end) (the last bin also holds `end`). */
export interface HistogramBin {
  start: number;
  end: number;
  count: number;
}

export interface HistogramPlot {
  title: string;
  xTitle: string;
  bins: readonly HistogramBin[];
  width?: number;
  height?: number;
}

/** A Vega-Lite top-level spec (kept loose: the library validates it when compiling). */
export type PlotSpec = Record<string, unknown>;

/** The row every line point becomes in the spec's inline data. */
export interface LinePoint {
  series: string;
  colour: string;
  dash: string;
  x: number;
  y: number;
}

/** Equal-width bins over the values' range (numpy's `histogram` edges); non-finite values are left out. */
export function histogramBins(values: readonly number[], binCount: number): HistogramBin[] {
  const finite = values.filter((value) => Number.isFinite(value));
  if (finite.length === 0 || binCount < 1) return [];
  let low = Math.min(...finite);
  let high = Math.max(...finite);
  if (low === high) {
    low -= 0.5;
    high += 0.5;
  }
  const width = (high - low) / binCount;
  const bins = Array.from({ length: binCount }, (_, i) => ({ start: low + i * width, end: i === binCount - 1 ? high : low + (i + 1) * width, count: 0 }));
  for (const value of finite) bins[Math.min(binCount - 1, Math.floor((value - low) / width))]!.count += 1;
  return bins;
}

export function linePoints(series: readonly LineSeries[]): LinePoint[] {
  return series.flatMap((line) => {
    if (line.x.length !== line.y.length) throw new RangeError(`series ${line.name}: ${line.x.length} x values but ${line.y.length} y values`);
    return line.x.map((x, i) => ({ series: line.name, colour: line.colour ?? line.name, dash: line.dash ?? "", x, y: line.y[i]! }));
  });
}

export function lineSpec(plot: LinePlot): PlotSpec {
  const dashes = [...new Set(plot.series.map((line) => line.dash ?? ""))];
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: plot.title,
    width: plot.width ?? 320,
    height: plot.height ?? 180,
    data: { values: linePoints(plot.series) },
    mark: { type: "line", point: false, strokeWidth: 1.5 },
    encoding: {
      x: { field: "x", type: "quantitative", title: plot.xTitle, scale: { zero: false, nice: false } },
      y: { field: "y", type: "quantitative", title: plot.yTitle, scale: { zero: false } },
      color: { field: "colour", type: "nominal", title: null },
      detail: { field: "series", type: "nominal" },
      ...(dashes.length > 1 ? { strokeDash: { field: "dash", type: "nominal", title: null, scale: { domain: dashes, range: dashes.map((_, i) => (i === 0 ? [1, 0] : [4 + i, 3])) } } } : {}),
      order: { field: "x", type: "quantitative" },
    },
  };
}

export function histogramSpec(plot: HistogramPlot): PlotSpec {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: plot.title,
    width: plot.width ?? 480,
    height: plot.height ?? 200,
    data: { values: plot.bins.map((bin) => ({ start: bin.start, end: bin.end, count: bin.count })) },
    mark: { type: "rect" },
    encoding: {
      x: { field: "start", type: "quantitative", title: plot.xTitle, scale: { zero: false, nice: false } },
      x2: { field: "end" },
      y: { field: "count", type: "quantitative", title: "values" },
    },
  };
}
