/* sched: continuous batching, chunked prefill, n > 1, stops, cancellation, admission errors,
 * prefix cache per tenant, fairness between tenants, shutdown. Model: stories260K (tiny, fast, so
 * this also runs under ASan). Greedy results are checked against a plain mdl_forward + argmax loop. */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "check.h"
#include "sched/sched.h"

static mdl_model *g_model;
static tok_vocab *g_vocab;

#define MAXG 256
typedef struct {
    int32_t ids[SCHED_MAX_CHOICES][MAXG];
    uint64_t steps[SCHED_MAX_CHOICES][MAXG];
    int n[SCHED_MAX_CHOICES];
    char text[SCHED_MAX_CHOICES][4096];
    size_t tlen[SCHED_MAX_CHOICES];
    sched_finish fin[SCHED_MAX_CHOICES];
    int n_final[SCHED_MAX_CHOICES];
    bool lp_ok;
} result;

static void on_event(result *res, const sched_event *ev) {
    int c = ev->choice;
    if (ev->token >= 0 && res->n[c] < MAXG) {
        res->steps[c][res->n[c]] = ev->step;
        res->ids[c][res->n[c]++] = ev->token;
        if (ev->has_logprobs && (ev->lp.id != ev->token || ev->lp.n_top < 1)) res->lp_ok = false;
    }
    if (res->tlen[c] + ev->text_len < sizeof res->text[c]) {
        memcpy(res->text[c] + res->tlen[c], ev->text, ev->text_len);
        res->tlen[c] += ev->text_len;
        res->text[c][res->tlen[c]] = 0;
    }
    if (ev->finish != SCHED_FINISH_NONE) {
        res->fin[c] = ev->finish;
        res->n_final[c]++;
    }
}

static void collect(sched_req *r, result *res) {
    sched_event ev;
    int rc;
    while ((rc = sched_poll(r, &ev, 10000)) == 1) on_event(res, &ev);
    CHECK_MSG(rc == -1, "poll ended with %d", rc);
}

static void greedy_params(sched_req_params *rp, const int32_t *prompt, int32_t n, int32_t max_tokens) {
    memset(rp, 0, sizeof *rp);
    rp->prompt = prompt;
    rp->n_prompt = n;
    rp->max_tokens = max_tokens;
    rp->n_choices = 1;
    rp->n_logprobs = -1;
    smp_params_default(&rp->sampling);
    rp->sampling.temperature = 0;
}

static sched *make_sched(int32_t n_slots, int32_t n_batch, int32_t n_ctx, int32_t max_queue, bool cache) {
    sched_params p = {.model = g_model, .vocab = g_vocab, .n_threads = 1, .n_ctx = n_ctx, .n_slots = n_slots,
                      .n_batch = n_batch, .max_queue = max_queue, .prefix_cache = cache};
    sched *s = NULL;
    cirrus_err err;
    cirrus_status st = sched_new(&p, &s, &err);
    CHECK_MSG(st == CIRRUS_OK, "sched_new: %s", err.msg);
    return s;
}

/* The reference: one sequence, one token at a time, argmax, stop at end of generation. */
static int ref_greedy(const int32_t *prompt, int32_t n_prompt, int32_t max_tokens, int32_t *out) {
    mdl_ctx_params cp = {.n_ctx = 256, .n_seq = 1, .n_batch = 256, .n_out = 1, .n_threads = 1};
    mdl_ctx *c = NULL;
    cirrus_err err;
    if (mdl_ctx_new(g_model, &cp, &c, &err) != CIRRUS_OK) return -1;
    int32_t V = mdl_get_hparams(g_model)->n_vocab, pos[256], seq[256] = {0}, tok[256];
    for (int32_t i = 0; i < n_prompt; i++) pos[i] = i, tok[i] = prompt[i];
    int n = 0;
    int32_t cur = n_prompt;
    mdl_batch b = {n_prompt, tok, pos, seq, NULL};
    for (;;) {
        const float *lg;
        int32_t got;
        if (mdl_forward(c, &b, &lg, &got, &err) != CIRRUS_OK) break;
        int32_t best = 0;
        for (int32_t v = 1; v < V; v++)
            if (lg[v] > lg[best]) best = v;
        if (tok_is_eog(g_vocab, best)) break;
        out[n++] = best;
        if (n >= max_tokens) break;
        tok[0] = best;
        pos[0] = cur++;
        b = (mdl_batch){1, tok, pos, seq, NULL};
    }
    mdl_ctx_free(c);
    return n;
}

