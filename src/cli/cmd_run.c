/* `cirrus run`: generate text from a prompt, streamed to stdout as it is produced. */
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
    "usage: cirrus run -m M.gguf -p TEXT [options]\n"
    "  -n N                 tokens to generate (default 128)\n"
    "  --temp T             temperature, 0 = greedy (default 0.8)\n"
    "  --top-k K            (default 40, 0 = off)     --top-p P   (default 0.95)\n"
    "  --min-p P            (default 0.05)            --seed S    (default: random, printed)\n"
    "  --repeat-penalty R   (default 1.0)             --repeat-last-n N (default 64)\n"
    "  --presence-penalty X --frequency-penalty X     (OpenAI semantics, -2..2)\n"
    "  --stop STR           stop sequence (up to 4)\n"
    "  --chat               format -p as a user message with the model's chat template\n"
    "  --system TEXT        system message (with --chat)\n"
    "  --chat-template NAME override the template (chatml llama2 llama3 mistral phi3 gemma zephyr)\n"
    "  -c N                 context size (default 2048)   -t N  threads (default 2)\n"
    "  --watermark-key FILE watermark the output with this key (cirrus guard keygen)\n"
    "  --wm-gamma G --wm-delta D --wm-h H   watermark green fraction, bias, context (0.25, 2.0, 4)\n"
    "  --ignore-eos         keep generating past end-of-generation tokens\n"
    "  --ids                print the generated token ids (space-separated) instead of text\n"
    "  --no-stats           do not print timing to stderr\n";

typedef struct {
    const char *model, *prompt, *system, *tmpl_name;
    const char *stops[SMP_MAX_STOPS];
    int n_stops;
    int64_t n_predict, n_ctx, threads;
    bool chat, seed_set, stats, ignore_eos, print_ids;
    smp_params sp;
    const char *wm_key;
    guard_wm_params wm;
} run_opts;

