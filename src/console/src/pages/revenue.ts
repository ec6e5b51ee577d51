// Revenue and concentration: who pays, how the total is spread, how that moves month to month,
// what losing a customer would do, and where revenue is heading. Every figure is computed by the
// server with the same analytics code as `cirrus report`; this page only draws it.
import { type ConcentrationReport, type ForecastReport, type RevenueReport, type WhatIf, get } from "../api";
import { OTHERS, chart, color, hhiBands, refLine } from "../charts";
import { card, chip, h, table } from "../dom";
import * as f from "../format";
import type { PageCtx } from "../main";
import { periodQuery, showResolved } from "../period";
import { currentMonth, inProgress, monthKeys, monthTitle } from "../report";
import { bandChip, topSeries } from "./overview";
import { PLAN_LABEL } from "./tenants";

/** "2026-11" → "2026-10" */
function prevMonth(m: string): string {
  const [y, mo] = m.split("-").map(Number);
  return mo === 1 ? `${y - 1}-12` : `${y}-${String(mo - 1).padStart(2, "0")}`;
}

function measures(c: ConcentrationReport): HTMLElement {
  return h(
    "dl",
    { class: "facts facts-wide", "data-testid": "concentration-measures" },
    [
      ["HHI", h("span", null, f.hhi(c.hhi), " ", bandChip(c.hhi_band))],
      ["Top-1 share", f.pct(c.top1_share)],
      ["Top-5 share", f.pct(c.top5_share)],
      ["Top-10 share", f.pct(c.top10_share)],
      ["Gini", c.gini === null ? "—" : c.gini.toFixed(4)],
      ["Paying tenants", String(c.tenants_with_revenue)],
      ["Major customers", c.major_customers.length ? c.major_customers.join(", ") : "none"],
    ].map(([k, v]) => [h("dt", null, k as string), h("dd", null, v as Node | string)]),
  );
}

function whatIfPanel(conc: ConcentrationReport, q: Record<string, string | null>): HTMLElement {
  const select = h(
    "select",
    { "aria-label": "Tenant", "data-testid": "whatif-tenant" },
    conc.tenants.filter((t) => t.revenue > 0).map((t) => h("option", { value: t.name }, `${t.name} (${f.pct(t.share, 1)})`)),
  );
  const cut = h("input", { type: "range", min: 0, max: 100, step: 5, value: 100, "aria-label": "Cut", "data-testid": "whatif-cut" });
  const cutLabel = h("output", { class: "cut-value" }, "leaves (−100%)");
  const out = h("div", { class: "whatif-out", "data-testid": "whatif-result" });
  let seq = 0;

  const row = (label: string, before: string | Node, after: string | Node, delta?: string | Node) =>
    h("tr", null, h("th", null, label), h("td", { class: "num" }, before), h("td", { class: "num" }, after), h("td", { class: "num" }, delta ?? ""));
  const show = (w: WhatIf) => {
    const dRev = w.revenue_change;
    const dHhi = (w.after.hhi ?? 0) - (w.before.hhi ?? 0);
    out.replaceChildren(
      h(
        "div",
        { class: "table-wrap" },
        h(
        "table",
        { class: "whatif-table" },
        h("thead", null, h("tr", null, h("th", null, ""), h("th", { class: "num" }, "Now"), h("th", { class: "num" }, "Scenario"), h("th", { class: "num" }, "Change"))),
        h(
          "tbody",
          null,
          row("Total revenue", f.money(w.revenue_before), f.money(w.revenue_after), h("span", { class: dRev < 0 ? "growth down" : "growth" }, `${f.money(dRev)} (${f.pct(w.revenue_change_share, 1)})`)),
          row(`${w.tenant}'s revenue`, f.money(w.tenant_revenue_before), f.money(w.tenant_revenue_after)),
          row("HHI", h("span", null, f.hhi(w.before.hhi), " ", bandChip(w.before.hhi_band)), h("span", { "data-testid": "whatif-hhi-after" }, f.hhi(w.after.hhi), " ", bandChip(w.after.hhi_band)), `${dHhi >= 0 ? "+" : "−"}${f.hhi(Math.abs(dHhi))}`),
          row("Top-1 share", f.pct(w.before.top1_share), f.pct(w.after.top1_share)),
          row("Top-5 share", f.pct(w.before.top5_share), f.pct(w.after.top5_share)),
          row("Major customers", String(w.before.major_customers_count), h("span", { title: w.major_customers_after.join(", ") }, String(w.after.major_customers_count))),
        ),
      ),
      ),
    );
  };
  const run = async () => {
    const my = ++seq;
    const pctCut = Number(cut.value);
    cutLabel.textContent = pctCut === 100 ? "leaves (−100%)" : `cuts spend by ${pctCut}%`;
    if (!select.value) return;
    try {
      const r = await get<ConcentrationReport>("/reports/concentration", { ...q, whatif: select.value, cut_pct: pctCut });
      if (my === seq && r.whatif) show(r.whatif);
    } catch (e) {
      if (my === seq) out.replaceChildren(h("div", { class: "form-error" }, String((e as Error).message)));
    }
  };
  let timer = 0;
  cut.addEventListener("input", () => {
    cutLabel.textContent = Number(cut.value) === 100 ? "leaves (−100%)" : `cuts spend by ${cut.value}%`;
    clearTimeout(timer);
    timer = window.setTimeout(() => void run(), 150);
  });
  select.addEventListener("change", () => void run());
  if (conc.whatif) show(conc.whatif);
  else void run();
  return card(
    "What if",
    h("p", { class: "card-note" }, "Revenue and concentration if one tenant leaves or cuts its spend, everything else unchanged."),
    h("div", { class: "whatif-controls" }, h("label", null, "Tenant ", select), h("label", null, "Scenario ", cut, cutLabel)),
    out,
  );
}

