/*
 * Usage from the control plane's store, through store.h only (no SQL here).
 *
 * Why per-record listing and not store_usage_sum_by: the store's sums do not split simulated usage
 * (cirrus demo) from served usage, and a report must be able to tell them apart and leave the
 * simulation out. Records are folded as they stream in, into one an_record per
 * (day, tenant, model, simulated), so memory follows the number of active tenant-model pairs per day,
 * not the number of requests. The listing comes ordered by t_admit, so a day's buckets are flushed
 * as soon as the next day starts; the sums would be right in any order, only larger.
 *
 * What counts: settled records only (an open record has not been rated yet; it counts once it
 * settles). Revenue is the record's cost (list price at its price version). A tenant's plan is the
 * plan version in effect at the record's day; its monthly soft budget is the one in effect at the
 * end of the period (or the latest, for an open period).
 */
#include <stdlib.h>
#include <string.h>

#include "analytics/analytics.h"
#include "store/store.h"

#define US_PER_DAY 86400000000LL

typedef struct {
    int64_t id;
    char name[AN_NAME_MAX];
} tenant_name;

typedef struct {
    int64_t tenant_id, effective_from; /* unix seconds */
    store_plan_kind kind;
    int64_t budget_soft;
} plan_row;

typedef struct {
    const an_filter *f;
    an_data *out;
    cirrus_err *err;
    cirrus_status st;
    tenant_name *tenants;
    size_t n_tenants, cap_tenants;
    plan_row *plans;
    size_t n_plans, cap_plans;
    /* the current day's buckets */
    int64_t day;
    struct bucket {
        int64_t tenant_id;
        an_record r;
    } *bucket;
    size_t n_bucket, cap_bucket;
} src_ctx;

static bool grow(void **p, size_t *cap, size_t n, size_t elem) {
    if (n < *cap) return true;
    size_t nc = *cap ? *cap * 2 : 64;
    void *q = realloc(*p, nc * elem);
    if (!q) return false;
    *p = q;
    *cap = nc;
    return true;
}

static int on_tenant(void *ud, const store_tenant *t) {
    src_ctx *c = ud;
    if (!grow((void **)&c->tenants, &c->cap_tenants, c->n_tenants, sizeof *c->tenants)) {
        c->st = cirrus_errf(c->err, CIRRUS_ERR_NOMEM, "store source: out of memory for tenants");
        return 1;
    }
    tenant_name *x = &c->tenants[c->n_tenants++];
    x->id = t->id;
    size_t k = strnlen(t->name, AN_NAME_MAX - 1);
    memcpy(x->name, t->name, k);
    x->name[k] = 0;
    return 0;
}

static int on_plan(void *ud, const store_plan *p) {
    src_ctx *c = ud;
    if (!grow((void **)&c->plans, &c->cap_plans, c->n_plans, sizeof *c->plans)) {
        c->st = cirrus_errf(c->err, CIRRUS_ERR_NOMEM, "store source: out of memory for plans");
        return 1;
    }
    c->plans[c->n_plans++] = (plan_row){p->tenant_id, p->effective_from, p->kind, p->budget_soft};
    return 0;
}

static int cmp_tenant_id(const void *a, const void *b) {
    int64_t x = ((const tenant_name *)a)->id, y = ((const tenant_name *)b)->id;
    return (x > y) - (x < y);
}

static const char *tenant_of(const src_ctx *c, int64_t id) {
    tenant_name key = {.id = id};
    const tenant_name *t = bsearch(&key, c->tenants, c->n_tenants, sizeof *c->tenants, cmp_tenant_id);
    return t ? t->name : NULL;
}

/* The plan version in effect at unix second `at`: the tenant's latest row with effective_from <= at.
 * Plans are listed ordered by tenant, effective_from. NULL when the tenant had none yet. */
static const plan_row *plan_at(const src_ctx *c, int64_t tenant_id, int64_t at) {
    const plan_row *best = NULL;
    for (size_t i = 0; i < c->n_plans; i++)
        if (c->plans[i].tenant_id == tenant_id && c->plans[i].effective_from <= at) best = &c->plans[i];
    return best;
}

static const char *plan_name(store_plan_kind k) {
    return k == STORE_PLAN_COMMITTED ? "committed" : k == STORE_PLAN_RESERVED ? "reserved" : "payg";
}

static cirrus_status flush(src_ctx *c) {
    for (size_t i = 0; i < c->n_bucket; i++) {
        cirrus_status st = an_data_push(c->out, &c->bucket[i].r, c->err);
        if (st != CIRRUS_OK) return st;
    }
    c->n_bucket = 0;
    return CIRRUS_OK;
}

