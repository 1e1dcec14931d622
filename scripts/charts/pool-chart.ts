/**
 * Draws the pool's history (price, pool assets, GP supply) as an SVG with vega-lite, headless.
 * Figures arrive as decimal strings; they become JavaScript numbers here only to be plotted.
 */
import * as vega from "vega";
import { type TopLevelSpec, compile } from "vega-lite";

export interface PoolHistoryPoint {
  step: number;
  /** Whole settlement units per GP, as a decimal string. */
  price: string;
  /** Whole settlement units in the pool. */
  pool: string;
  /** Whole GP in circulation. */
  supply: string;
}

export async function renderPoolChart(history: readonly PoolHistoryPoint[], title: string): Promise<string> {
  const values = history.flatMap((h) => [
    { step: h.step, series: "Price (settlement per GP)", value: Number(h.price) },
    { step: h.step, series: "Pool (settlement)", value: Number(h.pool) },
    { step: h.step, series: "Supply (GP)", value: Number(h.supply) },
  ]);
  const spec: TopLevelSpec = {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: { text: title, anchor: "start" },
    data: { values },
    facet: { row: { field: "series", type: "nominal", title: null, sort: ["Price (settlement per GP)"] } },
    spec: {
      width: 720,
      height: 170,
      mark: { type: "line", interpolate: "step-after", strokeWidth: 1.5 },
      encoding: {
        x: { field: "step", type: "quantitative", title: "operation" },
        y: { field: "value", type: "quantitative", title: null, scale: { zero: false } },
        color: { field: "series", type: "nominal", legend: null },
      },
    },
    resolve: { scale: { y: "independent" } },
    config: { background: "white" },
  };
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}
