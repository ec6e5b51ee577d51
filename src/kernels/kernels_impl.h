/*
 * kernels_impl.h — private to src/kernels: ggml's block layouts and the per-ISA function tables.
 *
 * Block layouts (byte-for-byte ggml's; every struct is packed by construction — only 1- and
 * 2-byte members, or a leading float whose size keeps the rest aligned — and the static_asserts
 * below pin the sizes against kn_traits):
 *
 *   q8_0 (32 elements, 34 B):  f16 d; int8 qs[32]              x[j] = d * qs[j]
 *   q4_0 (32 elements, 18 B):  f16 d; uint8 qs[16]             x[j]    = d * ((qs[j] & 15) - 8)
 *                                                              x[j+16] = d * ((qs[j] >> 4) - 8)
 *   q4_K (256, 144 B): f16 d, dmin; uint8 scales[12]; uint8 qs[128]
 *        8 sub-blocks of 32; sub-block j has 6-bit scale sc_j and min m_j (see kn_scale_min_k4);
 *        x = d*sc_j*q - dmin*m_j with q in 0..15. qs[32*c + l] holds element 64c+l in its low
 *        nibble and element 64c+32+l in its high nibble (c = 0..3).
 *   q5_K (256, 176 B): f16 d, dmin; scales[12]; uint8 qh[32]; uint8 qs[128]
 *        as q4_K plus a 5th bit: element 64c+l takes bit 2c of qh[l], element 64c+32+l bit 2c+1.
 *   q6_K (256, 210 B): uint8 ql[128]; uint8 qh[64]; int8 scales[16]; f16 d
 *        16 sub-blocks of 16, x = d*scales[i/16]*(q-32), q in 0..63. In half h (128 elements,
 *        ql += 64h, qh += 32h), for l in 0..31: element 128h+l      = ql[l] low  | qh[l] bits 0-1
 *                                              element 128h+l+32   = ql[l+32] low | bits 2-3
 *                                              element 128h+l+64   = ql[l] high | bits 4-5
 *                                              element 128h+l+96   = ql[l+32] high | bits 6-7
 *   q8_K (256, 292 B): float d; int8 qs[256]; int16 bsums[16]   x[j] = d*qs[j];
 *        bsums[g] = sum of qs[16g .. 16g+15] (lets K-quant dots apply the mins without a pass).
 *
 * Invariant of every dot kernel here: n is a multiple of the weight type's block size (the public
 * entry points never call them otherwise), and pointers need no alignment beyond 1 byte.
 */
#ifndef CIRRUS_KERNELS_IMPL_H
#define CIRRUS_KERNELS_IMPL_H

#include <assert.h>
#include <string.h>

#include "kernels.h"

#define QK8_0 32
#define QK4_0 32
#define QK_K 256
#define K_SCALE_SIZE 12

typedef struct {
    uint16_t d;
    int8_t qs[QK8_0];
} block_q8_0;

typedef struct {
    uint16_t d;
    uint8_t qs[QK4_0 / 2];
} block_q4_0;

typedef struct {
    uint16_t d;
    uint16_t dmin;
    uint8_t scales[K_SCALE_SIZE];
    uint8_t qs[QK_K / 2];
} block_q4_K;

typedef struct {
    uint16_t d;
    uint16_t dmin;
    uint8_t scales[K_SCALE_SIZE];
    uint8_t qh[QK_K / 8];
    uint8_t qs[QK_K / 2];
} block_q5_K;

typedef struct {
    uint8_t ql[QK_K / 2];
    uint8_t qh[QK_K / 4];
    int8_t scales[QK_K / 16];
    uint16_t d;
} block_q6_K;

typedef struct {
    float d;
    int8_t qs[QK_K];
    int16_t bsums[QK_K / 16];
} block_q8_K;

