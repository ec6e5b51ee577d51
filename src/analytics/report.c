/*
 * The four reports as results and as JSON: the one place `cirrus report` (src/cli/cmd_report*.c,
 * which also prints text and CSV from the results) and the admin API (src/api/api_admin_reports.c)
 * take them from. The JSON is a contract shared by both: a script may switch between
 * `cirrus report X --json` and GET /v1/admin/reports/X, so a field, its order or its rounding
 * changes here or nowhere. Formulas and conventions are analytics.h's (A1–A8); this file ranks,
 * labels and lays out.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/analytics.h"

/* A double rounded to `decimals` places as a JSON real (A7); null when undefined. */
static json_t *real(double v, int decimals, bool defined) {
    if (!defined || !isfinite(v)) return json_null();
    double p = pow(10, decimals), r = round(v * p) / p;
    return json_real(r == 0 ? 0.0 : r); /* no "-0.0" */
}

static cirrus_status nomem(cirrus_err *err) {
    return cirrus_errf(err, CIRRUS_ERR_NOMEM, "out of memory building the report");
}

/* A builder's last step: the root (NULL when jansson ran out of memory) to *out. */
static cirrus_status finish(json_t *root, json_t **out, cirrus_err *err) {
    *out = root;
    return root ? CIRRUS_OK : nomem(err);
}

/* ---- the period ---------------------------------------------------------------------------------- */

void an_report_month(const an_report *r, size_t m, char out[8]) {
    an_month_format(r->cube->first_month + (int32_t)m, out);
}

void an_report_period(const an_report *r, char from[11], char to[11]) {
    an_day_format(r->from_day, from);
    an_day_format(r->to_day, to);
}

bool an_report_partial(const an_report *r, size_t m) {
    int32_t mon = r->cube->first_month + (int32_t)m;
    int64_t first = an_month_first_day(mon), last = first + an_month_days(mon) - 1;
    return (r->from_day > first && r->from_day <= last) || (r->to_day >= first && r->to_day < last);
}

static void totals_add(an_totals *t, const an_totals *x) {
    /* cannot overflow: the cube's own sums of the same cells did not */
    t->revenue += x->revenue;
    t->simulated_revenue += x->simulated_revenue;
    t->prompt_tokens += x->prompt_tokens;
    t->cached_tokens += x->cached_tokens;
    t->completion_tokens += x->completion_tokens;
    t->requests += x->requests;
}

an_totals an_report_totals(const an_report *r) {
    an_totals t = {0};
    for (size_t m = r->r0; m < r->cube->n_months; m++) totals_add(&t, &r->cube->total[m]);
    return t;
}

/* The notes are part of the numbers: a reader must know the basis and what is undefined. */
json_t *an_report_notes(const an_report *r) {
    json_t *a = json_array();
    char buf[256];
    json_array_append_new(a, json_string("revenue is the ledger's rated usage cost at list price, in integer "
                                         "micro-units, before plan discounts, fees, true-ups and credits"));
    an_totals t = an_report_totals(r);
    if (t.simulated_revenue > 0) {
        snprintf(buf, sizeof buf, "%.2f%% of the period's revenue is simulated usage written by cirrus demo",
                 100.0 * an_share(t.simulated_revenue, t.revenue));
        json_array_append_new(a, json_string(buf));
    }
    if (r->excluded_simulated) json_array_append_new(a, json_string("simulated usage is excluded"));
    if (t.revenue == 0)
        json_array_append_new(a, json_string("total revenue in the period is zero: shares, HHI and Gini are "
                                             "undefined (null in JSON, empty in CSV)"));
    for (size_t m = r->r0; m < r->cube->n_months; m++) {
        char mon[8];
        an_report_month(r, m, mon);
        if (an_report_partial(r, m)) {
            snprintf(buf, sizeof buf, "%s is partial: only days inside the period are counted", mon);
            json_array_append_new(a, json_string(buf));
        }
        /* A forecast's history months before the period are context: their gaps are not news. */
        if (r->cube->total[m].revenue == 0 && r->cube->total[m].requests == 0 &&
            r->cube->first_month + (int32_t)m >= an_day_month(r->from_day)) {
            snprintf(buf, sizeof buf, "%s has no usage", mon);
            json_array_append_new(a, json_string(buf));
        }
    }
    return a;
}

