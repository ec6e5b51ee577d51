// The reporting period every report page shares, as inclusive months ("YYYY-MM"); null ends mean
// "from the first month with data" / "to the last". Kept per tab, like the key.
export interface Period {
  from: string | null;
  to: string | null;
}

const STORE = "cirrus.period";
const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;

export function getPeriod(): Period {
  try {
    const p = JSON.parse(sessionStorage.getItem(STORE) ?? "{}") as Partial<Period>;
    return { from: p.from && MONTH.test(p.from) ? p.from : null, to: p.to && MONTH.test(p.to) ? p.to : null };
  } catch {
    return { from: null, to: null };
  }
}

export function setPeriod(p: Period): void {
  // a reversed range is almost always a slip of the picker: swap rather than show nothing
  if (p.from && p.to && p.from > p.to) p = { from: p.to, to: p.from };
  sessionStorage.setItem(STORE, JSON.stringify(p));
}

/** Query parameters for the report endpoints. */
export function periodQuery(p: Period): Record<string, string | null> {
  return { from: p.from, to: p.to };
}

export function describe(p: Period): string {
  if (!p.from && !p.to) return "all data";
  if (p.from === p.to) return p.from ?? "";
  return `${p.from ?? "start"} to ${p.to ?? "latest"}`;
}

/**
 * Shows the months a report actually covered in the pickers left open ("All data"), greyed, so
 * the reader sees the span without having chosen it.
 */
export function showResolved(from: string, to: string): void {
  const p = getPeriod();
  const set = (id: string, value: string, open: boolean) => {
    const el = document.querySelector<HTMLInputElement>(`[data-testid=${id}]`);
    if (el && open && value) {
      el.value = value.slice(0, 7);
      el.classList.add("auto");
    }
  };
  set("period-from", from, !p.from);
  set("period-to", to, !p.to);
}
