/*
 * `cirrus report revenue|concentration|forecast|alerts`: where the revenue comes from, read from the
 * control plane's ledger (--db) or from a ledger export file (--ledger). This file parses the
 * options, loads the usage into an analytics cube and prints the revenue report; the other three
 * views are in cmd_report_views.c. All arithmetic is analytics'; this file only chooses and prints.
 *
 * Periods. --month YYYY-MM is that calendar month; --from/--to are days, both included; neither is
 * every month with data. Reports that compare with the month before (revenue growth, HHI band
 * changes, alerts) also load the month before the period as context; a forecast for --month M uses
 * the twelve months ending with M as its history. Months cut by --from/--to are marked partial.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/report_internal.h"
#include "store/store.h"

static const char *usage =
    "usage: cirrus report revenue|concentration|forecast|alerts (--db PATH | --ledger FILE) [options]\n"
    "  --month YYYY-MM          one calendar month\n"
    "  --from YYYY-MM-DD        first day (included); --to YYYY-MM-DD last day (included)\n"
    "                           (default: every month with usage)\n"
    "  --json | --csv           machine-readable output (default: a text table)\n"
    "  --db PATH                the control plane's store (usage from its ledger)\n"
    "  --ledger FILE            a ledger export instead: JSON lines or CSV with a header row; fields\n"
    "                           tenant, plan, model, period (YYYY-MM or YYYY-MM-DD), revenue (micro-units),\n"
    "                           prompt_tokens, cached_tokens, completion_tokens, requests, simulated;\n"
    "                           a line {\"tenant\": T, \"soft_budget\": N} sets T's monthly soft budget\n"
    "  --exclude-simulated      leave out usage written by `cirrus demo`\n"
    "concentration:\n"
    "  --without TENANT         what-if: the tenant leaves\n"
    "  --cut TENANT:PCT         what-if: the tenant cuts its spend by PCT percent (0..100)\n"
    "forecast:\n"
    "  --horizon N              months ahead, 1..24 (default 3)\n"
    "  --level 80|90|95|99      prediction interval level, percent (default 95)\n"
    "alerts:\n"
    "  --share-threshold PCT    a tenant above this share of the month's revenue (default 20)\n"
    "  --large-share PCT        a tenant is large at this share of the previous month (default 5)\n"
    "  --drop PCT               a large tenant's revenue or tokens falling more than this (default 30)\n"
    "  --no-hhi-band            no alert when the HHI moves to another band\n"
    "Money is in integer micro-units in JSON and CSV; shares are fractions (0..1) rounded to 6 places,\n"
    "HHI (0..10,000) to 2, Gini to 4. Revenue is the ledger's usage cost at list price.\n";

/* ---- shared helpers (report_internal.h) ------------------------------------------------------ */

json_t *rp_real(double v, int decimals, bool defined) {
    if (!defined || !isfinite(v)) return json_null();
    double p = pow(10, decimals);
    double r = round(v * p) / p;
    return json_real(r == 0 ? 0.0 : r); /* no "-0.0" */
}