static int32_t encode(const char *text, int32_t *out, int32_t cap) {
    int32_t *ids = NULL;
    size_t n = 0;
    cirrus_err err;
    if (tok_encode(g_vocab, text, strlen(text), true, false, &ids, &n, &err) != CIRRUS_OK) return 0;
    if ((int32_t)n > cap) n = (size_t)cap;
    memcpy(out, ids, n * sizeof *ids);
    free(ids);
    return (int32_t)n;
}

/* Stats trail the final events by a moment (the engine books a step after pushing its events). */
static void settle(sched *s, sched_stats *st) {
    for (int i = 0; i < 1000; i++) {
        sched_get_stats(s, st);
        if (st->running == 0 && st->queued == 0) return;
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
    }
}

static const char *k_texts[4] = {"Once upon a time, there was a little girl", "The cat sat on the mat and",
                                 "Tom and his dog went to the park. They", "One day, a big bird"};

/* ---- greedy parity, alone and batched ------------------------------------------------------ */

static void test_greedy_parity(void) {
    sched *s = make_sched(4, 64, 256, 16, false);
    int32_t prompts[4][64], np[4], ref[4][MAXG], nref[4];
    for (int i = 0; i < 4; i++) {
        np[i] = encode(k_texts[i], prompts[i], 64);
        nref[i] = ref_greedy(prompts[i], np[i], 32, ref[i]);
    }
    /* one request */
    sched_req_params rp;
    greedy_params(&rp, prompts[0], np[0], 32);
    sched_req *r = NULL;
    cirrus_err err;
    CHECK(sched_submit(s, &rp, &r, &err) == CIRRUS_OK);
    static result res1;
    memset(&res1, 0, sizeof res1);
    collect(r, &res1);
    CHECK_MSG(res1.n[0] == nref[0], "%d tokens vs reference %d", res1.n[0], nref[0]);
    CHECK(memcmp(res1.ids[0], ref[0], sizeof(int32_t) * (size_t)nref[0]) == 0);
    CHECK(res1.fin[0] == (nref[0] == 32 ? SCHED_FINISH_LENGTH : SCHED_FINISH_STOP));
    CHECK(res1.n_final[0] == 1);
    sched_usage u;
    sched_req_usage(r, &u);
    CHECK(u.prompt_tokens == (uint32_t)np[0]);
    CHECK(u.completion_tokens == (uint32_t)res1.n[0] + (res1.fin[0] == SCHED_FINISH_STOP));
    CHECK(u.t_submit_ns && u.t_admit_ns >= u.t_submit_ns && u.t_first_token_ns >= u.t_admit_ns &&
          u.t_done_ns >= u.t_first_token_ns);
    sched_req_free(r);

    /* four at once: they share steps and still give the reference tokens */
    sched_req *rs[4];
    static result res[4];
    memset(res, 0, sizeof res);
    for (int i = 0; i < 4; i++) {
        greedy_params(&rp, prompts[i], np[i], 32);
        CHECK(sched_submit(s, &rp, &rs[i], &err) == CIRRUS_OK);
    }
    for (int i = 0; i < 4; i++) {
        collect(rs[i], &res[i]);
        CHECK_MSG(res[i].n[0] == nref[i] && memcmp(res[i].ids[0], ref[i], sizeof(int32_t) * (size_t)nref[i]) == 0,
                  "batched request %d differs from the reference", i);
        sched_req_free(rs[i]);
    }
    /* Batched: the four streams were decoded in common steps. */
    int shared = 0;
    for (int k = 0; k < res[0].n[0]; k++)
        for (int j = 0; j < res[1].n[0]; j++) shared += res[0].steps[0][k] == res[1].steps[0][j];
    CHECK_MSG(shared > 5, "streams 0 and 1 shared %d steps", shared);
    sched_stats st;
    settle(s, &st);
    CHECK(st.running == 0 && st.slots_used == 0 && st.queued == 0);
    CHECK(st.tokens_generated >= (uint64_t)(res1.n[0] + nref[0] + nref[1] + nref[2] + nref[3]));
    sched_free(s);
}

