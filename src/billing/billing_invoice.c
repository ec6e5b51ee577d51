/*
 * Monthly invoices: computed from the ledger and the plan versions (the rules are in billing.h),
 * closed once into an immutable JSON snapshot.
 *
 * Invariants:
 *   I1. A draft is a pure function of (usage records of the month, plan versions, prices, credits):
 *       computing it twice gives the same invoice.
 *   I2. total == usage + fees + true_up - discount - credits, and usage == the sum of the month's
 *       settled records' cost, line by line (one line per model, price version and token class).
 *   I3. A closed invoice is read back from its snapshot, never recomputed: later prices, plans or
 *       credits cannot change it; closing again returns it unchanged (store S2 backs this).
 *   I4. A month closes only when it is over and none of its records is open, so no record can
 *       join a month after its invoice exists.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "billing/billing_internal.h"

static cirrus_status add_line(billing_invoice *inv, size_t *cap, const billing_line *l, cirrus_err *err) {
    if (inv->n_lines == *cap) {
        size_t c = *cap ? *cap * 2 : 16;
        billing_line *v = realloc(inv->lines, c * sizeof *v);
        if (!v) return cirrus_errf(err, CIRRUS_ERR_NOMEM, "invoice: out of memory");
        inv->lines = v;
        *cap = c;
    }
    inv->lines[inv->n_lines++] = *l;
    return CIRRUS_OK;
}

void billing_invoice_free(billing_invoice *inv) {
    if (!inv) return;
    free(inv->lines);
    free(inv);
}

/* ---- gathering -------------------------------------------------------------------------------- */

typedef struct {
    store_plan *v;
    size_t n, cap;
    bool oom;
} plan_vec;

static int collect_plan(void *ud, const store_plan *p) {
    plan_vec *pv = ud;
    if (pv->n == pv->cap) {
        size_t c = pv->cap ? pv->cap * 2 : 8;
        store_plan *v = realloc(pv->v, c * sizeof *v);
        if (!v) {
            pv->oom = true;
            return 1;
        }
        pv->v = v;
        pv->cap = c;
    }
    pv->v[pv->n++] = *p;
    return 0;
}

typedef struct {
    store_usage_sum *v;
    size_t n, cap;
    bool oom;
} sum_vec;

static int collect_sum(void *ud, const store_usage_sum *r) {
    sum_vec *sv = ud;
    if (sv->n == sv->cap) {
        size_t c = sv->cap ? sv->cap * 2 : 16;
        store_usage_sum *v = realloc(sv->v, c * sizeof *v);
        if (!v) {
            sv->oom = true;
            return 1;
        }
        sv->v = v;
        sv->cap = c;
    }
    sv->v[sv->n++] = *r;
    return 0;
}

static int copy_sum(void *ud, const store_usage_sum *r) {
    *(store_usage_sum *)ud = *r;
    return 1;
}

typedef struct {
    billing_invoice *inv;
    size_t *cap;
    int64_t remaining; /* what credits may still take off */
    cirrus_status st;
    cirrus_err *err;
} credit_ctx;

static int apply_credit(void *ud, const store_credit *c) {
    credit_ctx *x = ud;
    int64_t take = c->amount < x->remaining ? c->amount : x->remaining;
    if (take <= 0) return 0;
    billing_line l = {.kind = BILLING_LINE_CREDIT, .quantity = 1, .unit_price = -take, .amount = -take};
    char a[32], full[32];
    billing_format_money(take, a, sizeof a);
    billing_format_money(c->amount, full, sizeof full);
    if (take < c->amount) snprintf(l.description, sizeof l.description, "credit: %.100s (%s of %s applied)", c->memo, a, full);
    else snprintf(l.description, sizeof l.description, "credit: %.100s", c->memo[0] ? c->memo : "account credit");
    x->inv->credits += take;
    x->remaining -= take;
    x->st = add_line(x->inv, x->cap, &l, x->err);
    return x->st != CIRRUS_OK;
}

static const char *plan_name(store_plan_kind k) {
    return k == STORE_PLAN_COMMITTED ? "committed spend" : k == STORE_PLAN_RESERVED ? "reserved capacity" : "pay-as-you-go";
}

