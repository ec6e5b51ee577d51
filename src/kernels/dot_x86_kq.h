/*
 * dot_x86_kq.h — K-quant weights (q4_K, q5_K, q6_K) against q8_K activations: multi-dots,
 * the q6_K tile, and the q4_K eight-row tiles, plain and packed
 * Part of dot_x86.h (included from it, after its shared primitives, once per tier); not a
 * header of its own: it relies on the tier's DPBUSD/DPWSSD and dot_x86.h's helpers.
 */

/* ---- K-quants x q8_K ----------------------------------------------------------------------------
 * sumi (8 x int32) collects sum_j sc_j * (q . x over sub-block j) with the sub-block scale applied
 * in int16 (DPWSSD); its lanes and the mins term sum_j m_j * (bsums[2j] + bsums[2j+1]) are summed
 * exactly, then take the scalar kernels' float steps (dot_ref.c says which, and why). */

/* The four partial sums of sum_j m_j * (bsums[2j] + bsums[2j+1]): 8 mins (int16) . pairwise sums
 * of the 16 bsums. */
INLINE __m128i mins_pairs(__m128i mins16, const int16_t *bsums) {
    const __m128i b0 = _mm_loadu_si128((const __m128i *)bsums), b1 = _mm_loadu_si128((const __m128i *)(bsums + 8));
    return _mm_madd_epi16(mins16, _mm_hadd_epi16(b0, b1));
}

/* Lane r = the sum of v[r]'s eight (four) int32 lanes, r < NR; exact (integers). */
INLINE __m128i hsum4_epi32(const __m256i *v, const int NR) {
    const __m256i z = _mm256_setzero_si256();
    const __m256i ab = _mm256_hadd_epi32(v[0], NR > 1 ? v[1] : z), cd = _mm256_hadd_epi32(NR > 2 ? v[2] : z, NR > 3 ? v[3] : z);
    const __m256i h = _mm256_hadd_epi32(ab, cd);
    return _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
}
INLINE __m128i hsum4_epi128(const __m128i *v, const int NR) {
    const __m128i z = _mm_setzero_si128();
    return _mm_hadd_epi32(_mm_hadd_epi32(v[0], NR > 1 ? v[1] : z), _mm_hadd_epi32(NR > 2 ? v[2] : z, NR > 3 ? v[3] : z));
}

/* The K-quant float step of dot_ref.c, for up to four activation rows at once (lane r):
 *   acc += (d_x*d_w) * sumi - (d_x*dmin_w) * summ      each operation rounded, none fused. */
INLINE __m128 kquant_step(__m128 acc, const float *xd, float d, __m128i sumi, float dmin, __m128i summ) {
    const __m128 x = _mm_loadu_ps(xd);
    const __m128 a = _mm_mul_ps(_mm_mul_ps(x, _mm_set1_ps(d)), _mm_cvtepi32_ps(sumi));
    const __m128 b = _mm_mul_ps(_mm_mul_ps(x, _mm_set1_ps(dmin)), _mm_cvtepi32_ps(summ));
    return _mm_add_ps(acc, _mm_sub_ps(a, b));
}

/* q4_K / q5_K, chunk c (64 elements) of block i: the unsigned quants of its two sub-blocks (lo,
 * hi) against each activation row, each sub-block's pair sums scaled by its 6-bit scale in int16
 * (DPWSSD), into sumi[r]. */
INLINE void k4_chunk(__m256i *sumi, __m256i lo, __m256i hi, const uint8_t sm[16], int c, const uint8_t *x,
                     size_t xs, int64_t i, const int NR) {
    const __m256i s_lo = _mm256_set1_epi16(sm[2 * c]), s_hi = _mm256_set1_epi16(sm[2 * c + 1]);
    FOR_R {
        const int8_t *a = XBLK(block_q8_K, r, i)->qs + 64 * c;
        __m256i p_lo = _mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i *)a));
        __m256i p_hi = _mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i *)(a + 32)));
        sumi[r] = DPWSSD(DPWSSD(sumi[r], p_lo, s_lo), p_hi, s_hi);
    }
}

/* q4_K / q5_K, the end of block i: the mins term from the activations' bsums, then the float step
 * for every row (lane r of the result). */
