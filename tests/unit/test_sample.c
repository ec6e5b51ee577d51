/* sample: parameters, processors, samplers, determinism, logprobs, stop sequences. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sample/sample.h"

/* Fully-specified params (no truncation, T=1) that tests then adjust. */
static smp_params plain(void) {
    smp_params p;
    smp_params_default(&p);
    p.temperature = 1.0f;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    return p;
}

static smp_chain *chain(const smp_params *p, int32_t n_vocab) {
    smp_chain *c = NULL;
    cirrus_status st = smp_chain_new(p, n_vocab, &c);
    CHECK_MSG(st == CIRRUS_OK, "smp_chain_new: %s", cirrus_status_str(st));
    return c;
}

static bool cand_has(const smp_cand *cd, size_t n, int32_t id) {
    for (size_t i = 0; i < n; i++)
        if (cd[i].id == id) return true;
    return false;
}

/* log(p) for a hand-made distribution: its softmax is exactly p. */
static void logits_from_probs(float *l, const double *p, int n) {
    for (int i = 0; i < n; i++) l[i] = (float)log(p[i]);
}

static void test_params(void) {
    smp_params p;
    smp_params_default(&p);
    CHECK(p.temperature == 0.8f && p.top_k == 40 && p.top_p == 0.95f && p.min_p == 0.05f);
    CHECK(p.repeat_penalty == 1.0f && p.repeat_last_n == 64 && p.presence_penalty == 0.0f);
    CHECK(p.frequency_penalty == 0.0f && !p.penalize_prompt && p.seed == 0 && p.n_bias == 0 && !p.bias);
    cirrus_err err = {{0}};
    CHECK(smp_params_check(&p, 32000, &err) == CIRRUS_OK);

    smp_params q;
#define EXPECT_BAD(mutation, want)                                                             \
    do {                                                                                       \
        q = p;                                                                                 \
        mutation;                                                                              \
        memset(&err, 0, sizeof err);                                                           \
        CHECK(smp_params_check(&q, 32000, &err) != CIRRUS_OK);                                 \
        CHECK_MSG(strcmp(err.msg, want) == 0, "got '%s', want '%s'", err.msg, want);           \
    } while (0)
    EXPECT_BAD(q.temperature = 2.5f, "temperature: 2.5 out of range [0, 2]");
    EXPECT_BAD(q.temperature = -0.1f, "temperature: -0.1 out of range [0, 2]");
    EXPECT_BAD(q.temperature = NAN, "temperature: nan out of range [0, 2]");
    EXPECT_BAD(q.top_p = 0.0f, "top_p: 0 out of range (0, 1]");
    EXPECT_BAD(q.top_p = 1.5f, "top_p: 1.5 out of range (0, 1]");
    EXPECT_BAD(q.min_p = -0.5f, "min_p: -0.5 out of range [0, 1]");
    EXPECT_BAD(q.min_p = 2.0f, "min_p: 2 out of range [0, 1]");
    EXPECT_BAD(q.repeat_penalty = 0.0f, "repeat_penalty: 0 must be > 0");
    EXPECT_BAD(q.repeat_last_n = -2, "repeat_last_n: -2 must be >= -1 (-1 = whole history)");
    EXPECT_BAD(q.presence_penalty = 2.5f, "presence_penalty: 2.5 out of range [-2, 2]");
    EXPECT_BAD(q.frequency_penalty = -3.0f, "frequency_penalty: -3 out of range [-2, 2]");
    smp_bias b1[] = {{5, 1.0f}, {99999, 2.0f}};
    EXPECT_BAD((q.bias = b1, q.n_bias = 2), "logit_bias: token id 99999 out of range [0, 32000)");
    smp_bias b2[] = {{-1, 1.0f}};
    EXPECT_BAD((q.bias = b2, q.n_bias = 1), "logit_bias: token id -1 out of range [0, 32000)");
    smp_bias b3[] = {{7, 150.0f}};
    EXPECT_BAD((q.bias = b3, q.n_bias = 1), "logit_bias: value 150 for token id 7 out of range [-100, 100]");
    EXPECT_BAD((q.bias = NULL, q.n_bias = 3), "logit_bias: 3 entries but no array");
#undef EXPECT_BAD

    /* Edges that are allowed. */
    q = p;
    q.temperature = 0.0f;
    q.top_p = 1.0f;
    q.min_p = 1.0f;
    q.top_k = -5;
    q.repeat_last_n = -1;
    q.presence_penalty = -2.0f;
    q.frequency_penalty = 2.0f;
    smp_bias b4[] = {{0, -100.0f}, {31999, 100.0f}};
    q.bias = b4;
    q.n_bias = 2;
    CHECK(smp_params_check(&q, 32000, &err) == CIRRUS_OK);

    /* smp_chain_new refuses what the check refuses. */
    q = p;
    q.top_p = 0.0f;
    smp_chain *c = (smp_chain *)&q;
    CHECK(smp_chain_new(&q, 100, &c) != CIRRUS_OK && c == NULL);
}

