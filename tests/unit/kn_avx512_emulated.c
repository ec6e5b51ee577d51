/*
 * The AVX-512 VNNI tier (src/kernels/dot_avx512.c) built for AVX2, with SIMDe's portable
 * vpdpbusd / vpdpwssd standing in for the two instructions that tier adds. That tier differs from
 * the AVX2 one only in those two primitives (see dot_x86.h), so this runs its code, with the
 * instructions' documented semantics (no int16 saturation, exact int32 accumulation), on CPUs that
 * lack them: test_kernels_simd checks it like any tier, so a caller that relied on AVX2's int16
 * pair sums, or a DPBUSD with swapped operands, fails here and not first on a Zen 4.
 * What it cannot show: that the real instructions run fast, or compiler code generation with the
 * AVX-512 flags.
 */
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512/dpbusd.h>
#include <simde/x86/avx512/dpwssd.h>

/* dot_avx512.c names its table filler kn_fill_avx512; this copy must not collide with it. */
#define kn_fill_avx512 kn_fill_avx512_emulated
#include "../../src/kernels/dot_avx512.c"
