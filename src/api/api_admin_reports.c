/*
 * GET /v1/admin/reports/revenue|concentration|forecast|alerts: `cirrus report ... --json` over HTTP.
 * The numbers come from the same place — the store through an_store_read, an analytics cube, and
 * analytics' functions for shares, HHI, Gini, what-if, forecasts and alerts — and the replies have
 * the same fields as the CLI's JSON (src/cli/cmd_report*.c), so a script can switch between the two.
 * The period rules are the CLI's too: month=YYYY-MM, or from/to (days; here a YYYY-MM also works,
 * meaning that month's first or last day), or neither for every month with usage; growth, band
 * changes and alerts load the month before the period as context, and a forecast for one month
 * uses the twelve months ending with it as history.
 *
 * TODO(lead): the JSON builders are mirrored from the CLI's, which print to stdout; moving them
 * into one shared function (analytics or a small report module) would leave one copy to maintain.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analytics/analytics.h"
#include "api/api_admin.h"

typedef enum { RV_REVENUE, RV_CONC, RV_FORECAST, RV_ALERTS } rv_kind;

typedef struct {
    an_cube *cube;
    an_data data;
    size_t r0;                  /* first report month (cube index); earlier ones are context */
    int64_t from_day, to_day;   /* the period, both included */
    char source[600];
    bool excluded_simulated;
} rv_ctx;

/* A double rounded to `decimals` places (A7); null when undefined. */
static json_t *real(double v, int decimals, bool defined) {
    if (!defined || !isfinite(v)) return json_null();
    double p = pow(10, decimals), r = round(v * p) / p;
    return json_real(r == 0 ? 0.0 : r);
}

static void month_of(const rv_ctx *c, size_t m, char out[8]) { an_month_format(c->cube->first_month + (int32_t)m, out); }

static bool month_partial(const rv_ctx *c, size_t m) {
    int32_t mon = c->cube->first_month + (int32_t)m;
    int64_t first = an_month_first_day(mon), last = first + an_month_days(mon) - 1;
    return (c->from_day > first && c->from_day <= last) || (c->to_day >= first && c->to_day < last);
}

static an_totals period_totals(const rv_ctx *c) {
    an_totals t = {0};
    for (size_t m = c->r0; m < c->cube->n_months; m++) {
        const an_totals *x = &c->cube->total[m];
        t.revenue += x->revenue, t.simulated_revenue += x->simulated_revenue, t.requests += x->requests;
        t.prompt_tokens += x->prompt_tokens, t.cached_tokens += x->cached_tokens, t.completion_tokens += x->completion_tokens;
    }
    return t;
}

/* The same notes as the CLI's: the basis of the numbers and what is undefined. */
static json_t *notes(const rv_ctx *c) {
    json_t *a = json_array();
    char buf[256];
    json_array_append_new(a, json_string("revenue is the ledger's rated usage cost at list price, in integer micro-units, "
                                         "before plan discounts, fees, true-ups and credits"));
    an_totals t = period_totals(c);
    if (t.simulated_revenue > 0) {
        snprintf(buf, sizeof buf, "%.2f%% of the period's revenue is simulated usage written by cirrus demo",
                 100.0 * an_share(t.simulated_revenue, t.revenue));
        json_array_append_new(a, json_string(buf));
    }
    if (c->excluded_simulated) json_array_append_new(a, json_string("simulated usage is excluded"));
    if (t.revenue == 0)
        json_array_append_new(a, json_string("total revenue in the period is zero: shares, HHI and Gini are undefined (null in JSON, 0 in CSV)"));
    for (size_t m = c->r0; m < c->cube->n_months; m++) {
        char mon[8];
        month_of(c, m, mon);
        if (month_partial(c, m)) {
            snprintf(buf, sizeof buf, "%s is partial: only days inside the period are counted", mon);
            json_array_append_new(a, json_string(buf));
        }
        if (c->cube->total[m].revenue == 0 && c->cube->total[m].requests == 0 &&
            c->cube->first_month + (int32_t)m >= an_day_month(c->from_day)) {
            snprintf(buf, sizeof buf, "%s has no usage", mon);
            json_array_append_new(a, json_string(buf));
        }
    }
    return a;
}

