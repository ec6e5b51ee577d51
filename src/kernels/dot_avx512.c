/* AVX-512 VNNI kernels: dot_x86.h with the int8 products fused into vpdpbusd / vpdpwssd (256-bit
 * forms, AVX512VL + AVX512_VNNI). The usual unsigned x signed trick lives in dot_x86.h's dot_i8:
 * vpdpbusd wants u8 x s8, so it gets |w| and x * sign(w). */
#include <immintrin.h>

#define DPBUSD(acc, u, s) _mm256_dpbusd_epi32((acc), (u), (s))
#define DPWSSD(acc, a, b) _mm256_dpwssd_epi32((acc), (a), (b))
#define KN_X86_FILL kn_fill_avx512

#include "dot_x86.h"