static void test_greedy(void) {
    smp_params p = plain();
    p.temperature = 0.0f;
    smp_chain *c = chain(&p, 6);
    float l[6] = {0.1f, 2.0f, -1.0f, 3.5f, 3.0f, 0.0f};
    CHECK(smp_sample(c, l, NULL, -1, NULL) == 3);
    float tie[6] = {1.0f, 4.0f, 2.0f, 4.0f, 4.0f, 0.0f};
    CHECK(smp_sample(c, tie, NULL, -1, NULL) == 1); /* ties go to the lowest id */
    float neg[6] = {-5.0f, -3.0f, -4.0f, -9.0f, -3.5f, -7.0f};
    CHECK(smp_sample(c, neg, NULL, -1, NULL) == 1);
    smp_chain_free(c);

    /* Greedy ignores truncation settings entirely. */
    smp_params d;
    smp_params_default(&d);
    d.temperature = 0.0f;
    c = chain(&d, 6);
    CHECK(smp_sample(c, l, NULL, -1, NULL) == 3);
    smp_chain_free(c);
}

static void test_bias(void) {
    float l[5] = {1.0f, 5.0f, 2.0f, 0.0f, -1.0f};
    smp_params p = plain();
    p.temperature = 0.0f;
    smp_bias ban[] = {{1, -100.0f}};
    p.bias = ban;
    p.n_bias = 1;
    smp_chain *c = chain(&p, 5);
    CHECK(smp_sample(c, l, NULL, -1, NULL) == 2);
    const smp_cand *cd;
    size_t n = smp_chain_last_cands(c, &cd);
    CHECK(n == 4 && !cand_has(cd, n, 1)); /* banned means gone, not just lowered */
    smp_chain_free(c);

    smp_bias boost[] = {{4, 7.0f}, {0, -0.5f}};
    p.bias = boost;
    p.n_bias = 2;
    c = chain(&p, 5);
    CHECK(smp_sample(c, l, NULL, -1, NULL) == 4); /* -1 + 7 = 6 > 5 */
    n = smp_chain_last_cands(c, &cd);
    CHECK(n == 5 && cd[0].id == 0 && cd[0].logit == 0.5f && cd[4].logit == 6.0f);
    smp_chain_free(c);

    /* The chain copies the bias list: changing the caller's array afterwards has no effect. */
    smp_bias mine[] = {{3, 50.0f}};
    p.bias = mine;
    p.n_bias = 1;
    c = chain(&p, 5);
    mine[0].id = 2;
    CHECK(smp_sample(c, l, NULL, -1, NULL) == 3);
    smp_chain_free(c);

    /* A banned token is never drawn, even at high temperature. */
    p = plain();
    p.temperature = 2.0f;
    smp_bias ban2[] = {{1, -100.0f}, {2, -150.0f}};
    p.bias = ban2;
    p.n_bias = 1; /* -150 would fail the check; -100 is the ban */
    c = chain(&p, 5);
    bool ok = true;
    for (int i = 0; i < 2000; i++) ok &= smp_sample(c, l, NULL, -1, NULL) != 1;
    CHECK(ok);
    smp_chain_free(c);

    /* Everything banned: falls back to the raw argmax instead of an invalid id. */
    p = plain();
    smp_bias all[] = {{0, -100.0f}, {1, -100.0f}, {2, -100.0f}, {3, -100.0f}, {4, -100.0f}};
    p.bias = all;
    p.n_bias = 5;
    c = chain(&p, 5);
    CHECK(smp_sample(c, l, NULL, -1, NULL) == 1);
    CHECK(smp_chain_last_cands(c, &cd) == 0);
    smp_chain_free(c);
}

