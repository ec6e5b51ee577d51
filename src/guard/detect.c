/*
 * Watermark detection: scoring token sequences with de-duplication, and the exact binomial test.
 *
 * Invariants of a detector:
 *  1. Every pair in `scored` was counted exactly once in n_scored, and in n_green iff green. The
 *     green bit is a function of the pair alone (watermark.c), so under H0 (text independent of the
 *     key) the counted bits are independent Bernoulli(gamma) and n_green ~ Bin(n_scored, gamma):
 *     the p-value is exact at any corpus size. Without the dedup, a repeated phrase or a corpus
 *     that reuses a template counts one coin many times and the p-value collapses (the
 *     radioactivity paper's Fig. 5 shows this on real corpora).
 *  2. Open-model scoring skips a prediction whose pair is the text's own pair at an earlier
 *     position (guard_det_add_pred).
 *  3. The sets only grow, up to GUARD_DET_MAX_PAIRS entries; past that the add functions fail
 *     with CIRRUS_ERR_FULL rather than grow without bound.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "guard/guard.h"

/* ---- a bounded open-addressing set of 64-bit keys ---------------------------------------------- */

/* Keys are (anchor << 32 | token) with both in [0, 2^31): UINT64_MAX is never a key, so it marks
 * an empty slot. Linear probing, load <= 1/2, capacity a power of two. */
#define SET_EMPTY UINT64_MAX

typedef struct {
    uint64_t *slot;
    size_t cap, n;
} pair_set;

static uint64_t set_hash(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ull;
    return k ^ (k >> 33);
}

static cirrus_status set_grow(pair_set *s) {
    size_t cap = s->cap ? s->cap * 2 : 1024;
    uint64_t *slot = malloc(cap * sizeof *slot);
    if (!slot) return CIRRUS_ERR_NOMEM;
    memset(slot, 0xff, cap * sizeof *slot);
    for (size_t i = 0; i < s->cap; i++) {
        uint64_t k = s->slot[i];
        if (k == SET_EMPTY) continue;
        size_t j = (size_t)set_hash(k) & (cap - 1);
        while (slot[j] != SET_EMPTY) j = (j + 1) & (cap - 1);
        slot[j] = k;
    }
    free(s->slot);
    s->slot = slot;
    s->cap = cap;
    return CIRRUS_OK;
}

static bool set_has(const pair_set *s, uint64_t k) {
    if (!s->cap) return false;
    for (size_t j = (size_t)set_hash(k) & (s->cap - 1);; j = (j + 1) & (s->cap - 1)) {
        if (s->slot[j] == k) return true;
        if (s->slot[j] == SET_EMPTY) return false;
    }
}

/* Inserts k; *added says whether it was new. */
static cirrus_status set_add(pair_set *s, uint64_t k, bool *added) {
    *added = false;
    if (set_has(s, k)) return CIRRUS_OK;
    if (s->n >= GUARD_DET_MAX_PAIRS) return CIRRUS_ERR_FULL;
    if (2 * (s->n + 1) > s->cap) {
        cirrus_status st = set_grow(s);
        if (st) return st;
    }
    size_t j = (size_t)set_hash(k) & (s->cap - 1);
    while (s->slot[j] != SET_EMPTY) j = (j + 1) & (s->cap - 1);
    s->slot[j] = k;
    s->n++;
    *added = true;
    return CIRRUS_OK;
}

/* ---- the detector ------------------------------------------------------------------------------- */

struct guard_det {
    const guard_wm *w;
    pair_set scored;
    pair_set own; /* scratch: the current text's own pairs (open-model scoring) */
    uint64_t n_positions, n_green;
};

cirrus_status guard_det_new(const guard_wm *w, guard_det **out) {
    *out = calloc(1, sizeof **out);
    if (!*out) return CIRRUS_ERR_NOMEM;
    (*out)->w = w;
    return CIRRUS_OK;
}

void guard_det_free(guard_det *d) {
    if (!d) return;
    free(d->scored.slot);
    free(d->own.slot);
    free(d);
}

static uint64_t pair_key(int32_t anchor, int32_t id) { return (uint64_t)(uint32_t)anchor << 32 | (uint32_t)id; }