/* The plan lines of one segment [from, to) of the month (I2). */
static cirrus_status segment_lines(store *s, billing_invoice *inv, size_t *cap, const store_plan *p, int64_t from, int64_t to,
                                   cirrus_err *err) {
    int64_t month_s = inv->period_to - inv->period_from, seg_s = to - from;
    char d0[32], d1[32];
    billing_format_time(from, d0);
    billing_format_time(to, d1);
    d0[10] = d1[10] = 0; /* dates only */
    cirrus_status st;
    if (p->fee > 0) {
        int64_t fee = billing_muldiv_half_even(p->fee, seg_s, month_s);
        billing_line l = {.kind = BILLING_LINE_FEE, .quantity = 1, .unit_price = fee, .amount = fee};
        char f[32];
        billing_format_money(p->fee, f, sizeof f);
        if (p->kind == STORE_PLAN_RESERVED)
            snprintf(l.description, sizeof l.description, "reserved capacity %lld tokens/min, %s to %s (monthly fee %s, prorated)",
                     (long long)p->reserved_tpm, d0, d1, f);
        else
            snprintf(l.description, sizeof l.description, "%s plan fee, %s to %s (monthly %s, prorated)", plan_name(p->kind), d0, d1, f);
        inv->fees += fee;
        if ((st = add_line(inv, cap, &l, err))) return st;
    }
    if (p->kind != STORE_PLAN_COMMITTED) return CIRRUS_OK;
    store_usage_sum seg = {0};
    if ((st = store_usage_sum_by(s, inv->tenant_id, from * 1000000, to * 1000000, 0, copy_sum, &seg, err))) return st;
    int64_t discount = billing_muldiv_half_even(seg.cost, p->discount_bp, 10000);
    char u[32], m[32];
    billing_format_money(seg.cost, u, sizeof u);
    if (discount > 0) {
        billing_line l = {.kind = BILLING_LINE_DISCOUNT, .quantity = 1, .unit_price = -discount, .amount = -discount};
        snprintf(l.description, sizeof l.description, "committed-spend discount %lld.%02lld%% on usage of %s, %s to %s",
                 (long long)(p->discount_bp / 100), (long long)(p->discount_bp % 100), u, d0, d1);
        inv->discount += discount;
        if ((st = add_line(inv, cap, &l, err))) return st;
    }
    int64_t min = billing_muldiv_half_even(p->commit_min, seg_s, month_s);
    int64_t net = seg.cost - discount;
    if (min > net) {
        billing_line l = {.kind = BILLING_LINE_TRUE_UP, .quantity = 1, .unit_price = min - net, .amount = min - net};
        billing_format_money(min, m, sizeof m);
        char nn[32];
        billing_format_money(net, nn, sizeof nn);
        snprintf(l.description, sizeof l.description, "commitment true-up: minimum %s (prorated), usage after discount %s, %s to %s", m,
                 nn, d0, d1);
        inv->true_up += min - net;
        if ((st = add_line(inv, cap, &l, err))) return st;
    }
    return CIRRUS_OK;
}

static cirrus_status usage_lines(store *s, billing_invoice *inv, size_t *cap, cirrus_err *err) {
    sum_vec sv = {0};
    billing_prices *prices = NULL;
    cirrus_status st = store_usage_sum_by(s, inv->tenant_id, inv->period_from * 1000000, inv->period_to * 1000000,
                                          STORE_BY_MODEL | STORE_BY_PRICE, collect_sum, &sv, err);
    if (!st && sv.oom) st = cirrus_errf(err, CIRRUS_ERR_NOMEM, "invoice: out of memory");
    if (!st) st = billing_prices_load(s, &prices, err);
    for (size_t i = 0; !st && i < sv.n; i++) {
        const store_usage_sum *r = &sv.v[i];
        const store_price *p = billing_price_by_id(prices, r->price_id);
        inv->requests += r->requests;
        inv->open_records += r->open;
        struct {
            const char *cls;
            int64_t qty, price, amount;
        } c[3] = {{"input", r->prompt_tokens - r->cached_tokens, p ? p->input : 0, r->cost_input},
                  {"cached_input", r->cached_tokens, p ? p->cached_input : 0, r->cost_cached},
                  {"output", r->completion_tokens, p ? p->output : 0, r->cost_output}};
        for (int k = 0; k < 3 && !st; k++) {
            if (c[k].qty == 0 && c[k].amount == 0) continue;
            billing_line l = {.kind = BILLING_LINE_USAGE, .price_id = r->price_id, .quantity = c[k].qty, .unit_price = c[k].price,
                              .amount = c[k].amount};
            snprintf(l.model, sizeof l.model, "%s", r->model);
            snprintf(l.token_class, sizeof l.token_class, "%s", c[k].cls);
            char up[32];
            billing_format_money(c[k].price, up, sizeof up);
            snprintf(l.description, sizeof l.description, "%.100s %s tokens at %s per 1M (price version %lld)", r->model, c[k].cls, up,
                     (long long)r->price_id);
            inv->usage += c[k].amount;
            st = add_line(inv, cap, &l, err);
        }
    }
    billing_prices_free(prices);
    free(sv.v);
    return st;
}

