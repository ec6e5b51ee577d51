// Overview: the period at a glance — revenue, tokens, requests, and how much of it hangs on whom.
import { type AlertsReport, type ConcentrationReport, type RevenueReport, get } from "../api";
import { OTHERS, chart, color } from "../charts";
import { card, chip, h, kpi, table } from "../dom";
import * as f from "../format";
import type { PageCtx } from "../main";
import { describe, periodQuery, showResolved } from "../period";
import { inProgress, lastGrowth, monthKeys, monthTitle, monthlyRevenue, severity } from "../report";
import { alertList } from "./alerts";

/** Top n tenants by revenue, the rest folded into "Others" (ranking is the server's, A5). */
export function topSeries(rev: RevenueReport, n: number): { label: string; data: number[]; color: string }[] {
  const top = rev.tenants.slice(0, n).map((t, i) => ({ label: t.name, data: monthlyRevenue(t, rev), color: color(i) }));
  const rest = rev.tenants.slice(n);
  if (rest.length) {
    const data = rev.months.map((_, m) => rest.reduce((s, t) => s + (t.months[m]?.revenue ?? 0), 0));
    top.push({ label: `Others (${rest.length})`, data, color: OTHERS });
  }
  return top;
}

export function bandChip(band: string): HTMLElement {
  return chip(band || "undefined", f.bandKind(band));
}

export async function overviewPage({ root, period }: PageCtx): Promise<void> {
  const q = periodQuery(period);
  const [rev, conc, alerts] = await Promise.all([
    get<RevenueReport>("/reports/revenue", q),
    get<ConcentrationReport>("/reports/concentration", q),
    get<AlertsReport>("/reports/alerts", q),
  ]);
  showResolved(rev.from, rev.to);
  // the headline month is the last complete one; the month in progress is shown as "to date"
  const complete = rev.months.filter((m) => !inProgress(m.month));
  const last = complete[complete.length - 1];
  const toDate = rev.months.find((m) => inProgress(m.month));
  const top1 = conc.tenants[0];
  const months = monthKeys(rev);
  const span = months.length ? `${f.monthLabel(months[0])} – ${f.monthLabel(months[months.length - 1])}` : describe(period);

  root.append(
    h("p", { class: "page-intro" }, `${span} · ${rev.tenants.length} tenants with usage`, rev.total.simulated_revenue > 0 ? h("span", { class: "chip chip-muted", title: "Includes usage written by cirrus demo" }, "includes simulated usage") : null),
    h(
      "div",
      { class: "kpis" },
      kpi(
        "Revenue",
        f.moneyWhole(rev.total.revenue),
        h(
          "span",
          { class: "kpi-lines" },
          last ? h("span", null, `${f.monthLabel(last.month)}: ${f.moneyWhole(last.revenue)} `, growthSpan(last.growth)) : null,
          toDate ? h("span", null, `${f.monthLabel(toDate.month).slice(0, 3)} to date: ${f.moneyWhole(toDate.revenue)}`) : null,
        ),
        "kpi-revenue",
      ),
      kpi("Tokens", f.compact(rev.total.tokens), `${f.compact(rev.total.prompt_tokens)} in · ${f.compact(rev.total.completion_tokens)} out`, "kpi-tokens"),
      kpi("Requests", f.int(rev.total.requests), last ? `${f.int(last.requests)} in ${f.monthLabel(last.month)}` : null, "kpi-requests"),
      kpi("HHI", f.hhi(conc.hhi), bandChip(conc.hhi_band), "kpi-hhi"),
      kpi("Top customer", f.pct(conc.top1_share, 1), top1 ? top1.name : "—", "kpi-top1"),
      kpi("Major customers", String(conc.major_customers.length), "≥ 10% of revenue (ASC 280)", "kpi-major"),
    ),
  );

  const series = topSeries(rev, 6);
  const revChart = chart(
    "overview-revenue",
    {
      type: "bar",
      data: {
        labels: months.map(monthTitle),
        datasets: series.map((s) => ({ label: s.label, data: s.data.map((v) => v / 1e6), backgroundColor: s.color, stack: "rev", borderRadius: 2 })),
      },
      options: {
        scales: {
          x: { stacked: true, grid: { display: false } },
          y: { stacked: true, ticks: { callback: (v) => f.moneyShort(Number(v) * 1e6) } },
        },
        plugins: {
          legend: { position: "bottom" },
          tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${f.money(Number(c.raw) * 1e6)}` } },
        },
      },
    },
    300,
    "Monthly revenue by tenant",
  );

  const shareTop = conc.tenants.slice(0, 6);
  const restShare = conc.tenants.slice(6).reduce((s, t) => s + (t.share ?? 0), 0);
  const shareChart = chart(
    "overview-share",
    {
      type: "doughnut",
      data: {
        labels: [...shareTop.map((t) => t.name), ...(restShare > 0 ? ["Others"] : [])],
        datasets: [
          {
            label: "Share of revenue",
            data: [...shareTop.map((t) => (t.share ?? 0) * 100), ...(restShare > 0 ? [restShare * 100] : [])],
            backgroundColor: [...shareTop.map((_, i) => color(i)), OTHERS],
            borderWidth: 1,
          },
        ],
      },
      options: {
        cutout: "62%",
        plugins: { legend: { position: "right" }, tooltip: { callbacks: { label: (c) => `${c.label}: ${Number(c.raw).toFixed(2)}%` } } },
      },
    },
    300,
    "Share of revenue by tenant",
  );

  const majors = conc.tenants.filter((t) => t.major);
  const byName = new Map(rev.tenants.map((t) => [t.name, t]));
  root.append(
    h("div", { class: "grid-2-1" }, card("Monthly revenue by tenant", revChart), card("Share of revenue", shareChart)),
    h(
      "div",
      { class: "grid-2" },
      card(
        "Major customers",
        h("p", { class: "card-note" }, "Tenants with at least 10% of revenue in the period — the ASC 280 disclosure line."),
        table(
          [
            { label: "Tenant", cell: (t) => h("a", { href: `#/tenants/${encodeURIComponent(t.name)}` }, t.name) },
            { label: "Revenue", cell: (t) => f.money(t.revenue), num: true },
            { label: "Share", cell: (t) => f.pct(t.share), num: true },
            { label: "Last month", cell: (t) => growthSpan(lastGrowth(byName.get(t.name))), num: true, title: "Month-over-month growth of the last month" },
          ],
          majors,
          { empty: "No tenant reaches 10% of revenue.", testid: "major-customers" },
        ),
      ),
      card("Latest alerts", alertList(mostImportant(alerts.alerts, 5), "No alerts in this period."), h("a", { class: "card-link", href: "#/alerts" }, "All alerts →")),
    ),
  );
}

const RANK = { critical: 0, warning: 1, info: 2 };

/** The n alerts to read first: the most severe, then the most recent. */
function mostImportant(alerts: AlertsReport["alerts"], n: number): AlertsReport["alerts"] {
  return alerts
    .map((a) => ({ a, r: RANK[severity(a)] }))
    .sort((x, y) => x.r - y.r || (x.a.month < y.a.month ? 1 : x.a.month > y.a.month ? -1 : 0))
    .slice(0, n)
    .map((x) => x.a);
}

export function growthSpan(g: number | null): HTMLElement {
  const cls = g === null ? "muted" : g >= 0 ? "up" : "down";
  return h("span", { class: `growth ${cls}` }, f.growth(g));
}