void rp_money(char *buf, size_t cap, int64_t micro) {
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

void rp_csv_str(FILE *f, const char *s) {
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

int rp_emit_json(json_t *root) {
    if (!root) {
        cli_error("out of memory building the report");
        return 1;
    }
    int rc = json_dumpf(root, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(12)) == 0 ? 0 : 1;
    fputc('\n', stdout);
    json_decref(root);
    return rc;
}

void rp_month(const rp_ctx *c, size_t m, char out[8]) { an_month_format(c->cube->first_month + (int32_t)m, out); }

void rp_period(const rp_ctx *c, char from[11], char to[11]) {
    an_day_format(c->from_day, from);
    an_day_format(c->to_day, to);
}

bool rp_period_revenue(const rp_ctx *c, int64_t *out) {
    cirrus_err err;
    if (an_cube_tenant_revenue(c->cube, c->r0, c->cube->n_months - 1, out, &err) != CIRRUS_OK) {
        cli_error("%s", err.msg);
        return false;
    }
    return true;
}

/* Period totals over the report's months (context months excluded). */
static an_totals period_totals(const rp_ctx *c) {
    an_totals t = {0};
    for (size_t m = c->r0; m < c->cube->n_months; m++) {
        const an_totals *x = &c->cube->total[m];
        t.revenue += x->revenue; /* cannot overflow: the cube's own sum of the same cells did not */
        t.simulated_revenue += x->simulated_revenue;
        t.prompt_tokens += x->prompt_tokens;
        t.cached_tokens += x->cached_tokens;
        t.completion_tokens += x->completion_tokens;
        t.requests += x->requests;
    }
    return t;
}

bool rp_month_partial(const rp_ctx *c, size_t m) {
    int32_t mon = c->cube->first_month + (int32_t)m;
    int64_t first = an_month_first_day(mon), last = first + an_month_days(mon) - 1;
    return (c->from_day > first && c->from_day <= last) || (c->to_day >= first && c->to_day < last);
}

/* The notes are part of the numbers: a reader must know the basis and what is undefined. */
static void notes_each(const rp_ctx *c, void (*fn)(void *ud, const char *s), void *ud) {
    char buf[256];
    fn(ud, "revenue is the ledger's rated usage cost at list price, in integer micro-units, before plan "
           "discounts, fees, true-ups and credits");
    an_totals t = period_totals(c);
    if (t.simulated_revenue > 0) {
        snprintf(buf, sizeof buf, "%.2f%% of the period's revenue is simulated usage written by cirrus demo",
                 100.0 * an_share(t.simulated_revenue, t.revenue));
        fn(ud, buf);
    }
    if (c->excluded_simulated) fn(ud, "simulated usage is excluded");
    if (t.revenue == 0)
        fn(ud, "total revenue in the period is zero: shares, HHI and Gini are undefined (null in JSON, empty in CSV)");
    for (size_t m = c->r0; m < c->cube->n_months; m++) {
        char mon[8];
        rp_month(c, m, mon);
        if (rp_month_partial(c, m)) {
            snprintf(buf, sizeof buf, "%s is partial: only days inside the period are counted", mon);
            fn(ud, buf);
        }
        /* A forecast's history months before the period are context: their gaps are not news. */
        if (c->cube->total[m].revenue == 0 && c->cube->total[m].requests == 0 &&
            c->cube->first_month + (int32_t)m >= an_day_month(c->from_day)) {
            snprintf(buf, sizeof buf, "%s has no usage", mon);
            fn(ud, buf);
        }
    }
}

static void note_json(void *ud, const char *s) { json_array_append_new((json_t *)ud, json_string(s)); }
static void note_text(void *ud, const char *s) {
    (void)ud;
    printf("note: %s\n", s);
}

json_t *rp_notes(const rp_ctx *c) {
    json_t *a = json_array();
    if (a) notes_each(c, note_json, a);
    return a;
}

void rp_print_notes(const rp_ctx *c) { notes_each(c, note_text, NULL); }

/* ---- the revenue report -------------------------------------------------------------------------- */

static json_t *totals_json(const an_totals *t) {
    return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "revenue", (json_int_t)t->revenue, "simulated_revenue",
                     (json_int_t)t->simulated_revenue, "tokens", (json_int_t)an_tokens(t), "prompt_tokens",
                     (json_int_t)t->prompt_tokens, "cached_tokens", (json_int_t)t->cached_tokens,
                     "completion_tokens", (json_int_t)t->completion_tokens, "requests", (json_int_t)t->requests);
}

/* One dimension's rows (tenants, models or plans), ranked by period revenue (A5). */
static json_t *dimension_json(const rp_ctx *c, const an_series *rows, size_t n, bool tenants, int64_t total) {
    json_t *arr = json_array();
    int64_t *rev = calloc(n ? n : 1, sizeof *rev);
    size_t *order = calloc(n ? n : 1, sizeof *order);
    const char **names = calloc(n ? n : 1, sizeof *names);
    if (!arr || !rev || !order || !names) goto out;
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
            t.prompt_tokens += x->prompt_tokens, t.cached_tokens += x->cached_tokens;
            t.completion_tokens += x->completion_tokens;
            char mon[8];
            rp_month(c, m, mon);
            double g = 0;
            bool gd = m > 0 && an_growth(s->months[m - 1].revenue, x->revenue, &g);
            int64_t mt = c->cube->total[m].revenue;
            json_array_append_new(months, json_pack("{s:s,s:I,s:o,s:o,s:I,s:I}", "month", mon, "revenue",
                                                    (json_int_t)x->revenue, "share", rp_real(an_share(x->revenue, mt), 6, mt > 0),
                                                    "growth", rp_real(g, 6, gd), "tokens", (json_int_t)an_tokens(x),
                                                    "requests", (json_int_t)x->requests));
        }
        json_t *o = json_pack("{s:I,s:s}", "rank", (json_int_t)k + 1, "name", s->name);
        if (tenants) json_object_set_new(o, "plan", json_string(s->plan));
        json_object_update_new(o, totals_json(&t));
        json_object_set_new(o, "share", rp_real(an_share(t.revenue, total), 6, total > 0));
        json_object_set_new(o, "months", months);
        json_array_append_new(arr, o);
    }
