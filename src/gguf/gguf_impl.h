/*
 * gguf internals shared by the reader (gguf_read.c) and the accessors (gguf_query.c). Not a public
 * header: other modules include gguf.h only.
 */
#ifndef CIRRUS_GGUF_IMPL_H
#define CIRRUS_GGUF_IMPL_H

#include "gguf/gguf.h"

/* Arrays nested deeper than this are rejected (reader) and refused (writer). Real files nest at
 * most 2 levels; the limit bounds the parser's recursion on hostile input. */
#define GGUF_MAX_NEST 8

/*
 * Open-addressing hash index over names (kv keys or tensor names). slots[i] holds the element's
 * index + 1, 0 marks an empty slot. Invariants: cap is a power of two and at least twice the number
 * of entries, so a probe always reaches an empty slot; no two entries have equal names (the reader
 * rejects duplicates while building it).
 */
typedef struct {
    uint64_t *slots;
    uint64_t mask; /* cap - 1 */
    uint64_t seed; /* per index, so names cannot be crafted offline to collide (O(n^2) open) */
} gguf_index;

struct gguf_block; /* arena chunk, gguf_read.c */

struct gguf_ctx {
    const uint8_t *base; /* the whole image: mapping (gguf_open) or caller's buffer (gguf_open_mem) */
    uint64_t size;
    bool mapped;         /* base must be munmapped at close */

    uint32_t version;
    uint64_t alignment;
    uint64_t data_offset;

    uint64_t n_kv;
    gguf_kv *kvs;
    uint64_t n_tensors;
    gguf_tensor *tensors;

    gguf_index kv_index;
    gguf_index tensor_index;

    struct gguf_block *blocks; /* every allocation of the ctx except the ctx itself */
};

/* FNV-1a over n bytes, starting from seed, with a final avalanche. */
uint64_t gguf_hash_bytes(uint64_t seed, const void *p, size_t n);

/* Index of the element whose name (a gguf_str at `stride`-byte steps from `names`) equals s[0..n),
 * or -1. */
int64_t gguf_index_lookup(const gguf_index *ix, const void *names, size_t stride, const char *s,
                          size_t n);

/* Byte size of one element of a primitive (non-string, non-array) type; 0 for STRING/ARRAY or an
 * unknown type. */
size_t gguf_type_size(gguf_type t);

#endif
