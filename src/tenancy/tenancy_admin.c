/*
 * Administration of tenants and plans: every value from a user is checked here, with an error
 * that names the field, before it reaches the store.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tenancy/tenancy_internal.h"

#define PLAN_MODELS_MAX 64
#define LIMIT_MAX 1000000000LL
#define MONEY_MAX 1000000000000000LL

static bool valid_name(const char *s) {
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n >= STORE_NAME_MAX) return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
            return false;
    }
    return true;
}

static bool valid_label(const char *s) {
    if (strlen(s) >= STORE_TEXT_MAX) return false;
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f) return false;
    return true;
}

cirrus_status tenancy_tenant_create(store *s, const char *name, const char *industry, const char *region,
                                    const char *metadata_json, store_tenant *out, cirrus_err *err) {
    if (!valid_name(name))
        return cirrus_errf(err, CIRRUS_ERR_INVALID, "tenant name must be 1-%d characters of [A-Za-z0-9_.-]", STORE_NAME_MAX - 1);
    if (industry && !valid_label(industry)) return cirrus_errf(err, CIRRUS_ERR_INVALID, "--industry must be printable text under %d bytes", STORE_TEXT_MAX);
    if (region && !valid_label(region)) return cirrus_errf(err, CIRRUS_ERR_INVALID, "--region must be printable text under %d bytes", STORE_TEXT_MAX);
    store_tenant t;
    memset(&t, 0, sizeof t);
    snprintf(t.name, sizeof t.name, "%s", name);
    snprintf(t.industry, sizeof t.industry, "%s", industry ? industry : "");
    snprintf(t.region, sizeof t.region, "%s", region ? region : "");
    if (metadata_json && *metadata_json) {
        json_error_t je;
        json_t *m = json_loads(metadata_json, JSON_REJECT_DUPLICATES, &je);
        if (!m || !json_is_object(m)) {
            json_decref(m);
            return cirrus_errf(err, CIRRUS_ERR_INVALID, "--metadata must be a JSON object (%s)", m ? "not an object" : je.text);
        }
        char *compact = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(m);
        if (!compact) return cirrus_errf(err, CIRRUS_ERR_NOMEM, "out of memory");
        bool fits = strlen(compact) < sizeof t.metadata;
        if (fits) snprintf(t.metadata, sizeof t.metadata, "%s", compact);
        free(compact);
        if (!fits) return cirrus_errf(err, CIRRUS_ERR_INVALID, "--metadata is longer than %zu bytes", sizeof t.metadata - 1);
    } else {
        snprintf(t.metadata, sizeof t.metadata, "{}");
    }
    cirrus_status st = store_tenant_insert(s, &t, err);
    if (!st && out) *out = t;
    return st;
}

cirrus_status tenancy_tenant_set_suspended(store *s, const char *name, bool suspended, cirrus_err *err) {
    store_tenant t;
    cirrus_status st = store_tenant_get(s, name, &t, err);
    if (st) return st;
    return store_tenant_set_suspended(s, t.id, suspended, err);
}

/* ---- plans ------------------------------------------------------------------------------------ */

const char *tenancy_plan_kind_str(store_plan_kind k) {
    return k == STORE_PLAN_COMMITTED ? "committed" : k == STORE_PLAN_RESERVED ? "reserved" : "payg";
}

bool tenancy_plan_kind_parse(const char *s, store_plan_kind *out) {
    if (!strcmp(s, "payg") || !strcmp(s, "pay-as-you-go")) *out = STORE_PLAN_PAYG;
    else if (!strcmp(s, "committed")) *out = STORE_PLAN_COMMITTED;
    else if (!strcmp(s, "reserved")) *out = STORE_PLAN_RESERVED;
    else return false;
    return true;
}

int32_t tenancy_plan_top_logprobs(const store_plan *p) {
    if (p->top_logprobs_cap < 0) return 0;
    if (p->top_logprobs_cap == 0) return 5; /* GUARD_TOP_LOGPROBS_CAP; tenancy does not include guard */
    return p->top_logprobs_cap > 20 ? 20 : (int32_t)p->top_logprobs_cap;
}

void tenancy_plan_default(store_plan *p) {
    memset(p, 0, sizeof *p);
    p->kind = STORE_PLAN_PAYG;
    p->priority = 1;
}

