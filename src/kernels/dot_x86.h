/*
 * dot_x86.h — the x86 SIMD kernels, written once and compiled twice:
 *   dot_avx2.c    (-mavx2 -mfma -mf16c):  int8 dots with vpmaddubsw + vpmaddwd
 *   dot_avx512.c  (+ AVX-512 VL/VNNI):    int8 dots with vpdpbusd / vpdpwssd on 256-bit registers
 * The including file defines KN_X86_FILL (the name of its kn_fill_* function) and the two integer
 * primitives below; everything else is shared, so the code the AVX-512 tier runs is the code the
 * AVX2 tier's tests exercise, differing only in those two instructions.
 *
 *   DPBUSD(acc, u, s): acc.i32[k] += sum_{j<4} u.u8[4k+j] * s.i8[4k+j]
 *       AVX2 forms the pair sums in int16 (vpmaddubsw saturates at +-32767); every caller keeps
 *       |u*s + u*s| <= 2*128*127 = 32512, so both versions give the same exact result.
 *   DPWSSD(acc, a, b): acc.i32[k] += a.i16[2k]*b.i16[2k] + a.i16[2k+1]*b.i16[2k+1]
 *
 * Why 256-bit and not 512-bit on the AVX-512 tier: Zen 4 executes 512-bit integer ops as two
 * 256-bit halves, a q8_0 block is exactly one 256-bit register, and decode is bound by memory.
 * VNNI's win is fusing the 2-3 instruction multiply-add chains into one.
 *
 * Multi-row kernels (see kernels_impl.h): NR activation rows per weight row; the weight block is
 * loaded and unpacked once, then used NR times from registers. NR is a compile-time constant in
 * each instantiation (switch in the kn_mdot_* wrappers) so accumulators stay in registers.
 */
#include <immintrin.h>

#include "kernels_impl.h"

#define INLINE static inline __attribute__((always_inline))
/* Loops over the NR activation rows must be unrolled completely, or the accumulator arrays live on
 * the stack instead of in registers (GCC does not unroll them on its own at -O2). */
#define FOR_R _Pragma("GCC unroll 4") for (int r = 0; r < NR; r++)

INLINE float hsum_ps(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

INLINE float f16(uint16_t h) { return _cvtsh_ss(h); }
/* An f16 scale widened and broadcast in two instructions (vpbroadcastw from memory, vcvtph2ps). */
INLINE __m256 f16x8(const uint16_t *h) { return _mm256_cvtph_ps(_mm_set1_epi16((short)*h)); }

/* Signed int8 x int8 dot of 32 bytes into 8 int32 lanes: |w| . (x * sign(w)). */
INLINE __m256i dot_i8(__m256i acc, __m256i w, __m256i x) {
    return DPBUSD(acc, _mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
}

/* ---- activation quantizers (bit-identical to quant_ref.c) ------------------------------------- */

/* Packs 4 x 8 int32 (each in -128..127) into 32 int8 in element order. */
INLINE __m256i pack_i32x32(__m256i a, __m256i b, __m256i c, __m256i d) {
    __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(a, b), _mm256_packs_epi32(c, d));
    return _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/* roundf(): to nearest, ties away from zero, exactly (trunc, then step away if |frac| >= 0.5). */
INLINE __m256 round_away(__m256 v) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    __m256 frac = _mm256_andnot_ps(sign, _mm256_sub_ps(v, t));
    __m256 step = _mm256_or_ps(_mm256_and_ps(v, sign), _mm256_set1_ps(1.0f));
    return _mm256_add_ps(t, _mm256_and_ps(_mm256_cmp_ps(frac, _mm256_set1_ps(0.5f), _CMP_GE_OQ), step));
}

INLINE float hmax_ps(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

/* One q8_0 block: writes the quants, returns d in f32 (the caller rounds it to f16). */
INLINE float quantize_q8_0_block(const float *x, int8_t *qs) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 v[4], a = _mm256_setzero_ps();
    for (int k = 0; k < 4; k++) {
        v[k] = _mm256_loadu_ps(x + 8 * k);
        a = _mm256_max_ps(a, _mm256_andnot_ps(sign, v[k]));
    }
    const float d = hmax_ps(a) / 127.0f;
    float id = d != 0.0f ? 1.0f / d : 0.0f;
    if (__builtin_isinf(id)) id = 0.0f;
    __m256i q[4];
    for (int k = 0; k < 4; k++) q[k] = _mm256_cvttps_epi32(round_away(_mm256_mul_ps(v[k], _mm256_set1_ps(id))));
    _mm256_storeu_si256((__m256i *)qs, pack_i32x32(q[0], q[1], q[2], q[3]));
    return d;
}

static void quantize_q8_0(const float *x, block_q8_0 *y, int64_t n) {
    for (int64_t i = 0; i < n / QK8_0; i++) y[i].d = kn_f32_to_f16(quantize_q8_0_block(x + i * QK8_0, y[i].qs));
}

/* Activations: id = 127/amax and round-half-to-even, as llama.cpp's x86 quantize_row_q8_0 (see
 * kn_quantize_row_q8_0x_ref for why this differs from the weight quantizer). Block i's scale goes
 * to d + i * stride, its quants to qs + i * stride and, if s is not NULL, -8 times their sum to
 * s + i * stride (rows and panels, kernels_impl.h). */
INLINE int hsum_epi32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}

INLINE void quantize_q8_0x_strided(const float *x, uint8_t *d, uint8_t *s, uint8_t *qs, size_t stride, int64_t n) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (int64_t i = 0; i < n / QK8_0; i++, x += QK8_0, d += stride, qs += stride) {
        __m256 v[4], a = _mm256_setzero_ps();
        for (int k = 0; k < 4; k++) {
            v[k] = _mm256_loadu_ps(x + 8 * k);
            a = _mm256_max_ps(a, _mm256_andnot_ps(sign, v[k]));
        }
        const float amax = hmax_ps(a);
        float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        if (__builtin_isinf(id)) id = 0.0f;
        __m256i q[4];
        for (int k = 0; k < 4; k++)
            q[k] = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v[k], _mm256_set1_ps(id)),
                                                      _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
        _mm256_storeu_si256((__m256i *)qs, pack_i32x32(q[0], q[1], q[2], q[3]));
        const float dv = kn_f16_to_f32(kn_f32_to_f16(amax / 127.0f));
        memcpy(d, &dv, sizeof dv);
        if (s) {
            const int32_t sum = -8 * hsum_epi32(_mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3])));
            memcpy(s + (size_t)i * stride, &sum, sizeof sum);
        }
    }
}

static void quantize_q8_0x(const float *x, block_q8_0x *y, int64_t n) {
    quantize_q8_0x_strided(x, (uint8_t *)&y->d, NULL, (uint8_t *)y->qs, sizeof *y, n);
}

static void quantize_q8_0p(const float *x, uint8_t *panel, int64_t n, int g, int r) {
    quantize_q8_0x_strided(x, panel + 4 * r, panel + 4 * (g + r), panel + 8 * g + QK8_0 * r, KN_PANEL_BLOCK(g), n);
}

static void quantize_q8_K(const float *x, block_q8_K *y, int64_t n) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
        __m256 a = _mm256_setzero_ps();
        for (int k = 0; k < QK_K / 8; k++) a = _mm256_max_ps(a, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + 8 * k)));
        const float amax = hmax_ps(a);
        /* the reference's max: the first value whose magnitude is amax, with its sign */
        float max = 0.0f;
        for (int k = 0; k < QK_K / 8; k++) {
            __m256 eq = _mm256_cmp_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x + 8 * k)), _mm256_set1_ps(amax), _CMP_EQ_OQ);
            int mask = _mm256_movemask_ps(eq);
            if (mask) {
                max = x[8 * k + __builtin_ctz((unsigned)mask)];
                break;
            }
        }
        const float iscale = amax != 0.0f ? -127.0f / max : 0.0f;
        if (amax == 0.0f || __builtin_isinf(iscale)) {
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        const __m256 vs = _mm256_set1_ps(iscale);
        const __m256i lim = _mm256_set1_epi32(127);
        __m128i sums[4];
        for (int g4 = 0; g4 < 4; g4++) { /* 64 elements: 8 vectors, 4 groups of 16 */
            __m256i q[8];
            for (int k = 0; k < 8; k++) {
                __m256 p = _mm256_mul_ps(vs, _mm256_loadu_ps(x + 64 * g4 + 8 * k));
                q[k] = _mm256_min_epi32(lim, _mm256_cvtps_epi32(_mm256_round_ps(p, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)));
            }
            _mm256_storeu_si256((__m256i *)(y[i].qs + 64 * g4), pack_i32x32(q[0], q[1], q[2], q[3]));
            _mm256_storeu_si256((__m256i *)(y[i].qs + 64 * g4 + 32), pack_i32x32(q[4], q[5], q[6], q[7]));
            __m256i h01 = _mm256_hadd_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3]));
            __m256i h23 = _mm256_hadd_epi32(_mm256_add_epi32(q[4], q[5]), _mm256_add_epi32(q[6], q[7]));
            __m256i h = _mm256_hadd_epi32(h01, h23);
            sums[g4] = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
        }
        _mm_storeu_si128((__m128i *)y[i].bsums, _mm_packs_epi32(sums[0], sums[1]));
        _mm_storeu_si128((__m128i *)(y[i].bsums + 8), _mm_packs_epi32(sums[2], sums[3]));
        y[i].d = 1.0f / iscale;
    }
}