static int parse_args(int argc, char **argv, run_opts *o) {
    const char *v;
    smp_params_default(&o->sp);
    guard_wm_params_default(&o->wm);
    o->n_predict = 128, o->n_ctx = 2048, o->threads = 2, o->stats = true;
    for (int i = 1; i < argc; i++) {
        int64_t n;
        if (cli_opt(argc, argv, &i, "-m", &v)) { if (!(o->model = v)) return 2; }
        else if (cli_opt(argc, argv, &i, "-p", &v)) { if (!(o->prompt = v)) return 2; }
        else if (cli_opt(argc, argv, &i, "-n", &v)) { if (!cli_parse_i64("-n", v, 0, 1 << 20, &o->n_predict)) return 2; }
        else if (cli_opt(argc, argv, &i, "-c", &v)) { if (!cli_parse_i64("-c", v, 16, 1 << 20, &o->n_ctx)) return 2; }
        else if (cli_opt(argc, argv, &i, "-t", &v)) { if (!cli_parse_i64("-t", v, 1, 256, &o->threads)) return 2; }
        else if (cli_opt(argc, argv, &i, "--temp", &v)) { if (!cli_parse_f32("--temp", v, 0, 100, &o->sp.temperature)) return 2; }
        else if (cli_opt(argc, argv, &i, "--top-k", &v)) { if (!cli_parse_i64("--top-k", v, 0, 1 << 24, &n)) return 2; o->sp.top_k = (int32_t)n; }
        else if (cli_opt(argc, argv, &i, "--top-p", &v)) { if (!cli_parse_f32("--top-p", v, 0, 1, &o->sp.top_p)) return 2; }
        else if (cli_opt(argc, argv, &i, "--min-p", &v)) { if (!cli_parse_f32("--min-p", v, 0, 1, &o->sp.min_p)) return 2; }
        else if (cli_opt(argc, argv, &i, "--repeat-penalty", &v)) { if (!cli_parse_f32("--repeat-penalty", v, 0.01f, 100, &o->sp.repeat_penalty)) return 2; }
        else if (cli_opt(argc, argv, &i, "--repeat-last-n", &v)) { if (!cli_parse_i64("--repeat-last-n", v, -1, 1 << 20, &n)) return 2; o->sp.repeat_last_n = (int32_t)n; }
        else if (cli_opt(argc, argv, &i, "--presence-penalty", &v)) { if (!cli_parse_f32("--presence-penalty", v, -2, 2, &o->sp.presence_penalty)) return 2; }
        else if (cli_opt(argc, argv, &i, "--frequency-penalty", &v)) { if (!cli_parse_f32("--frequency-penalty", v, -2, 2, &o->sp.frequency_penalty)) return 2; }
        else if (cli_opt(argc, argv, &i, "--seed", &v)) { if (!cli_parse_u64("--seed", v, &o->sp.seed)) return 2; o->seed_set = true; }
        else if (cli_opt(argc, argv, &i, "--stop", &v)) {
            if (!v) return 2;
            if (o->n_stops == SMP_MAX_STOPS) { cli_error("--stop: at most %d stop sequences", SMP_MAX_STOPS); return 2; }
            o->stops[o->n_stops++] = v;
        }
        else if (cli_opt(argc, argv, &i, "--system", &v)) { if (!(o->system = v)) return 2; }
        else if (cli_opt(argc, argv, &i, "--watermark-key", &v)) { if (!(o->wm_key = v)) return 2; }
        else if (cli_opt(argc, argv, &i, "--wm-gamma", &v)) { if (!cli_parse_f32("--wm-gamma", v, 1e-6f, 0.999999f, &o->wm.gamma)) return 2; }
        else if (cli_opt(argc, argv, &i, "--wm-delta", &v)) { if (!cli_parse_f32("--wm-delta", v, 0, 50, &o->wm.delta)) return 2; }
        else if (cli_opt(argc, argv, &i, "--wm-h", &v)) { if (!cli_parse_i64("--wm-h", v, 0, GUARD_WM_MAX_H, &n)) return 2; o->wm.h = (int32_t)n; }
        else if (cli_opt(argc, argv, &i, "--chat-template", &v)) { if (!(o->tmpl_name = v)) return 2; o->chat = true; }
        else if (!strcmp(argv[i], "--chat")) o->chat = true;
        else if (!strcmp(argv[i], "--no-stats")) o->stats = false;
        else if (!strcmp(argv[i], "--ignore-eos")) o->ignore_eos = true;
        else if (!strcmp(argv[i], "--ids")) o->print_ids = true;
        else { cli_error("run: unknown option '%s'", argv[i]); fputs(usage, stderr); return 2; }
    }
    if (!o->model || !o->prompt) {
        cli_error("run: -m and -p are required");
        fputs(usage, stderr);
        return 2;
    }
    if (!o->seed_set) o->sp.seed = (uint64_t)time(NULL) ^ ((uint64_t)clock() << 32);
    return 0;
}

/* The prompt text: plain, or the chat template applied to [system,] user. */
static cirrus_status build_prompt(const run_opts *o, const mdl_model *m, const tok_vocab *v, char **out,
                                  cirrus_err *err) {
    if (!o->chat) {
        *out = strdup(o->prompt);
        return *out ? CIRRUS_OK : CIRRUS_ERR_NOMEM;
    }
    tok_chat_kind kind = TOK_CHAT_CHATML;
    if (o->tmpl_name) {
        if (!tok_chat_from_name(o->tmpl_name, &kind))
            return cirrus_errf(err, CIRRUS_ERR_INVALID, "--chat-template: unknown template '%s'", o->tmpl_name);
    } else {
        gguf_str t = {0};
        bool have = gguf_get_str(mdl_get_gguf(m), "tokenizer.chat_template", &t);
        if (!tok_chat_detect(have ? t.ptr : NULL, have ? t.len : 0, &kind))
            CIRRUS_WARN("chat template %s; using chatml", have ? "not recognised" : "absent");
    }
    tok_chat_msg msgs[2];
    size_t n = 0;
    if (o->system) msgs[n++] = (tok_chat_msg){"system", o->system};
    msgs[n++] = (tok_chat_msg){"user", o->prompt};
    const char *bos = tok_bos(v) >= 0 ? tok_text(v, tok_bos(v)) : "";
    const char *eos = tok_eos(v) >= 0 ? tok_text(v, tok_eos(v)) : "";
    return tok_chat_format(kind, msgs, n, true, bos ? bos : "", eos ? eos : "", out, err);
}

