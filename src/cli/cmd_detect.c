/*
 * `cirrus detect`: is this text, this corpus, this model carrying our watermark?
 *
 *   text    each FILE on its own: re-tokenize with the model's tokenizer (GGUF metadata only, no
 *           weights), score every distinct (anchor, token) pair once, z, exact p-value, verdict
 *   corpus  all FILEs as one sample, deduplicated across files: the radioactivity test on text a
 *           suspect model generated (Sander et al. 2024, closed-model setting)
 *   model   the open-model test: run the SUSPECT over texts we generated (watermarked) and score
 *           its own top-1 predictions at every position
 *
 * Exit status is 0 whatever the verdict (the verdict is in the output); 1 on bad input, 2 on usage.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "gguf/gguf.h"
#include "guard/guard.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

static const char *usage =
    "usage: cirrus detect text   -m MODEL.gguf --key KEYFILE FILE...    (each file scored on its own)\n"
    "       cirrus detect corpus -m MODEL.gguf --key KEYFILE FILE...    (all files as one deduplicated sample)\n"
    "       cirrus detect model SUSPECT.gguf --key KEYFILE --texts FILE... [-m MODEL.gguf]\n"
    "\n"
    "  -m MODEL.gguf    the model whose tokenizer the watermark was applied with (only its metadata is\n"
    "                   read for text and corpus; for model it must have the suspect's vocabulary)\n"
    "  --ids            files hold token ids (space or comma separated, as `cirrus run --ids` prints)\n"
    "  --z Z            verdict at z >= Z (default 4)\n"
    "  --fpr P          verdict at exact p-value <= P instead (e.g. 1e-4)\n"
    "  --gamma G --h H  watermark parameters used at generation (defaults 0.25, 4)\n"
    "  --json           one JSON object per result: scored_tokens, green_tokens, z, p_value, watermarked...\n"
    "  -t N, -c N       (model) threads (2) and context per forward window (default: the model's, <= 2048)\n";

#define DETECT_MAX_FILE (32u << 20)

typedef struct {
    const char *model, *key_path, *suspect;
    const char **files;
    int n_files;
    guard_wm_params wm;
    guard_verdict verdict;
    bool ids, json;
    int64_t threads, n_ctx;
} detect_opts;

static int parse(int argc, char **argv, detect_opts *o, bool model_mode) {
    const char *v;
    guard_wm_params_default(&o->wm);
    guard_verdict_default(&o->verdict);
    o->threads = 2;
    o->files = calloc((size_t)argc, sizeof *o->files);
    if (!o->files) return 1;
    bool texts = false;
    for (int i = 1; i < argc; i++) {
        float f;
        int64_t n;
        if (cli_opt(argc, argv, &i, "-m", &v)) { if (!(o->model = v)) return 2; }
        else if (cli_opt(argc, argv, &i, "--key", &v)) { if (!(o->key_path = v)) return 2; }
        else if (cli_opt(argc, argv, &i, "--z", &v)) { if (!cli_parse_f32("--z", v, -100, 100, &f)) return 2; o->verdict.z = f; o->verdict.fpr = 0; }
        else if (cli_opt(argc, argv, &i, "--fpr", &v)) { if (!cli_parse_f32("--fpr", v, 1e-37f, 1, &f)) return 2; o->verdict.fpr = f; }
        else if (cli_opt(argc, argv, &i, "--gamma", &v)) { if (!cli_parse_f32("--gamma", v, 1e-6f, 0.999999f, &o->wm.gamma)) return 2; }
        else if (cli_opt(argc, argv, &i, "--h", &v)) { if (!cli_parse_i64("--h", v, 0, GUARD_WM_MAX_H, &n)) return 2; o->wm.h = (int32_t)n; }
        else if (cli_opt(argc, argv, &i, "-t", &v)) { if (!cli_parse_i64("-t", v, 1, 256, &o->threads)) return 2; }
        else if (cli_opt(argc, argv, &i, "-c", &v)) { if (!cli_parse_i64("-c", v, 16, 1 << 20, &o->n_ctx)) return 2; }
        else if (!strcmp(argv[i], "--texts")) texts = true;
        else if (!strcmp(argv[i], "--ids")) o->ids = true;
        else if (!strcmp(argv[i], "--json")) o->json = true;
        else if (argv[i][0] == '-' && argv[i][1]) { cli_error("detect: unknown option '%s'", argv[i]); fputs(usage, stderr); return 2; }
        else if (model_mode && !o->suspect && !texts) o->suspect = argv[i];
        else o->files[o->n_files++] = argv[i];
    }
    if (!o->key_path) {
        cli_error("detect: --key KEYFILE is required");
        return 2;
    }
    if (model_mode && !o->suspect) {
        cli_error("detect model: the SUSPECT.gguf is required");
        return 2;
    }
    if (!model_mode && !o->model) {
        cli_error("detect: -m MODEL.gguf (for its tokenizer) is required");
        return 2;
    }
    if (o->n_files == 0) {
        cli_error("detect: no input files");
        return 2;
    }
    return 0;
}

/* ---- inputs ------------------------------------------------------------------------------------- */