/* ---- q8_0 / q4_0 weights x q8_0 activations (block_q8_0x) ---------------------------------------------------- */

#define XBLK(T, r, i) ((const T *)(x + (size_t)(r) * xs) + (i))

INLINE void mdot_q8_0_nr(int64_t n, const block_q8_0 *w, const uint8_t *x, size_t xs, const int NR,
                         float *out, size_t os) {
    __m256 acc[KN_NRX];
    FOR_R acc[r] = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK8_0; i++) {
        const __m256i wq = _mm256_loadu_si256((const __m256i *)w[i].qs);
        const __m256 dw = _mm256_set1_ps(f16(w[i].d));
        FOR_R {
            const block_q8_0x *xb = XBLK(block_q8_0x, r, i);
            __m256i s = dot_i8(_mm256_setzero_si256(), wq, _mm256_loadu_si256((const __m256i *)xb->qs));
            acc[r] = _mm256_fmadd_ps(_mm256_mul_ps(dw, _mm256_broadcast_ss(&xb->d)), _mm256_cvtepi32_ps(s), acc[r]);
        }
    }
    FOR_R out[r * os] = hsum_ps(acc[r]);
}

/* q4_0 nibbles -> 32 int8 in element order: low nibbles are elements 0..15, high 16..31; -8. */
INLINE __m256i unpack_q4_0(const uint8_t *qs) {
    const __m128i b = _mm_loadu_si128((const __m128i *)qs);
    const __m256i v = _mm256_set_m128i(_mm_srli_epi16(b, 4), b);
    return _mm256_sub_epi8(_mm256_and_si256(v, _mm256_set1_epi8(0x0F)), _mm256_set1_epi8(8));
}

/* q4_0: one exact integer sum per block, then one FMA by d_w*d_x into a single float (see
 * kn_mdot_q4_0_q8_0_scalar for why). The tiles below do the same with eight rows in the lanes. */
INLINE void mdot_q4_0_nr(int64_t n, const block_q4_0 *w, const uint8_t *x, size_t xs, const int NR,
                         float *out, size_t os) {
    float acc[KN_NRX];
    FOR_R acc[r] = 0.0f;
    for (int64_t i = 0; i < n / QK4_0; i++) {
        const __m256i wq = unpack_q4_0(w[i].qs);
        const __m256i aw = _mm256_sign_epi8(wq, wq);
        const float dw = f16(w[i].d);
        FOR_R {
            const block_q8_0x *xb = XBLK(block_q8_0x, r, i);
            const __m256i s = DPBUSD(_mm256_setzero_si256(), aw,
                                     _mm256_sign_epi8(_mm256_loadu_si256((const __m256i *)xb->qs), wq));
            acc[r] = __builtin_fmaf(dw * xb->d, (float)hsum_epi32(s), acc[r]);
        }
    }
    FOR_R out[r * os] = acc[r];
}

/* ---- GEMM tiles: RM weight rows x RN activation rows --------------------------------------------
 * y[r * ys + m] = dot(W_m, X_r) for m < RM, r < RN: every weight block is loaded and unpacked once
 * per RN activation rows, and every pair (m, r) keeps its own accumulator. The arithmetic of each
 * pair is exactly that of the multi-dots above (eight integer lanes per block, one FMA by
 * d_w * d_x per block, hsum_ps at the end), so a result does not depend on the tile shape or on
 * which other rows shared the batch: kn_matmul is batch-invariant. RM and RN are compile-time
 * constants in each instantiation (GEMM_WRAPPER) so the accumulators live in registers. */

/* Software prefetch distance for weight streams (packed tiles, q6_K rows): see packed_step. */
#define PACKED_PF_DIST 4096
#define TILE_MMAX 8
#define TILE_NMAX 8
#define FOR_M _Pragma("GCC unroll 8") for (int m = 0; m < RM; m++)
#define FOR_N _Pragma("GCC unroll 8") for (int r = 0; r < RN; r++)
#define WBLK(T, m, i) ((const T *)(w + (size_t)(m) * ws) + (i))

/* The RN (<= 8) activation scales of a panel block; lanes >= RN are zero. */
INLINE __m256 load_scales(const uint8_t *p, const int RN) {
    if (RN == 8) return _mm256_loadu_ps((const float *)p);
    if (RN == 4) return _mm256_castps128_ps256(_mm_loadu_ps((const float *)p));
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_maskload_ps((const float *)p, _mm256_cmpgt_epi32(_mm256_set1_epi32(RN), lane));
}

/* q4_0 nibbles as unsigned 0..15 in element order (the -8 is the panel's s). */
INLINE __m256i unpack_q4_0_u(const uint8_t *qs) {
    const __m128i b = _mm_loadu_si128((const __m128i *)qs);
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(b, 4), b), _mm256_set1_epi8(0x0F));
}

