/*
 * Extraction guard: per-tenant sliding-window count of distinct logit_bias token ids, and the
 * top_logprobs cap.
 *
 * Why distinct ids: the logit_bias + logprobs attacks (Carlini et al. 2024; Finlayson et al. 2024)
 * need the logprob of many different tokens under many prompts, so they bias a moving set of ids,
 * request after request, until a large part of the vocabulary has been covered. A legitimate
 * application biases the same handful of ids on every request. The count of distinct ids biased
 * within a window separates the two without looking at prompts.
 *
 * Per tenant, the ids seen within the window form a list ordered by last use (oldest first) with
 * a hash index by id. Times are non-decreasing per tenant, so expiry pops from the head, and a
 * re-used id moves to the tail: every operation is O(1) per id and memory is one node per id
 * actually in the window (grown on demand, at most max_ids).
 *
 * Invariants (per tenant, under the lock):
 *  1. n == number of nodes on the list == number of ids in the index.
 *  2. The list is sorted by last, ascending; every node has last > now - window after expiry.
 *  3. n <= max_ids; at max_ids a new id takes the node of the oldest one (the count saturates at
 *     max_ids >= threshold, so the alert stays on, and the window keeps the most recent ids).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "guard/guard.h"

typedef struct {
    int32_t id;
    int32_t prev, next; /* list by last use; -1 ends */
    uint64_t last;
} sw_node;

typedef struct {
    uint64_t tenant;
    uint64_t last_active;
    bool alerted;
    uint32_t n;
    int32_t head, tail, free_head; /* free nodes chain through next */
    sw_node *nodes;
    uint32_t n_nodes;   /* allocated */
    int32_t *index;     /* (idx_cap) node index, -1 empty; linear probing on the id */
    uint32_t idx_cap;
} sw_tenant;

struct guard_sweep {
    guard_sweep_params p;
    pthread_mutex_t mu;
    sw_tenant **ten;  /* (max_tenants) */
    uint32_t n_ten;
    int32_t *tidx;    /* (tidx_cap) index into ten, -1 empty; linear probing on the tenant id */
    uint32_t tidx_cap;
};

static uint32_t mix32(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return (uint32_t)k;
}

/* ---- an index of int32 slots with backward-shift deletion (no tombstones, so a long-lived
 * tenant's probe lengths never degrade) ---------------------------------------------------------- */

typedef uint64_t (*key_of_fn)(const void *ctx, int32_t v);

static uint32_t idx_find(const int32_t *idx, uint32_t cap, uint64_t key, key_of_fn kf, const void *ctx) {
    uint32_t mask = cap - 1;
    for (uint32_t j = mix32(key) & mask;; j = (j + 1) & mask)
        if (idx[j] < 0 || kf(ctx, idx[j]) == key) return j;
}

static void idx_del(int32_t *idx, uint32_t cap, uint32_t i, key_of_fn kf, const void *ctx) {
    uint32_t mask = cap - 1, j = i;
    idx[i] = -1;
    for (;;) {
        j = (j + 1) & mask;
        if (idx[j] < 0) return;
        uint32_t k = mix32(kf(ctx, idx[j])) & mask; /* where entry j wants to be */
        bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (stays) continue;
        idx[i] = idx[j];
        idx[j] = -1;
        i = j;
    }
}

static uint64_t node_key(const void *ctx, int32_t v) { return (uint64_t)(uint32_t)((const sw_tenant *)ctx)->nodes[v].id; }
static uint64_t tenant_key(const void *ctx, int32_t v) { return ((const guard_sweep *)ctx)->ten[v]->tenant; }

/* ---- tenants ------------------------------------------------------------------------------------- */

static void tenant_free(sw_tenant *t) {
    if (!t) return;
    free(t->nodes);
    free(t->index);
    free(t);
}

static void list_unlink(sw_tenant *t, int32_t i) {
    sw_node *x = &t->nodes[i];
    if (x->prev >= 0) t->nodes[x->prev].next = x->next;
    else t->head = x->next;
    if (x->next >= 0) t->nodes[x->next].prev = x->prev;
    else t->tail = x->prev;
}

static void list_append(sw_tenant *t, int32_t i) {
    sw_node *x = &t->nodes[i];
    x->prev = t->tail;
    x->next = -1;
    if (t->tail >= 0) t->nodes[t->tail].next = i;
    else t->head = i;
    t->tail = i;
}

