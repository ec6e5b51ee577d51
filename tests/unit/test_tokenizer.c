/*
 * Tokenizer against independent references (llama.cpp): the shared/vocab test vectors through the
 * library, the prompt_tokens of every shared/reference case, plus round trips, special-token
 * parsing, BOS/EOS and EOG on the real vocabularies, and the streaming decoder on byte tokens.
 * Hand-built vocabularies, malformed metadata and load time are in test_tokenizer_load.c.
 */
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "tokenizer/tokenizer.h"

#define SEP "\n__ggml_vocab_test__\n"

static char g_path[1024];

static const char *shared_path(const char *rel) {
    snprintf(g_path, sizeof g_path, "%s/%s", check_shared_dir(), rel);
    return g_path;
}

static tok_vocab *load(const char *path) {
    cirrus_err err = {{0}};
    gguf_ctx *g = NULL;
    if (gguf_open(path, &g, &err) != CIRRUS_OK) {
        CHECK_MSG(0, "gguf_open %s: %s", path, err.msg);
        return NULL;
    }
    tok_vocab *v = NULL;
    cirrus_status st = tok_load(g, &v, &err);
    gguf_close(g); /* the vocabulary must not need the file any more */
    CHECK_MSG(st == CIRRUS_OK, "tok_load %s: %s", path, err.msg);
    return v;
}

static int32_t *encode(const tok_vocab *v, const char *s, size_t len, bool add_special, bool parse_special,
                       size_t *n) {
    int32_t *ids = NULL;
    cirrus_err err = {{0}};
    cirrus_status st = tok_encode(v, s, len, add_special, parse_special, &ids, n, &err);
    CHECK_MSG(st == CIRRUS_OK, "tok_encode: %s", err.msg);
    return ids;
}

/* Concatenated pieces (render_special as given). Caller frees. */
static char *decode(const tok_vocab *v, const int32_t *ids, size_t n, bool render_special, size_t *len) {
    size_t cap = 16, k = 0;
    char *s = malloc(cap);
    for (size_t i = 0; i < n; i++) {
        size_t need = tok_piece(v, ids[i], render_special, NULL, 0);
        while (k + need + 1 > cap) s = realloc(s, cap *= 2);
        CHECK(tok_piece(v, ids[i], render_special, s + k, need) == need);
        k += need;
    }
    s[k] = '\0';
    *len = k;
    return s;
}

/* Streams ids through tok_stream_*; returns the text (caller frees). */
static char *stream(const tok_vocab *v, const int32_t *ids, size_t n, size_t *len) {
    size_t cap = 3 * (tok_max_piece(v) + 4);
    char *s = malloc(n * cap + 8);
    tok_stream st;
    tok_stream_init(&st);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) k += tok_stream_push(v, &st, ids[i], false, s + k, cap);
    k += tok_stream_flush(&st, s + k, 8);
    s[k] = '\0';
    *len = k;
    return s;
}

static char *read_all(const char *path, size_t *len) {
    char *buf = NULL;
    cirrus_err err = {{0}};
    if (cirrus_read_file(path, 1u << 24, &buf, len, &err) != CIRRUS_OK) {
        CHECK_MSG(0, "%s: %s", path, err.msg);
        return NULL;
    }
    return buf;
}

