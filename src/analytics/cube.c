/*
 * Dates and the cube: usage records summed by month × tenant / model / plan.
 *
 * The cube is built in two passes so that every allocation happens before any summing: pass one
 * collects the distinct names of each dimension (sorted, unique), pass two adds every record into
 * its (row, month) cell with overflow-checked additions (A1). Lookup is a binary search over the
 * sorted names, so building is O(n log n) in the number of records.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/analytics.h"

/* ---- dates: proleptic Gregorian, days since 1970-01-01 (H. Hinnant's days_from_civil) ---------- */

static int64_t days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d) {
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static bool is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int an_month_days(int32_t month) {
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int64_t y = month / 12;
    int m = month % 12;
    return m == 1 && is_leap(y) ? 29 : mdays[m];
}

static bool digits(const char *s, int n, int *out) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

bool an_month_parse(const char *s, int32_t *out) {
    int y, m;
    if (!s || strlen(s) != 7 || s[4] != '-' || !digits(s, 4, &y) || !digits(s + 5, 2, &m)) return false;
    if (y < 1970 || m < 1 || m > 12) return false;
    *out = (int32_t)(y * 12 + m - 1);
    return true;
}

/* Fixed-width decimal digits; the caller guarantees 0 <= v < 10^n. */
static void put_digits(char *p, int n, int64_t v) {
    for (int i = n - 1; i >= 0; i--, v /= 10) p[i] = (char)('0' + v % 10);
}

void an_month_format(int32_t month, char out[8]) {
    if (month < 0 || month >= 10000 * 12) month = 0; /* outside what an_month_parse accepts */
    put_digits(out, 4, month / 12);
    out[4] = '-';
    put_digits(out + 5, 2, month % 12 + 1);
    out[7] = 0;
}

bool an_day_parse(const char *s, int64_t *out) {
    int y, m, d;
    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-' || !digits(s, 4, &y) || !digits(s + 5, 2, &m) ||
        !digits(s + 8, 2, &d))
        return false;
    if (y < 1970 || m < 1 || m > 12 || d < 1 || d > an_month_days((int32_t)(y * 12 + m - 1))) return false;
    *out = days_from_civil(y, m, d);
    return true;
}

void an_day_format(int64_t day, char out[11]) {
    int64_t y;
    int m, d;
    civil_from_days(day, &y, &m, &d);
    if (y < 0 || y > 9999) y = 0;
    put_digits(out, 4, y);
    out[4] = '-';
    put_digits(out + 5, 2, m);
    out[7] = '-';
    put_digits(out + 8, 2, d);
    out[10] = 0;
}

int32_t an_day_month(int64_t day) {
    int64_t y;
    int m, d;
    civil_from_days(day, &y, &m, &d);
    return (int32_t)(y * 12 + m - 1);
}

int64_t an_month_first_day(int32_t month) { return days_from_civil(month / 12, month % 12 + 1, 1); }

/* ---- record sets ------------------------------------------------------------------------------ */

void an_data_free(an_data *d) {
    if (!d) return;
    free(d->r);
    free(d->budgets);
    memset(d, 0, sizeof *d);
}

cirrus_status an_data_push(an_data *d, const an_record *r, cirrus_err *err) {
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 256;
        /* 2^26 records (~20 GiB of an_record) is far past anything a report should load. */
        if (cap > ((size_t)1 << 26)) return cirrus_errf(err, CIRRUS_ERR_FULL, "more than %zu usage records", d->cap);
        an_record *nr = realloc(d->r, cap * sizeof *nr);
        if (!nr) return cirrus_errf(err, CIRRUS_ERR_NOMEM, "out of memory for %zu usage records", cap);
        d->r = nr;
        d->cap = cap;
    }
    d->r[d->n++] = *r;
    return CIRRUS_OK;
}

/* ---- the cube ----------------------------------------------------------------------------------- */

int64_t an_tokens(const an_totals *t) {
    int64_t s;
    if (__builtin_add_overflow(t->prompt_tokens, t->cached_tokens, &s) ||
        __builtin_add_overflow(s, t->completion_tokens, &s))
        return INT64_MAX;
    return s;
}

