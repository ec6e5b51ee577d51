/*
 * Attention over the F16 KV cache, with llama.cpp's numbers.
 *
 * kn_attn_f16 is ggml's CPU flash attention for one query row with F16 K and V
 * (ggml_compute_forward_flash_attn_ext_f16_one_chunk): an online softmax whose weighted sum of V
 * rows is kept in F16 and rounded at every step, and q.k dot products done as ggml_vec_dot_f16
 * does them on AVX2. Matching its summation order is what lets the Q8_0 and Q4_0 models agree with
 * the reference logits to the last printed digit, so the vector helpers below copy ggml's loop
 * structure exactly, including which elements go through the SIMD loop (whole steps of 32) and
 * which through the scalar leftover loop (the rest: in double for the dot, unfused for the mad).
 *
 * Every function has a scalar version with the same arithmetic (fmaf where the SIMD code fuses),
 * so the two give identical bits; the SIMD one needs AVX2+FMA+F16C and is chosen at run time.
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "kernels_impl.h"

#define F16_STEP 32 /* GGML_F16_STEP on AVX: four vectors of eight */

static inline float h2f(uint16_t h) { return kn_f16_to_f32(h); }

/* ---- scalar: the reference ---------------------------------------------------------------- */

static float dot_f16_ref(const uint16_t *x, const uint16_t *y, int64_t n) {
    const int64_t np = n & ~(int64_t)(F16_STEP - 1);
    float sum[4][8] = {{0}};
    for (int64_t i = 0; i < np; i += F16_STEP)
        for (int j = 0; j < 4; j++)
            for (int l = 0; l < 8; l++) sum[j][l] = fmaf(h2f(x[i + 8 * j + l]), h2f(y[i + 8 * j + l]), sum[j][l]);
    /* GGML_F32x8_REDUCE: x0 += x2, x1 += x3; x0 += x1; halves; two hadds */
    float t[8];
    for (int l = 0; l < 8; l++) t[l] = (sum[0][l] + sum[2][l]) + (sum[1][l] + sum[3][l]);
    const float t0 = t[0] + t[4], t1 = t[1] + t[5], t2 = t[2] + t[6], t3 = t[3] + t[7];
    double sumf = (double)((t0 + t1) + (t2 + t3));
    for (int64_t i = np; i < n; i++) sumf += (double)(h2f(x[i]) * h2f(y[i]));
    return (float)sumf;
}

static void scale_f16_ref(uint16_t *y, float v, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = kn_f32_to_f16(h2f(y[i]) * v);
}

static void mad_f16_ref(uint16_t *y, const uint16_t *x, float v, int64_t n) {
    const int64_t np = n & ~(int64_t)(F16_STEP - 1);
    for (int64_t i = 0; i < np; i++) y[i] = kn_f32_to_f16(fmaf(h2f(x[i]), v, h2f(y[i])));
    for (int64_t i = np; i < n; i++) {
        const float p = h2f(x[i]) * v; /* not fused: ggml's leftover loop is plain C */
        y[i] = kn_f32_to_f16(h2f(y[i]) + p);
    }
}

/* The online softmax of one query (its running max mx and sum) after position p's score s: the
 * step ggml's flash attention takes, with the f16 accumulator acc rescaled when the max moves.
 * SOFTMAX_WEIGHT is all of it but the v update: it leaves position p's weight in vs. */
#define SOFTMAX_WEIGHT(s, mx, sum, acc, vs, SCALE)                                                  \
    do {                                                                                           \
        float ms_ = 1.0f;                                                                          \
        (vs) = 1.0f;                                                                               \
        if ((s) > (mx)) {                                                                          \
            ms_ = expf((mx) - (s)); /* 0 on the first position: mx is -inf and acc is zero */      \
            (mx) = (s);                                                                            \
            SCALE(acc, ms_, D);                                                                    \
        } else {                                                                                   \
            (vs) = expf((s) - (mx));                                                               \
        }                                                                                          \
        const float t_ = (sum) * ms_; /* unfused: CMakeLists.txt sets -ffp-contract=off */        \
        (sum) = t_ + (vs);                                                                         \
    } while (0)
