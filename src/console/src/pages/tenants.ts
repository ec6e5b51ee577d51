// Tenants: every tenant with its plan, status and the period's revenue; creating a tenant and
// issuing its first key. A new key is shown exactly once: the server keeps only its hash.
import { ApiError, type List, type NewKey, type RevenueReport, type Tenant, get, post } from "../api";
import { card, chip, errorBox, h, table } from "../dom";
import * as f from "../format";
import { icon } from "../icons";
import type { PageCtx } from "../main";
import { periodQuery, showResolved } from "../period";
import { lastGrowth } from "../report";
import { growthSpan } from "./overview";

export const PLAN_LABEL: Record<string, string> = { payg: "Pay as you go", committed: "Committed spend", reserved: "Reserved capacity" };

/** The "copy it now" panel for a key just issued. */
export function newKeyPanel(k: NewKey): HTMLElement {
  const code = h("code", { class: "secret", "data-testid": "new-key" }, k.key);
  const copy = h("button", { class: "btn btn-sm", type: "button" }, "Copy");
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(k.key);
      copy.textContent = "Copied";
    } catch {
      // clipboard needs a secure context; select the text so Ctrl+C works instead
      const r = document.createRange();
      r.selectNodeContents(code);
      getSelection()?.removeAllRanges();
      getSelection()?.addRange(r);
    }
  });
  return h(
    "div",
    { class: "key-once", role: "status" },
    h("div", { class: "key-once-head" }, icon("key"), h("strong", null, `New ${k.scope} key for ${k.tenant}`)),
    h("div", { class: "key-once-row" }, code, copy),
    h("p", null, "Copy this key now. It will not be shown again — cirrus stores only a hash of it. Its prefix ", h("code", null, k.prefix), " identifies it in lists and logs."),
  );
}

function createForm(onCreated: (t: Tenant, k: NewKey | null) => void): HTMLElement {
  const err = h("div", { class: "form-error", role: "alert" });
  const form = h(
    "form",
    { class: "create-form", "data-testid": "create-tenant" },
    h("label", { class: "field" }, h("span", null, "Name"), h("input", { name: "name", required: true, pattern: "[A-Za-z0-9_.\\-]{1,63}", placeholder: "acme-corp", autocomplete: "off" }), h("small", null, "Letters, digits, _ . - (it is the tenant's id)")),
    h("label", { class: "field" }, h("span", null, "Industry"), h("input", { name: "industry", maxlength: 63, placeholder: "Retail" })),
    h("label", { class: "field" }, h("span", null, "Region"), h("input", { name: "region", maxlength: 63, placeholder: "EU" })),
    h(
      "label",
      { class: "field" },
      h("span", null, "First key"),
      h("select", { name: "scope" }, h("option", { value: "inference" }, "Inference key"), h("option", { value: "admin" }, "Admin key"), h("option", { value: "" }, "No key yet")),
    ),
    h("div", { class: "form-actions" }, h("button", { class: "btn btn-primary", type: "submit", "data-testid": "create-tenant-submit" }, "Create tenant")),
    err,
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const d = new FormData(form);
    const name = String(d.get("name") ?? "").trim();
    const scope = String(d.get("scope") ?? "");
    err.textContent = "";
    try {
      const t = await post<Tenant>("/tenants", { name, industry: String(d.get("industry") ?? "").trim(), region: String(d.get("region") ?? "").trim() });
      const k = scope ? await post<NewKey>(`/tenants/${encodeURIComponent(t.name)}/keys`, { scope }) : null;
      onCreated(t, k);
    } catch (e) {
      err.textContent = e instanceof ApiError ? e.message : String(e);
    }
  });
  return form;
}