/* Every test string: ids as in .out, and decode(encode(s)) gives s back. */
static void test_vectors(const char *name, bool spm) {
    char base[256];
    snprintf(base, sizeof base, "vocab/ggml-vocab-%s.gguf", name);
    tok_vocab *v = load(shared_path(base));
    if (!v) return;
    size_t inp_len, out_len;
    char inp_path[1100], out_path[1100];
    snprintf(inp_path, sizeof inp_path, "%s.inp", shared_path(base));
    snprintf(out_path, sizeof out_path, "%s.out", shared_path(base));
    char *inp = read_all(inp_path, &inp_len), *out = read_all(out_path, &out_len);
    if (!inp || !out) goto done;
    size_t pos = 0, opos = 0;
    int n_tests = 0;
    while (pos < inp_len) {
        char *sep = memmem(inp + pos, inp_len - pos, SEP, strlen(SEP));
        size_t end = sep ? (size_t)(sep - inp) : inp_len;
        char *eol = memchr(out + opos, '\n', out_len - opos);
        CHECK_MSG(eol != NULL, "%s: .out has fewer lines than tests", name);
        if (!eol) break;
        size_t n;
        int32_t *ids = encode(v, inp + pos, end - pos, false, false, &n);
        char line[8192];
        size_t k = 0;
        for (size_t i = 0; i < n && k + 16 < sizeof line; i++) k += (size_t)snprintf(line + k, sizeof line - k, " %d", ids[i]);
        line[k] = '\0';
        size_t want_len = (size_t)(eol - (out + opos));
        CHECK_MSG(k == want_len && memcmp(line, out + opos, k) == 0, "%s test %d [%.*s]:\n got:%s\nwant:%.*s", name,
                  n_tests, (int)(end - pos), inp + pos, line, (int)want_len, out + opos);

        size_t dlen, slen;
        char *d = decode(v, ids, n, false, &dlen);
        char *s = stream(v, ids, n, &slen);
        if (spm) { /* the space prefix comes back in pieces; the stream drops it */
            CHECK_MSG(end == pos || (dlen == end - pos + 1 && d[0] == ' ' && !memcmp(d + 1, inp + pos, end - pos)),
                      "%s test %d: pieces give [%s]", name, n_tests, d);
        } else {
            CHECK_MSG(dlen == end - pos && !memcmp(d, inp + pos, dlen), "%s test %d: pieces give [%s]", name, n_tests, d);
        }
        CHECK_MSG(slen == end - pos && !memcmp(s, inp + pos, slen), "%s test %d: stream gives [%s]", name, n_tests, s);
        free(d);
        free(s);
        free(ids);
        n_tests++;
        opos = (size_t)(eol - out) + 1;
        if (!sep) break;
        pos = end + strlen(SEP);
    }
    CHECK_MSG(n_tests == 46 && opos == out_len, "%s: %d tests, .out consumed %zu of %zu", name, n_tests, opos, out_len);
done:
    free(inp);
    free(out);
    tok_free(v);
}

/* prompt_tokens of every case in shared/reference, BOS as the model asks. */
static void test_reference_prompts(void) {
    DIR *d = opendir(shared_path("reference"));
    CHECK_MSG(d != NULL, "no %s", g_path);
    if (!d) return;
    int n_cases = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 6 || strcmp(e->d_name + l - 5, ".json")) continue;
        char rel[512], model_rel[512];
        snprintf(rel, sizeof rel, "reference/%s", e->d_name);
        snprintf(model_rel, sizeof model_rel, "models/%.*s.gguf", (int)(l - 5), e->d_name);
        json_error_t je;
        json_t *root = json_load_file(shared_path(rel), 0, &je);
        CHECK_MSG(json_is_array(root), "%s: %s", rel, je.text);
        tok_vocab *v = load(shared_path(model_rel));
        for (size_t c = 0; v && c < json_array_size(root); c++) {
            json_t *cs = json_array_get(root, c);
            const char *prompt = json_string_value(json_object_get(cs, "prompt"));
            json_t *want = json_object_get(cs, "prompt_tokens");
            CHECK_MSG(prompt && json_is_array(want), "%s case %zu: no prompt/prompt_tokens", rel, c);
            if (!prompt || !json_is_array(want)) continue;
            size_t n;
            int32_t *ids = encode(v, prompt, strlen(prompt), true, false, &n);
            bool same = n == json_array_size(want);
            for (size_t i = 0; same && i < n; i++) same = ids[i] == json_integer_value(json_array_get(want, i));
            CHECK_MSG(same, "%s: prompt '%s' gives %zu ids (first %d), reference has %zu", rel, prompt, n,
                      n ? ids[0] : -1, json_array_size(want));
            n_cases++;
            free(ids);
        }
        tok_free(v);
        json_decref(root);
    }
    closedir(d);
    CHECK_MSG(n_cases >= 30, "only %d reference cases", n_cases);
}

static bool has(const int32_t *ids, size_t n, int32_t id) {
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id) return true;
    return false;
}

