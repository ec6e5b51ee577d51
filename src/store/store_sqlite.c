/*
 * The SQLite backend: opening, migrations, and the control-plane tables. Usage records (the
 * ledger's hot table) are in store_sqlite_usage.c.
 *
 * Why these settings:
 *  - WAL lets readers (the CLI, reports) run while the ledger's writer commits, and turns a commit
 *    into one append + one fsync of the WAL, which is what makes group commit cheap.
 *  - synchronous=FULL fsyncs the WAL on every commit: a commit that returned survives power loss.
 *    (NORMAL would only survive a process crash, and the ledger promises more.)
 *  - busy_timeout: the CLI and a running server share the file; a writer waits for the other's
 *    short transaction instead of failing.
 *  - Control-plane writes use BEGIN IMMEDIATE so two processes never deadlock upgrading read locks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store_sqlite.h"

/* ---- migrations: append only. Version N is k_migrations[N-1]; never edit one that shipped. ----
 * The usage table is written 100k times a second: its CHECKs use = and OR, not IN (...), because
 * SQLite evaluates an IN list through an ephemeral table per row (measured: 4 us of a 7 us insert). */

static const char *const k_migrations[] = {
    /* 1: the control plane */
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "INSERT INTO meta(key, value) VALUES('config_gen', '0'), ('currency', 'USD');"
    "CREATE TABLE tenants(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, industry TEXT NOT NULL DEFAULT '',"
    "  region TEXT NOT NULL DEFAULT '', metadata TEXT NOT NULL DEFAULT '{}',"
    "  status TEXT NOT NULL DEFAULT 'active' CHECK(status IN ('active','suspended')), created_at INTEGER NOT NULL);"
    "CREATE TABLE api_keys(id INTEGER PRIMARY KEY, tenant_id INTEGER NOT NULL REFERENCES tenants(id),"
    "  prefix TEXT NOT NULL UNIQUE, hash BLOB NOT NULL, scope TEXT NOT NULL CHECK(scope IN ('inference','admin')),"
    "  created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL DEFAULT 0, revoked_at INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX api_keys_tenant ON api_keys(tenant_id);"
    "CREATE TABLE prices(id INTEGER PRIMARY KEY, model TEXT NOT NULL, effective_from INTEGER NOT NULL,"
    "  input INTEGER NOT NULL CHECK(input >= 0), cached_input INTEGER NOT NULL CHECK(cached_input >= 0),"
    "  output INTEGER NOT NULL CHECK(output >= 0), created_at INTEGER NOT NULL, UNIQUE(model, effective_from));"
    "CREATE TABLE plans(id INTEGER PRIMARY KEY, tenant_id INTEGER NOT NULL REFERENCES tenants(id),"
    "  effective_from INTEGER NOT NULL, kind TEXT NOT NULL CHECK(kind IN ('payg','committed','reserved')),"
    "  fee INTEGER NOT NULL DEFAULT 0, commit_min INTEGER NOT NULL DEFAULT 0, discount_bp INTEGER NOT NULL DEFAULT 0,"
    "  reserved_tpm INTEGER NOT NULL DEFAULT 0, priority INTEGER NOT NULL DEFAULT 1, rpm INTEGER NOT NULL DEFAULT 0,"
    "  tpm INTEGER NOT NULL DEFAULT 0, max_concurrent INTEGER NOT NULL DEFAULT 0, max_tokens INTEGER NOT NULL DEFAULT 0,"
    "  budget_hard INTEGER NOT NULL DEFAULT 0, budget_soft INTEGER NOT NULL DEFAULT 0, models TEXT NOT NULL DEFAULT '',"
    "  created_at INTEGER NOT NULL, UNIQUE(tenant_id, effective_from));"
    "CREATE TABLE credits(id INTEGER PRIMARY KEY, tenant_id INTEGER NOT NULL REFERENCES tenants(id),"
    "  month TEXT NOT NULL, amount INTEGER NOT NULL CHECK(amount > 0), memo TEXT NOT NULL DEFAULT '',"
    "  created_at INTEGER NOT NULL);"
    "CREATE INDEX credits_tenant_month ON credits(tenant_id, month);"
    "CREATE TABLE usage(id INTEGER PRIMARY KEY, request_id TEXT NOT NULL, tenant_id INTEGER NOT NULL REFERENCES tenants(id),"
    "  key_id INTEGER NOT NULL, model TEXT NOT NULL, state INTEGER NOT NULL CHECK(state = 0 OR state = 1),"
    "  status TEXT CHECK(status IS NULL OR status = 'ok' OR status = 'length' OR status = 'cancelled' OR status = 'error'),"
    "  prompt_tokens INTEGER NOT NULL, cached_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL,"
    "  price_id INTEGER NOT NULL, cost_input INTEGER NOT NULL, cost_cached INTEGER NOT NULL,"
    "  cost_output INTEGER NOT NULL, cost INTEGER NOT NULL, reserved INTEGER NOT NULL,"
    "  t_admit INTEGER NOT NULL, t_first INTEGER NOT NULL, t_end INTEGER NOT NULL, simulated INTEGER NOT NULL DEFAULT 0,"
    "  CHECK(state = 0 OR cost = cost_input + cost_cached + cost_output));"
    "CREATE INDEX usage_tenant_time ON usage(tenant_id, t_admit);"
    "CREATE INDEX usage_open ON usage(state) WHERE state = 0;"
    /* S1: settled records are frozen; nothing is ever deleted */
    "CREATE TRIGGER usage_settled_frozen BEFORE UPDATE ON usage WHEN OLD.state = 1"
    "  BEGIN SELECT RAISE(ABORT, 'a settled usage record never changes'); END;"
    "CREATE TRIGGER usage_no_delete BEFORE DELETE ON usage"
    "  BEGIN SELECT RAISE(ABORT, 'usage records are never deleted'); END;"
    "CREATE TABLE invoices(id INTEGER PRIMARY KEY, tenant_id INTEGER NOT NULL REFERENCES tenants(id),"
    "  month TEXT NOT NULL, total INTEGER NOT NULL, body TEXT NOT NULL, closed_at INTEGER NOT NULL,"
    "  UNIQUE(tenant_id, month));"
    /* S2: closed invoices are frozen */
    "CREATE TRIGGER invoices_frozen BEFORE UPDATE ON invoices"
    "  BEGIN SELECT RAISE(ABORT, 'a closed invoice never changes'); END;"
    "CREATE TRIGGER invoices_no_delete BEFORE DELETE ON invoices"
    "  BEGIN SELECT RAISE(ABORT, 'closed invoices are never deleted'); END;",
    /* 2: provider protection per plan (docs/protection.md). Both default to the protective
     * setting, so every existing plan row keeps the watermark and the top_logprobs cap of 5. */
    "ALTER TABLE plans ADD COLUMN no_watermark INTEGER NOT NULL DEFAULT 0 CHECK(no_watermark = 0 OR no_watermark = 1);"
    "ALTER TABLE plans ADD COLUMN top_logprobs_cap INTEGER NOT NULL DEFAULT 0;",
};
#define N_MIGRATIONS ((int)(sizeof k_migrations / sizeof k_migrations[0]))

