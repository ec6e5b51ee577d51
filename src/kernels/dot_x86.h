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
 * kn_quantize_row_q8_0x_ref for why this differs from the weight quantizer). */
static void quantize_q8_0x(const float *x, block_q8_0x *y, int64_t n) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (int64_t i = 0; i < n / QK8_0; i++, x += QK8_0) {
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
        _mm256_storeu_si256((__m256i *)y[i].qs, pack_i32x32(q[0], q[1], q[2], q[3]));
        y[i].d = kn_f16_to_f32(kn_f32_to_f16(amax / 127.0f));
    }
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

INLINE void mdot_q4_0_nr(int64_t n, const block_q4_0 *w, const uint8_t *x, size_t xs, const int NR,
                         float *out, size_t os) {
    __m256 acc[KN_NRX];
    FOR_R acc[r] = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK4_0; i++) {
        const __m256i wq = unpack_q4_0(w[i].qs);
        const __m256 dw = _mm256_set1_ps(f16(w[i].d));
        FOR_R {
            const block_q8_0x *xb = XBLK(block_q8_0x, r, i);
            __m256i s = dot_i8(_mm256_setzero_si256(), wq, _mm256_loadu_si256((const __m256i *)xb->qs));
            acc[r] = _mm256_fmadd_ps(_mm256_mul_ps(dw, _mm256_broadcast_ss(&xb->d)), _mm256_cvtepi32_ps(s), acc[r]);
        }
    }
    FOR_R out[r * os] = hsum_ps(acc[r]);
}

/* ---- K-quants x q8_K ----------------------------------------------------------------------------
 * sumi (8 x int32) collects sum_j sc_j * (q . x over sub-block j) with the sub-block scale applied
 * in int16 (DPWSSD); the mins term sum_j m_j * (bsums[2j] + bsums[2j+1]) is folded into the float
 * accumulator's low 4 lanes with -dmin. */

/* 8 mins (int16) . pairwise sums of the 16 bsums -> 4 int32 lanes, widened to 8 floats (4 zero). */
INLINE __m256 mins_term(__m128i mins16, const int16_t *bsums) {
    const __m128i b0 = _mm_loadu_si128((const __m128i *)bsums), b1 = _mm_loadu_si128((const __m128i *)(bsums + 8));
    const __m128i prod = _mm_madd_epi16(mins16, _mm_hadd_epi16(b0, b1));
    return _mm256_cvtepi32_ps(_mm256_zextsi128_si256(prod));
}

INLINE void mdot_q4_K_nr(int64_t n, const block_q4_K *w, const uint8_t *x, size_t xs, const int NR,
                         float *out, size_t os) {
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    __m256 acc[KN_NRX];
    FOR_R acc[r] = _mm256_setzero_ps();
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
        FOR_R {
            const block_q8_K *xb = XBLK(block_q8_K, r, i);
            acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(d * xb->d), _mm256_cvtepi32_ps(sumi[r]), acc[r]);
            acc[r] = _mm256_fnmadd_ps(_mm256_set1_ps(dmin * xb->d), mins_term(mins16, xb->bsums), acc[r]);
        }
    }
    FOR_R out[r * os] = hsum_ps(acc[r]);
}

INLINE void mdot_q5_K_nr(int64_t n, const block_q5_K *w, const uint8_t *x, size_t xs, const int NR,
                         float *out, size_t os) {
    const __m256i m4 = _mm256_set1_epi8(0x0F), one = _mm256_set1_epi8(1);
    __m256 acc[KN_NRX];
    FOR_R acc[r] = _mm256_setzero_ps();
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
        FOR_R {
            const block_q8_K *xb = XBLK(block_q8_K, r, i);
            acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(d * xb->d), _mm256_cvtepi32_ps(sumi[r]), acc[r]);
            acc[r] = _mm256_fnmadd_ps(_mm256_set1_ps(dmin * xb->d), mins_term(mins16, xb->bsums), acc[r]);
        }
    }
    FOR_R out[r * os] = hsum_ps(acc[r]);
}

/* q6_K: q in 0..63 is unsigned, so sum (q-32)*x = sum q*x - 32 * sum x, and sum x per group of 16
 * is bsums. Each 32-element vector spans two scale groups: int16 lanes 0..7 and 8..15. */
INLINE void mdot_q6_K_nr(int64_t n, const block_q6_K *w, const uint8_t *x, size_t xs, const int NR,
                         float *out, size_t os) {
    const __m256i m4 = _mm256_set1_epi8(0x0F), m2 = _mm256_set1_epi8(0x03);
    __m256 acc[KN_NRX];
    FOR_R acc[r] = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; i++) {
        const __m128i sc8 = _mm_loadu_si128((const __m128i *)w[i].scales);
        const float d = f16(w[i].d);
        __m256i sumi[KN_NRX];
        FOR_R sumi[r] = _mm256_setzero_si256();
        for (int h = 0; h < 2; h++) {
            const __m256i ql0 = _mm256_loadu_si256((const __m256i *)(w[i].ql + 64 * h));
            const __m256i ql1 = _mm256_loadu_si256((const __m256i *)(w[i].ql + 64 * h + 32));
            const __m256i qh = _mm256_loadu_si256((const __m256i *)(w[i].qh + 32 * h));
            for (int k = 0; k < 4; k++) { /* elements 128h + 32k .. +31 */
                const __m256i lowbits = k == 0 ? _mm256_and_si256(ql0, m4)
                                      : k == 1 ? _mm256_and_si256(ql1, m4)
                                      : k == 2 ? _mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4)
                                               : _mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4);
                const __m256i highbits = _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * k)), m2);
                const __m256i q = _mm256_or_si256(lowbits, _mm256_slli_epi16(highbits, 4));
                const int g = 8 * h + 2 * k;
                const __m256i s = _mm256_set_m128i(_mm_set1_epi16(w[i].scales[g + 1]), _mm_set1_epi16(w[i].scales[g]));
                FOR_R {
                    const int8_t *a = XBLK(block_q8_K, r, i)->qs + 128 * h + 32 * k;
                    sumi[r] = DPWSSD(sumi[r], _mm256_maddubs_epi16(q, _mm256_loadu_si256((const __m256i *)a)), s);
                }
            }
        }
        const __m256i sc16 = _mm256_cvtepi8_epi16(sc8);
        FOR_R {
            const block_q8_K *xb = XBLK(block_q8_K, r, i);
            const __m256i corr = _mm256_madd_epi16(sc16, _mm256_loadu_si256((const __m256i *)xb->bsums));
            const __m256i si = _mm256_sub_epi32(sumi[r], _mm256_slli_epi32(corr, 5));
            acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(d * xb->d), _mm256_cvtepi32_ps(si), acc[r]);
        }
    }
    FOR_R out[r * os] = hsum_ps(acc[r]);
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

void KN_X86_FILL(kn_isa_table *t) {
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
    t->quantize_q8_K = quantize_q8_K;
}
