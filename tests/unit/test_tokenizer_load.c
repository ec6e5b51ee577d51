/*
 * Tokenizer on hand-built vocabularies (GGUF files written here): the SPM and BPE merge order,
 * byte fallback, llama.cpp's defaults, every metadata check with the key it names, invalid UTF-8,
 * and the load time of a 150k-token vocabulary.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "tokenizer/tokenizer.h"

static char g_tmp[64];

/* A vocabulary under construction: the writer plus what we tell it. */
typedef struct {
    gguf_writer *w;
} vb;

static vb vb_new(const char *model, const char *pre) {
    vb b = {NULL};
    CHECK(gguf_writer_new(&b.w) == CIRRUS_OK);
    if (model) gguf_w_str(b.w, "tokenizer.ggml.model", model);
    if (pre) gguf_w_str(b.w, "tokenizer.ggml.pre", pre);
    return b;
}

/* Writes, opens and loads; returns the status and fills err. The file is removed again. */
static cirrus_status vb_load(vb *b, tok_vocab **v, cirrus_err *err) {
    *v = NULL;
    strcpy(g_tmp, "/tmp/cirrus-tok-XXXXXX");
    int fd = mkstemp(g_tmp);
    CHECK(fd >= 0);
    close(fd);
    cirrus_status st = gguf_writer_write(b->w, g_tmp, err);
    gguf_writer_free(b->w);
    b->w = NULL;
    CHECK_MSG(st == CIRRUS_OK, "write: %s", err->msg);
    gguf_ctx *g = NULL;
    st = gguf_open(g_tmp, &g, err);
    CHECK_MSG(st == CIRRUS_OK, "open: %s", err->msg);
    if (st == CIRRUS_OK) {
        st = tok_load(g, v, err);
        gguf_close(g);
    }
    unlink(g_tmp);
    return st;
}

static void expect_ids(const tok_vocab *v, const char *text, bool add_special, const int32_t *want, size_t n_want) {
    int32_t *ids = NULL;
    size_t n = 0;
    cirrus_err err = {{0}};
    CHECK_MSG(tok_encode(v, text, strlen(text), add_special, false, &ids, &n, &err) == CIRRUS_OK, "%s", err.msg);
    bool same = n == n_want && (n == 0 || !memcmp(ids, want, n * sizeof *ids));
    char got[256] = "";
    for (size_t i = 0, k = 0; i < n && k < 200; i++) k += (size_t)snprintf(got + k, sizeof got - k, " %d", ids[i]);
    CHECK_MSG(same, "'%s' ->%s", text, got);
    free(ids);
}

/* ---- SPM ------------------------------------------------------------------------------------ */

#define SP "\xe2\x96\x81"