void an_money_format(char *buf, size_t cap, int64_t micro) {
    bool neg = micro < 0;
    uint64_t u = neg ? (uint64_t)0 - (uint64_t)micro : (uint64_t)micro;
    uint64_t cents = u / 10000 + (u % 10000 >= 5000);
    char digits[32], grouped[48];
    int n = snprintf(digits, sizeof digits, "%llu", (unsigned long long)(cents / 100));
    size_t k = 0;
    for (int i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0) grouped[k++] = ',';
        grouped[k++] = digits[i];
    }
    grouped[k] = 0;
    snprintf(buf, cap, "%s%s.%02u", neg ? "-" : "", grouped, (unsigned)(cents % 100));
}

/* ---- rankings ------------------------------------------------------------------------------------ */

/* Zeroed revenue and order, names from the cube. */
static cirrus_status ranking_alloc(const an_cube *c, an_ranking *k, cirrus_err *err) {
    k->n = c->n_tenants;
    size_t cap = k->n ? k->n : 1;
    k->rev = calloc(cap, sizeof *k->rev);
    k->names = calloc(cap, sizeof *k->names);
    k->order = calloc(cap, sizeof *k->order);
    if (!k->rev || !k->names || !k->order) {
        an_ranking_free(k);
        return nomem(err);
    }
    for (size_t t = 0; t < k->n; t++) k->names[t] = c->tenants[t].name;
    return CIRRUS_OK;
}

void an_ranking_free(an_ranking *k) {
    free(k->rev);
    free(k->names);
    free(k->order);
    memset(k, 0, sizeof *k);
}

cirrus_status an_report_ranking(const an_report *r, an_ranking *out, cirrus_err *err) {
    cirrus_status st = ranking_alloc(r->cube, out, err);
    if (st) return st;
    st = an_cube_tenant_revenue(r->cube, r->r0, r->cube->n_months - 1, out->rev, err);
    if (st) {
        an_ranking_free(out);
        return st;
    }
    an_rank(out->rev, out->names, out->n, out->order);
    return CIRRUS_OK;
}

/* ---- revenue ------------------------------------------------------------------------------------- */

static json_t *totals_json(const an_totals *t) {
    return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "revenue", (json_int_t)t->revenue, "simulated_revenue",
                     (json_int_t)t->simulated_revenue, "tokens", (json_int_t)an_tokens(t), "prompt_tokens",
                     (json_int_t)t->prompt_tokens, "cached_tokens", (json_int_t)t->cached_tokens,
                     "completion_tokens", (json_int_t)t->completion_tokens, "requests", (json_int_t)t->requests);
}

/* The fields every report but the forecast opens with. */
static json_t *head(const an_report *r, const char *report) {
    char from[11], to[11];
    an_report_period(r, from, to);
    return json_pack("{s:s,s:s,s:s,s:s,s:s}", "report", report, "from", from, "to", to, "currency_unit", "micro",
                     "source", r->source);
}

