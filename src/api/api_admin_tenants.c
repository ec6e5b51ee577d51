/*
 * Admin endpoints over tenancy, the store and billing: tenants, keys, usage and invoices. Runs on
 * the admin worker (api_admin.h). Every value from the request is validated by tenancy's own
 * administration functions, the same ones `cirrus tenant` / `cirrus key` use, so the console and
 * the CLI accept and refuse exactly the same things.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analytics/analytics.h"
#include "api/api_admin.h"
#include "billing/billing.h"

#define ADM_TENANTS_MAX 100000 /* a list reply beyond this is a mistake, not a page */

/* ---- JSON shapes ------------------------------------------------------------------------------ */

static json_t *opt_time(int64_t t) { return t ? json_integer(t) : json_null(); }

static json_t *plan_json(const store_plan *p) {
    json_t *o = json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "kind", tenancy_plan_kind_str(p->kind),
                          "effective_from", (json_int_t)p->effective_from, "fee", (json_int_t)p->fee, "commit_min",
                          (json_int_t)p->commit_min, "discount_bp", (json_int_t)p->discount_bp, "reserved_tpm",
                          (json_int_t)p->reserved_tpm, "priority", (json_int_t)p->priority, "rpm", (json_int_t)p->rpm,
                          "tpm", (json_int_t)p->tpm, "max_concurrent", (json_int_t)p->max_concurrent, "max_tokens",
                          (json_int_t)p->max_tokens, "budget_hard", (json_int_t)p->budget_hard, "budget_soft",
                          (json_int_t)p->budget_soft);
    /* "" in the store means every model: null here, so a client cannot mistake it for "none" */
    json_t *models = p->models[0] ? json_loads(p->models, 0, NULL) : NULL;
    if (o) json_object_set_new(o, "models", json_is_array(models) ? models : (json_decref(models), json_null()));
    if (o) json_object_set_new(o, "watermark", json_boolean(!p->no_watermark));
    if (o) json_object_set_new(o, "top_logprobs_cap", json_integer(tenancy_plan_top_logprobs(p)));
    return o;
}

static const char *key_status(const store_key *k, int64_t now) {
    if (k->revoked_at) return "revoked";
    if (k->expires_at && k->expires_at <= now) return "expired";
    return "live";
}

static json_t *key_json(const store_key *k, const char *tenant, int64_t now) {
    return json_pack("{s:s,s:s,s:s,s:I,s:o,s:o,s:s}", "prefix", k->prefix, "tenant", tenant, "scope",
                     tenancy_scope_str(k->scope), "created_at", (json_int_t)k->created_at, "expires_at",
                     opt_time(k->expires_at), "revoked_at", opt_time(k->revoked_at), "status", key_status(k, now));
}

static json_t *tenant_json(adm_job *j, const store_tenant *t, int64_t keys_live, int64_t now) {
    json_t *meta = json_loads(t->metadata[0] ? t->metadata : "{}", 0, NULL);
    json_t *o = json_pack("{s:I,s:s,s:s,s:s,s:s,s:I,s:o,s:I}", "id", (json_int_t)t->id, "name", t->name, "industry",
                          t->industry, "region", t->region, "status", t->suspended ? "suspended" : "active", "created_at",
                          (json_int_t)t->created_at, "metadata", json_is_object(meta) ? meta : (json_decref(meta), json_object()),
                          "keys_live", (json_int_t)keys_live);
    store_plan p;
    cirrus_err err;
    if (o) json_object_set_new(o, "plan", tenancy_plan_at(j->s, t->id, now, &p, &err) == CIRRUS_OK ? plan_json(&p) : json_null());
    return o;
}

/* ---- collecting rows ---------------------------------------------------------------------------- */

typedef struct {
    store_tenant *t;
    size_t n, cap;
} tenant_vec;

static int collect_tenant(void *ud, const store_tenant *t) {
    tenant_vec *v = ud;
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 64;
        if (cap > ADM_TENANTS_MAX) return 1;
        store_tenant *p = realloc(v->t, cap * sizeof *p);
        if (!p) return 1;
        v->t = p, v->cap = cap;
    }
    v->t[v->n++] = *t;
    return 0;
}

static cirrus_status all_tenants(adm_job *j, tenant_vec *v, cirrus_err *err) {
    memset(v, 0, sizeof *v);
    return store_tenant_list(j->s, collect_tenant, v, err);
}

typedef struct {
    json_t *arr;            /* keys as JSON (NULL: count only) */
    const tenant_vec *tenants;
    int64_t now;
    int64_t *live;          /* per tenants->t index, live keys */
} key_walk;

