/*
 * core — the few things every other module needs: one status type, error messages that name
 * what went wrong, logging, a monotonic clock, checked arithmetic, bounded growable memory
 * (array, byte buffer, arena, hash table) and a persistent thread pool.
 *
 * Conventions (see shared/STYLE.md):
 *  - Functions that can fail return cirrus_status; results travel through out-parameters.
 *  - A function that fails on external input also fills a cirrus_err with one line that names the
 *    field (and, for files, the byte offset). The caller decides whether to print it.
 *  - core knows nothing about any other module.
 */
#ifndef CIRRUS_CORE_H
#define CIRRUS_CORE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- status ------------------------------------------------------------------------------- */

typedef enum {
    CIRRUS_OK = 0,
    CIRRUS_ERR_NOMEM,       /* allocation failed */
    CIRRUS_ERR_IO,          /* open/read/write/mmap failed */
    CIRRUS_ERR_FORMAT,      /* external bytes are malformed (file, request body) */
    CIRRUS_ERR_RANGE,       /* a value is outside what we accept (counts, sizes, overflow) */
    CIRRUS_ERR_UNSUPPORTED, /* well-formed but not something we implement (arch, tensor type) */
    CIRRUS_ERR_INVALID,     /* bad argument from a caller or a user (CLI flag, parameter) */
    CIRRUS_ERR_NOT_FOUND,   /* a named thing (key, tensor, model) does not exist */
    CIRRUS_ERR_FULL,        /* a bounded resource (KV cache, queue, buffer) is exhausted */
    CIRRUS_ERR_INTERNAL,    /* a bug: an invariant of our own did not hold */
} cirrus_status;

const char *cirrus_status_str(cirrus_status s);

/* A one-line, human-readable reason for the last failure of a call. Fixed size: filling it can
 * never fail or allocate. */
typedef struct {
    char msg[256];
} cirrus_err;

/* Formats into err (if err is non-NULL) and returns st, so call sites read
 *   return cirrus_errf(err, CIRRUS_ERR_FORMAT, "tensor %s: offset %llu past end", ...); */
