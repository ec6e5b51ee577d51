/*
 * cirrus_map: one hash table for the whole program (Redis's dict with its dictType).
 *
 * Open addressing with linear probing over a power-of-two slot array, grown at 3/4 load and
 * never past the caller's maximum number of entries. Deletion shifts the following entries of the
 * run back (no tombstones), so a long-lived table that sees many inserts and deletes does not
 * silt up. Each slot keeps its key's hash, which makes growth a copy and makes most failed
 * comparisons a single integer test.
 *
 * Keys are hashed with SipHash-1-3 under a per-process random key: tenant names, token texts and
 * prefixes come from outside, and a fixed hash would let a client pick keys that all collide.
 * Iteration order therefore differs between runs; nothing may depend on it.
 *
 * The table stores pointers; it owns neither keys nor values. A value is usually a struct that
 * holds its own key, so the key pointer stays valid as long as the entry exists.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "core.h"

struct cirrus_map_slot {
    uint64_t h; /* hash | 1; 0: empty */
    const void *key;
    void *val;
};

/* ---- SipHash-1-3 (Aumasson & Bernstein), 64-bit output ---------------------------------------- */

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                                    \
    do {                                                                                            \
        v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);                                   \
        v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                                                      \
        v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                                                      \
        v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);                                   \
    } while (0)

