/*
 * `cirrus grammar bench`: what constrained decoding costs.
 *
 *  1. compile: JSON Schema -> GBNF and GBNF -> automaton, median of 21 runs.
 *  2. mask: the grammar processor alone (its mask plus the filter of a full candidate array, i.e.
 *     everything it adds to a sampling step) over seeded random walks of the grammar with this
 *     model's vocabulary (or --vocab-union: the distinct pieces of several vocabularies, for a
 *     large vocabulary with real content): the first walk on a fresh grammar (every state computed
 *     on first touch, what the first request pays) and later walks (the grammar's per-state cache
 *     warm, each walk with a fresh matcher, what every later request pays). Per token: mean, p50,
 *     p99, max of the thread's CPU time (wall time on a shared machine measures the neighbours).
 *  3. decode: tokens/s of forward pass + sampling, constrained (B) and not (A), in pairs B A B A
 *     so drift on a shared machine hits both alike. Both arms restart their sequence at the same
 *     lengths (where B's grammar completed), so they decode over the same positions.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/grammar_cli.h"

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double ms(uint64_t ns) { return (double)ns / 1e6; }

static uint64_t clock_ns(clockid_t id) {
    struct timespec t;
    clock_gettime(id, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}
static uint64_t cpu_ns(void) { return clock_ns(CLOCK_THREAD_CPUTIME_ID); }

static void print_dist(const char *what, uint64_t *v, size_t n) {
    if (!n) return;
    qsort(v, n, sizeof *v, cmp_u64);
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) sum += v[i];
    printf("  %-30s %6zu tokens  CPU mean %7.1f us  p50 %7.1f us  p99 %8.1f us  max %8.1f us\n", what, n,
           (double)sum / (double)n / 1e3, (double)v[n / 2] / 1e3, (double)v[(n * 99) / 100] / 1e3,
           (double)v[n - 1] / 1e3);
}

static uint64_t rnd(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* One random walk of up to n tokens through the processor; per-token apply times into t. */
static size_t walk(grm_grammar *g, int32_t n_vocab, size_t n, uint64_t seed, uint64_t *t, smp_cand *cands,
                   int32_t *hist) {
    smp_proc p;
    cirrus_err err;
    if (grm_proc_new(g, &p, &err)) {
        cli_error("%s", err.msg);
        return 0;
    }
    size_t k = 0;
    for (; k < n; k++) {
        for (int32_t i = 0; i < n_vocab; i++) cands[i].id = i, cands[i].logit = (float)(rnd(&seed) >> 40) * 0x1p-20f;
        smp_cands c = {cands, (size_t)n_vocab, false};
        smp_history h = {hist, k, 0};
        uint64_t t0 = cpu_ns();
        p.apply(&p, &c, &h);
        t[k] = cpu_ns() - t0;
        size_t live = 0; /* the processor may ban with -inf instead of removing (the chain's tidy does) */
        for (size_t i = 0; i < c.n; i++) live += c.data[i].logit > -INFINITY;
        if (live == 0) break;
        size_t pick = rnd(&seed) % live, i = 0;
        for (;; i++)
            if (c.data[i].logit > -INFINITY && pick-- == 0) break;
        int32_t id = c.data[i].id;
        if (grm_vocab_is_eog(grm_grammar_vocab(g), id)) {
            k++;
            break;
        }
        hist[k] = id;
    }
    p.free(&p);
    return k;
}

static void bench_compile(const grammar_cli_src *src, const grm_vocab *v) {
    enum { RUNS = 21 };
    uint64_t a[RUNS], b[RUNS];
    size_t len = 0;
    for (int r = 0; r < RUNS; r++) {
        uint64_t t0 = cirrus_now_ns();
        char *text = grammar_cli_text(src);
        uint64_t t1 = cirrus_now_ns();
        if (!text) return;
        grm_grammar *g = NULL;
        cirrus_err err;
        len = strlen(text);
        if (grm_compile(text, len, src->root, v, &g, &err)) {
            cli_error("%s", err.msg);
            free(text);
            return;
        }
        b[r] = cirrus_now_ns() - t1;
        a[r] = t1 - t0;
        grm_release(g);
        free(text);
    }
    qsort(a, RUNS, sizeof *a, cmp_u64);
    qsort(b, RUNS, sizeof *b, cmp_u64);
    printf("compile (median of %d): source -> GBNF %.3f ms (%zu bytes), GBNF -> automaton %.3f ms, total %.3f ms\n",
           RUNS, ms(a[RUNS / 2]), len, ms(b[RUNS / 2]), ms(a[RUNS / 2] + b[RUNS / 2]));
}