static void test_penalties(void) {
    float l[5] = {2.0f, -1.0f, 0.5f, 3.0f, 1.0f};
    int32_t ids[] = {0, 1, 1, 4, 4, 4};
    smp_history h = {ids, 6, 0};
    const smp_cand *cd;

    smp_params p = plain();
    p.temperature = 0.0f;
    p.repeat_penalty = 2.0f;
    p.frequency_penalty = 0.5f;
    p.presence_penalty = 0.25f;
    p.penalize_prompt = true;
    p.repeat_last_n = -1;
    smp_chain *c = chain(&p, 5);
    CHECK(smp_sample(c, l, &h, -1, NULL) == 3);
    CHECK(smp_chain_last_cands(c, &cd) == 5);
    CHECK_NEAR(cd[0].logit, 2.0 / 2 - (1 * 0.5 + 0.25), 1e-6);  /* positive: divided */
    CHECK_NEAR(cd[1].logit, -1.0 * 2 - (2 * 0.5 + 0.25), 1e-6); /* negative: multiplied */
    CHECK_NEAR(cd[2].logit, 0.5, 0);
    CHECK_NEAR(cd[3].logit, 3.0, 0);
    CHECK_NEAR(cd[4].logit, 1.0 / 2 - (3 * 0.5 + 0.25), 1e-6);
    /* Counts are reset between calls: the same call gives the same numbers. */
    smp_sample(c, l, &h, -1, NULL);
    smp_chain_last_cands(c, &cd);
    CHECK_NEAR(cd[4].logit, 1.0 / 2 - (3 * 0.5 + 0.25), 1e-6);
    smp_chain_free(c);

    /* OpenAI default: the prompt (first 3 ids) is not penalised. */
    p.penalize_prompt = false;
    h.n_prompt = 3;
    c = chain(&p, 5);
    smp_sample(c, l, &h, -1, NULL);
    smp_chain_last_cands(c, &cd);
    CHECK_NEAR(cd[0].logit, 2.0, 0);
    CHECK_NEAR(cd[1].logit, -1.0, 0);
    CHECK_NEAR(cd[4].logit, 1.0 / 2 - (3 * 0.5 + 0.25), 1e-6);
    smp_chain_free(c);

    /* Window: only the last 2 tokens (4, 4). */
    p.penalize_prompt = true;
    p.repeat_last_n = 2;
    c = chain(&p, 5);
    smp_sample(c, l, &h, -1, NULL);
    smp_chain_last_cands(c, &cd);
    CHECK_NEAR(cd[0].logit, 2.0, 0);
    CHECK_NEAR(cd[1].logit, -1.0, 0);
    CHECK_NEAR(cd[4].logit, 1.0 / 2 - (2 * 0.5 + 0.25), 1e-6);
    smp_chain_free(c);

    /* repeat_last_n = 0 turns every penalty off; a penalty can change the greedy choice. */
    p.repeat_last_n = 0;
    c = chain(&p, 5);
    smp_sample(c, l, &h, -1, NULL);
    smp_chain_last_cands(c, &cd);
    CHECK_NEAR(cd[4].logit, 1.0, 0);
    smp_chain_free(c);
    p.repeat_last_n = 64;
    p.repeat_penalty = 1.0f;
    p.frequency_penalty = 2.0f;
    p.presence_penalty = 0.0f;
    int32_t again[] = {3};
    smp_history h3 = {again, 1, 0};
    c = chain(&p, 5);
    CHECK(smp_sample(c, l, &h3, -1, NULL) == 0); /* 3 - 2 = 1 < 2 */
    smp_chain_free(c);
}

/* Fixed pseudo-random logits: a simple LCG so the test data does not depend on libc's rand(). */
static void fill_logits(float *l, int n, uint32_t seed) {
    for (int i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        l[i] = (float)((seed >> 8) % 20000) / 1000.0f - 10.0f;
    }
}

static int cmp_desc(const void *a, const void *b) {
    const smp_cand *x = a, *y = b;
    if (x->logit != y->logit) return x->logit > y->logit ? -1 : 1;
    return x->id < y->id ? -1 : 1;
}

