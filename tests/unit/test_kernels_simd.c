/*
 * kernels: every SIMD tier the machine has, against the scalar oracles.
 *
 * Two oracles, two tolerances:
 *  - the scalar kernels on the same quantized activations (kn_mdot_*_scalar): integer block sums
 *    are exact in both, only the float combination of blocks differs, so the tolerance is tight:
 *    1e-5 of the sum of the magnitudes of the terms;
 *  - kn_dot_ref on f32 activations (in test_kernels.c): loose, bounded by activation quantization.
 * Quantizers must be byte-identical to the references, ties and extremes included.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/core.h"
#include "kernels/kernels_impl.h"

bool kn_force_isa(const char *name); /* dispatch.c test hooks */
bool kn_force_table(kn_isa_table *t);
bool kn_attn_expf(const float *x, float *y, int64_t n); /* vec_f16.c test hook */
#ifdef CIRRUS_TEST_AVX512_EMULATED
void kn_fill_avx512_emulated(kn_isa_table *tab); /* kn_avx512_emulated.c */
#endif

static uint64_t rng_state = 0x243F6A8885A308D3ull;
static uint32_t rng_u32(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 32);
}
static float rng_gauss(void) {
    float u = ((rng_u32() >> 8) + 1) * (1.0f / 16777217.0f), v = (rng_u32() >> 8) * (1.0f / 16777216.0f);
    return sqrtf(-2.0f * logf(u)) * cosf(6.2831853f * v);
}

static const kn_type types[] = {KN_F32, KN_F16, KN_BF16, KN_Q8_0, KN_Q4_0, KN_Q4_K, KN_Q5_K, KN_Q6_K};
#define N_TYPES (sizeof types / sizeof types[0])

static kn_mdot_fn scalar_mdot(kn_type t) {
    switch (t) {
    case KN_F32: return kn_mdot_f32_scalar;
    case KN_F16: return kn_mdot_f16_scalar;
    case KN_BF16: return kn_mdot_bf16_scalar;
    case KN_Q8_0: return kn_mdot_q8_0_q8_0_scalar;
    case KN_Q4_0: return kn_mdot_q4_0_q8_0_scalar;
    case KN_Q4_K: return kn_mdot_q4_K_q8_K_scalar;
    case KN_Q5_K: return kn_mdot_q5_K_q8_K_scalar;
    case KN_Q6_K: return kn_mdot_q6_K_q8_K_scalar;
    default: return NULL;
    }
}

/* Input shapes for x: plain Gaussian, and the extremes the brief asks for. */
typedef enum { IN_GAUSS, IN_ZERO, IN_HUGE, IN_DENORMAL, IN_TIES, IN_COUNT } input_kind;
static const char *input_name[IN_COUNT] = {"gauss", "zero", "huge", "denormal", "ties"};

/* huge: the largest scale the activation format can carry. q8_0 keeps its scale in f16, so
 * amax/127 must stay below 65504 (amax < 8.3e6); q8_K's scale is f32 (1e30 is fine); f32
 * activations go up to where w*x still fits a float. */
static float huge_for(kn_type act) { return act == KN_Q8_0 ? 1e6f : act == KN_Q8_K ? 1e30f : 1e30f; }

static void fill_x(float *x, int64_t n, input_kind kind, kn_type act) {
    for (int64_t i = 0; i < n; i++) {
        switch (kind) {
        case IN_GAUSS: x[i] = rng_gauss(); break;
        case IN_ZERO: x[i] = 0.0f; break;
        case IN_HUGE: x[i] = rng_gauss() * huge_for(act) * (i % 7 == 0 ? 1.0f : 1e-3f); break;
        case IN_DENORMAL: x[i] = rng_gauss() * 1e-40f; break;
        case IN_TIES: /* block max 127 -> q8_0 step exactly 1, so x.5 values are exact ties */
            x[i] = (i % 32 == 0) ? 127.0f : (float)((int)(rng_u32() % 200) - 100) + 0.5f;
            break;
        default: break;
        }
    }
}

/* ---- quantizers: byte-identical ------------------------------------------------------------------ */

