/*
 * `cirrus grammar`: the constrained-decoding engine from the command line.
 *   check FILE.gbnf            compile a grammar (errors with line:column)
 *   schema FILE.json           print the GBNF a JSON Schema compiles to
 *   sample SOURCE              seeded random sentences of a grammar (JSON lines of strings)
 *   gen -m M.gguf SOURCE       seeded generations of a model through the scheduler, constrained
 *   bench -m M.gguf SOURCE     mask cost per token and decode speed with and without (cmd_grammar_bench.c)
 * SOURCE is --gbnf FILE, --schema FILE or --json-object.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/grammar_cli.h"
#include "grammar/grammar.h"
#include "model/model.h"
#include "sched/sched.h"
#include "tokenizer/tokenizer.h"

static const char *usage =
    "usage: cirrus grammar check FILE.gbnf [--root NAME]\n"
    "       cirrus grammar schema FILE.json [--compact | --ws N] [--no-additional]\n"
    "       cirrus grammar sample SOURCE [-n N] [--seed S] [--len L] [--p-end P]\n"
    "       cirrus grammar gen -m M.gguf SOURCE [-n N] [--seed S] [--max-tokens T] [--slots K] [-p PROMPT]\n"
    "                          [--temp T] [-t THREADS]\n"
    "       cirrus grammar bench -m M.gguf SOURCE [-n TOKENS] [--rounds R] [--walks W] [-t THREADS] [--no-decode]\n"
    "                            [--vocab-union A.gguf,B.gguf [--vocab-max N]]   (mask on those pieces)\n"
    "  SOURCE: --gbnf FILE | --schema FILE | --json-object      (schema options as for `schema`)\n"
    "  sample and gen print one JSON line per sentence: {\"i\", \"seed\", \"text\", ...}\n";

bool grammar_cli_source(int argc, char **argv, int *i, grammar_cli_src *s) {
    const char *v;
    int64_t n;
    if (cli_opt(argc, argv, i, "--gbnf", &v)) return (s->gbnf = v) != NULL;
    if (cli_opt(argc, argv, i, "--schema", &v)) return (s->schema = v) != NULL;
    if (cli_opt(argc, argv, i, "--root", &v)) return (s->root = v) != NULL;
    if (cli_opt(argc, argv, i, "--ws", &v)) {
        if (!cli_parse_i64("--ws", v, 0, 64, &n)) return false;
        s->opts.ws_indent = (int32_t)n;
        return true;
    }
    if (!strcmp(argv[*i], "--json-object")) return s->json_object = true;
    if (!strcmp(argv[*i], "--compact")) return s->opts.ws_indent = -1, true;
    if (!strcmp(argv[*i], "--no-additional")) return s->opts.additional_default = false, true;
    return false;
}

/* The GBNF text of a source (malloc'ed), or NULL with the error printed. */
char *grammar_cli_text(const grammar_cli_src *s) {
    cirrus_err err;
    char *text = NULL, *out = NULL;
    size_t len;
    if (!!s->gbnf + !!s->schema + s->json_object != 1) {
        cli_error("grammar: give exactly one of --gbnf FILE, --schema FILE, --json-object");
        return NULL;
    }
    if (s->json_object) {
        if (grm_json_object_gbnf(&s->opts, &out, &err)) cli_error("%s", err.msg);
        return out;
    }
    const char *path = s->gbnf ? s->gbnf : s->schema;
    if (cirrus_read_file(path, 4u << 20, &text, &len, &err)) {
        cli_error("%s", err.msg);
        return NULL;
    }
    if (s->gbnf) return text;
    if (grm_schema_text_to_gbnf(text, len, &s->opts, &out, &err)) cli_error("%s: %s", path, err.msg);
    free(text);
    return out;
}

grm_grammar *grammar_cli_compile(const grammar_cli_src *s, const grm_vocab *v) {
    char *text = grammar_cli_text(s);
    if (!text) return NULL;
    grm_grammar *g = NULL;
    cirrus_err err;
    if (grm_compile(text, strlen(text), s->root, v, &g, &err)) cli_error("%s", err.msg);
    free(text);
    return g;
}

static void print_json_string(FILE *f, const char *s, size_t n) {
    json_t *j = json_stringn_nocheck(s, n);
    char *t = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
    fputs(t ? t : "null", f);
    free(t);
    json_decref(j);
}

static int cmd_check(int argc, char **argv) {
    grammar_cli_src src = {0};
    grm_schema_opts_default(&src.opts);
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] != '-' && !src.gbnf) src.gbnf = argv[i];
        else if (!grammar_cli_source(argc, argv, &i, &src)) {
            cli_error("grammar check: unknown option '%s'", argv[i]);
            return 2;
        }
    }
    uint64_t t0 = cirrus_now_ns();
    grm_grammar *g = grammar_cli_compile(&src, NULL);
    if (!g) return 1;
    grm_grammar_stats st;
    grm_grammar_get_stats(g, &st);
    printf("ok: %u rules with an automaton, %u states, %u byte classes, compiled in %.2f ms\n", st.n_rules, st.n_states,
           st.n_classes, (double)(cirrus_now_ns() - t0) / 1e6);
    grm_release(g);
    return 0;
}

