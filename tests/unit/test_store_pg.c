/*
 * store: what only the PostgreSQL backend has, a connection (a database from the
 * CIRRUS_TEST_SERVERS fixture): reads, writes and group commits after the server cut the
 * connection, an owner that takes its lock back after a drop (and one that must not, because
 * someone else owned the store meanwhile), a connection that drops inside a transaction (nothing
 * of it applied, not even its later statements on a new connection), commits whose reply was lost
 * (injected: store_pg_fault), servers that cannot be reached, and passwords that never show.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "store/store_impl.h" /* store_pg_fault: injected failures */
#include "store_suite.h"

/* ---- PostgreSQL only: the connection and what crosses it ------------------------------------------ */

static int terminate_others(const tb_store *t) {
    return tb_raw(t, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database()"
                     " AND pid <> pg_backend_pid()");
}

static void case_pg_reconnect(tb_store *t, int bi) {
    (void)bi;
    OPEN(t, s);
    cirrus_err err;
    int64_t ten = add_tenant(s, "a");
    CHECK(terminate_others(t) == 0);
    tnames x = {0};
    CHECK_MSG(store_tenant_list(s, collect_t, &x, &err) == CIRRUS_OK && x.n == 1, "%s", err.msg); /* a read: once more */
    CHECK(terminate_others(t) == 0);
    CHECK_MSG(add_tenant(s, "b") > 0, "a write after a drop");
    CHECK(terminate_others(t) == 0);
    store_usage u = usage_rec(1, ten, false);
    CHECK_MSG(write1(s, STORE_UW_OPEN, &u, NULL) == CIRRUS_OK, "a batch after a drop");
    /* the owner's session drops: it takes its lock back, since no one else owned the store */
    CHECK(store_owner_claim(s, NULL, &err) == CIRRUS_OK);
    CHECK(terminate_others(t) == 0);
    store_usage u2 = usage_rec(2, ten, false);
    CHECK_MSG(write1(s, STORE_UW_OPEN, &u2, NULL) == CIRRUS_OK, "the owner after a drop");
    OPEN(t, other);
    CHECK(store_owner_claim(other, NULL, &err) == CIRRUS_ERR_INVALID); /* and holds it again */
    /* ... but one that someone else owned meanwhile is done for good: they may have recovered its
     * records and handed out its ids */
    CHECK(terminate_others(t) == 0);
    usleep(50000);
    CHECK(store_owner_claim(other, NULL, &err) == CIRRUS_OK);
    store_close(other);
    store_usage u3 = usage_rec(3, ten, false);
    CHECK(write1(s, STORE_UW_OPEN, &u3, NULL) == CIRRUS_ERR_IO);
    CHECK(store_tenant_list(s, collect_t, &x, &err) == CIRRUS_ERR_IO && strstr(err.msg, "ownership"));
    store_close(s);
    OPEN(t, s2);
    store_usage g;
    CHECK(store_usage_get(s2, 3, &g, &err) == CIRRUS_ERR_NOT_FOUND && store_usage_get(s2, 2, &g, &err) == CIRRUS_OK);
    store_close(s2);
}

typedef struct {
    int n;
    int64_t fee0;
} plrows_;
static int collect_pl_(void *ud, const store_plan *p) {
    plrows_ *x = ud;
    if (!x->n++) x->fee0 = p->fee;
    return 0;
}