INLINE int32_t ld_i32(const uint8_t *p) {
    int32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

INLINE float ld_f32(const uint8_t *p) {
    float v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* q8_0 weights: tile over a q8_0 panel of RN rows (kernels_impl.h). Per block and weight row: the
 * weight block is loaded once, its scale multiplied into the RN activation scales with one vmulps,
 * and for each activation row the 32 products go through dot_i8 into eight int32 lanes, exactly
 * as in mdot_q8_0_nr. */
INLINE void gemm_q8_0_t(int64_t n, const uint8_t *w, size_t ws, const uint8_t *x, size_t xs, const int RM,
                        const int RN, float *y, size_t ys) {
    (void)xs; /* a panel's layout follows from RN */
    __m256 acc[TILE_MMAX][TILE_NMAX];
    FOR_M FOR_N acc[m][r] = _mm256_setzero_ps();
    _Alignas(32) float dp[TILE_MMAX][8];
    for (int64_t i = 0; i < n / QK8_0; i++) {
        /* the next RM rows, as one stream (see gemm_q4_0_8) */
        _mm_prefetch((const char *)(w + (size_t)RM * ws) + (size_t)i * RM * sizeof(block_q8_0), _MM_HINT_T0);
        const uint8_t *xp = x + (size_t)i * KN_PANEL_BLOCK(RN);
        const __m256 dx = load_scales(xp, RN);
        FOR_M {
            const block_q8_0 *wb = WBLK(block_q8_0, m, i);
            const __m256i wq = _mm256_loadu_si256((const __m256i *)wb->qs);
            const __m256i aw = _mm256_sign_epi8(wq, wq);
            _mm256_store_ps(dp[m], _mm256_mul_ps(f16x8(&wb->d), dx));
            FOR_N {
                const __m256i xq = _mm256_loadu_si256((const __m256i *)(xp + 8 * RN + QK8_0 * r));
                const __m256i s = DPBUSD(_mm256_setzero_si256(), aw, _mm256_sign_epi8(xq, wq));
                acc[m][r] = _mm256_fmadd_ps(_mm256_broadcast_ss(&dp[m][r]), _mm256_cvtepi32_ps(s), acc[m][r]);
            }
        }
    }
    FOR_M FOR_N y[r * ys + m] = hsum_ps(acc[m][r]);
}

/* One block of eight q4_0 rows (W[k]: lane m = the unsigned nibbles of row m for elements 4k..4k+3,
 * W[k+4] those of 16+4k..16+4k+3; dw: the rows' scales) against the RN activation rows of panel
 * block xp: eight vpmaddubsw summed in int16 (|sum| <= 8 * 2 * 15 * 127 = 30480, no overflow),
 * one vpmaddwd to the row's 32-element sum, the panel's s = -8 * sum(x) turning sum(q x) into
 * sum((q - 8) x) exactly, then one FMA by d_w * d_x for all eight rows. */
INLINE void q4_0_8_step(const __m256i W[8], __m256 dw, const uint8_t *xp, const int RN, __m256 *acc) {
    FOR_N {
        const uint8_t *q = xp + 8 * RN + QK8_0 * r;
        __m256i a = _mm256_maddubs_epi16(W[0], _mm256_set1_epi32(ld_i32(q)));
        _Pragma("GCC unroll 8") for (int k = 1; k < 8; k++)
            a = _mm256_add_epi16(a, _mm256_maddubs_epi16(W[k], _mm256_set1_epi32(ld_i32(q + 4 * k))));
        const __m256i s = _mm256_add_epi32(_mm256_madd_epi16(a, _mm256_set1_epi16(1)),
                                           _mm256_set1_epi32(ld_i32(xp + 4 * (RN + r))));
        acc[r] = _mm256_fmadd_ps(_mm256_mul_ps(dw, _mm256_set1_ps(ld_f32(xp + 4 * r))), _mm256_cvtepi32_ps(s),
                                 acc[r]);
    }
}

/* q4_0 weights from the file's rows, eight at a time with row m in lane m (llama.cpp's q4_0_8x8
 * layout, made on the fly): for matrices that are not packed (CIRRUS_KN_PACK=0, heights that are
 * not a multiple of 8); packed ones take gemm_q4_0x8_t, the same arithmetic without the transpose.
 *
 * Per block: the eight rows' 16-byte nibble blocks are transposed as 8 x 4 dwords (rows m and
 * m+4 share a register, four 4x4 transposes in the 128-bit halves), so that W[k] holds, in lane m,
 * the four nibbles of row m for elements 4k..4k+3. For each activation row, x's 4-byte group k is
 * broadcast and one vpmaddubsw (unsigned nibbles x signed quants) gives two int16 pair sums per
 * lane; eight of them add up in int16 (|sum| <= 8 * 2 * 15 * 127 = 30480, no overflow), one
 * vpmaddwd makes the row's 32-element sum, and the panel's s = -8 * sum(x) turns sum(q x) into
 * sum((q - 8) x), exactly. Then one FMA by d_w * d_x for all eight rows: the arithmetic of
 * kn_mdot_q4_0_q8_0_scalar, lane by lane. */
INLINE void gemm_q4_0_8(int64_t n, const uint8_t *w, size_t ws, const uint8_t *x, const int RN, float *y,
                        size_t ys) {
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    /* The eight rows are eight short streams (one row of a 2048-wide matrix is 18 cache lines),
     * too short for the hardware prefetcher to ramp up on. So the tile pulls in the next eight
     * rows as it goes, as one sequential stream: 144 bytes (8 rows' blocks) per block step. */
    const uint8_t *pf = w + 8 * ws;
    __m256 acc[4];
    FOR_N acc[r] = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK4_0; i++) {
        const block_q4_0 *b0 = WBLK(block_q4_0, 0, i);
#define QB(m) ((const block_q4_0 *)((const uint8_t *)b0 + (size_t)(m) * ws))
#define ROWS(a, b) _mm256_loadu2_m128i((const __m128i *)QB(b)->qs, (const __m128i *)QB(a)->qs)
        _Pragma("GCC unroll 4") for (int p = 0; p < 3; p++) /* 192 bytes: 144 and a line's misalignment */
            _mm_prefetch((const char *)pf + (size_t)i * 8 * sizeof(block_q4_0) + 64 * p, _MM_HINT_T0);
        const __m256i r0 = ROWS(0, 4), r1 = ROWS(1, 5), r2 = ROWS(2, 6), r3 = ROWS(3, 7);
        const __m256i t0 = _mm256_unpacklo_epi32(r0, r1), t1 = _mm256_unpackhi_epi32(r0, r1);
        const __m256i t2 = _mm256_unpacklo_epi32(r2, r3), t3 = _mm256_unpackhi_epi32(r2, r3);
        __m256i W[8];
        W[0] = _mm256_unpacklo_epi64(t0, t2);
        W[1] = _mm256_unpackhi_epi64(t0, t2);
        W[2] = _mm256_unpacklo_epi64(t1, t3);
        W[3] = _mm256_unpackhi_epi64(t1, t3);
        _Pragma("GCC unroll 4") for (int k = 0; k < 4; k++) {
            W[k + 4] = _mm256_and_si256(_mm256_srli_epi16(W[k], 4), m4);
            W[k] = _mm256_and_si256(W[k], m4);
        }
        const __m128i d03 = _mm_set_epi16((short)QB(7)->d, (short)QB(6)->d, (short)QB(5)->d, (short)QB(4)->d,
                                          (short)QB(3)->d, (short)QB(2)->d, (short)QB(1)->d, (short)QB(0)->d);
#undef ROWS
#undef QB
        const __m256 dw = _mm256_cvtph_ps(d03);
        const uint8_t *xp = x + (size_t)i * KN_PANEL_BLOCK(RN);
        q4_0_8_step(W, dw, xp, RN, acc);
    }
    FOR_N _mm256_storeu_ps(y + r * ys, acc[r]);
}

/* Fewer than eight rows (the end of a matrix whose height is not a multiple of 8): row by row, the
 * same arithmetic as gemm_q4_0_8, with the sum of a block's eight lanes taken horizontally. */
INLINE void gemm_q4_0_1(int64_t n, const uint8_t *w, const uint8_t *x, const int RN, float *y, size_t ys) {
    float acc[TILE_NMAX];
    FOR_N acc[r] = 0.0f;
    for (int64_t i = 0; i < n / QK4_0; i++) {
        const block_q4_0 *wb = (const block_q4_0 *)w + i;
        const __m256i u = unpack_q4_0_u(wb->qs);
        const float dw = f16(wb->d);
        const uint8_t *xp = x + (size_t)i * KN_PANEL_BLOCK(RN);
        FOR_N {
            const __m256i xq = _mm256_loadu_si256((const __m256i *)(xp + 8 * RN + QK8_0 * r));
            const int s = hsum_epi32(DPBUSD(_mm256_setzero_si256(), u, xq)) + ld_i32(xp + 4 * (RN + r));
            acc[r] = __builtin_fmaf(dw * ld_f32(xp + 4 * r), (float)s, acc[r]);
        }
    }
    FOR_N y[r * ys] = acc[r];
}

INLINE void gemm_q4_0_t(int64_t n, const uint8_t *w, size_t ws, const uint8_t *x, size_t xs, const int RM,
                        const int RN, float *y, size_t ys) {
    (void)xs;
    if (RM == 8) gemm_q4_0_8(n, w, ws, x, RN, y, ys);
    else FOR_M gemm_q4_0_1(n, w + (size_t)m * ws, x, RN, y + m, ys);
}

/* Keeps v in a register as computed here: GCC otherwise re-associates a chain of integer adds
 * into a tree whose operands all stay live, and spills them (gemm_q4_0x8_t without it: 101-109
 * GFLOP/s on one core instead of 150-155, 5632x2048 at T = 512). */
#define REG_BARRIER(v) __asm__("" : "+x"(v))

/* Block i (bs bytes) of a packed group, after prefetching PACKED_PF_DIST bytes further along: the
 * groups of a matrix are one sequential stream, and a task's stretch of it is too short for the
 * hardware prefetcher alone. 4 KiB covers the memory latency at one core's share of the bandwidth
 * and stays well inside L1. Decode, Q4_0 tinyllama, 2 threads, means of 5-7 alternating runs:
 * 35.7 tok/s prefetching the same block of the next group (9-25 KiB ahead), 38.0-38.4 at 2-4 KiB
 * ahead, 36-37 at 6-8 KiB, 31-33 with no prefetch; prefill unchanged. */
INLINE const uint8_t *packed_step(const uint8_t *w, int64_t i, const size_t bs) {
    const char *pf = (const char *)w + (size_t)i * bs + PACKED_PF_DIST;
    _Pragma("GCC unroll 18") for (size_t p = 0; p < (bs + 63) / 64; p++) _mm_prefetch(pf + 64 * p, _MM_HINT_T0);
    return w + (size_t)i * bs;
}

/* q4_0 weights in kn_pack's layout (kernels_impl.h): gemm_q4_0_8 without the transpose. A group's
 * block is 144 contiguous bytes -- the eight f16 scales, then W[0..3] as the tile wants them -- so
 * the eight rows are one sequential stream, prefetched ahead as it goes (packed_step).
 *
 * Same arithmetic as q4_0_8_step, lane for lane (int16 sums are exact, so their order is free),
 * in the other loop order: one weight vector at a time against every activation row, each row
 * with its own int16 sum. gemm_q4_0_8's order keeps W[0..7], four accumulators, the scales, the
 * ones and temporaries live at once -- more than AVX2's 16 registers, and GCC spilled the
 * accumulators and W to the stack on every block. This order needs 14. */
INLINE void gemm_q4_0x8_t(int64_t n, const uint8_t *w, size_t ws, const uint8_t *x, size_t xs, const int RM,
                          const int RN, float *y, size_t ys) {
    (void)ws, (void)xs, (void)RM;
    const __m256i m4 = _mm256_set1_epi8(0x0F), ones = _mm256_set1_epi16(1);
    __m256 acc[TILE_NMAX];
    FOR_N acc[r] = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK4_0; i++) {
        const uint8_t *b = packed_step(w, i, KN_PACK_ROWS * sizeof(block_q4_0));
        const uint8_t *xp = x + (size_t)i * KN_PANEL_BLOCK(RN);
        const uint8_t *xq = xp + 8 * RN; /* row r's quants at xq + QK8_0 * r */
        __m256i a[TILE_NMAX];
        _Pragma("GCC unroll 4") for (int k = 0; k < 4; k++) {
            const __m256i v = _mm256_loadu_si256((const __m256i *)(b + 16 + 32 * k));
            const __m256i lo = _mm256_and_si256(v, m4), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
            FOR_N {
                const uint8_t *q = xq + QK8_0 * r;
                const __m256i p = _mm256_add_epi16(_mm256_maddubs_epi16(lo, _mm256_set1_epi32(ld_i32(q + 4 * k))),
                                                   _mm256_maddubs_epi16(hi, _mm256_set1_epi32(ld_i32(q + 16 + 4 * k))));
                a[r] = k ? _mm256_add_epi16(a[r], p) : p;
                REG_BARRIER(a[r]);
            }
        }
        const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)b));
        FOR_N {
            const __m256i s = _mm256_add_epi32(_mm256_madd_epi16(a[r], ones), _mm256_set1_epi32(ld_i32(xp + 4 * (RN + r))));
            acc[r] = _mm256_fmadd_ps(_mm256_mul_ps(dw, _mm256_set1_ps(ld_f32(xp + 4 * r))), _mm256_cvtepi32_ps(s),
                                     acc[r]);
        }
    }
    FOR_N _mm256_storeu_ps(y + r * ys, acc[r]);
}

