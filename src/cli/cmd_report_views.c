/*
 * `cirrus report concentration|forecast|alerts`: the views over a loaded cube (cmd_report.c loads it).
 * Formulas and conventions are analytics.h's (A1–A8); this file ranks, labels and prints.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/report_internal.h"

/* Per-tenant scratch every view needs: a revenue vector, names and a rank order. */
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
    if (!v->rev || !v->names || !v->order) {
        cli_error("out of memory");
        return false;
    }
    for (size_t t = 0; t < v->n; t++) v->names[t] = cube->tenants[t].name;
    return true;
}

static void tvec_free(tvec *v) {
    free(v->rev);
    free(v->names);
    free(v->order);
}

static bool conc_of(const int64_t *rev, size_t n, an_conc *out) {
    cirrus_err err;
    if (an_concentration(rev, n, out, &err) != CIRRUS_OK) {
        cli_error("%s", err.msg);
        return false;
    }
    return true;
}

/* ---- concentration ------------------------------------------------------------------------------- */

static json_t *majors_json(const tvec *v, const int64_t *rev, int64_t total) {
    json_t *a = json_array();
    for (size_t k = 0; k < v->n; k++)
        if (an_is_major(rev[v->order[k]], total)) json_array_append_new(a, json_string(v->names[v->order[k]]));
    return a;
}

static json_t *conc_json(const an_conc *x) {
    return json_pack("{s:I,s:I,s:o,s:s,s:o,s:o,s:o,s:o,s:I}", "revenue", (json_int_t)x->total, "tenants_with_revenue",
                     (json_int_t)x->n, "hhi", rp_real(x->hhi, 2, x->defined), "hhi_band", an_hhi_band_str(x->band),
                     "top1_share", rp_real(x->top1, 6, x->defined), "top5_share", rp_real(x->top5, 6, x->defined),
                     "top10_share", rp_real(x->top10, 6, x->defined), "gini", rp_real(x->gini, 4, x->defined),
                     "major_customers_count", (json_int_t)x->n_major);
}

static json_t *tenants_json(const rp_ctx *c, const tvec *v, const int64_t *rev, int64_t total) {
    json_t *a = json_array();
    int64_t cum = 0;
    for (size_t k = 0; k < v->n; k++) {
        size_t t = v->order[k];
        cum += rev[t];
        json_array_append_new(a, json_pack("{s:I,s:s,s:s,s:I,s:o,s:o,s:b}", "rank", (json_int_t)k + 1, "name",
                                           v->names[t], "plan", c->cube->tenants[t].plan, "revenue", (json_int_t)rev[t],
                                           "share", rp_real(an_share(rev[t], total), 6, total > 0), "cumulative_share",
                                           rp_real(an_share(cum, total), 6, total > 0), "major", an_is_major(rev[t], total)));
    }
    return a;
}

