/**
 * Draws a plot spec as SVG with Vega-Lite + Vega, headless (Vega renders SVG without a canvas). Vega is
 * loaded on first use, so commands that write no report never load it.
 */
import type { View } from "vega";
import type { PlotSpec } from "./plots.js";

/** The Vega view of a spec, run (its scenegraph holds every mark as drawn). */
export async function plotView(spec: PlotSpec): Promise<View> {
  const [vega, vegaLite] = await Promise.all([import("vega"), import("vega-lite")]);
  const compiled = vegaLite.compile(spec as unknown as Parameters<typeof vegaLite.compile>[0]).spec;
  // loader that refuses every fetch: the data is inline, and a report must not reach the network
  const loader = vega.loader({ mode: "file" });
  loader.load = async (uri: string) => {
    throw new Error(`a report plot asked to load ${uri}; its data must be inline`);
  };
  const view = new vega.View(vega.parse(compiled), { renderer: "none", loader });
  await view.runAsync();
  return view;
}

/** The plot as one standalone `<svg>` element. */
export async function renderSvg(spec: PlotSpec): Promise<string> {
  const view = await plotView(spec);
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
