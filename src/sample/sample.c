/*
 * sample — parameters, the processor chain, truncation samplers, the seeded draw and logprobs.
 *
 * Invariants of one smp_sample() call:
 *  1. Until the custom processors run, cands[i].id == i for every i < n_vocab: bias and penalties
 *     index the array by id (O(1) per biased / penalised token, no search).
 *  2. A banned token (bias <= -100, or a -inf / NaN logit from the model) is removed before the
 *     custom processors run, so processors and samplers only ever see finite or +-large logits.
 *  3. Nothing allocates: cands, probs and counts are sized n_vocab at smp_chain_new, and counts is
 *     all zeros between calls (penalties reset exactly the entries they touched).
 *  4. Determinism: every choice depends only on (seed, number of draws so far, logits, history).
 *     Orderings use a total order (logit descending, then id ascending), so neither qsort's
 *     instability nor the heap's layout can change which ids survive. The draw uses a softmax in
 *     double with our own exp (sample_exp below) instead of libm's, whose last bit differs between
 *     libm versions and between glibc's FMA / non-FMA code paths picked at run time. Contraction
 *     of a*b+c into one FMA is switched off for this file (below): clang contracts by default and
 *     GCC does in GNU mode whenever the target has FMA (-march=native), which changed the bits of
 *     sample_exp in testing. With it off, the arithmetic here is plain IEEE-754 double / float on
 *     every x86-64 and arm64 machine (not on x87, whose excess precision we do not target).
 */
#include "sample.h"

#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct smp_chain {
    smp_params p; /* p.bias points at bias below */
    smp_bias *bias;
    int32_t n_vocab;
    smp_cand *cands;  /* (n_vocab) */
    double *probs;    /* (n_vocab) scratch for softmax weights */
    int32_t *counts;  /* (n_vocab) penalty occurrence counts, all zero between calls */
    smp_proc procs[SMP_MAX_PROCS];
    int n_procs;
    uint64_t rng[4]; /* xoshiro256** state */
    size_t n_last;   /* candidates the last call chose among (debug hook) */
};

/* ---- parameters ------------------------------------------------------------------------------ */

void smp_params_default(smp_params *p) {
    memset(p, 0, sizeof *p);
    p->temperature = 0.8f;
    p->top_k = 40;
    p->top_p = 0.95f;
    p->min_p = 0.05f;
    p->repeat_penalty = 1.0f;
    p->repeat_last_n = 64;
    p->presence_penalty = 0.0f;
    p->frequency_penalty = 0.0f;
    p->penalize_prompt = false;
    p->seed = 0;
    p->bias = NULL;
    p->n_bias = 0;
}

/* Written as !(in range) so NaN is rejected too. */
static bool in_range(float v, float lo, float hi) { return v >= lo && v <= hi; }

