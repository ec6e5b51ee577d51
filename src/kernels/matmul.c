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
 *   kn_matmul_n does this for up to KN_MATMUL_MAX matrices that share x (q/k/v, gate/up): one
 *   quantization, one pool run whose tasks cover every matrix. Packed matrices (kn_pack) go
 *   through their type's packed tile (gemm_pk; every tier has one, the scalar tier included).
 * Scalar path (kn_set_scalar(true)): the same two steps through the portable C tier -- reference
 *      activation quantizers and integer dots -- so forcing SIMD off changes speed, not results
 *      (beyond float summation order), and both agree with llama.cpp's quantized-activation numbers.
 * Fallback (scratch unavailable): y[t][m] = kn_dot_ref(W[m], x[t]), f32 activations (packed rows
 *      gathered back block by block, dot_ref_packed).
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

/* One matrix of a call: its weights, its output and its share of the pool's tasks. */
typedef struct {
    kn_type t;
    bool packed;
    const uint8_t *W;
    size_t w_stride;  /* bytes per weight row (packed: a group of 8 rows is 8 strides) */
    int64_t M;
    int64_t rows;     /* weight rows per task */
    int64_t task0;    /* index of its first task in the call */
    kn_gemm_fn gemm;  /* its tile (NULL: the multi-dot), with its shape */
    int mr, nr;
    kn_mdot_fn mdot;
    float *y;
} mm_mat;

typedef struct {
    int n;
    mm_mat mat[KN_MATMUL_MAX];
    int64_t K, T;
    kn_type act;       /* activation type of every matrix of the call */
    int panel;         /* q8_0 activations as panels of this many rows (the tiles'); 0: plain rows */
    const float *x;    /* (T, K) f32 */
    const uint8_t *xa; /* (T, ...) activations as the kernels want them */
    size_t xa_stride;  /* bytes per activation row */
    const kn_isa_table *tab;
} mm_ctx;

/* Activation row t, quantized into the scratch: q8_0 rows go into panels when the matrices have
 * tiles (kernels_impl.h), plain rows otherwise; q8_K rows are rows. */
static void quantize_task(void *arg, int64_t t, int ith) {
    (void)ith;
    mm_ctx *c = arg;
    uint8_t *dst = (uint8_t *)c->xa + (size_t)t * c->xa_stride;
    if (c->act != KN_Q8_0) c->tab->quantize_q8_K(c->x + t * c->K, (block_q8_K *)dst, c->K);
    else if (!c->panel) c->tab->quantize_q8_0x(c->x + t * c->K, (block_q8_0x *)dst, c->K);
    else {
        const int64_t nr = c->panel, p0 = t / nr * nr;
        const int g = (int)(c->T - p0 < nr ? c->T - p0 : nr);
        c->tab->quantize_q8_0p(c->x + t * c->K, (uint8_t *)c->xa + (size_t)p0 * c->xa_stride, c->K, g, (int)(t - p0));
    }
}

/* The matrix a task of the call belongs to, and the task's index within it. */
static const mm_mat *task_mat(const mm_ctx *c, int64_t *task) {
    int i = c->n - 1;
    while (i > 0 && *task < c->mat[i].task0) i--;
    *task -= c->mat[i].task0;
    return &c->mat[i];
}

static void fast_task(void *arg, int64_t task, int ith) {
    (void)ith;
    const mm_ctx *c = arg;
    const mm_mat *w = task_mat(c, &task);
    const int64_t m0 = task * w->rows;
    const int64_t m1 = m0 + w->rows < w->M ? m0 + w->rows : w->M;
    if (w->gemm) {
        for (int64_t t0 = 0; t0 < c->T; t0 += w->nr) {
            const int nx = (int)(c->T - t0 < w->nr ? c->T - t0 : w->nr);
            const uint8_t *xa = c->xa + (size_t)t0 * c->xa_stride;
            for (int64_t m = m0; m < m1; m += w->mr) {
                const int nw = (int)(m1 - m < w->mr ? m1 - m : w->mr);
                assert(!w->packed || nw % KN_PACK_ROWS == 0);
                w->gemm(c->K, w->W + (size_t)m * w->w_stride, w->w_stride, nw, xa, c->xa_stride, nx,
                        w->y + t0 * w->M + m, (size_t)w->M);
            }
        }
        return;
    }
    for (int64_t t0 = 0; t0 < c->T; t0 += KN_NRX) {
        const int nrx = (int)(c->T - t0 < KN_NRX ? c->T - t0 : KN_NRX);
        const uint8_t *xa = c->xa + (size_t)t0 * c->xa_stride;
        for (int64_t m = m0; m < m1; m++)
            w->mdot(c->K, w->W + (size_t)m * w->w_stride, xa, c->xa_stride, nrx, w->y + t0 * w->M + m,
                    (size_t)w->M);
    }
}

/* kn_dot_ref's sum for row m of a packed matrix: the row's blocks gathered back one at a time,
 * dequantized by the reference and summed in double in element order. */
static float dot_ref_packed(kn_type t, const uint8_t *W, size_t ws, int64_t m, const float *x, int64_t K) {
    const kn_traits *tr = kn_type_traits(t);
    const uint8_t *grp = W + (size_t)(m / KN_PACK_ROWS) * KN_PACK_ROWS * ws;
    double sum = 0.0;
    for (int64_t i = 0; i < K / tr->blck_size; i++) {
        _Alignas(8) uint8_t blk[sizeof(block_q4_K)]; /* the largest packed type's block */
        float f[QK_K];
        kn_packed_block(t, grp, (int)(m % KN_PACK_ROWS), i, blk);
        kn_dequantize_row_ref(t, blk, f, tr->blck_size);
        for (uint32_t j = 0; j < tr->blck_size; j++) sum += (double)f[j] * (double)x[i * tr->blck_size + j];
    }
    return (float)sum;
}

