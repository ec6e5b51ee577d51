/*
 * Vocabularies for the fuzz targets that need real ones (fuzz_tokenizer, fuzz_admin_api), loaded
 * once at start. Fuzzing only: the product and CI never read ../shared.
 *
 *   CIRRUS_FUZZ_VOCAB   GGUF paths separated by ':' (default: the list below)
 *   CIRRUS_SHARED       where the default list lives (default: the build's CIRRUS_SHARED_DIR)
 *
 * The default list has one vocabulary per tokenizer family the shared folder holds: SPM, and BPE
 * with the gpt-2, deepseek-llm, falcon, mpt (user-defined whitespace tokens) and qwen2
 * pre-tokenizers, so the one target covers every regex and merge path.
 */
#ifndef CIRRUS_FUZZ_VOCAB_H
#define CIRRUS_FUZZ_VOCAB_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer.h"

#ifndef CIRRUS_FUZZ_SHARED
#define CIRRUS_FUZZ_SHARED "../shared"
#endif

static const char *const fuzz_default_vocabs[] = {
    "vocab/ggml-vocab-llama-spm.gguf", "vocab/ggml-vocab-gpt-2.gguf", "vocab/ggml-vocab-deepseek-llm.gguf",
    "vocab/ggml-vocab-falcon.gguf",    "vocab/ggml-vocab-mpt.gguf",   "models/tiny-qwen2-q8_0.gguf",
};

static tok_vocab *fuzz_vocab_load(const char *path) {
    cirrus_err err = {{0}};
    gguf_ctx *g = NULL;
    tok_vocab *v = NULL;
    if (gguf_open(path, &g, &err) == CIRRUS_OK) {
        tok_load(g, &v, &err);
        gguf_close(g);
    }
    if (!v) fprintf(stderr, "fuzz: skipping vocabulary %s: %s\n", path, err.msg);
    return v;
}

/* Loads up to max vocabularies into out; exits when none loads, as a run would then test nothing. */
static size_t fuzz_vocabs_load(tok_vocab **out, size_t max) {
    size_t n = 0;
    char path[1024];
    const char *env = getenv("CIRRUS_FUZZ_VOCAB");
    if (env && *env) {
        for (const char *p = env; *p && n < max;) {
            size_t len = strcspn(p, ":");
            snprintf(path, sizeof path, "%.*s", (int)len, p);
            if (len && (out[n] = fuzz_vocab_load(path))) n++;
            p += len + (p[len] == ':');
        }
    } else {
        const char *shared = getenv("CIRRUS_SHARED") ? getenv("CIRRUS_SHARED") : CIRRUS_FUZZ_SHARED;
        for (size_t i = 0; i < sizeof fuzz_default_vocabs / sizeof *fuzz_default_vocabs && n < max; i++) {
            snprintf(path, sizeof path, "%s/%s", shared, fuzz_default_vocabs[i]);
            if ((out[n] = fuzz_vocab_load(path))) n++;
        }
    }
    if (!n) {
        fprintf(stderr, "fuzz: no vocabulary loaded; set CIRRUS_FUZZ_VOCAB=a.gguf[:b.gguf...] or CIRRUS_SHARED\n");
        exit(1);
    }
    return n;
}

#endif