/* One dimension's rows (tenants, models or plans), ranked by period revenue (A5). */
static json_t *dimension_json(const an_report *r, const an_series *rows, size_t n, bool tenants, int64_t total) {
    json_t *arr = json_array();
    int64_t *rev = calloc(n ? n : 1, sizeof *rev);
    size_t *order = calloc(n ? n : 1, sizeof *order);
    const char **names = calloc(n ? n : 1, sizeof *names);
    if (!arr || !rev || !order || !names) {
        json_decref(arr);
        arr = NULL;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        names[i] = rows[i].name;
        for (size_t m = r->r0; m < r->cube->n_months; m++) rev[i] += rows[i].months[m].revenue;
    }
    an_rank(rev, names, n, order);
    for (size_t k = 0; k < n; k++) {
        const an_series *s = &rows[order[k]];
        an_totals t = {0};
        json_t *months = json_array();
        for (size_t m = r->r0; m < r->cube->n_months; m++) {
            const an_totals *x = &s->months[m];
            totals_add(&t, x);
            char mon[8];
            an_report_month(r, m, mon);
            double g = 0;
            bool gd = m > 0 && an_growth(s->months[m - 1].revenue, x->revenue, &g);
            int64_t mt = r->cube->total[m].revenue;
            json_array_append_new(months, json_pack("{s:s,s:I,s:o,s:o,s:I,s:I}", "month", mon, "revenue",
                                                    (json_int_t)x->revenue, "share", real(an_share(x->revenue, mt), 6, mt > 0),
                                                    "growth", real(g, 6, gd), "tokens", (json_int_t)an_tokens(x),
                                                    "requests", (json_int_t)x->requests));
        }
        json_t *o = json_pack("{s:I,s:s}", "rank", (json_int_t)k + 1, "name", s->name);
        if (tenants) json_object_set_new(o, "plan", json_string(s->plan));
        json_object_update_new(o, totals_json(&t));
        json_object_set_new(o, "share", real(an_share(t.revenue, total), 6, total > 0));
        json_object_set_new(o, "months", months);
        json_array_append_new(arr, o);
    }
out:
    free(rev);
    free(order);
    free(names);
    return arr;
}

cirrus_status an_report_revenue_json(const an_report *r, json_t **out, cirrus_err *err) {
    const an_cube *cube = r->cube;
    an_totals pt = an_report_totals(r);
    json_t *months = json_array();
    for (size_t m = r->r0; m < cube->n_months; m++) {
        char mon[8];
        an_report_month(r, m, mon);
        double g = 0;
        bool gd = m > 0 && an_growth(cube->total[m - 1].revenue, cube->total[m].revenue, &g);
        size_t active = 0;
        for (size_t t = 0; t < cube->n_tenants; t++) active += cube->tenants[t].months[m].revenue > 0;
        json_t *o = json_pack("{s:s}", "month", mon);
        json_object_update_new(o, totals_json(&cube->total[m]));
        json_object_set_new(o, "growth", real(g, 6, gd));
        json_object_set_new(o, "tenants_with_revenue", json_integer((json_int_t)active));
        json_object_set_new(o, "partial", json_boolean(an_report_partial(r, m)));
        json_array_append_new(months, o);
    }
    json_t *root = head(r, "revenue");
    json_object_set_new(root, "total", totals_json(&pt));
    json_object_set_new(root, "months", months);
    json_object_set_new(root, "tenants", dimension_json(r, cube->tenants, cube->n_tenants, true, pt.revenue));
    json_object_set_new(root, "models", dimension_json(r, cube->models, cube->n_models, false, pt.revenue));
    json_object_set_new(root, "plans", dimension_json(r, cube->plans, cube->n_plans, false, pt.revenue));
    json_object_set_new(root, "notes", an_report_notes(r));
    return finish(root, out, err);
}

/* ---- concentration ------------------------------------------------------------------------------- */

cirrus_status an_report_concentration(const an_report *r, const char *whatif_tenant, int32_t cut_bp,
                                      an_conc_report *out, cirrus_err *err) {
    memset(out, 0, sizeof *out);
    cirrus_status st = an_report_ranking(r, &out->rank, err);
    if (!st) st = an_concentration(out->rank.rev, out->rank.n, &out->now, err);
    if (!st && whatif_tenant) {
        ptrdiff_t idx = an_cube_tenant(r->cube, whatif_tenant);
        if (idx < 0)
            st = cirrus_errf(err, CIRRUS_ERR_INVALID, "what-if: tenant '%s' has no usage in the period", whatif_tenant);
        if (!st) st = an_whatif_compute(out->rank.rev, out->rank.n, (size_t)idx, cut_bp, &out->whatif, err);
        if (!st) st = ranking_alloc(r->cube, &out->after, err);
        if (!st) {
            memcpy(out->after.rev, out->rank.rev, out->rank.n * sizeof *out->after.rev);
            out->after.rev[idx] = out->whatif.revenue_after;
            an_rank(out->after.rev, out->after.names, out->after.n, out->after.order);
            out->has_whatif = true;
        }
    }
    if (st) an_conc_report_free(out);
    return st;
}