static void period_strings(const rv_ctx *c, char from[11], char to[11]) {
    an_day_format(c->from_day, from);
    an_day_format(c->to_day, to);
}

/* ---- loading: cmd_report.c's rules ---------------------------------------------------------------- */

static bool load(adm_job *j, rv_kind kind, rv_ctx *c) {
    memset(c, 0, sizeof *c);
    const char *month = adm_arg(j, ADM_A_MONTH), *from = adm_arg(j, ADM_A_FROM);
    const char *ex = adm_arg(j, ADM_A_EXCL_SIM);
    an_filter f = {AN_NO_DAY, AN_NO_DAY, ex && (!strcmp(ex, "1") || !strcmp(ex, "true"))};
    c->excluded_simulated = f.exclude_simulated;
    int64_t fd, td;
    if (!adm_period_days(j, &fd, &td)) return false;
    bool has_month = month && *month, has_from = from && *from;
    int32_t first = -1, last = -1;
    if (fd != INT64_MIN) f.from_day = fd, first = an_day_month(fd);
    if (td != INT64_MIN) f.to_day = td, last = an_day_month(td);
    int32_t extra = kind == RV_FORECAST ? (has_month ? AN_FC_WINDOW - 1 : 0) : 1;
    an_filter ld = f;
    if (first >= 0) ld.from_day = an_month_first_day(first - extra >= 0 ? first - extra : 0);
    cirrus_err err = {{0}};
    cirrus_status st = an_store_read(j->s, &ld, &c->data, &err);
    if (st) {
        adm_fail(j, st, &err);
        return false;
    }
    if (has_from && !has_month) { /* context months load whole; inside the period only days from `from` on */
        size_t k = 0;
        for (size_t i = 0; i < c->data.n; i++) {
            const an_record *r = &c->data.r[i];
            if (!(r->day != AN_NO_DAY && r->month >= first && r->day < f.from_day)) c->data.r[k++] = *r;
        }
        c->data.n = k;
    }
    int32_t dmin = INT32_MAX, dmax = -1;
    for (size_t i = 0; i < c->data.n; i++) {
        if (c->data.r[i].month < dmin) dmin = c->data.r[i].month;
        if (c->data.r[i].month > dmax) dmax = c->data.r[i].month;
    }
    if (dmax < 0) { /* no usage at all: the current month, empty */
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        dmin = dmax = (int32_t)((tm.tm_year + 1900) * 12 + tm.tm_mon);
    }
    bool ctx_month = first >= 0;
    if (first < 0) first = last >= 0 && dmin > last ? last : dmin;
    if (last < 0) last = dmax < first ? first : dmax;
    if (last < first) last = first;
    if (last - first >= AN_MONTHS_MAX - 12) {
        adm_error(j, API_E_INVALID, "from", "The period spans more than %d months.", AN_MONTHS_MAX - 12);
        return false;
    }
    int32_t cube_first = ctx_month ? (first - extra >= 0 ? first - extra : 0) : first;
    c->r0 = kind == RV_FORECAST ? 0 : (size_t)(first - cube_first);
    c->from_day = f.from_day != AN_NO_DAY ? f.from_day : an_month_first_day(first);
    c->to_day = f.to_day != AN_NO_DAY ? f.to_day : an_month_first_day(last) + an_month_days(last) - 1;
    snprintf(c->source, sizeof c->source, "store %s", store_location(j->s));
    if ((st = an_cube_build(c->data.r, c->data.n, cube_first, last, &c->cube, &err))) {
        adm_fail(j, st, &err);
        return false;
    }
    return true;
}

static void ctx_free(rv_ctx *c) {
    an_cube_free(c->cube);
    an_data_free(&c->data);
}

/* Per-tenant scratch: a revenue vector, names and a rank order (A5). */
typedef struct {
    size_t n;
    int64_t *rev;
    const char **names;
    size_t *order;
} tvec;