static void test_top_k(void) {
    enum { V = 151936 };
    float *l = malloc(V * sizeof *l);
    smp_cand *ref = malloc(V * sizeof *ref);
    fill_logits(l, V, 7);
    l[1000] = l[2000] = 11.0f; /* a tie at the top */
    for (int i = 0; i < V; i++) ref[i] = (smp_cand){i, l[i]};
    qsort(ref, V, sizeof *ref, cmp_desc);

    int ks[] = {1, 2, 40, 1000};
    for (size_t t = 0; t < sizeof ks / sizeof ks[0]; t++) {
        smp_params p = plain();
        p.top_k = ks[t];
        smp_chain *c = chain(&p, V);
        int32_t id = smp_sample(c, l, NULL, -1, NULL);
        const smp_cand *cd;
        size_t n = smp_chain_last_cands(c, &cd);
        CHECK_MSG(n == (size_t)ks[t], "k=%d n=%zu", ks[t], n);
        bool same = true;
        for (size_t i = 0; i < n; i++) same &= cd[i].id == ref[i].id && cd[i].logit == ref[i].logit;
        CHECK_MSG(same, "top-%d differs from a full sort", ks[t]);
        CHECK(cand_has(cd, n, id));
        smp_chain_free(c);
    }
    /* k = 1 is greedy with ties to the lower id. */
    CHECK(ref[0].id == 1000);

    /* Sampling: only the top 5 ever appear, and all of them do. */
    smp_params p = plain();
    p.top_k = 5;
    p.temperature = 2.0f;
    float small[50];
    for (int i = 0; i < 50; i++) small[i] = (float)((i * 37) % 50) / 10.0f; /* a permutation */
    smp_chain *c = chain(&p, 50);
    int seen[50] = {0};
    for (int i = 0; i < 5000; i++) seen[smp_sample(c, small, NULL, -1, NULL)]++;
    int outside = 0, inside = 0;
    for (int i = 0; i < 50; i++) {
        bool top5 = small[i] >= 4.5f;
        if (top5 && seen[i]) inside++;
        if (!top5 && seen[i]) outside++;
    }
    CHECK(inside == 5 && outside == 0);
    smp_chain_free(c);
    free(l);
    free(ref);
}

static void test_top_p_min_p(void) {
    const double pr[6] = {0.05, 0.4, 0.25, 0.15, 0.1, 0.05};
    float l[6];
    logits_from_probs(l, pr, 6);
    const smp_cand *cd;

    struct {
        float top_p, min_p;
        int want[6]; /* 1 = must be kept */
    } cases[] = {
        {0.3f, 0.0f, {0, 1, 0, 0, 0, 0}},  /* 0.4 >= 0.3 */
        {0.6f, 0.0f, {0, 1, 1, 0, 0, 0}},  /* 0.4 < 0.6 <= 0.65 */
        {0.7f, 0.0f, {0, 1, 1, 1, 0, 0}},  /* 0.65 < 0.7 <= 0.8 */
        {0.85f, 0.0f, {0, 1, 1, 1, 1, 0}}, /* 0.8 < 0.85 <= 0.9 */
        {1.0f, 0.0f, {1, 1, 1, 1, 1, 1}},
        {1.0f, 0.3f, {0, 1, 1, 1, 0, 0}},  /* p >= 0.12 */
        {1.0f, 0.5f, {0, 1, 1, 0, 0, 0}},  /* p >= 0.2 */
        {1.0f, 1.0f, {0, 1, 0, 0, 0, 0}},
        {0.7f, 0.5f, {0, 1, 1, 0, 0, 0}},  /* top-p keeps 1,2,3; min-p drops 3 */
    };
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        smp_params p = plain();
        p.top_p = cases[t].top_p;
        p.min_p = cases[t].min_p;
        p.seed = 1234 + t;
        smp_chain *c = chain(&p, 6);
        int count[6] = {0};
        for (int i = 0; i < 3000; i++) count[smp_sample(c, l, NULL, -1, NULL)]++;
        size_t n = smp_chain_last_cands(c, &cd);
        size_t want_n = 0;
        bool ok = true;
        for (int i = 0; i < 6; i++) {
            want_n += (size_t)cases[t].want[i];
            ok &= cand_has(cd, n, i) == (bool)cases[t].want[i];
            ok &= (count[i] > 0) == (bool)cases[t].want[i]; /* kept tokens do show up in 3000 draws */
        }
        CHECK_MSG(ok && n == want_n, "case %zu (top_p %g, min_p %g): n=%zu", t, (double)cases[t].top_p,
                  (double)cases[t].min_p, n);
        smp_chain_free(c);
    }

    /* top-k then top-p: top-p measures mass among what top-k left (llama.cpp order). */
    smp_params p = plain();
    p.top_k = 3;   /* keeps 0.4, 0.25, 0.15 -> renormalised 0.5, 0.3125, 0.1875 */
    p.top_p = 0.6f; /* 0.5 < 0.6 <= 0.8125 */
    smp_chain *c = chain(&p, 6);
    smp_sample(c, l, NULL, -1, NULL);
    size_t n = smp_chain_last_cands(c, &cd);
    CHECK(n == 2 && cd[0].id == 1 && cd[1].id == 2);
    smp_chain_free(c);
}

/* Top-p on a big vocabulary without top-k: the escalating partial selection must keep exactly
 * what a full sort keeps. Logits fall linearly with rank (ids scattered), and top_p sits halfway
 * between two prefix masses, so the expected count is unambiguous in any rounding. */