static void drop_oldest(sw_tenant *t) {
    int32_t i = t->head;
    list_unlink(t, i);
    idx_del(t->index, t->idx_cap, idx_find(t->index, t->idx_cap, (uint32_t)t->nodes[i].id, node_key, t), node_key, t);
    t->nodes[i].next = t->free_head;
    t->free_head = i;
    t->n--;
}

static void expire(sw_tenant *t, uint64_t now, uint64_t window) {
    while (t->head >= 0 && now - t->nodes[t->head].last >= window) drop_oldest(t);
}

/* Makes room for one more node: a free one, else doubling nodes and index, else (at max_ids) the
 * oldest id's. False only when memory is out and nothing is tracked yet. */
static bool reserve_node(sw_tenant *t, uint32_t max_ids) {
    if (t->free_head >= 0) return true;
    if (t->n_nodes >= max_ids) {
        drop_oldest(t);
        return true;
    }
    uint32_t nn = t->n_nodes ? t->n_nodes * 2 : 16;
    if (nn > max_ids) nn = max_ids;
    sw_node *nodes = realloc(t->nodes, nn * sizeof *nodes);
    if (!nodes) return t->n > 0 ? (drop_oldest(t), true) : false;
    t->nodes = nodes;
    uint32_t cap = 32;
    while (cap < 2 * nn) cap *= 2;
    if (cap != t->idx_cap) {
        int32_t *idx = malloc(cap * sizeof *idx);
        if (!idx) return t->n > 0 ? (drop_oldest(t), true) : false; /* nodes grew but stay unused */
        memset(idx, 0xff, cap * sizeof *idx);
        for (uint32_t j = 0; j < t->idx_cap; j++) {
            if (t->index[j] < 0) continue;
            uint32_t k = idx_find(idx, cap, (uint32_t)t->nodes[t->index[j]].id, node_key, t);
            idx[k] = t->index[j];
        }
        free(t->index);
        t->index = idx;
        t->idx_cap = cap;
    }
    for (uint32_t i = nn; i-- > t->n_nodes;) {
        t->nodes[i].next = t->free_head;
        t->free_head = (int32_t)i;
    }
    t->n_nodes = nn;
    return true;
}

static void observe_id(sw_tenant *t, int32_t id, uint64_t now, uint32_t max_ids) {
    if (t->idx_cap) {
        uint32_t j = idx_find(t->index, t->idx_cap, (uint32_t)id, node_key, t);
        if (t->index[j] >= 0) {
            int32_t i = t->index[j];
            t->nodes[i].last = now;
            list_unlink(t, i);
            list_append(t, i);
            return;
        }
    }
    if (!reserve_node(t, max_ids)) return;
    int32_t i = t->free_head;
    t->free_head = t->nodes[i].next;
    t->nodes[i].id = id;
    t->nodes[i].last = now;
    list_append(t, i);
    t->index[idx_find(t->index, t->idx_cap, (uint32_t)id, node_key, t)] = i;
    t->n++;
}

/* ---- the detector -------------------------------------------------------------------------------- */

void guard_sweep_params_default(guard_sweep_params *p) {
    p->window_ns = 3600ull * 1000000000ull;
    p->threshold = 1000;
    p->max_ids = 4000;
    p->max_tenants = 4096;
}

cirrus_status guard_sweep_new(const guard_sweep_params *p, guard_sweep **out, cirrus_err *err) {
    *out = NULL;
    if (p->window_ns == 0) return cirrus_errf(err, CIRRUS_ERR_INVALID, "sweep window: must be > 0");
    if (p->threshold == 0) return cirrus_errf(err, CIRRUS_ERR_INVALID, "sweep threshold: must be > 0");
    if (p->max_ids < p->threshold || p->max_ids > (1u << 24))
        return cirrus_errf(err, CIRRUS_ERR_RANGE, "sweep max_ids: %u must be in [threshold %u, 2^24]",
                           (unsigned)p->max_ids, (unsigned)p->threshold);
    if (p->max_tenants == 0 || p->max_tenants > (1u << 20))
        return cirrus_errf(err, CIRRUS_ERR_RANGE, "sweep max_tenants: %u must be in [1, 2^20]",
                           (unsigned)p->max_tenants);
    guard_sweep *s = calloc(1, sizeof *s);
    if (!s) return cirrus_errf(err, CIRRUS_ERR_NOMEM, "out of memory");
    s->p = *p;
    s->tidx_cap = 16;
    while (s->tidx_cap < 2 * p->max_tenants) s->tidx_cap *= 2;
    s->ten = calloc(p->max_tenants, sizeof *s->ten);
    s->tidx = malloc(s->tidx_cap * sizeof *s->tidx);
    if (!s->ten || !s->tidx || pthread_mutex_init(&s->mu, NULL) != 0) {
        free(s->ten);
        free(s->tidx);
        free(s);
        return cirrus_errf(err, CIRRUS_ERR_NOMEM, "out of memory");
    }
    memset(s->tidx, 0xff, s->tidx_cap * sizeof *s->tidx);
    *out = s;
    return CIRRUS_OK;
}