/* q8_0 activations as the fast path keeps them: the same quants and the same (f16-rounded) scale,
 * already widened to f32, so that the kernels do not convert it again for every weight row it
 * meets. Internal to kn_matmul's scratch; never written to a file.
 *
 * The GEMM tiles take them as a panel of g rows (1 <= g <= KN_PANEL_MAX) interleaved block by block:
 *   block i of the panel, KN_PANEL_BLOCK(g) = 40 g bytes:
 *     float d[g]         row r's scale at d[r]
 *     int32 s[g]         s[r] = -8 * (sum of row r's 32 quants): the q4_0 offset, see gemm_q4_0_8
 *     int8  qs[g][32]    row r's quants
 * so one load gives the g scales of a block and a tile's activations are one stream. */
typedef struct {
    float d;
    int8_t qs[QK8_0];
} block_q8_0x;

#define KN_PANEL_MAX 8
#define KN_PANEL_BLOCK(g) ((size_t)(g) * (2 * sizeof(float) + QK8_0))

static_assert(sizeof(block_q8_0) == 34, "q8_0 layout");
static_assert(sizeof(block_q8_0x) == 36, "q8_0x layout");
static_assert(sizeof(block_q4_0) == 18, "q4_0 layout");
static_assert(sizeof(block_q4_K) == 144, "q4_K layout");
static_assert(sizeof(block_q5_K) == 176, "q5_K layout");
static_assert(sizeof(block_q6_K) == 210, "q6_K layout");
static_assert(sizeof(block_q8_K) == 292, "q8_K layout");

/* 6-bit scale and min of sub-block j (0..7) of a q4_K / q5_K block. scales[0..3] hold the low 6
 * bits of sc_0..3, scales[4..7] those of m_0..3; scales[8..11] hold sc_4..7 (low nibble) and
 * m_4..7 (high nibble), whose top 2 bits sit in the top 2 bits of scales[0..3] / scales[4..7]. */
