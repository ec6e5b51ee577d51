// The console's shell: sign-in gate, navigation, the reporting period, and a hash router.
// Hash routes (#/tenants/acme) keep every page at /console/ on the server, so cirrus serves one
// index.html and never needs to know the console's page names.
import "./style.css";
import { ApiError, clearKey, getKey, setUnauthorizedHandler } from "./api";
import { destroyCharts } from "./charts";
import { clear, errorBox, h, spinner } from "./dom";
import { icon } from "./icons";
import { type Period, getPeriod, setPeriod } from "./period";
import { alertsPage } from "./pages/alerts";
import { invoicesPage } from "./pages/invoices";
import { overviewPage } from "./pages/overview";
import { protectionPage } from "./pages/protection";
import { revenuePage } from "./pages/revenue";
import { signInPage } from "./pages/signin";
import { tenantPage } from "./pages/tenant";
import { tenantsPage } from "./pages/tenants";

export interface PageCtx {
  root: HTMLElement;
  params: string[];
  period: Period;
  /** Re-renders the current route (after a change the page made). */
  refresh: () => void;
}
type Page = (ctx: PageCtx) => Promise<void>;

interface Route {
  path: string;
  title: string;
  icon: string;
  page: Page;
  nav: boolean;
  periodic: boolean; // shows the period picker
}

const routes: Route[] = [
  { path: "overview", title: "Overview", icon: "grid", page: overviewPage, nav: true, periodic: true },
  { path: "tenants", title: "Tenants", icon: "users", page: tenantsPage, nav: true, periodic: true },
  { path: "tenant", title: "Tenant", icon: "users", page: tenantPage, nav: false, periodic: true },
  { path: "revenue", title: "Revenue & concentration", icon: "chart", page: revenuePage, nav: true, periodic: true },
  { path: "invoices", title: "Invoices", icon: "doc", page: invoicesPage, nav: true, periodic: false },
  { path: "alerts", title: "Alerts", icon: "bell", page: alertsPage, nav: true, periodic: true },
  { path: "protection", title: "Protection", icon: "shield", page: protectionPage, nav: true, periodic: false },
];

const app = document.getElementById("app") as HTMLElement;
let signInMessage = "";

setUnauthorizedHandler((msg) => {
  clearKey();
  signInMessage = msg;
  location.hash = "#/signin";
});

function parseHash(): { route: Route | null; params: string[] } {
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  const name = parts[0] ?? "overview";
  // #/tenants/NAME is the tenant detail page
  if (name === "tenants" && parts.length > 1) return { route: routes.find((r) => r.path === "tenant") ?? null, params: parts.slice(1) };
  return { route: routes.find((r) => r.path === name) ?? null, params: parts.slice(1) };
}

function periodPicker(onChange: () => void): HTMLElement {
  const p = getPeriod();
  const from = h("input", { type: "month", value: p.from ?? "", "aria-label": "From month", "data-testid": "period-from" });
  const to = h("input", { type: "month", value: p.to ?? "", "aria-label": "To month", "data-testid": "period-to" });
  const apply = () => {
    setPeriod({ from: from.value || null, to: to.value || null });
    onChange();
  };
  from.addEventListener("change", apply);
  to.addEventListener("change", apply);
  const all = h("button", { class: "btn btn-ghost btn-sm", type: "button", title: "Every month with data" }, "All data");
  all.addEventListener("click", () => {
    from.value = "";
    to.value = "";
    apply();
  });
  return h("div", { class: "period" }, h("span", { class: "period-label" }, "Period"), from, h("span", { class: "muted" }, "–"), to, all);
}

function shell(route: Route, render: () => void): HTMLElement {
  const nav = h(
    "nav",
    { class: "nav", "aria-label": "Main" },
    h("div", { class: "brand" }, icon("cloud"), h("span", null, "cirrus"), h("small", null, "console")),
    h(
      "ul",
      null,
      routes
        .filter((r) => r.nav)
        .map((r) => {
          const active = r === route || (route.path === "tenant" && r.path === "tenants");
          return h("li", null, h("a", { href: `#/${r.path}`, class: active ? "active" : null, "aria-current": active ? "page" : null }, icon(r.icon), r.title));
        }),
    ),
    h(
      "button",
      {
        class: "nav-signout",
        type: "button",
        "data-testid": "signout",
        onclick: () => {
          clearKey();
          location.hash = "#/signin";
        },
      },
      icon("exit"),
      "Sign out",
    ),
  );
  const content = h("div", { class: "content", id: "content" });
  const top = h("header", { class: "topbar" }, h("h1", { id: "page-title" }, route.title), route.periodic ? periodPicker(render) : null);
  return h("div", { class: "shell" }, nav, h("main", { class: "main" }, top, content));
}

let generation = 0;

async function render(): Promise<void> {
  const gen = ++generation;
  destroyCharts();
  const { route, params } = parseHash();
  if (!getKey() || location.hash === "#/signin") {
    clear(app);
    app.appendChild(
      signInPage(signInMessage, () => {
        signInMessage = "";
        // go where the reader was headed (or the overview); re-render if the hash is already there
        const next = location.hash && location.hash !== "#/signin" ? location.hash : "#/overview";
        if (location.hash === next) void render();
        else location.hash = next;
      }),
    );
    return;
  }
  if (!route) {
    location.hash = "#/overview";
    return;
  }
  clear(app);
  const rerender = () => void render();
  app.appendChild(shell(route, rerender));
  const root = document.getElementById("content") as HTMLElement;
  root.appendChild(spinner());
  document.title = `${route.title} · cirrus console`;
  const page = h("div", { class: "page", "data-page": route.path });
  try {
    await route.page({ root: page, params, period: getPeriod(), refresh: rerender });
    if (gen !== generation) return; // the user navigated on while this page loaded
    clear(root);
    root.appendChild(page);
    page.dataset.ready = "1";
  } catch (e) {
    if (gen !== generation) return;
    clear(root);
    if (e instanceof ApiError && e.status === 401) return; // the handler has gone to sign-in
    const msg = e instanceof ApiError && e.status === 403 ? `This key may not use the console: ${e.message}` : `Could not load this page: ${(e as Error).message}`;
    root.appendChild(errorBox(msg));
  }
}

window.addEventListener("hashchange", () => void render());
void render();