static void bench_mask(const grammar_cli_src *src, const grm_vocab *v, size_t n, int walks) {
    int32_t nv = grm_vocab_n(v);
    smp_cand *cands = malloc((size_t)nv * sizeof *cands);
    int32_t *hist = malloc((n + 1) * sizeof *hist);
    uint64_t *cold = malloc(n * sizeof *cold), *warm = malloc((size_t)walks * n * sizeof *warm);
    grm_grammar *g = grammar_cli_compile(src, v);
    if (!cands || !hist || !cold || !warm || !g) goto out;
    size_t n_cold = walk(g, nv, n, 1, cold, cands, hist), n_warm = 0;
    for (int w = 0; w < walks; w++) n_warm += walk(g, nv, n, 2 + (uint64_t)w, warm + n_warm, cands, hist);
    grm_grammar_stats gs;
    grm_grammar_get_stats(g, &gs);
    printf("mask (the processor's whole step over %d candidates):\n", nv);
    print_dist("first walk, fresh grammar", cold, n_cold);
    print_dist("later walks, warm grammar", warm, n_warm);
    printf("  grammar: %u rules, %u states (%u computed, %.1f KiB), %u byte classes\n", gs.n_rules, gs.n_states,
           gs.states_cached, (double)gs.cache_bytes / 1024, gs.n_classes);
out:
    grm_release(g);
    free(cands), free(hist), free(cold), free(warm);
}

/* ---- decode ---------------------------------------------------------------------------------------- */

typedef struct {
    const mdl_model *m;
    const tok_vocab *tv;
    mdl_ctx *ctx;
    const int32_t *prompt;
    int32_t n_prompt;
    int32_t *hist;
} dec;

/* Decodes n tokens; with g, constrained (restart points are recorded into cuts), without g, restarting
 * at cuts. Returns the decode nanoseconds (prefills not counted) or 0 on error; *cpu gets the
 * process's CPU nanoseconds over the same spans (every pool thread's), which a loaded machine
 * disturbs far less than the wall clock. */
static uint64_t decode(dec *d, grm_grammar *g, size_t n, uint64_t seed, float temp, int32_t *cuts, size_t *n_cuts,
                       uint64_t *cpu) {
    int32_t nv = mdl_get_hparams(d->m)->n_vocab;
    smp_params sp;
    smp_params_default(&sp);
    sp.temperature = temp, sp.seed = seed, sp.top_k = 40;
    smp_chain *chain = NULL;
    smp_proc p;
    cirrus_err err;
    if (smp_chain_new(&sp, nv, &chain)) return 0;
    if (g && (grm_proc_new(g, &p, &err) || smp_chain_add(chain, &p))) {
        cli_error("%s", err.msg);
        smp_chain_free(chain);
        return 0;
    }
    uint64_t busy = 0;
    *cpu = 0;
    size_t done = 0, cut_i = 0;
    if (g) *n_cuts = 0;
    while (done < n) {
        /* a sequence: prefill (untimed), then tokens until the grammar completes or the cut */
        int32_t pos[64], seq[64] = {0};
        for (int32_t i = 0; i < d->n_prompt; i++) pos[i] = i, d->hist[i] = d->prompt[i];
        mdl_batch b = {d->n_prompt, d->prompt, pos, seq, NULL};
        const float *logits;
        int32_t n_out;
        if (mdl_forward(d->ctx, &b, &logits, &n_out, &err)) goto fail;
        size_t limit = g ? n - done : (cut_i < *n_cuts ? (size_t)cuts[cut_i++] : n - done);
        size_t len = 0;
        int32_t n_hist = d->n_prompt;
        uint64_t t0 = cirrus_now_ns(), c0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
        while (len < limit && done < n) {
            smp_history h = {d->hist, (size_t)n_hist, (size_t)d->n_prompt};
            int32_t id = smp_sample(chain, logits, &h, -1, NULL);
            len++, done++;
            if (g && tok_is_eog(d->tv, id)) break;
            d->hist[n_hist] = id;
            int32_t ps = n_hist++;
            mdl_batch one = {1, &id, &ps, seq, NULL};
            if (mdl_forward(d->ctx, &one, &logits, &n_out, &err)) goto fail;
        }
        busy += cirrus_now_ns() - t0;
        *cpu += clock_ns(CLOCK_PROCESS_CPUTIME_ID) - c0;
        if (g) cuts[(*n_cuts)++] = (int32_t)len;
    }
    smp_chain_free(chain);
    return busy;
fail:
    cli_error("%s", err.msg);
    smp_chain_free(chain);
    return 0;
}

