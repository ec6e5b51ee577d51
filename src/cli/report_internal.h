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
    an_report rep;               /* the cube, the period and the source */
    const an_budget *budgets;    /* soft budgets per month the source knows */
    size_t n_budgets;
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

/* A CSV field, quoted when it holds a comma, a quote or a line break. */
void rp_csv_str(FILE *f, const char *s);
/* Prints a report's JSON (analytics builds it, the admin API sends the same) indented; returns the
 * exit code. */
int rp_emit_json(cirrus_status st, json_t *root, const cirrus_err *err);
/* The notes every report carries, one "note: " line each. */
void rp_print_notes(const rp_ctx *c);
/* Usage and soft budgets from the control plane's store at db (cmd_report.c). */
cirrus_status rp_load_store(const char *db, const an_filter *f, an_data *out, cirrus_err *err);

#endif
