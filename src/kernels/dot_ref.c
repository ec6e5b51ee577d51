/*
 * Scalar dot products.
 *
 * kn_dot_ref: the oracle. Dequantizes the weight row block by block with the reference
 * dequantizers and accumulates w*x in double, so its only error is the final rounding to float.
 *
 * kn_mdot_*_scalar: the portable fast-path kernels on quantized activations (see kernels_impl.h).
 * They do the same integer arithmetic as the SIMD kernels (exact per block) and combine blocks in
 * float, which makes them the tight oracle for the SIMD versions and the fallback on CPUs without
 * AVX2.
 */
#include <math.h>
#include "kernels_impl.h"

float kn_dot_ref(kn_type t, const void *w_row, const float *x, int64_t n) {
    const kn_traits *tr = kn_type_traits((uint32_t)t);
    assert(tr && tr->supported && n % tr->blck_size == 0);
    /* Dequantize a chunk at a time: 256 is a multiple of every supported block size. */
    enum { CHUNK = 256 };
    float buf[CHUNK];
    const uint8_t *w = w_row;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i += CHUNK) {
        int64_t len = n - i < CHUNK ? n - i : CHUNK; /* a multiple of the block size too */
        kn_dequantize_row_ref(t, w + (size_t)(i / tr->blck_size) * tr->type_size, buf, len);
        for (int64_t j = 0; j < len; j++) sum += (double)buf[j] * (double)x[i + j];
    }
    return (float)sum;
}

kn_type kn_act_type(kn_type t) {
    switch (t) {
    case KN_Q4_0:
    case KN_Q8_0: return KN_Q8_0;
    case KN_Q4_K:
    case KN_Q5_K:
    case KN_Q6_K: return KN_Q8_K;
    default: return KN_F32;
    }
}

size_t kn_act_row_size(kn_type act, int64_t n) {
    return act == KN_Q8_0 ? (n % QK8_0 ? 0 : (size_t)(n / QK8_0) * sizeof(block_q8_0x)) : kn_row_size(act, n);
}

void kn_quantize_act_ref(kn_type act, const float *x, void *y, int64_t n) {
    if (act == KN_Q8_0) kn_quantize_row_q8_0x_ref(x, y, n);
    else kn_quantize_row_ref(act, x, y, n);
}

void kn_dequantize_act_ref(kn_type act, const void *y, float *x, int64_t n) {
    if (act != KN_Q8_0) {
        kn_dequantize_row_ref(act, y, x, n);
        return;
    }
    const block_q8_0x *b = y;
    for (int64_t i = 0; i < n / QK8_0; i++)
        for (int j = 0; j < QK8_0; j++) x[i * QK8_0 + j] = b[i].qs[j] * b[i].d;
}

/* ---- 32-element blocks against q8_0 ---------------------------------------------------------- */

/*
 * q8_0: the float arithmetic mirrors llama.cpp's AVX2 q8_0 dot (and ours): eight lanes, lane l
 * holding the integer sum of elements 4l..4l+3 of each block, accumulated across blocks with a
 * fused multiply-add by d_w*d_x, then reduced ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)). So the
 * portable tier gives the SIMD tiers' numbers bit for bit, and both give llama.cpp's.
 */
static float lanes_reduce(const float a[8]) {
    return ((a[0] + a[4]) + (a[2] + a[6])) + ((a[1] + a[5]) + (a[3] + a[7]));
}

void kn_mdot_q8_0_q8_0_scalar(int64_t n, const void *w, const void *x, size_t xs, int nrx,
                              float *out, size_t os) {
    const block_q8_0 *wb = w;
    for (int r = 0; r < nrx; r++) {
        const block_q8_0x *xb = (const block_q8_0x *)((const uint8_t *)x + r * xs);
        float acc[8] = {0};
        for (int64_t i = 0; i < n / QK8_0; i++) {
            const float d = kn_f16_to_f32(wb[i].d) * xb[i].d;
            for (int l = 0; l < 8; l++) {
                int sumi = 0;
                for (int j = 4 * l; j < 4 * l + 4; j++) sumi += wb[i].qs[j] * xb[i].qs[j];
                acc[l] = fmaf(d, (float)sumi, acc[l]);
            }
        }
        out[r * os] = lanes_reduce(acc);
    }
}