cirrus_status tn_models_parse(const char *text, char ***out, int *n, cirrus_err *err) {
    *out = NULL;
    *n = 0;
    if (!text || !*text) return CIRRUS_OK;
    json_error_t je;
    json_t *a = json_loads(text, 0, &je);
    if (!a || !json_is_array(a) || json_array_size(a) > PLAN_MODELS_MAX) {
        json_decref(a);
        return cirrus_errf(err, CIRRUS_ERR_INVALID, "models must be a JSON array of at most %d model ids", PLAN_MODELS_MAX);
    }
    size_t k = json_array_size(a);
    char **v = k ? calloc(k, sizeof *v) : NULL;
    if (k && !v) {
        json_decref(a);
        return cirrus_errf(err, CIRRUS_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < k; i++) {
        const json_t *m = json_array_get(a, i);
        if (!json_is_string(m) || json_string_length(m) == 0 || json_string_length(m) >= STORE_MODEL_MAX || !(v[i] = strdup(json_string_value(m)))) {
            for (size_t j = 0; j < i; j++) free(v[j]);
            free(v);
            json_decref(a);
            return cirrus_errf(err, CIRRUS_ERR_INVALID, "models[%zu] must be a model id of 1-%d bytes", i, STORE_MODEL_MAX - 1);
        }
    }
    json_decref(a);
    *out = v;
    *n = (int)k;
    return CIRRUS_OK;
}

static cirrus_status check_range(const char *what, int64_t v, int64_t lo, int64_t hi, cirrus_err *err) {
    if (v < lo || v > hi) return cirrus_errf(err, CIRRUS_ERR_RANGE, "%s must be in [%lld, %lld], not %lld", what, (long long)lo, (long long)hi, (long long)v);
    return CIRRUS_OK;
}

cirrus_status tenancy_plan_set(store *s, const char *tenant, store_plan *p, cirrus_err *err) {
    store_tenant t;
    cirrus_status st = store_tenant_get(s, tenant, &t, err);
    if (st) return st;
    if (p->priority == 0) p->priority = 1;
    const struct {
        const char *what;
        int64_t v, lo, hi;
    } checks[] = {
        {"--priority", p->priority, 1, TENANCY_WEIGHT_MAX}, {"--discount-bp", p->discount_bp, 0, 10000},
        {"--fee", p->fee, 0, MONEY_MAX}, {"--commit", p->commit_min, 0, MONEY_MAX},
        {"--budget", p->budget_hard, 0, MONEY_MAX}, {"--soft-budget", p->budget_soft, 0, MONEY_MAX},
        {"--rpm", p->rpm, 0, LIMIT_MAX}, {"--tpm", p->tpm, 0, LIMIT_MAX}, {"--max-concurrent", p->max_concurrent, 0, LIMIT_MAX},
        {"--max-tokens", p->max_tokens, 0, LIMIT_MAX}, {"--reserved-tpm", p->reserved_tpm, 0, UINT32_MAX},
        {"--from", p->effective_from, 0, 253402300799LL /* 9999-12-31 */},
        {"--watermark", p->no_watermark, 0, 1}, {"--top-logprobs", p->top_logprobs_cap, -1, 20},
    };
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++)
        if ((st = check_range(checks[i].what, checks[i].v, checks[i].lo, checks[i].hi, err))) return st;
    if (p->kind == STORE_PLAN_RESERVED && p->reserved_tpm == 0)
        return cirrus_errf(err, CIRRUS_ERR_INVALID, "a reserved-capacity plan needs --reserved-tpm > 0");
    if (p->kind != STORE_PLAN_RESERVED && p->reserved_tpm)
        return cirrus_errf(err, CIRRUS_ERR_INVALID, "--reserved-tpm belongs to a reserved-capacity plan (--kind reserved)");
    if (p->kind == STORE_PLAN_COMMITTED && p->commit_min == 0)
        return cirrus_errf(err, CIRRUS_ERR_INVALID, "a committed-spend plan needs --commit (the monthly minimum) > 0");
    if (p->kind != STORE_PLAN_COMMITTED && (p->commit_min || p->discount_bp))
        return cirrus_errf(err, CIRRUS_ERR_INVALID, "--commit and --discount-bp belong to a committed-spend plan (--kind committed)");
    if (p->budget_hard && p->budget_soft > p->budget_hard)
        return cirrus_errf(err, CIRRUS_ERR_INVALID, "--soft-budget must not be above --budget");
    char **models;
    int n;
    if ((st = tn_models_parse(p->models, &models, &n, err))) return st;
    for (int i = 0; i < n; i++) free(models[i]);
    free(models);
    if (!n) p->models[0] = 0;
    p->tenant_id = t.id;
    return store_plan_insert(s, p, err);
}

typedef struct {
    int64_t at;
    store_plan *out;
    bool found;
} plan_pick;

static int pick_plan(void *ud, const store_plan *p) {
    plan_pick *x = ud;
    if (p->effective_from > x->at) return 1; /* ordered by effective_from */
    *x->out = *p;
    x->found = true;
    return 0;
}

cirrus_status tenancy_plan_at(store *s, int64_t tenant_id, int64_t at, store_plan *out, cirrus_err *err) {
    plan_pick x = {at, out, false};
    cirrus_status st = store_plan_list(s, tenant_id, pick_plan, &x, err);
    if (st) return st;
    if (!x.found) {
        tenancy_plan_default(out);
        out->tenant_id = tenant_id;
    }
    return CIRRUS_OK;
}
