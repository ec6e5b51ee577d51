/* `cirrus model info FILE` and `cirrus model synth ...`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

static void print_gguf_str(const char *label, gguf_str s, size_t max) {
    printf("%-16s ", label);
    size_t n = s.len < max ? s.len : max;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s.ptr[i];
        if (ch == '\n') fputs("\\n", stdout);
        else if (ch < 0x20) printf("\\x%02x", ch);
        else putchar(ch);
    }
    if (s.len > max) printf("... (%llu bytes)", (unsigned long long)s.len);
    putchar('\n');
}

static int model_info(int argc, char **argv) {
    if (argc < 2 || cli_wants_help(argc, argv)) {
        printf("usage: cirrus model info FILE.gguf\n"
               "Prints the architecture, dimensions, tensor types with counts, tokenizer and chat template.\n");
        return argc < 2 ? 2 : 0;
    }
    const char *path = argv[1];
    cirrus_err err = {{0}};
    gguf_ctx *g = NULL;
    if (gguf_open(path, &g, &err)) {
        cli_error("%s", err.msg);
        return 1;
    }
    printf("%-16s %s\n", "file", path);
    printf("%-16s %u\n", "gguf version", gguf_version(g));
    printf("%-16s %llu tensors, %llu metadata keys, alignment %llu\n", "contents",
           (unsigned long long)gguf_n_tensors(g), (unsigned long long)gguf_n_kv(g),
           (unsigned long long)gguf_alignment(g));

    /* tensor types with counts and bytes */
    uint64_t counts[KN_TYPE_COUNT] = {0}, bytes[KN_TYPE_COUNT] = {0}, total = 0;
    for (uint64_t i = 0; i < gguf_n_tensors(g); i++) {
        const gguf_tensor *t = gguf_tensor_at(g, i);
        if (t->type < KN_TYPE_COUNT) counts[t->type]++, bytes[t->type] += t->nbytes;
        total += t->nbytes;
    }
    printf("%-16s", "tensor types");
    for (int t = 0; t < KN_TYPE_COUNT; t++)
        if (counts[t])
            printf(" %s x%llu (%.1f MiB)", kn_type_traits((uint32_t)t)->name, (unsigned long long)counts[t],
                   (double)bytes[t] / (1 << 20));
    printf("\n%-16s %.2f MiB\n", "tensor data", (double)total / (1 << 20));

    gguf_str s;
    if (gguf_get_str(g, "general.architecture", &s)) print_gguf_str("architecture", s, 64);
    if (gguf_get_str(g, "general.name", &s)) print_gguf_str("name", s, 128);
    gguf_close(g);

    mdl_model *m = NULL;
    if (mdl_load_info(path, &m, &err)) {
        /* the file is valid GGUF but not a model we can run (vocab-only, unsupported arch...) */
        printf("%-16s not runnable: %s\n", "model", err.msg);
    } else {
        const mdl_hparams *hp = mdl_get_hparams(m);
        printf("%-16s dim %d, layers %d, heads %d, kv heads %d, head dim %d, ffn %d, vocab %d\n", "dimensions",
               hp->n_embd, hp->n_layer, hp->n_head, hp->n_head_kv, hp->head_dim, hp->n_ff, hp->n_vocab);
        printf("%-16s %s, base %g, dims %d%s%s\n", "rope", hp->rope_kind == MDL_ROPE_NEOX ? "neox" : "normal",
               (double)hp->rope_base, hp->n_rot, hp->has_rope_freqs ? ", llama3 frequency factors" : "",
               hp->rope_freq_scale != 1.0f ? ", linear scaling" : "");
        printf("%-16s train ctx %d, rms eps %g%s%s\n", "other", hp->n_ctx_train, (double)hp->norm_eps,
               hp->tied_embeddings ? ", tied embeddings" : "", hp->has_qkv_bias ? ", qkv bias" : "");
        printf("%-16s %.2f MiB read per decoded token\n", "weights", (double)mdl_weight_bytes(m) / (1 << 20));
    }
    const gguf_ctx *gm = m ? mdl_get_gguf(m) : NULL;
    gguf_ctx *gv = NULL;
    if (!gm && gguf_open(path, &gv, &err) == CIRRUS_OK) gm = gv;
    if (gm) {
        tok_vocab *v = NULL;
        if (tok_load(gm, &v, &err) == CIRRUS_OK) {
            printf("%-16s %s%s%s, %d tokens, bos %d, eos %d%s\n", "tokenizer",
                   tok_get_kind(v) == TOK_KIND_SPM ? "spm" : "bpe", *tok_pre_name(v) ? " pre " : "",
                   tok_pre_name(v), tok_n_vocab(v), tok_bos(v), tok_eos(v), tok_add_bos(v) ? ", adds bos" : "");
            tok_free(v);
        } else {
            printf("%-16s none usable: %s\n", "tokenizer", err.msg);
        }
        gguf_str tmpl = {0};
        if (gguf_get_str(gm, "tokenizer.chat_template", &tmpl)) {
            tok_chat_kind k;
            bool known = tok_chat_detect(tmpl.ptr, tmpl.len, &k);
            printf("%-16s %s%s\n", "chat template", tok_chat_name(k), known ? "" : " (not recognised; chatml fallback)");
        } else {
            printf("%-16s none in file (chatml used)\n", "chat template");
        }
    }
    gguf_close(gv);
    mdl_free(m);
    return 0;
}

