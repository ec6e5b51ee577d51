/*
 * The admin API's protection endpoints (docs/protection.md), admin keys only:
 *   GET  risk                 every tracked tenant's risk score, features, top explanations and
 *                             policy, plus the recent alerts
 *   POST risk/policy          {"tenant","policy":"none|flag|throttle|block"} -> the tenant's row
 *   POST watermark/detect     {"model","text"} -> the same fields as `cirrus detect text --json`
 * Risk lives in memory (guard_risk): policies set here last until the server restarts, which is
 * the trade-off chosen for now (a store table would make them durable; see docs).
 */
#include <stdlib.h>
#include <string.h>

#include "api/api_admin.h"
#include "guard/guard.h"

#define RISK_REPORT_MAX 1024

static json_t *tenant_json(const guard_risk_tenant *t) {
    json_t *o = json_pack("{s:s,s:i,s:b,s:s,s:i,s:I}", "tenant", t->tenant, "score", (int)t->score, "flagged", t->flagged,
                          "policy", guard_policy_str(t->policy), "window_requests", (int)t->n_window, "total_requests",
                          (json_int_t)t->n_total);
    if (!o) return NULL;
    json_t *f = json_object(), *top = json_array();
    for (int i = 0; i < GUARD_RF_COUNT && f; i++)
        json_object_set_new(f, guard_risk_feature_name((guard_risk_feature)i),
                            json_pack("{s:f,s:f}", "value", (double)t->feature[i], "points", (double)t->contrib[i]));
    for (int i = 0; i < 3 && top; i++)
        if (t->contrib[t->top[i]] >= 0.5f) json_array_append_new(top, json_string(guard_risk_feature_name(t->top[i])));
    json_object_set_new(o, "features", f ? f : json_null());
    json_object_set_new(o, "explanation", top ? top : json_null());
    return o;
}

void adm_risk_get(adm_job *j) {
    guard_risk *r = j->a->cfg.risk;
    if (!r) {
        adm_error(j, API_E_OVERLOADED, NULL, "Risk scoring is off (cirrus serve --no-risk).");
        return;
    }
    guard_risk_tenant *t = calloc(RISK_REPORT_MAX, sizeof *t);
    guard_risk_alert *al = calloc(GUARD_RISK_ALERTS, sizeof *al);
    json_t *o = t && al ? json_object() : NULL, *ta = json_array(), *aa = json_array();
    if (o && ta && aa) {
        size_t n = guard_risk_report(r, t, RISK_REPORT_MAX);
        for (size_t i = 0; i < n; i++) json_array_append_new(ta, tenant_json(&t[i]));
        size_t m = guard_risk_alerts(r, al, GUARD_RISK_ALERTS);
        for (size_t i = 0; i < m; i++)
            json_array_append_new(aa, json_pack("{s:I,s:s,s:i,s:s}", "at_ms", (json_int_t)al[i].at_unix_ms, "tenant",
                                                al[i].tenant, "score", (int)al[i].score, "reason", al[i].reason));
        json_object_set_new(o, "tenants", ta);
        json_object_set_new(o, "alerts", aa);
        ta = aa = NULL;
    }
    json_decref(ta);
    json_decref(aa);
    free(t);
    free(al);
    adm_json(j, 200, o);
}

static json_t *body_obj(adm_job *j, size_t flags) {
    json_error_t je;
    json_t *b = j->body ? json_loadb(j->body, j->body_len, flags, &je) : NULL;
    if (!json_is_object(b)) {
        json_decref(b);
        adm_error(j, API_E_INVALID, NULL, "The body must be a JSON object.");
        return NULL;
    }
    return b;
}

void adm_risk_policy(adm_job *j) {
    guard_risk *r = j->a->cfg.risk;
    if (!r) {
        adm_error(j, API_E_OVERLOADED, NULL, "Risk scoring is off (cirrus serve --no-risk).");
        return;
    }
    json_t *b = body_obj(j, 0);
    if (!b) return;
    const char *tenant = json_string_value(json_object_get(b, "tenant"));
    const char *pol = json_string_value(json_object_get(b, "policy"));
    guard_policy p;
    cirrus_err err = {{0}};
    if (!tenant || !*tenant || strlen(tenant) >= GUARD_RISK_NAME_MAX) {
        adm_error(j, API_E_INVALID, "tenant", "'tenant' must be a tenant name.");
    } else if (!guard_policy_parse(pol, &p)) {
        adm_error(j, API_E_INVALID, "policy", "'policy' must be one of none, flag, throttle, block.");
    } else {
        cirrus_status st = guard_risk_set_policy(r, tenant, p, &err);
        if (st) adm_fail(j, st, &err);
        else adm_json(j, 200, json_pack("{s:s,s:s}", "tenant", tenant, "policy", guard_policy_str(p)));
    }
    json_decref(b);
}

void adm_watermark_detect(adm_job *j) {
    /* the text is any string the API returned, "\u0000" included, checked with the same bytes */
    json_t *b = body_obj(j, JSON_ALLOW_NUL);
    if (!b) return;
    const char *model = json_string_value(json_object_get(b, "model"));
    json_t *tx = json_object_get(b, "text");
    const api_model_entry *me = model ? api_find_model(j->a, model) : NULL;
    if (!me) {
        adm_error(j, API_E_NO_MODEL, "model", "The model '%.100s' does not exist.", model ? model : "");
    } else if (!json_is_string(tx)) {
        adm_error(j, API_E_INVALID, "text", "'text' must be a string.");
    } else if (!me->m.watermark) {
        adm_error(j, API_E_INVALID, "model", "The model '%.100s' is served without a watermark.", model);
    } else {
        int32_t *ids = NULL;
        size_t n = 0;
        cirrus_err err = {{0}};
        guard_verdict v;
        guard_verdict_default(&v);
        guard_score s;
        cirrus_status st = tok_encode(me->m.vocab, json_string_value(tx), json_string_length(tx), false, false, &ids, &n, &err);
        if (!st) st = guard_detect(me->m.watermark, ids, n, &v, &s, &err);
        free(ids);
        if (st) adm_fail(j, st, &err);
        else
            adm_json(j, 200, json_pack("{s:s,s:I,s:I,s:I,s:f,s:f,s:f,s:f,s:f,s:b}", "model", me->name, "positions",
                                       (json_int_t)s.n_positions, "scored_tokens", (json_int_t)s.n_scored, "green_tokens",
                                       (json_int_t)s.n_green, "gamma", s.gamma, "z", s.z, "p_value", s.p_value,
                                       "log10_p_value", s.log10_p, "z_threshold", v.z, "watermarked", s.watermarked));
    }
    json_decref(b);
}
