/*
 * Run-time kernel selection and the public entry points that dispatch.
 *
 * Tiers, best first: "avx512-vnni" (AVX-512 F/BW/VL/VNNI + FMA/F16C), "avx2" (AVX2 + FMA + F16C),
 * "scalar" (portable C). Each tier is a kn_isa_table; its NULL entries are filled from the tier
 * below, so a tier only has to provide what it does better.
 *
 * Invariants:
 *  1. Detection runs once (pthread_once); afterwards the chosen table is immutable, so readers on
 *     any thread need no lock.
 *  2. kn_set_scalar only flips an atomic flag read at each entry point: the references are used
 *     while it is set, whatever the CPU. It must not be flipped while another thread is inside a
 *     kn_matmul (tests and benchmarks flip it between calls).
 *  3. A SIMD tier is used only after kn_isa_selftest agrees with the scalar kernels on it (see
 *     selftest.c for why); a tier that fails is logged and skipped.
 *  4. CIRRUS_KN_ISA=scalar|avx2|avx512-vnni in the environment caps the tier (A/B runs, and tests of
 *     a lower tier on a machine that has a higher one). It can lower the choice, never raise it
 *     above what cpuid reports.
 *
 * cpuid: __builtin_cpu_supports reports a feature only if the OS also saves its registers (libgcc
 * checks XCR0 through xgetbv for the AVX and AVX-512 state), so no separate xgetbv test is needed.
 */
#include <cpuid.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "kernels_impl.h"

enum { TIER_SCALAR, TIER_AVX2, TIER_AVX512, TIER_COUNT };

static kn_isa_table g_tables[TIER_COUNT];
static bool g_have[TIER_COUNT];
static int g_best = TIER_SCALAR;                 /* what detection (and the env cap) chose */
static _Atomic(const kn_isa_table *) g_active;   /* &g_tables[g_best] or a tier forced by a test */
static atomic_bool g_scalar;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void fill_scalar(kn_isa_table *t) {
    t->name = "scalar";
    t->mdot[KN_F32] = kn_mdot_f32_scalar;
    t->mdot[KN_F16] = kn_mdot_f16_scalar;
    t->mdot[KN_BF16] = kn_mdot_bf16_scalar;
    t->mdot[KN_Q8_0] = kn_mdot_q8_0_q8_0_scalar;
    t->mdot[KN_Q4_0] = kn_mdot_q4_0_q8_0_scalar;
    t->mdot[KN_Q4_K] = kn_mdot_q4_K_q8_K_scalar;
    t->mdot[KN_Q5_K] = kn_mdot_q5_K_q8_K_scalar;
    t->mdot[KN_Q6_K] = kn_mdot_q6_K_q8_K_scalar;
    t->gemm_pk[KN_Q4_0] = kn_gemm_q4_0x8_scalar;
    t->gemm_pk_mr[KN_Q4_0] = KN_PACK_ROWS;
    t->gemm_pk_nr[KN_Q4_0] = 4;
    t->gemm_pk[KN_Q4_K] = kn_gemm_q4_Kx8_scalar;
    t->gemm_pk_mr[KN_Q4_K] = KN_PACK_ROWS;
    t->gemm_pk_nr[KN_Q4_K] = 4;
    t->quantize_q8_0 = kn_quantize_row_q8_0_ref;
    t->quantize_q8_0x = kn_quantize_row_q8_0x_ref;
    t->quantize_q8_0p = kn_quantize_q8_0p_ref;
    t->quantize_q8_K = kn_quantize_row_q8_K_ref;
}

/* Fills the NULL entries of `t` from `below`. */
static void inherit(kn_isa_table *t, const kn_isa_table *below) {
    for (int i = 0; i < KN_TYPE_COUNT; i++) {
        if (!t->mdot[i]) t->mdot[i] = below->mdot[i];
        if (!t->gemm[i]) {
            t->gemm[i] = below->gemm[i];
            t->gemm_mr[i] = below->gemm_mr[i];
            t->gemm_nr[i] = below->gemm_nr[i];
        }
        if (!t->gemm_pk[i]) {
            t->gemm_pk[i] = below->gemm_pk[i];
            t->gemm_pk_mr[i] = below->gemm_pk_mr[i];
            t->gemm_pk_nr[i] = below->gemm_pk_nr[i];
        }
    }
    if (!t->quantize_q8_0) t->quantize_q8_0 = below->quantize_q8_0;
    if (!t->quantize_q8_0x) t->quantize_q8_0x = below->quantize_q8_0x;
    if (!t->quantize_q8_0p) t->quantize_q8_0p = below->quantize_q8_0p;
    if (!t->quantize_q8_K) t->quantize_q8_K = below->quantize_q8_K;
}

/* F16C from cpuid leaf 1, ECX bit 29: clang 14's __builtin_cpu_supports does not know "f16c". The
 * AVX check that must accompany it (OS saves YMM state) is __builtin_cpu_supports("avx2"). */
bool kn_cpu_has_f16c(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
    return (c >> 29) & 1;
}