static bool tvec_init(tvec *v, const an_cube *cube) {
    v->n = cube->n_tenants;
    size_t k = v->n ? v->n : 1;
    v->rev = calloc(k, sizeof *v->rev);
    v->names = calloc(k, sizeof *v->names);
    v->order = calloc(k, sizeof *v->order);
    if (!v->rev || !v->names || !v->order) return false;
    for (size_t t = 0; t < v->n; t++) v->names[t] = cube->tenants[t].name;
    return true;
}

static void tvec_free(tvec *v) {
    free(v->rev);
    free(v->names);
    free(v->order);
}

/* Report-period revenue per tenant, ranked. */
static bool tvec_period(adm_job *j, const rv_ctx *c, tvec *v) {
    cirrus_err err = {{0}};
    if (!tvec_init(v, c->cube)) {
        adm_error(j, API_E_INTERNAL, NULL, "Out of memory.");
        return false;
    }
    cirrus_status st = an_cube_tenant_revenue(c->cube, c->r0, c->cube->n_months - 1, v->rev, &err);
    if (st) {
        adm_fail(j, st, &err);
        return false;
    }
    an_rank(v->rev, v->names, v->n, v->order);
    return true;
}

/* ---- revenue -------------------------------------------------------------------------------------- */

static json_t *totals_json(const an_totals *t) {
    return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "revenue", (json_int_t)t->revenue, "simulated_revenue",
                     (json_int_t)t->simulated_revenue, "tokens", (json_int_t)an_tokens(t), "prompt_tokens",
                     (json_int_t)t->prompt_tokens, "cached_tokens", (json_int_t)t->cached_tokens, "completion_tokens",
                     (json_int_t)t->completion_tokens, "requests", (json_int_t)t->requests);
}

