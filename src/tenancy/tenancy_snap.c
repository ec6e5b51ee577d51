/*
 * The configuration snapshot admission reads: tenants with their plan versions, keys by prefix,
 * prices. Built from the store in one pass, then never modified; a refresh builds a new one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tenancy/tenancy_internal.h"

typedef struct {
    tn_snap *sn;
    size_t cap;
    bool oom;
} grow_ctx;

static bool grow(void **v, size_t *cap, size_t n, size_t elem) {
    if (n < *cap) return true;
    size_t c = *cap ? *cap * 2 : 16;
    void *p = realloc(*v, c * elem);
    if (!p) return false;
    *v = p;
    *cap = c;
    return true;
}

static int add_tenant(void *ud, const store_tenant *t) {
    grow_ctx *g = ud;
    if (!grow((void **)&g->sn->tenants, &g->cap, g->sn->n_tenants, sizeof(tn_tenant))) {
        g->oom = true;
        return 1;
    }
    tn_tenant *x = &g->sn->tenants[g->sn->n_tenants++];
    memset(x, 0, sizeof *x);
    x->id = t->id;
    memcpy(x->name, t->name, sizeof x->name);
    x->suspended = t->suspended;
    return 0;
}

static int add_key(void *ud, const store_key *k) {
    grow_ctx *g = ud;
    if (!grow((void **)&g->sn->keys, &g->cap, g->sn->n_keys, sizeof(tn_key))) {
        g->oom = true;
        return 1;
    }
    tn_key *x = &g->sn->keys[g->sn->n_keys++];
    x->k = *k;
    x->tenant = SIZE_MAX;
    return 0;
}

typedef struct {
    store_plan *v;
    size_t n, cap;
    bool oom;
} plan_vec;

static int add_plan(void *ud, const store_plan *p) {
    plan_vec *pv = ud;
    if (!grow((void **)&pv->v, &pv->cap, pv->n, sizeof *pv->v)) {
        pv->oom = true;
        return 1;
    }
    pv->v[pv->n++] = *p;
    return 0;
}

static int cmp_tenant_name(const void *a, const void *b) { return strcmp(((const tn_tenant *)a)->name, ((const tn_tenant *)b)->name); }

typedef struct {
    int64_t id;
    size_t idx;
} id_idx;

static int cmp_id_idx(const void *a, const void *b) {
    int64_t x = ((const id_idx *)a)->id, y = ((const id_idx *)b)->id;
    return x < y ? -1 : x > y;
}

static size_t find_idx(const id_idx *v, size_t n, int64_t id) {
    if (!n) return SIZE_MAX;
    id_idx key = {id, 0};
    const id_idx *f = bsearch(&key, v, n, sizeof *v, cmp_id_idx);
    return f ? f->idx : SIZE_MAX;
}

static uint64_t prefix_hash(const char *prefix) {
    uint64_t h = 0;
    for (int i = 0; i < STORE_PREFIX_LEN; i++) h = h * 16 + (uint64_t)(prefix[i] <= '9' ? prefix[i] - '0' : prefix[i] - 'a' + 10);
    return h * 0x9E3779B97F4A7C15ull;
}

void tn_snap_free(tn_snap *sn) {
    if (!sn) return;
    for (size_t i = 0; i < sn->n_tenants; i++) {
        for (size_t j = 0; j < sn->tenants[i].n_plans; j++) {
            tn_plan *p = &sn->tenants[i].plans[j];
            for (int k = 0; k < p->n_models; k++) free(p->models[k]);
            free(p->models);
        }
        free(sn->tenants[i].plans);
    }
    free(sn->tenants);
    free(sn->keys);
    free(sn->slots);
    billing_prices_free(sn->prices);
    free(sn);
}

/* Attaches each tenant's live counters, creating them for tenants new to this process. */
static cirrus_status attach_states(tn_snap *sn, tn_state **states, pthread_mutex_t *states_mu, cirrus_err *err) {
    cirrus_status st = CIRRUS_OK;
    pthread_mutex_lock(states_mu);
    size_t n = 0;
    for (tn_state *s = *states; s; s = s->next) n++;
    id_idx *have = n ? malloc(n * sizeof *have) : NULL;
    tn_state **by = n ? malloc(n * sizeof *by) : NULL;
    if (n && (!have || !by)) {
        st = cirrus_errf(err, CIRRUS_ERR_NOMEM, "tenancy: out of memory");
        goto out;
    }
    size_t i = 0;
    for (tn_state *s = *states; s; s = s->next, i++) {
        have[i] = (id_idx){s->tenant_id, i};
        by[i] = s;
    }
    if (n) qsort(have, n, sizeof *have, cmp_id_idx); /* qsort/bsearch want a real array even for 0 */
    for (size_t t = 0; t < sn->n_tenants; t++) {
        size_t f = find_idx(have, n, sn->tenants[t].id);
        if (f != SIZE_MAX) {
            sn->tenants[t].state = by[f];
            continue;
        }
        tn_state *s = calloc(1, sizeof *s);
        if (!s) {
            st = cirrus_errf(err, CIRRUS_ERR_NOMEM, "tenancy: out of memory");
            goto out;
        }
        s->tenant_id = sn->tenants[t].id;
        pthread_mutex_init(&s->mu, NULL);
        s->next = *states;
        *states = s;
        sn->tenants[t].state = s;
    }
out:
    pthread_mutex_unlock(states_mu);
    free(have);
    free(by);
    return st;
}

