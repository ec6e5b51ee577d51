/*
 * The watermark: SelfHash (anchored min-hash) seeding over a per-token PRF table, and the sampler
 * processor that adds delta to green candidates.
 *
 * Definition (guard.h has the why of the scheme):
 *   u(id)          = SipHash-2-4 keyed with k1 of the id as 4 little-endian bytes   (the PRF)
 *   anchor(ctx, w) = the token of {last h of ctx} U {w} with the smallest (u, id)
 *   green(ctx, w)  = mix(u(anchor), w) < floor(gamma * 2^64)
 *   mix(x, w)      = m(m(x ^ K0, w ^ K1) ^ K2, x ^ K3),  m(a, b) = hi64(a*b) ^ lo64(a*b)
 * k1 (16 bytes) and K0..K3 (4 x 64 bits) are derived from the 32-byte key with crypto_kdf
 * (BLAKE2b), context "cirrusWM", subkey ids 1 and 2.
 *
 * Why not SipHash per candidate: the processor runs before top-k over every candidate, i.e. the
 * whole vocabulary each step. SipHash-2-4 of 12 bytes is ~20 ns here: 3 ms a token for a 150k
 * vocabulary, more than the whole 3% budget of a 0.5B model's decode step. Instead the PRF is
 * evaluated once per id at creation (the u table) and the per-step work per candidate is a table
 * load, a compare and two 64x64->128 multiplies (wyhash's mum), about 1.5 ns.
 *
 * Security trade-off of the mixer: every green bit still depends on a 64-bit value u(anchor) that
 * only the key holder can compute (SipHash is a PRF) and on 256 bits of mixer key; what is lost is
 * a proof: mix is a well-mixing but not a cryptographic function, so a party who observed many
 * exact green/red labels under one anchor might attempt algebraic recovery of u(anchor) and K.
 * Such labels are not observable through the API (outputs show only sampled tokens, logprobs come
 * from the unwatermarked logits), and the statistical "watermark stealing" attacks that learn green
 * lists from outputs work equally against any PRF, so the practical margin given up is small.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "guard/guard.h"

struct guard_wm {
    guard_wm_params p;
    int32_t n_vocab;
    uint64_t thr;   /* green iff mix < thr */
    uint64_t k[4];  /* mixer keys K0..K3 */
    uint64_t *u;    /* (n_vocab) u(id) */
};

__extension__ typedef unsigned __int128 wm_u128;

static inline uint64_t mum(uint64_t a, uint64_t b) {
    wm_u128 r = (wm_u128)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t wm_mix(const guard_wm *w, uint64_t x, int32_t id) {
    uint64_t y = mum(x ^ w->k[0], (uint64_t)(uint32_t)id ^ w->k[1]);
    return mum(y ^ w->k[2], x ^ w->k[3]);
}

static uint64_t load_le64(const uint8_t *b) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | b[i];
    return v;
}

void guard_wm_params_default(guard_wm_params *p) {
    p->gamma = 0.25f;
    p->delta = 2.0f;
    p->h = 4;
}

cirrus_status guard_wm_params_check(const guard_wm_params *p, cirrus_err *err) {
    if (!p) return cirrus_errf(err, CIRRUS_ERR_INVALID, "watermark parameters: missing");
    if (!(p->gamma > 0.0f && p->gamma < 1.0f))
        return cirrus_errf(err, CIRRUS_ERR_RANGE, "gamma: %g out of range (0, 1)", (double)p->gamma);
    if (!(p->delta >= 0.0f && p->delta <= 50.0f))
        return cirrus_errf(err, CIRRUS_ERR_RANGE, "delta: %g out of range [0, 50]", (double)p->delta);
    if (p->h < 0 || p->h > GUARD_WM_MAX_H)
        return cirrus_errf(err, CIRRUS_ERR_RANGE, "h: %d out of range [0, %d]", (int)p->h, GUARD_WM_MAX_H);
    return CIRRUS_OK;
}