/* "12 7, 99\n..." -> ids. Every number is range-checked against the vocabulary. */
static cirrus_status parse_ids(const char *path, const char *s, int32_t n_vocab, int32_t **out, size_t *n,
                               cirrus_err *err) {
    size_t cap = 16, k = 0;
    int32_t *ids = malloc(cap * sizeof *ids);
    if (!ids) return cirrus_errf(err, CIRRUS_ERR_NOMEM, "out of memory");
    const char *p = s;
    for (;;) {
        while (*p == ' ' || *p == ',' || *p == '\n' || *p == '\t' || *p == '\r') p++;
        if (!*p) break;
        errno = 0;
        char *end;
        long long vv = strtoll(p, &end, 10);
        if (end == p || errno || vv < 0 || vv >= n_vocab) {
            free(ids);
            return cirrus_errf(err, CIRRUS_ERR_FORMAT, "%s: byte %zu: not a token id in [0, %d)", path, (size_t)(p - s),
                               (int)n_vocab);
        }
        if (k == cap) {
            int32_t *g = realloc(ids, (cap *= 2) * sizeof *ids);
            if (!g) {
                free(ids);
                return cirrus_errf(err, CIRRUS_ERR_NOMEM, "out of memory");
            }
            ids = g;
        }
        ids[k++] = (int32_t)vv;
        p = end;
    }
    *out = ids;
    *n = k;
    return CIRRUS_OK;
}

/* A file as token ids: parsed (--ids) or tokenized as a continuation (no BOS, no special-token
 * parsing: a text that spells "<|im_end|>" gets the tokens of those characters, as generation did). */
static cirrus_status load_ids(const detect_opts *o, const tok_vocab *v, const char *path, int32_t **ids, size_t *n,
                              cirrus_err *err) {
    char *buf = NULL;
    size_t len = 0;
    cirrus_status st = cirrus_read_file(path, DETECT_MAX_FILE, &buf, &len, err);
    if (st) return st;
    if (o->ids) st = parse_ids(path, buf, tok_n_vocab(v), ids, n, err);
    else st = tok_encode(v, buf, len, false, false, ids, n, err);
    free(buf);
    return st;
}

static cirrus_status load_vocab(const char *path, tok_vocab **v, cirrus_err *err) {
    gguf_ctx *g = NULL;
    cirrus_status st = gguf_open(path, &g, err);
    if (st) return st;
    st = tok_load(g, v, err);
    gguf_close(g);
    return st;
}

static cirrus_status make_wm(const detect_opts *o, int32_t n_vocab, guard_wm **wm, cirrus_err *err) {
    guard_key k;
    cirrus_status st = guard_key_load(o->key_path, &k, err);
    if (st) return st;
    st = guard_wm_new(&k, &o->wm, n_vocab, wm, err);
    guard_key_wipe(&k);
    return st;
}

/* ---- output ------------------------------------------------------------------------------------- */

static void print_score(const detect_opts *o, const char *what, const char *name, const guard_score *s) {
    if (o->json) {
        json_t *j = json_object();
        json_object_set_new(j, what, json_string(name));
        json_object_set_new(j, "positions", json_integer((json_int_t)s->n_positions));
        json_object_set_new(j, "scored_tokens", json_integer((json_int_t)s->n_scored));
        json_object_set_new(j, "green_tokens", json_integer((json_int_t)s->n_green));
        json_object_set_new(j, "gamma", json_real(s->gamma));
        json_object_set_new(j, "h", json_integer(o->wm.h));
        json_object_set_new(j, "z", json_real(s->z));
        json_object_set_new(j, "p_value", json_real(s->p_value));
        json_object_set_new(j, "log10_p_value", json_real(s->log10_p));
        if (o->verdict.fpr > 0) json_object_set_new(j, "fpr", json_real(o->verdict.fpr));
        else json_object_set_new(j, "z_threshold", json_real(o->verdict.z));
        json_object_set_new(j, "watermarked", json_boolean(s->watermarked));
        char *txt = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(6));
        if (txt) puts(txt);
        free(txt);
        json_decref(j);
        return;
    }
    printf("%s: %s (z %.2f, p %.3g", name, s->watermarked ? "WATERMARKED" : "not watermarked", s->z, s->p_value);
    if (s->p_value == 0.0) printf(" = 10^%.1f", s->log10_p);
    printf("; %llu green of %llu scored pairs, %llu positions; ", (unsigned long long)s->n_green,
           (unsigned long long)s->n_scored, (unsigned long long)s->n_positions);
    if (o->verdict.fpr > 0) printf("verdict at p <= %g)\n", o->verdict.fpr);
    else printf("verdict at z >= %g)\n", o->verdict.z);
}

