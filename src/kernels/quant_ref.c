/*
 * Reference quantize / dequantize for the float types and the 32-element block types, and the
 * type switch that routes kn_{de,}quantize_row_ref to every reference (K-quants: quant_k_ref.c).
 *
 * These follow ggml's *_ref functions step for step (same rounding, same clamps, same order of
 * float operations), so a row quantized here is byte-identical to llama.cpp's and files written by
 * cirrus load there with the same quality. One deliberate difference: a block whose values are all
 * below ~4e-37 (so 1/scale overflows) is written as zeros, where ggml would compute inf * x.
 */
#include <math.h>

#include "kernels_impl.h"

/* Declared here, defined in quant_k_ref.c. */
void kn_quantize_row_q4_K_ref(const float *x, block_q4_K *y, int64_t n);
void kn_quantize_row_q5_K_ref(const float *x, block_q5_K *y, int64_t n);
void kn_quantize_row_q6_K_ref(const float *x, block_q6_K *y, int64_t n);
void kn_dequantize_row_q4_K_ref(const block_q4_K *x, float *y, int64_t n);
void kn_dequantize_row_q5_K_ref(const block_q5_K *x, float *y, int64_t n);
void kn_dequantize_row_q6_K_ref(const block_q6_K *x, float *y, int64_t n);

/* ---- q8_0 / q4_0 ---------------------------------------------------------------------------- */

/* d = amax/127, q = round-half-away(x/d). */
void kn_quantize_row_q8_0_ref(const float *x, block_q8_0 *y, int64_t n) {
    for (int64_t i = 0; i < n / QK8_0; i++, x += QK8_0) {
        float amax = 0.0f;
        for (int j = 0; j < QK8_0; j++) amax = fmaxf(amax, fabsf(x[j]));
        const float d = amax / 127.0f;
        float id = d != 0.0f ? 1.0f / d : 0.0f;
        if (isinf(id)) id = 0.0f; /* amax < ~4e-37: d is 0 as f16 anyway; keeps x*id finite */
        y[i].d = kn_f32_to_f16(d);
        for (int j = 0; j < QK8_0; j++) y[i].qs[j] = (int8_t)roundf(x[j] * id);
    }
}

/*
 * Activations for q4_0 / q8_0 dots (block_q8_0x: the f16-rounded scale kept as f32). These follow
 * what llama.cpp actually runs on x86 for activations -- id = 127/amax and round-half-to-even --
 * not the weight quantizer above (1/d and round-half-away, what llama-quantize writes). The two
 * differ in the last bit on some inputs, and one flipped activation quant is enough to move a
 * logit of a sensitive model by 0.1, so parity with llama.cpp needs this one.
 */
/* Block i's scale to d + i * stride, its quants to qs + i * stride and, if s is not NULL, -8 times
 * their sum to s + i * stride (rows of block_q8_0x and panels, kernels_impl.h). */
static void quantize_q8_0x_strided(const float *x, uint8_t *d, uint8_t *s, uint8_t *qs, size_t stride, int64_t n) {
    for (int64_t i = 0; i < n / QK8_0; i++, x += QK8_0, d += stride, qs += stride) {
        float amax = 0.0f;
        for (int j = 0; j < QK8_0; j++) amax = fmaxf(amax, fabsf(x[j]));
        const float dv = kn_f16_to_f32(kn_f32_to_f16(amax / 127.0f));
        float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        if (isinf(id)) id = 0.0f; /* amax < ~1e-36: the f16 scale is 0 anyway; keeps x*id finite */
        memcpy(d, &dv, sizeof dv);
        int32_t sum = 0;
        for (int j = 0; j < QK8_0; j++) {
            const int8_t q = (int8_t)nearbyintf(x[j] * id); /* FE_TONEAREST: ties to even */
            qs[j] = (uint8_t)q;
            sum += q;
        }
        if (s) {
            sum *= -8;
            memcpy(s + (size_t)i * stride, &sum, sizeof sum);
        }
    }
}

void kn_quantize_row_q8_0x_ref(const float *x, block_q8_0x *y, int64_t n) {
    quantize_q8_0x_strided(x, (uint8_t *)&y->d, NULL, (uint8_t *)y->qs, sizeof *y, n);
}

void kn_quantize_q8_0p_ref(const float *x, uint8_t *panel, int64_t n, int g, int r) {
    quantize_q8_0x_strided(x, panel + 4 * r, panel + 4 * (g + r), panel + 8 * g + QK8_0 * r, KN_PANEL_BLOCK(g), n);
}

static void dequantize_row_q8_0(const block_q8_0 *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n / QK8_0; i++, y += QK8_0) {
        const float d = kn_f16_to_f32(x[i].d);
        for (int j = 0; j < QK8_0; j++) y[j] = x[i].qs[j] * d;
    }
}

/* d = max/-8 where max is the signed value of largest magnitude, so that value maps to q = 0
 * exactly and the asymmetric range -8..7 is spent on the side that needs it. */
