/*
 * guard: keys, the watermark scheme and processor, the binomial test, detection with dedup,
 * radioactivity (closed- and open-model) with n-gram students, logprobs untouched by bias and
 * watermark. The logit_bias sweep detector is in test_guard_sweep.c.
 *
 * The language model here is synthetic (a seeded random bigram "teacher"): no weights, so the
 * statistical tests run on tens of thousands of tokens in well under a second even under ASan.
 * The same measurements on real model files are in test_guard_model.c and `cirrus guard eval`.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "guard/guard.h"
#include "sample/sample.h"

static uint64_t splitmix(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double unif(uint64_t *s) { return (double)(splitmix(s) >> 11) * (1.0 / 9007199254740992.0); }

static guard_key test_key(uint8_t fill) {
    guard_key k;
    for (int i = 0; i < GUARD_KEY_BYTES; i++) k.bytes[i] = (uint8_t)(fill + i * 7);
    return k;
}

static guard_wm *make_wm(const guard_key *k, float gamma, float delta, int h, int32_t nv) {
    guard_wm_params p = {gamma, delta, h};
    guard_wm *w = NULL;
    cirrus_err err = {{0}};
    cirrus_status st = guard_wm_new(k, &p, nv, &w, &err);
    CHECK_MSG(st == CIRRUS_OK, "guard_wm_new: %s", err.msg);
    return w;
}

/* ---- keys ------------------------------------------------------------------------------------ */

static char g_dir[256];

static void path_in(char *out, size_t cap, const char *name) { snprintf(out, cap, "%s/%s", g_dir, name); }

static void write_file(const char *path, const void *data, size_t n, mode_t mode) {
    unlink(path);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f) return;
    fwrite(data, 1, n, f);
    fclose(f);
    chmod(path, mode);
}

static void test_keys(void) {
    cirrus_err err = {{0}};
    guard_key a, b, c;
    CHECK(guard_key_generate(&a, &err) == CIRRUS_OK);
    CHECK(guard_key_generate(&b, &err) == CIRRUS_OK);
    CHECK(memcmp(a.bytes, b.bytes, GUARD_KEY_BYTES) != 0);

    char p[512];
    path_in(p, sizeof p, "k1.key");
    unlink(p);
    CHECK(guard_key_save(p, &a, false, &err) == CIRRUS_OK);
    struct stat sb;
    CHECK(stat(p, &sb) == 0 && (sb.st_mode & 0777) == 0600);
    CHECK(guard_key_load(p, &c, &err) == CIRRUS_OK);
    CHECK(memcmp(a.bytes, c.bytes, GUARD_KEY_BYTES) == 0);
    /* never clobbered by accident; replaced when asked */
    CHECK(guard_key_save(p, &b, false, &err) == CIRRUS_ERR_IO);
    CHECK(guard_key_load(p, &c, &err) == CIRRUS_OK && memcmp(a.bytes, c.bytes, GUARD_KEY_BYTES) == 0);
    CHECK(guard_key_save(p, &b, true, &err) == CIRRUS_OK);
    CHECK(guard_key_load(p, &c, &err) == CIRRUS_OK && memcmp(b.bytes, c.bytes, GUARD_KEY_BYTES) == 0);
    /* the file holds the hex key and nothing else */
    FILE *f = fopen(p, "rb");
    char buf[100] = {0};
    size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f) fclose(f);
    CHECK(n == 65 && buf[64] == '\n');

    /* raw 32 bytes */
    path_in(p, sizeof p, "raw.key");
    write_file(p, a.bytes, GUARD_KEY_BYTES, 0600);
    CHECK(guard_key_load(p, &c, &err) == CIRRUS_OK && memcmp(a.bytes, c.bytes, GUARD_KEY_BYTES) == 0);
    /* too open */
    chmod(p, 0644);
    memset(&err, 0, sizeof err);
    CHECK(guard_key_load(p, &c, &err) == CIRRUS_ERR_INVALID);
    CHECK_MSG(strstr(err.msg, "readable by group or others") != NULL, "%s", err.msg);
    /* malformed: wrong length, bad digit; the message never echoes the contents */
    path_in(p, sizeof p, "bad.key");
    write_file(p, "abcd\n", 5, 0600);
    CHECK(guard_key_load(p, &c, &err) == CIRRUS_ERR_FORMAT);
    char bad[65];
    memset(bad, 'a', 64);
    bad[10] = 'x';
    write_file(p, bad, 64, 0600);
    memset(&err, 0, sizeof err);
    CHECK(guard_key_load(p, &c, &err) == CIRRUS_ERR_FORMAT);
    CHECK_MSG(strstr(err.msg, "byte 10") != NULL && strstr(err.msg, "aaaa") == NULL, "%s", err.msg);
    path_in(p, sizeof p, "missing.key");
    CHECK(guard_key_load(p, &c, &err) == CIRRUS_ERR_IO);

    /* derivation: deterministic, label-separated, long secrets accepted, short refused */
    const char secret[] = "a server secret of more than sixteen bytes";
    guard_key d1, d2, d3, d4;
    CHECK(guard_key_derive(secret, sizeof secret - 1, "watermark/v1", &d1, &err) == CIRRUS_OK);
    CHECK(guard_key_derive(secret, sizeof secret - 1, "watermark/v1", &d2, &err) == CIRRUS_OK);
    CHECK(guard_key_derive(secret, sizeof secret - 1, "watermark/v2", &d3, &err) == CIRRUS_OK);
    CHECK(memcmp(d1.bytes, d2.bytes, GUARD_KEY_BYTES) == 0 && memcmp(d1.bytes, d3.bytes, GUARD_KEY_BYTES) != 0);
    char longsec[200];
    memset(longsec, 's', sizeof longsec);
    CHECK(guard_key_derive(longsec, sizeof longsec, "watermark/v1", &d4, &err) == CIRRUS_OK);
    CHECK(guard_key_derive("short", 5, "watermark/v1", &d4, &err) == CIRRUS_ERR_INVALID);
    guard_key_wipe(&d4);
    static const guard_key zero;
    CHECK(memcmp(d4.bytes, zero.bytes, GUARD_KEY_BYTES) == 0);
}

