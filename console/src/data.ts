//! The data view: table picker, a grid with paging (keyset cursor), sortable columns,
//! per-column filters in the query language (`price=gt.5`, docs/QUERY.md), the total, export
//! buttons and the column profile.
//!
//! Design decision: the grid builds PostgREST-style parameters when the Worker documents the
//! query language (`order` in its OpenAPI), and otherwise falls back to what the older API has —
//! equality filters and cursor paging, with sorting of the shown page only, said on screen — so
//! the console works on both sides of that change.

import { ApiError, call, download, hasQueryLanguage } from "./api";
import { formatBytes, h, mount, text } from "./dom";
import { errorBox } from "./errors";
import { profilePanel } from "./profile";

interface SchemaColumn {
  key: string;
  name: string;
  type: string;
}
interface TableInfo {
  table_name: string;
  data_type: string;
  row_count: number;
  schema_def: { columns?: SchemaColumn[] };
}
interface Page {
  data: { id: number; created_at: string; data: Record<string, unknown> }[];
  next_cursor: string | null;
  total?: number | null;
}

const OPS = /^(eq|neq|gt|gte|lt|lte|like|ilike|in|is|not\.[a-z]+)\./;

export async function dataView(main: HTMLElement, clientId: string, tableName: string | null): Promise<void> {
  const started = performance.now();
  mount(main, h("h1", {}, "Data"), h("p", { class: "status" }, "Loading…"));
  let tables: TableInfo[];
  try {
    tables = (await call<{ tables: TableInfo[] }>("GET", `/api/data/${clientId}/schema`)).tables;
  } catch (e) {
    const err = e as ApiError;
    mount(main, h("h1", {}, err.status === 404 ? "Not found" : "Data"), errorBox(err));
    return;
  }
  const table = tables.find((t) => t.table_name === tableName) ?? tables[0];
  const columns = table.schema_def.columns ?? [];
  const rich = await hasQueryLanguage();
  const filters = new Map<string, string>();
  let sort: { key: string; dir: "asc" | "desc" } | null = null;
  let limit = 50;
  const cursors: (string | null)[] = [null];
  let pageIndex = 0;

  const picker = h(
    "select",
    {
      id: "table-picker",
      onchange: (e: Event) => {
        location.hash = `#/data/${clientId}/${(e.target as HTMLSelectElement).value}`;
      },
    },
    tables.map((t) => h("option", { value: t.table_name, selected: t.table_name === table.table_name }, `${t.table_name} (${t.row_count} rows)`)),
  );
  const gridBox = h("div", { class: "scroll", id: "grid-box" });
  const totalBox = h("span", { id: "total", "aria-live": "polite" });
  const status = h("div", { class: "status", id: "data-status", "aria-live": "polite" });
  const profileBox = h("section", { id: "profile", class: "card", hidden: true });
  const prev = h("button", { type: "button", id: "prev" }, "Previous");
  const next = h("button", { type: "button", id: "next" }, "Next");
  const pageLabel = h("span", { id: "page-label" });

  function params(): URLSearchParams {
    const q = new URLSearchParams({ table: table.table_name });
    for (const [key, raw] of filters) {
      if (!raw) continue;
      if (rich) q.append(key, OPS.test(raw) ? raw : `eq.${raw}`);
      else q.append(key, raw.replace(/^eq\./, ""));
    }
    if (rich && sort) q.set("order", `${sort.key}.${sort.dir}`);
    return q;
  }

  async function load(): Promise<void> {
    const q = params();
    q.set("limit", String(limit));
    const cursor = cursors[pageIndex];
    if (cursor) q.set("cursor", cursor);
    try {
      if (!rich) {
        for (const [key, raw] of filters) {
          if (raw && OPS.test(raw) && !raw.startsWith("eq.")) {
            throw new ApiError(400, "invalid_parameter", `the filter ${key}=${raw} needs the query language, which this server does not offer yet`, "use plain values: equality filters work");
          }
        }
      }
      const countQ = params();
      countQ.delete("order"); // a count has no order (the route refuses one)
      const [page, count] = await Promise.all([
        call<Page>("GET", `/api/data/${clientId}?${q}`),
        call<{ count: number }>("GET", `/api/data/${clientId}/count?${countQ}`).catch(() => null),
      ]);
      let rows = page.data;
      if (!rich && sort) {
        const { key, dir } = sort;
        rows = [...rows].sort((a, b) => compare(a.data[key], b.data[key]) * (dir === "asc" ? 1 : -1));
      }
      const total = typeof page.total === "number" ? page.total : count?.count;
      cursors[pageIndex + 1] = page.next_cursor;
      mount(totalBox, total === undefined ? "" : `${total} rows`);
      totalBox.dataset.total = total === undefined ? "" : String(total);
      const first = pageIndex * limit;
      mount(pageLabel, rows.length ? `${first + 1}–${first + rows.length}` : "no rows");
      prev.disabled = pageIndex === 0;
      next.disabled = !page.next_cursor;
      renderGrid(rows);
      mount(status, !rich && sort ? "Sorted within this page (the server does not sort yet)" : "");
      if (!main.dataset.firstPaint) {
        main.dataset.firstPaint = String(Math.round(performance.now() - started));
      }
    } catch (e) {
      mount(status, errorBox(e as ApiError));
    }
  }

  function renderGrid(rows: Page["data"]): void {
    const head = columns.map((c) => {
      const dir = sort?.key === c.key ? sort.dir : null;
      return h(
        "th",
        { "aria-sort": dir === "asc" ? "ascending" : dir === "desc" ? "descending" : "none", "data-key": c.key },
        h(
          "button",
          {
            type: "button",
            class: "sort",
            title: `sort by ${c.name || c.key}`,
            onclick: () => {
              sort = dir === "asc" ? { key: c.key, dir: "desc" } : { key: c.key, dir: "asc" };
              resetPaging();
              void load();
            },
          },
          c.name || c.key,
          dir === "asc" ? " ▲" : dir === "desc" ? " ▼" : "",
        ),
        h("button", { type: "button", class: "profile-btn", title: `profile of ${c.name || c.key}`, onclick: () => void profilePanel(profileBox, clientId, table.table_name, c.key) }, "≡"),
      );
    });
    const filterRow = columns.map((c) =>
      h(
        "th",
        {},
        h("input", {
          class: "filter",
          "data-key": c.key,
          "aria-label": `filter ${c.name || c.key}`,
          placeholder: !rich ? "value" : c.type === "integer" || c.type === "number" ? "gt.5" : "eq.text",
          value: filters.get(c.key) ?? "",
          onchange: (e: Event) => {
            filters.set(c.key, (e.target as HTMLInputElement).value.trim());
            resetPaging();
            void load();
          },
        }),
      ),
    );
    mount(
      gridBox,
      h(
        "table",
        { class: "grid", id: "data-grid" },
        h("thead", {}, h("tr", {}, head), h("tr", { class: "filters" }, filterRow)),
        h("tbody", {}, rows.map((r) => h("tr", { "data-id": r.id }, columns.map((c) => h("td", { class: typeof r.data[c.key] === "number" ? "num" : undefined }, text(r.data[c.key])))))),
      ),
    );
  }

  function resetPaging(): void {
    cursors.length = 1;
    pageIndex = 0;
  }

  prev.addEventListener("click", () => {
    pageIndex = Math.max(0, pageIndex - 1);
    void load();
  });
  next.addEventListener("click", () => {
    pageIndex += 1;
    void load();
  });

  async function exportAs(format: "csv" | "ndjson"): Promise<void> {
    const q = params();
    q.set("format", format);
    try {
      mount(status, `Exporting ${format}…`);
      const { blob, filename } = await download(`/api/data/${clientId}/export?${q}`);
      const url = URL.createObjectURL(blob);
      const a = h("a", { href: url, download: filename });
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      mount(status, h("span", { id: "export-done", "data-bytes": blob.size }, `Exported ${filename} (${formatBytes(blob.size)})`));
    } catch (e) {
      mount(status, errorBox(e as ApiError));
    }
  }

  const limitPicker = h(
    "select",
    {
      id: "limit",
      "aria-label": "rows per page",
      onchange: (e: Event) => {
        limit = Number((e.target as HTMLSelectElement).value);
        resetPaging();
        void load();
      },
    },
    [25, 50, 100, 500].map((n) => h("option", { value: n, selected: n === limit }, `${n} per page`)),
  );

  mount(
    main,
    h("h1", {}, "Data"),
    h(
      "div",
      { class: "toolbar" },
      h("label", { for: "table-picker" }, "Table"),
      picker,
      totalBox,
      h("button", { type: "button", id: "export-csv", onclick: () => void exportAs("csv") }, "Export CSV"),
      h("button", { type: "button", id: "export-ndjson", onclick: () => void exportAs("ndjson") }, "Export NDJSON"),
    ),
    h("p", { class: "help" }, rich ? "Filters: a value, or op.value with eq, neq, gt, gte, lt, lte, like, ilike (* wildcard), in.(a,b), is.null. Enter applies." : "Filters: a value (equality). Enter applies."),
    status,
    gridBox,
    h("div", { class: "pager" }, prev, pageLabel, next, limitPicker),
    profileBox,
  );
  await load();
}

function compare(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return 1;
  if (b === null || b === undefined) return -1;
  if (typeof a === "number" && typeof b === "number") return a - b;
  return text(a).localeCompare(text(b));
}