static void test_quantizers(const char *isa) {
    enum { N = 1024 };
    static float x[N];
    static uint8_t a[N * 3], b[N * 3]; /* q8_0x: 68 bytes per 32 values */
    const kn_isa_table *tab = kn_active();
    for (int kind = 0; kind < IN_COUNT; kind++) {
        for (int act = 0; act < 3; act++) { /* q8_0 (files), q8_0x (matmul scratch), q8_K */
            kn_type t = act == 2 ? KN_Q8_K : KN_Q8_0;
            fill_x(x, N, (input_kind)kind, t);
            if (kind == IN_HUGE) x[5] = -x[5] * 10; /* a negative max */
            size_t bytes = act == 1 ? kn_act_row_size(t, N) : kn_row_size(t, N);
            memset(a, 0xAA, sizeof a);
            memset(b, 0x55, sizeof b);
            if (act == 0) tab->quantize_q8_0(x, (block_q8_0 *)a, N);
            else if (act == 1) tab->quantize_q8_0x(x, (block_q8_0x *)a, N);
            else tab->quantize_q8_K(x, (block_q8_K *)a, N);
            if (act == 1) kn_quantize_act_ref(t, x, b, N);
            else kn_quantize_row_ref(t, x, b, N);
            CHECK_MSG(memcmp(a, b, bytes) == 0, "%s quantize %s%s on %s input differs", isa,
                      kn_type_traits(t)->name, act == 1 ? "x" : "", input_name[kind]);
        }
    }
    /* +a and -a both present: the reference takes the first as the max; so must SIMD */
    for (int i = 0; i < N; i++) x[i] = 0.25f;
    x[40] = -3.0f;
    x[41] = 3.0f;
    tab->quantize_q8_K(x, (block_q8_K *)a, N);
    kn_quantize_row_ref(KN_Q8_K, x, b, N);
    CHECK_MSG(memcmp(a, b, kn_row_size(KN_Q8_K, N)) == 0, "%s q8_K sign of max", isa);
}

/* ---- multi-dots vs the scalar oracle ------------------------------------------------------------ */

/* Sum of |terms| the kernels add up: |w_i x_i| plus, for q4_K / q5_K, the min part |dmin*m| |x|
 * counted twice (it is subtracted from the scale part, which can exceed |w| by that much). */
static double magnitude(kn_type t, const uint8_t *wq, const float *xd, int64_t n) {
    float *wd = malloc(sizeof(float) * n), *md = malloc(sizeof(float) * n);
    kn_dequantize_row_ref(t, wq, wd, n);
    memset(md, 0, sizeof(float) * n);
    if (t == KN_Q4_K || t == KN_Q5_K) {
        size_t rs = kn_row_size(t, n);
        uint8_t *z = malloc(rs);
        memcpy(z, wq, rs);
        for (int64_t b = 0; b < n / QK_K; b++) {
            if (t == KN_Q4_K) memset(((block_q4_K *)z)[b].qs, 0, QK_K / 2);
            else {
                memset(((block_q5_K *)z)[b].qs, 0, QK_K / 2);
                memset(((block_q5_K *)z)[b].qh, 0, QK_K / 8);
            }
        }
        kn_dequantize_row_ref(t, z, md, n); /* = -dmin * m_j */
        free(z);
    }
    double mag = 0;
    for (int64_t i = 0; i < n; i++) mag += (fabs(wd[i]) + 2 * fabs(md[i])) * fabs(xd[i]);
    free(wd);
    free(md);
    return mag;
}

