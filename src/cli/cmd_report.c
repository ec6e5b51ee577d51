/*
 * `cirrus report revenue|concentration|forecast|alerts`: where the revenue comes from, read from the
 * control plane's ledger (--db) or from a ledger export file (--ledger). This file parses the
 * options, has analytics load the period into a cube and prints the revenue report; the other three
 * views are in cmd_report_views.c. All arithmetic is analytics', and so are the period rules and the
 * --json output (the admin API uses the same an_report_load and builders); this file only chooses
 * and prints.
 *
 * Periods. --month YYYY-MM is that calendar month; --from/--to are days, both included; neither is
 * every month with data. Reports that compare with the month before (revenue growth, HHI band
 * changes, alerts) also load the month before the period as context; a forecast for --month M uses
 * the twelve months ending with M as its history (analytics.h, an_period). Months cut by
 * --from/--to are marked partial.
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

int rp_emit_json(cirrus_status st, json_t *root, const cirrus_err *err) {
    if (st != CIRRUS_OK) {
        cli_error("%s", err->msg);
        return 1;
    }
    int rc = json_dumpf(root, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(12)) == 0 ? 0 : 1;
    fputc('\n', stdout);
    json_decref(root);
    return rc;
}

void rp_print_notes(const rp_ctx *c) {
    json_t *notes = an_report_notes(&c->rep), *n;
    size_t i;
    json_array_foreach(notes, i, n) printf("note: %s\n", json_string_value(n));
    json_decref(notes);
}

/* ---- the revenue report -------------------------------------------------------------------------- */

static void csv_row(const char *month, const char *dim, const char *name, const an_totals *x, int64_t total, bool gd,
                    double g) {
    printf("%s,%s,", month, dim);
    rp_csv_str(stdout, name);
    printf(",%lld,", (long long)x->revenue);
    if (total > 0) printf("%.6f", an_share(x->revenue, total));
    putchar(',');
    if (gd) printf("%.6f", g);
    printf(",%lld,%lld,%lld,%lld,%lld\n", (long long)x->prompt_tokens, (long long)x->cached_tokens,
           (long long)x->completion_tokens, (long long)an_tokens(x), (long long)x->requests);
}

static void csv_dimension(const an_report *r, const char *dim, const an_series *rows, size_t n) {
    for (size_t i = 0; i < n; i++) {
        an_totals t = {0};
        for (size_t m = r->r0; m < r->cube->n_months; m++) {
            const an_totals *x = &rows[i].months[m];
            char mon[8];
            an_report_month(r, m, mon);
            double g = 0;
            bool gd = m > 0 && an_growth(rows[i].months[m - 1].revenue, x->revenue, &g);
            csv_row(mon, dim, rows[i].name, x, r->cube->total[m].revenue, gd, g);
            t.revenue += x->revenue, t.prompt_tokens += x->prompt_tokens, t.cached_tokens += x->cached_tokens;
            t.completion_tokens += x->completion_tokens, t.requests += x->requests;
        }
        csv_row("period", dim, rows[i].name, &t, an_report_totals(r).revenue, false, 0);
    }
}

