/*
 * The PostgreSQL backend's handle and the helpers its three files share (store_pg.c: connection,
 * statements, transactions, migrations, meta, ownership; store_pg_control.c: the control-plane
 * tables; store_pg_usage.c: the ledger's table).
 *
 * A call runs under the handle's mutex: pg_ready() first (re-connecting a dropped connection and
 * re-taking the owner lock a reconnect lost), then statements through pg_exec()/pg_each(), which
 * prepare each distinct SQL text once per connection and pass every value as a parameter (no
 * caller text is ever spliced into SQL). A write is pg_begin() ... pg_commit(); a commit whose
 * reply was lost with the connection is resolved with txid_status() on a new connection, so a
 * caller is told OK only for what the server committed and IO only for what it did not (or for
 * what cannot be known yet).
 */
#ifndef CIRRUS_STORE_PG_H
#define CIRRUS_STORE_PG_H

#include <libpq-fe.h>
#include <pthread.h>

#include "store/store_impl.h"

#define PG_MAX_PARAMS 24
#define PG_USAGE_COLS 20

typedef struct {
    store base;             /* first: a pg_store* is a store* */
    PGconn *conn;
    char uri[1024];         /* the full URI, password included: never printed (base.location is masked) */
    pthread_mutex_t mu;     /* one statement sequence at a time on this connection */
    int version;            /* schema version after migrations */
    cirrus_map stmts;       /* SQL text -> pg_prepared, for this connection (cleared on reconnect) */
    unsigned n_stmts;
    bool in_tx;             /* inside pg_begin .. pg_commit/pg_rollback: no silent retries */
    uint64_t xid;           /* the open write transaction's id (txid_current) */
    bool owner;             /* this session holds the owner lock (S4): re-taken after a reconnect */
    bool owner_lost;        /* someone else owned the store while this session was gone: done for good */
    store_owner me;         /* what the owner row says while owner */
    /* a usage batch whose COMMIT reply was lost and whose outcome could not be asked yet: the
     * next batch asks first, and a retry of the same batch (same kinds and ids) that turns out
     * committed is not applied twice */
    uint64_t pending_xid, pending_hash;
    int fault;              /* store_pg_fault(): a one-shot injected failure (STORE_PG_FAULT_*), tests only */
    cirrus_buf cols[PG_USAGE_COLS]; /* the batch's array parameters, kept between batches */
} pg_store;

/* Parameters of one statement, as text (binary for bytea). Numbers are formatted into num[]. */
typedef struct {
    int n;
    const char *v[PG_MAX_PARAMS];
    int len[PG_MAX_PARAMS], fmt[PG_MAX_PARAMS];
    char num[PG_MAX_PARAMS][24];
} pg_params;

void pg_p_i64(pg_params *p, int64_t x);
void pg_p_text(pg_params *p, const char *s);
void pg_p_bytes(pg_params *p, const void *b, int n);
void pg_p_null(pg_params *p);

int64_t pg_i64(const PGresult *r, int row, int col);
void pg_text(const PGresult *r, int row, int col, char *dst, size_t cap);

/* Makes the connection usable: reconnects when it dropped (then re-takes the owner lock, if this
 * handle held it, and resolves nothing else). IO when the server cannot be reached. */
cirrus_status pg_ready(pg_store *q, cirrus_err *err);
/* True when the connection is gone (the server closed it, or the network did). */
bool pg_lost(pg_store *q);
/* Prepares sql once on this connection; *name receives its statement name. */
cirrus_status pg_prepare(pg_store *q, const char *sql, const char **name, cirrus_err *err);

/* Runs one statement. OK: *res (TUPLES_OK or COMMAND_OK) is the caller's to PQclear. A failed
 * integrity check (SQLSTATE class 23: unique, foreign key, check, our triggers) is INVALID with
 * constraint_msg when one is given; anything else is IO naming `what`. Outside a transaction, a
 * statement that found the connection dropped is sent once more on a new one: so a statement run
 * outside pg_begin must be a read or idempotent (an upsert, ON CONFLICT DO NOTHING), since the
 * first try may have been applied before the connection went. */
cirrus_status pg_exec(pg_store *q, const char *sql, const pg_params *p, PGresult **res, const char *what,
                      const char *constraint_msg, cirrus_err *err);