static int cmd_schema(int argc, char **argv) {
    grammar_cli_src src = {0};
    grm_schema_opts_default(&src.opts);
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] != '-' && !src.schema) src.schema = argv[i];
        else if (!grammar_cli_source(argc, argv, &i, &src)) {
            cli_error("grammar schema: unknown option '%s'", argv[i]);
            return 2;
        }
    }
    char *text = grammar_cli_text(&src);
    if (!text) return 1;
    fputs(text, stdout);
    free(text);
    return 0;
}

static int cmd_sample(int argc, char **argv) {
    grammar_cli_src src = {0};
    grm_schema_opts_default(&src.opts);
    int64_t n = 20, len = 200;
    uint64_t seed = 1;
    float p_end = 0.05f;
    const char *v;
    for (int i = 1; i < argc; i++) {
        if (cli_opt(argc, argv, &i, "-n", &v)) { if (!cli_parse_i64("-n", v, 1, 1000000, &n)) return 2; }
        else if (cli_opt(argc, argv, &i, "--len", &v)) { if (!cli_parse_i64("--len", v, 0, 1 << 24, &len)) return 2; }
        else if (cli_opt(argc, argv, &i, "--seed", &v)) { if (!cli_parse_u64("--seed", v, &seed)) return 2; }
        else if (cli_opt(argc, argv, &i, "--p-end", &v)) { if (!cli_parse_f32("--p-end", v, 0, 1, &p_end)) return 2; }
        else if (!grammar_cli_source(argc, argv, &i, &src)) {
            cli_error("grammar sample: unknown option '%s'", argv[i]);
            return 2;
        }
    }
    grm_grammar *g = grammar_cli_compile(&src, NULL);
    if (!g) return 1;
    int rc = 0;
    for (int64_t k = 0; k < n && !rc; k++) {
        char *s = NULL;
        size_t sl = 0;
        cirrus_err err;
        if (grm_sample(g, seed + (uint64_t)k, (size_t)len, p_end, &s, &sl, &err)) {
            cli_error("%s", err.msg);
            rc = 1;
            break;
        }
        printf("{\"i\": %lld, \"seed\": %llu, \"text\": ", (long long)k, (unsigned long long)(seed + (uint64_t)k));
        print_json_string(stdout, s, sl);
        puts("}");
        free(s);
    }
    grm_release(g);
    return rc;
}

static const char *finish_name(sched_finish f) {
    switch (f) {
    case SCHED_FINISH_STOP: return "stop";
    case SCHED_FINISH_LENGTH: return "length";
    case SCHED_FINISH_CANCELLED: return "cancelled";
    case SCHED_FINISH_ERROR: return "error";
    default: return "none";
    }
}

int grammar_cli_load(const char *path, int64_t threads, int32_t n_ctx, int32_t n_slots, grammar_cli_model *out) {
    cirrus_err err;
    memset(out, 0, sizeof *out);
    if (mdl_load(path, &out->m, &err) || tok_load(mdl_get_gguf(out->m), &out->tv, &err) ||
        grm_vocab_new(out->tv, &out->gv, &err)) {
        cli_error("%s: %s", path, err.msg);
        grammar_cli_unload(out);
        return 1;
    }
    sched_params sp = {.model = out->m, .vocab = out->tv, .n_threads = (int32_t)threads, .n_ctx = n_ctx,
                       .n_slots = n_slots, .n_batch = 256 > n_slots ? 256 : n_slots, .max_queue = 4096};
    if (sched_new(&sp, &out->s, &err)) {
        cli_error("%s", err.msg);
        grammar_cli_unload(out);
        return 1;
    }
    return 0;
}

void grammar_cli_unload(grammar_cli_model *x) {
    sched_free(x->s);
    grm_vocab_free(x->gv);
    tok_free(x->tv);
    mdl_free(x->m);
    memset(x, 0, sizeof *x);
}