void an_conc_report_free(an_conc_report *x) {
    an_ranking_free(&x->rank);
    an_ranking_free(&x->after);
}

static json_t *conc_json(const an_conc *x) {
    return json_pack("{s:I,s:I,s:o,s:s,s:o,s:o,s:o,s:o,s:I}", "revenue", (json_int_t)x->total, "tenants_with_revenue",
                     (json_int_t)x->n, "hhi", real(x->hhi, 2, x->defined), "hhi_band", an_hhi_band_str(x->band),
                     "top1_share", real(x->top1, 6, x->defined), "top5_share", real(x->top5, 6, x->defined),
                     "top10_share", real(x->top10, 6, x->defined), "gini", real(x->gini, 4, x->defined),
                     "major_customers_count", (json_int_t)x->n_major);
}

/* The major customers (A6) by rank. */
static json_t *majors_json(const an_ranking *k, int64_t total) {
    json_t *a = json_array();
    for (size_t i = 0; i < k->n; i++)
        if (an_is_major(k->rev[k->order[i]], total)) json_array_append_new(a, json_string(k->names[k->order[i]]));
    return a;
}

static json_t *tenants_json(const an_report *r, const an_ranking *k, int64_t total) {
    json_t *a = json_array();
    int64_t cum = 0;
    for (size_t i = 0; i < k->n; i++) {
        size_t t = k->order[i];
        cum += k->rev[t];
        json_array_append_new(a, json_pack("{s:I,s:s,s:s,s:I,s:o,s:o,s:b}", "rank", (json_int_t)i + 1, "name",
                                           k->names[t], "plan", r->cube->tenants[t].plan, "revenue",
                                           (json_int_t)k->rev[t], "share", real(an_share(k->rev[t], total), 6, total > 0),
                                           "cumulative_share", real(an_share(cum, total), 6, total > 0), "major",
                                           an_is_major(k->rev[t], total)));
    }
    return a;
}

/* Month m's measures and major customers, and whether its band differs from the month before. */
static cirrus_status trend_entry(const an_report *r, size_t m, json_t **out, cirrus_err *err) {
    const an_cube *cube = r->cube;
    an_ranking mv = {0};
    an_conc mc, pc = {0};
    *out = NULL;
    int64_t *prev = calloc(cube->n_tenants ? cube->n_tenants : 1, sizeof *prev);
    cirrus_status st = prev ? ranking_alloc(cube, &mv, err) : nomem(err);
    if (st) goto out;
    for (size_t t = 0; t < mv.n; t++) {
        mv.rev[t] = cube->tenants[t].months[m].revenue;
        prev[t] = m > 0 ? cube->tenants[t].months[m - 1].revenue : 0;
    }
    st = an_concentration(mv.rev, mv.n, &mc, err);
    if (!st && m > 0) st = an_concentration(prev, mv.n, &pc, err);
    if (st) goto out;
    an_rank(mv.rev, mv.names, mv.n, mv.order);
    char mon[8];
    an_report_month(r, m, mon);
    json_t *o = json_pack("{s:s}", "month", mon);
    json_object_update_new(o, conc_json(&mc));
    json_object_set_new(o, "hhi_band_changed", json_boolean(m > 0 && mc.defined && pc.defined && mc.band != pc.band));
    json_object_set_new(o, "major_customers", majors_json(&mv, mc.total));
    json_object_set_new(o, "partial", json_boolean(an_report_partial(r, m)));
    st = finish(o, out, err);
out:
    an_ranking_free(&mv);
    free(prev);
    return st;
}

