/*
 * Scalar f16 / bf16 <-> f32 conversions, bit-exact with ggml's portable paths.
 *
 * Done with integer arithmetic only, so the results do not depend on the FPU's rounding mode or on
 * flush-to-zero / denormals-are-zero settings a caller may have switched on.
 *
 *   f16:  1 sign | 5 exponent (bias 15) | 10 mantissa. Subnormals: m * 2^-24.
 *   bf16: the top 16 bits of an f32.
 */
#include "kernels_impl.h"

static inline uint32_t f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static inline float f32_from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

float kn_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1F;
    uint32_t mant = h & 0x3FF;
    if (exp == 0x1F) return f32_from_bits(sign | 0x7F800000 | (mant << 13)); /* inf / nan */
    if (exp != 0) return f32_from_bits(sign | ((exp + 112) << 23) | (mant << 13));
    if (mant == 0) return f32_from_bits(sign); /* +-0 */
    /* subnormal: normalise. mant * 2^-24, mant < 2^10 */
    int e = -1;
    do {
        mant <<= 1;
        e++;
    } while (!(mant & 0x400));
    return f32_from_bits(sign | ((uint32_t)(112 - e) << 23) | ((mant & 0x3FF) << 13));
}

uint16_t kn_f32_to_f16(float f) {
    uint32_t x = f32_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    uint32_t ax = x & 0x7FFFFFFF;
    if (ax > 0x7F800000) return sign | 0x7E00;   /* NaN -> quiet NaN, as ggml's scalar path */
    if (ax >= 0x477FF000) return sign | 0x7C00;  /* >= 65520 rounds to inf (65504 is the max) */
    if (ax >= 0x38800000) {                      /* >= 2^-14: a normal half */
        /* round the 23-bit mantissa to 10 bits, nearest-even; a carry correctly bumps the exponent */
        uint32_t r = ax + 0xFFF + ((ax >> 13) & 1);
        return sign | (uint16_t)((r - 0x38000000) >> 13); /* rebias 127 -> 15 */
    }
    uint32_t e = ax >> 23;
    if (e < 102) return sign; /* < 2^-25 rounds to zero; exactly 2^-25 is a tie and rounds to even 0 */
    /* subnormal half: value = m * 2^-24, m = M * 2^(e-126) with M the 24-bit significand */
    uint32_t M = (ax & 0x7FFFFF) | 0x800000;
    uint32_t shift = 126 - e; /* 14..24 */
    uint32_t q = M >> shift;
    uint32_t rem = M & ((1u << shift) - 1);
    uint32_t half = 1u << (shift - 1);
    if (rem > half || (rem == half && (q & 1))) q++; /* q == 0x400 is the smallest normal: right */
    return sign | (uint16_t)q;
}

float kn_bf16_to_f32(uint16_t h) { return f32_from_bits((uint32_t)h << 16); }

uint16_t kn_f32_to_bf16(float f) {
    uint32_t u = f32_bits(f);
    if ((u & 0x7FFFFFFF) > 0x7F800000) return (uint16_t)((u >> 16) | 64); /* NaN: force quiet */
    return (uint16_t)((u + (0x7FFF + ((u >> 16) & 1))) >> 16);
}
