/*
 * The usage table on SQLite: the ledger's group commit and the reads over it.
 *
 * The batch is one BEGIN ... COMMIT with synchronous=FULL, so one fsync of the WAL covers every
 * record in it; the statements are prepared once per connection. Each write only touches open
 * records (`AND state = 0`), and the usage_settled_frozen trigger backs that up (S1): a bug above
 * that tried to settle twice changes nothing and is counted, not applied.
 */
#include <stdio.h>
#include <string.h>

#include "store/store_sqlite.h"

#define USAGE_COLS                                                                                        \
    "id, request_id, tenant_id, key_id, model, state, status, prompt_tokens, cached_tokens, completion_tokens," \
    " price_id, cost_input, cost_cached, cost_output, cost, reserved, t_admit, t_first, t_end, simulated"

static const char *const k_status[] = {"ok", "length", "cancelled", "error"};

void sq_usage_finalize(sq_store *q) {
    sqlite3_finalize(q->u_insert);
    sqlite3_finalize(q->u_progress);
    sqlite3_finalize(q->u_settle);
    q->u_insert = q->u_progress = q->u_settle = NULL;
}

static cirrus_status prepare_once(sq_store *q, cirrus_err *err) {
    if (q->u_insert) return CIRRUS_OK;
    static const char *ins = "INSERT INTO usage(" USAGE_COLS ") VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
    static const char *prog = "UPDATE usage SET prompt_tokens = ?2, cached_tokens = ?3, completion_tokens = ?4, t_first = ?5"
                              " WHERE id = ?1 AND state = 0";
    static const char *settle = "UPDATE usage SET state = 1, status = ?2, prompt_tokens = ?3, cached_tokens = ?4,"
                                " completion_tokens = ?5, price_id = ?6, cost_input = ?7, cost_cached = ?8, cost_output = ?9,"
                                " cost = ?10, t_first = ?11, t_end = ?12 WHERE id = ?1 AND state = 0";
    unsigned fl = SQLITE_PREPARE_PERSISTENT;
    if (sqlite3_prepare_v3(q->db, ins, -1, fl, &q->u_insert, NULL) != SQLITE_OK ||
        sqlite3_prepare_v3(q->db, prog, -1, fl, &q->u_progress, NULL) != SQLITE_OK ||
        sqlite3_prepare_v3(q->db, settle, -1, fl, &q->u_settle, NULL) != SQLITE_OK) {
        cirrus_status st = sq_fail(q, err, CIRRUS_ERR_IO, "store: preparing usage statements");
        sq_usage_finalize(q);
        return st;
    }
    return CIRRUS_OK;
}

static int status_ok(int s) { return s >= 0 && s < 4; }

static int bind_insert(sqlite3_stmt *st, const store_usage *u) {
    sqlite3_bind_int64(st, 1, u->id);
    sqlite3_bind_text(st, 2, u->request_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, u->tenant_id);
    sqlite3_bind_int64(st, 4, u->key_id);
    sqlite3_bind_text(st, 5, u->model, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 6, u->settled ? 1 : 0);
    if (u->settled && status_ok(u->status)) sqlite3_bind_text(st, 7, k_status[u->status], -1, SQLITE_STATIC);
    else sqlite3_bind_null(st, 7);
    int64_t v[] = {u->prompt_tokens, u->cached_tokens, u->completion_tokens, u->price_id, u->cost_input,
                   u->cost_cached, u->cost_output, u->cost, u->reserved, u->t_admit, u->t_first, u->t_end};
    for (int i = 0; i < 12; i++) sqlite3_bind_int64(st, 8 + i, v[i]);
    sqlite3_bind_int(st, 20, u->simulated ? 1 : 0);
    return sqlite3_step(st);
}

static int bind_progress(sqlite3_stmt *st, const store_usage *u) {
    sqlite3_bind_int64(st, 1, u->id);
    sqlite3_bind_int64(st, 2, u->prompt_tokens);
    sqlite3_bind_int64(st, 3, u->cached_tokens);
    sqlite3_bind_int64(st, 4, u->completion_tokens);
    sqlite3_bind_int64(st, 5, u->t_first);
    return sqlite3_step(st);
}