out:
    free(rev);
    free(order);
    free(names);
    return arr;
}

static void csv_row(const rp_ctx *c, const char *month, const char *dim, const char *name, const an_totals *x,
                    int64_t total, bool gd, double g) {
    (void)c;
    printf("%s,%s,", month, dim);
    rp_csv_str(stdout, name);
    printf(",%lld,", (long long)x->revenue);
    if (total > 0) printf("%.6f", an_share(x->revenue, total));
    putchar(',');
    if (gd) printf("%.6f", g);
    printf(",%lld,%lld,%lld,%lld,%lld\n", (long long)x->prompt_tokens, (long long)x->cached_tokens,
           (long long)x->completion_tokens, (long long)an_tokens(x), (long long)x->requests);
}

static void csv_dimension(const rp_ctx *c, const char *dim, const an_series *rows, size_t n) {
    for (size_t i = 0; i < n; i++) {
        an_totals t = {0};
        for (size_t m = c->r0; m < c->cube->n_months; m++) {
            const an_totals *x = &rows[i].months[m];
            char mon[8];
            rp_month(c, m, mon);
            double g = 0;
            bool gd = m > 0 && an_growth(rows[i].months[m - 1].revenue, x->revenue, &g);
            csv_row(c, mon, dim, rows[i].name, x, c->cube->total[m].revenue, gd, g);
            t.revenue += x->revenue, t.prompt_tokens += x->prompt_tokens, t.cached_tokens += x->cached_tokens;
            t.completion_tokens += x->completion_tokens, t.requests += x->requests;
        }
        csv_row(c, "period", dim, rows[i].name, &t, period_totals(c).revenue, false, 0);
    }
}

