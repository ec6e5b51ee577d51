/* status codes, error messages, logging and the clock. */
#include "core.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

const char *cirrus_status_str(cirrus_status s) {
    switch (s) {
    case CIRRUS_OK: return "ok";
    case CIRRUS_ERR_NOMEM: return "out of memory";
    case CIRRUS_ERR_IO: return "i/o error";
    case CIRRUS_ERR_FORMAT: return "malformed input";
    case CIRRUS_ERR_RANGE: return "value out of range";
    case CIRRUS_ERR_UNSUPPORTED: return "unsupported";
    case CIRRUS_ERR_INVALID: return "invalid argument";
    case CIRRUS_ERR_NOT_FOUND: return "not found";
    case CIRRUS_ERR_FULL: return "resource exhausted";
    case CIRRUS_ERR_INTERNAL: return "internal error";
    }
    return "unknown status";
}

cirrus_status cirrus_errf(cirrus_err *err, cirrus_status st, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return st;
}

/* Set by the CLI before threads start, read by every thread: atomic, so a later change (or a test
 * that sets it while a server runs) is well defined. */
static _Atomic int g_level = CIRRUS_LOG_INFO;

void cirrus_log_set_level(cirrus_log_level lvl) { atomic_store_explicit(&g_level, (int)lvl, memory_order_relaxed); }

void cirrus_log(cirrus_log_level lvl, const char *fmt, ...) {
    static const char *names[] = {"debug", "info", "warn", "error"};
    if ((int)lvl < atomic_load_explicit(&g_level, memory_order_relaxed)) return;
    va_list ap;
    va_start(ap, fmt);
    /* one line per call even when threads log at once: the three writes hold the stream's lock */
    flockfile(stderr);
    fprintf(stderr, "cirrus: %s: ", names[lvl]);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    funlockfile(stderr);
    va_end(ap);
}

uint64_t cirrus_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void *cirrus_alloc_aligned(size_t n, size_t size) {
    size_t bytes;
    if (__builtin_mul_overflow(n, size, &bytes)) return NULL;
    bytes = (bytes + 63) & ~(size_t)63;
    if (bytes == 0) bytes = 64;
    void *p = aligned_alloc(64, bytes);
    if (p) memset(p, 0, bytes);
    return p;
}

void cirrus_free_aligned(void *p) { free(p); }

#define BIG_ALIGN ((size_t)2 << 20)

/* Whole huge pages: munmap and madvise want page-aligned lengths, and the last extent can then be
 * a huge page too. cirrus_big_free rounds the same way. */
static size_t big_round(size_t bytes) { return (bytes + BIG_ALIGN - 1) & ~(BIG_ALIGN - 1); }

void *cirrus_big_alloc(size_t bytes) {
    if (bytes == 0 || bytes > SIZE_MAX - 2 * BIG_ALIGN) return NULL;
    bytes = big_round(bytes);
    /* over-map by one huge page and trim both ends, so the buffer starts on a 2 MiB boundary */
    uint8_t *m = mmap(NULL, bytes + BIG_ALIGN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return NULL;
    uint8_t *p = (uint8_t *)(((uintptr_t)m + BIG_ALIGN - 1) & ~(uintptr_t)(BIG_ALIGN - 1));
    if (p > m) munmap(m, (size_t)(p - m));
    size_t tail = (size_t)(m + bytes + BIG_ALIGN - (p + bytes));
    if (tail) munmap(p + bytes, tail);
#ifdef MADV_HUGEPAGE
    (void)madvise(p, bytes, MADV_HUGEPAGE); /* advice: without it the buffer is just 4 KiB pages */
#endif
    return p;
}

void cirrus_big_free(void *p, size_t bytes) {
    if (p) munmap(p, big_round(bytes));
}

cirrus_status cirrus_read_file(const char *path, size_t max_bytes, char **out, size_t *out_len,
                               cirrus_err *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return cirrus_errf(err, CIRRUS_ERR_IO, "%s: %s", path, strerror(errno));
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap + 1);
    if (!buf) {
        fclose(f);
        return cirrus_errf(err, CIRRUS_ERR_NOMEM, "%s: out of memory", path);
    }
    for (;;) {
        if (len == cap) {
            if (cap >= max_bytes) {
                free(buf);
                fclose(f);
                return cirrus_errf(err, CIRRUS_ERR_RANGE, "%s: larger than %zu bytes", path, max_bytes);
            }
            cap = cap * 2 > max_bytes ? max_bytes : cap * 2;
            char *nb = realloc(buf, cap + 1);
            if (!nb) {
                free(buf);
                fclose(f);
                return cirrus_errf(err, CIRRUS_ERR_NOMEM, "%s: out of memory", path);
            }
            buf = nb;
        }
        size_t r = fread(buf + len, 1, cap - len, f);
        len += r;
        if (r == 0) break;
    }
    bool bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return cirrus_errf(err, CIRRUS_ERR_IO, "%s: read error", path);
    }
    buf[len] = 0;
    *out = buf;
    if (out_len) *out_len = len;
    return CIRRUS_OK;
}
