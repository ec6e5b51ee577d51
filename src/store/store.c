/*
 * The public store API: checks that hold for every backend, then a call through the backend's
 * store_ops. Control-plane writes that succeed call the handle's change hook (S3 in store.h).
 */
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "store/store_impl.h"

const char *store_usage_status_str(int status) {
    switch (status) {
    case STORE_USAGE_OK: return "ok";
    case STORE_USAGE_LENGTH: return "length";
    case STORE_USAGE_CANCELLED: return "cancelled";
    case STORE_USAGE_ERROR: return "error";
    }
    return "unknown";
}

bool store_location_is_url(const char *location) {
    return location && (!strncmp(location, "postgres://", 11) || !strncmp(location, "postgresql://", 13));
}

cirrus_status store_open(const char *location, store **out, cirrus_err *err) {
    *out = NULL;
    if (!location || !*location) return cirrus_errf(err, CIRRUS_ERR_INVALID, "store: no database location given (--db PATH or URI)");
    if (strlen(location) >= sizeof((store *)0)->location)
        return cirrus_errf(err, CIRRUS_ERR_INVALID, "store: database location is longer than %zu bytes",
                           sizeof((store *)0)->location - 1);
    if (store_location_is_url(location)) return store_pg_open(location, out, err);
    return store_sqlite_open(location, out, err);
}

cirrus_status store_reopen(store *s, store **out, cirrus_err *err) { return s->ops->reopen(s, out, err); }

void store_close(store *s) {
    if (s) s->ops->close(s);
}

const char *store_location(const store *s) { return s->location; }
const char *store_backend(const store *s) { return s->ops->name; }
int store_schema_version(store *s) { return s->ops->schema_version(s); }