static void test_top_p_large(void) {
    enum { V = 50000 };
    float *l = malloc(V * sizeof *l);
    const struct {
        double slope;
        int j; /* 0-based rank of the last token kept */
    } cases[] = {{0.002, 1000}, {0.002, 100}, {0.00002, 40000}};
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        for (int r = 0; r < V; r++) l[(int)(((int64_t)r * 7919) % V)] = (float)(-cases[t].slope * r);
        double total = 0, before = 0, upto = 0;
        for (int r = 0; r < V; r++) {
            double w = exp((double)(float)(-cases[t].slope * r));
            total += w;
            if (r < cases[t].j) before += w;
            if (r <= cases[t].j) upto += w;
        }
        smp_params p = plain();
        p.top_p = (float)((before + upto) / 2 / total);
        smp_chain *c = chain(&p, V);
        smp_sample(c, l, NULL, -1, NULL);
        const smp_cand *cd;
        size_t n = smp_chain_last_cands(c, &cd);
        bool prefix = n == (size_t)cases[t].j + 1;
        for (size_t i = 0; prefix && i < n; i++) prefix = cd[i].id == (int32_t)(((int64_t)i * 7919) % V);
        CHECK_MSG(prefix, "slope %g: kept %zu, want the top %d", cases[t].slope, n, cases[t].j + 1);
        smp_chain_free(c);
    }
    free(l);
}

static double chi_square(const double *p, const int *count, int n, int draws) {
    double x2 = 0;
    for (int i = 0; i < n; i++) {
        double e = p[i] * draws;
        x2 += (count[i] - e) * (count[i] - e) / e;
    }
    return x2;
}

static void test_temperature(void) {
    const float l[6] = {1.0f, 0.5f, 0.0f, -0.5f, -1.0f, 2.0f};
    const float temps[] = {0.5f, 1.0f, 1.7f};
    for (size_t t = 0; t < 3; t++) {
        double p[6], z = 0;
        for (int i = 0; i < 6; i++) z += (p[i] = exp(l[i] / temps[t]));
        for (int i = 0; i < 6; i++) p[i] /= z;
        smp_params sp = plain();
        sp.temperature = temps[t];
        sp.seed = 99;
        smp_chain *c = chain(&sp, 6);
        int count[6] = {0};
        enum { DRAWS = 20000 };
        for (int i = 0; i < DRAWS; i++) count[smp_sample(c, l, NULL, -1, NULL)]++;
        /* 5 degrees of freedom: P(x2 > 30) is about 1.5e-5 for a correct sampler, and with a fixed
         * seed the value is the same on every run, so this cannot flake. A sampler that ignored
         * the temperature would score in the hundreds or thousands. */
        double x2 = chi_square(p, count, 6, DRAWS);
        CHECK_MSG(x2 < 30.0, "T=%g chi2=%g", (double)temps[t], x2);
        smp_chain_free(c);
    }
}

static void test_determinism(void) {
    float l[64];
    fill_logits(l, 64, 3);
    for (int i = 0; i < 64; i++) l[i] /= 4; /* flatter: many candidates in play */
    smp_params p = plain();
    p.seed = 42;
    int32_t a[200], b[200], d[200];
    smp_chain *c1 = chain(&p, 64), *c2 = chain(&p, 64);
    p.seed = 43;
    smp_chain *c3 = chain(&p, 64);
    for (int i = 0; i < 200; i++) {
        a[i] = smp_sample(c1, l, NULL, -1, NULL);
        b[i] = smp_sample(c2, l, NULL, -1, NULL);
        d[i] = smp_sample(c3, l, NULL, -1, NULL);
    }
    CHECK(memcmp(a, b, sizeof a) == 0);
    CHECK(memcmp(a, d, sizeof a) != 0);
    /* Golden ids for seed 42: the PRNG, the exp and the summation order are all ours and
     * platform-independent, so these must come out the same on every machine and compiler. */
    const int32_t golden[12] = {2, 24, 42, 60, 62, 45, 44, 52, 44, 34, 42, 19};
    bool same = true;
    for (int i = 0; i < 12; i++) same &= a[i] == golden[i];
    CHECK_MSG(same, "seed 42 sequence changed: %d %d %d %d %d %d %d %d %d %d %d %d", a[0], a[1], a[2], a[3], a[4], a[5],
              a[6], a[7], a[8], a[9], a[10], a[11]);
    smp_chain_free(c1);
    smp_chain_free(c2);
    smp_chain_free(c3);
}