INLINE __m128 k4_finish(__m128 acc, const __m256i *sumi, const uint8_t sm[16], float d, float dmin,
                        const uint8_t *x, size_t xs, int64_t i, const int NR) {
    const __m128i mins16 = _mm_cvtepu8_epi16(_mm_loadl_epi64((const __m128i *)(sm + 8)));
    __m128i mp[KN_NRX];
    float xd[KN_NRX] = {0};
    FOR_R {
        const block_q8_K *xb = XBLK(block_q8_K, r, i);
        mp[r] = mins_pairs(mins16, xb->bsums);
        xd[r] = xb->d;
    }
    return kquant_step(acc, xd, d, hsum4_epi32(sumi, NR), dmin, hsum4_epi128(mp, NR));
}

INLINE void mdot_q4_K_nr(int64_t n, const block_q4_K *w, const uint8_t *x, size_t xs, const int NR,
                         float *out, size_t os) {
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    __m128 acc = _mm_setzero_ps(); /* lane r: activation row r */
    for (int64_t i = 0; i < n / QK_K; i++) {
        uint8_t sm[16];
        kn_unpack_scales_k4(w[i].scales, sm);
        const float d = f16(w[i].d), dmin = f16(w[i].dmin);
        __m256i sumi[KN_NRX];
        FOR_R sumi[r] = _mm256_setzero_si256();
        for (int c = 0; c < 4; c++) {
            const __m256i bits = _mm256_loadu_si256((const __m256i *)(w[i].qs + 32 * c));
            const __m256i lo = _mm256_and_si256(bits, m4), hi = _mm256_and_si256(_mm256_srli_epi16(bits, 4), m4);
            k4_chunk(sumi, lo, hi, sm, c, x, xs, i, NR);
        }
        acc = k4_finish(acc, sumi, sm, d, dmin, x, xs, i, NR);
    }
    FOR_R out[r * os] = acc[r];
}

INLINE void mdot_q5_K_nr(int64_t n, const block_q5_K *w, const uint8_t *x, size_t xs, const int NR,
                         float *out, size_t os) {
    const __m256i m4 = _mm256_set1_epi8(0x0F), one = _mm256_set1_epi8(1);
    __m128 acc = _mm_setzero_ps(); /* lane r: activation row r */
    for (int64_t i = 0; i < n / QK_K; i++) {
        uint8_t sm[16];
        kn_unpack_scales_k4(w[i].scales, sm);
        const float d = f16(w[i].d), dmin = f16(w[i].dmin);
        __m256i hb = _mm256_loadu_si256((const __m256i *)w[i].qh); /* bit 2c / 2c+1: chunk c */
        __m256i sumi[KN_NRX];
        FOR_R sumi[r] = _mm256_setzero_si256();
        for (int c = 0; c < 4; c++, hb = _mm256_srli_epi16(hb, 2)) {
            const __m256i bits = _mm256_loadu_si256((const __m256i *)(w[i].qs + 32 * c));
            /* per byte, (hb >> k) & 1 is exact despite the 16-bit shift: the mask drops what
             * crossed in from the neighbouring byte */
            const __m256i lo = _mm256_or_si256(_mm256_and_si256(bits, m4),
                                               _mm256_slli_epi16(_mm256_and_si256(hb, one), 4));
            const __m256i hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(bits, 4), m4),
                                               _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 1), one), 4));
            k4_chunk(sumi, lo, hi, sm, c, x, xs, i, NR);
        }
        acc = k4_finish(acc, sumi, sm, d, dmin, x, xs, i, NR);
    }
    FOR_R out[r * os] = acc[r];
}

/* q6_K: q in 0..63 is unsigned, so sum (q-32)*x = sum q*x - 32 * sum x, and sum x per group of 16
 * is bsums. Each 32-element vector spans two scale groups: int16 lanes 0..7 and 8..15. */
/* q6_K against NR <= 8 activation rows: the weight block is unpacked once and used NR times. The
 * multi-dot calls it with NR <= KN_NRX; the 1 x 8 GEMM tile (gemm_q6_K_t) with up to 8, which
 * halves the unpacking per token in batched decode and prefill. Lane r of acc[r / 4] is activation
 * row r; every row gets the same arithmetic whatever NR is. */