static int hex_digit(int c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* A query parameter's name, percent-decoded as libpq decodes it ("pass%77ord" is "password"). */
static bool param_is_password(const char *p, size_t n) {
    static const char want[] = "password";
    size_t k = 0;
    for (size_t i = 0; i < n; i++, k++) {
        int c = (unsigned char)p[i];
        if (c == '%' && i + 2 < n && hex_digit(p[i + 1]) >= 0 && hex_digit(p[i + 2]) >= 0) {
            c = hex_digit(p[i + 1]) << 4 | hex_digit(p[i + 2]);
            i += 2;
        }
        if (c == 0) return k == sizeof want - 1; /* a decoded NUL ends the name, as in C */
        if (k >= sizeof want - 1 || c != want[k]) return false;
    }
    return k == sizeof want - 1;
}

/* scheme://user:SECRET@host/db?password=SECRET&... -> the secrets as "***". The authority ends
 * where libpq's parser ends it (the first '@' before any '/'). Everything else is kept, so the
 * masked form still says which server and database it was. */
void store_mask_location(const char *in, char *out, size_t cap) {
    snprintf(out, cap, "%s", in);
    if (!store_location_is_url(out)) return;
    char tmp[2048];
    char *auth = strstr(out, "://") + 3;
    char *end = auth + strcspn(auth, "/");
    char *at = memchr(auth, '@', (size_t)(end - auth));
    char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
    if (colon && at - colon > 1) {
        snprintf(tmp, sizeof tmp, "%.*s:***%s", (int)(colon - out), out, at);
        snprintf(out, cap, "%s", tmp);
    }
    for (char *q = strchr(out, '?'); q && *q; q += strcspn(q, "&")) {
        q++; /* past '?' or '&' */
        char *eq = q + strcspn(q, "=&");
        if (*eq != '=' || !param_is_password(q, (size_t)(eq - q))) continue;
        char *v = eq + 1, *ve = v + strcspn(v, "&");
        snprintf(tmp, sizeof tmp, "%.*s***%s", (int)(v - out), out, ve);
        snprintf(out, cap, "%s", tmp);
        q = v; /* continues at "***..." */
    }
}

/* ---- the grouping of a usage sum: the same SQL in both dialects ------------------------------ */

void store_sum_keys(int by, const char *key[4], char *group_order, size_t cap) {
    key[0] = by & STORE_BY_TENANT ? "tenant_id" : "0";
    key[1] = by & STORE_BY_MODEL ? "model" : "''";
    key[2] = by & STORE_BY_PRICE ? "price_id" : "0";
    key[3] = by & STORE_BY_DAY ? "t_admit / 86400000000" : "0";
    char cols[16] = "";
    for (int b = 0; b < 4; b++) {
        if (!(by & (1 << b))) continue;
        size_t n = strlen(cols);
        snprintf(cols + n, sizeof cols - n, "%s%d", n ? ", " : "", b + 1);
    }
    if (cols[0]) snprintf(group_order, cap, " GROUP BY %s ORDER BY %s", cols, cols);
    else if (cap) group_order[0] = 0;
}

/* ---- ownership (S4) ------------------------------------------------------------------------ */

void store_owner_self(store_owner *o) {
    memset(o, 0, sizeof *o);
    o->pid = (int64_t)getpid();
    if (gethostname(o->host, sizeof o->host - 1) != 0 || !o->host[0]) snprintf(o->host, sizeof o->host, "unknown");
    o->since = (int64_t)time(NULL);
    if (getrandom(&o->claim, sizeof o->claim, 0) != (ssize_t)sizeof o->claim) o->claim = cirrus_now_ns() ^ (uint64_t)o->pid << 40;
}

void store_owner_describe(const store_owner *o, char *buf, size_t cap) {
    char when[32] = "";
    if (o->since > 0) {
        time_t t = (time_t)o->since;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    if (!o->pid) snprintf(buf, cap, "a process that did not say who it is");
    else snprintf(buf, cap, "pid %lld on host %s%s%s", (long long)o->pid, o->host[0] ? o->host : "unknown",
                  when[0] ? " since " : "", when);
}

/* One line, no spaces inside values (host names have none): "pid=N host=H since=T claim=X". */
void store_owner_format(const store_owner *o, char *buf, size_t cap) {
    snprintf(buf, cap, "pid=%lld host=%s since=%lld claim=%016llx\n", (long long)o->pid, o->host[0] ? o->host : "unknown",
             (long long)o->since, (unsigned long long)o->claim);
}

bool store_owner_parse(const char *line, store_owner *o) {
    memset(o, 0, sizeof *o);
    long long pid = 0, since = 0;
    unsigned long long claim = 0;
    char host[STORE_HOST_MAX] = "";
    if (sscanf(line, "pid=%lld host=%255s since=%lld claim=%llx", &pid, host, &since, &claim) < 3 || pid <= 0) return false;
    for (const char *p = host; *p; p++) /* it ends up in messages: printable bytes only */
        if ((unsigned char)*p <= ' ' || *p == 0x7f) return false;
    o->pid = pid;
    o->claim = claim;
    snprintf(o->host, sizeof o->host, "%s", host);
    o->since = since;
    return true;
}

cirrus_status store_owner_claim(store *s, store_owner *holder, cirrus_err *err) {
    store_owner h;
    memset(&h, 0, sizeof h);
    cirrus_status st = s->ops->owner_claim(s, &h, err);
    if (holder) *holder = h;
    if (st != CIRRUS_ERR_INVALID) return st;
    char who[STORE_HOST_MAX + 96];
    store_owner_describe(&h, who, sizeof who);
    return cirrus_errf(err, CIRRUS_ERR_INVALID,
                       "store: database %s is owned by another running cirrus (%s), which records usage into it; "
                       "stop that one first (control-plane commands keep working meanwhile)",
                       s->location, who);
}

void store_on_change(store *s, void (*fn)(void *ud), void *ud) {
    s->on_change = fn;
    s->on_change_ud = ud;
}

static cirrus_status changed(store *s, cirrus_status st) {
    if (st == CIRRUS_OK && s->on_change) s->on_change(s->on_change_ud);
    return st;
}

/* ---- meta --------------------------------------------------------------------------------- */

cirrus_status store_meta_get(store *s, const char *key, char *buf, size_t cap, cirrus_err *err) {
    return s->ops->meta_get(s, key, buf, cap, err);
}
cirrus_status store_meta_set(store *s, const char *key, const char *value, cirrus_err *err) {
    return s->ops->meta_set(s, key, value, false, NULL, err);
}
cirrus_status store_meta_init(store *s, const char *key, const char *value, bool *inserted, cirrus_err *err) {
    return s->ops->meta_set(s, key, value, true, inserted, err);
}
cirrus_status store_config_gen(store *s, int64_t *gen, cirrus_err *err) { return s->ops->config_gen(s, gen, err); }

/* ---- tenants ------------------------------------------------------------------------------ */

cirrus_status store_tenant_insert(store *s, store_tenant *t, cirrus_err *err) {
    if (!t->name[0]) return cirrus_errf(err, CIRRUS_ERR_INVALID, "tenant: empty name");
    if (!t->metadata[0]) snprintf(t->metadata, sizeof t->metadata, "{}");
    return changed(s, s->ops->tenant_insert(s, t, err));
}
cirrus_status store_tenant_get(store *s, const char *name, store_tenant *out, cirrus_err *err) {
    return s->ops->tenant_get(s, name, 0, out, err);
}
cirrus_status store_tenant_get_id(store *s, int64_t id, store_tenant *out, cirrus_err *err) {
    return s->ops->tenant_get(s, NULL, id, out, err);
}
cirrus_status store_tenant_set_suspended(store *s, int64_t id, bool suspended, cirrus_err *err) {
    return changed(s, s->ops->tenant_set_suspended(s, id, suspended, err));
}
cirrus_status store_tenant_list(store *s, store_tenant_cb cb, void *ud, cirrus_err *err) {
    return s->ops->tenant_list(s, cb, ud, err);
}

/* ---- keys --------------------------------------------------------------------------------- */

cirrus_status store_key_insert(store *s, store_key *k, cirrus_err *err) {
    if (strlen(k->prefix) != STORE_PREFIX_LEN) return cirrus_errf(err, CIRRUS_ERR_INVALID, "key: prefix must be %d characters", STORE_PREFIX_LEN);
    if (k->scope != STORE_SCOPE_INFERENCE && k->scope != STORE_SCOPE_ADMIN)
        return cirrus_errf(err, CIRRUS_ERR_INVALID, "key: unknown scope %d", k->scope);
    return changed(s, s->ops->key_insert(s, k, err));
}
cirrus_status store_key_revoke(store *s, const char *prefix, int64_t at, cirrus_err *err) {
    return changed(s, s->ops->key_revoke(s, prefix, at, err));
}
cirrus_status store_key_list(store *s, int64_t tenant_id, store_key_cb cb, void *ud, cirrus_err *err) {
    return s->ops->key_list(s, tenant_id, cb, ud, err);
}

/* ---- prices, plans, credits ----------------------------------------------------------------- */

cirrus_status store_price_insert(store *s, store_price *p, cirrus_err *err) {
    if (!p->model[0]) return cirrus_errf(err, CIRRUS_ERR_INVALID, "price: empty model");
    if (p->input < 0 || p->cached_input < 0 || p->output < 0)
        return cirrus_errf(err, CIRRUS_ERR_INVALID, "price: prices must not be negative");
    return changed(s, s->ops->price_insert(s, p, err));
}
cirrus_status store_price_list(store *s, store_price_cb cb, void *ud, cirrus_err *err) {
    return s->ops->price_list(s, cb, ud, err);
}
cirrus_status store_plan_insert(store *s, store_plan *p, cirrus_err *err) {
    if (p->kind < STORE_PLAN_PAYG || p->kind > STORE_PLAN_RESERVED) return cirrus_errf(err, CIRRUS_ERR_INVALID, "plan: unknown kind");
    return changed(s, s->ops->plan_insert(s, p, err));
}
cirrus_status store_plan_list(store *s, int64_t tenant_id, store_plan_cb cb, void *ud, cirrus_err *err) {
    return s->ops->plan_list(s, tenant_id, cb, ud, err);
}
cirrus_status store_credit_insert(store *s, store_credit *c, cirrus_err *err) {
    if (c->amount <= 0) return cirrus_errf(err, CIRRUS_ERR_INVALID, "credit: amount must be positive");
    return changed(s, s->ops->credit_insert(s, c, err));
}
cirrus_status store_credit_list(store *s, int64_t tenant_id, const char *month, store_credit_cb cb, void *ud,
                                cirrus_err *err) {
    return s->ops->credit_list(s, tenant_id, month, cb, ud, err);
}

/* ---- usage -------------------------------------------------------------------------------- */

cirrus_status store_usage_write_batch(store *s, const store_usage_write *w, size_t n, size_t *skipped, cirrus_err *err) {
    size_t sk = 0;
    cirrus_status st = n ? s->ops->usage_write_batch(s, w, n, &sk, err) : CIRRUS_OK;
    if (skipped) *skipped = sk;
    return st;
}
cirrus_status store_usage_max_id(store *s, int64_t *out, cirrus_err *err) { return s->ops->usage_max_id(s, out, err); }
cirrus_status store_usage_list_open(store *s, store_usage_cb cb, void *ud, cirrus_err *err) {
    return s->ops->usage_list(s, true, 0, 0, 0, 0, cb, ud, err);
}
cirrus_status store_usage_list(store *s, int64_t tenant_id, int64_t from_us, int64_t to_us, store_usage_cb cb,
                               void *ud, cirrus_err *err) {
    return s->ops->usage_list(s, false, 0, tenant_id, from_us, to_us, cb, ud, err);
}

static int copy_one(void *ud, const store_usage *u) {
    *(store_usage *)ud = *u;
    return 1;
}
cirrus_status store_usage_get(store *s, int64_t id, store_usage *out, cirrus_err *err) {
    out->id = 0;
    cirrus_status st = s->ops->usage_list(s, false, id, 0, 0, 0, copy_one, out, err);
    if (st) return st;
    if (out->id != id) return cirrus_errf(err, CIRRUS_ERR_NOT_FOUND, "usage record %lld not found", (long long)id);
    return CIRRUS_OK;
}
cirrus_status store_usage_sum_by(store *s, int64_t tenant_id, int64_t from_us, int64_t to_us, int by,
                                 store_sum_cb cb, void *ud, cirrus_err *err) {
    return s->ops->usage_sum_by(s, tenant_id, from_us, to_us, by, cb, ud, err);
}

/* ---- invoices ----------------------------------------------------------------------------- */

cirrus_status store_invoice_get(store *s, int64_t tenant_id, const char *month, store_invoice *out, cirrus_err *err) {
    return s->ops->invoice_get(s, tenant_id, month, out, err);
}
cirrus_status store_invoice_insert(store *s, store_invoice *inv, bool *inserted, cirrus_err *err) {
    bool ins = false;
    cirrus_status st = s->ops->invoice_insert(s, inv, &ins, err);
    if (inserted) *inserted = ins;
    return st;
}
cirrus_status store_invoice_list(store *s, int64_t tenant_id, store_invoice_cb cb, void *ud, cirrus_err *err) {
    return s->ops->invoice_list(s, tenant_id, cb, ud, err);
}
