/*
 * The control-plane tables on PostgreSQL: tenants, keys, prices, plans, credits, invoices. Same
 * semantics as store_sqlite.c's, statement for statement (tests/unit/test_store.c holds both to
 * it): a write is one transaction that bumps config_gen before it commits (S3), an integrity
 * failure is INVALID with the same words, rows come back in the same order.
 *
 * The shape of an operation: a pg_params with every value, pg_exec/pg_run/pg_each under the
 * handle's lock, a row reader that fills the record. Nothing from a caller is spliced into SQL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store_pg.h"

#define LOCK(q) pthread_mutex_lock(&(q)->mu)
#define UNLOCK(q) pthread_mutex_unlock(&(q)->mu)

static int64_t now_s(void) { return (int64_t)time(NULL); }

/* A control-plane write: BEGIN, one statement returning the new id (or counting what it
 * touched), the config_gen bump (S3), COMMIT. Caller holds the lock. */
static cirrus_status write1(pg_store *q, const char *sql, const pg_params *p, int64_t *id, int64_t *changed,
                            const char *what, const char *constraint_msg, cirrus_err *err) {
    cirrus_status st = pg_begin(q, err);
    if (st) return st;
    PGresult *r = NULL;
    st = pg_exec(q, sql, p, &r, what, constraint_msg, err);
    if (!st) {
        if (id && PQntuples(r) == 1) *id = pg_i64(r, 0, 0);
        if (changed) *changed = strtoll(PQcmdTuples(r), NULL, 10);
        PQclear(r);
    }
    if (!st && changed && *changed == 0) st = CIRRUS_ERR_NOT_FOUND; /* the caller words it; nothing to commit */
    if (st) {
        pg_rollback(q);
        return st;
    }
    return pg_commit(q, true, err);
}

/* ---- tenants ------------------------------------------------------------------------------ */

#define TENANT_COLS "id, name, industry, region, metadata, status, created_at"

static void row_tenant(const PGresult *r, int i, store_tenant *t) {
    memset(t, 0, sizeof *t);
    t->id = pg_i64(r, i, 0);
    pg_text(r, i, 1, t->name, sizeof t->name);
    pg_text(r, i, 2, t->industry, sizeof t->industry);
    pg_text(r, i, 3, t->region, sizeof t->region);
    pg_text(r, i, 4, t->metadata, sizeof t->metadata);
    t->suspended = !strcmp(PQgetvalue(r, i, 5), "suspended");
    t->created_at = pg_i64(r, i, 6);
}

cirrus_status pgc_tenant_insert(store *s, store_tenant *t, cirrus_err *err) {
    pg_store *q = (pg_store *)s;
    char msg[128];
    snprintf(msg, sizeof msg, "tenant '%s' already exists", t->name);
    if (!t->created_at) t->created_at = now_s();
    pg_params p = {0};
    pg_p_text(&p, t->name);
    pg_p_text(&p, t->industry);
    pg_p_text(&p, t->region);
    pg_p_text(&p, t->metadata);
    pg_p_text(&p, t->suspended ? "suspended" : "active");
    pg_p_i64(&p, t->created_at);
    LOCK(q);
    cirrus_status st = write1(q, "INSERT INTO tenants(name, industry, region, metadata, status, created_at)"
                                 " VALUES($1, $2, $3, $4, $5, $6) RETURNING id",
                              &p, &t->id, NULL, "store: adding a tenant", msg, err);
    UNLOCK(q);
    return st;
}

cirrus_status pgc_tenant_get(store *s, const char *name, int64_t id, store_tenant *out, cirrus_err *err) {
    pg_store *q = (pg_store *)s;
    pg_params p = {0};
    if (name) pg_p_text(&p, name);
    else pg_p_i64(&p, id);
    PGresult *r;
    LOCK(q);
    cirrus_status st = pg_exec(q, name ? "SELECT " TENANT_COLS " FROM tenants WHERE name = $1"
                                       : "SELECT " TENANT_COLS " FROM tenants WHERE id = $1",
                               &p, &r, "store: reading tenant", NULL, err);
    if (!st) {
        if (PQntuples(r) == 1) row_tenant(r, 0, out);
        else if (name) st = cirrus_errf(err, CIRRUS_ERR_NOT_FOUND, "no tenant named '%s'", name);
        else st = cirrus_errf(err, CIRRUS_ERR_NOT_FOUND, "no tenant with id %lld", (long long)id);
        PQclear(r);
    }
    UNLOCK(q);
    return st;
}