static void check_mdot(const char *isa, kn_type t, int64_t n, input_kind kind) {
    const kn_type act = kn_act_type(t);
    const size_t wrs = kn_row_size(t, n), xrs = kn_act_row_size(act, n);
    float *w = malloc(sizeof(float) * n), *x = malloc(sizeof(float) * n * KN_NRX);
    float *xd = malloc(sizeof(float) * n * KN_NRX);
    uint8_t *wq = malloc(wrs), *xq = malloc(xrs * KN_NRX);
    for (int64_t i = 0; i < n; i++) w[i] = kind == IN_ZERO ? 0.0f : rng_gauss();
    fill_x(x, n * KN_NRX, kind, act);
    kn_quantize_row_ref(t, w, wq, n);
    for (int r = 0; r < KN_NRX; r++) {
        kn_quantize_act_ref(act, x + r * n, xq + r * xrs, n);
        kn_dequantize_act_ref(act, xq + r * xrs, xd + r * n, n);
    }
    kn_mdot_fn fast = kn_active()->mdot[t], ref = scalar_mdot(t);
    for (int nrx = 1; nrx <= KN_NRX; nrx++) {
        float got[KN_NRX * 3], want[KN_NRX];
        for (int r = 0; r < KN_NRX * 3; r++) got[r] = NAN;
        fast(n, wq, xq, xrs, nrx, got, 3); /* out stride 3: must write only every third */
        ref(n, wq, xq, xrs, nrx, want, 1);
        for (int r = 0; r < nrx; r++) {
            double mag = magnitude(t, wq, xd + r * n, n);
            double tol = 1e-5 * mag;
            CHECK_MSG(fabs((double)got[3 * r] - want[r]) <= tol || (got[3 * r] == want[r]),
                      "%s %s n=%lld nrx=%d r=%d %s: %.9g vs %.9g (tol %.3g)", isa, kn_type_traits(t)->name,
                      (long long)n, nrx, r, input_name[kind], got[3 * r], want[r], tol);
            if (kind == IN_ZERO) CHECK(got[3 * r] == 0.0f);
        }
        for (int r = 0; r < nrx; r++) CHECK(isnan(got[3 * r + 1]) && isnan(got[3 * r + 2]));
    }
    free(w);
    free(x);
    free(xd);
    free(wq);
    free(xq);
}

static void test_mdots(const char *isa) {
    for (size_t k = 0; k < N_TYPES; k++) {
        kn_type t = types[k];
        int64_t bs = kn_type_traits(t)->blck_size;
        /* block types: 1, 3, 7 blocks (odd multiples); float types: sizes around the 8/16 widths */
        static const int64_t nblk[] = {1, 3, 7, 16};
        static const int64_t nflt[] = {1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 67, 256};
        const int64_t *ns = bs == 1 ? nflt : nblk;
        size_t nn = bs == 1 ? sizeof nflt / sizeof nflt[0] : sizeof nblk / sizeof nblk[0];
        for (size_t j = 0; j < nn; j++)
            for (int kind = 0; kind < IN_COUNT; kind++) check_mdot(isa, t, ns[j] * bs, (input_kind)kind);
    }
}

/* ---- GEMM tiles: bit for bit the scalar kernels, for every tile shape -----------------------------
 * A tile must give each (weight row, activation row) pair exactly what the scalar kernel gives it
 * (kernels_impl.h): that is what makes kn_matmul batch-invariant. So: every nw <= gemm_mr and
 * nx <= gemm_nr, an odd output stride, and the panel quantizer byte-identical to the reference. */
static void check_gemm(const char *isa, kn_type t, int64_t n, int nw, int nx, input_kind kind) {
    const kn_isa_table *tab = kn_active();
    const kn_type act = kn_act_type(t);
    const size_t wrs = kn_row_size(t, n), xrs = kn_act_row_size(act, n);
    const size_t pbytes = (size_t)(n / 32) * KN_PANEL_BLOCK(nx), ys = 11;
    float *w = malloc(sizeof(float) * n), *x = malloc(sizeof(float) * n * nx);
    uint8_t *wq = malloc(wrs * nw), *xq = malloc(xrs * nx), *pa = malloc(pbytes), *pb = malloc(pbytes);
    float y[11 * KN_PANEL_MAX];
    fill_x(x, n * nx, kind, act);
    for (int m = 0; m < nw; m++) {
        for (int64_t i = 0; i < n; i++) w[i] = kind == IN_ZERO ? 0.0f : rng_gauss();
        kn_quantize_row_ref(t, w, wq + m * wrs, n);
    }
    memset(pa, 0xA5, pbytes);
    memset(pb, 0x5A, pbytes);
    for (int r = 0; r < nx; r++) {
        kn_quantize_act_ref(act, x + r * n, xq + r * xrs, n);
        if (act != KN_Q8_0) continue;
        tab->quantize_q8_0p(x + r * n, pa, n, nx, r);
        kn_quantize_q8_0p_ref(x + r * n, pb, n, nx, r);
    }
    CHECK_MSG(act != KN_Q8_0 || memcmp(pa, pb, pbytes) == 0, "%s q8_0 panel quantizer g=%d %s differs", isa, nx,
              input_name[kind]);
    for (size_t i = 0; i < sizeof y / sizeof y[0]; i++) y[i] = NAN;
    if (act == KN_Q8_0) tab->gemm[t](n, wq, wrs, nw, pa, 0, nx, y, ys); /* activations as a panel */
    else tab->gemm[t](n, wq, wrs, nw, xq, xrs, nx, y, ys);             /* activations as rows */
    int bad = 0;
    for (int r = 0; r < nx; r++)
        for (int m = 0; m < (int)ys; m++) {
            if (m >= nw) {
                bad += !isnan(y[r * ys + m]); /* must not write outside the tile */
                continue;
            }
            float want;
            scalar_mdot(t)(n, wq + m * wrs, xq + r * xrs, 0, 1, &want, 1);
            bad += memcmp(&want, &y[r * ys + m], sizeof want) != 0;
        }
    CHECK_MSG(bad == 0, "%s gemm %s n=%lld %dx%d %s: %d pairs differ from the scalar kernel", isa,
              kn_type_traits(t)->name, (long long)n, nw, nx, input_name[kind], bad);
    free(w);
    free(x);
    free(wq);
    free(xq);
    free(pa);
    free(pb);
}