cirrus_status smp_params_check(const smp_params *p, int32_t n_vocab, cirrus_err *err) {
    if (!p) return cirrus_errf(err, CIRRUS_ERR_INVALID, "sampling parameters: missing");
    if (n_vocab <= 0) return cirrus_errf(err, CIRRUS_ERR_INVALID, "n_vocab: %d must be > 0", (int)n_vocab);
    if (!in_range(p->temperature, 0.0f, 2.0f))
        return cirrus_errf(err, CIRRUS_ERR_RANGE, "temperature: %g out of range [0, 2]",
                           (double)p->temperature);
    if (!(p->top_p > 0.0f && p->top_p <= 1.0f))
        return cirrus_errf(err, CIRRUS_ERR_RANGE, "top_p: %g out of range (0, 1]", (double)p->top_p);
    if (!in_range(p->min_p, 0.0f, 1.0f))
        return cirrus_errf(err, CIRRUS_ERR_RANGE, "min_p: %g out of range [0, 1]", (double)p->min_p);
    if (!(p->repeat_penalty > 0.0f && p->repeat_penalty <= FLT_MAX))
        return cirrus_errf(err, CIRRUS_ERR_RANGE, "repeat_penalty: %g must be > 0",
                           (double)p->repeat_penalty);
    if (p->repeat_last_n < -1)
        return cirrus_errf(err, CIRRUS_ERR_RANGE, "repeat_last_n: %d must be >= -1 (-1 = whole history)",
                           (int)p->repeat_last_n);
    if (!in_range(p->presence_penalty, -2.0f, 2.0f))
        return cirrus_errf(err, CIRRUS_ERR_RANGE, "presence_penalty: %g out of range [-2, 2]",
                           (double)p->presence_penalty);
    if (!in_range(p->frequency_penalty, -2.0f, 2.0f))
        return cirrus_errf(err, CIRRUS_ERR_RANGE, "frequency_penalty: %g out of range [-2, 2]",
                           (double)p->frequency_penalty);
    if (p->n_bias > 0 && !p->bias)
        return cirrus_errf(err, CIRRUS_ERR_INVALID, "logit_bias: %zu entries but no array", p->n_bias);
    /* A bias list longer than the vocabulary must repeat ids: reject it before anyone copies it. */
    if (p->n_bias > (size_t)n_vocab)
        return cirrus_errf(err, CIRRUS_ERR_RANGE, "logit_bias: %zu entries, more than the vocabulary (%d)",
                           p->n_bias, (int)n_vocab);
    for (size_t i = 0; i < p->n_bias; i++) {
        const smp_bias *b = &p->bias[i];
        if (b->id < 0 || b->id >= n_vocab)
            return cirrus_errf(err, CIRRUS_ERR_RANGE, "logit_bias: token id %d out of range [0, %d)", (int)b->id,
                               (int)n_vocab);
        if (!in_range(b->bias, -100.0f, 100.0f))
            return cirrus_errf(err, CIRRUS_ERR_RANGE, "logit_bias: value %g for token id %d out of range [-100, 100]",
                               (double)b->bias, (int)b->id);
    }
    return CIRRUS_OK;
}