void guard_sweep_free(guard_sweep *s) {
    if (!s) return;
    for (uint32_t i = 0; i < s->n_ten; i++) tenant_free(s->ten[i]);
    free(s->ten);
    free(s->tidx);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* Removes tenant slot v (moving the last tenant into it). */
static void drop_tenant(guard_sweep *s, int32_t v) {
    idx_del(s->tidx, s->tidx_cap, idx_find(s->tidx, s->tidx_cap, s->ten[v]->tenant, tenant_key, s), tenant_key, s);
    tenant_free(s->ten[v]);
    int32_t last = (int32_t)s->n_ten - 1;
    if (v != last) {
        uint32_t j = idx_find(s->tidx, s->tidx_cap, s->ten[last]->tenant, tenant_key, s);
        s->ten[v] = s->ten[last];
        s->tidx[j] = v;
    }
    s->ten[last] = NULL;
    s->n_ten--;
}

static sw_tenant *get_tenant(guard_sweep *s, uint64_t tenant, uint64_t now) {
    uint32_t j = idx_find(s->tidx, s->tidx_cap, tenant, tenant_key, s);
    if (s->tidx[j] >= 0) return s->ten[s->tidx[j]];
    if (s->n_ten == s->p.max_tenants) {
        /* Full: forget the least recently active tenant. An attacker rotating through more than
         * max_tenants tenants could dodge the count this way, but that many accounts acting as one
         * is the traffic scorer's signal, not this one's. */
        int32_t v = 0;
        for (uint32_t i = 1; i < s->n_ten; i++)
            if (s->ten[i]->last_active < s->ten[v]->last_active) v = (int32_t)i;
        drop_tenant(s, v);
        j = idx_find(s->tidx, s->tidx_cap, tenant, tenant_key, s);
    }
    sw_tenant *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->tenant = tenant;
    t->last_active = now;
    t->head = t->tail = t->free_head = -1;
    s->ten[s->n_ten] = t;
    s->tidx[j] = (int32_t)s->n_ten++;
    return t;
}

cirrus_status guard_sweep_observe(guard_sweep *s, uint64_t tenant, uint64_t now_ns, const int32_t *ids,
                                  size_t n, guard_sweep_result *out) {
    memset(out, 0, sizeof *out);
    if (n > 0 && !ids) return CIRRUS_ERR_INVALID;
    pthread_mutex_lock(&s->mu);
    sw_tenant *t = get_tenant(s, tenant, now_ns);
    if (!t) {
        pthread_mutex_unlock(&s->mu);
        return CIRRUS_ERR_NOMEM;
    }
    if (now_ns < t->last_active) now_ns = t->last_active; /* invariant 2 needs monotonic time */
    t->last_active = now_ns;
    expire(t, now_ns, s->p.window_ns);
    for (size_t i = 0; i < n; i++)
        if (ids[i] >= 0) observe_id(t, ids[i], now_ns, s->p.max_ids);
    out->distinct = t->n;
    out->alert = t->n >= s->p.threshold;
    out->new_alert = out->alert && !t->alerted;
    t->alerted = out->alert;
    pthread_mutex_unlock(&s->mu);
    return CIRRUS_OK;
}

int32_t guard_top_logprobs(int32_t requested, int32_t cap, bool *clipped) {
    if (cap < 0) cap = 0;
    if (requested < 0) requested = 0;
    if (clipped) *clipped = requested > cap;
    return requested > cap ? cap : requested;
}
