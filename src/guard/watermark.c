/*
 * The watermark: SelfHash (anchored min-hash) seeding over a per-token PRF table, and the sampler
 * processor that adds delta to green candidates.
 *
 * Definition (guard.h has the why of the scheme, guard_internal.h the bit function H):
 *   v(id)          = SipHash-2-4 keyed with k1 of the id as 4 little-endian bytes   (the PRF)
 *   seed(a)        = m(v(a) ^ K0, K1)     m(x, y) = hi64(x * y) ^ lo64(x * y); halves s0 (low), s1
 *   bit(a, w)      = H(s0, s1, w) < floor(gamma * 2^32)
 *   u(id)          = the high 32 bits of v(id), with the low bit replaced by bit(id, id)
 *   anchor(ctx, w) = the token of {last h of ctx} U {w} with the smallest (u, id)
 *   green(ctx, w)  = bit(anchor(ctx, w), w)
 * k1 (16 bytes), K0, K1 and Ka (H's multiplier) are derived from the 32-byte key with crypto_kdf
 * (BLAKE2b), context "cirrusWM", subkey ids 1 and 2.
 *
 * Why not SipHash per candidate: the processor runs before top-k over every candidate, i.e. the
 * whole vocabulary each step. SipHash-2-4 of 12 bytes is ~20 ns here: 3 ms a token for a 150k
 * vocabulary, ten times the whole 3% budget of a 0.5B model's decode step on this machine.
 * Instead the PRF runs once per id at creation (the v and u tables, with each id's green bit for
 * when it anchors itself folded into u), the seed once per step (every candidate that does not
 * undercut the context's anchor shares it), and per candidate there is one 4-byte table load, a
 * compare and H: three 32-bit multiplies, no branch, eight candidates at a time with AVX2.
 *
 * Security trade-off: every green bit depends on seed(anchor), 64 bits only the key holder can
 * compute (SipHash is a PRF; m mixes it with 128 bits of key). What is given up is a proof for the
 * per-candidate step: H is a well-mixing function, not a PRF, so a party who saw many exact
 * green/red labels under one seed might try to solve for that seed (learning one anchor's green
 * list, not the key). Exact labels are not observable through the API (outputs show sampled tokens;
 * logprobs come from the unwatermarked logits), and the statistical "watermark stealing" attacks
 * that learn green lists from outputs work equally well against any PRF.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "guard/guard_internal.h"

__extension__ typedef unsigned __int128 wm_u128;

static inline uint64_t mum(uint64_t a, uint64_t b) {
    wm_u128 r = (wm_u128)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t wm_seed(const guard_wm *w, uint64_t v_anchor) { return mum(v_anchor ^ w->k[0], w->k[1]); }

static inline bool wm_bit(const guard_wm *w, uint64_t seed, int32_t id) {
    return guard_h32((uint32_t)seed, (uint32_t)(seed >> 32), w->ka, (uint32_t)id) < w->thr;
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

/* AVX2 where cpuid has it, unless CIRRUS_FORCE_SCALAR (the switch the kernels' parity tests use)
 * asks for the reference loop. */
