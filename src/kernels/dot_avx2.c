/* AVX2 + FMA + F16C kernels: dot_x86.h with the int8 products done by vpmaddubsw + vpmaddwd. */
#include <immintrin.h>

#define DPBUSD(acc, u, s) _mm256_add_epi32((acc), _mm256_madd_epi16(_mm256_maddubs_epi16((u), (s)), _mm256_set1_epi16(1)))
#define DPWSSD(acc, a, b) _mm256_add_epi32((acc), _mm256_madd_epi16((a), (b)))
#define KN_X86_FILL kn_fill_avx2

#include "dot_x86.h"
