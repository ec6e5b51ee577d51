/*
 * `cirrus bench`: prefill, decode and batched-decode throughput of one model file, measured the
 * way llama-bench and llama-batched-bench measure them, so the numbers compare side by side:
 *   prefill  pp N : one sequence, N prompt tokens from an empty cache, in batches of --ubatch
 *   decode   tg N : one sequence, N tokens one at a time from an empty cache
 *   batched  B    : B sequences each with a --batch-prompt token prompt, then --batch-gen decode
 *                   steps of B tokens each; aggregate generated tok/s = B * steps / time
 * Each figure is the median of --reps runs. Decode bandwidth is the bytes of weights read per
 * token times tok/s, shown against this machine's measured memory read bandwidth.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cli/cli.h"
#include "model/model.h"

static const char *usage =
    "usage: cirrus bench -m M.gguf [-p 512] [-n 128] [-t 2] [--batch 1,4,16] [--reps 3] [--json]\n"
    "  -p N              prompt tokens for prefill (0 = skip)\n"
    "  -n N              tokens for single-stream decode (0 = skip)\n"
    "  --batch LIST      batch sizes for aggregate batched decode (empty = skip)\n"
    "  --batch-prompt N  prompt tokens per sequence before batched decode (default 128)\n"
    "  --batch-gen N     decode steps per batched run (default 64)\n"
    "  --ubatch N        tokens per forward pass in prefill (default 512)\n"
    "  --reps N          runs per figure; the median is reported (default 3)\n"
    "  --no-membw        skip measuring the memory read bandwidth\n";

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* The fastest run (call after median: v is sorted). On a shared machine the median says what a
 * user gets; the best says what the code does when no one else is using the cores. */
static double fastest(const double *v) { return v[0]; }

/* ---- memory read bandwidth (the physical limit of single-stream decode) ------------------ */

typedef struct {
    const uint64_t *buf;
    size_t words_per_task;
    uint64_t sums[64];
} membw_job;

static void membw_task(void *arg, int64_t task, int ith) {
    membw_job *j = arg;
    const uint64_t *p = j->buf + (size_t)task * j->words_per_task;
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
    for (size_t i = 0; i + 8 <= j->words_per_task; i += 8) {
        s0 += p[i], s1 += p[i + 1], s2 += p[i + 2], s3 += p[i + 3];
        s4 += p[i + 4], s5 += p[i + 5], s6 += p[i + 6], s7 += p[i + 7];
    }
    j->sums[ith & 63] += s0 + s1 + s2 + s3 + s4 + s5 + s6 + s7;
}

static double measure_membw(int threads) {
    const size_t bytes = (size_t)1 << 30;
    uint64_t *buf = cirrus_alloc_aligned(bytes / 8, 8);
    cirrus_pool *pool = NULL;
    if (!buf || cirrus_pool_new(threads, &pool)) {
        cirrus_free_aligned(buf);
        return 0;
    }
    memset(buf, 1, bytes);
    membw_job j = {.buf = buf, .words_per_task = bytes / 8 / 64};
    double best = 0;
    for (int r = 0; r < 5; r++) {
        uint64_t t0 = cirrus_now_ns();
        cirrus_pool_run(pool, membw_task, &j, 64);
        double gbs = (double)bytes / (double)(cirrus_now_ns() - t0);
        if (gbs > best) best = gbs;
    }
    cirrus_pool_free(pool);
    cirrus_free_aligned(buf);
    return best;
}

/* 1-minute load average (the run queue of the whole machine), or -1: a benchmark on a shared
 * machine is only as good as this number, so it is printed with the results. */
static double load1(void) {
    double l[1];
    return getloadavg(l, 1) == 1 ? l[0] : -1.0;
}

/* ---- runs ---------------------------------------------------------------------------------- */

typedef struct {
    mdl_ctx *c;
    int32_t *tok, *pos, *seq;
    bool *want;
    int32_t n_vocab, n_batch;
    cirrus_err err;
} bench_ctx;