/* ---- PRNG: splitmix64 seeds xoshiro256** (both public domain algorithms, re-implemented) ------- */

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t xoshiro_next(uint64_t s[4]) {
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* Uniform in [0, 1) with 53 random bits: exact in double, no rounding up to 1. */
static double rng_uniform(uint64_t s[4]) {
    return (double)(xoshiro_next(s) >> 11) * (1.0 / 9007199254740992.0);
}

/* ---- deterministic exp ------------------------------------------------------------------------ */

/*
 * e^x for the softmax of the draw: Cody-Waite reduction x = k ln2 + r, |r| <= ln2/2, then a
 * degree-13 Taylor polynomial (truncation error < 1e-17 relative) and an exact scaling by 2^k.
 * Only +, *, floor and ldexp, each exactly specified by IEEE-754, so every machine gets the same
 * bits. Within about 1 ulp of libm's exp for normal results, which no sampling decision notices.
 */
static double sample_exp(double x) {
    if (x != x || x < -745.2) return 0.0; /* NaN counts as impossible; below the smallest subnormal */
    if (x > 709.7) return HUGE_VAL;
    static const double inv_ln2 = 1.44269504088896338700e+00;
    static const double ln2_hi = 6.93147180369123816490e-01; /* low 32 bits zero: k * ln2_hi is exact */
    static const double ln2_lo = 1.90821492927058770002e-10;
    double kd = floor(x * inv_ln2 + 0.5);
    double r = (x - kd * ln2_hi) - kd * ln2_lo;
    double q = 1.0 / 6227020800.0; /* 1/13! */
    q = 1.0 / 479001600.0 + r * q;
    q = 1.0 / 39916800.0 + r * q;
    q = 1.0 / 3628800.0 + r * q;
    q = 1.0 / 362880.0 + r * q;
    q = 1.0 / 40320.0 + r * q;
    q = 1.0 / 5040.0 + r * q;
    q = 1.0 / 720.0 + r * q;
    q = 1.0 / 120.0 + r * q;
    q = 1.0 / 24.0 + r * q;
    q = 1.0 / 6.0 + r * q;
    q = 0.5 + r * q;
    q = 1.0 + r * q;
    q = 1.0 + r * q;
    return ldexp(q, (int)kd);
}

/* ---- chain ------------------------------------------------------------------------------------ */

cirrus_status smp_chain_new(const smp_params *p, int32_t n_vocab, smp_chain **out) {
    *out = NULL;
    cirrus_status st = smp_params_check(p, n_vocab, NULL);
    if (st != CIRRUS_OK) return st;
    smp_chain *c = calloc(1, sizeof *c);
    if (!c) return CIRRUS_ERR_NOMEM;
    c->p = *p;
    c->n_vocab = n_vocab;
    c->cands = calloc((size_t)n_vocab, sizeof *c->cands);
    c->probs = calloc((size_t)n_vocab, sizeof *c->probs);
    c->counts = calloc((size_t)n_vocab, sizeof *c->counts);
    if (p->n_bias > 0) {
        c->bias = malloc(p->n_bias * sizeof *c->bias);
        if (c->bias) memcpy(c->bias, p->bias, p->n_bias * sizeof *c->bias);
    }
    if (!c->cands || !c->probs || !c->counts || (p->n_bias > 0 && !c->bias)) {
        smp_chain_free(c);
        return CIRRUS_ERR_NOMEM;
    }
    c->p.bias = c->bias;
    uint64_t x = p->seed;
    for (int i = 0; i < 4; i++) c->rng[i] = splitmix64(&x);
    *out = c;
    return CIRRUS_OK;
}

void smp_chain_free(smp_chain *c) {
    if (!c) return;
    for (int i = 0; i < c->n_procs; i++)
        if (c->procs[i].free) c->procs[i].free(&c->procs[i]);
    free(c->cands);
    free(c->probs);
    free(c->counts);
    free(c->bias);
    free(c);
}

cirrus_status smp_chain_add(smp_chain *c, const smp_proc *proc) {
    if (!c || !proc || !proc->apply) return CIRRUS_ERR_INVALID;
    if (c->n_procs >= SMP_MAX_PROCS) return CIRRUS_ERR_FULL;
    c->procs[c->n_procs++] = *proc;
    return CIRRUS_OK;
}

size_t smp_chain_last_cands(const smp_chain *c, const smp_cand **out) {
    *out = c->cands;
    return c->n_last;
}

/* ---- ordering --------------------------------------------------------------------------------- */

/* The total order every sampler agrees on: higher logit first, ties to the lower id. */
static bool better(const smp_cand *a, const smp_cand *b) {
    return a->logit > b->logit || (a->logit == b->logit && a->id < b->id);
}

static int cmp_cand_desc(const void *pa, const void *pb) {
    const smp_cand *a = pa, *b = pb;
    if (better(a, b)) return -1;
    if (better(b, a)) return 1;
    return 0;
}

static void swap_cand(smp_cand *a, smp_cand *b) {
    smp_cand t = *a;
    *a = *b;
    *b = t;
}

/* Sift down in a heap whose root is the WORST element (so the root is what top-k evicts). */
static void heap_sift_worst(smp_cand *h, size_t n, size_t i) {
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, w = i;
        if (l < n && better(&h[w], &h[l])) w = l;
        if (r < n && better(&h[w], &h[r])) w = r;
        if (w == i) return;
        swap_cand(&h[i], &h[w]);
        i = w;
    }
}

/* Moves the k best of d[0..n) to d[0..k), sorted descending, in O(n log k) with a bounded heap
 * instead of sorting a 150k vocabulary to keep 40. Evicted candidates are swapped, not
 * overwritten: d stays a permutation, so top-p can retry with a larger k. */
