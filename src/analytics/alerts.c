/*
 * Alerts for one month of a cube. The rules are the early signs of revenue risk in a B2B model
 * business: one customer carrying too much (SHARE), the whole book concentrating or spreading
 * (HHI_BAND), a large customer moving its traffic elsewhere — often to its own models — which shows
 * first as falling usage (REVENUE_DROP, TOKENS_DROP), and a tenant reaching its soft budget.
 *
 * Every threshold is in integer basis points and compared exactly (A6): a tenant at exactly 20.00%
 * is not "above 20%", a fall of exactly 30% is not "more than 30%", a tenant at exactly 5% of the
 * previous month is "large", and spend equal to the soft budget has "reached" it.
 */
#include <stdlib.h>
#include <string.h>

#include "analytics/analytics.h"

typedef unsigned __int128 u128;

const char *an_alert_kind_str(an_alert_kind k) {
    switch (k) {
    case AN_ALERT_HHI_BAND: return "hhi_band";
    case AN_ALERT_SHARE: return "share";
    case AN_ALERT_REVENUE_DROP: return "revenue_drop";
    case AN_ALERT_TOKENS_DROP: return "tokens_drop";
    case AN_ALERT_SOFT_BUDGET: return "soft_budget";
    }
    return "unknown";
}

void an_alert_config_default(an_alert_config *c) {
    c->share_bp = 2000;
    c->large_bp = 500;
    c->drop_bp = 3000;
    c->hhi_band = true;
}

typedef struct {
    an_alert *v;
    size_t n, cap;
} alert_list;

static an_alert *push(alert_list *l) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        an_alert *nv = realloc(l->v, cap * sizeof *nv);
        if (!nv) return NULL;
        l->v = nv;
        l->cap = cap;
    }
    an_alert *a = &l->v[l->n++];
    memset(a, 0, sizeof *a);
    return a;
}

/* Falls strictly more than drop_bp: (prev − cur) / prev > bp / 10,000 ⇔ cur·10,000 < (10,000 − bp)·prev. */
static bool fell(int64_t prev, int64_t cur, int32_t drop_bp) {
    if (prev <= 0) return false;
    return (u128)(cur > 0 ? cur : 0) * 10000 < (u128)(10000 - drop_bp) * (u128)prev;
}

static int cmp_alert_tenant(const void *a, const void *b) {
    return strcmp(((const an_alert *)a)->tenant, ((const an_alert *)b)->tenant);
}

static void set_tenant(an_alert *a, const char *name) {
    size_t k = strnlen(name, AN_NAME_MAX - 1);
    memcpy(a->tenant, name, k);
    a->tenant[k] = 0;
}

