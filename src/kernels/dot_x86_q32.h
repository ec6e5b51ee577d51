/*
 * dot_x86_q32.h — q8_0 and q4_0 weights (32-element blocks) against q8_0 activations:
 * multi-dots, GEMM tiles, and the packed q4_0 tiles
 * Part of dot_x86.h (included from it, after its shared primitives, once per tier); not a
 * header of its own: it relies on the tier's DPBUSD/DPWSSD and dot_x86.h's helpers.
 */

/* ---- q8_0 / q4_0 weights x q8_0 activations (block_q8_0x) ---------------------------------------------------- */

INLINE void mdot_q8_0_nr(int64_t n, const block_q8_0 *w, const uint8_t *x, size_t xs, const int NR,
                         float *out, size_t os) {
    __m256 acc[KN_NRX];
    FOR_R acc[r] = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK8_0; i++) {
        const __m256i wq = _mm256_loadu_si256((const __m256i *)w[i].qs);
        const __m256 dw = _mm256_set1_ps(f16(w[i].d));
        FOR_R {
            const block_q8_0x *xb = XBLK(block_q8_0x, r, i);
            __m256i s = dot_i8(_mm256_setzero_si256(), wq, _mm256_loadu_si256((const __m256i *)xb->qs));
            acc[r] = _mm256_fmadd_ps(_mm256_mul_ps(dw, _mm256_broadcast_ss(&xb->d)), _mm256_cvtepi32_ps(s), acc[r]);
        }
    }
    FOR_R out[r * os] = hsum_ps(acc[r]);
}

/* q4_0 nibbles -> 32 int8 in element order: low nibbles are elements 0..15, high 16..31; -8. */
INLINE __m256i unpack_q4_0(const uint8_t *qs) {
    const __m128i b = _mm_loadu_si128((const __m128i *)qs);
    const __m256i v = _mm256_set_m128i(_mm_srli_epi16(b, 4), b);
    return _mm256_sub_epi8(_mm256_and_si256(v, _mm256_set1_epi8(0x0F)), _mm256_set1_epi8(8));
}

/* q4_0: one exact integer sum per block, then one FMA by d_w*d_x into a single float (see
 * kn_mdot_q4_0_q8_0_scalar for why). The tiles below do the same with eight rows in the lanes. */
INLINE void mdot_q4_0_nr(int64_t n, const block_q4_0 *w, const uint8_t *x, size_t xs, const int NR,
                         float *out, size_t os) {
    float acc[KN_NRX];
    FOR_R acc[r] = 0.0f;
    for (int64_t i = 0; i < n / QK4_0; i++) {
        const __m256i wq = unpack_q4_0(w[i].qs);
        const __m256i aw = _mm256_sign_epi8(wq, wq);
        const float dw = f16(w[i].d);
        FOR_R {
            const block_q8_0x *xb = XBLK(block_q8_0x, r, i);
            const __m256i s = DPBUSD(_mm256_setzero_si256(), aw,
                                     _mm256_sign_epi8(_mm256_loadu_si256((const __m256i *)xb->qs), wq));
            acc[r] = __builtin_fmaf(dw * xb->d, (float)hsum_epi32(s), acc[r]);
        }
    }
    FOR_R out[r * os] = acc[r];
}

/* q4_0 nibbles as unsigned 0..15 in element order (the -8 is the panel's s). */
INLINE __m256i unpack_q4_0_u(const uint8_t *qs) {
    const __m128i b = _mm_loadu_si128((const __m128i *)qs);
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(b, 4), b), _mm256_set1_epi8(0x0F));
}

/* q8_0 weights: tile over a q8_0 panel of RN rows (kernels_impl.h). Per block and weight row: the
 * weight block is loaded once, its scale multiplied into the RN activation scales with one vmulps,
 * and for each activation row the 32 products go through dot_i8 into eight int32 lanes, exactly
 * as in mdot_q8_0_nr. */
