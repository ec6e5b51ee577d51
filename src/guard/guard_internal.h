/*
 * guard internals shared by watermark.c and its SIMD variant (watermark_avx2.c). Not a public
 * header: other modules use guard.h.
 *
 * The green bit of a (seed, id) pair, in 32-bit lanes so that AVX2 can compute eight at once
 * (AVX2 has 32-bit multiplies but no 64-bit one):
 *   x = (id ^ s0) * Ka;  x ^= x >> 16;  x ^= s1;  x *= C1;  x ^= x >> 13;  x *= C2;  x ^= x >> 16
 *   green iff x < thr32
 * s0, s1 are the two halves of the 64-bit seed; Ka (odd) comes from the key; C1, C2 are murmur3's
 * fmix32 constants. Both seed halves enter before a multiply, so the map from (seed, id) to the bit
 * needs all 64 seed bits.
 */
#ifndef CIRRUS_GUARD_INTERNAL_H
#define CIRRUS_GUARD_INTERNAL_H

#include <stdint.h>

#include "guard/guard.h"

struct guard_wm {
    guard_wm_params p;
    int32_t n_vocab;
    uint32_t thr;    /* green iff H(...) < thr: floor(gamma * 2^32) */
    uint32_t ka;     /* odd multiplier of H, from the key */
    uint64_t k[2];   /* K0, K1 of seed() */
    uint64_t *v;     /* (n_vocab) v(id): the PRF, SipHash-2-4 */
    uint32_t *u;     /* (n_vocab) the min-hash order key: v's high half, low bit = the self-green bit */
    bool simd;       /* use the AVX2 loop (cpuid, and CIRRUS_FORCE_SCALAR unset) */
};

#define GUARD_C1 0x85ebca6bu
#define GUARD_C2 0xc2b2ae35u

static inline uint32_t guard_h32(uint32_t s0, uint32_t s1, uint32_t ka, uint32_t id) {
    uint32_t x = (id ^ s0) * ka;
    x ^= x >> 16;
    x ^= s1;
    x *= GUARD_C1;
    x ^= x >> 13;
    x *= GUARD_C2;
    return x ^ (x >> 16);
}

/* The candidates loop of the processor, AVX2: d[0..n) in place. mu/mid: the context's anchor
 * (order key and id); s0/s1: its seed. Handles every n (scalar tail). */
void guard_wm_apply_avx2(const struct guard_wm *w, smp_cand *d, size_t n, uint32_t mu, int32_t mid, uint32_t s0,
                         uint32_t s1);

/* The same loop in plain C: the reference the AVX2 one is tested against, and its tail. */
static inline void guard_wm_apply_scalar(const struct guard_wm *w, smp_cand *d, size_t n, uint32_t mu, int32_t mid,
                                         uint32_t s0, uint32_t s1) {
    const uint32_t *u = w->u, nv = (uint32_t)w->n_vocab, thr = w->thr, ka = w->ka;
    const float delta = w->p.delta;
    for (size_t i = 0; i < n; i++) {
        uint32_t id = (uint32_t)d[i].id;
        if (id >= nv) { /* not in the scheme's vocabulary: never green */
            d[i].logit += 0.0f; /* what the AVX2 lanes do (turns -0 into +0), for identical bits */
            continue;
        }
        uint32_t uw = u[id];
        /* bitwise & | rather than && || ?: so no jump depends on a coin flip */
        uint32_t own = (uint32_t)(uw < mu) | ((uint32_t)(uw == mu) & (uint32_t)((int32_t)id <= mid));
        uint32_t gc = (uint32_t)(guard_h32(s0, s1, ka, id) < thr);
        uint32_t g = (own & uw) | (~own & gc);
        d[i].logit += delta * (float)(g & 1u);
    }
}

#endif