static void select_top(smp_cand *d, size_t n, size_t k) {
    for (size_t i = k / 2; i-- > 0;) heap_sift_worst(d, k, i);
    for (size_t i = k; i < n; i++) {
        if (better(&d[i], &d[0])) {
            swap_cand(&d[0], &d[i]);
            heap_sift_worst(d, k, 0);
        }
    }
    /* Heapsort: moving the worst to the end each time leaves the best first. */
    for (size_t m = k; m > 1; m--) {
        swap_cand(&d[0], &d[m - 1]);
        heap_sift_worst(d, m - 1, 0);
    }
}

static void top_k(smp_cands *c, size_t k) {
    if (k >= c->n) return;
    select_top(c->data, c->n, k);
    c->n = k;
    c->sorted = true;
}

static float max_logit(const smp_cands *c) {
    if (c->sorted) return c->data[0].logit;
    float m = -INFINITY;
    for (size_t i = 0; i < c->n; i++)
        if (c->data[i].logit > m) m = c->data[i].logit;
    return m;
}

/* Cuts the sorted d[0..n) after the first i whose prefix mass reaches target; returns the new
 * count, or 0 if the prefix never gets there. */
static size_t mass_cut(const smp_cand *d, size_t n, double m, double target) {
    double cum = 0.0;
    for (size_t i = 0; i < n; i++) {
        cum += sample_exp((double)d[i].logit - m);
        if (cum >= target) return i + 1;
    }
    return 0;
}

/*
 * Smallest prefix (by descending probability) whose mass reaches top_p of the total; the token
 * that crosses the threshold is kept, as in llama.cpp. The total is summed in the array's order on
 * entry; the prefix in sorted order. Real next-token distributions put that mass in a few hundred
 * tokens, so rather than sorting the whole vocabulary (qsort of 150k: ~50 ms here) we select the
 * top 256, 1024, ... until the mass is reached, and sort fully only for a flat distribution. The
 * selected prefix is the sorted prefix, so the cut is the same as after a full sort.
 */
static void top_p(smp_cands *c, float p) {
    if (p >= 1.0f || c->n <= 1) return;
    double m = (double)max_logit(c), total = 0.0;
    for (size_t i = 0; i < c->n; i++) total += sample_exp((double)c->data[i].logit - m);
    double target = (double)p * total;
    size_t cut = 0;
    if (!c->sorted) {
        for (size_t k = 256; k < c->n / 2 && cut == 0; k *= 4) {
            select_top(c->data, c->n, k);
            cut = mass_cut(c->data, k, m, target);
        }
        if (cut == 0) qsort(c->data, c->n, sizeof *c->data, cmp_cand_desc);
        c->sorted = true;
    }
    if (cut == 0) cut = mass_cut(c->data, c->n, m, target);
    if (cut > 0) c->n = cut; /* 0 only if rounding kept the full sum below target: keep all */
}

/*
 * Keeps tokens with p >= min_p * p_max, i.e. sample_exp(logit - max) >= min_p. Comparing logits
 * against max + log(min_p) avoids an exp per token, but libm's log may differ in the last bit
 * between machines; so only tokens clearly on one side (by 1e-9 relative, far above log's error) are
 * decided that way, and the rare token near the threshold is decided by the deterministic exp.
 */
static void min_p(smp_cands *c, float p) {
    if (p <= 0.0f || c->n <= 1) return;
    double m = (double)max_logit(c), thr = m + log((double)p);
    double band = 1e-9 * (1.0 + fabs(thr)); /* relative: an ulp of a large thr exceeds 1e-9 */
    size_t k = 0;
    for (size_t i = 0; i < c->n; i++) {
        double l = (double)c->data[i].logit;
        bool keep = l > thr + band || (l >= thr - band && sample_exp(l - m) >= (double)p);
        if (keep) c->data[k++] = c->data[i];
    }
    c->n = k; /* the max always survives (exp(0) = 1 >= p), and the order is preserved */
}

/* ---- the steps before the custom processors ---------------------------------------------------- */

/* Copies logits into cands (id order, invariant 1) with the bias applied; a ban is -inf, removed
 * by tidy() after the penalties. NaN from a broken model counts as banned too. Duplicate ids in
 * the bias list add up. */
