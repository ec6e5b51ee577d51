// A tiny hyperscript helper. The console is a handful of pages redrawn whole on navigation, so a
// framework's diffing would buy nothing; text always goes through textContent (never innerHTML),
// which keeps tenant names and server messages from ever becoming markup.

type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs?: Attrs | null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith("on") && typeof v === "function") {
        el.addEventListener(k.slice(2).toLowerCase(), v);
      } else if (k === "class") {
        el.className = String(v);
      } else if (v === true) {
        el.setAttribute(k, "");
      } else {
        el.setAttribute(k, String(v));
      }
    }
  }
  append(el, children);
  return el;
}

export function append(parent: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(parent, c);
    else parent.appendChild(typeof c === "object" ? c : document.createTextNode(String(c)));
  }
}

export function clear(el: Element): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

/** A table from column definitions; `key` cells are right-aligned when numeric. */
export interface Column<T> {
  label: string;
  cell: (row: T) => Child;
  num?: boolean;
  title?: string;
}

export function table<T>(cols: Column<T>[], rows: T[], opts: { empty?: string; testid?: string; onRow?: (row: T) => void } = {}): HTMLElement {
  const head = h("tr", null, cols.map((c) => h("th", { class: c.num ? "num" : null, title: c.title ?? null }, c.label)));
  const body = rows.map((r) => {
    const tr = h("tr", { class: opts.onRow ? "clickable" : null }, cols.map((c) => h("td", { class: c.num ? "num" : null }, c.cell(r))));
    if (opts.onRow) {
      const on = opts.onRow;
      tr.addEventListener("click", (ev) => {
        // a link or button inside the row does its own thing
        if ((ev.target as Element).closest("a,button")) return;
        on(r);
      });
    }
    return tr;
  });
  if (rows.length === 0) body.push(h("tr", null, h("td", { colspan: cols.length, class: "empty" }, opts.empty ?? "No data for this period.")));
  return h("div", { class: "table-wrap" }, h("table", { "data-testid": opts.testid ?? null }, h("thead", null, head), h("tbody", null, body)));
}

export function card(title: string, ...children: Child[]): HTMLElement {
  return h("section", { class: "card" }, h("h2", null, title), ...children);
}

export function kpi(label: string, value: string, sub?: Child, testid?: string): HTMLElement {
  return h(
    "div",
    { class: "kpi", "data-testid": testid ?? null },
    h("div", { class: "kpi-label" }, label),
    h("div", { class: "kpi-value" }, value),
    sub ? h("div", { class: "kpi-sub" }, sub) : null,
  );
}

export function chip(text: string, kind: string): HTMLElement {
  return h("span", { class: `chip chip-${kind}` }, text);
}

export function spinner(): HTMLElement {
  return h("div", { class: "loading", role: "status" }, "Loading…");
}

export function errorBox(msg: string): HTMLElement {
  return h("div", { class: "error-box", role: "alert" }, msg);
}