static json_t *whatif_json(const an_report *r, const an_conc_report *x) {
    const an_whatif *wi = &x->whatif;
    json_t *o = json_pack("{s:s,s:o,s:b,s:I,s:I,s:I,s:I,s:I}", "tenant", r->cube->tenants[wi->tenant].name, "cut_pct",
                          real(wi->cut_bp / 100.0, 2, true), "leaves", wi->cut_bp == 10000, "tenant_revenue_before",
                          (json_int_t)wi->revenue_before, "tenant_revenue_after", (json_int_t)wi->revenue_after,
                          "revenue_before", (json_int_t)wi->before.total, "revenue_after", (json_int_t)wi->after.total,
                          "revenue_change", (json_int_t)(wi->after.total - wi->before.total));
    json_object_set_new(o, "revenue_change_share",
                        real(-an_share(wi->before.total - wi->after.total, wi->before.total), 6, wi->before.defined));
    json_object_set_new(o, "before", conc_json(&wi->before));
    json_object_set_new(o, "after", conc_json(&wi->after));
    json_object_set_new(o, "major_customers_after", majors_json(&x->after, wi->after.total));
    return o;
}

cirrus_status an_report_concentration_json(const an_report *r, const an_conc_report *x, json_t **out,
                                           cirrus_err *err) {
    *out = NULL;
    json_t *trend = json_array();
    for (size_t m = r->r0; m < r->cube->n_months; m++) {
        json_t *e;
        cirrus_status st = trend_entry(r, m, &e, err);
        if (st) {
            json_decref(trend);
            return st;
        }
        json_array_append_new(trend, e);
    }
    json_t *root = head(r, "concentration");
    json_object_update_new(root, conc_json(&x->now));
    json_object_set_new(root, "total_revenue", json_integer(x->now.total));
    json_object_set_new(root, "major_customers", majors_json(&x->rank, x->now.total));
    json_object_set_new(root, "tenants", tenants_json(r, &x->rank, x->now.total));
    json_object_set_new(root, "trend", trend);
    if (x->has_whatif) json_object_set_new(root, "whatif", whatif_json(r, x));
    json_object_set_new(root, "notes", an_report_notes(r));
    return finish(root, out, err);
}

/* ---- forecast ------------------------------------------------------------------------------------ */

const char *an_fc_note(const an_forecast *f, char *buf, size_t cap) {
    switch (f->method) {
    case AN_FC_OLS:
        snprintf(buf, cap,
                 "OLS linear trend over the last %zu months; %d%% prediction interval from the residuals "
                 "(Student t, %zu degrees of freedom)",
                 f->n_used, f->level, f->n_used - 2);
        break;
    case AN_FC_NAIVE:
        snprintf(buf, cap,
                 "only %zu month(s) of history: naive forecast (last month carried forward); the interval is a "
                 "heuristic, last +/- max(50%% of last, z * last change) * sqrt(h), not a statistical interval",
                 f->n_used);
        break;
    default: snprintf(buf, cap, "no revenue in the history: nothing to forecast"); break;
    }
    return buf;
}

/* The forecast of one series (a cube row's months, or the total) over the report's months. */
static cirrus_status forecast_of(const an_report *r, const an_totals *months, int horizon, int level,
                                 an_forecast *f, cirrus_err *err) {
    size_t n = r->cube->n_months - r->r0;
    int64_t *y = calloc(n ? n : 1, sizeof *y);
    if (!y) return nomem(err);
    for (size_t i = 0; i < n; i++) y[i] = months[r->r0 + i].revenue;
    cirrus_status st = an_forecast_series(y, n, horizon, level, f, err);
    free(y);
    return st;
}

cirrus_status an_report_forecast(const an_report *r, int horizon, int level, an_fc_report *out,
                                 cirrus_err *err) {
    memset(out, 0, sizeof *out);
    cirrus_status st = an_report_ranking(r, &out->rank, err);
    if (!st) st = forecast_of(r, r->cube->total, horizon, level, &out->total, err);
    if (!st && !(out->tenants = calloc(out->rank.n ? out->rank.n : 1, sizeof *out->tenants))) st = nomem(err);
    for (size_t k = 0; !st && k < out->rank.n; k++) {
        size_t t = out->rank.order[k];
        /* no revenue in the history: nothing to say about it */
        if (out->rank.rev[t] > 0) st = forecast_of(r, r->cube->tenants[t].months, horizon, level, &out->tenants[t], err);
    }
    if (st) an_fc_report_free(out);
    return st;
}