/* ---- the scheme ----------------------------------------------------------------------------------- */

static void test_params(void) {
    guard_wm_params p;
    guard_wm_params_default(&p);
    CHECK(p.gamma == 0.25f && p.delta == 2.0f && p.h == 4);
    cirrus_err err = {{0}};
    CHECK(guard_wm_params_check(&p, &err) == CIRRUS_OK);
    guard_wm_params q = p;
    q.gamma = 1.0f;
    CHECK(guard_wm_params_check(&q, &err) == CIRRUS_ERR_RANGE && !strcmp(err.msg, "gamma: 1 out of range (0, 1)"));
    q = p, q.gamma = NAN;
    CHECK(guard_wm_params_check(&q, &err) == CIRRUS_ERR_RANGE);
    q = p, q.delta = -1.0f;
    CHECK(guard_wm_params_check(&q, &err) == CIRRUS_ERR_RANGE && !strcmp(err.msg, "delta: -1 out of range [0, 50]"));
    q = p, q.h = GUARD_WM_MAX_H + 1;
    CHECK(guard_wm_params_check(&q, &err) == CIRRUS_ERR_RANGE);
    guard_wm *w = NULL;
    CHECK(guard_wm_new(&(guard_key){{0}}, &p, 0, &w, &err) == CIRRUS_ERR_INVALID && w == NULL);
}

static void test_scheme(void) {
    const int32_t V = 5000;
    guard_key k1 = test_key(1), k2 = test_key(2);
    guard_wm *a = make_wm(&k1, 0.25f, 2.0f, 4, V), *a2 = make_wm(&k1, 0.25f, 2.0f, 4, V);
    guard_wm *b = make_wm(&k2, 0.25f, 2.0f, 4, V);
    if (!a || !a2 || !b) return;
    uint64_t s = 42;
    int n = 40000, green = 0, same_key_diff = 0, other_key_same = 0, self_anchor = 0;
    for (int i = 0; i < n; i++) {
        int32_t ctx[4], w = (int32_t)(splitmix(&s) % V), anc;
        for (int j = 0; j < 4; j++) ctx[j] = (int32_t)(splitmix(&s) % V);
        bool g = guard_wm_green(a, ctx, 4, w, &anc);
        green += g;
        same_key_diff += g != guard_wm_green(a2, ctx, 4, w, NULL);
        other_key_same += g == guard_wm_green(b, ctx, 4, w, NULL);
        self_anchor += anc == w;
        /* min-hash robustness: replacing a context token that is not the anchor keeps the bit */
        for (int j = 0; j < 4; j++) {
            if (ctx[j] == anc) continue;
            int32_t c2[4];
            memcpy(c2, ctx, sizeof c2);
            c2[j] = anc; /* the anchor stays the min */
            int32_t anc2;
            CHECK(guard_wm_green(a, c2, 4, w, &anc2) == g && anc2 == anc);
            break;
        }
        /* only the last h tokens count */
        int32_t longer[6] = {(int32_t)(splitmix(&s) % V), (int32_t)(splitmix(&s) % V), ctx[0], ctx[1], ctx[2], ctx[3]};
        CHECK(guard_wm_green(a, longer, 6, w, NULL) == g);
    }
    /* Bin(40000, 0.25): sd 87; 6 sd bounds */
    CHECK_MSG(abs(green - n / 4) < 520, "green %d of %d", green, n);
    CHECK(same_key_diff == 0);
    CHECK_MSG(abs(other_key_same - (n * 5) / 8) < 700, "other key agrees on %d of %d", other_key_same, n);
    /* the candidate anchors itself when its u is the smallest of 5: about 1/5 */
    CHECK_MSG(abs(self_anchor - n / 5) < 600, "self-anchored %d of %d", self_anchor, n);
    /* out of vocabulary: never green, never an anchor */
    int32_t ctx[2] = {V + 5, 3}, anc;
    CHECK(!guard_wm_green(a, ctx, 2, V, &anc) && anc == -1);
    guard_wm_green(a, ctx, 2, 7, &anc);
    CHECK(anc == 3 || anc == 7);
    /* h = 0 (a fixed green list, the "unigram" watermark): context ignored */
    guard_wm *z = make_wm(&k1, 0.25f, 2.0f, 0, V);
    int32_t c1[3] = {1, 2, 3}, c2[3] = {9, 8, 7};
    for (int32_t id = 0; z && id < 200; id++) CHECK(guard_wm_green(z, c1, 3, id, NULL) == guard_wm_green(z, NULL, 0, id, NULL) && guard_wm_green(z, c2, 3, id, NULL) == guard_wm_green(z, NULL, 0, id, NULL));
    guard_wm_free(z);
    guard_wm_free(a);
    guard_wm_free(a2);
    guard_wm_free(b);
}