static void case_pg_lost_commit(tb_store *t, int bi) {
    (void)bi;
    OPEN(t, s);
    cirrus_err err;
    int64_t ten = add_tenant(s, "a");
    /* a control-plane write whose COMMIT reply is lost: asked, found committed, reported OK once */
    int64_t g0 = gen(s);
    store_pg_fault(s, STORE_PG_FAULT_COMMIT_REPLY);
    CHECK_MSG(add_tenant(s, "b") > 0, "a write whose reply was lost");
    CHECK(gen(s) == g0 + 1);
    /* a connection that drops inside a transaction: nothing of it is applied, not even in part on
     * a new connection; the next call works */
    int64_t g1 = gen(s);
    store_plan pl = {.tenant_id = ten, .effective_from = 0, .priority = 1}; /* DELETE then INSERT: two statements */
    CHECK(store_plan_insert(s, &pl, &err) == CIRRUS_OK);
    g1 = gen(s);
    pl.fee = 99;
    store_pg_fault(s, STORE_PG_FAULT_DROP_IN_TX);
    CHECK_MSG(store_plan_insert(s, &pl, &err) == CIRRUS_ERR_IO && strstr(err.msg, "nothing of it"), "%s", err.msg);
    plrows_ x = {0};
    CHECK(store_plan_list(s, ten, collect_pl_, &x, &err) == CIRRUS_OK && x.n == 1 && x.fee0 == 0);
    CHECK(gen(s) == g1);
    store_tenant tt = {0};
    snprintf(tt.name, sizeof tt.name, "dropped");
    store_pg_fault(s, STORE_PG_FAULT_DROP_IN_TX);
    CHECK(store_tenant_insert(s, &tt, &err) == CIRRUS_ERR_IO);
    CHECK(store_tenant_get(s, "dropped", &tt, &err) == CIRRUS_ERR_NOT_FOUND && gen(s) == g1);
    store_usage ub = usage_rec(9, ten, false);
    store_pg_fault(s, STORE_PG_FAULT_DROP_IN_TX);
    CHECK(write1(s, STORE_UW_OPEN, &ub, NULL) == CIRRUS_ERR_IO);
    CHECK(write1(s, STORE_UW_OPEN, &ub, NULL) == CIRRUS_OK); /* the ledger's retry */
    /* the same for a usage batch */
    store_usage u1 = usage_rec(1, ten, true);
    store_pg_fault(s, STORE_PG_FAULT_COMMIT_REPLY);
    CHECK(write1(s, STORE_UW_OPEN, &u1, NULL) == CIRRUS_OK);
    /* lost, and the server cannot be asked yet: IO; the retry of the same batch finds it committed
     * and does not apply it twice (its OPEN would collide) */
    store_usage u2 = usage_rec(2, ten, false), u3 = usage_rec(3, ten, true);
    store_usage_write w[] = {{STORE_UW_OPEN, &u2}, {STORE_UW_OPEN, &u3}};
    store_pg_fault(s, STORE_PG_FAULT_COMMIT_REPLY | STORE_PG_FAULT_OFFLINE);
    size_t sk;
    CHECK(store_usage_write_batch(s, w, 2, &sk, &err) == CIRRUS_ERR_IO && strstr(err.msg, "asked again"));
    CHECK_MSG(store_usage_write_batch(s, w, 2, &sk, &err) == CIRRUS_OK, "retry: %s", err.msg);
    int n = 0;
    CHECK(store_usage_list(s, 0, INT64_MIN, INT64_MAX, count_u, &n, &err) == CIRRUS_OK && n == 4); /* with record 9 */
    /* an unresolved batch followed by a different one: the new one is applied normally */
    store_usage u4 = usage_rec(4, ten, false), u5 = usage_rec(5, ten, false);
    store_pg_fault(s, STORE_PG_FAULT_COMMIT_REPLY | STORE_PG_FAULT_OFFLINE);
    CHECK(write1(s, STORE_UW_OPEN, &u4, NULL) == CIRRUS_ERR_IO);
    CHECK(write1(s, STORE_UW_OPEN, &u5, NULL) == CIRRUS_OK);
    n = 0;
    CHECK(store_usage_list(s, 0, INT64_MIN, INT64_MAX, count_u, &n, &err) == CIRRUS_OK && n == 6);
    store_close(s);
}

static void case_pg_errors(tb_store *t, int bi) {
    (void)bi;
    cirrus_err err;
    store *s = NULL;
    CHECK(store_open("postgres://cirrus:hunter2@127.0.0.1:1/x", &s, &err) == CIRRUS_ERR_IO && !s);
    CHECK_MSG(strstr(err.msg, "cannot connect") && !strstr(err.msg, "hunter2") && strstr(err.msg, "***"), "%s", err.msg);
    char uri[600];
    snprintf(uri, sizeof uri, "postgres://cirrus@127.0.0.1:%d/no_such_db_here", servers_pg_port);
    CHECK(store_open(uri, &s, &err) == CIRRUS_ERR_IO && strstr(err.msg, "no_such_db_here"));
    /* trust authentication ignores the password: the store opens, and never shows it */
    const char *at = strstr(t->loc, "@");
    snprintf(uri, sizeof uri, "postgresql://cirrus:s3cret%s&password=s3cret&application_name=x", at); /* loc has ?options= */
    CHECK_MSG(store_open(uri, &s, &err) == CIRRUS_OK, "%s", err.msg);
    if (s) {
        CHECK_MSG(!strstr(store_location(s), "s3cret") && strstr(store_location(s), "cirrus:***@") &&
                  strstr(store_location(s), "password=***&application_name=x"), "%s", store_location(s));
        store_close(s);
    }
    CHECK(store_location_is_url("postgres://h/d") && store_location_is_url("postgresql://h/d") && !store_location_is_url("x.db"));
}


/* Two stores in two schemas of one database are two stores: their own tables, their own owner. */
static void case_pg_schemas(tb_store *t, int bi) {
    (void)bi;
    tb_store t2;
    if (tb_fresh(&t2, "postgresql", "second")) {
        CHECK_MSG(0, "no second schema");
        return;
    }
    OPEN(t, a);
    OPEN(&t2, b);
    cirrus_err err;
    add_tenant(a, "only-in-a");
    store_tenant got;
    CHECK(store_tenant_get(b, "only-in-a", &got, &err) == CIRRUS_ERR_NOT_FOUND);
    CHECK(store_owner_claim(a, NULL, &err) == CIRRUS_OK);
    CHECK_MSG(store_owner_claim(b, NULL, &err) == CIRRUS_OK, "%s", err.msg);
    store_close(a);
    store_close(b);
}

static const test_case k_cases[] = {
    {"pg_schemas", case_pg_schemas, true},
    {"pg_reconnect", case_pg_reconnect, true},
    {"pg_lost_commit", case_pg_lost_commit, true},
    {"pg_errors", case_pg_errors, true},
};

int main(void) {
    const char *backends[2];
    suite_run(k_cases, sizeof k_cases / sizeof *k_cases, backends);
    return check_done("test_store_pg");
}
