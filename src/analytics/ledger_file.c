/*
 * Reading a ledger export file (format in analytics.h, an_ledger_read). The bytes are untrusted:
 * every field is type- and range-checked and an error names the line and the field.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/analytics.h"

#define LEDGER_FILE_MAX ((size_t)256 << 20)
#define CSV_FIELDS_MAX 32

/* One parsed line before it becomes a record or a budget. */
typedef struct {
    const char *tenant, *plan, *model, *period;
    bool has_revenue, has_budget, has_requests;
    int64_t revenue, prompt, cached, completion, requests, soft_budget;
    bool simulated;
} line_fields;

static cirrus_status put_name(char *dst, size_t cap, const char *src, size_t line, const char *field, cirrus_err *err) {
    size_t n = strlen(src);
    if (n >= cap) return cirrus_errf(err, CIRRUS_ERR_RANGE, "line %zu: %s is longer than %zu bytes", line, field, cap - 1);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)src[i] < 0x20 || src[i] == 0x7f)
            return cirrus_errf(err, CIRRUS_ERR_FORMAT, "line %zu: %s has a control character", line, field);
    memcpy(dst, src, n + 1);
    return CIRRUS_OK;
}

/* One read: where records and budgets go, and an index of the budgets by tenant (open addressing,
 * slot = budget index + 1, 0 empty; at most half full) so that a later line for a tenant finds its
 * budget in O(1) -- a linear search made 100k budget lines take 27 s. */
typedef struct {
    const an_filter *f;
    an_data *out;
    size_t *slot, n_slots; /* n_slots: a power of two, 0 before the first budget */
    size_t budgets_cap;    /* allocated length of out->budgets as far as this read knows */
} reader;

static uint64_t name_hash(const char *s) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* The slot where tenant is, or the empty slot where it would go. */
static size_t *budget_slot(const reader *rd, const char *tenant) {
    size_t i = (size_t)name_hash(tenant) & (rd->n_slots - 1);
    while (rd->slot[i] && strcmp(rd->out->budgets[rd->slot[i] - 1].tenant, tenant) != 0)
        i = (i + 1) & (rd->n_slots - 1);
    return &rd->slot[i];
}

/* Makes room in the index for n budgets (rehashing the ones out has when it grows). */
static cirrus_status index_reserve(reader *rd, size_t n, cirrus_err *err) {
    if (2 * n <= rd->n_slots) return CIRRUS_OK;
    size_t cap = rd->n_slots ? rd->n_slots : 64;
    while (cap < 2 * n) cap *= 2;
    size_t *slot = calloc(cap, sizeof *slot);
    if (!slot) return cirrus_errf(err, CIRRUS_ERR_NOMEM, "out of memory for the budget index");
    free(rd->slot);
    rd->slot = slot;
    rd->n_slots = cap;
    for (size_t i = 0; i < rd->out->n_budgets; i++) *budget_slot(rd, rd->out->budgets[i].tenant) = i + 1;
    return CIRRUS_OK;
}

static cirrus_status set_budget(reader *rd, const char *tenant, int64_t soft, cirrus_err *err) {
    an_data *d = rd->out;
    cirrus_status st = index_reserve(rd, d->n_budgets + 1, err);
    if (st != CIRRUS_OK) return st;
    size_t *slot = budget_slot(rd, tenant);
    if (*slot) {
        d->budgets[*slot - 1].soft = soft; /* a later line wins */
        return CIRRUS_OK;
    }
    if (d->n_budgets >= 1000000) return cirrus_errf(err, CIRRUS_ERR_FULL, "more than a million soft budgets");
    if (d->n_budgets == rd->budgets_cap) {
        size_t cap = rd->budgets_cap < 16 ? 16 : 2 * rd->budgets_cap;
        an_budget *nb = realloc(d->budgets, cap * sizeof *nb);
        if (!nb) return cirrus_errf(err, CIRRUS_ERR_NOMEM, "out of memory for budgets");
        d->budgets = nb;
        rd->budgets_cap = cap;
    }
    an_budget *b = &d->budgets[d->n_budgets++];
    memset(b, 0, sizeof *b);
    snprintf(b->tenant, sizeof b->tenant, "%s", tenant);
    b->soft = soft;
    *slot = d->n_budgets;
    return CIRRUS_OK;
}

