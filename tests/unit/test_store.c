/*
 * store: one suite, every backend. Each case runs on a fresh SQLite file and on a fresh PostgreSQL
 * database (tests/unit/store_backends.h; the servers come from the CIRRUS_TEST_SERVERS fixture)
 * and checks what the backends must agree on: migrations (same versions, same tables and
 * columns), the control-plane operations' results, order and errors, the invariants the schema
 * enforces even against raw SQL (S1 settled usage frozen and never deleted, S2 closed invoices
 * frozen, S3 config_gen bumped by each control-plane write and only then, a record's tenant
 * exists), one owner per store (S4, including a SIGKILLed owner) and concurrent openers of a new
 * store. The usage table's group commit and reads: test_store_usage.c; PostgreSQL's connection:
 * test_store_pg.c.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "store_suite.h"

static int g_version[2];

/* ---- migrations and opening ------------------------------------------------------------------ */

static void case_open(tb_store *t, int bi) {
    OPEN(t, s);
    cirrus_err err;
    g_version[bi] = store_schema_version(s);
    CHECK(g_version[bi] >= 2);
    CHECK(!strcmp(store_backend(s), t->backend));
    CHECK(gen(s) == 0);
    char v[64];
    CHECK(store_meta_get(s, "currency", v, sizeof v, &err) == CIRRUS_OK && !strcmp(v, "USD"));
    CHECK(tb_raw_value(t, "SELECT count(*) FROM schema_migrations", v, sizeof v) == 0 && atoi(v) == g_version[bi]);
    add_tenant(s, "acme");
    store *s2;
    CHECK(store_reopen(s, &s2, &err) == CIRRUS_OK);
    store_tenant got;
    CHECK(store_tenant_get(s2, "acme", &got, &err) == CIRRUS_OK); /* a second connection sees it */
    store_close(s2);
    store_close(s);
    OPEN(t, s3); /* opening again migrates nothing */
    CHECK(tb_raw_value(t, "SELECT count(*) FROM schema_migrations", v, sizeof v) == 0 && atoi(v) == g_version[bi]);
    store_close(s3);
    /* a newer schema is refused, not silently used */
    CHECK(tb_raw(t, "INSERT INTO schema_migrations(version, applied_at) VALUES(999, 0)") == 0);
    store *s4 = NULL;
    CHECK(store_open(t->loc, &s4, &err) == CIRRUS_ERR_UNSUPPORTED && strstr(err.msg, "newer") && !s4);
}

/* Four processes open a new store at once: one migrates, the others find it done. */
static void case_concurrent_migrate(tb_store *t, int bi) {
    (void)bi;
    int go[2];
    CHECK(pipe(go) == 0);
    pid_t kids[4];
    for (int i = 0; i < 4; i++) {
        fflush(NULL);
        if ((kids[i] = fork()) == 0) {
            char c;
            if (read(go[0], &c, 1) != 1) _exit(3);
            store *s;
            cirrus_err err;
            if (store_open(t->loc, &s, &err)) {
                fprintf(stderr, "child: %s\n", err.msg);
                _exit(1);
            }
            store_close(s);
            _exit(0);
        }
    }
    CHECK(write(go[1], "gogo", 4) == 4);
    int ok = 0;
    for (int i = 0; i < 4; i++) {
        int ws;
        waitpid(kids[i], &ws, 0);
        ok += WIFEXITED(ws) && WEXITSTATUS(ws) == 0;
    }
    close(go[0]);
    close(go[1]);
    CHECK_MSG(ok == 4, "%d of 4 concurrent openers succeeded", ok);
    char v[32];
    OPEN(t, s);
    CHECK(tb_raw_value(t, "SELECT count(*) FROM schema_migrations", v, sizeof v) == 0 && atoi(v) == store_schema_version(s));
    CHECK(gen(s) == 0);
    store_close(s);
}

/* ---- meta and config_gen (S3) ---------------------------------------------------------------- */

static int g_changes;
static void on_change(void *ud) {
    (void)ud;
    g_changes++;
}