static void test_gemm_tiles(const char *isa) {
    static const kn_type gt[] = {KN_Q4_0, KN_Q8_0, KN_Q4_K, KN_Q5_K, KN_Q6_K};
    const kn_isa_table *tab = kn_active();
    for (size_t k = 0; k < sizeof gt / sizeof gt[0]; k++) {
        kn_type t = gt[k];
        if (!tab->gemm[t]) continue;
        for (int nw = 1; nw <= tab->gemm_mr[t]; nw++)
            for (int nx = 1; nx <= tab->gemm_nr[t]; nx++) {
                const int64_t bs = kn_type_traits(t)->blck_size;
                check_gemm(isa, t, bs, nw, nx, IN_GAUSS);
                check_gemm(isa, t, 7 * bs, nw, nx, IN_GAUSS);
            }
        for (int kind = 0; kind < IN_COUNT; kind++)
            check_gemm(isa, t, 5 * kn_type_traits(t)->blck_size, tab->gemm_mr[t], tab->gemm_nr[t], (input_kind)kind);
    }
}

/* ---- attention over an F16 cache: the SIMD path gives the scalar reference's bits ----------------
 * Head sizes around the 32-element SIMD step (ggml's leftover loop takes the rest), one to many
 * positions, several heads per KV head, and the same extreme inputs as the dots. */
static void check_attn(int64_t D, int64_t n, int64_t n_q, input_kind kind) {
    const size_t stride = (size_t)D * 3 + 5; /* rows of a wider cache, odd stride */
    uint16_t *k = malloc(sizeof(uint16_t) * stride * n), *v = malloc(sizeof(uint16_t) * stride * n);
    float *q = malloc(sizeof(float) * D * n_q), *a = malloc(sizeof(float) * D * n_q), *b = malloc(sizeof(float) * D * n_q);
    float *tmp = malloc(sizeof(float) * stride * n);
    fill_x(tmp, (int64_t)stride * n, kind, KN_F32);
    for (size_t i = 0; i < stride * n; i++) k[i] = kn_f32_to_f16(kind == IN_HUGE ? tmp[i] * 1e-26f : tmp[i]);
    fill_x(tmp, (int64_t)stride * n, kind, KN_F32);
    for (size_t i = 0; i < stride * n; i++) v[i] = kn_f32_to_f16(kind == IN_HUGE ? tmp[i] * 1e-26f : tmp[i]);
    fill_x(q, D * n_q, kind == IN_HUGE ? IN_GAUSS : kind, KN_F32);
    kn_attn_f16(q, n_q, k, v, stride, n, D, 1.0f / sqrtf((float)D), a);
    kn_attn_f16_ref(q, n_q, k, v, stride, n, D, 1.0f / sqrtf((float)D), b);
    CHECK_MSG(memcmp(a, b, sizeof(float) * D * n_q) == 0, "attn D=%lld n=%lld heads=%lld %s: SIMD differs from scalar",
              (long long)D, (long long)n, (long long)n_q, input_name[kind]);
    for (int64_t i = 0; i < D * n_q; i++) CHECK(isfinite(a[i]));
    free(k);
    free(v);
    free(q);
    free(a);
    free(b);
    free(tmp);
}

