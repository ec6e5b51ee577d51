/*
 * gguf — reading and writing GGUF files (versions 2 and 3).
 *
 * Reading maps the file (mmap, read-only) and validates everything before anything is used: every
 * count, string length, array length, tensor dimension, element-count product, data offset and
 * alignment is range- and overflow-checked against the file size. A malformed file yields
 * CIRRUS_ERR_FORMAT (or _RANGE / _UNSUPPORTED) and a one-line message naming the field and the byte
 * offset where it was read, e.g.
 *     "gguf: tensor 'blk.0.attn_q.weight' (#3) at offset 1234: dims product overflows"
 * (names from the file are escaped, so the message is always one line).
 * Nothing read from the file is ever asserted.
 *
 * Strings returned by the reader point into the mapping and are NOT NUL-terminated: use the
 * length. Tensor data pointers point into the mapping and stay valid until gguf_close().
 *
 * gguf knows tensor type sizes (through kernels' traits) but nothing about models.
 */
#ifndef CIRRUS_GGUF_H
#define CIRRUS_GGUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

#define GGUF_MAX_DIMS 4
#define GGUF_DEFAULT_ALIGNMENT 32

typedef enum {
    GGUF_TYPE_UINT8 = 0,
    GGUF_TYPE_INT8 = 1,
    GGUF_TYPE_UINT16 = 2,
    GGUF_TYPE_INT16 = 3,
    GGUF_TYPE_UINT32 = 4,
    GGUF_TYPE_INT32 = 5,
    GGUF_TYPE_FLOAT32 = 6,
    GGUF_TYPE_BOOL = 7,
    GGUF_TYPE_STRING = 8,
    GGUF_TYPE_ARRAY = 9,
    GGUF_TYPE_UINT64 = 10,
    GGUF_TYPE_INT64 = 11,
    GGUF_TYPE_FLOAT64 = 12,
    GGUF_TYPE_COUNT
} gguf_type;

const char *gguf_type_name(gguf_type t);

typedef struct {
    const char *ptr; /* not NUL-terminated */
    uint64_t len;
} gguf_str;

typedef struct gguf_value gguf_value;

typedef struct {
    gguf_type type;        /* element type */
    uint64_t n;            /* element count */
    const void *raw;       /* primitive elements: n * size, little-endian, possibly unaligned */
    const gguf_str *strs;  /* type == STRING: n strings */
    const gguf_value *arrs;/* type == ARRAY: n nested arrays (each a gguf_value of type ARRAY) */
} gguf_array;

struct gguf_value {
    gguf_type type;
    union {
        uint64_t u64; /* UINT8/16/32/64 */
        int64_t i64;  /* INT8/16/32/64 */
        double f64;   /* FLOAT32/64 */
        bool b;
        gguf_str str;
        gguf_array arr;
    } v;
};

typedef struct {
    gguf_str key;
    gguf_value value;
} gguf_kv;

typedef struct {
    gguf_str name;
    uint32_t n_dims;
    uint64_t ne[GGUF_MAX_DIMS]; /* ne[0] is the innermost (row length); unused dims are 1 */
    uint32_t type;              /* kn_type id */
    uint64_t offset;            /* relative to the data section, as stored */
    uint64_t nbytes;            /* validated: fits in the file */
    const void *data;           /* into the mapping (reader) */
} gguf_tensor;

typedef struct gguf_ctx gguf_ctx;

/* ---- reader -------------------------------------------------------------------------------- */

cirrus_status gguf_open(const char *path, gguf_ctx **out, cirrus_err *err);
/* Parses an in-memory image (the fuzz target and tests use this). buf must outlive the ctx. */
cirrus_status gguf_open_mem(const void *buf, size_t len, gguf_ctx **out, cirrus_err *err);
void gguf_close(gguf_ctx *g);

uint32_t gguf_version(const gguf_ctx *g);
uint64_t gguf_alignment(const gguf_ctx *g);
uint64_t gguf_data_offset(const gguf_ctx *g); /* file offset of the tensor data section */
uint64_t gguf_file_size(const gguf_ctx *g);
/* Tells the OS that [p, p + n) of the mapping will not be read for a while (the model loader
 * calls it for tensors it has copied into another layout): their pages leave this process's
 * resident set. The data stays valid -- a later read faults it back in from the file. A no-op
 * for in-memory images and for the partial pages at either end. */
