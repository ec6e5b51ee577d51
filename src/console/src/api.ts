// The admin API client and the shapes it returns (documented server-side in src/api/api_admin.c).
// The admin key lives in sessionStorage: it survives a reload but not closing the tab, and is sent
// only as a Bearer header to this origin, never in a URL where logs and history would keep it.

const KEY_STORE = "cirrus.adminKey";

export function getKey(): string | null {
  return sessionStorage.getItem(KEY_STORE);
}
export function setKey(k: string): void {
  sessionStorage.setItem(KEY_STORE, k);
}
export function clearKey(): void {
  sessionStorage.removeItem(KEY_STORE);
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: string | null,
  ) {
    super(message);
  }
}

/** Called on 401 so the app can return to sign-in. */
let onUnauthorized: (msg: string) => void = () => {};
export function setUnauthorizedHandler(fn: (msg: string) => void): void {
  onUnauthorized = fn;
}

type Query = Record<string, string | number | boolean | null | undefined>;

function url(path: string, q?: Query): string {
  const u = new URL(`/v1/admin${path}`, location.origin);
  for (const [k, v] of Object.entries(q ?? {})) if (v !== null && v !== undefined && v !== "") u.searchParams.set(k, String(v));
  return u.pathname + u.search;
}

async function call(method: string, path: string, q?: Query, body?: unknown, key = getKey()): Promise<Response> {
  const headers: Record<string, string> = {};
  if (key) headers.Authorization = `Bearer ${key}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(url(path, q), { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store" });
  if (!res.ok) {
    let msg = `${res.status} ${res.statusText}`;
    let code: string | null = null;
    try {
      const j = await res.json();
      if (j?.error?.message) msg = j.error.message;
      code = j?.error?.code ?? null;
    } catch {
      /* not JSON: keep the status line */
    }
    if (res.status === 401) onUnauthorized(msg);
    throw new ApiError(res.status, msg, code);
  }
  return res;
}

export async function get<T>(path: string, q?: Query): Promise<T> {
  return (await call("GET", path, q)).json() as Promise<T>;
}
export async function post<T>(path: string, body: unknown, q?: Query): Promise<T> {
  return (await call("POST", path, q, body)).json() as Promise<T>;
}
export async function getText(path: string, q?: Query): Promise<{ text: string; type: string }> {
  const r = await call("GET", path, q);
  return { text: await r.text(), type: r.headers.get("Content-Type") ?? "text/plain" };
}

/** The served models (the OpenAI-compatible list; an admin key may read it too). */
export async function models(): Promise<string[]> {
  const key = getKey();
  const res = await fetch("/v1/models", { headers: key ? { Authorization: `Bearer ${key}` } : {}, cache: "no-store" });
  if (!res.ok) return [];
  const j = (await res.json()) as { data?: { id: string }[] };
  return (j.data ?? []).map((m) => m.id);
}

/** Checks a key before keeping it: 401 bad key, 403 not admin scope. */
export async function probe(key: string): Promise<void> {
  await call("GET", "/tenants", { limit: 1 }, undefined, key);
}

// ---- shapes ------------------------------------------------------------------------------------

export type PlanKind = "payg" | "committed" | "reserved";

export interface Plan {
  kind: PlanKind;
  effective_from: number;
  fee: number;
  commit_min: number;
  discount_bp: number;
  reserved_tpm: number;
  priority: number;
  rpm: number;
  tpm: number;
  max_concurrent: number;
  max_tokens: number;
  budget_hard: number;
  budget_soft: number;
  models: string[] | null; // null: every model
}

export interface Tenant {
  id: number;
  name: string;
  industry: string;
  region: string;
  status: "active" | "suspended";
  created_at: number;
  metadata: Record<string, unknown>;
  plan: Plan | null;
  keys_live: number;
}

export interface Key {
  prefix: string;
  scope: "inference" | "admin";
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  status: "live" | "revoked" | "expired";
}

export interface TenantDetail extends Tenant {
  plans: Plan[];
  keys: Key[];
}

export interface NewKey extends Key {
  key: string;
  tenant: string;
}

export interface List<T> {
  object: "list";
  data: T[];
}

export interface UsageRow {
  tenant?: string;
  model?: string;
  day?: string;
  requests: number;
  prompt_tokens: number;
  cached_tokens: number;
  completion_tokens: number;
  cost: number;
}
export interface UsageReport extends List<UsageRow> {
  totals: UsageRow;
}

// ---- reports: the same fields as `cirrus report ... --json` (src/cli/cmd_report*.c) ----------------

export interface Totals {
  revenue: number;
  simulated_revenue: number;
  tokens: number;
  prompt_tokens: number;
  cached_tokens: number;
  completion_tokens: number;
  requests: number;
}

export interface DimMonth {
  month: string;
  revenue: number;
  share: number | null;
  growth: number | null;
  tokens: number;
  requests: number;
}

/** A tenant, model or plan over the period, ranked by revenue. */
export interface DimRow extends Totals {
  rank: number;
  name: string;
  plan?: string;
  share: number | null;
  months: DimMonth[];
}

export interface RevenueReport {
  report: "revenue";
  from: string;
  to: string;
  total: Totals;
  months: (Totals & { month: string; growth: number | null; tenants_with_revenue: number; partial: boolean })[];
  tenants: DimRow[];
  models: DimRow[];
  plans: DimRow[];
  notes: string[];
}

export interface ConcMeasures {
  revenue: number;
  tenants_with_revenue: number;
  hhi: number | null;
  hhi_band: string;
  top1_share: number | null;
  top5_share: number | null;
  top10_share: number | null;
  gini: number | null;
  major_customers_count: number;
}

export interface ConcTenant {
  rank: number;
  name: string;
  plan: string;
  revenue: number;
  share: number | null;
  cumulative_share: number | null;
  major: boolean;
}

export interface WhatIf {
  tenant: string;
  cut_pct: number;
  leaves: boolean;
  tenant_revenue_before: number;
  tenant_revenue_after: number;
  revenue_before: number;
  revenue_after: number;
  revenue_change: number;
  revenue_change_share: number | null;
  before: ConcMeasures;
  after: ConcMeasures;
  major_customers_after: string[];
}

export interface ConcentrationReport extends ConcMeasures {
  report: "concentration";
  from: string;
  to: string;
  total_revenue: number;
  major_customers: string[];
  tenants: ConcTenant[];
  trend: (ConcMeasures & { month: string; hhi_band_changed: boolean; major_customers: string[]; partial: boolean })[];
  whatif?: WhatIf;
  notes: string[];
}

export interface FcPoint {
  month: string;
  revenue: number;
  lower: number;
  upper: number;
}
export interface FcSeries {
  name: string;
  method: "none" | "naive" | "ols-linear-trend" | string;
  history_months: number;
  short_history: boolean;
  note: string;
  points: FcPoint[];
}
export interface ForecastReport {
  report: "forecast";
  history: { from: string; to: string; months: number };
  horizon: number;
  level: number;
  total: FcSeries;
  tenants: FcSeries[];
  notes: string[];
}

export interface Alert {
  month: string;
  kind: "hhi_band" | "share" | "revenue_drop" | "tokens_drop" | "soft_budget" | string;
  tenant: string | null;
  message: string;
  value: number;
  previous: number | null;
  threshold: number | null;
  amount: number;
  previous_amount: number;
  band?: string;
  previous_band?: string;
}
export interface AlertsReport {
  report: "alerts";
  from: string;
  to: string;
  config: { share_threshold_pct: number; large_share_pct: number; drop_pct: number; hhi_band: boolean };
  count: number;
  alerts: Alert[];
  notes: string[];
}

// Invoices use billing's export format (src/billing/billing_export.c): integer *_micros amounts
// next to display strings; the list carries the same fields as the invoice without its lines.
export interface InvoiceSummary {
  tenant: string;
  month: string;
  status: "draft" | "closed";
  requests: number;
  open_records: number;
  usage_micros: number;
  fees_micros: number;
  true_up_micros: number;
  discount_micros: number;
  credits_micros: number;
  total_micros: number;
}

export interface InvoiceLine {
  kind: "usage" | "fee" | "discount" | "true_up" | "credit";
  model?: string;
  price_id?: number;
  token_class?: string;
  quantity: number;
  unit_price_micros: number;
  amount_micros: number;
  description: string;
}
export interface Invoice extends InvoiceSummary {
  currency: string;
  period_from: string;
  period_to: string;
  closed_at?: string;
  lines: InvoiceLine[];
}

// ---- protection (src/api/api_admin_risk.c) --------------------------------------------------------

export type Policy = "none" | "flag" | "throttle" | "block";

export interface RiskTenant {
  tenant: string;
  score: number; // 0..100
  flagged: boolean;
  policy: Policy;
  window_requests: number;
  total_requests: number;
  features: Record<string, { value: number; points: number }>;
  explanation: string[];
}

export interface RiskReport {
  tenants: RiskTenant[];
  alerts: { at_ms: number; tenant: string; score: number; reason: string }[];
}

export interface Detection {
  model: string;
  positions: number;
  scored_tokens: number;
  green_tokens: number;
  gamma: number;
  z: number;
  p_value: number;
  log10_p_value: number;
  z_threshold: number;
  watermarked: boolean;
}