export async function tenantsPage({ root, period, refresh }: PageCtx): Promise<void> {
  const [list, rev] = await Promise.all([get<List<Tenant>>("/tenants"), get<RevenueReport>("/reports/revenue", periodQuery(period))]);
  showResolved(rev.from, rev.to);
  const usage = new Map(rev.tenants.map((t) => [t.name, t]));
  const rows = list.data.map((t) => ({ t, u: usage.get(t.name) }));
  rows.sort((a, b) => (b.u?.revenue ?? 0) - (a.u?.revenue ?? 0) || (a.t.name < b.t.name ? -1 : a.t.name > b.t.name ? 1 : 0));

  const created = h("div", { id: "created" });
  const formBox = h("div", { class: "collapsible", hidden: true }, createForm((t, k) => {
    formBox.hidden = true;
    created.replaceChildren(h("div", { class: "notice" }, `Tenant ${t.name} created.`), k ? newKeyPanel(k) : "");
    void reload();
  }));
  const newBtn = h("button", { class: "btn btn-primary", type: "button", "data-testid": "new-tenant" }, icon("plus"), "New tenant");
  newBtn.addEventListener("click", () => {
    formBox.hidden = !formBox.hidden;
    formBox.querySelector("input")?.focus();
  });

  const filter = h("input", { type: "search", placeholder: "Filter by name, industry or region", class: "filter", "aria-label": "Filter tenants" });
  const tableBox = h("div");
  const draw = (items: typeof rows) => {
    const q = filter.value.trim().toLowerCase();
    const shown = q ? items.filter(({ t }) => `${t.name} ${t.industry} ${t.region}`.toLowerCase().includes(q)) : items;
    tableBox.replaceChildren(
      table(
        [
          { label: "Tenant", cell: ({ t }) => h("a", { href: `#/tenants/${encodeURIComponent(t.name)}`, class: "strong" }, t.name) },
          { label: "Industry", cell: ({ t }) => t.industry || h("span", { class: "muted" }, "—") },
          { label: "Region", cell: ({ t }) => t.region || h("span", { class: "muted" }, "—") },
          { label: "Plan", cell: ({ t }) => (t.plan ? PLAN_LABEL[t.plan.kind] ?? t.plan.kind : h("span", { class: "muted" }, "none")) },
          { label: "Status", cell: ({ t }) => chip(t.status, t.status === "active" ? "good" : "bad") },
          { label: "Revenue", cell: ({ u }) => f.money(u?.revenue ?? 0), num: true },
          { label: "Share", cell: ({ u }) => f.pct(u?.share ?? null), num: true },
          { label: "Last month", cell: ({ u }) => growthSpan(lastGrowth(u)), num: true, title: "Month-over-month revenue growth of the period's last month" },
          { label: "Requests", cell: ({ u }) => f.int(u?.requests ?? 0), num: true },
          { label: "Tokens", cell: ({ u }) => f.compact(u?.tokens ?? 0), num: true },
          { label: "Live keys", cell: ({ t }) => String(t.keys_live), num: true },
        ],
        shown,
        { empty: q ? "No tenant matches the filter." : "No tenants yet.", testid: "tenants-table", onRow: ({ t }) => (location.hash = `#/tenants/${encodeURIComponent(t.name)}`) },
      ),
    );
  };
  filter.addEventListener("input", () => draw(rows));

  const reload = async () => {
    try {
      const fresh = await get<List<Tenant>>("/tenants");
      rows.splice(0, rows.length, ...fresh.data.map((t) => ({ t, u: usage.get(t.name) })));
      rows.sort((a, b) => (b.u?.revenue ?? 0) - (a.u?.revenue ?? 0) || (a.t.name < b.t.name ? -1 : 1));
      draw(rows);
      countEl.textContent = `${rows.length} tenants`;
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 401)) tableBox.replaceChildren(errorBox(String(e)));
      else refresh();
    }
  };

  const countEl = h("span", { class: "muted" }, `${rows.length} tenants`);
  draw(rows);
  root.append(
    created,
    h("div", { class: "toolbar" }, filter, countEl, h("div", { class: "spacer" }), newBtn),
    formBox,
    card("All tenants", tableBox),
  );
}