/* The processor (fast path) against guard_wm_green (reference), for full, short and empty
 * histories and a candidate array with holes (banned ids). */
static void test_processor(void) {
    const int32_t V = 3000;
    guard_key k = test_key(9);
    guard_wm *w = make_wm(&k, 0.3f, 1.5f, 4, V);
    if (!w) return;
    smp_proc pr;
    guard_wm_proc(w, &pr);
    CHECK(!strcmp(pr.name, "watermark") && pr.free == NULL);
    smp_cand *cd = malloc(sizeof *cd * (size_t)V);
    float *orig = malloc(sizeof *orig * (size_t)V);
    uint64_t s = 7;
    int32_t hist[10];
    for (int i = 0; i < 10; i++) hist[i] = (int32_t)(splitmix(&s) % V);
    size_t lens[] = {10, 4, 2, 0};
    for (size_t li = 0; li < 4; li++) {
        size_t n = 0;
        for (int32_t id = 0; id < V; id++) {
            if (id % 11 == 5) continue; /* holes, as tidy() leaves them */
            cd[n].id = id;
            cd[n].logit = orig[n] = (float)(unif(&s) * 10 - 5);
            n++;
        }
        smp_cands c = {cd, n, true};
        smp_history h = {lens[li] ? hist : NULL, lens[li], 0};
        pr.apply(&pr, &c, &h);
        CHECK(!c.sorted && c.n == n);
        int mismatches = 0, greens = 0;
        for (size_t i = 0; i < n; i++) {
            bool g = guard_wm_green(w, hist, lens[li], cd[i].id, NULL);
            greens += g;
            float want = g ? orig[i] + 1.5f : orig[i];
            mismatches += cd[i].logit != want;
        }
        CHECK_MSG(mismatches == 0, "history %zu: %d candidates differ from the reference", lens[li], mismatches);
        CHECK_MSG(greens > (int)n / 4 && greens < (int)n * 7 / 20, "%d green of %zu", greens, n);
    }
    free(cd);
    free(orig);

    /* The AVX2 loop (picked where cpuid allows) against the scalar one, bit for bit: every length
     * mod 8, holes, ids past the scheme's vocabulary (a chain over a larger model vocabulary),
     * negative zero logits, with and without context. */
    setenv("CIRRUS_FORCE_SCALAR", "1", 1);
    guard_wm *ws = make_wm(&k, 0.3f, 1.5f, 4, V);
    unsetenv("CIRRUS_FORCE_SCALAR");
    smp_proc ps;
    if (ws) guard_wm_proc(ws, &ps);
    smp_cand a[64], b[64];
    int diffs = 0;
    for (int trial = 0; ws && trial < 3000; trial++) {
        size_t n = (size_t)(splitmix(&s) % 64);
        int32_t id = (int32_t)(splitmix(&s) % (V + 8));
        for (size_t i = 0; i < n; i++) {
            id += 1 + (int32_t)(splitmix(&s) % 3);
            a[i].id = id % (V + 40); /* sometimes past V */
            a[i].logit = splitmix(&s) % 7 == 0 ? -0.0f : (float)(unif(&s) * 20 - 10);
        }
        memcpy(b, a, sizeof a);
        size_t hl = (size_t)(splitmix(&s) % 6);
        smp_history h = {hl ? hist : NULL, hl, 0};
        smp_cands ca = {a, n, false}, cb = {b, n, false};
        pr.apply(&pr, &ca, &h);
        ps.apply(&ps, &cb, &h);
        diffs += memcmp(a, b, n * sizeof *a) != 0;
    }
    CHECK_MSG(diffs == 0, "SIMD and scalar processors differ in %d of 3000 trials", diffs);
    guard_wm_free(ws);

    /* owned variant frees its scheme with the chain (ASan checks the leak) */
    smp_params sp;
    smp_params_default(&sp);
    smp_chain *ch = NULL;
    CHECK(smp_chain_new(&sp, V, &ch) == CIRRUS_OK);
    smp_proc own;
    cirrus_err err = {{0}};
    CHECK(guard_wm_proc_new(&k, guard_wm_get_params(w), V, &own, &err) == CIRRUS_OK);
    CHECK(own.free != NULL && smp_chain_add(ch, &own) == CIRRUS_OK);
    smp_chain_free(ch);
    guard_wm_params bad = {0.0f, 2.0f, 4};
    CHECK(guard_wm_proc_new(&k, &bad, V, &own, &err) == CIRRUS_ERR_RANGE);
    guard_wm_free(w);
}