INLINE void gemm_q8_0_t(int64_t n, const uint8_t *w, size_t ws, const uint8_t *x, size_t xs, const int RM,
                        const int RN, float *y, size_t ys) {
    (void)xs; /* a panel's layout follows from RN */
    __m256 acc[TILE_MMAX][TILE_NMAX];
    FOR_M FOR_N acc[m][r] = _mm256_setzero_ps();
    _Alignas(32) float dp[TILE_MMAX][8];
    for (int64_t i = 0; i < n / QK8_0; i++) {
        /* the next RM rows, as one stream (see gemm_q4_0_8) */
        _mm_prefetch((const char *)(w + (size_t)RM * ws) + (size_t)i * RM * sizeof(block_q8_0), _MM_HINT_T0);
        const uint8_t *xp = x + (size_t)i * KN_PANEL_BLOCK(RN);
        const __m256 dx = load_scales(xp, RN);
        FOR_M {
            const block_q8_0 *wb = WBLK(block_q8_0, m, i);
            const __m256i wq = _mm256_loadu_si256((const __m256i *)wb->qs);
            const __m256i aw = _mm256_sign_epi8(wq, wq);
            _mm256_store_ps(dp[m], _mm256_mul_ps(f16x8(&wb->d), dx));
            FOR_N {
                const __m256i xq = _mm256_loadu_si256((const __m256i *)(xp + 8 * RN + QK8_0 * r));
                const __m256i s = DPBUSD(_mm256_setzero_si256(), aw, _mm256_sign_epi8(xq, wq));
                acc[m][r] = _mm256_fmadd_ps(_mm256_broadcast_ss(&dp[m][r]), _mm256_cvtepi32_ps(s), acc[m][r]);
            }
        }
    }
    FOR_M FOR_N y[r * ys + m] = hsum_ps(acc[m][r]);
}

/* One block of eight q4_0 rows (W[k]: lane m = the unsigned nibbles of row m for elements 4k..4k+3,
 * W[k+4] those of 16+4k..16+4k+3; dw: the rows' scales) against the RN activation rows of panel
 * block xp: eight vpmaddubsw summed in int16 (|sum| <= 8 * 2 * 15 * 127 = 30480, no overflow),
 * one vpmaddwd to the row's 32-element sum, the panel's s = -8 * sum(x) turning sum(q x) into
 * sum((q - 8) x) exactly, then one FMA by d_w * d_x for all eight rows. */
INLINE void q4_0_8_step(const __m256i W[8], __m256 dw, const uint8_t *xp, const int RN, __m256 *acc) {
    FOR_N {
        const uint8_t *q = xp + 8 * RN + QK8_0 * r;
        __m256i a = _mm256_maddubs_epi16(W[0], _mm256_set1_epi32(ld_i32(q)));
        _Pragma("GCC unroll 8") for (int k = 1; k < 8; k++)
            a = _mm256_add_epi16(a, _mm256_maddubs_epi16(W[k], _mm256_set1_epi32(ld_i32(q + 4 * k))));
        const __m256i s = _mm256_add_epi32(_mm256_madd_epi16(a, _mm256_set1_epi16(1)),
                                           _mm256_set1_epi32(ld_i32(xp + 4 * (RN + r))));
        acc[r] = _mm256_fmadd_ps(_mm256_mul_ps(dw, _mm256_set1_ps(ld_f32(xp + 4 * r))), _mm256_cvtepi32_ps(s),
                                 acc[r]);
    }
}

/* q4_0 weights from the file's rows, eight at a time with row m in lane m (llama.cpp's q4_0_8x8
 * layout, made on the fly): for matrices that are not packed (CIRRUS_KN_PACK=0, heights that are
 * not a multiple of 8); packed ones take gemm_q4_0x8_t, the same arithmetic without the transpose.
 *
 * Per block: the eight rows' 16-byte nibble blocks are transposed as 8 x 4 dwords (rows m and
 * m+4 share a register, four 4x4 transposes in the 128-bit halves), so that W[k] holds, in lane m,
 * the four nibbles of row m for elements 4k..4k+3. For each activation row, x's 4-byte group k is
 * broadcast and one vpmaddubsw (unsigned nibbles x signed quants) gives two int16 pair sums per
 * lane; eight of them add up in int16 (|sum| <= 8 * 2 * 15 * 127 = 30480, no overflow), one
 * vpmaddwd makes the row's 32-element sum, and the panel's s = -8 * sum(x) turns sum(q x) into
 * sum((q - 8) x), exactly. Then one FMA by d_w * d_x for all eight rows: the arithmetic of
 * kn_mdot_q4_0_q8_0_scalar, lane by lane. */