/* ---- n > 1: choice c of (n = 3, seed) is choice 0 of (n = 1, seed + c) -------------------------- */

static void test_choices(void) {
    sched *s = make_sched(4, 64, 256, 16, false);
    int32_t prompt[64];
    int32_t np = encode(k_texts[1], prompt, 64);
    sched_req_params rp;
    greedy_params(&rp, prompt, np, 20);
    rp.sampling.temperature = 1.0f;
    rp.sampling.top_k = 0;
    rp.sampling.top_p = 1.0f;
    rp.sampling.min_p = 0;
    rp.sampling.seed = 1234;
    rp.n_choices = 3;
    rp.n_logprobs = 2;
    sched_req *r;
    cirrus_err err;
    CHECK(sched_submit(s, &rp, &r, &err) == CIRRUS_OK);
    static result res;
    memset(&res, 0, sizeof res);
    res.lp_ok = true;
    collect(r, &res);
    CHECK(res.lp_ok);
    sched_usage u;
    sched_req_usage(r, &u);
    CHECK(u.completion_tokens >= (uint32_t)(res.n[0] + res.n[1] + res.n[2]));
    sched_req_free(r);
    for (int c = 0; c < 3; c++) CHECK(res.n_final[c] == 1 && res.n[c] > 0);
    CHECK_MSG(memcmp(res.ids[0], res.ids[1], sizeof(int32_t) * 20) != 0 ||
                  memcmp(res.ids[1], res.ids[2], sizeof(int32_t) * 20) != 0,
              "three seeds gave the same text");
    for (int c = 0; c < 3; c++) {
        rp.n_choices = 1;
        rp.sampling.seed = 1234 + (uint64_t)c;
        CHECK(sched_submit(s, &rp, &r, &err) == CIRRUS_OK);
        static result one;
        memset(&one, 0, sizeof one);
        collect(r, &one);
        sched_req_free(r);
        CHECK_MSG(one.n[0] == res.n[c] && memcmp(one.ids[0], res.ids[c], sizeof(int32_t) * (size_t)one.n[0]) == 0,
                  "choice %d differs from a single request with seed + %d", c, c);
    }
    sched_free(s);
}

/* ---- finish reasons, stop strings, logprobs --------------------------------------------------- */

static void test_finish(void) {
    sched *s = make_sched(2, 64, 256, 16, false);
    int32_t prompt[64];
    int32_t np = encode(k_texts[0], prompt, 64);
    sched_req_params rp;
    sched_req *r;
    cirrus_err err;
    static result res;

    /* max_tokens -> LENGTH (end of generation banned so the length is certain) */
    smp_bias ban = {tok_eos(g_vocab), -100.0f};
    greedy_params(&rp, prompt, np, 5);
    rp.sampling.bias = &ban;
    rp.sampling.n_bias = 1;
    rp.n_logprobs = 3;
    CHECK(sched_submit(s, &rp, &r, &err) == CIRRUS_OK);
    memset(&res, 0, sizeof res);
    res.lp_ok = true;
    collect(r, &res);
    sched_req_free(r);
    CHECK(res.n[0] == 5 && res.fin[0] == SCHED_FINISH_LENGTH && res.lp_ok);

    /* EOS -> STOP: forced by a bias, counted in usage but not shown */
    smp_bias force = {tok_eos(g_vocab), 100.0f};
    greedy_params(&rp, prompt, np, 5);
    rp.sampling.bias = &force;
    rp.sampling.n_bias = 1;
    CHECK(sched_submit(s, &rp, &r, &err) == CIRRUS_OK);
    memset(&res, 0, sizeof res);
    collect(r, &res);
    sched_usage u;
    sched_req_usage(r, &u);
    sched_req_free(r);
    CHECK(res.n[0] == 0 && res.fin[0] == SCHED_FINISH_STOP && res.tlen[0] == 0 && u.completion_tokens == 1);

    /* stop string: cut out of a free run's text, then the run stops right before it */
    greedy_params(&rp, prompt, np, 40);
    rp.sampling.bias = &ban;
    rp.sampling.n_bias = 1;
    CHECK(sched_submit(s, &rp, &r, &err) == CIRRUS_OK);
    static result full;
    memset(&full, 0, sizeof full);
    collect(r, &full);
    sched_req_free(r);
    CHECK(full.tlen[0] > 30);
    char stop[8];
    memcpy(stop, full.text[0] + 20, 5);
    stop[5] = 0;
    const char *first = strstr(full.text[0], stop);
    rp.stops[0] = stop;
    rp.n_stops = 1;
    CHECK(sched_submit(s, &rp, &r, &err) == CIRRUS_OK);
    memset(&res, 0, sizeof res);
    collect(r, &res);
    sched_req_free(r);
    CHECK_MSG(res.fin[0] == SCHED_FINISH_STOP && first && res.tlen[0] == (size_t)(first - full.text[0]) &&
                  memcmp(res.text[0], full.text[0], res.tlen[0]) == 0,
              "stop \"%s\": got \"%s\"", stop, res.text[0]);
    CHECK(strcmp(full.text[0] + 0, full.text[0]) == 0);
    sched_free(s);
}