static json_t *dimension_json(const rv_ctx *c, const an_series *rows, size_t n, bool tenants, int64_t total) {
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
        for (size_t m = c->r0; m < c->cube->n_months; m++) rev[i] += rows[i].months[m].revenue;
    }
    an_rank(rev, names, n, order);
    for (size_t k = 0; k < n; k++) {
        const an_series *s = &rows[order[k]];
        an_totals t = {0};
        json_t *months = json_array();
        for (size_t m = c->r0; m < c->cube->n_months; m++) {
            const an_totals *x = &s->months[m];
            t.revenue += x->revenue, t.simulated_revenue += x->simulated_revenue, t.requests += x->requests;
            t.prompt_tokens += x->prompt_tokens, t.cached_tokens += x->cached_tokens, t.completion_tokens += x->completion_tokens;
            char mon[8];
            month_of(c, m, mon);
            double g = 0;
            bool gd = m > 0 && an_growth(s->months[m - 1].revenue, x->revenue, &g);
            int64_t mt = c->cube->total[m].revenue;
            json_array_append_new(months, json_pack("{s:s,s:I,s:o,s:o,s:I,s:I}", "month", mon, "revenue", (json_int_t)x->revenue,
                                                    "share", real(an_share(x->revenue, mt), 6, mt > 0), "growth", real(g, 6, gd),
                                                    "tokens", (json_int_t)an_tokens(x), "requests", (json_int_t)x->requests));
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

static json_t *head(const rv_ctx *c, const char *report) {
    char from[11], to[11];
    period_strings(c, from, to);
    return json_pack("{s:s,s:s,s:s,s:s,s:s}", "report", report, "from", from, "to", to, "currency_unit", "micro",
                     "source", c->source);
}

void adm_report_revenue(adm_job *j) {
    rv_ctx c;
    if (!load(j, RV_REVENUE, &c)) {
        ctx_free(&c);
        return;
    }
    const an_cube *cube = c.cube;
    an_totals pt = period_totals(&c);
    json_t *months = json_array();
    for (size_t m = c.r0; m < cube->n_months; m++) {
        char mon[8];
        month_of(&c, m, mon);
        double g = 0;
        bool gd = m > 0 && an_growth(cube->total[m - 1].revenue, cube->total[m].revenue, &g);
        size_t active = 0;
        for (size_t t = 0; t < cube->n_tenants; t++) active += cube->tenants[t].months[m].revenue > 0;
        json_t *o = json_pack("{s:s}", "month", mon);
        json_object_update_new(o, totals_json(&cube->total[m]));
        json_object_set_new(o, "growth", real(g, 6, gd));
        json_object_set_new(o, "tenants_with_revenue", json_integer((json_int_t)active));
        json_object_set_new(o, "partial", json_boolean(month_partial(&c, m)));
        json_array_append_new(months, o);
    }
    json_t *root = head(&c, "revenue");
    json_object_set_new(root, "total", totals_json(&pt));
    json_object_set_new(root, "months", months);
    json_object_set_new(root, "tenants", dimension_json(&c, cube->tenants, cube->n_tenants, true, pt.revenue));
    json_object_set_new(root, "models", dimension_json(&c, cube->models, cube->n_models, false, pt.revenue));
    json_object_set_new(root, "plans", dimension_json(&c, cube->plans, cube->n_plans, false, pt.revenue));
    json_object_set_new(root, "notes", notes(&c));
    adm_json(j, 200, root);
    ctx_free(&c);
}

/* ---- concentration ---------------------------------------------------------------------------------- */

static json_t *conc_json(const an_conc *x) {
    return json_pack("{s:I,s:I,s:o,s:s,s:o,s:o,s:o,s:o,s:I}", "revenue", (json_int_t)x->total, "tenants_with_revenue",
                     (json_int_t)x->n, "hhi", real(x->hhi, 2, x->defined), "hhi_band", an_hhi_band_str(x->band),
                     "top1_share", real(x->top1, 6, x->defined), "top5_share", real(x->top5, 6, x->defined),
                     "top10_share", real(x->top10, 6, x->defined), "gini", real(x->gini, 4, x->defined),
                     "major_customers_count", (json_int_t)x->n_major);
}

static json_t *majors_json(const tvec *v, const int64_t *rev, int64_t total) {
    json_t *a = json_array();
    for (size_t k = 0; k < v->n; k++)
        if (an_is_major(rev[v->order[k]], total)) json_array_append_new(a, json_string(v->names[v->order[k]]));
    return a;
}

static json_t *tenants_json(const rv_ctx *c, const tvec *v, int64_t total) {
    json_t *a = json_array();
    int64_t cum = 0;
    for (size_t k = 0; k < v->n; k++) {
        size_t t = v->order[k];
        cum += v->rev[t];
        json_array_append_new(a, json_pack("{s:I,s:s,s:s,s:I,s:o,s:o,s:b}", "rank", (json_int_t)k + 1, "name", v->names[t],
                                           "plan", c->cube->tenants[t].plan, "revenue", (json_int_t)v->rev[t], "share",
                                           real(an_share(v->rev[t], total), 6, total > 0), "cumulative_share",
                                           real(an_share(cum, total), 6, total > 0), "major", an_is_major(v->rev[t], total)));
    }
    return a;
}

/* One month's concentration (and the month before's band), as the trend's entries. */
static json_t *trend_entry(adm_job *j, const rv_ctx *c, const tvec *v, size_t m) {
    size_t k = v->n ? v->n : 1;
    tvec mv = {v->n, calloc(k, sizeof(int64_t)), v->names, calloc(k, sizeof(size_t))};
    int64_t *prev = calloc(k, sizeof *prev);
    json_t *o = NULL;
    an_conc mc, pc = {0};
    cirrus_err err = {{0}};
    if (!mv.rev || !mv.order || !prev) goto out;
    for (size_t t = 0; t < v->n; t++) {
        mv.rev[t] = c->cube->tenants[t].months[m].revenue;
        prev[t] = m > 0 ? c->cube->tenants[t].months[m - 1].revenue : 0;
    }
    cirrus_status st = an_concentration(mv.rev, v->n, &mc, &err);
    if (!st && m > 0) st = an_concentration(prev, v->n, &pc, &err);
    if (st) {
        adm_fail(j, st, &err);
        goto out;
    }
    an_rank(mv.rev, mv.names, mv.n, mv.order);
    char mon[8];
    month_of(c, m, mon);
    o = json_pack("{s:s}", "month", mon);
    json_object_update_new(o, conc_json(&mc));
    json_object_set_new(o, "hhi_band_changed", json_boolean(m > 0 && mc.defined && pc.defined && mc.band != pc.band));
    json_object_set_new(o, "major_customers", majors_json(&mv, mv.rev, mc.total));
    json_object_set_new(o, "partial", json_boolean(month_partial(c, m)));
out:
    free(mv.rev);
    free(mv.order);
    free(prev);
    return o;
}

/* cut_pct in [0, 100] to basis points, as the CLI's --cut (rounded to a basis point). */
static bool cut_bp(adm_job *j, int32_t *bp) {
    const char *s = adm_arg(j, ADM_A_CUT);
    if (!s || !*s) {
        *bp = 10000; /* no cut given: the tenant leaves */
        return true;
    }
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= 0 && v <= 100)) {
        adm_error(j, API_E_INVALID, "cut_pct", "cut_pct must be a percentage in [0, 100].");
        return false;
    }
    *bp = (int32_t)llround(v * 100);
    return true;
}

