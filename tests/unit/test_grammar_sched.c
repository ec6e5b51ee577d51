/*
 * grammar through the scheduler (sched_req_params.choice_proc): every choice of every request
 * gets its own matcher, the output is a complete sentence, end-of-generation comes exactly when
 * the grammar is done, a failing choice_proc fails the submit with its message, and the processor
 * fails closed when the history holds a token outside the grammar. Model: stories260K (its
 * learned pieces are placeholders, so only the grammar can make the output a sentence).
 */
#include <string.h>

#include "check.h"
#include "grammar/grammar.h"
#include "sched/sched.h"

static mdl_model *g_model;
static tok_vocab *g_tv;
static grm_vocab *g_gv;

static grm_grammar *compile(const char *text) {
    grm_grammar *g = NULL;
    cirrus_err err;
    CHECK_MSG(grm_compile(text, strlen(text), NULL, g_gv, &g, &err) == CIRRUS_OK, "%s", err.msg);
    return g;
}

static bool sentence(grm_grammar *g, const char *s, size_t n) {
    grm_matcher *m = NULL;
    cirrus_err err;
    if (grm_matcher_new(g, &m, &err)) return false;
    bool ok = grm_matcher_accept_bytes(m, s, n) && grm_matcher_is_complete(m);
    grm_matcher_free(m);
    return ok;
}

static cirrus_status failing_proc(void *arg, int32_t choice, smp_proc *out, cirrus_err *err) {
    (void)arg, (void)out;
    return cirrus_errf(err, CIRRUS_ERR_INVALID, "choice %d: no processor today", choice);
}

static void test_generate(void) {
    sched_params sp = {.model = g_model, .vocab = g_tv, .n_threads = 1, .n_ctx = 256, .n_slots = 4, .n_batch = 64};
    sched *s = NULL;
    cirrus_err err;
    CHECK_MSG(sched_new(&sp, &s, &err) == CIRRUS_OK, "%s", err.msg);
    grm_grammar *g = compile("root ::= \"{\\\"n\\\": \" ( [0-9] | [1-9] [0-9]{1,3} ) \", \\\"w\\\": \\\"\" [a-z]{1,8} \"\\\"}\"\n");
    if (!s || !g) goto out;
    int32_t prompt[1] = {tok_bos(g_tv)};
    sched_req *reqs[6] = {0};
    for (int k = 0; k < 6; k++) {
        sched_req_params rp = {0};
        rp.prompt = prompt, rp.n_prompt = 1, rp.max_tokens = 120, rp.n_choices = 2, rp.n_logprobs = -1;
        smp_params_default(&rp.sampling);
        rp.sampling.seed = 7 + (uint64_t)k, rp.sampling.temperature = 1.0f, rp.sampling.top_k = 0;
        rp.sampling.top_p = 1.0f, rp.sampling.min_p = 0;
        rp.choice_proc = grm_choice_proc, rp.choice_proc_arg = g;
        CHECK_MSG(sched_submit(s, &rp, &reqs[k], &err) == CIRRUS_OK, "%s", err.msg);
    }
    for (int k = 0; k < 6; k++) {
        char text[2][1024];
        size_t len[2] = {0, 0};
        sched_finish fin[2] = {0, 0};
        sched_event ev;
        while (reqs[k] && sched_poll(reqs[k], &ev, 20000) == 1) {
            int c = ev.choice;
            CHECK(c == 0 || c == 1);
            if (c != 0 && c != 1) continue;
            if (len[c] + ev.text_len < sizeof text[0]) {
                memcpy(text[c] + len[c], ev.text, ev.text_len);
                len[c] += ev.text_len;
            }
            if (ev.finish) fin[c] = ev.finish;
        }
        for (int c = 0; c < 2; c++) {
            CHECK_MSG(fin[c] == SCHED_FINISH_STOP, "request %d choice %d ended with %d", k, c, (int)fin[c]);
            CHECK_MSG(sentence(g, text[c], len[c]), "request %d choice %d: '%.*s'", k, c, (int)len[c], text[c]);
        }
        sched_req_free(reqs[k]);
    }
    /* a choice_proc that fails fails the submit, with its message */
    sched_req_params rp = {0};
    rp.prompt = prompt, rp.n_prompt = 1, rp.max_tokens = 8, rp.n_choices = 3, rp.n_logprobs = -1;
    smp_params_default(&rp.sampling);
    rp.choice_proc = failing_proc;
    sched_req *r = NULL;
    CHECK(sched_submit(s, &rp, &r, &err) == CIRRUS_ERR_INVALID && r == NULL);
    CHECK(strstr(err.msg, "choice 0: no processor today") != NULL);
out:
    grm_release(g);
    sched_free(s);
}