INLINE void mdot_q6_K_nr(int64_t n, const block_q6_K *w, const uint8_t *x, size_t xs, const int NR,
                         float *out, size_t os) {
    const __m256i m4 = _mm256_set1_epi8(0x0F), m2 = _mm256_set1_epi8(0x03);
    __m128 acc[2] = {_mm_setzero_ps(), _mm_setzero_ps()};
    for (int64_t i = 0; i < n / QK_K; i++) {
        /* a row's blocks are one stream: pull it in PACKED_PF_DIST ahead, as the packed tiles do */
        _Pragma("GCC unroll 4") for (int p = 0; p < 4; p++)
            _mm_prefetch((const char *)(w + i) + PACKED_PF_DIST + 64 * p, _MM_HINT_T0);
        const float d = f16(w[i].d);
        /* scale pair (sc_g, sc_g+1) for g = 8h + 2k: dword g/2 of the int16 scales broadcast, then
         * its low int16 to the low half and its high one to the high half: two shuffles instead of
         * two scalar loads, two broadcasts and an insert. Made for all eight steps up front and
         * read back as memory operands, so the step loop holds only the NR sums, the quants and
         * two masks in registers (with sc16 and the step's inputs kept live, GCC spilled the sums
         * of the 1 x 8 tile on every step). */
        const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)w[i].scales));
        const __m256i halves = _mm256_setr_epi8(0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1,
                                                2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3);
        __m256i sp[8];
        _Pragma("GCC unroll 8") for (int g = 0; g < 8; g++)
            sp[g] = _mm256_shuffle_epi8(_mm256_permutevar8x32_epi32(sc16, _mm256_set1_epi32(g)), halves);
        __m256i sumi[TILE_NMAX];
        _Pragma("GCC unroll 8") for (int r = 0; r < NR; r++) sumi[r] = _mm256_setzero_si256();
        _Pragma("GCC unroll 2") for (int h = 0; h < 2; h++) {
            /* elements 128h + 32k .. +31: ql half kk = k & 1, low nibbles for k < 2, high for k >= 2 */
            _Pragma("GCC unroll 4") for (int k = 0; k < 4; k++) {
                const __m256i ql = _mm256_loadu_si256((const __m256i *)(w[i].ql + 64 * h + 32 * (k & 1)));
                const __m256i qh = _mm256_loadu_si256((const __m256i *)(w[i].qh + 32 * h));
                const __m256i lowbits = k < 2 ? _mm256_and_si256(ql, m4) : _mm256_and_si256(_mm256_srli_epi16(ql, 4), m4);
                const __m256i highbits = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * k), m2);
                const __m256i q = _mm256_or_si256(lowbits, _mm256_slli_epi16(highbits, 4));
                _Pragma("GCC unroll 8") for (int r = 0; r < NR; r++) {
                    const int8_t *a = XBLK(block_q8_K, r, i)->qs + 128 * h + 32 * k;
                    sumi[r] = DPWSSD(sumi[r], _mm256_maddubs_epi16(q, _mm256_loadu_si256((const __m256i *)a)), sp[4 * h + k]);
                    REG_BARRIER(sumi[r]);
                }
            }
        }
        float xd[TILE_NMAX] = {0};
        _Pragma("GCC unroll 8") for (int r = 0; r < NR; r++) {
            const block_q8_K *xb = XBLK(block_q8_K, r, i);
            const __m256i corr = _mm256_madd_epi16(sc16, _mm256_loadu_si256((const __m256i *)xb->bsums));
            sumi[r] = _mm256_sub_epi32(sumi[r], _mm256_slli_epi32(corr, 5));
            xd[r] = xb->d;
        }
        acc[0] = kquant_step(acc[0], xd, d, hsum4_epi32(sumi, NR < 4 ? NR : 4), 0.0f, _mm_setzero_si128());
        if (NR > 4) acc[1] = kquant_step(acc[1], xd + 4, d, hsum4_epi32(sumi + 4, NR - 4), 0.0f, _mm_setzero_si128());
    }
    _Pragma("GCC unroll 8") for (int r = 0; r < NR; r++) out[r * os] = acc[r / 4][r % 4];
}