/* The attention's eight-lane expf gives expf's bits. Every 997th bit pattern: both signs, zeros,
 * subnormals, the |x| >= 88 lanes it hands to expf, infinities and NaNs, mixed within a vector;
 * CIRRUS_TEST_EXHAUSTIVE=1 takes all 2^32 (about a minute; 0 differ on Debian 12's glibc 2.36). */
static void test_attn_expf(void) {
    enum { N = 4096 };
    static float x[N], y[N];
    const uint64_t step = getenv("CIRRUS_TEST_EXHAUSTIVE") ? 1 : 997;
    uint64_t bad = 0, n = 0;
    for (uint64_t u = 0; u < (1ull << 32); u += step * N) {
        for (int i = 0; i < N; i++) {
            const uint32_t b = (uint32_t)(u + step * (uint64_t)i);
            memcpy(&x[i], &b, sizeof b);
        }
        if (!kn_attn_expf(x, y, N)) {
            printf("  attention expf: no AVX2 + FMA + F16C: skipped\n");
            return;
        }
        for (int i = 0; i < N; i++, n++) {
            const float want = expf(x[i]);
            if (memcmp(&want, &y[i], sizeof want) != 0 && !(isnan(want) && isnan(y[i]))) {
                if (bad++ < 5)
                    CHECK_MSG(0, "attention expf(%a) = %a, expf gives %a", (double)x[i], (double)y[i], (double)want);
            }
        }
    }
    CHECK_MSG(bad == 0, "attention expf: %llu of %llu differ from expf", (unsigned long long)bad,
              (unsigned long long)n);
}

static void test_attn(void) {
    test_attn_expf();
    static const int64_t Ds[] = {2, 16, 31, 32, 40, 64, 96, 128, 200};
    static const int64_t ns[] = {1, 2, 7, 33, 300};
    for (size_t i = 0; i < sizeof Ds / sizeof Ds[0]; i++)
        for (size_t j = 0; j < sizeof ns / sizeof ns[0]; j++) check_attn(Ds[i], ns[j], j % 2 ? 8 : 3, IN_GAUSS);
    for (int kind = 0; kind < IN_COUNT; kind++) check_attn(64, 50, 9, (input_kind)kind);
    check_attn(64, 0, 8, IN_GAUSS); /* no positions: zeros, and no read of the empty cache */
    check_attn(40, 0, 3, IN_GAUSS);
    /* the vector steps on their own */
    uint16_t x[77], y[77], z[77];
    for (int i = 0; i < 77; i++) x[i] = kn_f32_to_f16(rng_gauss()), y[i] = kn_f32_to_f16(rng_gauss());
    for (int n = 1; n <= 77; n += 19) {
        const float d = kn_vec_dot_f16(x, y, n);
        memcpy(z, y, sizeof z);
        kn_vec_mad_f16(z, x, 0.37f, n);
        kn_vec_scale_f16(z, 1.7f, n);
        kn_set_scalar(true);
        const float dr = kn_vec_dot_f16(x, y, n);
        uint16_t zr[77];
        memcpy(zr, y, sizeof zr);
        kn_vec_mad_f16(zr, x, 0.37f, n);
        kn_vec_scale_f16(zr, 1.7f, n);
        kn_set_scalar(false);
        CHECK_MSG(memcmp(&d, &dr, sizeof d) == 0, "vec_dot_f16 n=%d", n);
        CHECK_MSG(memcmp(z, zr, sizeof(uint16_t) * n) == 0, "vec_mad/scale_f16 n=%d", n);
    }
}

/* ---- matmul on this tier vs per-element scalar oracle -------------------------------------------- */