/* pg_exec without a result: *changed (may be NULL) gets the rows the statement touched. */
cirrus_status pg_run(pg_store *q, const char *sql, const pg_params *p, int64_t *changed, const char *what,
                     const char *constraint_msg, cirrus_err *err);
/* Streams a SELECT's rows (single-row mode: memory stays flat for any result size) to fn, which
 * returns non-zero to stop early. fn runs under the handle's lock. */
typedef int (*pg_row_fn)(const PGresult *r, void *cb, void *ud);
cirrus_status pg_each(pg_store *q, const char *sql, const pg_params *p, pg_row_fn fn, void *cb, void *ud,
                      const char *what, cirrus_err *err);

/* A write transaction: BEGIN (retried once on a new connection if the old one had dropped) and
 * its xid; then pg_commit, which bumps config_gen first when bump is set (S3). On an error the
 * transaction is rolled back (pg_commit does it itself). */
cirrus_status pg_begin(pg_store *q, cirrus_err *err);
cirrus_status pg_commit(pg_store *q, bool bump, cirrus_err *err);
void pg_rollback(pg_store *q);
/* After the connection dropped with a commit in flight: reconnects and asks the server what
 * became of transaction xid. *state: 1 committed, 0 aborted (or never reached the server), -1 not
 * known yet (the server cannot be reached, or the old session is still finishing). */
cirrus_status pg_resolve(pg_store *q, uint64_t xid, int *state, cirrus_err *err);
/* Formats "what: the server's message (database LOCATION)" into err and returns st. */
cirrus_status pg_fail(pg_store *q, cirrus_err *err, cirrus_status st, const char *what, const char *msg);
/* Takes the injected fault bit `which` if it is set (each is one shot). */
bool pg_fault_take(pg_store *q, int which);

/* store_pg_control.c: the control-plane tables */
cirrus_status pgc_tenant_insert(store *s, store_tenant *t, cirrus_err *err);
cirrus_status pgc_tenant_get(store *s, const char *name, int64_t id, store_tenant *out, cirrus_err *err);
cirrus_status pgc_tenant_set_suspended(store *s, int64_t id, bool suspended, cirrus_err *err);
cirrus_status pgc_tenant_list(store *s, store_tenant_cb cb, void *ud, cirrus_err *err);
cirrus_status pgc_key_insert(store *s, store_key *k, cirrus_err *err);
cirrus_status pgc_key_revoke(store *s, const char *prefix, int64_t at, cirrus_err *err);
cirrus_status pgc_key_list(store *s, int64_t tenant_id, store_key_cb cb, void *ud, cirrus_err *err);
cirrus_status pgc_price_insert(store *s, store_price *p, cirrus_err *err);
cirrus_status pgc_price_list(store *s, store_price_cb cb, void *ud, cirrus_err *err);
cirrus_status pgc_plan_insert(store *s, store_plan *p, cirrus_err *err);
cirrus_status pgc_plan_list(store *s, int64_t tenant_id, store_plan_cb cb, void *ud, cirrus_err *err);
cirrus_status pgc_credit_insert(store *s, store_credit *c, cirrus_err *err);
cirrus_status pgc_credit_list(store *s, int64_t tenant_id, const char *month, store_credit_cb cb, void *ud,
                              cirrus_err *err);
cirrus_status pgc_invoice_get(store *s, int64_t tenant_id, const char *month, store_invoice *out, cirrus_err *err);
cirrus_status pgc_invoice_insert(store *s, store_invoice *inv, bool *inserted, cirrus_err *err);
cirrus_status pgc_invoice_list(store *s, int64_t tenant_id, store_invoice_cb cb, void *ud, cirrus_err *err);

/* store_pg_usage.c: the ledger's table */
cirrus_status pgu_write_batch(store *s, const store_usage_write *w, size_t n, size_t *skipped, cirrus_err *err);
cirrus_status pgu_max_id(store *s, int64_t *out, cirrus_err *err);
cirrus_status pgu_list(store *s, bool open_only, int64_t id, int64_t tenant_id, int64_t from_us, int64_t to_us,
                       store_usage_cb cb, void *ud, cirrus_err *err);
cirrus_status pgu_sum_by(store *s, int64_t tenant_id, int64_t from_us, int64_t to_us, int by, store_sum_cb cb,
                         void *ud, cirrus_err *err);

#endif