static void test_spm(void) {
    /* 0..2 specials, 3.. pieces, then two byte tokens for 'é' (C3 A9) */
    const char *toks[] = {"<unk>", "<s>", "</s>", SP, "a", "b", "c", "ab", "bc", SP "a", "abc", "<0xC3>", "<0xA9>", "x"};
    float scores[] = {0, 0, 0, -1, -1, -1, -1, -3, -2, -1, -5, 0, 0, -1};
    int32_t types[] = {2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 6, 6, 1};
    size_t n = sizeof toks / sizeof toks[0];
    vb b = vb_new("llama", NULL);
    gguf_w_arr_str(b.w, "tokenizer.ggml.tokens", toks, n);
    gguf_w_arr(b.w, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, scores, n);
    gguf_w_arr(b.w, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, types, n);
    tok_vocab *v;
    cirrus_err err = {{0}};
    CHECK_MSG(vb_load(&b, &v, &err) == CIRRUS_OK, "%s", err.msg);
    if (!v) return;
    /* llama.cpp's SPM defaults: bos 1, eos 2, add_bos, space prefix */
    CHECK(tok_bos(v) == 1 && tok_eos(v) == 2 && tok_add_bos(v) && !tok_add_eos(v) && tok_is_eog(v, 2));
    /* "▁abc": ▁a (-1) beats bc (-2) beats ab (-3); then "▁a"+"bc" is no token: [▁a, bc] */
    expect_ids(v, "abc", true, (const int32_t[]){1, 9, 8}, 3);
    /* no space prefix after... nothing: the first fragment always gets it */
    expect_ids(v, "abc", false, (const int32_t[]){9, 8}, 2);
    /* "é" has no piece: its bytes */
    expect_ids(v, "x\xc3\xa9", false, (const int32_t[]){3, 13, 11, 12}, 4);
    /* a byte with no <0xNN> token falls back to <unk> */
    expect_ids(v, "x\xc3", false, (const int32_t[]){3, 13, 11}, 3);
    expect_ids(v, "xz", false, (const int32_t[]){3, 13, 0}, 3);
    char buf[16];
    CHECK(tok_piece(v, 9, false, buf, sizeof buf) == 2 && !memcmp(buf, " a", 2));
    CHECK(tok_piece(v, 11, false, buf, sizeof buf) == 1 && (unsigned char)buf[0] == 0xc3);
    CHECK(tok_piece(v, 0, false, buf, sizeof buf) == 0 && tok_piece(v, 0, true, buf, sizeof buf) == 5);
    tok_free(v);

    /* equal scores: the leftmost pair merges first ("aaa" -> [aa, a], never [a, aa]) */
    const char *toks2[] = {"<unk>", "<s>", "</s>", "a", "aa"};
    float sc2[] = {0, 0, 0, -1, -1};
    b = vb_new("llama", "default");
    gguf_w_arr_str(b.w, "tokenizer.ggml.tokens", toks2, 5);
    gguf_w_arr(b.w, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, sc2, 5);
    gguf_w_bool(b.w, "tokenizer.ggml.add_space_prefix", false);
    gguf_w_bool(b.w, "tokenizer.ggml.add_bos_token", false);
    gguf_w_bool(b.w, "tokenizer.ggml.add_eos_token", true);
    CHECK_MSG(vb_load(&b, &v, &err) == CIRRUS_OK, "%s", err.msg);
    if (!v) return;
    CHECK(!tok_add_bos(v) && tok_add_eos(v));
    expect_ids(v, "aaa", true, (const int32_t[]){4, 3, 2}, 3);
    tok_free(v);
}

/* ---- BPE ------------------------------------------------------------------------------------ */

static void test_bpe(void) {
    /* "Ġ" is the GPT-2 stand-in for a space. */
    const char *toks[] = {"a", "b", "c", "Ġ", "ab", "bc", "Ġa", "abc", "<|endoftext|>", "ĠĠ"};
    const char *merges[] = {"b c", "a b", "Ġ a", "ab c", "a bc", "Ġ Ġ"};
    vb b = vb_new("gpt2", "gpt-2");
    gguf_w_arr_str(b.w, "tokenizer.ggml.tokens", toks, 10);
    gguf_w_arr_str(b.w, "tokenizer.ggml.merges", merges, 6);
    gguf_w_u32(b.w, "tokenizer.ggml.eos_token_id", 8);
    tok_vocab *v;
    cirrus_err err = {{0}};
    CHECK_MSG(vb_load(&b, &v, &err) == CIRRUS_OK, "%s", err.msg);
    if (!v) return;
    /* BPE defaults: no BOS added; bos defaults to 11, outside this vocabulary, so none */
    CHECK(!tok_add_bos(v) && tok_bos(v) == -1 && tok_eos(v) == 8 && tok_is_eog(v, 8) && tok_is_special(v, 8));
    /* "abc": "b c" has rank 0 -> [a, bc]; "a bc" (rank 4) -> abc */
    expect_ids(v, "abc", true, (const int32_t[]){7}, 1);
    /* " ab": the pre-tokenizer keeps " ab" together; "Ġ a" (2) loses to "a b" (1): [Ġ, ab] */
    expect_ids(v, " ab", false, (const int32_t[]){3, 4}, 2);
    /* "  a": "\s+(?!\S)" splits off one space, then " a" */
    expect_ids(v, "  a", false, (const int32_t[]){3, 6}, 2);
    /* a character with no token and no byte token vanishes, as in llama.cpp */
    expect_ids(v, "a\xc3\xa9", false, (const int32_t[]){0}, 1);
    char buf[16];
    CHECK(tok_piece(v, 6, false, buf, sizeof buf) == 2 && !memcmp(buf, " a", 2));
    tok_free(v);

    /* no tokenizer.ggml.pre: "default" (with a warning), which splits punctuation runs first */
    const char *toks2[] = {"a", "!", "a!", "!!"};
    const char *merges2[] = {"a !", "! !"};
    b = vb_new("gpt2", NULL);
    gguf_w_arr_str(b.w, "tokenizer.ggml.tokens", toks2, 4);
    gguf_w_arr_str(b.w, "tokenizer.ggml.merges", merges2, 2);
    CHECK_MSG(vb_load(&b, &v, &err) == CIRRUS_OK, "%s", err.msg);
    if (!v) return;
    CHECK(!strcmp(tok_pre_name(v), "default"));
    expect_ids(v, "a!!", false, (const int32_t[]){0, 3}, 2);
    tok_free(v);
}