cirrus_status billing_draft_compute(store *s, const store_tenant *t, const char *month, billing_invoice **out, cirrus_err *err) {
    billing_invoice *inv = calloc(1, sizeof *inv);
    if (!inv) return cirrus_errf(err, CIRRUS_ERR_NOMEM, "invoice: out of memory");
    size_t cap = 0;
    plan_vec pv = {0};
    snprintf(inv->tenant, sizeof inv->tenant, "%s", t->name);
    inv->tenant_id = t->id;
    snprintf(inv->month, sizeof inv->month, "%s", month);
    cirrus_status st = billing_parse_month(month, &inv->period_from, &inv->period_to, err);
    if (!st && store_meta_get(s, "currency", inv->currency, sizeof inv->currency, NULL) != CIRRUS_OK)
        snprintf(inv->currency, sizeof inv->currency, "USD");
    if (!st) st = usage_lines(s, inv, &cap, err);
    if (!st) st = store_plan_list(s, t->id, collect_plan, &pv, err);
    if (!st && pv.oom) st = cirrus_errf(err, CIRRUS_ERR_NOMEM, "invoice: out of memory");
    /* version i holds over [from_i, from_{i+1}); intersect each with the month */
    for (size_t i = 0; !st && i < pv.n; i++) {
        int64_t from = pv.v[i].effective_from, to = i + 1 < pv.n ? pv.v[i + 1].effective_from : INT64_MAX;
        if (from < inv->period_from) from = inv->period_from;
        if (to > inv->period_to) to = inv->period_to;
        if (from < to) st = segment_lines(s, inv, &cap, &pv.v[i], from, to, err);
    }
    free(pv.v);
    if (!st) {
        int64_t subtotal = inv->usage + inv->fees + inv->true_up - inv->discount;
        credit_ctx cx = {inv, &cap, subtotal > 0 ? subtotal : 0, CIRRUS_OK, err};
        st = store_credit_list(s, t->id, month, apply_credit, &cx, err);
        if (!st) st = cx.st;
        inv->total = subtotal - inv->credits;
    }
    if (st) {
        billing_invoice_free(inv);
        return st;
    }
    *out = inv;
    return CIRRUS_OK;
}

cirrus_status billing_invoice_get(store *s, const char *tenant, const char *month, billing_invoice **out, cirrus_err *err) {
    store_tenant t;
    int64_t from, to;
    cirrus_status st = store_tenant_get(s, tenant, &t, err);
    if (!st) st = billing_parse_month(month, &from, &to, err);
    if (st) return st;
    store_invoice si;
    st = store_invoice_get(s, t.id, month, &si, err);
    if (st == CIRRUS_OK) { /* I3 */
        st = billing_invoice_from_json(si.body, out, err);
        free(si.body);
        return st;
    }
    if (st != CIRRUS_ERR_NOT_FOUND) return st;
    return billing_draft_compute(s, &t, month, out, err);
}

cirrus_status billing_invoice_close(store *s, const char *tenant, const char *month, int64_t now_s, billing_invoice **out,
                                    bool *already, cirrus_err *err) {
    store_tenant t;
    int64_t from, to;
    *already = false;
    cirrus_status st = store_tenant_get(s, tenant, &t, err);
    if (!st) st = billing_parse_month(month, &from, &to, err);
    if (st) return st;
    store_invoice si;
    st = store_invoice_get(s, t.id, month, &si, err);
    if (st == CIRRUS_OK) {
        *already = true;
        st = billing_invoice_from_json(si.body, out, err);
        free(si.body);
        return st;
    }
    if (st != CIRRUS_ERR_NOT_FOUND) return st;
    if (now_s < to) return cirrus_errf(err, CIRRUS_ERR_INVALID, "invoice: %s is not over yet; it can be closed from the 1st of the next month (UTC)", month);
    billing_invoice *inv;
    if ((st = billing_draft_compute(s, &t, month, &inv, err))) return st;
    if (inv->open_records) { /* I4 */
        st = cirrus_errf(err, CIRRUS_ERR_INVALID, "invoice: %lld usage record(s) of %s are still open; settle them first (restart the server to recover them)",
                         (long long)inv->open_records, month);
        billing_invoice_free(inv);
        return st;
    }
    inv->closed = true;
    inv->closed_at = now_s;
    char *body = NULL;
    if ((st = billing_invoice_json(inv, &body, err))) {
        billing_invoice_free(inv);
        return st;
    }
    store_invoice row = {.tenant_id = t.id, .total = inv->total, .closed_at = now_s, .body = body};
    snprintf(row.month, sizeof row.month, "%s", month);
    bool inserted = false;
    st = store_invoice_insert(s, &row, &inserted, err);
    free(body);
    if (!st && !inserted) { /* someone closed it between our read and our write: theirs stands */
        billing_invoice_free(inv);
        *already = true;
        return billing_invoice_get(s, tenant, month, out, err);
    }
    if (st) {
        billing_invoice_free(inv);
        return st;
    }
    *out = inv;
    return CIRRUS_OK;
}