/* ---- extraction guard: returned logprobs ignore logit_bias and the watermark ------------------- */

static void test_logprobs_untouched(void) {
    const int32_t V = 400;
    guard_key k = test_key(3);
    guard_wm *w = make_wm(&k, 0.25f, 5.0f, 4, V);
    if (!w) return;
    float *logits = malloc(sizeof *logits * V);
    uint64_t s = 11;
    for (int32_t i = 0; i < V; i++) logits[i] = (float)(unif(&s) * 6 - 3);
    smp_params plain;
    smp_params_default(&plain);
    plain.temperature = 1.0f;
    smp_bias bias[] = {{0, 100.0f}, {1, -100.0f}, {7, 30.0f}, {100, -5.0f}};
    smp_params biased = plain;
    biased.bias = bias;
    biased.n_bias = 4;
    int32_t hist[6] = {5, 6, 7, 8, 9, 10};
    smp_history h = {hist, 6, 2};
    smp_chain *c0 = NULL, *c1 = NULL, *c2 = NULL;
    CHECK(smp_chain_new(&plain, V, &c0) == CIRRUS_OK);
    CHECK(smp_chain_new(&biased, V, &c1) == CIRRUS_OK);
    CHECK(smp_chain_new(&plain, V, &c2) == CIRRUS_OK);
    if (!c0 || !c1 || !c2) return;
    smp_proc p1, p2;
    guard_wm_proc(w, &p1);
    guard_wm_proc(w, &p2);
    CHECK(smp_chain_add(c1, &p1) == CIRRUS_OK);
    CHECK(smp_chain_add(c2, &p2) == CIRRUS_OK);
    int differ = 0;
    for (int step = 0; step < 50; step++) {
        smp_logprobs l0, l1, l2;
        int32_t t0 = smp_sample(c0, logits, &h, SMP_MAX_TOP_LOGPROBS, &l0);
        int32_t t1 = smp_sample(c1, logits, &h, SMP_MAX_TOP_LOGPROBS, &l1);
        int32_t t2 = smp_sample(c2, logits, &h, SMP_MAX_TOP_LOGPROBS, &l2);
        CHECK(t1 == 0); /* +100 bias wins: the bias did act */
        differ += t0 != t2;
        /* the alternatives are identical in ids and values, whatever chain produced the token */
        CHECK(l0.n_top == SMP_MAX_TOP_LOGPROBS && l1.n_top == l0.n_top && l2.n_top == l0.n_top);
        for (int j = 0; j < l0.n_top; j++) {
            CHECK(l1.top_ids[j] == l0.top_ids[j] && l1.top_logprobs[j] == l0.top_logprobs[j]);
            CHECK(l2.top_ids[j] == l0.top_ids[j] && l2.top_logprobs[j] == l0.top_logprobs[j]);
        }
        /* the chosen token's logprob is its raw one: banned id 1 keeps its raw value too */
        double m = -INFINITY, z = 0;
        for (int32_t i = 0; i < V; i++) m = fmax(m, logits[i]);
        for (int32_t i = 0; i < V; i++) z += exp(logits[i] - m);
        CHECK_NEAR(l1.logprob, logits[t1] - m - log(z), 1e-5);
        CHECK_NEAR(l2.logprob, logits[t2] - m - log(z), 1e-5);
    }
    /* same seed, same logits: only the watermark can make c2 draw differently from c0 */
    CHECK_MSG(differ > 0, "the watermark never changed a draw");
    smp_chain_free(c0);
    smp_chain_free(c1);
    smp_chain_free(c2);
    free(logits);
    guard_wm_free(w);
}

/* ---- the binomial tail ------------------------------------------------------------------------------ */