/* q6_K weights: one weight row against up to eight activation rows (see mdot_q6_K_nr). */
INLINE void gemm_q6_K_t(int64_t n, const uint8_t *w, size_t ws, const uint8_t *x, size_t xs, const int RM,
                        const int RN, float *y, size_t ys) {
    FOR_M mdot_q6_K_nr(n, (const block_q6_K *)(w + (size_t)m * ws), x, xs, RN, y + m, ys);
}

/* ---- q4_K GEMM tile: eight weight rows in the lanes ---------------------------------------------
 * As gemm_q4_0_8, for q4_K x q8_K: per 256-block the eight rows' 128-byte nibble arrays are
 * transposed as four 8 x 8 dword blocks, so that T[k] holds, in lane m, row m's dword 8c+k: four
 * elements of sub-block 2c in its low nibbles and four of sub-block 2c+1 in its high ones. For
 * each activation row, x's matching 4-byte groups are broadcast; eight vpmaddubsw add up in int16
 * (|sum| <= 8 * 2 * 15 * 127 = 30480) to a sub-block's dot for all eight rows, one vpmaddwd with
 * the rows' 6-bit scales (both int16 halves of lane m hold row m's) makes sc_j * dot_j in int32,
 * and the mins term is one vpmaddwd per two sub-blocks. The float step is dot_ref.c's, lane by
 * lane: each (row, activation row) pair gets exactly the scalar kernel's bits. */

/* 8 x 8 transpose of 32-bit elements: r[i] lane j -> r[j] lane i. */
INLINE void transpose8_epi32(__m256i r[8]) {
    const __m256i t0 = _mm256_unpacklo_epi32(r[0], r[1]), t1 = _mm256_unpackhi_epi32(r[0], r[1]);
    const __m256i t2 = _mm256_unpacklo_epi32(r[2], r[3]), t3 = _mm256_unpackhi_epi32(r[2], r[3]);
    const __m256i t4 = _mm256_unpacklo_epi32(r[4], r[5]), t5 = _mm256_unpackhi_epi32(r[4], r[5]);
    const __m256i t6 = _mm256_unpacklo_epi32(r[6], r[7]), t7 = _mm256_unpackhi_epi32(r[6], r[7]);
    const __m256i u0 = _mm256_unpacklo_epi64(t0, t2), u1 = _mm256_unpackhi_epi64(t0, t2);
    const __m256i u2 = _mm256_unpacklo_epi64(t1, t3), u3 = _mm256_unpackhi_epi64(t1, t3);
    const __m256i u4 = _mm256_unpacklo_epi64(t4, t6), u5 = _mm256_unpackhi_epi64(t4, t6);
    const __m256i u6 = _mm256_unpacklo_epi64(t5, t7), u7 = _mm256_unpackhi_epi64(t5, t7);
    r[0] = _mm256_permute2x128_si256(u0, u4, 0x20);
    r[1] = _mm256_permute2x128_si256(u1, u5, 0x20);
    r[2] = _mm256_permute2x128_si256(u2, u6, 0x20);
    r[3] = _mm256_permute2x128_si256(u3, u7, 0x20);
    r[4] = _mm256_permute2x128_si256(u0, u4, 0x31);
    r[5] = _mm256_permute2x128_si256(u1, u5, 0x31);
    r[6] = _mm256_permute2x128_si256(u2, u6, 0x31);
    r[7] = _mm256_permute2x128_si256(u3, u7, 0x31);
}

/* The eight rows' scales of one 256-block, from h4 (lane m = row m's first 16 bytes as four dwords:
 * d | dmin << 16, scales[0..3], scales[4..7], scales[8..11]): kn_unpack_scales_k4's word operations
 * on all eight rows at once. scv[j]: sc_j in both int16 halves of each lane; mnv[p]: (m_2p,
 * m_2p+1) as an int16 pair; dv, dmv: d and dmin as floats. */
typedef struct {
    __m256i scv[8], mnv[4];
    __m256 dv, dmv;
} q4_K_8_scales;

