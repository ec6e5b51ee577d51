/*
 * kernels — tensor element types and the arithmetic on them: conversions, quantize / dequantize,
 * dot products and matmuls. Block layouts are byte-for-byte those of ggml, so GGUF files written by
 * llama.cpp load here and files written here load in llama.cpp.
 *
 * Every operation has a scalar reference (`*_ref`, obviously right, the test oracle) and may have
 * SIMD versions (AVX2+FMA, AVX-512) chosen once at run time from cpuid by kn_init(). The public
 * entry points below dispatch; kn_set_scalar(true) forces the references (for tests and A/B).
 *
 * kernels knows nothing about files or models.
 */
#ifndef CIRRUS_KERNELS_H
#define CIRRUS_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

/* ggml type ids as stored in GGUF tensor infos. Only some are implemented (see kn_traits.supported). */
typedef enum {
    KN_F32 = 0,
    KN_F16 = 1,
    KN_Q4_0 = 2,
    KN_Q4_1 = 3,
    KN_Q5_0 = 6,
    KN_Q5_1 = 7,
    KN_Q8_0 = 8,
    KN_Q8_1 = 9,
    KN_Q2_K = 10,
    KN_Q3_K = 11,
    KN_Q4_K = 12,
    KN_Q5_K = 13,
    KN_Q6_K = 14,
    KN_Q8_K = 15,
    KN_IQ2_XXS = 16,
    KN_IQ2_XS = 17,
    KN_IQ3_XXS = 18,
    KN_IQ1_S = 19,
    KN_IQ4_NL = 20,
    KN_IQ3_S = 21,
    KN_IQ2_S = 22,
    KN_IQ4_XS = 23,
    KN_I8 = 24,
    KN_I16 = 25,
    KN_I32 = 26,
    KN_I64 = 27,
    KN_F64 = 28,
    KN_IQ1_M = 29,
    KN_BF16 = 30,
    KN_TYPE_COUNT = 40, /* ids >= this are unknown */
} kn_type;

typedef struct {
    const char *name;   /* "q4_K" etc., as ggml names them */
    uint32_t blck_size; /* elements per block */
    uint32_t type_size; /* bytes per block */
    bool supported;     /* we can dequantize / dot it */
} kn_traits;

/* NULL when id names no type we know of (the GGUF reader rejects such tensors by name). Known but
 * unsupported types (e.g. IQ2_XXS) return traits with supported == false so sizes can still be
 * validated and the error can name the type. */
const kn_traits *kn_type_traits(uint32_t type_id);

/* Bytes of a row of n elements; 0 if n is not a multiple of the block size or the type is unknown. */
size_t kn_row_size(kn_type t, int64_t n);

/* ---- scalar conversions -------------------------------------------------------------------- */

float kn_f16_to_f32(uint16_t h);
uint16_t kn_f32_to_f16(float f); /* round to nearest even, like ggml */
float kn_bf16_to_f32(uint16_t h);
uint16_t kn_f32_to_bf16(float f); /* round to nearest even; NaN stays NaN */

/* ---- setup ------------------------------------------------------------------------------- */

/* Detects the CPU once and picks kernels. Safe to call more than once. */
void kn_init(void);
/* Forces the scalar references everywhere (true) or restores the detected best (false). */
void kn_set_scalar(bool scalar);
/* e.g. "avx512-vnni", "avx2", "scalar": what kn_init chose (for bench output and logs). */
const char *kn_isa_name(void);

/* ---- rows -------------------------------------------------------------------------------- */

/* n must be a multiple of the type's block size. */
void kn_dequantize_row(kn_type t, const void *src, float *dst, int64_t n);
/* Returns bytes written (kn_row_size(t, n)), 0 if t cannot be quantized to. Supported targets:
 * F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K (and Q8_K for activations). */
size_t kn_quantize_row(kn_type t, const float *src, void *dst, int64_t n);
/* Reference quantizers (the SIMD-free ground truth) have the same contract. */
size_t kn_quantize_row_ref(kn_type t, const float *src, void *dst, int64_t n);
void kn_dequantize_row_ref(kn_type t, const void *src, float *dst, int64_t n);

/* dot(w_row of type t, x f32) over n elements. */
float kn_dot(kn_type t, const void *w_row, const float *x, int64_t n);
float kn_dot_ref(kn_type t, const void *w_row, const float *x, int64_t n);