static void test_logprobs(void) {
    const float l[5] = {1.0f, 3.0f, -2.0f, 3.0f, 0.5f};
    double z = 0;
    for (int i = 0; i < 5; i++) z += exp(l[i]);
    double lz = log(z);

    smp_params p = plain();
    p.temperature = 0.0f;
    smp_bias bias[] = {{2, 40.0f}, {1, -100.0f}};
    p.bias = bias;
    p.n_bias = 2;
    smp_chain *c = chain(&p, 5);
    smp_logprobs lp;
    memset(&lp, 0xff, sizeof lp);
    int32_t id = smp_sample(c, l, NULL, 3, &lp);
    CHECK(id == 2); /* the bias picked it ... */
    CHECK(lp.id == 2);
    CHECK_NEAR(lp.logprob, -2.0 - lz, 1e-5); /* ... but its logprob is the model's */
    CHECK(lp.n_top == 3);
    /* Sorted descending, ties by lower id; the banned id 1 is still listed. */
    CHECK(lp.top_ids[0] == 1 && lp.top_ids[1] == 3 && lp.top_ids[2] == 0);
    CHECK_NEAR(lp.top_logprobs[0], 3.0 - lz, 1e-5);
    CHECK_NEAR(lp.top_logprobs[1], 3.0 - lz, 1e-5);
    CHECK_NEAR(lp.top_logprobs[2], 1.0 - lz, 1e-5);

    smp_sample(c, l, NULL, 0, &lp);
    CHECK(lp.n_top == 0 && lp.id == 2);
    smp_sample(c, l, NULL, 100, &lp);
    CHECK(lp.n_top == 5 && lp.top_ids[4] == 2);
    double sum = 0;
    for (int i = 0; i < 5; i++) sum += exp(lp.top_logprobs[i]);
    CHECK_NEAR(sum, 1.0, 1e-5);
    lp.n_top = 77;
    smp_sample(c, l, NULL, -1, &lp);
    CHECK(lp.n_top == 77); /* n_logprobs < 0: untouched */
    smp_chain_free(c);

    /* Large vocabulary: capped at SMP_MAX_TOP_LOGPROBS, matches a full sort. */
    enum { V = 32000 };
    float *big = malloc(V * sizeof *big);
    smp_cand *ref = malloc(V * sizeof *ref);
    fill_logits(big, V, 11);
    for (int i = 0; i < V; i++) ref[i] = (smp_cand){i, big[i]};
    qsort(ref, V, sizeof *ref, cmp_desc);
    smp_params d;
    smp_params_default(&d);
    c = chain(&d, V);
    smp_sample(c, big, NULL, 50, &lp);
    CHECK(lp.n_top == SMP_MAX_TOP_LOGPROBS);
    bool ok = true;
    for (int i = 0; i < SMP_MAX_TOP_LOGPROBS; i++) ok &= lp.top_ids[i] == ref[i].id;
    CHECK(ok);
    smp_chain_free(c);
    free(big);
    free(ref);
}

/* A custom processor that bans odd ids (by -inf for half of them, by removal for the others, to
 * exercise both ways the header allows) and records what it saw. */
typedef struct {
    int applied, freed;
    size_t last_hist_n;
} odd_state;

static void odd_apply(smp_proc *p, smp_cands *c, const smp_history *h) {
    odd_state *s = p->state;
    s->applied++;
    s->last_hist_n = h ? h->n : 0;
    size_t k = 0;
    for (size_t i = 0; i < c->n; i++) {
        if (c->data[i].id % 2 == 0) c->data[k++] = c->data[i];
        else if (c->data[i].id % 4 == 1) c->data[k++] = (smp_cand){c->data[i].id, -INFINITY};
    }
    c->n = k;
}

static void odd_free(smp_proc *p) { ((odd_state *)p->state)->freed++; }

static void noop_apply(smp_proc *p, smp_cands *c, const smp_history *h) {
    (void)p, (void)c, (void)h;
}