cirrus_status cirrus_errf(cirrus_err *err, cirrus_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- logging ------------------------------------------------------------------------------ */

typedef enum { CIRRUS_LOG_DEBUG, CIRRUS_LOG_INFO, CIRRUS_LOG_WARN, CIRRUS_LOG_ERROR } cirrus_log_level;

void cirrus_log_set_level(cirrus_log_level lvl);
void cirrus_log(cirrus_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define CIRRUS_DEBUG(...) cirrus_log(CIRRUS_LOG_DEBUG, __VA_ARGS__)
#define CIRRUS_INFO(...)  cirrus_log(CIRRUS_LOG_INFO, __VA_ARGS__)
#define CIRRUS_WARN(...)  cirrus_log(CIRRUS_LOG_WARN, __VA_ARGS__)
#define CIRRUS_ERROR(...) cirrus_log(CIRRUS_LOG_ERROR, __VA_ARGS__)

/* ---- clock -------------------------------------------------------------------------------- */

uint64_t cirrus_now_ns(void); /* CLOCK_MONOTONIC */

/* ---- checked arithmetic: true on overflow (result unspecified then) ------------------------ */

static inline bool cirrus_mul_overflow_u64(uint64_t a, uint64_t b, uint64_t *r) {
    return __builtin_mul_overflow(a, b, r);
}
static inline bool cirrus_add_overflow_u64(uint64_t a, uint64_t b, uint64_t *r) {
    return __builtin_add_overflow(a, b, r);
}

/* ---- allocation helpers ------------------------------------------------------------------- */

/* 64-byte aligned, zeroed; NULL on failure or size overflow. Free with cirrus_free_aligned. */
void *cirrus_alloc_aligned(size_t n, size_t size);
void cirrus_free_aligned(void *p);
/* Large, long-lived buffers (repacked weights): zero pages mapped lazily -- nothing is resident
 * until written -- 2 MiB aligned and offered to the kernel as transparent huge pages, which
 * spares a stream through hundreds of MiB a TLB miss every 4 KiB. NULL on failure. Free with
 * cirrus_big_free and the same size. */
void *cirrus_big_alloc(size_t bytes);
void cirrus_big_free(void *p, size_t bytes);

/* Reads a whole file into a NUL-terminated heap buffer (for small text inputs, not weights). */
cirrus_status cirrus_read_file(const char *path, size_t max_bytes, char **out, size_t *out_len,
                               cirrus_err *err);

/* ---- memory that grows, always with a ceiling (buf.c, map.c) -------------------------------
 * Four shapes cover every growth in cirrus; each takes a maximum because what makes it grow comes
 * from outside. Use these instead of a hand-written realloc loop or a private hash table. */

/* A growable array: declare `CIRRUS_VEC(T) v = {0};`, then `cirrus_vec_push(&v, max, x)` or
 * `cirrus_vec_reserve(...)` directly; free `v.v`. Capacity doubles; never more than max items.
 * FULL past max, NOMEM when the allocation fails (the array is unchanged either way). */
#define CIRRUS_VEC(T) struct { T *v; size_t n, cap; }
/* items: the address of the array's pointer (any T **); it is read and written through memcpy,
 * so the cast is well defined for every T. */
cirrus_status cirrus_vec_reserve(void *items, size_t *cap, size_t need, size_t elem, size_t max);
static inline cirrus_status cirrus_vec_fail_(bool full) { return full ? CIRRUS_ERR_FULL : CIRRUS_ERR_NOMEM; }
#define cirrus_vec_push(vec, max, x)                                                                \
    (cirrus_vec_reserve(&(vec)->v, &(vec)->cap, (vec)->n + 1, sizeof *(vec)->v, (max))               \
         ? cirrus_vec_fail_((vec)->n + 1 > (max))                                                   \
         : ((vec)->v[(vec)->n++] = (x), CIRRUS_OK))

/* A bounded byte buffer (curl's dynbuf). p is NUL-terminated once anything was added (NULL
 * before: read it through cirrus_buf_str). The first failed growth -- past max (FULL) or out of
 * memory (NOMEM) -- is sticky in `fail`: later adds change nothing and return it, so a writer of
 * many pieces checks once at the end. */
typedef struct {
    char *p;
    size_t len, cap, max;
    cirrus_status fail;
} cirrus_buf;
void cirrus_buf_init(cirrus_buf *b, size_t max);
void cirrus_buf_free(cirrus_buf *b);                       /* back to empty; keeps max */
void cirrus_buf_reset(cirrus_buf *b);                      /* empty, keeps the memory, clears fail */
cirrus_status cirrus_buf_add(cirrus_buf *b, const void *s, size_t n);
cirrus_status cirrus_buf_adds(cirrus_buf *b, const char *s);
cirrus_status cirrus_buf_addc(cirrus_buf *b, char c);
cirrus_status cirrus_buf_addf(cirrus_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
cirrus_status cirrus_buf_vaddf(cirrus_buf *b, const char *fmt, va_list ap);
char *cirrus_buf_extend(cirrus_buf *b, size_t n);           /* n bytes to fill in place; NULL on failure */
const char *cirrus_buf_str(const cirrus_buf *b);           /* "" when empty */
/* Hands the bytes (NUL-terminated, malloc'ed: free them) to the caller and empties b; NULL if b
 * failed or memory ran out. */
char *cirrus_buf_take(cirrus_buf *b, size_t *len);

/* An arena (nginx's pool): many small allocations freed together, e.g. everything one request
 * parses. Allocations are 16-aligned and zeroed; NULL once the arena would pass max bytes. */
typedef struct cirrus_arena_blk cirrus_arena_blk;
typedef struct {
    cirrus_arena_blk *head;
    size_t used, max;
} cirrus_arena;
void cirrus_arena_init(cirrus_arena *a, size_t max);
void *cirrus_arena_alloc(cirrus_arena *a, size_t n);
char *cirrus_arena_strndup(cirrus_arena *a, const char *s, size_t n);
void cirrus_arena_free(cirrus_arena *a);

/* A hash table of pointers (Redis's dict + dictType): the type hashes and compares keys; the
 * table owns neither keys nor values (a value usually holds its key). Values are non-NULL, since
 * NULL is get()'s "absent". At most max entries (put: FULL past it). Keys are hashed with a
 * per-process random SipHash key, so iteration order varies between runs: never depend on it.
 * Not thread-safe: the owner locks. */
typedef struct {
    uint64_t (*hash)(const void *key);
    bool (*eq)(const void *a, const void *b);
} cirrus_map_type;
extern const cirrus_map_type cirrus_map_str; /* keys: NUL-terminated strings */
extern const cirrus_map_type cirrus_map_u64; /* keys: integers stored in the pointer (CIRRUS_MAP_U64) */
#define CIRRUS_MAP_U64(x) ((const void *)(uintptr_t)(x))
typedef struct {
    const cirrus_map_type *type;
    struct cirrus_map_slot *slots;
    size_t n, cap, max;
} cirrus_map;
void cirrus_map_init(cirrus_map *m, const cirrus_map_type *type, size_t max);
void cirrus_map_free(cirrus_map *m);
void cirrus_map_clear(cirrus_map *m);
void *cirrus_map_get(const cirrus_map *m, const void *key);
/* Inserts or replaces; *old (if non-NULL) receives the replaced value or NULL. */
cirrus_status cirrus_map_put(cirrus_map *m, const void *key, void *val, void **old);
void *cirrus_map_del(cirrus_map *m, const void *key);     /* the removed value, or NULL */
/* `size_t it = 0; while (cirrus_map_next(m, &it, &k, &v)) ...` -- no put/del during the walk. */
bool cirrus_map_next(const cirrus_map *m, size_t *it, const void **key, void **val);
/* SipHash-1-3 of the bytes under the process's key (for types over structured keys). */
uint64_t cirrus_hash_bytes(const void *p, size_t n);

/* ---- thread pool -------------------------------------------------------------------------- */

/*
 * A fixed set of worker threads created once; cirrus_pool_run() hands them a task range and
 * returns when every task has run. No thread creation and no allocation per call, so the decode
 * loop can call it per matmul. The calling thread works too: a pool of n threads has n-1 workers.
 *
 * fn(ctx, task, ith) is called once for every task in [0, n_tasks); ith in [0, n_threads) says
 * which thread runs it (for per-thread scratch). Tasks are claimed dynamically (atomic counter) so
 * uneven tasks still keep every core busy.
 */
typedef struct cirrus_pool cirrus_pool;
typedef void (*cirrus_task_fn)(void *ctx, int64_t task, int ith);

cirrus_status cirrus_pool_new(int n_threads, cirrus_pool **out);
void cirrus_pool_free(cirrus_pool *p);
int cirrus_pool_size(const cirrus_pool *p);
/* p may be NULL: runs every task on the calling thread. Not reentrant: one run at a time. */
void cirrus_pool_run(cirrus_pool *p, cirrus_task_fn fn, void *ctx, int64_t n_tasks);

#endif
