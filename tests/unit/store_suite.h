/*
 * What the store's test files share (test_store.c, test_store_usage.c, test_store_pg.c): a few
 * records and helpers, and the loop that runs a file's cases once per backend, each on a fresh
 * store (tests/unit/store_backends.h). Include check.h first.
 */
#ifndef CIRRUS_TEST_STORE_SUITE_H
#define CIRRUS_TEST_STORE_SUITE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store_backends.h"

#define OPEN(t, s)                                                                        \
    store *s = NULL;                                                                      \
    do {                                                                                  \
        cirrus_err e_ = {{0}};                                                            \
        if (store_open((t)->loc, &s, &e_) != CIRRUS_OK) {                                 \
            CHECK_MSG(0, "store_open %s: %s", (t)->loc, e_.msg);                          \
            return;                                                                       \
        }                                                                                 \
    } while (0)

static inline int64_t gen(store *s) {
    int64_t g = -1;
    cirrus_err err;
    CHECK(store_config_gen(s, &g, &err) == CIRRUS_OK);
    return g;
}

static inline int64_t add_tenant(store *s, const char *name) {
    store_tenant t = {0};
    snprintf(t.name, sizeof t.name, "%s", name);
    cirrus_err err;
    CHECK_MSG(store_tenant_insert(s, &t, &err) == CIRRUS_OK, "%s", err.msg);
    return t.id;
}

static inline store_usage usage_rec(int64_t id, int64_t tenant, bool settled) {
    store_usage u;
    memset(&u, 0, sizeof u);
    u.id = id;
    snprintf(u.request_id, sizeof u.request_id, "r%lld", (long long)id);
    u.tenant_id = tenant;
    u.key_id = 1;
    snprintf(u.model, sizeof u.model, "m");
    u.price_id = 1;
    u.prompt_tokens = 5;
    u.reserved = 100;
    u.t_admit = 1000 + id;
    u.settled = settled;
    if (settled) u.cost_output = u.cost = 8, u.completion_tokens = 4, u.t_end = 2000 + id;
    return u;
}

static inline cirrus_status write1(store *s, store_uw_kind kind, const store_usage *u, size_t *skipped) {
    store_usage_write w = {kind, u};
    cirrus_err err;
    return store_usage_write_batch(s, &w, 1, skipped, &err);
}

typedef struct {
    store_usage v[64];
    int n;
} urows;
static inline int collect_u(void *ud, const store_usage *u) {
    urows *r = ud;
    if (r->n < 64) r->v[r->n++] = *u;
    return 0;
}
static inline int count_u(void *ud, const store_usage *u) {
    (void)u;
    (*(int *)ud)++;
    return 0;
}


typedef struct {
    char names[8][STORE_NAME_MAX];
    int n;
} tnames;
static inline int collect_t(void *ud, const store_tenant *t) {
    tnames *x = ud;
    if (x->n < 8) snprintf(x->names[x->n++], STORE_NAME_MAX, "%s", t->name);
    return 0;
}

/* A case runs on a fresh store t of backend bi (0 sqlite, 1 postgresql). */
typedef struct {
    const char *name;
    void (*fn)(tb_store *t, int bi);
    bool pg_only;
} test_case;

/* Runs every case on every backend this run covers; returns how many backends that was. */
static inline int suite_run(const test_case *cases, size_t n, const char *backends[2]) {
    cirrus_log_set_level(CIRRUS_LOG_WARN);
    int nb = tb_backends(backends);
    CHECK_MSG(nb > 0, "no backend to test (CIRRUS_TEST_BACKENDS, CIRRUS_TEST_SERVERS)");
    for (int b = 0; b < nb; b++)
        for (size_t i = 0; i < n; i++) {
            if (cases[i].pg_only && strcmp(backends[b], "postgresql")) continue;
            tb_store t;
            int before = check_failures;
            if (tb_fresh(&t, backends[b], cases[i].name)) {
                CHECK_MSG(0, "%s: no fresh %s store", cases[i].name, backends[b]);
                continue;
            }
            uint64_t t0 = cirrus_now_ns();
            cases[i].fn(&t, !strcmp(backends[b], "postgresql"));
            printf("%s %s/%s (%.2f s)\n", check_failures == before ? "ok  " : "FAIL", backends[b], cases[i].name,
                   (double)(cirrus_now_ns() - t0) / 1e9);
            tb_remove(&t);
        }
    return nb;
}

#endif
