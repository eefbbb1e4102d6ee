//! The superadmin's client list (`GET /api/superadmin/clients`): search, pages, tables, rows,
//! last upload; open, append to, or delete (after a confirm) each client.

import { ApiError, call } from "./api";
import { h, mount } from "./dom";
import { errorBox } from "./errors";

interface ClientRow {
  client_id: string;
  company_name: string;
  email: string;
  created_at: string;
  tables: { table_name: string; data_type: string; row_count: number }[];
  row_count: number;
  last_upload_at: string | null;
}

const PAGE = 20;

export function clientsView(main: HTMLElement): void {
  let offset = 0;
  const search = h("input", { type: "search", id: "client-search", placeholder: "name or email" });
  const body = h("div");
  const status = h("div", { class: "status", "aria-live": "polite" });

  async function load(): Promise<void> {
    const q = new URLSearchParams({ limit: String(PAGE), offset: String(offset) });
    if (search.value.trim()) q.set("search", search.value.trim());
    try {
      const page = await call<{ clients: ClientRow[]; total: number }>(
        "GET",
        `/api/superadmin/clients?${q}`,
      );
      mount(status, `${page.total} client${page.total === 1 ? "" : "s"}`);
      mount(
        body,
        h(
          "table",
          { class: "grid", id: "clients" },
          h("thead", {}, h("tr", {}, ["Company", "Email", "Tables", "Rows", "Last upload", ""].map((t) => h("th", {}, t)))),
          h(
            "tbody",
            {},
            page.clients.map((c) =>
              h(
                "tr",
                { "data-client": c.client_id },
                h("td", {}, h("a", { href: `#/data/${c.client_id}` }, c.company_name)),
                h("td", {}, c.email),
                h("td", {}, c.tables.map((t) => t.table_name).join(", ")),
                h("td", { class: "num" }, String(c.row_count)),
                h("td", {}, c.last_upload_at ? new Date(c.last_upload_at).toLocaleString() : "—"),
                h(
                  "td",
                  { class: "actions" },
                  h("a", { href: `#/append/${c.client_id}` }, "Append"),
                  h(
                    "button",
                    { type: "button", class: "danger", onclick: () => remove(c) },
                    "Delete",
                  ),
                ),
              ),
            ),
          ),
        ),
        h(
          "div",
          { class: "pager" },
          h("button", { type: "button", disabled: offset === 0, onclick: () => { offset = Math.max(0, offset - PAGE); void load(); } }, "Previous"),
          h("span", {}, page.total ? `${offset + 1}–${offset + page.clients.length} of ${page.total}` : ""),
          h("button", { type: "button", disabled: offset + PAGE >= page.total, onclick: () => { offset += PAGE; void load(); } }, "Next"),
        ),
      );
    } catch (e) {
      mount(body, errorBox(e as ApiError));
    }
  }

  async function remove(c: ClientRow): Promise<void> {
    if (!confirm(`Delete ${c.company_name} (${c.email}) and all its ${c.row_count} rows?`)) return;
    try {
      await call("DELETE", `/api/superadmin/clients/${c.client_id}`);
      mount(status, `Deleted ${c.company_name}`);
      await load();
    } catch (e) {
      mount(status, errorBox(e as ApiError));
    }
  }

  let timer = 0;
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = window.setTimeout(() => {
      offset = 0;
      void load();
    }, 250);
  });
  mount(
    main,
    h("h1", {}, "Clients"),
    h("div", { class: "toolbar" }, h("label", { for: "client-search" }, "Search"), search, h("a", { href: "#/new", class: "button primary" }, "New client from a file"), status),
    body,
  );
  void load();
}