/* ---- cancel, admission errors -------------------------------------------------------------- */

static void test_cancel_and_errors(void) {
    sched *s = make_sched(1, 16, 256, 2, false);
    int32_t prompt[64];
    int32_t np = encode(k_texts[2], prompt, 64);
    sched_req_params rp;
    greedy_params(&rp, prompt, np, 150);
    smp_bias ban = {tok_eos(g_vocab), -100.0f};
    rp.sampling.bias = &ban;
    rp.sampling.n_bias = 1;
    sched_req *a, *q1, *q2, *q3;
    cirrus_err err;
    CHECK_MSG(sched_submit(s, &rp, &a, &err) == CIRRUS_OK, "%s", err.msg);
    sched_event ev;
    for (int i = 0; i < 3; i++) CHECK(sched_poll(a, &ev, 10000) == 1 && ev.finish == SCHED_FINISH_NONE);
    /* a holds the only slot: two more wait, the third finds the queue full */
    CHECK(sched_submit(s, &rp, &q1, &err) == CIRRUS_OK);
    CHECK(sched_submit(s, &rp, &q2, &err) == CIRRUS_OK);
    CHECK(sched_submit(s, &rp, &q3, &err) == CIRRUS_ERR_FULL && q3 == NULL);
    sched_stats st;
    sched_get_stats(s, &st);
    CHECK(st.queued == 2 && st.running == 1 && st.slots_used == 1);
    CHECK(st.kv_bytes_total > 0 && st.kv_bytes_used == st.kv_bytes_total); /* one slot, held */

    sched_cancel(a);
    int rc, finals = 0;
    sched_finish fin = SCHED_FINISH_NONE;
    while ((rc = sched_poll(a, &ev, 10000)) == 1)
        if (ev.finish) finals++, fin = ev.finish;
    CHECK(rc == -1 && finals == 1 && fin == SCHED_FINISH_CANCELLED);
    sched_usage u;
    sched_req_usage(a, &u);
    CHECK(u.completion_tokens < 150);
    sched_req_free(a);
    /* q1 gets the freed slot; q2 is cancelled while queued; q1's owner walks away mid-stream */
    CHECK(sched_poll(q1, &ev, 10000) == 1 && ev.token >= 0);
    sched_cancel(q2);
    static result res;
    memset(&res, 0, sizeof res);
    collect(q2, &res);
    CHECK(res.n[0] == 0 && res.fin[0] == SCHED_FINISH_CANCELLED && res.n_final[0] == 1);
    sched_req_free(q2);
    sched_req_free(q1);
    settle(s, &st);
    CHECK(st.slots_used == 0 && st.running == 0 && st.queued == 0);

    /* admission errors name the field */
    rp.max_tokens = 256 - np + 1;
    CHECK(sched_submit(s, &rp, &q3, &err) == CIRRUS_ERR_RANGE && strstr(err.msg, "max_tokens"));
    rp.max_tokens = 4;
    rp.n_choices = 2;
    CHECK(sched_submit(s, &rp, &q3, &err) == CIRRUS_ERR_RANGE && strstr(err.msg, "n:"));
    rp.n_choices = 1;
    int32_t bad[2] = {1, 100000};
    rp.prompt = bad;
    rp.n_prompt = 2;
    CHECK(sched_submit(s, &rp, &q3, &err) == CIRRUS_ERR_INVALID && strstr(err.msg, "prompt[1]"));
    sched_free(s);
}

