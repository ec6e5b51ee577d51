/*
 * guard on real model files: the acceptance measurement of issue 7 in small (40 watermarked and 40
 * plain completions of 100 tokens at temperature 1.0 from a synthesized `tiny` model; the full
 * 500 + 500 x 200 run is `cirrus guard eval`, reported in docs/protection.md), radioactivity of a
 * bigram student fitted on those outputs, and the open-model test run with the real forward pass:
 * a clean model fed watermarked texts is not flagged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "guard/guard.h"
#include "kernels/kernels.h"
#include "model/model.h"
#include "sample/sample.h"

#define N_COMP 40
#define N_PROMPT 5
#define N_GEN 100
#define L (N_PROMPT + N_GEN)

static uint64_t splitmix(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* N_COMP completions, all sequences side by side in one context (one forward per step). Prompts
 * are BOS + 4 random ids; pure sampling at T = 1 as in the acceptance criterion. out: (N_COMP, L). */
static void generate(const mdl_model *m, guard_wm *wm, uint64_t seed, int32_t *out) {
    const mdl_hparams *hp = mdl_get_hparams(m);
    int32_t V = hp->n_vocab;
    mdl_ctx_params cp = {.n_ctx = L, .n_seq = N_COMP, .n_batch = N_COMP * N_PROMPT, .n_out = N_COMP, .n_threads = 2};
    mdl_ctx *c = NULL;
    cirrus_err err = {{0}};
    CHECK_MSG(mdl_ctx_new(m, &cp, &c, &err) == CIRRUS_OK, "%s", err.msg);
    if (!c) return;
    smp_chain *ch[N_COMP];
    int32_t tok[N_COMP * N_PROMPT], pos[N_COMP * N_PROMPT], seq[N_COMP * N_PROMPT];
    bool want[N_COMP * N_PROMPT];
    uint64_t s = seed;
    int n = 0;
    for (int b = 0; b < N_COMP; b++) {
        smp_params sp;
        smp_params_default(&sp);
        sp.temperature = 1.0f, sp.top_k = 0, sp.top_p = 1.0f, sp.min_p = 0.0f, sp.seed = seed + (uint64_t)b;
        CHECK(smp_chain_new(&sp, V, &ch[b]) == CIRRUS_OK);
        if (wm) {
            smp_proc p;
            guard_wm_proc(wm, &p);
            CHECK(smp_chain_add(ch[b], &p) == CIRRUS_OK);
        }
        int32_t *x = out + (size_t)b * L;
        x[0] = 1; /* BOS of the synthesized vocabulary */
        for (int i = 1; i < N_PROMPT; i++) x[i] = 300 + (int32_t)(splitmix(&s) % (uint64_t)(V - 300));
        for (int i = 0; i < N_PROMPT; i++, n++) tok[n] = x[i], pos[n] = i, seq[n] = b, want[n] = i == N_PROMPT - 1;
    }
    const float *logits;
    int32_t nrows;
    mdl_batch mb = {n, tok, pos, seq, want};
    CHECK(mdl_forward(c, &mb, &logits, &nrows, &err) == CIRRUS_OK);
    for (int t = N_PROMPT; t < L; t++) {
        for (int b = 0; b < N_COMP; b++) {
            int32_t *x = out + (size_t)b * L;
            smp_history h = {x, (size_t)t, N_PROMPT};
            x[t] = smp_sample(ch[b], logits + (size_t)b * (size_t)V, &h, -1, NULL);
            tok[b] = x[t], pos[b] = t, seq[b] = b, want[b] = true;
        }
        if (t + 1 == L) break;
        mdl_batch db = {N_COMP, tok, pos, seq, want};
        CHECK(mdl_forward(c, &db, &logits, &nrows, &err) == CIRRUS_OK);
    }
    for (int b = 0; b < N_COMP; b++) smp_chain_free(ch[b]);
    mdl_ctx_free(c);
}

