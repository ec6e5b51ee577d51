/*
 * `cirrus guard`: watermark keys, watermarked generation, and the measurement of the watermark
 * (detection rates, decode overhead) on a model file.
 *
 *   keygen  a fresh 32-byte key file (mode 0600)
 *   gen     generate with the watermark on (the loop `cirrus run --watermark-key` will share)
 *   eval    N watermarked and N plain completions: TPR / FPR at z >= 4, z and entropy statistics,
 *           decode speed with and without the watermark
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "guard/guard.h"
#include "model/model.h"
#include "sample/sample.h"
#include "tokenizer/tokenizer.h"

static const char *usage =
    "usage: cirrus guard keygen --out KEYFILE [--force]\n"
    "       cirrus guard gen -m M.gguf --key KEYFILE [-p TEXT] [options]\n"
    "       cirrus guard eval -m M.gguf [--key KEYFILE] [options]\n"
    "\n"
    "keygen writes 32 random bytes as hex, mode 0600; --force replaces an existing file.\n"
    "gen prints a watermarked completion of -p (default: empty prompt after BOS).\n"
    "eval generates N watermarked and N plain completions and reports detection rates.\n"
    "\n"
    "watermark:  --wm-gamma G (0.25)  --wm-delta D (2.0)  --wm-h H (4)   --no-watermark (gen)\n"
    "sampling:   -n N tokens (gen 128, eval 200)  --temp T (gen 0.8, eval 1.0)  --top-k K  --top-p P\n"
    "            --min-p P (gen: the defaults of run; eval: 0, 1, 0 = plain sampling)  --seed S\n"
    "            --ignore-eos (gen)   --ids (gen: print token ids)\n"
    "eval:       --completions N (500)  --prompt-tokens K (4 random ids after BOS)  --batch B (16)\n"
    "            --z Z (4)  --retokenize (also detect after detokenize + tokenize)\n"
    "            --speed-tokens N (256; 0 skips the decode-speed comparison)\n"
    "            --bench-vocab V,V,... (processor cost per token at these vocabulary sizes)  --json\n"
    "common:     -t THREADS (2)\n";

/* ---- options ------------------------------------------------------------------------------------ */

typedef struct {
    const char *model, *key_path, *prompt, *out_path, *bench_vocab;
    guard_wm_params wm;
    smp_params sp;
    int64_t n_predict, threads, completions, prompt_tokens, batch, speed_tokens;
    double z;
    bool force, no_wm, ignore_eos, ids, retokenize, json, seed_set;
} guard_opts;