static int on_key(void *ud, const store_key *k) {
    key_walk *w = ud;
    bool live = !strcmp(key_status(k, w->now), "live");
    for (size_t i = 0; i < w->tenants->n; i++)
        if (w->tenants->t[i].id == k->tenant_id) {
            if (live && w->live) w->live[i]++;
            if (w->arr) json_array_append_new(w->arr, key_json(k, w->tenants->t[i].name, w->now));
            break;
        }
    return 0;
}

/* The tenant named by path segment 1, or an error reply. */
static bool path_tenant(adm_job *j, store_tenant *t) {
    cirrus_err err = {{0}};
    cirrus_status st = store_tenant_get(j->s, j->seg[1], t, &err);
    if (st == CIRRUS_ERR_NOT_FOUND) {
        adm_error(j, API_E_NO_ROUTE, NULL, "No tenant named '%.64s'.", j->seg[1]);
        return false;
    }
    if (st) adm_fail(j, st, &err);
    return st == CIRRUS_OK;
}

/* ---- tenants ------------------------------------------------------------------------------------ */

void adm_tenants_list(adm_job *j) {
    cirrus_err err = {{0}};
    tenant_vec v;
    int64_t now = (int64_t)time(NULL);
    cirrus_status st = all_tenants(j, &v, &err);
    int64_t *live = calloc(v.n ? v.n : 1, sizeof *live);
    key_walk w = {NULL, &v, now, live};
    if (!st && !live) st = cirrus_errf(&err, CIRRUS_ERR_NOMEM, "out of memory");
    if (!st) st = store_key_list(j->s, 0, on_key, &w, &err);
    if (st) {
        adm_fail(j, st, &err);
    } else {
        json_t *arr = json_array();
        for (size_t i = 0; i < v.n; i++) json_array_append_new(arr, tenant_json(j, &v.t[i], live[i], now));
        adm_json(j, 200, json_pack("{s:s,s:o}", "object", "list", "data", arr));
    }
    free(live);
    free(v.t);
}

static int on_plan(void *ud, const store_plan *p) {
    json_array_append_new(ud, plan_json(p));
    return 0;
}

static void tenant_reply(adm_job *j, int status, const store_tenant *t, bool detail) {
    cirrus_err err = {{0}};
    int64_t now = (int64_t)time(NULL), live = 0;
    tenant_vec one = {(store_tenant *)t, 1, 1};
    json_t *keys = json_array();
    key_walk w = {keys, &one, now, &live};
    cirrus_status st = store_key_list(j->s, t->id, on_key, &w, &err);
    json_t *o = st ? NULL : tenant_json(j, t, live, now);
    if (st) {
        json_decref(keys);
        adm_fail(j, st, &err);
        return;
    }
    if (detail && o) {
        json_t *plans = json_array();
        json_object_set_new(o, "keys", keys);
        keys = NULL;
        /* every plan version, oldest first: what held when, for the invoices of past months */
        if ((st = store_plan_list(j->s, t->id, on_plan, plans, &err))) {
            json_decref(plans);
            json_decref(o);
            adm_fail(j, st, &err);
            return;
        }
        json_object_set_new(o, "plans", plans);
    }
    json_decref(keys);
    adm_json(j, status, o);
}

void adm_tenant_get(adm_job *j) {
    store_tenant t;
    if (path_tenant(j, &t)) tenant_reply(j, 200, &t, true);
}

/* A string field of the body: absent or null is "", anything but a string is an error reply. */
static bool body_str(adm_job *j, json_t *body, const char *field, const char **out) {
    json_t *v = json_object_get(body, field);
    *out = "";
    if (!v || json_is_null(v)) return true;
    if (!json_is_string(v)) {
        adm_error(j, API_E_INVALID, field, "'%s' must be a string.", field);
        return false;
    }
    *out = json_string_value(v);
    return true;
}

/* The body as a JSON object with only the given fields, or an error reply. */
static json_t *body_object(adm_job *j, const char *const *fields) {
    json_error_t je;
    json_t *b = j->body ? json_loadb(j->body, j->body_len, JSON_REJECT_DUPLICATES, &je) : json_object();
    if (!b || !json_is_object(b)) {
        json_decref(b);
        adm_error(j, API_E_INVALID, NULL, "The body must be a JSON object.");
        return NULL;
    }
    const char *k;
    json_t *v;
    json_object_foreach(b, k, v) {
        bool known = false;
        for (const char *const *f = fields; *f && !known; f++) known = !strcmp(*f, k);
        if (!known) {
            adm_error(j, API_E_UNKNOWN_FIELD, k, "Unrecognized request argument supplied: %.64s", k);
            json_decref(b);
            return NULL;
        }
    }
    return b;
}

