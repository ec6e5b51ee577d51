/*
 * kn_matmul: y (T, M) = x (T, K) . W (M, K)^T, W's rows of any supported type.
 *
 * Fast path (the default):
 *   1. The T activation rows are quantized once, in parallel, into the calling thread's scratch:
 *      q8_0 (as block_q8_0x: f32 scale) for q4_0 / q8_0 weights, q8_K for K-quants (as llama.cpp does, so the dot products are
 *      integer); float weights use x as it is.
 *   2. W is cut into chunks of ROWS_PER_TASK rows, one pool task each. A task walks the activation
 *      rows KN_NRX at a time and, for each such group, every weight row of its chunk, calling the
 *      ISA's multi-dot: a weight block is loaded and unpacked once per KN_NRX activation rows, and
 *      the chunk (tens of KiB) stays in L2 while the activations stream past it. So each weight
 *      byte comes from memory once per call, whatever T is.
 * Scalar path (kn_set_scalar(true)): the same two steps through the portable C tier -- reference
 *      activation quantizers and integer dots -- so forcing SIMD off changes speed, not results
 *      (beyond float summation order), and both agree with llama.cpp's quantized-activation numbers.
 * Fallback (scratch unavailable): y[t][m] = kn_dot_ref(W[m], x[t]), f32 activations.
 *
 * Scratch: one buffer per calling thread (engine threads of different models may run matmuls at
 * the same time), grown to the largest T*row_size seen and never shrunk, freed at thread exit.
 * Steady-state calls allocate nothing. If growing fails, the call falls back to the reference
 * path, which needs no scratch: slower, never wrong.
 */
#include <pthread.h>
#include <stdlib.h>

#include "kernels_impl.h"

/* 32 rows of a 4096-wide q4_K matrix are 72 KiB: a chunk fits L2 with room for activations, and
 * a 4096-row matrix still gives 128 tasks for the pool to balance. */
#define ROWS_PER_TASK 32

typedef struct {
    void *buf;
    size_t cap;
} scratch;

static pthread_key_t g_scratch_key;
static pthread_once_t g_scratch_once = PTHREAD_ONCE_INIT;

static void scratch_free(void *p) {
    scratch *s = p;
    if (s) cirrus_free_aligned(s->buf);
    free(s);
}

static void scratch_key_init(void) {
    if (pthread_key_create(&g_scratch_key, scratch_free) != 0) abort(); /* only fails at exhaustion */
}

/* The calling thread's scratch with at least `need` bytes, or NULL if that cannot be had. */
static void *scratch_get(size_t need) {
    pthread_once(&g_scratch_once, scratch_key_init);
    scratch *s = pthread_getspecific(g_scratch_key);
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s) return NULL;
        if (pthread_setspecific(g_scratch_key, s) != 0) {
            free(s);
            return NULL;
        }
    }
    if (s->cap < need) {
        size_t cap = s->cap ? s->cap : 64 * 1024;
        while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
        void *p = cirrus_alloc_aligned(cap, 1);
        if (!p) return NULL;
        cirrus_free_aligned(s->buf);
        s->buf = p;
        s->cap = cap;
    }
    return s->buf;
}

typedef struct {
    kn_type t;
    const uint8_t *W;
    size_t w_stride; /* bytes per weight row */
    int64_t M, K, T;
    const float *x; /* (T, K) f32 */
    const uint8_t *xa; /* (T, ...) activations as the kernel wants them */
    size_t xa_stride;  /* bytes per activation row */
    kn_type act;
    const kn_isa_table *tab;
    float *y;
} mm_ctx;

static void quantize_task(void *arg, int64_t t, int ith) {
    (void)ith;
    mm_ctx *c = arg;
    void *dst = (void *)(c->xa + (size_t)t * c->xa_stride);
    if (c->act == KN_Q8_0) c->tab->quantize_q8_0x(c->x + t * c->K, dst, c->K);
    else c->tab->quantize_q8_K(c->x + t * c->K, dst, c->K);
}

static void fast_task(void *arg, int64_t task, int ith) {
    (void)ith;
    mm_ctx *c = arg;
    const int64_t m0 = task * ROWS_PER_TASK;
    const int64_t m1 = m0 + ROWS_PER_TASK < c->M ? m0 + ROWS_PER_TASK : c->M;
    kn_mdot_fn mdot = c->tab->mdot[c->t];
    for (int64_t t0 = 0; t0 < c->T; t0 += KN_NRX) {
        const int nrx = (int)(c->T - t0 < KN_NRX ? c->T - t0 : KN_NRX);
        const uint8_t *xa = c->xa + (size_t)t0 * c->xa_stride;
        for (int64_t m = m0; m < m1; m++)
            mdot(c->K, c->W + (size_t)m * c->w_stride, xa, c->xa_stride, nrx, c->y + t0 * c->M + m,
                 (size_t)c->M);
    }
}

static void ref_task(void *arg, int64_t task, int ith) {
    (void)ith;
    mm_ctx *c = arg;
    const int64_t m0 = task * ROWS_PER_TASK;
    const int64_t m1 = m0 + ROWS_PER_TASK < c->M ? m0 + ROWS_PER_TASK : c->M;
    for (int64_t t = 0; t < c->T; t++)
        for (int64_t m = m0; m < m1; m++)
            c->y[t * c->M + m] = kn_dot_ref(c->t, c->W + (size_t)m * c->w_stride, c->x + t * c->K, c->K);
}

void kn_matmul(cirrus_pool *pool, kn_type t, const void *W, int64_t M, int64_t K, const float *x,
               int64_t T, float *y) {
    if (M <= 0 || T <= 0) return;
    const kn_traits *tr = kn_type_traits((uint32_t)t);
    assert(tr && tr->supported && K > 0 && K % tr->blck_size == 0);
    mm_ctx c = {
        .t = t, .W = W, .w_stride = kn_row_size(t, K), .M = M, .K = K, .T = T, .x = x, .y = y,
        .tab = kn_scalar_forced() ? kn_scalar_table() : kn_active(), .act = kn_act_type(t),
    };
    const int64_t n_tasks = (M + ROWS_PER_TASK - 1) / ROWS_PER_TASK;
    bool fast = c.tab->mdot[t] != NULL;
    if (fast && c.act == KN_F32) {
        c.xa = (const uint8_t *)x;
        c.xa_stride = (size_t)K * sizeof(float);
    } else if (fast) {
        c.xa_stride = kn_act_row_size(c.act, K);
        if (c.xa_stride == 0) fast = false; /* K not a multiple of the activation block */
        else {
            c.xa = scratch_get(c.xa_stride * (size_t)T);
            if (!c.xa) fast = false;
            else cirrus_pool_run(pool, quantize_task, &c, T);
        }
    }
    cirrus_pool_run(pool, fast ? fast_task : ref_task, &c, n_tasks);
}
