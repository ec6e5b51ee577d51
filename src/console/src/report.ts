// Small readings of the report shapes that several pages share.
import type { Alert, DimRow, RevenueReport } from "./api";
import { monthLabel } from "./format";

export const monthKeys = (r: RevenueReport): string[] => r.months.map((m) => m.month);

/** The row's revenue for each month of the report (rows carry every month, zeros included). */
export const monthlyRevenue = (row: DimRow | undefined, r: RevenueReport): number[] =>
  row ? row.months.map((m) => m.revenue) : r.months.map(() => 0);

export const monthlyTokens = (row: DimRow | undefined, r: RevenueReport): number[] =>
  row ? row.months.map((m) => m.tokens) : r.months.map(() => 0);

/** The calendar month now (UTC), "YYYY-MM": its figures are to date, not a whole month. */
export const currentMonth = (): string => new Date().toISOString().slice(0, 7);
export const inProgress = (month: string): boolean => month === currentMonth();

/** "Nov 2026", or "Nov 2026 (to date)" for the month in progress. */
export const monthTitle = (m: string): string => (inProgress(m) ? `${monthLabel(m)} (to date)` : monthLabel(m));

/**
 * Month-over-month growth of the period's last *complete* month; null when undefined (growth from
 * zero). A month in progress against a whole month always looks like a collapse, so it is skipped.
 */
export function lastGrowth(row: DimRow | undefined): number | null {
  if (!row) return null;
  const ms = row.months.filter((m) => !inProgress(m.month));
  return ms.length ? ms[ms.length - 1].growth : null;
}

export type Severity = "critical" | "warning" | "info";

/**
 * How loudly to show an alert. The analytics rules decide whether an alert fires; this only ranks
 * them for people: losing revenue or moving into the highly concentrated band is critical, a
 * share over the threshold or a usage drop is a warning, a soft budget reached is information.
 */
const BAND_RANK: Record<string, number> = { unconcentrated: 0, "moderately concentrated": 1, "highly concentrated": 2 };

export function severity(a: Alert): Severity {
  // a drop measured on a month that is not over yet is expected, not news
  if ((a.kind === "revenue_drop" || a.kind === "tokens_drop") && inProgress(a.month)) return "info";
  switch (a.kind) {
    case "revenue_drop":
      return "critical";
    case "hhi_band": {
      const up = (BAND_RANK[a.band ?? ""] ?? 0) > (BAND_RANK[a.previous_band ?? ""] ?? 0);
      if (!up) return "info"; // less concentrated: good news
      return a.band?.startsWith("highly") ? "critical" : "warning";
    }
    case "share":
    case "tokens_drop":
      return "warning";
    default:
      return "info";
  }
}