/* q4_0 follows llama.cpp's x86 q4_0 GEMM/GEMV (the "repacked" q4_0_8x8 kernels its CPU backend
 * uses for q4_0 weights on AVX2): each block's 32 products summed exactly in integers, then one
 * FMA by d_w*d_x into a single float accumulator, block after block. The parity test's reference
 * logits were made that way (they agree to the last digit printed); the eight-lane structure of
 * q8_0 above is 0.1 away on tiny-spm-q4_0. It is also the cheaper structure: the SIMD tiles keep
 * eight weight rows in the eight lanes and pay one FMA per block for all of them. */
void kn_mdot_q4_0_q8_0_scalar(int64_t n, const void *w, const void *x, size_t xs, int nrx,
                              float *out, size_t os) {
    const block_q4_0 *wb = w;
    for (int r = 0; r < nrx; r++) {
        const block_q8_0x *xb = (const block_q8_0x *)((const uint8_t *)x + r * xs);
        float acc = 0.0f;
        for (int64_t i = 0; i < n / QK4_0; i++) {
            int sumi = 0;
            for (int j = 0; j < QK4_0 / 2; j++) {
                /* low nibbles hold elements 0..15, high nibbles 16..31 */
                sumi += ((wb[i].qs[j] & 0xF) - 8) * xb[i].qs[j];
                sumi += ((wb[i].qs[j] >> 4) - 8) * xb[i].qs[j + QK4_0 / 2];
            }
            acc = fmaf(kn_f16_to_f32(wb[i].d) * xb[i].d, (float)sumi, acc);
        }
        out[r * os] = acc;
    }
}

/* kn_pack's q4_0 layout (kernels_impl.h) against a q8_0 panel of nx rows: for each of the group's
 * eight rows, the arithmetic of kn_mdot_q4_0_q8_0_scalar above (the panel's s = -8 * sum(x)
 * supplies the offset, so sum(q x) + s = sum((q - 8) x) exactly). */
void kn_gemm_q4_0x8_scalar(int64_t n, const void *w, size_t ws, int nw, const void *x, size_t xs, int nx,
                           float *y, size_t ys) {
    (void)ws, (void)xs, (void)nw;
    assert(nw == KN_PACK_ROWS && nx >= 1 && nx <= KN_PANEL_MAX);
    const uint8_t *wp = w, *xp = x;
    for (int m = 0; m < KN_PACK_ROWS; m++) {
        for (int r = 0; r < nx; r++) {
            float acc = 0.0f;
            for (int64_t i = 0; i < n / QK4_0; i++) {
                const uint8_t *b = wp + (size_t)i * KN_PACK_ROWS * sizeof(block_q4_0);
                const uint8_t *pb = xp + (size_t)i * KN_PANEL_BLOCK(nx);
                const int8_t *xq = (const int8_t *)(pb + 8 * (size_t)nx) + QK8_0 * r;
                float dx;
                int32_t s;
                uint16_t dw;
                memcpy(&dx, pb + 4 * r, sizeof dx);
                memcpy(&s, pb + 4 * ((size_t)nx + r), sizeof s);
                memcpy(&dw, b + 2 * m, sizeof dw);
                int sumi = s;
                for (int k = 0; k < 4; k++)
                    for (int j = 0; j < 4; j++) {
                        const uint8_t q = b[16 + 32 * k + 4 * m + j];
                        sumi += (q & 0xF) * xq[4 * k + j] + (q >> 4) * xq[4 * k + j + QK4_0 / 2];
                    }
                acc = fmaf(kn_f16_to_f32(dw) * dx, (float)sumi, acc);
            }
            y[r * ys + m] = acc;
        }
    }
}

