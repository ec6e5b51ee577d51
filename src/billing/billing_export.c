/*
 * Invoice exports. JSON is also the closed invoice's snapshot format, so from_json reads back
 * exactly what to_json wrote (amounts are JSON integers of micro-units; the *_display strings are
 * for people and are ignored on the way back).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "billing/billing_internal.h"

static const char *const k_kind[] = {"usage", "fee", "discount", "true_up", "credit"};

static json_t *money(int64_t m) {
    char b[32];
    billing_format_money(m, b, sizeof b);
    return json_string(b);
}

cirrus_status billing_invoice_json(const billing_invoice *inv, char **out, cirrus_err *err) {
    json_t *o = json_object(), *lines = json_array();
    char from[32], to[32], closed[32];
    billing_format_time(inv->period_from, from);
    billing_format_time(inv->period_to, to);
    json_object_set_new(o, "tenant", json_string(inv->tenant));
    json_object_set_new(o, "month", json_string(inv->month));
    json_object_set_new(o, "currency", json_string(inv->currency));
    json_object_set_new(o, "status", json_string(inv->closed ? "closed" : "draft"));
    json_object_set_new(o, "period_from", json_string(from));
    json_object_set_new(o, "period_to", json_string(to));
    if (inv->closed) {
        billing_format_time(inv->closed_at, closed);
        json_object_set_new(o, "closed_at", json_string(closed));
        json_object_set_new(o, "closed_at_unix", json_integer(inv->closed_at));
    }
    json_object_set_new(o, "requests", json_integer(inv->requests));
    json_object_set_new(o, "open_records", json_integer(inv->open_records));
    for (size_t i = 0; i < inv->n_lines; i++) {
        const billing_line *l = &inv->lines[i];
        json_t *j = json_object();
        json_object_set_new(j, "kind", json_string(k_kind[l->kind]));
        if (l->kind == BILLING_LINE_USAGE) {
            json_object_set_new(j, "model", json_string(l->model));
            json_object_set_new(j, "price_id", json_integer(l->price_id));
            json_object_set_new(j, "token_class", json_string(l->token_class));
        }
        json_object_set_new(j, "quantity", json_integer(l->quantity));
        json_object_set_new(j, "unit_price_micros", json_integer(l->unit_price));
        json_object_set_new(j, "amount_micros", json_integer(l->amount));
        json_object_set_new(j, "amount", money(l->amount));
        json_object_set_new(j, "description", json_string(l->description));
        json_array_append_new(lines, j);
    }
    json_object_set_new(o, "lines", lines);
    const struct {
        const char *k;
        int64_t v;
    } f[] = {{"usage", inv->usage}, {"fees", inv->fees}, {"true_up", inv->true_up}, {"discount", inv->discount},
             {"credits", inv->credits}, {"total", inv->total}};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        char k[40];
        snprintf(k, sizeof k, "%s_micros", f[i].k);
        json_object_set_new(o, k, json_integer(f[i].v));
        json_object_set_new(o, f[i].k, money(f[i].v));
    }
    *out = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!*out) return cirrus_errf(err, CIRRUS_ERR_NOMEM, "invoice: out of memory");
    return CIRRUS_OK;
}

/* RFC 4180: quote every text field, double the quotes inside. */
static void csv_text(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

cirrus_status billing_invoice_csv(const billing_invoice *inv, char **out, cirrus_err *err) {
    size_t len = 0;
    *out = NULL;
    FILE *f = open_memstream(out, &len);
    if (!f) return cirrus_errf(err, CIRRUS_ERR_NOMEM, "invoice: out of memory");
    fprintf(f, "tenant,month,status,kind,model,price_id,token_class,quantity,unit_price_micros,amount_micros,amount,description\r\n");
    char a[32];
    for (size_t i = 0; i < inv->n_lines; i++) {
        const billing_line *l = &inv->lines[i];
        csv_text(f, inv->tenant);
        fprintf(f, ",%s,%s,%s,", inv->month, inv->closed ? "closed" : "draft", k_kind[l->kind]);
        csv_text(f, l->model);
        billing_format_money(l->amount, a, sizeof a);
        fprintf(f, ",%lld,%s,%lld,%lld,%lld,%s,", (long long)l->price_id, l->token_class, (long long)l->quantity,
                (long long)l->unit_price, (long long)l->amount, a);
        csv_text(f, l->description);
        fputs("\r\n", f);
    }
    billing_format_money(inv->total, a, sizeof a);
    csv_text(f, inv->tenant);
    fprintf(f, ",%s,%s,total,\"\",0,,1,%lld,%lld,%s,\"invoice total (%s)\"\r\n", inv->month, inv->closed ? "closed" : "draft",
            (long long)inv->total, (long long)inv->total, a, inv->currency);
    if (fclose(f) != 0 || !*out) {
        free(*out);
        *out = NULL;
        return cirrus_errf(err, CIRRUS_ERR_NOMEM, "invoice: out of memory");
    }
    return CIRRUS_OK;
}

static int64_t geti(const json_t *o, const char *k) { return (int64_t)json_integer_value(json_object_get(o, k)); }
static void gets_(const json_t *o, const char *k, char *dst, size_t cap) {
    const char *s = json_string_value(json_object_get(o, k));
    snprintf(dst, cap, "%s", s ? s : "");
}

cirrus_status billing_invoice_from_json(const char *text, billing_invoice **out, cirrus_err *err) {
    json_error_t je;
    json_t *o = json_loads(text, 0, &je);
    if (!o || !json_is_object(o) || !json_is_array(json_object_get(o, "lines"))) {
        json_decref(o);
        return cirrus_errf(err, CIRRUS_ERR_FORMAT, "invoice: stored snapshot is not an invoice (line %d: %s)", je.line, je.text);
    }
    billing_invoice *inv = calloc(1, sizeof *inv);
    json_t *lines = json_object_get(o, "lines");
    size_t n = json_array_size(lines);
    if (!inv || (n && !(inv->lines = calloc(n, sizeof *inv->lines)))) {
        free(inv);
        json_decref(o);
        return cirrus_errf(err, CIRRUS_ERR_NOMEM, "invoice: out of memory");
    }
    gets_(o, "tenant", inv->tenant, sizeof inv->tenant);
    gets_(o, "month", inv->month, sizeof inv->month);
    gets_(o, "currency", inv->currency, sizeof inv->currency);
    const char *status = json_string_value(json_object_get(o, "status"));
    inv->closed = status && !strcmp(status, "closed");
    inv->closed_at = geti(o, "closed_at_unix");
    billing_parse_month(inv->month, &inv->period_from, &inv->period_to, NULL);
    inv->requests = geti(o, "requests");
    inv->open_records = geti(o, "open_records");
    inv->usage = geti(o, "usage_micros");
    inv->fees = geti(o, "fees_micros");
    inv->true_up = geti(o, "true_up_micros");
    inv->discount = geti(o, "discount_micros");
    inv->credits = geti(o, "credits_micros");
    inv->total = geti(o, "total_micros");
    for (size_t i = 0; i < n; i++) {
        const json_t *j = json_array_get(lines, i);
        billing_line *l = &inv->lines[i];
        const char *kind = json_string_value(json_object_get(j, "kind"));
        for (int k = 0; kind && k < 5; k++)
            if (!strcmp(kind, k_kind[k])) l->kind = (billing_line_kind)k;
        gets_(j, "model", l->model, sizeof l->model);
        l->price_id = geti(j, "price_id");
        gets_(j, "token_class", l->token_class, sizeof l->token_class);
        l->quantity = geti(j, "quantity");
        l->unit_price = geti(j, "unit_price_micros");
        l->amount = geti(j, "amount_micros");
        gets_(j, "description", l->description, sizeof l->description);
    }
    inv->n_lines = n;
    json_decref(o);
    *out = inv;
    return CIRRUS_OK;
}