static void load_and_bias(smp_chain *c, const float *logits) {
    smp_cand *cd = c->cands;
    for (int32_t i = 0; i < c->n_vocab; i++) {
        float l = logits[i];
        cd[i].id = i;
        cd[i].logit = l != l ? -INFINITY : l;
    }
    for (size_t i = 0; i < c->p.n_bias; i++) {
        const smp_bias *b = &c->bias[i];
        if (b->bias <= -100.0f) cd[b->id].logit = -INFINITY;
        else cd[b->id].logit += b->bias;
    }
}

/*
 * llama.cpp's repeat penalty and OpenAI's presence / frequency penalties over the same window:
 * the last repeat_last_n tokens of the history (of the generated part only unless penalize_prompt).
 * Counting through c->counts keeps it O(window) per token rather than O(n_vocab).
 */
static void penalties(smp_chain *c, const smp_history *h) {
    const smp_params *p = &c->p;
    if (!h || !h->ids || h->n == 0 || p->repeat_last_n == 0) return;
    if (p->repeat_penalty == 1.0f && p->presence_penalty == 0.0f && p->frequency_penalty == 0.0f) return;
    size_t start = p->penalize_prompt ? 0 : (h->n_prompt < h->n ? h->n_prompt : h->n);
    size_t last_n = p->repeat_last_n > 0 ? (size_t)p->repeat_last_n : SIZE_MAX; /* -1: whole history */
    if (h->n - start > last_n) start = h->n - last_n;
    for (size_t i = start; i < h->n; i++) {
        int32_t id = h->ids[i];
        if (id >= 0 && id < c->n_vocab) c->counts[id]++;
    }
    for (size_t i = start; i < h->n; i++) {
        int32_t id = h->ids[i];
        if (id < 0 || id >= c->n_vocab || c->counts[id] == 0) continue;
        int32_t count = c->counts[id];
        c->counts[id] = 0; /* once per distinct id, and restores invariant 3 */
        float *l = &c->cands[id].logit;
        if (p->repeat_penalty != 1.0f) *l = *l <= 0.0f ? *l * p->repeat_penalty : *l / p->repeat_penalty;
        *l -= (float)count * p->frequency_penalty + (count > 0 ? p->presence_penalty : 0.0f);
    }
}

/* Invariant 2: drops -inf / NaN candidates and clamps +inf (a huge logit divided by a repeat
 * penalty < 1 overflows float) so max - logit never computes inf - inf. Keeps the order. */
static size_t tidy(smp_cand *cd, size_t n) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        float l = cd[i].logit;
        if (!(l > -INFINITY)) continue;
        cd[k] = cd[i];
        if (l > FLT_MAX) cd[k].logit = FLT_MAX;
        k++;
    }
    return k;
}

/* ---- selection -------------------------------------------------------------------------------- */

static int32_t argmax(const smp_cand *cd, size_t n) {
    size_t b = 0;
    for (size_t i = 1; i < n; i++)
        if (better(&cd[i], &cd[b])) b = i;
    return cd[b].id;
}

static int32_t raw_argmax(const float *logits, int32_t n) {
    int32_t b = 0;
    for (int32_t i = 1; i < n; i++)
        if (logits[i] > logits[b] || logits[b] != logits[b]) b = i;
    return b;
}

/* softmax(logit / T) in double, then a draw by cumulative sum in the candidates' current
 * (deterministic) order. Dividing the difference to the max keeps everything finite for any T. */
static int32_t draw(smp_chain *c, smp_cands *cs) {
    double m = (double)max_logit(cs), t = (double)c->p.temperature, sum = 0.0;
    double *w = c->probs;
    for (size_t i = 0; i < cs->n; i++) sum += (w[i] = sample_exp(((double)cs->data[i].logit - m) / t));
    double u = rng_uniform(c->rng) * sum, cum = 0.0;
    size_t last = 0;
    for (size_t i = 0; i < cs->n; i++) {
        if (w[i] <= 0.0) continue;
        last = i;
        cum += w[i];
        if (u < cum) return cs->data[i].id;
    }
    return cs->data[last].id; /* u rounded to just below sum: the last possible token */
}