int rp_concentration(const rp_ctx *c) {
    const an_cube *cube = c->cube;
    tvec v, w = {0};
    if (!tvec_init(&v, cube)) return 1;
    int rc = 1;
    an_conc now;
    an_whatif wi;
    bool has_wi = c->whatif_tenant != NULL;
    cirrus_err err;
    int64_t *after = NULL;
    if (!rp_period_revenue(c, v.rev) || !conc_of(v.rev, v.n, &now)) goto out;
    an_rank(v.rev, v.names, v.n, v.order);
    if (has_wi) {
        ptrdiff_t idx = an_cube_tenant(cube, c->whatif_tenant);
        if (idx < 0) {
            cli_error("what-if: tenant '%s' has no usage in the period", c->whatif_tenant);
            goto out;
        }
        if (an_whatif_compute(v.rev, v.n, (size_t)idx, c->cut_bp, &wi, &err) != CIRRUS_OK) {
            cli_error("%s", err.msg);
            goto out;
        }
        if (!tvec_init(&w, cube)) goto out;
        memcpy(w.rev, v.rev, v.n * sizeof *w.rev);
        w.rev[idx] = wi.revenue_after;
        an_rank(w.rev, w.names, w.n, w.order);
        after = w.rev;
    }
    char from[11], to[11], mon[8], a[40], b[40];
    rp_period(c, from, to);

    if (c->fmt == RP_CSV) {
        printf("scenario,rank,tenant,plan,revenue,share,cumulative_share,major\n");
        for (int s = 0; s < (has_wi ? 2 : 1); s++) {
            const tvec *x = s == 0 ? &v : &w;
            int64_t total = s == 0 ? now.total : wi.after.total, cum = 0;
            for (size_t k = 0; k < x->n; k++) {
                size_t t = x->order[k];
                if (s == 1 && x->rev[t] == 0 && (size_t)wi.tenant == t) continue; /* it left */
                cum += x->rev[t];
                printf("%s,%zu,", s == 0 ? "actual" : "whatif", k + 1);
                rp_csv_str(stdout, x->names[t]);
                putchar(',');
                rp_csv_str(stdout, cube->tenants[t].plan);
                printf(",%lld,", (long long)x->rev[t]);
                if (total > 0) printf("%.6f,%.6f", an_share(x->rev[t], total), an_share(cum, total));
                else printf(",");
                printf(",%s\n", an_is_major(x->rev[t], total) ? "true" : "false");
            }
        }
        rc = 0;
        goto out;
    }

    if (c->fmt == RP_JSON) {
        json_t *trend = json_array();
        for (size_t m = c->r0; m < cube->n_months; m++) {
            an_conc mc, pc = {0};
            int64_t *mrev = calloc(v.n ? v.n : 1, sizeof *mrev), *prev = calloc(v.n ? v.n : 1, sizeof *prev);
            if (!mrev || !prev) {
                free(mrev), free(prev);
                json_decref(trend);
                cli_error("out of memory");
                goto out;
            }
            for (size_t t = 0; t < v.n; t++) {
                mrev[t] = cube->tenants[t].months[m].revenue;
                prev[t] = m > 0 ? cube->tenants[t].months[m - 1].revenue : 0;
            }
            bool ok = conc_of(mrev, v.n, &mc) && (m == 0 || conc_of(prev, v.n, &pc));
            size_t *mo = calloc(v.n ? v.n : 1, sizeof *mo);
            if (!ok || !mo) {
                free(mrev), free(prev), free(mo);
                json_decref(trend);
                goto out;
            }
            an_rank(mrev, v.names, v.n, mo);
            tvec mv = {v.n, mrev, v.names, mo};
            rp_month(c, m, mon);
            json_t *o = json_pack("{s:s}", "month", mon);
            json_object_update_new(o, conc_json(&mc));
            json_object_set_new(o, "hhi_band_changed", json_boolean(m > 0 && mc.defined && pc.defined && mc.band != pc.band));
            json_object_set_new(o, "major_customers", majors_json(&mv, mrev, mc.total));
            json_object_set_new(o, "partial", json_boolean(rp_month_partial(c, m)));
            json_array_append_new(trend, o);
            free(mrev), free(prev), free(mo);
        }
        json_t *root = json_pack("{s:s,s:s,s:s,s:s,s:s}", "report", "concentration", "from", from, "to", to,
                                 "currency_unit", "micro", "source", c->source);
        json_object_update_new(root, conc_json(&now));
        json_object_set_new(root, "total_revenue", json_integer(now.total));
        json_object_set_new(root, "major_customers", majors_json(&v, v.rev, now.total));
        json_object_set_new(root, "tenants", tenants_json(c, &v, v.rev, now.total));
        json_object_set_new(root, "trend", trend);
        if (has_wi) {
            json_t *o = json_pack("{s:s,s:o,s:b,s:I,s:I,s:I,s:I,s:I}", "tenant", c->whatif_tenant, "cut_pct",
                                  rp_real(wi.cut_bp / 100.0, 2, true), "leaves", wi.cut_bp == 10000,
                                  "tenant_revenue_before", (json_int_t)wi.revenue_before, "tenant_revenue_after",
                                  (json_int_t)wi.revenue_after, "revenue_before", (json_int_t)wi.before.total,
                                  "revenue_after", (json_int_t)wi.after.total, "revenue_change",
                                  (json_int_t)(wi.after.total - wi.before.total));
            json_object_set_new(o, "revenue_change_share",
                                rp_real(-an_share(wi.before.total - wi.after.total, wi.before.total), 6, wi.before.defined));
            json_object_set_new(o, "before", conc_json(&wi.before));
            json_object_set_new(o, "after", conc_json(&wi.after));
            json_object_set_new(o, "major_customers_after", majors_json(&w, after, wi.after.total));
            json_object_set_new(root, "whatif", o);
        }
        json_object_set_new(root, "notes", rp_notes(c));
        rc = rp_emit_json(root);
        goto out;
    }

    rp_money(a, sizeof a, now.total);
    printf("Revenue concentration %s .. %s (%s)\n\n", from, to, c->source);
    printf("total revenue %s from %zu tenant(s)\n", a, now.n);
    if (now.defined) {
        printf("HHI %.2f (%s)   Gini %.4f\n", now.hhi, an_hhi_band_str(now.band), now.gini);
        printf("top-1 %.2f%%   top-5 %.2f%%   top-10 %.2f%%\n", 100 * now.top1, 100 * now.top5, 100 * now.top10);
        printf("major customers (>= 10%% of revenue):");
        for (size_t k = 0; k < v.n; k++)
            if (an_is_major(v.rev[v.order[k]], now.total))
                printf("%s %s (%.2f%%)", k ? "," : "", v.names[v.order[k]], 100 * an_share(v.rev[v.order[k]], now.total));
        printf(now.n_major ? "\n\n" : " none\n\n");
        printf("%-4s %-24s %18s %8s %8s\n", "rank", "tenant", "revenue", "share", "cum.");
        int64_t cum = 0;
        for (size_t k = 0; k < v.n; k++) {
            size_t t = v.order[k];
            cum += v.rev[t];
            rp_money(a, sizeof a, v.rev[t]);
            printf("%-4zu %-24s %18s %7.2f%% %7.2f%%\n", k + 1, v.names[t], a, 100 * an_share(v.rev[t], now.total),
                   100 * an_share(cum, now.total));
        }
    }
    printf("\n%-8s %18s %10s %-24s %7s %7s %6s\n", "month", "revenue", "HHI", "band", "top-1", "top-5", "Gini");
    for (size_t m = c->r0; m < cube->n_months; m++) {
        int64_t *mrev = calloc(v.n ? v.n : 1, sizeof *mrev);
        an_conc mc;
        if (!mrev) goto out;
        for (size_t t = 0; t < v.n; t++) mrev[t] = cube->tenants[t].months[m].revenue;
        bool ok = conc_of(mrev, v.n, &mc);
        free(mrev);
        if (!ok) goto out;
        rp_month(c, m, mon);
        rp_money(a, sizeof a, mc.total);
        if (mc.defined)
            printf("%-8s %18s %10.2f %-24s %6.2f%% %6.2f%% %6.4f\n", mon, a, mc.hhi, an_hhi_band_str(mc.band),
                   100 * mc.top1, 100 * mc.top5, mc.gini);
        else
            printf("%-8s %18s %10s %-24s\n", mon, a, "-", "undefined (no revenue)");
    }
    if (has_wi) {
        rp_money(a, sizeof a, wi.before.total);
        rp_money(b, sizeof b, wi.after.total);
        printf("\nwhat-if: %s %s", c->whatif_tenant, wi.cut_bp == 10000 ? "leaves" : "cuts its spend");
        if (wi.cut_bp != 10000) printf(" by %.2f%%", wi.cut_bp / 100.0);
        printf("\n  revenue %s -> %s (%+.2f%%)\n", a, b,
               wi.before.defined ? -100 * an_share(wi.before.total - wi.after.total, wi.before.total) : 0.0);
        if (wi.after.defined)
            printf("  HHI %.2f (%s) -> %.2f (%s)\n", wi.before.hhi, an_hhi_band_str(wi.before.band), wi.after.hhi,
                   an_hhi_band_str(wi.after.band));
        else
            printf("  no revenue left: HHI undefined\n");
    }
    putchar('\n');
    rp_print_notes(c);
    rc = 0;
out:
    tvec_free(&v);
    tvec_free(&w);
    return rc;
}