static void case_meta(tb_store *t, int bi) {
    (void)bi;
    OPEN(t, s);
    cirrus_err err;
    char v[64];
    bool ins = false;
    CHECK(store_meta_get(s, "nothing", v, sizeof v, &err) == CIRRUS_ERR_NOT_FOUND);
    CHECK(store_meta_init(s, "k", "v1 'quoted' \"x\" \\", &ins, &err) == CIRRUS_OK && ins);
    CHECK(store_meta_init(s, "k", "v2", &ins, &err) == CIRRUS_OK && !ins);
    CHECK(store_meta_get(s, "k", v, sizeof v, &err) == CIRRUS_OK && !strcmp(v, "v1 'quoted' \"x\" \\"));
    CHECK(store_meta_set(s, "k", "v3", &err) == CIRRUS_OK);
    CHECK(store_meta_get(s, "k", v, sizeof v, &err) == CIRRUS_OK && !strcmp(v, "v3"));
    CHECK(store_meta_get(s, "k", v, 2, &err) == CIRRUS_ERR_RANGE); /* "v3" needs 3 bytes */
    CHECK(gen(s) == 0); /* meta is not control-plane state */
    store_close(s);
}

/* Every control-plane write bumps config_gen once when it succeeds and never when it fails. */
static void case_config_gen(tb_store *t, int bi) {
    (void)bi;
    OPEN(t, s);
    cirrus_err err;
    g_changes = 0;
    store_on_change(s, on_change, NULL);
    int64_t g = gen(s), id = add_tenant(s, "acme");
#define BUMPED(expr, n)                                                                        \
    do {                                                                                       \
        cirrus_status st_ = (expr);                                                            \
        int64_t g2_ = gen(s);                                                                  \
        CHECK_MSG(g2_ == g + (n) && (st_ == CIRRUS_OK) == ((n) == 1), "%s: gen %lld -> %lld, status %d", #expr, \
                  (long long)g, (long long)g2_, (int)st_);                                     \
        g = g2_;                                                                               \
    } while (0)
    CHECK(gen(s) == g + 1);
    g++;
    store_tenant dup = {0};
    snprintf(dup.name, sizeof dup.name, "acme");
    BUMPED(store_tenant_insert(s, &dup, &err), 0);
    BUMPED(store_tenant_set_suspended(s, id, true, &err), 1);
    BUMPED(store_tenant_set_suspended(s, id + 1000, true, &err), 0);
    store_key k = {.tenant_id = id, .scope = STORE_SCOPE_INFERENCE};
    snprintf(k.prefix, sizeof k.prefix, "0123456789ab");
    BUMPED(store_key_insert(s, &k, &err), 1);
    BUMPED(store_key_insert(s, &k, &err), 0);
    BUMPED(store_key_revoke(s, "0123456789ab", 5, &err), 1);
    BUMPED(store_key_revoke(s, "ffffffffffff", 5, &err), 0);
    store_price p = {.effective_from = 0, .input = 1, .cached_input = 1, .output = 1};
    snprintf(p.model, sizeof p.model, "m");
    BUMPED(store_price_insert(s, &p, &err), 1);
    BUMPED(store_price_insert(s, &p, &err), 0);
    store_plan pl = {.tenant_id = id, .priority = 1};
    BUMPED(store_plan_insert(s, &pl, &err), 1);
    pl.tenant_id = id + 1000;
    BUMPED(store_plan_insert(s, &pl, &err), 0);
    store_credit c = {.tenant_id = id, .amount = 5};
    snprintf(c.month, sizeof c.month, "2025-01");
    BUMPED(store_credit_insert(s, &c, &err), 1);
    c.tenant_id = id + 1000;
    BUMPED(store_credit_insert(s, &c, &err), 0);
    CHECK_MSG(g_changes == 7, "on_change ran %d times for 7 successful writes", g_changes);
    /* writes that are not control-plane state leave it alone */
    store_usage u = usage_rec(1, id, false);
    CHECK(write1(s, STORE_UW_OPEN, &u, NULL) == CIRRUS_OK);
    store_invoice inv = {.tenant_id = id, .total = 1, .closed_at = 1, .body = "{}"};
    snprintf(inv.month, sizeof inv.month, "2025-01");
    bool ins;
    CHECK(store_invoice_insert(s, &inv, &ins, &err) == CIRRUS_OK && ins);
    CHECK(store_meta_set(s, "x", "y", &err) == CIRRUS_OK);
    CHECK(gen(s) == g);
    store_close(s);
}

/* ---- control-plane tables ----------------------------------------------------------------------- */

static int stop_first(void *ud, const store_tenant *t) {
    (void)t;
    (*(int *)ud)++;
    return 1;
}

