/*
 * The bounded byte buffer (cirrus_buf), the arena (cirrus_arena) and the growable array's growth
 * step (cirrus_vec_reserve): the three ways memory grows in cirrus, each with a ceiling.
 *
 * Why every growth has a maximum: the bytes that make a buffer grow come from outside (a request
 * body, a model's output, a file), so a missing bound is a way to exhaust the machine. A failed
 * growth is sticky (curl's dynbuf "toobig"): the buffer stops changing and remembers why, so a
 * caller that appends many pieces checks once at the end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

/* ---- growable array ---------------------------------------------------------------------------- */

cirrus_status cirrus_vec_reserve(void *items, size_t *cap, size_t need, size_t elem, size_t max) {
    if (need <= *cap) return CIRRUS_OK;
    if (need > max || elem == 0) return CIRRUS_ERR_FULL;
    size_t ncap = *cap ? *cap : 8;
    while (ncap < need) ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
    if (ncap > max) ncap = max;
    size_t bytes;
    if (__builtin_mul_overflow(ncap, elem, &bytes)) return CIRRUS_ERR_FULL;
    void *old;
    memcpy(&old, items, sizeof old);
    void *p = realloc(old, bytes);
    if (!p) return CIRRUS_ERR_NOMEM;
    memcpy(items, &p, sizeof p);
    *cap = ncap;
    return CIRRUS_OK;
}

/* ---- bounded byte buffer ----------------------------------------------------------------------- */

void cirrus_buf_init(cirrus_buf *b, size_t max) {
    b->p = NULL;
    b->len = b->cap = 0;
    b->max = max;
    b->fail = CIRRUS_OK;
}

void cirrus_buf_free(cirrus_buf *b) {
    free(b->p);
    cirrus_buf_init(b, b->max);
}

void cirrus_buf_reset(cirrus_buf *b) {
    b->len = 0;
    if (b->p) b->p[0] = 0;
    b->fail = CIRRUS_OK;
}

/* Room for n more bytes and the NUL after them. */
static cirrus_status buf_room(cirrus_buf *b, size_t n) {
    if (b->fail) return b->fail;
    if (n > b->max || b->len > b->max - n) return b->fail = CIRRUS_ERR_FULL;
    size_t need = b->len + n + 1;
    if (need <= b->cap) return CIRRUS_OK;
    size_t ncap = b->cap ? b->cap : 64;
    while (ncap < need) ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
    if (ncap > b->max + 1) ncap = b->max + 1;
    char *p = realloc(b->p, ncap);
    if (!p) return b->fail = CIRRUS_ERR_NOMEM;
    b->p = p;
    b->cap = ncap;
    return CIRRUS_OK;
}

char *cirrus_buf_extend(cirrus_buf *b, size_t n) {
    if (buf_room(b, n)) return NULL;
    char *at = b->p + b->len;
    b->len += n;
    b->p[b->len] = 0;
    return at;
}

cirrus_status cirrus_buf_add(cirrus_buf *b, const void *s, size_t n) {
    char *at = cirrus_buf_extend(b, n);
    if (!at) return b->fail;
    if (n) memcpy(at, s, n);
    return CIRRUS_OK;
}

cirrus_status cirrus_buf_adds(cirrus_buf *b, const char *s) { return cirrus_buf_add(b, s, strlen(s)); }

cirrus_status cirrus_buf_addc(cirrus_buf *b, char c) { return cirrus_buf_add(b, &c, 1); }

cirrus_status cirrus_buf_vaddf(cirrus_buf *b, const char *fmt, va_list ap) {
    if (b->fail) return b->fail;
    va_list ap2;
    va_copy(ap2, ap);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap2);
    va_end(ap2);
    if (n < 0) return b->fail = CIRRUS_ERR_INVALID;
    if ((size_t)n < sizeof small) return cirrus_buf_add(b, small, (size_t)n);
    if (buf_room(b, (size_t)n)) return b->fail;
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return CIRRUS_OK;
}

cirrus_status cirrus_buf_addf(cirrus_buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    cirrus_status st = cirrus_buf_vaddf(b, fmt, ap);
    va_end(ap);
    return st;
}

const char *cirrus_buf_str(const cirrus_buf *b) { return b->p ? b->p : ""; }

char *cirrus_buf_take(cirrus_buf *b, size_t *len) {
    if (b->fail) return NULL;
    if (!b->p) { /* an empty buffer still hands out "" */
        if (buf_room(b, 0)) return NULL;
        b->p[0] = 0;
    }
    char *p = b->p;
    if (len) *len = b->len;
    size_t max = b->max;
    cirrus_buf_init(b, max);
    return p;
}

/* ---- arena --------------------------------------------------------------------------------------- */

struct cirrus_arena_blk {
    cirrus_arena_blk *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
};

#define ARENA_BLOCK 8192

void cirrus_arena_init(cirrus_arena *a, size_t max) {
    a->head = NULL;
    a->used = 0;
    a->max = max;
}

void *cirrus_arena_alloc(cirrus_arena *a, size_t n) {
    size_t need = (n + 15) & ~(size_t)15;
    if (need < n) return NULL;
    cirrus_arena_blk *b = a->head;
    if (!b || b->cap - b->used < need) {
        size_t cap = need > ARENA_BLOCK ? need : ARENA_BLOCK;
        if (cap > a->max || a->used > a->max - cap) return NULL;
        b = malloc(sizeof *b + cap);
        if (!b) return NULL;
        b->next = a->head;
        b->used = 0;
        b->cap = cap;
        a->head = b;
        a->used += cap;
    }
    void *p = b->data + b->used;
    b->used += need;
    memset(p, 0, n);
    return p;
}

char *cirrus_arena_strndup(cirrus_arena *a, const char *s, size_t n) {
    if (n == SIZE_MAX) return NULL;
    char *p = cirrus_arena_alloc(a, n + 1);
    if (!p) return NULL;
    if (n) memcpy(p, s, n);
    p[n] = 0;
    return p;
}

void cirrus_arena_free(cirrus_arena *a) {
    cirrus_arena_blk *b = a->head;
    while (b) {
        cirrus_arena_blk *n = b->next;
        free(b);
        b = n;
    }
    a->head = NULL;
    a->used = 0;
}