/* ---- prefix cache ---------------------------------------------------------------------------- */

static void run_one(sched *s, const char *tenant, const int32_t *prompt, int32_t np, int32_t max_tokens, result *res,
                    sched_usage *u) {
    sched_req_params rp;
    greedy_params(&rp, prompt, np, max_tokens);
    strcpy(rp.tenant, tenant);
    sched_req *r;
    cirrus_err err;
    memset(res, 0, sizeof *res);
    CHECK(sched_submit(s, &rp, &r, &err) == CIRRUS_OK);
    collect(r, res);
    sched_req_usage(r, u);
    sched_req_free(r);
}

static void test_prefix_cache(void) {
    sched *s = make_sched(4, 32, 256, 16, true);
    int32_t sys[128], p2[128];
    int32_t n1 = encode("Once upon a time, there was a little girl named Lily. She loved to play", sys, 128);
    memcpy(p2, sys, sizeof(int32_t) * (size_t)n1);
    int32_t n2 = n1 + encode("outside in the sun", p2 + n1, 128 - n1) - 1; /* drop its BOS */
    memmove(p2 + n1, p2 + n1 + 1, sizeof(int32_t) * (size_t)(n2 - n1));
    static result a, b, cold;
    sched_usage u;
    run_one(s, "alice", sys, n1, 12, &a, &u);
    CHECK(u.cached_tokens == 0);
    run_one(s, "alice", p2, n2, 12, &b, &u);
    CHECK_MSG(u.cached_tokens >= (uint32_t)n1 - 1 && u.cached_tokens <= (uint32_t)n2 - 1, "cached %u of %d",
              u.cached_tokens, n2);
    int32_t ref[MAXG];
    int nref = ref_greedy(p2, n2, 12, ref);
    CHECK_MSG(b.n[0] == nref && memcmp(b.ids[0], ref, sizeof(int32_t) * (size_t)nref) == 0,
              "cached run differs from a cold one");
    /* the same prompt again: everything but the last token comes from the cache */
    run_one(s, "alice", p2, n2, 12, &cold, &u);
    CHECK(u.cached_tokens == (uint32_t)n2 - 1);
    CHECK(cold.n[0] == nref && memcmp(cold.ids[0], ref, sizeof(int32_t) * (size_t)nref) == 0);
    /* another tenant never sees alice's prefix (invariant 4) */
    run_one(s, "bob", p2, n2, 12, &cold, &u);
    CHECK_MSG(u.cached_tokens == 0, "bob reused %u tokens of alice's", u.cached_tokens);
    CHECK(cold.n[0] == nref && memcmp(cold.ids[0], ref, sizeof(int32_t) * (size_t)nref) == 0);
    /* A prefix still being decoded by a running request is copied into the new request's slot. */
    sched_req_params rp;
    greedy_params(&rp, sys, n1, 40);
    strcpy(rp.tenant, "carol");
    sched_req *r1, *r2;
    cirrus_err err;
    sched_event ev;
    CHECK(sched_submit(s, &rp, &r1, &err) == CIRRUS_OK);
    CHECK(sched_poll(r1, &ev, 10000) == 1 && ev.token >= 0); /* r1 is decoding now */
    greedy_params(&rp, p2, n2, 12);
    strcpy(rp.tenant, "carol");
    CHECK(sched_submit(s, &rp, &r2, &err) == CIRRUS_OK);
    memset(&b, 0, sizeof b);
    collect(r2, &b);
    sched_req_usage(r2, &u);
    CHECK_MSG(u.cached_tokens >= (uint32_t)n1 - 1, "copied %u tokens from the running request", u.cached_tokens);
    CHECK(b.n[0] == nref && memcmp(b.ids[0], ref, sizeof(int32_t) * (size_t)nref) == 0);
    sched_req_free(r2);
    sched_req_free(r1);
    /* Two choices from a cached prefix: both start from the full prompt. */
    greedy_params(&rp, p2, n2, 12);
    strcpy(rp.tenant, "alice");
    rp.n_choices = 2;
    CHECK(sched_submit(s, &rp, &r1, &err) == CIRRUS_OK);
    memset(&b, 0, sizeof b);
    collect(r1, &b);
    sched_req_usage(r1, &u);
    sched_req_free(r1);
    CHECK(u.cached_tokens == (uint32_t)n2 - 1);
    for (int c = 0; c < 2; c++)
        CHECK_MSG(b.n[c] == nref && memcmp(b.ids[c], ref, sizeof(int32_t) * (size_t)nref) == 0, "choice %d", c);

    sched_tenant_stats ts[8];
    int32_t nt = sched_get_tenant_stats(s, ts, 8);
    CHECK(nt == 3 && strcmp(ts[0].tenant, "alice") == 0 && ts[0].requests == 4 && ts[0].cached_tokens > 0 &&
          ts[1].cached_tokens == 0 && ts[1].generated_tokens > 0);
    sched_free(s);
}