/* Invalid UTF-8 reads as U+FFFD before byte-level BPE, as llama.cpp does. */
static void test_invalid_utf8(void) {
    char path[1024];
    snprintf(path, sizeof path, "%s/vocab/ggml-vocab-gpt-2.gguf", check_shared_dir());
    gguf_ctx *g = NULL;
    cirrus_err err = {{0}};
    if (gguf_open(path, &g, &err) != CIRRUS_OK) {
        CHECK_MSG(0, "%s", err.msg);
        return;
    }
    tok_vocab *v = NULL;
    CHECK(tok_load(g, &v, &err) == CIRRUS_OK);
    gguf_close(g);
    if (!v) return;
    int32_t *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    CHECK(tok_encode(v, "x\xff", 2, false, false, &a, &na, &err) == CIRRUS_OK);
    CHECK(tok_encode(v, "x\xef\xbf\xbd", 4, false, false, &b, &nb, &err) == CIRRUS_OK);
    CHECK(na == nb && na > 0 && !memcmp(a, b, na * sizeof *a));
    free(a);
    free(b);
    /* NUL bytes are text like any other */
    CHECK(tok_encode(v, "a\0b", 3, false, false, &a, &na, &err) == CIRRUS_OK && na == 3);
    free(a);
    tok_free(v);
}

/* Strict UTF-8 check (no overlongs, surrogates or values past U+10FFFF). */
static bool valid_utf8(const char *str, size_t len) {
    const unsigned char *s = (const unsigned char *)str;
    for (size_t i = 0; i < len;) {
        unsigned c = s[i];
        size_t need = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
        if (!need || i + need > len) return false;
        for (size_t j = 1; j < need; j++)
            if ((s[i + j] & 0xc0) != 0x80) return false;
        if ((c == 0xe0 && s[i + 1] < 0xa0) || (c == 0xed && s[i + 1] > 0x9f) || (c == 0xf0 && s[i + 1] < 0x90) ||
            (c == 0xf4 && s[i + 1] > 0x8f))
            return false;
        i += need;
    }
    return true;
}

/* Random bytes (weighted towards UTF-8 lead/continuation bytes, spaces and special-token text):
 * never a crash or an id out of range; SPM gives valid UTF-8 back exactly (after its space prefix;
 * invalid UTF-8 need not: a lead byte's symbol can swallow part of an escaped space, as in
 * llama.cpp); BPE text read back tokenizes to the same ids (invalid bytes became U+FFFD). */
