//! How an API error looks: its message, its hint, and its stable code for reporting.

import { ApiError } from "./api";
import { h } from "./dom";

export function errorBox(e: ApiError | Error): HTMLElement {
  const api = e instanceof ApiError ? e : null;
  return h(
    "div",
    { class: "error", role: "alert" },
    h("strong", {}, api?.status === 404 ? "Not found: " : "Error: "),
    e.message,
    api?.hint ? h("div", { class: "hint" }, api.hint) : null,
    api ? h("code", {}, api.code) : null,
  );
}
