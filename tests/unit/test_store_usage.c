/*
 * store: the usage table (the ledger's), on every backend (a SQLite file and a PostgreSQL
 * database from the CIRRUS_TEST_SERVERS fixture, tests/unit/store_suite.h): the group commit's
 * semantics (a record's writes in order within a batch, skipped writes counted, all or nothing, text
 * of any bytes, thousands of records per batch) and the reads, with every grouping of the sums
 * checked against sums computed here from the rows.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "store_suite.h"

/* ---- usage: the group commit ------------------------------------------------------------------- */

static void case_usage_batch(tb_store *t, int bi) {
    (void)bi;
    OPEN(t, s);
    cirrus_err err;
    int64_t ten = add_tenant(s, "a");
    size_t sk = 99;
    store_usage a = usage_rec(1, ten, false), b = usage_rec(2, ten, true);
    store_usage_write w2[] = {{STORE_UW_OPEN, &a}, {STORE_UW_OPEN, &b}};
    CHECK(store_usage_write_batch(s, w2, 2, &sk, &err) == CIRRUS_OK && sk == 0);
    urows r = {0};
    CHECK(store_usage_list_open(s, collect_u, &r, &err) == CIRRUS_OK && r.n == 1 && r.v[0].id == 1 && !r.v[0].settled);
    /* PROGRESS moves an open record; on a settled one it is skipped (S1) */
    a.prompt_tokens = 6, a.cached_tokens = 2, a.completion_tokens = 3, a.t_first = 1500;
    CHECK(write1(s, STORE_UW_PROGRESS, &a, &sk) == CIRRUS_OK && sk == 0);
    store_usage g;
    CHECK(store_usage_get(s, 1, &g, &err) == CIRRUS_OK && g.prompt_tokens == 6 && g.cached_tokens == 2 && g.completion_tokens == 3 &&
          g.t_first == 1500 && !g.settled);
    store_usage b2 = b;
    b2.completion_tokens = 999;
    CHECK(write1(s, STORE_UW_PROGRESS, &b2, &sk) == CIRRUS_OK && sk == 1);
    CHECK(write1(s, STORE_UW_SETTLE, &b2, &sk) == CIRRUS_OK && sk == 1);
    CHECK(store_usage_get(s, 2, &g, &err) == CIRRUS_OK && g.completion_tokens == 4 && g.cost == 8);
    /* one batch: OPEN, PROGRESS, SETTLE of one record apply in that order; a second SETTLE and a
     * PROGRESS of an unknown record are skipped */
    store_usage c0 = usage_rec(3, ten, false), c1 = c0, c2 = c0, c3 = c0, ghost = usage_rec(77, ten, false);
    c1.completion_tokens = 2;
    c2.settled = true, c2.status = STORE_USAGE_LENGTH, c2.completion_tokens = 9, c2.cost_input = 1, c2.cost_output = 18,
    c2.cost = 19, c2.t_first = 1600, c2.t_end = 1700, c2.price_id = 4;
    c3 = c2;
    c3.completion_tokens = 1, c3.cost = 1, c3.cost_output = 0, c3.cost_input = 1;
    store_usage_write wb[] = {{STORE_UW_OPEN, &c0}, {STORE_UW_PROGRESS, &ghost}, {STORE_UW_PROGRESS, &c1},
                              {STORE_UW_SETTLE, &c2}, {STORE_UW_SETTLE, &c3}, {STORE_UW_SETTLE, &a}};
    a.settled = true, a.status = STORE_USAGE_CANCELLED, a.cost_input = 6, a.cost = 6;
    CHECK(store_usage_write_batch(s, wb, 6, &sk, &err) == CIRRUS_OK);
    CHECK_MSG(sk == 2, "skipped %zu (want 2)", sk);
    CHECK(store_usage_get(s, 3, &g, &err) == CIRRUS_OK && g.settled && g.status == STORE_USAGE_LENGTH && g.completion_tokens == 9 &&
          g.cost == 19 && g.cost_input == 1 && g.cost_output == 18 && g.t_first == 1600 && g.t_end == 1700 && g.price_id == 4 &&
          g.reserved == 100 && g.t_admit == 1003);
    CHECK(store_usage_get(s, 1, &g, &err) == CIRRUS_OK && g.settled && g.status == STORE_USAGE_CANCELLED && g.cost == 6);
    CHECK(store_usage_get(s, 77, &g, &err) == CIRRUS_ERR_NOT_FOUND);
    /* all or nothing: a batch with a duplicate OPEN changes nothing */
    store_usage d = usage_rec(4, ten, false), dup = usage_rec(2, ten, false), e = usage_rec(5, ten, true);
    store_usage_write wd[] = {{STORE_UW_OPEN, &d}, {STORE_UW_OPEN, &e}, {STORE_UW_OPEN, &dup}};
    CHECK(store_usage_write_batch(s, wd, 3, &sk, &err) == CIRRUS_ERR_IO);
    CHECK(store_usage_get(s, 4, &g, &err) == CIRRUS_ERR_NOT_FOUND && store_usage_get(s, 5, &g, &err) == CIRRUS_ERR_NOT_FOUND);
    /* a settled record whose cost does not add up is refused by the schema */
    store_usage bad = usage_rec(6, ten, true);
    bad.cost = 7;
    CHECK(write1(s, STORE_UW_OPEN, &bad, &sk) == CIRRUS_ERR_IO);
    /* text survives whatever it holds; every status and flag round-trips */
    const char *ids[] = {"a\"b\\c,d{e}f g", "NULL", "", "é✓ 'x'"};
    for (int i = 0; i < 4; i++) {
        store_usage x = usage_rec(10 + i, ten, true);
        snprintf(x.request_id, sizeof x.request_id, "%s", ids[i]);
        snprintf(x.model, sizeof x.model, "%s", ids[3 - i]);
        x.status = i;
        x.simulated = i & 1;
        x.prompt_tokens = INT64_MAX / 4 - i;
        x.t_admit = -5 - i;
        CHECK(write1(s, STORE_UW_OPEN, &x, &sk) == CIRRUS_OK);
        CHECK(store_usage_get(s, 10 + i, &g, &err) == CIRRUS_OK && !strcmp(g.request_id, ids[i]) && !strcmp(g.model, ids[3 - i]) &&
              g.status == i && g.simulated == (bool)(i & 1) && g.prompt_tokens == INT64_MAX / 4 - i && g.t_admit == -5 - i);
    }
    int64_t max = 0;
    CHECK(store_usage_max_id(s, &max, &err) == CIRRUS_OK && max == 13);
    /* a big batch: thousands of records in one call, then their settlements in another */
    enum { N = 3000 };
    store_usage *v = calloc(N, sizeof *v);
    store_usage_write *w = calloc(N, sizeof *w);
    for (int i = 0; i < N; i++) {
        v[i] = usage_rec(1000 + i, ten, i % 2 == 0);
        w[i] = (store_usage_write){STORE_UW_OPEN, &v[i]};
    }
    CHECK(store_usage_write_batch(s, w, N, &sk, &err) == CIRRUS_OK && sk == 0);
    for (int i = 0; i < N; i++) {
        v[i] = usage_rec(1000 + i, ten, true);
        v[i].completion_tokens = i;
        v[i].cost_output = v[i].cost = 2 * i;
        w[i] = (store_usage_write){STORE_UW_SETTLE, &v[i]};
    }
    CHECK(store_usage_write_batch(s, w, N, &sk, &err) == CIRRUS_OK && sk == N / 2); /* the even ones were settled already */
    int open = 0;
    CHECK(store_usage_list_open(s, count_u, &open, &err) == CIRRUS_OK && open == 0);
    CHECK(store_usage_get(s, 1001, &g, &err) == CIRRUS_OK && g.completion_tokens == 1 && g.cost == 2);
    CHECK(store_usage_get(s, 1002, &g, &err) == CIRRUS_OK && g.completion_tokens == 4 && g.cost == 8);
    CHECK(store_usage_write_batch(s, w, 0, &sk, &err) == CIRRUS_OK && sk == 0);
    free(v);
    free(w);
    store_close(s);
}

