/*
 * Admin endpoints over the ledger and billing: usage sums and invoices (drafts computed live from
 * the ledger and plans, closed ones exactly as stored). Runs on the admin worker (api_admin.h).
 * Exports are billing's own (billing_invoice_json / _csv), byte for byte what `cirrus invoice
 * export` writes, so a finance team can reconcile either against the other.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analytics/analytics.h"
#include "api/api_admin.h"
#include "billing/billing.h"

#define US_PER_DAY (86400LL * 1000000LL)

/* Tenant ids to names, read once per request. */
typedef struct {
    int64_t *id;
    char (*name)[STORE_NAME_MAX];
    size_t n, cap;
} names;

static int on_tenant(void *ud, const store_tenant *t) {
    names *v = ud;
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 64;
        int64_t *id = realloc(v->id, cap * sizeof *id);
        if (id) v->id = id;
        char (*nm)[STORE_NAME_MAX] = realloc(v->name, cap * sizeof *nm);
        if (nm) v->name = nm;
        if (!id || !nm) return 1;
        v->cap = cap;
    }
    v->id[v->n] = t->id;
    snprintf(v->name[v->n++], STORE_NAME_MAX, "%s", t->name);
    return 0;
}

static const char *name_of(const names *v, int64_t id) {
    for (size_t i = 0; i < v->n; i++)
        if (v->id[i] == id) return v->name[i];
    return "";
}

static void names_free(names *v) {
    free(v->id);
    free(v->name);
}

/* ---- usage -------------------------------------------------------------------------------------- */

typedef struct {
    json_t *arr;
    const names *tenants;
    int by;
} usage_walk;

static json_t *sum_json(const store_usage_sum *s) {
    return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "requests", (json_int_t)s->requests, "open",
                     (json_int_t)s->open, "prompt_tokens", (json_int_t)s->prompt_tokens, "cached_tokens",
                     (json_int_t)s->cached_tokens, "completion_tokens", (json_int_t)s->completion_tokens, "cost",
                     (json_int_t)s->cost, "cost_input", (json_int_t)s->cost_input, "cost_cached",
                     (json_int_t)s->cost_cached, "cost_output", (json_int_t)s->cost_output, "reserved_open",
                     (json_int_t)s->reserved_open);
}

static int on_sum(void *ud, const store_usage_sum *s) {
    usage_walk *w = ud;
    json_t *o = sum_json(s);
    if (!o) return 1;
    if (w->by & STORE_BY_TENANT) json_object_set_new(o, "tenant", json_string(name_of(w->tenants, s->tenant_id)));
    if (w->by & STORE_BY_MODEL) json_object_set_new(o, "model", json_string(s->model));
    if (w->by & STORE_BY_DAY) {
        char d[11];
        an_day_format(s->day, d);
        json_object_set_new(o, "day", json_string(d));
    }
    json_array_append_new(w->arr, o);
    return 0;
}

static int on_total(void *ud, const store_usage_sum *s) {
    *(json_t **)ud = sum_json(s);
    return 0;
}

