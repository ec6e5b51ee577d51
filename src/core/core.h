/*
 * core — the few things every other module needs: one status type, error messages that name
 * what went wrong, logging, a monotonic clock, checked arithmetic and a persistent thread pool.
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