/* ---- helpers ------------------------------------------------------------------------------ */

cirrus_status sq_fail(sq_store *q, cirrus_err *err, cirrus_status st, const char *what) {
    return cirrus_errf(err, st, "%s: %s (database %s)", what, sqlite3_errmsg(q->db), q->base.location);
}

cirrus_status sq_exec(sq_store *q, const char *sql, cirrus_err *err) {
    char *msg = NULL;
    if (sqlite3_exec(q->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        cirrus_errf(err, CIRRUS_ERR_IO, "sqlite: %s (database %s)", msg ? msg : "error", q->base.location);
        sqlite3_free(msg);
        return CIRRUS_ERR_IO;
    }
    return CIRRUS_OK;
}

cirrus_status sq_prepare(sq_store *q, const char *sql, sqlite3_stmt **out, cirrus_err *err) {
    if (sqlite3_prepare_v2(q->db, sql, -1, out, NULL) != SQLITE_OK) return sq_fail(q, err, CIRRUS_ERR_IO, "sqlite prepare");
    return CIRRUS_OK;
}

void sq_text(sqlite3_stmt *st, int col, char *dst, size_t cap) {
    const unsigned char *t = sqlite3_column_text(st, col);
    snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

static int64_t now_s(void) { return (int64_t)time(NULL); }

#define LOCK(q) pthread_mutex_lock(&(q)->mu)
#define UNLOCK(q) pthread_mutex_unlock(&(q)->mu)

/* A control-plane write: BEGIN IMMEDIATE, the caller's statements, the config_gen bump (S3),
 * COMMIT. Caller holds the mutex. */
static cirrus_status write_begin(sq_store *q, cirrus_err *err) { return sq_exec(q, "BEGIN IMMEDIATE", err); }
static cirrus_status write_end(sq_store *q, cirrus_status st, cirrus_err *err) {
    if (st == CIRRUS_OK) {
        st = sq_exec(q, "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'config_gen'", err);
        if (st == CIRRUS_OK) st = sq_exec(q, "COMMIT", err);
        if (st == CIRRUS_OK) return CIRRUS_OK;
    }
    sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
    return st;
}

/* Runs a prepared single statement to completion; constraint failures map to INVALID with msg. */
static cirrus_status step_done(sq_store *q, sqlite3_stmt *st, const char *constraint_msg, cirrus_err *err) {
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) return CIRRUS_OK;
    if ((rc & 0xff) == SQLITE_CONSTRAINT && constraint_msg) return cirrus_errf(err, CIRRUS_ERR_INVALID, "%s", constraint_msg);
    return sq_fail(q, err, CIRRUS_ERR_IO, "sqlite write");
}

/* ---- open, migrate, close ------------------------------------------------------------------ */

static int read_version(sq_store *q) {
    sqlite3_stmt *st = NULL;
    int v = 0;
    if (sqlite3_prepare_v2(q->db, "SELECT coalesce(max(version), 0) FROM schema_migrations", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

static cirrus_status migrate(sq_store *q, cirrus_err *err) {
    cirrus_status st = sq_exec(q, "CREATE TABLE IF NOT EXISTS schema_migrations(version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)", err);
    if (st) return st;
    if (read_version(q) >= N_MIGRATIONS) goto done;
    /* IMMEDIATE: two processes opening a new file at once serialize here; the loser re-reads the
     * version inside the transaction and finds nothing left to do. */
    if ((st = sq_exec(q, "BEGIN IMMEDIATE", err))) return st;
    for (int v = read_version(q); v < N_MIGRATIONS; v++) {
        char ins[128];
        snprintf(ins, sizeof ins, "INSERT INTO schema_migrations(version, applied_at) VALUES(%d, %lld)", v + 1,
                 (long long)now_s());
        if ((st = sq_exec(q, k_migrations[v], err)) || (st = sq_exec(q, ins, err))) {
            sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
            return st;
        }
    }
    if ((st = sq_exec(q, "COMMIT", err))) {
        sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
        return st;
    }
done:
    q->version = read_version(q);
    if (q->version > N_MIGRATIONS)
        return cirrus_errf(err, CIRRUS_ERR_UNSUPPORTED, "store: database %s has schema version %d, newer than this cirrus (%d)",
                           q->base.location, q->version, N_MIGRATIONS);
    return CIRRUS_OK;
}

static const store_ops k_sqlite_ops;

static void sq_close(store *s) {
    sq_store *q = (sq_store *)s;
    sq_owner_release(q);
    sq_usage_finalize(q);
    sqlite3_close(q->db);
    pthread_mutex_destroy(&q->mu);
    free(q);
}

cirrus_status store_sqlite_open(const char *path, store **out, cirrus_err *err) {
    sq_store *q = calloc(1, sizeof *q);
    if (!q) return cirrus_errf(err, CIRRUS_ERR_NOMEM, "store: out of memory");
    q->base.ops = &k_sqlite_ops;
    q->lock_fd = -1;
    snprintf(q->base.location, sizeof q->base.location, "%s", path);
    pthread_mutex_init(&q->mu, NULL);
    /* NOMUTEX: the handle's own mutex serializes use; SQLite's would only add a second lock. */
    int rc = sqlite3_open_v2(path, &q->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    cirrus_status st = CIRRUS_OK;
    if (rc != SQLITE_OK) {
        st = cirrus_errf(err, CIRRUS_ERR_IO, "store: cannot open database %s: %s", path,
                         q->db ? sqlite3_errmsg(q->db) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(q->db, 10000);
    sqlite3_extended_result_codes(q->db, 1);
    if ((st = sq_exec(q, "PRAGMA journal_mode=WAL", err)) || (st = sq_exec(q, "PRAGMA synchronous=FULL", err)) ||
        (st = sq_exec(q, "PRAGMA foreign_keys=ON", err)) || (st = sq_exec(q, "PRAGMA cache_size=-32768", err)) ||
        (st = sq_exec(q, "PRAGMA wal_autocheckpoint=8192", err)) || (st = migrate(q, err)))
        goto fail;
    *out = &q->base;
    return CIRRUS_OK;
fail:
    sq_close(&q->base);
    *out = NULL;
    return st;
}

static cirrus_status sq_reopen(store *s, store **out, cirrus_err *err) { return store_sqlite_open(s->location, out, err); }
static int sq_schema_version(store *s) { return ((sq_store *)s)->version; }

/* ---- meta --------------------------------------------------------------------------------- */

static cirrus_status sq_meta_get(store *s, const char *key, char *buf, size_t cap, cirrus_err *err) {
    sq_store *q = (sq_store *)s;
    sqlite3_stmt *st = NULL;
    LOCK(q);
    cirrus_status rs = sq_prepare(q, "SELECT value FROM meta WHERE key = ?", &st, err);
    if (!rs) {
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            const unsigned char *v = sqlite3_column_text(st, 0);
            size_t n = (size_t)sqlite3_column_bytes(st, 0);
            if (n >= cap) rs = cirrus_errf(err, CIRRUS_ERR_RANGE, "store: meta value %s is longer than %zu bytes", key, cap - 1);
            else memcpy(buf, v, n + 1);
        } else if (rc == SQLITE_DONE) {
            rs = cirrus_errf(err, CIRRUS_ERR_NOT_FOUND, "store: no meta value %s", key);
        } else {
            rs = sq_fail(q, err, CIRRUS_ERR_IO, "store: reading meta");
        }
    }
    sqlite3_finalize(st);
    UNLOCK(q);
    return rs;
}

static cirrus_status sq_meta_set(store *s, const char *key, const char *value, bool only_if_absent, bool *inserted,
                                 cirrus_err *err) {
    sq_store *q = (sq_store *)s;
    sqlite3_stmt *st = NULL;
    LOCK(q);
    cirrus_status rs = sq_prepare(q, only_if_absent ? "INSERT OR IGNORE INTO meta(key, value) VALUES(?, ?)"
                                                    : "INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)",
                                  &st, err);
    if (!rs) {
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
        rs = step_done(q, st, NULL, err);
        if (!rs && inserted) *inserted = sqlite3_changes(q->db) > 0;
    }
    sqlite3_finalize(st);
    UNLOCK(q);
    return rs;
}

static cirrus_status sq_config_gen(store *s, int64_t *gen, cirrus_err *err) {
    char buf[32];
    cirrus_status st = sq_meta_get(s, "config_gen", buf, sizeof buf, err);
    if (!st) *gen = strtoll(buf, NULL, 10);
    return st;
}

/* ---- tenants ------------------------------------------------------------------------------ */

#define TENANT_COLS "id, name, industry, region, metadata, status, created_at"

static void row_tenant(sqlite3_stmt *st, store_tenant *t) {
    memset(t, 0, sizeof *t);
    t->id = sqlite3_column_int64(st, 0);
    sq_text(st, 1, t->name, sizeof t->name);
    sq_text(st, 2, t->industry, sizeof t->industry);
    sq_text(st, 3, t->region, sizeof t->region);
    sq_text(st, 4, t->metadata, sizeof t->metadata);
    t->suspended = !strcmp((const char *)sqlite3_column_text(st, 5), "suspended");
    t->created_at = sqlite3_column_int64(st, 6);
}

static cirrus_status sq_tenant_insert(store *s, store_tenant *t, cirrus_err *err) {
    sq_store *q = (sq_store *)s;
    sqlite3_stmt *st = NULL;
    char msg[128];
    snprintf(msg, sizeof msg, "tenant '%s' already exists", t->name);
    if (!t->created_at) t->created_at = now_s();
    LOCK(q);
    cirrus_status rs = write_begin(q, err);
    if (!rs) rs = sq_prepare(q, "INSERT INTO tenants(name, industry, region, metadata, status, created_at) VALUES(?,?,?,?,?,?)", &st, err);
    if (!rs) {
        sqlite3_bind_text(st, 1, t->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, t->industry, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, t->region, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, t->metadata, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, t->suspended ? "suspended" : "active", -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 6, t->created_at);
        rs = step_done(q, st, msg, err);
        t->id = sqlite3_last_insert_rowid(q->db);
    }
    sqlite3_finalize(st);
    rs = write_end(q, rs, err);
    UNLOCK(q);
    return rs;
}

static cirrus_status sq_tenant_get(store *s, const char *name, int64_t id, store_tenant *out, cirrus_err *err) {
    sq_store *q = (sq_store *)s;
    sqlite3_stmt *st = NULL;
    LOCK(q);
    cirrus_status rs = sq_prepare(q, name ? "SELECT " TENANT_COLS " FROM tenants WHERE name = ?"
                                          : "SELECT " TENANT_COLS " FROM tenants WHERE id = ?", &st, err);
    if (!rs) {
        if (name) sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        else sqlite3_bind_int64(st, 1, id);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) row_tenant(st, out);
        else if (rc == SQLITE_DONE && name) rs = cirrus_errf(err, CIRRUS_ERR_NOT_FOUND, "no tenant named '%s'", name);
        else if (rc == SQLITE_DONE) rs = cirrus_errf(err, CIRRUS_ERR_NOT_FOUND, "no tenant with id %lld", (long long)id);
        else rs = sq_fail(q, err, CIRRUS_ERR_IO, "store: reading tenant");
    }
    sqlite3_finalize(st);
    UNLOCK(q);
    return rs;
}

static cirrus_status sq_tenant_set_suspended(store *s, int64_t id, bool suspended, cirrus_err *err) {
    sq_store *q = (sq_store *)s;
    sqlite3_stmt *st = NULL;
    LOCK(q);
    cirrus_status rs = write_begin(q, err);
    if (!rs) rs = sq_prepare(q, "UPDATE tenants SET status = ? WHERE id = ?", &st, err);
    if (!rs) {
        sqlite3_bind_text(st, 1, suspended ? "suspended" : "active", -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, id);
        rs = step_done(q, st, NULL, err);
        if (!rs && sqlite3_changes(q->db) == 0) rs = cirrus_errf(err, CIRRUS_ERR_NOT_FOUND, "no tenant with id %lld", (long long)id);
    }
    sqlite3_finalize(st);
    rs = write_end(q, rs, err);
    UNLOCK(q);
    return rs;
}

/* Runs a prepared, bound SELECT and hands each row to fn(row, cb, ud). Caller holds the lock and
 * finalizes. The callback runs under the handle's lock: it must not call back into this handle. */
typedef int (*row_fn)(sqlite3_stmt *st, void *cb, void *ud);
static cirrus_status each_row(sq_store *q, sqlite3_stmt *st, row_fn fn, void *cb, void *ud, cirrus_err *err) {
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if (fn(st, cb, ud)) return CIRRUS_OK;
    if (rc != SQLITE_DONE) return sq_fail(q, err, CIRRUS_ERR_IO, "store: reading rows");
    return CIRRUS_OK;
}

static int tenant_row(sqlite3_stmt *st, void *cb, void *ud) {
    store_tenant t;
    row_tenant(st, &t);
    return ((store_tenant_cb)cb)(ud, &t);
}

static cirrus_status sq_tenant_list(store *s, store_tenant_cb cb, void *ud, cirrus_err *err) {
    sq_store *q = (sq_store *)s;
    sqlite3_stmt *st = NULL;
    LOCK(q);
    cirrus_status rs = sq_prepare(q, "SELECT " TENANT_COLS " FROM tenants ORDER BY name", &st, err);
    if (!rs) rs = each_row(q, st, tenant_row, (void *)cb, ud, err);
    sqlite3_finalize(st);
    UNLOCK(q);
    return rs;
}

/* ---- keys --------------------------------------------------------------------------------- */

static cirrus_status sq_key_insert(store *s, store_key *k, cirrus_err *err) {
    sq_store *q = (sq_store *)s;
    sqlite3_stmt *st = NULL;
    if (!k->created_at) k->created_at = now_s();
    LOCK(q);
    cirrus_status rs = write_begin(q, err);
    if (!rs) rs = sq_prepare(q, "INSERT INTO api_keys(tenant_id, prefix, hash, scope, created_at, expires_at, revoked_at) VALUES(?,?,?,?,?,?,?)", &st, err);
    if (!rs) {
        sqlite3_bind_int64(st, 1, k->tenant_id);
        sqlite3_bind_text(st, 2, k->prefix, -1, SQLITE_STATIC);
        sqlite3_bind_blob(st, 3, k->hash, STORE_HASH_LEN, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, k->scope == STORE_SCOPE_ADMIN ? "admin" : "inference", -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, k->created_at);
        sqlite3_bind_int64(st, 6, k->expires_at);
        sqlite3_bind_int64(st, 7, k->revoked_at);
        rs = step_done(q, st, "key prefix collision or unknown tenant", err);
        k->id = sqlite3_last_insert_rowid(q->db);
    }
    sqlite3_finalize(st);
    rs = write_end(q, rs, err);
    UNLOCK(q);
    return rs;
}

static cirrus_status sq_key_revoke(store *s, const char *prefix, int64_t at, cirrus_err *err) {
    sq_store *q = (sq_store *)s;
    sqlite3_stmt *st = NULL;
    LOCK(q);
    cirrus_status rs = write_begin(q, err);
    /* revoking twice keeps the first time: the audit trail says when it stopped working */
    if (!rs) rs = sq_prepare(q, "UPDATE api_keys SET revoked_at = CASE WHEN revoked_at = 0 THEN ? ELSE revoked_at END WHERE prefix = ?", &st, err);
    if (!rs) {
        sqlite3_bind_int64(st, 1, at);
        sqlite3_bind_text(st, 2, prefix, -1, SQLITE_STATIC);
        rs = step_done(q, st, NULL, err);
        if (!rs && sqlite3_changes(q->db) == 0) rs = cirrus_errf(err, CIRRUS_ERR_NOT_FOUND, "no key with prefix '%s'", prefix);
    }
    sqlite3_finalize(st);
    rs = write_end(q, rs, err);
    UNLOCK(q);
    return rs;
}

static int key_row(sqlite3_stmt *st, void *cb, void *ud) {
    store_key k;
    memset(&k, 0, sizeof k);
    k.id = sqlite3_column_int64(st, 0);
    k.tenant_id = sqlite3_column_int64(st, 1);
    sq_text(st, 2, k.prefix, sizeof k.prefix);
    if (sqlite3_column_bytes(st, 3) == STORE_HASH_LEN) memcpy(k.hash, sqlite3_column_blob(st, 3), STORE_HASH_LEN);
    k.scope = !strcmp((const char *)sqlite3_column_text(st, 4), "admin") ? STORE_SCOPE_ADMIN : STORE_SCOPE_INFERENCE;
    k.created_at = sqlite3_column_int64(st, 5);
    k.expires_at = sqlite3_column_int64(st, 6);
    k.revoked_at = sqlite3_column_int64(st, 7);
    return ((store_key_cb)cb)(ud, &k);
}

static cirrus_status sq_key_list(store *s, int64_t tenant_id, store_key_cb cb, void *ud, cirrus_err *err) {
    sq_store *q = (sq_store *)s;
    sqlite3_stmt *st = NULL;
    LOCK(q);
    cirrus_status rs = sq_prepare(q, tenant_id ? "SELECT id, tenant_id, prefix, hash, scope, created_at, expires_at, revoked_at FROM api_keys WHERE tenant_id = ? ORDER BY id"
                                               : "SELECT id, tenant_id, prefix, hash, scope, created_at, expires_at, revoked_at FROM api_keys ORDER BY id",
                                  &st, err);
    if (!rs) {
        if (tenant_id) sqlite3_bind_int64(st, 1, tenant_id);
        rs = each_row(q, st, key_row, (void *)cb, ud, err);
    }
    sqlite3_finalize(st);
    UNLOCK(q);
    return rs;
}

/* ---- prices ------------------------------------------------------------------------------- */

static cirrus_status sq_price_insert(store *s, store_price *p, cirrus_err *err) {
    sq_store *q = (sq_store *)s;
    sqlite3_stmt *st = NULL;
    char msg[STORE_MODEL_MAX + 96];
    snprintf(msg, sizeof msg, "model '%s' already has a price from that date (prices are versions: add a later one)", p->model);
    LOCK(q);
    cirrus_status rs = write_begin(q, err);
    if (!rs) rs = sq_prepare(q, "INSERT INTO prices(model, effective_from, input, cached_input, output, created_at) VALUES(?,?,?,?,?,?)", &st, err);
    if (!rs) {
        sqlite3_bind_text(st, 1, p->model, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, p->effective_from);
        sqlite3_bind_int64(st, 3, p->input);
        sqlite3_bind_int64(st, 4, p->cached_input);
        sqlite3_bind_int64(st, 5, p->output);
        sqlite3_bind_int64(st, 6, now_s());
        rs = step_done(q, st, msg, err);
        p->id = sqlite3_last_insert_rowid(q->db);
    }
    sqlite3_finalize(st);
    rs = write_end(q, rs, err);
    UNLOCK(q);
    return rs;
}

static int price_row(sqlite3_stmt *st, void *cb, void *ud) {
    store_price p;
    memset(&p, 0, sizeof p);
    p.id = sqlite3_column_int64(st, 0);
    sq_text(st, 1, p.model, sizeof p.model);
    p.effective_from = sqlite3_column_int64(st, 2);
    p.input = sqlite3_column_int64(st, 3);
    p.cached_input = sqlite3_column_int64(st, 4);
    p.output = sqlite3_column_int64(st, 5);
    return ((store_price_cb)cb)(ud, &p);
}

static cirrus_status sq_price_list(store *s, store_price_cb cb, void *ud, cirrus_err *err) {
    sq_store *q = (sq_store *)s;
    sqlite3_stmt *st = NULL;
    LOCK(q);
    cirrus_status rs = sq_prepare(q, "SELECT id, model, effective_from, input, cached_input, output FROM prices ORDER BY model, effective_from", &st, err);
    if (!rs) rs = each_row(q, st, price_row, (void *)cb, ud, err);
    sqlite3_finalize(st);
    UNLOCK(q);
    return rs;
}

/* ---- plans -------------------------------------------------------------------------------- */

static const char *const k_plan_kind[] = {"payg", "committed", "reserved"};

static cirrus_status sq_plan_insert(store *s, store_plan *p, cirrus_err *err) {
    sq_store *q = (sq_store *)s;
    sqlite3_stmt *st = NULL;
    LOCK(q);
    cirrus_status rs = write_begin(q, err);
    if (!rs)
        rs = sq_prepare(q, "INSERT OR REPLACE INTO plans(tenant_id, effective_from, kind, fee, commit_min, discount_bp, reserved_tpm,"
                           " priority, rpm, tpm, max_concurrent, max_tokens, budget_hard, budget_soft, models, created_at,"
                           " no_watermark, top_logprobs_cap) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", &st, err);
    if (!rs) {
        int64_t v[] = {p->tenant_id, p->effective_from};
        sqlite3_bind_int64(st, 1, v[0]);
        sqlite3_bind_int64(st, 2, v[1]);
        sqlite3_bind_text(st, 3, k_plan_kind[p->kind], -1, SQLITE_STATIC);
        int64_t n[] = {p->fee, p->commit_min, p->discount_bp, p->reserved_tpm, p->priority, p->rpm, p->tpm,
                       p->max_concurrent, p->max_tokens, p->budget_hard, p->budget_soft};
        for (int i = 0; i < 11; i++) sqlite3_bind_int64(st, 4 + i, n[i]);
        sqlite3_bind_text(st, 15, p->models, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 16, now_s());
        sqlite3_bind_int64(st, 17, p->no_watermark ? 1 : 0);
        sqlite3_bind_int64(st, 18, p->top_logprobs_cap);
        rs = step_done(q, st, "plan for an unknown tenant", err);
        p->id = sqlite3_last_insert_rowid(q->db);
    }
    sqlite3_finalize(st);
    rs = write_end(q, rs, err);
    UNLOCK(q);
    return rs;
}

static int plan_row(sqlite3_stmt *st, void *cb, void *ud) {
    store_plan p;
    memset(&p, 0, sizeof p);
    p.id = sqlite3_column_int64(st, 0);
    p.tenant_id = sqlite3_column_int64(st, 1);
    p.effective_from = sqlite3_column_int64(st, 2);
    const char *kind = (const char *)sqlite3_column_text(st, 3);
    for (int i = 0; i < 3; i++)
        if (!strcmp(kind, k_plan_kind[i])) p.kind = (store_plan_kind)i;
    int64_t *n[] = {&p.fee, &p.commit_min, &p.discount_bp, &p.reserved_tpm, &p.priority, &p.rpm, &p.tpm,
                    &p.max_concurrent, &p.max_tokens, &p.budget_hard, &p.budget_soft};
    for (int i = 0; i < 11; i++) *n[i] = sqlite3_column_int64(st, 4 + i);
    sq_text(st, 15, p.models, sizeof p.models);
    p.no_watermark = sqlite3_column_int64(st, 16);
    p.top_logprobs_cap = sqlite3_column_int64(st, 17);
    return ((store_plan_cb)cb)(ud, &p);
}

static cirrus_status sq_plan_list(store *s, int64_t tenant_id, store_plan_cb cb, void *ud, cirrus_err *err) {
    sq_store *q = (sq_store *)s;
    sqlite3_stmt *st = NULL;
#define PLAN_SELECT "SELECT id, tenant_id, effective_from, kind, fee, commit_min, discount_bp, reserved_tpm, priority, rpm, tpm," \
                    " max_concurrent, max_tokens, budget_hard, budget_soft, models, no_watermark, top_logprobs_cap FROM plans"
    LOCK(q);
    cirrus_status rs = sq_prepare(q, tenant_id ? PLAN_SELECT " WHERE tenant_id = ? ORDER BY effective_from, id"
                                               : PLAN_SELECT " ORDER BY tenant_id, effective_from, id", &st, err);
    if (!rs) {
        if (tenant_id) sqlite3_bind_int64(st, 1, tenant_id);
        rs = each_row(q, st, plan_row, (void *)cb, ud, err);
    }
    sqlite3_finalize(st);
    UNLOCK(q);
    return rs;
}

/* ---- credits ------------------------------------------------------------------------------ */

static cirrus_status sq_credit_insert(store *s, store_credit *c, cirrus_err *err) {
    sq_store *q = (sq_store *)s;
    sqlite3_stmt *st = NULL;
    if (!c->created_at) c->created_at = now_s();
    LOCK(q);
    cirrus_status rs = write_begin(q, err);
    if (!rs) rs = sq_prepare(q, "INSERT INTO credits(tenant_id, month, amount, memo, created_at) VALUES(?,?,?,?,?)", &st, err);
    if (!rs) {
        sqlite3_bind_int64(st, 1, c->tenant_id);
        sqlite3_bind_text(st, 2, c->month, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, c->amount);
        sqlite3_bind_text(st, 4, c->memo, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, c->created_at);
        rs = step_done(q, st, "credit for an unknown tenant", err);
        c->id = sqlite3_last_insert_rowid(q->db);
    }
    sqlite3_finalize(st);
    rs = write_end(q, rs, err);
    UNLOCK(q);
    return rs;
}

static int credit_row(sqlite3_stmt *st, void *cb, void *ud) {
    store_credit c;
    memset(&c, 0, sizeof c);
    c.id = sqlite3_column_int64(st, 0);
    c.tenant_id = sqlite3_column_int64(st, 1);
    sq_text(st, 2, c.month, sizeof c.month);
    c.amount = sqlite3_column_int64(st, 3);
    sq_text(st, 4, c.memo, sizeof c.memo);
    c.created_at = sqlite3_column_int64(st, 5);
    return ((store_credit_cb)cb)(ud, &c);
}

static cirrus_status sq_credit_list(store *s, int64_t tenant_id, const char *month, store_credit_cb cb, void *ud,
                                    cirrus_err *err) {
    sq_store *q = (sq_store *)s;
    sqlite3_stmt *st = NULL;
    LOCK(q);
    cirrus_status rs = sq_prepare(q, "SELECT id, tenant_id, month, amount, memo, created_at FROM credits"
                                     " WHERE tenant_id = ? AND month = ? ORDER BY id", &st, err);
    if (!rs) {
        sqlite3_bind_int64(st, 1, tenant_id);
        sqlite3_bind_text(st, 2, month, -1, SQLITE_STATIC);
        rs = each_row(q, st, credit_row, (void *)cb, ud, err);
    }
    sqlite3_finalize(st);
    UNLOCK(q);
    return rs;
}

/* ---- invoices ----------------------------------------------------------------------------- */

static cirrus_status sq_invoice_get(store *s, int64_t tenant_id, const char *month, store_invoice *out, cirrus_err *err) {
    sq_store *q = (sq_store *)s;
    sqlite3_stmt *st = NULL;
    memset(out, 0, sizeof *out);
    LOCK(q);
    cirrus_status rs = sq_prepare(q, "SELECT id, tenant_id, month, total, closed_at, body FROM invoices WHERE tenant_id = ? AND month = ?", &st, err);
    if (!rs) {
        sqlite3_bind_int64(st, 1, tenant_id);
        sqlite3_bind_text(st, 2, month, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            out->id = sqlite3_column_int64(st, 0);
            out->tenant_id = sqlite3_column_int64(st, 1);
            sq_text(st, 2, out->month, sizeof out->month);
            out->total = sqlite3_column_int64(st, 3);
            out->closed_at = sqlite3_column_int64(st, 4);
            out->body = strdup((const char *)sqlite3_column_text(st, 5));
            if (!out->body) rs = cirrus_errf(err, CIRRUS_ERR_NOMEM, "store: out of memory");
        } else if (rc == SQLITE_DONE) {
            rs = cirrus_errf(err, CIRRUS_ERR_NOT_FOUND, "no closed invoice for %s", month);
        } else {
            rs = sq_fail(q, err, CIRRUS_ERR_IO, "store: reading invoice");
        }
    }
    sqlite3_finalize(st);
    UNLOCK(q);
    return rs;
}

static cirrus_status sq_invoice_insert(store *s, store_invoice *inv, bool *inserted, cirrus_err *err) {
    sq_store *q = (sq_store *)s;
    sqlite3_stmt *st = NULL;
    LOCK(q);
    /* OR IGNORE + UNIQUE(tenant, month): of two racing closes exactly one writes (S2) */
    cirrus_status rs = sq_prepare(q, "INSERT OR IGNORE INTO invoices(tenant_id, month, total, body, closed_at) VALUES(?,?,?,?,?)", &st, err);
    if (!rs) {
        sqlite3_bind_int64(st, 1, inv->tenant_id);
        sqlite3_bind_text(st, 2, inv->month, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, inv->total);
        sqlite3_bind_text(st, 4, inv->body, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, inv->closed_at);
        rs = step_done(q, st, "invoice for an unknown tenant", err);
        if (!rs) {
            *inserted = sqlite3_changes(q->db) > 0;
            if (*inserted) inv->id = sqlite3_last_insert_rowid(q->db);
        }
    }
    sqlite3_finalize(st);
    UNLOCK(q);
    return rs;
}

static int invoice_row(sqlite3_stmt *st, void *cb, void *ud) {
    store_invoice inv;
    memset(&inv, 0, sizeof inv);
    inv.id = sqlite3_column_int64(st, 0);
    inv.tenant_id = sqlite3_column_int64(st, 1);
    sq_text(st, 2, inv.month, sizeof inv.month);
    inv.total = sqlite3_column_int64(st, 3);
    inv.closed_at = sqlite3_column_int64(st, 4);
    return ((store_invoice_cb)cb)(ud, &inv);
}

static cirrus_status sq_invoice_list(store *s, int64_t tenant_id, store_invoice_cb cb, void *ud, cirrus_err *err) {
    sq_store *q = (sq_store *)s;
    sqlite3_stmt *st = NULL;
    LOCK(q);
    cirrus_status rs = sq_prepare(q, tenant_id ? "SELECT id, tenant_id, month, total, closed_at FROM invoices WHERE tenant_id = ? ORDER BY month"
                                               : "SELECT id, tenant_id, month, total, closed_at FROM invoices ORDER BY month, tenant_id",
                                  &st, err);
    if (!rs) {
        if (tenant_id) sqlite3_bind_int64(st, 1, tenant_id);
        rs = each_row(q, st, invoice_row, (void *)cb, ud, err);
    }
    sqlite3_finalize(st);
    UNLOCK(q);
    return rs;
}

static const store_ops k_sqlite_ops = {
    .name = "sqlite",
    .reopen = sq_reopen,
    .close = sq_close,
    .schema_version = sq_schema_version,
    .meta_get = sq_meta_get,
    .meta_set = sq_meta_set,
    .config_gen = sq_config_gen,
    .owner_claim = sq_owner_claim,
    .tenant_insert = sq_tenant_insert,
    .tenant_get = sq_tenant_get,
    .tenant_set_suspended = sq_tenant_set_suspended,
    .tenant_list = sq_tenant_list,
    .key_insert = sq_key_insert,
    .key_revoke = sq_key_revoke,
    .key_list = sq_key_list,
    .price_insert = sq_price_insert,
    .price_list = sq_price_list,
    .plan_insert = sq_plan_insert,
    .plan_list = sq_plan_list,
    .credit_insert = sq_credit_insert,
    .credit_list = sq_credit_list,
    .usage_write_batch = sq_usage_write_batch,
    .usage_max_id = sq_usage_max_id,
    .usage_list = sq_usage_list,
    .usage_sum_by = sq_usage_sum_by,
    .invoice_get = sq_invoice_get,
    .invoice_insert = sq_invoice_insert,
    .invoice_list = sq_invoice_list,
};