/* Cache entries cost no capacity: a request that needs the slot evicts the least recently used. */
static void test_prefix_evict(void) {
    sched *s = make_sched(1, 32, 256, 4, true);
    int32_t p[64];
    int32_t np = encode(k_texts[0], p, 64);
    static result res;
    sched_usage u;
    sched_stats st;
    run_one(s, "alice", p, np, 4, &res, &u);
    settle(s, &st);
    CHECK(st.slots_cached == 1 && st.slots_used == 0);
    run_one(s, "bob", p, np, 4, &res, &u); /* takes alice's slot, shares nothing */
    CHECK(u.cached_tokens == 0);
    run_one(s, "alice", p, np, 4, &res, &u); /* her entry is gone */
    CHECK(u.cached_tokens == 0);
    run_one(s, "alice", p, np, 4, &res, &u);
    CHECK(u.cached_tokens == (uint32_t)np - 1);
    sched_free(s);
}

/* ---- chunked prefill: a long prompt never stalls a running stream -------------------------------- */

static void test_chunked_prefill(void) {
    const int32_t n_batch = 16;
    sched *s = make_sched(2, n_batch, 512, 4, false);
    int32_t prompt[64], longp[300];
    int32_t np = encode(k_texts[3], prompt, 64);
    for (int i = 0; i < 300; i++) longp[i] = i == 0 ? 1 : 3 + (i * 37) % 500;
    smp_bias ban = {tok_eos(g_vocab), -100.0f};
    sched_req_params rp;
    greedy_params(&rp, prompt, np, 120);
    rp.sampling.bias = &ban;
    rp.sampling.n_bias = 1;
    sched_req *x, *y;
    cirrus_err err;
    CHECK(sched_submit(s, &rp, &x, &err) == CIRRUS_OK);
    sched_event ev;
    CHECK(sched_poll(x, &ev, 10000) == 1);
    rp.prompt = longp;
    rp.n_prompt = 300;
    rp.max_tokens = 4;
    CHECK(sched_submit(s, &rp, &y, &err) == CIRRUS_OK);
    static result rx, ry;
    memset(&rx, 0, sizeof rx);
    memset(&ry, 0, sizeof ry);
    collect(x, &rx);
    collect(y, &ry);
    /* With x in every batch, y gets at most n_batch - 1 prompt tokens per step, so its prompt
     * spans P steps ending at its first token; x must have a token from each of them. */
    const int P = (300 + n_batch - 2) / (n_batch - 1);
    uint64_t y_first = ry.steps[0][0];
    int in_window = 0;
    for (int i = 0; i < rx.n[0]; i++) in_window += rx.steps[0][i] + (uint64_t)P > y_first && rx.steps[0][i] <= y_first;
    CHECK_MSG(y_first > (uint64_t)P && in_window == P, "x decoded in %d of the %d steps of y's prefill", in_window, P);
    sched_stats st;
    settle(s, &st);
    CHECK(st.tokens_prefilled == (uint64_t)(np + 300));
    CHECK(st.tokens_prefilled + st.tokens_generated <= st.steps * (uint64_t)n_batch);
    sched_req_free(x);
    sched_req_free(y);
    sched_free(s);
}

/* ---- fairness --------------------------------------------------------------------------------- */

typedef struct {
    sched *s;
    const char *tenant;
    uint32_t weight;
    int32_t max_tokens;
    atomic_bool *stop;
    int32_t prompt[64];
    int32_t np;
} client;

