/*
 * API keys and the pepper (the format and the reasons are in tenancy.h).
 *
 * Nothing here puts a key or the pepper into an error message or a log line (T5): errors name
 * the prefix at most, and the pepper file by its path.
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tenancy/tenancy_internal.h"

#define KEY_HEAD "sk-cirrus-"
#define KEY_HEAD_LEN 10
#define SECRET_BYTES 32
#define PEPPER_CHECK_MSG "cirrus pepper check v1"

static bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

bool tn_key_split(const char *key, size_t len, char prefix[STORE_PREFIX_LEN + 1]) {
    if (len != TENANCY_KEY_LEN || memcmp(key, KEY_HEAD, KEY_HEAD_LEN) != 0 || key[KEY_HEAD_LEN + STORE_PREFIX_LEN] != '-')
        return false;
    for (int i = 0; i < STORE_PREFIX_LEN; i++)
        if (!is_hex(key[KEY_HEAD_LEN + i])) return false;
    for (size_t i = KEY_HEAD_LEN + STORE_PREFIX_LEN + 1; i < len; i++) {
        char c = key[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) return false;
    }
    memcpy(prefix, key + KEY_HEAD_LEN, STORE_PREFIX_LEN);
    prefix[STORE_PREFIX_LEN] = 0;
    return true;
}

void tn_key_hash(const unsigned char pepper[32], const char *key, size_t len, unsigned char out[STORE_HASH_LEN]) {
    crypto_generichash(out, STORE_HASH_LEN, (const unsigned char *)key, len, pepper, 32);
}

int tenancy_scope_parse(const char *s) {
    if (!s) return 0;
    if (!strcmp(s, "inference")) return STORE_SCOPE_INFERENCE;
    if (!strcmp(s, "admin")) return STORE_SCOPE_ADMIN;
    return 0;
}

const char *tenancy_scope_str(int scope) { return scope == STORE_SCOPE_ADMIN ? "admin" : "inference"; }

/* ---- the pepper ------------------------------------------------------------------------------ */

/* CIRRUS_PEPPER_FILE (the CLI's --pepper-file sets it), else DB.pepper beside a SQLite file. A
 * database server has no file beside it, so there the path must be given: every node that shares
 * the database must hash keys with the same secret. */
static cirrus_status pepper_path(store *s, char *buf, size_t cap, cirrus_err *err) {
    const char *env = getenv("CIRRUS_PEPPER_FILE");
    if (env && *env) snprintf(buf, cap, "%s", env);
    else if (strcmp(store_backend(s), "sqlite"))
        return cirrus_errf(err, CIRRUS_ERR_INVALID, "the key-hash secret file: a %s store (%s) has none beside it; give "
                           "--pepper-file FILE or set CIRRUS_PEPPER_FILE (the same file on every node)", store_backend(s),
                           store_location(s));
    else snprintf(buf, cap, "%s.pepper", store_location(s));
    return CIRRUS_OK;
}

static void pepper_check(const unsigned char pepper[32], char hex[65]) {
    unsigned char h[32];
    crypto_generichash(h, sizeof h, (const unsigned char *)PEPPER_CHECK_MSG, strlen(PEPPER_CHECK_MSG), pepper, 32);
    sodium_bin2hex(hex, 65, h, sizeof h);
    sodium_memzero(h, sizeof h);
}

/* Reads 64 hex characters. A file another process is still writing may be short: retry briefly. */
static cirrus_status read_pepper(const char *path, unsigned char out[32], cirrus_err *err) {
    for (int attempt = 0; attempt < 50; attempt++) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) return cirrus_errf(err, errno == ENOENT ? CIRRUS_ERR_NOT_FOUND : CIRRUS_ERR_IO, "key-hash secret file %s: %s", path, strerror(errno));
        char buf[80];
        ssize_t n = read(fd, buf, sizeof buf);
        close(fd);
        size_t bin_len = 0;
        if (n >= 64 && sodium_hex2bin(out, 32, buf, 64, NULL, &bin_len, NULL) == 0 && bin_len == 32) {
            sodium_memzero(buf, sizeof buf);
            return CIRRUS_OK;
        }
        sodium_memzero(buf, sizeof buf);
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    return cirrus_errf(err, CIRRUS_ERR_FORMAT, "key-hash secret file %s is malformed (want 64 hex characters)", path);
}

static cirrus_status create_pepper(const char *path, unsigned char out[32], cirrus_err *err) {
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == EEXIST) return read_pepper(path, out, err); /* another process won the race */
        return cirrus_errf(err, CIRRUS_ERR_IO, "cannot create key-hash secret file %s: %s", path, strerror(errno));
    }
    randombytes_buf(out, 32);
    char hex[66];
    sodium_bin2hex(hex, 65, out, 32);
    hex[64] = '\n';
    bool ok = write(fd, hex, 65) == 65 && fsync(fd) == 0;
    sodium_memzero(hex, sizeof hex);
    if (close(fd) != 0) ok = false;
    if (!ok) {
        unlink(path);
        return cirrus_errf(err, CIRRUS_ERR_IO, "cannot write key-hash secret file %s", path);
    }
    return CIRRUS_OK;
}

