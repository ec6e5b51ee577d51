/*
 * kernels: conversions, quantize/dequantize references, dot_ref, matmul.
 * SIMD kernels against their scalar oracles are in test_kernels_simd.c.
 */
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "core/core.h"
#include "kernels/kernels_impl.h"

/* ---- helpers ----------------------------------------------------------------------------------- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rng_u32(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 32);
}
static float rng_unit(void) { return (rng_u32() >> 8) * (1.0f / 16777216.0f); } /* [0,1) */
static float rng_gauss(void) {
    float u = rng_unit() + 1e-7f, v = rng_unit();
    return sqrtf(-2.0f * logf(u)) * cosf(6.2831853f * v);
}

static float fbits(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}
static uint32_t bitsf(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

/* ---- f16 ---------------------------------------------------------------------------------------- */

__attribute__((target("f16c"))) static uint16_t hw_f32_to_f16(float f) {
    return (uint16_t)_mm_extract_epi16(_mm_cvtps_ph(_mm_set_ss(f), _MM_FROUND_TO_NEAREST_INT), 0);
}
__attribute__((target("f16c"))) static float hw_f16_to_f32(uint16_t h) {
    return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h)));
}

static void test_f16(void) {
    struct { uint32_t f; uint16_t h; } cases[] = {
        {0x00000000, 0x0000}, /* 0 */
        {0x80000000, 0x8000}, /* -0 */
        {0x3F800000, 0x3C00}, /* 1 */
        {0xC0000000, 0xC000}, /* -2 */
        {0x477FE000, 0x7BFF}, /* 65504, the largest half */
        {0x477FEFFF, 0x7BFF}, /* just below the midpoint to inf */
        {0x477FF000, 0x7C00}, /* 65520: tie, rounds to even = inf */
        {0x7F7FFFFF, 0x7C00}, /* FLT_MAX */
        {0x7F800000, 0x7C00}, /* inf */
        {0xFF800000, 0xFC00}, /* -inf */
        {0x38800000, 0x0400}, /* 2^-14, smallest normal */
        {0x387FC000, 0x03FF}, /* 1023 * 2^-24, largest subnormal */
        {0x33800000, 0x0001}, /* 2^-24, smallest subnormal */
        {0x33000000, 0x0000}, /* 2^-25: tie between 0 and 2^-24, even is 0 */
        {0x33000001, 0x0001}, /* just above that tie */
        {0x33C00000, 0x0002}, /* 1.5 * 2^-24: tie between 1 and 2, even is 2 */
        {0xB3C00000, 0x8002}, /* its negative */
        {0x00000001, 0x0000}, /* f32 subnormal */
        {0x3F801000, 0x3C00}, /* 1 + 2^-11: tie, even mantissa 0 */
        {0x3F803000, 0x3C02}, /* 1 + 3*2^-11: tie, even mantissa 2 */
        {0x3F801001, 0x3C01}, /* just above the tie */
        {0x387FE000, 0x0400}, /* 1023.5 * 2^-24: tie, rounds up into the smallest normal */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint16_t h = kn_f32_to_f16(fbits(cases[i].f));
        CHECK_MSG(h == cases[i].h, "f32 %08x -> f16 %04x, want %04x", cases[i].f, h, cases[i].h);
    }
    uint16_t hn = kn_f32_to_f16(fbits(0x7FC00001));
    CHECK((hn & 0x7C00) == 0x7C00 && (hn & 0x3FF) != 0);
    hn = kn_f32_to_f16(fbits(0xFF800001)); /* signalling NaN stays NaN, sign kept */
    CHECK((hn & 0xFC00) == 0xFC00 && (hn & 0x3FF) != 0);

    /* Every half round-trips; NaNs come back as NaNs. */
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = kn_f16_to_f32((uint16_t)h);
        bool nan = (h & 0x7C00) == 0x7C00 && (h & 0x3FF);
        if (nan ? !isnan(f) : kn_f32_to_f16(f) != h) bad++;
    }
    CHECK_MSG(bad == 0, "%d halves do not round-trip", bad);
    CHECK(kn_f16_to_f32(0x0001) == ldexpf(1.0f, -24));
    CHECK(kn_f16_to_f32(0x3555) == fbits(0x3EAAA000));

    /* Against the CPU's own conversion (IEEE round-to-nearest-even) over a sweep of all f32
     * exponents and many mantissas. */
    if (kn_cpu_has_f16c()) { /* cpuid itself: clang 14's __builtin_cpu_supports does not know "f16c" */
        int mism = 0;
        for (uint64_t u = 0; u < 0x100000000ull; u += 509) {
            float f = fbits((uint32_t)u);
            if (isnan(f)) continue;
            if (kn_f32_to_f16(f) != hw_f32_to_f16(f)) mism++;
        }
        CHECK_MSG(mism == 0, "%d f32 -> f16 mismatches against F16C", mism);
        for (uint32_t h = 0; h < 65536; h++) {
            float a = kn_f16_to_f32((uint16_t)h), b = hw_f16_to_f32((uint16_t)h);
            if (!(isnan(a) && isnan(b)) && bitsf(a) != bitsf(b)) mism++;
        }
        CHECK_MSG(mism == 0, "%d f16 -> f32 mismatches against F16C", mism);
    }
}