/* Exact values from Python's integer arithmetic (math.comb, fractions), 12+ significant digits. */
static void test_binom(void) {
    struct { uint64_t k, n; double p, want; } cases[] = {
        {75, 200, 0.25, 6.152707236013117e-05},    /* z = 4.08 at T = 200 */
        {50, 200, 0.25, 0.5271236581202351},
        {1, 1, 0.25, 0.25},
        {16, 16, 0.25, 2.3283064365386963e-10},
        {3, 10, 0.5, 0.9453125},
        {600, 1000, 0.25, 3.91963433284311e-121},
        {26000, 100000, 0.25, 1.8220716586574923e-13},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double got = exp(guard_binom_log_sf(cases[i].k, cases[i].n, cases[i].p));
        CHECK_MSG(fabs(got - cases[i].want) <= 1e-9 * cases[i].want, "P(X>=%llu | %llu, %g) = %.16g, want %.16g",
                  (unsigned long long)cases[i].k, (unsigned long long)cases[i].n, cases[i].p, got, cases[i].want);
    }
    /* against direct summation for every k of small n */
    for (uint64_t n = 1; n <= 40; n += 13) {
        for (uint64_t k = 0; k <= n + 1; k++) {
            double sum = 0;
            for (uint64_t j = k; j <= n; j++) {
                double c = 1;
                for (uint64_t i = 0; i < j; i++) c = c * (double)(n - i) / (double)(i + 1);
                sum += c * pow(0.25, (double)j) * pow(0.75, (double)(n - j));
            }
            double got = exp(guard_binom_log_sf(k, n, 0.25));
            CHECK_MSG(fabs(got - sum) <= 1e-12 + 1e-10 * sum, "n %llu k %llu: %g vs %g", (unsigned long long)n,
                      (unsigned long long)k, got, sum);
        }
    }
    /* far tails stay finite in log space, and ordering holds */
    double l = guard_binom_log_sf(10000000, 10000000, 0.25);
    CHECK_NEAR(l, 10000000 * log(0.25), 1e-3);
    CHECK(guard_binom_log_sf(2600000, 10000000, 0.25) < guard_binom_log_sf(2550000, 10000000, 0.25));
    CHECK(guard_binom_log_sf(2510000, 10000000, 0.25) < 0 && guard_binom_log_sf(2490000, 10000000, 0.25) < 0);

    /* the score: z, p and the verdict at a z threshold or a false-positive rate */
    guard_score sc = {.n_scored = 200, .n_green = 75, .gamma = 0.25};
    guard_verdict v;
    guard_verdict_default(&v);
    guard_score_finish(&sc, &v);
    CHECK_NEAR(sc.z, (75 - 50) / sqrt(200 * 0.1875), 1e-12);
    CHECK(sc.watermarked);
    v.fpr = 1e-5;
    guard_score_finish(&sc, &v);
    CHECK(!sc.watermarked); /* p = 6.2e-5, the normal tail would say 2.2e-5: skew matters at small T */
    v.fpr = 1e-4;
    guard_score_finish(&sc, &v);
    CHECK(sc.watermarked);
    guard_score none = {.gamma = 0.25};
    guard_score_finish(&none, &v);
    CHECK(none.p_value == 1.0 && none.z == 0.0 && !none.watermarked);
}

/* ---- a synthetic teacher ----------------------------------------------------------------------------- */

/* A random bigram model: logit(prev, w) ~ sigma * N(0, 1) (a sum of uniforms), tabulated once. sigma
 * sets the entropy. */
typedef struct {
    int32_t V;
    float sigma;
    uint64_t seed;
    float *table; /* (V, V) */
} teacher;

static void teacher_init(teacher *t) {
    t->table = malloc(sizeof *t->table * (size_t)t->V * (size_t)t->V);
    uint64_t s = t->seed;
    for (size_t i = 0; i < (size_t)t->V * (size_t)t->V; i++) {
        double u = unif(&s) + unif(&s) + unif(&s) + unif(&s) - 2.0; /* var 1/3 */
        t->table[i] = (float)(t->sigma * u * 1.7320508);
    }
}

static const float *teacher_logits(const teacher *t, int32_t prev) { return t->table + (size_t)prev * (size_t)t->V; }

static int32_t teacher_argmax(const teacher *t, int32_t prev) {
    const float *l = teacher_logits(t, prev);
    int32_t b = 0;
    for (int32_t w = 1; w < t->V; w++)
        if (l[w] > l[b]) b = w;
    return b;
}

/* n_texts texts of len tokens each (the first 4 are a random prompt), optionally watermarked. */
static int32_t *teacher_generate(const teacher *t, guard_wm *w, int n_texts, int len, uint64_t seed) {
    int32_t *out = malloc(sizeof *out * (size_t)n_texts * (size_t)len);
    uint64_t s = seed;
    for (int i = 0; i < n_texts; i++) {
        smp_params sp;
        smp_params_default(&sp);
        sp.temperature = 1.0f, sp.top_k = 0, sp.top_p = 1.0f, sp.min_p = 0.0f, sp.seed = splitmix(&s);
        smp_chain *c = NULL;
        CHECK(smp_chain_new(&sp, t->V, &c) == CIRRUS_OK);
        if (w) {
            smp_proc p;
            guard_wm_proc(w, &p);
            CHECK(smp_chain_add(c, &p) == CIRRUS_OK);
        }
        int32_t *x = out + (size_t)i * (size_t)len;
        for (int j = 0; j < 4; j++) x[j] = (int32_t)(splitmix(&s) % (uint64_t)t->V);
        for (int j = 4; j < len; j++) {
            smp_history h = {x, (size_t)j, 4};
            x[j] = smp_sample(c, teacher_logits(t, x[j - 1]), &h, -1, NULL);
        }
        smp_chain_free(c);
    }
    return out;
}