INLINE void gemm_q4_0_8(int64_t n, const uint8_t *w, size_t ws, const uint8_t *x, const int RN, float *y,
                        size_t ys) {
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    /* The eight rows are eight short streams (one row of a 2048-wide matrix is 18 cache lines),
     * too short for the hardware prefetcher to ramp up on. So the tile pulls in the next eight
     * rows as it goes, as one sequential stream: 144 bytes (8 rows' blocks) per block step. */
    const uint8_t *pf = w + 8 * ws;
    __m256 acc[4];
    FOR_N acc[r] = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK4_0; i++) {
        const block_q4_0 *b0 = WBLK(block_q4_0, 0, i);
#define QB(m) ((const block_q4_0 *)((const uint8_t *)b0 + (size_t)(m) * ws))
#define ROWS(a, b) _mm256_loadu2_m128i((const __m128i *)QB(b)->qs, (const __m128i *)QB(a)->qs)
        _Pragma("GCC unroll 4") for (int p = 0; p < 3; p++) /* 192 bytes: 144 and a line's misalignment */
            _mm_prefetch((const char *)pf + (size_t)i * 8 * sizeof(block_q4_0) + 64 * p, _MM_HINT_T0);
        const __m256i r0 = ROWS(0, 4), r1 = ROWS(1, 5), r2 = ROWS(2, 6), r3 = ROWS(3, 7);
        const __m256i t0 = _mm256_unpacklo_epi32(r0, r1), t1 = _mm256_unpackhi_epi32(r0, r1);
        const __m256i t2 = _mm256_unpacklo_epi32(r2, r3), t3 = _mm256_unpackhi_epi32(r2, r3);
        __m256i W[8];
        W[0] = _mm256_unpacklo_epi64(t0, t2);
        W[1] = _mm256_unpackhi_epi64(t0, t2);
        W[2] = _mm256_unpacklo_epi64(t1, t3);
        W[3] = _mm256_unpackhi_epi64(t1, t3);
        _Pragma("GCC unroll 4") for (int k = 0; k < 4; k++) {
            W[k + 4] = _mm256_and_si256(_mm256_srli_epi16(W[k], 4), m4);
            W[k] = _mm256_and_si256(W[k], m4);
        }
        const __m128i d03 = _mm_set_epi16((short)QB(7)->d, (short)QB(6)->d, (short)QB(5)->d, (short)QB(4)->d,
                                          (short)QB(3)->d, (short)QB(2)->d, (short)QB(1)->d, (short)QB(0)->d);
#undef ROWS
#undef QB
        const __m256 dw = _mm256_cvtph_ps(d03);
        const uint8_t *xp = x + (size_t)i * KN_PANEL_BLOCK(RN);
        q4_0_8_step(W, dw, xp, RN, acc);
    }
    FOR_N _mm256_storeu_ps(y + r * ys, acc[r]);
}

/* Fewer than eight rows (the end of a matrix whose height is not a multiple of 8): row by row, the
 * same arithmetic as gemm_q4_0_8, with the sum of a block's eight lanes taken horizontally. */
INLINE void gemm_q4_0_1(int64_t n, const uint8_t *w, const uint8_t *x, const int RN, float *y, size_t ys) {
    float acc[TILE_NMAX];
    FOR_N acc[r] = 0.0f;
    for (int64_t i = 0; i < n / QK4_0; i++) {
        const block_q4_0 *wb = (const block_q4_0 *)w + i;
        const __m256i u = unpack_q4_0_u(wb->qs);
        const float dw = f16(wb->d);
        const uint8_t *xp = x + (size_t)i * KN_PANEL_BLOCK(RN);
        FOR_N {
            const __m256i xq = _mm256_loadu_si256((const __m256i *)(xp + 8 * RN + QK8_0 * r));
            const int s = hsum_epi32(DPBUSD(_mm256_setzero_si256(), u, xq)) + ld_i32(xp + 4 * (RN + r));
            acc[r] = __builtin_fmaf(dw * ld_f32(xp + 4 * r), (float)s, acc[r]);
        }
    }
    FOR_N y[r * ys] = acc[r];
}