INLINE void q4_K_8_unpack_scales(const __m256i h4[4], q4_K_8_scales *o) {
    const __m256i m4 = _mm256_set1_epi8(0x0F), m6 = _mm256_set1_epi8(0x3F), m2 = _mm256_set1_epi8(0x03);
    const __m256i sc_lo = _mm256_and_si256(h4[1], m6), mn_lo = _mm256_and_si256(h4[2], m6);
    const __m256i sc_hi = _mm256_or_si256(_mm256_and_si256(h4[3], m4),
                                          _mm256_slli_epi32(_mm256_and_si256(_mm256_srli_epi32(h4[1], 6), m2), 4));
    const __m256i mn_hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi32(h4[3], 4), m4),
                                          _mm256_slli_epi32(_mm256_and_si256(_mm256_srli_epi32(h4[2], 6), m2), 4));
    const __m256i lanes = _mm256_setr_epi32(0, 0x00040004, 0x00080008, 0x000C000C, 0, 0x00040004, 0x00080008, 0x000C000C);
    _Pragma("GCC unroll 4") for (int j = 0; j < 4; j++) {
        const __m256i idx = _mm256_add_epi8(_mm256_set1_epi32((int)(0x80008000u | (uint32_t)j | (uint32_t)j << 16)), lanes);
        o->scv[j] = _mm256_shuffle_epi8(sc_lo, idx);
        o->scv[j + 4] = _mm256_shuffle_epi8(sc_hi, idx);
    }
    _Pragma("GCC unroll 2") for (int p = 0; p < 2; p++) {
        const __m256i idx = _mm256_add_epi8(
            _mm256_set1_epi32((int)(0x80008000u | (uint32_t)(2 * p) | (uint32_t)(2 * p + 1) << 16)), lanes);
        o->mnv[p] = _mm256_shuffle_epi8(mn_lo, idx);
        o->mnv[p + 2] = _mm256_shuffle_epi8(mn_hi, idx);
    }
    const __m256i dlo = _mm256_and_si256(h4[0], _mm256_set1_epi32(0xFFFF)), dhi = _mm256_srli_epi32(h4[0], 16);
    o->dv = _mm256_cvtph_ps(_mm_packus_epi32(_mm256_castsi256_si128(dlo), _mm256_extracti128_si256(dlo, 1)));
    o->dmv = _mm256_cvtph_ps(_mm_packus_epi32(_mm256_castsi256_si128(dhi), _mm256_extracti128_si256(dhi, 1)));
}

/* Chunk c (sub-blocks 2c, 2c+1) of block i: T[k] lane m = row m's qs dword 8c+k. */
INLINE void q4_K_8_chunk(const __m256i T[8], int c, const q4_K_8_scales *sc, const uint8_t *x, size_t xs, int64_t i,
                         const int RN, __m256i *sumi) {
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    _Pragma("GCC unroll 2") for (int h = 0; h < 2; h++) {
        const int j = 2 * c + h;
        FOR_N {
            const int8_t *a = XBLK(block_q8_K, r, i)->qs + 32 * j;
            __m256i a16 = _mm256_setzero_si256();
            _Pragma("GCC unroll 8") for (int k = 0; k < 8; k++) {
                const __m256i q = h ? _mm256_and_si256(_mm256_srli_epi16(T[k], 4), m4) : _mm256_and_si256(T[k], m4);
                a16 = _mm256_add_epi16(a16, _mm256_maddubs_epi16(q, _mm256_set1_epi32(ld_i32((const uint8_t *)a + 4 * k))));
            }
            sumi[r] = _mm256_add_epi32(sumi[r], _mm256_madd_epi16(a16, sc->scv[j]));
        }
    }
}

/* The float step of block i for the RN activation rows: dot_ref.c's, lane by lane. */
INLINE void q4_K_8_finish(const q4_K_8_scales *sc, const __m256i *sumi, const uint8_t *x, size_t xs, int64_t i,
                          const int RN, __m256 *acc) {
    FOR_N {
        const block_q8_K *xb = XBLK(block_q8_K, r, i);
        const __m128i bs = _mm_hadd_epi16(_mm_loadu_si128((const __m128i *)xb->bsums),
                                          _mm_loadu_si128((const __m128i *)(xb->bsums + 8)));
        _Alignas(16) int32_t bsp[4]; /* (S_2p, S_2p+1) int16 pairs */
        _mm_store_si128((__m128i *)bsp, bs);
        __m256i summ = _mm256_setzero_si256();
        _Pragma("GCC unroll 4") for (int p = 0; p < 4; p++)
            summ = _mm256_add_epi32(summ, _mm256_madd_epi16(sc->mnv[p], _mm256_set1_epi32(bsp[p])));
        const __m256 xd = _mm256_set1_ps(xb->d);
        const __m256 a = _mm256_mul_ps(_mm256_mul_ps(xd, sc->dv), _mm256_cvtepi32_ps(sumi[r]));
        const __m256 b = _mm256_mul_ps(_mm256_mul_ps(xd, sc->dmv), _mm256_cvtepi32_ps(summ));
        acc[r] = _mm256_add_ps(acc[r], _mm256_sub_ps(a, b));
    }
}