/* A bigram student fitted on token sequences (counts), sampled with its own seed. */
typedef struct {
    int32_t V;
    uint32_t *count; /* (V, V) */
    uint32_t *row;   /* (V) row sums */
} student;

static void student_fit(student *st, int32_t V, const int32_t *x, int n_texts, int len) {
    st->V = V;
    st->count = calloc((size_t)V * (size_t)V, sizeof *st->count);
    st->row = calloc((size_t)V, sizeof *st->row);
    for (int i = 0; i < n_texts; i++)
        for (int j = 1; j < len; j++) {
            const int32_t *t = x + (size_t)i * (size_t)len;
            st->count[(size_t)t[j - 1] * (size_t)V + (size_t)t[j]]++;
            st->row[t[j - 1]]++;
        }
}

static int32_t student_next(const student *st, int32_t prev, uint64_t *s) {
    if (st->row[prev] == 0) return (int32_t)(splitmix(s) % (uint64_t)st->V);
    uint64_t r = splitmix(s) % st->row[prev];
    const uint32_t *c = st->count + (size_t)prev * (size_t)st->V;
    for (int32_t w = 0; w < st->V; w++) {
        if (r < c[w]) return w;
        r -= c[w];
    }
    return st->V - 1;
}

static int32_t student_argmax(const student *st, int32_t prev) {
    const uint32_t *c = st->count + (size_t)prev * (size_t)st->V;
    int32_t b = 0;
    for (int32_t w = 1; w < st->V; w++)
        if (c[w] > c[b]) b = w;
    return b;
}

static void student_free(student *st) {
    free(st->count);
    free(st->row);
}

/* A trigram student for the open-model test: its top-1 after (p2, p1) is the most frequent
 * continuation seen in training, backing off to a bigram student's. Fitted on little data it
 * memorizes, as fine-tuned LLMs partly do. Counts live in a hash of trigrams. */
typedef struct {
    int32_t V;
    const student *backoff;
    uint64_t *key;  /* (cap) trigram + 1, 0 empty */
    uint32_t *cnt;  /* (cap) */
    size_t cap;
    int32_t *best;  /* (V, V) top-1 continuation per context, -1 none */
    uint32_t *bestc;
} trigram;

static void trigram_fit(trigram *tg, int32_t V, const student *backoff, const int32_t *x, int n_texts, int len) {
    tg->V = V;
    tg->backoff = backoff;
    tg->cap = 1;
    while (tg->cap < (size_t)n_texts * (size_t)len * 2) tg->cap *= 2;
    tg->key = calloc(tg->cap, sizeof *tg->key);
    tg->cnt = calloc(tg->cap, sizeof *tg->cnt);
    tg->best = malloc(sizeof *tg->best * (size_t)V * (size_t)V);
    tg->bestc = calloc((size_t)V * (size_t)V, sizeof *tg->bestc);
    for (size_t i = 0; i < (size_t)V * (size_t)V; i++) tg->best[i] = -1;
    for (int i = 0; i < n_texts; i++) {
        const int32_t *t = x + (size_t)i * (size_t)len;
        for (int j = 2; j < len; j++) {
            size_t c = (size_t)t[j - 2] * (size_t)V + (size_t)t[j - 1];
            uint64_t k = (uint64_t)c * (uint64_t)V + (uint64_t)t[j] + 1;
            size_t h = (size_t)((k * 0x9e3779b97f4a7c15ull) >> 20) & (tg->cap - 1);
            while (tg->key[h] && tg->key[h] != k) h = (h + 1) & (tg->cap - 1);
            tg->key[h] = k;
            if (++tg->cnt[h] > tg->bestc[c]) tg->bestc[c] = tg->cnt[h], tg->best[c] = t[j];
        }
    }
}

static int32_t trigram_argmax(const trigram *tg, int32_t p2, int32_t p1) {
    int32_t b = tg->best[(size_t)p2 * (size_t)tg->V + (size_t)p1];
    return b >= 0 ? b : student_argmax(tg->backoff, p1);
}

static void trigram_free(trigram *tg) {
    free(tg->key);
    free(tg->cnt);
    free(tg->best);
    free(tg->bestc);
}

/* ---- detection --------------------------------------------------------------------------------------- */