static void case_tenants(tb_store *t, int bi) {
    (void)bi;
    OPEN(t, s);
    cirrus_err err;
    store_tenant a = {0};
    snprintf(a.name, sizeof a.name, "o'brien\\\"x");
    snprintf(a.industry, sizeof a.industry, "retail");
    snprintf(a.region, sizeof a.region, "eu-west");
    snprintf(a.metadata, sizeof a.metadata, "{\"tier\":\"gold\",\"q\":\"'\"}");
    CHECK(store_tenant_insert(s, &a, &err) == CIRRUS_OK && a.id > 0 && a.created_at > 0);
    CHECK(store_tenant_insert(s, &a, &err) == CIRRUS_ERR_INVALID && strstr(err.msg, "already exists"));
    store_tenant got;
    CHECK(store_tenant_get(s, "o'brien\\\"x", &got, &err) == CIRRUS_OK && got.id == a.id && !strcmp(got.region, "eu-west") &&
          !strcmp(got.metadata, a.metadata) && !got.suspended && got.created_at == a.created_at);
    CHECK(store_tenant_get_id(s, a.id, &got, &err) == CIRRUS_OK && !strcmp(got.name, a.name));
    CHECK(store_tenant_get(s, "nobody", &got, &err) == CIRRUS_ERR_NOT_FOUND && strstr(err.msg, "nobody"));
    CHECK(store_tenant_get_id(s, a.id + 99, &got, &err) == CIRRUS_ERR_NOT_FOUND);
    CHECK(store_tenant_set_suspended(s, a.id, true, &err) == CIRRUS_OK);
    CHECK(store_tenant_get_id(s, a.id, &got, &err) == CIRRUS_OK && got.suspended);
    CHECK(store_tenant_set_suspended(s, a.id, false, &err) == CIRRUS_OK);
    CHECK(store_tenant_get_id(s, a.id, &got, &err) == CIRRUS_OK && !got.suspended);
    CHECK(store_tenant_set_suspended(s, a.id + 99, true, &err) == CIRRUS_ERR_NOT_FOUND);
    /* listed in byte order, whatever the database's locale */
    add_tenant(s, "beta");
    add_tenant(s, "Zed");
    add_tenant(s, "acme");
    tnames x = {0};
    CHECK(store_tenant_list(s, collect_t, &x, &err) == CIRRUS_OK && x.n == 4);
    CHECK(!strcmp(x.names[0], "Zed") && !strcmp(x.names[1], "acme") && !strcmp(x.names[2], "beta") && !strcmp(x.names[3], a.name));
    int seen = 0;
    CHECK(store_tenant_list(s, stop_first, &seen, &err) == CIRRUS_OK && seen == 1); /* stopping early is not an error */
    CHECK(store_tenant_get(s, "acme", &got, &err) == CIRRUS_OK); /* and leaves the handle usable */
    store_close(s);
}

typedef struct {
    store_key v[8];
    int n;
} krows;
static int collect_k(void *ud, const store_key *k) {
    krows *x = ud;
    if (x->n < 8) x->v[x->n++] = *k;
    return 0;
}