cirrus_status tn_snap_load(store *s, tn_state **states, pthread_mutex_t *states_mu, tn_snap **out, cirrus_err *err) {
    tn_snap *sn = calloc(1, sizeof *sn);
    if (!sn) return cirrus_errf(err, CIRRUS_ERR_NOMEM, "tenancy: out of memory");
    plan_vec pv = {0};
    id_idx *ids = NULL;
    /* the generation first: a change made while we read shows up as a newer one next time */
    cirrus_status st = store_config_gen(s, &sn->gen, err);
    grow_ctx g = {sn, 0, false};
    if (!st) st = store_tenant_list(s, add_tenant, &g, err);
    if (!st && g.oom) st = cirrus_errf(err, CIRRUS_ERR_NOMEM, "tenancy: out of memory");
    g = (grow_ctx){sn, 0, false};
    if (!st) st = store_key_list(s, 0, add_key, &g, err);
    if (!st && g.oom) st = cirrus_errf(err, CIRRUS_ERR_NOMEM, "tenancy: out of memory");
    if (!st) st = store_plan_list(s, 0, add_plan, &pv, err);
    if (!st && pv.oom) st = cirrus_errf(err, CIRRUS_ERR_NOMEM, "tenancy: out of memory");
    if (!st) st = billing_prices_load(s, &sn->prices, err);
    if (st) goto fail;

    if (sn->n_tenants) qsort(sn->tenants, sn->n_tenants, sizeof *sn->tenants, cmp_tenant_name);
    ids = sn->n_tenants ? malloc(sn->n_tenants * sizeof *ids) : NULL;
    if (sn->n_tenants && !ids) goto oom;
    for (size_t i = 0; i < sn->n_tenants; i++) ids[i] = (id_idx){sn->tenants[i].id, i};
    if (sn->n_tenants) qsort(ids, sn->n_tenants, sizeof *ids, cmp_id_idx);

    /* plans arrive ordered by (tenant, effective_from): give each tenant its run */
    for (size_t i = 0; i < pv.n;) {
        size_t j = i;
        while (j < pv.n && pv.v[j].tenant_id == pv.v[i].tenant_id) j++;
        size_t t = find_idx(ids, sn->n_tenants, pv.v[i].tenant_id);
        if (t != SIZE_MAX) {
            tn_tenant *tt = &sn->tenants[t];
            if (!(tt->plans = calloc(j - i, sizeof *tt->plans))) goto oom;
            for (size_t k = i; k < j; k++) {
                tn_plan *p = &tt->plans[tt->n_plans++];
                p->p = pv.v[k];
                /* a bad list was refused by tenancy_plan_set; if one got in anyway, allow nothing */
                if (tn_models_parse(p->p.models, &p->models, &p->n_models, NULL) != CIRRUS_OK) {
                    p->models = NULL;
                    p->n_models = -1;
                }
            }
        }
        i = j;
    }

    for (size_t i = 0; i < sn->n_keys; i++) sn->keys[i].tenant = find_idx(ids, sn->n_tenants, sn->keys[i].k.tenant_id);
    sn->n_slots = 16;
    while (sn->n_slots < sn->n_keys * 2) sn->n_slots *= 2;
    if (!(sn->slots = calloc(sn->n_slots, sizeof *sn->slots))) goto oom;
    for (size_t i = 0; i < sn->n_keys; i++) {
        size_t h = (size_t)(prefix_hash(sn->keys[i].k.prefix) & (sn->n_slots - 1));
        while (sn->slots[h]) h = (h + 1) & (sn->n_slots - 1);
        sn->slots[h] = (uint32_t)(i + 1);
    }
    if ((st = attach_states(sn, states, states_mu, err))) goto fail;
    free(pv.v);
    free(ids);
    *out = sn;
    return CIRRUS_OK;
oom:
    st = cirrus_errf(err, CIRRUS_ERR_NOMEM, "tenancy: out of memory");
fail:
    free(pv.v);
    free(ids);
    tn_snap_free(sn);
    return st;
}

const tn_key *tn_snap_find_key(const tn_snap *sn, const char prefix[STORE_PREFIX_LEN + 1]) {
    size_t h = (size_t)(prefix_hash(prefix) & (sn->n_slots - 1));
    for (uint32_t v; (v = sn->slots[h]) != 0; h = (h + 1) & (sn->n_slots - 1))
        if (!memcmp(sn->keys[v - 1].k.prefix, prefix, STORE_PREFIX_LEN)) return &sn->keys[v - 1];
    return NULL;
}

const tn_tenant *tn_snap_find_tenant(const tn_snap *sn, const char *name) {
    if (!sn->n_tenants) return NULL;
    tn_tenant key;
    snprintf(key.name, sizeof key.name, "%s", name);
    return bsearch(&key, sn->tenants, sn->n_tenants, sizeof *sn->tenants, cmp_tenant_name);
}

const tn_plan *tn_default_plan(void) {
    static const tn_plan def = {.p = {.kind = STORE_PLAN_PAYG, .priority = 1}};
    return &def;
}

const tn_plan *tn_plan_at(const tn_tenant *t, int64_t at_s) {
    for (size_t i = t->n_plans; i-- > 0;)
        if (t->plans[i].p.effective_from <= at_s) return &t->plans[i];
    return tn_default_plan();
}