static void test_custom(void) {
    odd_state st = {0};
    smp_params p = plain();
    p.temperature = 1.5f;
    smp_chain *c = chain(&p, 20);
    smp_proc proc = {"ban-odd", odd_apply, odd_free, &st};
    CHECK(smp_chain_add(c, &proc) == CIRRUS_OK);
    float l[20];
    for (int i = 0; i < 20; i++) l[i] = (i % 2) ? 5.0f : 0.0f; /* odd ids would win */
    int32_t hist[3] = {1, 2, 3};
    smp_history h = {hist, 3, 1};
    bool all_even = true;
    for (int i = 0; i < 1000; i++) all_even &= smp_sample(c, l, &h, -1, NULL) % 2 == 0;
    CHECK(all_even);
    CHECK(st.applied == 1000 && st.last_hist_n == 3);
    const smp_cand *cd;
    CHECK(smp_chain_last_cands(c, &cd) == 10);

    /* At most SMP_MAX_PROCS; a refused processor stays the caller's. */
    smp_proc noop = {"noop", noop_apply, NULL, NULL};
    for (int i = 1; i < SMP_MAX_PROCS; i++) CHECK(smp_chain_add(c, &noop) == CIRRUS_OK);
    CHECK(smp_chain_add(c, &noop) == CIRRUS_ERR_FULL);
    smp_proc bad = {"bad", NULL, NULL, NULL};
    CHECK(smp_chain_add(c, &bad) == CIRRUS_ERR_INVALID);
    CHECK(st.freed == 0);
    smp_chain_free(c);
    CHECK(st.freed == 1);

    /* Processors run after bias and penalties (they see the biased logits) and before greedy. */
    st = (odd_state){0};
    p.temperature = 0.0f;
    smp_bias b[] = {{4, 10.0f}};
    p.bias = b;
    p.n_bias = 1;
    c = chain(&p, 20);
    smp_chain_add(c, &proc);
    CHECK(smp_sample(c, l, NULL, -1, NULL) == 4);
    smp_chain_free(c);
    CHECK(st.freed == 1);
}

/* ---- stop sequences -------------------------------------------------------------------------- */

typedef struct {
    smp_stop s;
    char out[4096];
    size_t n;
} stream;

static void st_init(stream *t, const char *const *stops, int n) {
    memset(t, 0, sizeof *t);
    CHECK(smp_stop_init(&t->s, stops, n, NULL) == CIRRUS_OK);
}

static void st_push(stream *t, const char *text) {
    char buf[1024];
    size_t n = smp_stop_push(&t->s, text, strlen(text), buf, sizeof buf);
    memcpy(t->out + t->n, buf, n);
    t->n += n;
    t->out[t->n] = 0;
}

static void st_flush(stream *t) {
    char buf[1024];
    size_t n = smp_stop_flush(&t->s, buf, sizeof buf);
    memcpy(t->out + t->n, buf, n);
    t->n += n;
    t->out[t->n] = 0;
}

/* Reference: the stop that completes first (smallest end, then smallest start) over the whole text. */
static size_t ref_stop(const char *text, const char *const *stops, int n, bool *stopped) {
    size_t len = strlen(text), best_end = SIZE_MAX, best_start = SIZE_MAX;
    for (int j = 0; j < n; j++) {
        const char *hit = strstr(text, stops[j]);
        if (!hit) continue;
        size_t s = (size_t)(hit - text), e = s + strlen(stops[j]);
        if (e < best_end || (e == best_end && s < best_start)) best_end = e, best_start = s;
    }
    *stopped = best_start != SIZE_MAX;
    return *stopped ? best_start : len;
}