static bool parse_type(const char *s, kn_type *t, bool *k_m) {
    static const struct { const char *name; kn_type t; bool km; } types[] = {
        {"f32", KN_F32, false},  {"f16", KN_F16, false},   {"bf16", KN_BF16, false}, {"q8_0", KN_Q8_0, false},
        {"q4_0", KN_Q4_0, false}, {"q4_k", KN_Q4_K, false}, {"q5_k", KN_Q5_K, false}, {"q6_k", KN_Q6_K, false},
        {"q4_k_m", KN_Q4_K, true}, {"q5_k_m", KN_Q5_K, true},
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (!strcasecmp(s, types[i].name)) {
            *t = types[i].t;
            *k_m = types[i].km;
            return true;
        }
    return false;
}

static int model_synth(int argc, char **argv) {
    const char *usage =
        "usage: cirrus model synth --shape NAME --type TYPE --out F.gguf [--vocab-from V.gguf] [--seed S] [-t N]\n"
        "Writes a random-weight model of a real shape.\n"
        "  shapes: tiny, tinyllama-1.1b, llama-3.2-1b, qwen2.5-0.5b\n"
        "  types:  f32 f16 bf16 q8_0 q4_0 q4_k q5_k q6_k q4_k_m q5_k_m\n";
    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return 0;
    }
    mdl_synth_params p = {.shape = NULL, .type = KN_Q8_0, .seed = 42, .n_threads = 2};
    const char *out = NULL, *v = NULL;
    for (int i = 1; i < argc; i++) {
        if (cli_opt(argc, argv, &i, "--shape", &v)) {
            if (!v) return 2;
            p.shape = v;
        } else if (cli_opt(argc, argv, &i, "--type", &v)) {
            if (!v) return 2;
            if (!parse_type(v, &p.type, &p.k_m_mix)) {
                cli_error("--type: unknown type '%s'", v);
                return 2;
            }
        } else if (cli_opt(argc, argv, &i, "--out", &v)) {
            if (!v) return 2;
            out = v;
        } else if (cli_opt(argc, argv, &i, "--vocab-from", &v)) {
            if (!v) return 2;
            p.vocab_from = v;
        } else if (cli_opt(argc, argv, &i, "--seed", &v)) {
            if (!cli_parse_u64("--seed", v, &p.seed)) return 2;
        } else if (cli_opt(argc, argv, &i, "-t", &v)) {
            int64_t n;
            if (!cli_parse_i64("-t", v, 1, 256, &n)) return 2;
            p.n_threads = (int32_t)n;
        } else {
            cli_error("model synth: unknown option '%s'", argv[i]);
            fputs(usage, stderr);
            return 2;
        }
    }
    if (!p.shape || !out) {
        cli_error("model synth: --shape and --out are required");
        fputs(usage, stderr);
        return 2;
    }
    cirrus_err err = {{0}};
    uint64_t t0 = cirrus_now_ns();
    if (mdl_synth(&p, out, &err)) {
        cli_error("%s", err.msg);
        return 1;
    }
    fprintf(stderr, "cirrus: wrote %s (%s, %s) in %.1f s\n", out, p.shape, kn_type_traits((uint32_t)p.type)->name,
            (double)(cirrus_now_ns() - t0) / 1e9);
    return 0;
}

int cmd_model(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        printf("usage: cirrus model info FILE.gguf\n       cirrus model synth --shape NAME --type TYPE --out F.gguf\n");
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "info")) return model_info(argc - 1, argv + 1);
    if (!strcmp(argv[1], "synth")) return model_synth(argc - 1, argv + 1);
    cli_error("model: unknown subcommand '%s' (info, synth)", argv[1]);
    return 2;
}
