/*
 * The watermark's candidate loop, eight candidates at a time with AVX2 (compiled with -mavx2 by the
 * build's *_avx2.c rule, called only where cpuid reports AVX2: watermark.c). Bit-identical to
 * guard_wm_apply_scalar, which also finishes the tail; test_guard.c checks the two against each
 * other and against guard_wm_green.
 *
 * Layout: a candidate is {int32 id, float logit}, so 8 candidates are two 256-bit loads holding
 * ids in the even lanes and logits in the odd ones. The ids are packed into one vector, the green
 * mask computed there, spread back over (id, logit) pairs, and delta added to the odd lanes only
 * (a blend, so the id bits are never run through a float add).
 * AVX2 compares are signed: unsigned a < b is computed as (a ^ 2^31) < (b ^ 2^31).
 */
#include <immintrin.h>

#include "guard/guard_internal.h"

void guard_wm_apply_avx2(const struct guard_wm *w, smp_cand *d, size_t n, uint32_t mu, int32_t mid, uint32_t s0,
                         uint32_t s1) {
    const __m256i flip = _mm256_set1_epi32(INT32_MIN), one = _mm256_set1_epi32(1);
    const __m256i vs0 = _mm256_set1_epi32((int32_t)s0), vs1 = _mm256_set1_epi32((int32_t)s1);
    const __m256i vka = _mm256_set1_epi32((int32_t)w->ka);
    const __m256i vc1 = _mm256_set1_epi32((int32_t)GUARD_C1), vc2 = _mm256_set1_epi32((int32_t)GUARD_C2);
    const __m256i thr_f = _mm256_set1_epi32((int32_t)(w->thr ^ 0x80000000u));
    const __m256i mu_f = _mm256_set1_epi32((int32_t)(mu ^ 0x80000000u)), vmu = _mm256_set1_epi32((int32_t)mu);
    const __m256i vmid = _mm256_set1_epi32(mid), vnv = _mm256_set1_epi32(w->n_vocab);
    const __m256i neg1 = _mm256_set1_epi32(-1);
    const __m256i even = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);
    const __m256i spread_lo = _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3);
    const __m256i spread_hi = _mm256_setr_epi32(4, 4, 5, 5, 6, 6, 7, 7);
    const __m256 vdelta = _mm256_set1_ps(w->p.delta);
    const int *u = (const int *)w->u;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 a = _mm256_loadu_ps((const float *)(d + i));     /* id0 l0 id1 l1 id2 l2 id3 l3 */
        __m256 b = _mm256_loadu_ps((const float *)(d + i + 4)); /* id4 l4 ... */
        __m256i ia = _mm256_permutevar8x32_epi32(_mm256_castps_si256(a), even);
        __m256i ib = _mm256_permutevar8x32_epi32(_mm256_castps_si256(b), even);
        __m256i ids = _mm256_permute2x128_si256(ia, ib, 0x20); /* id0 .. id7 */

        /* 0 <= id < n_vocab, else never green (and never read from the table) */
        __m256i inr = _mm256_and_si256(_mm256_cmpgt_epi32(vnv, ids), _mm256_cmpgt_epi32(ids, neg1));
        __m256i uw = _mm256_mask_i32gather_epi32(_mm256_setzero_si256(), u, ids, inr, 4);

        /* own = (uw, id) < (mu, mid): the candidate anchors itself and uses its self bit */
        __m256i lt = _mm256_cmpgt_epi32(mu_f, _mm256_xor_si256(uw, flip));
        __m256i eq = _mm256_cmpeq_epi32(uw, vmu);
        __m256i own = _mm256_or_si256(lt, _mm256_andnot_si256(_mm256_cmpgt_epi32(ids, vmid), eq));

        /* H(s0, s1, id) < thr */
        __m256i x = _mm256_mullo_epi32(_mm256_xor_si256(ids, vs0), vka);
        x = _mm256_xor_si256(x, _mm256_srli_epi32(x, 16));
        x = _mm256_xor_si256(x, vs1);
        x = _mm256_mullo_epi32(x, vc1);
        x = _mm256_xor_si256(x, _mm256_srli_epi32(x, 13));
        x = _mm256_mullo_epi32(x, vc2);
        x = _mm256_xor_si256(x, _mm256_srli_epi32(x, 16));
        __m256i gc = _mm256_cmpgt_epi32(thr_f, _mm256_xor_si256(x, flip));

        __m256i self = _mm256_cmpeq_epi32(_mm256_and_si256(uw, one), one);
        __m256i g = _mm256_or_si256(_mm256_and_si256(own, self), _mm256_andnot_si256(own, gc));
        g = _mm256_and_si256(g, inr);

        __m256 ga = _mm256_castsi256_ps(_mm256_permutevar8x32_epi32(g, spread_lo));
        __m256 gb = _mm256_castsi256_ps(_mm256_permutevar8x32_epi32(g, spread_hi));
        a = _mm256_blend_ps(a, _mm256_add_ps(a, _mm256_and_ps(ga, vdelta)), 0xAA);
        b = _mm256_blend_ps(b, _mm256_add_ps(b, _mm256_and_ps(gb, vdelta)), 0xAA);
        _mm256_storeu_ps((float *)(d + i), a);
        _mm256_storeu_ps((float *)(d + i + 4), b);
    }
    guard_wm_apply_scalar(w, d + i, n - i, mu, mid, s0, s1);
}