static void check_matmul(const char *isa, cirrus_pool *pool, kn_type t, int64_t M, int64_t K,
                         int64_t T, input_kind kind) {
    const kn_type act = kn_act_type(t);
    const size_t rs = kn_row_size(t, K), xrs = kn_act_row_size(act, K);
    float *Wf = malloc(sizeof(float) * M * K), *x = malloc(sizeof(float) * T * K);
    float *xd = malloc(sizeof(float) * K), *y = malloc(sizeof(float) * T * M);
    uint8_t *W = malloc(rs * M), *xq = malloc(xrs);
    for (int64_t i = 0; i < M * K; i++) Wf[i] = rng_gauss();
    fill_x(x, T * K, kind, act);
    for (int64_t m = 0; m < M; m++) kn_quantize_row_ref(t, Wf + m * K, W + m * rs, K);
    for (int64_t i = 0; i < T * M; i++) y[i] = NAN;
    kn_matmul(pool, t, W, M, K, x, T, y);
    int bad = 0;
    for (int64_t tt = 0; tt < T; tt++) {
        kn_quantize_act_ref(act, x + tt * K, xq, K);
        kn_dequantize_act_ref(act, xq, xd, K);
        for (int64_t m = 0; m < M; m++) {
            float want;
            scalar_mdot(t)(K, W + m * rs, xq, 0, 1, &want, 1);
            double tol = 1e-5 * magnitude(t, W + m * rs, xd, K);
            if (!(fabs((double)y[tt * M + m] - want) <= tol || y[tt * M + m] == want)) bad++;
        }
    }
    CHECK_MSG(bad == 0, "%s matmul %s M=%lld K=%lld T=%lld %s: %d wrong", isa, kn_type_traits(t)->name,
              (long long)M, (long long)K, (long long)T, input_name[kind], bad);
    free(Wf);
    free(x);
    free(xd);
    free(y);
    free(W);
    free(xq);
}

static void test_matmul(const char *isa, cirrus_pool *pool) {
    static const int64_t Ts[] = {1, 2, 3, 5, 17};
    static const int64_t Ms[] = {37, 70};
    for (size_t k = 0; k < N_TYPES; k++) {
        kn_type t = types[k];
        int64_t K = kn_type_traits(t)->blck_size == 256 ? 768 : kn_type_traits(t)->blck_size == 32 ? 160 : 75;
        for (size_t i = 0; i < sizeof Ts / sizeof Ts[0]; i++)
            for (size_t j = 0; j < sizeof Ms / sizeof Ms[0]; j++)
                check_matmul(isa, Ts[i] == 3 ? NULL : pool, t, Ms[j], K, Ts[i], IN_GAUSS);
        for (int kind = IN_ZERO; kind < IN_COUNT; kind++) check_matmul(isa, pool, t, 37, K, 5, (input_kind)kind);
    }
}

/* ---- packed weights and fused calls: the same bits as the plain matmul ---------------------------
 * kn_pack's layout must change speed, never results: for every tier (and with the scalar kernels
 * forced), shapes with odd block counts, T across the tile's panel height, and extreme inputs, the
 * packed matmul gives kn_matmul's bits on the original. A fused call (kn_matmul_n) gives each
 * matrix what a call of its own gives it, packed or not, types mixed or not. */
static void fill_w(kn_type t, uint8_t *w, int64_t M, int64_t K, input_kind kind) {
    float *row = malloc(sizeof(float) * K);
    for (int64_t m = 0; m < M; m++) {
        for (int64_t i = 0; i < K; i++) row[i] = kind == IN_ZERO ? 0.0f : rng_gauss();
        kn_quantize_row_ref(t, row, w + m * kn_row_size(t, K), K);
    }
    free(row);
}