static int parse(int argc, char **argv, guard_opts *o, bool eval) {
    const char *v;
    guard_wm_params_default(&o->wm);
    smp_params_default(&o->sp);
    if (eval) o->sp.temperature = 1.0f, o->sp.top_k = 0, o->sp.top_p = 1.0f, o->sp.min_p = 0.0f;
    o->n_predict = eval ? 200 : 128, o->threads = 2, o->completions = 500, o->prompt_tokens = 4, o->batch = 16;
    o->speed_tokens = 256, o->z = 4.0;
    for (int i = 1; i < argc; i++) {
        int64_t n;
        float f;
        if (cli_opt(argc, argv, &i, "-m", &v)) { if (!(o->model = v)) return 2; }
        else if (cli_opt(argc, argv, &i, "--key", &v)) { if (!(o->key_path = v)) return 2; }
        else if (cli_opt(argc, argv, &i, "--out", &v)) { if (!(o->out_path = v)) return 2; }
        else if (cli_opt(argc, argv, &i, "-p", &v)) { if (!(o->prompt = v)) return 2; }
        else if (cli_opt(argc, argv, &i, "--bench-vocab", &v)) { if (!(o->bench_vocab = v)) return 2; }
        else if (cli_opt(argc, argv, &i, "--wm-gamma", &v)) { if (!cli_parse_f32("--wm-gamma", v, 1e-6f, 0.999999f, &o->wm.gamma)) return 2; }
        else if (cli_opt(argc, argv, &i, "--wm-delta", &v)) { if (!cli_parse_f32("--wm-delta", v, 0, 50, &o->wm.delta)) return 2; }
        else if (cli_opt(argc, argv, &i, "--wm-h", &v)) { if (!cli_parse_i64("--wm-h", v, 0, GUARD_WM_MAX_H, &n)) return 2; o->wm.h = (int32_t)n; }
        else if (cli_opt(argc, argv, &i, "-n", &v)) { if (!cli_parse_i64("-n", v, 1, 1 << 16, &o->n_predict)) return 2; }
        else if (cli_opt(argc, argv, &i, "-t", &v)) { if (!cli_parse_i64("-t", v, 1, 256, &o->threads)) return 2; }
        else if (cli_opt(argc, argv, &i, "--temp", &v)) { if (!cli_parse_f32("--temp", v, 0, 2, &o->sp.temperature)) return 2; }
        else if (cli_opt(argc, argv, &i, "--top-k", &v)) { if (!cli_parse_i64("--top-k", v, 0, 1 << 24, &n)) return 2; o->sp.top_k = (int32_t)n; }
        else if (cli_opt(argc, argv, &i, "--top-p", &v)) { if (!cli_parse_f32("--top-p", v, 1e-6f, 1, &o->sp.top_p)) return 2; }
        else if (cli_opt(argc, argv, &i, "--min-p", &v)) { if (!cli_parse_f32("--min-p", v, 0, 1, &o->sp.min_p)) return 2; }
        else if (cli_opt(argc, argv, &i, "--seed", &v)) { if (!cli_parse_u64("--seed", v, &o->sp.seed)) return 2; o->seed_set = true; }
        else if (cli_opt(argc, argv, &i, "--completions", &v)) { if (!cli_parse_i64("--completions", v, 0, 1 << 20, &o->completions)) return 2; }
        else if (cli_opt(argc, argv, &i, "--prompt-tokens", &v)) { if (!cli_parse_i64("--prompt-tokens", v, 0, 64, &o->prompt_tokens)) return 2; }
        else if (cli_opt(argc, argv, &i, "--batch", &v)) { if (!cli_parse_i64("--batch", v, 1, 256, &o->batch)) return 2; }
        else if (cli_opt(argc, argv, &i, "--speed-tokens", &v)) { if (!cli_parse_i64("--speed-tokens", v, 0, 1 << 16, &o->speed_tokens)) return 2; }
        else if (cli_opt(argc, argv, &i, "--z", &v)) { if (!cli_parse_f32("--z", v, -100, 100, &f)) return 2; o->z = f; }
        else if (!strcmp(argv[i], "--force")) o->force = true;
        else if (!strcmp(argv[i], "--no-watermark")) o->no_wm = true;
        else if (!strcmp(argv[i], "--ignore-eos")) o->ignore_eos = true;
        else if (!strcmp(argv[i], "--ids")) o->ids = true;
        else if (!strcmp(argv[i], "--retokenize")) o->retokenize = true;
        else if (!strcmp(argv[i], "--json")) o->json = true;
        else { cli_error("guard: unknown option '%s'", argv[i]); fputs(usage, stderr); return 2; }
    }
    if (!o->seed_set) o->sp.seed = (uint64_t)time(NULL) ^ ((uint64_t)clock() << 32);
    return 0;
}

/* ---- keygen ------------------------------------------------------------------------------------- */

static int guard_keygen(int argc, char **argv) {
    guard_opts o = {0};
    int rc = parse(argc, argv, &o, false);
    if (rc) return rc;
    if (!o.out_path) {
        cli_error("guard keygen: --out KEYFILE is required");
        return 2;
    }
    cirrus_err err = {{0}};
    guard_key k;
    cirrus_status st = guard_key_generate(&k, &err);
    if (!st) st = guard_key_save(o.out_path, &k, o.force, &err);
    guard_key_wipe(&k);
    if (st) {
        cli_error("%s%s", err.msg, st == CIRRUS_ERR_IO && !o.force ? " (--force replaces an existing key)" : "");
        return 1;
    }
    fprintf(stderr, "cirrus: wrote a new watermark key to %s (mode 0600); keep it secret, keep a backup\n", o.out_path);
    return 0;
}

/* ---- generation --------------------------------------------------------------------------------- */

typedef struct {
    uint64_t forward_ns, sample_ns, n_tokens;
    double entropy_sum; /* nats, of the raw distribution at T = 1, summed over steps */
} gen_stats;

static double row_entropy(const float *l, int32_t n) {
    double m = -INFINITY, z = 0, s = 0;
    for (int32_t i = 0; i < n; i++) m = fmax(m, (double)l[i]);
    for (int32_t i = 0; i < n; i++) z += exp((double)l[i] - m);
    for (int32_t i = 0; i < n; i++) {
        double lp = (double)l[i] - m - log(z);
        s -= exp(lp) * lp;
    }
    return s;
}

