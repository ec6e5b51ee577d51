/*
 * The backend interface behind store.h. A backend fills a store_ops table and embeds `struct store`
 * as the first member of its handle; store.c dispatches every public call through the table and
 * adds what is the same for every backend (argument checks, change notification).
 * A PostgreSQL backend is a second store_ops: same records, same invariants (S1-S3 in store.h).
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
    char location[1024];
    void (*on_change)(void *ud);
    void *on_change_ud;
};

/* store_sqlite.c */
cirrus_status store_sqlite_open(const char *path, store **out, cirrus_err *err);

#endif
