/*
 * Read-side accessors: lookups by key / name through the hash indexes built at open, typed getters
 * with range-checked conversions, and array element access. Everything here reads a ctx that
 * gguf_read.c has fully validated, so only the caller's arguments need checking.
 */
#include <string.h>

#include "gguf/gguf_impl.h"

const char *gguf_type_name(gguf_type t) {
    /* ggml's short names, so messages and `model info` read like llama.cpp's tools. */
    static const char *const names[GGUF_TYPE_COUNT] = {
        [GGUF_TYPE_UINT8] = "u8",    [GGUF_TYPE_INT8] = "i8",     [GGUF_TYPE_UINT16] = "u16",
        [GGUF_TYPE_INT16] = "i16",   [GGUF_TYPE_UINT32] = "u32",  [GGUF_TYPE_INT32] = "i32",
        [GGUF_TYPE_FLOAT32] = "f32", [GGUF_TYPE_BOOL] = "bool",   [GGUF_TYPE_STRING] = "str",
        [GGUF_TYPE_ARRAY] = "arr",   [GGUF_TYPE_UINT64] = "u64",  [GGUF_TYPE_INT64] = "i64",
        [GGUF_TYPE_FLOAT64] = "f64",
    };
    return (unsigned)t < GGUF_TYPE_COUNT ? names[t] : "unknown";
}

size_t gguf_type_size(gguf_type t) {
    switch (t) {
    case GGUF_TYPE_UINT8:
    case GGUF_TYPE_INT8:
    case GGUF_TYPE_BOOL: return 1;
    case GGUF_TYPE_UINT16:
    case GGUF_TYPE_INT16: return 2;
    case GGUF_TYPE_UINT32:
    case GGUF_TYPE_INT32:
    case GGUF_TYPE_FLOAT32: return 4;
    case GGUF_TYPE_UINT64:
    case GGUF_TYPE_INT64:
    case GGUF_TYPE_FLOAT64: return 8;
    default: return 0;
    }
}