static void bench_decode(const grammar_cli_src *src, grammar_cli_model *x, size_t n, int rounds, int64_t threads,
                         float temp) {
    const char *text = "JSON:";
    int32_t *prompt = NULL;
    size_t np = 0;
    cirrus_err err;
    dec d = {.m = x->m, .tv = x->tv};
    mdl_ctx_params cp = {.n_ctx = (int32_t)n + 64, .n_seq = 1, .n_batch = 64, .n_out = 1, .n_threads = (int32_t)threads};
    int32_t *cuts = malloc((n + 1) * sizeof *cuts);
    d.hist = malloc((n + 128) * sizeof *d.hist);
    grm_grammar *g = grammar_cli_compile(src, x->gv);
    if (!g || !cuts || !d.hist || tok_encode(x->tv, text, strlen(text), true, false, &prompt, &np, &err) ||
        mdl_ctx_new(x->m, &cp, &d.ctx, &err)) {
        if (g) cli_error("decode: %s", err.msg);
        goto out;
    }
    d.prompt = prompt, d.n_prompt = (int32_t)np;
    double a_sum = 0, b_sum = 0, a_cpu = 0, b_cpu = 0;
    size_t n_cuts = 0;
    int done = 0;
    printf("decode (%zu tokens a run, %lld threads, temperature %.2f; B constrained, A not, same restart points):\n", n,
           (long long)threads, (double)temp);
    for (int r = 0; r < rounds; r++) {
        uint64_t cb, ca;
        uint64_t tb = decode(&d, g, n, 100 + (uint64_t)r, temp, cuts, &n_cuts, &cb);
        uint64_t ta = decode(&d, NULL, n, 100 + (uint64_t)r, temp, cuts, &n_cuts, &ca);
        if (!ta || !tb) break;
        double a = (double)n / ((double)ta / 1e9), b = (double)n / ((double)tb / 1e9);
        printf("  round %d: B %.2f tok/s, %.2f ms CPU/token (%zu sequences)   A %.2f tok/s, %.2f ms CPU/token   "
               "B/A: wall %.4f, CPU %.4f\n", r + 1, b, (double)cb / 1e6 / (double)n, n_cuts, a, (double)ca / 1e6 / (double)n,
               b / a, (double)cb / (double)ca);
        a_sum += a, b_sum += b, a_cpu += (double)ca, b_cpu += (double)cb, done++;
    }
    if (done)
        printf("  over %d rounds: B %.2f tok/s, A %.2f tok/s (constrained %.2f%% slower by the wall clock); CPU per token "
               "B %.3f ms, A %.3f ms (constrained %.2f%% more)\n", done, b_sum / done, a_sum / done,
               100.0 * (1.0 - b_sum / a_sum), b_cpu / 1e6 / (double)n / done, a_cpu / 1e6 / (double)n / done,
               100.0 * (b_cpu / a_cpu - 1.0));
out:
    mdl_ctx_free(d.ctx);
    grm_release(g);
    free(prompt), free(cuts), free(d.hist);
}

/* The distinct pieces of several vocabularies (comma-separated GGUF files), first seen first, up
 * to max ids (0: all), plus one end-of-generation id. */
