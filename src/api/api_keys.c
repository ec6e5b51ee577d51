/*
 * Tenants and API keys from the config file — the stand-in behind api_auth until the control plane
 * keeps them in its database.
 *
 * Keys are never stored: only BLAKE2b-256 hashes under a per-process random key, so a core dump or
 * a debugger shows no usable key. A lookup hashes the presented key and compares it with every
 * stored hash using sodium_memcmp: the time taken depends on neither where the key sits nor how
 * many leading bytes match. Config files hold at most a few thousand keys, so the linear scan is
 * cheap next to a forward pass.
 */
#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"

#define KEYRING_MAX_KEYS 100000
#define KEYRING_MAX_TENANTS 4096

typedef struct {
    unsigned char hash[crypto_generichash_BYTES];
    uint32_t tenant;
} key_entry;

struct api_keyring {
    unsigned char salt[crypto_generichash_KEYBYTES];
    api_tenant *tenants;
    size_t n_tenants;
    key_entry *keys;
    size_t n_keys;
};

static void hash_key(const api_keyring *k, const char *key, size_t len, unsigned char out[crypto_generichash_BYTES]) {
    crypto_generichash(out, crypto_generichash_BYTES, (const unsigned char *)key, len, k->salt, sizeof k->salt);
}

static bool valid_tenant_name(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n >= API_TENANT_MAX) return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
            return false;
    }
    return true;
}

static cirrus_status get_u32(const json_t *v, const char *what, size_t ti, uint32_t lo, uint32_t hi, uint32_t *out, cirrus_err *err) {
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return cirrus_errf(err, CIRRUS_ERR_INVALID, "config: tenants[%zu].%s must be an integer in [%u, %u]", ti, what, lo, hi);
    *out = (uint32_t)json_integer_value(v);
    return CIRRUS_OK;
}

static cirrus_status parse_tenant(api_keyring *k, size_t ti, const json_t *t, size_t *n_keys, cirrus_err *err) {
    if (!json_is_object(t)) return cirrus_errf(err, CIRRUS_ERR_INVALID, "config: tenants[%zu] must be an object", ti);
    api_tenant *out = &k->tenants[ti];
    out->weight = 1;
    const char *name;
    json_t *v;
    cirrus_status st;
    json_object_foreach((json_t *)t, name, v) {
        if (!strcmp(name, "name")) {
            if (!json_is_string(v) || !valid_tenant_name(json_string_value(v)))
                return cirrus_errf(err, CIRRUS_ERR_INVALID, "config: tenants[%zu].name must be 1-%d characters of [A-Za-z0-9_.-]", ti, API_TENANT_MAX - 1);
            snprintf(out->name, sizeof out->name, "%s", json_string_value(v));
        } else if (!strcmp(name, "weight")) {
            if ((st = get_u32(v, "weight", ti, 1, SCHED_WEIGHT_MAX, &out->weight, err))) return st;
        } else if (!strcmp(name, "reserved_tpm")) {
            if ((st = get_u32(v, "reserved_tpm", ti, 0, UINT32_MAX, &out->reserved_tpm, err))) return st;
        } else if (!strcmp(name, "max_concurrent")) {
            if ((st = get_u32(v, "max_concurrent", ti, 0, 1000000, &out->max_concurrent, err))) return st;
        } else if (!strcmp(name, "models")) {
            if (!json_is_array(v) || json_array_size(v) > API_TENANT_MODELS_MAX)
                return cirrus_errf(err, CIRRUS_ERR_INVALID, "config: tenants[%zu].models must be an array of at most %d model names", ti, API_TENANT_MODELS_MAX);
            for (size_t i = 0; i < json_array_size(v); i++) {
                const json_t *m = json_array_get(v, i);
                if (!json_is_string(m) || json_string_length(m) == 0 || json_string_length(m) >= API_MODEL_NAME_MAX)
                    return cirrus_errf(err, CIRRUS_ERR_INVALID, "config: tenants[%zu].models[%zu] must be a model name", ti, i);
                snprintf(out->models[i], sizeof out->models[i], "%s", json_string_value(m));
            }
            out->n_models = (int)json_array_size(v);
        } else if (!strcmp(name, "keys")) {
            if (!json_is_array(v)) return cirrus_errf(err, CIRRUS_ERR_INVALID, "config: tenants[%zu].keys must be an array of strings", ti);
            for (size_t i = 0; i < json_array_size(v); i++) {
                const json_t *key = json_array_get(v, i);
                /* 16 bytes at least: short keys are guessable */
                if (!json_is_string(key) || json_string_length(key) < 16 || json_string_length(key) > 512)
                    return cirrus_errf(err, CIRRUS_ERR_INVALID, "config: tenants[%zu].keys[%zu] must be a string of 16 to 512 bytes", ti, i);
                if (*n_keys == KEYRING_MAX_KEYS) return cirrus_errf(err, CIRRUS_ERR_RANGE, "config: more than %d keys", KEYRING_MAX_KEYS);
                key_entry *e = &k->keys[*n_keys];
                hash_key(k, json_string_value(key), json_string_length(key), e->hash);
                for (size_t j = 0; j < *n_keys; j++)
                    if (!sodium_memcmp(k->keys[j].hash, e->hash, sizeof e->hash))
                        return cirrus_errf(err, CIRRUS_ERR_INVALID, "config: tenants[%zu].keys[%zu] is a duplicate of another key", ti, i);
                e->tenant = (uint32_t)ti;
                (*n_keys)++;
            }
        } else {
            return cirrus_errf(err, CIRRUS_ERR_INVALID, "config: tenants[%zu]: unknown field '%s'", ti, name);
        }
    }
    if (!out->name[0]) return cirrus_errf(err, CIRRUS_ERR_INVALID, "config: tenants[%zu].name is required", ti);
    for (size_t j = 0; j < ti; j++)
        if (!strcmp(k->tenants[j].name, out->name))
            return cirrus_errf(err, CIRRUS_ERR_INVALID, "config: tenants[%zu].name '%s' is used twice", ti, out->name);
    return CIRRUS_OK;
}