static void test_random_text(const char *name, bool spm) {
    char path[1024];
    snprintf(path, sizeof path, "%s/vocab/ggml-vocab-%s.gguf", check_shared_dir(), name);
    gguf_ctx *g = NULL;
    cirrus_err err = {{0}};
    tok_vocab *v = NULL;
    if (gguf_open(path, &g, &err) != CIRRUS_OK || tok_load(g, &v, &err) != CIRRUS_OK) {
        CHECK_MSG(0, "%s: %s", path, err.msg);
        gguf_close(g);
        return;
    }
    gguf_close(g);
    static const char *const bits[] = {" ", "  ", "\n", "\t", "a", "Z", "7", "'s", "<s>", "</s>", "<|endoftext|>",
                                       "\xc3", "\xa9", "\xe2\x96\x81", "\xf0\x9f", "\xff", "\x80", "\xed\xa0\x80",
                                       "\xe4\xb8\xad", "\xe1\x9e\x80", "!", "\xc2\x85", "\xe3\x80\x80"};
    uint32_t seed = 12345;
    int bad = 0;
    for (int iter = 0; iter < 300 && bad < 5; iter++) {
        char text[256];
        size_t len = 0;
        int parts = (int)((seed = seed * 1103515245u + 12345u) >> 16) % 24;
        for (int p = 0; p < parts; p++) {
            seed = seed * 1103515245u + 12345u;
            const char *b = bits[(seed >> 16) % (sizeof bits / sizeof bits[0])];
            size_t bl = strlen(b);
            memcpy(text + len, b, bl);
            len += bl;
        }
        for (int ps = 0; ps < 2; ps++) {
            int32_t *ids = NULL, *ids2 = NULL;
            size_t n = 0, n2 = 0;
            if (tok_encode(v, text, len, ps, ps, &ids, &n, &err) != CIRRUS_OK) {
                CHECK_MSG(0, "%s: %s", name, err.msg);
                bad++;
                continue;
            }
            size_t cap = 16, k = 0;
            char *d = malloc(cap);
            for (size_t i = 0; i < n; i++) {
                CHECK(ids[i] >= 0 && ids[i] < tok_n_vocab(v));
                size_t need = tok_piece(v, ids[i], ps, NULL, 0);
                while (k + need + 1 > cap) d = realloc(d, cap *= 2);
                tok_piece(v, ids[i], ps, d + k, need);
                k += need;
            }
            if (spm && !ps && valid_utf8(text, len)) {
                bool same = len == 0 ? k == 0 : (k == len + 1 && d[0] == ' ' && !memcmp(d + 1, text, len));
                /* a literal U+2581 in the input comes back as a space: not a mismatch */
                if (!same && !memmem(text, len, "\xe2\x96\x81", 3)) {
                    char hex[600];
                    for (size_t i = 0; i < len && i < 199; i++) snprintf(hex + 3 * i, 4, "%02x ", (unsigned char)text[i]);
                    CHECK_MSG(0, "%s: round trip of %zu bytes gave %zu: %s", name, len, k, hex);
                    bad++;
                }
            } else if (!spm && !ps) {
                CHECK(tok_encode(v, d, k, false, false, &ids2, &n2, &err) == CIRRUS_OK);
                if (!(n2 == n && (n == 0 || !memcmp(ids, ids2, n * sizeof *ids)))) {
                    CHECK_MSG(0, "%s: re-encoding the decoded text changed the ids", name);
                    bad++;
                }
            }
            free(d);
            free(ids);
            free(ids2);
        }
    }
    tok_free(v);
}

/* ---- malformed metadata --------------------------------------------------------------------- */

static void expect_fail(vb *b, cirrus_status want, const char *needle) {
    tok_vocab *v = NULL;
    cirrus_err err = {{0}};
    cirrus_status st = vb_load(b, &v, &err);
    CHECK_MSG(st == want && v == NULL, "status %s (want %s): %s", cirrus_status_str(st), cirrus_status_str(want), err.msg);
    CHECK_MSG(strstr(err.msg, needle) != NULL, "message '%s' does not name '%s'", err.msg, needle);
    tok_free(v);
}

