// The web console in a real browser (Debian's chromium through playwright-core), against a running
// `cirrus serve --db` that tests/cli/console_browser.sh seeded. Checks that the admin API refuses
// tenant keys (403) and missing keys (401), that every page renders with the seeded data, that a
// tenant created in the UI appears in the list, and that the charts show the seeded tenants (read
// from the chart instances, not from pixels). Writes a screenshot of each page to $ARTIFACTS.
//
// Env: CONSOLE_BASE (http://127.0.0.1:PORT), ADMIN_KEY, TENANT_KEY, ARTIFACTS, CHROMIUM.
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const BASE = process.env.CONSOLE_BASE;
const ADMIN = process.env.ADMIN_KEY;
const TENANT = process.env.TENANT_KEY;
const OUT = process.env.ARTIFACTS;
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
if (!BASE || !ADMIN || !TENANT || !OUT) {
  console.error("run.mjs: CONSOLE_BASE, ADMIN_KEY, TENANT_KEY and ARTIFACTS are required");
  process.exit(2);
}
mkdirSync(OUT, { recursive: true });

let passed = 0;
let failed = 0;
function check(what, ok, detail = "") {
  if (ok) passed++;
  else {
    failed++;
    console.log(`FAIL: ${what}${detail ? ` — ${detail}` : ""}`);
  }
}

// ---- the admin API's refusals, as OpenAI error objects ------------------------------------------
async function api(path, key) {
  const res = await fetch(`${BASE}${path}`, { headers: key ? { Authorization: `Bearer ${key}` } : {} });
  let body = null;
  try {
    body = await res.json();
  } catch {
    /* not JSON */
  }
  return { status: res.status, body };
}
const isOpenAIError = (b) => b && b.error && typeof b.error.message === "string" && "type" in b.error && "code" in b.error && "param" in b.error;

for (const path of ["/v1/admin/tenants", "/v1/admin/reports/revenue", "/v1/admin/reports/concentration", "/v1/admin/reports/forecast", "/v1/admin/reports/alerts", "/v1/admin/invoices"]) {
  const none = await api(path, null);
  check(`${path} without a key is 401`, none.status === 401 && isOpenAIError(none.body), `got ${none.status}`);
  const bad = await api(path, "sk-cirrus-000000000000-notakeynotakeynotakeynotakeynotakeynotakey");
  check(`${path} with an unknown key is 401`, bad.status === 401 && isOpenAIError(bad.body), `got ${bad.status}`);
  const tenant = await api(path, TENANT);
  check(`${path} with a tenant key is 403`, tenant.status === 403 && isOpenAIError(tenant.body), `got ${tenant.status}`);
  const admin = await api(path, ADMIN);
  check(`${path} with the admin key is 200`, admin.status === 200, `got ${admin.status} ${JSON.stringify(admin.body)?.slice(0, 200)}`);
}
const conc = (await api("/v1/admin/reports/concentration", ADMIN)).body;
check("concentration report names vidstream a major customer", conc?.major_customers?.includes("vidstream"), JSON.stringify(conc?.major_customers));
check("concentration report classifies the HHI", typeof conc?.hhi === "number" && /concentrated/.test(conc?.hhi_band ?? ""));
const own = await api("/v1/admin/usage", TENANT);
check("a tenant key reads its own usage", own.status === 200 && own.body?.tenant === "shopmart", `got ${own.status}`);
const other = await api("/v1/admin/usage?tenant=vidstream", TENANT);
check("a tenant key may not read another tenant's usage (403)", other.status === 403 && isOpenAIError(other.body), `got ${other.status}`);

// ---- the browser ----------------------------------------------------------------------------------
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  // playwright gives each launch a fresh temporary profile (--user-data-dir) of its own
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const page = await browser.newPage({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1 });
const problems = [];
page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
page.on("console", (m) => {
  // a refused sign-in logs the 401/403 it got: expected; anything else is a bug (CSP included)
  if (m.type() === "error" && !/status of 40[13]/.test(m.text())) problems.push(`console: ${m.text()}`);
});
page.setDefaultTimeout(10000);

async function shot(name) {
  await page.evaluate(() => window.scrollTo(0, 0)); // sticky header and nav where a reader sees them
  await page.screenshot({ path: join(OUT, `${name}.png`), fullPage: true });
}
const charts = () => page.evaluate(() => window.cirrusCharts());
async function open(hash, name) {
  await page.evaluate((h) => (location.hash = h), hash);
  await page.waitForSelector(`[data-page="${name}"][data-ready="1"]`);
  // every chart on the page drawn
  await page.waitForFunction(() => [...document.querySelectorAll("[data-chart]")].every((c) => c.dataset.ready === "1"));
}
async function step(what, fn) {
  try {
    await fn();
  } catch (e) {
    check(what, false, e.message.split("\n")[0]);
    await shot(`failed-${what.replace(/[^a-z0-9]+/gi, "-")}`).catch(() => {});
  }
}