cirrus_status tenancy_pepper(store *s, bool create, unsigned char out[32], cirrus_err *err) {
    if (sodium_init() < 0) return cirrus_errf(err, CIRRUS_ERR_INTERNAL, "libsodium failed to initialize");
    char path[1100], want[80], have[65];
    cirrus_status pst = pepper_path(s, path, sizeof path, err);
    if (pst) return pst;
    cirrus_status mst = store_meta_get(s, "pepper_check", want, sizeof want, err);
    if (mst && mst != CIRRUS_ERR_NOT_FOUND) return mst;
    bool known = mst == CIRRUS_OK;
    cirrus_status st = read_pepper(path, out, err);
    if (st == CIRRUS_ERR_NOT_FOUND) {
        if (known)
            return cirrus_errf(err, CIRRUS_ERR_NOT_FOUND, "key-hash secret file %s is missing, but database %s has keys hashed with it; "
                               "restore the file (or name it with --pepper-file / CIRRUS_PEPPER_FILE)", path, store_location(s));
        if (!create) return cirrus_errf(err, CIRRUS_ERR_NOT_FOUND, "no key-hash secret file %s yet (create a key first)", path);
        st = create_pepper(path, out, err);
    }
    if (st) return st;
    pepper_check(out, have);
    if (!known) {
        bool inserted = false;
        if ((st = store_meta_init(s, "pepper_check", have, &inserted, err))) return st;
        if (!inserted && (st = store_meta_get(s, "pepper_check", want, sizeof want, err))) return st;
        known = !inserted;
    }
    if (known && sodium_memcmp(want, have, 64) != 0) {
        sodium_memzero(out, 32);
        return cirrus_errf(err, CIRRUS_ERR_INVALID, "key-hash secret file %s does not belong to database %s", path, store_location(s));
    }
    return CIRRUS_OK;
}

/* ---- creating and revoking keys ----------------------------------------------------------------- */

cirrus_status tenancy_key_create(store *s, const char *tenant, int scope, int64_t expires_at, char *key_out, store_key *out,
                                 cirrus_err *err) {
    if (scope != STORE_SCOPE_INFERENCE && scope != STORE_SCOPE_ADMIN)
        return cirrus_errf(err, CIRRUS_ERR_INVALID, "--scope must be inference or admin");
    if (expires_at < 0) return cirrus_errf(err, CIRRUS_ERR_INVALID, "--expires must not be before 1970");
    store_tenant t;
    cirrus_status st = store_tenant_get(s, tenant, &t, err);
    if (st) return st;
    unsigned char pepper[32];
    if ((st = tenancy_pepper(s, true, pepper, err))) return st;
    store_key k = {.tenant_id = t.id, .scope = scope, .expires_at = expires_at, .created_at = (int64_t)time(NULL)};
    char key[TENANCY_KEY_LEN + 1];
    /* a prefix collision (48 random bits) makes the insert fail; a fresh draw fixes it */
    for (int attempt = 0; attempt < 4; attempt++) {
        unsigned char pre[STORE_PREFIX_LEN / 2], secret[SECRET_BYTES];
        randombytes_buf(pre, sizeof pre);
        randombytes_buf(secret, sizeof secret);
        char pre_hex[STORE_PREFIX_LEN + 1], sec_b64[64];
        sodium_bin2hex(pre_hex, sizeof pre_hex, pre, sizeof pre);
        sodium_bin2base64(sec_b64, sizeof sec_b64, secret, sizeof secret, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        /* sk-cirrus-<12 hex>-<43 base64url> */
        memcpy(key, KEY_HEAD, KEY_HEAD_LEN);
        memcpy(key + KEY_HEAD_LEN, pre_hex, STORE_PREFIX_LEN);
        key[KEY_HEAD_LEN + STORE_PREFIX_LEN] = '-';
        memcpy(key + KEY_HEAD_LEN + STORE_PREFIX_LEN + 1, sec_b64, 43);
        key[TENANCY_KEY_LEN] = 0;
        sodium_memzero(secret, sizeof secret);
        sodium_memzero(sec_b64, sizeof sec_b64);
        memcpy(k.prefix, pre_hex, sizeof k.prefix);
        tn_key_hash(pepper, key, strlen(key), k.hash);
        st = store_key_insert(s, &k, err);
        if (st != CIRRUS_ERR_INVALID) break;
    }
    sodium_memzero(pepper, sizeof pepper);
    if (st) {
        sodium_memzero(key, sizeof key);
        return st;
    }
    memcpy(key_out, key, TENANCY_KEY_LEN + 1);
    sodium_memzero(key, sizeof key);
    if (out) *out = k;
    return CIRRUS_OK;
}

cirrus_status tenancy_key_revoke(store *s, const char *prefix_or_key, cirrus_err *err) {
    char prefix[STORE_PREFIX_LEN + 1];
    size_t n = prefix_or_key ? strlen(prefix_or_key) : 0;
    if (n == TENANCY_KEY_LEN && tn_key_split(prefix_or_key, n, prefix)) {
        /* a whole key: use its prefix, never echo the rest */
    } else if (n == STORE_PREFIX_LEN) {
        for (size_t i = 0; i < n; i++)
            if (!is_hex(prefix_or_key[i])) return cirrus_errf(err, CIRRUS_ERR_INVALID, "key revoke: want a key prefix (12 hex characters) or a whole key");
        memcpy(prefix, prefix_or_key, n + 1);
    } else {
        return cirrus_errf(err, CIRRUS_ERR_INVALID, "key revoke: want a key prefix (12 hex characters) or a whole key");
    }
    return store_key_revoke(s, prefix, (int64_t)time(NULL), err);
}