static inline void kn_scale_min_k4(int j, const uint8_t *q, uint8_t *sc, uint8_t *m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

/* Round to nearest, ties to even, for |f| < 2^22: adding 1.5*2^23 leaves the integer in the low
 * mantissa bits. ggml's nearest_int; quantizers must use it so their bytes agree with ggml's. */
static inline int kn_nearest_int(float f) {
    float v = f + 12582912.0f;
    int32_t i;
    memcpy(&i, &v, sizeof i);
    return (i & 0x007FFFFF) - 0x00400000;
}

/* All 8 scales (out[0..7]) and 8 mins (out[8..15]) of a q4_K / q5_K block at once, with word
 * operations instead of 8 kn_scale_min_k4 calls (the same unpacking, four bytes at a time). */
static inline void kn_unpack_scales_k4(const uint8_t *q, uint8_t out[16]) {
    const uint32_t m6 = 0x3F3F3F3F, m4 = 0x0F0F0F0F, m2 = 0x03030303;
    uint32_t u[4];
    memcpy(u, q, 12);
    u[3] = ((u[2] >> 4) & m4) | (((u[1] >> 6) & m2) << 4); /* m_4..7 */
    const uint32_t mins_lo = u[1] & m6;                     /* m_0..3 */
    u[1] = (u[2] & m4) | (((u[0] >> 6) & m2) << 4);          /* sc_4..7 */
    u[2] = mins_lo;
    u[0] &= m6;                                              /* sc_0..3 */
    memcpy(out, u, 16);
}

/* ---- row-level helpers shared across files (reference implementations) ------------------ */

void kn_quantize_row_q8_0_ref(const float *x, block_q8_0 *y, int64_t n);
void kn_quantize_row_q8_0x_ref(const float *x, block_q8_0x *y, int64_t n);
/* Row x quantized as row r of a q8_0 panel of g rows (layout above); same bytes as q8_0x. */
void kn_quantize_q8_0p_ref(const float *x, uint8_t *panel, int64_t n, int g, int r);
void kn_quantize_row_q8_K_ref(const float *x, block_q8_K *y, int64_t n);

/* ---- kernels on quantized activations ----------------------------------------------------
 *
 * The fast matmul quantizes activations once (q8_0 for q4_0/q8_0 weights, q8_K for K-quants,
 * none for float weights) and then calls, per weight row, a "multi-dot":
 *
 *   out[r * out_stride] = dot(w, x + r * x_stride)   for r in [0, nrx), 1 <= nrx <= KN_NRX
 *
 * x is a row of the activation type (kn_act_type(t); KN_Q8_0 activations are block_q8_0x rows,
 * see the kn_act_* helpers); nrx > 1 lets SIMD code load and unpack a
 * weight block once and use it against several activation rows from registers. */
#define KN_NRX 4

typedef void (*kn_mdot_fn)(int64_t n, const void *w, const void *x, size_t x_stride, int nrx,
                           float *out, size_t out_stride);

/* Activation type the fast path uses for weights of type t (KN_F32 for float weights). */
kn_type kn_act_type(kn_type t);
/* Rows of activation type `act` as the multi-dots take them (q8_0 means block_q8_0x). */
size_t kn_act_row_size(kn_type act, int64_t n);
void kn_quantize_act_ref(kn_type act, const float *x, void *y, int64_t n);
void kn_dequantize_act_ref(kn_type act, const void *y, float *x, int64_t n);

/* Scalar versions with integer arithmetic exactly as the SIMD ones: the portable fallback and the
 * test oracle for the SIMD kernels. */
void kn_mdot_q8_0_q8_0_scalar(int64_t n, const void *w, const void *x, size_t xs, int nrx, float *out, size_t os);
void kn_mdot_q4_0_q8_0_scalar(int64_t n, const void *w, const void *x, size_t xs, int nrx, float *out, size_t os);
void kn_mdot_q4_K_q8_K_scalar(int64_t n, const void *w, const void *x, size_t xs, int nrx, float *out, size_t os);
void kn_mdot_q5_K_q8_K_scalar(int64_t n, const void *w, const void *x, size_t xs, int nrx, float *out, size_t os);
void kn_mdot_q6_K_q8_K_scalar(int64_t n, const void *w, const void *x, size_t xs, int nrx, float *out, size_t os);
/* The packed q4_0 tile in portable C: kn_mdot_q4_0_q8_0_scalar's arithmetic on kn_pack's layout. */
void kn_gemm_q4_0x8_scalar(int64_t n, const void *w, size_t ws, int nw, const void *x, size_t xs, int nx,
                           float *y, size_t ys);
/* The packed q4_K tile in portable C: kn_mdot_q4_K_q8_K_scalar's arithmetic, block by block. */
void kn_gemm_q4_Kx8_scalar(int64_t n, const void *w, size_t ws, int nw, const void *x, size_t xs, int nx,
                           float *y, size_t ys);
void kn_mdot_f32_scalar(int64_t n, const void *w, const void *x, size_t xs, int nrx, float *out, size_t os);
void kn_mdot_f16_scalar(int64_t n, const void *w, const void *x, size_t xs, int nrx, float *out, size_t os);
void kn_mdot_bf16_scalar(int64_t n, const void *w, const void *x, size_t xs, int nrx, float *out, size_t os);

/* A GEMM tile (dot_x86_q32.h, dot_x86_kq.h): y[r * ys + m] = dot(W_m, X_r) for m < nw, r < nx, W_m = w + m * ws,
 * with 1 <= nw <= gemm_mr[t] and 1 <= nx <= gemm_nr[t]. X is a q8_0 panel of nx rows (xs unused)
 * for q4_0 / q8_0 weights, else nx rows of stride xs. Same per-pair arithmetic as the multi-dot of
 * its type, whatever nw and nx are. */
typedef void (*kn_gemm_fn)(int64_t n, const void *w, size_t ws, int nw, const void *x, size_t xs, int nx,
                           float *y, size_t ys);

/* Packed weights (kn_pack, pack.c): a layout made once at load for the tiles of some types.
 *
 *   q4_0, KN_PACK_ROWS = 8 rows per group, M % 8 == 0. Group g (rows 8g..8g+7) holds its blocks
 *   one after the other, block i at byte (g * n_blocks + i) * 144 of the packed matrix:
 *     uint16 d[8]            row m's scale
 *     uint8  q[4][8][4]      q[k][m][j] = row m's qs[4k + j]
 *   i.e. exactly the registers gemm_q4_0_8 builds by transposing eight file rows, so the packed
 *   tile loads them instead: one sequential stream, no shuffles. The packed matrix has the same
 *   size as the original and group g starts where row 8g did (8 * row size = 8 * 18 * n_blocks).
 *
 *   q4_K, the same groups of eight rows; block i of a group at byte (g * n_blocks + i) * 1152:
 *     uint32 h[4][8]         h[q][m] = dword q of row m's first 16 bytes (q = 0: d | dmin << 16,
 *                            1..3: scales[0..3], [4..7], [8..11])
 *     uint32 T[4][8][8]      T[c][k][m] = row m's qs dword 8c + k
 *   which are gemm_q4_K_8's registers after its transposes.
 *
 * A packed tile (gemm_pk) has the kn_gemm_fn contract with nw a multiple of KN_PACK_ROWS, at most
 * gemm_pk_mr (whole consecutive groups, w pointing at the first), ws the original row size, and X
 * as the type's unpacked tile takes it (a q8_0 panel of nx <= gemm_pk_nr rows for q4_0, q8_K rows
 * for q4_K). Whatever nw is, each (row, activation row) pair gets the same bits. */
#define KN_PACK_ROWS 8

/* Block i of row m (< KN_PACK_ROWS) of a packed group, back in the file's layout (block_q4_0 or
 * block_q4_K at blk): for the scalar tiles, the reference fallback and tests. */
void kn_packed_block(kn_type t, const uint8_t *group, int m, int64_t i, void *blk);

/* One ISA's kernels. NULL entries fall back to the scalar ones (gemm: to mdot, one row at a time). */
typedef struct {
    const char *name;
    kn_mdot_fn mdot[KN_TYPE_COUNT];
    kn_gemm_fn gemm[KN_TYPE_COUNT];
    uint8_t gemm_mr[KN_TYPE_COUNT], gemm_nr[KN_TYPE_COUNT];
    kn_gemm_fn gemm_pk[KN_TYPE_COUNT]; /* tiles over packed weights (every tier has them) */
    uint8_t gemm_pk_mr[KN_TYPE_COUNT], gemm_pk_nr[KN_TYPE_COUNT];
    /* Activation quantizers (same results as the references, bit for bit). */
    void (*quantize_q8_0)(const float *x, block_q8_0 *y, int64_t n);
    void (*quantize_q8_0x)(const float *x, block_q8_0x *y, int64_t n);
    void (*quantize_q8_0p)(const float *x, uint8_t *panel, int64_t n, int g, int r);
    void (*quantize_q8_K)(const float *x, block_q8_K *y, int64_t n);
} kn_isa_table;

/* Filled by dot_avx2.c / dot_avx512.c; only read after cpuid says the ISA is there. */
void kn_fill_avx2(kn_isa_table *tab);
void kn_fill_avx512(kn_isa_table *tab);

/* Checks a tier's kernels against the scalar ones on a fixed input (selftest.c). False, with
 * *what naming the first kernel that disagreed, if any does. */
bool kn_isa_selftest(const kn_isa_table *tab, const char **what);

/* The table in effect (never NULL after kn_init; kn_matmul and kn_dot call kn_init lazily). */
const kn_isa_table *kn_active(void);
/* cpuid: the CPU has F16C (half <-> float conversion instructions). */
bool kn_cpu_has_f16c(void);
/* The portable C tier: what kn_matmul runs while kn_set_scalar(true) is in force. */
const kn_isa_table *kn_scalar_table(void);
/* True when kn_set_scalar(true) is in force. */
bool kn_scalar_forced(void);

#endif
