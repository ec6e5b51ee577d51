/*
 * F16 vector helpers for attention over the F16 KV cache. The accumulator stays in F16 and every
 * step rounds, as ggml_vec_mad_f16 / ggml_vec_scale_f16 do, so cirrus's attention gives llama.cpp's
 * numbers. With F16C the conversions are one instruction per 8 lanes; the scalar loop is the
 * reference and the fallback.
 */
#include "kernels_impl.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define KN_TARGET_F16C __attribute__((target("avx2,fma,f16c")))

KN_TARGET_F16C static void scale_f16c(uint16_t *y, float v, int64_t n) {
    const __m256 vv = _mm256_set1_ps(v);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 a = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(y + i)));
        _mm_storeu_si128((__m128i *)(y + i), _mm256_cvtps_ph(_mm256_mul_ps(a, vv), _MM_FROUND_TO_NEAREST_INT));
    }
    for (; i < n; i++) y[i] = kn_f32_to_f16(kn_f16_to_f32(y[i]) * v);
}

KN_TARGET_F16C static void mad_f16c(uint16_t *y, const uint16_t *x, float v, int64_t n) {
    const __m256 vv = _mm256_set1_ps(v);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 a = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(y + i)));
        __m256 b = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i)));
        _mm_storeu_si128((__m128i *)(y + i), _mm256_cvtps_ph(_mm256_fmadd_ps(b, vv, a), _MM_FROUND_TO_NEAREST_INT));
    }
    for (; i < n; i++) y[i] = kn_f32_to_f16(kn_f16_to_f32(y[i]) + kn_f16_to_f32(x[i]) * v);
}

static int has_f16c(void) {
    static int cached = -1;
    if (cached < 0) cached = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && kn_cpu_has_f16c();
    return cached;
}
#endif

void kn_vec_scale_f16(uint16_t *y, float v, int64_t n) {
#if defined(__x86_64__)
    if (has_f16c()) {
        scale_f16c(y, v, n);
        return;
    }
#endif
    for (int64_t i = 0; i < n; i++) y[i] = kn_f32_to_f16(kn_f16_to_f32(y[i]) * v);
}

void kn_vec_mad_f16(uint16_t *y, const uint16_t *x, float v, int64_t n) {
#if defined(__x86_64__)
    if (has_f16c()) {
        mad_f16c(y, x, v, n);
        return;
    }
#endif
    for (int64_t i = 0; i < n; i++) y[i] = kn_f32_to_f16(kn_f16_to_f32(y[i]) + kn_f16_to_f32(x[i]) * v);
}
