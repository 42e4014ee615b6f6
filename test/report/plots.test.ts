/**
 * The shared plotting module: what the SVG is drawn from (Vega's scenegraph, mapped back through its scales)
 * equals the data given, and histogram bins equal numpy's.
 */
import { describe, expect, it } from "vitest";
import { histogramBins, histogramSpec, lineSpec, type LineSeries } from "../../src/report/plots.js";
import { plotView, renderSvg } from "../../src/report/render.js";
import { interopPython, runPython } from "../helpers/system.js";

interface SceneItem {
  x?: number;
  y?: number;
  x2?: number;
  y2?: number;
  width?: number;
  height?: number;
  datum?: Record<string, unknown>;
  items?: SceneItem[];
  marktype?: string;
}

/** Every item of the given mark type in a Vega scenegraph. */
function sceneItems(node: SceneItem, marktype: string, found: SceneItem[] = []): SceneItem[] {
  if (node.marktype === marktype) found.push(...(node.items ?? []));
  else for (const child of node.items ?? []) sceneItems(child, marktype, found);
  return found;
}

const python = interopPython(["numpy"]);

describe("plots", () => {
  it("a line plot draws every point of every series where its values say", async () => {
    const series: LineSeries[] = [
      { name: "a original", colour: "a", dash: "original", x: [0, 0.1, 0.2, 0.3], y: [-21.5, -25, -30.25, -44] },
      { name: "a reconstructed", colour: "a", dash: "reconstructed", x: [0, 0.1, 0.2, 0.3], y: [-21, -25.5, -30, -45] },
      { name: "b original", colour: "b", dash: "original", x: [0, 0.1, 0.2, 0.3], y: [3, 2, 1, 0] },
    ];
    const view = await plotView(lineSpec({ title: "shoulder_pan.pos", xTitle: "time in chunk (s)", yTitle: "degrees", series }));
    const x = view.scale("x") as unknown as { invert(pixel: number): number };
    const y = view.scale("y") as unknown as { invert(pixel: number): number };
    const lines = sceneItems((view.scenegraph() as unknown as { root: SceneItem }).root, "line");
    const drawn = new Map<string, [number, number][]>();
    for (const item of lines) for (const point of item.items ?? [item]) {
      const name = String(point.datum!.series);
      drawn.set(name, [...(drawn.get(name) ?? []), [x.invert(point.x!), y.invert(point.y!)]]);
    }
    expect([...drawn.keys()].sort()).toEqual(series.map((s) => s.name).sort());
    for (const line of series) {
      const points = drawn.get(line.name)!.sort((a, b) => a[0] - b[0]);
      expect(points.map(([px]) => px)).toEqual(line.x.map((value) => expect.closeTo(value, 9)));
      expect(points.map(([, py]) => py)).toEqual(line.y.map((value) => expect.closeTo(value, 9)));
    }
    view.finalize();
    const svg = await renderSvg(lineSpec({ title: "t", xTitle: "x", yTitle: "y", series }));
    expect(svg.startsWith("<svg")).toBe(true);
    // one path per series in the SVG, each labelled with its series; the legend names colours and strokes
    const paths = [...svg.matchAll(/<path aria-label="[^"]*series: ([^"]*)"[^>]*aria-roledescription="line mark"/g)].map((match) => match[1]);
    expect(paths.sort()).toEqual(series.map((s) => s.name).sort());
    for (const label of ["a", "b", "original", "reconstructed"]) expect(svg).toContain(`>${label}</text>`);
  });

  it("a histogram draws one bar per bin, spanning its edges, as tall as its count", async () => {
    const bins = histogramBins([0.1, 0.2, 0.2, 0.5, 0.9, 1, -0.3, 0.05], 4);
    const view = await plotView(histogramSpec({ title: "errors", xTitle: "error", bins }));
    const x = view.scale("x") as unknown as { invert(pixel: number): number };
    const y = view.scale("y") as unknown as { invert(pixel: number): number };
    const bars = sceneItems((view.scenegraph() as unknown as { root: SceneItem }).root, "rect").filter((item) => item.datum !== undefined && "count" in item.datum);
    const drawn = bars.map((bar) => ({ start: x.invert(bar.x!), end: x.invert(bar.x! + bar.width!), count: y.invert(bar.y!) - y.invert(bar.y! + bar.height!) })).sort((a, b) => a.start - b.start);
    expect(drawn).toHaveLength(bins.length);
    drawn.forEach((bar, i) => {
      expect(bar.start).toBeCloseTo(bins[i]!.start, 9);
      expect(bar.end).toBeCloseTo(bins[i]!.end, 9);
      expect(bar.count).toBeCloseTo(bins[i]!.count, 9);
    });
    view.finalize();
  });

  it.skipIf(python === undefined)("histogram bins equal numpy.histogram's", () => {
    const values = Array.from({ length: 500 }, (_, i) => Math.sin(i * 1.7) * 3 + (i % 7) * 0.1);
    const ours = histogramBins(values, 40);
    const theirs = JSON.parse(runPython(python!, "import json,sys,numpy as np\nv=json.load(sys.stdin)\nc,e=np.histogram(v,bins=40)\nprint(json.dumps({'counts':c.tolist(),'edges':e.tolist()}))", JSON.stringify(values)));
    expect(ours.map((bin) => bin.count)).toEqual(theirs.counts);
    ours.forEach((bin, i) => {
      expect(bin.start).toBeCloseTo(theirs.edges[i], 12);
      expect(bin.end).toBeCloseTo(theirs.edges[i + 1], 12);
    });
  });
});