static void test_errors(void) {
    const char *toks[] = {"<unk>", "<s>", "</s>", "a"};
    float sc[] = {0, 0, 0, 0};
    vb b = vb_new("bert", NULL);
    gguf_w_arr_str(b.w, "tokenizer.ggml.tokens", toks, 4);
    expect_fail(&b, CIRRUS_ERR_UNSUPPORTED, "bert");

    b = vb_new(NULL, NULL);
    gguf_w_arr_str(b.w, "tokenizer.ggml.tokens", toks, 4);
    expect_fail(&b, CIRRUS_ERR_FORMAT, "tokenizer.ggml.model");

    b = vb_new("gpt2", "no-such-pre");
    gguf_w_arr_str(b.w, "tokenizer.ggml.tokens", toks, 4);
    expect_fail(&b, CIRRUS_ERR_UNSUPPORTED, "no-such-pre");

    b = vb_new("llama", NULL);
    expect_fail(&b, CIRRUS_ERR_FORMAT, "tokenizer.ggml.tokens");

    b = vb_new("llama", NULL);
    gguf_w_arr(b.w, "tokenizer.ggml.tokens", GGUF_TYPE_FLOAT32, sc, 4);
    expect_fail(&b, CIRRUS_ERR_FORMAT, "tokenizer.ggml.tokens");

    b = vb_new("llama", NULL);
    gguf_w_arr_str(b.w, "tokenizer.ggml.tokens", toks, 4);
    gguf_w_arr(b.w, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, sc, 3);
    expect_fail(&b, CIRRUS_ERR_FORMAT, "tokenizer.ggml.scores");

    int32_t types[] = {2, 3, 3, 1};
    b = vb_new("llama", NULL);
    gguf_w_arr_str(b.w, "tokenizer.ggml.tokens", toks, 4);
    gguf_w_arr(b.w, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, types, 5 - 2);
    expect_fail(&b, CIRRUS_ERR_FORMAT, "tokenizer.ggml.token_type");

    b = vb_new("llama", NULL);
    gguf_w_arr_str(b.w, "tokenizer.ggml.tokens", toks, 4);
    gguf_w_arr(b.w, "tokenizer.ggml.token_type", GGUF_TYPE_FLOAT32, sc, 4);
    expect_fail(&b, CIRRUS_ERR_FORMAT, "tokenizer.ggml.token_type");

    const char *dup[] = {"<unk>", "a", "b", "a"};
    b = vb_new("llama", NULL);
    gguf_w_arr_str(b.w, "tokenizer.ggml.tokens", dup, 4);
    expect_fail(&b, CIRRUS_ERR_FORMAT, "ids 1 and 3");

    b = vb_new("gpt2", "gpt-2");
    gguf_w_arr_str(b.w, "tokenizer.ggml.tokens", toks, 4);
    expect_fail(&b, CIRRUS_ERR_FORMAT, "tokenizer.ggml.merges");

    b = vb_new("gpt2", "gpt-2"); /* bos defaults to 11: outside 4 tokens, so there is none to add */
    gguf_w_arr_str(b.w, "tokenizer.ggml.tokens", toks, 4);
    gguf_w_arr_str(b.w, "tokenizer.ggml.merges", toks, 0);
    gguf_w_bool(b.w, "tokenizer.ggml.add_bos_token", true);
    expect_fail(&b, CIRRUS_ERR_FORMAT, "add_bos_token");

    b = vb_new("llama", NULL);
    gguf_w_arr_str(b.w, "tokenizer.ggml.tokens", toks, 4);
    gguf_w_u32(b.w, "tokenizer.ggml.add_bos_token", 1);
    expect_fail(&b, CIRRUS_ERR_FORMAT, "tokenizer.ggml.add_bos_token");

    const char *badbyte[] = {"<unk>", "<0xZZ>"};
    int32_t bt[] = {2, 6};
    b = vb_new("llama", NULL);
    gguf_w_arr_str(b.w, "tokenizer.ggml.tokens", badbyte, 2);
    gguf_w_arr(b.w, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, bt, 2);
    expect_fail(&b, CIRRUS_ERR_FORMAT, "byte token");

    /* an id key outside the vocabulary is ignored (llama.cpp keeps the default) */
    b = vb_new("llama", NULL);
    gguf_w_arr_str(b.w, "tokenizer.ggml.tokens", toks, 4);
    gguf_w_u32(b.w, "tokenizer.ggml.eos_token_id", 99);
    tok_vocab *v = NULL;
    cirrus_err err = {{0}};
    CHECK(vb_load(&b, &v, &err) == CIRRUS_OK && v && tok_eos(v) == 2);
    tok_free(v);
}

