/*
 * dot_x86_act.h — the activation quantizers (q8_0 rows and panels, q8_K)
 * Part of dot_x86.h (included from it, after its shared primitives, once per tier); not a
 * header of its own: it relies on the tier's DPBUSD/DPWSSD and dot_x86.h's helpers.
 */

/* ---- activation quantizers (bit-identical to quant_ref.c) ------------------------------------- */

/* Packs 4 x 8 int32 (each in -128..127) into 32 int8 in element order. */
INLINE __m256i pack_i32x32(__m256i a, __m256i b, __m256i c, __m256i d) {
    __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(a, b), _mm256_packs_epi32(c, d));
    return _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/* roundf(): to nearest, ties away from zero, exactly (trunc, then step away if |frac| >= 0.5). */
INLINE __m256 round_away(__m256 v) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    __m256 frac = _mm256_andnot_ps(sign, _mm256_sub_ps(v, t));
    __m256 step = _mm256_or_ps(_mm256_and_ps(v, sign), _mm256_set1_ps(1.0f));
    return _mm256_add_ps(t, _mm256_and_ps(_mm256_cmp_ps(frac, _mm256_set1_ps(0.5f), _CMP_GE_OQ), step));
}

INLINE float hmax_ps(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

/* One q8_0 block: writes the quants, returns d in f32 (the caller rounds it to f16). */
INLINE float quantize_q8_0_block(const float *x, int8_t *qs) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 v[4], a = _mm256_setzero_ps();
    for (int k = 0; k < 4; k++) {
        v[k] = _mm256_loadu_ps(x + 8 * k);
        a = _mm256_max_ps(a, _mm256_andnot_ps(sign, v[k]));
    }
    const float d = hmax_ps(a) / 127.0f;
    float id = d != 0.0f ? 1.0f / d : 0.0f;
    if (__builtin_isinf(id)) id = 0.0f;
    __m256i q[4];
    for (int k = 0; k < 4; k++) q[k] = _mm256_cvttps_epi32(round_away(_mm256_mul_ps(v[k], _mm256_set1_ps(id))));
    _mm256_storeu_si256((__m256i *)qs, pack_i32x32(q[0], q[1], q[2], q[3]));
    return d;
}

static void quantize_q8_0(const float *x, block_q8_0 *y, int64_t n) {
    for (int64_t i = 0; i < n / QK8_0; i++) y[i].d = kn_f32_to_f16(quantize_q8_0_block(x + i * QK8_0, y[i].qs));
}

/* Activations: id = 127/amax and round-half-to-even, as llama.cpp's x86 quantize_row_q8_0 (see
 * kn_quantize_row_q8_0x_ref for why this differs from the weight quantizer). Block i's scale goes
 * to d + i * stride, its quants to qs + i * stride and, if s is not NULL, -8 times their sum to
 * s + i * stride (rows and panels, kernels_impl.h). */
INLINE void quantize_q8_0x_strided(const float *x, uint8_t *d, uint8_t *s, uint8_t *qs, size_t stride, int64_t n) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (int64_t i = 0; i < n / QK8_0; i++, x += QK8_0, d += stride, qs += stride) {
        __m256 v[4], a = _mm256_setzero_ps();
        for (int k = 0; k < 4; k++) {
            v[k] = _mm256_loadu_ps(x + 8 * k);
            a = _mm256_max_ps(a, _mm256_andnot_ps(sign, v[k]));
        }
        const float amax = hmax_ps(a);
        float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        if (__builtin_isinf(id)) id = 0.0f;
        __m256i q[4];
        for (int k = 0; k < 4; k++)
            q[k] = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v[k], _mm256_set1_ps(id)),
                                                      _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
        _mm256_storeu_si256((__m256i *)qs, pack_i32x32(q[0], q[1], q[2], q[3]));
        const float dv = kn_f16_to_f32(kn_f32_to_f16(amax / 127.0f));
        memcpy(d, &dv, sizeof dv);
        if (s) {
            const int32_t sum = -8 * hsum_epi32(_mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3])));
            memcpy(s + (size_t)i * stride, &sum, sizeof sum);
        }
    }
}

static void quantize_q8_0x(const float *x, block_q8_0x *y, int64_t n) {
    quantize_q8_0x_strided(x, (uint8_t *)&y->d, NULL, (uint8_t *)y->qs, sizeof *y, n);
}

static void quantize_q8_0p(const float *x, uint8_t *panel, int64_t n, int g, int r) {
    quantize_q8_0x_strided(x, panel + 4 * r, panel + 4 * (g + r), panel + 8 * g + QK8_0 * r, KN_PANEL_BLOCK(g), n);
}

static void quantize_q8_K(const float *x, block_q8_K *y, int64_t n) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
        __m256 a = _mm256_setzero_ps();
        for (int k = 0; k < QK_K / 8; k++) a = _mm256_max_ps(a, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + 8 * k)));
        const float amax = hmax_ps(a);
        /* the reference's max: the first value whose magnitude is amax, with its sign */
        float max = 0.0f;
        for (int k = 0; k < QK_K / 8; k++) {
            __m256 eq = _mm256_cmp_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x + 8 * k)), _mm256_set1_ps(amax), _CMP_EQ_OQ);
            int mask = _mm256_movemask_ps(eq);
            if (mask) {
                max = x[8 * k + __builtin_ctz((unsigned)mask)];
                break;
            }
        }
        const float iscale = amax != 0.0f ? -127.0f / max : 0.0f;
        if (amax == 0.0f || __builtin_isinf(iscale)) {
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        const __m256 vs = _mm256_set1_ps(iscale);
        const __m256i lim = _mm256_set1_epi32(127);
        __m128i sums[4];
        for (int g4 = 0; g4 < 4; g4++) { /* 64 elements: 8 vectors, 4 groups of 16 */
            __m256i q[8];
            for (int k = 0; k < 8; k++) {
                __m256 p = _mm256_mul_ps(vs, _mm256_loadu_ps(x + 64 * g4 + 8 * k));
                q[k] = _mm256_min_epi32(lim, _mm256_cvtps_epi32(_mm256_round_ps(p, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)));
            }
            _mm256_storeu_si256((__m256i *)(y[i].qs + 64 * g4), pack_i32x32(q[0], q[1], q[2], q[3]));
            _mm256_storeu_si256((__m256i *)(y[i].qs + 64 * g4 + 32), pack_i32x32(q[4], q[5], q[6], q[7]));
            __m256i h01 = _mm256_hadd_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3]));
            __m256i h23 = _mm256_hadd_epi32(_mm256_add_epi32(q[4], q[5]), _mm256_add_epi32(q[6], q[7]));
            __m256i h = _mm256_hadd_epi32(h01, h23);
            sums[g4] = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
        }
        _mm_storeu_si128((__m128i *)y[i].bsums, _mm_packs_epi32(sums[0], sums[1]));
        _mm_storeu_si128((__m128i *)(y[i].bsums + 8), _mm_packs_epi32(sums[2], sums[3]));
        y[i].d = 1.0f / iscale;
    }
}