#define SOFTMAX_STEP(s, mx, sum, acc, vrow, SCALE, MAD)                                             \
    do {                                                                                           \
        float vs_;                                                                                 \
        SOFTMAX_WEIGHT(s, mx, sum, acc, vs_, SCALE);                                               \
        MAD(acc, vrow, vs_, D);                                                                    \
    } while (0)

static void attn_f16_ref(const float *q, int64_t n_q, const uint16_t *k, const uint16_t *v, size_t stride,
                         int64_t n, int64_t D, float scale, float *out) {
    uint16_t qh[KN_ATTN_MAX_D], acc[KN_ATTN_MAX_D];
    for (int64_t h = 0; h < n_q; h++, q += D, out += D) {
        for (int64_t i = 0; i < D; i++) {
            qh[i] = kn_f32_to_f16(q[i]);
            acc[i] = 0;
        }
        float mx = -INFINITY, sum = 0.0f;
        for (int64_t p = 0; p < n; p++) {
            const float s = dot_f16_ref(k + (size_t)p * stride, qh, D) * scale;
            SOFTMAX_STEP(s, mx, sum, acc, v + (size_t)p * stride, scale_f16_ref, mad_f16_ref);
        }
        const float inv = sum == 0.0f ? 0.0f : 1.0f / sum;
        for (int64_t i = 0; i < D; i++) out[i] = h2f(acc[i]) * inv;
    }
}

/* ---- AVX2 + FMA + F16C ------------------------------------------------------------------------ */

#if defined(__x86_64__)
#include <immintrin.h>
#define KN_TARGET_F16C __attribute__((target("avx2,fma,f16c")))
#define F16C_INLINE KN_TARGET_F16C static inline __attribute__((always_inline))

F16C_INLINE __m256 ld8(const uint16_t *p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)); }
F16C_INLINE void st8(uint16_t *p, __m256 v) { _mm_storeu_si128((__m128i *)p, _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT)); }

/* ggml_vec_dot_f16's reduction of its four 8-lane accumulators, in its order: t = (s0 + s2) +
 * (s1 + s3), then reduce_t's halves and two hadds. */
F16C_INLINE double reduce_t(__m256 t) {
    const __m128 t0 = _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
    const __m128 t1 = _mm_hadd_ps(t0, t0);
    return (double)_mm_cvtss_f32(_mm_hadd_ps(t1, t1));
}
F16C_INLINE double reduce4(__m256 s0, __m256 s1, __m256 s2, __m256 s3) {
    return reduce_t(_mm256_add_ps(_mm256_add_ps(s0, s2), _mm256_add_ps(s1, s3)));
}

F16C_INLINE float dot_f16_avx2(const uint16_t *x, const uint16_t *y, int64_t n) {
    const int64_t np = n & ~(int64_t)(F16_STEP - 1);
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    for (int64_t i = 0; i < np; i += F16_STEP) {
        s0 = _mm256_fmadd_ps(ld8(x + i), ld8(y + i), s0);
        s1 = _mm256_fmadd_ps(ld8(x + i + 8), ld8(y + i + 8), s1);
        s2 = _mm256_fmadd_ps(ld8(x + i + 16), ld8(y + i + 16), s2);
        s3 = _mm256_fmadd_ps(ld8(x + i + 24), ld8(y + i + 24), s3);
    }
    double sumf = reduce4(s0, s1, s2, s3);
    for (int64_t i = np; i < n; i++) sumf += (double)(h2f(x[i]) * h2f(y[i]));
    return (float)sumf;
}