/* ---- text and corpus ---------------------------------------------------------------------------- */

static int detect_texts(int argc, char **argv, bool corpus) {
    detect_opts o = {0};
    int rc = parse(argc, argv, &o, false);
    if (rc) {
        free(o.files);
        return rc;
    }
    cirrus_err err = {{0}};
    tok_vocab *v = NULL;
    guard_wm *wm = NULL;
    guard_det *d = NULL;
    rc = 1;
    if (load_vocab(o.model, &v, &err) || make_wm(&o, tok_n_vocab(v), &wm, &err)) goto out;
    for (int i = 0; i < o.n_files; i++) {
        int32_t *ids = NULL;
        size_t n = 0;
        if (!d && guard_det_new(wm, &d)) goto out;
        cirrus_status st = load_ids(&o, v, o.files[i], &ids, &n, &err);
        if (!st) st = guard_det_add(d, ids, n, &err);
        free(ids);
        if (st) goto out;
        if (!corpus) {
            guard_score s;
            guard_det_result(d, &o.verdict, &s);
            print_score(&o, "file", o.files[i], &s);
            guard_det_free(d);
            d = NULL;
        }
    }
    if (corpus) {
        guard_score s;
        guard_det_result(d, &o.verdict, &s);
        char name[64];
        snprintf(name, sizeof name, "corpus of %d files", o.n_files);
        print_score(&o, "corpus", name, &s);
    }
    rc = 0;
out:
    if (rc) cli_error("%s", err.msg[0] ? err.msg : "out of memory");
    guard_det_free(d);
    guard_wm_free(wm);
    tok_free(v);
    free(o.files);
    return rc;
}

/* ---- model -------------------------------------------------------------------------------------- */

/* The suspect's predictions must be ids of the watermarking vocabulary: same size, same strings. */
static cirrus_status same_vocab(const tok_vocab *a, const tok_vocab *b, cirrus_err *err) {
    if (tok_n_vocab(a) != tok_n_vocab(b))
        return cirrus_errf(err, CIRRUS_ERR_UNSUPPORTED, "the suspect's vocabulary has %d tokens, the watermark's %d: "
                           "scoring across tokenizers is not supported", tok_n_vocab(a), tok_n_vocab(b));
    for (int32_t i = 0; i < tok_n_vocab(a); i++) {
        const char *x = tok_text(a, i), *y = tok_text(b, i);
        if (!x || !y || strcmp(x, y) != 0)
            return cirrus_errf(err, CIRRUS_ERR_UNSUPPORTED, "the suspect's token %d differs from the watermark's: "
                               "scoring across tokenizers is not supported", (int)i);
    }
    return CIRRUS_OK;
}

/* pred[t] = argmax of the suspect's logits after ids[0..t), in windows of n_ctx tokens (a window's
 * first position has no prediction). */
static cirrus_status predict(mdl_ctx *c, int32_t V, int32_t n_ctx, int32_t n_batch, const int32_t *ids, size_t n,
                             int32_t *pred, int32_t *pos, int32_t *seq, bool *want, cirrus_err *err) {
    for (size_t t = 0; t < n; t++) pred[t] = -1;
    for (size_t w0 = 0; w0 < n; w0 += (size_t)n_ctx) {
        size_t wn = n - w0 < (size_t)n_ctx ? n - w0 : (size_t)n_ctx;
        for (size_t b0 = 0; b0 < wn; b0 += (size_t)n_batch) {
            int32_t nb = (int32_t)(wn - b0 < (size_t)n_batch ? wn - b0 : (size_t)n_batch);
            for (int32_t i = 0; i < nb; i++) pos[i] = (int32_t)b0 + i, seq[i] = 0, want[i] = true;
            mdl_batch mb = {nb, ids + w0 + b0, pos, seq, want};
            const float *logits;
            int32_t nrows;
            cirrus_status st = mdl_forward(c, &mb, &logits, &nrows, err);
            if (st) return st;
            for (int32_t i = 0; i < nb; i++) {
                size_t t = w0 + b0 + (size_t)i + 1; /* row i predicts the next position */
                if (t >= n) break;
                const float *l = logits + (size_t)i * (size_t)V;
                int32_t best = 0;
                for (int32_t k = 1; k < V; k++)
                    if (l[k] > l[best]) best = k;
                pred[t] = best;
            }
        }
    }
    return CIRRUS_OK;
}