void adm_usage(adm_job *j) {
    int64_t from_day, to_day;
    if (!adm_period_days(j, &from_day, &to_day)) return;
    const char *tenant = adm_arg(j, ADM_A_TENANT), *by_s = adm_arg(j, ADM_A_BY);
    /* A tenant key reads its own usage and nothing of anyone else's. */
    if (j->who.scope != STORE_SCOPE_ADMIN) {
        if (tenant && *tenant && strcmp(tenant, j->who.tenant) != 0) {
            adm_forbidden(j, "tenant", "This key may read only its own tenant's usage.");
            return;
        }
        tenant = j->who.tenant;
    }
    int by = 0;
    for (const char *p = by_s ? by_s : ""; *p;) {
        size_t n = strcspn(p, ",");
        if (n == 6 && !strncmp(p, "tenant", 6)) by |= STORE_BY_TENANT;
        else if (n == 5 && !strncmp(p, "model", 5)) by |= STORE_BY_MODEL;
        else if (n == 3 && !strncmp(p, "day", 3)) by |= STORE_BY_DAY;
        else if (n) {
            adm_error(j, API_E_INVALID, "by", "'by' is a comma-separated list of tenant, model and day.");
            return;
        }
        p += n + (p[n] == ',');
    }
    cirrus_err err = {{0}};
    names tn = {0};
    store_tenant t = {0};
    cirrus_status st = CIRRUS_OK;
    if (tenant && *tenant && (st = store_tenant_get(j->s, tenant, &t, &err)) == CIRRUS_ERR_NOT_FOUND) {
        adm_error(j, API_E_NO_ROUTE, "tenant", "No tenant named '%.64s'.", tenant);
        return;
    }
    if (!st) st = store_tenant_list(j->s, on_tenant, &tn, &err);
    int64_t from_us = from_day == INT64_MIN ? 0 : from_day * US_PER_DAY;
    int64_t to_us = to_day == INT64_MIN ? INT64_MAX : (to_day + 1) * US_PER_DAY;
    json_t *arr = json_array(), *total = NULL;
    usage_walk w = {arr, &tn, by};
    if (!st && by) st = store_usage_sum_by(j->s, t.id, from_us, to_us, by, on_sum, &w, &err);
    if (!st) st = store_usage_sum_by(j->s, t.id, from_us, to_us, 0, on_total, &total, &err);
    if (st) {
        json_decref(arr);
        json_decref(total);
        adm_fail(j, st, &err);
    } else {
        json_t *o = json_pack("{s:s,s:o,s:o,s:o}", "object", "list", "tenant", t.id ? json_string(t.name) : json_null(),
                              "data", arr, "totals", total ? total : json_object());
        char d[11];
        if (o && from_day != INT64_MIN) {
            an_day_format(from_day, d);
            json_object_set_new(o, "from", json_string(d));
        }
        if (o && to_day != INT64_MIN) {
            an_day_format(to_day, d);
            json_object_set_new(o, "to", json_string(d));
        }
        adm_json(j, 200, o);
    }
    names_free(&tn);
}

/* ---- invoices ----------------------------------------------------------------------------------- */

static json_t *invoice_summary(const billing_invoice *inv) {
    return json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "tenant", inv->tenant, "month", inv->month,
                     "currency", inv->currency, "status", inv->closed ? "closed" : "draft", "requests",
                     (json_int_t)inv->requests, "open_records", (json_int_t)inv->open_records, "usage_micros",
                     (json_int_t)inv->usage, "fees_micros", (json_int_t)inv->fees, "true_up_micros",
                     (json_int_t)inv->true_up, "discount_micros", (json_int_t)inv->discount, "credits_micros",
                     (json_int_t)inv->credits, "total_micros", (json_int_t)inv->total);
}

/* Months with usage, oldest first (for the console's month buttons), and the latest of them. */
static int on_day(void *ud, const store_usage_sum *s) {
    json_t *months = ud;
    char m[8];
    an_month_format(an_day_month(s->day), m);
    size_t n = json_array_size(months);
    if (!n || strcmp(json_string_value(json_array_get(months, n - 1)), m) != 0) json_array_append_new(months, json_string(m));
    return 0;
}