static void fill_tokens(bench_ctx *b, int32_t n, uint64_t salt) {
    for (int32_t i = 0; i < n; i++) b->tok[i] = (int32_t)((i * 7919u + salt * 104729u + 17) % (uint32_t)b->n_vocab);
}

/* Prefill n tokens of sequence 0 from position 0 in ubatch chunks; returns seconds or -1. */
static double run_prefill(bench_ctx *b, int32_t n, int32_t ubatch) {
    uint64_t t0 = cirrus_now_ns();
    for (int32_t s = 0; s < n; s += ubatch) {
        int32_t k = n - s < ubatch ? n - s : ubatch;
        fill_tokens(b, k, (uint64_t)s);
        for (int32_t i = 0; i < k; i++) b->pos[i] = s + i, b->seq[i] = 0;
        mdl_batch mb = {k, b->tok, b->pos, b->seq, NULL};
        const float *lg;
        int32_t no;
        if (mdl_forward(b->c, &mb, &lg, &no, &b->err)) return -1;
    }
    return (double)(cirrus_now_ns() - t0) / 1e9;
}

/* Decode: n_steps steps of B tokens (one per sequence) starting at position start; seconds or -1. */
static double run_decode(bench_ctx *b, int32_t B, int32_t start, int32_t n_steps) {
    uint64_t t0 = cirrus_now_ns();
    for (int32_t s = 0; s < n_steps; s++) {
        fill_tokens(b, B, (uint64_t)(start + s));
        for (int32_t i = 0; i < B; i++) b->pos[i] = start + s, b->seq[i] = i, b->want[i] = true;
        mdl_batch mb = {B, b->tok, b->pos, b->seq, b->want};
        const float *lg;
        int32_t no;
        if (mdl_forward(b->c, &mb, &lg, &no, &b->err)) return -1;
    }
    return (double)(cirrus_now_ns() - t0) / 1e9;
}

/* Prompt of np tokens for each of B sequences, as one (or more) batched forward passes. */
static int prefill_many(bench_ctx *b, int32_t B, int32_t np) {
    int32_t k = 0;
    for (int32_t s = 0; s < B; s++)
        for (int32_t p = 0; p < np; p++) {
            b->tok[k] = (int32_t)((p * 31u + s * 7u + 3) % (uint32_t)b->n_vocab);
            b->pos[k] = p, b->seq[k] = s, b->want[k] = false;
            if (++k == b->n_batch || (s == B - 1 && p == np - 1)) {
                mdl_batch mb = {k, b->tok, b->pos, b->seq, b->want};
                const float *lg;
                int32_t no;
                if (mdl_forward(b->c, &mb, &lg, &no, &b->err)) return -1;
                k = 0;
            }
        }
    return 0;
}

static bool parse_list(const char *s, int32_t *out, int *n, int max) {
    *n = 0;
    if (!*s) return true;
    const char *p = s;
    while (*p) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 1 || v > 256 || (*end && *end != ',') || *n == max) {
            cli_error("--batch: '%s' is not a list of batch sizes in [1, 256]", s);
            return false;
        }
        out[(*n)++] = (int32_t)v;
        p = *end ? end + 1 : end;
    }
    return true;
}