static void test_bf16(void) {
    struct { uint32_t f; uint16_t h; } cases[] = {
        {0x00000000, 0x0000}, {0x80000000, 0x8000}, {0x3F800000, 0x3F80},
        {0x3F808000, 0x3F80}, /* tie, even */
        {0x3F818000, 0x3F82}, /* tie, even upward */
        {0x3F808001, 0x3F81}, /* above the tie */
        {0x7F800000, 0x7F80}, {0xFF800000, 0xFF80},
        {0x7F7FFFFF, 0x7F80}, /* FLT_MAX rounds to inf, as in ggml */
        {0x00008000, 0x0000}, /* subnormal tie, even */
        {0x00018000, 0x0002},
        {0x00010000, 0x0001}, /* subnormals are kept, not flushed */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint16_t h = kn_f32_to_bf16(fbits(cases[i].f));
        CHECK_MSG(h == cases[i].h, "f32 %08x -> bf16 %04x, want %04x", cases[i].f, h, cases[i].h);
    }
    CHECK(kn_f32_to_bf16(fbits(0x7F800001)) == 0x7FC0); /* sNaN -> quiet, payload top bits kept */
    CHECK(kn_f32_to_bf16(fbits(0xFFC00000)) == 0xFFC0);
    CHECK(bitsf(kn_bf16_to_f32(0x3F80)) == 0x3F800000);
    CHECK(bitsf(kn_bf16_to_f32(0x8001)) == 0x80010000);
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = kn_bf16_to_f32((uint16_t)h);
        if (!isnan(f) && kn_f32_to_bf16(f) != h) bad++;
    }
    CHECK(bad == 0);
}

/* ---- golden block layouts ------------------------------------------------------------------- */

static void test_golden_q8_0(void) {
    /* amax = 127 makes d = 1 (f16 0x3C00) and 1/d exact, so q = roundf(x): half away from zero. */
    static const float frac[4] = {0.0f, 0.25f, 0.5f, 0.75f};
    float x[32];
    for (int j = 0; j < 32; j++) x[j] = -127.0f + 8.0f * j + frac[j % 4];
    static const int8_t want_q[32] = {-127, -119, -111, -102, -95, -87, -79, -70, -63, -55, -47,
                                      -38,  -31,  -23,  -15,  -6,  1,   9,   18,  26,  33,  41,
                                      50,   58,   65,   73,   82,  90,  97,  105, 114, 122};
    uint8_t got[34], want[34] = {0x00, 0x3C}; /* d, little-endian */
    memcpy(want + 2, want_q, 32);
    CHECK(kn_quantize_row_ref(KN_Q8_0, x, got, 32) == 34);
    CHECK(memcmp(got, want, 34) == 0);
    CHECK(kn_quantize_row(KN_Q8_0, x, got, 32) == 34 && memcmp(got, want, 34) == 0);
    float back[32];
    kn_dequantize_row(KN_Q8_0, got, back, 32);
    for (int j = 0; j < 32; j++) CHECK(back[j] == want_q[j]);
}

static void test_golden_q4_0(void) {
    /* Largest magnitude is +8, so d = 8/-8 = -1 (f16 0xBC00) and q = trunc(8.5 - x), clamped to 15.
     * Elements 0..15: x = 8 - j -> q = j (low nibbles); 16..31: x = j - 23 -> q = 31 - j (high). */
    float x[32];
    for (int j = 0; j < 16; j++) x[j] = 8.0f - j;
    for (int j = 16; j < 32; j++) x[j] = j - 23.0f;
    x[3] = 5.4f; /* 8.5 - 5.4 = 3.1 -> 3: same nibble, exercises truncation */
    uint8_t got[18], want[18] = {0x00, 0xBC};
    for (int j = 0; j < 16; j++) want[2 + j] = (uint8_t)(j | ((15 - j) << 4));
    CHECK(kn_quantize_row_ref(KN_Q4_0, x, got, 32) == 18);
    CHECK_MSG(memcmp(got, want, 18) == 0, "q4_0 bytes differ: %02x %02x %02x", got[0], got[1], got[2]);
    float back[32];
    kn_dequantize_row(KN_Q4_0, got, back, 32);
    CHECK(back[0] == 8.0f && back[15] == -7.0f && back[16] == -7.0f && back[31] == 8.0f);
}