static cirrus_status check_ids(const guard_det *d, const int32_t *ids, size_t n, cirrus_err *err) {
    int32_t nv = guard_wm_n_vocab(d->w);
    if (n > 0 && !ids) return cirrus_errf(err, CIRRUS_ERR_INVALID, "token ids: %zu ids but no array", n);
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= nv)
            return cirrus_errf(err, CIRRUS_ERR_RANGE, "token id %d at position %zu out of range [0, %d)",
                               (int)ids[i], i, (int)nv);
    return CIRRUS_OK;
}

static cirrus_status full(cirrus_status st, cirrus_err *err) {
    if (st == CIRRUS_ERR_FULL)
        return cirrus_errf(err, st, "detector: more than %u distinct scored pairs", (unsigned)GUARD_DET_MAX_PAIRS);
    return cirrus_errf(err, st, "detector: out of memory");
}

/* Scores the pair of (ids[t-h..t-1], tok) unless it was scored before. */
static cirrus_status score_one(guard_det *d, const int32_t *ids, size_t t, int32_t tok, cirrus_err *err) {
    int32_t anchor;
    bool green = guard_wm_green(d->w, ids, t, tok, &anchor);
    d->n_positions++;
    bool added;
    cirrus_status st = set_add(&d->scored, pair_key(anchor, tok), &added);
    if (st) return full(st, err);
    if (added && green) d->n_green++;
    return CIRRUS_OK;
}

cirrus_status guard_det_add(guard_det *d, const int32_t *ids, size_t n, cirrus_err *err) {
    cirrus_status st = check_ids(d, ids, n, err);
    for (size_t t = (size_t)guard_wm_get_params(d->w)->h; st == CIRRUS_OK && t < n; t++)
        st = score_one(d, ids, t, ids[t], err);
    return st;
}

/*
 * Open-model scoring. Under H0 the suspect's prediction pred[t] is a function of ids[0..t) only, and
 * the coin of its pair P is fresh unless the key already acted on the prefix through P: the only
 * strong channel is P being the pair of a token the watermark *chose* earlier in the same text
 * (green-biased by construction), which a suspect that copies from its context (every LM with
 * induction heads) would repeat. So P is skipped when it equals the own pair of an earlier position
 * of this text. The rule looks only at the prefix: excluding on the outcome at t itself (the text's
 * own token there) would condition on the coin and bias the test (we measured z = -10 for a clean
 * model that way; see test_guard.c).
 */
cirrus_status guard_det_add_pred(guard_det *d, const int32_t *ids, const int32_t *pred, size_t n,
                                 cirrus_err *err) {
    cirrus_status st = check_ids(d, ids, n, err);
    if (st) return st;
    if (n > 0 && !pred) return cirrus_errf(err, CIRRUS_ERR_INVALID, "predictions: %zu positions but no array", n);
    int32_t nv = guard_wm_n_vocab(d->w);
    size_t h = (size_t)guard_wm_get_params(d->w)->h;
    /* the prefix's own pairs, rebuilt per text */
    if (d->own.cap) memset(d->own.slot, 0xff, d->own.cap * sizeof *d->own.slot);
    d->own.n = 0;
    for (size_t t = 0; t < n; t++) {
        if (t >= h && pred[t] >= 0) {
            if (pred[t] >= nv)
                return cirrus_errf(err, CIRRUS_ERR_RANGE, "predicted token id %d at position %zu out of range [0, %d)",
                                   (int)pred[t], t, (int)nv);
            int32_t anchor;
            bool green = guard_wm_green(d->w, ids, t, pred[t], &anchor);
            uint64_t k = pair_key(anchor, pred[t]);
            d->n_positions++;
            if (!set_has(&d->own, k)) {
                bool added;
                if ((st = set_add(&d->scored, k, &added))) return full(st, err);
                if (added && green) d->n_green++;
            }
        }
        int32_t anchor;
        guard_wm_green(d->w, ids, t, ids[t], &anchor);
        bool added;
        if ((st = set_add(&d->own, pair_key(anchor, ids[t]), &added))) return full(st, err);
    }
    return CIRRUS_OK;
}