static void ref_task(void *arg, int64_t task, int ith) {
    (void)ith;
    const mm_ctx *c = arg;
    const mm_mat *w = task_mat(c, &task);
    const int64_t m0 = task * w->rows;
    const int64_t m1 = m0 + w->rows < w->M ? m0 + w->rows : w->M;
    for (int64_t t = 0; t < c->T; t++)
        for (int64_t m = m0; m < m1; m++)
            w->y[t * w->M + m] = w->packed ? dot_ref_packed(w->t, w->W, w->w_stride, m, c->x + t * c->K, c->K)
                                           : kn_dot_ref(w->t, w->W + (size_t)m * w->w_stride, c->x + t * c->K, c->K);
}

/*
 * Weight rows per task. Few activation rows (decode): the call is bound by reading W once, so
 * tasks are as large as still leaves about 8 per thread for the pool to balance (each claim is
 * an atomic on a shared line, and a task boundary restarts the hardware prefetcher). Many rows
 * (prefill, batched decode): ROWS_PER_TASK, so the task's weight chunk stays in L2 while all T
 * activation rows stream past it.
 */
static int64_t task_rows(const mm_mat *w, int64_t T, int n_threads) {
    const int mr = w->gemm ? w->mr : 1;
    int64_t rows = ROWS_PER_TASK;
    if (T <= 2 && n_threads > 1) {
        rows = w->M / (8 * (int64_t)n_threads);
        rows = rows < 16 ? 16 : rows > 128 ? 128 : rows;
    }
    return (rows + mr - 1) / mr * mr; /* whole tiles */
}

/* Fills c->mat[i]'s kernel for the call's tier; returns the q8_0 panel height it needs (0: none). */
static int pick_kernel(const mm_ctx *c, mm_mat *w) {
    w->mdot = w->packed ? NULL : c->tab->mdot[w->t]; /* packed data is not rows: a tile or the reference */
    w->gemm = NULL;
    if (w->packed) {
        w->gemm = c->tab->gemm_pk[w->t];
        /* Several groups per call where the tile is bound by arithmetic (their broadcasts of x
         * shared); one group, one prefetched stream, where it is bound by reading W. */
        w->mr = c->T > 2 ? c->tab->gemm_pk_mr[w->t] : KN_PACK_ROWS;
        w->nr = c->tab->gemm_pk_nr[w->t];
    } else if (c->tab->gemm[w->t]) {
        w->gemm = c->tab->gemm[w->t];
        w->mr = c->tab->gemm_mr[w->t];
        w->nr = c->tab->gemm_nr[w->t];
    }
    return w->gemm && kn_act_type(w->t) == KN_Q8_0 ? w->nr : 0;
}

void kn_matmul_n(cirrus_pool *pool, int n, const kn_matrix *W, const float *x, int64_t T, float *const *y) {
    assert(n >= 1 && n <= KN_MATMUL_MAX);
    if (T <= 0) return;
    mm_ctx c = {.n = n, .K = W[0].cols, .T = T, .x = x,
                .tab = kn_scalar_forced() ? kn_scalar_table() : kn_active(), .act = kn_act_type(W[0].type)};
    bool fast = true;
    for (int i = 0; i < n; i++) {
        const kn_traits *tr = kn_type_traits((uint32_t)W[i].type);
        assert(tr && tr->supported && W[i].cols == c.K && c.K % tr->blck_size == 0);
        assert(!W[i].packed || W[i].rows % KN_PACK_ROWS == 0);
        (void)tr;
        mm_mat *w = &c.mat[i];
        *w = (mm_mat){.t = W[i].type, .packed = W[i].packed, .W = W[i].data, .M = W[i].rows, .y = y[i],
                      .w_stride = kn_row_size(W[i].type, c.K)};
        const int panel = pick_kernel(&c, w);
        if (!w->mdot && !w->gemm) fast = false;
        /* one activation format per call: otherwise, one call per matrix */
        if (kn_act_type(w->t) != c.act || (i > 0 && panel != c.panel)) {
            for (int j = 0; j < n; j++) kn_matmul_n(pool, 1, &W[j], x, T, &y[j]);
            return;
        }
        c.panel = panel;
    }
    if (c.act == KN_F32) {
        c.xa = (const uint8_t *)x;
        c.xa_stride = (size_t)c.K * sizeof(float);
    } else if (fast) {
        c.xa_stride = kn_act_row_size(c.act, c.K);
        if (c.xa_stride == 0) fast = false; /* K not a multiple of the activation block */
        else {
            if (c.panel) c.xa_stride = (size_t)(c.K / QK8_0) * KN_PANEL_BLOCK(1); /* a panel of g rows: g strides */
            c.xa = scratch_get(c.xa_stride * (size_t)T);
            if (!c.xa) fast = false;
            else cirrus_pool_run(pool, quantize_task, &c, T);
        }
    }
    int64_t tasks = 0;
    for (int i = 0; i < n; i++) {
        mm_mat *w = &c.mat[i];
        w->rows = fast ? task_rows(w, T, cirrus_pool_size(pool)) : ROWS_PER_TASK;
        w->task0 = tasks;
        tasks += (w->M + w->rows - 1) / w->rows;
    }
    if (tasks > 0) cirrus_pool_run(pool, fast ? fast_task : ref_task, &c, tasks);
}

void kn_matmul(cirrus_pool *pool, kn_type t, const void *W, int64_t M, int64_t K, const float *x,
               int64_t T, float *y) {
    if (M <= 0) return;
    const kn_matrix m = {.type = t, .data = W, .rows = M, .cols = K};
    kn_matmul_n(pool, 1, &m, x, T, &y);
}