await step("sign-in", async () => {
  await page.goto(`${BASE}/console/`);
  await page.waitForSelector("[data-testid=signin]");
  await shot("signin");
  await page.fill("[data-testid=signin-key]", TENANT);
  await page.click("[data-testid=signin-submit]");
  await page.waitForFunction(() => document.querySelector("[data-testid=signin-error]")?.textContent?.includes("admin-scope"));
  check("sign-in refuses a tenant key", true);
  await page.fill("[data-testid=signin-key]", ADMIN);
  await page.click("[data-testid=signin-submit]");
  await page.waitForSelector('[data-page="overview"][data-ready="1"]');
  check("sign-in with the admin key opens the overview", true);
});

await step("overview", async () => {
  await open("#/overview", "overview");
  const kpis = await page.$$eval(".kpi-value", (els) => els.map((e) => e.textContent));
  check("overview shows its six figures", kpis.length === 6 && kpis.every((t) => t && t !== "—"), JSON.stringify(kpis));
  const hhiBand = await page.textContent("[data-testid=kpi-hhi] .chip");
  check("overview classifies the HHI", /concentrated/.test(hhiBand ?? ""), hhiBand);
  const c = (await charts()).find((x) => x.id === "overview-revenue");
  const labels = c?.datasets.map((d) => d.label) ?? [];
  check("the revenue chart stacks the seeded tenants", ["vidstream", "shopmart", "taxwise", "codepilot", "regional-ai"].every((t) => labels.includes(t)), JSON.stringify(labels));
  check("the revenue chart has a bar per month", (c?.labels.length ?? 0) >= 6 && c.datasets[0].data.some((v) => v > 0));
  const majors = await page.textContent("[data-testid=major-customers]");
  check("overview lists vidstream as a major customer", majors?.includes("vidstream"));
  await shot("overview");
});

const created = `ui-tenant-${Date.now().toString(36)}`;
await step("tenants", async () => {
  await open("#/tenants", "tenants");
  const rows = await page.$$eval("[data-testid=tenants-table] tbody tr", (trs) => trs.map((tr) => tr.textContent));
  check("the tenant list shows every seeded tenant", rows.length >= 14 && rows[0].includes("vidstream"), `${rows.length} rows, first ${rows[0]}`);
  await page.click("[data-testid=new-tenant]");
  await page.fill("[data-testid=create-tenant] input[name=name]", created);
  await page.fill("[data-testid=create-tenant] input[name=industry]", "Logistics");
  await page.fill("[data-testid=create-tenant] input[name=region]", "EU");
  await page.click("[data-testid=create-tenant-submit]");
  const key = (await page.waitForSelector("[data-testid=new-key]")).textContent();
  const newKey = await key;
  check("creating a tenant shows its key once", /^sk-cirrus-[0-9a-f]{12}-/.test(newKey ?? ""), newKey);
  await page.waitForFunction((n) => document.querySelector("[data-testid=tenants-table]")?.textContent?.includes(n), created);
  check("a tenant created in the UI appears in the list", true);
  const listed = (await api("/v1/admin/tenants", ADMIN)).body?.data?.some((t) => t.name === created && t.industry === "Logistics");
  check("the created tenant is in the store", listed);
  const mine = await api("/v1/admin/usage", newKey);
  check("the key shown works (its tenant's usage)", mine.status === 200 && mine.body?.tenant === created, `got ${mine.status}`);
  await shot("tenants");
});

await step("tenant detail", async () => {
  await open("#/tenants/vidstream", "tenant");
  const c = (await charts()).find((x) => x.id === "tenant-monthly");
  check("the tenant's monthly chart has its revenue", c?.datasets[0].data.filter((v) => v > 0).length >= 6, JSON.stringify(c?.datasets[0].data));
  const daily = (await charts()).find((x) => x.id === "tenant-daily");
  check("the tenant's daily chart has days", (daily?.labels.length ?? 0) >= 6);
  const plan = await page.textContent(".facts");
  check("the tenant page shows its plan", /Committed spend/.test(plan ?? ""), plan);
  const keys = await page.$$eval("[data-testid=keys-table] tbody tr", (trs) => trs.map((t) => t.textContent));
  check("the tenant page lists its keys by prefix only", keys.length >= 1 && keys.every((k) => /[0-9a-f]{12}…/.test(k) && !k.includes("sk-cirrus-")), JSON.stringify(keys));
  await shot("tenant");
});