/* ---- K-quants against q8_K --------------------------------------------------------------------
 * Per 256-block, exactly in integers: sumi = sum_j sc_j * (sum of q*x over sub-block j) and, for
 * q4_K / q5_K, summ = sum_j m_j * S_j with S_j = sum of x quants over sub-block j = bsums[2j] +
 * bsums[2j+1]. Then one float step per block, unfused:
 *     sum += (d_x*d_w) * sumi - (d_x*dmin_w) * summ        (q6_K: no mins)
 * The reference logits were made this way (tiny256-spm-q4_k_m: max |diff| 0.0000; 0.17 with the
 * mins folded into eight float lanes, 0.06 with separate scale and min accumulators): sumi and
 * summ are large and cancel, so where the rounding happens shows. The SIMD kernels do the same
 * float steps after summing their integer lanes. */

/* sum over sub-block j (32 elements) of q4_K nibbles times x quants */
static int q4k_sub(const block_q4_K *b, const int8_t *a, int j) {
    const uint8_t *q = b->qs + 32 * (j / 2);
    int s = 0;
    for (int l = 0; l < 32; l++) s += (j & 1 ? q[l] >> 4 : q[l] & 0xF) * a[32 * j + l];
    return s;
}

void kn_mdot_q4_K_q8_K_scalar(int64_t n, const void *w, const void *x, size_t xs, int nrx,
                              float *out, size_t os) {
    const block_q4_K *wb = w;
    for (int r = 0; r < nrx; r++) {
        const block_q8_K *xb = (const block_q8_K *)((const uint8_t *)x + r * xs);
        float sum = 0.0f;
        for (int64_t i = 0; i < n / QK_K; i++) {
            int32_t sumi = 0, summ = 0;
            for (int j = 0; j < QK_K / 32; j++) {
                uint8_t sc, m;
                kn_scale_min_k4(j, wb[i].scales, &sc, &m);
                sumi += sc * q4k_sub(&wb[i], xb[i].qs, j);
                summ += m * (xb[i].bsums[2 * j] + xb[i].bsums[2 * j + 1]);
            }
            /* separate statements: no compiler may fuse these (clang contracts within one) */
            const float a = xb[i].d * kn_f16_to_f32(wb[i].d) * (float)sumi;
            const float b = xb[i].d * kn_f16_to_f32(wb[i].dmin) * (float)summ;
            const float c = a - b;
            sum += c;
        }
        out[r * os] = sum;
    }
}

/* kn_pack's q4_K layout: each (row, activation row) pair through kn_mdot_q4_K_q8_K_scalar one
 * block at a time. That kernel's result for one block is 0 + (a - b): a - b itself, or +0 where
 * a - b is -0, which leaves a running sum unchanged either way; so adding the blocks' results in
 * order is its own `sum += c`, bit for bit. */
void kn_gemm_q4_Kx8_scalar(int64_t n, const void *w, size_t ws, int nw, const void *x, size_t xs, int nx,
                           float *y, size_t ys) {
    (void)ws, (void)nw;
    assert(nw == KN_PACK_ROWS && nx >= 1);
    for (int m = 0; m < KN_PACK_ROWS; m++) {
        for (int r = 0; r < nx; r++) {
            const block_q8_K *xb = (const block_q8_K *)((const uint8_t *)x + (size_t)r * xs);
            float sum = 0.0f;
            for (int64_t i = 0; i < n / QK_K; i++) {
                block_q4_K blk;
                float c;
                kn_packed_block(KN_Q4_K, w, m, i, &blk);
                kn_mdot_q4_K_q8_K_scalar(QK_K, &blk, &xb[i], 0, 1, &c, 1);
                sum += c;
            }
            y[r * ys + m] = sum;
        }
    }
}

