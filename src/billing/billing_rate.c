/*
 * Rating (the rule is in billing.h) and the in-memory price table admission reads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "billing/billing.h"

__extension__ typedef unsigned __int128 u128;

int64_t billing_muldiv_half_even(int64_t n, int64_t d, int64_t q) {
    /* n, d <= 2^40 * 1e12 < 2^80 would not fit: callers bound n and d so n*d < 2^127 */
    u128 p = (u128)(uint64_t)n * (u128)(uint64_t)d;
    u128 quo = p / (u128)(uint64_t)q, rem = p % (u128)(uint64_t)q;
    u128 twice = rem * 2;
    if (twice > (u128)(uint64_t)q || (twice == (u128)(uint64_t)q && (quo & 1))) quo++;
    return (int64_t)quo;
}

static int64_t muldiv_ceil(int64_t n, int64_t d, int64_t q) {
    u128 p = (u128)(uint64_t)n * (u128)(uint64_t)d;
    return (int64_t)((p + (u128)(uint64_t)q - 1) / (u128)(uint64_t)q);
}

cirrus_status billing_rate(const store_price *p, const billing_tokens *t, billing_cost *out, cirrus_err *err) {
    memset(out, 0, sizeof *out);
    if (t->prompt < 0 || t->cached < 0 || t->completion < 0 || t->cached > t->prompt || t->prompt > BILLING_TOKENS_MAX ||
        t->completion > BILLING_TOKENS_MAX)
        return cirrus_errf(err, CIRRUS_ERR_RANGE, "rating: token counts out of range (prompt %lld, cached %lld, completion %lld)",
                           (long long)t->prompt, (long long)t->cached, (long long)t->completion);
    if (p->input < 0 || p->cached_input < 0 || p->output < 0 || p->input > BILLING_PRICE_MAX ||
        p->cached_input > BILLING_PRICE_MAX || p->output > BILLING_PRICE_MAX)
        return cirrus_errf(err, CIRRUS_ERR_RANGE, "rating: price version %lld is out of range", (long long)p->id);
    /* tokens <= 2^40 and price <= 1e12 < 2^40: the product fits in 80 bits, the result in 64 */
    out->input = billing_muldiv_half_even(t->prompt - t->cached, p->input, 1000000);
    out->cached = billing_muldiv_half_even(t->cached, p->cached_input, 1000000);
    out->output = billing_muldiv_half_even(t->completion, p->output, 1000000);
    out->total = out->input + out->cached + out->output;
    return CIRRUS_OK;
}

int64_t billing_worst_case(const store_price *p, int64_t prompt, int64_t max_tokens) {
    if (prompt < 0) prompt = 0;
    if (max_tokens < 0) max_tokens = 0;
    if (prompt > BILLING_TOKENS_MAX) prompt = BILLING_TOKENS_MAX;
    if (max_tokens > BILLING_TOKENS_MAX) max_tokens = BILLING_TOKENS_MAX;
    int64_t in = p->input > p->cached_input ? p->input : p->cached_input;
    return muldiv_ceil(prompt, in, 1000000) + 1 + muldiv_ceil(max_tokens, p->output, 1000000);
}

/* ---- price versions ------------------------------------------------------------------------- */

cirrus_status billing_price_set(store *s, const char *model, int64_t from, int64_t input, int64_t cached_input,
                                int64_t output, store_price *out, cirrus_err *err) {
    if (!model || !*model || strlen(model) >= STORE_MODEL_MAX)
        return cirrus_errf(err, CIRRUS_ERR_INVALID, "--model must be 1-%d bytes", STORE_MODEL_MAX - 1);
    for (const char *c = model; *c; c++)
        if ((unsigned char)*c <= 0x20 || *c == 0x7f) return cirrus_errf(err, CIRRUS_ERR_INVALID, "--model must not contain spaces or control characters");
    const struct {
        const char *what;
        int64_t v;
    } v[] = {{"--input", input}, {"--cached-input", cached_input}, {"--output", output}};
    for (int i = 0; i < 3; i++)
        if (v[i].v < 0 || v[i].v > BILLING_PRICE_MAX)
            return cirrus_errf(err, CIRRUS_ERR_RANGE, "%s must be between 0 and %lld micro-units per 1M tokens", v[i].what, BILLING_PRICE_MAX);
    if (from < 0) return cirrus_errf(err, CIRRUS_ERR_RANGE, "--from must not be before 1970");
    store_price p = {.effective_from = from, .input = input, .cached_input = cached_input, .output = output};
    snprintf(p.model, sizeof p.model, "%s", model);
    cirrus_status st = store_price_insert(s, &p, err);
    if (!st && out) *out = p;
    return st;
}