static void *client_main(void *arg) {
    client *c = arg;
    smp_bias ban = {tok_eos(g_vocab), -100.0f};
    while (!atomic_load(c->stop)) {
        sched_req_params rp;
        greedy_params(&rp, c->prompt, c->np, c->max_tokens);
        rp.sampling.temperature = 0.8f;
        rp.sampling.seed = (uint64_t)(uintptr_t)c;
        rp.sampling.bias = &ban;
        rp.sampling.n_bias = 1;
        strcpy(rp.tenant, c->tenant);
        rp.weight = c->weight;
        sched_req *r;
        cirrus_err err;
        if (sched_submit(c->s, &rp, &r, &err) != CIRRUS_OK) break;
        sched_event ev;
        while (sched_poll(r, &ev, 10000) == 1)
            if (atomic_load(c->stop)) sched_cancel(r);
        sched_req_free(r);
    }
    return NULL;
}

static uint64_t tenant_gen(sched *s, const char *name) {
    sched_tenant_stats ts[8];
    int32_t n = sched_get_tenant_stats(s, ts, 8);
    for (int32_t i = 0; i < n && i < 8; i++)
        if (strcmp(ts[i].tenant, name) == 0) return ts[i].generated_tokens;
    return 0;
}

/* Tenant A (weight w_a): 8 concurrent long requests; tenant B (weight 1): one at a time, back to
 * back. B's share of generated tokens should be 1 / (1 + w_a). */
