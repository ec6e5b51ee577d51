/*
 * `cirrus report concentration|forecast|alerts`: the views over a loaded cube (cmd_report.c loads it).
 * The numbers and the JSON are analytics' (an_report_*: the admin API answers with the same JSON);
 * this file prints them as text or CSV.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "cli/report_internal.h"

/* ---- concentration ------------------------------------------------------------------------------- */

static void conc_csv(const rp_ctx *c, const an_conc_report *x) {
    printf("scenario,rank,tenant,plan,revenue,share,cumulative_share,major\n");
    for (int s = 0; s < (x->has_whatif ? 2 : 1); s++) {
        const an_ranking *k = s == 0 ? &x->rank : &x->after;
        int64_t total = s == 0 ? x->now.total : x->whatif.after.total, cum = 0;
        for (size_t i = 0; i < k->n; i++) {
            size_t t = k->order[i];
            if (s == 1 && k->rev[t] == 0 && x->whatif.tenant == t) continue; /* it left */
            cum += k->rev[t];
            printf("%s,%zu,", s == 0 ? "actual" : "whatif", i + 1);
            rp_csv_str(stdout, k->names[t]);
            putchar(',');
            rp_csv_str(stdout, c->rep.cube->tenants[t].plan);
            printf(",%lld,", (long long)k->rev[t]);
            if (total > 0) printf("%.6f,%.6f", an_share(k->rev[t], total), an_share(cum, total));
            else printf(",");
            printf(",%s\n", an_is_major(k->rev[t], total) ? "true" : "false");
        }
    }
}

static int conc_text(const rp_ctx *c, const an_conc_report *x) {
    const an_cube *cube = c->rep.cube;
    const an_ranking *v = &x->rank;
    const an_conc *now = &x->now;
    char from[11], to[11], mon[8], a[40], b[40];
    an_report_period(&c->rep, from, to);
    an_money_format(a, sizeof a, now->total);
    printf("Revenue concentration %s .. %s (%s)\n\n", from, to, c->rep.source);
    printf("total revenue %s from %zu tenant(s)\n", a, now->n);
    if (now->defined) {
        printf("HHI %.2f (%s)   Gini %.4f\n", now->hhi, an_hhi_band_str(now->band), now->gini);
        printf("top-1 %.2f%%   top-5 %.2f%%   top-10 %.2f%%\n", 100 * now->top1, 100 * now->top5, 100 * now->top10);
        printf("major customers (>= 10%% of revenue):");
        for (size_t k = 0; k < v->n; k++)
            if (an_is_major(v->rev[v->order[k]], now->total))
                printf("%s %s (%.2f%%)", k ? "," : "", v->names[v->order[k]],
                       100 * an_share(v->rev[v->order[k]], now->total));
        printf(now->n_major ? "\n\n" : " none\n\n");
        printf("%-4s %-24s %18s %8s %8s\n", "rank", "tenant", "revenue", "share", "cum.");
        int64_t cum = 0;
        for (size_t k = 0; k < v->n; k++) {
            size_t t = v->order[k];
            cum += v->rev[t];
            an_money_format(a, sizeof a, v->rev[t]);
            printf("%-4zu %-24s %18s %7.2f%% %7.2f%%\n", k + 1, v->names[t], a, 100 * an_share(v->rev[t], now->total),
                   100 * an_share(cum, now->total));
        }
    }
    printf("\n%-8s %18s %10s %-24s %7s %7s %6s\n", "month", "revenue", "HHI", "band", "top-1", "top-5", "Gini");
    for (size_t m = c->rep.r0; m < cube->n_months; m++) {
        int64_t *mrev = calloc(v->n ? v->n : 1, sizeof *mrev);
        an_conc mc;
        cirrus_err err;
        if (!mrev) {
            cli_error("out of memory");
            return 1;
        }
        for (size_t t = 0; t < v->n; t++) mrev[t] = cube->tenants[t].months[m].revenue;
        cirrus_status st = an_concentration(mrev, v->n, &mc, &err);
        free(mrev);
        if (st != CIRRUS_OK) {
            cli_error("%s", err.msg);
            return 1;
        }
        an_report_month(&c->rep, m, mon);
        an_money_format(a, sizeof a, mc.total);
        if (mc.defined)
            printf("%-8s %18s %10.2f %-24s %6.2f%% %6.2f%% %6.4f\n", mon, a, mc.hhi, an_hhi_band_str(mc.band),
                   100 * mc.top1, 100 * mc.top5, mc.gini);
        else
            printf("%-8s %18s %10s %-24s\n", mon, a, "-", "undefined (no revenue)");
    }
    if (x->has_whatif) {
        const an_whatif *wi = &x->whatif;
        an_money_format(a, sizeof a, wi->before.total);
        an_money_format(b, sizeof b, wi->after.total);
        printf("\nwhat-if: %s %s", c->whatif_tenant, wi->cut_bp == 10000 ? "leaves" : "cuts its spend");
        if (wi->cut_bp != 10000) printf(" by %.2f%%", wi->cut_bp / 100.0);
        printf("\n  revenue %s -> %s (%+.2f%%)\n", a, b,
               wi->before.defined ? -100 * an_share(wi->before.total - wi->after.total, wi->before.total) : 0.0);
        if (wi->after.defined)
            printf("  HHI %.2f (%s) -> %.2f (%s)\n", wi->before.hhi, an_hhi_band_str(wi->before.band), wi->after.hhi,
                   an_hhi_band_str(wi->after.band));
        else
            printf("  no revenue left: HHI undefined\n");
    }
    putchar('\n');
    rp_print_notes(c);
    return 0;
}

