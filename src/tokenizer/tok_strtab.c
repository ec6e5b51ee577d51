/*
 * Hash tables for the tokenizer: interned token strings (text -> id) and merge pairs
 * ((left id, right id) -> rank). Open addressing with linear probing at load factor <= 1/2, so a
 * lookup is one hash and, typically, one or two probes: tokenizing never scans the vocabulary.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tok_impl.h"

uint32_t tok_hash(const char *s, size_t len) {
    /* FNV-1a, then a final avalanche so the low bits (the slot index) depend on every byte. */
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    h ^= h >> 16;
    h *= 0x7feb352du;
    h ^= h >> 15;
    return h;
}

static uint32_t pow2_at_least(size_t n) {
    uint32_t c = 16;
    while (c < n && c < (1u << 30)) c <<= 1;
    return c;
}

cirrus_status tok_strtab_init(tok_strtab *t, int32_t expect_n, size_t expect_bytes) {
    memset(t, 0, sizeof *t);
    t->cap = expect_n > 16 ? expect_n : 16;
    t->blob_cap = expect_bytes > 64 ? expect_bytes : 64;
    uint32_t nslots = pow2_at_least((size_t)t->cap * 2);
    t->mask = nslots - 1;
    t->blob = malloc(t->blob_cap);
    t->off = malloc((size_t)t->cap * sizeof *t->off);
    t->len = malloc((size_t)t->cap * sizeof *t->len);
    t->hash = malloc((size_t)t->cap * sizeof *t->hash);
    t->slots = malloc((size_t)nslots * sizeof *t->slots);
    if (!t->blob || !t->off || !t->len || !t->hash || !t->slots) {
        tok_strtab_free(t);
        return CIRRUS_ERR_NOMEM;
    }
    memset(t->slots, 0xff, (size_t)nslots * sizeof *t->slots);
    return CIRRUS_OK;
}

void tok_strtab_free(tok_strtab *t) {
    free(t->blob);
    free(t->off);
    free(t->len);
    free(t->hash);
    free(t->slots);
    memset(t, 0, sizeof *t);
}

int32_t tok_strtab_find(const tok_strtab *t, const char *s, size_t len) {
    if (!t->slots) return -1;
    uint32_t h = tok_hash(s, len);
    for (uint32_t i = h & t->mask;; i = (i + 1) & t->mask) {
        int32_t id = t->slots[i];
        if (id < 0) return -1;
        if (t->hash[id] == h && t->len[id] == len && memcmp(t->blob + t->off[id], s, len) == 0) return id;
    }
}

static bool strtab_grow_index(tok_strtab *t) {
    uint32_t nslots = (t->mask + 1) * 2;
    int32_t *slots = malloc((size_t)nslots * sizeof *slots);
    if (!slots) return false;
    memset(slots, 0xff, (size_t)nslots * sizeof *slots);
    for (int32_t id = 0; id < t->n; id++) {
        uint32_t i = t->hash[id] & (nslots - 1);
        while (slots[i] >= 0) i = (i + 1) & (nslots - 1);
        slots[i] = id;
    }
    free(t->slots);
    t->slots = slots;
    t->mask = nslots - 1;
    return true;
}

int32_t tok_strtab_add(tok_strtab *t, const char *s, size_t len) {
    if (t->n == INT32_MAX || len > UINT32_MAX - 1) return -1;
    if (t->n == t->cap) {
        int32_t cap = t->cap > INT32_MAX / 2 ? INT32_MAX : t->cap * 2;
        uint64_t *off = realloc(t->off, (size_t)cap * sizeof *off);
        if (!off) return -1;
        t->off = off;
        uint32_t *ln = realloc(t->len, (size_t)cap * sizeof *ln);
        if (!ln) return -1;
        t->len = ln;
        uint32_t *hs = realloc(t->hash, (size_t)cap * sizeof *hs);
        if (!hs) return -1;
        t->hash = hs;
        t->cap = cap;
    }
    if ((size_t)(t->n + 1) * 2 > (size_t)t->mask + 1 && !strtab_grow_index(t)) return -1;
    if (t->blob_len + len + 1 > t->blob_cap) {
        size_t cap = t->blob_cap;
        while (cap < t->blob_len + len + 1) cap *= 2;
        char *b = realloc(t->blob, cap);
        if (!b) return -1;
        t->blob = b;
        t->blob_cap = cap;
    }
    int32_t id = t->n++;
    memcpy(t->blob + t->blob_len, s, len);
    t->blob[t->blob_len + len] = '\0';
    t->off[id] = t->blob_len;
    t->len[id] = (uint32_t)len;
    t->hash[id] = tok_hash(s, len);
    t->blob_len += len + 1;
    uint32_t i = t->hash[id] & t->mask;
    while (t->slots[i] >= 0) i = (i + 1) & t->mask;
    t->slots[i] = id;
    return id;
}

/* ---- pair map ------------------------------------------------------------------------------ */

static inline uint64_t pair_key(int32_t a, int32_t b) {
    return ((uint64_t)(uint32_t)a << 32 | (uint32_t)b) + 1;
}

static inline uint32_t pair_hash(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return (uint32_t)k;
}

cirrus_status tok_pairmap_init(tok_pairmap *m, size_t expect_n) {
    memset(m, 0, sizeof *m);
    uint32_t nslots = pow2_at_least(expect_n * 2);
    m->keys = calloc(nslots, sizeof *m->keys);
    m->vals = malloc((size_t)nslots * sizeof *m->vals);
    if (!m->keys || !m->vals) {
        tok_pairmap_free(m);
        return CIRRUS_ERR_NOMEM;
    }
    m->mask = nslots - 1;
    return CIRRUS_OK;
}

void tok_pairmap_free(tok_pairmap *m) {
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

void tok_pairmap_put(tok_pairmap *m, int32_t a, int32_t b, int32_t val) {
    /* Sized at init for every merge, so the table never fills past one half. */
    if (!m->keys || (m->n + 1) * 2 > (size_t)m->mask + 1) return;
    uint64_t k = pair_key(a, b);
    for (uint32_t i = pair_hash(k) & m->mask;; i = (i + 1) & m->mask) {
        if (m->keys[i] == k) return;
        if (m->keys[i] == 0) {
            m->keys[i] = k;
            m->vals[i] = val;
            m->n++;
            return;
        }
    }
}

int32_t tok_pairmap_get(const tok_pairmap *m, int32_t a, int32_t b) {
    if (!m->keys || a < 0 || b < 0) return -1;
    uint64_t k = pair_key(a, b);
    for (uint32_t i = pair_hash(k) & m->mask;; i = (i + 1) & m->mask) {
        if (m->keys[i] == k) return m->vals[i];
        if (m->keys[i] == 0) return -1;
    }
}

void tok_ids_push(tok_ids *o, int32_t id) {
    if (o->oom) return;
    if (o->n == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 64;
        int32_t *p = realloc(o->ids, cap * sizeof *p);
        if (!p) {
            o->oom = true;
            return;
        }
        o->ids = p;
        o->cap = cap;
    }
    o->ids[o->n++] = id;
}