/* Two packed q4_0 groups (16 rows) against one panel, for prefill and batched decode (bound by
 * the FP pipes, where a broadcast from memory takes one on Zen 3): each of x's broadcasts now
 * feeds both groups' vpmaddubsw, so per (group, row, block) the tile spends 5 broadcasts instead
 * of 10. The 2 x RN int16 sums, two weight vectors and one pair of broadcasts fill the 16
 * registers; the float accumulators live in memory (a load and a store per block, off the FP
 * pipes). Same arithmetic as gemm_q4_0x8_t, lane for lane. */
INLINE void gemm_q4_0x16_t(int64_t n, const uint8_t *w, size_t ws, const uint8_t *x, size_t xs, const int RN,
                           float *y, size_t ys) {
    (void)xs; /* a panel's layout follows from RN */
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    const uint8_t *w1 = w + KN_PACK_ROWS * ws; /* the second group */
    _Alignas(32) float acc[2][TILE_NMAX][8];
    memset(acc, 0, sizeof acc);
    for (int64_t i = 0; i < n / QK4_0; i++) {
        const uint8_t *b0 = packed_step(w, i, KN_PACK_ROWS * sizeof(block_q4_0));
        const uint8_t *b1 = packed_step(w1, i, KN_PACK_ROWS * sizeof(block_q4_0));
        const uint8_t *xp = x + (size_t)i * KN_PANEL_BLOCK(RN);
        const uint8_t *xq = xp + 8 * RN;
        __m256i a0[TILE_NMAX], a1[TILE_NMAX];
        _Pragma("GCC unroll 4") for (int k = 0; k < 4; k++) {
            const __m256i v0 = _mm256_loadu_si256((const __m256i *)(b0 + 16 + 32 * k));
            const __m256i v1 = _mm256_loadu_si256((const __m256i *)(b1 + 16 + 32 * k));
            const __m256i lo0 = _mm256_and_si256(v0, m4), hi0 = _mm256_and_si256(_mm256_srli_epi16(v0, 4), m4);
            const __m256i lo1 = _mm256_and_si256(v1, m4), hi1 = _mm256_and_si256(_mm256_srli_epi16(v1, 4), m4);
            FOR_N {
                const uint8_t *q = xq + QK8_0 * r;
                const __m256i bl = _mm256_set1_epi32(ld_i32(q + 4 * k)), bh = _mm256_set1_epi32(ld_i32(q + 16 + 4 * k));
                const __m256i p0 = _mm256_add_epi16(_mm256_maddubs_epi16(lo0, bl), _mm256_maddubs_epi16(hi0, bh));
                const __m256i p1 = _mm256_add_epi16(_mm256_maddubs_epi16(lo1, bl), _mm256_maddubs_epi16(hi1, bh));
                a0[r] = k ? _mm256_add_epi16(a0[r], p0) : p0;
                a1[r] = k ? _mm256_add_epi16(a1[r], p1) : p1;
                REG_BARRIER(a0[r]);
                REG_BARRIER(a1[r]);
            }
        }
        const __m256i ones = _mm256_set1_epi16(1);
        const __m256 dw0 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)b0));
        const __m256 dw1 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)b1));
        FOR_N {
            const __m256i sx = _mm256_set1_epi32(ld_i32(xp + 4 * (RN + r)));
            const __m256 dx = _mm256_set1_ps(ld_f32(xp + 4 * r));
            const __m256i s0 = _mm256_add_epi32(_mm256_madd_epi16(a0[r], ones), sx);
            const __m256i s1 = _mm256_add_epi32(_mm256_madd_epi16(a1[r], ones), sx);
            _mm256_store_ps(acc[0][r], _mm256_fmadd_ps(_mm256_mul_ps(dw0, dx), _mm256_cvtepi32_ps(s0),
                                                       _mm256_load_ps(acc[0][r])));
            _mm256_store_ps(acc[1][r], _mm256_fmadd_ps(_mm256_mul_ps(dw1, dx), _mm256_cvtepi32_ps(s1),
                                                       _mm256_load_ps(acc[1][r])));
        }
    }
    FOR_N {
        _mm256_storeu_ps(y + r * ys, _mm256_load_ps(acc[0][r]));
        _mm256_storeu_ps(y + r * ys + KN_PACK_ROWS, _mm256_load_ps(acc[1][r]));
    }
}

/* ---- K-quants x q8_K ----------------------------------------------------------------------------
 * sumi (8 x int32) collects sum_j sc_j * (q . x over sub-block j) with the sub-block scale applied
 * in int16 (DPWSSD); its lanes and the mins term sum_j m_j * (bsums[2j] + bsums[2j+1]) are summed
 * exactly, then take the scalar kernels' float steps (dot_ref.c says which, and why). */

/* The four partial sums of sum_j m_j * (bsums[2j] + bsums[2j+1]): 8 mins (int16) . pairwise sums
 * of the 16 bsums. */
INLINE __m128i mins_pairs(__m128i mins16, const int16_t *bsums) {
    const __m128i b0 = _mm_loadu_si128((const __m128i *)bsums), b1 = _mm_loadu_si128((const __m128i *)(bsums + 8));
    return _mm_madd_epi16(mins16, _mm_hadd_epi16(b0, b1));
}

/* Lane r = the sum of v[r]'s eight (four) int32 lanes, r < NR; exact (integers). */
INLINE __m128i hsum4_epi32(const __m256i *v, const int NR) {
    const __m256i z = _mm256_setzero_si256();
    const __m256i ab = _mm256_hadd_epi32(v[0], NR > 1 ? v[1] : z), cd = _mm256_hadd_epi32(NR > 2 ? v[2] : z, NR > 3 ? v[3] : z);
    const __m256i h = _mm256_hadd_epi32(ab, cd);
    return _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
}
INLINE __m128i hsum4_epi128(const __m128i *v, const int NR) {
    const __m128i z = _mm_setzero_si128();
    return _mm_hadd_epi32(_mm_hadd_epi32(v[0], NR > 1 ? v[1] : z), _mm_hadd_epi32(NR > 2 ? v[2] : z, NR > 3 ? v[3] : z));
}

/* The K-quant float step of dot_ref.c, for up to four activation rows at once (lane r):
 *   acc += (d_x*d_w) * sumi - (d_x*dmin_w) * summ      each operation rounded, none fused. */
INLINE __m128 kquant_step(__m128 acc, const float *xd, float d, __m128i sumi, float dmin, __m128i summ) {
    const __m128 x = _mm_loadu_ps(xd);
    const __m128 a = _mm_mul_ps(_mm_mul_ps(x, _mm_set1_ps(d)), _mm_cvtepi32_ps(sumi));
    const __m128 b = _mm_mul_ps(_mm_mul_ps(x, _mm_set1_ps(dmin)), _mm_cvtepi32_ps(summ));
    return _mm_add_ps(acc, _mm_sub_ps(a, b));
}

INLINE void mdot_q4_K_nr(int64_t n, const block_q4_K *w, const uint8_t *x, size_t xs, const int NR,
                         float *out, size_t os) {
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    __m128 acc = _mm_setzero_ps(); /* lane r: activation row r */
    for (int64_t i = 0; i < n / QK_K; i++) {
        uint8_t sm[16];
        kn_unpack_scales_k4(w[i].scales, sm);
        const float d = f16(w[i].d), dmin = f16(w[i].dmin);
        __m256i sumi[KN_NRX];
        FOR_R sumi[r] = _mm256_setzero_si256();
        for (int c = 0; c < 4; c++) {
            const __m256i bits = _mm256_loadu_si256((const __m256i *)(w[i].qs + 32 * c));
            const __m256i lo = _mm256_and_si256(bits, m4), hi = _mm256_and_si256(_mm256_srli_epi16(bits, 4), m4);
            const __m256i s_lo = _mm256_set1_epi16(sm[2 * c]), s_hi = _mm256_set1_epi16(sm[2 * c + 1]);
            FOR_R {
                const int8_t *a = XBLK(block_q8_K, r, i)->qs + 64 * c;
                __m256i p_lo = _mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i *)a));
                __m256i p_hi = _mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i *)(a + 32)));
                sumi[r] = DPWSSD(DPWSSD(sumi[r], p_lo, s_lo), p_hi, s_hi);
            }
        }
        const __m128i mins16 = _mm_cvtepu8_epi16(_mm_loadl_epi64((const __m128i *)(sm + 8)));
        __m128i mp[KN_NRX];
        float xd[KN_NRX] = {0};
        FOR_R {
            const block_q8_K *xb = XBLK(block_q8_K, r, i);
            mp[r] = mins_pairs(mins16, xb->bsums);
            xd[r] = xb->d;
        }
        acc = kquant_step(acc, xd, d, hsum4_epi32(sumi, NR), dmin, hsum4_epi128(mp, NR));
    }
    FOR_R out[r * os] = acc[r];
}