INLINE void gemm_q4_0_t(int64_t n, const uint8_t *w, size_t ws, const uint8_t *x, size_t xs, const int RM,
                        const int RN, float *y, size_t ys) {
    (void)xs;
    if (RM == 8) gemm_q4_0_8(n, w, ws, x, RN, y, ys);
    else FOR_M gemm_q4_0_1(n, w + (size_t)m * ws, x, RN, y + m, ys);
}

/* q4_0 weights in kn_pack's layout (kernels_impl.h): gemm_q4_0_8 without the transpose. A group's
 * block is 144 contiguous bytes -- the eight f16 scales, then W[0..3] as the tile wants them -- so
 * the eight rows are one sequential stream, prefetched ahead as it goes (packed_step).
 *
 * Same arithmetic as q4_0_8_step, lane for lane (int16 sums are exact, so their order is free),
 * in the other loop order: one weight vector at a time against every activation row, each row
 * with its own int16 sum. gemm_q4_0_8's order keeps W[0..7], four accumulators, the scales, the
 * ones and temporaries live at once -- more than AVX2's 16 registers, and GCC spilled the
 * accumulators and W to the stack on every block. This order needs 14. */
INLINE void gemm_q4_0x8_t(int64_t n, const uint8_t *w, size_t ws, const uint8_t *x, size_t xs, const int RM,
                          const int RN, float *y, size_t ys) {
    (void)ws, (void)xs, (void)RM;
    const __m256i m4 = _mm256_set1_epi8(0x0F), ones = _mm256_set1_epi16(1);
    __m256 acc[TILE_NMAX];
    FOR_N acc[r] = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK4_0; i++) {
        const uint8_t *b = packed_step(w, i, KN_PACK_ROWS * sizeof(block_q4_0));
        const uint8_t *xp = x + (size_t)i * KN_PANEL_BLOCK(RN);
        const uint8_t *xq = xp + 8 * RN; /* row r's quants at xq + QK8_0 * r */
        __m256i a[TILE_NMAX];
        _Pragma("GCC unroll 4") for (int k = 0; k < 4; k++) {
            const __m256i v = _mm256_loadu_si256((const __m256i *)(b + 16 + 32 * k));
            const __m256i lo = _mm256_and_si256(v, m4), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
            FOR_N {
                const uint8_t *q = xq + QK8_0 * r;
                const __m256i p = _mm256_add_epi16(_mm256_maddubs_epi16(lo, _mm256_set1_epi32(ld_i32(q + 4 * k))),
                                                   _mm256_maddubs_epi16(hi, _mm256_set1_epi32(ld_i32(q + 16 + 4 * k))));
                a[r] = k ? _mm256_add_epi16(a[r], p) : p;
                REG_BARRIER(a[r]);
            }
        }
        const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)b));
        FOR_N {
            const __m256i s = _mm256_add_epi32(_mm256_madd_epi16(a[r], ones), _mm256_set1_epi32(ld_i32(xp + 4 * (RN + r))));
            acc[r] = _mm256_fmadd_ps(_mm256_mul_ps(dw, _mm256_set1_ps(ld_f32(xp + 4 * r))), _mm256_cvtepi32_ps(s),
                                     acc[r]);
        }
    }
    FOR_N _mm256_storeu_ps(y + r * ys, acc[r]);
}