/*
 * B sequences side by side: prompts[b] (P tokens each) then T sampled tokens, one mdl_forward per
 * step for all of them. hist is (B, P + T). Stops a sequence at end-of-generation only if stop_eog;
 * n_out[b] is how many tokens each got.
 */
static cirrus_status generate(mdl_ctx *c, const tok_vocab *v, int32_t V, int B, const int32_t *prompts, int P, int T,
                              smp_chain **chains, bool stop_eog, int32_t *hist, int *n_out, gen_stats *gs,
                              bool entropy, cirrus_err *err) {
    int L = P + T;
    size_t cap = (size_t)B * (size_t)(P > 1 ? P : 1);
    int32_t *tok = malloc(sizeof *tok * cap), *pos = malloc(sizeof *pos * cap), *seq = malloc(sizeof *seq * cap);
    bool *want = malloc(sizeof *want * cap), *done = calloc((size_t)B, sizeof *done);
    int *row = malloc(sizeof *row * (size_t)B);
    cirrus_status st = CIRRUS_OK;
    if (!tok || !pos || !seq || !want || !done || !row) {
        st = cirrus_errf(err, CIRRUS_ERR_NOMEM, "out of memory");
        goto out;
    }
    /* prefill every prompt in one batch, logits of each prompt's last token */
    int32_t n = 0;
    for (int b = 0; b < B; b++) {
        memcpy(hist + (size_t)b * L, prompts + (size_t)b * P, sizeof *hist * (size_t)P);
        n_out[b] = 0;
        for (int i = 0; i < P; i++, n++) tok[n] = prompts[b * P + i], pos[n] = i, seq[n] = b, want[n] = i == P - 1;
    }
    const float *logits = NULL;
    int32_t nrows;
    uint64_t t0 = cirrus_now_ns();
    mdl_batch mb = {n, tok, pos, seq, want};
    if ((st = mdl_forward(c, &mb, &logits, &nrows, err))) goto out;
    gs->forward_ns += cirrus_now_ns() - t0;
    for (int b = 0; b < B; b++) row[b] = b;
    int live = B;
    for (int step = 0; step < T && live > 0; step++) {
        int32_t nb = 0;
        for (int b = 0; b < B; b++) {
            if (done[b]) continue;
            const float *lr = logits + (size_t)row[b] * (size_t)V;
            if (entropy) gs->entropy_sum += row_entropy(lr, V);
            int32_t *h = hist + (size_t)b * L;
            smp_history sh = {h, (size_t)(P + n_out[b]), (size_t)P};
            uint64_t s0 = cirrus_now_ns();
            int32_t id = smp_sample(chains[b], lr, &sh, -1, NULL);
            gs->sample_ns += cirrus_now_ns() - s0;
            gs->n_tokens++;
            if (stop_eog && tok_is_eog(v, id)) {
                done[b] = true;
                live--;
                continue;
            }
            h[P + n_out[b]++] = id;
            if (n_out[b] == T) {
                done[b] = true;
                live--;
                continue;
            }
            tok[nb] = id, pos[nb] = P + n_out[b] - 1, seq[nb] = b, want[nb] = true, row[b] = nb;
            nb++;
        }
        if (nb == 0) break;
        mdl_batch db = {nb, tok, pos, seq, want};
        t0 = cirrus_now_ns();
        st = mdl_forward(c, &db, &logits, &nrows, err);
        gs->forward_ns += cirrus_now_ns() - t0;
        if (st) goto out;
    }
out:
    free(tok);
    free(pos);
    free(seq);
    free(want);
    free(done);
    free(row);
    return st;
}

typedef struct {
    mdl_model *m;
    tok_vocab *v;
    guard_wm *wm;
    const mdl_hparams *hp;
} loaded;

static void unload(loaded *l) {
    guard_wm_free(l->wm);
    tok_free(l->v);
    mdl_free(l->m);
}

static cirrus_status load_all(const guard_opts *o, bool need_key, loaded *l, cirrus_err *err) {
    memset(l, 0, sizeof *l);
    cirrus_status st;
    if ((st = mdl_load(o->model, &l->m, err)) || (st = tok_load(mdl_get_gguf(l->m), &l->v, err))) return st;
    l->hp = mdl_get_hparams(l->m);
    guard_key k;
    if (o->key_path) st = guard_key_load(o->key_path, &k, err);
    else if (need_key) return cirrus_errf(err, CIRRUS_ERR_INVALID, "--key KEYFILE is required");
    else st = guard_key_generate(&k, err); /* eval without a key: a fresh one, never shown */
    if (st) return st;
    st = guard_wm_new(&k, &o->wm, l->hp->n_vocab, &l->wm, err);
    guard_key_wipe(&k);
    return st;
}