/* Turns one line's fields into a record (kept if it passes the filter) or a budget. */
static cirrus_status take(const line_fields *lf, size_t line, reader *rd, cirrus_err *err) {
    const an_filter *f = rd->f;
    if (!lf->tenant || !lf->tenant[0]) return cirrus_errf(err, CIRRUS_ERR_FORMAT, "line %zu: tenant is missing", line);
    if (!lf->period || !lf->period[0]) {
        if (!lf->has_budget)
            return cirrus_errf(err, CIRRUS_ERR_FORMAT, "line %zu: period is missing (and no soft_budget)", line);
        char name[AN_NAME_MAX];
        cirrus_status st = put_name(name, sizeof name, lf->tenant, line, "tenant", err);
        return st != CIRRUS_OK ? st : set_budget(rd, name, lf->soft_budget, err);
    }
    if (!lf->has_revenue) return cirrus_errf(err, CIRRUS_ERR_FORMAT, "line %zu: revenue is missing", line);
    an_record r;
    memset(&r, 0, sizeof r);
    cirrus_status st;
    if ((st = put_name(r.tenant, sizeof r.tenant, lf->tenant, line, "tenant", err)) != CIRRUS_OK) return st;
    if ((st = put_name(r.plan, sizeof r.plan, lf->plan ? lf->plan : "", line, "plan", err)) != CIRRUS_OK) return st;
    if ((st = put_name(r.model, sizeof r.model, lf->model ? lf->model : "", line, "model", err)) != CIRRUS_OK) return st;
    if (an_month_parse(lf->period, &r.month)) {
        r.day = AN_NO_DAY;
    } else if (an_day_parse(lf->period, &r.day)) {
        r.month = an_day_month(r.day);
    } else {
        return cirrus_errf(err, CIRRUS_ERR_FORMAT, "line %zu: period '%.20s' is not YYYY-MM or YYYY-MM-DD", line, lf->period);
    }
    r.revenue = lf->revenue;
    r.prompt_tokens = lf->prompt;
    r.cached_tokens = lf->cached;
    r.completion_tokens = lf->completion;
    r.requests = lf->has_requests ? lf->requests : 1;
    r.simulated = lf->simulated;
    if (lf->has_budget && (st = set_budget(rd, r.tenant, lf->soft_budget, err)) != CIRRUS_OK) return st;

    if (f) {
        if (f->exclude_simulated && r.simulated) return CIRRUS_OK;
        if (r.day != AN_NO_DAY) {
            if ((f->from_day != AN_NO_DAY && r.day < f->from_day) || (f->to_day != AN_NO_DAY && r.day > f->to_day))
                return CIRRUS_OK;
        } else {
            if ((f->from_day != AN_NO_DAY && r.month < an_day_month(f->from_day)) ||
                (f->to_day != AN_NO_DAY && r.month > an_day_month(f->to_day)))
                return CIRRUS_OK;
        }
    }
    return an_data_push(rd->out, &r, err);
}

/* ---- JSON lines ---------------------------------------------------------------------------------- */

static cirrus_status json_int(json_t *o, const char *key, size_t line, bool *has, int64_t *v, cirrus_err *err) {
    json_t *x = json_object_get(o, key);
    if (!x || json_is_null(x)) return CIRRUS_OK;
    if (!json_is_integer(x)) return cirrus_errf(err, CIRRUS_ERR_FORMAT, "line %zu: %s is not an integer", line, key);
    json_int_t i = json_integer_value(x);
    if (i < 0) return cirrus_errf(err, CIRRUS_ERR_RANGE, "line %zu: %s is negative", line, key);
    *v = (int64_t)i;
    if (has) *has = true;
    return CIRRUS_OK;
}

static cirrus_status json_str(json_t *o, const char *key, size_t line, const char **v, cirrus_err *err) {
    json_t *x = json_object_get(o, key);
    if (!x || json_is_null(x)) return CIRRUS_OK;
    if (!json_is_string(x)) return cirrus_errf(err, CIRRUS_ERR_FORMAT, "line %zu: %s is not a string", line, key);
    if (strlen(json_string_value(x)) != json_string_length(x))
        return cirrus_errf(err, CIRRUS_ERR_FORMAT, "line %zu: %s contains a NUL", line, key);
    *v = json_string_value(x);
    return CIRRUS_OK;
}