cirrus_status guard_wm_new(const guard_key *k, const guard_wm_params *p, int32_t n_vocab, guard_wm **out,
                           cirrus_err *err) {
    *out = NULL;
    cirrus_status st = guard_wm_params_check(p, err);
    if (st) return st;
    if (n_vocab <= 0) return cirrus_errf(err, CIRRUS_ERR_INVALID, "n_vocab: %d must be > 0", (int)n_vocab);
    if (sodium_init() < 0) return cirrus_errf(err, CIRRUS_ERR_INTERNAL, "libsodium failed to initialise");
    guard_wm *w = calloc(1, sizeof *w);
    if (!w) return cirrus_errf(err, CIRRUS_ERR_NOMEM, "out of memory");
    w->u = malloc((size_t)n_vocab * sizeof *w->u);
    if (!w->u) {
        free(w);
        return cirrus_errf(err, CIRRUS_ERR_NOMEM, "out of memory (watermark table of %d ids)", (int)n_vocab);
    }
    w->p = *p;
    w->n_vocab = n_vocab;
    /* gamma * 2^64 in double is exact to 53 bits, far below any measurable bias; gamma < 1 keeps
     * the product below 2^64 so the conversion is defined. */
    w->thr = (uint64_t)((double)p->gamma * 18446744073709551616.0);

    uint8_t k1[crypto_shorthash_KEYBYTES], k2[32];
    static const char ctx[crypto_kdf_CONTEXTBYTES] = {'c', 'i', 'r', 'r', 'u', 's', 'W', 'M'};
    crypto_kdf_derive_from_key(k1, sizeof k1, 1, ctx, k->bytes);
    crypto_kdf_derive_from_key(k2, sizeof k2, 2, ctx, k->bytes);
    for (int i = 0; i < 4; i++) w->k[i] = load_le64(k2 + 8 * i);
    for (int32_t id = 0; id < n_vocab; id++) {
        uint8_t in[4] = {(uint8_t)id, (uint8_t)(id >> 8), (uint8_t)(id >> 16), (uint8_t)(id >> 24)}, h[8];
        crypto_shorthash(h, in, sizeof in, k1);
        w->u[id] = load_le64(h);
    }
    sodium_memzero(k1, sizeof k1);
    sodium_memzero(k2, sizeof k2);
    *out = w;
    return CIRRUS_OK;
}

void guard_wm_free(guard_wm *w) {
    if (!w) return;
    /* The table and mixer keys are key material too: a core dump of freed memory must not hand
     * them out. */
    sodium_memzero(w->u, (size_t)w->n_vocab * sizeof *w->u);
    sodium_memzero(w->k, sizeof w->k);
    free(w->u);
    free(w);
}

const guard_wm_params *guard_wm_get_params(const guard_wm *w) { return &w->p; }
int32_t guard_wm_n_vocab(const guard_wm *w) { return w->n_vocab; }

static inline bool in_vocab(const guard_wm *w, int32_t id) { return id >= 0 && id < w->n_vocab; }

/* (u, id) order, so even a 64-bit collision of u has one well-defined anchor. */
static inline bool lower(uint64_t ua, int32_t a, uint64_t ub, int32_t b) { return ua < ub || (ua == ub && a < b); }

/* The context part of the min-hash: the smallest (u, id) among the last h tokens of ctx; id -1 and
 * u = UINT64_MAX when no token qualifies (then every candidate anchors on itself). */
static void ctx_min(const guard_wm *w, const int32_t *ctx, size_t n_ctx, uint64_t *mu, int32_t *mid) {
    size_t h = (size_t)w->p.h, start = n_ctx > h ? n_ctx - h : 0;
    *mu = UINT64_MAX;
    *mid = -1;
    for (size_t i = start; i < n_ctx; i++) {
        int32_t id = ctx[i];
        if (!in_vocab(w, id)) continue;
        if (*mid < 0 || lower(w->u[id], id, *mu, *mid)) *mu = w->u[id], *mid = id;
    }
}

bool guard_wm_green(const guard_wm *w, const int32_t *ctx, size_t n_ctx, int32_t id, int32_t *anchor) {
    if (anchor) *anchor = -1;
    if (!in_vocab(w, id)) return false;
    uint64_t mu;
    int32_t mid;
    ctx_min(w, ctx, n_ctx, &mu, &mid);
    if (mid < 0 || lower(w->u[id], id, mu, mid)) mu = w->u[id], mid = id;
    if (anchor) *anchor = mid;
    return wm_mix(w, mu, id) < w->thr;
}

/* ---- the processor ------------------------------------------------------------------------------ */

static void wm_apply(smp_proc *proc, smp_cands *c, const smp_history *h) {
    const guard_wm *w = proc->state;
    uint64_t mu;
    int32_t mid;
    ctx_min(w, h->ids, h->ids ? h->n : 0, &mu, &mid);
    const float delta = w->p.delta;
    const uint64_t thr = w->thr;
    smp_cand *d = c->data;
    /* The same arithmetic as guard_wm_green with the context part hoisted out of the loop; the
     * candidate array arrives in id order (sample.c, invariant 1), so the u loads stream. */
    for (size_t i = 0; i < c->n; i++) {
        int32_t id = d[i].id;
        if (!in_vocab(w, id)) continue;
        uint64_t uw = w->u[id];
        uint64_t x = (mid < 0 || lower(uw, id, mu, mid)) ? uw : mu;
        if (wm_mix(w, x, id) < thr) d[i].logit += delta;
    }
    c->sorted = false;
}

static void wm_free_owned(smp_proc *proc) {
    guard_wm_free(proc->state);
    proc->state = NULL;
}

void guard_wm_proc(guard_wm *w, smp_proc *out) {
    out->name = "watermark";
    out->apply = wm_apply;
    out->free = NULL;
    out->state = w;
}

cirrus_status guard_wm_proc_new(const guard_key *k, const guard_wm_params *p, int32_t n_vocab, smp_proc *out,
                                cirrus_err *err) {
    guard_wm *w = NULL;
    cirrus_status st = guard_wm_new(k, p, n_vocab, &w, err);
    if (st) return st;
    guard_wm_proc(w, out);
    out->free = wm_free_owned;
    return CIRRUS_OK;
}