static smp_chain *new_chain(const smp_params *sp, int32_t V, guard_wm *wm, cirrus_err *err) {
    smp_chain *c = NULL;
    if (smp_chain_new(sp, V, &c)) {
        cirrus_errf(err, CIRRUS_ERR_NOMEM, "sampler: out of memory");
        return NULL;
    }
    if (wm) {
        smp_proc p;
        guard_wm_proc(wm, &p);
        smp_chain_add(c, &p);
    }
    return c;
}

static int guard_gen(int argc, char **argv) {
    guard_opts o = {0};
    int rc = parse(argc, argv, &o, false);
    if (rc) return rc;
    if (!o.model || (!o.key_path && !o.no_wm)) {
        cli_error("guard gen: -m and --key are required");
        return 2;
    }
    cirrus_err err = {{0}};
    loaded l;
    mdl_ctx *c = NULL;
    smp_chain *chain = NULL;
    int32_t *prompt = NULL, *hist = NULL;
    size_t np = 0;
    int n_out = 0;
    rc = 1;
    if (load_all(&o, !o.no_wm, &l, &err)) goto out;
    const char *text = o.prompt ? o.prompt : "";
    if (tok_encode(l.v, text, strlen(text), true, false, &prompt, &np, &err)) goto out;
    if (np == 0) {
        cirrus_errf(&err, CIRRUS_ERR_INVALID, "the prompt is empty after tokenization (and the vocabulary adds no BOS)");
        goto out;
    }
    int32_t V = l.hp->n_vocab;
    mdl_ctx_params cp = {.n_ctx = (int32_t)(np + (size_t)o.n_predict), .n_seq = 1, .n_batch = (int32_t)np,
                         .n_out = 1, .n_threads = (int32_t)o.threads};
    if (smp_params_check(&o.sp, V, &err) || mdl_ctx_new(l.m, &cp, &c, &err)) goto out;
    if (!(chain = new_chain(&o.sp, V, o.no_wm ? NULL : l.wm, &err))) goto out;
    hist = malloc(sizeof *hist * (np + (size_t)o.n_predict));
    if (!hist) goto out;
    gen_stats gs = {0};
    if (generate(c, l.v, V, 1, prompt, (int)np, (int)o.n_predict, &chain, !o.ignore_eos, hist, &n_out, &gs, false, &err))
        goto out;
    if (o.ids) {
        for (int i = 0; i < n_out; i++) printf("%s%d", i ? " " : "", hist[np + (size_t)i]);
    } else {
        tok_stream ts;
        tok_stream_init(&ts);
        ts.at_start = np <= 1; /* a continuation keeps its leading space */
        char buf[256];
        for (int i = 0; i < n_out; i++) fwrite(buf, 1, tok_stream_push(l.v, &ts, hist[np + (size_t)i], false, buf, sizeof buf), stdout);
        fwrite(buf, 1, tok_stream_flush(&ts, buf, sizeof buf), stdout);
    }
    fputc('\n', stdout);
    rc = 0;
out:
    if (rc) cli_error("%s", err.msg[0] ? err.msg : "out of memory");
    free(hist);
    free(prompt);
    smp_chain_free(chain);
    mdl_ctx_free(c);
    unload(&l);
    return rc;
}

/* ---- eval --------------------------------------------------------------------------------------- */

