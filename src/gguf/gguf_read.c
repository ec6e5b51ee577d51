/*
 * GGUF reader: maps a file (or takes a buffer) and validates every byte of its header, metadata and
 * tensor infos before anything is handed out.
 *
 * Layout (all little-endian; strings are u64 length + bytes, no NUL):
 *     "GGUF" | u32 version | u64 n_tensors | u64 n_kv
 *     n_kv       x { string key | u32 type | value }
 *                    value of ARRAY = u32 elem_type | u64 n | n elements (ARRAY elements recurse)
 *     n_tensors  x { string name | u32 n_dims | n_dims x u64 ne | u32 type | u64 offset }
 *     padding to general.alignment (default 32)
 *     data section: tensor bytes at their offsets (relative to the section start)
 *
 * Rules this parser keeps (the reasons gguf parsers have had CVEs):
 *  1. A count read from the file is compared with the bytes left BEFORE anything is allocated for
 *     it: every element needs at least a known number of bytes, so count > left / min_size is an
 *     error. Allocations are therefore bounded by a small multiple of the file size.
 *  2. Every addition and multiplication of file values is overflow-checked.
 *  3. Nothing read from the file is asserted; every failure is a status plus one line naming the
 *     field and the file offset where it was read. Names from the file are escaped in messages so a
 *     hostile name cannot break the one-line rule.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gguf/gguf_impl.h"
#include "kernels/kernels.h"

/* Smallest encodings, used to bound counts by the bytes left (rule 1). */
#define MIN_KV_BYTES 13     /* key length (8) + type (4) + a 1-byte value */
#define MIN_TENSOR_BYTES 24 /* name length (8) + n_dims (4) + type (4) + offset (8), 0 dims */
#define MIN_STRING_BYTES 8  /* length */
#define MIN_ARRAY_BYTES 12  /* elem type (4) + count (8) */

/* ---- arena: every allocation of a ctx lives in a chain of blocks freed by gguf_close ---------- */

struct gguf_block {
    struct gguf_block *next;
    size_t used, cap;
    max_align_t data[]; /* max_align_t so every carve-out is suitably aligned */
};

#define ARENA_CHUNK (64u * 1024u)

static void *arena_alloc(gguf_ctx *g, uint64_t n, size_t size) {
    uint64_t bytes;
    if (cirrus_mul_overflow_u64(n, size, &bytes) || bytes > SIZE_MAX / 2) return NULL;
    bytes = (bytes + sizeof(max_align_t) - 1) & ~(uint64_t)(sizeof(max_align_t) - 1);
    struct gguf_block *b = g->blocks;
    if (!b || b->cap - b->used < bytes) {
        /* Big requests get a block of their own so the current chunk keeps serving small ones. */
        size_t cap = bytes > ARENA_CHUNK / 4 ? (size_t)bytes : ARENA_CHUNK;
        struct gguf_block *nb = calloc(1, sizeof *nb + cap);
        if (!nb) return NULL;
        nb->cap = cap;
        if (b && cap != ARENA_CHUNK) {
            nb->next = b->next; /* keep the partly used chunk at the head */
            b->next = nb;
        } else {
            nb->next = b;
            g->blocks = nb;
        }
        b = nb;
    }
    void *p = (char *)b->data + b->used;
    b->used += (size_t)bytes;
    return p; /* zeroed: blocks come from calloc and are never reused */
}

/* ---- messages --------------------------------------------------------------------------------- */

/* Writes s[0..n) into dst quoted-safe: printable ASCII as is, everything else as \xNN, cut with
 * "..." past a few dozen characters so a long name cannot crowd out the rest of the message. */
static void escape_name(char *dst, size_t cap, const uint8_t *s, uint64_t n) {
    size_t o = 0;
    for (uint64_t i = 0; i < n; i++) {
        if (o + 8 >= cap || i >= 48) {
            memcpy(dst + o, "...", 4);
            return;
        }
        uint8_t c = s[i];
        if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'')
            dst[o++] = (char)c;
        else
            o += (size_t)snprintf(dst + o, cap - o, "\\x%02x", c);
    }
    dst[o] = 0;
}

/* The parse cursor. `where` says which kv or tensor is being read ("kv #3 'general.name'"), so
 * every message can name its field without formatting anything on the success path. */
typedef struct {
    gguf_ctx *g;
    const uint8_t *p;
    uint64_t size;
    uint64_t pos;
    cirrus_err *err;
    char where[128];
} rd;