/* The eight rows' head (d, dmin, scales) as h4: lane m = row m's dword q in h4[q], from the file's
 * rows by four 16-byte loads transposed (rows m and m+4 share a register). kn_pack stores h4. */
INLINE void q4_K_8_head(const uint8_t *w, size_t ws, int64_t i, __m256i h4[4]) {
#define KB(m) ((const block_q4_K *)(w + (size_t)(m) * ws) + i)
    const __m256i r0 = _mm256_loadu2_m128i((const __m128i *)KB(4), (const __m128i *)KB(0));
    const __m256i r1 = _mm256_loadu2_m128i((const __m128i *)KB(5), (const __m128i *)KB(1));
    const __m256i r2 = _mm256_loadu2_m128i((const __m128i *)KB(6), (const __m128i *)KB(2));
    const __m256i r3 = _mm256_loadu2_m128i((const __m128i *)KB(7), (const __m128i *)KB(3));
#undef KB
    const __m256i t0 = _mm256_unpacklo_epi32(r0, r1), t1 = _mm256_unpackhi_epi32(r0, r1);
    const __m256i t2 = _mm256_unpacklo_epi32(r2, r3), t3 = _mm256_unpackhi_epi32(r2, r3);
    h4[0] = _mm256_unpacklo_epi64(t0, t2); /* d | dmin << 16 */
    h4[1] = _mm256_unpackhi_epi64(t0, t2); /* scales[0..3] */
    h4[2] = _mm256_unpacklo_epi64(t1, t3); /* scales[4..7] */
    h4[3] = _mm256_unpackhi_epi64(t1, t3); /* scales[8..11] */
}

/* T[k] of chunk c (lane m = row m's qs dword 8c + k), from the file's rows by eight loads and an
 * 8 x 8 transpose. kn_pack stores T. */
INLINE void q4_K_8_quants(const uint8_t *w, size_t ws, int64_t i, int c, __m256i T[8]) {
    _Pragma("GCC unroll 8") for (int m = 0; m < 8; m++)
        T[m] = _mm256_loadu_si256((const __m256i *)(((const block_q4_K *)(w + (size_t)m * ws) + i)->qs + 32 * c));
    transpose8_epi32(T);
}

/* Eight q4_K rows from the file's rows against RN q8_K rows (matrices that are not packed); the
 * next eight rows stream in as the tile goes (see gemm_q4_0_8). Packed ones take gemm_q4_Kx8_t,
 * the same arithmetic on the registers kn_pack stored. */
INLINE void gemm_q4_K_8(int64_t n, const uint8_t *w, size_t ws, const uint8_t *x, size_t xs, const int RN, float *y,
                        size_t ys) {
    __m256 acc[TILE_NMAX];
    FOR_N acc[r] = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; i++) {
        const char *pf = (const char *)(w + 8 * ws) + (size_t)i * 8 * sizeof(block_q4_K);
        _Pragma("GCC unroll 18") for (int p = 0; p < 18; p++) _mm_prefetch(pf + 64 * p, _MM_HINT_T0);
        __m256i h4[4];
        q4_K_8_head(w, ws, i, h4);
        q4_K_8_scales sc;
        q4_K_8_unpack_scales(h4, &sc);
        __m256i sumi[TILE_NMAX];
        FOR_N sumi[r] = _mm256_setzero_si256();
        for (int c = 0; c < 4; c++) {
            __m256i T[8];
            q4_K_8_quants(w, ws, i, c, T);
            q4_K_8_chunk(T, c, &sc, x, xs, i, RN, sumi);
        }
        q4_K_8_finish(&sc, sumi, x, xs, i, RN, acc);
    }
    FOR_N _mm256_storeu_ps(y + r * ys, acc[r]);
}