static void fairness(int32_t n_slots, uint32_t w_a) {
    sched *s = make_sched(n_slots, 64, 256, 64, false);
    atomic_bool stop;
    atomic_init(&stop, false);
    static client cl[9];
    pthread_t th[9];
    for (int i = 0; i < 9; i++) {
        cl[i] = (client){s, i < 8 ? "A" : "B", i < 8 ? w_a : 1, i < 8 ? 96 : 24, &stop, {0}, 0};
        cl[i].np = encode(k_texts[i % 4], cl[i].prompt, 64);
        pthread_create(&th[i], NULL, client_main, &cl[i]);
    }
    /* measure once both are going, over B's next 480 tokens */
    while (tenant_gen(s, "B") < 48 || tenant_gen(s, "A") < 48) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    uint64_t a0 = tenant_gen(s, "A"), b0 = tenant_gen(s, "B");
    while (tenant_gen(s, "B") < b0 + 480) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    uint64_t da = tenant_gen(s, "A") - a0, db = tenant_gen(s, "B") - b0;
    atomic_store(&stop, true);
    for (int i = 0; i < 9; i++) pthread_join(th[i], NULL);
    double share = (double)db / (double)(da + db), want = 1.0 / (1.0 + w_a);
    printf("fairness, %d slots, weights %u:1: A %llu tokens, B %llu tokens, B's share %.3f (want %.3f)\n", n_slots,
           w_a, (unsigned long long)da, (unsigned long long)db, share, want);
    /* The share depends on how fast B's client thread resubmits between requests (a gap the
     * scheduler bridges with a grace credit). Under a sanitizer on a loaded 2-core machine that gap
     * can be many steps long, so there the check is only that B is not starved; the exact
     * acceptance figure (50% +- 10%) is checked in the optimised build and with loadgen. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    double lo = want * 0.5, hi = want * 1.5;
#else
    double lo = want * 0.8, hi = want * 1.2;
#endif
    CHECK_MSG(share >= lo && share <= hi, "B's share %.3f with %d slots", share, n_slots);
    sched_free(s);
}

/* A tenant under its reserved tokens per minute is admitted before the fair order's choice. */
static void reservation_order(bool reserved, bool *b_first) {
    sched *s = make_sched(1, 32, 256, 8, false);
    int32_t prompt[64];
    int32_t np = encode(k_texts[3], prompt, 64);
    sched_req_params rp;
    greedy_params(&rp, prompt, np, 100);
    strcpy(rp.tenant, "A");
    sched_req *a0, *a1, *b;
    cirrus_err err;
    sched_event ev;
    CHECK(sched_submit(s, &rp, &a0, &err) == CIRRUS_OK);
    CHECK(sched_poll(a0, &ev, 10000) == 1);
    rp.max_tokens = 4; /* cheap: round robin would take it first */
    CHECK(sched_submit(s, &rp, &a1, &err) == CIRRUS_OK);
    strcpy(rp.tenant, "B");
    rp.max_tokens = 100;
    rp.reserved_tpm = reserved ? 1000000 : 0;
    CHECK(sched_submit(s, &rp, &b, &err) == CIRRUS_OK);
    sched_cancel(a0);
    static result res;
    collect(a0, &res);
    collect(a1, &res);
    collect(b, &res);
    sched_usage ua, ub;
    sched_req_usage(a1, &ua);
    sched_req_usage(b, &ub);
    *b_first = ub.t_admit_ns < ua.t_admit_ns;
    sched_req_free(a0);
    sched_req_free(a1);
    sched_req_free(b);
    sched_free(s);
}

static void test_reservation(void) {
    bool b_first;
    reservation_order(false, &b_first);
    CHECK_MSG(!b_first, "round robin should admit A's cheap request first");
    reservation_order(true, &b_first);
    CHECK_MSG(b_first, "B's reservation should put it first");
}

/* ---- shutdown ------------------------------------------------------------------------------- */

static void test_shutdown(void) {
    int32_t prompt[64];
    int32_t np = encode(k_texts[0], prompt, 64);
    smp_bias ban = {tok_eos(g_vocab), -100.0f};
    sched_req_params rp;
    greedy_params(&rp, prompt, np, 8);
    rp.sampling.bias = &ban;
    rp.sampling.n_bias = 1;
    cirrus_err err;
    /* generous deadline: running requests finish normally */
    sched *s = make_sched(2, 32, 256, 4, false);
    sched_req *r[3];
    for (int i = 0; i < 3; i++) CHECK(sched_submit(s, &rp, &r[i], &err) == CIRRUS_OK);
    sched_shutdown(s, cirrus_now_ns() + 10000000000ull);
    sched_req *late;
    CHECK(sched_submit(s, &rp, &late, &err) == CIRRUS_ERR_FULL);
    for (int i = 0; i < 3; i++) {
        static result res;
        memset(&res, 0, sizeof res);
        collect(r[i], &res);
        CHECK(res.fin[0] == SCHED_FINISH_LENGTH && res.n[0] == 8);
        sched_req_free(r[i]);
    }
    sched_free(s);
    /* short deadline: long requests are cancelled, each with one final event */
    s = make_sched(2, 32, 256, 4, false);
    rp.max_tokens = 150;
    for (int i = 0; i < 3; i++) CHECK(sched_submit(s, &rp, &r[i], &err) == CIRRUS_OK);
    sched_event ev;
    CHECK(sched_poll(r[0], &ev, 10000) == 1);
    uint64_t t0 = cirrus_now_ns();
    sched_shutdown(s, t0 + 1000000ull); /* 1 ms: far less than 150 steps take */
    CHECK(cirrus_now_ns() - t0 < 2000000000ull);
    sched_stats st;
    sched_get_stats(s, &st);
    CHECK(st.running == 0 && st.queued == 0 && st.slots_used == 0);
    for (int i = 0; i < 3; i++) {
        static result res;
        memset(&res, 0, sizeof res);
        collect(r[i], &res);
        CHECK(res.fin[0] == SCHED_FINISH_CANCELLED && res.n_final[0] == 1);
        sched_req_free(r[i]);
    }
    sched_free(s);
    /* freeing with requests still running cancels them; handles stay valid until freed */
    s = make_sched(1, 32, 256, 4, false);
    CHECK(sched_submit(s, &rp, &r[0], &err) == CIRRUS_OK);
    sched_free(s);
    static result res;
    memset(&res, 0, sizeof res);
    collect(r[0], &res);
    CHECK(res.fin[0] == SCHED_FINISH_CANCELLED);
    sched_req_free(r[0]);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    char path[512];
    snprintf(path, sizeof path, "%s/models/stories260K.gguf", check_shared_dir());
    cirrus_err err;
    if (mdl_load(path, &g_model, &err) != CIRRUS_OK || tok_load(mdl_get_gguf(g_model), &g_vocab, &err) != CIRRUS_OK) {
        fprintf(stderr, "cannot load %s: %s\n", path, err.msg);
        return 1;
    }
    test_greedy_parity();
    test_choices();
    test_finish();
    test_cancel_and_errors();
    test_prefix_cache();
    test_prefix_evict();
    test_chunked_prefill();
    fairness(4, 1);
    fairness(16, 1);
    fairness(4, 3);
    test_reservation();
    test_shutdown();
    tok_free(g_vocab);
    mdl_free(g_model);
    return check_done("test_sched");
}