static void test_specials_gpt2(void) {
    tok_vocab *v = load(shared_path("models/tiny-gpt2-f32.gguf"));
    if (!v) return;
    CHECK(tok_get_kind(v) == TOK_KIND_BPE && !strcmp(tok_pre_name(v), "gpt-2"));
    CHECK(tok_n_vocab(v) == 50257 && tok_bos(v) == 50256 && tok_eos(v) == 50256);
    CHECK(!tok_add_bos(v) && !tok_add_eos(v));
    CHECK(tok_is_eog(v, 50256) && !tok_is_eog(v, 198) && !tok_is_eog(v, -1) && !tok_is_eog(v, 1 << 20));
    CHECK(tok_is_special(v, 50256) && !tok_is_special(v, 198) && !tok_is_special(v, -5));
    CHECK(!strcmp(tok_text(v, 50256), "<|endoftext|>") && !strcmp(tok_text(v, 220), "\xc4\xa0") && !tok_text(v, 50257));

    const char *s = "Hi<|endoftext|>there";
    size_t n;
    int32_t *ids = encode(v, s, strlen(s), true, true, &n);
    CHECK(n == 3 && ids[1] == 50256);
    free(ids);
    ids = encode(v, s, strlen(s), true, false, &n);
    CHECK(n > 3 && !has(ids, n, 50256));
    size_t dl;
    char *d = decode(v, ids, n, false, &dl);
    CHECK(!strcmp(d, s));
    free(d);
    free(ids);

    char buf[32];
    CHECK(tok_piece(v, 50256, false, buf, sizeof buf) == 0);
    CHECK(tok_piece(v, 50256, true, buf, sizeof buf) == 13 && !memcmp(buf, "<|endoftext|>", 13));
    CHECK(tok_piece(v, 220, false, buf, sizeof buf) == 1 && buf[0] == ' ');
    CHECK(tok_piece(v, 50256, true, buf, 4) == 13 && !memcmp(buf, "<|en", 4)); /* count past cap */
    CHECK(tok_piece(v, -1, true, buf, sizeof buf) == 0 && tok_piece(v, 50257, true, buf, sizeof buf) == 0);
    ids = encode(v, "", 0, true, true, &n);
    CHECK(ids != NULL && n == 0);
    free(ids);
    tok_free(v);
}

static void test_specials_spm(void) {
    tok_vocab *v = load(shared_path("vocab/ggml-vocab-phi-3.gguf"));
    if (!v) return;
    CHECK(tok_get_kind(v) == TOK_KIND_SPM && !strcmp(tok_pre_name(v), ""));
    CHECK(tok_add_bos(v) && !tok_add_eos(v) && tok_bos(v) == 1 && tok_eos(v) == 32000);
    CHECK(tok_is_eog(v, 32000) && tok_is_eog(v, 32007) && tok_is_eog(v, 2) && !tok_is_eog(v, 1));
    size_t n, nh;
    int32_t *hello = encode(v, "Hello", 5, false, false, &nh);
    /* Phi-3's special tokens eat the whitespace after them (RSTRIP), and the text after a special
     * token gets the SPM space prefix again. */
    const char *s = "<|user|>\nHello<|end|>";
    int32_t *ids = encode(v, s, strlen(s), true, true, &n);
    CHECK(n == nh + 3 && ids[0] == 1 && ids[1] == 32010 && ids[n - 1] == 32007);
    CHECK(n == nh + 3 && !memcmp(ids + 2, hello, nh * sizeof *ids));
    free(ids);
    ids = encode(v, s, strlen(s), true, false, &n);
    CHECK(ids[0] == 1 && !has(ids, n, 32010) && !has(ids, n, 32007));
    free(ids);
    ids = encode(v, "", 0, true, false, &n);
    CHECK(n == 1 && ids[0] == 1); /* SPM: '' with add_special is [BOS] */
    free(ids);
    ids = encode(v, "", 0, false, false, &n);
    CHECK(n == 0);
    free(ids);
    free(hello);
    tok_free(v);

    v = load(shared_path("vocab/ggml-vocab-deepseek-llm.gguf"));
    if (!v) return;
    CHECK(tok_add_bos(v) && tok_bos(v) == 100000 && !strcmp(tok_pre_name(v), "deepseek-llm"));
    CHECK(tok_is_eog(v, 100001) && tok_is_special(v, 100001) && !tok_is_special(v, 100002)); /* ø is user-defined */
    ids = encode(v, "Hi", 2, true, false, &n);
    CHECK(n == 2 && ids[0] == 100000);
    free(ids);
    ids = encode(v, "Hi", 2, false, false, &n);
    CHECK(n == 1 && ids[0] != 100000);
    free(ids);
    tok_free(v);
}