cirrus_status an_alerts_month(const an_cube *c, size_t m, const an_alert_config *cfg, const an_budget *b,
                              size_t nb, an_alert **out, size_t *n_out, cirrus_err *err) {
    *out = NULL;
    *n_out = 0;
    if (m >= c->n_months) return cirrus_errf(err, CIRRUS_ERR_INVALID, "alerts: month outside the cube");
    const int32_t bps[3] = {cfg->share_bp, cfg->large_bp, cfg->drop_bp};
    for (int i = 0; i < 3; i++)
        if (bps[i] < 0 || bps[i] > 10000) return cirrus_errf(err, CIRRUS_ERR_INVALID, "alerts: a threshold is outside 0..100%%");

    size_t nt = c->n_tenants;
    int32_t month = c->first_month + (int32_t)m;
    size_t nalloc = nt ? nt : 1;
    int64_t *cur = calloc(nalloc, sizeof *cur), *prev = calloc(nalloc, sizeof *prev);
    size_t *order = calloc(nalloc, sizeof *order);
    const char **names = calloc(nalloc, sizeof *names);
    alert_list l = {0};
    cirrus_status st = CIRRUS_OK;
    if (!cur || !prev || !order || !names) {
        st = cirrus_errf(err, CIRRUS_ERR_NOMEM, "alerts: out of memory");
        goto done;
    }
    for (size_t t = 0; t < nt; t++) {
        names[t] = c->tenants[t].name;
        cur[t] = c->tenants[t].months[m].revenue;
        prev[t] = m > 0 ? c->tenants[t].months[m - 1].revenue : 0;
    }
    int64_t tcur = c->total[m].revenue, tprev = m > 0 ? c->total[m - 1].revenue : 0;

    if (cfg->hhi_band && m > 0) {
        an_conc a, p;
        if ((st = an_concentration(prev, nt, &p, err)) != CIRRUS_OK || (st = an_concentration(cur, nt, &a, err)) != CIRRUS_OK)
            goto done;
        /* From or to a month without revenue there is no band to cross. */
        if (a.defined && p.defined && a.band != p.band) {
            an_alert *x = push(&l);
            if (!x) goto nomem;
            x->kind = AN_ALERT_HHI_BAND;
            x->month = month;
            x->value = a.hhi;
            x->previous = p.hhi;
            x->band = a.band;
            x->prev_band = p.band;
        }
    }

    an_rank(cur, names, nt, order);
    for (size_t i = 0; i < nt; i++) {
        size_t t = order[i];
        if (!an_share_above(cur[t], tcur, cfg->share_bp)) break; /* ranked: the rest are smaller */
        an_alert *x = push(&l);
        if (!x) goto nomem;
        x->kind = AN_ALERT_SHARE;
        x->month = month;
        set_tenant(x, names[t]);
        x->value = an_share(cur[t], tcur);
        x->previous = an_share(prev[t], tprev);
        x->threshold = cfg->share_bp / 10000.0;
        x->amount = cur[t];
        x->prev_amount = prev[t];
    }

    /* Drops: "large" is judged on the previous month, before the fall shrinks the share. */
    for (int pass = 0; pass < 2 && m > 0; pass++) {
        for (size_t t = 0; t < nt; t++) {
            if (prev[t] <= 0 || !an_share_at_least(prev[t], tprev, cfg->large_bp)) continue;
            int64_t p = pass == 0 ? prev[t] : an_tokens(&c->tenants[t].months[m - 1]);
            int64_t q = pass == 0 ? cur[t] : an_tokens(&c->tenants[t].months[m]);
            if (!fell(p, q, cfg->drop_bp)) continue;
            an_alert *x = push(&l);
            if (!x) goto nomem;
            x->kind = pass == 0 ? AN_ALERT_REVENUE_DROP : AN_ALERT_TOKENS_DROP;
            x->month = month;
            set_tenant(x, names[t]);
            x->value = (double)(((long double)p - (long double)q) / (long double)p);
            x->threshold = cfg->drop_bp / 10000.0;
            x->amount = q;
            x->prev_amount = p;
        }
    }

    size_t first_budget = l.n;
    for (size_t i = 0; i < nb; i++) {
        if (b[i].soft <= 0 || b[i].spend < b[i].soft) continue;
        an_alert *x = push(&l);
        if (!x) goto nomem;
        x->kind = AN_ALERT_SOFT_BUDGET;
        x->month = month;
        set_tenant(x, b[i].tenant);
        x->value = (double)b[i].spend / (double)b[i].soft;
        x->threshold = 1.0;
        x->amount = b[i].spend;
        x->prev_amount = b[i].soft;
    }
    if (l.n > first_budget) qsort(l.v + first_budget, l.n - first_budget, sizeof *l.v, cmp_alert_tenant);
    goto done;

nomem:
    st = cirrus_errf(err, CIRRUS_ERR_NOMEM, "alerts: out of memory");
done:
    free(cur);
    free(prev);
    free(order);
    free(names);
    if (st != CIRRUS_OK) {
        free(l.v);
        return st;
    }
    *out = l.v;
    *n_out = l.n;
    return CIRRUS_OK;
}