static void case_keys(tb_store *t, int bi) {
    (void)bi;
    OPEN(t, s);
    cirrus_err err;
    int64_t a = add_tenant(s, "a"), b = add_tenant(s, "b");
    store_key k1 = {.tenant_id = b, .scope = STORE_SCOPE_ADMIN, .expires_at = 99};
    snprintf(k1.prefix, sizeof k1.prefix, "aaaaaaaaaaaa");
    for (int i = 0; i < STORE_HASH_LEN; i++) k1.hash[i] = (unsigned char)(i * 37 + (i & 1 ? 0xff : 0)); /* 0x00 and 0xff too */
    CHECK(store_key_insert(s, &k1, &err) == CIRRUS_OK && k1.id > 0);
    store_key k2 = {.tenant_id = a, .scope = STORE_SCOPE_INFERENCE};
    snprintf(k2.prefix, sizeof k2.prefix, "bbbbbbbbbbbb");
    CHECK(store_key_insert(s, &k2, &err) == CIRRUS_OK && k2.id > k1.id);
    store_key dup = k2;
    CHECK(store_key_insert(s, &dup, &err) == CIRRUS_ERR_INVALID && strstr(err.msg, "collision"));
    store_key orphan = {.tenant_id = b + 100, .scope = STORE_SCOPE_INFERENCE};
    snprintf(orphan.prefix, sizeof orphan.prefix, "cccccccccccc");
    CHECK(store_key_insert(s, &orphan, &err) == CIRRUS_ERR_INVALID); /* foreign key */
    store_key bad = k2;
    bad.scope = 7;
    CHECK(store_key_insert(s, &bad, &err) == CIRRUS_ERR_INVALID);
    CHECK(store_key_revoke(s, "bbbbbbbbbbbb", 1000, &err) == CIRRUS_OK);
    CHECK(store_key_revoke(s, "bbbbbbbbbbbb", 2000, &err) == CIRRUS_OK); /* keeps the first time */
    CHECK(store_key_revoke(s, "dddddddddddd", 1000, &err) == CIRRUS_ERR_NOT_FOUND && strstr(err.msg, "dddddddddddd"));
    krows x = {0};
    CHECK(store_key_list(s, 0, collect_k, &x, &err) == CIRRUS_OK && x.n == 2);
    CHECK(x.n == 2 && x.v[0].id == k1.id && x.v[1].id == k2.id);
    CHECK(x.n == 2 && !memcmp(x.v[0].hash, k1.hash, STORE_HASH_LEN) && x.v[0].scope == STORE_SCOPE_ADMIN && x.v[0].expires_at == 99 &&
          x.v[0].revoked_at == 0 && x.v[0].tenant_id == b && !strcmp(x.v[0].prefix, "aaaaaaaaaaaa"));
    CHECK(x.n == 2 && x.v[1].revoked_at == 1000 && x.v[1].scope == STORE_SCOPE_INFERENCE && x.v[1].created_at > 0);
    x.n = 0;
    CHECK(store_key_list(s, a, collect_k, &x, &err) == CIRRUS_OK && x.n == 1 && x.v[0].id == k2.id);
    store_close(s);
}

typedef struct {
    store_price v[8];
    int n;
} prows;
static int collect_p(void *ud, const store_price *p) {
    prows *x = ud;
    if (x->n < 8) x->v[x->n++] = *p;
    return 0;
}

static void case_prices(tb_store *t, int bi) {
    (void)bi;
    OPEN(t, s);
    cirrus_err err;
    const char *models[] = {"b", "B", "a", "b"};
    int64_t from[] = {100, 0, 0, 50};
    for (int i = 0; i < 4; i++) {
        store_price p = {.effective_from = from[i], .input = 150000 + i, .cached_input = 75000, .output = 600000};
        snprintf(p.model, sizeof p.model, "%s", models[i]);
        CHECK(store_price_insert(s, &p, &err) == CIRRUS_OK && p.id > 0);
    }
    store_price again = {.effective_from = 50, .input = 1, .output = 1};
    snprintf(again.model, sizeof again.model, "b");
    CHECK(store_price_insert(s, &again, &err) == CIRRUS_ERR_INVALID && strstr(err.msg, "already has a price"));
    again.input = -1;
    again.effective_from = 7;
    CHECK(store_price_insert(s, &again, &err) == CIRRUS_ERR_INVALID);
    prows x = {0};
    CHECK(store_price_list(s, collect_p, &x, &err) == CIRRUS_OK && x.n == 4);
    CHECK(x.n == 4 && !strcmp(x.v[0].model, "B") && !strcmp(x.v[1].model, "a") && !strcmp(x.v[2].model, "b") &&
          x.v[2].effective_from == 50 && x.v[3].effective_from == 100);
    CHECK(x.n == 4 && x.v[3].input == 150000 && x.v[2].input == 150003 && x.v[3].cached_input == 75000 && x.v[3].output == 600000);
    store_close(s);
}

typedef struct {
    store_plan v[8];
    int n;
} plrows;
static int collect_pl(void *ud, const store_plan *p) {
    plrows *x = ud;
    if (x->n < 8) x->v[x->n++] = *p;
    return 0;
}

