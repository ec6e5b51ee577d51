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
 *
 * This file holds what every family shares (primitives, the tile conventions, the packed-stream
 * prefetch), the float dots, the wrappers and the tier's fill function; the families are in
 *   dot_x86_act.h   activation quantizers (q8_0 rows and panels, q8_K)
 *   dot_x86_q32.h   q8_0 / q4_0 weights: multi-dots, tiles, packed q4_0 tiles
 *   dot_x86_kq.h    q4_K / q5_K / q6_K weights: multi-dots, q6_K tile, q4_K tiles (plain, packed)
 * included below, so they are compiled once per tier with the tier's DPBUSD / DPWSSD.
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

/* The sum of v's eight int32 lanes (exact, integers). */
INLINE int hsum_epi32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}

/* Block i of activation row r, the rows xs bytes apart. */
#define XBLK(T, r, i) ((const T *)(x + (size_t)(r) * xs) + (i))

/* ---- GEMM tiles: RM weight rows x RN activation rows --------------------------------------------
 * y[r * ys + m] = dot(W_m, X_r) for m < RM, r < RN: every weight block is loaded and unpacked once
 * per RN activation rows, and every pair (m, r) keeps its own accumulator. The arithmetic of each
 * pair is exactly that of its type's multi-dot (for q8_0: eight integer lanes per block, one FMA by
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

#include "dot_x86_act.h"
#include "dot_x86_q32.h"
#include "dot_x86_kq.h"

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
