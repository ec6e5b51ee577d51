// Display formatting. Money arrives as integer micro-units (billing never uses floating point);
// it is divided only here, for display, so no total shown is ever summed from rounded values.

let currency = "USD";
export function setCurrency(c: string | undefined): void {
  if (c && /^[A-Z]{3}$/.test(c)) currency = c;
}

const moneyFmt = new Map<string, Intl.NumberFormat>();
function fmtFor(key: string, opts: Intl.NumberFormatOptions): Intl.NumberFormat {
  let f = moneyFmt.get(key);
  if (!f) {
    f = new Intl.NumberFormat("en-US", opts);
    moneyFmt.set(key, f);
  }
  return f;
}

/** $1,234.56 */
export function money(micros: number): string {
  return fmtFor(`m:${currency}`, { style: "currency", currency, minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(micros / 1e6);
}

/** $1,234,567 — headline figures, where cents are noise */
export function moneyWhole(micros: number): string {
  return fmtFor(`w:${currency}`, { style: "currency", currency, maximumFractionDigits: 0 }).format(micros / 1e6);
}

/** Exact to the micro-unit, for invoice lines: $0.000123 */
export function moneyExact(micros: number): string {
  return fmtFor(`x:${currency}`, { style: "currency", currency, minimumFractionDigits: 2, maximumFractionDigits: 6 }).format(micros / 1e6);
}

/** $1.2M, for axes and KPI cards */
export function moneyShort(micros: number): string {
  return fmtFor(`s:${currency}`, { style: "currency", currency, notation: "compact", maximumFractionDigits: 1 }).format(micros / 1e6);
}

export function int(n: number): string {
  return fmtFor("int", { maximumFractionDigits: 0 }).format(n);
}

export function compact(n: number): string {
  return fmtFor("compact", { notation: "compact", maximumFractionDigits: 1 }).format(n);
}

/** A share in [0,1] as "23.45%"; null (undefined share, zero total) as an em dash. */
export function pct(share: number | null | undefined, digits = 2): string {
  if (share === null || share === undefined || !Number.isFinite(share)) return "—";
  return `${(share * 100).toFixed(digits)}%`;
}

/** Growth as "+12.3%" / "−4.0%"; null when undefined (growth from zero). */
export function growth(g: number | null | undefined): string {
  if (g === null || g === undefined || !Number.isFinite(g)) return "—";
  const s = (Math.abs(g) * 100).toFixed(1);
  return g >= 0 ? `+${s}%` : `−${s}%`;
}

export function hhi(v: number | null | undefined): string {
  if (v === null || v === undefined) return "—";
  return fmtFor("hhi", { maximumFractionDigits: 0 }).format(v);
}

export function date(unixS: number | null | undefined): string {
  if (!unixS) return "—";
  return new Date(unixS * 1000).toISOString().slice(0, 10);
}

export function dateTime(unixS: number | null | undefined): string {
  if (!unixS) return "—";
  return new Date(unixS * 1000).toISOString().slice(0, 16).replace("T", " ") + " UTC";
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
/** "2025-03" → "Mar 2025" */
export function monthLabel(m: string): string {
  const [y, mo] = m.split("-");
  const i = Number(mo) - 1;
  return i >= 0 && i < 12 ? `${MONTHS[i]} ${y}` : m;
}

export function bandKind(band: string | null | undefined): string {
  if (!band) return "muted";
  if (band.startsWith("highly")) return "bad";
  if (band.startsWith("moderately")) return "warn";
  if (band.startsWith("unconcentrated")) return "good";
  return "muted";
}