void guard_det_result(const guard_det *d, const guard_verdict *v, guard_score *out) {
    memset(out, 0, sizeof *out);
    out->n_positions = d->n_positions;
    out->n_scored = d->scored.n;
    out->n_green = d->n_green;
    out->gamma = (double)guard_wm_get_params(d->w)->gamma;
    guard_score_finish(out, v);
}

cirrus_status guard_detect(const guard_wm *w, const int32_t *ids, size_t n, const guard_verdict *v,
                           guard_score *out, cirrus_err *err) {
    guard_det *d = NULL;
    if (guard_det_new(w, &d)) return cirrus_errf(err, CIRRUS_ERR_NOMEM, "out of memory");
    cirrus_status st = guard_det_add(d, ids, n, err);
    if (st == CIRRUS_OK) guard_det_result(d, v, out);
    guard_det_free(d);
    return st;
}

/* ---- the test ----------------------------------------------------------------------------------- */

void guard_verdict_default(guard_verdict *v) {
    v->z = 4.0;
    v->fpr = 0.0;
}

/* log C(n, k) p^k q^(n-k). lgamma_r: the plain lgamma writes the global signgam, a data race when
 * several threads detect at once. */
static double binom_log_pmf(uint64_t k, uint64_t n, double lp, double lq) {
    int sg;
    double c = lgamma_r((double)n + 1.0, &sg) - lgamma_r((double)k + 1.0, &sg) - lgamma_r((double)(n - k) + 1.0, &sg);
    /* k * log p with k = 0 and p tiny would still be fine; guard 0 * -inf anyway. */
    return c + (k ? (double)k * lp : 0.0) + (n - k ? (double)(n - k) * lq : 0.0);
}

/*
 * P(X >= k) = pmf(k) * sum_{j>=k} pmf(j)/pmf(k) when k lies above the mean: the ratios
 * pmf(j+1)/pmf(j) = (n-j)/(j+1) * p/q fall below 1 and keep falling, so the sum converges
 * (geometrically once past a few standard deviations) and is summed relative to pmf(k), never
 * underflowing. At or below the mean the upper tail is >= ~1/2 and comes as 1 - P(X <= k-1), whose
 * terms fall going down from k-1. Each sum stops when a term no longer changes it.
 */
double guard_binom_log_sf(uint64_t k, uint64_t n, double p) {
    if (k == 0) return 0.0;
    if (k > n) return -INFINITY;
    double q = 1.0 - p, lp = log(p), lq = log1p(-p), r = p / q;
    if ((double)k > (double)n * p) {
        double s = 1.0, term = 1.0;
        for (uint64_t j = k; j < n; j++) {
            term *= (double)(n - j) / (double)(j + 1) * r;
            s += term;
            if (term < s * 1e-17) break;
        }
        return binom_log_pmf(k, n, lp, lq) + log(s);
    }
    /* lower = P(X <= k-1) = pmf(k-1) * sum going down */
    double s = 1.0, term = 1.0;
    for (uint64_t j = k - 1; j > 0; j--) {
        term *= (double)j / (double)(n - j + 1) / r; /* pmf(j-1)/pmf(j) */
        s += term;
        if (term < s * 1e-17) break;
    }
    double log_lower = binom_log_pmf(k - 1, n, lp, lq) + log(s);
    double lower = exp(log_lower);
    return lower < 1.0 ? log1p(-lower) : -INFINITY; /* lower rounding to 1 cannot happen below the mean */
}

void guard_score_finish(guard_score *s, const guard_verdict *v) {
    double T = (double)s->n_scored, g = (double)s->n_green, gm = s->gamma;
    if (s->n_scored == 0 || !(gm > 0.0 && gm < 1.0)) {
        s->z = 0.0;
        s->p_value = 1.0;
        s->log10_p = 0.0;
        s->watermarked = false;
        return;
    }
    s->z = (g - gm * T) / sqrt(T * gm * (1.0 - gm));
    double lsf = guard_binom_log_sf(s->n_green, s->n_scored, gm);
    s->p_value = exp(lsf);
    s->log10_p = lsf / log(10.0);
    /* In log space: a p-value that underflows to 0 still compares right. */
    s->watermarked = v && v->fpr > 0.0 ? lsf <= log(v->fpr) : s->z >= (v ? v->z : 4.0);
}