static void case_plans(tb_store *t, int bi) {
    (void)bi;
    OPEN(t, s);
    cirrus_err err;
    int64_t a = add_tenant(s, "a"), b = add_tenant(s, "b");
    store_plan p = {.tenant_id = b, .effective_from = 1000, .kind = STORE_PLAN_COMMITTED, .fee = 1, .commit_min = 2,
                    .discount_bp = 3, .reserved_tpm = 4, .priority = 5, .rpm = 6, .tpm = 7, .max_concurrent = 8, .max_tokens = 9,
                    .budget_hard = 10, .budget_soft = 11, .no_watermark = 1, .top_logprobs_cap = -1};
    snprintf(p.models, sizeof p.models, "[\"m1\",\"m'2\"]");
    CHECK(store_plan_insert(s, &p, &err) == CIRRUS_OK && p.id > 0);
    store_plan q = {.tenant_id = b, .effective_from = 0, .kind = STORE_PLAN_PAYG, .priority = 1};
    CHECK(store_plan_insert(s, &q, &err) == CIRRUS_OK);
    store_plan r = {.tenant_id = a, .effective_from = 500, .kind = STORE_PLAN_RESERVED, .reserved_tpm = 100, .priority = 2};
    CHECK(store_plan_insert(s, &r, &err) == CIRRUS_OK);
    store_plan bad = q;
    bad.tenant_id = b + 100;
    CHECK(store_plan_insert(s, &bad, &err) == CIRRUS_ERR_INVALID && strstr(err.msg, "unknown tenant"));
    bad = q;
    bad.kind = (store_plan_kind)9;
    CHECK(store_plan_insert(s, &bad, &err) == CIRRUS_ERR_INVALID);
    plrows x = {0};
    CHECK(store_plan_list(s, b, collect_pl, &x, &err) == CIRRUS_OK && x.n == 2);
    const store_plan *g = &x.v[1];
    CHECK(x.n == 2 && x.v[0].effective_from == 0 && g->effective_from == 1000 && g->kind == STORE_PLAN_COMMITTED);
    CHECK(g->fee == 1 && g->commit_min == 2 && g->discount_bp == 3 && g->reserved_tpm == 4 && g->priority == 5 && g->rpm == 6 &&
          g->tpm == 7 && g->max_concurrent == 8 && g->max_tokens == 9 && g->budget_hard == 10 && g->budget_soft == 11);
    CHECK(g->no_watermark == 1 && g->top_logprobs_cap == -1 && !strcmp(g->models, "[\"m1\",\"m'2\"]"));
    /* the same (tenant, date) again replaces that version */
    store_plan p2 = p;
    p2.fee = 77;
    p2.no_watermark = 0;
    p2.models[0] = 0;
    CHECK(store_plan_insert(s, &p2, &err) == CIRRUS_OK);
    x.n = 0;
    CHECK(store_plan_list(s, b, collect_pl, &x, &err) == CIRRUS_OK && x.n == 2 && x.v[1].fee == 77 && x.v[1].no_watermark == 0 &&
          !x.v[1].models[0] && x.v[1].id == p2.id);
    x.n = 0;
    CHECK(store_plan_list(s, 0, collect_pl, &x, &err) == CIRRUS_OK && x.n == 3);
    CHECK(x.n == 3 && x.v[0].tenant_id == a && x.v[0].kind == STORE_PLAN_RESERVED && x.v[1].tenant_id == b && x.v[2].fee == 77);
    store_close(s);
}

typedef struct {
    store_credit v[8];
    int n;
} crows;
static int collect_c(void *ud, const store_credit *c) {
    crows *x = ud;
    if (x->n < 8) x->v[x->n++] = *c;
    return 0;
}

static void case_credits(tb_store *t, int bi) {
    (void)bi;
    OPEN(t, s);
    cirrus_err err;
    int64_t a = add_tenant(s, "a");
    const char *months[] = {"2025-01", "2025-02", "2025-01"};
    for (int i = 0; i < 3; i++) {
        store_credit c = {.tenant_id = a, .amount = 10 + i};
        snprintf(c.month, sizeof c.month, "%s", months[i]);
        snprintf(c.memo, sizeof c.memo, "outage \"%d\"", i);
        CHECK(store_credit_insert(s, &c, &err) == CIRRUS_OK && c.id > 0);
    }
    store_credit bad = {.tenant_id = a, .amount = 0};
    snprintf(bad.month, sizeof bad.month, "2025-01");
    CHECK(store_credit_insert(s, &bad, &err) == CIRRUS_ERR_INVALID);
    bad.amount = 1;
    bad.tenant_id = a + 5;
    CHECK(store_credit_insert(s, &bad, &err) == CIRRUS_ERR_INVALID && strstr(err.msg, "unknown tenant"));
    crows x = {0};
    CHECK(store_credit_list(s, a, "2025-01", collect_c, &x, &err) == CIRRUS_OK && x.n == 2);
    CHECK(x.n == 2 && x.v[0].amount == 10 && x.v[1].amount == 12 && !strcmp(x.v[1].memo, "outage \"2\"") && x.v[0].created_at > 0);
    store_close(s);
}

