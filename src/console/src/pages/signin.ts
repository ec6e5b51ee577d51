// Sign-in with an admin-scope API key. The key is checked against the admin API before it is kept,
// so a typo or a tenant (inference) key is refused here with the server's own reason.
import { ApiError, probe, setKey } from "../api";
import { h } from "../dom";
import { icon } from "../icons";

export function signInPage(message: string, done: () => void): HTMLElement {
  const input = h("input", {
    type: "password",
    id: "admin-key",
    name: "admin-key",
    autocomplete: "off",
    spellcheck: "false",
    placeholder: "sk-…",
    required: true,
    "data-testid": "signin-key",
  });
  const err = h("div", { class: "form-error", role: "alert", "data-testid": "signin-error" }, message);
  const button = h("button", { class: "btn btn-primary btn-block", type: "submit", "data-testid": "signin-submit" }, "Sign in");
  const form = h(
    "form",
    { class: "signin-card", "data-testid": "signin" },
    h("div", { class: "signin-brand" }, icon("cloud"), h("span", null, "cirrus")),
    h("h1", null, "Console"),
    h("p", { class: "muted" }, "Revenue, concentration, tenants and invoices for this cirrus deployment."),
    h("label", { for: "admin-key" }, "Admin API key"),
    input,
    err,
    button,
    h("p", { class: "hint" }, "Create one with ", h("code", null, "cirrus key create --tenant NAME --scope admin"), ". It is kept in this tab only."),
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const key = input.value.trim();
    if (!key) return;
    button.setAttribute("disabled", "");
    err.textContent = "";
    try {
      await probe(key);
      setKey(key);
      done();
    } catch (e) {
      err.textContent =
        e instanceof ApiError && e.status === 403
          ? "This key belongs to a tenant; the console needs an admin-scope key."
          : e instanceof ApiError
            ? e.message
            : `Could not reach the server: ${(e as Error).message}`;
    } finally {
      button.removeAttribute("disabled");
    }
  });
  queueMicrotask(() => input.focus());
  return h("div", { class: "signin" }, form);
}
