//! A file → a preview (`POST /api/inspect`: nothing is stored) → commit with a progress bar →
//! the result. For a new client (`POST /api/superadmin/clients`, with company, email, password)
//! or appended to an existing one (`POST /api/data/<client>`).
//!
//! Design decision: the preview and the commit send the same `File` object, so what was
//! previewed is byte for byte what is stored; the commit is a multipart form whose fields
//! precede the file part, as the upload route requires.

import { ApiError, call, upload } from "./api";
import { formatBytes, h, mount, text } from "./dom";
import { errorBox } from "./errors";

interface Column {
  key: string;
  name: string;
  type: string;
  semantic_type: string | null;
  null_count: number;
  samples: unknown[];
}
interface Issue {
  kind: string;
  row?: number;
  line?: number;
  column?: string;
  original?: string;
  message: string;
}
interface InspectedTable {
  sheet: string | null;
  dialect: { delimiter: string; quote: string; has_header: boolean; preamble_lines: number } | null;
  data_type: string;
  data_type_evidence: string[];
  row_count: number;
  columns: Column[];
  rows: Record<string, unknown>[];
  issues: Issue[];
  issue_counts: Record<string, number>;
}
interface Inspection {
  format: string;
  encoding: string | null;
  truncated: boolean;
  tables: InspectedTable[];
}

export function rowsTable(columns: { key: string; name: string }[], rows: Record<string, unknown>[], id?: string): HTMLElement {
  return h(
    "div",
    { class: "scroll" },
    h(
      "table",
      { class: "grid", id },
      h("thead", {}, h("tr", {}, columns.map((c) => h("th", { title: c.key }, c.name || c.key)))),
      h("tbody", {}, rows.map((r) => h("tr", {}, columns.map((c) => h("td", {}, text(r[c.key])))))),
    ),
  );
}

function issuesList(issues: Issue[], counts: Record<string, number>): HTMLElement | null {
  if (!issues.length) return null;
  return h(
    "details",
    { class: "issues", open: true },
    h("summary", {}, `Issues: ${Object.entries(counts).map(([k, n]) => `${n} ${k}`).join(", ")}`),
    h(
      "ul",
      {},
      issues.map((i) =>
        h(
          "li",
          {},
          i.line !== undefined ? `line ${i.line}` : i.row !== undefined ? `row ${i.row}` : "",
          i.column ? ` · ${i.column}` : "",
          ` · ${i.kind}: ${i.message}`,
          i.original !== undefined ? h("code", {}, i.original) : null,
        ),
      ),
    ),
  );
}

function preview(r: Inspection): HTMLElement {
  return h(
    "section",
    { id: "preview", class: "card" },
    h("h2", {}, "Preview — nothing is stored yet"),
    h("p", {}, `Format ${r.format}${r.encoding ? `, ${r.encoding}` : ""}${r.truncated ? " (first 4 MiB of the file)" : ""}`),
    r.tables.map((t) =>
      h(
        "div",
        { class: "inspected" },
        t.sheet ? h("h3", {}, `Sheet ${t.sheet}`) : null,
        t.dialect
          ? h("p", {}, `Delimiter ${JSON.stringify(t.dialect.delimiter)}, quote ${JSON.stringify(t.dialect.quote)}, ${t.dialect.has_header ? "header row" : "no header"}${t.dialect.preamble_lines ? `, ${t.dialect.preamble_lines} preamble lines skipped` : ""}`)
          : null,
        h("p", { class: "data-type" }, "Data type ", h("strong", {}, t.data_type), t.data_type_evidence.length ? ` (evidence: ${t.data_type_evidence.join(", ")})` : "", ` · ${t.row_count} rows`),
        h(
          "div",
          { class: "scroll" },
          h(
            "table",
            { class: "grid columns" },
            h("thead", {}, h("tr", {}, ["Column", "Header", "Type", "Semantic", "Nulls", "Samples"].map((x) => h("th", {}, x)))),
            h(
              "tbody",
              {},
              t.columns.map((c) =>
                h("tr", {}, h("td", {}, c.key), h("td", {}, c.name), h("td", {}, c.type), h("td", {}, c.semantic_type ?? ""), h("td", { class: "num" }, String(c.null_count)), h("td", {}, c.samples.map(text).join(" | "))),
              ),
            ),
          ),
        ),
        h("h3", {}, "First rows, as they would be stored"),
        rowsTable(t.columns, t.rows, "preview-rows"),
        issuesList(t.issues, t.issue_counts),
      ),
    ),
  );
}