static uint64_t load_le64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static uint64_t siphash13(const void *data, size_t n, uint64_t k0, uint64_t k1) {
    const unsigned char *p = data;
    uint64_t v0 = k0 ^ 0x736f6d6570736575ULL, v1 = k1 ^ 0x646f72616e646f6dULL;
    uint64_t v2 = k0 ^ 0x6c7967656e657261ULL, v3 = k1 ^ 0x7465646279746573ULL;
    size_t full = n & ~(size_t)7;
    for (size_t i = 0; i < full; i += 8) {
        uint64_t m = load_le64(p + i);
        v3 ^= m;
        SIPROUND;
        v0 ^= m;
    }
    uint64_t b = (uint64_t)n << 56;
    for (size_t i = 0; i < (n & 7); i++) b |= (uint64_t)p[full + i] << (8 * i);
    v3 ^= b;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

static uint64_t g_key[2];
static pthread_once_t g_key_once = PTHREAD_ONCE_INIT;

static void key_init(void) {
    if (getrandom(g_key, sizeof g_key, 0) == (ssize_t)sizeof g_key) return;
    struct timespec ts; /* no entropy source: still a different key each run */
    clock_gettime(CLOCK_REALTIME, &ts);
    g_key[0] = (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ULL ^ (uint64_t)ts.tv_sec;
    g_key[1] = (uint64_t)(uintptr_t)&ts * 0xC2B2AE3D27D4EB4FULL ^ cirrus_now_ns();
}

uint64_t cirrus_hash_bytes(const void *p, size_t n) {
    pthread_once(&g_key_once, key_init);
    return siphash13(p, n, g_key[0], g_key[1]);
}

/* ---- built-in key types ------------------------------------------------------------------------ */

static uint64_t str_hash(const void *k) { return cirrus_hash_bytes(k, strlen(k)); }
static bool str_eq(const void *a, const void *b) { return strcmp(a, b) == 0; }
const cirrus_map_type cirrus_map_str = {str_hash, str_eq};

static uint64_t u64_hash(const void *k) {
    uint64_t v = (uint64_t)(uintptr_t)k;
    return cirrus_hash_bytes(&v, sizeof v);
}
static bool u64_eq(const void *a, const void *b) { return a == b; }
const cirrus_map_type cirrus_map_u64 = {u64_hash, u64_eq};

/* ---- the table ----------------------------------------------------------------------------------- */

void cirrus_map_init(cirrus_map *m, const cirrus_map_type *type, size_t max) {
    memset(m, 0, sizeof *m);
    m->type = type;
    m->max = max;
}

void cirrus_map_free(cirrus_map *m) {
    free(m->slots);
    m->slots = NULL;
    m->n = m->cap = 0;
}

void cirrus_map_clear(cirrus_map *m) {
    if (m->slots) memset(m->slots, 0, m->cap * sizeof *m->slots);
    m->n = 0;
}

static size_t find(const cirrus_map *m, const void *key, uint64_t h, bool *found) {
    size_t mask = m->cap - 1, i = (size_t)h & mask;
    for (;;) {
        const struct cirrus_map_slot *s = &m->slots[i];
        if (!s->h) {
            *found = false;
            return i;
        }
        if (s->h == h && m->type->eq(s->key, key)) {
            *found = true;
            return i;
        }
        i = (i + 1) & mask;
    }
}

static cirrus_status grow(cirrus_map *m) {
    size_t ncap = m->cap ? m->cap * 2 : 16;
    if (ncap < m->cap) return CIRRUS_ERR_FULL;
    struct cirrus_map_slot *ns = calloc(ncap, sizeof *ns);
    if (!ns) return CIRRUS_ERR_NOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        struct cirrus_map_slot *s = &m->slots[i];
        if (!s->h) continue;
        size_t j = (size_t)s->h & (ncap - 1);
        while (ns[j].h) j = (j + 1) & (ncap - 1);
        ns[j] = *s;
    }
    free(m->slots);
    m->slots = ns;
    m->cap = ncap;
    return CIRRUS_OK;
}

void *cirrus_map_get(const cirrus_map *m, const void *key) {
    if (!m->n) return NULL;
    bool found;
    size_t i = find(m, key, m->type->hash(key) | 1, &found);
    return found ? m->slots[i].val : NULL;
}

cirrus_status cirrus_map_put(cirrus_map *m, const void *key, void *val, void **old) {
    if (old) *old = NULL;
    if (!val) return CIRRUS_ERR_INVALID; /* NULL is get()'s "absent" */
    uint64_t h = m->type->hash(key) | 1;
    bool found = false;
    size_t i = 0;
    if (m->cap) i = find(m, key, h, &found);
    if (found) {
        if (old) *old = m->slots[i].val;
        m->slots[i].key = key;
        m->slots[i].val = val;
        return CIRRUS_OK;
    }
    if (m->n >= m->max) return CIRRUS_ERR_FULL;
    if ((m->n + 1) * 4 > m->cap * 3) {
        cirrus_status st = grow(m);
        if (st) return st;
        i = find(m, key, h, &found);
    }
    m->slots[i] = (struct cirrus_map_slot){h, key, val};
    m->n++;
    return CIRRUS_OK;
}

void *cirrus_map_del(cirrus_map *m, const void *key) {
    if (!m->n) return NULL;
    bool found;
    size_t mask = m->cap - 1, i = find(m, key, m->type->hash(key) | 1, &found);
    if (!found) return NULL;
    void *val = m->slots[i].val;
    /* backward shift: move each later entry of the run into the hole if its home slot allows */
    size_t hole = i, j = i;
    for (;;) {
        j = (j + 1) & mask;
        struct cirrus_map_slot *s = &m->slots[j];
        if (!s->h) break;
        size_t home = (size_t)s->h & mask;
        /* s may move to hole iff hole lies cyclically in [home, j) */
        bool movable = hole <= j ? (home <= hole || home > j) : (home <= hole && home > j);
        if (movable) {
            m->slots[hole] = *s;
            hole = j;
        }
    }
    m->slots[hole] = (struct cirrus_map_slot){0};
    m->n--;
    return val;
}

bool cirrus_map_next(const cirrus_map *m, size_t *it, const void **key, void **val) {
    while (*it < m->cap) {
        const struct cirrus_map_slot *s = &m->slots[(*it)++];
        if (s->h) {
            if (key) *key = s->key;
            if (val) *val = s->val;
            return true;
        }
    }
    return false;
}