cirrus_status pgc_tenant_set_suspended(store *s, int64_t id, bool suspended, cirrus_err *err) {
    pg_store *q = (pg_store *)s;
    pg_params p = {0};
    pg_p_text(&p, suspended ? "suspended" : "active");
    pg_p_i64(&p, id);
    int64_t n = 0;
    LOCK(q);
    cirrus_status st = write1(q, "UPDATE tenants SET status = $1 WHERE id = $2", &p, NULL, &n, "store: changing a tenant", NULL, err);
    UNLOCK(q);
    if (st == CIRRUS_ERR_NOT_FOUND) return cirrus_errf(err, st, "no tenant with id %lld", (long long)id);
    return st;
}

static int tenant_row(const PGresult *r, void *cb, void *ud) {
    store_tenant t;
    row_tenant(r, 0, &t);
    return ((store_tenant_cb)cb)(ud, &t);
}

cirrus_status pgc_tenant_list(store *s, store_tenant_cb cb, void *ud, cirrus_err *err) {
    pg_store *q = (pg_store *)s;
    LOCK(q);
    cirrus_status st = pg_each(q, "SELECT " TENANT_COLS " FROM tenants ORDER BY name", NULL, tenant_row, (void *)cb, ud,
                               "store: listing tenants", err);
    UNLOCK(q);
    return st;
}

/* ---- keys --------------------------------------------------------------------------------- */