static grm_vocab *vocab_union(const char *files, int64_t max) {
    cirrus_map seen;
    cirrus_map_init(&seen, &cirrus_map_str, (size_t)1 << 22);
    CIRRUS_VEC(char *) pieces = {0};
    grm_vocab *out = NULL;
    cirrus_err err;
    char *list = strdup(files);
    bool ok = list != NULL;
    for (char *f = list ? strtok(list, ",") : NULL; ok && f; f = strtok(NULL, ",")) {
        gguf_ctx *gg = NULL;
        tok_vocab *tv = NULL;
        if (gguf_open(f, &gg, &err) || tok_load(gg, &tv, &err)) {
            cli_error("--vocab-union %s: %s", f, err.msg);
            ok = false;
        }
        for (int32_t id = 0; ok && tv && id < tok_n_vocab(tv) && (!max || (int64_t)pieces.n < max - 1); id++) {
            char buf[1100];
            size_t n = tok_is_eog(tv, id) ? 0 : tok_piece(tv, id, false, buf, sizeof buf - 1);
            if (!n || n >= sizeof buf - 1 || memchr(buf, 0, n)) continue; /* NUL: not a map key (one id per NUL byte is lost) */
            buf[n] = 0;
            if (cirrus_map_get(&seen, buf)) continue;
            char *p = strdup(buf);
            if (!p || cirrus_vec_push(&pieces, (size_t)1 << 22, p) || cirrus_map_put(&seen, p, p, NULL)) ok = false;
        }
        tok_free(tv);
        gguf_close(gg);
    }
    size_t n = pieces.n + 1;
    size_t *lens = ok ? malloc(n * sizeof *lens) : NULL;
    const char **ptrs = ok ? malloc(n * sizeof *ptrs) : NULL;
    if (lens && ptrs) {
        for (size_t i = 0; i < pieces.n; i++) ptrs[i] = pieces.v[i], lens[i] = strlen(pieces.v[i]);
        ptrs[n - 1] = "", lens[n - 1] = 0;
        int32_t eog = (int32_t)n - 1;
        if (grm_vocab_from_pieces((int32_t)n, ptrs, lens, &eog, 1, &out, &err)) cli_error("%s", err.msg);
    }
    for (size_t i = 0; i < pieces.n; i++) free(pieces.v[i]);
    free(pieces.v), free(lens), free(ptrs), free(list);
    cirrus_map_free(&seen);
    return out;
}

int grammar_cli_bench(int argc, char **argv) {
    grammar_cli_src src = {0};
    grm_schema_opts_default(&src.opts);
    const char *model = NULL, *v, *union_files = NULL;
    int64_t n = 256, rounds = 3, threads = 2, walks = 8, union_max = 0;
    float temp = 1.0f;
    bool no_decode = false;
    for (int i = 1; i < argc; i++) {
        if (cli_opt(argc, argv, &i, "-m", &v)) { if (!(model = v)) return 2; }
        else if (cli_opt(argc, argv, &i, "-n", &v)) { if (!cli_parse_i64("-n", v, 1, 1 << 16, &n)) return 2; }
        else if (cli_opt(argc, argv, &i, "--rounds", &v)) { if (!cli_parse_i64("--rounds", v, 1, 100, &rounds)) return 2; }
        else if (cli_opt(argc, argv, &i, "--walks", &v)) { if (!cli_parse_i64("--walks", v, 1, 1000, &walks)) return 2; }
        else if (cli_opt(argc, argv, &i, "-t", &v)) { if (!cli_parse_i64("-t", v, 1, 256, &threads)) return 2; }
        else if (cli_opt(argc, argv, &i, "--temp", &v)) { if (!cli_parse_f32("--temp", v, 0, 2, &temp)) return 2; }
        else if (cli_opt(argc, argv, &i, "--vocab-union", &v)) { if (!(union_files = v)) return 2; }
        else if (cli_opt(argc, argv, &i, "--vocab-max", &v)) { if (!cli_parse_i64("--vocab-max", v, 2, 1 << 22, &union_max)) return 2; }
        else if (!strcmp(argv[i], "--no-decode")) no_decode = true;
        else if (!grammar_cli_source(argc, argv, &i, &src)) {
            cli_error("grammar bench: unknown option '%s'", argv[i]);
            return 2;
        }
    }
    if (!model) {
        cli_error("grammar bench: -m MODEL is required");
        return 2;
    }
    grammar_cli_model x;
    uint64_t t0 = cirrus_now_ns();
    if (grammar_cli_load(model, threads, 64, 1, &x)) return 1;
    printf("model %s: %d ids; grammar vocabulary (%.1f ms with the model load)\n", model, grm_vocab_n(x.gv),
           ms(cirrus_now_ns() - t0));
    grm_vocab *mv = x.gv, *uv = NULL;
    if (union_files) {
        if (!(uv = vocab_union(union_files, union_max))) {
            grammar_cli_unload(&x);
            return 1;
        }
        printf("mask vocabulary: the distinct pieces of %s: %d ids\n", union_files, grm_vocab_n(uv));
        mv = uv;
    }
    bench_compile(&src, mv);
    bench_mask(&src, mv, (size_t)n, (int)walks);
    grm_vocab_free(uv);
    if (!no_decode) bench_decode(&src, &x, (size_t)n, (int)rounds, threads, temp);
    grammar_cli_unload(&x);
    return 0;
}
