// Alerts: the same rules as `cirrus report alerts` (src/analytics), with their thresholds editable
// here. The thresholds live in the URL-less page state only: they change what is shown, not what
// the server stores.
import { type Alert, type AlertsReport, get } from "../api";
import { card, chip, h } from "../dom";
import * as f from "../format";
import { icon } from "../icons";
import type { PageCtx } from "../main";
import { periodQuery, showResolved } from "../period";
import { inProgress, monthTitle, severity } from "../report";

const KIND_LABEL: Record<string, string> = {
  share: "Revenue share",
  hhi_band: "Concentration band",
  revenue_drop: "Revenue drop",
  tokens_drop: "Usage drop",
  soft_budget: "Soft budget",
};

/** The alert in words, with the console's number formats (the server's message is the fallback). */
function describeAlert(a: Alert): string {
  const who = a.tenant ?? "";
  const pct = (v: number | null) => f.pct(v, 1);
  switch (a.kind) {
    case "share":
      return `${who} holds ${pct(a.value)} of the month's revenue (threshold ${pct(a.threshold)}).`;
    case "revenue_drop":
      return `${who}'s revenue fell ${pct(a.value)} month over month: ${f.money(a.previous_amount)} → ${f.money(a.amount)}.`;
    case "tokens_drop":
      return `${who}'s token usage fell ${pct(a.value)} month over month: ${f.compact(a.previous_amount)} → ${f.compact(a.amount)} tokens.`;
    case "soft_budget":
      return `${who} reached its soft budget: ${f.money(a.amount)} spent of ${f.money(a.previous_amount)} (${pct(a.value)}).`;
    case "hhi_band":
      return `HHI moved from ${f.hhi(a.previous)} (${a.previous_band ?? "?"}) to ${f.hhi(a.value)} (${a.band ?? "?"}).`;
    default:
      return a.message;
  }
}

export function alertList(alerts: Alert[], empty: string, showMonth = true): HTMLElement {
  if (alerts.length === 0) return h("div", { class: "empty-state" }, empty);
  return h(
    "ul",
    { class: "alerts", "data-testid": "alert-list" },
    alerts.map((a) => {
      const sev = severity(a);
      return h(
        "li",
        { class: `alert alert-${sev}`, "data-kind": a.kind },
        icon(sev === "info" ? "info" : "warn", "icon alert-icon"),
        h(
          "div",
          { class: "alert-body" },
          h(
            "div",
            { class: "alert-head" },
            h("strong", null, KIND_LABEL[a.kind] ?? a.kind),
            a.tenant ? h("a", { href: `#/tenants/${encodeURIComponent(a.tenant)}` }, a.tenant) : null,
            showMonth ? h("span", { class: "muted" }, monthTitle(a.month)) : null,
          ),
          h("div", { title: a.message }, describeAlert(a)),
        ),
        chip(sev, sev === "critical" ? "bad" : sev === "warning" ? "warn" : "muted"),
      );
    }),
  );
}

interface Thresholds {
  share_pct: number;
  large_pct: number;
  drop_pct: number;
  hhi_band: boolean;
}
let thresholds: Thresholds = { share_pct: 20, large_pct: 5, drop_pct: 30, hhi_band: true };

export async function alertsPage({ root, period, refresh }: PageCtx): Promise<void> {
  const rep = await get<AlertsReport>("/reports/alerts", { ...periodQuery(period), ...thresholds, hhi_band: thresholds.hhi_band ? 1 : 0 });
  showResolved(rep.from, rep.to);
  thresholds = { share_pct: rep.config.share_threshold_pct, large_pct: rep.config.large_share_pct, drop_pct: rep.config.drop_pct, hhi_band: rep.config.hhi_band };

  const num = (name: keyof Thresholds, label: string, hint: string) =>
    h(
      "label",
      { class: "field" },
      h("span", null, label),
      h("span", { class: "input-suffix" }, h("input", { type: "number", name, min: 0, max: 100, step: 1, value: String(thresholds[name]) }), "%"),
      h("small", null, hint),
    );
  const form = h(
    "form",
    { class: "thresholds", "data-testid": "alert-thresholds" },
    num("share_pct", "Share above", "A tenant's share of the month's revenue"),
    num("large_pct", "Large tenant from", "Share in the previous month for drop rules"),
    num("drop_pct", "Drop of more than", "Month over month, revenue or tokens"),
    h("label", { class: "field field-check" }, h("input", { type: "checkbox", name: "hhi_band", checked: thresholds.hhi_band }), h("span", null, "HHI changes band")),
    h("button", { class: "btn btn-primary", type: "submit" }, "Apply"),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const d = new FormData(form);
    const pct = (k: string, dflt: number) => {
      const v = Number(d.get(k));
      return Number.isFinite(v) && v >= 0 && v <= 100 ? v : dflt;
    };
    showResolved(rep.from, rep.to);
  thresholds = { share_pct: pct("share_pct", 20), large_pct: pct("large_pct", 5), drop_pct: pct("drop_pct", 30), hhi_band: d.get("hhi_band") !== null };
    refresh();
  });

  const byMonth = new Map<string, Alert[]>();
  const rank = { critical: 0, warning: 1, info: 2 };
  // most severe first within a month; the server's order (by rule, then rank) breaks ties
  const ordered = rep.alerts.map((a, i) => ({ a, i })).sort((x, y) => rank[severity(x.a)] - rank[severity(y.a)] || x.i - y.i);
  for (const { a } of ordered) byMonth.set(a.month, [...(byMonth.get(a.month) ?? []), a]);
  const months = [...byMonth.keys()].sort().reverse();
  const counts = { critical: 0, warning: 0, info: 0 };
  for (const a of rep.alerts) counts[severity(a)]++;

  root.append(
    card("Rules", form),
    h(
      "div",
      { class: "alert-summary" },
      chip(`${counts.critical} critical`, counts.critical ? "bad" : "muted"),
      chip(`${counts.warning} warnings`, counts.warning ? "warn" : "muted"),
      chip(`${counts.info} info`, "muted"),
    ),
    months.length === 0
      ? card("Alerts", h("div", { class: "empty-state" }, "No alert fires in this period with these rules."))
      : h(
          "div",
          { "data-testid": "alerts-by-month" },
          months.map((m) =>
            card(
              monthTitle(m),
              inProgress(m) ? h("p", { class: "card-note" }, "This month is not over: drops compare its days so far with a whole month, so they are shown as information.") : null,
              alertList(byMonth.get(m) ?? [], "", false),
            ),
          ),
        ),
  );
}