void adm_invoices_list(adm_job *j) {
    const char *month = adm_arg(j, ADM_A_MONTH), *fmt = adm_arg(j, ADM_A_FORMAT);
    bool csv = fmt && !strcmp(fmt, "csv");
    if (fmt && !csv && strcmp(fmt, "json") != 0) {
        adm_error(j, API_E_INVALID, "format", "'format' must be json or csv.");
        return;
    }
    int32_t m;
    if (month && *month && !an_month_parse(month, &m)) {
        adm_error(j, API_E_INVALID, "month", "month must be YYYY-MM.");
        return;
    }
    cirrus_err err = {{0}};
    names tn = {0};
    json_t *months = json_array(), *data = json_array();
    char *csv_out = NULL;
    size_t csv_len = 0;
    FILE *cf = csv ? open_memstream(&csv_out, &csv_len) : NULL;
    cirrus_status st = store_usage_sum_by(j->s, 0, 0, INT64_MAX, STORE_BY_DAY, on_day, months, &err);
    if (!st) st = store_tenant_list(j->s, on_tenant, &tn, &err);
    if (!st && csv && !cf) st = cirrus_errf(&err, CIRRUS_ERR_NOMEM, "out of memory");
    char chosen[8];
    if (month && *month) snprintf(chosen, sizeof chosen, "%s", month);
    else if (json_array_size(months)) /* the latest month with usage: what someone opening the page wants */
        snprintf(chosen, sizeof chosen, "%s", json_string_value(json_array_get(months, json_array_size(months) - 1)));
    else
        billing_month_of((int64_t)time(NULL), chosen);
    for (size_t i = 0; i < tn.n && !st; i++) {
        billing_invoice *inv = NULL;
        if ((st = billing_invoice_get(j->s, tn.name[i], chosen, &inv, &err))) break;
        /* a tenant with nothing used and nothing owed that month has no invoice worth a row */
        if (inv->n_lines || inv->total || inv->requests) {
            if (cf) {
                char *one = NULL;
                if (!(st = billing_invoice_csv(inv, &one, &err))) {
                    const char *body = one;
                    if (ftell(cf) > 0) body = strstr(one, "\r\n") ? strstr(one, "\r\n") + 2 : one; /* header once */
                    fputs(body, cf);
                }
                free(one);
            } else {
                json_array_append_new(data, invoice_summary(inv));
            }
        }
        billing_invoice_free(inv);
    }
    if (cf && fclose(cf) != 0 && !st) st = cirrus_errf(&err, CIRRUS_ERR_NOMEM, "out of memory");
    if (st) {
        adm_fail(j, st, &err);
        free(csv_out);
    } else if (csv) {
        char file[64];
        snprintf(file, sizeof file, "invoices-%s.csv", chosen);
        adm_text(j, "text/csv; charset=utf-8", csv_out, file);
    } else {
        char cur[16] = "USD";
        cirrus_err e2;
        store_meta_get(j->s, "currency", cur, sizeof cur, &e2); /* absent: USD, as billing says */
        adm_json(j, 200, json_pack("{s:s,s:s,s:s,s:O,s:O}", "object", "list", "month", chosen, "currency", cur, "months",
                                   months, "data", data));
    }
    json_decref(months);
    json_decref(data);
    names_free(&tn);
}

void adm_invoice_get(adm_job *j) {
    const char *tenant = j->seg[1], *month = j->seg[2], *fmt = adm_arg(j, ADM_A_FORMAT);
    int32_t m;
    if (!an_month_parse(month, &m)) {
        adm_error(j, API_E_INVALID, "month", "The month must be YYYY-MM.");
        return;
    }
    bool csv = fmt && !strcmp(fmt, "csv");
    if (fmt && !csv && strcmp(fmt, "json") != 0) {
        adm_error(j, API_E_INVALID, "format", "'format' must be json or csv.");
        return;
    }
    billing_invoice *inv = NULL;
    cirrus_err err = {{0}};
    cirrus_status st = billing_invoice_get(j->s, tenant, month, &inv, &err);
    if (st == CIRRUS_ERR_NOT_FOUND) {
        adm_error(j, API_E_NO_ROUTE, NULL, "No tenant named '%.64s'.", tenant);
        return;
    }
    char *text = NULL;
    if (!st) st = csv ? billing_invoice_csv(inv, &text, &err) : billing_invoice_json(inv, &text, &err);
    if (st) {
        adm_fail(j, st, &err);
    } else {
        char file[128];
        snprintf(file, sizeof file, "invoice-%s-%s.%s", inv->tenant, inv->month, csv ? "csv" : "json");
        /* as JSON it is the reply itself; a download name only when the client asked for an export */
        adm_text(j, csv ? "text/csv; charset=utf-8" : "application/json", text, fmt ? file : NULL);
    }
    billing_invoice_free(inv);
}