INLINE void mdot_q5_K_nr(int64_t n, const block_q5_K *w, const uint8_t *x, size_t xs, const int NR,
                         float *out, size_t os) {
    const __m256i m4 = _mm256_set1_epi8(0x0F), one = _mm256_set1_epi8(1);
    __m128 acc = _mm_setzero_ps(); /* lane r: activation row r */
    for (int64_t i = 0; i < n / QK_K; i++) {
        uint8_t sm[16];
        kn_unpack_scales_k4(w[i].scales, sm);
        const float d = f16(w[i].d), dmin = f16(w[i].dmin);
        __m256i hb = _mm256_loadu_si256((const __m256i *)w[i].qh); /* bit 2c / 2c+1: chunk c */
        __m256i sumi[KN_NRX];
        FOR_R sumi[r] = _mm256_setzero_si256();
        for (int c = 0; c < 4; c++, hb = _mm256_srli_epi16(hb, 2)) {
            const __m256i bits = _mm256_loadu_si256((const __m256i *)(w[i].qs + 32 * c));
            /* per byte, (hb >> k) & 1 is exact despite the 16-bit shift: the mask drops what
             * crossed in from the neighbouring byte */
            const __m256i lo = _mm256_or_si256(_mm256_and_si256(bits, m4),
                                               _mm256_slli_epi16(_mm256_and_si256(hb, one), 4));
            const __m256i hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(bits, 4), m4),
                                               _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 1), one), 4));
            const __m256i s_lo = _mm256_set1_epi16(sm[2 * c]), s_hi = _mm256_set1_epi16(sm[2 * c + 1]);
            FOR_R {
                const int8_t *a = XBLK(block_q8_K, r, i)->qs + 64 * c;
                __m256i p_lo = _mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i *)a));
                __m256i p_hi = _mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i *)(a + 32)));
                sumi[r] = DPWSSD(DPWSSD(sumi[r], p_lo, s_lo), p_hi, s_hi);
            }
        }
        const __m128i mins16 = _mm_cvtepu8_epi16(_mm_loadl_epi64((const __m128i *)(sm + 8)));
        __m128i mp[KN_NRX];
        float xd[KN_NRX] = {0};
        FOR_R {
            const block_q8_K *xb = XBLK(block_q8_K, r, i);
            mp[r] = mins_pairs(mins16, xb->bsums);
            xd[r] = xb->d;
        }
        acc = kquant_step(acc, xd, d, hsum4_epi32(sumi, NR), dmin, hsum4_epi128(mp, NR));
    }
    FOR_R out[r * os] = acc[r];
}

/* q6_K: q in 0..63 is unsigned, so sum (q-32)*x = sum q*x - 32 * sum x, and sum x per group of 16
 * is bsums. Each 32-element vector spans two scale groups: int16 lanes 0..7 and 8..15. */
/* q6_K against NR <= 8 activation rows: the weight block is unpacked once and used NR times. The
 * multi-dot calls it with NR <= KN_NRX; the 1 x 8 GEMM tile (gemm_q6_K_t) with up to 8, which
 * halves the unpacking per token in batched decode and prefill. Lane r of acc[r / 4] is activation
 * row r; every row gets the same arithmetic whatever NR is. */
INLINE void mdot_q6_K_nr(int64_t n, const block_q6_K *w, const uint8_t *x, size_t xs, const int NR,
                         float *out, size_t os) {
    const __m256i m4 = _mm256_set1_epi8(0x0F), m2 = _mm256_set1_epi8(0x03);
    __m128 acc[2] = {_mm_setzero_ps(), _mm_setzero_ps()};
    for (int64_t i = 0; i < n / QK_K; i++) {
        /* a row's blocks are one stream: pull it in PACKED_PF_DIST ahead, as the packed tiles do */
        _Pragma("GCC unroll 4") for (int p = 0; p < 4; p++)
            _mm_prefetch((const char *)(w + i) + PACKED_PF_DIST + 64 * p, _MM_HINT_T0);
        const float d = f16(w[i].d);
        /* scale pair (sc_g, sc_g+1) for g = 8h + 2k: dword g/2 of the int16 scales broadcast, then
         * its low int16 to the low half and its high one to the high half: two shuffles instead of
         * two scalar loads, two broadcasts and an insert. Made for all eight steps up front and
         * read back as memory operands, so the step loop holds only the NR sums, the quants and
         * two masks in registers (with sc16 and the step's inputs kept live, GCC spilled the sums
         * of the 1 x 8 tile on every step). */
        const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)w[i].scales));
        const __m256i halves = _mm256_setr_epi8(0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1,
                                                2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3);
        __m256i sp[8];
        _Pragma("GCC unroll 8") for (int g = 0; g < 8; g++)
            sp[g] = _mm256_shuffle_epi8(_mm256_permutevar8x32_epi32(sc16, _mm256_set1_epi32(g)), halves);
        __m256i sumi[TILE_NMAX];
        _Pragma("GCC unroll 8") for (int r = 0; r < NR; r++) sumi[r] = _mm256_setzero_si256();
        _Pragma("GCC unroll 2") for (int h = 0; h < 2; h++) {
            /* elements 128h + 32k .. +31: ql half kk = k & 1, low nibbles for k < 2, high for k >= 2 */
            _Pragma("GCC unroll 4") for (int k = 0; k < 4; k++) {
                const __m256i ql = _mm256_loadu_si256((const __m256i *)(w[i].ql + 64 * h + 32 * (k & 1)));
                const __m256i qh = _mm256_loadu_si256((const __m256i *)(w[i].qh + 32 * h));
                const __m256i lowbits = k < 2 ? _mm256_and_si256(ql, m4) : _mm256_and_si256(_mm256_srli_epi16(ql, 4), m4);
                const __m256i highbits = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * k), m2);
                const __m256i q = _mm256_or_si256(lowbits, _mm256_slli_epi16(highbits, 4));
                _Pragma("GCC unroll 8") for (int r = 0; r < NR; r++) {
                    const int8_t *a = XBLK(block_q8_K, r, i)->qs + 128 * h + 32 * k;
                    sumi[r] = DPWSSD(sumi[r], _mm256_maddubs_epi16(q, _mm256_loadu_si256((const __m256i *)a)), sp[4 * h + k]);
                    REG_BARRIER(sumi[r]);
                }
            }
        }
        float xd[TILE_NMAX] = {0};
        _Pragma("GCC unroll 8") for (int r = 0; r < NR; r++) {
            const block_q8_K *xb = XBLK(block_q8_K, r, i);
            const __m256i corr = _mm256_madd_epi16(sc16, _mm256_loadu_si256((const __m256i *)xb->bsums));
            sumi[r] = _mm256_sub_epi32(sumi[r], _mm256_slli_epi32(corr, 5));
            xd[r] = xb->d;
        }
        acc[0] = kquant_step(acc[0], xd, d, hsum4_epi32(sumi, NR < 4 ? NR : 4), 0.0f, _mm_setzero_si128());
        if (NR > 4) acc[1] = kquant_step(acc[1], xd + 4, d, hsum4_epi32(sumi + 4, NR - 4), 0.0f, _mm_setzero_si128());
    }
    _Pragma("GCC unroll 8") for (int r = 0; r < NR; r++) out[r * os] = acc[r / 4][r % 4];
}

/* q6_K weights: one weight row against up to eight activation rows (see mdot_q6_K_nr). */
INLINE void gemm_q6_K_t(int64_t n, const uint8_t *w, size_t ws, const uint8_t *x, size_t xs, const int RM,
                        const int RN, float *y, size_t ys) {
    FOR_M mdot_q6_K_nr(n, (const block_q6_K *)(w + (size_t)m * ws), x, xs, RN, y + m, ys);
}

/* ---- q4_K GEMM tile: eight weight rows in the lanes ---------------------------------------------
 * As gemm_q4_0_8, for q4_K x q8_K: per 256-block the eight rows' 128-byte nibble arrays are
 * transposed as four 8 x 8 dword blocks, so that T[k] holds, in lane m, row m's dword 8c+k: four
 * elements of sub-block 2c in its low nibbles and four of sub-block 2c+1 in its high ones. For
 * each activation row, x's matching 4-byte groups are broadcast; eight vpmaddubsw add up in int16
 * (|sum| <= 8 * 2 * 15 * 127 = 30480) to a sub-block's dot for all eight rows, one vpmaddwd with
 * the rows' 6-bit scales (both int16 halves of lane m hold row m's) makes sc_j * dot_j in int32,
 * and the mins term is one vpmaddwd per two sub-blocks. The float step is dot_ref.c's, lane by
 * lane: each (row, activation row) pair gets exactly the scalar kernel's bits. */

