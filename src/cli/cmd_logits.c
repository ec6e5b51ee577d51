/* `cirrus logits`: teacher-forced logits, in the JSON form of shared/reference. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "model/model.h"

static const char *usage =
    "usage: cirrus logits -m M.gguf --tokens 1,2,3 [--top K] [-t THREADS] [--batch N]\n"
    "Runs the tokens through the model (teacher forcing) and prints\n"
    "  {\"steps\":[{\"top\":[[id,logit],...]},...]}\n"
    "one step per position, each with the K highest logits (default 5), as shared/reference.\n";

/* Parses "1,2,3" into a malloc'ed array. */
static bool parse_tokens(const char *s, int32_t **out, int32_t *n) {
    size_t cap = 1;
    for (const char *p = s; *p; p++) cap += *p == ',';
    int32_t *ids = malloc(cap * sizeof *ids);
    if (!ids) return false;
    int32_t k = 0;
    const char *p = s;
    while (*p) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 0 || v > INT32_MAX || (*end && *end != ',')) {
            cli_error("--tokens: '%s' is not a comma-separated list of token ids", s);
            free(ids);
            return false;
        }
        ids[k++] = (int32_t)v;
        p = *end ? end + 1 : end;
    }
    if (k == 0) {
        cli_error("--tokens: empty list");
        free(ids);
        return false;
    }
    *out = ids;
    *n = k;
    return true;
}

typedef struct {
    int32_t id;
    float logit;
} id_logit;

static int by_logit_desc(const void *a, const void *b) {
    const id_logit *x = a, *y = b;
    if (x->logit != y->logit) return x->logit < y->logit ? 1 : -1;
    return x->id - y->id;
}

int cmd_logits(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return 0;
    }
    const char *model_path = NULL, *toks = NULL, *v;
    int64_t top = 5, threads = 2, batch = 64;
    for (int i = 1; i < argc; i++) {
        if (cli_opt(argc, argv, &i, "-m", &v)) {
            if (!(model_path = v)) return 2;
        } else if (cli_opt(argc, argv, &i, "--tokens", &v)) {
            if (!(toks = v)) return 2;
        } else if (cli_opt(argc, argv, &i, "--top", &v)) {
            if (!cli_parse_i64("--top", v, 1, 1 << 24, &top)) return 2;
        } else if (cli_opt(argc, argv, &i, "-t", &v)) {
            if (!cli_parse_i64("-t", v, 1, 256, &threads)) return 2;
        } else if (cli_opt(argc, argv, &i, "--batch", &v)) {
            if (!cli_parse_i64("--batch", v, 1, 4096, &batch)) return 2;
        } else {
            cli_error("logits: unknown option '%s'", argv[i]);
            fputs(usage, stderr);
            return 2;
        }
    }
    if (!model_path || !toks) {
        cli_error("logits: -m and --tokens are required");
        return 2;
    }
    int32_t *ids = NULL, n = 0;
    if (!parse_tokens(toks, &ids, &n)) return 2;

    cirrus_err err = {{0}};
    mdl_model *m = NULL;
    mdl_ctx *c = NULL;
    int rc = 1;
    id_logit *row = NULL;
    int32_t *pos = NULL, *seq = NULL;
    bool *want = NULL;
    if (mdl_load(model_path, &m, &err)) goto fail;
    const mdl_hparams *hp = mdl_get_hparams(m);
    mdl_ctx_params cp = {.n_ctx = n, .n_seq = 1, .n_batch = (int32_t)(batch < n ? batch : n),
                         .n_out = (int32_t)(batch < n ? batch : n), .n_threads = (int32_t)threads};
    if (mdl_ctx_new(m, &cp, &c, &err)) goto fail;
    row = malloc(sizeof *row * (size_t)hp->n_vocab);
    pos = malloc(sizeof *pos * (size_t)n);
    seq = calloc((size_t)n, sizeof *seq);
    want = malloc(sizeof *want * (size_t)n);
    if (!row || !pos || !seq || !want) {
        cirrus_errf(&err, CIRRUS_ERR_NOMEM, "out of memory");
        goto fail;
    }
    for (int32_t i = 0; i < n; i++) pos[i] = i, want[i] = true;
    if (top > hp->n_vocab) top = hp->n_vocab;

    printf("{\"steps\":[");
    for (int32_t start = 0; start < n; start += cp.n_batch) {
        int32_t nb = n - start < cp.n_batch ? n - start : cp.n_batch;
        mdl_batch b = {nb, ids + start, pos + start, seq, want};
        const float *logits;
        int32_t n_out;
        if (mdl_forward(c, &b, &logits, &n_out, &err)) {
            printf("]}\n");
            goto fail;
        }
        for (int32_t r = 0; r < n_out; r++) {
            const float *l = logits + (size_t)r * (size_t)hp->n_vocab;
            for (int32_t k = 0; k < hp->n_vocab; k++) row[k] = (id_logit){k, l[k]};
            qsort(row, (size_t)hp->n_vocab, sizeof *row, by_logit_desc);
            printf("%s{\"top\":[", start + r ? "," : "");
            for (int64_t k = 0; k < top; k++) printf("%s[%d,%.6f]", k ? "," : "", row[k].id, (double)row[k].logit);
            printf("]}");
        }
    }
    printf("]}\n");
    rc = 0;
fail:
    if (rc) cli_error("%s", err.msg);
    free(row);
    free(pos);
    free(seq);
    free(want);
    free(ids);
    mdl_ctx_free(c);
    mdl_free(m);
    return rc;
}