int rp_revenue(const rp_ctx *c) {
    const an_cube *cube = c->cube;
    an_totals pt = period_totals(c);
    char from[11], to[11], mon[8], a[40], b[40];
    rp_period(c, from, to);
    if (c->fmt == RP_CSV) {
        printf("month,dimension,name,revenue,share,growth,prompt_tokens,cached_tokens,completion_tokens,tokens,requests\n");
        for (size_t m = c->r0; m < cube->n_months; m++) {
            rp_month(c, m, mon);
            double g = 0;
            bool gd = m > 0 && an_growth(cube->total[m - 1].revenue, cube->total[m].revenue, &g);
            csv_row(c, mon, "total", "", &cube->total[m], cube->total[m].revenue, gd, g);
        }
        csv_row(c, "period", "total", "", &pt, pt.revenue, false, 0);
        csv_dimension(c, "tenant", cube->tenants, cube->n_tenants);
        csv_dimension(c, "model", cube->models, cube->n_models);
        csv_dimension(c, "plan", cube->plans, cube->n_plans);
        return 0;
    }
    if (c->fmt == RP_JSON) {
        json_t *months = json_array();
        for (size_t m = c->r0; m < cube->n_months; m++) {
            rp_month(c, m, mon);
            double g = 0;
            bool gd = m > 0 && an_growth(cube->total[m - 1].revenue, cube->total[m].revenue, &g);
            size_t active = 0;
            for (size_t t = 0; t < cube->n_tenants; t++) active += cube->tenants[t].months[m].revenue > 0;
            json_t *o = json_pack("{s:s}", "month", mon);
            json_object_update_new(o, totals_json(&cube->total[m]));
            json_object_set_new(o, "growth", rp_real(g, 6, gd));
            json_object_set_new(o, "tenants_with_revenue", json_integer((json_int_t)active));
            json_object_set_new(o, "partial", json_boolean(rp_month_partial(c, m)));
            json_array_append_new(months, o);
        }
        json_t *root = json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:o}", "report", "revenue", "from", from,
                                 "to", to, "currency_unit", "micro", "source", c->source, "total", totals_json(&pt),
                                 "months", months, "tenants",
                                 dimension_json(c, cube->tenants, cube->n_tenants, true, pt.revenue), "models",
                                 dimension_json(c, cube->models, cube->n_models, false, pt.revenue), "plans",
                                 dimension_json(c, cube->plans, cube->n_plans, false, pt.revenue), "notes", rp_notes(c));
        return rp_emit_json(root);
    }
    printf("Revenue %s .. %s (%s)\n\n%-8s %18s %9s %16s %12s\n", from, to, c->source, "month", "revenue", "growth",
           "tokens", "requests");
    for (size_t m = c->r0; m < cube->n_months; m++) {
        rp_month(c, m, mon);
        double g = 0;
        bool gd = m > 0 && an_growth(cube->total[m - 1].revenue, cube->total[m].revenue, &g);
        rp_money(a, sizeof a, cube->total[m].revenue);
        if (gd)
            snprintf(b, sizeof b, "%+.1f%%", 100 * g);
        else
            snprintf(b, sizeof b, "-");
        printf("%-8s %18s %9s %16lld %12lld%s\n", mon, a, b, (long long)an_tokens(&cube->total[m]),
               (long long)cube->total[m].requests, rp_month_partial(c, m) ? "  (partial)" : "");
    }
    rp_money(a, sizeof a, pt.revenue);
    printf("%-8s %18s %9s %16lld %12lld\n\n", "total", a, "", (long long)an_tokens(&pt), (long long)pt.requests);
    int64_t *rev = calloc(cube->n_tenants ? cube->n_tenants : 1, sizeof *rev);
    size_t *order = calloc(cube->n_tenants ? cube->n_tenants : 1, sizeof *order);
    const char **names = calloc(cube->n_tenants ? cube->n_tenants : 1, sizeof *names);
    if (!rev || !order || !names || !rp_period_revenue(c, rev)) {
        free(rev), free(order), free(names);
        return 1;
    }
    for (size_t t = 0; t < cube->n_tenants; t++) names[t] = cube->tenants[t].name;
    an_rank(rev, names, cube->n_tenants, order);
    printf("%-4s %-24s %-10s %18s %8s\n", "rank", "tenant", "plan", "revenue", "share");
    for (size_t k = 0; k < cube->n_tenants; k++) {
        size_t t = order[k];
        rp_money(a, sizeof a, rev[t]);
        printf("%-4zu %-24s %-10s %18s %7.2f%%\n", k + 1, names[t], cube->tenants[t].plan, a,
               100 * an_share(rev[t], pt.revenue));
    }
    free(rev), free(order), free(names);
    putchar('\n');
    rp_print_notes(c);
    return 0;
}

/* ---- loading ------------------------------------------------------------------------------------- */

cirrus_status rp_load_store(const char *db, const an_filter *f, an_data *out, cirrus_err *err) {
    /* A report only reads; opening creates and migrates a missing file, so refuse a typo'd path
     * rather than answer with an empty, fresh database. */
    if (!strstr(db, "://")) {
        FILE *probe = fopen(db, "rb");
        if (!probe) return cirrus_errf(err, CIRRUS_ERR_NOT_FOUND, "--db %s: no such database", db);
        fclose(probe);
    }
    store *s = NULL;
    cirrus_status st = store_open(db, &s, err);
    if (st != CIRRUS_OK) return st;
    st = an_store_read(s, f, out, err);
    store_close(s);
    return st;
}

/* ---- options ------------------------------------------------------------------------- */

static bool parse_pct_bp(const char *flag, const char *s, int32_t *bp) {
    char *end;
    double v = s ? strtod(s, &end) : NAN;
    if (!s || end == s || *end || !(v >= 0 && v <= 100)) {
        cli_error("%s: '%s' is not a percentage in [0, 100]", flag, s ? s : "");
        return false;
    }
    *bp = (int32_t)llround(v * 100); /* basis points: thresholds compare exactly (A6) */
    return true;
}

