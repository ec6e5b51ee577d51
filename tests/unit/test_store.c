/*
 * store: the SQLite file is created and migrated on first use, migrations are recorded and not
 * re-applied, the invariants the schema enforces itself (S1 settled usage frozen, S2 closed
 * invoices frozen, S3 config_gen bumped by control-plane writes) hold even against raw SQL, and a
 * database from a newer cirrus is refused.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "store/store.h"

static char g_dir[256], g_db[300];

static int raw(const char *sql) {
    sqlite3 *db;
    if (sqlite3_open(g_db, &db) != SQLITE_OK) return -1;
    sqlite3_busy_timeout(db, 5000);
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    sqlite3_close(db);
    return rc;
}

static int count_cb(void *ud, const store_tenant *t) {
    (void)t;
    (*(int *)ud)++;
    return 0;
}

static int g_changes;
static void on_change(void *ud) {
    (void)ud;
    g_changes++;
}

int main(void) {
    const char *tmp = getenv("TMPDIR");
    snprintf(g_dir, sizeof g_dir, "%s/cirrus-store-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(g_dir)) return 2;
    snprintf(g_db, sizeof g_db, "%s/sub.db", g_dir);
    cirrus_err err = {{0}};
    store *s = NULL;

    CHECK(store_open("postgres://localhost/x", &s, &err) == CIRRUS_ERR_UNSUPPORTED && !s);
    CHECK(store_open("", &s, &err) == CIRRUS_ERR_INVALID);
    CHECK(store_open("/nonexistent-dir/x.db", &s, &err) == CIRRUS_ERR_IO);

    CHECK(store_open(g_db, &s, &err) == CIRRUS_OK);
    CHECK(access(g_db, F_OK) == 0);
    CHECK(store_schema_version(s) >= 1);
    int64_t gen0 = -1, gen1 = -1;
    CHECK(store_config_gen(s, &gen0, &err) == CIRRUS_OK && gen0 == 0);
    store_on_change(s, on_change, NULL);
    store_tenant t = {0};
    snprintf(t.name, sizeof t.name, "acme");
    CHECK(store_tenant_insert(s, &t, &err) == CIRRUS_OK && t.id > 0);
    CHECK(store_tenant_insert(s, &t, &err) == CIRRUS_ERR_INVALID && strstr(err.msg, "already exists"));
    CHECK(store_config_gen(s, &gen1, &err) == CIRRUS_OK && gen1 == gen0 + 1); /* S3: the failed insert did not bump */
    CHECK(g_changes == 1);
    char cur[16];
    CHECK(store_meta_get(s, "currency", cur, sizeof cur, &err) == CIRRUS_OK && !strcmp(cur, "USD"));
    CHECK(store_meta_get(s, "nothing", cur, sizeof cur, &err) == CIRRUS_ERR_NOT_FOUND);
    bool ins = false;
    CHECK(store_meta_init(s, "k", "v1", &ins, &err) == CIRRUS_OK && ins);
    CHECK(store_meta_init(s, "k", "v2", &ins, &err) == CIRRUS_OK && !ins);
    CHECK(store_meta_get(s, "k", cur, sizeof cur, &err) == CIRRUS_OK && !strcmp(cur, "v1"));

    /* a second connection sees the same data; reopening does not migrate again */
    store *s2;
    CHECK(store_reopen(s, &s2, &err) == CIRRUS_OK);
    int n = 0;
    CHECK(store_tenant_list(s2, count_cb, &n, &err) == CIRRUS_OK && n == 1);
    store_close(s2);

    /* usage rows: S1 against raw SQL */
    store_usage u = {.id = 1, .tenant_id = t.id, .key_id = 1, .price_id = 1, .prompt_tokens = 5, .t_admit = 1};
    snprintf(u.request_id, sizeof u.request_id, "r1");
    snprintf(u.model, sizeof u.model, "m");
    store_usage_write w = {STORE_UW_OPEN, &u};
    CHECK(store_usage_write_batch(s, &w, 1, NULL, &err) == CIRRUS_OK);
    CHECK(raw("UPDATE usage SET completion_tokens = 3 WHERE id = 1") == SQLITE_OK); /* open rows may move */
    u.settled = true;
    u.completion_tokens = 4;
    u.cost_output = u.cost = 8;
    w.kind = STORE_UW_SETTLE;
    size_t skipped = 9;
    CHECK(store_usage_write_batch(s, &w, 1, &skipped, &err) == CIRRUS_OK && skipped == 0);
    CHECK(raw("UPDATE usage SET cost = 0 WHERE id = 1") != SQLITE_OK);
    CHECK(raw("DELETE FROM usage WHERE id = 1") != SQLITE_OK);
    store_usage back;
    CHECK(store_usage_get(s, 1, &back, &err) == CIRRUS_OK && back.settled && back.cost == 8 && back.completion_tokens == 4);
    /* a settled row whose cost does not add up is refused by the schema */
    store_usage bad = u;
    bad.id = 2;
    bad.cost = 7;
    w = (store_usage_write){STORE_UW_OPEN, &bad};
    CHECK(store_usage_write_batch(s, &w, 1, NULL, &err) == CIRRUS_ERR_IO);

    /* invoices: S2 */
    store_invoice inv = {.tenant_id = t.id, .total = 42, .closed_at = 1, .body = "{}"};
    snprintf(inv.month, sizeof inv.month, "2025-03");
    CHECK(store_invoice_insert(s, &inv, &ins, &err) == CIRRUS_OK && ins);
    inv.total = 43;
    CHECK(store_invoice_insert(s, &inv, &ins, &err) == CIRRUS_OK && !ins);
    CHECK(raw("UPDATE invoices SET total = 0") != SQLITE_OK);
    CHECK(raw("DELETE FROM invoices") != SQLITE_OK);
    store_invoice got;
    CHECK(store_invoice_get(s, t.id, "2025-03", &got, &err) == CIRRUS_OK && got.total == 42);
    free(got.body);
    store_close(s);

    /* a newer schema is refused, not silently used */
    CHECK(raw("INSERT INTO schema_migrations(version, applied_at) VALUES(999, 0)") == SQLITE_OK);
    CHECK(store_open(g_db, &s, &err) == CIRRUS_ERR_UNSUPPORTED && strstr(err.msg, "newer"));

    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_dir);
    return check_done("test_store");
}