/* ---- forecast ------------------------------------------------------------------------------------- */

static const char *method_note(const an_forecast *f, char *buf, size_t cap) {
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

static bool forecast_of(const rp_ctx *c, const an_totals *months, an_forecast *f) {
    size_t n = c->cube->n_months - c->r0;
    int64_t y[AN_MONTHS_MAX];
    for (size_t i = 0; i < n; i++) y[i] = months[c->r0 + i].revenue;
    cirrus_err err;
    if (an_forecast_series(y, n, c->horizon, c->level, f, &err) != CIRRUS_OK) {
        cli_error("%s", err.msg);
        return false;
    }
    return true;
}

static json_t *fc_json(const rp_ctx *c, const char *name, const an_forecast *f) {
    char note[400], mon[8];
    json_t *pts = json_array();
    int32_t next = c->cube->first_month + (int32_t)c->cube->n_months;
    for (int k = 0; k < f->horizon; k++) {
        an_month_format(next + k, mon);
        json_array_append_new(pts, json_pack("{s:s,s:I,s:I,s:I}", "month", mon, "revenue", (json_int_t)f->point[k],
                                             "lower", (json_int_t)f->lower[k], "upper", (json_int_t)f->upper[k]));
    }
    json_t *o = json_pack("{s:s,s:s,s:I,s:b,s:s,s:o}", "name", name, "method", an_fc_method_str(f->method),
                          "history_months", (json_int_t)f->n_used, "short_history", f->short_history, "note",
                          method_note(f, note, sizeof note), "points", pts);
    if (f->method == AN_FC_OLS) {
        json_object_set_new(o, "slope_per_month", rp_real(f->slope, 2, true));
        json_object_set_new(o, "residual_sd", rp_real(f->resid_sd, 2, true));
    }
    return o;
}

static void fc_csv(const rp_ctx *c, const char *series, const an_forecast *f) {
    char mon[8];
    int32_t next = c->cube->first_month + (int32_t)c->cube->n_months;
    for (int k = 0; k < f->horizon; k++) {
        an_month_format(next + k, mon);
        rp_csv_str(stdout, series);
        printf(",%s,%zu,%s,%lld,%lld,%lld\n", an_fc_method_str(f->method), f->n_used, mon, (long long)f->point[k],
               (long long)f->lower[k], (long long)f->upper[k]);
    }
}

static void fc_text(const rp_ctx *c, const char *series, const an_forecast *f) {
    char mon[8], a[40], lo[40], hi[40], note[400];
    int32_t next = c->cube->first_month + (int32_t)c->cube->n_months;
    printf("%s: %s\n", series, method_note(f, note, sizeof note));
    for (int k = 0; k < f->horizon && f->method != AN_FC_NONE; k++) {
        an_month_format(next + k, mon);
        rp_money(a, sizeof a, f->point[k]);
        rp_money(lo, sizeof lo, f->lower[k]);
        rp_money(hi, sizeof hi, f->upper[k]);
        printf("  %s %18s   [%s .. %s]\n", mon, a, lo, hi);
    }
}

int rp_forecast(const rp_ctx *c) {
    const an_cube *cube = c->cube;
    tvec v;
    if (!tvec_init(&v, cube)) return 1;
    int rc = 1;
    an_forecast total;
    if (!rp_period_revenue(c, v.rev) || !forecast_of(c, cube->total, &total)) goto out;
    an_rank(v.rev, v.names, v.n, v.order);
    char from[8], to[8];
    rp_month(c, c->r0, from);
    rp_month(c, cube->n_months - 1, to);
    json_t *root = NULL, *tenants = NULL;
    if (c->fmt == RP_JSON) {
        tenants = json_array();
        root = json_pack("{s:s,s:{s:s,s:s,s:I},s:I,s:I,s:s,s:s}", "report", "forecast", "history", "from", from, "to", to,
                         "months", (json_int_t)(cube->n_months - c->r0), "horizon", (json_int_t)c->horizon, "level",
                         (json_int_t)c->level, "currency_unit", "micro", "source", c->source);
        json_object_set_new(root, "total", fc_json(c, "total", &total));
    } else if (c->fmt == RP_CSV) {
        printf("series,method,history_months,month,forecast,lower,upper\n");
        fc_csv(c, "total", &total);
    } else {
        printf("Revenue forecast from %s .. %s (%s), %d%% intervals\n\n", from, to, c->source, c->level);
        fc_text(c, "total", &total);
    }
    for (size_t k = 0; k < v.n; k++) {
        size_t t = v.order[k];
        if (v.rev[t] == 0) continue; /* no revenue in the history: nothing to say about it */
        an_forecast f;
        if (!forecast_of(c, cube->tenants[t].months, &f)) {
            json_decref(root);
            json_decref(tenants);
            goto out;
        }
        if (c->fmt == RP_JSON)
            json_array_append_new(tenants, fc_json(c, v.names[t], &f));
        else if (c->fmt == RP_CSV)
            fc_csv(c, v.names[t], &f);
        else
            fc_text(c, v.names[t], &f);
    }
    if (c->fmt == RP_JSON) {
        json_object_set_new(root, "tenants", tenants);
        json_t *notes = rp_notes(c);
        json_array_append_new(notes, json_string("the total is forecast from the total series, not as the sum of the "
                                                 "tenants' forecasts (their intervals do not add up)"));
        if (rp_month_partial(c, cube->n_months - 1))
            json_array_append_new(notes, json_string("the last history month is partial, which pulls the forecast down"));
        json_object_set_new(root, "notes", notes);
        rc = rp_emit_json(root);
        goto out;
    }
    if (c->fmt == RP_TEXT) {
        putchar('\n');
        rp_print_notes(c);
        printf("note: the total is forecast from the total series, not as the sum of the tenants' forecasts\n");
        if (rp_month_partial(c, cube->n_months - 1)) printf("note: the last history month is partial, which pulls the forecast down\n");
    }
    rc = 0;
out:
    tvec_free(&v);
    return rc;
}

/* ---- alerts ---------------------------------------------------------------------------------------- */

static void alert_message(const an_alert *a, char *buf, size_t cap) {
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
        rp_money(x, sizeof x, a->prev_amount);
        rp_money(y, sizeof y, a->amount);
        snprintf(buf, cap, "%s's revenue fell %.1f%% month over month (%s -> %s; threshold %.2f%%)", a->tenant,
                 100 * a->value, x, y, 100 * a->threshold);
        break;
    case AN_ALERT_TOKENS_DROP:
        snprintf(buf, cap, "%s's token usage fell %.1f%% month over month (%lld -> %lld tokens; threshold %.2f%%)",
                 a->tenant, 100 * a->value, (long long)a->prev_amount, (long long)a->amount, 100 * a->threshold);
        break;
    case AN_ALERT_SOFT_BUDGET:
        rp_money(x, sizeof x, a->amount);
        rp_money(y, sizeof y, a->prev_amount);
        snprintf(buf, cap, "%s reached its soft budget: spent %s of %s (%.1f%%)", a->tenant, x, y, 100 * a->value);
        break;
    }
}