int cmd_report(int argc, char **argv) {
    if (argc < 2 || cli_wants_help(argc, argv)) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *kind = argv[1];
    int (*view)(const rp_ctx *) = !strcmp(kind, "revenue")         ? rp_revenue
                                  : !strcmp(kind, "concentration") ? rp_concentration
                                  : !strcmp(kind, "forecast")      ? rp_forecast
                                  : !strcmp(kind, "alerts")        ? rp_alerts
                                                                   : NULL;
    if (!view) {
        cli_error("unknown report '%s' (revenue, concentration, forecast, alerts)", kind);
        return 2;
    }
    rp_ctx c;
    memset(&c, 0, sizeof c);
    c.fmt = RP_TEXT;
    c.horizon = 3;
    c.level = 95;
    an_alert_config_default(&c.alert_cfg);
    const char *db = NULL, *ledger = NULL, *month = NULL, *from = NULL, *to = NULL, *v = NULL;
    an_filter f = {AN_NO_DAY, AN_NO_DAY, false};
    for (int i = 2; i < argc; i++) {
        int64_t n = 0;
        if (cli_opt(argc, argv, &i, "--db", &db) || cli_opt(argc, argv, &i, "--ledger", &ledger) ||
            cli_opt(argc, argv, &i, "--month", &month) || cli_opt(argc, argv, &i, "--from", &from) ||
            cli_opt(argc, argv, &i, "--to", &to)) {
            if (!argv[i]) return 2;
        } else if (!strcmp(argv[i], "--json")) {
            c.fmt = RP_JSON;
        } else if (!strcmp(argv[i], "--csv")) {
            c.fmt = RP_CSV;
        } else if (!strcmp(argv[i], "--exclude-simulated")) {
            f.exclude_simulated = c.excluded_simulated = true;
        } else if (!strcmp(argv[i], "--no-hhi-band")) {
            c.alert_cfg.hhi_band = false;
        } else if (cli_opt(argc, argv, &i, "--without", &v)) {
            if (!v) return 2;
            c.whatif_tenant = v;
            c.cut_bp = 10000;
        } else if (cli_opt(argc, argv, &i, "--cut", &v)) {
            const char *colon = v ? strrchr(v, ':') : NULL;
            if (!colon || colon == v) {
                cli_error("--cut: expected TENANT:PCT, got '%s'", v ? v : "");
                return 2;
            }
            static char name[AN_NAME_MAX];
            if ((size_t)(colon - v) >= sizeof name) {
                cli_error("--cut: tenant name too long");
                return 2;
            }
            memcpy(name, v, (size_t)(colon - v));
            name[colon - v] = 0;
            if (!parse_pct_bp("--cut", colon + 1, &c.cut_bp)) return 2;
            c.whatif_tenant = name;
        } else if (cli_opt(argc, argv, &i, "--horizon", &v)) {
            if (!cli_parse_i64("--horizon", v, 1, AN_FC_HORIZON_MAX, &n)) return 2;
            c.horizon = (int)n;
        } else if (cli_opt(argc, argv, &i, "--level", &v)) {
            if (!cli_parse_i64("--level", v, 80, 99, &n) || (n != 80 && n != 90 && n != 95 && n != 99)) {
                if (v && n >= 80 && n <= 99) cli_error("--level: must be 80, 90, 95 or 99");
                return 2;
            }
            c.level = (int)n;
        } else if (cli_opt(argc, argv, &i, "--share-threshold", &v)) {
            if (!parse_pct_bp("--share-threshold", v, &c.alert_cfg.share_bp)) return 2;
        } else if (cli_opt(argc, argv, &i, "--large-share", &v)) {
            if (!parse_pct_bp("--large-share", v, &c.alert_cfg.large_bp)) return 2;
        } else if (cli_opt(argc, argv, &i, "--drop", &v)) {
            if (!parse_pct_bp("--drop", v, &c.alert_cfg.drop_bp)) return 2;
        } else {
            cli_error("unknown option '%s' (cirrus report --help)", argv[i]);
            return 2;
        }
    }
    if (!db == !ledger) {
        cli_error("give exactly one of --db PATH and --ledger FILE");
        return 2;
    }
    if (month && (from || to)) {
        cli_error("--month and --from/--to exclude each other");
        return 2;
    }
    int32_t first = -1, last = -1; /* report months; -1: from the data */
    if (month) {
        if (!an_month_parse(month, &first)) {
            cli_error("--month: '%s' is not YYYY-MM", month);
            return 2;
        }
        last = first;
        f.from_day = an_month_first_day(first);
        f.to_day = f.from_day + an_month_days(first) - 1;
    }
    if (from && !an_day_parse(from, &f.from_day)) {
        cli_error("--from: '%s' is not a YYYY-MM-DD date", from);
        return 2;
    }
    if (to && !an_day_parse(to, &f.to_day)) {
        cli_error("--to: '%s' is not a YYYY-MM-DD date", to);
        return 2;
    }
    if (f.from_day != AN_NO_DAY && f.to_day != AN_NO_DAY && f.to_day < f.from_day) {
        cli_error("--to is before --from");
        return 2;
    }
    if (from) first = an_day_month(f.from_day);
    if (to) last = an_day_month(f.to_day);

    /* Context months before the period: the previous month for growth, band changes and alerts; a
     * year of history for a one-month forecast. */
    int32_t extra = view == rp_forecast ? (month ? AN_FC_WINDOW - 1 : 0) : 1;
    an_filter load = f;
    if (first >= 0) load.from_day = an_month_first_day(first - extra >= 0 ? first - extra : 0);

    an_data d = {0};
    cirrus_err err = {{0}};
    char source[600];
    cirrus_status st;
    if (ledger) {
        snprintf(source, sizeof source, "ledger file %s", ledger);
        st = an_ledger_read(ledger, &load, &d, &err);
    } else {
        snprintf(source, sizeof source, "store %s", db);
        st = rp_load_store(db, &load, &d, &err);
    }
    if (st != CIRRUS_OK) {
        cli_error("%s", err.msg);
        an_data_free(&d);
        return 1;
    }
    /* Context months load whole; inside the period only days from --from on count. */
    if (from) {
        size_t k = 0;
        for (size_t i = 0; i < d.n; i++)
            if (!(d.r[i].day != AN_NO_DAY && d.r[i].month >= first && d.r[i].day < f.from_day)) d.r[k++] = d.r[i];
        d.n = k;
    }
    c.source = source;
    c.budgets = d.budgets;
    c.n_budgets = d.n_budgets;

    /* Months from the data where the period leaves them open. */
    int32_t dmin = INT32_MAX, dmax = -1;
    for (size_t i = 0; i < d.n; i++) {
        if (d.r[i].month < dmin) dmin = d.r[i].month;
        if (d.r[i].month > dmax) dmax = d.r[i].month;
    }
    if (dmax < 0) { /* no usage at all: report the current month as empty rather than fail */
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        dmin = dmax = (int32_t)((tm.tm_year + 1900) * 12 + tm.tm_mon);
    }
    bool ctx_month = first >= 0; /* an explicit start: the month(s) before it were loaded as context */
    if (first < 0) first = last >= 0 && dmin > last ? last : dmin;
    if (last < 0) last = dmax < first ? first : dmax;
    if (last < first) last = first;
    int32_t cube_first = ctx_month ? (first - extra >= 0 ? first - extra : 0) : first;
    /* A forecast's context months are its history; the other reports start at the period. */
    c.r0 = view == rp_forecast ? 0 : (size_t)(first - cube_first);
    c.from_day = f.from_day != AN_NO_DAY ? f.from_day : an_month_first_day(first);
    c.to_day = f.to_day != AN_NO_DAY ? f.to_day : an_month_first_day(last) + an_month_days(last) - 1;

    st = an_cube_build(d.r, d.n, cube_first, last, &c.cube, &err);
    if (st != CIRRUS_OK) {
        cli_error("%s", err.msg);
        an_data_free(&d);
        return 1;
    }
    int rc = view(&c);
    an_cube_free(c.cube);
    an_data_free(&d);
    return rc;
}