static cirrus_status json_line(const char *s, size_t len, size_t line, reader *rd, cirrus_err *err) {
    json_error_t je;
    json_t *o = json_loadb(s, len, JSON_REJECT_DUPLICATES, &je);
    if (!o) return cirrus_errf(err, CIRRUS_ERR_FORMAT, "line %zu: not JSON (%s)", line, je.text);
    cirrus_status st = CIRRUS_OK;
    line_fields lf;
    memset(&lf, 0, sizeof lf);
    if (!json_is_object(o)) {
        st = cirrus_errf(err, CIRRUS_ERR_FORMAT, "line %zu: not a JSON object", line);
        goto done;
    }
    json_t *sim = json_object_get(o, "simulated");
    if (sim && !json_is_null(sim)) {
        if (json_is_boolean(sim))
            lf.simulated = json_is_true(sim);
        else if (json_is_integer(sim) && (json_integer_value(sim) == 0 || json_integer_value(sim) == 1))
            lf.simulated = json_integer_value(sim) == 1;
        else {
            st = cirrus_errf(err, CIRRUS_ERR_FORMAT, "line %zu: simulated is not true/false", line);
            goto done;
        }
    }
    if ((st = json_str(o, "tenant", line, &lf.tenant, err)) || (st = json_str(o, "plan", line, &lf.plan, err)) ||
        (st = json_str(o, "model", line, &lf.model, err)) || (st = json_str(o, "period", line, &lf.period, err)) ||
        (st = json_int(o, "revenue", line, &lf.has_revenue, &lf.revenue, err)) ||
        (st = json_int(o, "prompt_tokens", line, NULL, &lf.prompt, err)) ||
        (st = json_int(o, "cached_tokens", line, NULL, &lf.cached, err)) ||
        (st = json_int(o, "completion_tokens", line, NULL, &lf.completion, err)) ||
        (st = json_int(o, "requests", line, &lf.has_requests, &lf.requests, err)) ||
        (st = json_int(o, "soft_budget", line, &lf.has_budget, &lf.soft_budget, err)))
        goto done;
    st = take(&lf, line, rd, err);
done:
    json_decref(o);
    return st;
}

/* ---- CSV (RFC 4180: quoted fields with "" for a quote; no newline inside a field) --------------- */

/* Splits a line in place into at most CSV_FIELDS_MAX fields. */
static cirrus_status csv_split(char *s, size_t line, char **fld, size_t *nf, cirrus_err *err) {
    size_t n = 0;
    char *p = s;
    for (;;) {
        if (n == CSV_FIELDS_MAX) return cirrus_errf(err, CIRRUS_ERR_RANGE, "line %zu: more than %d fields", line, CSV_FIELDS_MAX);
        char *w = p;
        fld[n++] = w;
        if (*p == '"') {
            p++;
            for (;;) {
                if (!*p) return cirrus_errf(err, CIRRUS_ERR_FORMAT, "line %zu: unterminated quote", line);
                if (*p == '"' && p[1] == '"') {
                    *w++ = '"';
                    p += 2;
                } else if (*p == '"') {
                    p++;
                    break;
                } else {
                    *w++ = *p++;
                }
            }
            if (*p && *p != ',') return cirrus_errf(err, CIRRUS_ERR_FORMAT, "line %zu: text after a closing quote", line);
        } else {
            while (*p && *p != ',') *w++ = *p++;
        }
        char c = *p;
        *w = 0;
        if (!c) break;
        p++;
    }
    *nf = n;
    return CIRRUS_OK;
}

static cirrus_status csv_int(const char *s, size_t line, const char *name, bool *has, int64_t *v, cirrus_err *err) {
    if (!*s) return CIRRUS_OK;
    errno = 0;
    char *end;
    long long x = strtoll(s, &end, 10);
    if (errno || *end || end == s) return cirrus_errf(err, CIRRUS_ERR_FORMAT, "line %zu: %s '%.24s' is not an integer", line, name, s);
    if (x < 0) return cirrus_errf(err, CIRRUS_ERR_RANGE, "line %zu: %s is negative", line, name);
    *v = x;
    if (has) *has = true;
    return CIRRUS_OK;
}

enum { C_TENANT, C_PLAN, C_MODEL, C_PERIOD, C_REVENUE, C_PROMPT, C_CACHED, C_COMPLETION, C_REQUESTS, C_SIM, C_BUDGET, C_N };
static const char *const csv_names[C_N] = {"tenant", "plan", "model", "period", "revenue", "prompt_tokens",
                                           "cached_tokens", "completion_tokens", "requests", "simulated", "soft_budget"};