/* 8 x 8 transpose of 32-bit elements: r[i] lane j -> r[j] lane i. */
INLINE void transpose8_epi32(__m256i r[8]) {
    const __m256i t0 = _mm256_unpacklo_epi32(r[0], r[1]), t1 = _mm256_unpackhi_epi32(r[0], r[1]);
    const __m256i t2 = _mm256_unpacklo_epi32(r[2], r[3]), t3 = _mm256_unpackhi_epi32(r[2], r[3]);
    const __m256i t4 = _mm256_unpacklo_epi32(r[4], r[5]), t5 = _mm256_unpackhi_epi32(r[4], r[5]);
    const __m256i t6 = _mm256_unpacklo_epi32(r[6], r[7]), t7 = _mm256_unpackhi_epi32(r[6], r[7]);
    const __m256i u0 = _mm256_unpacklo_epi64(t0, t2), u1 = _mm256_unpackhi_epi64(t0, t2);
    const __m256i u2 = _mm256_unpacklo_epi64(t1, t3), u3 = _mm256_unpackhi_epi64(t1, t3);
    const __m256i u4 = _mm256_unpacklo_epi64(t4, t6), u5 = _mm256_unpackhi_epi64(t4, t6);
    const __m256i u6 = _mm256_unpacklo_epi64(t5, t7), u7 = _mm256_unpackhi_epi64(t5, t7);
    r[0] = _mm256_permute2x128_si256(u0, u4, 0x20);
    r[1] = _mm256_permute2x128_si256(u1, u5, 0x20);
    r[2] = _mm256_permute2x128_si256(u2, u6, 0x20);
    r[3] = _mm256_permute2x128_si256(u3, u7, 0x20);
    r[4] = _mm256_permute2x128_si256(u0, u4, 0x31);
    r[5] = _mm256_permute2x128_si256(u1, u5, 0x31);
    r[6] = _mm256_permute2x128_si256(u2, u6, 0x31);
    r[7] = _mm256_permute2x128_si256(u3, u7, 0x31);
}

/* The eight rows' scales of one 256-block, from h4 (lane m = row m's first 16 bytes as four dwords:
 * d | dmin << 16, scales[0..3], scales[4..7], scales[8..11]): kn_unpack_scales_k4's word operations
 * on all eight rows at once. scv[j]: sc_j in both int16 halves of each lane; mnv[p]: (m_2p,
 * m_2p+1) as an int16 pair; dv, dmv: d and dmin as floats. */
typedef struct {
    __m256i scv[8], mnv[4];
    __m256 dv, dmv;
} q4_K_8_scales;

INLINE void q4_K_8_unpack_scales(const __m256i h4[4], q4_K_8_scales *o) {
    const __m256i m4 = _mm256_set1_epi8(0x0F), m6 = _mm256_set1_epi8(0x3F), m2 = _mm256_set1_epi8(0x03);
    const __m256i sc_lo = _mm256_and_si256(h4[1], m6), mn_lo = _mm256_and_si256(h4[2], m6);
    const __m256i sc_hi = _mm256_or_si256(_mm256_and_si256(h4[3], m4),
                                          _mm256_slli_epi32(_mm256_and_si256(_mm256_srli_epi32(h4[1], 6), m2), 4));
    const __m256i mn_hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi32(h4[3], 4), m4),
                                          _mm256_slli_epi32(_mm256_and_si256(_mm256_srli_epi32(h4[2], 6), m2), 4));
    const __m256i lanes = _mm256_setr_epi32(0, 0x00040004, 0x00080008, 0x000C000C, 0, 0x00040004, 0x00080008, 0x000C000C);
    _Pragma("GCC unroll 4") for (int j = 0; j < 4; j++) {
        const __m256i idx = _mm256_add_epi8(_mm256_set1_epi32((int)(0x80008000u | (uint32_t)j | (uint32_t)j << 16)), lanes);
        o->scv[j] = _mm256_shuffle_epi8(sc_lo, idx);
        o->scv[j + 4] = _mm256_shuffle_epi8(sc_hi, idx);
    }
    _Pragma("GCC unroll 2") for (int p = 0; p < 2; p++) {
        const __m256i idx = _mm256_add_epi8(
            _mm256_set1_epi32((int)(0x80008000u | (uint32_t)(2 * p) | (uint32_t)(2 * p + 1) << 16)), lanes);
        o->mnv[p] = _mm256_shuffle_epi8(mn_lo, idx);
        o->mnv[p + 2] = _mm256_shuffle_epi8(mn_hi, idx);
    }
    const __m256i dlo = _mm256_and_si256(h4[0], _mm256_set1_epi32(0xFFFF)), dhi = _mm256_srli_epi32(h4[0], 16);
    o->dv = _mm256_cvtph_ps(_mm_packus_epi32(_mm256_castsi256_si128(dlo), _mm256_extracti128_si256(dlo, 1)));
    o->dmv = _mm256_cvtph_ps(_mm_packus_epi32(_mm256_castsi256_si128(dhi), _mm256_extracti128_si256(dhi, 1)));
}

/* Chunk c (sub-blocks 2c, 2c+1) of block i: T[k] lane m = row m's qs dword 8c+k. */
INLINE void q4_K_8_chunk(const __m256i T[8], int c, const q4_K_8_scales *sc, const uint8_t *x, size_t xs, int64_t i,
                         const int RN, __m256i *sumi) {
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    _Pragma("GCC unroll 2") for (int h = 0; h < 2; h++) {
        const int j = 2 * c + h;
        FOR_N {
            const int8_t *a = XBLK(block_q8_K, r, i)->qs + 32 * j;
            __m256i a16 = _mm256_setzero_si256();
            _Pragma("GCC unroll 8") for (int k = 0; k < 8; k++) {
                const __m256i q = h ? _mm256_and_si256(_mm256_srli_epi16(T[k], 4), m4) : _mm256_and_si256(T[k], m4);
                a16 = _mm256_add_epi16(a16, _mm256_maddubs_epi16(q, _mm256_set1_epi32(ld_i32((const uint8_t *)a + 4 * k))));
            }
            sumi[r] = _mm256_add_epi32(sumi[r], _mm256_madd_epi16(a16, sc->scv[j]));
        }
    }
}

/* The float step of block i for the RN activation rows: dot_ref.c's, lane by lane. */
INLINE void q4_K_8_finish(const q4_K_8_scales *sc, const __m256i *sumi, const uint8_t *x, size_t xs, int64_t i,
                          const int RN, __m256 *acc) {
    FOR_N {
        const block_q8_K *xb = XBLK(block_q8_K, r, i);
        const __m128i bs = _mm_hadd_epi16(_mm_loadu_si128((const __m128i *)xb->bsums),
                                          _mm_loadu_si128((const __m128i *)(xb->bsums + 8)));
        _Alignas(16) int32_t bsp[4]; /* (S_2p, S_2p+1) int16 pairs */
        _mm_store_si128((__m128i *)bsp, bs);
        __m256i summ = _mm256_setzero_si256();
        _Pragma("GCC unroll 4") for (int p = 0; p < 4; p++)
            summ = _mm256_add_epi32(summ, _mm256_madd_epi16(sc->mnv[p], _mm256_set1_epi32(bsp[p])));
        const __m256 xd = _mm256_set1_ps(xb->d);
        const __m256 a = _mm256_mul_ps(_mm256_mul_ps(xd, sc->dv), _mm256_cvtepi32_ps(sumi[r]));
        const __m256 b = _mm256_mul_ps(_mm256_mul_ps(xd, sc->dmv), _mm256_cvtepi32_ps(summ));
        acc[r] = _mm256_add_ps(acc[r], _mm256_sub_ps(a, b));
    }
}

/* The eight rows' head (d, dmin, scales) as h4: lane m = row m's dword q in h4[q], from the file's
 * rows by four 16-byte loads transposed (rows m and m+4 share a register). kn_pack stores h4. */