void adm_report_concentration(adm_job *j) {
    rv_ctx c;
    tvec v = {0}, w = {0};
    const char *whatif = adm_arg(j, ADM_A_WHATIF);
    int32_t bp = 10000;
    if (whatif && *whatif && !cut_bp(j, &bp)) return;
    if (!load(j, RV_CONC, &c) || !tvec_period(j, &c, &v)) goto out;
    an_conc now;
    cirrus_err err = {{0}};
    cirrus_status st = an_concentration(v.rev, v.n, &now, &err);
    if (st) {
        adm_fail(j, st, &err);
        goto out;
    }
    json_t *trend = json_array();
    for (size_t m = c.r0; m < c.cube->n_months; m++) {
        json_t *e = trend_entry(j, &c, &v, m);
        if (!e) {
            json_decref(trend);
            if (!j->out) adm_error(j, API_E_INTERNAL, NULL, "Out of memory.");
            goto out;
        }
        json_array_append_new(trend, e);
    }
    json_t *root = head(&c, "concentration");
    json_object_update_new(root, conc_json(&now));
    json_object_set_new(root, "total_revenue", json_integer(now.total));
    json_object_set_new(root, "major_customers", majors_json(&v, v.rev, now.total));
    json_object_set_new(root, "tenants", tenants_json(&c, &v, now.total));
    json_object_set_new(root, "trend", trend);
    if (whatif && *whatif) {
        ptrdiff_t idx = an_cube_tenant(c.cube, whatif);
        an_whatif wi;
        if (idx < 0) {
            json_decref(root);
            adm_error(j, API_E_INVALID, "whatif", "What-if: tenant '%.64s' has no usage in the period.", whatif);
            goto out;
        }
        if ((st = an_whatif_compute(v.rev, v.n, (size_t)idx, bp, &wi, &err)) || !tvec_init(&w, c.cube)) {
            json_decref(root);
            if (st) adm_fail(j, st, &err);
            else adm_error(j, API_E_INTERNAL, NULL, "Out of memory.");
            goto out;
        }
        memcpy(w.rev, v.rev, v.n * sizeof *w.rev);
        w.rev[idx] = wi.revenue_after;
        an_rank(w.rev, w.names, w.n, w.order);
        json_t *o = json_pack("{s:s,s:o,s:b,s:I,s:I,s:I,s:I,s:I}", "tenant", whatif, "cut_pct", real(bp / 100.0, 2, true),
                              "leaves", bp == 10000, "tenant_revenue_before", (json_int_t)wi.revenue_before,
                              "tenant_revenue_after", (json_int_t)wi.revenue_after, "revenue_before",
                              (json_int_t)wi.before.total, "revenue_after", (json_int_t)wi.after.total, "revenue_change",
                              (json_int_t)(wi.after.total - wi.before.total));
        json_object_set_new(o, "revenue_change_share",
                            real(-an_share(wi.before.total - wi.after.total, wi.before.total), 6, wi.before.defined));
        json_object_set_new(o, "before", conc_json(&wi.before));
        json_object_set_new(o, "after", conc_json(&wi.after));
        json_object_set_new(o, "major_customers_after", majors_json(&w, w.rev, wi.after.total));
        json_object_set_new(root, "whatif", o);
    }
    json_object_set_new(root, "notes", notes(&c));
    adm_json(j, 200, root);
out:
    tvec_free(&v);
    tvec_free(&w);
    ctx_free(&c);
}

