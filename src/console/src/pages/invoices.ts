// Invoices by month: drafts computed live from the ledger and plans, closed ones exactly as they
// were closed. Exports go through fetch (the admin key is a header, so a bare link could not carry
// it) and are handed to the browser as a download.
import { ApiError, type Invoice, type InvoiceSummary, type List, getText, get } from "../api";
import { card, chip, clear, h, table } from "../dom";
import * as f from "../format";
import { icon } from "../icons";
import type { PageCtx } from "../main";

let month = "";

function download(name: string, text: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h("a", { href: url, download: name });
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function exportButton(label: string, path: string, query: Record<string, string>, file: string, testid: string): HTMLElement {
  const b = h("button", { class: "btn btn-sm", type: "button", "data-testid": testid }, icon("download"), label);
  b.addEventListener("click", async () => {
    try {
      const { text, type } = await getText(path, query);
      download(file, text, type);
    } catch (e) {
      b.title = e instanceof ApiError ? e.message : String(e);
    }
  });
  return b;
}

function statusChip(s: string): HTMLElement {
  return chip(s, s === "closed" ? "good" : "muted");
}

async function showInvoice(box: HTMLElement, s: InvoiceSummary): Promise<void> {
  const path = `/invoices/${encodeURIComponent(s.tenant)}/${s.month}`;
  const inv = await get<Invoice>(path);
  const base = `invoice-${s.tenant}-${s.month}`;
  clear(box);
  box.append(
    card(
      `Invoice · ${inv.tenant} · ${f.monthLabel(inv.month)}`,
      h(
        "div",
        { class: "toolbar" },
        statusChip(inv.status),
        h("span", { class: "muted" }, inv.closed_at ? `closed ${inv.closed_at}` : `draft, ${f.int(inv.requests)} requests${inv.open_records ? `, ${inv.open_records} still open` : ""}`),
        h("div", { class: "spacer" }),
        exportButton("JSON", path, { format: "json" }, `${base}.json`, "export-json"),
        exportButton("CSV", path, { format: "csv" }, `${base}.csv`, "export-csv"),
      ),
      table(
        [
          { label: "Line", cell: (l) => l.description },
          { label: "Model", cell: (l) => (l.model ? h("code", null, l.model) : "") },
          { label: "Quantity", cell: (l) => f.int(l.quantity), num: true },
          { label: "Unit price", cell: (l) => (l.kind === "usage" ? `${f.moneyExact(l.unit_price_micros)} / 1M` : ""), num: true },
          { label: "Amount", cell: (l) => f.moneyExact(l.amount_micros), num: true },
        ],
        inv.lines,
        { empty: "No lines: nothing was used or owed this month.", testid: "invoice-lines" },
      ),
      h(
        "dl",
        { class: "facts totals" },
        [
          ["Usage", inv.usage_micros],
          ["Fees", inv.fees_micros],
          ["True-up", inv.true_up_micros],
          ["Discount", -inv.discount_micros || 0],
          ["Credits", -inv.credits_micros || 0],
        ].map(([k, v]) => [h("dt", null, String(k)), h("dd", null, f.moneyExact(Number(v)))]),
        h("dt", { class: "total" }, "Total"),
        h("dd", { class: "total", "data-testid": "invoice-total" }, f.moneyExact(inv.total_micros)),
      ),
    ),
  );
}

export async function invoicesPage({ root, refresh }: PageCtx): Promise<void> {
  const list = await get<List<InvoiceSummary> & { month: string; currency: string; months: string[] }>("/invoices", { month: month || null });
  f.setCurrency(list.currency);
  month = list.month;

  const picker = h("input", { type: "month", value: month, "aria-label": "Month", "data-testid": "invoice-month" });
  picker.addEventListener("change", () => {
    month = picker.value;
    refresh();
  });
  const recent = list.months.slice(-6).map((m) =>
    h("button", { class: `btn btn-sm ${m === month ? "btn-primary" : "btn-ghost"}`, type: "button", onclick: () => ((month = m), refresh()) }, f.monthLabel(m)),
  );
  const detail = h("div", { id: "invoice-detail" });
  const total = list.data.reduce((s, i) => s + i.total_micros, 0);
  // largest first: what finance reads down
  list.data.sort((a, b) => b.total_micros - a.total_micros || (a.tenant < b.tenant ? -1 : 1));

  root.append(
    h("div", { class: "toolbar" }, h("label", { class: "inline" }, "Month ", picker), ...recent, h("div", { class: "spacer" }), exportButton("All as CSV", "/invoices", { month, format: "csv" }, `invoices-${month}.csv`, "export-all-csv")),
    card(
      `Invoices for ${f.monthLabel(month)}`,
      table(
        [
          { label: "Tenant", cell: (i) => h("span", { class: "strong" }, i.tenant) },
          { label: "Status", cell: (i) => statusChip(i.status) },
          { label: "Requests", cell: (i) => f.int(i.requests), num: true },
          { label: "Usage", cell: (i) => f.money(i.usage_micros), num: true },
          { label: "Fees", cell: (i) => f.money(i.fees_micros + i.true_up_micros), num: true, title: "Plan fees and commitment true-up" },
          { label: "Discounts & credits", cell: (i) => f.money(-(i.discount_micros + i.credits_micros) || 0), num: true },
          { label: "Total", cell: (i) => h("strong", null, f.money(i.total_micros)), num: true },
        ],
        list.data,
        { empty: "No invoices for this month.", testid: "invoices-table", onRow: (i) => void showInvoice(detail, i).catch((e) => detail.replaceChildren(h("div", { class: "form-error" }, String((e as Error).message)))) },
      ),
      h("div", { class: "table-foot" }, h("span", null, `${list.data.length} invoices`), h("strong", null, `Total ${f.money(total)}`)),
    ),
    detail,
  );
}