/* Packed q4_K (kn_pack's layout): gemm_q4_K_8's arithmetic in the loop order of gemm_q4_0x8_t --
 * per sub-block, one weight vector at a time (loaded and its nibbles taken once) against every
 * activation row, each row with its own int16 sum; int sums are exact, so the order changes no
 * bit. gemm_q4_K_8 keeps T[0..7], the scales and the sums live together and GCC spilled them on
 * every block (282 stack accesses in the AVX2 tile). */
INLINE void gemm_q4_Kx8_t(int64_t n, const uint8_t *w, size_t ws, const uint8_t *x, size_t xs, const int RM,
                          const int RN, float *y, size_t ys) {
    (void)RM, (void)ws;
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    __m256 acc[TILE_NMAX];
    FOR_N acc[r] = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; i++) {
        const uint8_t *b = packed_step(w, i, KN_PACK_ROWS * sizeof(block_q4_K));
        __m256i h4[4];
        _Pragma("GCC unroll 4") for (int k = 0; k < 4; k++) h4[k] = _mm256_loadu_si256((const __m256i *)(b + 32 * k));
        q4_K_8_scales sc;
        q4_K_8_unpack_scales(h4, &sc);
        __m256i sumi[TILE_NMAX];
        FOR_N sumi[r] = _mm256_setzero_si256();
        /* sub-block j = 2c + h: chunk c, low (h = 0) or high nibbles. h is unrolled so that the
         * choice is made at compile time (as a runtime j & 1, GCC put a conditional branch before
         * every vpmaddubsw group). */
        for (int c = 0; c < 4; c++) _Pragma("GCC unroll 2") for (int h = 0; h < 2; h++) {
            const int j = 2 * c + h;
            const uint8_t *tq = b + 128 + 256 * c;
            __m256i a16[TILE_NMAX];
            _Pragma("GCC unroll 8") for (int k = 0; k < 8; k++) {
                const __m256i v = _mm256_loadu_si256((const __m256i *)(tq + 32 * k));
                const __m256i q = h ? _mm256_and_si256(_mm256_srli_epi16(v, 4), m4) : _mm256_and_si256(v, m4);
                FOR_N {
                    const uint8_t *a = (const uint8_t *)XBLK(block_q8_K, r, i)->qs + 32 * j + 4 * k;
                    const __m256i p = _mm256_maddubs_epi16(q, _mm256_set1_epi32(ld_i32(a)));
                    a16[r] = k ? _mm256_add_epi16(a16[r], p) : p;
                    REG_BARRIER(a16[r]);
                }
            }
            FOR_N sumi[r] = _mm256_add_epi32(sumi[r], _mm256_madd_epi16(a16[r], sc.scv[j]));
        }
        q4_K_8_finish(&sc, sumi, x, xs, i, RN, acc);
    }
    FOR_N _mm256_storeu_ps(y + r * ys, acc[r]);
}

/* Two packed q4_K groups are two calls: sharing x's broadcasts between them, as gemm_q4_0x16_t
 * does, measured no faster for q4_K (its int32 sums no longer fit the registers; Q4_K_M batched
 * 4 / 16 sequences 64.9 / 76.8 -> 62.1 / 74.7 tok/s, three alternating rounds), so the matmul
 * gives q4_K one group per call (gemm_pk_mr = 8) and this only completes the wrapper. */
INLINE void gemm_q4_Kx16_t(int64_t n, const uint8_t *w, size_t ws, const uint8_t *x, size_t xs, const int RN,
                           float *y, size_t ys) {
    gemm_q4_Kx8_t(n, w, ws, x, xs, KN_PACK_ROWS, RN, y, ys);
    gemm_q4_Kx8_t(n, w + KN_PACK_ROWS * ws, ws, x, xs, KN_PACK_ROWS, RN, y + KN_PACK_ROWS, ys);
}

INLINE void gemm_q4_K_t(int64_t n, const uint8_t *w, size_t ws, const uint8_t *x, size_t xs, const int RM,
                        const int RN, float *y, size_t ys) {
    if (RM == 8) gemm_q4_K_8(n, w, ws, x, xs, RN, y, ys);
    else FOR_M mdot_q4_K_nr(n, (const block_q4_K *)(w + (size_t)m * ws), x, xs, RN, y + m, ys);
}
