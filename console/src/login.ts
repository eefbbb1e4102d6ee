//! Sign-in for clients and superadmin accounts alike (`POST /api/auth/login` says which).

import { ApiError, signIn } from "./api";
import { h, mount } from "./dom";
import { errorBox } from "./errors";

export function loginView(main: HTMLElement): void {
  const email = h("input", { id: "email", type: "email", autocomplete: "username", required: true });
  const password = h("input", {
    id: "password",
    type: "password",
    autocomplete: "current-password",
    required: true,
  });
  const status = h("div", { role: "alert" });
  const form = h(
    "form",
    {
      class: "card login",
      onsubmit: async (e: Event) => {
        e.preventDefault();
        mount(status);
        try {
          const s = await signIn(email.value.trim(), password.value);
          location.hash = s.role === "superadmin" ? "#/clients" : `#/data/${s.client_id}`;
        } catch (err) {
          mount(status, errorBox(err as ApiError));
        }
      },
    },
    h("h1", {}, "Sign in"),
    h("label", { for: "email" }, "Email"),
    email,
    h("label", { for: "password" }, "Password"),
    password,
    h("button", { type: "submit", class: "primary" }, "Sign in"),
    status,
  );
  mount(main, form);
  email.focus();
}