static void detect(void) {
    __builtin_cpu_init();
    fill_scalar(&g_tables[TIER_SCALAR]);
    g_have[TIER_SCALAR] = true;

    g_have[TIER_AVX2] = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                        kn_cpu_has_f16c();
    g_tables[TIER_AVX2].name = "avx2";
    /* The fill functions are compiled with their ISA's flags, so even storing the pointers may use
     * its instructions: call them only where cpuid says the ISA is there. */
    if (g_have[TIER_AVX2]) kn_fill_avx2(&g_tables[TIER_AVX2]);
    inherit(&g_tables[TIER_AVX2], &g_tables[TIER_SCALAR]);

    g_have[TIER_AVX512] = g_have[TIER_AVX2] && __builtin_cpu_supports("avx512f") &&
                          __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
                          __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vnni");
    g_tables[TIER_AVX512].name = "avx512-vnni";
    if (g_have[TIER_AVX512]) kn_fill_avx512(&g_tables[TIER_AVX512]);
    inherit(&g_tables[TIER_AVX512], &g_tables[TIER_AVX2]);

    g_best = TIER_SCALAR;
    for (int i = TIER_COUNT - 1; i > TIER_SCALAR; i--) {
        if (!g_have[i]) continue;
        const char *what = "";
        if (!kn_isa_selftest(&g_tables[i], &what)) {
            CIRRUS_WARN("kernels: %s kernels disagree with the scalar ones (%s); not using them",
                        g_tables[i].name, what);
            continue; /* g_have stays: kn_force_isa can still pick it, so the tests fail on it */
        }
        g_best = i;
        break;
    }
    const char *cap = getenv("CIRRUS_KN_ISA");
    if (cap) {
        for (int i = 0; i < TIER_COUNT; i++)
            if (strcmp(cap, g_tables[i].name) == 0 && i < g_best) g_best = i;
    }
    atomic_store(&g_active, &g_tables[g_best]);
}

void kn_init(void) { pthread_once(&g_once, detect); }

void kn_set_scalar(bool scalar) {
    kn_init();
    atomic_store(&g_scalar, scalar);
}

bool kn_scalar_forced(void) { return atomic_load_explicit(&g_scalar, memory_order_relaxed); }

const char *kn_isa_name(void) {
    kn_init();
    return kn_scalar_forced() ? "scalar" : atomic_load(&g_active)->name;
}

const kn_isa_table *kn_active(void) {
    kn_init();
    return atomic_load_explicit(&g_active, memory_order_relaxed);
}

const kn_isa_table *kn_scalar_table(void) {
    kn_init();
    return &g_tables[TIER_SCALAR];
}

/* Test hook (declared in the test, not in the public header): selects a detected tier by name, or
 * the detected best for NULL. Returns false if the CPU lacks it. */
bool kn_force_isa(const char *name);
bool kn_force_isa(const char *name) {
    kn_init();
    if (!name) {
        atomic_store(&g_active, &g_tables[g_best]);
        return true;
    }
    for (int i = 0; i < TIER_COUNT; i++) {
        if (strcmp(name, g_tables[i].name) == 0) {
            if (!g_have[i]) return false;
            atomic_store(&g_active, &g_tables[i]);
            return true;
        }
    }
    return false;
}

/* Test hook: makes `t`, a table the test filled itself (the AVX-512 tier's code built for AVX2 with
 * emulated instructions, tests/unit/kn_avx512_emulated.c), the active one, its NULL entries taken
 * from the AVX2 tier. False where the CPU lacks AVX2, which such a table is compiled for.
 * kn_force_isa(NULL) goes back to the detected tier, and must before `t` goes out of scope (the
 * active table is a pointer to it; the test's is static). */
bool kn_force_table(kn_isa_table *t);
bool kn_force_table(kn_isa_table *t) {
    kn_init();
    if (!g_have[TIER_AVX2]) return false;
    inherit(t, &g_tables[TIER_AVX2]);
    atomic_store(&g_active, t);
    return true;
}

/* ---- public entry points -------------------------------------------------------------------- */

void kn_dequantize_row(kn_type t, const void *src, float *dst, int64_t n) {
    kn_dequantize_row_ref(t, src, dst, n);
}

size_t kn_quantize_row(kn_type t, const float *src, void *dst, int64_t n) {
    if (!kn_scalar_forced()) {
        const kn_isa_table *tab = kn_active();
        size_t bytes = kn_row_size(t, n);
        if (t == KN_Q8_0 && bytes) {
            tab->quantize_q8_0(src, dst, n);
            return bytes;
        }
        if (t == KN_Q8_K && bytes) {
            tab->quantize_q8_K(src, dst, n);
            return bytes;
        }
    }
    return kn_quantize_row_ref(t, src, dst, n);
}

/* Float weights: the tier's FMA kernel. Quantized weights: the reference, on the f32 activations
 * as given — exact, not fast; the integer path (activations quantized once per call, like
 * llama.cpp) is kn_matmul's, where that cost is shared by every weight row. */
float kn_dot(kn_type t, const void *w_row, const float *x, int64_t n) {
    if (!kn_scalar_forced() && (t == KN_F32 || t == KN_F16 || t == KN_BF16)) {
        float out;
        kn_active()->mdot[t](n, w_row, x, 0, 1, &out, 1);
        return out;
    }
    return kn_dot_ref(t, w_row, x, n);
}