int rp_concentration(const rp_ctx *c) {
    an_conc_report x;
    cirrus_err err;
    if (an_report_concentration(&c->rep, c->whatif_tenant, c->cut_bp, &x, &err) != CIRRUS_OK) {
        cli_error("%s", err.msg);
        return 1;
    }
    int rc = 0;
    if (c->fmt == RP_JSON) {
        json_t *root;
        cirrus_status st = an_report_concentration_json(&c->rep, &x, &root, &err);
        rc = rp_emit_json(st, root, &err);
    } else if (c->fmt == RP_CSV) {
        conc_csv(c, &x);
    } else {
        rc = conc_text(c, &x);
    }
    an_conc_report_free(&x);
    return rc;
}

/* ---- forecast ------------------------------------------------------------------------------------- */

static void fc_csv(const rp_ctx *c, const char *series, const an_forecast *f) {
    char mon[8];
    int32_t next = c->rep.cube->first_month + (int32_t)c->rep.cube->n_months;
    for (int k = 0; k < f->horizon; k++) {
        an_month_format(next + k, mon);
        rp_csv_str(stdout, series);
        printf(",%s,%zu,%s,%lld,%lld,%lld\n", an_fc_method_str(f->method), f->n_used, mon, (long long)f->point[k],
               (long long)f->lower[k], (long long)f->upper[k]);
    }
}

static void fc_text(const rp_ctx *c, const char *series, const an_forecast *f) {
    char mon[8], a[40], lo[40], hi[40], note[400];
    int32_t next = c->rep.cube->first_month + (int32_t)c->rep.cube->n_months;
    printf("%s: %s\n", series, an_fc_note(f, note, sizeof note));
    for (int k = 0; k < f->horizon && f->method != AN_FC_NONE; k++) {
        an_month_format(next + k, mon);
        an_money_format(a, sizeof a, f->point[k]);
        an_money_format(lo, sizeof lo, f->lower[k]);
        an_money_format(hi, sizeof hi, f->upper[k]);
        printf("  %s %18s   [%s .. %s]\n", mon, a, lo, hi);
    }
}

int rp_forecast(const rp_ctx *c) {
    const an_cube *cube = c->rep.cube;
    an_fc_report x;
    cirrus_err err;
    if (an_report_forecast(&c->rep, c->horizon, c->level, &x, &err) != CIRRUS_OK) {
        cli_error("%s", err.msg);
        return 1;
    }
    if (c->fmt == RP_JSON) {
        json_t *root;
        cirrus_status st = an_report_forecast_json(&c->rep, &x, &root, &err);
        an_fc_report_free(&x);
        return rp_emit_json(st, root, &err);
    }
    void (*print)(const rp_ctx *, const char *, const an_forecast *) = c->fmt == RP_CSV ? fc_csv : fc_text;
    if (c->fmt == RP_CSV) {
        printf("series,method,history_months,month,forecast,lower,upper\n");
    } else {
        char from[8], to[8];
        an_report_month(&c->rep, c->rep.r0, from);
        an_report_month(&c->rep, cube->n_months - 1, to);
        printf("Revenue forecast from %s .. %s (%s), %d%% intervals\n\n", from, to, c->rep.source, c->level);
    }
    print(c, "total", &x.total);
    for (size_t k = 0; k < x.rank.n; k++) {
        size_t t = x.rank.order[k];
        if (x.rank.rev[t] > 0) print(c, x.rank.names[t], &x.tenants[t]);
    }
    if (c->fmt == RP_TEXT) {
        putchar('\n');
        rp_print_notes(c);
        printf("note: the total is forecast from the total series, not as the sum of the tenants' forecasts\n");
        if (an_report_partial(&c->rep, cube->n_months - 1))
            printf("note: the last history month is partial, which pulls the forecast down\n");
    }
    an_fc_report_free(&x);
    return 0;
}

/* ---- alerts ---------------------------------------------------------------------------------------- */

int rp_alerts(const rp_ctx *c) {
    an_alert *a;
    size_t n;
    cirrus_err err;
    if (an_report_alerts(&c->rep, &c->alert_cfg, c->budgets, c->n_budgets, &a, &n, &err) != CIRRUS_OK) {
        cli_error("%s", err.msg);
        return 1;
    }
    if (c->fmt == RP_JSON) {
        json_t *root;
        cirrus_status st = an_report_alerts_json(&c->rep, &c->alert_cfg, a, n, &root, &err);
        free(a);
        return rp_emit_json(st, root, &err);
    }
    if (c->fmt == RP_CSV) printf("month,kind,tenant,value,previous,threshold,amount,previous_amount,message\n");
    for (size_t i = 0; i < n; i++) {
        char mon[8], msg[400];
        an_month_format(a[i].month, mon);
        an_alert_message(&a[i], msg, sizeof msg);
        int dec = a[i].kind == AN_ALERT_HHI_BAND ? 2 : 6;
        if (c->fmt == RP_CSV) {
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
    free(a);
    if (c->fmt == RP_TEXT) {
        char from[11], to[11];
        an_report_period(&c->rep, from, to);
        if (!n) printf("no alerts %s .. %s\n", from, to);
        putchar('\n');
        rp_print_notes(c);
    }
    return 0;
}
