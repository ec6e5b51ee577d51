/*
 * The backend interface behind store.h. A backend fills a store_ops table and embeds `struct store`
 * as the first member of its handle; store.c dispatches every public call through the table and
 * adds what is the same for every backend (argument checks, change notification, messages).
 * Two backends: SQLite (store_sqlite*.c) and PostgreSQL (store_pg*.c); same records, same
 * invariants (S1-S4 in store.h), and tests/unit/test_store.c runs one suite against both.
 *
 * ADDING AN OPERATION: declare it in store.h, add a slot here, a dispatching function in store.c,
 * and one implementation per backend (a prepared statement and a row reader: see how
 * store_pg_control.c does tenants), then a case in test_store.c, which runs it on both. A schema
 * change is a new migration appended to BOTH backends' lists with the same version number.
 */
#ifndef CIRRUS_STORE_IMPL_H
#define CIRRUS_STORE_IMPL_H

#include "store/store.h"

typedef struct {
    const char *name;
    cirrus_status (*reopen)(store *s, store **out, cirrus_err *err);
    void (*close)(store *s);
    int (*schema_version)(store *s);
    cirrus_status (*meta_get)(store *s, const char *key, char *buf, size_t cap, cirrus_err *err);
    cirrus_status (*meta_set)(store *s, const char *key, const char *value, bool only_if_absent, bool *inserted,
                              cirrus_err *err);
    cirrus_status (*config_gen)(store *s, int64_t *gen, cirrus_err *err);
    /* OK, or INVALID with *holder filled (store.c words the message) */
    cirrus_status (*owner_claim)(store *s, store_owner *holder, cirrus_err *err);
    cirrus_status (*tenant_insert)(store *s, store_tenant *t, cirrus_err *err);
    cirrus_status (*tenant_get)(store *s, const char *name, int64_t id, store_tenant *out, cirrus_err *err);
    cirrus_status (*tenant_set_suspended)(store *s, int64_t id, bool suspended, cirrus_err *err);
    cirrus_status (*tenant_list)(store *s, store_tenant_cb cb, void *ud, cirrus_err *err);
    cirrus_status (*key_insert)(store *s, store_key *k, cirrus_err *err);
    cirrus_status (*key_revoke)(store *s, const char *prefix, int64_t at, cirrus_err *err);
    cirrus_status (*key_list)(store *s, int64_t tenant_id, store_key_cb cb, void *ud, cirrus_err *err);
    cirrus_status (*price_insert)(store *s, store_price *p, cirrus_err *err);
    cirrus_status (*price_list)(store *s, store_price_cb cb, void *ud, cirrus_err *err);
    cirrus_status (*plan_insert)(store *s, store_plan *p, cirrus_err *err);
    cirrus_status (*plan_list)(store *s, int64_t tenant_id, store_plan_cb cb, void *ud, cirrus_err *err);
    cirrus_status (*credit_insert)(store *s, store_credit *c, cirrus_err *err);
    cirrus_status (*credit_list)(store *s, int64_t tenant_id, const char *month, store_credit_cb cb, void *ud,
                                 cirrus_err *err);
    cirrus_status (*usage_write_batch)(store *s, const store_usage_write *w, size_t n, size_t *skipped,
                                       cirrus_err *err);
    cirrus_status (*usage_max_id)(store *s, int64_t *out, cirrus_err *err);
    cirrus_status (*usage_list)(store *s, bool open_only, int64_t id, int64_t tenant_id, int64_t from_us,
                                int64_t to_us, store_usage_cb cb, void *ud, cirrus_err *err);
    cirrus_status (*usage_sum_by)(store *s, int64_t tenant_id, int64_t from_us, int64_t to_us, int by,
                                  store_sum_cb cb, void *ud, cirrus_err *err);
    cirrus_status (*invoice_get)(store *s, int64_t tenant_id, const char *month, store_invoice *out,
                                 cirrus_err *err);
    cirrus_status (*invoice_insert)(store *s, store_invoice *inv, bool *inserted, cirrus_err *err);
    cirrus_status (*invoice_list)(store *s, int64_t tenant_id, store_invoice_cb cb, void *ud, cirrus_err *err);
} store_ops;

struct store {
    const store_ops *ops;
    char location[1024];            /* as given, any password masked (store_location) */
    void (*on_change)(void *ud);
    void *on_change_ud;
};

/* store_sqlite.c */
cirrus_status store_sqlite_open(const char *path, store **out, cirrus_err *err);
/* store_pg.c: uri is the full libpq URI (with its password, if any) */
cirrus_status store_pg_open(const char *uri, store **out, cirrus_err *err);

/* Fault injection for tests of the PostgreSQL backend (no effect on other backends): a set of
 * bits, each one shot. COMMIT_REPLY: the next commit is applied but its reply is lost with the
 * connection; OFFLINE: the next attempt to ask the server what became of a commit finds it
 * unreachable; DROP_IN_TX: the connection drops right after the next BEGIN. */
enum { STORE_PG_FAULT_COMMIT_REPLY = 1, STORE_PG_FAULT_OFFLINE = 2, STORE_PG_FAULT_DROP_IN_TX = 4 };
void store_pg_fault(store *s, int fault);

/* store.c: what store_usage_sum_by groups by, as SQL both dialects share (only fixed fragments:
 * no caller text): key[] the four key columns in store_usage_sum's order, a constant for each one
 * not grouped by; group_order " GROUP BY 1, 3 ORDER BY 1, 3" (empty when by is 0). */
void store_sum_keys(int by, const char *key[4], char *group_order, size_t cap);

/* store.c: a location safe to print (passwords in a URI masked) */
void store_mask_location(const char *in, char *out, size_t cap);
/* store.c: this process as an owner (pid, host name, now) */
void store_owner_self(store_owner *o);
/* "pid 123 on host h since 2025-01-02T03:04:05Z" (parts that are unknown left out) */
void store_owner_describe(const store_owner *o, char *buf, size_t cap);
/* The owner line a backend keeps for others to read, and its parser (false: malformed). */
void store_owner_format(const store_owner *o, char *buf, size_t cap);
bool store_owner_parse(const char *line, store_owner *o);

#endif