cirrus_status billing_credit_add(store *s, const char *tenant, const char *month, int64_t amount, const char *memo,
                                 cirrus_err *err) {
    int64_t from, to;
    cirrus_status st = billing_parse_month(month, &from, &to, err);
    if (st) return st;
    if (amount <= 0) return cirrus_errf(err, CIRRUS_ERR_INVALID, "--amount must be positive");
    if (memo && strlen(memo) >= STORE_MEMO_MAX) return cirrus_errf(err, CIRRUS_ERR_INVALID, "--memo must be under %d bytes", STORE_MEMO_MAX);
    store_tenant t;
    if ((st = store_tenant_get(s, tenant, &t, err))) return st;
    store_invoice inv;
    st = store_invoice_get(s, t.id, month, &inv, NULL);
    if (st == CIRRUS_OK) {
        free(inv.body);
        return cirrus_errf(err, CIRRUS_ERR_INVALID, "the invoice of %s for %s is closed; add the credit to a later month", tenant, month);
    }
    store_credit c = {.tenant_id = t.id, .amount = amount};
    snprintf(c.month, sizeof c.month, "%s", month);
    snprintf(c.memo, sizeof c.memo, "%s", memo ? memo : "");
    return store_credit_insert(s, &c, err);
}

/* ---- price table ---------------------------------------------------------------------------- */

struct billing_prices {
    store_price *v; /* sorted by (model, effective_from): store_price_list's order */
    size_t n, cap;
    bool oom;
};

static int add_price(void *ud, const store_price *p) {
    billing_prices *b = ud;
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 16;
        store_price *v = realloc(b->v, cap * sizeof *v);
        if (!v) {
            b->oom = true;
            return 1;
        }
        b->v = v;
        b->cap = cap;
    }
    b->v[b->n++] = *p;
    return 0;
}

static int cmp_price(const void *a, const void *b) {
    const store_price *x = a, *y = b;
    int c = strcmp(x->model, y->model);
    if (c) return c;
    return x->effective_from < y->effective_from ? -1 : x->effective_from > y->effective_from;
}

cirrus_status billing_prices_load(store *s, billing_prices **out, cirrus_err *err) {
    billing_prices *b = calloc(1, sizeof *b);
    if (!b) return cirrus_errf(err, CIRRUS_ERR_NOMEM, "billing: out of memory");
    cirrus_status st = store_price_list(s, add_price, b, err);
    if (!st && b->oom) st = cirrus_errf(err, CIRRUS_ERR_NOMEM, "billing: out of memory");
    if (st) {
        billing_prices_free(b);
        return st;
    }
    /* the store sorts too, but the lookup below depends on it, so do not trust a backend's collation */
    if (b->n) qsort(b->v, b->n, sizeof *b->v, cmp_price);
    *out = b;
    return CIRRUS_OK;
}

void billing_prices_free(billing_prices *p) {
    if (!p) return;
    free(p->v);
    free(p);
}

const store_price *billing_price_at(const billing_prices *p, const char *model, int64_t at) {
    if (!p) return NULL;
    /* first index whose model >= model */
    size_t lo = 0, hi = p->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(p->v[mid].model, model) < 0) lo = mid + 1;
        else hi = mid;
    }
    const store_price *best = NULL;
    for (size_t i = lo; i < p->n && !strcmp(p->v[i].model, model) && p->v[i].effective_from <= at; i++) best = &p->v[i];
    return best;
}

const store_price *billing_price_by_id(const billing_prices *p, int64_t id) {
    if (!p) return NULL;
    for (size_t i = 0; i < p->n; i++)
        if (p->v[i].id == id) return &p->v[i];
    return NULL;
}
