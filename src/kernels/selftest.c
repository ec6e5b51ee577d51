/*
 * A start-up check of a SIMD tier against the scalar kernels, run once by kn_init before the tier
 * is chosen.
 *
 * Why: CI and the development machines may lack a tier the production CPU has (the AVX-512 tier
 * in particular), so its code can reach production having been compiled but never executed. This
 * check costs well under a millisecond and turns a wrong kernel into a logged warning and the next
 * tier down, instead of wrong logits. The unit tests (test_kernels_simd.c) do the thorough job on
 * every tier the test machine has.
 */
#include <math.h>

#include "kernels_impl.h"

#define ST_N 512 /* two q8_K blocks, sixteen q8_0 blocks */

static uint32_t st_rng(uint32_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static float st_val(uint32_t *s) { return ((int32_t)(st_rng(s) >> 8) - (1 << 23)) * (1.0f / (1 << 22)); }

bool kn_isa_selftest(const kn_isa_table *tab, const char **what) {
    static const kn_type types[] = {KN_F32, KN_F16, KN_BF16, KN_Q8_0, KN_Q4_0, KN_Q4_K, KN_Q5_K, KN_Q6_K};
    float w[ST_N], x[KN_NRX][ST_N];
    /* room for the widest row: f32 weights / activations */
    _Alignas(64) uint8_t wq[ST_N * 4], xq[KN_NRX][ST_N * 4], xr[KN_NRX][ST_N * 4];
    uint32_t seed = 0x2545F491u;
    for (int i = 0; i < ST_N; i++) w[i] = st_val(&seed);
    for (int r = 0; r < KN_NRX; r++)
        for (int i = 0; i < ST_N; i++) x[r][i] = st_val(&seed) * (r + 1);
    /* exact ties for the two rounding rules: amax 127 makes the q8_0 grid step 1 */
    x[2][0] = 127.0f;
    x[2][1] = 0.5f;
    x[2][2] = -2.5f;

    /* Activation quantizers: byte-identical. */
    for (int r = 0; r < KN_NRX; r++) {
        tab->quantize_q8_0(x[r], (block_q8_0 *)xq[r], ST_N);
        kn_quantize_row_q8_0_ref(x[r], (block_q8_0 *)xr[r], ST_N);
        if (memcmp(xq[r], xr[r], kn_row_size(KN_Q8_0, ST_N)) != 0) {
            *what = "quantize q8_0";
            return false;
        }
        tab->quantize_q8_0x(x[r], (block_q8_0x *)xq[r], ST_N);
        kn_quantize_row_q8_0x_ref(x[r], (block_q8_0x *)xr[r], ST_N);
        if (memcmp(xq[r], xr[r], kn_act_row_size(KN_Q8_0, ST_N)) != 0) {
            *what = "quantize q8_0x";
            return false;
        }
        tab->quantize_q8_K(x[r], (block_q8_K *)xq[r], ST_N);
        kn_quantize_row_q8_K_ref(x[r], (block_q8_K *)xr[r], ST_N);
        if (memcmp(xq[r], xr[r], kn_row_size(KN_Q8_K, ST_N)) != 0) {
            *what = "quantize q8_K";
            return false;
        }
    }

    static const kn_mdot_fn scalar[KN_TYPE_COUNT] = {
        [KN_F32] = kn_mdot_f32_scalar,         [KN_F16] = kn_mdot_f16_scalar,
        [KN_BF16] = kn_mdot_bf16_scalar,       [KN_Q8_0] = kn_mdot_q8_0_q8_0_scalar,
        [KN_Q4_0] = kn_mdot_q4_0_q8_0_scalar,  [KN_Q4_K] = kn_mdot_q4_K_q8_K_scalar,
        [KN_Q5_K] = kn_mdot_q5_K_q8_K_scalar,  [KN_Q6_K] = kn_mdot_q6_K_q8_K_scalar,
    };
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
        kn_type t = types[k], act = kn_act_type(t);
        kn_quantize_row_ref(t, w, wq, ST_N);
        for (int r = 0; r < KN_NRX; r++) kn_quantize_act_ref(act, x[r], xr[r], ST_N);
        const size_t xs = sizeof xr[0];
        for (int nrx = 1; nrx <= KN_NRX; nrx++) {
            float got[KN_NRX], want[KN_NRX];
            tab->mdot[t](ST_N, wq, xr, xs, nrx, got, 1);
            scalar[t](ST_N, wq, xr, xs, nrx, want, 1);
            for (int r = 0; r < nrx; r++) {
                /* values are O(1) with ST_N terms: a right kernel agrees to ~1e-5 */
                if (!(fabsf(got[r] - want[r]) <= 1e-3f * (1.0f + fabsf(want[r])))) {
                    *what = kn_type_traits(t)->name;
                    return false;
                }
            }
        }
    }
    /* GEMM tiles (q4_0 / q8_0 weights, activations as a panel): the largest tile, pair by pair. */
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
        const kn_type t = types[k];
        if (!tab->gemm[t]) continue;
        const bool panel = kn_act_type(t) == KN_Q8_0;
        const int mr = tab->gemm_mr[t], nr = tab->gemm_nr[t] < KN_NRX ? tab->gemm_nr[t] : KN_NRX;
        const size_t wrs = kn_row_size(t, ST_N);
        _Alignas(64) static _Thread_local uint8_t wrows[8][ST_N * 4], xpanel[ST_N / 32 * 40 * KN_NRX];
        float y[8 * KN_NRX];
        if (mr > 8) continue;
        for (int m = 0; m < mr; m++) {
            for (int i = 0; i < ST_N; i++) w[i] = st_val(&seed);
            kn_quantize_row_ref(t, w, wrows[m], ST_N);
        }
        for (int r = 0; r < nr; r++) {
            if (panel) tab->quantize_q8_0p(x[r], xpanel, ST_N, nr, r);
            kn_quantize_act_ref(kn_act_type(t), x[r], xr[r], ST_N);
        }
        /* the tile reads rows at a fixed stride: lay them out contiguously */
        static _Thread_local uint8_t wcat[8 * ST_N * 4];
        for (int m = 0; m < mr; m++) memcpy(wcat + m * wrs, wrows[m], wrs);
        if (panel) tab->gemm[t](ST_N, wcat, wrs, mr, xpanel, 0, nr, y, (size_t)mr);
        else tab->gemm[t](ST_N, wcat, wrs, mr, xr, sizeof xr[0], nr, y, (size_t)mr);
        for (int m = 0; m < mr; m++)
            for (int r = 0; r < nr; r++) {
                float want;
                scalar[t](ST_N, wcat + m * wrs, xr[r], 0, 1, &want, 1);
                if (!(fabsf(y[r * mr + m] - want) <= 1e-3f * (1.0f + fabsf(want)))) {
                    *what = t == KN_Q4_0 ? "q4_0 gemm" : t == KN_Q8_0 ? "q8_0 gemm" : "k-quant gemm";
                    return false;
                }
            }
    }
    /* Packed tiles: rows packed (kn_pack) in one group, and in as many groups as a call may take
     * (gemm_pk_mr), against the scalar kernel on the original rows. */
    static const kn_type packed_types[] = {KN_Q4_0, KN_Q4_K};
    enum { PK_MAX = 2 * KN_PACK_ROWS };
    for (size_t k = 0; k < sizeof packed_types / sizeof packed_types[0]; k++) {
        const kn_type t = packed_types[k];
        if (!tab->gemm_pk[t]) continue;
        const kn_type act = kn_act_type(t);
        const size_t wrs = kn_row_size(t, ST_N);
        const int nr = tab->gemm_pk_nr[t] < KN_NRX ? tab->gemm_pk_nr[t] : KN_NRX;
        const int mr = tab->gemm_pk_mr[t] < PK_MAX ? tab->gemm_pk_mr[t] : PK_MAX;
        _Alignas(64) static _Thread_local uint8_t rows[PK_MAX * ST_N], packed[PK_MAX * ST_N],
            xpanel[ST_N / 32 * 40 * KN_NRX];
        float y[PK_MAX * KN_NRX];
        for (int m = 0; m < mr; m++) {
            for (int i = 0; i < ST_N; i++) w[i] = st_val(&seed);
            kn_quantize_row_ref(t, w, rows + m * wrs, ST_N);
        }
        kn_pack(t, rows, mr, ST_N, packed);
        for (int r = 0; r < nr; r++) {
            if (act == KN_Q8_0) tab->quantize_q8_0p(x[r], xpanel, ST_N, nr, r);
            kn_quantize_act_ref(act, x[r], xr[r], ST_N);
        }
        const int nws[2] = {KN_PACK_ROWS, mr}; /* one group; as many as a call may take */
        for (int v = 0; v < (mr > KN_PACK_ROWS ? 2 : 1); v++) {
            const int nw = nws[v];
            if (act == KN_Q8_0) tab->gemm_pk[t](ST_N, packed, wrs, nw, xpanel, 0, nr, y, (size_t)nw);
            else tab->gemm_pk[t](ST_N, packed, wrs, nw, xr, sizeof xr[0], nr, y, (size_t)nw);
            for (int m = 0; m < nw; m++)
                for (int r = 0; r < nr; r++) {
                    float want;
                    scalar[t](ST_N, rows + m * wrs, xr[r], 0, 1, &want, 1);
                    if (memcmp(&want, &y[r * nw + m], sizeof want) != 0) {
                        *what = t == KN_Q4_0 ? "packed q4_0 gemm" : "packed q4_K gemm";
                        return false;
                    }
                }
        }
    }
    return true;
}