static int detect_model(int argc, char **argv) {
    detect_opts o = {0};
    int rc = parse(argc, argv, &o, true);
    if (rc) {
        free(o.files);
        return rc;
    }
    cirrus_err err = {{0}};
    mdl_model *m = NULL;
    mdl_ctx *c = NULL;
    tok_vocab *v = NULL, *wv = NULL;
    guard_wm *wm = NULL;
    guard_det *d = NULL;
    int32_t *ids = NULL, *pred = NULL, *pos = NULL, *seq = NULL;
    bool *want = NULL;
    rc = 1;
    if (mdl_load(o.suspect, &m, &err) || tok_load(mdl_get_gguf(m), &v, &err)) goto out;
    if (o.model && (load_vocab(o.model, &wv, &err) || same_vocab(v, wv, &err))) goto out;
    const mdl_hparams *hp = mdl_get_hparams(m);
    int32_t V = hp->n_vocab;
    if (make_wm(&o, V > tok_n_vocab(v) ? V : tok_n_vocab(v), &wm, &err) || guard_det_new(wm, &d)) goto out;
    int32_t n_ctx = o.n_ctx ? (int32_t)o.n_ctx : (hp->n_ctx_train > 0 && hp->n_ctx_train < 2048 ? hp->n_ctx_train : 2048);
    int32_t n_batch = n_ctx < 256 ? n_ctx : 256;
    mdl_ctx_params cp = {.n_ctx = n_ctx, .n_seq = 1, .n_batch = n_batch, .n_out = n_batch, .n_threads = (int32_t)o.threads};
    if (mdl_ctx_new(m, &cp, &c, &err)) goto out;
    pos = malloc(sizeof *pos * (size_t)n_batch);
    seq = malloc(sizeof *seq * (size_t)n_batch);
    want = malloc(sizeof *want * (size_t)n_batch);
    if (!pos || !seq || !want) goto out;
    for (int i = 0; i < o.n_files; i++) {
        int32_t *text = NULL;
        size_t nt = 0;
        if (load_ids(&o, v, o.files[i], &text, &nt, &err)) goto out;
        /* The suspect reads the text as a document: BOS first when its vocabulary asks for one. */
        size_t off = tok_bos(v) >= 0 && tok_add_bos(v) ? 1 : 0, n = nt + off;
        free(ids);
        free(pred);
        ids = malloc(sizeof *ids * (n ? n : 1));
        pred = malloc(sizeof *pred * (n ? n : 1));
        if (!ids || !pred) {
            free(text);
            goto out;
        }
        if (off) ids[0] = tok_bos(v);
        if (nt) memcpy(ids + off, text, nt * sizeof *ids);
        free(text);
        if (predict(c, V, n_ctx, n_batch, ids, n, pred, pos, seq, want, &err)) goto out;
        for (size_t t = 0; t < n; t++)
            if (pred[t] >= guard_wm_n_vocab(wm)) pred[t] = -1; /* padding rows past the vocabulary */
        if (guard_det_add_pred(d, ids, pred, n, &err)) goto out;
    }
    guard_score s;
    guard_det_result(d, &o.verdict, &s);
    print_score(&o, "suspect", o.suspect, &s);
    rc = 0;
out:
    if (rc) cli_error("%s", err.msg[0] ? err.msg : "out of memory");
    free(ids);
    free(pred);
    free(pos);
    free(seq);
    free(want);
    guard_det_free(d);
    guard_wm_free(wm);
    tok_free(v);
    tok_free(wv);
    mdl_ctx_free(c);
    mdl_free(m);
    free(o.files);
    return rc;
}

int cmd_detect(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (cli_wants_help(argc - 1, argv + 1)) {
        fputs(usage, stdout);
        return 0;
    }
    if (!strcmp(argv[1], "text")) return detect_texts(argc - 1, argv + 1, false);
    if (!strcmp(argv[1], "corpus")) return detect_texts(argc - 1, argv + 1, true);
    if (!strcmp(argv[1], "model")) return detect_model(argc - 1, argv + 1);
    cli_error("detect: unknown subcommand '%s' (text, corpus, model)", argv[1]);
    return 2;
}