INLINE void q4_K_8_head(const uint8_t *w, size_t ws, int64_t i, __m256i h4[4]) {
#define KB(m) ((const block_q4_K *)(w + (size_t)(m) * ws) + i)
    const __m256i r0 = _mm256_loadu2_m128i((const __m128i *)KB(4), (const __m128i *)KB(0));
    const __m256i r1 = _mm256_loadu2_m128i((const __m128i *)KB(5), (const __m128i *)KB(1));
    const __m256i r2 = _mm256_loadu2_m128i((const __m128i *)KB(6), (const __m128i *)KB(2));
    const __m256i r3 = _mm256_loadu2_m128i((const __m128i *)KB(7), (const __m128i *)KB(3));
#undef KB
    const __m256i t0 = _mm256_unpacklo_epi32(r0, r1), t1 = _mm256_unpackhi_epi32(r0, r1);
    const __m256i t2 = _mm256_unpacklo_epi32(r2, r3), t3 = _mm256_unpackhi_epi32(r2, r3);
    h4[0] = _mm256_unpacklo_epi64(t0, t2); /* d | dmin << 16 */
    h4[1] = _mm256_unpackhi_epi64(t0, t2); /* scales[0..3] */
    h4[2] = _mm256_unpacklo_epi64(t1, t3); /* scales[4..7] */
    h4[3] = _mm256_unpackhi_epi64(t1, t3); /* scales[8..11] */
}

/* T[k] of chunk c (lane m = row m's qs dword 8c + k), from the file's rows by eight loads and an
 * 8 x 8 transpose. kn_pack stores T. */
INLINE void q4_K_8_quants(const uint8_t *w, size_t ws, int64_t i, int c, __m256i T[8]) {
    _Pragma("GCC unroll 8") for (int m = 0; m < 8; m++)
        T[m] = _mm256_loadu_si256((const __m256i *)(((const block_q4_K *)(w + (size_t)m * ws) + i)->qs + 32 * c));
    transpose8_epi32(T);
}

/* Eight q4_K rows from the file's rows against RN q8_K rows (matrices that are not packed); the
 * next eight rows stream in as the tile goes (see gemm_q4_0_8). Packed ones take gemm_q4_Kx8_t,
 * the same arithmetic on the registers kn_pack stored. */
INLINE void gemm_q4_K_8(int64_t n, const uint8_t *w, size_t ws, const uint8_t *x, size_t xs, const int RN, float *y,
                        size_t ys) {
    __m256 acc[TILE_NMAX];
    FOR_N acc[r] = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; i++) {
        const char *pf = (const char *)(w + 8 * ws) + (size_t)i * 8 * sizeof(block_q4_K);
        _Pragma("GCC unroll 18") for (int p = 0; p < 18; p++) _mm_prefetch(pf + 64 * p, _MM_HINT_T0);
        __m256i h4[4];
        q4_K_8_head(w, ws, i, h4);
        q4_K_8_scales sc;
        q4_K_8_unpack_scales(h4, &sc);
        __m256i sumi[TILE_NMAX];
        FOR_N sumi[r] = _mm256_setzero_si256();
        for (int c = 0; c < 4; c++) {
            __m256i T[8];
            q4_K_8_quants(w, ws, i, c, T);
            q4_K_8_chunk(T, c, &sc, x, xs, i, RN, sumi);
        }
        q4_K_8_finish(&sc, sumi, x, xs, i, RN, acc);
    }
    FOR_N _mm256_storeu_ps(y + r * ys, acc[r]);
}

/* Packed q4_K (kn_pack's layout): gemm_q4_K_8's arithmetic in the loop order of gemm_q4_0x8_t --
 * per sub-block, one weight vector at a time (loaded and its nibbles taken once) against every
 * activation row, each row with its own int16 sum; int sums are exact, so the order changes no
 * bit. gemm_q4_K_8 keeps T[0..7], the scales and the sums live together and GCC spilled them on
 * every block (282 stack accesses in the AVX2 tile). */
INLINE void gemm_q4_Kx8_t(int64_t n, const uint8_t *w, size_t ws, const uint8_t *x, size_t xs, const int RM,
                          const int RN, float *y, size_t ys) {
    (void)RM, (void)ws;
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    __m256 acc[TILE_NMAX];
    FOR_N acc[r] = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; i++) {
        const uint8_t *b = packed_step(w, i, KN_PACK_ROWS * sizeof(block_q4_K));
        __m256i h4[4];
        _Pragma("GCC unroll 4") for (int k = 0; k < 4; k++) h4[k] = _mm256_loadu_si256((const __m256i *)(b + 32 * k));
        q4_K_8_scales sc;
        q4_K_8_unpack_scales(h4, &sc);
        __m256i sumi[TILE_NMAX];
        FOR_N sumi[r] = _mm256_setzero_si256();
        /* sub-block j = 2c + h: chunk c, low (h = 0) or high nibbles. h is unrolled so that the
         * choice is made at compile time (as a runtime j & 1, GCC put a conditional branch before
         * every vpmaddubsw group). */
        for (int c = 0; c < 4; c++) _Pragma("GCC unroll 2") for (int h = 0; h < 2; h++) {
            const int j = 2 * c + h;
            const uint8_t *tq = b + 128 + 256 * c;
            __m256i a16[TILE_NMAX];
            _Pragma("GCC unroll 8") for (int k = 0; k < 8; k++) {
                const __m256i v = _mm256_loadu_si256((const __m256i *)(tq + 32 * k));
                const __m256i q = h ? _mm256_and_si256(_mm256_srli_epi16(v, 4), m4) : _mm256_and_si256(v, m4);
                FOR_N {
                    const uint8_t *a = (const uint8_t *)XBLK(block_q8_K, r, i)->qs + 32 * j + 4 * k;
                    const __m256i p = _mm256_maddubs_epi16(q, _mm256_set1_epi32(ld_i32(a)));
                    a16[r] = k ? _mm256_add_epi16(a16[r], p) : p;
                    REG_BARRIER(a16[r]);
                }
            }
            FOR_N sumi[r] = _mm256_add_epi32(sumi[r], _mm256_madd_epi16(a16[r], sc.scv[j]));
        }
        q4_K_8_finish(&sc, sumi, x, xs, i, RN, acc);
    }
    FOR_N _mm256_storeu_ps(y + r * ys, acc[r]);
}

/* Two packed q4_K groups are two calls: sharing x's broadcasts between them, as gemm_q4_0x16_t
 * does, measured no faster for q4_K (its int32 sums no longer fit the registers; Q4_K_M batched
 * 4 / 16 sequences 64.9 / 76.8 -> 62.1 / 74.7 tok/s, three alternating rounds), so the matmul
 * gives q4_K one group per call (gemm_pk_mr = 8) and this only completes the wrapper. */
INLINE void gemm_q4_Kx16_t(int64_t n, const uint8_t *w, size_t ws, const uint8_t *x, size_t xs, const int RN,
                           float *y, size_t ys) {
    gemm_q4_Kx8_t(n, w, ws, x, xs, KN_PACK_ROWS, RN, y, ys);
    gemm_q4_Kx8_t(n, w + KN_PACK_ROWS * ws, ws, x, xs, KN_PACK_ROWS, RN, y + KN_PACK_ROWS, ys);
}

INLINE void gemm_q4_K_t(int64_t n, const uint8_t *w, size_t ws, const uint8_t *x, size_t xs, const int RM,
                        const int RN, float *y, size_t ys) {
    if (RM == 8) gemm_q4_K_8(n, w, ws, x, xs, RN, y, ys);
    else FOR_M mdot_q4_K_nr(n, (const block_q4_K *)(w + (size_t)m * ws), x, xs, RN, y + m, ys);
}

/* ---- float weights x f32 activations (any n; scalar tail) -------------------------------------- */

INLINE __m256 load_f16x8(const uint16_t *p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)); }
INLINE __m256 load_bf16x8(const uint16_t *p) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p)), 16));
}

#define MDOT_FLOAT_NR(NAME, WT, LOAD8, SCALAR)                                                       \
    INLINE void NAME(int64_t n, const WT *w, const uint8_t *x, size_t xs, const int NR, float *out, \
                     size_t os) {                                                                   \
        __m256 acc[KN_NRX][2];                                                                      \
        FOR_R acc[r][0] = acc[r][1] = _mm256_setzero_ps();                   \
        int64_t i = 0;                                                                              \
        for (; i + 16 <= n; i += 16) {                                                              \
            const __m256 w0 = LOAD8(w + i), w1 = LOAD8(w + i + 8);                                  \
            FOR_R {                                                          \
                const float *xr = (const float *)(x + (size_t)r * xs) + i;                          \
                acc[r][0] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(xr), acc[r][0]);                    \
                acc[r][1] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(xr + 8), acc[r][1]);                \
            }                                                                                       \
        }                                                                                           \
        for (; i + 8 <= n; i += 8) {                                                                \
            const __m256 w0 = LOAD8(w + i);                                                         \
            FOR_R                                                            \
                acc[r][0] = _mm256_fmadd_ps(w0, _mm256_loadu_ps((const float *)(x + (size_t)r * xs) + i), acc[r][0]); \
        }                                                                                           \
        FOR_R {                                                              \
            const float *xr = (const float *)(x + (size_t)r * xs);                                  \
            float s = hsum_ps(_mm256_add_ps(acc[r][0], acc[r][1]));                                 \
            for (int64_t j = i; j < n; j++) s += SCALAR(w[j]) * xr[j];                              \
            out[r * os] = s;                                                                        \
        }                                                                                           \
    }

