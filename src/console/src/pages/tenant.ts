// One tenant: usage over time, plan, limits and budgets, keys (prefixes only), suspend and resume.
import { ApiError, type Key, type NewKey, type Plan, type RevenueReport, type TenantDetail, type UsageReport, get, post } from "../api";
import { chart, color } from "../charts";
import { card, chip, h, kpi, table } from "../dom";
import * as f from "../format";
import { icon } from "../icons";
import type { PageCtx } from "../main";
import { periodQuery, showResolved } from "../period";
import { lastGrowth, monthKeys, monthTitle, monthlyRevenue, monthlyTokens } from "../report";
import { growthSpan } from "./overview";
import { PLAN_LABEL, newKeyPanel } from "./tenants";

const none = () => h("span", { class: "muted" }, "none");
const limit = (v: number, unit = "") => (v > 0 ? `${f.int(v)}${unit}` : none());
const moneyOrNone = (v: number) => (v > 0 ? f.money(v) : none());

function dl(rows: [string, string | Node][]): HTMLElement {
  return h("dl", { class: "facts" }, rows.map(([k, v]) => [h("dt", null, k), h("dd", null, v)]));
}

function planCard(p: Plan | null, history: Plan[]): HTMLElement {
  if (!p) return card("Plan", h("div", { class: "empty-state" }, "No plan: usage is rated at list price with no limits."));
  const rows: [string, string | Node][] = [
    ["Plan", PLAN_LABEL[p.kind] ?? p.kind],
    ["Since", f.date(p.effective_from)],
    ["Priority", String(p.priority)],
  ];
  if (p.kind === "committed") rows.push(["Monthly commitment", f.money(p.commit_min)], ["Discount", `${(p.discount_bp / 100).toFixed(2)}%`]);
  if (p.kind === "reserved") rows.push(["Reserved capacity", `${f.int(p.reserved_tpm)} tokens/min`]);
  if (p.fee > 0) rows.push(["Monthly fee", f.money(p.fee)]);
  return card("Plan", dl(rows), history.length > 1 ? h("p", { class: "card-note" }, `${history.length} plan versions; the one in force is shown.`) : null);
}

function limitsCard(p: Plan | null): HTMLElement {
  if (!p) return card("Limits and budget", h("div", { class: "empty-state" }, "No limits."));
  return card(
    "Limits and budget",
    dl([
      ["Requests / min", limit(p.rpm)],
      ["Tokens / min", limit(p.tpm)],
      ["Concurrent requests", limit(p.max_concurrent)],
      ["Max tokens / request", limit(p.max_tokens)],
      ["Models", p.models && p.models.length ? p.models.join(", ") : "every model"],
      ["Hard budget / month", moneyOrNone(p.budget_hard)],
      ["Soft budget / month", moneyOrNone(p.budget_soft)],
    ]),
  );
}

function keysCard(t: TenantDetail, refresh: () => void): HTMLElement {
  const issued = h("div");
  const scope = h("select", { "aria-label": "Scope" }, h("option", { value: "inference" }, "Inference"), h("option", { value: "admin" }, "Admin"));
  const issue = h("button", { class: "btn btn-sm", type: "button", "data-testid": "issue-key" }, icon("plus"), "Issue key");
  issue.addEventListener("click", async () => {
    try {
      const k = await post<NewKey>(`/tenants/${encodeURIComponent(t.name)}/keys`, { scope: scope.value });
      issued.replaceChildren(newKeyPanel(k));
      t.keys.unshift(k);
      tableBox.replaceChildren(keysTable());
    } catch (e) {
      issued.replaceChildren(h("div", { class: "form-error" }, e instanceof ApiError ? e.message : String(e)));
    }
  });
  const revoke = async (k: Key) => {
    if (!confirm(`Revoke key ${k.prefix}…? Requests with it fail at once.`)) return;
    try {
      await post(`/keys/${encodeURIComponent(k.prefix)}/revoke`, {});
      refresh();
    } catch (e) {
      issued.replaceChildren(h("div", { class: "form-error" }, e instanceof ApiError ? e.message : String(e)));
    }
  };
  const keysTable = () =>
    table(
      [
        { label: "Prefix", cell: (k: Key) => h("code", null, `${k.prefix}…`) },
        { label: "Scope", cell: (k) => chip(k.scope, k.scope === "admin" ? "warn" : "muted") },
        { label: "Created", cell: (k) => f.date(k.created_at) },
        { label: "Expires", cell: (k) => (k.expires_at ? f.date(k.expires_at) : none()) },
        { label: "Status", cell: (k) => chip(k.status, k.status === "live" ? "good" : "bad") },
        { label: "", cell: (k) => (k.status === "live" ? h("button", { class: "btn btn-ghost btn-sm danger", type: "button", onclick: () => void revoke(k) }, "Revoke") : "") },
      ],
      t.keys,
      { empty: "No keys.", testid: "keys-table" },
    );
  const tableBox = h("div", null, keysTable());
  return card("API keys", h("div", { class: "toolbar" }, h("p", { class: "card-note" }, "Only prefixes are kept in the clear; a key is shown once, when issued."), h("div", { class: "spacer" }), scope, issue), issued, tableBox);
}