static int cmd_gen(int argc, char **argv) {
    grammar_cli_src src = {0};
    grm_schema_opts_default(&src.opts);
    const char *model = NULL, *prompt = "JSON:", *v;
    int64_t n = 200, max_tokens = 256, slots = 8, threads = 2;
    uint64_t seed = 1;
    float temp = 1.0f;
    for (int i = 1; i < argc; i++) {
        if (cli_opt(argc, argv, &i, "-m", &v)) { if (!(model = v)) return 2; }
        else if (cli_opt(argc, argv, &i, "-p", &v)) { if (!(prompt = v)) return 2; }
        else if (cli_opt(argc, argv, &i, "-n", &v)) { if (!cli_parse_i64("-n", v, 1, 100000, &n)) return 2; }
        else if (cli_opt(argc, argv, &i, "--max-tokens", &v)) { if (!cli_parse_i64("--max-tokens", v, 1, 1 << 16, &max_tokens)) return 2; }
        else if (cli_opt(argc, argv, &i, "--slots", &v)) { if (!cli_parse_i64("--slots", v, 1, 256, &slots)) return 2; }
        else if (cli_opt(argc, argv, &i, "-t", &v)) { if (!cli_parse_i64("-t", v, 1, 256, &threads)) return 2; }
        else if (cli_opt(argc, argv, &i, "--seed", &v)) { if (!cli_parse_u64("--seed", v, &seed)) return 2; }
        else if (cli_opt(argc, argv, &i, "--temp", &v)) { if (!cli_parse_f32("--temp", v, 0, 2, &temp)) return 2; }
        else if (!grammar_cli_source(argc, argv, &i, &src)) {
            cli_error("grammar gen: unknown option '%s'", argv[i]);
            return 2;
        }
    }
    if (!model) {
        cli_error("grammar gen: -m MODEL is required");
        return 2;
    }
    grammar_cli_model x;
    int32_t n_ctx = (int32_t)max_tokens + 64;
    if (grammar_cli_load(model, threads, n_ctx, (int32_t)slots, &x)) return 1;
    int rc = 1;
    grm_grammar *g = grammar_cli_compile(&src, x.gv);
    int32_t *ptoks = NULL;
    size_t np = 0;
    sched_req **reqs = calloc((size_t)n, sizeof *reqs);
    cirrus_err err;
    if (!g || !reqs) goto out;
    if (tok_encode(x.tv, prompt, strlen(prompt), true, false, &ptoks, &np, &err) || np == 0 || np > 60) {
        cli_error("-p: %s", np > 60 ? "prompt too long" : np == 0 ? "empty" : err.msg);
        goto out;
    }
    for (int64_t k = 0; k < n; k++) {
        sched_req_params rp = {0};
        rp.prompt = ptoks, rp.n_prompt = (int32_t)np, rp.max_tokens = (int32_t)max_tokens, rp.n_choices = 1;
        rp.n_logprobs = -1;
        smp_params_default(&rp.sampling);
        rp.sampling.temperature = temp; /* with the default top-k / top-p / min-p, as a server runs */
        rp.sampling.seed = seed + (uint64_t)k;
        rp.choice_proc = grm_choice_proc, rp.choice_proc_arg = g;
        if (sched_submit(x.s, &rp, &reqs[k], &err)) {
            cli_error("submit: %s", err.msg);
            goto out;
        }
    }
    int64_t complete = 0, failed = 0;
    for (int64_t k = 0; k < n; k++) {
        cirrus_buf text;
        cirrus_buf_init(&text, (size_t)1 << 24);
        sched_event ev;
        sched_finish fin = SCHED_FINISH_NONE;
        int32_t n_tok = 0;
        while (sched_poll(reqs[k], &ev, -1) == 1) {
            cirrus_buf_add(&text, ev.text, ev.text_len);
            if (ev.token >= 0) n_tok++;
            if (ev.finish) fin = ev.finish;
        }
        /* the verdict comes from the text, through a fresh matcher: what a client got */
        grm_matcher *m = NULL;
        bool ok = grm_matcher_new(g, &m, &err) == CIRRUS_OK && grm_matcher_accept_bytes(m, text.p ? text.p : "", text.len) &&
                  grm_matcher_is_complete(m);
        grm_matcher_free(m);
        complete += ok;
        failed += fin != SCHED_FINISH_STOP;
        printf("{\"i\": %lld, \"seed\": %llu, \"finish\": \"%s\", \"tokens\": %d, \"grammar\": \"%s\", \"text\": ",
               (long long)k, (unsigned long long)(seed + (uint64_t)k), finish_name(fin), n_tok,
               ok ? "complete" : "incomplete");
        print_json_string(stdout, text.p ? text.p : "", text.len);
        puts("}");
        cirrus_buf_free(&text);
    }
    fprintf(stderr, "grammar gen: %lld generations, %lld complete, %lld not ended by the model\n", (long long)n,
            (long long)complete, (long long)failed);
    rc = 0;
out:
    for (int64_t k = 0; reqs && k < n; k++) sched_req_free(reqs[k]);
    free(reqs);
    free(ptoks);
    grm_release(g);
    grammar_cli_unload(&x);
    return rc;
}

int cmd_grammar(int argc, char **argv) {
    if (argc < 2 || cli_wants_help(argc, argv)) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *sub = argv[1];
    if (!strcmp(sub, "check")) return cmd_check(argc - 1, argv + 1);
    if (!strcmp(sub, "schema")) return cmd_schema(argc - 1, argv + 1);
    if (!strcmp(sub, "sample")) return cmd_sample(argc - 1, argv + 1);
    if (!strcmp(sub, "gen")) return cmd_gen(argc - 1, argv + 1);
    if (!strcmp(sub, "bench")) return grammar_cli_bench(argc - 1, argv + 1);
    cli_error("grammar: unknown subcommand '%s'", sub);
    fputs(usage, stderr);
    return 2;
}