static void test_stop(void) {
    stream t;
    const char *end[] = {"END"};
    st_init(&t, end, 1);
    st_push(&t, "hello E");
    CHECK(strcmp(t.out, "hello ") == 0 && t.s.n_held == 1);
    st_push(&t, "N");
    CHECK(strcmp(t.out, "hello ") == 0);
    st_push(&t, "D and more");
    CHECK(strcmp(t.out, "hello ") == 0 && t.s.stopped);
    st_push(&t, "ignored");
    st_flush(&t);
    CHECK(strcmp(t.out, "hello ") == 0);

    /* A false start is released once it can no longer become a stop. */
    st_init(&t, end, 1);
    st_push(&t, "EN");
    CHECK(t.n == 0);
    st_push(&t, "x");
    CHECK(strcmp(t.out, "ENx") == 0 && !t.s.stopped);
    st_push(&t, "EEN");
    CHECK(strcmp(t.out, "ENxE") == 0);
    st_flush(&t);
    CHECK(strcmp(t.out, "ENxEEN") == 0 && !t.s.stopped);

    /* Held text plus a stop inside the new text. */
    st_init(&t, end, 1);
    st_push(&t, "E");
    st_push(&t, "xEND!");
    CHECK(strcmp(t.out, "Ex") == 0 && t.s.stopped);

    /* Split across many pushes, one byte at a time. */
    const char *im[] = {"<|im_end|>", "\n\nUser:"};
    st_init(&t, im, 2);
    const char *text = "Hi there<|im_end|>\n<|im_start|>user";
    for (const char *p = text; *p; p++) {
        char one[2] = {*p, 0};
        st_push(&t, one);
    }
    CHECK(strcmp(t.out, "Hi there") == 0 && t.s.stopped);

    /* Overlapping stops: the one that completes first wins, however the text is split. */
    const char *ov[] = {"abcd", "bc"};
    st_init(&t, ov, 2);
    st_push(&t, "xab");
    CHECK(strcmp(t.out, "x") == 0);
    st_push(&t, "cd");
    CHECK(strcmp(t.out, "xa") == 0 && t.s.stopped);
    st_init(&t, ov, 2);
    st_push(&t, "xabcd");
    CHECK(strcmp(t.out, "xa") == 0 && t.s.stopped);

    /* Self-overlapping stop: "aab" in "aaab". */
    const char *aab[] = {"aab"};
    st_init(&t, aab, 1);
    st_push(&t, "a");
    st_push(&t, "a");
    st_push(&t, "a");
    CHECK(strcmp(t.out, "a") == 0 && t.s.n_held == 2);
    st_push(&t, "b");
    CHECK(strcmp(t.out, "a") == 0 && t.s.stopped);

    /* No stops: everything passes through. */
    st_init(&t, NULL, 0);
    st_push(&t, "abc");
    st_flush(&t);
    CHECK(strcmp(t.out, "abc") == 0);

    /* A 256-byte stop split over pushes. */
    char longstop[SMP_MAX_STOP_LEN + 1];
    memset(longstop, 'z', SMP_MAX_STOP_LEN);
    longstop[SMP_MAX_STOP_LEN] = 0;
    const char *ls[] = {longstop};
    st_init(&t, ls, 1);
    st_push(&t, "ok ");
    for (int i = 0; i < SMP_MAX_STOP_LEN - 1; i++) st_push(&t, "z");
    CHECK(strcmp(t.out, "ok ") == 0 && t.s.n_held == SMP_MAX_STOP_LEN - 1);
    st_push(&t, "z tail");
    CHECK(strcmp(t.out, "ok ") == 0 && t.s.stopped);

    /* Init errors name the field. */
    smp_stop s;
    cirrus_err err;
    const char *five[] = {"a", "b", "c", "d", "e"};
    CHECK(smp_stop_init(&s, five, 5, &err) != CIRRUS_OK && strcmp(err.msg, "stop: 5 strings, at most 4") == 0);
    const char *empty[] = {"a", ""};
    CHECK(smp_stop_init(&s, empty, 2, &err) != CIRRUS_OK && strcmp(err.msg, "stop[1]: empty string") == 0);
    char toolong[SMP_MAX_STOP_LEN + 2];
    memset(toolong, 'x', sizeof toolong - 1);
    toolong[sizeof toolong - 1] = 0;
    const char *tl[] = {toolong};
    CHECK(smp_stop_init(&s, tl, 1, &err) != CIRRUS_OK && strcmp(err.msg, "stop[0]: 257 bytes, at most 256") == 0);

    /* Differential: random texts over a tiny alphabet, random stops, random splits, against the
     * whole-text reference. Catches every boundary case the hand-written ones miss. */
    uint32_t r = 12345;
#define RND(n) ((r = r * 1103515245u + 12345u), (int)((r >> 16) % (uint32_t)(n)))
    bool all_ok = true;
    for (int iter = 0; iter < 3000 && all_ok; iter++) {
        char stops_buf[4][8];
        const char *stops[4];
        int ns = 1 + RND(4);
        for (int j = 0; j < ns; j++) {
            int len = 1 + RND(5);
            for (int k = 0; k < len; k++) stops_buf[j][k] = (char)('a' + RND(3));
            stops_buf[j][len] = 0;
            stops[j] = stops_buf[j];
        }
        char full[64];
        int len = RND(40);
        for (int k = 0; k < len; k++) full[k] = (char)('a' + RND(4));
        full[len] = 0;
        bool want_stop;
        size_t want = ref_stop(full, stops, ns, &want_stop);
        st_init(&t, stops, ns);
        for (int pos = 0; pos < len;) {
            int chunk = 1 + RND(6);
            if (chunk > len - pos) chunk = len - pos;
            char piece[8];
            memcpy(piece, full + pos, (size_t)chunk);
            piece[chunk] = 0;
            st_push(&t, piece);
            pos += chunk;
        }
        st_flush(&t);
        bool ok = t.s.stopped == want_stop && t.n == want && memcmp(t.out, full, want) == 0;
        CHECK_MSG(ok, "text '%s' stops %d: got '%s'", full, ns, t.out);
        all_ok &= ok;
    }
#undef RND
}

int main(void) {
    test_params();
    test_greedy();
    test_bias();
    test_penalties();
    test_top_k();
    test_top_p_min_p();
    test_top_p_large();
    test_temperature();
    test_determinism();
    test_logprobs();
    test_custom();
    test_stop();
    return check_done("test_sample");
}