export async function revenuePage({ root, period }: PageCtx): Promise<void> {
  const q = periodQuery(period);
  // A forecast fitted on a month that is not over would read its shortfall as a trend: when the
  // period runs into the current month, forecast from the months before it (the current month is
  // then the first forecast point, drawn next to its revenue so far).
  const open = !period.to || period.to >= currentMonth();
  const fq = open ? { ...q, to: prevMonth(currentMonth()) } : q;
  const [rev, conc, fc] = await Promise.all([
    get<RevenueReport>("/reports/revenue", q),
    get<ConcentrationReport>("/reports/concentration", q),
    get<ForecastReport>("/reports/forecast", { ...fq, horizon: 3, level: 90 }),
  ]);
  showResolved(rev.from, rev.to);
  const labels = monthKeys(rev).map(monthTitle);

  const series = topSeries(rev, 8);
  const byTenant = chart(
    "revenue-by-tenant",
    {
      type: "line",
      data: {
        labels,
        datasets: series.map((s) => ({ label: s.label, data: s.data.map((v) => v / 1e6), borderColor: s.color, backgroundColor: s.color === OTHERS ? OTHERS : `${s.color}cc`, fill: true, pointRadius: 2, tension: 0.2 })),
      },
      options: {
        interaction: { mode: "index", intersect: false },
        scales: { x: { grid: { display: false } }, y: { stacked: true, ticks: { callback: (v) => f.moneyShort(Number(v) * 1e6) } } },
        plugins: { legend: { position: "bottom" }, tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${f.money(Number(c.raw) * 1e6)}` } } },
      },
    },
    320,
    "Revenue by tenant over time",
  );

  // Pareto: every tenant (up to 25) by revenue, with the cumulative share against the 80% line.
  const ranked = conc.tenants.filter((t) => t.revenue > 0).slice(0, 25);
  let cum = 0;
  const cumShare = ranked.map((t) => (cum += (t.share ?? 0) * 100));
  const pareto = chart(
    "pareto",
    {
      type: "bar",
      data: {
        labels: ranked.map((t) => t.name),
        datasets: [
          { type: "bar", label: "Revenue", data: ranked.map((t) => t.revenue / 1e6), backgroundColor: ranked.map((t) => (t.major ? color(3) : color(0))), yAxisID: "y", order: 2, borderRadius: 2 },
          { type: "line", label: "Cumulative share", data: cumShare, borderColor: "#101828", backgroundColor: "#101828", yAxisID: "y2", pointRadius: 2, order: 1 },
        ],
      },
      options: {
        scales: {
          x: { grid: { display: false }, ticks: { autoSkip: false, maxRotation: 60, minRotation: 45, font: { size: 10 } } },
          y: { ticks: { callback: (v) => f.moneyShort(Number(v) * 1e6) } },
          y2: { position: "right", min: 0, max: 100, grid: { display: false }, ticks: { callback: (v) => `${v}%` } },
        },
        plugins: {
          legend: { position: "bottom" },
          tooltip: { callbacks: { label: (c) => (c.dataset.yAxisID === "y2" ? `Cumulative: ${Number(c.raw).toFixed(1)}%` : `Revenue: ${f.money(Number(c.raw) * 1e6)}`) } },
        },
      },
      plugins: [refLine("pareto80", "y2", 80, "80%")],
    },
    320,
    "Pareto chart of revenue by tenant",
  );

  const hhis = conc.trend.map((t) => t.hhi);
  const hhiMax = Math.min(10000, Math.max(2500, ...hhis.map((v) => (v ?? 0) * 1.15)));
  const hhiTrend = chart(
    "hhi-trend",
    {
      type: "line",
      data: {
        labels: conc.trend.map((t) => monthTitle(t.month)),
        datasets: [{ label: "HHI", data: hhis, borderColor: "#101828", backgroundColor: "#101828", pointRadius: 3, cubicInterpolationMode: "monotone", spanGaps: false }],
      },
      options: {
        scales: { x: { grid: { display: false } }, y: { min: 0, max: hhiMax, ticks: { callback: (v) => f.hhi(Number(v)) } } },
        plugins: { legend: { display: false }, tooltip: { callbacks: { label: (c) => `HHI ${f.hhi(Number(c.raw))} (${conc.trend[c.dataIndex]?.hhi_band ?? ""})` } } },
      },
      plugins: [hhiBands],
    },
    300,
    "HHI by month with the 1,000 and 1,800 bands",
  );

  // Forecast: the history of total revenue (the revenue report's months: the same period, so the
  // same history the forecast fitted) and the next months with their interval.
  const hist = rev.months.filter((m) => !(open && inProgress(m.month))).map((m) => ({ month: m.month, revenue: m.revenue }));
  const toDate = open ? rev.months.find((m) => inProgress(m.month)) : undefined;
  const fcLabels = [...hist.map((p) => p.month), ...fc.total.points.map((p) => p.month)].map(f.monthLabel);
  const nh = hist.length;
  const pad = (vals: number[], before: number) => [...Array(before).fill(null), ...vals];
  const lastHist = nh ? hist[nh - 1].revenue / 1e6 : null;
  const forecast = chart(
    "forecast",
    {
      type: "line",
      data: {
        labels: fcLabels,
        datasets: [
          { label: "Revenue", data: [...hist.map((p) => p.revenue / 1e6), ...fc.total.points.map(() => null)], borderColor: color(0), backgroundColor: color(0), pointRadius: 3 },
          { label: `Forecast (${fc.total.method})`, data: nh ? [...Array(nh - 1).fill(null), lastHist, ...fc.total.points.map((p) => p.revenue / 1e6)] : fc.total.points.map((p) => p.revenue / 1e6), borderColor: color(0), borderDash: [6, 4], backgroundColor: color(0), pointRadius: 3 },
          { label: `${fc.level}% interval`, data: pad(fc.total.points.map((p) => p.upper / 1e6), nh), borderColor: "transparent", backgroundColor: "rgba(78,121,167,0.15)", pointRadius: 0, fill: "+1" },
          { label: "lower", data: pad(fc.total.points.map((p) => p.lower / 1e6), nh), borderColor: "transparent", backgroundColor: "transparent", pointRadius: 0 },
          ...(toDate
            ? [{ label: `${f.monthLabel(toDate.month)} so far`, data: pad([toDate.revenue / 1e6], nh), borderColor: color(1), backgroundColor: color(1), pointRadius: 5, pointStyle: "rectRot" as const, showLine: false }]
            : []),
        ],
      },
      options: {
        scales: { x: { grid: { display: false } }, y: { beginAtZero: true, ticks: { callback: (v) => f.moneyShort(Number(v) * 1e6) } } },
        plugins: {
          legend: { position: "bottom", labels: { filter: (i) => i.text !== "lower" } },
          tooltip: { filter: (i) => i.dataset.label !== "lower" && i.raw !== null },
        },
      },
    },
    280,
    "Revenue forecast with its interval",
  );
  const fcNote = `${fc.total.note.charAt(0).toUpperCase()}${fc.total.note.slice(1)}.`;

  root.append(
    card("Revenue by tenant", byTenant),
    h(
      "div",
      { class: "grid-2" },
      card("Share of revenue (Pareto)", h("p", { class: "card-note" }, "Tenants by revenue; red bars are major customers (≥ 10%). The line is the cumulative share."), pareto),
      card("Concentration trend (HHI)", h("p", { class: "card-note" }, "Herfindahl–Hirschman Index on revenue shares, with the 2023 US merger-guideline bands at 1,000 and 1,800."), hhiTrend),
    ),
    h("div", { class: "grid-1-2" }, card("Concentration in the period", measures(conc)), whatIfPanel(conc, q)),
    card("Forecast", h("p", { class: "card-note" }, fcNote), forecast),
    h(
      "div",
      { class: "grid-2" },
      card(
        "By model",
        table(
          [
            { label: "Model", cell: (m) => h("code", null, m.name) },
            { label: "Revenue", cell: (m) => f.money(m.revenue), num: true },
            { label: "Share", cell: (m) => f.pct(m.share), num: true },
            { label: "Tokens", cell: (m) => f.compact(m.tokens), num: true },
            { label: "Requests", cell: (m) => f.int(m.requests), num: true },
          ],
          rev.models,
        ),
      ),
      card(
        "By plan",
        table(
          [
            { label: "Plan", cell: (p) => (p.name ? PLAN_LABEL[p.name] ?? p.name : h("span", { title: "No plan set: rated at list price" }, "Pay as you go (default)")) },
            { label: "Revenue", cell: (p) => f.money(p.revenue), num: true },
            { label: "Share", cell: (p) => f.pct(p.share), num: true },
            { label: "Tokens", cell: (p) => f.compact(p.tokens), num: true },
          ],
          rev.plans,
        ),
      ),
    ),
    card(
      "Tenants",
      table(
        [
          { label: "#", cell: (t) => String(conc.tenants.indexOf(t) + 1), num: true },
          { label: "Tenant", cell: (t) => h("a", { href: `#/tenants/${encodeURIComponent(t.name)}` }, t.name) },
          { label: "Revenue", cell: (t) => f.money(t.revenue), num: true },
          { label: "Share", cell: (t) => f.pct(t.share), num: true },
          { label: "", cell: (t) => (t.major ? chip("major", "warn") : "") },
        ],
        conc.tenants,
        { testid: "concentration-tenants" },
      ),
    ),
  );
}