static int bind_settle(sqlite3_stmt *st, const store_usage *u) {
    sqlite3_bind_int64(st, 1, u->id);
    sqlite3_bind_text(st, 2, k_status[status_ok(u->status) ? u->status : STORE_USAGE_ERROR], -1, SQLITE_STATIC);
    int64_t v[] = {u->prompt_tokens, u->cached_tokens, u->completion_tokens, u->price_id, u->cost_input,
                   u->cost_cached, u->cost_output, u->cost, u->t_first, u->t_end};
    for (int i = 0; i < 10; i++) sqlite3_bind_int64(st, 3 + i, v[i]);
    return sqlite3_step(st);
}

cirrus_status sq_usage_write_batch(store *s, const store_usage_write *w, size_t n, size_t *skipped, cirrus_err *err) {
    sq_store *q = (sq_store *)s;
    pthread_mutex_lock(&q->mu);
    cirrus_status rs = prepare_once(q, err);
    if (!rs) rs = sq_exec(q, "BEGIN IMMEDIATE", err);
    if (rs) {
        pthread_mutex_unlock(&q->mu);
        return rs;
    }
    size_t sk = 0;
    for (size_t i = 0; i < n && !rs; i++) {
        sqlite3_stmt *st = w[i].kind == STORE_UW_OPEN ? q->u_insert : w[i].kind == STORE_UW_PROGRESS ? q->u_progress : q->u_settle;
        int rc = w[i].kind == STORE_UW_OPEN       ? bind_insert(st, w[i].u)
                 : w[i].kind == STORE_UW_PROGRESS ? bind_progress(st, w[i].u)
                                                  : bind_settle(st, w[i].u);
        if (rc != SQLITE_DONE) {
            rs = cirrus_errf(err, CIRRUS_ERR_IO, "store: writing usage record %lld: %s", (long long)w[i].u->id,
                             sqlite3_errmsg(q->db));
        } else if (w[i].kind != STORE_UW_OPEN && sqlite3_changes(q->db) == 0) {
            sk++;
        }
        sqlite3_reset(st); /* every parameter is bound again next time */
    }
    if (!rs) rs = sq_exec(q, "COMMIT", err);
    if (rs) sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
    *skipped = sk;
    pthread_mutex_unlock(&q->mu);
    return rs;
}

cirrus_status sq_usage_max_id(store *s, int64_t *out, cirrus_err *err) {
    sq_store *q = (sq_store *)s;
    sqlite3_stmt *st = NULL;
    pthread_mutex_lock(&q->mu);
    cirrus_status rs = sq_prepare(q, "SELECT coalesce(max(id), 0) FROM usage", &st, err);
    if (!rs) {
        if (sqlite3_step(st) == SQLITE_ROW) *out = sqlite3_column_int64(st, 0);
        else rs = sq_fail(q, err, CIRRUS_ERR_IO, "store: reading usage");
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&q->mu);
    return rs;
}

static void row_usage(sqlite3_stmt *st, store_usage *u) {
    memset(u, 0, sizeof *u);
    u->id = sqlite3_column_int64(st, 0);
    sq_text(st, 1, u->request_id, sizeof u->request_id);
    u->tenant_id = sqlite3_column_int64(st, 2);
    u->key_id = sqlite3_column_int64(st, 3);
    sq_text(st, 4, u->model, sizeof u->model);
    u->settled = sqlite3_column_int(st, 5) == 1;
    const char *status = (const char *)sqlite3_column_text(st, 6);
    u->status = STORE_USAGE_OK;
    for (int i = 0; status && i < 4; i++)
        if (!strcmp(status, k_status[i])) u->status = i;
    int64_t *v[] = {&u->prompt_tokens, &u->cached_tokens, &u->completion_tokens, &u->price_id, &u->cost_input,
                    &u->cost_cached, &u->cost_output, &u->cost, &u->reserved, &u->t_admit, &u->t_first, &u->t_end};
    for (int i = 0; i < 12; i++) *v[i] = sqlite3_column_int64(st, 7 + i);
    u->simulated = sqlite3_column_int(st, 19) != 0;
}