cirrus_status pgc_key_insert(store *s, store_key *k, cirrus_err *err) {
    pg_store *q = (pg_store *)s;
    if (!k->created_at) k->created_at = now_s();
    pg_params p = {0};
    pg_p_i64(&p, k->tenant_id);
    pg_p_text(&p, k->prefix);
    pg_p_bytes(&p, k->hash, STORE_HASH_LEN);
    pg_p_text(&p, k->scope == STORE_SCOPE_ADMIN ? "admin" : "inference");
    pg_p_i64(&p, k->created_at);
    pg_p_i64(&p, k->expires_at);
    pg_p_i64(&p, k->revoked_at);
    LOCK(q);
    cirrus_status st = write1(q, "INSERT INTO api_keys(tenant_id, prefix, hash, scope, created_at, expires_at, revoked_at)"
                                 " VALUES($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                              &p, &k->id, NULL, "store: adding a key", "key prefix collision or unknown tenant", err);
    UNLOCK(q);
    return st;
}

cirrus_status pgc_key_revoke(store *s, const char *prefix, int64_t at, cirrus_err *err) {
    pg_store *q = (pg_store *)s;
    pg_params p = {0};
    pg_p_i64(&p, at);
    pg_p_text(&p, prefix);
    int64_t n = 0;
    LOCK(q);
    /* revoking twice keeps the first time: the audit trail says when it stopped working */
    cirrus_status st = write1(q, "UPDATE api_keys SET revoked_at = CASE WHEN revoked_at = 0 THEN $1 ELSE revoked_at END WHERE prefix = $2",
                              &p, NULL, &n, "store: revoking a key", NULL, err);
    UNLOCK(q);
    if (st == CIRRUS_ERR_NOT_FOUND) return cirrus_errf(err, st, "no key with prefix '%s'", prefix);
    return st;
}

static int hexval(char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1; }

static int key_row(const PGresult *r, void *cb, void *ud) {
    store_key k;
    memset(&k, 0, sizeof k);
    k.id = pg_i64(r, 0, 0);
    k.tenant_id = pg_i64(r, 0, 1);
    pg_text(r, 0, 2, k.prefix, sizeof k.prefix);
    const char *h = PQgetvalue(r, 0, 3); /* bytea in text form: \x + hex */
    if (PQgetlength(r, 0, 3) == 2 + 2 * STORE_HASH_LEN && h[0] == '\\' && h[1] == 'x')
        for (int i = 0; i < STORE_HASH_LEN; i++) {
            int a = hexval(h[2 + 2 * i]), b = hexval(h[3 + 2 * i]);
            if (a < 0 || b < 0) {
                memset(k.hash, 0, sizeof k.hash); /* matches no key, as a short blob does on SQLite */
                break;
            }
            k.hash[i] = (unsigned char)(a << 4 | b);
        }
    k.scope = !strcmp(PQgetvalue(r, 0, 4), "admin") ? STORE_SCOPE_ADMIN : STORE_SCOPE_INFERENCE;
    k.created_at = pg_i64(r, 0, 5);
    k.expires_at = pg_i64(r, 0, 6);
    k.revoked_at = pg_i64(r, 0, 7);
    return ((store_key_cb)cb)(ud, &k);
}

cirrus_status pgc_key_list(store *s, int64_t tenant_id, store_key_cb cb, void *ud, cirrus_err *err) {
    pg_store *q = (pg_store *)s;
    pg_params p = {0};
    if (tenant_id) pg_p_i64(&p, tenant_id);
#define KEY_SELECT "SELECT id, tenant_id, prefix, hash, scope, created_at, expires_at, revoked_at FROM api_keys"
    LOCK(q);
    cirrus_status st = pg_each(q, tenant_id ? KEY_SELECT " WHERE tenant_id = $1 ORDER BY id" : KEY_SELECT " ORDER BY id", &p,
                               key_row, (void *)cb, ud, "store: listing keys", err);
    UNLOCK(q);
    return st;
}

/* ---- prices ------------------------------------------------------------------------------- */

cirrus_status pgc_price_insert(store *s, store_price *p, cirrus_err *err) {
    pg_store *q = (pg_store *)s;
    char msg[STORE_MODEL_MAX + 96];
    snprintf(msg, sizeof msg, "model '%s' already has a price from that date (prices are versions: add a later one)", p->model);
    pg_params a = {0};
    pg_p_text(&a, p->model);
    pg_p_i64(&a, p->effective_from);
    pg_p_i64(&a, p->input);
    pg_p_i64(&a, p->cached_input);
    pg_p_i64(&a, p->output);
    pg_p_i64(&a, now_s());
    LOCK(q);
    cirrus_status st = write1(q, "INSERT INTO prices(model, effective_from, input, cached_input, output, created_at)"
                                 " VALUES($1, $2, $3, $4, $5, $6) RETURNING id",
                              &a, &p->id, NULL, "store: adding a price", msg, err);
    UNLOCK(q);
    return st;
}

static int price_row(const PGresult *r, void *cb, void *ud) {
    store_price p;
    memset(&p, 0, sizeof p);
    p.id = pg_i64(r, 0, 0);
    pg_text(r, 0, 1, p.model, sizeof p.model);
    p.effective_from = pg_i64(r, 0, 2);
    p.input = pg_i64(r, 0, 3);
    p.cached_input = pg_i64(r, 0, 4);
    p.output = pg_i64(r, 0, 5);
    return ((store_price_cb)cb)(ud, &p);
}

cirrus_status pgc_price_list(store *s, store_price_cb cb, void *ud, cirrus_err *err) {
    pg_store *q = (pg_store *)s;
    LOCK(q);
    cirrus_status st = pg_each(q, "SELECT id, model, effective_from, input, cached_input, output FROM prices ORDER BY model, effective_from",
                               NULL, price_row, (void *)cb, ud, "store: listing prices", err);
    UNLOCK(q);
    return st;
}

/* ---- plans -------------------------------------------------------------------------------- */

static const char *const k_plan_kind[] = {"payg", "committed", "reserved"};

/* A plan for a (tenant, date) that has one replaces it, as SQLite's INSERT OR REPLACE does: the
 * old row goes and a new one (with a new id) comes, in one transaction. */
cirrus_status pgc_plan_insert(store *s, store_plan *p, cirrus_err *err) {
    pg_store *q = (pg_store *)s;
    pg_params a = {0};
    pg_p_i64(&a, p->tenant_id);
    pg_p_i64(&a, p->effective_from);
    pg_p_text(&a, k_plan_kind[p->kind]);
    int64_t n[] = {p->fee, p->commit_min, p->discount_bp, p->reserved_tpm, p->priority, p->rpm, p->tpm,
                   p->max_concurrent, p->max_tokens, p->budget_hard, p->budget_soft};
    for (int i = 0; i < 11; i++) pg_p_i64(&a, n[i]);
    pg_p_text(&a, p->models);
    pg_p_i64(&a, now_s());
    pg_p_i64(&a, p->no_watermark ? 1 : 0);
    pg_p_i64(&a, p->top_logprobs_cap);
    pg_params del = {0};
    pg_p_i64(&del, p->tenant_id);
    pg_p_i64(&del, p->effective_from);
    LOCK(q);
    cirrus_status st = pg_begin(q, err);
    if (!st) st = pg_run(q, "DELETE FROM plans WHERE tenant_id = $1 AND effective_from = $2", &del, NULL, "store: replacing a plan",
                         NULL, err);
    PGresult *r = NULL;
    if (!st)
        st = pg_exec(q, "INSERT INTO plans(tenant_id, effective_from, kind, fee, commit_min, discount_bp, reserved_tpm, priority,"
                        " rpm, tpm, max_concurrent, max_tokens, budget_hard, budget_soft, models, created_at, no_watermark,"
                        " top_logprobs_cap) VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)"
                        " RETURNING id",
                     &a, &r, "store: adding a plan", "plan for an unknown tenant", err);
    if (!st) {
        p->id = pg_i64(r, 0, 0);
        PQclear(r);
        st = pg_commit(q, true, err);
    } else {
        pg_rollback(q);
    }
    UNLOCK(q);
    return st;
}

static int plan_row(const PGresult *r, void *cb, void *ud) {
    store_plan p;
    memset(&p, 0, sizeof p);
    p.id = pg_i64(r, 0, 0);
    p.tenant_id = pg_i64(r, 0, 1);
    p.effective_from = pg_i64(r, 0, 2);
    const char *kind = PQgetvalue(r, 0, 3);
    for (int i = 0; i < 3; i++)
        if (!strcmp(kind, k_plan_kind[i])) p.kind = (store_plan_kind)i;
    int64_t *n[] = {&p.fee, &p.commit_min, &p.discount_bp, &p.reserved_tpm, &p.priority, &p.rpm, &p.tpm,
                    &p.max_concurrent, &p.max_tokens, &p.budget_hard, &p.budget_soft};
    for (int i = 0; i < 11; i++) *n[i] = pg_i64(r, 0, 4 + i);
    pg_text(r, 0, 15, p.models, sizeof p.models);
    p.no_watermark = pg_i64(r, 0, 16);
    p.top_logprobs_cap = pg_i64(r, 0, 17);
    return ((store_plan_cb)cb)(ud, &p);
}

cirrus_status pgc_plan_list(store *s, int64_t tenant_id, store_plan_cb cb, void *ud, cirrus_err *err) {
    pg_store *q = (pg_store *)s;
    pg_params p = {0};
    if (tenant_id) pg_p_i64(&p, tenant_id);
#define PLAN_SELECT "SELECT id, tenant_id, effective_from, kind, fee, commit_min, discount_bp, reserved_tpm, priority, rpm, tpm," \
                    " max_concurrent, max_tokens, budget_hard, budget_soft, models, no_watermark, top_logprobs_cap FROM plans"
    LOCK(q);
    cirrus_status st = pg_each(q, tenant_id ? PLAN_SELECT " WHERE tenant_id = $1 ORDER BY effective_from, id"
                                            : PLAN_SELECT " ORDER BY tenant_id, effective_from, id",
                               &p, plan_row, (void *)cb, ud, "store: listing plans", err);
    UNLOCK(q);
    return st;
}

/* ---- credits ------------------------------------------------------------------------------ */

cirrus_status pgc_credit_insert(store *s, store_credit *c, cirrus_err *err) {
    pg_store *q = (pg_store *)s;
    if (!c->created_at) c->created_at = now_s();
    pg_params p = {0};
    pg_p_i64(&p, c->tenant_id);
    pg_p_text(&p, c->month);
    pg_p_i64(&p, c->amount);
    pg_p_text(&p, c->memo);
    pg_p_i64(&p, c->created_at);
    LOCK(q);
    cirrus_status st = write1(q, "INSERT INTO credits(tenant_id, month, amount, memo, created_at) VALUES($1, $2, $3, $4, $5) RETURNING id",
                              &p, &c->id, NULL, "store: adding a credit", "credit for an unknown tenant", err);
    UNLOCK(q);
    return st;
}

static int credit_row(const PGresult *r, void *cb, void *ud) {
    store_credit c;
    memset(&c, 0, sizeof c);
    c.id = pg_i64(r, 0, 0);
    c.tenant_id = pg_i64(r, 0, 1);
    pg_text(r, 0, 2, c.month, sizeof c.month);
    c.amount = pg_i64(r, 0, 3);
    pg_text(r, 0, 4, c.memo, sizeof c.memo);
    c.created_at = pg_i64(r, 0, 5);
    return ((store_credit_cb)cb)(ud, &c);
}

cirrus_status pgc_credit_list(store *s, int64_t tenant_id, const char *month, store_credit_cb cb, void *ud,
                              cirrus_err *err) {
    pg_store *q = (pg_store *)s;
    pg_params p = {0};
    pg_p_i64(&p, tenant_id);
    pg_p_text(&p, month);
    LOCK(q);
    cirrus_status st = pg_each(q, "SELECT id, tenant_id, month, amount, memo, created_at FROM credits"
                                  " WHERE tenant_id = $1 AND month = $2 ORDER BY id",
                               &p, credit_row, (void *)cb, ud, "store: listing credits", err);
    UNLOCK(q);
    return st;
}

/* ---- invoices ----------------------------------------------------------------------------- */

cirrus_status pgc_invoice_get(store *s, int64_t tenant_id, const char *month, store_invoice *out, cirrus_err *err) {
    pg_store *q = (pg_store *)s;
    memset(out, 0, sizeof *out);
    pg_params p = {0};
    pg_p_i64(&p, tenant_id);
    pg_p_text(&p, month);
    PGresult *r;
    LOCK(q);
    cirrus_status st = pg_exec(q, "SELECT id, tenant_id, month, total, closed_at, body FROM invoices WHERE tenant_id = $1 AND month = $2",
                               &p, &r, "store: reading invoice", NULL, err);
    if (!st) {
        if (PQntuples(r) == 1) {
            out->id = pg_i64(r, 0, 0);
            out->tenant_id = pg_i64(r, 0, 1);
            pg_text(r, 0, 2, out->month, sizeof out->month);
            out->total = pg_i64(r, 0, 3);
            out->closed_at = pg_i64(r, 0, 4);
            if (!(out->body = strdup(PQgetvalue(r, 0, 5)))) st = cirrus_errf(err, CIRRUS_ERR_NOMEM, "store: out of memory");
        } else {
            st = cirrus_errf(err, CIRRUS_ERR_NOT_FOUND, "no closed invoice for %s", month);
        }
        PQclear(r);
    }
    UNLOCK(q);
    return st;
}

cirrus_status pgc_invoice_insert(store *s, store_invoice *inv, bool *inserted, cirrus_err *err) {
    pg_store *q = (pg_store *)s;
    pg_params p = {0};
    pg_p_i64(&p, inv->tenant_id);
    pg_p_text(&p, inv->month);
    pg_p_i64(&p, inv->total);
    pg_p_text(&p, inv->body);
    pg_p_i64(&p, inv->closed_at);
    PGresult *r;
    LOCK(q);
    /* ON CONFLICT DO NOTHING + UNIQUE(tenant, month): of two racing closes exactly one writes (S2).
     * One statement, so no transaction of our own: autocommit is durable (synchronous_commit). */
    cirrus_status st = pg_exec(q, "INSERT INTO invoices(tenant_id, month, total, body, closed_at) VALUES($1, $2, $3, $4, $5)"
                                  " ON CONFLICT (tenant_id, month) DO NOTHING RETURNING id",
                               &p, &r, "store: closing an invoice", "invoice for an unknown tenant", err);
    if (!st) {
        *inserted = PQntuples(r) == 1;
        if (*inserted) inv->id = pg_i64(r, 0, 0);
        PQclear(r);
    }
    UNLOCK(q);
    return st;
}

static int invoice_row(const PGresult *r, void *cb, void *ud) {
    store_invoice inv;
    memset(&inv, 0, sizeof inv);
    inv.id = pg_i64(r, 0, 0);
    inv.tenant_id = pg_i64(r, 0, 1);
    pg_text(r, 0, 2, inv.month, sizeof inv.month);
    inv.total = pg_i64(r, 0, 3);
    inv.closed_at = pg_i64(r, 0, 4);
    return ((store_invoice_cb)cb)(ud, &inv);
}

cirrus_status pgc_invoice_list(store *s, int64_t tenant_id, store_invoice_cb cb, void *ud, cirrus_err *err) {
    pg_store *q = (pg_store *)s;
    pg_params p = {0};
    if (tenant_id) pg_p_i64(&p, tenant_id);
    LOCK(q);
    cirrus_status st = pg_each(q, tenant_id ? "SELECT id, tenant_id, month, total, closed_at FROM invoices WHERE tenant_id = $1 ORDER BY month"
                                            : "SELECT id, tenant_id, month, total, closed_at FROM invoices ORDER BY month, tenant_id",
                               &p, invoice_row, (void *)cb, ud, "store: listing invoices", err);
    UNLOCK(q);
    return st;
}