/* ---- usage: reads and sums, checked against sums computed here from the rows --------------------- */

typedef struct {
    store_usage_sum v[256];
    int n;
} srows;
static int collect_s(void *ud, const store_usage_sum *x) {
    srows *r = ud;
    if (r->n < 256) r->v[r->n++] = *x;
    return 0;
}

static int key_cmp(const store_usage_sum *a, const store_usage_sum *b) {
    if (a->tenant_id != b->tenant_id) return a->tenant_id < b->tenant_id ? -1 : 1;
    int c = strcmp(a->model, b->model);
    if (c) return c;
    if (a->price_id != b->price_id) return a->price_id < b->price_id ? -1 : 1;
    if (a->day != b->day) return a->day < b->day ? -1 : 1;
    return 0;
}

static void case_usage_reads(tb_store *t, int bi) {
    (void)bi;
    OPEN(t, s);
    cirrus_err err;
    int64_t ten[2] = {add_tenant(s, "a"), add_tenant(s, "b")};
    const char *models[] = {"m-b", "M-a", "m-a"};
    enum { N = 60 };
    store_usage v[N];
    store_usage_write w[N];
    for (int i = 0; i < N; i++) {
        v[i] = usage_rec(i + 1, ten[i % 2], i % 5 != 0);
        snprintf(v[i].model, sizeof v[i].model, "%s", models[i % 3]);
        v[i].price_id = 1 + i % 4;
        v[i].t_admit = (int64_t)(i % 7) * 86400000000LL + (int64_t)(N - i) * 1000; /* 7 days, out of id order */
        v[i].prompt_tokens = i, v[i].cached_tokens = i / 2, v[i].completion_tokens = 3 * i;
        if (v[i].settled) v[i].cost_input = i, v[i].cost_cached = 1, v[i].cost_output = 2 * i, v[i].cost = 3 * i + 1;
        v[i].reserved = 10 + i;
        w[i] = (store_usage_write){STORE_UW_OPEN, &v[i]};
    }
    CHECK(store_usage_write_batch(s, w, N, NULL, &err) == CIRRUS_OK);
    int64_t from = 86400000000LL, to = 5 * 86400000000LL; /* days 1..4 */
    /* lists: by tenant and range, ordered by (t_admit, id) */
    urows r = {0};
    CHECK(store_usage_list(s, ten[1], from, to, collect_u, &r, &err) == CIRRUS_OK);
    int want = 0;
    for (int i = 0; i < N; i++) want += v[i].tenant_id == ten[1] && v[i].t_admit >= from && v[i].t_admit < to;
    CHECK_MSG(r.n == want, "%d rows, want %d", r.n, want);
    bool ordered = true;
    for (int i = 1; i < r.n; i++) ordered &= r.v[i - 1].t_admit < r.v[i].t_admit || (r.v[i - 1].t_admit == r.v[i].t_admit && r.v[i - 1].id < r.v[i].id);
    CHECK(ordered);
    int all = 0;
    CHECK(store_usage_list(s, 0, INT64_MIN, INT64_MAX, count_u, &all, &err) == CIRRUS_OK && all == N);
    /* every grouping, for one tenant and for all */
    for (int tt = 0; tt < 2; tt++)
        for (int by = 0; by < 16; by++) {
            int64_t tenant = tt ? ten[0] : 0;
            srows got = {0}, exp = {0};
            CHECK(store_usage_sum_by(s, tenant, from, to, by, collect_s, &got, &err) == CIRRUS_OK);
            for (int i = 0; i < N; i++) {
                const store_usage *u = &v[i];
                if ((tenant && u->tenant_id != tenant) || u->t_admit < from || u->t_admit >= to) continue;
                store_usage_sum k;
                memset(&k, 0, sizeof k);
                if (by & STORE_BY_TENANT) k.tenant_id = u->tenant_id;
                if (by & STORE_BY_MODEL) snprintf(k.model, sizeof k.model, "%s", u->model);
                if (by & STORE_BY_PRICE) k.price_id = u->price_id;
                if (by & STORE_BY_DAY) k.day = u->t_admit / 86400000000LL;
                int j = 0;
                while (j < exp.n && key_cmp(&exp.v[j], &k)) j++;
                if (j == exp.n) exp.v[exp.n++] = k;
                store_usage_sum *e = &exp.v[j];
                e->requests++;
                e->open += !u->settled;
                e->prompt_tokens += u->prompt_tokens, e->cached_tokens += u->cached_tokens;
                e->completion_tokens += u->completion_tokens;
                e->cost_input += u->cost_input, e->cost_cached += u->cost_cached, e->cost_output += u->cost_output;
                e->cost += u->cost;
                if (!u->settled) e->reserved_open += u->reserved;
            }
            if (!by && !exp.n) exp.n = 1; /* one row for everything, even when empty */
            /* expected order: by the grouping columns, ascending (bytes for the model) */
            for (int i = 1; i < exp.n; i++)
                for (int j = i; j > 0 && key_cmp(&exp.v[j - 1], &exp.v[j]) > 0; j--) {
                    store_usage_sum tmp = exp.v[j];
                    exp.v[j] = exp.v[j - 1];
                    exp.v[j - 1] = tmp;
                }
            bool same = got.n == exp.n;
            for (int i = 0; same && i < exp.n; i++) {
                const store_usage_sum *a = &got.v[i], *b = &exp.v[i];
                same = !key_cmp(a, b) && a->requests == b->requests && a->open == b->open && a->prompt_tokens == b->prompt_tokens &&
                       a->cached_tokens == b->cached_tokens && a->completion_tokens == b->completion_tokens &&
                       a->cost_input == b->cost_input && a->cost_cached == b->cost_cached && a->cost_output == b->cost_output &&
                       a->cost == b->cost && a->reserved_open == b->reserved_open;
            }
            CHECK_MSG(same, "sum_by tenant=%lld by=%d: %d groups, want %d", (long long)tenant, by, got.n, exp.n);
        }
    srows empty = {0};
    CHECK(store_usage_sum_by(s, 0, 0, 1, 0, collect_s, &empty, &err) == CIRRUS_OK && empty.n == 1 && empty.v[0].requests == 0 &&
          empty.v[0].cost == 0);
    store_close(s);
}


static const test_case k_cases[] = {
    {"usage_batch", case_usage_batch, false},
    {"usage_reads", case_usage_reads, false},
};

int main(void) {
    const char *backends[2];
    suite_run(k_cases, sizeof k_cases / sizeof *k_cases, backends);
    return check_done("test_store_usage");
}