/* A hand-made q4_K block: checks the 6-bit scale packing through dequantization. */
static void test_golden_q4_K(void) {
    block_q4_K b;
    memset(&b, 0, sizeof b);
    b.d = kn_f32_to_f16(1.0f);
    b.dmin = kn_f32_to_f16(0.5f);
    uint8_t sc[8] = {1, 2, 3, 63, 40, 17, 33, 5}, mn[8] = {0, 1, 62, 7, 48, 63, 2, 31};
    for (int j = 0; j < 8; j++) { /* the packing spelled out once more, independently */
        if (j < 4) {
            b.scales[j] = sc[j];
            b.scales[j + 4] = mn[j];
        }
    }
    for (int j = 4; j < 8; j++) {
        b.scales[j + 4] = (uint8_t)((sc[j] & 15) | ((mn[j] & 15) << 4));
        b.scales[j - 4] |= (uint8_t)((sc[j] >> 4) << 6);
        b.scales[j] |= (uint8_t)((mn[j] >> 4) << 6);
    }
    for (int l = 0; l < 128; l++) b.qs[l] = (uint8_t)((l % 16) | ((15 - l % 16) << 4));
    float y[256];
    kn_dequantize_row(KN_Q4_K, &b, y, 256);
    int bad = 0;
    for (int e = 0; e < 256; e++) {
        int j = e / 32, c = e / 64, l = e % 32;
        uint8_t byte = b.qs[32 * c + l];
        int q = (e % 64) < 32 ? byte & 15 : byte >> 4;
        float want = 1.0f * sc[j] * q - 0.5f * mn[j];
        if (y[e] != want) bad++;
    }
    CHECK_MSG(bad == 0, "%d q4_K elements wrong", bad);
}

/* ---- round trips -------------------------------------------------------------------------------- */

typedef struct {
    kn_type t;
    double max_rel_rmse;
} rt_case;

/* Measured on Gaussian rows (n = 4096): q8_0 0.0056, q4_0 0.090, q4_K 0.074, q5_K 0.037,
 * q6_K 0.018, q8_K 0.0072 — each close to step/sqrt(12) for its grid, e.g. q4_0: amax of 32
 * Gaussians ~2.1 sigma, step amax/8. f16/bf16 are element-wise roundings (2^-11, 2^-8 relative).
 * The bounds leave ~25% headroom so the test fails on a real regression, not on noise. */
static const rt_case rt_cases[] = {
    {KN_F32, 0.0},    {KN_F16, 0.0003}, {KN_BF16, 0.0025}, {KN_Q8_0, 0.007}, {KN_Q4_0, 0.11},
    {KN_Q4_K, 0.09}, {KN_Q5_K, 0.045}, {KN_Q6_K, 0.022},  {KN_Q8_K, 0.009},
};

static double rel_rmse(const float *a, const float *b, int64_t n) {
    double e = 0, s = 0;
    for (int64_t i = 0; i < n; i++) {
        e += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        s += (double)a[i] * a[i];
    }
    return s > 0 ? sqrt(e / s) : sqrt(e);
}

