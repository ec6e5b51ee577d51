/* The SQLite backend's handle, shared by its files (store_sqlite.c, store_sqlite_usage.c, store_sqlite_owner.c). */
#ifndef CIRRUS_STORE_SQLITE_H
#define CIRRUS_STORE_SQLITE_H

#include <pthread.h>
#include <sqlite3.h>

#include "store/store_impl.h"

typedef struct {
    store base;             /* first: a sq_store* is a store* */
    sqlite3 *db;
    pthread_mutex_t mu;     /* one statement sequence at a time on this connection */
    int version;            /* schema version after migrations */
    int lock_fd;            /* DB.lock, flock'ed while this handle owns the store (S4); -1: not owner */
    /* the ledger's statements, prepared once: the group commit runs them 100k times a second */
    sqlite3_stmt *u_insert, *u_progress, *u_settle;
} sq_store;

/* Formats "what: sqlite's message" into err and returns st. */
cirrus_status sq_fail(sq_store *q, cirrus_err *err, cirrus_status st, const char *what);
/* Runs a statement list without results (BEGIN, COMMIT, PRAGMA). */
cirrus_status sq_exec(sq_store *q, const char *sql, cirrus_err *err);
cirrus_status sq_prepare(sq_store *q, const char *sql, sqlite3_stmt **out, cirrus_err *err);
void sq_text(sqlite3_stmt *st, int col, char *dst, size_t cap);

/* store_sqlite_usage.c */
cirrus_status sq_usage_write_batch(store *s, const store_usage_write *w, size_t n, size_t *skipped, cirrus_err *err);
cirrus_status sq_usage_max_id(store *s, int64_t *out, cirrus_err *err);
cirrus_status sq_usage_list(store *s, bool open_only, int64_t id, int64_t tenant_id, int64_t from_us, int64_t to_us,
                            store_usage_cb cb, void *ud, cirrus_err *err);
cirrus_status sq_usage_sum_by(store *s, int64_t tenant_id, int64_t from_us, int64_t to_us, int by, store_sum_cb cb,
                              void *ud, cirrus_err *err);
void sq_usage_finalize(sq_store *q);

/* store_sqlite_owner.c */
cirrus_status sq_owner_claim(store *s, store_owner *holder, cirrus_err *err);
void sq_owner_release(sq_store *q);

#endif