static uint64_t mix64(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

typedef struct {
    int n, detected;
    double z_sum, z_min, z_max, green_frac_sum, scored_sum;
    int n_retok, detected_retok;
} arm_stats;

static void arm_add(arm_stats *a, const guard_score *s) {
    if (a->n == 0) a->z_min = a->z_max = s->z;
    a->n++;
    a->detected += s->watermarked;
    a->z_sum += s->z;
    a->z_min = fmin(a->z_min, s->z);
    a->z_max = fmax(a->z_max, s->z);
    a->scored_sum += (double)s->n_scored;
    a->green_frac_sum += s->n_scored ? (double)s->n_green / (double)s->n_scored : 0.0;
}

/* Detokenizes ids and tokenizes the text again, as `cirrus detect text` sees a completion. */
static cirrus_status retokenize(const tok_vocab *v, const int32_t *ids, int n, int32_t **out, size_t *n_out,
                                cirrus_err *err) {
    size_t cap = (size_t)n * (tok_max_piece(v) + 1) + 1, len = 0;
    char *text = malloc(cap);
    if (!text) return cirrus_errf(err, CIRRUS_ERR_NOMEM, "out of memory");
    for (int i = 0; i < n; i++) len += tok_piece(v, ids[i], false, text + len, cap - len);
    cirrus_status st = tok_encode(v, text, len, false, false, out, n_out, err);
    free(text);
    return st;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* q = 0: the minimum, 0.5: the median */
static double quantile_ns(uint64_t *v, size_t n, double q) {
    qsort(v, n, sizeof *v, cmp_u64);
    return n ? (double)v[(size_t)(q * (double)(n - 1))] : 0.0;
}

/*
 * Decode cost of the watermark, one sequence at batch 1 as `cirrus run` decodes. Every step the
 * same logits go through the watermarked chain (which picks the token) and a plain chain, each
 * timed; the cost is (watermarked - plain sampling) against (forward + plain sampling), each the
 * minimum over the steps of one run: the uncontended cost of each part. Separate timed runs with
 * and without the watermark, or medians, measured the neighbours on a shared 2-core machine more
 * than the watermark (a 2-thread forward waits at every barrier for a descheduled thread).
 */
typedef struct {
    double forward_ns, sample_ns, sample_wm_ns;
} speed_result;

static cirrus_status speed(const loaded *l, const guard_opts *o, speed_result *r, cirrus_err *err) {
    int32_t V = l->hp->n_vocab, T = (int32_t)o->speed_tokens;
    mdl_ctx_params cp = {.n_ctx = T + 1, .n_seq = 1, .n_batch = 1, .n_out = 1, .n_threads = (int32_t)o->threads};
    mdl_ctx *c = NULL;
    cirrus_status st = mdl_ctx_new(l->m, &cp, &c, err);
    if (st) return st;
    smp_params sp;
    smp_params_default(&sp); /* what a request gets by default: top-k 40 ... */
    sp.seed = 7;
    smp_chain *cw = new_chain(&sp, V, l->wm, err), *cpl = new_chain(&sp, V, NULL, err);
    int32_t *hist = malloc(sizeof *hist * (size_t)(T + 1));
    uint64_t *tf = malloc(sizeof *tf * (size_t)T), *ts = malloc(sizeof *ts * (size_t)T), *tw = malloc(sizeof *tw * (size_t)T);
    if (!cw || !cpl || !hist || !tf || !ts || !tw) {
        st = cirrus_errf(err, CIRRUS_ERR_NOMEM, "out of memory");
        goto out;
    }
    hist[0] = tok_bos(l->v) >= 0 ? tok_bos(l->v) : 0;
    int32_t seq = 0;
    bool want = true;
    for (int32_t t = 0; t < T; t++) {
        mdl_batch b = {1, &hist[t], &t, &seq, &want};
        const float *logits;
        int32_t nrows;
        uint64_t t0 = cirrus_now_ns();
        if ((st = mdl_forward(c, &b, &logits, &nrows, err))) goto out;
        uint64_t t1 = cirrus_now_ns();
        smp_history h = {hist, (size_t)t + 1, 1};
        (void)smp_sample(cpl, logits, &h, -1, NULL);
        uint64_t t2 = cirrus_now_ns();
        hist[t + 1] = smp_sample(cw, logits, &h, -1, NULL);
        uint64_t t3 = cirrus_now_ns();
        tf[t] = t1 - t0, ts[t] = t2 - t1, tw[t] = t3 - t2;
    }
    r->forward_ns = quantile_ns(tf, (size_t)T, 0.0);
    r->sample_ns = quantile_ns(ts, (size_t)T, 0.0);
    r->sample_wm_ns = quantile_ns(tw, (size_t)T, 0.0);
out:
    free(tf);
    free(ts);
    free(tw);
    free(hist);
    smp_chain_free(cw);
    smp_chain_free(cpl);
    mdl_ctx_free(c);
    return st;
}

/* The sampler alone at a vocabulary size: the fastest of 301 interleaved calls of smp_sample with
 * and without the watermark (request defaults: top-k 40 ...) over random logits. */
static void bench_vocab(const guard_opts *o, int32_t V, double *ns_plain, double *ns_wm) {
    enum { ITERS = 301 };
    guard_key k;
    cirrus_err err;
    guard_wm *wm = NULL;
    float *logits = malloc(sizeof *logits * (size_t)V);
    smp_chain *cw = NULL, *cp = NULL;
    uint64_t *a = malloc(sizeof *a * ITERS), *b = malloc(sizeof *b * ITERS);
    *ns_plain = *ns_wm = NAN;
    if (!logits || !a || !b || guard_key_generate(&k, &err)) goto out;
    cirrus_status st = guard_wm_new(&k, &o->wm, V, &wm, &err);
    guard_key_wipe(&k);
    if (st) goto out;
    uint64_t s = 99;
    for (int32_t i = 0; i < V; i++) logits[i] = (float)((double)(mix64(&s) >> 11) / 9007199254740992.0 * 12.0 - 6.0);
    int32_t hist[16];
    for (int i = 0; i < 16; i++) hist[i] = (int32_t)(mix64(&s) % (uint64_t)V);
    smp_params sp;
    smp_params_default(&sp);
    if (!(cw = new_chain(&sp, V, wm, &err)) || !(cp = new_chain(&sp, V, NULL, &err))) goto out;
    for (int i = 0; i < ITERS; i++) {
        smp_history h = {hist, 16, 0};
        uint64_t t0 = cirrus_now_ns();
        (void)smp_sample(cp, logits, &h, -1, NULL);
        uint64_t t1 = cirrus_now_ns();
        hist[i & 15] = smp_sample(cw, logits, &h, -1, NULL);
        a[i] = t1 - t0, b[i] = cirrus_now_ns() - t1;
    }
    *ns_plain = quantile_ns(a, ITERS, 0.0);
    *ns_wm = quantile_ns(b, ITERS, 0.0);
out:
    smp_chain_free(cw);
    smp_chain_free(cp);
    free(a);
    free(b);
    free(logits);
    guard_wm_free(wm);
}

static int guard_eval(int argc, char **argv) {
    guard_opts o = {0};
    int rc = parse(argc, argv, &o, true);
    if (rc) return rc;
    if (!o.model) {
        cli_error("guard eval: -m is required");
        return 2;
    }
    cirrus_err err = {{0}};
    loaded l;
    mdl_ctx *c = NULL;
    smp_chain *chains[256] = {0};
    int32_t *prompts = NULL, *hist = NULL;
    smp_bias *ban = NULL;
    rc = 1;
    if (load_all(&o, false, &l, &err)) goto out;
    int32_t V = l.hp->n_vocab, nv_tok = tok_n_vocab(l.v);
    int B = (int)o.batch, T = (int)o.n_predict;
    int P = (int)o.prompt_tokens + (tok_bos(l.v) >= 0 && tok_add_bos(l.v) ? 1 : 0);
    if (P == 0) P = 1, o.prompt_tokens = 1;
    if ((int64_t)P + T > l.hp->n_ctx_train && l.hp->n_ctx_train > 0)
        fprintf(stderr, "cirrus: warning: %d tokens exceed the model's training context %d\n", P + T, l.hp->n_ctx_train);
    /* Completions of exactly T tokens: end-of-generation tokens are banned (in both arms), so a
     * model that likes to stop early (stories260K) still yields T-token texts. */
    size_t n_ban = 0;
    ban = malloc(sizeof *ban * (size_t)(nv_tok > 0 ? nv_tok : 1));
    if (!ban) goto out;
    for (int32_t id = 0; id < nv_tok; id++)
        if (tok_is_eog(l.v, id)) ban[n_ban++] = (smp_bias){id, -100.0f};
    smp_params sp = o.sp;
    sp.bias = ban, sp.n_bias = n_ban;
    if (smp_params_check(&sp, V, &err)) goto out;
    mdl_ctx_params cp = {.n_ctx = P + T, .n_seq = B, .n_batch = B * P > B ? B * P : B, .n_out = B,
                         .n_threads = (int32_t)o.threads};
    if (mdl_ctx_new(l.m, &cp, &c, &err)) goto out;
    prompts = malloc(sizeof *prompts * (size_t)B * (size_t)P);
    hist = malloc(sizeof *hist * (size_t)B * (size_t)(P + T));
    if (!prompts || !hist) goto out;
    guard_verdict verdict = {o.z, 0.0};
    arm_stats arms[2] = {{0}}; /* 0 plain, 1 watermarked */
    gen_stats gstat[2] = {{0}};
    uint64_t prompt_rng = o.sp.seed ^ 0x5eedull;
    int n_out[256];
    for (int64_t done = 0; done < o.completions; done += B) {
        int nb = (int)(o.completions - done < B ? o.completions - done : B);
        for (int b = 0; b < nb; b++) {
            int32_t *pr = prompts + (size_t)b * P;
            int k = 0;
            if (tok_bos(l.v) >= 0 && tok_add_bos(l.v)) pr[k++] = tok_bos(l.v);
            while (k < P) {
                int32_t id = (int32_t)(mix64(&prompt_rng) % (uint64_t)nv_tok);
                if (!tok_is_special(l.v, id) && !tok_is_eog(l.v, id)) pr[k++] = id;
            }
        }
        for (int arm = 0; arm < 2; arm++) {
            for (int b = 0; b < nb; b++) {
                smp_params s2 = sp;
                s2.seed = o.sp.seed + (uint64_t)(done + b); /* both arms draw with the same seeds */
                if (!(chains[b] = new_chain(&s2, V, arm ? l.wm : NULL, &err))) goto out;
            }
            if (generate(c, l.v, V, nb, prompts, P, T, chains, false, hist, n_out, &gstat[arm], arm == 0, &err))
                goto out;
            for (int b = 0; b < nb; b++) {
                smp_chain_free(chains[b]);
                chains[b] = NULL;
                const int32_t *x = hist + (size_t)b * (size_t)(P + T) + P;
                guard_score s;
                if (guard_detect(l.wm, x, (size_t)n_out[b], &verdict, &s, &err)) goto out;
                arm_add(&arms[arm], &s);
                if (o.retokenize) {
                    int32_t *r = NULL;
                    size_t nr = 0;
                    if (retokenize(l.v, x, n_out[b], &r, &nr, &err)) goto out;
                    cirrus_status st = guard_detect(l.wm, r, nr, &verdict, &s, &err);
                    free(r);
                    if (st) goto out;
                    arms[arm].n_retok++;
                    arms[arm].detected_retok += s.watermarked;
                }
            }
        }
    }
    speed_result sr = {0};
    if (o.speed_tokens > 0 && speed(&l, &o, &sr, &err)) goto out;

    const guard_wm_params *wp = guard_wm_get_params(l.wm);
    double tpr = arms[1].detected / (arms[1].n ? (double)arms[1].n : 1.0);
    double fpr = arms[0].detected / (arms[0].n ? (double)arms[0].n : 1.0);
    double ent = gstat[0].n_tokens ? gstat[0].entropy_sum / (double)gstat[0].n_tokens : 0;
    double step = sr.forward_ns + sr.sample_ns;
    double overhead = step > 0 ? (sr.sample_wm_ns - sr.sample_ns) / step * 100.0 : NAN;
    /* --completions 0 measures speed only: keep the divisions defined */
    double n1 = arms[1].n ? arms[1].n : 1, n0 = arms[0].n ? arms[0].n : 1;
    double r1 = arms[1].n_retok ? arms[1].n_retok : 1, r0 = arms[0].n_retok ? arms[0].n_retok : 1;
    if (o.json) {
        printf("{\"model\":\"%s\",\"n_vocab\":%d,\"gamma\":%g,\"delta\":%g,\"h\":%d,\"z_threshold\":%g,"
               "\"completions\":%d,\"tokens\":%d,\"temperature\":%g,\"seed\":%llu,"
               "\"watermarked\":{\"detected\":%d,\"tpr\":%.4f,\"z_mean\":%.3f,\"z_min\":%.3f,\"green_fraction\":%.4f,"
               "\"scored_mean\":%.1f},"
               "\"plain\":{\"flagged\":%d,\"fpr\":%.4f,\"z_mean\":%.3f,\"z_max\":%.3f,\"green_fraction\":%.4f},"
               "\"entropy_nats\":%.4f,\"decode_forward_us\":%.1f,\"decode_sample_us\":%.1f,\"decode_sample_wm_us\":%.1f,"
               "\"decode_overhead_pct\":%.2f",
               o.model, V, (double)wp->gamma, (double)wp->delta, (int)wp->h, o.z, arms[1].n, T,
               (double)o.sp.temperature, (unsigned long long)o.sp.seed, arms[1].detected, tpr,
               arms[1].z_sum / n1, arms[1].z_min, arms[1].green_frac_sum / n1,
               arms[1].scored_sum / n1, arms[0].detected, fpr, arms[0].z_sum / n0, arms[0].z_max,
               arms[0].green_frac_sum / n0, ent, sr.forward_ns / 1e3, sr.sample_ns / 1e3, sr.sample_wm_ns / 1e3, overhead);
        if (o.retokenize)
            printf(",\"retokenized\":{\"tpr\":%.4f,\"fpr\":%.4f}", (double)arms[1].detected_retok / r1,
                   (double)arms[0].detected_retok / r0);
    } else {
        printf("model %s: vocab %d; watermark gamma %g delta %g h %d; %d + %d completions of %d tokens at "
               "temperature %g (seed %llu), threshold z >= %g\n",
               o.model, V, (double)wp->gamma, (double)wp->delta, (int)wp->h, arms[1].n, arms[0].n, T,
               (double)o.sp.temperature, (unsigned long long)o.sp.seed, o.z);
        printf("  watermarked: %d/%d detected (TPR %.4f); z mean %.2f, min %.2f; green fraction %.3f; %.1f scored "
               "pairs a completion\n",
               arms[1].detected, arms[1].n, tpr, arms[1].z_sum / n1, arms[1].z_min,
               arms[1].green_frac_sum / n1, arms[1].scored_sum / n1);
        printf("  plain:       %d/%d flagged (FPR %.4f); z mean %.2f, max %.2f; green fraction %.3f\n",
               arms[0].detected, arms[0].n, fpr, arms[0].z_sum / n0, arms[0].z_max,
               arms[0].green_frac_sum / n0);
        printf("  mean entropy of the model's next-token distribution: %.3f nats\n", ent);
        if (o.retokenize)
            printf("  after detokenize + tokenize: TPR %.4f, FPR %.4f\n",
                   (double)arms[1].detected_retok / r1, (double)arms[0].detected_retok / r0);
        if (o.speed_tokens > 0)
            printf("  decode, 1 sequence, %d threads, fastest of %d steps: forward %.1f us, sampling %.1f us plain, "
                   "%.1f us watermarked: overhead %.2f%% of a decode step\n",
                   (int)o.threads, (int)o.speed_tokens, sr.forward_ns / 1e3, sr.sample_ns / 1e3, sr.sample_wm_ns / 1e3,
                   overhead);
    }
    if (o.bench_vocab) {
        const char *p = o.bench_vocab;
        if (o.json) printf(",\"bench\":[");
        for (int first = 1; *p; first = 0) {
            char *end;
            long vv = strtol(p, &end, 10);
            if (end == p || vv <= 0 || vv > 1 << 22) {
                cli_error("--bench-vocab: '%s' is not a list of vocabulary sizes", o.bench_vocab);
                goto out;
            }
            double a, b;
            bench_vocab(&o, (int32_t)vv, &a, &b);
            if (o.json) printf("%s{\"n_vocab\":%ld,\"sample_ns\":%.0f,\"sample_wm_ns\":%.0f}", first ? "" : ",", vv, a, b);
            else printf("  sampler alone at vocab %ld (request defaults, fastest of 301): %.1f us/token plain, %.1f us/token "
                        "watermarked (+%.1f us)\n", vv, a / 1e3, b / 1e3, (b - a) / 1e3);
            p = *end == ',' ? end + 1 : end;
        }
        if (o.json) printf("]");
    }
    if (o.json) printf("}\n");
    rc = 0;
out:
    if (rc) cli_error("%s", err.msg[0] ? err.msg : "out of memory");
    for (int b = 0; b < 256; b++) smp_chain_free(chains[b]);
    free(ban);
    free(prompts);
    free(hist);
    mdl_ctx_free(c);
    unload(&l);
    return rc;
}

int cmd_guard(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (cli_wants_help(argc - 1, argv + 1)) {
        fputs(usage, stdout);
        return 0;
    }
    if (!strcmp(argv[1], "keygen")) return guard_keygen(argc - 1, argv + 1);
    if (!strcmp(argv[1], "gen")) return guard_gen(argc - 1, argv + 1);
    if (!strcmp(argv[1], "eval")) return guard_eval(argc - 1, argv + 1);
    cli_error("guard: unknown subcommand '%s' (keygen, gen, eval)", argv[1]);
    return 2;
}