static int on_usage(void *ud, const store_usage *u) {
    src_ctx *c = ud;
    if (!u->settled) return 0;
    if (c->f && c->f->exclude_simulated && u->simulated) return 0;
    int64_t day = u->t_admit >= 0 ? u->t_admit / US_PER_DAY : -1;
    if (day < 0) {
        c->st = cirrus_errf(c->err, CIRRUS_ERR_RANGE, "usage record %lld: t_admit is before 1970", (long long)u->id);
        return 1;
    }
    if (day != c->day && (c->st = flush(c)) != CIRRUS_OK) return 1;
    c->day = day;
    an_record *r = NULL;
    for (size_t i = 0; i < c->n_bucket; i++)
        if (c->bucket[i].tenant_id == u->tenant_id && c->bucket[i].r.simulated == u->simulated &&
            !strncmp(c->bucket[i].r.model, u->model, AN_MODEL_MAX - 1)) {
            r = &c->bucket[i].r;
            break;
        }
    if (!r) {
        const char *name = tenant_of(c, u->tenant_id);
        if (!name) {
            c->st = cirrus_errf(c->err, CIRRUS_ERR_INTERNAL, "usage record %lld: tenant %lld is not in the store",
                                (long long)u->id, (long long)u->tenant_id);
            return 1;
        }
        if (!grow((void **)&c->bucket, &c->cap_bucket, c->n_bucket, sizeof *c->bucket)) {
            c->st = cirrus_errf(c->err, CIRRUS_ERR_NOMEM, "store source: out of memory");
            return 1;
        }
        struct bucket *bk = &c->bucket[c->n_bucket++];
        memset(bk, 0, sizeof *bk);
        bk->tenant_id = u->tenant_id;
        r = &bk->r;
        memcpy(r->tenant, name, strlen(name) + 1);
        size_t k = strnlen(u->model, AN_MODEL_MAX - 1);
        memcpy(r->model, u->model, k);
        r->model[k] = 0;
        const plan_row *p = plan_at(c, u->tenant_id, (day + 1) * 86400 - 1);
        if (p) memcpy(r->plan, plan_name(p->kind), strlen(plan_name(p->kind)) + 1);
        r->day = day;
        r->month = an_day_month(day);
        r->simulated = u->simulated;
    }
    bool o = false;
    o |= u->cost < 0 || u->prompt_tokens < 0 || u->cached_tokens < 0 || u->completion_tokens < 0;
    o |= __builtin_add_overflow(r->revenue, u->cost, &r->revenue);
    o |= __builtin_add_overflow(r->prompt_tokens, u->prompt_tokens, &r->prompt_tokens);
    o |= __builtin_add_overflow(r->cached_tokens, u->cached_tokens, &r->cached_tokens);
    o |= __builtin_add_overflow(r->completion_tokens, u->completion_tokens, &r->completion_tokens);
    o |= __builtin_add_overflow(r->requests, 1, &r->requests);
    if (o) {
        c->st = cirrus_errf(c->err, CIRRUS_ERR_RANGE, "usage record %lld: negative or overflowing amounts",
                            (long long)u->id);
        return 1;
    }
    return 0;
}

cirrus_status an_store_read(struct store *s, const an_filter *f, an_data *out, cirrus_err *err) {
    src_ctx c;
    memset(&c, 0, sizeof c);
    c.f = f;
    c.out = out;
    c.err = err;
    c.day = -1;
    int64_t from_us = 0, to_us = INT64_MAX;
    if (f && f->from_day != AN_NO_DAY) from_us = f->from_day > 0 ? f->from_day * US_PER_DAY : 0;
    if (f && f->to_day != AN_NO_DAY && f->to_day < INT64_MAX / US_PER_DAY - 1) to_us = (f->to_day + 1) * US_PER_DAY;
    cirrus_status st = store_tenant_list(s, on_tenant, &c, err);
    if (st == CIRRUS_OK) st = c.st;
    if (st == CIRRUS_OK) {
        if (c.n_tenants) qsort(c.tenants, c.n_tenants, sizeof *c.tenants, cmp_tenant_id);
        st = store_plan_list(s, 0, on_plan, &c, err);
        if (st == CIRRUS_OK) st = c.st;
    }
    if (st == CIRRUS_OK) {
        st = store_usage_list(s, 0, from_us, to_us, on_usage, &c, err);
        if (st == CIRRUS_OK) st = c.st;
    }
    if (st == CIRRUS_OK) st = flush(&c);
    /* Soft budgets: the plan in effect at the period's end (the latest for an open period). */
    int64_t at = to_us == INT64_MAX ? INT64_MAX : to_us / 1000000 - 1;
    for (size_t i = 0; i < c.n_tenants && st == CIRRUS_OK; i++) {
        const plan_row *p = plan_at(&c, c.tenants[i].id, at);
        if (!p || p->budget_soft <= 0) continue;
        an_budget *nb = realloc(out->budgets, (out->n_budgets + 1) * sizeof *nb);
        if (!nb) {
            st = cirrus_errf(err, CIRRUS_ERR_NOMEM, "store source: out of memory for budgets");
            break;
        }
        out->budgets = nb;
        an_budget *b = &out->budgets[out->n_budgets++];
        memset(b, 0, sizeof *b);
        memcpy(b->tenant, c.tenants[i].name, sizeof b->tenant);
        b->soft = p->budget_soft;
    }
    free(c.tenants);
    free(c.plans);
    free(c.bucket);
    return st;
}
