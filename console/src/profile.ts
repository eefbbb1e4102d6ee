//! The column profile (`GET /api/data/<client>/profile?table=`): a histogram for numbers, a
//! line over time for dates, top values for text, drawn with uPlot.
//!
//! Design decision: uPlot (~50 KB min, canvas, no dependencies) over Chart.js (~200 KB) or
//! ECharts (~1 MB): the console's budget is 250 KB gzip for everything. Top values are plain
//! elements sized through the CSSOM, which the strict CSP allows (no inline style attributes).

import uPlot from "uplot";
import { ApiError, call } from "./api";
import { h, mount, text } from "./dom";
import { errorBox } from "./errors";

interface ProfileColumn {
  key: string;
  name: string;
  type: string;
  nulls?: number;
  non_null?: number;
  distinct_estimate?: number;
  min?: unknown;
  max?: unknown;
  histogram?: { from: unknown; to: unknown; count: number }[];
  top_values?: { value: unknown; count: number }[];
}

export async function profilePanel(box: HTMLElement, clientId: string, table: string, key: string): Promise<void> {
  box.hidden = false;
  mount(box, h("h2", {}, `Profile of ${key}`), h("p", { class: "status" }, "Loading…"));
  let col: ProfileColumn | undefined;
  try {
    const q = new URLSearchParams({ table });
    const got = await call<{ columns: ProfileColumn[]; row_count?: number }>("GET", `/api/data/${clientId}/profile?${q}`);
    col = got.columns.find((c) => c.key === key);
  } catch (e) {
    const err = e as ApiError;
    if (err.status === 404 && err.code === "route_not_found") {
      mount(box, h("h2", {}, `Profile of ${key}`), h("p", { class: "status", id: "profile-unavailable" }, "Profiles are not available on this server yet."));
    } else mount(box, h("h2", {}, `Profile of ${key}`), errorBox(err));
    return;
  }
  if (!col) {
    mount(box, h("h2", {}, `Profile of ${key}`), h("p", {}, "This column has no profile."));
    return;
  }
  const chart = h("div", { class: "chart", id: "profile-chart" });
  mount(
    box,
    h("h2", {}, `Profile of ${col.name || col.key}`),
    h(
      "dl",
      { class: "stats" },
      [
        ["type", col.type],
        ["values", col.non_null],
        ["nulls", col.nulls],
        ["distinct (estimate)", col.distinct_estimate],
        ["min", col.min],
        ["max", col.max],
      ].map(([k, v]) => [h("dt", {}, String(k)), h("dd", {}, text(v))]),
    ),
    chart,
    h("button", { type: "button", onclick: () => { box.hidden = true; } }, "Close"),
  );
  box.scrollIntoView({ block: "start" });
  const width = Math.min(720, box.clientWidth - 32 || 600);
  if (col.histogram?.length) {
    const dates = col.type === "date" || col.type === "datetime";
    const xs = col.histogram.map((b, i) => (dates ? Date.parse(text(b.from)) / 1000 : Number(b.from) || i));
    const ys = col.histogram.map((b) => b.count);
    new uPlot(
      {
        width,
        height: 240,
        // Counts from zero: uPlot's default range would start at the smallest bucket and hide it.
        scales: { x: { time: dates }, y: { range: (_u, _min, max) => [0, Math.max(1, max) * 1.1] } },
        series: [
          {},
          dates
            ? { label: "rows", stroke: "#2563eb", width: 2, fill: "rgba(37,99,235,0.15)" }
            : { label: "rows", stroke: "#2563eb", fill: "rgba(37,99,235,0.35)", paths: uPlot.paths.bars!({ size: [0.9, 80] }) },
        ],
        legend: { show: false },
      },
      [xs, ys],
      chart,
    );
  } else if (col.top_values?.length) {
    const max = Math.max(...col.top_values.map((t) => t.count));
    mount(
      chart,
      h(
        "ol",
        { class: "top-values" },
        col.top_values.map((t) => {
          const bar = h("span", { class: "bar" });
          bar.style.width = `${Math.max(2, (t.count / max) * 100)}%`;
          return h("li", {}, h("span", { class: "label" }, text(t.value)), bar, h("span", { class: "num" }, String(t.count)));
        }),
      ),
    );
  } else {
    mount(chart, h("p", {}, "No values to chart."));
  }
}