typedef struct {
    store_invoice v[8];
    int n;
} irows;
static int collect_i(void *ud, const store_invoice *inv) {
    irows *x = ud;
    if (x->n < 8) x->v[x->n++] = *inv;
    return 0;
}

static void case_invoices(tb_store *t, int bi) {
    (void)bi;
    OPEN(t, s);
    cirrus_err err;
    int64_t a = add_tenant(s, "a"), b = add_tenant(s, "b");
    size_t big = 100000;
    char *body = malloc(big + 1);
    for (size_t i = 0; i < big; i++) body[i] = "{\"'\\x,} é"[i % 10];
    body[big] = 0;
    store_invoice inv = {.tenant_id = b, .total = 42, .closed_at = 7, .body = body};
    snprintf(inv.month, sizeof inv.month, "2025-03");
    bool ins = false;
    CHECK(store_invoice_insert(s, &inv, &ins, &err) == CIRRUS_OK && ins && inv.id > 0);
    store_invoice again = inv;
    again.total = 43;
    again.body = "{}";
    CHECK(store_invoice_insert(s, &again, &ins, &err) == CIRRUS_OK && !ins); /* one per tenant and month (S2) */
    store_invoice got;
    CHECK(store_invoice_get(s, b, "2025-03", &got, &err) == CIRRUS_OK && got.total == 42 && got.closed_at == 7 && got.body &&
          !strcmp(got.body, body));
    free(got.body);
    CHECK(store_invoice_get(s, b, "2025-04", &got, &err) == CIRRUS_ERR_NOT_FOUND && !got.body);
    store_invoice i2 = {.tenant_id = a, .total = 1, .closed_at = 1, .body = "{}"}, i3 = i2;
    snprintf(i2.month, sizeof i2.month, "2025-03");
    snprintf(i3.month, sizeof i3.month, "2025-01");
    CHECK(store_invoice_insert(s, &i2, &ins, &err) == CIRRUS_OK && ins);
    CHECK(store_invoice_insert(s, &i3, &ins, &err) == CIRRUS_OK && ins);
    store_invoice orphan = i2;
    orphan.tenant_id = b + 9;
    CHECK(store_invoice_insert(s, &orphan, &ins, &err) == CIRRUS_ERR_INVALID);
    irows x = {0};
    CHECK(store_invoice_list(s, 0, collect_i, &x, &err) == CIRRUS_OK && x.n == 3);
    CHECK(x.n == 3 && !strcmp(x.v[0].month, "2025-01") && x.v[1].tenant_id == a && x.v[2].tenant_id == b && !x.v[0].body);
    x.n = 0;
    CHECK(store_invoice_list(s, a, collect_i, &x, &err) == CIRRUS_OK && x.n == 2 && !strcmp(x.v[0].month, "2025-01"));
    free(body);
    store_close(s);
}

/* ---- the schema's own invariants, attacked with raw SQL (S1, S2) ----------------------------------- */

