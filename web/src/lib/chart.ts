/**
 * A uPlot time-series chart as a Preact component: it is made once, given new data as it comes,
 * and follows its container's width. uPlot styles its own elements through the CSSOM, which the
 * pages' Content-Security-Policy allows; its stylesheet is part of the pages' one (styles/app.css).
 */
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import { html } from "./html";
import { formatAmount, language, t } from "./i18n";

export interface ChartSeries {
  label: string;
  stroke: string;
  /** Which y scale (two scales give the chart a second axis, on the right). */
  scale?: string;
  /** Bars instead of a line (for per-day figures). */
  bars?: boolean;
  /** A line between changes rather than a step (for figures that move continuously); steps by default, since balances and the pool change at blocks. */
  smooth?: boolean;
  digits?: number;
}

export interface ChartProps {
  /** Unix seconds first, then one array per series. */
  data: [number[], ...(number | null)[][]];
  series: ChartSeries[];
  height?: number;
  /** For screen readers: what the chart shows, in words. */
  label: string;
}

const dateFormat = new Intl.DateTimeFormat(language, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
const hourTicks = new Intl.DateTimeFormat(language, { hour: "2-digit", minute: "2-digit" });
const dayTicks = new Intl.DateTimeFormat(language, { month: "short", day: "numeric" });
/** The time axis in the page's language: hours within two days, days beyond. */
function timeTicks(ticks: number[]): string[] {
  const span = ticks.length > 1 ? ticks[ticks.length - 1] - ticks[0] : 0;
  const format = span < 2 * 86_400 ? hourTicks : dayTicks;
  return ticks.map((v) => format.format(new Date(v * 1000)));
}

/** The figure under the cursor, or the latest one while the cursor is off the chart. */
function latest(u: uPlot, v: number | null, seriesIndex: number, index: number | null): number | null {
  if (index != null) return v;
  const values = u.data[seriesIndex] as (number | null | undefined)[];
  for (let j = values.length - 1; j >= 0; j--) if (values[j] != null) return values[j]!;
  return null;
}

export function Chart(props: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const scales = [...new Set(props.series.map((s) => s.scale ?? "y"))];
  const key = props.series.map((s) => `${s.label}/${s.scale ?? "y"}/${s.bars ? 1 : 0}`).join("|");

  useEffect(() => {
    const element = box.current!;
    const bars = uPlot.paths.bars!({ size: [0.6, 40] });
    const steps = uPlot.paths.stepped!({ align: 1 });
    const daily = props.series.some((s) => s.bars);
    const options: uPlot.Options = {
      width: Math.max(element.clientWidth, 200),
      height: props.height ?? 220,
      series: [
        {
          label: t("common.time"),
          value: (u, v, si, i) => (latest(u, v, si, i) == null ? "" : dateFormat.format(new Date(latest(u, v, si, i)! * 1000))),
        },
        ...props.series.map((s) => ({
          label: s.label,
          stroke: s.stroke,
          fill: s.bars ? s.stroke : undefined,
          width: 2,
          scale: s.scale ?? "y",
          paths: s.bars ? bars : s.smooth ? undefined : steps,
          points: { show: false },
          value: (u: uPlot, v: number | null, si: number, i: number | null) => {
            const shown = latest(u, v, si, i);
            return shown == null ? "" : formatAmount(String(shown), s.digits ?? 4);
          },
        })),
      ],
      axes: [
        { values: (_u: uPlot, ticks: number[]) => (daily ? ticks.map((v) => dayTicks.format(new Date(v * 1000))) : timeTicks(ticks)) },
        ...scales.map((scale, i) => {
          // With two scales, each axis in the colour of its series, so the reader knows which is which.
          const own = scales.length > 1 ? props.series.find((s) => (s.scale ?? "y") === scale) : undefined;
          return {
            scale,
            side: i === 0 ? 3 : 1,
            grid: { show: i === 0 },
            size: 64,
            stroke: own?.stroke,
            label: own?.label,
            values: (_u: uPlot, ticks: number[]) => ticks.map((v) => formatAmount(String(v), 4)),
          };
        }),
      ],
      scales: {
        ...Object.fromEntries(scales.map((s) => [s, { auto: true }])),
        // Days as bars: half a day of room each side, so one day is a bar, not a point.
        ...(daily
          ? { x: { time: true, range: (_u: uPlot, min: number, max: number): uPlot.Range.MinMax => [min - 43_200, max + 43_200] } }
          : {}),
      },
      // The legend names the series; the figures under the cursor appear while it is over the chart.
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
    };
    plot.current = new uPlot(options, props.data as uPlot.AlignedData, element);
    const resize = new ResizeObserver(() =>
      plot.current?.setSize({ width: Math.max(element.clientWidth, 200), height: props.height ?? 220 }),
    );
    resize.observe(element);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [key]);

  useEffect(() => {
    plot.current?.setData(props.data as uPlot.AlignedData);
  }, [props.data]);

  return html`<figure class="chart" aria-label=${props.label} role="img"><div ref=${box}></div></figure>`;
}