/* ---- forecast ------------------------------------------------------------------------------------- */

static const char *method_note(const an_forecast *f, char *buf, size_t cap) {
    if (f->method == AN_FC_OLS)
        snprintf(buf, cap, "OLS linear trend over the last %zu months; %d%% prediction interval from the residuals "
                           "(Student t, %zu degrees of freedom)", f->n_used, f->level, f->n_used - 2);
    else if (f->method == AN_FC_NAIVE)
        snprintf(buf, cap, "only %zu month(s) of history: naive forecast (last month carried forward); the interval is a "
                           "heuristic, last +/- max(50%% of last, z * last change) * sqrt(h), not a statistical interval",
                 f->n_used);
    else
        snprintf(buf, cap, "no revenue in the history: nothing to forecast");
    return buf;
}

static json_t *fc_json(adm_job *j, const rv_ctx *c, const char *name, const an_totals *months, int horizon, int level) {
    size_t n = c->cube->n_months - c->r0;
    int64_t *y = calloc(n ? n : 1, sizeof *y);
    an_forecast f;
    cirrus_err err = {{0}};
    if (!y) return NULL;
    for (size_t i = 0; i < n; i++) y[i] = months[c->r0 + i].revenue;
    cirrus_status st = an_forecast_series(y, n, horizon, level, &f, &err);
    free(y);
    if (st) {
        adm_fail(j, st, &err);
        return NULL;
    }
    char note[400], mon[8];
    json_t *pts = json_array();
    int32_t next = c->cube->first_month + (int32_t)c->cube->n_months;
    for (int k = 0; k < f.horizon; k++) {
        an_month_format(next + k, mon);
        json_array_append_new(pts, json_pack("{s:s,s:I,s:I,s:I}", "month", mon, "revenue", (json_int_t)f.point[k], "lower",
                                             (json_int_t)f.lower[k], "upper", (json_int_t)f.upper[k]));
    }
    json_t *o = json_pack("{s:s,s:s,s:I,s:b,s:s,s:o}", "name", name, "method", an_fc_method_str(f.method),
                          "history_months", (json_int_t)f.n_used, "short_history", f.short_history, "note",
                          method_note(&f, note, sizeof note), "points", pts);
    if (o && f.method == AN_FC_OLS) {
        json_object_set_new(o, "slope_per_month", real(f.slope, 2, true));
        json_object_set_new(o, "residual_sd", real(f.resid_sd, 2, true));
    }
    return o;
}

static bool int_arg(adm_job *j, adm_arg_id id, const char *name, int lo, int hi, int dflt, int *out) {
    const char *s = adm_arg(j, id);
    *out = dflt;
    if (!s || !*s) return true;
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < lo || v > hi) {
        adm_error(j, API_E_INVALID, name, "%s must be an integer in [%d, %d].", name, lo, hi);
        return false;
    }
    *out = (int)v;
    return true;
}