static void case_triggers(tb_store *t, int bi) {
    (void)bi;
    OPEN(t, s);
    cirrus_err err;
    int64_t ten = add_tenant(s, "a");
    store_usage open_u = usage_rec(1, ten, false), done = usage_rec(2, ten, true);
    CHECK(write1(s, STORE_UW_OPEN, &open_u, NULL) == CIRRUS_OK && write1(s, STORE_UW_OPEN, &done, NULL) == CIRRUS_OK);
    CHECK_MSG(tb_raw(t, "UPDATE usage SET completion_tokens = 3 WHERE id = 1") == 0, "%s", t->err); /* open rows may move */
    CHECK(tb_raw(t, "UPDATE usage SET cost = 0 WHERE id = 2") != 0 && strstr(t->err, "never changes"));
    CHECK(tb_raw(t, "UPDATE usage SET state = 0 WHERE id = 2") != 0);
    CHECK(tb_raw(t, "DELETE FROM usage WHERE id = 2") != 0 && strstr(t->err, "never deleted"));
    CHECK(tb_raw(t, "DELETE FROM usage WHERE id = 1") != 0); /* not even an open one */
    CHECK(tb_raw(t, "DELETE FROM usage") != 0);
    CHECK(tb_raw(t, "INSERT INTO usage(id, request_id, tenant_id, key_id, model, state, prompt_tokens, cached_tokens,"
                    " completion_tokens, price_id, cost_input, cost_cached, cost_output, cost, reserved, t_admit, t_first, t_end)"
                    " VALUES(9, 'x', 1, 1, 'm', 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)") != 0); /* no third state */
    /* a record names a tenant that exists, and a tenant with records stays */
    store_usage orphan = usage_rec(3, ten + 50, false);
    CHECK(write1(s, STORE_UW_OPEN, &orphan, NULL) == CIRRUS_ERR_IO);
    CHECK(tb_raw(t, "UPDATE usage SET tenant_id = 99 WHERE id = 1") != 0);
    CHECK(tb_raw(t, "DELETE FROM tenants WHERE id = 1") != 0);
    CHECK(tb_raw(t, "UPDATE tenants SET id = 77 WHERE id = 1") != 0);
    int64_t other = add_tenant(s, "b");
    CHECK_MSG(tb_raw(t, "UPDATE usage SET tenant_id = 2 WHERE id = 1") == 0 && other == 2, "%s", t->err); /* to one that exists */
    if (tb_is_pg(t)) /* no foreign key there (a statement trigger, cheaper): TRUNCATE is checked too */
        CHECK(tb_raw(t, "TRUNCATE tenants, api_keys, plans, credits, invoices") != 0);
    store_invoice inv = {.tenant_id = ten, .total = 42, .closed_at = 1, .body = "{}"};
    snprintf(inv.month, sizeof inv.month, "2025-03");
    bool ins;
    CHECK(store_invoice_insert(s, &inv, &ins, &err) == CIRRUS_OK && ins);
    CHECK(tb_raw(t, "UPDATE invoices SET total = 0") != 0 && strstr(t->err, "never changes"));
    CHECK(tb_raw(t, "DELETE FROM invoices") != 0 && strstr(t->err, "never deleted"));
    if (tb_is_pg(t)) { /* TRUNCATE skips row triggers: refused by its own, also when cascaded */
        CHECK(tb_raw(t, "TRUNCATE usage") != 0 && strstr(t->err, "never deleted"));
        CHECK(tb_raw(t, "TRUNCATE invoices") != 0 && strstr(t->err, "never deleted"));
        CHECK(tb_raw(t, "TRUNCATE tenants CASCADE") != 0);
    }
    store_usage g;
    CHECK(store_usage_get(s, 2, &g, &err) == CIRRUS_OK && g.settled && g.cost == 8);
    CHECK(store_usage_get(s, 1, &g, &err) == CIRRUS_OK && g.completion_tokens == 3);
    store_invoice got;
    CHECK(store_invoice_get(s, ten, "2025-03", &got, &err) == CIRRUS_OK && got.total == 42);
    free(got.body);
    store_close(s);
}

/* ---- one owner per store (S4) --------------------------------------------------------------------- */

static void case_owner(tb_store *t, int bi) {
    (void)bi;
    OPEN(t, a);
    OPEN(t, b);
    cirrus_err err;
    store_owner h;
    char host[STORE_HOST_MAX] = "", pid[32];
    gethostname(host, sizeof host - 1);
    snprintf(pid, sizeof pid, "pid %d", (int)getpid());
    CHECK(store_owner_claim(a, NULL, &err) == CIRRUS_OK);
    CHECK(store_owner_claim(a, NULL, &err) == CIRRUS_OK); /* twice through one handle */
    CHECK(store_owner_claim(b, &h, &err) == CIRRUS_ERR_INVALID);
    CHECK_MSG(h.pid == getpid() && !strcmp(h.host, host) && h.since > 0, "holder pid %lld host %s", (long long)h.pid, h.host);
    CHECK_MSG(strstr(err.msg, pid) && strstr(err.msg, host) && strstr(err.msg, " since "), "%s", err.msg);
    /* the control plane is not owned: it keeps working through another handle */
    CHECK(add_tenant(b, "while-owned") > 0);
    store_close(a);
    CHECK(store_owner_claim(b, NULL, &err) == CIRRUS_OK); /* the claim went with the handle */
    store_close(b);

    /* an owner killed with SIGKILL never blocks the next one */
    int ready[2];
    CHECK(pipe(ready) == 0);
    fflush(NULL);
    pid_t kid = fork();
    if (kid == 0) {
        store *s;
        cirrus_err e;
        if (store_open(t->loc, &s, &e) || store_owner_claim(s, NULL, &e)) _exit(1);
        if (write(ready[1], "y", 1) != 1) _exit(2);
        for (;;) pause();
    }
    char c = 0;
    CHECK(read(ready[0], &c, 1) == 1 && c == 'y');
    OPEN(t, d);
    CHECK(store_owner_claim(d, &h, &err) == CIRRUS_ERR_INVALID && h.pid == kid);
    kill(kid, SIGKILL);
    int ws;
    waitpid(kid, &ws, 0);
    close(ready[0]);
    close(ready[1]);
    /* PostgreSQL notices the dead session's socket at once on loopback; allow it a moment */
    cirrus_status st = CIRRUS_ERR_INVALID;
    for (int i = 0; i < 100 && st == CIRRUS_ERR_INVALID; i++) {
        st = store_owner_claim(d, NULL, &err);
        if (st == CIRRUS_ERR_INVALID) usleep(20000);
    }
    CHECK_MSG(st == CIRRUS_OK, "after the owner's SIGKILL: %s", err.msg);
    store_close(d);
}

