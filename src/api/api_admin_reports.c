/*
 * GET /v1/admin/reports/revenue|concentration|forecast|alerts: `cirrus report ... --json` over HTTP.
 * The numbers and the JSON come from the same place as the CLI's: the store through an_store_read,
 * an analytics cube, and analytics' report builders (an_report_*_json, which `cirrus report --json`
 * prints), so a script can switch between the two and the replies cannot drift from the CLI's.
 * This file parses the query, has analytics load the period and sends what analytics built.
 * The period rules are the CLI's too, from the same an_report_load: month=YYYY-MM, or from/to (days;
 * here a YYYY-MM also works, meaning that month's first or last day), or neither for every month
 * with usage; growth, band changes and alerts load the month before the period as context, and a
 * forecast for one month uses the twelve months ending with it as history.
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
    an_report_input in;         /* the period, its usage and cube (in.rep is the report) */
    char source[600];
} rv_ctx;

/* ---- loading: analytics' period rules (an_report_load), as the CLI's ------------------------------ */

static cirrus_status read_store(void *s, const an_filter *f, an_data *out, cirrus_err *err) {
    return an_store_read(s, f, out, err);
}

static bool load(adm_job *j, rv_kind kind, rv_ctx *c) {
    memset(c, 0, sizeof *c);
    const char *month = adm_arg(j, ADM_A_MONTH), *ex = adm_arg(j, ADM_A_EXCL_SIM);
    an_period p = {.month = -1, .forecast = kind == RV_FORECAST,
                   .exclude_simulated = ex && (!strcmp(ex, "1") || !strcmp(ex, "true"))};
    if (!adm_period_days(j, &p.from_day, &p.to_day)) return false;
    if (month && *month) p.month = an_day_month(p.from_day);
    p.empty_month = an_day_month((int64_t)(time(NULL) / 86400));
    cirrus_err err = {{0}};
    cirrus_status st = an_report_load(&p, read_store, j->s, &c->in, &err);
    if (st) {
        adm_fail(j, st, &err);
        return false;
    }
    if (c->in.last_month - c->in.first_month >= AN_MONTHS_MAX - 12) {
        adm_error(j, API_E_INVALID, "from", "The period spans more than %d months.", AN_MONTHS_MAX - 12);
        return false;
    }
    snprintf(c->source, sizeof c->source, "store %s", store_location(j->s));
    c->in.rep.source = c->source;
    if ((st = an_report_build(&c->in, &err))) {
        adm_fail(j, st, &err);
        return false;
    }
    return true;
}

static void ctx_free(rv_ctx *c) { an_report_input_free(&c->in); }

/* What the query asked of a report beyond its period. */
typedef struct {
    const char *whatif;         /* concentration: NULL for no what-if */
    int32_t cut_bp;
    int horizon, level;         /* forecast */
    an_alert_config alerts;
} rv_opts;

/* Loads the period and replies with the report analytics builds over it (the JSON `cirrus report
 * --json` prints), or with the error that stopped it. */
static void report(adm_job *j, rv_kind kind, const rv_opts *o) {
    rv_ctx c;
    if (!load(j, kind, &c)) {
        ctx_free(&c);
        return;
    }
    const an_report *r = &c.in.rep;
    json_t *root = NULL;
    cirrus_err err = {{0}};
    cirrus_status st = CIRRUS_OK;
    if (kind == RV_REVENUE) {
        st = an_report_revenue_json(r, &root, &err);
    } else if (kind == RV_CONC) {
        an_conc_report x;
        if (o->whatif && an_cube_tenant(r->cube, o->whatif) < 0) { /* checked here to name the parameter */
            adm_error(j, API_E_INVALID, "whatif", "What-if: tenant '%.64s' has no usage in the period.", o->whatif);
            ctx_free(&c);
            return;
        }
        if (!(st = an_report_concentration(r, o->whatif, o->cut_bp, &x, &err))) {
            st = an_report_concentration_json(r, &x, &root, &err);
            an_conc_report_free(&x);
        }
    } else if (kind == RV_FORECAST) {
        an_fc_report x;
        if (!(st = an_report_forecast(r, o->horizon, o->level, &x, &err))) {
            st = an_report_forecast_json(r, &x, &root, &err);
            an_fc_report_free(&x);
        }
    } else {
        an_alert *a;
        size_t n;
        if (!(st = an_report_alerts(r, &o->alerts, c.in.data.budgets, c.in.data.n_budgets, &a, &n, &err))) {
            st = an_report_alerts_json(r, &o->alerts, a, n, &root, &err);
            free(a);
        }
    }
    if (st != CIRRUS_OK)
        adm_fail(j, st, &err);
    else
        adm_json(j, 200, root);
    ctx_free(&c);
}

void adm_report_revenue(adm_job *j) {
    rv_opts o = {0};
    report(j, RV_REVENUE, &o);
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
    rv_opts o = {.whatif = adm_arg(j, ADM_A_WHATIF), .cut_bp = 10000};
    if (o.whatif && !*o.whatif) o.whatif = NULL;
    if (o.whatif && !cut_bp(j, &o.cut_bp)) return;
    report(j, RV_CONC, &o);
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
    rv_opts o = {0};
    if (!int_arg(j, ADM_A_HORIZON, "horizon", 1, AN_FC_HORIZON_MAX, 3, &o.horizon) ||
        !int_arg(j, ADM_A_LEVEL, "level", 80, 99, 95, &o.level))
        return;
    if (o.level != 80 && o.level != 90 && o.level != 95 && o.level != 99) {
        adm_error(j, API_E_INVALID, "level", "level must be 80, 90, 95 or 99.");
        return;
    }
    report(j, RV_FORECAST, &o);
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
    rv_opts o = {0};
    an_alert_config_default(&o.alerts);
    const char *hb = adm_arg(j, ADM_A_HHI_BAND);
    if (!pct_bp(j, ADM_A_SHARE, "share_pct", &o.alerts.share_bp) ||
        !pct_bp(j, ADM_A_LARGE, "large_pct", &o.alerts.large_bp) || !pct_bp(j, ADM_A_DROP, "drop_pct", &o.alerts.drop_bp))
        return;
    if (hb && (!strcmp(hb, "0") || !strcmp(hb, "false"))) o.alerts.hhi_band = false;
    report(j, RV_ALERTS, &o);
}