/*
 * Matmul against a weight matrix stored row-major with rows of type t:
 *   W: (M, K) rows of K elements each, row stride kn_row_size(t, K) bytes
 *   x: (T, K) f32, row stride K
 *   y: (T, M) f32, row stride M         y[t][m] = dot(W[m], x[t])
 * Work is split over the pool's threads. Must not allocate in steady state (scratch is owned by
 * the kernels module, sized on first use per shape and reused).
 */
void kn_matmul(cirrus_pool *pool, kn_type t, const void *W, int64_t M, int64_t K, const float *x,
               int64_t T, float *y);

/* A weight matrix as kn_matmul_n takes it: `rows` rows of `cols` elements of `type`, row-major as
 * in the file, or in kn_pack's layout when `packed` is set. */
typedef struct {
    kn_type type;
    bool packed;
    const void *data;
    int64_t rows, cols;
} kn_matrix;

/*
 * Packed weights: a copy of a matrix, made once at load, in the layout this library's tiles read
 * best (q4_0: eight rows interleaved block by block, so a tile reads one stream and needs no
 * shuffles). Same size as the original; kn_matmul_n gives the same results on it, bit for bit,
 * on every tier (the scalar one included).
 * kn_pack_size: bytes of the packed copy of an (M, K) matrix of type t, or 0 when there is no
 * packed layout for it (other types; M not a multiple of 8) or CIRRUS_KN_PACK=0 is set in the
 * environment (A/B runs; several processes sharing one file's page cache). Then use the original.
 */
size_t kn_pack_size(kn_type t, int64_t M, int64_t K);
void kn_pack(kn_type t, const void *W, int64_t M, int64_t K, void *dst);

/*
 * y[i] (T, W[i].rows) = x (T, K) . W[i]^T for i < n: matrices that read the same activations
 * (q, k and v; gate and up) in one call, so x is quantized once and one pool run covers them all
 * (no tail of one matmul waiting for the next). All W[i].cols must equal K; types may differ (a
 * group whose activation formats differ is done matrix by matrix). 1 <= n <= KN_MATMUL_MAX.
 * kn_matmul is the n = 1, unpacked case.
 */
#define KN_MATMUL_MAX 4
void kn_matmul_n(cirrus_pool *pool, int n, const kn_matrix *W, const float *x, int64_t T, float *const *y);

/* ---- attention over an F16 KV cache --------------------------------------------------------- */

/* Head dimensions kn_attn_f16 takes (the model loader checks D against it). */
#define KN_ATTN_MAX_D 1024

/*
 * n_q query rows (heads that share one KV head) against n cached positions, each as llama.cpp's
 * CPU flash attention computes it with an F16 cache: q is rounded to f16, s_p = dot(q, k_p) *
 * scale, an online softmax over p (running max and sum), the softmax-weighted sum of the v_p kept
 * in f16 and rounded at every step, and out = that sum / the softmax denominator. One pass, no
 * score buffer, whatever n is; each cached row is read once for all n_q queries.
 *   q: (n_q, D) f32;  k, v: n rows of D f16, row p at k + p * stride (elements);  out: (n_q, D) f32.
 * kn_attn_f16_ref is the scalar version (same bits; kn_set_scalar(true) selects it).
 */
void kn_attn_f16(const float *q, int64_t n_q, const uint16_t *k, const uint16_t *v, size_t stride, int64_t n,
                 int64_t D, float scale, float *out);
void kn_attn_f16_ref(const float *q, int64_t n_q, const uint16_t *k, const uint16_t *v, size_t stride, int64_t n,
                     int64_t D, float scale, float *out);

/* Its steps, each with ggml's loop structure (vec_f16.c), for tests and other callers: */
/* ggml_vec_dot_f16: sum of x[i]*y[i]. */
float kn_vec_dot_f16(const uint16_t *x, const uint16_t *y, int64_t n);
/* y[i] = f16(f32(y[i]) * v). */
void kn_vec_scale_f16(uint16_t *y, float v, int64_t n);
/* y[i] = f16(f32(y[i]) + f32(x[i]) * v): ggml_vec_mad_f16, each step rounded to f16. */
void kn_vec_mad_f16(uint16_t *y, const uint16_t *x, float v, int64_t n);

#endif