void an_fc_report_free(an_fc_report *x) {
    an_ranking_free(&x->rank);
    free(x->tenants);
    x->tenants = NULL;
}

static json_t *fc_json(const an_report *r, const char *name, const an_forecast *f) {
    char note[400], mon[8];
    json_t *pts = json_array();
    int32_t next = r->cube->first_month + (int32_t)r->cube->n_months;
    for (int k = 0; k < f->horizon; k++) {
        an_month_format(next + k, mon);
        json_array_append_new(pts, json_pack("{s:s,s:I,s:I,s:I}", "month", mon, "revenue", (json_int_t)f->point[k],
                                             "lower", (json_int_t)f->lower[k], "upper", (json_int_t)f->upper[k]));
    }
    json_t *o = json_pack("{s:s,s:s,s:I,s:b,s:s,s:o}", "name", name, "method", an_fc_method_str(f->method),
                          "history_months", (json_int_t)f->n_used, "short_history", f->short_history, "note",
                          an_fc_note(f, note, sizeof note), "points", pts);
    if (f->method == AN_FC_OLS) {
        json_object_set_new(o, "slope_per_month", real(f->slope, 2, true));
        json_object_set_new(o, "residual_sd", real(f->resid_sd, 2, true));
    }
    return o;
}

cirrus_status an_report_forecast_json(const an_report *r, const an_fc_report *x, json_t **out, cirrus_err *err) {
    const an_cube *cube = r->cube;
    char from[8], to[8];
    an_report_month(r, r->r0, from);
    an_report_month(r, cube->n_months - 1, to);
    json_t *root = json_pack("{s:s,s:{s:s,s:s,s:I},s:I,s:I,s:s,s:s}", "report", "forecast", "history", "from", from,
                             "to", to, "months", (json_int_t)(cube->n_months - r->r0), "horizon",
                             (json_int_t)x->total.horizon, "level", (json_int_t)x->total.level, "currency_unit",
                             "micro", "source", r->source);
    json_object_set_new(root, "total", fc_json(r, "total", &x->total));
    json_t *tenants = json_array();
    for (size_t k = 0; k < x->rank.n; k++) {
        size_t t = x->rank.order[k];
        if (x->rank.rev[t] > 0) json_array_append_new(tenants, fc_json(r, x->rank.names[t], &x->tenants[t]));
    }
    json_object_set_new(root, "tenants", tenants);
    json_t *notes = an_report_notes(r);
    json_array_append_new(notes, json_string("the total is forecast from the total series, not as the sum of the "
                                             "tenants' forecasts (their intervals do not add up)"));
    if (an_report_partial(r, cube->n_months - 1))
        json_array_append_new(notes, json_string("the last history month is partial, which pulls the forecast down"));
    json_object_set_new(root, "notes", notes);
    return finish(root, out, err);
}

/* ---- alerts -------------------------------------------------------------------------------------- */

cirrus_status an_report_alerts(const an_report *r, const an_alert_config *cfg, const an_budget *b, size_t nb,
                               an_alert **out, size_t *n_out, cirrus_err *err) {
    const an_cube *cube = r->cube;
    *out = NULL;
    *n_out = 0;
    an_budget *month_b = calloc(nb ? nb : 1, sizeof *month_b);
    if (!month_b) return nomem(err);
    cirrus_status st = CIRRUS_OK;
    for (size_t m = r->r0; !st && m < cube->n_months; m++) {
        for (size_t i = 0; i < nb; i++) {
            month_b[i] = b[i];
            ptrdiff_t t = an_cube_tenant(cube, b[i].tenant);
            month_b[i].spend = t >= 0 ? cube->tenants[t].months[m].revenue : 0;
        }
        an_alert *a = NULL;
        size_t na = 0;
        st = an_alerts_month(cube, m, cfg, month_b, nb, &a, &na, err);
        if (!st && na) {
            an_alert *grown = realloc(*out, (*n_out + na) * sizeof *grown);
            if (grown) {
                memcpy(grown + *n_out, a, na * sizeof *a);
                *out = grown;
                *n_out += na;
            } else {
                st = nomem(err);
            }
        }
        free(a);
    }
    free(month_b);
    if (st) {
        free(*out);
        *out = NULL;
        *n_out = 0;
    }
    return st;
}