cirrus_status sq_usage_list(store *s, bool open_only, int64_t id, int64_t tenant_id, int64_t from_us, int64_t to_us,
                            store_usage_cb cb, void *ud, cirrus_err *err) {
    sq_store *q = (sq_store *)s;
    sqlite3_stmt *st = NULL;
    const char *sql = open_only ? "SELECT " USAGE_COLS " FROM usage WHERE state = 0 ORDER BY id"
                      : id      ? "SELECT " USAGE_COLS " FROM usage WHERE id = ?1"
                      : tenant_id ? "SELECT " USAGE_COLS " FROM usage WHERE tenant_id = ?1 AND t_admit >= ?2 AND t_admit < ?3 ORDER BY t_admit, id"
                                  : "SELECT " USAGE_COLS " FROM usage WHERE t_admit >= ?2 AND t_admit < ?3 ORDER BY t_admit, id";
    pthread_mutex_lock(&q->mu);
    cirrus_status rs = sq_prepare(q, sql, &st, err);
    if (!rs) {
        if (id) {
            sqlite3_bind_int64(st, 1, id);
        } else if (!open_only) {
            if (tenant_id) sqlite3_bind_int64(st, 1, tenant_id);
            sqlite3_bind_int64(st, 2, from_us);
            sqlite3_bind_int64(st, 3, to_us);
        }
        int rc;
        store_usage u;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            row_usage(st, &u);
            if (cb(ud, &u)) {
                rc = SQLITE_DONE;
                break;
            }
        }
        if (rc != SQLITE_DONE) rs = sq_fail(q, err, CIRRUS_ERR_IO, "store: reading usage");
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&q->mu);
    return rs;
}

/* The SQL is assembled from fixed fragments chosen by bits of `by`: no caller text enters it. */
cirrus_status sq_usage_sum_by(store *s, int64_t tenant_id, int64_t from_us, int64_t to_us, int by, store_sum_cb cb,
                              void *ud, cirrus_err *err) {
    sq_store *q = (sq_store *)s;
    char sql[1400], group[64];
    const char *key[4];
    store_sum_keys(by, key, group, sizeof group);
    snprintf(sql, sizeof sql,
             "SELECT %s, %s, %s, %s, count(*), coalesce(sum(state = 0), 0), coalesce(sum(prompt_tokens), 0),"
             " coalesce(sum(cached_tokens), 0), coalesce(sum(completion_tokens), 0), coalesce(sum(cost_input), 0),"
             " coalesce(sum(cost_cached), 0), coalesce(sum(cost_output), 0), coalesce(sum(cost), 0),"
             " coalesce(sum(CASE WHEN state = 0 THEN reserved ELSE 0 END), 0)"
             " FROM usage WHERE %s t_admit >= ?2 AND t_admit < ?3%s",
             key[0], key[1], key[2], key[3], tenant_id ? "tenant_id = ?1 AND" : "", group);
    sqlite3_stmt *st = NULL;
    pthread_mutex_lock(&q->mu);
    cirrus_status rs = sq_prepare(q, sql, &st, err);
    if (!rs) {
        if (tenant_id) sqlite3_bind_int64(st, 1, tenant_id);
        sqlite3_bind_int64(st, 2, from_us);
        sqlite3_bind_int64(st, 3, to_us);
        int rc;
        store_usage_sum r;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            memset(&r, 0, sizeof r);
            r.tenant_id = sqlite3_column_int64(st, 0);
            sq_text(st, 1, r.model, sizeof r.model);
            r.price_id = sqlite3_column_int64(st, 2);
            r.day = sqlite3_column_int64(st, 3);
            int64_t *v[] = {&r.requests, &r.open, &r.prompt_tokens, &r.cached_tokens, &r.completion_tokens, &r.cost_input,
                            &r.cost_cached, &r.cost_output, &r.cost, &r.reserved_open};
            for (int i = 0; i < 10; i++) *v[i] = sqlite3_column_int64(st, 4 + i);
            if (cb(ud, &r)) {
                rc = SQLITE_DONE;
                break;
            }
        }
        if (rc != SQLITE_DONE) rs = sq_fail(q, err, CIRRUS_ERR_IO, "store: summing usage");
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&q->mu);
    return rs;
}