void adm_tenant_create(adm_job *j) {
    static const char *const fields[] = {"name", "industry", "region", "metadata", NULL};
    json_t *b = body_object(j, fields);
    if (!b) return;
    const char *name, *industry, *region;
    char *meta = NULL;
    json_t *m = json_object_get(b, "metadata");
    if (body_str(j, b, "name", &name) && body_str(j, b, "industry", &industry) && body_str(j, b, "region", &region)) {
        if (m && !json_is_null(m) && !json_is_object(m)) {
            adm_error(j, API_E_INVALID, "metadata", "'metadata' must be an object.");
        } else {
            if (m && json_is_object(m)) meta = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS);
            store_tenant t;
            cirrus_err err = {{0}};
            cirrus_status st = tenancy_tenant_create(j->s, name, industry, region, meta, &t, &err);
            if (st) adm_fail(j, st, &err);
            else tenant_reply(j, 201, &t, false);
        }
    }
    free(meta);
    json_decref(b);
}

static void set_suspended(adm_job *j, bool suspended) {
    store_tenant t;
    if (!path_tenant(j, &t)) return;
    cirrus_err err = {{0}};
    cirrus_status st = tenancy_tenant_set_suspended(j->s, t.name, suspended, &err);
    if (!st) st = store_tenant_get(j->s, t.name, &t, &err);
    if (st) adm_fail(j, st, &err);
    else tenant_reply(j, 200, &t, false);
}

void adm_tenant_suspend(adm_job *j) { set_suspended(j, true); }
void adm_tenant_resume(adm_job *j) { set_suspended(j, false); }

/* ---- keys --------------------------------------------------------------------------------------- */

void adm_keys_list(adm_job *j) {
    cirrus_err err = {{0}};
    tenant_vec v = {0}, one = {0};
    store_tenant t;
    bool for_one = j->n_seg == 3; /* tenants/{name}/keys */
    cirrus_status st;
    if (for_one) {
        if (!path_tenant(j, &t)) return;
        one = (tenant_vec){&t, 1, 1};
        st = CIRRUS_OK;
    } else {
        st = all_tenants(j, &v, &err);
    }
    json_t *arr = json_array();
    key_walk w = {arr, for_one ? &one : &v, (int64_t)time(NULL), NULL};
    if (!st) st = store_key_list(j->s, for_one ? t.id : 0, on_key, &w, &err);
    if (st) {
        json_decref(arr);
        adm_fail(j, st, &err);
    } else {
        adm_json(j, 200, json_pack("{s:s,s:o}", "object", "list", "data", arr));
    }
    free(v.t);
}

void adm_key_create(adm_job *j) {
    static const char *const fields[] = {"scope", "expires_at", NULL};
    store_tenant t;
    if (!path_tenant(j, &t)) return;
    json_t *b = body_object(j, fields);
    if (!b) return;
    const char *scope_s;
    json_t *exp = json_object_get(b, "expires_at");
    int scope = 0;
    if (!body_str(j, b, "scope", &scope_s)) goto out;
    scope = *scope_s ? tenancy_scope_parse(scope_s) : STORE_SCOPE_INFERENCE;
    if (!scope) {
        adm_error(j, API_E_INVALID, "scope", "'scope' must be \"inference\" or \"admin\".");
        goto out;
    }
    if (exp && !json_is_null(exp) && (!json_is_integer(exp) || json_integer_value(exp) < 0)) {
        adm_error(j, API_E_INVALID, "expires_at", "'expires_at' must be a unix time in seconds.");
        goto out;
    }
    char key[TENANCY_KEY_LEN + 1];
    store_key k;
    cirrus_err err = {{0}};
    cirrus_status st = tenancy_key_create(j->s, t.name, scope, json_is_integer(exp) ? json_integer_value(exp) : 0, key, &k, &err);
    if (st) {
        adm_fail(j, st, &err);
        goto out;
    }
    json_t *o = key_json(&k, t.name, (int64_t)time(NULL));
    /* the one time the key exists outside the client: the reply body (never logged, no-store) */
    if (o) json_object_set_new(o, "key", json_string(key));
    sodium_memzero(key, sizeof key);
    adm_json(j, 201, o);
out:
    json_decref(b);
}

void adm_key_revoke(adm_job *j) {
    const char *prefix = j->seg[1];
    cirrus_err err = {{0}};
    cirrus_status st = tenancy_key_revoke(j->s, prefix, &err);
    if (st == CIRRUS_ERR_NOT_FOUND) adm_error(j, API_E_NO_ROUTE, NULL, "No key with prefix '%.32s'.", prefix);
    else if (st) adm_fail(j, st, &err);
    else adm_json(j, 200, json_pack("{s:s,s:b,s:I}", "prefix", prefix, "revoked", 1, "revoked_at", (json_int_t)time(NULL)));
}