void an_alert_message(const an_alert *a, char *buf, size_t cap) {
    char x[40], y[40];
    switch (a->kind) {
    case AN_ALERT_HHI_BAND:
        snprintf(buf, cap, "HHI moved from %.2f (%s) to %.2f (%s)", a->previous, an_hhi_band_str(a->prev_band), a->value,
                 an_hhi_band_str(a->band));
        break;
    case AN_ALERT_SHARE:
        snprintf(buf, cap, "%s holds %.2f%% of the month's revenue (threshold %.2f%%)", a->tenant, 100 * a->value,
                 100 * a->threshold);
        break;
    case AN_ALERT_REVENUE_DROP:
        an_money_format(x, sizeof x, a->prev_amount);
        an_money_format(y, sizeof y, a->amount);
        snprintf(buf, cap, "%s's revenue fell %.1f%% month over month (%s -> %s; threshold %.2f%%)", a->tenant,
                 100 * a->value, x, y, 100 * a->threshold);
        break;
    case AN_ALERT_TOKENS_DROP:
        snprintf(buf, cap, "%s's token usage fell %.1f%% month over month (%lld -> %lld tokens; threshold %.2f%%)",
                 a->tenant, 100 * a->value, (long long)a->prev_amount, (long long)a->amount, 100 * a->threshold);
        break;
    case AN_ALERT_SOFT_BUDGET:
        an_money_format(x, sizeof x, a->amount);
        an_money_format(y, sizeof y, a->prev_amount);
        snprintf(buf, cap, "%s reached its soft budget: spent %s of %s (%.1f%%)", a->tenant, x, y, 100 * a->value);
        break;
    }
}

static json_t *alert_json(const an_alert *a) {
    char mon[8], msg[400];
    an_month_format(a->month, mon);
    an_alert_message(a, msg, sizeof msg);
    bool hhi = a->kind == AN_ALERT_HHI_BAND;
    int dec = hhi ? 2 : 6;
    json_t *o = json_pack("{s:s,s:s,s:o,s:s,s:o,s:o,s:o,s:I,s:I}", "month", mon, "kind", an_alert_kind_str(a->kind),
                          "tenant", hhi ? json_null() : json_string(a->tenant), "message", msg, "value",
                          real(a->value, dec, true), "previous", real(a->previous, dec, a->kind == AN_ALERT_SHARE || hhi),
                          "threshold", real(a->threshold, 6, !hhi), "amount", (json_int_t)a->amount,
                          "previous_amount", (json_int_t)a->prev_amount);
    if (hhi) {
        json_object_set_new(o, "band", json_string(an_hhi_band_str(a->band)));
        json_object_set_new(o, "previous_band", json_string(an_hhi_band_str(a->prev_band)));
    }
    return o;
}

cirrus_status an_report_alerts_json(const an_report *r, const an_alert_config *cfg, const an_alert *a, size_t n,
                                    json_t **out, cirrus_err *err) {
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(list, alert_json(&a[i]));
    char from[11], to[11];
    an_report_period(r, from, to);
    json_t *root = json_pack("{s:s,s:s,s:s,s:s,s:{s:o,s:o,s:o,s:b},s:I,s:o,s:o}", "report", "alerts", "from", from,
                             "to", to, "source", r->source, "config", "share_threshold_pct",
                             real(cfg->share_bp / 100.0, 2, true), "large_share_pct", real(cfg->large_bp / 100.0, 2, true),
                             "drop_pct", real(cfg->drop_bp / 100.0, 2, true), "hhi_band", cfg->hhi_band, "count",
                             (json_int_t)n, "alerts", list, "notes", an_report_notes(r));
    return finish(root, out, err);
}