cirrus_status api_keyring_from_json(const char *text, size_t len, api_keyring **out, cirrus_err *err) {
    *out = NULL;
    if (sodium_init() < 0) return cirrus_errf(err, CIRRUS_ERR_INTERNAL, "libsodium failed to initialise");
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) return cirrus_errf(err, CIRRUS_ERR_FORMAT, "config: line %d column %d: %s", je.line, je.column, je.text);
    cirrus_status st = CIRRUS_OK;
    api_keyring *k = calloc(1, sizeof *k);
    if (!k) {
        json_decref(root);
        return cirrus_errf(err, CIRRUS_ERR_NOMEM, "out of memory");
    }
    randombytes_buf(k->salt, sizeof k->salt);
    const json_t *tenants = json_is_object(root) ? json_object_get(root, "tenants") : NULL;
    if (!json_is_object(root)) {
        st = cirrus_errf(err, CIRRUS_ERR_FORMAT, "config: the top level must be an object");
        goto out;
    }
    if (!tenants) goto out; /* no tenants: open mode */
    if (!json_is_array(tenants) || json_array_size(tenants) > KEYRING_MAX_TENANTS) {
        st = cirrus_errf(err, CIRRUS_ERR_INVALID, "config: tenants must be an array of at most %d objects", KEYRING_MAX_TENANTS);
        goto out;
    }
    size_t nt = json_array_size(tenants), nk = 0;
    for (size_t i = 0; i < nt; i++) {
        const json_t *keys = json_object_get(json_array_get(tenants, i), "keys");
        nk += json_is_array(keys) ? json_array_size(keys) : 0;
    }
    if (nk > KEYRING_MAX_KEYS) {
        st = cirrus_errf(err, CIRRUS_ERR_RANGE, "config: more than %d keys", KEYRING_MAX_KEYS);
        goto out;
    }
    k->tenants = calloc(nt ? nt : 1, sizeof *k->tenants);
    k->keys = calloc(nk ? nk : 1, sizeof *k->keys);
    if (!k->tenants || !k->keys) {
        st = cirrus_errf(err, CIRRUS_ERR_NOMEM, "out of memory");
        goto out;
    }
    k->n_tenants = nt;
    for (size_t i = 0; i < nt && !st; i++) st = parse_tenant(k, i, json_array_get(tenants, i), &k->n_keys, err);
out:
    json_decref(root);
    if (st) {
        api_keyring_free(k);
        return st;
    }
    *out = k;
    return CIRRUS_OK;
}

size_t api_keyring_count(const api_keyring *k) { return k ? k->n_keys : 0; }

static cirrus_status keyring_resolve(void *ud, const char *key, size_t len, api_tenant *out) {
    const api_keyring *k = ud;
    unsigned char h[crypto_generichash_BYTES];
    hash_key(k, key, len, h);
    size_t found = SIZE_MAX;
    for (size_t i = 0; i < k->n_keys; i++) /* no early exit: constant time in the key's position */
        if (!sodium_memcmp(k->keys[i].hash, h, sizeof h)) found = i;
    if (found == SIZE_MAX) return CIRRUS_ERR_NOT_FOUND;
    *out = k->tenants[k->keys[found].tenant];
    return CIRRUS_OK;
}

api_auth api_keyring_auth(api_keyring *k) {
    api_auth a = {keyring_resolve, k, !k || k->n_keys == 0};
    return a;
}

void api_keyring_free(api_keyring *k) {
    if (!k) return;
    if (k->keys) sodium_memzero(k->keys, k->n_keys * sizeof *k->keys);
    sodium_memzero(k->salt, sizeof k->salt);
    free(k->keys);
    free(k->tenants);
    free(k);
}