int cmd_run(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return 0;
    }
    run_opts o = {0};
    int prc = parse_args(argc, argv, &o);
    if (prc) return prc;

    cirrus_err err = {{0}};
    mdl_model *m = NULL;
    mdl_ctx *c = NULL;
    tok_vocab *v = NULL;
    smp_chain *chain = NULL;
    char *text = NULL;
    int32_t *prompt = NULL, *hist = NULL;
    size_t n_prompt = 0;
    int rc = 1;
    if (mdl_load(o.model, &m, &err) || tok_load(mdl_get_gguf(m), &v, &err)) goto out;
    const mdl_hparams *hp = mdl_get_hparams(m);
    if (tok_n_vocab(v) > hp->n_vocab) {
        cirrus_errf(&err, CIRRUS_ERR_FORMAT, "vocabulary has %d tokens but the model only %d", tok_n_vocab(v), hp->n_vocab);
        goto out;
    }
    if (build_prompt(&o, m, v, &text, &err)) goto out;
    if (tok_encode(v, text, strlen(text), true, o.chat, &prompt, &n_prompt, &err)) goto out;
    /* a template that writes BOS itself plus add_bos would give two */
    if (n_prompt >= 2 && prompt[0] == tok_bos(v) && prompt[1] == tok_bos(v)) memmove(prompt, prompt + 1, --n_prompt * sizeof *prompt);
    if (n_prompt == 0) {
        cirrus_errf(&err, CIRRUS_ERR_INVALID, "the prompt is empty after tokenization");
        goto out;
    }
    if ((int64_t)n_prompt >= o.n_ctx) {
        cirrus_errf(&err, CIRRUS_ERR_RANGE, "prompt of %zu tokens does not fit the context of %lld", n_prompt, (long long)o.n_ctx);
        goto out;
    }
    int64_t n_total = (int64_t)n_prompt + o.n_predict;
    if (n_total > o.n_ctx) n_total = o.n_ctx;
    mdl_ctx_params cp = {.n_ctx = (int32_t)n_total, .n_seq = 1, .n_batch = 256, .n_out = 1, .n_threads = (int32_t)o.threads};
    if (smp_params_check(&o.sp, hp->n_vocab, &err) || mdl_ctx_new(m, &cp, &c, &err)) goto out;
    if (smp_chain_new(&o.sp, hp->n_vocab, &chain)) {
        cirrus_errf(&err, CIRRUS_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (o.wm_key) {
        /* the provider's watermark: a processor after the penalties; the chain frees it */
        guard_key k;
        smp_proc wp;
        if (guard_key_load(o.wm_key, &k, &err)) goto out;
        cirrus_status wst = guard_wm_proc_new(&k, &o.wm, hp->n_vocab, &wp, &err);
        guard_key_wipe(&k);
        if (wst) goto out;
        if (smp_chain_add(chain, &wp)) {
            wp.free(&wp);
            cirrus_errf(&err, CIRRUS_ERR_FULL, "sampler: too many processors");
            goto out;
        }
    }
    smp_stop stop;
    if (smp_stop_init(&stop, o.stops, o.n_stops, &err)) goto out;
    hist = malloc(sizeof *hist * (size_t)n_total);
    if (!hist) goto out;
    memcpy(hist, prompt, n_prompt * sizeof *hist);
    size_t n_hist = n_prompt;

    /* prefill in chunks of n_batch; logits of the last prompt token only */
    uint64_t t0 = cirrus_now_ns();
    int32_t pos[256], seq[256] = {0};
    const float *logits = NULL;
    int32_t n_out;
    for (size_t start = 0; start < n_prompt; start += (size_t)cp.n_batch) {
        int32_t nb = (int32_t)(n_prompt - start < (size_t)cp.n_batch ? n_prompt - start : (size_t)cp.n_batch);
        for (int32_t i = 0; i < nb; i++) pos[i] = (int32_t)start + i;
        mdl_batch b = {nb, prompt + start, pos, seq, NULL};
        if (mdl_forward(c, &b, &logits, &n_out, &err)) goto out;
    }
    uint64_t t1 = cirrus_now_ns();

    tok_stream ts;
    tok_stream_init(&ts);
    const size_t piece_cap = 3 * (tok_max_piece(v) + 4);
    char *piece = malloc(piece_cap), *released = malloc(piece_cap + SMP_MAX_STOP_LEN);
    if (!piece || !released) {
        free(piece);
        free(released);
        goto out;
    }
    int64_t n_gen = 0;
    const char *finish = "length";
    while (n_gen < o.n_predict && (int64_t)n_hist < n_total) {
        smp_history h = {hist, n_hist, n_prompt};
        int32_t id = smp_sample(chain, logits, &h, -1, NULL);
        n_gen++;
        if (tok_is_eog(v, id) && !o.ignore_eos) {
            finish = "stop";
            break;
        }
        hist[n_hist++] = id;
        if (o.print_ids) {
            printf("%s%d", n_gen > 1 ? " " : "", id);
            fflush(stdout);
            goto next;
        }
        size_t np = tok_stream_push(v, &ts, id, false, piece, piece_cap);
        size_t nr = smp_stop_push(&stop, piece, np, released, piece_cap + SMP_MAX_STOP_LEN);
        fwrite(released, 1, nr, stdout);
        fflush(stdout);
        if (stop.stopped) {
            finish = "stop";
            break;
        }
    next:
        if ((int64_t)n_hist >= n_total || n_gen >= o.n_predict) break;
        int32_t p1 = (int32_t)n_hist - 1;
        mdl_batch b = {1, &id, &p1, seq, NULL};
        if (mdl_forward(c, &b, &logits, &n_out, &err)) {
            free(piece);
            free(released);
            goto out;
        }
    }
    if (!stop.stopped && !o.print_ids) {
        size_t np = tok_stream_flush(&ts, piece, piece_cap);
        size_t nr = smp_stop_push(&stop, piece, np, released, piece_cap + SMP_MAX_STOP_LEN);
        fwrite(released, 1, nr, stdout);
        if (!stop.stopped) fwrite(released, 1, smp_stop_flush(&stop, released, piece_cap + SMP_MAX_STOP_LEN), stdout);
    }
    free(piece);
    free(released);
    fputc('\n', stdout);
    fflush(stdout);
    uint64_t t2 = cirrus_now_ns();
    if (o.stats)
        fprintf(stderr,
                "cirrus: seed %llu; prompt %zu tokens in %.3f s (%.1f tok/s); generated %lld tokens in %.3f s "
                "(%.1f tok/s); finish %s\n",
                (unsigned long long)o.sp.seed, n_prompt, (double)(t1 - t0) / 1e9,
                (double)n_prompt / ((double)(t1 - t0) / 1e9), (long long)n_gen, (double)(t2 - t1) / 1e9,
                n_gen ? (double)n_gen / ((double)(t2 - t1) / 1e9) : 0.0, finish);
    rc = 0;
out:
    if (rc) cli_error("%s", err.msg[0] ? err.msg : "out of memory");
    free(hist);
    free(prompt);
    free(text);
    smp_chain_free(chain);
    tok_free(v);
    mdl_ctx_free(c);
    mdl_free(m);
    return rc;
}