static void test_round_trip(void) {
    enum { N = 4096 };
    static float x[N], y[N];
    static uint8_t q[N * 4 + 64];
    for (int i = 0; i < N; i++) x[i] = rng_gauss() * (1.0f + (i / 256) * 0.1f);
    for (size_t c = 0; c < sizeof rt_cases / sizeof rt_cases[0]; c++) {
        kn_type t = rt_cases[c].t;
        size_t bytes = kn_quantize_row_ref(t, x, q, N);
        CHECK_MSG(bytes == kn_row_size(t, N), "%s: %zu bytes", kn_type_traits(t)->name, bytes);
        kn_dequantize_row_ref(t, q, y, N);
        double err = rel_rmse(x, y, N);
        printf("  round trip %-5s rel rmse %.5f (bound %.4f)\n", kn_type_traits(t)->name, err,
               rt_cases[c].max_rel_rmse);
        CHECK_MSG(err <= rt_cases[c].max_rel_rmse, "%s rel rmse %g", kn_type_traits(t)->name, err);
        /* The dispatched quantizer writes the same bytes as the reference. */
        static uint8_t q2[N * 4 + 64];
        CHECK(kn_quantize_row(t, x, q2, N) == bytes && memcmp(q, q2, bytes) == 0);

        /* All-zero input: quantizes to something that dequantizes to exactly zero. */
        static float z[N];
        memset(z, 0, sizeof z);
        kn_quantize_row_ref(t, z, q, N);
        kn_dequantize_row_ref(t, q, y, N);
        int nz = 0;
        for (int i = 0; i < N; i++) nz += y[i] != 0.0f;
        CHECK_MSG(nz == 0, "%s: zeros came back as %d non-zeros", kn_type_traits(t)->name, nz);

        /* Scale invariance (the quantizers work with ratios) — within the range the formats
         * allow: block scales are f16, so d must stay well inside [2^-14, 65504]. */
        static const float scale_of[] = {1e-2f, 1.0f, 1e2f, 1e3f};
        for (size_t si = 0; si < 4; si++) {
            const float s = scale_of[si];
            static float xs[N];
            for (int i = 0; i < 1024; i++) xs[i] = x[i] * s;
            kn_quantize_row_ref(t, xs, q, 1024);
            kn_dequantize_row_ref(t, q, y, 1024);
            double e2 = rel_rmse(xs, y, 1024);
            CHECK_MSG(e2 <= rt_cases[c].max_rel_rmse * 1.5 + 1e-6, "%s at scale %g: %g",
                      kn_type_traits(t)->name, s, e2);
        }
    }
    /* Types we cannot write say so. */
    CHECK(kn_quantize_row_ref(KN_Q2_K, x, q, 256) == 0);
    CHECK(kn_quantize_row(KN_IQ2_XXS, x, q, 256) == 0);
    CHECK(kn_quantize_row_ref(KN_Q8_0, x, q, 31) == 0);
}

/* q8_K bsums are the group sums of the quants. */
static void test_q8_K_bsums(void) {
    float x[512];
    block_q8_K b[2];
    for (int i = 0; i < 512; i++) x[i] = rng_gauss();
    kn_quantize_row_ref(KN_Q8_K, x, b, 512);
    for (int k = 0; k < 2; k++) {
        for (int g = 0; g < 16; g++) {
            int s = 0;
            for (int j = 0; j < 16; j++) s += b[k].qs[16 * g + j];
            CHECK(b[k].bsums[g] == s);
        }
    }
}

/* ---- dot ----------------------------------------------------------------------------------------- */

static const kn_type dot_types[] = {KN_F32, KN_F16, KN_BF16, KN_Q8_0, KN_Q4_0, KN_Q4_K, KN_Q5_K, KN_Q6_K};
#define N_DOT_TYPES (sizeof dot_types / sizeof dot_types[0])

static void test_dot_ref(void) {
    enum { N = 1024 };
    static float w[N], x[N], wd[N];
    static uint8_t q[N * 4];
    for (int i = 0; i < N; i++) {
        w[i] = rng_gauss();
        x[i] = rng_gauss();
    }
    for (size_t c = 0; c < N_DOT_TYPES; c++) {
        kn_type t = dot_types[c];
        kn_quantize_row_ref(t, w, q, N);
        kn_dequantize_row_ref(t, q, wd, N);
        for (int64_t n = kn_type_traits(t)->blck_size == 1 ? 1 : kn_type_traits(t)->blck_size; n <= N; n *= 2) {
            double want = 0, mag = 0;
            for (int64_t i = 0; i < n; i++) {
                want += (double)wd[i] * x[i];
                mag += fabs((double)wd[i] * x[i]);
            }
            float got = kn_dot_ref(t, q, x, n);
            CHECK_MSG(fabs(got - want) <= 1e-6 * mag + 1e-30, "%s n=%lld: %g vs %g",
                      kn_type_traits(t)->name, (long long)n, got, want);
            float got2 = kn_dot(t, q, x, n); /* dispatched, f32 activations */
            CHECK_MSG(fabs(got2 - want) <= 1e-5 * mag + 1e-30, "kn_dot %s n=%lld: %g vs %g",
                      kn_type_traits(t)->name, (long long)n, got2, want);
        }
    }
}

/* ---- matmul -------------------------------------------------------------------------------------- */

/*
 * Worst-case error of dot(w, x) when x is replaced by its q8_0 / q8_K quantization: each element
 * moves by at most d_b/2 (rounding to the grid of its block b, d_b = amax_b/127) plus, for q8_0,
 * the f16 rounding of d_b which scales every |q| <= 127 by a relative 2^-11. So
 *   |err| <= sum_b (sum_{i in b} |w_i|) * d_b * (0.5 + 127 * 2^-11 [q8_0 only])
 * plus float accumulation over n products, which 1e-5 * sum |w_i x_i| covers for these sizes
 * (n * 2^-24 ~ 3e-5 is the worst case for n = 512; random-order errors are far smaller).
 */