static bool want_simd(void) {
#if defined(__x86_64__)
    const char *s = getenv("CIRRUS_FORCE_SCALAR");
    if (s && *s && strcmp(s, "0") != 0) return false;
    return __builtin_cpu_supports("avx2");
#else
    return false;
#endif
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
    w->v = malloc((size_t)n_vocab * sizeof *w->v);
    w->u = malloc((size_t)n_vocab * sizeof *w->u);
    if (!w->v || !w->u) {
        free(w->v);
        free(w->u);
        free(w);
        return cirrus_errf(err, CIRRUS_ERR_NOMEM, "out of memory (watermark tables of %d ids)", (int)n_vocab);
    }
    w->p = *p;
    w->n_vocab = n_vocab;
    /* gamma * 2^32 is exact in double; gamma < 1 keeps it below 2^32. */
    w->thr = (uint32_t)((double)p->gamma * 4294967296.0);
    w->simd = want_simd();

    uint8_t k1[crypto_shorthash_KEYBYTES], k2[24];
    static const char ctx[crypto_kdf_CONTEXTBYTES] = {'c', 'i', 'r', 'r', 'u', 's', 'W', 'M'};
    crypto_kdf_derive_from_key(k1, sizeof k1, 1, ctx, k->bytes);
    crypto_kdf_derive_from_key(k2, sizeof k2, 2, ctx, k->bytes);
    w->k[0] = load_le64(k2);
    w->k[1] = load_le64(k2 + 8);
    w->ka = (uint32_t)load_le64(k2 + 16) | 1u; /* odd: id -> id * Ka stays a bijection */
    for (int32_t id = 0; id < n_vocab; id++) {
        uint8_t in[4] = {(uint8_t)id, (uint8_t)(id >> 8), (uint8_t)(id >> 16), (uint8_t)(id >> 24)}, h[8];
        crypto_shorthash(h, in, sizeof in, k1);
        w->v[id] = load_le64(h);
        w->u[id] = ((uint32_t)(w->v[id] >> 32) & ~1u) | (uint32_t)wm_bit(w, wm_seed(w, w->v[id]), id);
    }
    sodium_memzero(k1, sizeof k1);
    sodium_memzero(k2, sizeof k2);
    *out = w;
    return CIRRUS_OK;
}

void guard_wm_free(guard_wm *w) {
    if (!w) return;
    /* The tables and subkeys are key material too: a core dump of freed memory must not hand them
     * out. */
    sodium_memzero(w->v, (size_t)w->n_vocab * sizeof *w->v);
    sodium_memzero(w->u, (size_t)w->n_vocab * sizeof *w->u);
    sodium_memzero(w->k, sizeof w->k);
    free(w->v);
    free(w->u);
    free(w);
}

const guard_wm_params *guard_wm_get_params(const guard_wm *w) { return &w->p; }
int32_t guard_wm_n_vocab(const guard_wm *w) { return w->n_vocab; }

static inline bool in_vocab(const guard_wm *w, int32_t id) { return id >= 0 && id < w->n_vocab; }

/* (u, id) order, so even a collision of u has one well-defined anchor. */
static inline bool lower(uint32_t ua, int32_t a, uint32_t ub, int32_t b) { return ua < ub || (ua == ub && a < b); }

/* The context part of the min-hash: the smallest (u, id) among the last h tokens of ctx; id -1 when
 * no token qualifies (then every candidate anchors on itself). */
static void ctx_min(const guard_wm *w, const int32_t *ctx, size_t n_ctx, uint32_t *mu, int32_t *mid) {
    size_t h = (size_t)w->p.h, start = n_ctx > h ? n_ctx - h : 0;
    *mu = UINT32_MAX;
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
    uint32_t mu;
    int32_t mid;
    ctx_min(w, ctx, n_ctx, &mu, &mid);
    if (mid < 0 || lower(w->u[id], id, mu, mid)) mid = id;
    if (anchor) *anchor = mid;
    return wm_bit(w, wm_seed(w, w->v[mid]), id);
}

/* ---- the processor ------------------------------------------------------------------------------ */

static void wm_apply(smp_proc *proc, smp_cands *c, const smp_history *h) {
    const guard_wm *w = proc->state;
    uint32_t mu;
    int32_t mid;
    ctx_min(w, h->ids, h->ids ? h->n : 0, &mu, &mid);
    uint64_t seed = 0;
    if (mid < 0) mu = UINT32_MAX, mid = INT32_MAX; /* no context: every candidate undercuts it */
    else seed = wm_seed(w, w->v[mid]);
    if (w->simd) guard_wm_apply_avx2(w, c->data, c->n, mu, mid, (uint32_t)seed, (uint32_t)(seed >> 32));
    else guard_wm_apply_scalar(w, c->data, c->n, mu, mid, (uint32_t)seed, (uint32_t)(seed >> 32));
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