bool an_growth(int64_t prev, int64_t cur, double *out) {
    *out = 0;
    if (prev == 0) return false;
    /* Difference in long double: cur − prev can overflow int64 for extreme values. */
    *out = (double)(((long double)cur - (long double)prev) / (long double)prev);
    return true;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

/* Sorted unique names of one dimension; the strings point into the records. */
static cirrus_status collect(const an_record *r, size_t n, const bool *in, size_t field_off, const char ***out,
                             size_t *n_out) {
    const char **v = malloc((n ? n : 1) * sizeof *v);
    if (!v) return CIRRUS_ERR_NOMEM;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (in[i]) v[k++] = (const char *)&r[i] + field_off;
    qsort(v, k, sizeof *v, cmp_str);
    size_t u = 0;
    for (size_t i = 0; i < k; i++)
        if (u == 0 || strcmp(v[u - 1], v[i]) != 0) v[u++] = v[i];
    *out = v;
    *n_out = u;
    return CIRRUS_OK;
}

static size_t find(const char *const *names, size_t n, const char *key) {
    const char *const *p = bsearch(&key, names, n, sizeof *names, cmp_str);
    return (size_t)(p - names);
}

static bool add_totals(an_totals *t, const an_record *r) {
    bool o = false;
    o |= __builtin_add_overflow(t->revenue, r->revenue, &t->revenue);
    if (r->simulated) o |= __builtin_add_overflow(t->simulated_revenue, r->revenue, &t->simulated_revenue);
    o |= __builtin_add_overflow(t->prompt_tokens, r->prompt_tokens, &t->prompt_tokens);
    o |= __builtin_add_overflow(t->cached_tokens, r->cached_tokens, &t->cached_tokens);
    o |= __builtin_add_overflow(t->completion_tokens, r->completion_tokens, &t->completion_tokens);
    o |= __builtin_add_overflow(t->requests, r->requests, &t->requests);
    return !o;
}

static an_series *make_rows(const char *const *names, size_t n, an_totals **cells, size_t n_months) {
    an_series *rows = calloc(n ? n : 1, sizeof *rows);
    *cells = calloc(n && n_months ? n * n_months : 1, sizeof **cells);
    if (!rows || !*cells) {
        free(rows);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        snprintf(rows[i].name, sizeof rows[i].name, "%s", names[i]);
        rows[i].months = *cells + i * n_months;
    }
    return rows;
}

/* The cube owns one block per dimension for its cells; these live right behind the public struct. */
typedef struct {
    an_cube pub;
    an_totals *cells[3];
} cube_impl;

void an_cube_free(an_cube *c) {
    if (!c) return;
    cube_impl *ci = (cube_impl *)c;
    for (int i = 0; i < 3; i++) free(ci->cells[i]);
    free(c->tenants);
    free(c->models);
    free(c->plans);
    free(c->total);
    free(ci);
}

static cirrus_status check_record(const an_record *r, size_t i, cirrus_err *err) {
    if (!r->tenant[0]) return cirrus_errf(err, CIRRUS_ERR_INVALID, "record %zu: empty tenant name", i);
    if (memchr(r->tenant, 0, sizeof r->tenant) == NULL || memchr(r->plan, 0, sizeof r->plan) == NULL ||
        memchr(r->model, 0, sizeof r->model) == NULL)
        return cirrus_errf(err, CIRRUS_ERR_INVALID, "record %zu: unterminated name", i);
    const struct {
        const char *name;
        int64_t v;
    } f[] = {{"revenue", r->revenue},         {"prompt_tokens", r->prompt_tokens},
             {"cached_tokens", r->cached_tokens}, {"completion_tokens", r->completion_tokens},
             {"requests", r->requests}};
    for (size_t k = 0; k < sizeof f / sizeof f[0]; k++)
        if (f[k].v < 0) return cirrus_errf(err, CIRRUS_ERR_RANGE, "record %zu (%s): %s is negative", i, r->tenant, f[k].name);
    return CIRRUS_OK;
}

cirrus_status an_cube_build(const an_record *r, size_t n, int32_t first_month, int32_t last_month, an_cube **out,
                            cirrus_err *err) {
    *out = NULL;
    if (first_month < 0 || last_month < first_month)
        return cirrus_errf(err, CIRRUS_ERR_INVALID, "cube: last month before first month");
    if ((int64_t)last_month - first_month + 1 > AN_MONTHS_MAX)
        return cirrus_errf(err, CIRRUS_ERR_RANGE, "cube: more than %d months", AN_MONTHS_MAX);
    size_t nm = (size_t)(last_month - first_month + 1);

    bool *in = malloc(n ? n : 1);
    cube_impl *ci = calloc(1, sizeof *ci);
    const char **names[3] = {NULL, NULL, NULL};
    size_t counts[3] = {0, 0, 0};
    cirrus_status st = CIRRUS_OK;
    if (!in || !ci) {
        st = cirrus_errf(err, CIRRUS_ERR_NOMEM, "cube: out of memory");
        goto done;
    }
    an_cube *c = &ci->pub;
    c->first_month = first_month;
    c->n_months = nm;
    for (size_t i = 0; i < n; i++) {
        if ((st = check_record(&r[i], i, err)) != CIRRUS_OK) goto done;
        in[i] = r[i].month >= first_month && r[i].month <= last_month;
        if (!in[i]) c->n_skipped++;
    }
    const size_t offs[3] = {offsetof(an_record, tenant), offsetof(an_record, model), offsetof(an_record, plan)};
    for (int d = 0; d < 3; d++)
        if (collect(r, n, in, offs[d], &names[d], &counts[d]) != CIRRUS_OK) {
            st = cirrus_errf(err, CIRRUS_ERR_NOMEM, "cube: out of memory");
            goto done;
        }
    an_series **rows[3] = {&c->tenants, &c->models, &c->plans};
    size_t *nrows[3] = {&c->n_tenants, &c->n_models, &c->n_plans};
    for (int d = 0; d < 3; d++) {
        *rows[d] = make_rows(names[d], counts[d], &ci->cells[d], nm);
        *nrows[d] = counts[d];
        if (!*rows[d]) {
            st = cirrus_errf(err, CIRRUS_ERR_NOMEM, "cube: out of memory");
            goto done;
        }
    }
    c->total = calloc(nm, sizeof *c->total);
    if (!c->total) {
        st = cirrus_errf(err, CIRRUS_ERR_NOMEM, "cube: out of memory");
        goto done;
    }
    /* Latest record's plan per tenant: records are not assumed sorted, so keep the max month (ties:
     * the later record in input order, as a ledger lists oldest first). */
    int32_t *plan_month = malloc((c->n_tenants ? c->n_tenants : 1) * sizeof *plan_month);
    if (!plan_month) {
        st = cirrus_errf(err, CIRRUS_ERR_NOMEM, "cube: out of memory");
        goto done;
    }
    for (size_t t = 0; t < c->n_tenants; t++) plan_month[t] = -1;
    for (size_t i = 0; i < n; i++) {
        if (!in[i]) continue;
        size_t m = (size_t)(r[i].month - first_month);
        size_t t = find(names[0], counts[0], r[i].tenant);
        an_series *sr[3] = {&c->tenants[t], &c->models[find(names[1], counts[1], r[i].model)],
                            &c->plans[find(names[2], counts[2], r[i].plan)]};
        bool ok = add_totals(&c->total[m], &r[i]) && add_totals(&c->sum, &r[i]);
        for (int d = 0; d < 3; d++) ok = ok && add_totals(&sr[d]->months[m], &r[i]) && add_totals(&sr[d]->sum, &r[i]);
        if (!ok) {
            free(plan_month);
            st = cirrus_errf(err, CIRRUS_ERR_RANGE, "record %zu (%s): a total overflows int64", i, r[i].tenant);
            goto done;
        }
        if (r[i].month >= plan_month[t]) {
            plan_month[t] = r[i].month;
            snprintf(c->tenants[t].plan, sizeof c->tenants[t].plan, "%s", r[i].plan);
        }
    }
    free(plan_month);

done:
    for (int d = 0; d < 3; d++) free(names[d]);
    free(in);
    if (st != CIRRUS_OK) {
        an_cube_free(ci ? &ci->pub : NULL);
        return st;
    }
    *out = &ci->pub;
    return CIRRUS_OK;
}

ptrdiff_t an_cube_tenant(const an_cube *c, const char *name) {
    size_t lo = 0, hi = c->n_tenants;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int k = strcmp(c->tenants[mid].name, name);
        if (k == 0) return (ptrdiff_t)mid;
        if (k < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

cirrus_status an_cube_tenant_revenue(const an_cube *c, size_t m0, size_t m1, int64_t *out, cirrus_err *err) {
    if (m0 > m1 || m1 >= c->n_months) return cirrus_errf(err, CIRRUS_ERR_INVALID, "month range outside the cube");
    for (size_t t = 0; t < c->n_tenants; t++) {
        int64_t s = 0;
        for (size_t m = m0; m <= m1; m++)
            if (__builtin_add_overflow(s, c->tenants[t].months[m].revenue, &s))
                return cirrus_errf(err, CIRRUS_ERR_RANGE, "tenant %s: revenue overflows int64", c->tenants[t].name);
        out[t] = s;
    }
    return CIRRUS_OK;
}