export function uploadView(main: HTMLElement, clientId: string | null): void {
  const creating = clientId === null;
  let file: File | null = null;
  const company = h("input", { id: "company", required: true, autocomplete: "organization" });
  const email = h("input", { id: "client-email", type: "email", required: true });
  const password = h("input", { id: "client-password", type: "password", minlength: 8, autocomplete: "new-password" });
  const picker = h("input", { id: "file", type: "file", accept: ".csv,.tsv,.txt,.json,.ndjson,.jsonl,.xlsx" });
  const previewBox = h("div");
  const progress = h("progress", { id: "progress", max: 100, value: 0, hidden: true });
  const progressLabel = h("span", { id: "progress-label", "aria-live": "polite" });
  const result = h("div", { id: "result" });
  const commit = h("button", { type: "submit", class: "primary", disabled: true }, creating ? "Create client" : "Append rows");

  async function choose(f: File): Promise<void> {
    file = f;
    commit.disabled = true;
    mount(result);
    mount(previewBox, h("p", { class: "status" }, `Reading ${f.name} (${formatBytes(f.size)})…`));
    try {
      const q = new URLSearchParams({ filename: f.name });
      const got = await upload<Inspection>(`/api/inspect?${q}`, f, () => {}, f.type || "application/octet-stream");
      mount(previewBox, preview(got));
      commit.disabled = false;
    } catch (e) {
      mount(previewBox, errorBox(e as ApiError));
    }
  }

  picker.addEventListener("change", () => picker.files?.[0] && void choose(picker.files[0]));
  const drop = h(
    "label",
    { class: "drop", for: "file", id: "drop", tabindex: 0 },
    "Drop a CSV, TSV, JSON, NDJSON or XLSX file here, or press Enter to choose one",
  );
  drop.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      picker.click();
    }
  });
  drop.addEventListener("dragover", (e) => {
    e.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    const f = e.dataTransfer?.files[0];
    if (f) void choose(f);
  });

  const form = h(
    "form",
    {
      class: "card",
      onsubmit: async (e: Event) => {
        e.preventDefault();
        if (!file) return;
        const body = new FormData();
        if (creating) {
          body.append("company_name", company.value.trim());
          body.append("email", email.value.trim());
          if (password.value) body.append("password", password.value);
        }
        body.append("file", file, file.name);
        commit.disabled = true;
        progress.hidden = false;
        const show = (f: number) => {
          progress.value = Math.round(f * 100);
          mount(progressLabel, `${Math.round(f * 100)} %`);
        };
        show(0);
        try {
          const path = creating ? "/api/superadmin/clients" : `/api/data/${clientId}`;
          const got = await upload<{ client?: { client_id: string }; client_id?: string; table_name: string; rows_stored: number; row_count: number; issue_counts: Record<string, number>; tables?: { table_name: string; rows_stored: number }[] }>(path, body, show);
          const id = got.client?.client_id ?? got.client_id ?? clientId;
          const tables = got.tables ?? [{ table_name: got.table_name, rows_stored: got.rows_stored }];
          const rejected = Object.values(got.issue_counts ?? {}).reduce((a, b) => a + b, 0);
          mount(
            result,
            h(
              "div",
              { class: "ok", role: "status" },
              h("strong", {}, "Stored. "),
              tables.map((t) => `${t.rows_stored} rows in ${t.table_name}. `),
              rejected ? `${rejected} issues noted (values kept as written). ` : "",
              h("a", { href: `#/data/${id}/${tables[0].table_name}`, id: "open-data" }, "Open the data"),
            ),
          );
        } catch (err) {
          mount(result, errorBox(err as ApiError));
          commit.disabled = false;
        }
      },
    },
    creating
      ? h("fieldset", {}, h("legend", {}, "The new client"), h("label", { for: "company" }, "Company name"), company, h("label", { for: "client-email" }, "Email (its sign-in)"), email, h("label", { for: "client-password" }, "Password (optional, 8+ characters)"), password)
      : null,
    drop,
    picker,
    previewBox,
    h("div", { class: "commit" }, commit, progress, progressLabel),
    result,
  );
  mount(main, h("h1", {}, creating ? "New client from a file" : "Append a file"), clientId ? h("p", {}, "Client ", h("code", {}, clientId)) : null, form);
  if (!creating) void call("GET", `/api/data/${clientId}/schema`).catch((e) => mount(previewBox, errorBox(e as ApiError)));
}