void kn_mdot_q5_K_q8_K_scalar(int64_t n, const void *w, const void *x, size_t xs, int nrx,
                              float *out, size_t os) {
    const block_q5_K *wb = w;
    for (int r = 0; r < nrx; r++) {
        const block_q8_K *xb = (const block_q8_K *)((const uint8_t *)x + r * xs);
        float sum = 0.0f;
        for (int64_t i = 0; i < n / QK_K; i++) {
            int32_t sumi = 0, summ = 0;
            for (int j = 0; j < QK_K / 32; j++) {
                uint8_t sc, m;
                kn_scale_min_k4(j, wb[i].scales, &sc, &m);
                const uint8_t *q = wb[i].qs + 32 * (j / 2);
                const int8_t *a = xb[i].qs + 32 * j;
                int s = 0;
                for (int l = 0; l < 32; l++) {
                    int lo = j & 1 ? q[l] >> 4 : q[l] & 0xF;
                    int hi = (wb[i].qh[l] >> j) & 1; /* bit j of qh[l]: sub-block j = 2c or 2c+1 */
                    s += (lo | hi << 4) * a[l];
                }
                sumi += sc * s;
                summ += m * (xb[i].bsums[2 * j] + xb[i].bsums[2 * j + 1]);
            }
            /* separate statements: no compiler may fuse these (clang contracts within one) */
            const float a = xb[i].d * kn_f16_to_f32(wb[i].d) * (float)sumi;
            const float b = xb[i].d * kn_f16_to_f32(wb[i].dmin) * (float)summ;
            const float c = a - b;
            sum += c;
        }
        out[r * os] = sum;
    }
}

/* q6_K: sumi = sum_g scales[g] * sum over group g of (q-32)*x. */
void kn_mdot_q6_K_q8_K_scalar(int64_t n, const void *w, const void *x, size_t xs, int nrx,
                              float *out, size_t os) {
    const block_q6_K *wb = w;
    for (int r = 0; r < nrx; r++) {
        const block_q8_K *xb = (const block_q8_K *)((const uint8_t *)x + r * xs);
        float sum = 0.0f;
        for (int64_t i = 0; i < n / QK_K; i++) {
            int8_t q[QK_K];
            for (int h = 0; h < 2; h++) {
                const uint8_t *ql = wb[i].ql + 64 * h, *qh = wb[i].qh + 32 * h;
                int8_t *o = q + 128 * h;
                for (int l = 0; l < 32; l++) {
                    o[l] = (int8_t)(((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32);
                    o[l + 32] = (int8_t)(((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
                    o[l + 64] = (int8_t)(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
                    o[l + 96] = (int8_t)(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
                }
            }
            int32_t sumi = 0;
            for (int g = 0; g < QK_K / 16; g++) {
                int s = 0;
                for (int l = 0; l < 16; l++) s += q[16 * g + l] * xb[i].qs[16 * g + l];
                sumi += wb[i].scales[g] * s;
            }
            const float a = xb[i].d * kn_f16_to_f32(wb[i].d) * (float)sumi;
            sum += a;
        }
        out[r * os] = sum;
    }
}

/* ---- float weights against f32 activations (x_stride in bytes like the others) -------------- */

void kn_mdot_f32_scalar(int64_t n, const void *w, const void *x, size_t xs, int nrx, float *out,
                        size_t os) {
    const float *wf = w;
    for (int r = 0; r < nrx; r++) {
        const float *xf = (const float *)((const uint8_t *)x + r * xs);
        float sum = 0.0f;
        for (int64_t i = 0; i < n; i++) sum += wf[i] * xf[i];
        out[r * os] = sum;
    }
}

void kn_mdot_f16_scalar(int64_t n, const void *w, const void *x, size_t xs, int nrx, float *out,
                        size_t os) {
    const uint16_t *wh = w;
    for (int r = 0; r < nrx; r++) {
        const float *xf = (const float *)((const uint8_t *)x + r * xs);
        float sum = 0.0f;
        for (int64_t i = 0; i < n; i++) sum += kn_f16_to_f32(wh[i]) * xf[i];
        out[r * os] = sum;
    }
}

void kn_mdot_bf16_scalar(int64_t n, const void *w, const void *x, size_t xs, int nrx, float *out,
                         size_t os) {
    const uint16_t *wh = w;
    for (int r = 0; r < nrx; r++) {
        const float *xf = (const float *)((const uint8_t *)x + r * xs);
        float sum = 0.0f;
        for (int64_t i = 0; i < n; i++) sum += kn_bf16_to_f32(wh[i]) * xf[i];
        out[r * os] = sum;
    }
}