await step("revenue", async () => {
  await open("#/revenue", "revenue");
  const all = await charts();
  const byTenant = all.find((x) => x.id === "revenue-by-tenant");
  check("revenue by tenant shows the seeded tenants", byTenant?.datasets.some((d) => d.label === "vidstream") && byTenant.datasets.some((d) => d.label === "shopmart"));
  const pareto = all.find((x) => x.id === "pareto");
  check("the Pareto chart ranks vidstream first", pareto?.labels[0] === "vidstream" && pareto.labels.includes("tail-01"), JSON.stringify(pareto?.labels));
  const cum = pareto?.datasets.find((d) => d.label === "Cumulative share")?.data ?? [];
  check("the Pareto line ends at 100%", Math.abs((cum[cum.length - 1] ?? 0) - 100) < 0.01, String(cum[cum.length - 1]));
  const hhi = all.find((x) => x.id === "hhi-trend");
  check("the HHI trend has a point per month", (hhi?.datasets[0].data.length ?? 0) >= 6 && hhi.datasets[0].data.every((v) => v > 0));
  check("the forecast chart is drawn", (all.find((x) => x.id === "forecast")?.labels.length ?? 0) >= 7);
  await page.waitForSelector("[data-testid=whatif-hhi-after]");
  const before = await page.textContent("[data-testid=whatif-hhi-after]");
  await page.fill("[data-testid=whatif-cut]", "50");
  await page.dispatchEvent("[data-testid=whatif-cut]", "input");
  await page.waitForFunction((b) => document.querySelector("[data-testid=whatif-hhi-after]")?.textContent !== b, before);
  check("the what-if answers a 50% cut", true);
  await page.fill("[data-testid=whatif-cut]", "100");
  await page.dispatchEvent("[data-testid=whatif-cut]", "input");
  await page.waitForFunction((b) => document.querySelector("[data-testid=whatif-hhi-after]")?.textContent === b, before);
  await shot("revenue");
});

await step("invoices", async () => {
  await open("#/invoices", "invoices");
  const rows = await page.$$("[data-testid=invoices-table] tbody tr.clickable");
  check("invoices are listed for the month", rows.length >= 10, `${rows.length} rows`);
  await page.click("[data-testid=invoices-table] tbody tr.clickable >> nth=0");
  await page.waitForSelector("[data-testid=invoice-lines] tbody tr");
  const total = await page.textContent("[data-testid=invoice-total]");
  check("an invoice shows its lines and total", /\$[\d,]+\.\d{2}/.test(total ?? ""), total);
  for (const [id, head] of [["export-csv", "tenant,month,status,kind"], ["export-json", "{"]]) {
    const [download] = await Promise.all([page.waitForEvent("download"), page.click(`[data-testid=${id}]`)]);
    mkdirSync(join(OUT, "downloads"), { recursive: true });
    const path = join(OUT, "downloads", download.suggestedFilename());
    await download.saveAs(path);
    const text = readFileSync(path, "utf8");
    check(`the invoice's ${id} button downloads it`, text.startsWith(head) && /^invoice-.*\.(csv|json)$/.test(download.suggestedFilename()), `${download.suggestedFilename()}: ${text.slice(0, 40)}`);
  }
  await shot("invoices");
});

await step("alerts", async () => {
  await open("#/alerts", "alerts");
  const kinds = await page.$$eval("[data-testid=alerts-by-month] li.alert", (els) => els.map((e) => `${e.dataset.kind}:${e.textContent}`));
  check("alerts flag vidstream's revenue drop", kinds.some((k) => k.startsWith("revenue_drop:") && k.includes("vidstream")), JSON.stringify(kinds).slice(0, 300));
  check("alerts flag the HHI band change", kinds.some((k) => k.startsWith("hhi_band:")));
  await shot("alerts");
});

await step("protection", async () => {
  await open("#/protection", "protection");
  const rows = await page.$$eval("[data-testid=risk-table] tbody tr", (trs) => trs.map((t) => t.textContent));
  check("the protection page scores the tenant that sent traffic", rows.some((r) => r.includes("shopmart")), JSON.stringify(rows));
  await page.selectOption("[data-testid=policy-shopmart]", "flag");
  await page.waitForSelector('[data-testid=policy-shopmart][data-saved="flag"]');
  const risk = (await api("/v1/admin/risk", ADMIN)).body;
  check("a policy set in the console holds on the server", risk?.tenants?.find((t) => t.tenant === "shopmart")?.policy === "flag");
  await page.selectOption("[data-testid=policy-shopmart]", "none");
  await page.waitForSelector('[data-testid=policy-shopmart][data-saved="none"]');
  await page.fill("[data-testid=detect-text]", process.env.SAMPLE_TEXT || "Once upon a time there was a little girl named Lily.");
  await page.click("[data-testid=detect-submit]");
  await page.waitForFunction(() => /z = -?\d/.test(document.querySelector("[data-testid=detect-result]")?.textContent ?? ""));
  check("the watermark check answers with a z-score", true);
  await shot("protection");
});

await step("sign-out", async () => {
  await page.click("[data-testid=signout]");
  await page.waitForSelector("[data-testid=signin]");
  const kept = await page.evaluate(() => sessionStorage.getItem("cirrus.adminKey"));
  check("signing out forgets the key", kept === null);
});

check("no page errors or console errors (CSP included)", problems.length === 0, problems.slice(0, 5).join(" | "));
await browser.close();
console.log(`console browser: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
