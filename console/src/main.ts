//! The console's entry: a hash router (`#/login`, `#/clients`, `#/new`, `#/data/<client>`,
//! `#/data/<client>/<table>`) over views that each own the `<main>` element.
//!
//! Design decision: hash routes, so every console URL is the one `index.html` asset and the
//! Worker's own paths (`/api/*`, `/health`) never collide with a page; a client pasting another
//! client's URL gets the API's 404, shown as "not found".

import { session, signOut } from "./api";
import { h, mount } from "./dom";
import { clientsView } from "./clients";
import { dataView } from "./data";
import { loginView } from "./login";
import { uploadView } from "./upload";

const main = document.getElementById("app") as HTMLElement;
const nav = document.getElementById("nav") as HTMLElement;

function renderNav(): void {
  const s = session();
  if (!s) return mount(nav);
  mount(
    nav,
    s.role === "superadmin" ? h("a", { href: "#/clients" }, "Clients") : null,
    s.role === "superadmin" ? h("a", { href: "#/new" }, "New client") : null,
    s.client_id ? h("a", { href: `#/data/${s.client_id}` }, "My data") : null,
    h("span", { class: "who" }, `${s.email} (${s.role})`),
    h(
      "button",
      {
        type: "button",
        onclick: () => {
          signOut();
          location.hash = "#/login";
        },
      },
      "Sign out",
    ),
  );
}

export function route(): void {
  renderNav();
  const s = session();
  const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  if (!s || parts[0] === "login") return loginView(main);
  switch (parts[0]) {
    case "clients":
      return clientsView(main);
    case "new":
      return uploadView(main, null);
    case "append":
      return uploadView(main, parts[1] ?? null);
    case "data":
      void dataView(main, parts[1] ?? "", parts[2] ?? null);
      return;
    default:
      location.hash = s.role === "superadmin" ? "#/clients" : `#/data/${s.client_id}`;
  }
}

window.addEventListener("hashchange", route);
route();