__attribute__((format(printf, 5, 6))) static cirrus_status fail(rd *r, cirrus_status st,
                                                                 uint64_t off, const char *field,
                                                                 const char *fmt, ...) {
    char why[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return cirrus_errf(r->err, st, "gguf: %s%s%s at offset %" PRIu64 ": %s", r->where,
                       r->where[0] && field[0] ? " " : "", field, off, why);
}

static uint64_t left(const rd *r) { return r->size - r->pos; }

static cirrus_status truncated(rd *r, const char *field, uint64_t need) {
    return fail(r, CIRRUS_ERR_FORMAT, r->pos, field,
                "file truncated (needs %" PRIu64 " bytes, %" PRIu64 " left)", need, left(r));
}

/* ---- primitive reads: byte assembly, so the host's endianness and alignment do not matter ----- */

static uint64_t le(const uint8_t *p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static cirrus_status rd_u32(rd *r, const char *field, uint32_t *out) {
    if (left(r) < 4) return truncated(r, field, 4);
    *out = (uint32_t)le(r->p + r->pos, 4);
    r->pos += 4;
    return CIRRUS_OK;
}

static cirrus_status rd_u64(rd *r, const char *field, uint64_t *out) {
    if (left(r) < 8) return truncated(r, field, 8);
    *out = le(r->p + r->pos, 8);
    r->pos += 8;
    return CIRRUS_OK;
}

/* A string is checked against the bytes left before it is "read" (it is only pointed at). */
static cirrus_status rd_str(rd *r, const char *field, gguf_str *out) {
    uint64_t at = r->pos, len = 0; /* = 0: -O3 cannot see that a failed read returns first */
    cirrus_status st = rd_u64(r, field, &len);
    if (st) return st;
    if (len > left(r))
        return fail(r, CIRRUS_ERR_FORMAT, at, field,
                    "string length %" PRIu64 " exceeds the %" PRIu64 " bytes left", len, left(r));
    out->ptr = (const char *)r->p + r->pos;
    out->len = len;
    r->pos += len;
    return CIRRUS_OK;
}

/* Decodes one primitive element at p (the caller checked that gguf_type_size(t) bytes exist). */
static void decode_scalar(gguf_type t, const uint8_t *p, gguf_value *v) {
    v->type = t;
    switch (t) {
    case GGUF_TYPE_UINT8: v->v.u64 = p[0]; break;
    case GGUF_TYPE_UINT16: v->v.u64 = le(p, 2); break;
    case GGUF_TYPE_UINT32: v->v.u64 = le(p, 4); break;
    case GGUF_TYPE_UINT64: v->v.u64 = le(p, 8); break;
    case GGUF_TYPE_INT8: v->v.i64 = (int8_t)p[0]; break;
    case GGUF_TYPE_INT16: v->v.i64 = (int16_t)(uint16_t)le(p, 2); break;
    case GGUF_TYPE_INT32: v->v.i64 = (int32_t)(uint32_t)le(p, 4); break;
    case GGUF_TYPE_INT64: v->v.i64 = (int64_t)le(p, 8); break;
    case GGUF_TYPE_FLOAT32: {
        uint32_t bits = (uint32_t)le(p, 4);
        float f;
        memcpy(&f, &bits, 4);
        v->v.f64 = f;
        break;
    }
    case GGUF_TYPE_FLOAT64: {
        uint64_t bits = le(p, 8);
        memcpy(&v->v.f64, &bits, 8);
        break;
    }
    case GGUF_TYPE_BOOL: v->v.b = p[0] != 0; break;
    default: break; /* STRING / ARRAY never reach here */
    }
}

/* ---- metadata values -------------------------------------------------------------------------- */

/* Reads an array body (elem type, count, elements) into a. depth counts the arrays enclosing this
 * one, 1 for a kv's own array. */
static cirrus_status rd_array(rd *r, gguf_array *a, int depth) {
    uint64_t at = r->pos;
    uint32_t et = 0;
    cirrus_status st = rd_u32(r, "array element type", &et);
    if (st) return st;
    if (et >= GGUF_TYPE_COUNT)
        return fail(r, CIRRUS_ERR_FORMAT, at, "array element type", "unknown type %" PRIu32, et);
    if (et == GGUF_TYPE_ARRAY && depth >= GGUF_MAX_NEST)
        return fail(r, CIRRUS_ERR_RANGE, at, "array element type",
                    "arrays nested deeper than %d levels", GGUF_MAX_NEST);
    uint64_t n_at = r->pos, n = 0;
    if ((st = rd_u64(r, "array length", &n))) return st;
    a->type = (gguf_type)et;
    a->n = n;

    size_t esz = gguf_type_size(a->type);
    uint64_t min = esz ? esz : et == GGUF_TYPE_STRING ? MIN_STRING_BYTES : MIN_ARRAY_BYTES;
    if (n > left(r) / min)
        return fail(r, CIRRUS_ERR_RANGE, n_at, "array length",
                    "%" PRIu64 " elements of %s cannot fit in the %" PRIu64 " bytes left", n,
                    gguf_type_name(a->type), left(r));
    if (esz) {
        a->raw = r->p + r->pos;
        r->pos += n * esz; /* no overflow: n * esz <= left(r) */
        return CIRRUS_OK;
    }
    if (n == 0) return CIRRUS_OK;
    if (et == GGUF_TYPE_STRING) {
        gguf_str *s = arena_alloc(r->g, n, sizeof *s);
        if (!s) return fail(r, CIRRUS_ERR_NOMEM, n_at, "array length", "out of memory");
        a->strs = s;
        for (uint64_t i = 0; i < n; i++) {
            if (left(r) < 8 || le(r->p + r->pos, 8) > left(r) - 8) {
                char field[48];
                snprintf(field, sizeof field, "string #%" PRIu64, i);
                st = rd_str(r, field, &s[i]); /* fails, with the precise reason */
                if (st) return st;
                return fail(r, CIRRUS_ERR_INTERNAL, r->pos, field, "string bounds disagree");
            }
            s[i].len = le(r->p + r->pos, 8);
            s[i].ptr = (const char *)r->p + r->pos + 8;
            r->pos += 8 + s[i].len;
        }
        return CIRRUS_OK;
    }
    gguf_value *v = arena_alloc(r->g, n, sizeof *v);
    if (!v) return fail(r, CIRRUS_ERR_NOMEM, n_at, "array length", "out of memory");
    a->arrs = v;
    for (uint64_t i = 0; i < n; i++) {
        v[i].type = GGUF_TYPE_ARRAY;
        if ((st = rd_array(r, &v[i].v.arr, depth + 1))) return st;
    }
    return CIRRUS_OK;
}

static cirrus_status rd_value(rd *r, gguf_type t, gguf_value *v) {
    v->type = t;
    if (t == GGUF_TYPE_STRING) return rd_str(r, "value", &v->v.str);
    if (t == GGUF_TYPE_ARRAY) return rd_array(r, &v->v.arr, 1);
    size_t sz = gguf_type_size(t);
    if (left(r) < sz) return truncated(r, "value", sz);
    decode_scalar(t, r->p + r->pos, v);
    r->pos += sz;
    return CIRRUS_OK;
}

/* ---- name index --------------------------------------------------------------------------- */

static cirrus_status index_init(gguf_ctx *g, gguf_index *ix, uint64_t n) {
    uint64_t cap = 16;
    while (cap < 2 * n) cap *= 2; /* n is bounded by the file size, so this terminates early */
    ix->slots = arena_alloc(g, cap, sizeof *ix->slots);
    if (!ix->slots) return CIRRUS_ERR_NOMEM;
    ix->mask = cap - 1;
    /* Not a secret, only unpredictable to whoever made the file: ASLR'd address and the clock. */
    ix->seed = ((uint64_t)(uintptr_t)ix * 0x9e3779b97f4a7c15ull) ^ cirrus_now_ns();
    return CIRRUS_OK;
}

/* Inserts element i; returns the index of an earlier element with the same name, or -1. */
static int64_t index_insert(gguf_index *ix, const void *names, size_t stride, uint64_t i) {
    const gguf_str *s = (const gguf_str *)((const char *)names + i * stride);
    uint64_t h = gguf_hash_bytes(ix->seed, s->ptr, (size_t)s->len) & ix->mask;
    for (;; h = (h + 1) & ix->mask) {
        uint64_t e = ix->slots[h];
        if (!e) {
            ix->slots[h] = i + 1;
            return -1;
        }
        const gguf_str *o = (const gguf_str *)((const char *)names + (e - 1) * stride);
        if (o->len == s->len && !memcmp(o->ptr, s->ptr, (size_t)s->len)) return (int64_t)(e - 1);
    }
}

/* ---- the parse ---------------------------------------------------------------------------- */

static cirrus_status parse_header(rd *r) {
    gguf_ctx *g = r->g;
    if (r->size == 0) return fail(r, CIRRUS_ERR_FORMAT, 0, "header", "file is empty");
    if (r->size < 4) return truncated(r, "magic", 4);
    const uint8_t *m = r->p;
    if (!memcmp(m, "FUGG", 4))
        return fail(r, CIRRUS_ERR_UNSUPPORTED, 0, "magic",
                    "big-endian GGUF files are not supported");
    if (memcmp(m, "GGUF", 4))
        return fail(r, CIRRUS_ERR_FORMAT, 0, "magic",
                    "not a GGUF file (bytes %02x %02x %02x %02x, expected \"GGUF\")", m[0], m[1],
                    m[2], m[3]);
    r->pos = 4;
    cirrus_status st = rd_u32(r, "version", &g->version);
    if (st) return st;
    uint32_t v = g->version;
    uint32_t swapped = __builtin_bswap32(v);
    if (v > 0xffff && swapped >= 1 && swapped <= 3)
        return fail(r, CIRRUS_ERR_UNSUPPORTED, 4, "version",
                    "big-endian GGUF files are not supported (version reads as %" PRIu32 ")", v);
    if (v == 1)
        return fail(r, CIRRUS_ERR_UNSUPPORTED, 4, "version",
                    "GGUF version 1 is obsolete and not supported (convert to v3)");
    if (v != 2 && v != 3)
        return fail(r, CIRRUS_ERR_UNSUPPORTED, 4, "version",
                    "version %" PRIu32 " is not supported (only 2 and 3)", v);

    if ((st = rd_u64(r, "n_tensors", &g->n_tensors))) return st;
    if ((st = rd_u64(r, "n_kv", &g->n_kv))) return st;
    /* Both tables come next, so both must fit in what is left (rule 1). */
    if (g->n_tensors > left(r) / MIN_TENSOR_BYTES)
        return fail(r, CIRRUS_ERR_RANGE, 8, "n_tensors",
                    "%" PRIu64 " tensor infos cannot fit in the %" PRIu64 " bytes left",
                    g->n_tensors, left(r));
    uint64_t rest = left(r) - g->n_tensors * MIN_TENSOR_BYTES;
    if (g->n_kv > rest / MIN_KV_BYTES)
        return fail(r, CIRRUS_ERR_RANGE, 16, "n_kv",
                    "%" PRIu64 " key/value pairs cannot fit in the %" PRIu64 " bytes left",
                    g->n_kv, left(r));
    return CIRRUS_OK;
}

/* general.alignment decides where the data section starts, so a bad one is an error, not a
 * fallback to the default (llama.cpp does the same). */
static cirrus_status check_alignment(rd *r, const gguf_value *v, uint64_t at) {
    if (v->type != GGUF_TYPE_UINT32)
        return fail(r, CIRRUS_ERR_FORMAT, at, "", "must be of type u32, is %s",
                    gguf_type_name(v->type));
    uint64_t a = v->v.u64;
    if (a == 0 || (a & (a - 1)))
        return fail(r, CIRRUS_ERR_FORMAT, at, "", "alignment %" PRIu64 " is not a power of two",
                    a);
    r->g->alignment = a;
    return CIRRUS_OK;
}

static cirrus_status parse_kvs(rd *r) {
    gguf_ctx *g = r->g;
    cirrus_status st;
    if (g->n_kv) {
        g->kvs = arena_alloc(g, g->n_kv, sizeof *g->kvs);
        if (!g->kvs) return fail(r, CIRRUS_ERR_NOMEM, 16, "n_kv", "out of memory");
    }
    if (index_init(g, &g->kv_index, g->n_kv))
        return fail(r, CIRRUS_ERR_NOMEM, 16, "n_kv", "out of memory");
    for (uint64_t i = 0; i < g->n_kv; i++) {
        gguf_kv *kv = &g->kvs[i];
        snprintf(r->where, sizeof r->where, "kv #%" PRIu64, i);
        uint64_t key_at = r->pos;
        if ((st = rd_str(r, "key", &kv->key))) return st;
        char name[72];
        escape_name(name, sizeof name, (const uint8_t *)kv->key.ptr, kv->key.len);
        snprintf(r->where, sizeof r->where, "kv #%" PRIu64 " '%s'", i, name);
        int64_t dup = index_insert(&g->kv_index, g->kvs, sizeof *g->kvs, i);
        if (dup >= 0)
            return fail(r, CIRRUS_ERR_FORMAT, key_at, "key", "duplicate key (first at kv #%" PRId64 ")",
                        dup);
        uint64_t type_at = r->pos;
        uint32_t t = 0;
        if ((st = rd_u32(r, "type", &t))) return st;
        if (t >= GGUF_TYPE_COUNT)
            return fail(r, CIRRUS_ERR_FORMAT, type_at, "type", "unknown value type %" PRIu32, t);
        uint64_t val_at = r->pos;
        if ((st = rd_value(r, (gguf_type)t, &kv->value))) return st;
        if (gguf_str_eq(kv->key, "general.alignment") &&
            (st = check_alignment(r, &kv->value, val_at)))
            return st;
    }
    r->where[0] = 0;
    return CIRRUS_OK;
}

static void set_tensor_where(rd *r, const gguf_tensor *t, uint64_t i) {
    char name[72];
    escape_name(name, sizeof name, (const uint8_t *)t->name.ptr, t->name.len);
    snprintf(r->where, sizeof r->where, "tensor '%s' (#%" PRIu64 ")", name, i);
}

/* Validates one tensor's shape and type and computes its byte size. Offsets are those of the
 * fields, for messages. */
static cirrus_status check_shape(rd *r, gguf_tensor *t, uint64_t ne_at, uint64_t type_at) {
    const kn_traits *tr = kn_type_traits(t->type);
    if (!tr)
        return fail(r, CIRRUS_ERR_UNSUPPORTED, type_at, "type",
                    "unknown tensor type id %" PRIu32, t->type);
    /* Like ggml: each ne fits in int64 and so does their product (ggml counts in int64). The rows
     * are multiplied first so that ne[0] == 0 cannot hide an overflow of the others. */
    for (uint32_t j = 0; j < GGUF_MAX_DIMS; j++)
        if (t->ne[j] > INT64_MAX)
            return fail(r, CIRRUS_ERR_RANGE, ne_at + 8 * j, "",
                        "ne[%" PRIu32 "] = %" PRIu64 " is negative as int64", j, t->ne[j]);
    uint64_t rows = 1, n;
    for (uint32_t j = 1; j < GGUF_MAX_DIMS; j++)
        if (cirrus_mul_overflow_u64(rows, t->ne[j], &rows) || rows > INT64_MAX)
            return fail(r, CIRRUS_ERR_RANGE, ne_at, "", "dims product overflows");
    if (cirrus_mul_overflow_u64(t->ne[0], rows, &n) || n > INT64_MAX)
        return fail(r, CIRRUS_ERR_RANGE, ne_at, "", "dims product overflows");
    if (t->ne[0] % tr->blck_size)
        return fail(r, CIRRUS_ERR_FORMAT, ne_at, "",
                    "ne[0] = %" PRIu64 " is not a multiple of the %s block size %" PRIu32,
                    t->ne[0], tr->name, tr->blck_size);
    /* Computed here rather than with kn_row_size so that every step is overflow-checked. */
    uint64_t row;
    if (cirrus_mul_overflow_u64(t->ne[0] / tr->blck_size, tr->type_size, &row) ||
        cirrus_mul_overflow_u64(row, rows, &t->nbytes))
        return fail(r, CIRRUS_ERR_RANGE, ne_at, "", "byte size overflows");
    return CIRRUS_OK;
}

/* For each tensor, the file offset of its info's offset field (messages after the info pass). */
static cirrus_status parse_tensor_infos(rd *r, uint64_t *off_at) {
    gguf_ctx *g = r->g;
    cirrus_status st;
    if (index_init(g, &g->tensor_index, g->n_tensors))
        return fail(r, CIRRUS_ERR_NOMEM, 8, "n_tensors", "out of memory");
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        gguf_tensor *t = &g->tensors[i];
        snprintf(r->where, sizeof r->where, "tensor #%" PRIu64, i);
        uint64_t name_at = r->pos;
        if ((st = rd_str(r, "name", &t->name))) return st;
        set_tensor_where(r, t, i);
        int64_t dup = index_insert(&g->tensor_index, g->tensors, sizeof *g->tensors, i);
        if (dup >= 0)
            return fail(r, CIRRUS_ERR_FORMAT, name_at, "name",
                        "duplicate tensor name (first at tensor #%" PRId64 ")", dup);
        uint64_t dims_at = r->pos;
        if ((st = rd_u32(r, "n_dims", &t->n_dims))) return st;
        if (t->n_dims > GGUF_MAX_DIMS)
            return fail(r, CIRRUS_ERR_FORMAT, dims_at, "n_dims", "%" PRIu32 " dims (at most %d)",
                        t->n_dims, GGUF_MAX_DIMS);
        uint64_t ne_at = r->pos;
        for (uint32_t j = 0; j < GGUF_MAX_DIMS; j++) {
            t->ne[j] = 1;
            if (j < t->n_dims && (st = rd_u64(r, "ne", &t->ne[j]))) return st;
        }
        uint64_t type_at = r->pos;
        if ((st = rd_u32(r, "type", &t->type))) return st;
        off_at[i] = r->pos;
        if ((st = rd_u64(r, "data offset", &t->offset))) return st;
        if ((st = check_shape(r, t, ne_at, type_at))) return st;
        if (t->offset % g->alignment)
            return fail(r, CIRRUS_ERR_FORMAT, off_at[i], "data offset",
                        "%" PRIu64 " is not a multiple of the alignment %" PRIu64, t->offset,
                        g->alignment);
    }
    r->where[0] = 0;
    return CIRRUS_OK;
}

typedef struct {
    uint64_t offset, nbytes, idx;
} region;

static int by_offset(const void *a, const void *b) {
    const region *x = a, *y = b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Places the data section and checks every tensor's bytes lie inside the file and apart from the
 * others. Regions are checked sorted by offset: non-overlapping means each ends before the next
 * begins. */
static cirrus_status place_data(rd *r, const uint64_t *off_at) {
    gguf_ctx *g = r->g;
    uint64_t a = g->alignment, start;
    if (cirrus_add_overflow_u64(r->pos, a - 1, &start))
        return fail(r, CIRRUS_ERR_RANGE, r->pos, "data section", "start overflows");
    g->data_offset = start & ~(a - 1);
    if (g->n_tensors == 0) return CIRRUS_OK; /* vocab-only files may omit the final padding */

    region *reg = malloc(g->n_tensors * sizeof *reg); /* n_tensors <= size / 24 */
    if (!reg) return fail(r, CIRRUS_ERR_NOMEM, 8, "n_tensors", "out of memory");
    cirrus_status st = CIRRUS_OK;
    uint64_t n_reg = 0;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        gguf_tensor *t = &g->tensors[i];
        uint64_t begin, end;
        if (cirrus_add_overflow_u64(g->data_offset, t->offset, &begin) ||
            cirrus_add_overflow_u64(begin, t->nbytes, &end) || end > g->size) {
            set_tensor_where(r, t, i);
            st = fail(r, CIRRUS_ERR_FORMAT, off_at[i], "data offset",
                      "data (offset %" PRIu64 ", %" PRIu64 " bytes, section at %" PRIu64
                      ") runs past the end of the file (%" PRIu64 " bytes)",
                      t->offset, t->nbytes, g->data_offset, g->size);
            break;
        }
        t->data = g->base + begin;
        if (t->nbytes) reg[n_reg++] = (region){t->offset, t->nbytes, i}; /* empty overlaps nothing */
    }
    if (!st) {
        qsort(reg, n_reg, sizeof *reg, by_offset);
        for (uint64_t k = 1; k < n_reg; k++) {
            /* no overflow: offset + nbytes was checked against the file size above */
            if (reg[k].offset >= reg[k - 1].offset + reg[k - 1].nbytes) continue;
            const gguf_tensor *p = &g->tensors[reg[k - 1].idx];
            char other[72];
            escape_name(other, sizeof other, (const uint8_t *)p->name.ptr, p->name.len);
            set_tensor_where(r, &g->tensors[reg[k].idx], reg[k].idx);
            st = fail(r, CIRRUS_ERR_FORMAT, off_at[reg[k].idx], "data offset",
                      "data overlaps tensor '%s' (#%" PRIu64 ")", other, reg[k - 1].idx);
            break;
        }
    }
    free(reg);
    return st;
}

static cirrus_status parse(gguf_ctx *g, cirrus_err *err) {
    rd r = {.g = g, .p = g->base, .size = g->size, .err = err};
    g->alignment = GGUF_DEFAULT_ALIGNMENT;
    cirrus_status st;
    if ((st = parse_header(&r)) || (st = parse_kvs(&r))) return st;
    uint64_t *off_at = NULL;
    if (g->n_tensors) {
        g->tensors = arena_alloc(g, g->n_tensors, sizeof *g->tensors);
        off_at = malloc(g->n_tensors * sizeof *off_at);
        if (!g->tensors || !off_at) {
            free(off_at);
            return fail(&r, CIRRUS_ERR_NOMEM, 8, "n_tensors", "out of memory");
        }
    }
    if (!(st = parse_tensor_infos(&r, off_at))) st = place_data(&r, off_at);
    free(off_at);
    return st;
}

/* ---- open / close ------------------------------------------------------------------------- */

static cirrus_status open_image(const uint8_t *base, uint64_t size, bool mapped, gguf_ctx **out,
                                cirrus_err *err) {
    gguf_ctx *g = calloc(1, sizeof *g);
    if (!g) return cirrus_errf(err, CIRRUS_ERR_NOMEM, "gguf: out of memory");
    g->base = base;
    g->size = size;
    g->mapped = mapped;
    cirrus_status st = parse(g, err);
    if (st) {
        g->mapped = false; /* the caller unmaps on failure */
        gguf_close(g);
        return st;
    }
    *out = g;
    return CIRRUS_OK;
}

cirrus_status gguf_open_mem(const void *buf, size_t len, gguf_ctx **out, cirrus_err *err) {
    *out = NULL;
    if (!buf && len) return cirrus_errf(err, CIRRUS_ERR_INVALID, "gguf: NULL buffer");
    return open_image(buf, len, false, out, err);
}

cirrus_status gguf_open(const char *path, gguf_ctx **out, cirrus_err *err) {
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return cirrus_errf(err, CIRRUS_ERR_IO, "gguf: cannot open %s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return cirrus_errf(err, CIRRUS_ERR_IO, "gguf: cannot stat %s: %s", path, strerror(e));
    }
    if (S_ISDIR(sb.st_mode)) {
        close(fd);
        return cirrus_errf(err, CIRRUS_ERR_IO, "gguf: %s is a directory, not a GGUF file", path);
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return cirrus_errf(err, CIRRUS_ERR_IO, "gguf: %s is not a regular file", path);
    }
    if (sb.st_size == 0) {
        close(fd);
        return cirrus_errf(err, CIRRUS_ERR_FORMAT, "gguf: header at offset 0: %s is empty", path);
    }
    /* Read-only private mapping: weights are paged in on demand and shared with the page cache.
     * (A file truncated by someone else while mapped raises SIGBUS on access; we accept that, as
     * every mmap-based loader does.) */
    void *m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd); /* the mapping keeps the file alive */
    if (m == MAP_FAILED) return cirrus_errf(err, CIRRUS_ERR_IO, "gguf: cannot map %s: %s", path, strerror(e));
    cirrus_status st = open_image(m, (uint64_t)sb.st_size, true, out, err);
    if (st) munmap(m, (size_t)sb.st_size);
    return st;
}

void gguf_drop_pages(const gguf_ctx *g, const void *p, size_t n) {
    if (!g || !g->mapped || !p || n == 0) return;
    const uintptr_t lo = (uintptr_t)g->base, hi = lo + (uintptr_t)g->size;
    uintptr_t a = (uintptr_t)p, b = a + n;
    if (a < lo || b > hi || b < a) return; /* not ours */
    const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    a = (a + page - 1) / page * page; /* whole pages inside the range only */
    b = b / page * page;
    if (b <= a) return;
    /* MADV_RANDOM first: it gives the range a mapping of its own, so the kernel's fault-around
     * (which maps a fault's neighbouring pages, up to 64 KiB, within one mapping) cannot bring
     * these pages back when a neighbouring tensor is read. Both are advice: failure changes
     * nothing but the resident set. */
    (void)madvise((void *)a, b - a, MADV_RANDOM);
    (void)madvise((void *)a, b - a, MADV_DONTNEED);
}

void gguf_close(gguf_ctx *g) {
    if (!g) return;
    for (struct gguf_block *b = g->blocks, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    if (g->mapped) munmap((void *)g->base, (size_t)g->size);
    free(g);
}