/* Two packed q4_0 groups (16 rows) against one panel, for prefill and batched decode (bound by
 * the FP pipes, where a broadcast from memory takes one on Zen 3): each of x's broadcasts now
 * feeds both groups' vpmaddubsw, so per (group, row, block) the tile spends 5 broadcasts instead
 * of 10. The 2 x RN int16 sums, two weight vectors and one pair of broadcasts fill the 16
 * registers; the float accumulators live in memory (a load and a store per block, off the FP
 * pipes). Same arithmetic as gemm_q4_0x8_t, lane for lane. */
INLINE void gemm_q4_0x16_t(int64_t n, const uint8_t *w, size_t ws, const uint8_t *x, size_t xs, const int RN,
                           float *y, size_t ys) {
    (void)xs; /* a panel's layout follows from RN */
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    const uint8_t *w1 = w + KN_PACK_ROWS * ws; /* the second group */
    _Alignas(32) float acc[2][TILE_NMAX][8];
    memset(acc, 0, sizeof acc);
    for (int64_t i = 0; i < n / QK4_0; i++) {
        const uint8_t *b0 = packed_step(w, i, KN_PACK_ROWS * sizeof(block_q4_0));
        const uint8_t *b1 = packed_step(w1, i, KN_PACK_ROWS * sizeof(block_q4_0));
        const uint8_t *xp = x + (size_t)i * KN_PANEL_BLOCK(RN);
        const uint8_t *xq = xp + 8 * RN;
        __m256i a0[TILE_NMAX], a1[TILE_NMAX];
        _Pragma("GCC unroll 4") for (int k = 0; k < 4; k++) {
            const __m256i v0 = _mm256_loadu_si256((const __m256i *)(b0 + 16 + 32 * k));
            const __m256i v1 = _mm256_loadu_si256((const __m256i *)(b1 + 16 + 32 * k));
            const __m256i lo0 = _mm256_and_si256(v0, m4), hi0 = _mm256_and_si256(_mm256_srli_epi16(v0, 4), m4);
            const __m256i lo1 = _mm256_and_si256(v1, m4), hi1 = _mm256_and_si256(_mm256_srli_epi16(v1, 4), m4);
            FOR_N {
                const uint8_t *q = xq + QK8_0 * r;
                const __m256i bl = _mm256_set1_epi32(ld_i32(q + 4 * k)), bh = _mm256_set1_epi32(ld_i32(q + 16 + 4 * k));
                const __m256i p0 = _mm256_add_epi16(_mm256_maddubs_epi16(lo0, bl), _mm256_maddubs_epi16(hi0, bh));
                const __m256i p1 = _mm256_add_epi16(_mm256_maddubs_epi16(lo1, bl), _mm256_maddubs_epi16(hi1, bh));
                a0[r] = k ? _mm256_add_epi16(a0[r], p0) : p0;
                a1[r] = k ? _mm256_add_epi16(a1[r], p1) : p1;
                REG_BARRIER(a0[r]);
                REG_BARRIER(a1[r]);
            }
        }
        const __m256i ones = _mm256_set1_epi16(1);
        const __m256 dw0 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)b0));
        const __m256 dw1 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)b1));
        FOR_N {
            const __m256i sx = _mm256_set1_epi32(ld_i32(xp + 4 * (RN + r)));
            const __m256 dx = _mm256_set1_ps(ld_f32(xp + 4 * r));
            const __m256i s0 = _mm256_add_epi32(_mm256_madd_epi16(a0[r], ones), sx);
            const __m256i s1 = _mm256_add_epi32(_mm256_madd_epi16(a1[r], ones), sx);
            _mm256_store_ps(acc[0][r], _mm256_fmadd_ps(_mm256_mul_ps(dw0, dx), _mm256_cvtepi32_ps(s0),
                                                       _mm256_load_ps(acc[0][r])));
            _mm256_store_ps(acc[1][r], _mm256_fmadd_ps(_mm256_mul_ps(dw1, dx), _mm256_cvtepi32_ps(s1),
                                                       _mm256_load_ps(acc[1][r])));
        }
    }
    FOR_N {
        _mm256_storeu_ps(y + r * ys, _mm256_load_ps(acc[0][r]));
        _mm256_storeu_ps(y + r * ys + KN_PACK_ROWS, _mm256_load_ps(acc[1][r]));
    }
}