/* The processor on its own: follows the history, forces EOG when done, fails closed. */
static void test_proc(void) {
    grm_grammar *g = compile("root ::= \"ab\"\n");
    smp_proc p;
    cirrus_err err;
    if (!g || grm_proc_new(g, &p, &err) != CIRRUS_OK) {
        CHECK(0);
        grm_release(g);
        return;
    }
    int32_t n = grm_vocab_n(g_gv);
    smp_cand *cands = malloc((size_t)n * sizeof *cands);
    int32_t hist[8] = {tok_bos(g_tv)};
    /* the ids whose pieces are exactly "a", "b", "z" (byte tokens: the tokenizer would add a space) */
    int32_t ids[2] = {-1, -1}, zed = -1;
    size_t n_ids = 2;
    for (int32_t i = 0; i < n; i++) {
        size_t len;
        const uint8_t *pc = grm_vocab_piece(g_gv, i, &len);
        if (len == 1 && pc[0] == 'a' && ids[0] < 0) ids[0] = i;
        if (len == 1 && pc[0] == 'b' && ids[1] < 0) ids[1] = i;
        if (len == 1 && pc[0] == 'z' && zed < 0) zed = i;
    }
    CHECK(ids[0] >= 0 && ids[1] >= 0 && zed >= 0);
    for (int step = 0; ids[1] >= 0 && step <= (int)n_ids; step++) {
        for (int32_t i = 0; i < n; i++) cands[i] = (smp_cand){i, 0.0f};
        smp_cands c = {cands, (size_t)n, false};
        smp_history h = {hist, 1 + (size_t)step, 1};
        p.apply(&p, &c, &h);
        bool has_next = false, has_eog = false;
        for (size_t i = 0; i < c.n; i++) {
            if (!(c.data[i].logit > -INFINITY)) continue; /* banned in place, tidy's to remove */
            if (step < (int)n_ids && c.data[i].id == ids[step]) has_next = true;
            if (tok_is_eog(g_tv, c.data[i].id)) has_eog = true;
        }
        if (step < (int)n_ids) {
            CHECK_MSG(has_next && !has_eog, "step %d", step);
            CHECK(grm_proc_status(&p) == GRM_PROC_OPEN);
            hist[1 + step] = ids[step];
        } else {
            CHECK_MSG(c.n >= 1 && has_eog, "done: only EOG (%zu candidates)", c.n);
            for (size_t i = 0; i < c.n; i++) CHECK(tok_is_eog(g_tv, c.data[i].id) || !(c.data[i].logit > -INFINITY));
            CHECK(grm_proc_status(&p) == GRM_PROC_COMPLETE);
        }
    }
    /* a token the grammar refuses in the history: from then on only EOG, and the status says so */
    int32_t bad_hist[3] = {tok_bos(g_tv), zed, -1};
    for (int32_t i = 0; i < n; i++) cands[i] = (smp_cand){i, 0.0f};
    smp_cands c = {cands, (size_t)n, false};
    smp_history h = {bad_hist, 2, 1};
    p.apply(&p, &c, &h);
    CHECK(grm_proc_status(&p) == GRM_PROC_FAILED);
    for (size_t i = 0; i < c.n; i++) CHECK(tok_is_eog(g_tv, c.data[i].id) || !(c.data[i].logit > -INFINITY));
    /* a shorter history (the sequence restarted) resets it */
    smp_history h0 = {bad_hist, 1, 1};
    for (int32_t i = 0; i < n; i++) cands[i] = (smp_cand){i, 0.0f};
    c = (smp_cands){cands, (size_t)n, false};
    p.apply(&p, &c, &h0);
    CHECK(grm_proc_status(&p) == GRM_PROC_OPEN && c.n > 0);
    free(cands);
    p.free(&p);
    grm_release(g);
}

int main(void) {
    char path[512];
    snprintf(path, sizeof path, "%s/models/stories260K.gguf", check_shared_dir());
    cirrus_err err;
    if (mdl_load(path, &g_model, &err) || tok_load(mdl_get_gguf(g_model), &g_tv, &err) ||
        grm_vocab_new(g_tv, &g_gv, &err)) {
        CHECK_MSG(0, "%s: %s", path, err.msg);
        return check_done("test_grammar_sched");
    }
    test_generate();
    test_proc();
    grm_vocab_free(g_gv);
    tok_free(g_tv);
    mdl_free(g_model);
    return check_done("test_grammar_sched");
}
