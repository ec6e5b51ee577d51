/*
 * kn_matmul: y (T, M) = x (T, K) . W (M, K)^T, W's rows of any supported type.
 *
 * Fast path (the default):
 *   1. The T activation rows are quantized once, in parallel, into the calling thread's scratch:
 *      q8_0 for q4_0 / q8_0 weights (as block_q8_0x rows, or as panels of gemm_nr rows when the
 *      tier has a GEMM tile for the type, kernels_impl.h), q8_K for K-quants (as llama.cpp does,
 *      so the dot products are integer); float weights use x as it is.
 *   2. W is cut into chunks of c->rows rows (task_rows), one pool task each. A task walks the
 *      activation rows a panel (gemm_nr rows) at a time and, for each panel, its chunk's weight
 *      rows a tile (gemm_mr rows) at a time: a weight block is loaded and unpacked once per panel
 *      and the chunk (tens of KiB) stays in L2 while the panels stream past it, so each weight
 *      byte comes from memory once per call, whatever T is. Without a tile (K-quants, float
 *      weights, the scalar tier) the same walk calls the multi-dot, KN_NRX rows at a time.
 *   Every (weight row, activation row) pair gets the same arithmetic whatever the tile, panel or
 *   T (test_kernels_simd checks tiles bit for bit against the scalar kernels): results do not
 *   depend on what else is in the batch.
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
    int64_t rows;   /* weight rows per task */
    bool panels;    /* q8_0 activations in panels of gemm_nr rows (for the GEMM tiles) */
    const float *x; /* (T, K) f32 */
    const uint8_t *xa; /* (T, ...) activations as the kernel wants them */
    size_t xa_stride;  /* bytes per activation row */
    kn_type act;
    const kn_isa_table *tab;
    float *y;
} mm_ctx;

/* Activation row t, quantized into the scratch: q8_0 rows go into panels of gemm_nr rows when the
 * tier has a GEMM tile for the weights (kernels_impl.h), plain rows otherwise; q8_K rows are rows. */
static void quantize_task(void *arg, int64_t t, int ith) {
    (void)ith;
    mm_ctx *c = arg;
    uint8_t *dst = (uint8_t *)c->xa + (size_t)t * c->xa_stride;
    if (c->act != KN_Q8_0) c->tab->quantize_q8_K(c->x + t * c->K, (block_q8_K *)dst, c->K);
    else if (!c->panels) c->tab->quantize_q8_0x(c->x + t * c->K, (block_q8_0x *)dst, c->K);
    else {
        const int64_t nr = c->tab->gemm_nr[c->t], p0 = t / nr * nr;
        const int g = (int)(c->T - p0 < nr ? c->T - p0 : nr);
        c->tab->quantize_q8_0p(c->x + t * c->K, (uint8_t *)c->xa + (size_t)p0 * c->xa_stride, c->K, g, (int)(t - p0));
    }
}

static void fast_task(void *arg, int64_t task, int ith) {
    (void)ith;
    mm_ctx *c = arg;
    const int64_t m0 = task * c->rows;
    const int64_t m1 = m0 + c->rows < c->M ? m0 + c->rows : c->M;
    kn_gemm_fn gemm = c->tab->gemm[c->t];
    if (gemm) {
        const int MR = c->tab->gemm_mr[c->t], NR = c->tab->gemm_nr[c->t];
        for (int64_t t0 = 0; t0 < c->T; t0 += NR) {
            const int nx = (int)(c->T - t0 < NR ? c->T - t0 : NR);
            const uint8_t *xa = c->xa + (size_t)t0 * c->xa_stride;
            for (int64_t m = m0; m < m1; m += MR) {
                const int nw = (int)(m1 - m < MR ? m1 - m : MR);
                gemm(c->K, c->W + (size_t)m * c->w_stride, c->w_stride, nw, xa, c->xa_stride, nx,
                     c->y + t0 * c->M + m, (size_t)c->M);
            }
        }
        return;
    }
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
    const int64_t m0 = task * c->rows;
    const int64_t m1 = m0 + c->rows < c->M ? m0 + c->rows : c->M;
    for (int64_t t = 0; t < c->T; t++)
        for (int64_t m = m0; m < m1; m++)
            c->y[t * c->M + m] = kn_dot_ref(c->t, c->W + (size_t)m * c->w_stride, c->x + t * c->K, c->K);
}

/*
 * Weight rows per task. Few activation rows (decode): the call is bound by reading W once, so
 * tasks are as large as still leaves about 8 per thread for the pool to balance (each claim is
 * an atomic on a shared line, and a task boundary restarts the hardware prefetcher). Many rows
 * (prefill, batched decode): ROWS_PER_TASK, so the task's weight chunk stays in L2 while all T
 * activation rows stream past it.
 */
static int64_t task_rows(const mm_ctx *c, int n_threads) {
    const int mr = c->tab->gemm[c->t] ? c->tab->gemm_mr[c->t] : 1;
    int64_t rows = ROWS_PER_TASK;
    if (c->T <= 2 && n_threads > 1) {
        rows = c->M / (8 * (int64_t)n_threads);
        rows = rows < 16 ? 16 : rows > 128 ? 128 : rows;
    }
    return (rows + mr - 1) / mr * mr; /* whole tiles */
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
    bool fast = c.tab->mdot[t] != NULL;
    if (fast && c.act == KN_F32) {
        c.xa = (const uint8_t *)x;
        c.xa_stride = (size_t)K * sizeof(float);
    } else if (fast) {
        c.xa_stride = kn_act_row_size(c.act, K);
        if (c.xa_stride == 0) fast = false; /* K not a multiple of the activation block */
        else {
            c.panels = c.act == KN_Q8_0 && c.tab->gemm[t];
            if (c.panels) c.xa_stride = (size_t)(K / QK8_0) * KN_PANEL_BLOCK(1); /* a panel of g rows: g strides */
            c.xa = scratch_get(c.xa_stride * (size_t)T);
            if (!c.xa) fast = false;
            else cirrus_pool_run(pool, quantize_task, &c, T);
        }
    }
    c.rows = fast ? task_rows(&c, cirrus_pool_size(pool)) : ROWS_PER_TASK;
    cirrus_pool_run(pool, fast ? fast_task : ref_task, &c, (M + c.rows - 1) / c.rows);
}