F16C_INLINE void scale_f16_avx2(uint16_t *y, float v, int64_t n) {
    const __m256 vv = _mm256_set1_ps(v);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) st8(y + i, _mm256_mul_ps(ld8(y + i), vv)); /* one rounding either way */
    for (; i < n; i++) y[i] = kn_f32_to_f16(h2f(y[i]) * v);
}

F16C_INLINE void mad_f16_avx2(uint16_t *y, const uint16_t *x, float v, int64_t n) {
    const int64_t np = n & ~(int64_t)(F16_STEP - 1);
    const __m256 vv = _mm256_set1_ps(v);
    for (int64_t i = 0; i < np; i += 8) st8(y + i, _mm256_fmadd_ps(ld8(x + i), vv, ld8(y + i)));
    for (int64_t i = np; i < n; i++) {
        const float p = h2f(x[i]) * v;
        y[i] = kn_f32_to_f16(h2f(y[i]) + p);
    }
}

/* dot_f16_avx2's four accumulators over the np (a multiple of F16_STEP) leading elements of a k row
 * already widened to f32 (kf) and q (f32 values of f16s), then reduce4's first step: the 8 lanes
 * (s0 + s2) + (s1 + s3). */
F16C_INLINE __m256 dot_f32w_steps(const float *kf, const float *qf, int64_t np) {
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    for (int64_t i = 0; i < np; i += F16_STEP) {
        s0 = _mm256_fmadd_ps(_mm256_load_ps(kf + i), _mm256_load_ps(qf + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_load_ps(kf + i + 8), _mm256_load_ps(qf + i + 8), s1);
        s2 = _mm256_fmadd_ps(_mm256_load_ps(kf + i + 16), _mm256_load_ps(qf + i + 16), s2);
        s3 = _mm256_fmadd_ps(_mm256_load_ps(kf + i + 24), _mm256_load_ps(qf + i + 24), s3);
    }
    return _mm256_add_ps(_mm256_add_ps(s0, s2), _mm256_add_ps(s1, s3));
}

/* Dot of a widened k row with q: dot_f16_avx2's arithmetic. */
F16C_INLINE float dot_f32w(const float *kf, const float *qf, int64_t n) {
    const int64_t np = n & ~(int64_t)(F16_STEP - 1);
    double sumf = reduce_t(dot_f32w_steps(kf, qf, np));
    for (int64_t i = np; i < n; i++) sumf += (double)(kf[i] * qf[i]);
    return (float)sumf;
}

/* mad_f16_avx2 with the v row already widened to f32 (vf). */
F16C_INLINE void mad_f32w(uint16_t *y, const float *vf, float v, int64_t n) {
    const int64_t np = n & ~(int64_t)(F16_STEP - 1);
    const __m256 vv = _mm256_set1_ps(v);
    for (int64_t i = 0; i < np; i += 8) st8(y + i, _mm256_fmadd_ps(_mm256_load_ps(vf + i), vv, ld8(y + i)));
    for (int64_t i = np; i < n; i++) {
        const float p = vf[i] * v;
        y[i] = kn_f32_to_f16(h2f(y[i]) + p);
    }
}

#define ATTN_GROUP 8 /* query heads that share a KV head, handled together (see attn_f16_avx2) */

/* The q.k dots of up to ATTN_GROUP heads against one widened k row, for D a multiple of F16_STEP:
 * per head dot_f32w_steps, then the eight heads' reduce_t side by side (each lane does for its head
 * exactly what reduce_t does: lower + upper half, then two pairwise adds), times scale, lane h for
 * head h. Lanes >= ng are 0. */
F16C_INLINE __m256 dots_group(const float *kf, const float (*qf)[KN_ATTN_MAX_D], int64_t ng, int64_t D,
                              float scale) {
    /* Unrolled, so t[] and u[] stay in registers: as a loop GCC kept them on the stack and the
     * half-register reloads missed store forwarding (the dots were half the attention's time). */
    __m256 t[ATTN_GROUP];
    _Pragma("GCC unroll 8") for (int h = 0; h < ATTN_GROUP; h++) {
        if (h >= ng) {
            t[h] = _mm256_setzero_ps();
            continue;
        }
        t[h] = dot_f32w_steps(kf, qf[h], D);
    }
    /* u[j] = [lower + upper half of head 2j | the same of head 2j+1] */
    __m256 u[ATTN_GROUP / 2];
    _Pragma("GCC unroll 4") for (int j = 0; j < ATTN_GROUP / 2; j++)
        u[j] = _mm256_add_ps(_mm256_permute2f128_ps(t[2 * j], t[2 * j + 1], 0x20),
                             _mm256_permute2f128_ps(t[2 * j], t[2 * j + 1], 0x31));
    /* two hadds: lanes are heads 0 2 4 6 1 3 5 7, each ((a0 + a1) + (a2 + a3)) as reduce4 */
    const __m256 r = _mm256_hadd_ps(_mm256_hadd_ps(u[0], u[1]), _mm256_hadd_ps(u[2], u[3]));
    const __m256 heads = _mm256_permutevar8x32_ps(r, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    return _mm256_mul_ps(heads, _mm256_set1_ps(scale));
}

/*
 * expf of eight floats with the bits of glibc's expf (2.27 and later, the variant it picks on CPUs
 * with FMA, __expf_fma), so that the softmax weights, and with them every logit, stay those of
 * the scalar reference, which calls expf, and of llama.cpp, which does too. Its algorithm, in
 * double: with N = 32, k = round(x * N / ln 2) and r = x * N / ln 2 - k, exp(x) = 2^(k/N) * p(r),
 * 2^(k/N) from a 32-entry table of 2^(i/N) with k's high bits added to the exponent field, p a
 * cubic; each step below is the same single operation (FMA or not) as in that function. Lanes
 * that its special cases handle (|x| >= 88, infinities, NaN) are rare here, since the softmax
 * only exponentiates x <= 0 and mostly small ones: any such lane sends all eight through expf.
 */
static uint64_t g_exp2_tab[32]; /* bits of 2^(i/32) minus i << 47 (the exponent bits k adds back) */
static pthread_once_t g_exp2_once = PTHREAD_ONCE_INIT;
static void exp2_tab_init(void) {
    for (int i = 0; i < 32; i++) {
        /* exp2l carries 64 bits; the one rounding to double lands on the correctly rounded value
         * for all 32 entries (test_kernels_simd checks expf8 against expf) */
        const double d = (double)exp2l((long double)i / 32);
        uint64_t u;
        memcpy(&u, &d, sizeof u);
        g_exp2_tab[i] = u - ((uint64_t)i << 47);
    }
}

F16C_INLINE __m256d expf4_pd(__m128 x) {
    const __m256d inv_ln2_n = _mm256_set1_pd(0x1.71547652b82fep+5), shift = _mm256_set1_pd(0x1.8p+52);
    const __m256d xd = _mm256_cvtps_pd(x);
    const __m256d z = _mm256_fmadd_pd(inv_ln2_n, xd, shift); /* k in the low bits of z */
    const __m256i ki = _mm256_castpd_si256(z);
    const __m256d kd = _mm256_sub_pd(z, shift);
    const __m256d r = _mm256_fmsub_pd(inv_ln2_n, xd, kd);
    __m256i t = _mm256_i64gather_epi64((const long long *)g_exp2_tab, _mm256_and_si256(ki, _mm256_set1_epi64x(31)), 8);
    t = _mm256_add_epi64(t, _mm256_slli_epi64(ki, 47));
    const __m256d c = _mm256_fmadd_pd(_mm256_set1_pd(0x1.c6af84b912394p-20), r, _mm256_set1_pd(0x1.ebfce50fac4f3p-13));
    const __m256d r2 = _mm256_mul_pd(r, r);
    __m256d y = _mm256_fmadd_pd(_mm256_set1_pd(0x1.62e42ff0c52d6p-6), r, _mm256_set1_pd(1.0));
    y = _mm256_fmadd_pd(c, r2, y);
    return _mm256_mul_pd(y, _mm256_castsi256_pd(t));
}

F16C_INLINE __m256 expf8(__m256 x) {
    const __m256i abstop = _mm256_and_si256(_mm256_srli_epi32(_mm256_castps_si256(x), 20), _mm256_set1_epi32(0x7FF));
    /* glibc's own test for its special cases: abstop >= top12(88.0f) = 0x42B, i.e. |x| >= 88 */
    if (!_mm256_testz_si256(abstop, _mm256_cmpgt_epi32(abstop, _mm256_set1_epi32(0x42A)))) {
        _Alignas(32) float v[8];
        _mm256_store_ps(v, x);
        for (int l = 0; l < 8; l++) v[l] = expf(v[l]);
        return _mm256_load_ps(v);
    }
    const __m128 lo = _mm256_cvtpd_ps(expf4_pd(_mm256_castps256_ps128(x)));
    const __m128 hi = _mm256_cvtpd_ps(expf4_pd(_mm256_extractf128_ps(x, 1)));
    return _mm256_set_m128(hi, lo);
}

/* acc[h] = f16(f32(acc[h]) + vf * vs[h]) for each head: mad_f32w for D a multiple of F16_STEP, the
 * rounding done in a register and then stored: on Zen 3 vcvtps2ph straight to memory was about a
 * third of the whole attention time. */
F16C_INLINE void mad_group(uint16_t (*acc)[KN_ATTN_MAX_D], const float *vf, const float *vs, int64_t ng, int64_t D) {
    for (int64_t h = 0; h < ng; h++) {
        const __m256 vv = _mm256_set1_ps(vs[h]);
        for (int64_t i = 0; i < D; i += 8) {
            __m128i r = _mm256_cvtps_ph(_mm256_fmadd_ps(_mm256_load_ps(vf + i), vv, ld8(acc[h] + i)),
                                        _MM_FROUND_TO_NEAREST_INT);
            __asm__("" : "+x"(r)); /* else GCC folds the store back into vcvtps2ph's memory form */
            _mm_store_si128((__m128i *)(acc[h] + i), r);
        }
    }
}

/* A cached f16 row widened to f32 (exact). */
F16C_INLINE void widen_row(float *dst, const uint16_t *src, int64_t D) {
    int64_t i = 0;
    for (; i + 8 <= D; i += 8) _mm256_store_ps(dst + i, ld8(src + i));
    for (; i < D; i++) dst[i] = h2f(src[i]);
}

/* Queries in groups of ATTN_GROUP (the heads that share a KV head, under GQA): each cached k and v
 * row is widened to f32 once per group instead of once per head. Each head's arithmetic is still
 * exactly ggml's (widening f16 is exact): where D is a multiple of F16_STEP (every model's head
 * size in practice) the group's dots are reduced together and the group's softmax weights found
 * before its v updates, which reorders work between heads, never within one. */
KN_TARGET_F16C static void attn_f16_avx2(const float *q, int64_t n_q, const uint16_t *k, const uint16_t *v,
                                         size_t stride, int64_t n, int64_t D, float scale, float *out) {
    _Alignas(32) float qf[ATTN_GROUP][KN_ATTN_MAX_D];
    _Alignas(32) uint16_t acc[ATTN_GROUP][KN_ATTN_MAX_D];
    _Alignas(32) float kf[KN_ATTN_MAX_D], vf[KN_ATTN_MAX_D];
    const int64_t D8 = D & ~(int64_t)7;
    const bool whole = D % F16_STEP == 0;
    pthread_once(&g_exp2_once, exp2_tab_init);
    for (int64_t g0 = 0; g0 < n_q; g0 += ATTN_GROUP) {
        const int64_t ng = n_q - g0 < ATTN_GROUP ? n_q - g0 : ATTN_GROUP;
        _Alignas(32) float mx[ATTN_GROUP], sum[ATTN_GROUP], vs[ATTN_GROUP];
        __m256 mxv = _mm256_set1_ps(-INFINITY), sumv = _mm256_setzero_ps(); /* mx and sum, whole D */
        for (int64_t h = 0; h < ng; h++) {
            const float *qh = q + (g0 + h) * D;
            for (int64_t i = 0; i < D8; i += 8) /* vcvtps2ph rounds as kn_f32_to_f16 (nearest-even) */
                _mm256_store_ps(qf[h] + i,
                                _mm256_cvtph_ps(_mm256_cvtps_ph(_mm256_loadu_ps(qh + i), _MM_FROUND_TO_NEAREST_INT)));
            for (int64_t i = D8; i < D; i++) qf[h][i] = h2f(kn_f32_to_f16(qh[i]));
            memset(acc[h], 0, sizeof(uint16_t) * (size_t)D);
            mx[h] = -INFINITY;
            sum[h] = 0.0f;
        }
        if (!whole) {
            for (int64_t p = 0; p < n; p++) {
                widen_row(kf, k + (size_t)p * stride, D);
                widen_row(vf, v + (size_t)p * stride, D);
                for (int64_t h = 0; h < ng; h++) {
                    const float s = dot_f32w(kf, qf[h], D) * scale;
                    SOFTMAX_STEP(s, mx[h], sum[h], acc[h], vf, scale_f16_avx2, mad_f32w);
                }
            }
        } else {
            /* Position p + 1's dots are issued before position p's v update, which waits on p's
             * softmax weights (a chain through expf8): the core overlaps the two. */
            __m256 sv = _mm256_setzero_ps();
            if (n > 0) {
                widen_row(kf, k, D);
                sv = dots_group(kf, qf, ng, D, scale);
            }
            const __m256 one = _mm256_set1_ps(1.0f);
            for (int64_t p = 0; p < n; p++) {
                widen_row(vf, v + (size_t)p * stride, D);
                /* SOFTMAX_WEIGHT for the eight lanes at once (lanes >= ng see score 0: harmless) */
                const __m256 gt = _mm256_cmp_ps(sv, mxv, _CMP_GT_OQ); /* s > mx, false for NaN as in C */
                const __m256 e = expf8(_mm256_blendv_ps(_mm256_sub_ps(sv, mxv), _mm256_sub_ps(mxv, sv), gt));
                const __m256 ms = _mm256_blendv_ps(one, e, gt);
                _mm256_store_ps(vs, _mm256_blendv_ps(e, one, gt));
                mxv = _mm256_blendv_ps(mxv, sv, gt);
                sumv = _mm256_add_ps(_mm256_mul_ps(sumv, ms), _mm256_load_ps(vs));
                int bits = _mm256_movemask_ps(gt) & ((1 << ng) - 1); /* heads whose max moved */
                if (bits) {
                    _Alignas(32) float msa[ATTN_GROUP];
                    _mm256_store_ps(msa, ms);
                    for (; bits; bits &= bits - 1) {
                        const int h = __builtin_ctz((unsigned)bits);
                        scale_f16_avx2(acc[h], msa[h], D);
                    }
                }
                if (p + 1 < n) {
                    widen_row(kf, k + (size_t)(p + 1) * stride, D);
                    sv = dots_group(kf, qf, ng, D, scale);
                }
                mad_group(acc, vf, vs, ng, D);
            }
            _mm256_store_ps(sum, sumv);
        }
        for (int64_t h = 0; h < ng; h++) {
            const float inv = sum[h] == 0.0f ? 0.0f : 1.0f / sum[h];
            float *oh = out + (g0 + h) * D;
            for (int64_t i = 0; i < D8; i += 8)
                _mm256_storeu_ps(oh + i, _mm256_mul_ps(ld8(acc[h] + i), _mm256_set1_ps(inv)));
            for (int64_t i = D8; i < D; i++) oh[i] = h2f(acc[h][i]) * inv;
        }
    }
}

KN_TARGET_F16C static void expf_avx2(const float *x, float *y, int64_t n) {
    pthread_once(&g_exp2_once, exp2_tab_init);
    for (int64_t i = 0; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, expf8(_mm256_loadu_ps(x + i)));
}

KN_TARGET_F16C static float vec_dot_f16_avx2(const uint16_t *x, const uint16_t *y, int64_t n) {
    return dot_f16_avx2(x, y, n);
}
KN_TARGET_F16C static void vec_scale_f16_avx2(uint16_t *y, float v, int64_t n) { scale_f16_avx2(y, v, n); }
KN_TARGET_F16C static void vec_mad_f16_avx2(uint16_t *y, const uint16_t *x, float v, int64_t n) {
    mad_f16_avx2(y, x, v, n);
}

/* Engine and pool threads may ask at once: each computes the same answer, and the atomic makes the
 * first-use write well defined (a plain int here was a data race under ThreadSanitizer). */
static bool use_simd(void) {
    static _Atomic int cached = -1;
    int c = atomic_load_explicit(&cached, memory_order_relaxed);
    if (c < 0) {
        c = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && kn_cpu_has_f16c();
        atomic_store_explicit(&cached, c, memory_order_relaxed);
    }
    return c && !kn_scalar_forced();
}
#else
static bool use_simd(void) { return false; }
#endif

/* ---- public ------------------------------------------------------------------------------------ */

float kn_vec_dot_f16(const uint16_t *x, const uint16_t *y, int64_t n) {
#if defined(__x86_64__)
    if (use_simd()) return vec_dot_f16_avx2(x, y, n);
#endif
    return dot_f16_ref(x, y, n);
}

void kn_vec_scale_f16(uint16_t *y, float v, int64_t n) {
#if defined(__x86_64__)
    if (use_simd()) {
        vec_scale_f16_avx2(y, v, n);
        return;
    }
#endif
    scale_f16_ref(y, v, n);
}

void kn_vec_mad_f16(uint16_t *y, const uint16_t *x, float v, int64_t n) {
#if defined(__x86_64__)
    if (use_simd()) {
        vec_mad_f16_avx2(y, x, v, n);
        return;
    }
#endif
    mad_f16_ref(y, x, v, n);
}

/* Test hook (declared in test_kernels_simd.c): y = the attention's eight-lane expf of x, n a
 * multiple of 8. False where the CPU cannot run it. */
bool kn_attn_expf(const float *x, float *y, int64_t n);
bool kn_attn_expf(const float *x, float *y, int64_t n) {
#if defined(__x86_64__)
    if (use_simd()) {
        expf_avx2(x, y, n);
        return true;
    }
#endif
    (void)x, (void)y, (void)n;
    return false;
}

void kn_attn_f16(const float *q, int64_t n_q, const uint16_t *k, const uint16_t *v, size_t stride, int64_t n,
                 int64_t D, float scale, float *out) {
    assert(D >= 1 && D <= KN_ATTN_MAX_D);
#if defined(__x86_64__)
    if (use_simd()) {
        attn_f16_avx2(q, n_q, k, v, stride, n, D, scale, out);
        return;
    }
#endif
    attn_f16_ref(q, n_q, k, v, stride, n, D, scale, out);
}

void kn_attn_f16_ref(const float *q, int64_t n_q, const uint16_t *k, const uint16_t *v, size_t stride, int64_t n,
                     int64_t D, float scale, float *out) {
    assert(D >= 1 && D <= KN_ATTN_MAX_D);
    attn_f16_ref(q, n_q, k, v, stride, n, D, scale, out);
}