/* stories260K: ids 3..258 are the byte tokens <0x00>..<0xFF>, so a 4-byte emoji is 4 tokens. */
static void test_stream_bytes(void) {
    tok_vocab *v = load(shared_path("models/stories260K.gguf"));
    if (!v) return;
    const char *s = "a \xf0\x9f\xa6\x99 b";
    size_t n;
    int32_t *ids = encode(v, s, strlen(s), true, false, &n);
    CHECK(n >= 5 && ids[0] == 1);
    char out[64];
    tok_stream st;
    tok_stream_init(&st);
    const int32_t lama[4] = {3 + 0xf0, 3 + 0x9f, 3 + 0xa6, 3 + 0x99};
    CHECK(tok_stream_push(v, &st, 1, false, out, sizeof out) == 0); /* BOS renders as nothing */
    CHECK(tok_stream_push(v, &st, 3 + 'a', false, out, sizeof out) == 1 && out[0] == 'a');
    for (int i = 0; i < 3; i++) CHECK(tok_stream_push(v, &st, lama[i], false, out, sizeof out) == 0);
    CHECK(tok_stream_push(v, &st, lama[3], false, out, sizeof out) == 4 && !memcmp(out, "\xf0\x9f\xa6\x99", 4));
    /* an unfinished character at the end comes out as U+FFFD on flush */
    CHECK(tok_stream_push(v, &st, lama[0], false, out, sizeof out) == 0);
    CHECK(tok_stream_flush(&st, out, sizeof out) == 3 && !memcmp(out, "\xef\xbf\xbd", 3));
    CHECK(tok_stream_flush(&st, out, sizeof out) == 0);
    /* a lead byte followed by a non-continuation byte: U+FFFD, then the byte */
    CHECK(tok_stream_push(v, &st, lama[0], false, out, sizeof out) == 0);
    CHECK(tok_stream_push(v, &st, 3 + 'x', false, out, sizeof out) == 4 && !memcmp(out, "\xef\xbf\xbdx", 4));
    /* a stray continuation byte alone */
    CHECK(tok_stream_push(v, &st, lama[2], false, out, sizeof out) == 3);
    /* too small a buffer drops whole characters only */
    for (int i = 0; i < 3; i++) tok_stream_push(v, &st, lama[i], false, out, sizeof out);
    CHECK(tok_stream_push(v, &st, lama[3], false, out, 3) == 0);
    /* the SPM space prefix is dropped once, at the start */
    tok_stream_init(&st);
    int32_t sp = 3 + ' ';
    CHECK(tok_stream_push(v, &st, sp, false, out, sizeof out) == 0);
    CHECK(tok_stream_push(v, &st, sp, false, out, sizeof out) == 1 && out[0] == ' ');
    /* This toy vocabulary has no "▁" token: the escaped spaces fall back to the bytes of U+2581
     * and decode as such (llama.cpp too: byte pieces are raw bytes, only "▁" inside a normal
     * piece means a space). */
    size_t len;
    char *text = stream(v, ids, n, &len);
    const char *want = "\xe2\x96\x81" "a\xe2\x96\x81\xf0\x9f\xa6\x99\xe2\x96\x81" "b";
    CHECK_MSG(len == strlen(want) && !memcmp(text, want, len), "[%s]", text);
    free(text);
    free(ids);
    tok_free(v);
}

int main(void) {
    test_vectors("llama-spm", true);
    test_vectors("phi-3", true);
    test_vectors("gpt-2", false);
    test_vectors("deepseek-llm", false);
    test_vectors("falcon", false);
    test_vectors("mpt", false);
    test_reference_prompts();
    test_specials_gpt2();
    test_specials_spm();
    test_stream_bytes();
    return check_done("test_tokenizer");
}