/* ---- logprobs --------------------------------------------------------------------------------- */

/* From the raw logits (what the model believes), never the processed ones: the API must not reveal
 * bias, penalties or the watermark. Plain libm here: these are reported numbers, not decisions. */
static void fill_logprobs(const float *logits, int32_t n_vocab, int32_t id, int n_top, smp_logprobs *lp) {
    double m = -INFINITY;
    for (int32_t i = 0; i < n_vocab; i++)
        if (logits[i] > m) m = logits[i];
    double sum = 0.0;
    if (m > -INFINITY) {
        for (int32_t i = 0; i < n_vocab; i++)
            if (logits[i] > -INFINITY) sum += exp((double)logits[i] - m);
    }
    double log_z = m + log(sum); /* -inf if every logit is -inf / NaN */
    lp->id = id;
    lp->logprob = logits[id] != logits[id] ? -INFINITY : (float)((double)logits[id] - log_z);
    if (n_top > SMP_MAX_TOP_LOGPROBS) n_top = SMP_MAX_TOP_LOGPROBS;
    if (n_top > n_vocab) n_top = n_vocab;
    /* Insertion into a sorted array of at most 20: almost every logit loses the first comparison. */
    int k = 0;
    for (int32_t i = 0; i < n_vocab && n_top > 0; i++) {
        float l = logits[i] != logits[i] ? -INFINITY : logits[i];
        smp_cand x = {i, l};
        if (k == n_top) {
            smp_cand worst = {lp->top_ids[k - 1], lp->top_logprobs[k - 1]};
            if (!better(&x, &worst)) continue;
            k--;
        }
        int j = k++;
        while (j > 0) {
            smp_cand prev = {lp->top_ids[j - 1], lp->top_logprobs[j - 1]};
            if (!better(&x, &prev)) break;
            lp->top_ids[j] = lp->top_ids[j - 1];
            lp->top_logprobs[j] = lp->top_logprobs[j - 1];
            j--;
        }
        lp->top_ids[j] = i;
        lp->top_logprobs[j] = l; /* raw logit for now, converted below */
    }
    for (int j = 0; j < k; j++) lp->top_logprobs[j] = (float)((double)lp->top_logprobs[j] - log_z);
    lp->n_top = k;
}

/* ---- one step --------------------------------------------------------------------------------- */

int32_t smp_sample(smp_chain *c, const float *logits, const smp_history *h, int n_logprobs,
                   smp_logprobs *lp) {
    static const smp_history no_history = {NULL, 0, 0};
    if (!h) h = &no_history; /* processors always get a history, possibly empty */
    smp_cands cs = {c->cands, (size_t)c->n_vocab, false};
    load_and_bias(c, logits);
    penalties(c, h);
    cs.n = tidy(cs.data, cs.n);
    for (int i = 0; i < c->n_procs && cs.n > 0; i++) {
        c->procs[i].apply(&c->procs[i], &cs, h);
        /* A processor may ban by writing -inf: keep invariant 2 for the samplers. */
        if (cs.n > (size_t)c->n_vocab) cs.n = 0; /* a processor that grew n is a bug: fall back */
        cs.n = tidy(cs.data, cs.n);
    }

    int32_t id;
    if (cs.n == 0) {
        c->n_last = 0;
        id = raw_argmax(logits, c->n_vocab);
    } else if (c->p.temperature == 0.0f) {
        c->n_last = cs.n;
        id = argmax(cs.data, cs.n);
    } else {
        if (c->p.top_k > 0) top_k(&cs, (size_t)c->p.top_k);
        top_p(&cs, c->p.top_p);
        min_p(&cs, c->p.min_p);
        c->n_last = cs.n;
        id = draw(c, &cs);
    }
    if (lp && n_logprobs >= 0) fill_logprobs(logits, c->n_vocab, id, n_logprobs, lp);
    return id;
}