/* ---- load time ------------------------------------------------------------------------------ */

/* Thread CPU seconds to load a BPE vocabulary of n tokens and n merges: CPU time, not wall time,
 * so other processes on a busy machine do not count. */
static double load_cpu_s(int n) {
    char **toks = malloc(n * sizeof *toks), **merges = malloc(n * sizeof *merges);
    for (int i = 0; i < n; i++) {
        toks[i] = malloc(16);
        snprintf(toks[i], 16, "t%d", i);
        merges[i] = malloc(40);
        snprintf(merges[i], 40, "t%d t%d", i / 2, (i * 7) % n);
    }
    vb b = vb_new("gpt2", "qwen2");
    gguf_w_arr_str(b.w, "tokenizer.ggml.tokens", (const char *const *)toks, n);
    gguf_w_arr_str(b.w, "tokenizer.ggml.merges", (const char *const *)merges, n);
    for (int i = 0; i < n; i++) {
        free(toks[i]);
        free(merges[i]);
    }
    free(toks);
    free(merges);
    strcpy(g_tmp, "/tmp/cirrus-tok-XXXXXX");
    int fd = mkstemp(g_tmp);
    close(fd);
    cirrus_err err = {{0}};
    CHECK(gguf_writer_write(b.w, g_tmp, &err) == CIRRUS_OK);
    gguf_writer_free(b.w);
    gguf_ctx *g = NULL;
    CHECK(gguf_open(g_tmp, &g, &err) == CIRRUS_OK);
    struct timespec t0, t1;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
    tok_vocab *v = NULL;
    CHECK_MSG(g && tok_load(g, &v, &err) == CIRRUS_OK, "%s", err.msg);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
    gguf_close(g);
    unlink(g_tmp);
    CHECK(v && tok_n_vocab(v) == n);
    char want[16];
    snprintf(want, sizeof want, "t%d", n / 3);
    CHECK(v && !strcmp(tok_text(v, n / 3), want));
    tok_free(v);
    return (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
}

/* Loading a 150k vocabulary takes ~0.1 s of CPU (a quadratic step once made it minutes). The
 * ceiling is CPU time, not wall time, so a busy machine does not fail it, and far enough above
 * today's figure (also under a sanitizer) that only such a regression reaches it. */
static void test_load_time(void) {
    enum { N = 150000 };
    double s = load_cpu_s(N);
    printf("load of %d tokens + %d merges: %.3f s of CPU\n", N, N, s);
    CHECK_MSG(s < 3.0, "load took %.3f s of CPU", s);
}

int main(void) {
    test_spm();
    test_bpe();
    test_invalid_utf8();
    test_random_text("llama-spm", true);
    test_random_text("phi-3", true);
    test_random_text("gpt-2", false);
    test_random_text("deepseek-llm", false);
    test_random_text("falcon", false);
    test_random_text("mpt", false);
    test_errors();
    test_load_time();
    return check_done("test_tokenizer_load");
}