int rp_revenue(const rp_ctx *c) {
    const an_report *r = &c->rep;
    const an_cube *cube = r->cube;
    an_totals pt = an_report_totals(r);
    char from[11], to[11], mon[8], a[40], b[40];
    an_report_period(r, from, to);
    if (c->fmt == RP_JSON) {
        json_t *root;
        cirrus_err err;
        cirrus_status st = an_report_revenue_json(r, &root, &err);
        return rp_emit_json(st, root, &err);
    }
    if (c->fmt == RP_CSV) {
        printf("month,dimension,name,revenue,share,growth,prompt_tokens,cached_tokens,completion_tokens,tokens,requests\n");
        for (size_t m = r->r0; m < cube->n_months; m++) {
            an_report_month(r, m, mon);
            double g = 0;
            bool gd = m > 0 && an_growth(cube->total[m - 1].revenue, cube->total[m].revenue, &g);
            csv_row(mon, "total", "", &cube->total[m], cube->total[m].revenue, gd, g);
        }
        csv_row("period", "total", "", &pt, pt.revenue, false, 0);
        csv_dimension(r, "tenant", cube->tenants, cube->n_tenants);
        csv_dimension(r, "model", cube->models, cube->n_models);
        csv_dimension(r, "plan", cube->plans, cube->n_plans);
        return 0;
    }
    printf("Revenue %s .. %s (%s)\n\n%-8s %18s %9s %16s %12s\n", from, to, r->source, "month", "revenue", "growth",
           "tokens", "requests");
    for (size_t m = r->r0; m < cube->n_months; m++) {
        an_report_month(r, m, mon);
        double g = 0;
        bool gd = m > 0 && an_growth(cube->total[m - 1].revenue, cube->total[m].revenue, &g);
        an_money_format(a, sizeof a, cube->total[m].revenue);
        if (gd)
            snprintf(b, sizeof b, "%+.1f%%", 100 * g);
        else
            snprintf(b, sizeof b, "-");
        printf("%-8s %18s %9s %16lld %12lld%s\n", mon, a, b, (long long)an_tokens(&cube->total[m]),
               (long long)cube->total[m].requests, an_report_partial(r, m) ? "  (partial)" : "");
    }
    an_money_format(a, sizeof a, pt.revenue);
    printf("%-8s %18s %9s %16lld %12lld\n\n", "total", a, "", (long long)an_tokens(&pt), (long long)pt.requests);
    an_ranking k;
    cirrus_err err;
    if (an_report_ranking(r, &k, &err) != CIRRUS_OK) {
        cli_error("%s", err.msg);
        return 1;
    }
    printf("%-4s %-24s %-10s %18s %8s\n", "rank", "tenant", "plan", "revenue", "share");
    for (size_t i = 0; i < k.n; i++) {
        size_t t = k.order[i];
        an_money_format(a, sizeof a, k.rev[t]);
        printf("%-4zu %-24s %-10s %18s %7.2f%%\n", i + 1, k.names[t], cube->tenants[t].plan, a,
               100 * an_share(k.rev[t], pt.revenue));
    }
    an_ranking_free(&k);
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

/* Where `cirrus report` reads the usage: one of --db and --ledger (an_source_fn). */
typedef struct {
    const char *db, *ledger;
} rp_source;

static cirrus_status read_source(void *arg, const an_filter *f, an_data *out, cirrus_err *err) {
    const rp_source *s = arg;
    return s->ledger ? an_ledger_read(s->ledger, f, out, err) : rp_load_store(s->db, f, out, err);
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
    bool exclude_simulated = false;
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
            exclude_simulated = true;
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
    an_period p = {.month = -1, .from_day = AN_NO_DAY, .to_day = AN_NO_DAY, .forecast = view == rp_forecast,
                   .exclude_simulated = exclude_simulated};
    if (month && !an_month_parse(month, &p.month)) {
        cli_error("--month: '%s' is not YYYY-MM", month);
        return 2;
    }
    if (from && !an_day_parse(from, &p.from_day)) {
        cli_error("--from: '%s' is not a YYYY-MM-DD date", from);
        return 2;
    }
    if (to && !an_day_parse(to, &p.to_day)) {
        cli_error("--to: '%s' is not a YYYY-MM-DD date", to);
        return 2;
    }
    if (p.from_day != AN_NO_DAY && p.to_day != AN_NO_DAY && p.to_day < p.from_day) {
        cli_error("--to is before --from");
        return 2;
    }
    p.empty_month = an_day_month((int64_t)(time(NULL) / 86400));

    rp_source src = {db, ledger};
    char source[600];
    if (ledger)
        snprintf(source, sizeof source, "ledger file %s", ledger);
    else
        snprintf(source, sizeof source, "store %s", db);
    an_report_input in;
    cirrus_err err = {{0}};
    cirrus_status st = an_report_load(&p, read_source, &src, &in, &err);
    if (st == CIRRUS_OK) st = an_report_build(&in, &err);
    if (st != CIRRUS_OK) {
        cli_error("%s", err.msg);
        an_report_input_free(&in);
        return 1;
    }
    c.rep = in.rep;
    c.rep.source = source;
    c.budgets = in.data.budgets;
    c.n_budgets = in.data.n_budgets;
    int rc = view(&c);
    an_report_input_free(&in);
    return rc;
}