void adm_report_forecast(adm_job *j) {
    int horizon, level;
    if (!int_arg(j, ADM_A_HORIZON, "horizon", 1, AN_FC_HORIZON_MAX, 3, &horizon) ||
        !int_arg(j, ADM_A_LEVEL, "level", 80, 99, 95, &level))
        return;
    if (level != 80 && level != 90 && level != 95 && level != 99) {
        adm_error(j, API_E_INVALID, "level", "level must be 80, 90, 95 or 99.");
        return;
    }
    rv_ctx c;
    tvec v = {0};
    if (!load(j, RV_FORECAST, &c) || !tvec_period(j, &c, &v)) goto out;
    char from[8], to[8];
    month_of(&c, c.r0, from);
    month_of(&c, c.cube->n_months - 1, to);
    json_t *total = fc_json(j, &c, "total", c.cube->total, horizon, level), *tenants = json_array();
    for (size_t k = 0; k < v.n && total; k++) {
        size_t t = v.order[k];
        if (v.rev[t] == 0) continue; /* no revenue in the history: nothing to say about it */
        json_t *o = fc_json(j, &c, v.names[t], c.cube->tenants[t].months, horizon, level);
        if (!o) {
            json_decref(total);
            total = NULL;
        }
        json_array_append_new(tenants, o);
    }
    if (!total) {
        json_decref(tenants);
        if (!j->out) adm_error(j, API_E_INTERNAL, NULL, "Out of memory.");
        goto out;
    }
    json_t *root = json_pack("{s:s,s:{s:s,s:s,s:I},s:I,s:I,s:s,s:s}", "report", "forecast", "history", "from", from, "to", to,
                             "months", (json_int_t)(c.cube->n_months - c.r0), "horizon", (json_int_t)horizon, "level",
                             (json_int_t)level, "currency_unit", "micro", "source", c.source);
    json_object_set_new(root, "total", total);
    json_object_set_new(root, "tenants", tenants);
    json_t *nt = notes(&c);
    json_array_append_new(nt, json_string("the total is forecast from the total series, not as the sum of the tenants' "
                                          "forecasts (their intervals do not add up)"));
    if (month_partial(&c, c.cube->n_months - 1))
        json_array_append_new(nt, json_string("the last history month is partial, which pulls the forecast down"));
    json_object_set_new(root, "notes", nt);
    adm_json(j, 200, root);
out:
    tvec_free(&v);
    ctx_free(&c);
}

/* ---- alerts ---------------------------------------------------------------------------------------- */

static void money2(char *buf, size_t cap, int64_t micro) { /* the CLI's rp_money: 1,234.57 */
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

static void alert_message(const an_alert *a, char *buf, size_t cap) {
    char x[40], y[40];
    switch (a->kind) {
    case AN_ALERT_HHI_BAND:
        snprintf(buf, cap, "HHI moved from %.2f (%s) to %.2f (%s)", a->previous, an_hhi_band_str(a->prev_band), a->value,
                 an_hhi_band_str(a->band));
        break;
    case AN_ALERT_SHARE:
        snprintf(buf, cap, "%s holds %.2f%% of the month's revenue (threshold %.2f%%)", a->tenant, 100 * a->value, 100 * a->threshold);
        break;
    case AN_ALERT_REVENUE_DROP:
        money2(x, sizeof x, a->prev_amount);
        money2(y, sizeof y, a->amount);
        snprintf(buf, cap, "%s's revenue fell %.1f%% month over month (%s -> %s; threshold %.2f%%)", a->tenant, 100 * a->value,
                 x, y, 100 * a->threshold);
        break;
    case AN_ALERT_TOKENS_DROP:
        snprintf(buf, cap, "%s's token usage fell %.1f%% month over month (%lld -> %lld tokens; threshold %.2f%%)", a->tenant,
                 100 * a->value, (long long)a->prev_amount, (long long)a->amount, 100 * a->threshold);
        break;
    case AN_ALERT_SOFT_BUDGET:
        money2(x, sizeof x, a->amount);
        money2(y, sizeof y, a->prev_amount);
        snprintf(buf, cap, "%s reached its soft budget: spent %s of %s (%.1f%%)", a->tenant, x, y, 100 * a->value);
        break;
    }
}

static bool pct_bp(adm_job *j, adm_arg_id id, const char *name, int32_t *bp) {
    const char *s = adm_arg(j, id);
    if (!s || !*s) return true; /* keep the default */
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= 0 && v <= 100)) {
        adm_error(j, API_E_INVALID, name, "%s must be a percentage in [0, 100].", name);
        return false;
    }
    *bp = (int32_t)llround(v * 100);
    return true;
}