uint64_t gguf_hash_bytes(uint64_t seed, const void *p, size_t n) {
    const uint8_t *s = p;
    uint64_t h = 0xcbf29ce484222325ull ^ seed;
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 0x100000001b3ull;
    /* FNV's low bits (the ones the mask keeps) depend weakly on the last bytes; mix them in. */
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

int64_t gguf_index_lookup(const gguf_index *ix, const void *names, size_t stride, const char *s,
                          size_t n) {
    if (!ix->slots) return -1;
    for (uint64_t h = gguf_hash_bytes(ix->seed, s, n) & ix->mask;; h = (h + 1) & ix->mask) {
        uint64_t e = ix->slots[h];
        if (!e) return -1; /* the table is at most half full, so this is reached */
        const gguf_str *o = (const gguf_str *)((const char *)names + (e - 1) * stride);
        if (o->len == n && !memcmp(o->ptr, s, n)) return (int64_t)(e - 1);
    }
}

bool gguf_str_eq(gguf_str s, const char *c) {
    size_t n = strlen(c);
    return s.len == n && (n == 0 || !memcmp(s.ptr, c, n));
}

/* ---- ctx facts --------------------------------------------------------------------------- */

uint32_t gguf_version(const gguf_ctx *g) { return g->version; }
uint64_t gguf_alignment(const gguf_ctx *g) { return g->alignment; }
uint64_t gguf_data_offset(const gguf_ctx *g) { return g->data_offset; }
uint64_t gguf_file_size(const gguf_ctx *g) { return g->size; }
uint64_t gguf_n_kv(const gguf_ctx *g) { return g->n_kv; }
uint64_t gguf_n_tensors(const gguf_ctx *g) { return g->n_tensors; }

const gguf_kv *gguf_kv_at(const gguf_ctx *g, uint64_t i) { return i < g->n_kv ? &g->kvs[i] : NULL; }

const gguf_tensor *gguf_tensor_at(const gguf_ctx *g, uint64_t i) {
    return i < g->n_tensors ? &g->tensors[i] : NULL;
}

const gguf_kv *gguf_find(const gguf_ctx *g, const char *key) {
    int64_t i = gguf_index_lookup(&g->kv_index, g->kvs, sizeof *g->kvs, key, strlen(key));
    return i < 0 ? NULL : &g->kvs[i];
}

const gguf_tensor *gguf_find_tensor(const gguf_ctx *g, const char *name) {
    int64_t i = gguf_index_lookup(&g->tensor_index, g->tensors, sizeof *g->tensors, name,
                                  strlen(name));
    return i < 0 ? NULL : &g->tensors[i];
}

/* ---- typed getters ------------------------------------------------------------------------ */

static bool is_unsigned(gguf_type t) {
    return t == GGUF_TYPE_UINT8 || t == GGUF_TYPE_UINT16 || t == GGUF_TYPE_UINT32 ||
           t == GGUF_TYPE_UINT64;
}

static bool is_signed(gguf_type t) {
    return t == GGUF_TYPE_INT8 || t == GGUF_TYPE_INT16 || t == GGUF_TYPE_INT32 ||
           t == GGUF_TYPE_INT64;
}

/* An integer value as sign + magnitude, so every target range is one comparison. */
static bool int_of(const gguf_value *v, bool *neg, uint64_t *mag) {
    if (is_unsigned(v->type)) {
        *neg = false;
        *mag = v->v.u64;
        return true;
    }
    if (is_signed(v->type)) {
        *neg = v->v.i64 < 0;
        *mag = *neg ? (uint64_t)0 - (uint64_t)v->v.i64 : (uint64_t)v->v.i64;
        return true;
    }
    return false;
}

static const gguf_value *find_value(const gguf_ctx *g, const char *key) {
    const gguf_kv *kv = gguf_find(g, key);
    return kv ? &kv->value : NULL;
}

bool gguf_get_u32(const gguf_ctx *g, const char *key, uint32_t *out) {
    const gguf_value *v = find_value(g, key);
    bool neg;
    uint64_t m;
    if (!v || !int_of(v, &neg, &m) || (neg && m) || m > UINT32_MAX) return false;
    *out = (uint32_t)m;
    return true;
}

bool gguf_get_i32(const gguf_ctx *g, const char *key, int32_t *out) {
    const gguf_value *v = find_value(g, key);
    bool neg;
    uint64_t m;
    if (!v || !int_of(v, &neg, &m) || m > (neg ? (uint64_t)INT32_MAX + 1 : (uint64_t)INT32_MAX))
        return false;
    *out = neg ? (int32_t)(0 - (int64_t)m) : (int32_t)m;
    return true;
}

bool gguf_get_u64(const gguf_ctx *g, const char *key, uint64_t *out) {
    const gguf_value *v = find_value(g, key);
    bool neg;
    uint64_t m;
    if (!v || !int_of(v, &neg, &m) || (neg && m)) return false;
    *out = m;
    return true;
}

bool gguf_get_f32(const gguf_ctx *g, const char *key, float *out) {
    const gguf_value *v = find_value(g, key);
    if (!v || (v->type != GGUF_TYPE_FLOAT32 && v->type != GGUF_TYPE_FLOAT64)) return false;
    *out = (float)v->v.f64;
    return true;
}

bool gguf_get_bool(const gguf_ctx *g, const char *key, bool *out) {
    const gguf_value *v = find_value(g, key);
    if (!v || v->type != GGUF_TYPE_BOOL) return false;
    *out = v->v.b;
    return true;
}

bool gguf_get_str(const gguf_ctx *g, const char *key, gguf_str *out) {
    const gguf_value *v = find_value(g, key);
    if (!v || v->type != GGUF_TYPE_STRING) return false;
    *out = v->v.str;
    return true;
}

bool gguf_get_arr(const gguf_ctx *g, const char *key, const gguf_array **out) {
    const gguf_value *v = find_value(g, key);
    if (!v || v->type != GGUF_TYPE_ARRAY) return false;
    *out = &v->v.arr;
    return true;
}

/* ---- array elements: raw elements are little-endian and may be unaligned ------------------- */

static uint64_t le_at(const void *raw, uint64_t i, size_t sz) {
    const uint8_t *p = (const uint8_t *)raw + i * sz;
    uint64_t v = 0;
    for (size_t k = sz; k-- > 0;) v = v << 8 | p[k];
    return v;
}

bool gguf_arr_i64(const gguf_array *a, uint64_t i, int64_t *out) {
    if (!a || i >= a->n) return false;
    size_t sz = gguf_type_size(a->type);
    uint64_t u = is_unsigned(a->type) || is_signed(a->type) ? le_at(a->raw, i, sz) : 0;
    switch (a->type) {
    case GGUF_TYPE_UINT8:
    case GGUF_TYPE_UINT16:
    case GGUF_TYPE_UINT32: *out = (int64_t)u; return true;
    case GGUF_TYPE_UINT64:
        if (u > INT64_MAX) return false;
        *out = (int64_t)u;
        return true;
    case GGUF_TYPE_INT8: *out = (int8_t)(uint8_t)u; return true;
    case GGUF_TYPE_INT16: *out = (int16_t)(uint16_t)u; return true;
    case GGUF_TYPE_INT32: *out = (int32_t)(uint32_t)u; return true;
    case GGUF_TYPE_INT64: *out = (int64_t)u; return true;
    default: return false;
    }
}

bool gguf_arr_f32(const gguf_array *a, uint64_t i, float *out) {
    if (!a || i >= a->n) return false;
    if (a->type == GGUF_TYPE_FLOAT32) {
        uint32_t bits = (uint32_t)le_at(a->raw, i, 4);
        memcpy(out, &bits, 4);
        return true;
    }
    if (a->type == GGUF_TYPE_FLOAT64) {
        uint64_t bits = le_at(a->raw, i, 8);
        double d;
        memcpy(&d, &bits, 8);
        *out = (float)d;
        return true;
    }
    return false;
}

bool gguf_arr_str(const gguf_array *a, uint64_t i, gguf_str *out) {
    if (!a || i >= a->n || a->type != GGUF_TYPE_STRING) return false;
    *out = a->strs[i];
    return true;
}