static void check_packed(const char *isa, cirrus_pool *pool, kn_type t, int64_t M, int64_t K, int64_t T,
                         input_kind kind) {
    const size_t bytes = kn_pack_size(t, M, K);
    CHECK_MSG(bytes == kn_row_size(t, K) * (size_t)M, "%s %s pack size %lldx%lld", isa, kn_type_traits(t)->name,
              (long long)M, (long long)K);
    uint8_t *w = malloc(bytes), *p = malloc(bytes);
    float *x = malloc(sizeof(float) * K * T), *a = malloc(sizeof(float) * M * T), *b = malloc(sizeof(float) * M * T);
    fill_w(t, w, M, K, kind);
    fill_x(x, K * T, kind, kn_act_type(t));
    kn_pack(t, w, M, K, p);
    /* every block comes back as it was */
    const size_t bs = kn_type_traits(t)->type_size, rs = kn_row_size(t, K);
    int bad_blocks = 0;
    for (int64_t m = 0; m < M; m++)
        for (int64_t i = 0; i < K / (int64_t)kn_type_traits(t)->blck_size; i++) {
            uint8_t blk[sizeof(block_q4_K)];
            kn_packed_block(t, p + (size_t)(m / KN_PACK_ROWS) * KN_PACK_ROWS * rs, (int)(m % KN_PACK_ROWS), i, blk);
            bad_blocks += memcmp(blk, w + (size_t)m * rs + (size_t)i * bs, bs) != 0;
        }
    CHECK_MSG(bad_blocks == 0, "%s %s: %d blocks do not unpack to the original", isa, kn_type_traits(t)->name, bad_blocks);
    kn_matmul(pool, t, w, M, K, x, T, a);
    const kn_matrix pm = {.type = t, .packed = true, .data = p, .rows = M, .cols = K};
    kn_matmul_n(pool, 1, &pm, x, T, &b);
    CHECK_MSG(memcmp(a, b, sizeof(float) * M * T) == 0, "%s packed %s M=%lld K=%lld T=%lld %s differs", isa,
              kn_type_traits(t)->name, (long long)M, (long long)K, (long long)T, input_name[kind]);
    free(w);
    free(p);
    free(x);
    free(a);
    free(b);
}

/* q, k, v as a model has them (q4_0 packed, q4_0 plain, q4_0 packed) and K-quants of two types. */
static void check_fused(const char *isa, cirrus_pool *pool, int64_t T) {
    const int64_t K = 512;
    const kn_type ty[2][3] = {{KN_Q4_0, KN_Q4_0, KN_Q4_0}, {KN_Q4_K, KN_Q6_K, KN_Q4_K}};
    const int64_t Ms[3] = {24, 13, 8};
    for (int set = 0; set < 2; set++) {
        kn_matrix mats[3];
        uint8_t *w[3], *p[3];
        float *x = malloc(sizeof(float) * K * T), *y[3], *want[3];
        fill_x(x, K * T, IN_GAUSS, kn_act_type(ty[set][0]));
        for (int i = 0; i < 3; i++) {
            const size_t rb = kn_row_size(ty[set][i], K) * (size_t)Ms[i];
            w[i] = malloc(rb);
            p[i] = malloc(rb);
            y[i] = malloc(sizeof(float) * Ms[i] * T);
            want[i] = malloc(sizeof(float) * Ms[i] * T);
            fill_w(ty[set][i], w[i], Ms[i], K, IN_GAUSS);
            const bool pk = kn_pack_size(ty[set][i], Ms[i], K) > 0;
            if (pk) kn_pack(ty[set][i], w[i], Ms[i], K, p[i]);
            mats[i] = (kn_matrix){.type = ty[set][i], .packed = pk, .data = pk ? p[i] : w[i], .rows = Ms[i], .cols = K};
            kn_matmul(pool, ty[set][i], w[i], Ms[i], K, x, T, want[i]);
        }
        CHECK(mats[0].packed && !mats[1].packed && mats[2].packed); /* 24 and 8 rows pack, 13 rows or q6_K do not */
        kn_matmul_n(pool, 3, mats, x, T, y);
        for (int i = 0; i < 3; i++) {
            CHECK_MSG(memcmp(y[i], want[i], sizeof(float) * Ms[i] * T) == 0, "%s fused %s #%d T=%lld differs", isa,
                      kn_type_traits(ty[set][i])->name, i, (long long)T);
            free(w[i]);
            free(p[i]);
            free(y[i]);
            free(want[i]);
        }
        free(x);
    }
}