static cirrus_status csv_row(char **fld, size_t nf, const int *col, size_t line, reader *rd, cirrus_err *err) {
    line_fields lf;
    memset(&lf, 0, sizeof lf);
    const char *v[C_N];
    for (int k = 0; k < C_N; k++) v[k] = col[k] >= 0 && (size_t)col[k] < nf ? fld[col[k]] : "";
    lf.tenant = v[C_TENANT];
    lf.plan = v[C_PLAN];
    lf.model = v[C_MODEL];
    lf.period = v[C_PERIOD];
    cirrus_status st;
    if ((st = csv_int(v[C_REVENUE], line, "revenue", &lf.has_revenue, &lf.revenue, err)) ||
        (st = csv_int(v[C_PROMPT], line, "prompt_tokens", NULL, &lf.prompt, err)) ||
        (st = csv_int(v[C_CACHED], line, "cached_tokens", NULL, &lf.cached, err)) ||
        (st = csv_int(v[C_COMPLETION], line, "completion_tokens", NULL, &lf.completion, err)) ||
        (st = csv_int(v[C_REQUESTS], line, "requests", &lf.has_requests, &lf.requests, err)) ||
        (st = csv_int(v[C_BUDGET], line, "soft_budget", &lf.has_budget, &lf.soft_budget, err)))
        return st;
    const char *s = v[C_SIM];
    if (!strcmp(s, "true") || !strcmp(s, "1"))
        lf.simulated = true;
    else if (*s && strcmp(s, "false") != 0 && strcmp(s, "0") != 0)
        return cirrus_errf(err, CIRRUS_ERR_FORMAT, "line %zu: simulated '%.8s' is not true/false", line, s);
    return take(&lf, line, rd, err);
}

cirrus_status an_ledger_read(const char *path, const an_filter *f, an_data *out, cirrus_err *err) {
    char *buf = NULL;
    size_t len = 0;
    cirrus_status st = cirrus_read_file(path, LEDGER_FILE_MAX, &buf, &len, err);
    if (st != CIRRUS_OK) return st;
    if (memchr(buf, 0, len)) {
        free(buf);
        return cirrus_errf(err, CIRRUS_ERR_FORMAT, "%s: contains a NUL byte (not a text export)", path);
    }
    reader rd = {.f = f, .out = out, .budgets_cap = out->n_budgets};
    int kind = 0; /* 0: undecided, 1: JSON lines, 2: CSV */
    int col[C_N];
    size_t line = 0;
    char *p = buf, *end = buf + len;
    while (p < end && st == CIRRUS_OK) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *e = nl ? nl : end;
        line++;
        char *s = p;
        p = nl ? nl + 1 : end;
        if (e > s && e[-1] == '\r') e--;
        *e = 0;
        while (*s == ' ' || *s == '\t') s++;
        if (!*s || *s == '#') continue;
        if (kind == 0 && *s == '{') kind = 1;
        if (kind == 1) {
            st = json_line(s, (size_t)(e - s), line, &rd, err);
            continue;
        }
        char *fld[CSV_FIELDS_MAX];
        size_t nf = 0;
        if ((st = csv_split(s, line, fld, &nf, err)) != CIRRUS_OK) break;
        if (kind == 0) { /* the header row names the columns, in any order */
            kind = 2;
            for (int k = 0; k < C_N; k++) col[k] = -1;
            for (size_t i = 0; i < nf; i++)
                for (int k = 0; k < C_N; k++)
                    if (!strcmp(fld[i], csv_names[k])) {
                        if (col[k] >= 0) st = cirrus_errf(err, CIRRUS_ERR_FORMAT, "line %zu: column %s twice", line, csv_names[k]);
                        col[k] = (int)i;
                    }
            if (st == CIRRUS_OK && (col[C_TENANT] < 0 || col[C_PERIOD] < 0 || col[C_REVENUE] < 0))
                st = cirrus_errf(err, CIRRUS_ERR_FORMAT,
                                 "line %zu: the CSV header needs tenant, period and revenue columns", line);
            continue;
        }
        st = csv_row(fld, nf, col, line, &rd, err);
    }
    free(rd.slot);
    free(buf);
    if (st != CIRRUS_OK && err) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err->msg);
        cirrus_errf(err, st, "%s: %s", path, msg);
    }
    return st;
}