/* ---- across backends: the same schema ------------------------------------------------------------- */

static void schema_text(const tb_store *t, char *out, size_t cap) {
    static const char *const tables[] = {"meta", "tenants", "api_keys", "prices", "plans", "credits", "usage", "invoices",
                                         "schema_migrations"};
    char q[512], v[1024];
    out[0] = 0;
    if (tb_is_pg(t)) tb_raw_value(t, "SELECT string_agg(table_name, ',' ORDER BY table_name) FROM information_schema.tables"
                                     " WHERE table_schema = current_schema()", v, sizeof v);
    else tb_raw_value(t, "SELECT group_concat(name, ',') FROM (SELECT name FROM sqlite_master WHERE type = 'table'"
                         " AND name NOT LIKE 'sqlite_%' ORDER BY name)", v, sizeof v);
    snprintf(out, cap, "tables %s\n", v);
    for (size_t i = 0; i < sizeof tables / sizeof *tables; i++) {
        if (tb_is_pg(t))
            snprintf(q, sizeof q, "SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns"
                                  " WHERE table_schema = current_schema() AND table_name = '%s'", tables[i]);
        else snprintf(q, sizeof q, "SELECT group_concat(name, ',') FROM (SELECT name FROM pragma_table_info('%s') ORDER BY cid)", tables[i]);
        tb_raw_value(t, q, v, sizeof v);
        size_t n = strlen(out);
        snprintf(out + n, cap - n, "%s: %s\n", tables[i], v);
    }
}

static void check_same_schema(const char *backends[2]) {
    char text[2][4096];
    for (int b = 0; b < 2; b++) {
        tb_store t;
        store *s = NULL;
        cirrus_err err;
        if (tb_fresh(&t, backends[b], "schema") || store_open(t.loc, &s, &err)) {
            CHECK_MSG(0, "schema: cannot open a %s store", backends[b]);
            return;
        }
        store_close(s);
        schema_text(&t, text[b], sizeof text[b]);
        tb_remove(&t);
    }
    CHECK_MSG(!strcmp(text[0], text[1]), "the backends' schemas differ:\n%s--\n%s", text[0], text[1]);
    CHECK_MSG(g_version[0] == g_version[1], "schema versions: sqlite %d, postgresql %d", g_version[0], g_version[1]);
}

/* ---- the suite ------------------------------------------------------------------------------------ */

static const test_case k_cases[] = {
    {"open", case_open, false},
    {"concurrent_migrate", case_concurrent_migrate, false},
    {"meta", case_meta, false},
    {"config_gen", case_config_gen, false},
    {"tenants", case_tenants, false},
    {"keys", case_keys, false},
    {"prices", case_prices, false},
    {"plans", case_plans, false},
    {"credits", case_credits, false},
    {"invoices", case_invoices, false},
    {"triggers", case_triggers, false},
    {"owner", case_owner, false},
};

int main(void) {
    cirrus_err err;
    store *s = NULL;
    CHECK(store_open("", &s, &err) == CIRRUS_ERR_INVALID);
    CHECK(store_open("/nonexistent-dir/x.db", &s, &err) == CIRRUS_ERR_IO);
    const char *backends[2];
    if (suite_run(k_cases, sizeof k_cases / sizeof *k_cases, backends) == 2) check_same_schema(backends);
    return check_done("test_store");
}