export async function tenantPage({ root, params, period, refresh }: PageCtx): Promise<void> {
  const name = params[0] ?? "";
  const enc = encodeURIComponent(name);
  const q = periodQuery(period);
  const [t, rev, byDay, byModel] = await Promise.all([
    get<TenantDetail>(`/tenants/${enc}`),
    get<RevenueReport>("/reports/revenue", q),
    get<UsageReport>("/usage", { ...q, tenant: name, by: "day" }),
    get<UsageReport>("/usage", { ...q, tenant: name, by: "model" }),
  ]);
  showResolved(rev.from, rev.to);
  const title = document.getElementById("page-title");
  if (title) title.textContent = t.name;
  const s = rev.tenants.find((x) => x.name === t.name);

  const toggle = h("button", { class: `btn ${t.status === "active" ? "btn-ghost danger" : "btn-primary"}`, type: "button", "data-testid": "suspend-toggle" }, t.status === "active" ? "Suspend" : "Resume");
  toggle.addEventListener("click", async () => {
    if (t.status === "active" && !confirm(`Suspend ${t.name}? Its keys stop working at once.`)) return;
    await post(`/tenants/${enc}/${t.status === "active" ? "suspend" : "resume"}`, {});
    refresh();
  });

  root.append(
    h(
      "div",
      { class: "tenant-head" },
      h("a", { href: "#/tenants", class: "back" }, icon("back"), "Tenants"),
      h("div", { class: "tenant-meta" }, chip(t.status, t.status === "active" ? "good" : "bad"), t.industry ? h("span", null, t.industry) : null, t.region ? h("span", null, t.region) : null, h("span", { class: "muted" }, `since ${f.date(t.created_at)}`)),
      h("div", { class: "spacer" }),
      toggle,
    ),
    h(
      "div",
      { class: "kpis" },
      kpi("Revenue", f.moneyWhole(s?.revenue ?? 0), s ? growthSpan(lastGrowth(s)) : null),
      kpi("Share of revenue", f.pct(s?.share ?? null), s && (s.share ?? 0) >= 0.1 ? chip("major customer", "warn") : null),
      kpi("Requests", f.int(byDay.totals.requests)),
      kpi("Tokens", f.compact(byDay.totals.prompt_tokens + byDay.totals.completion_tokens), `${f.compact(byDay.totals.cached_tokens)} cached`),
    ),
  );

  const monthly = chart(
    "tenant-monthly",
    {
      type: "bar",
      data: {
        labels: monthKeys(rev).map(monthTitle),
        datasets: [
          { type: "bar", label: "Revenue", data: monthlyRevenue(s, rev).map((v) => v / 1e6), backgroundColor: color(0), yAxisID: "y", borderRadius: 2, order: 2 },
          { type: "line", label: "Tokens", data: monthlyTokens(s, rev), borderColor: color(1), backgroundColor: color(1), yAxisID: "y2", cubicInterpolationMode: "monotone", order: 1 },
        ],
      },
      options: {
        scales: {
          x: { grid: { display: false } },
          y: { position: "left", ticks: { callback: (v) => f.moneyShort(Number(v) * 1e6) }, title: { display: true, text: "Revenue" } },
          y2: { position: "right", grid: { display: false }, ticks: { callback: (v) => f.compact(Number(v)) }, title: { display: true, text: "Tokens" } },
        },
        plugins: { legend: { position: "bottom" } },
      },
    },
    260,
    `Monthly revenue and tokens of ${t.name}`,
  );
  const days = byDay.data.map((d) => d.day ?? "");
  const daily = chart(
    "tenant-daily",
    {
      type: "bar",
      data: {
        labels: days,
        datasets: [
          { label: "Prompt tokens", data: byDay.data.map((d) => d.prompt_tokens - d.cached_tokens), backgroundColor: color(0), stack: "t" },
          { label: "Cached tokens", data: byDay.data.map((d) => d.cached_tokens), backgroundColor: color(4), stack: "t" },
          { label: "Completion tokens", data: byDay.data.map((d) => d.completion_tokens), backgroundColor: color(1), stack: "t" },
        ],
      },
      options: {
        scales: { x: { stacked: true, grid: { display: false }, ticks: { maxTicksLimit: 12 } }, y: { stacked: true, ticks: { callback: (v) => f.compact(Number(v)) } } },
        plugins: { legend: { position: "bottom" } },
      },
    },
    260,
    `Daily tokens of ${t.name}`,
  );

  root.append(
    h("div", { class: "grid-2" }, card("Revenue and tokens by month", monthly), card("Tokens by day", daily)),
    h("div", { class: "grid-2" }, planCard(t.plan, t.plans), limitsCard(t.plan)),
    keysCard(t, refresh),
    card(
      "Usage by model",
      table(
        [
          { label: "Model", cell: (r) => h("code", null, r.model ?? "") },
          { label: "Requests", cell: (r) => f.int(r.requests), num: true },
          { label: "Prompt", cell: (r) => f.int(r.prompt_tokens), num: true },
          { label: "Cached", cell: (r) => f.int(r.cached_tokens), num: true },
          { label: "Completion", cell: (r) => f.int(r.completion_tokens), num: true },
          { label: "Cost", cell: (r) => f.money(r.cost), num: true },
        ],
        byModel.data,
        { testid: "usage-by-model" },
      ),
    ),
  );
}