int main(void) {
    kn_init();
    char path[] = "/tmp/cirrus-test-guard-model-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) {
        perror("mkstemp");
        return 1;
    }
    close(fd);
    mdl_synth_params sp = {.shape = "tiny", .type = KN_Q8_0, .seed = 42, .n_threads = 2};
    cirrus_err err = {{0}};
    mdl_model *m = NULL;
    CHECK_MSG(mdl_synth(&sp, path, &err) == CIRRUS_OK, "%s", err.msg);
    CHECK_MSG(mdl_load(path, &m, &err) == CIRRUS_OK, "%s", err.msg);
    if (!m) return check_done("test_guard_model");
    int32_t V = mdl_get_hparams(m)->n_vocab;

    guard_key k;
    for (int i = 0; i < GUARD_KEY_BYTES; i++) k.bytes[i] = (uint8_t)(0xa5 ^ i);
    guard_wm_params wp;
    guard_wm_params_default(&wp);
    guard_wm *wm = NULL;
    CHECK(guard_wm_new(&k, &wp, V, &wm, &err) == CIRRUS_OK);
    int32_t *wmt = malloc(sizeof *wmt * N_COMP * L), *pl = malloc(sizeof *pl * N_COMP * L);
    generate(m, wm, 1000, wmt);
    generate(m, NULL, 1000, pl);

    guard_verdict v;
    guard_verdict_default(&v);
    int tp = 0, fp = 0;
    double zmin = 1e9, zmax = -1e9;
    for (int b = 0; b < N_COMP; b++) {
        guard_score a, p;
        CHECK(guard_detect(wm, wmt + (size_t)b * L + N_PROMPT, N_GEN, &v, &a, &err) == CIRRUS_OK);
        CHECK(guard_detect(wm, pl + (size_t)b * L + N_PROMPT, N_GEN, &v, &p, &err) == CIRRUS_OK);
        tp += a.watermarked, fp += p.watermarked;
        zmin = zmin < a.z ? zmin : a.z;
        zmax = zmax > p.z ? zmax : p.z;
    }
    printf("tiny q8_0, %d + %d completions of %d tokens at T = 1: TPR %d/%d (min z %.2f), FPR %d/%d (max z %.2f)\n",
           N_COMP, N_COMP, N_GEN, tp, N_COMP, zmin, fp, N_COMP, zmax);
    CHECK_MSG(tp == N_COMP, "detected %d of %d", tp, N_COMP);
    CHECK_MSG(fp == 0, "flagged %d of %d plain", fp, N_COMP);
    /* the separation is wide, not marginal: the weakest watermarked text is far above the strongest plain one */
    CHECK_MSG(zmin > zmax + 3.0, "min watermarked z %.2f, max plain z %.2f", zmin, zmax);

    /* Radioactivity end to end on the model's own outputs: a bigram student fitted on the 40
     * completions (4,000 tokens) of each arm writes 10,000 tokens; the watermarked arm's student
     * carries the watermark (closed-model test), the plain arm's does not. */
    double p_student[2];
    for (int arm = 0; arm < 2; arm++) {
        const int32_t *data = arm ? pl : wmt;
        uint32_t *cnt = calloc((size_t)V * (size_t)V, sizeof *cnt), *row = calloc((size_t)V, sizeof *row);
        for (int b = 0; b < N_COMP; b++)
            for (int t = N_PROMPT; t < L; t++) {
                const int32_t *x = data + (size_t)b * L;
                cnt[(size_t)x[t - 1] * (size_t)V + (size_t)x[t]]++;
                row[x[t - 1]]++;
            }
        guard_det *d = NULL;
        CHECK(guard_det_new(wm, &d) == CIRRUS_OK);
        uint64_t s = 77;
        int32_t seq[200];
        for (int i = 0; i < 50; i++) {
            seq[0] = data[(size_t)(i % N_COMP) * L + N_PROMPT]; /* start where the data starts */
            for (int t = 1; t < 200; t++) {
                int32_t prev = seq[t - 1], next = (int32_t)(splitmix(&s) % (uint64_t)V);
                if (row[prev]) {
                    uint64_t r = splitmix(&s) % row[prev];
                    const uint32_t *c = cnt + (size_t)prev * (size_t)V;
                    for (next = 0; r >= c[next]; next++) r -= c[next];
                }
                seq[t] = next;
            }
            CHECK(guard_det_add(d, seq, 200, &err) == CIRRUS_OK);
        }
        guard_score sc;
        guard_det_result(d, &v, &sc);
        printf("closed-model radioactivity, bigram student of the %s completions: 10000 tokens, %llu scored, %llu green, "
               "z %.2f, p %.3g\n", arm ? "plain" : "watermarked", (unsigned long long)sc.n_scored,
               (unsigned long long)sc.n_green, sc.z, sc.p_value);
        p_student[arm] = sc.p_value;
        guard_det_free(d);
        free(cnt);
        free(row);
    }
    CHECK_MSG(p_student[0] < 1e-5, "student of watermarked outputs: p %g", p_student[0]);
    CHECK_MSG(p_student[1] > 0.01, "student of plain outputs: p %g", p_student[1]);

    /* Open model with the real forward pass: this model never saw watermarked text, so scoring its
     * own top-1 predictions on the watermarked completions must not flag it. */
    mdl_ctx_params cp = {.n_ctx = L, .n_seq = 1, .n_batch = L, .n_out = L, .n_threads = 2};
    mdl_ctx *c = NULL;
    CHECK(mdl_ctx_new(m, &cp, &c, &err) == CIRRUS_OK);
    guard_det *d = NULL;
    CHECK(guard_det_new(wm, &d) == CIRRUS_OK);
    int32_t pos[L], seq[L] = {0}, pred[L];
    bool want[L];
    for (int i = 0; i < L; i++) pos[i] = i, want[i] = true;
    for (int b = 0; c && b < N_COMP; b++) {
        const int32_t *x = wmt + (size_t)b * L;
        mdl_batch mb = {L, x, pos, seq, want};
        const float *logits;
        int32_t nrows;
        CHECK(mdl_forward(c, &mb, &logits, &nrows, &err) == CIRRUS_OK);
        pred[0] = -1;
        for (int t = 1; t < L; t++) {
            const float *l = logits + (size_t)(t - 1) * (size_t)V;
            int32_t best = 0;
            for (int32_t j = 1; j < V; j++)
                if (l[j] > l[best]) best = j;
            pred[t] = best;
        }
        CHECK(guard_det_add_pred(d, x, pred, L, &err) == CIRRUS_OK);
    }
    guard_score s;
    guard_det_result(d, &v, &s);
    printf("open-model test, clean tiny model on %d watermarked texts: %llu scored, %llu green, z %.2f, p %.3g\n", N_COMP,
           (unsigned long long)s.n_scored, (unsigned long long)s.n_green, s.z, s.p_value);
    CHECK_MSG(s.p_value > 0.01, "clean model flagged: p %g", s.p_value);

    guard_det_free(d);
    mdl_ctx_free(c);
    free(wmt);
    free(pl);
    guard_wm_free(wm);
    mdl_free(m);
    unlink(path);
    return check_done("test_guard_model");
}
