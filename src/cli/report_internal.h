/*
 * `cirrus report`: what cmd_report.c (options, loading, the revenue report) shares with
 * cmd_report_views.c (concentration, forecast, alerts). Private to the cli module.
 */
#ifndef CIRRUS_CLI_REPORT_INTERNAL_H
#define CIRRUS_CLI_REPORT_INTERNAL_H

#include <jansson.h>
#include <stdio.h>

#include "analytics/analytics.h"

typedef enum { RP_TEXT, RP_JSON, RP_CSV } rp_format;

typedef struct {
    rp_format fmt;
    an_cube *cube;
    size_t r0;                   /* first month of the report (cube index); earlier ones are context */
    int64_t from_day, to_day;    /* the period as days, both included (derived when not asked) */
    const char *source;          /* "ledger file PATH" / "store PATH", for the notes */
    const an_budget *budgets;    /* soft budgets per month the source knows; spend is filled here */
    size_t n_budgets;
    bool excluded_simulated;
    /* concentration what-if */
    const char *whatif_tenant;   /* NULL: none */
    int32_t cut_bp;              /* 10,000: the tenant leaves */
    /* forecast */
    int horizon, level;
    /* alerts */
    an_alert_config alert_cfg;
} rp_ctx;

int rp_revenue(const rp_ctx *c);
int rp_concentration(const rp_ctx *c);
int rp_forecast(const rp_ctx *c);
int rp_alerts(const rp_ctx *c);

/* A double rounded to `decimals` places as a JSON real (A7); json null when !defined. */
json_t *rp_real(double v, int decimals, bool defined);
/* Integer micro-units as currency units with 2 decimals and thousands separators, half up. */
void rp_money(char *buf, size_t cap, int64_t micro);
/* A CSV field, quoted when it holds a comma, a quote or a line break. */
void rp_csv_str(FILE *f, const char *s);
/* Prints root (indented) and releases it; returns the exit code. */
int rp_emit_json(json_t *root);
/* Notes every report carries: revenue basis, simulated share, partial months. */
json_t *rp_notes(const rp_ctx *c);
void rp_print_notes(const rp_ctx *c);
/* The report's first/last day as YYYY-MM-DD. */
void rp_period(const rp_ctx *c, char from[11], char to[11]);
/* month(cube index) as YYYY-MM. */
void rp_month(const rp_ctx *c, size_t m, char out[8]);
/* A month (cube index) that the period covers only in part. */
bool rp_month_partial(const rp_ctx *c, size_t m);
/* Usage and soft budgets from the control plane's store at db (cmd_report.c). */
cirrus_status rp_load_store(const char *db, const an_filter *f, an_data *out, cirrus_err *err);
/* Report-period revenue per tenant (months r0..last); out has cube->n_tenants entries. */
bool rp_period_revenue(const rp_ctx *c, int64_t *out);

#endif