void gguf_drop_pages(const gguf_ctx *g, const void *p, size_t n);

uint64_t gguf_n_kv(const gguf_ctx *g);
const gguf_kv *gguf_kv_at(const gguf_ctx *g, uint64_t i);
const gguf_kv *gguf_find(const gguf_ctx *g, const char *key); /* NULL if absent */

/* Typed getters: return false if absent or of an incompatible type / out of range for the target
 * (integers of any width convert when the value fits; floats accept FLOAT32/FLOAT64). */
bool gguf_get_u32(const gguf_ctx *g, const char *key, uint32_t *out);
bool gguf_get_i32(const gguf_ctx *g, const char *key, int32_t *out);
bool gguf_get_u64(const gguf_ctx *g, const char *key, uint64_t *out);
bool gguf_get_f32(const gguf_ctx *g, const char *key, float *out);
bool gguf_get_bool(const gguf_ctx *g, const char *key, bool *out);
bool gguf_get_str(const gguf_ctx *g, const char *key, gguf_str *out);
bool gguf_get_arr(const gguf_ctx *g, const char *key, const gguf_array **out);

/* Array element access (i < a->n checked; false on type mismatch). */
bool gguf_arr_i64(const gguf_array *a, uint64_t i, int64_t *out); /* any integer element type */
bool gguf_arr_f32(const gguf_array *a, uint64_t i, float *out);   /* FLOAT32/FLOAT64 */
bool gguf_arr_str(const gguf_array *a, uint64_t i, gguf_str *out);

/* Compares a gguf_str with a C string. */
bool gguf_str_eq(gguf_str s, const char *c);

uint64_t gguf_n_tensors(const gguf_ctx *g);
const gguf_tensor *gguf_tensor_at(const gguf_ctx *g, uint64_t i);
const gguf_tensor *gguf_find_tensor(const gguf_ctx *g, const char *name);

/* ---- writer -------------------------------------------------------------------------------- */

/*
 * Builds a GGUF v3 file: add metadata and tensors (data copied or referenced), then write. The
 * writer computes offsets and alignment padding itself. Keys must be unique (CIRRUS_ERR_INVALID).
 */
typedef struct gguf_writer gguf_writer;

cirrus_status gguf_writer_new(gguf_writer **out);
void gguf_writer_free(gguf_writer *w);

cirrus_status gguf_w_u32(gguf_writer *w, const char *key, uint32_t v);
cirrus_status gguf_w_i32(gguf_writer *w, const char *key, int32_t v);
cirrus_status gguf_w_u64(gguf_writer *w, const char *key, uint64_t v);
cirrus_status gguf_w_f32(gguf_writer *w, const char *key, float v);
cirrus_status gguf_w_bool(gguf_writer *w, const char *key, bool v);
cirrus_status gguf_w_str(gguf_writer *w, const char *key, const char *v);
/* Arrays of primitives: elem_type one of the numeric/bool types, data n elements packed LE. */
cirrus_status gguf_w_arr(gguf_writer *w, const char *key, gguf_type elem_type, const void *data,
                         uint64_t n);
cirrus_status gguf_w_arr_str(gguf_writer *w, const char *key, const char *const *strs, uint64_t n);
/* Any value, including the types the helpers above do not cover (u8/i8/u16/i16/i64/f64) and nested
 * arrays (arr.arrs, each element of type ARRAY, at most 8 levels deep). Scalars must fit their type
 * (u64 for unsigned, i64 for signed, f64 for floats); everything is copied. Also copies a kv from a
 * file being read: gguf_w_value(w, key, &gguf_kv_at(g, i)->value). */
cirrus_status gguf_w_value(gguf_writer *w, const char *key, const gguf_value *v);

/* Adds a tensor; ne[0] is the row length. data must hold kn_row_size(type, ne[0]) * rows bytes and
 * is copied (the writer owns its copy). */
cirrus_status gguf_w_tensor(gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims,
                            const uint64_t *ne, const void *data, size_t nbytes);

cirrus_status gguf_writer_write(gguf_writer *w, const char *path, cirrus_err *err);

#endif