static void test_detect_text(void) {
    const int32_t V = 1000;
    teacher t = {V, 1.6f, 77, NULL};
    teacher_init(&t);
    guard_key k = test_key(5), other = test_key(6);
    guard_wm *w = make_wm(&k, 0.25f, 2.0f, 4, V), *wo = make_wm(&other, 0.25f, 2.0f, 4, V);
    if (!w || !wo) return;
    const int N = 40, L = 104; /* 100 tokens after a 4-token prompt */
    int32_t *wm = teacher_generate(&t, w, N, L, 1), *plain = teacher_generate(&t, NULL, N, L, 2);
    guard_verdict v;
    guard_verdict_default(&v);
    int tp = 0, fp = 0, fp_other = 0;
    double zmin = 1e9, zmax = -1e9;
    for (int i = 0; i < N; i++) {
        guard_score a, b, c;
        cirrus_err err = {{0}};
        CHECK(guard_detect(w, wm + (size_t)i * L, L, &v, &a, &err) == CIRRUS_OK);
        CHECK(guard_detect(w, plain + (size_t)i * L, L, &v, &b, &err) == CIRRUS_OK);
        CHECK(guard_detect(wo, wm + (size_t)i * L, L, &v, &c, &err) == CIRRUS_OK);
        CHECK(a.n_positions == (uint64_t)(L - 4) && a.n_scored <= a.n_positions && a.n_scored > 90);
        tp += a.watermarked;
        fp += b.watermarked;
        fp_other += c.watermarked; /* the wrong key sees no watermark */
        zmin = fmin(zmin, a.z);
        zmax = fmax(zmax, b.z);
    }
    printf("synthetic teacher, 100 tokens: %d/%d watermarked detected (min z %.2f), %d/%d plain flagged (max z %.2f)\n",
           tp, N, zmin, fp, N, zmax);
    CHECK_MSG(tp == N, "TPR %d/%d", tp, N);
    CHECK_MSG(fp == 0 && fp_other == 0, "false positives %d, other key %d", fp, fp_other);

    /* dedup: one token repeated is one pair; a phrase repeated counts once */
    int32_t rep[300];
    for (int i = 0; i < 300; i++) rep[i] = 17;
    guard_score s;
    cirrus_err err = {{0}};
    CHECK(guard_detect(w, rep, 300, &v, &s, &err) == CIRRUS_OK);
    CHECK(s.n_positions == 296 && s.n_scored == 1);
    int32_t phrase[400];
    for (int i = 0; i < 400; i++) phrase[i] = wm[4 + i % 50];
    guard_score once, many;
    CHECK(guard_detect(w, phrase, 54, &v, &once, &err) == CIRRUS_OK);
    CHECK(guard_detect(w, phrase, 400, &v, &many, &err) == CIRRUS_OK);
    CHECK_MSG(many.n_scored <= once.n_scored + 8, "repeated phrase scored %llu vs %llu once",
              (unsigned long long)many.n_scored, (unsigned long long)once.n_scored);
    /* bad ids are named */
    int32_t badids[6] = {1, 2, 3, 4, 5, V};
    memset(&err, 0, sizeof err);
    CHECK(guard_detect(w, badids, 6, &v, &s, &err) == CIRRUS_ERR_RANGE);
    CHECK_MSG(strstr(err.msg, "position 5") != NULL, "%s", err.msg);
    /* shorter than h: nothing scored */
    CHECK(guard_detect(w, badids, 3, &v, &s, &err) == CIRRUS_OK && s.n_scored == 0 && s.p_value == 1.0);
    free(wm);
    free(plain);
    free(t.table);
    guard_wm_free(w);
    guard_wm_free(wo);
}

/*
 * Radioactivity end to end on the synthetic teacher: a bigram student fitted on watermarked
 * outputs carries the watermark into its own generations (closed-model test) and its predictions
 * (open-model test); fitted on plain outputs it does not.
 */