static double act_quant_bound(kn_type t, const float *wd, const float *x, int64_t K) {
    kn_type act = kn_act_type(t);
    int64_t bs = act == KN_Q8_0 ? 32 : act == KN_Q8_K ? 256 : K;
    double slack = act == KN_Q8_0 ? 0.5 + 127.0 / 2048.0 : act == KN_Q8_K ? 0.5 : 0.0;
    double bound = 0, mag = 0;
    for (int64_t b = 0; b < K; b += bs) {
        double amax = 0, wsum = 0;
        for (int64_t i = b; i < b + bs; i++) {
            amax = fmax(amax, fabs(x[i]));
            wsum += fabs(wd[i]);
            mag += fabs((double)wd[i] * x[i]);
        }
        bound += wsum * (amax / 127.0) * slack;
    }
    return bound + 1e-5 * mag;
}

static void check_matmul(cirrus_pool *pool, kn_type t, int64_t M, int64_t K, int64_t T) {
    size_t rs = kn_row_size(t, K);
    float *Wf = malloc(sizeof(float) * M * K), *Wd = malloc(sizeof(float) * M * K);
    float *x = malloc(sizeof(float) * T * K), *y = malloc(sizeof(float) * T * M);
    uint8_t *W = malloc(rs * M);
    for (int64_t i = 0; i < M * K; i++) Wf[i] = rng_gauss();
    for (int64_t i = 0; i < T * K; i++) x[i] = rng_gauss();
    for (int64_t m = 0; m < M; m++) {
        kn_quantize_row_ref(t, Wf + m * K, W + m * rs, K);
        kn_dequantize_row_ref(t, W + m * rs, Wd + m * K, K);
    }
    /* Both paths -- scalar forced (portable tier) and the detected SIMD tier -- quantize the
     * activations as llama.cpp does, so each must be within the activation-quantization bound of
     * the exact f32-activation dot kn_dot_ref. (Scalar vs SIMD agreement kernel by kernel is
     * test_kernels_simd's job.) */
    for (int forced = 1; forced >= 0; forced--) {
        kn_set_scalar(forced);
        for (int64_t i = 0; i < T * M; i++) y[i] = NAN;
        kn_matmul(pool, t, W, M, K, x, T, y);
        int bad = 0;
        double worst = 0;
        for (int64_t tt = 0; tt < T; tt++) {
            for (int64_t m = 0; m < M; m++) {
                double want = kn_dot_ref(t, W + m * rs, x + tt * K, K);
                double tol = act_quant_bound(t, Wd + m * K, x + tt * K, K) + 1e-5 * fabs(want);
                double err = fabs(y[tt * M + m] - want);
                if (!(err <= tol)) bad++;
                if (tol > 0) worst = fmax(worst, err / tol);
            }
        }
        CHECK_MSG(bad == 0, "matmul %s M=%lld K=%lld T=%lld (%s): %d outside bound, worst %.3g of bound",
                  kn_type_traits(t)->name, (long long)M, (long long)K, (long long)T, kn_isa_name(), bad, worst);
    }
    free(Wf);
    free(Wd);
    free(x);
    free(y);
    free(W);
}

static void test_matmul(void) {
    cirrus_pool *pool = NULL;
    CHECK(cirrus_pool_new(2, &pool) == CIRRUS_OK);
    static const int64_t Ts[] = {1, 2, 3, 5, 17};
    static const int64_t Ms[] = {1, 37, 70};
    for (size_t c = 0; c < N_DOT_TYPES; c++) {
        kn_type t = dot_types[c];
        int64_t K = kn_type_traits(t)->blck_size == 256 ? 512 : 96;
        for (size_t i = 0; i < sizeof Ts / sizeof Ts[0]; i++) {
            for (size_t j = 0; j < sizeof Ms / sizeof Ms[0]; j++) {
                check_matmul(pool, t, Ms[j], K, Ts[i]);
                if (Ts[i] == 3) check_matmul(NULL, t, Ms[j], K, Ts[i]);
            }
        }
    }
    cirrus_pool_free(pool);
}

int main(void) {
    kn_init();
    printf("kernels: isa %s\n", kn_isa_name());
    test_f16();
    test_bf16();
    test_golden_q8_0();
    test_golden_q4_0();
    test_golden_q4_K();
    test_round_trip();
    test_q8_K_bsums();
    test_dot_ref();
    test_matmul();
    return check_done("test_kernels");
}