static void quantize_row_q4_0(const float *x, block_q4_0 *y, int64_t n) {
    for (int64_t i = 0; i < n / QK4_0; i++, x += QK4_0) {
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < QK4_0; j++) {
            if (amax < fabsf(x[j])) {
                amax = fabsf(x[j]);
                max = x[j];
            }
        }
        const float d = max / -8.0f;
        float id = d != 0.0f ? 1.0f / d : 0.0f;
        if (isinf(id)) id = 0.0f; /* |max| < ~2e-38: as for q8_0 */
        y[i].d = kn_f32_to_f16(d);
        for (int j = 0; j < QK4_0 / 2; j++) {
            /* x*id is in [-8, 8]; +8.5 and truncation rounds half up; 16 clamps to 15 */
            int q0 = (int8_t)(x[j] * id + 8.5f);
            int q1 = (int8_t)(x[j + QK4_0 / 2] * id + 8.5f);
            if (q0 > 15) q0 = 15;
            if (q1 > 15) q1 = 15;
            y[i].qs[j] = (uint8_t)(q0 | (q1 << 4));
        }
    }
}

static void dequantize_row_q4_0(const block_q4_0 *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n / QK4_0; i++, y += QK4_0) {
        const float d = kn_f16_to_f32(x[i].d);
        for (int j = 0; j < QK4_0 / 2; j++) {
            y[j] = ((x[i].qs[j] & 0x0F) - 8) * d;
            y[j + QK4_0 / 2] = ((x[i].qs[j] >> 4) - 8) * d;
        }
    }
}

/* ---- q8_K (activations for K-quant dots) ---------------------------------------------------- */

/* d = max/-127 for the signed value of largest magnitude (so q never needs -128), plus the sums of
 * each group of 16 quants. */
void kn_quantize_row_q8_K_ref(const float *x, block_q8_K *y, int64_t n) {
    for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < QK_K; j++) {
            if (fabsf(x[j]) > amax) {
                amax = fabsf(x[j]);
                max = x[j];
            }
        }
        memset(y[i].bsums, 0, sizeof y[i].bsums);
        const float iscale = amax != 0.0f ? -127.0f / max : 0.0f;
        if (amax == 0.0f || isinf(iscale)) { /* isinf: amax < ~4e-37, negligible; ggml would
                                                 write garbage quants here */
            y[i].d = 0.0f;
            memset(y[i].qs, 0, QK_K);
            continue;
        }
        for (int j = 0; j < QK_K; j++) {
            int v = kn_nearest_int(iscale * x[j]);
            y[i].qs[j] = (int8_t)(v < 127 ? v : 127);
        }
        for (int g = 0; g < QK_K / 16; g++) {
            int sum = 0;
            for (int j = 0; j < 16; j++) sum += y[i].qs[16 * g + j];
            y[i].bsums[g] = (int16_t)sum;
        }
        y[i].d = 1.0f / iscale;
    }
}

static void dequantize_row_q8_K(const block_q8_K *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n / QK_K; i++, y += QK_K)
        for (int j = 0; j < QK_K; j++) y[j] = x[i].d * x[i].qs[j];
}

/* ---- type switches ---------------------------------------------------------------------------- */

size_t kn_quantize_row_ref(kn_type t, const float *src, void *dst, int64_t n) {
    size_t bytes = kn_row_size(t, n);
    if (bytes == 0 && n != 0) return 0;
    switch (t) {
    case KN_F32: memcpy(dst, src, bytes); break;
    case KN_F16: {
        uint16_t *d = dst;
        for (int64_t i = 0; i < n; i++) d[i] = kn_f32_to_f16(src[i]);
        break;
    }
    case KN_BF16: {
        uint16_t *d = dst;
        for (int64_t i = 0; i < n; i++) d[i] = kn_f32_to_bf16(src[i]);
        break;
    }
    case KN_Q8_0: kn_quantize_row_q8_0_ref(src, dst, n); break;
    case KN_Q4_0: quantize_row_q4_0(src, dst, n); break;
    case KN_Q4_K: kn_quantize_row_q4_K_ref(src, dst, n); break;
    case KN_Q5_K: kn_quantize_row_q5_K_ref(src, dst, n); break;
    case KN_Q6_K: kn_quantize_row_q6_K_ref(src, dst, n); break;
    case KN_Q8_K: kn_quantize_row_q8_K_ref(src, dst, n); break;
    default: return 0;
    }
    return bytes;
}

void kn_dequantize_row_ref(kn_type t, const void *src, float *dst, int64_t n) {
    assert(kn_row_size(t, n) != 0 || n == 0);
    switch (t) {
    case KN_F32: memcpy(dst, src, (size_t)n * sizeof(float)); break;
    case KN_F16: {
        const uint16_t *s = src;
        for (int64_t i = 0; i < n; i++) dst[i] = kn_f16_to_f32(s[i]);
        break;
    }
    case KN_BF16: {
        const uint16_t *s = src;
        for (int64_t i = 0; i < n; i++) dst[i] = kn_bf16_to_f32(s[i]);
        break;
    }
    case KN_Q8_0: dequantize_row_q8_0(src, dst, n); break;
    case KN_Q4_0: dequantize_row_q4_0(src, dst, n); break;
    case KN_Q4_K: kn_dequantize_row_q4_K_ref(src, dst, n); break;
    case KN_Q5_K: kn_dequantize_row_q5_K_ref(src, dst, n); break;
    case KN_Q6_K: kn_dequantize_row_q6_K_ref(src, dst, n); break;
    case KN_Q8_K: dequantize_row_q8_K(src, dst, n); break;
    default: assert(!"kn_dequantize_row_ref: unsupported type"); break;
    }
}