int cmd_bench(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return 0;
    }
    const char *path = NULL, *v;
    int64_t n_prompt = 512, n_gen = 128, threads = 2, reps = 3, bprompt = 128, bgen = 64, ubatch = 512;
    int32_t batches[16] = {1, 4, 16};
    int n_batches = 3;
    bool json = false, membw = true;
    for (int i = 1; i < argc; i++) {
        if (cli_opt(argc, argv, &i, "-m", &v)) { if (!(path = v)) return 2; }
        else if (cli_opt(argc, argv, &i, "-p", &v)) { if (!cli_parse_i64("-p", v, 0, 1 << 16, &n_prompt)) return 2; }
        else if (cli_opt(argc, argv, &i, "-n", &v)) { if (!cli_parse_i64("-n", v, 0, 1 << 16, &n_gen)) return 2; }
        else if (cli_opt(argc, argv, &i, "-t", &v)) { if (!cli_parse_i64("-t", v, 1, 256, &threads)) return 2; }
        else if (cli_opt(argc, argv, &i, "--reps", &v)) { if (!cli_parse_i64("--reps", v, 1, 100, &reps)) return 2; }
        else if (cli_opt(argc, argv, &i, "--batch-prompt", &v)) { if (!cli_parse_i64("--batch-prompt", v, 1, 1 << 14, &bprompt)) return 2; }
        else if (cli_opt(argc, argv, &i, "--batch-gen", &v)) { if (!cli_parse_i64("--batch-gen", v, 1, 1 << 14, &bgen)) return 2; }
        else if (cli_opt(argc, argv, &i, "--ubatch", &v)) { if (!cli_parse_i64("--ubatch", v, 1, 4096, &ubatch)) return 2; }
        else if (cli_opt(argc, argv, &i, "--batch", &v)) { if (!v || !parse_list(v, batches, &n_batches, 16)) return 2; }
        else if (!strcmp(argv[i], "--json")) json = true;
        else if (!strcmp(argv[i], "--no-membw")) membw = false;
        else { cli_error("bench: unknown option '%s'", argv[i]); fputs(usage, stderr); return 2; }
    }
    if (!path) {
        cli_error("bench: -m is required");
        return 2;
    }
    int32_t max_b = 1;
    for (int i = 0; i < n_batches; i++) max_b = batches[i] > max_b ? batches[i] : max_b;

    cirrus_err err = {{0}};
    mdl_model *m = NULL;
    if (mdl_load(path, &m, &err)) {
        cli_error("%s", err.msg);
        return 1;
    }
    const mdl_hparams *hp = mdl_get_hparams(m);
    int64_t ctx_needed = n_prompt > n_gen ? n_prompt : n_gen;
    if (bprompt + bgen > ctx_needed) ctx_needed = bprompt + bgen;
    mdl_ctx_params cp = {.n_ctx = (int32_t)ctx_needed, .n_seq = max_b,
                         .n_batch = (int32_t)(ubatch > max_b ? ubatch : max_b), .n_out = max_b,
                         .n_threads = (int32_t)threads};
    bench_ctx b = {.n_vocab = hp->n_vocab, .n_batch = cp.n_batch};
    if (mdl_ctx_new(m, &cp, &b.c, &err)) {
        cli_error("%s", err.msg);
        mdl_free(m);
        return 1;
    }
    b.tok = malloc(sizeof(int32_t) * (size_t)cp.n_batch);
    b.pos = malloc(sizeof(int32_t) * (size_t)cp.n_batch);
    b.seq = malloc(sizeof(int32_t) * (size_t)cp.n_batch);
    b.want = malloc(sizeof(bool) * (size_t)cp.n_batch);
    double *t = malloc(sizeof(double) * (size_t)reps);
    double prefill_tps = 0, decode_tps = 0, batch_tps[16] = {0};
    double prefill_best = 0, decode_best = 0, batch_best[16] = {0};
    int rc = 1;
    if (!b.tok || !b.pos || !b.seq || !b.want || !t) goto out;

    const double load_start = load1();
    /* warm-up: touch every weight page once so the first timed run is not a page-fault run */
    if (run_prefill(&b, 8 < ctx_needed ? 8 : (int32_t)ctx_needed, 8) < 0) goto fail;
    if (n_prompt > 0) {
        for (int r = 0; r < reps; r++)
            if ((t[r] = run_prefill(&b, (int32_t)n_prompt, (int32_t)ubatch)) < 0) goto fail;
        prefill_tps = (double)n_prompt / median(t, (int)reps);
        prefill_best = (double)n_prompt / fastest(t);
    }
    if (n_gen > 0) {
        for (int r = 0; r < reps; r++)
            if ((t[r] = run_decode(&b, 1, 0, (int32_t)n_gen)) < 0) goto fail;
        decode_tps = (double)n_gen / median(t, (int)reps);
        decode_best = (double)n_gen / fastest(t);
    }
    for (int bi = 0; bi < n_batches; bi++) {
        for (int r = 0; r < reps; r++) {
            if (prefill_many(&b, batches[bi], (int32_t)bprompt)) goto fail;
            if ((t[r] = run_decode(&b, batches[bi], (int32_t)bprompt, (int32_t)bgen)) < 0) goto fail;
        }
        batch_tps[bi] = (double)batches[bi] * (double)bgen / median(t, (int)reps);
        batch_best[bi] = (double)batches[bi] * (double)bgen / fastest(t);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    const double load_end = load1();
    double rss_mib = (double)ru.ru_maxrss / 1024.0;
    double wbytes = (double)mdl_weight_bytes(m);
    double decode_gbps = decode_tps * wbytes / 1e9;
    double bw = membw ? measure_membw((int)threads) : 0;
    double kv_mib = (double)mdl_ctx_kv_bytes(b.c) / (1 << 20);

    if (json) {
        printf("{\"model\":\"%s\",\"isa\":\"%s\",\"threads\":%lld,\"prefill_tokens\":%lld,\"decode_tokens\":%lld,"
               "\"prefill_tps\":%.2f,\"decode_tps\":%.2f,\"batch_tps\":{",
               path, kn_isa_name(), (long long)threads, (long long)n_prompt, (long long)n_gen, prefill_tps, decode_tps);
        for (int bi = 0; bi < n_batches; bi++) printf("%s\"%d\":%.2f", bi ? "," : "", batches[bi], batch_tps[bi]);
        printf("},\"prefill_tps_best\":%.2f,\"decode_tps_best\":%.2f,\"batch_tps_best\":{", prefill_best, decode_best);
        for (int bi = 0; bi < n_batches; bi++) printf("%s\"%d\":%.2f", bi ? "," : "", batches[bi], batch_best[bi]);
        printf("},\"decode_gbps\":%.2f,\"membw_gbps\":%.2f,\"decode_bw_share\":%.3f,\"weights_mib\":%.1f,"
               "\"kv_mib\":%.1f,\"peak_rss_mib\":%.1f,\"reps\":%lld,\"load_start\":%.2f,\"load_end\":%.2f}\n",
               decode_gbps, bw, bw > 0 ? decode_gbps / bw : 0, wbytes / (1 << 20), kv_mib, rss_mib, (long long)reps,
               load_start, load_end);
    } else {
        printf("model    %s (%s, %d layers, dim %d)\nkernels  %s, %lld threads, median of %lld runs\n", path,
               hp->arch_name, hp->n_layer, hp->n_embd, kn_isa_name(), (long long)threads, (long long)reps);
        if (n_prompt) printf("prefill  pp%-5lld %8.2f tok/s (best %.2f)\n", (long long)n_prompt, prefill_tps, prefill_best);
        if (n_gen)
            printf("decode   tg%-5lld %8.2f tok/s (best %.2f)   %.2f GB/s of weights", (long long)n_gen, decode_tps,
                   decode_best, decode_gbps);
        if (n_gen && bw > 0) printf(" = %.0f%% of measured %.1f GB/s", 100 * decode_gbps / bw, bw);
        if (n_gen) printf("\n");
        for (int bi = 0; bi < n_batches; bi++)
            printf("batched  %3d seqs  %8.2f tok/s aggregate (best %.2f; pp%lld + tg%lld each)\n", batches[bi],
                   batch_tps[bi], batch_best[bi], (long long)bprompt, (long long)bgen);
        printf("memory   peak RSS %.1f MiB (weights %.1f MiB + KV %.1f MiB)\n", rss_mib, wbytes / (1 << 20), kv_mib);
        printf("machine  load average %.2f at start, %.2f at end\n", load_start, load_end);
    }
    rc = 0;
    goto out;
fail:
    cli_error("%s", b.err.msg);
out:
    free(t);
    free(b.tok);
    free(b.pos);
    free(b.seq);
    free(b.want);
    mdl_ctx_free(b.c);
    mdl_free(m);
    return rc;
}