void adm_report_alerts(adm_job *j) {
    an_alert_config cfg;
    an_alert_config_default(&cfg);
    const char *hb = adm_arg(j, ADM_A_HHI_BAND);
    if (!pct_bp(j, ADM_A_SHARE, "share_pct", &cfg.share_bp) || !pct_bp(j, ADM_A_LARGE, "large_pct", &cfg.large_bp) ||
        !pct_bp(j, ADM_A_DROP, "drop_pct", &cfg.drop_bp))
        return;
    if (hb && (!strcmp(hb, "0") || !strcmp(hb, "false"))) cfg.hhi_band = false;
    rv_ctx c;
    an_budget *b = NULL;
    json_t *list = json_array();
    size_t count = 0;
    if (!load(j, RV_ALERTS, &c)) goto out;
    if (!(b = calloc(c.data.n_budgets ? c.data.n_budgets : 1, sizeof *b))) {
        adm_error(j, API_E_INTERNAL, NULL, "Out of memory.");
        goto out;
    }
    for (size_t m = c.r0; m < c.cube->n_months; m++) {
        for (size_t i = 0; i < c.data.n_budgets; i++) {
            b[i] = c.data.budgets[i];
            ptrdiff_t t = an_cube_tenant(c.cube, b[i].tenant);
            b[i].spend = t >= 0 ? c.cube->tenants[t].months[m].revenue : 0; /* list-price cost, as budgets are */
        }
        an_alert *a;
        size_t na;
        cirrus_err err = {{0}};
        cirrus_status st = an_alerts_month(c.cube, m, &cfg, b, c.data.n_budgets, &a, &na, &err);
        if (st) {
            adm_fail(j, st, &err);
            goto out;
        }
        for (size_t i = 0; i < na; i++) {
            char mon[8], msg[400];
            an_month_format(a[i].month, mon);
            alert_message(&a[i], msg, sizeof msg);
            bool hhi = a[i].kind == AN_ALERT_HHI_BAND;
            int dec = hhi ? 2 : 6;
            json_t *o = json_pack("{s:s,s:s,s:o,s:s,s:o,s:o,s:o,s:I,s:I}", "month", mon, "kind", an_alert_kind_str(a[i].kind),
                                  "tenant", hhi ? json_null() : json_string(a[i].tenant), "message", msg, "value",
                                  real(a[i].value, dec, true), "previous",
                                  real(a[i].previous, dec, a[i].kind == AN_ALERT_SHARE || hhi), "threshold",
                                  real(a[i].threshold, 6, !hhi), "amount", (json_int_t)a[i].amount, "previous_amount",
                                  (json_int_t)a[i].prev_amount);
            if (o && hhi) {
                json_object_set_new(o, "band", json_string(an_hhi_band_str(a[i].band)));
                json_object_set_new(o, "previous_band", json_string(an_hhi_band_str(a[i].prev_band)));
            }
            json_array_append_new(list, o);
        }
        count += na;
        free(a);
    }
    char from[11], to[11];
    period_strings(&c, from, to);
    json_t *root = json_pack("{s:s,s:s,s:s,s:s}", "report", "alerts", "from", from, "to", to, "source", c.source);
    json_object_set_new(root, "config", json_pack("{s:o,s:o,s:o,s:b}", "share_threshold_pct", real(cfg.share_bp / 100.0, 2, true),
                                                  "large_share_pct", real(cfg.large_bp / 100.0, 2, true), "drop_pct",
                                                  real(cfg.drop_bp / 100.0, 2, true), "hhi_band", cfg.hhi_band));
    json_object_set_new(root, "count", json_integer((json_int_t)count));
    json_object_set_new(root, "alerts", list);
    list = NULL;
    json_object_set_new(root, "notes", notes(&c));
    adm_json(j, 200, root);
out:
    json_decref(list);
    free(b);
    ctx_free(&c);
}