#define F32_ID(v) (v)
MDOT_FLOAT_NR(mdot_f32_nr, float, _mm256_loadu_ps, F32_ID)
MDOT_FLOAT_NR(mdot_f16_nr, uint16_t, load_f16x8, kn_f16_to_f32)
MDOT_FLOAT_NR(mdot_bf16_nr, uint16_t, load_bf16x8, kn_bf16_to_f32)

/* ---- kn_mdot_fn wrappers: one fully unrolled instantiation per NR ------------------------------ */

#define MDOT_WRAPPER(NAME, IMPL, WT)                                                                 \
    static void NAME(int64_t n, const void *w, const void *x, size_t xs, int nrx, float *out,      \
                     size_t os) {                                                                   \
        const WT *wt = w;                                                                           \
        const uint8_t *xb = x;                                                                      \
        switch (nrx) {                                                                              \
        case 1: IMPL(n, wt, xb, xs, 1, out, os); break;                                             \
        case 2: IMPL(n, wt, xb, xs, 2, out, os); break;                                             \
        case 3: IMPL(n, wt, xb, xs, 3, out, os); break;                                             \
        default: IMPL(n, wt, xb, xs, 4, out, os); break;                                            \
        }                                                                                           \
    }

MDOT_WRAPPER(mdot_q8_0, mdot_q8_0_nr, block_q8_0)
MDOT_WRAPPER(mdot_q4_0, mdot_q4_0_nr, block_q4_0)
MDOT_WRAPPER(mdot_q4_K, mdot_q4_K_nr, block_q4_K)
MDOT_WRAPPER(mdot_q5_K, mdot_q5_K_nr, block_q5_K)
MDOT_WRAPPER(mdot_q6_K, mdot_q6_K_nr, block_q6_K)
MDOT_WRAPPER(mdot_f32, mdot_f32_nr, float)
MDOT_WRAPPER(mdot_f16, mdot_f16_nr, uint16_t)
MDOT_WRAPPER(mdot_bf16, mdot_bf16_nr, uint16_t)

/* ---- kn_gemm_fn wrappers: one instantiation per (RM, RN) up to the type's tile ---------------- */

#define GEMM_CALL(IMPL, MR, NR, RM, RN)                                                            \
    case RN:                                                                                       \
        if (RM <= MR && RN <= NR) {                                                                \
            IMPL(n, (const uint8_t *)w, ws, (const uint8_t *)x, xs, RM, RN, y, ys);               \
            return;                                                                                \
        }                                                                                          \
        break;
/* CASE(args..., n) for the activation-row counts n = 1..8 a tile can be called with. */
#define NX_CASES(CASE, ...)                                                                        \
    CASE(__VA_ARGS__, 1) CASE(__VA_ARGS__, 2) CASE(__VA_ARGS__, 3) CASE(__VA_ARGS__, 4)            \
    CASE(__VA_ARGS__, 5) CASE(__VA_ARGS__, 6) CASE(__VA_ARGS__, 7) CASE(__VA_ARGS__, 8)
#define GEMM_ROW(IMPL, MR, NR, RM)                                                                 \
    case RM:                                                                                       \
        switch (nx) { NX_CASES(GEMM_CALL, IMPL, MR, NR, RM) }                                      \
        break;
#define GEMM_WRAPPER(NAME, IMPL, MR, NR)                                                           \
    static_assert(MR <= TILE_MMAX && NR <= TILE_NMAX, "tile too large");                           \
    static void NAME(int64_t n, const void *w, size_t ws, int nw, const void *x, size_t xs, int nx, \
                     float *y, size_t ys) {                                                        \
        switch (nw) {                                                                              \
            GEMM_ROW(IMPL, MR, NR, 1) GEMM_ROW(IMPL, MR, NR, 2)                                    \
            GEMM_ROW(IMPL, MR, NR, 3) GEMM_ROW(IMPL, MR, NR, 4)                                    \
            GEMM_ROW(IMPL, MR, NR, 5) GEMM_ROW(IMPL, MR, NR, 6)                                    \
            GEMM_ROW(IMPL, MR, NR, 7) GEMM_ROW(IMPL, MR, NR, 8)                                    \
        }                                                                                          \
        assert(!"gemm tile out of range");                                                         \
    }

/* Tile shapes (rows of W x rows of activations), chosen with llvm-mca -mcpu=znver3 and timing on
 * Zen 3: q4_0 is register-bound at 8 x 4 (8 weight vectors + 4 accumulators); q8_0 keeps one
 * weight row against eight activation rows, which amortises the weight's load, abs and scale
 * over eight pairs and leaves the accumulators in registers. */
#define TILE_Q4_0 8, 4
#define TILE_Q8_0 1, 8
#define TILE_Q4_K 8, 4
#define TILE_Q4_0X8_NR 4 /* packed: KN_PACK_ROWS x this */
#define TILE_Q4_KX8_NR 4
#define TILE_Q6_K 1, 8
#define GEMM_WRAPPER_(NAME, IMPL, TILE) GEMM_WRAPPER(NAME, IMPL, TILE)
GEMM_WRAPPER_(gemm_q4_0, gemm_q4_0_t, TILE_Q4_0)
GEMM_WRAPPER_(gemm_q8_0, gemm_q8_0_t, TILE_Q8_0)
GEMM_WRAPPER_(gemm_q4_K, gemm_q4_K_t, TILE_Q4_K)
/* The packed tiles: one group (decode: one stream, prefetched) or two (nw = 16; q4_0 in prefill
 * and batched decode, x's broadcasts shared). */
#define GEMM_PK2_CALL(ONE, TWO, NR, RN)                                                            \
    case RN:                                                                                       \
        if (RN <= NR) {                                                                            \
            if (nw == KN_PACK_ROWS) ONE(n, (const uint8_t *)w, ws, (const uint8_t *)x, xs, KN_PACK_ROWS, RN, y, ys); \
            else TWO(n, (const uint8_t *)w, ws, (const uint8_t *)x, xs, RN, y, ys);                \
            return;                                                                                \
        }                                                                                          \
        break;
#define GEMM_PK2_WRAPPER(NAME, ONE, TWO, NR)                                                       \
    static_assert(NR <= TILE_NMAX, "tile too large");                                              \
    static void NAME(int64_t n, const void *w, size_t ws, int nw, const void *x, size_t xs, int nx, \
                     float *y, size_t ys) {                                                        \
        assert(nw == KN_PACK_ROWS || nw == 2 * KN_PACK_ROWS);                                      \
        switch (nx) { NX_CASES(GEMM_PK2_CALL, ONE, TWO, NR) }                                      \
        assert(!"gemm tile out of range");                                                         \
    }
GEMM_PK2_WRAPPER(gemm_q4_0x8, gemm_q4_0x8_t, gemm_q4_0x16_t, TILE_Q4_0X8_NR)
GEMM_PK2_WRAPPER(gemm_q4_Kx8, gemm_q4_Kx8_t, gemm_q4_Kx16_t, TILE_Q4_KX8_NR)
GEMM_WRAPPER_(gemm_q6_K, gemm_q6_K_t, TILE_Q6_K)

#define SET_GEMM(TYPE, FN, MR, NR) (t->gemm[TYPE] = FN, t->gemm_mr[TYPE] = MR, t->gemm_nr[TYPE] = NR)
#define SET_GEMM_(TYPE, FN, TILE) SET_GEMM(TYPE, FN, TILE) /* TILE expands to MR, NR first */
#define SET_GEMM_PK(TYPE, FN, MR, NR) (t->gemm_pk[TYPE] = FN, t->gemm_pk_mr[TYPE] = MR, t->gemm_pk_nr[TYPE] = NR)

void KN_X86_FILL(kn_isa_table *t) {
    SET_GEMM_(KN_Q4_0, gemm_q4_0, TILE_Q4_0);
    SET_GEMM_(KN_Q8_0, gemm_q8_0, TILE_Q8_0);
    SET_GEMM_(KN_Q4_K, gemm_q4_K, TILE_Q4_K);
    SET_GEMM_(KN_Q6_K, gemm_q6_K, TILE_Q6_K);
    SET_GEMM_PK(KN_Q4_0, gemm_q4_0x8, 2 * KN_PACK_ROWS, TILE_Q4_0X8_NR);
    SET_GEMM_PK(KN_Q4_K, gemm_q4_Kx8, KN_PACK_ROWS, TILE_Q4_KX8_NR);
    t->mdot[KN_Q8_0] = mdot_q8_0;
    t->mdot[KN_Q4_0] = mdot_q4_0;
    t->mdot[KN_Q4_K] = mdot_q4_K;
    t->mdot[KN_Q5_K] = mdot_q5_K;
    t->mdot[KN_Q6_K] = mdot_q6_K;
    t->mdot[KN_F32] = mdot_f32;
    t->mdot[KN_F16] = mdot_f16;
    t->mdot[KN_BF16] = mdot_bf16;
    t->quantize_q8_0 = quantize_q8_0;
    t->quantize_q8_0x = quantize_q8_0x;
    t->quantize_q8_0p = quantize_q8_0p;
    t->quantize_q8_K = quantize_q8_K;
}