static void test_packed(const char *isa, cirrus_pool *pool) {
    CHECK(kn_pack_size(KN_Q4_0, 12, 64) == 0); /* not a whole group of eight rows */
    CHECK(kn_pack_size(KN_Q8_0, 16, 64) == 0); /* no packed layout */
    static const int64_t Ts[] = {1, 2, 3, 4, 5, 9, 17};
    for (size_t i = 0; i < sizeof Ts / sizeof Ts[0]; i++) {
        check_packed(isa, pool, KN_Q4_0, 8, 32, Ts[i], IN_GAUSS);
        check_packed(isa, pool, KN_Q4_0, 40, 224, Ts[i], IN_GAUSS);
        check_packed(isa, Ts[i] == 3 ? NULL : pool, KN_Q4_0, 72, 96, Ts[i], IN_GAUSS);
        check_packed(isa, pool, KN_Q4_K, 8, 256, Ts[i], IN_GAUSS);
        check_packed(isa, Ts[i] == 3 ? NULL : pool, KN_Q4_K, 48, 768, Ts[i], IN_GAUSS);
        check_fused(isa, pool, Ts[i]);
    }
    for (int kind = IN_ZERO; kind < IN_COUNT; kind++) {
        check_packed(isa, pool, KN_Q4_0, 16, 160, 5, (input_kind)kind);
        check_packed(isa, pool, KN_Q4_K, 16, 512, 5, (input_kind)kind);
    }
    kn_set_scalar(true);
    for (size_t i = 0; i < sizeof Ts / sizeof Ts[0]; i++) {
        check_packed("scalar-forced", pool, KN_Q4_0, 40, 224, Ts[i], IN_GAUSS);
        check_packed("scalar-forced", pool, KN_Q4_K, 24, 512, Ts[i], IN_GAUSS);
        check_fused("scalar-forced", pool, Ts[i]);
    }
    kn_set_scalar(false);
}

/* Growing the scratch for a bigger shape, then going back to a small one, stays right. */
static void test_scratch_growth(cirrus_pool *pool) {
    check_matmul("scratch", pool, KN_Q4_0, 40, 4096, 33, IN_GAUSS);
    check_matmul("scratch", pool, KN_Q4_K, 9, 256, 1, IN_GAUSS);
    check_matmul("scratch", pool, KN_Q6_K, 40, 2048, 64, IN_GAUSS);
}

/* Every check a tier gets, with that tier active. */
static void test_tier(const char *name, cirrus_pool *pool) {
    const char *self_test_what = "";
    CHECK_MSG(kn_isa_selftest(kn_active(), &self_test_what), "%s self-test: %s", name, self_test_what);
    test_quantizers(name);
    test_mdots(name);
    test_gemm_tiles(name);
    test_matmul(name, pool);
    test_packed(name, pool);
    /* forcing the references is visible whatever the tier (matmul under it: test_kernels.c) */
    kn_set_scalar(true);
    CHECK(strcmp(kn_isa_name(), "scalar") == 0);
    kn_set_scalar(false);
}

/* The AVX-512 VNNI tier's code with SIMDe's vpdpbusd / vpdpwssd, on any CPU with AVX2: the real
 * tier above runs only where the CPU has VNNI, and this machine kind has not had it. */
static void test_avx512_emulated(cirrus_pool *pool) {
#ifdef CIRRUS_TEST_AVX512_EMULATED
    static kn_isa_table emu = {.name = "avx512-vnni (emulated)"};
    if (!kn_force_isa("avx2")) { /* the emulated table is compiled for AVX2 */
        printf("  tier avx512-vnni (emulated): no AVX2 on this CPU: skipped\n");
        return;
    }
    kn_fill_avx512_emulated(&emu);
    CHECK(kn_force_table(&emu));
    CHECK(kn_active() == &emu);
    printf("  tier avx512-vnni (emulated, SIMDe) testing\n");
    test_tier("avx512-vnni (emulated)", pool);
#else
    (void)pool;
    printf("  tier avx512-vnni (emulated): built without SIMDe (libsimde-dev): skipped\n");
#endif
}

int main(void) {
    unsetenv("CIRRUS_KN_PACK"); /* test_packed needs packing on */
    kn_init();
    cirrus_pool *pool = NULL;
    CHECK(cirrus_pool_new(2, &pool) == CIRRUS_OK);
    printf("kernels: detected %s\n", kn_isa_name());
    static const char *tiers[] = {"scalar", "avx2", "avx512-vnni"};
    for (size_t i = 0; i < sizeof tiers / sizeof tiers[0]; i++) {
        if (!kn_force_isa(tiers[i])) {
            printf("  tier %-12s not on this CPU: skipped\n", tiers[i]);
            continue;
        }
        printf("  tier %-12s testing\n", tiers[i]);
        test_tier(tiers[i], pool);
    }
    test_avx512_emulated(pool);
    kn_force_isa(NULL);
    test_attn();
    test_scratch_growth(pool);
    cirrus_pool_free(pool);
    return check_done("test_kernels_simd");
}
