// Protection: which tenants' traffic looks like someone distilling or extracting the models (the
// server's live risk scores, docs/protection.md), the policy applied to each, and a watermark check
// for a text someone claims was not written by our models.
import { ApiError, type Detection, type Policy, type RiskReport, type RiskTenant, get, models, post } from "../api";
import { card, chip, h, table } from "../dom";
import * as f from "../format";
import type { PageCtx } from "../main";

const POLICIES: { value: Policy; label: string }[] = [
  { value: "none", label: "None" },
  { value: "flag", label: "Flag" },
  { value: "throttle", label: "Throttle" },
  { value: "block", label: "Block" },
];

const human = (feature: string): string => feature.charAt(0).toUpperCase() + feature.slice(1).replace(/_/g, " ");

/** 0–100 as a bar: people compare lengths faster than numbers. */
function scoreBar(score: number): HTMLElement {
  const level = score >= 70 ? "bad" : score >= 40 ? "warn" : "good";
  const fill = h("span", { class: `score-fill score-${level}` });
  fill.style.width = `${Math.max(0, Math.min(100, score))}%`; // CSSOM: the CSP allows no style attributes
  return h("span", { class: "score", title: `risk score ${score} of 100` }, h("span", { class: "score-track" }, fill), h("span", { class: "score-num" }, String(score)));
}

function policySelect(t: RiskTenant, onError: (msg: string) => void): HTMLElement {
  const sel = h(
    "select",
    { "aria-label": `Policy for ${t.tenant}`, "data-testid": `policy-${t.tenant}` },
    POLICIES.map((p) => h("option", { value: p.value, selected: p.value === t.policy }, p.label)),
  );
  sel.addEventListener("change", async () => {
    const before = t.policy;
    try {
      await post("/risk/policy", { tenant: t.tenant, policy: sel.value });
      t.policy = sel.value as Policy;
      sel.dataset.saved = sel.value;
    } catch (e) {
      sel.value = before;
      onError(e instanceof ApiError ? e.message : String(e));
    }
  });
  return sel;
}

function detectCard(served: string[]): HTMLElement {
  const model = h("select", { "aria-label": "Model", "data-testid": "detect-model" }, served.map((m) => h("option", { value: m }, m)));
  const text = h("textarea", { rows: 5, placeholder: "Paste a text to test for this deployment's watermark…", "data-testid": "detect-text" });
  const out = h("div", { class: "detect-out", "data-testid": "detect-result" });
  const form = h("form", { class: "detect-form" }, h("div", { class: "detect-row" }, h("label", null, "Model ", model), h("button", { class: "btn btn-primary", type: "submit", "data-testid": "detect-submit" }, "Check")), text, out);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    out.replaceChildren(h("span", { class: "muted" }, "Checking…"));
    try {
      const d = await post<Detection>("/watermark/detect", { model: model.value, text: text.value });
      out.replaceChildren(
        h(
          "div",
          { class: "detect-verdict" },
          chip(d.watermarked ? "watermark detected" : "no watermark detected", d.watermarked ? "warn" : "muted"),
          h("span", null, `z = ${d.z.toFixed(2)} (threshold ${d.z_threshold.toFixed(2)}), p = ${d.p_value.toExponential(2)}`),
        ),
        h("p", { class: "card-note" }, `${f.int(d.green_tokens)} of ${f.int(d.scored_tokens)} scored tokens are green (expected ${(d.gamma * 100).toFixed(0)}% by chance); ${f.int(d.positions)} positions.`),
      );
    } catch (e) {
      out.replaceChildren(h("div", { class: "form-error" }, e instanceof ApiError ? e.message : String(e)));
    }
  });
  return card(
    "Watermark check",
    h("p", { class: "card-note" }, "Every output of a watermarked model carries a signal only this deployment's key can see. A high z-score means the text (or a model trained on such text) came from here."),
    served.length ? form : h("div", { class: "empty-state" }, "No model is served."),
  );
}

export async function protectionPage({ root }: PageCtx): Promise<void> {
  let rep: RiskReport | null = null;
  let off = "";
  try {
    rep = await get<RiskReport>("/risk");
  } catch (e) {
    // risk scoring switched off is a state of the server, not a failure of the page
    if (e instanceof ApiError && e.status === 503) off = e.message;
    else throw e;
  }
  const served = await models();
  const err = h("div", { class: "form-error", role: "alert" });
  const tenants = (rep?.tenants ?? []).slice().sort((a, b) => b.score - a.score || (a.tenant < b.tenant ? -1 : 1));

  root.append(
    card(
      "Traffic risk by tenant",
      h("p", { class: "card-note" }, "Scores from the requests of the recent window: how much the traffic looks like a systematic extraction (broad, uniform prompts, saturated outputs, sampling or logit-bias sweeps). The policy applies at admission; it lasts until the server restarts."),
      off
        ? h("div", { class: "empty-state" }, off)
        : table(
            [
              { label: "Tenant", cell: (t) => h("a", { href: `#/tenants/${encodeURIComponent(t.tenant)}` }, t.tenant) },
              { label: "Risk", cell: (t) => scoreBar(t.score) },
              { label: "Status", cell: (t) => (t.flagged ? chip("flagged", "bad") : chip("normal", "good")) },
              { label: "Why", cell: (t) => (t.score > 0 && t.explanation.length ? h("span", { class: "reasons" }, t.explanation.map((x) => chip(human(x), "muted"))) : h("span", { class: "muted" }, "—")) },
              { label: "Requests (window)", cell: (t) => f.int(t.window_requests), num: true },
              { label: "Requests (total)", cell: (t) => f.int(t.total_requests), num: true },
              { label: "Policy", cell: (t) => policySelect(t, (m) => (err.textContent = m)) },
            ],
            tenants,
            { empty: "No traffic scored since the server started.", testid: "risk-table" },
          ),
      err,
    ),
    h(
      "div",
      { class: "grid-2" },
      card(
        "Recent risk alerts",
        rep && rep.alerts.length
          ? h(
              "ul",
              { class: "alerts" },
              rep.alerts
                .slice()
                .reverse()
                .map((a) =>
                  h(
                    "li",
                    { class: "alert alert-warning" },
                    h("div", { class: "alert-body" }, h("div", { class: "alert-head" }, h("strong", null, a.tenant), h("span", { class: "muted" }, new Date(a.at_ms).toISOString().slice(0, 16).replace("T", " "))), h("div", null, a.reason)),
                    chip(`score ${a.score}`, "warn"),
                  ),
                ),
            )
          : h("div", { class: "empty-state" }, "No risk alert since the server started."),
      ),
      detectCard(served),
    ),
  );
}