int rp_alerts(const rp_ctx *c) {
    const an_cube *cube = c->cube;
    an_budget *b = calloc(c->n_budgets ? c->n_budgets : 1, sizeof *b);
    json_t *list = json_array();
    int rc = 1;
    size_t count = 0;
    if (!b || !list) {
        cli_error("out of memory");
        goto out;
    }
    if (c->fmt == RP_CSV) printf("month,kind,tenant,value,previous,threshold,amount,previous_amount,message\n");
    for (size_t m = c->r0; m < cube->n_months; m++) {
        for (size_t i = 0; i < c->n_budgets; i++) {
            b[i] = c->budgets[i];
            ptrdiff_t t = an_cube_tenant(cube, b[i].tenant);
            b[i].spend = t >= 0 ? cube->tenants[t].months[m].revenue : 0; /* list-price cost, as budgets are */
        }
        an_alert *a;
        size_t na;
        cirrus_err err;
        if (an_alerts_month(cube, m, &c->alert_cfg, b, c->n_budgets, &a, &na, &err) != CIRRUS_OK) {
            cli_error("%s", err.msg);
            goto out;
        }
        for (size_t i = 0; i < na; i++) {
            char mon[8], msg[400];
            an_month_format(a[i].month, mon);
            alert_message(&a[i], msg, sizeof msg);
            bool hhi = a[i].kind == AN_ALERT_HHI_BAND;
            int dec = hhi ? 2 : 6;
            if (c->fmt == RP_JSON) {
                json_t *o = json_pack("{s:s,s:s,s:o,s:s,s:o,s:o,s:o,s:I,s:I}", "month", mon, "kind",
                                      an_alert_kind_str(a[i].kind), "tenant", hhi ? json_null() : json_string(a[i].tenant),
                                      "message", msg, "value", rp_real(a[i].value, dec, true), "previous",
                                      rp_real(a[i].previous, dec, a[i].kind == AN_ALERT_SHARE || hhi), "threshold",
                                      rp_real(a[i].threshold, 6, !hhi), "amount", (json_int_t)a[i].amount,
                                      "previous_amount", (json_int_t)a[i].prev_amount);
                if (hhi) {
                    json_object_set_new(o, "band", json_string(an_hhi_band_str(a[i].band)));
                    json_object_set_new(o, "previous_band", json_string(an_hhi_band_str(a[i].prev_band)));
                }
                json_array_append_new(list, o);
            } else if (c->fmt == RP_CSV) {
                printf("%s,%s,", mon, an_alert_kind_str(a[i].kind));
                rp_csv_str(stdout, a[i].tenant);
                printf(",%.*f,%.*f,%.6f,%lld,%lld,", dec, a[i].value, dec, a[i].previous, a[i].threshold,
                       (long long)a[i].amount, (long long)a[i].prev_amount);
                rp_csv_str(stdout, msg);
                putchar('\n');
            } else {
                printf("%s %-13s %s\n", mon, an_alert_kind_str(a[i].kind), msg);
            }
        }
        count += na;
        free(a);
    }
    char from[11], to[11];
    rp_period(c, from, to);
    if (c->fmt == RP_JSON) {
        json_t *root = json_pack("{s:s,s:s,s:s,s:s,s:{s:o,s:o,s:o,s:b},s:I,s:o,s:o}", "report", "alerts", "from", from,
                                 "to", to, "source", c->source, "config", "share_threshold_pct",
                                 rp_real(c->alert_cfg.share_bp / 100.0, 2, true), "large_share_pct",
                                 rp_real(c->alert_cfg.large_bp / 100.0, 2, true), "drop_pct",
                                 rp_real(c->alert_cfg.drop_bp / 100.0, 2, true), "hhi_band", c->alert_cfg.hhi_band,
                                 "count", (json_int_t)count, "alerts", list, "notes", rp_notes(c));
        list = NULL;
        rc = rp_emit_json(root);
        goto out;
    }
    if (c->fmt == RP_TEXT) {
        if (!count) printf("no alerts %s .. %s\n", from, to);
        putchar('\n');
        rp_print_notes(c);
    }
    rc = 0;
out:
    free(b);
    json_decref(list);
    return rc;
}