static void test_radioactivity(void) {
    const int32_t V = 512;
    teacher t = {V, 1.6f, 99, NULL};
    teacher_init(&t);
    guard_key k = test_key(8);
    guard_wm *w = make_wm(&k, 0.25f, 2.0f, 4, V);
    if (!w) return;
    const int NT = 250, L = 204; /* 50k training tokens */
    int32_t *wm = teacher_generate(&t, w, NT, L, 10), *plain = teacher_generate(&t, NULL, NT, L, 11);
    student sw, sp;
    student_fit(&sw, V, wm, NT, L);
    student_fit(&sp, V, plain, NT, L);
    guard_verdict v;
    guard_verdict_default(&v);
    v.fpr = 1e-5;
    cirrus_err err = {{0}};

    /* closed model: 10,000 tokens the students generate (50 x 200), one detector over the corpus */
    double p_closed[2];
    student *sts[2] = {&sw, &sp};
    for (int si = 0; si < 2; si++) {
        guard_det *d = NULL;
        CHECK(guard_det_new(w, &d) == CIRRUS_OK);
        uint64_t s = 1234;
        int32_t seq[200];
        for (int i = 0; i < 50; i++) {
            seq[0] = (int32_t)(splitmix(&s) % V);
            for (int j = 1; j < 200; j++) seq[j] = student_next(sts[si], seq[j - 1], &s);
            CHECK(guard_det_add(d, seq, 200, &err) == CIRRUS_OK);
        }
        guard_score sc;
        guard_det_result(d, &v, &sc);
        printf("closed-model radioactivity, student on %s outputs: %llu positions, %llu scored, %llu green, z %.2f, "
               "p %.3g\n", si ? "plain" : "watermarked", (unsigned long long)sc.n_positions,
               (unsigned long long)sc.n_scored, (unsigned long long)sc.n_green, sc.z, sc.p_value);
        p_closed[si] = sc.p_value;
        guard_det_free(d);
    }
    CHECK_MSG(p_closed[0] < 1e-5, "watermarked student p = %g", p_closed[0]);
    CHECK_MSG(p_closed[1] > 0.01, "plain student p = %g", p_closed[1]);

    /*
     * Open model: the provider feeds the suspect texts it generated (its logs: here the first 100
     * watermarked training texts, 20k tokens) and scores the suspect's top-1 predictions. Suspects:
     * 0: a trigram student fitted on the watermarked outputs, 1: the same fitted on plain outputs
     * (it never saw these texts), 2: the clean teacher, 3: a clean suspect that copies (predicts
     * what followed the previous occurrence of the last token, as induction heads do): the case
     * the own-pair rule of guard_det_add_pred exists for.
     */
    const int NF = 100;
    trigram tw, tp;
    trigram_fit(&tw, V, &sw, wm, NT, L);
    trigram_fit(&tp, V, &sp, plain, NT, L);
    int32_t *pred = malloc(sizeof *pred * (size_t)L);
    double p_open[4], z_copy = 0, z_naive = 0;
    for (int mode = 0; mode < 4; mode++) {
        guard_det *d = NULL;
        CHECK(guard_det_new(w, &d) == CIRRUS_OK);
        guard_det *naive = NULL; /* mode 3 scored with plain dedup, to show the bias the rule removes */
        CHECK(guard_det_new(w, &naive) == CIRRUS_OK);
        for (int i = 0; i < NF; i++) {
            const int32_t *x = wm + (size_t)i * L;
            pred[0] = pred[1] = -1;
            for (int j = 2; j < L; j++) {
                int32_t prev = -1;
                for (int q = j - 2; mode == 3 && q >= 0 && prev < 0; q--)
                    if (x[q] == x[j - 1]) prev = x[q + 1];
                pred[j] = mode == 0 ? trigram_argmax(&tw, x[j - 2], x[j - 1])
                        : mode == 1 ? trigram_argmax(&tp, x[j - 2], x[j - 1])
                        : prev >= 0 ? prev
                                    : teacher_argmax(&t, x[j - 1]);
            }
            CHECK(guard_det_add_pred(d, x, pred, L, &err) == CIRRUS_OK);
            if (mode == 3) {
                /* the same predictions scored as if they were a text: dedup, no own-pair rule */
                int32_t tmp[5];
                for (int j = 4; j < L; j++) {
                    memcpy(tmp, x + j - 4, 4 * sizeof *tmp);
                    tmp[4] = pred[j];
                    CHECK(guard_det_add(naive, tmp, 5, &err) == CIRRUS_OK);
                }
            }
        }
        guard_score sc;
        guard_det_result(d, &v, &sc);
        static const char *names[] = {"watermarked student", "plain student", "clean teacher", "clean copying suspect"};
        printf("open-model radioactivity, %s: %llu scored, %llu green, z %.2f, p %.3g\n", names[mode],
               (unsigned long long)sc.n_scored, (unsigned long long)sc.n_green, sc.z, sc.p_value);
        p_open[mode] = sc.p_value;
        if (mode == 3) {
            z_copy = sc.z;
            guard_det_result(naive, &v, &sc);
            z_naive = sc.z;
            printf("open-model radioactivity, clean copying suspect without the own-pair rule: %llu scored, %llu green, "
                   "z %.2f, p %.3g\n", (unsigned long long)sc.n_scored, (unsigned long long)sc.n_green, sc.z, sc.p_value);
        }
        guard_det_free(naive);
        guard_det_free(d);
    }
    CHECK_MSG(p_open[0] < 1e-5, "open-model watermarked student p = %g", p_open[0]);
    CHECK_MSG(p_open[1] > 0.01, "open-model plain student p = %g", p_open[1]);
    CHECK_MSG(p_open[2] > 0.01, "open-model clean teacher p = %g", p_open[2]);
    CHECK_MSG(p_open[3] > 0.01, "open-model clean copying suspect p = %g", p_open[3]);
    CHECK_MSG(z_naive > z_copy + 2.0, "copying bias: z %.2f without the rule, %.2f with", z_naive, z_copy);
    free(pred);
    free(t.table);
    trigram_free(&tw);
    trigram_free(&tp);
    student_free(&sw);
    student_free(&sp);
    free(wm);
    free(plain);
    guard_wm_free(w);
}

int main(void) {
    snprintf(g_dir, sizeof g_dir, "/tmp/cirrus-test-guard-XXXXXX");
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_keys();
    test_params();
    test_scheme();
    test_processor();
    test_logprobs_untouched();
    test_binom();
    test_detect_text();
    test_radioactivity();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_dir);
    return check_done("test_guard");
}
