/*
 * grammar masks against a brute-force check: at every step of seeded random generations, over
 * real vocabularies (llama SPM 32k, GPT-2 50k, deepseek 100k from ../shared/vocab) and a small
 * hand-made one, an id is in the mask exactly when the matcher accepts its bytes one by one from
 * where it stands (end-of-generation ids exactly when the output is complete). The brute force
 * goes through neither the trie nor the per-state caches. Seed printed; CIRRUS_TEST_SEED replays.
 */
#include <string.h>

#include "check.h"
#include "grammar/grammar.h"

static uint64_t rng_state;
static uint64_t rnd(void) {
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static const char *grammars[] = {
    /* JSON, llama.cpp's json.gbnf shape: calls (string, value), recursion, context-dependent tokens */
    "root   ::= object\n"
    "value  ::= object | array | string | number | (\"true\" | \"false\" | \"null\") ws\n"
    "object ::= \"{\" ws ( string \":\" ws value (\",\" ws string \":\" ws value)* )? \"}\" ws\n"
    "array  ::= \"[\" ws ( value (\",\" ws value)* )? \"]\" ws\n"
    "string ::= \"\\\"\" ( [^\"\\\\\\x7F\\x00-\\x1F] | \"\\\\\" ([\"\\\\/bfnrt] | \"u\" [0-9a-fA-F]{4}) )* \"\\\"\" ws\n"
    "number ::= \"-\"? ([0-9] | [1-9] [0-9]{0,15}) (\".\" [0-9]{1,16})? ([eE] [-+]? [0-9]{1,3})? ws\n"
    "ws ::= | \" \" | \"\\n\" [ \\t]{0,20}\n",
    /* exact keys then free text: literals across token boundaries */
    "root ::= \"{\\\"name\\\": \\\"\" [a-zA-Z ]{1,30} \"\\\", \\\"age\\\": \" [1-9] [0-9]? \"}\"\n",
    /* non-ASCII classes (tokens holding half a character) and any-char */
    "root ::= ([\\u00e0-\\u00ff\\u4e00-\\u9fff] | \" \")+ \".\" .{0,3}\n",
    /* nested parentheses: the stack decides which closer is allowed */
    "root ::= e\ne ::= \"(\" e* \")\" | \"[\" e* \"]\" | [a-z]\n",
    /* lines of text, newline-terminated, at most 3 */
    "root ::= (line){1,3}\nline ::= [^\\n]+ \"\\n\"\n",
};

typedef struct {
    int steps, allowed_total, cache_hits;
} tally;

/* One seeded generation of up to max_steps tokens under g; every step compares the mask with the
 * brute force. Returns the number of mismatches. */
static int generate(grm_grammar *g, const grm_vocab *v, int max_steps, tally *t) {
    int32_t n = grm_vocab_n(v);
    size_t words = ((size_t)n + 63) / 64;
    uint64_t *bits = calloc(words, sizeof *bits);
    int32_t *allowed = malloc((size_t)n * sizeof *allowed);
    grm_matcher *m = NULL;
    cirrus_err err;
    int bad = 0;
    if (!bits || !allowed || grm_matcher_new(g, &m, &err)) {
        CHECK(0);
        goto out;
    }
    for (int step = 0; step < max_steps; step++) {
        cirrus_status st = grm_matcher_fill_mask(m, bits);
        CHECK_MSG(st == CIRRUS_OK, "fill_mask: %d", (int)st);
        if (st) break;
        int32_t n_allowed = 0;
        for (int32_t id = 0; id < n; id++) {
            bool in_mask = bits[id >> 6] >> (id & 63) & 1;
            size_t len;
            const uint8_t *piece = grm_vocab_piece(v, id, &len);
            bool ok = grm_vocab_is_eog(v, id) ? grm_matcher_is_complete(m)
                                              : len > 0 && grm_matcher_allows_bytes(m, piece, len);
            if (in_mask != ok && bad++ < 5)
                CHECK_MSG(0, "step %d id %d ('%.*s'): mask %d, brute force %d", step, id, (int)len,
                          piece ? (const char *)piece : "", in_mask, ok);
            if (in_mask) allowed[n_allowed++] = id;
        }
        t->steps++;
        t->allowed_total += n_allowed;
        if (n_allowed == 0) {
            CHECK_MSG(0, "step %d: nothing allowed (a dead end)", step);
            break;
        }
        int32_t id = allowed[rnd() % (uint64_t)n_allowed];
        if (grm_vocab_is_eog(v, id)) break;
        CHECK(grm_matcher_accept_token(m, id));
    }
    grm_matcher_stats ms;
    grm_matcher_get_stats(m, &ms);
    t->cache_hits += (int)ms.unc_hits;
out:
    grm_matcher_free(m);
    free(bits);
    free(allowed);
    return bad;
}

static grm_vocab *load_vocab(const char *file) {
    char path[512];
    snprintf(path, sizeof path, "%s/vocab/%s", check_shared_dir(), file);
    gguf_ctx *gg = NULL;
    tok_vocab *tv = NULL;
    grm_vocab *v = NULL;
    cirrus_err err;
    if (gguf_open(path, &gg, &err) || tok_load(gg, &tv, &err) || grm_vocab_new(tv, &v, &err))
        CHECK_MSG(0, "%s: %s", path, err.msg);
    tok_free(tv);
    gguf_close(gg);
    return v;
}

static void test_vocab(const char *file, int gens, int steps) {
    grm_vocab *v = load_vocab(file);
    if (!v) return;
    for (size_t gi = 0; gi < sizeof grammars / sizeof *grammars; gi++) {
        grm_grammar *g = NULL;
        cirrus_err err;
        CHECK_MSG(grm_compile(grammars[gi], strlen(grammars[gi]), NULL, v, &g, &err) == CIRRUS_OK, "%s", err.msg);
        if (!g) continue;
        tally t = {0};
        int bad = 0;
        for (int k = 0; k < gens; k++) bad += generate(g, v, steps, &t);
        grm_grammar_stats gs;
        grm_grammar_get_stats(g, &gs);
        printf("%s grammar %zu: %d steps, %.1f allowed/step, %u/%u states cached (%.1f KiB), %d mismatches\n", file,
               gi, t.steps, t.steps ? (double)t.allowed_total / t.steps : 0.0, gs.states_cached, gs.n_states,
               (double)gs.cache_bytes / 1024, bad);
        grm_release(g);
    }
    grm_vocab_free(v);
}

/* A hand-made vocabulary: duplicates, half characters, an empty piece, a control token, EOG. */
static void test_small(void) {
    const char *pieces[] = {"{", "}", "\"", "\"a", "a\"", "a\"}", "ab", "\xc3", "\xa9", "\xc3\xa9", "",
                            "\"\xc3", "{\"", "{\"", " ", "  ", "\"}", "x", "<eos>"};
    size_t n = sizeof pieces / sizeof *pieces, lens[32];
    for (size_t i = 0; i < n; i++) lens[i] = strlen(pieces[i]);
    int32_t eog = (int32_t)n - 1;
    grm_vocab *v = NULL;
    cirrus_err err;
    CHECK(grm_vocab_from_pieces((int32_t)n, pieces, lens, &eog, 1, &v, &err) == CIRRUS_OK);
    if (!v) return;
    const char *gr = "root ::= \"{\" ws \"\\\"\" [a\\u00e9b]* \"\\\"\" ws \"}\"\nws ::= \" \"?\n";
    grm_grammar *g = NULL;
    CHECK(grm_compile(gr, strlen(gr), NULL, v, &g, &err) == CIRRUS_OK);
    tally t = {0};
    for (int k = 0; g && k < 300; k++) CHECK(generate(g, v, 40, &t) == 0);
    /* the start allows '{' and both '{"' duplicates, nothing else */
    grm_matcher *m = NULL;
    uint64_t bits[1];
    if (g && grm_matcher_new(g, &m, &err) == CIRRUS_OK) {
        CHECK(grm_matcher_fill_mask(m, bits) == CIRRUS_OK);
        CHECK(bits[0] == ((1ull << 0) | (1ull << 12) | (1ull << 13)));
        CHECK(grm_matcher_accept_token(m, 12));
        CHECK(!grm_matcher_accept_token(m, 10)); /* the empty piece is never allowed */
        CHECK(grm_matcher_accept_token(m, 7));   /* half of é */
        CHECK(grm_matcher_fill_mask(m, bits) == CIRRUS_OK);
        CHECK(bits[0] == (1ull << 8)); /* only its other half */
        CHECK(grm_matcher_accept_token(m, 8));
        CHECK(!grm_matcher_accept_token(m, 18)); /* not complete: no EOG */
        CHECK(grm_matcher_accept_token(m, 16));
        CHECK(grm_matcher_is_complete(m) && grm_matcher_is_done(m));
        CHECK(grm_matcher_fill_mask(m, bits) == CIRRUS_OK);
        CHECK(bits[0] == (1ull << 18)); /* done: EOG is forced */
        CHECK(grm_matcher_accept_token(m, 18));
    }
    grm_matcher_free(m);
    grm_release(g);
    grm_vocab_free(v);
}

int main(void) {
    uint64_t seed = 0x9E3779B97F4A7C15ULL ^ (uint64_t)cirrus_now_ns();
    const char *env = getenv("CIRRUS_TEST_SEED");
    if (env) seed = strtoull(env, NULL, 0);
    printf("test_grammar_mask: seed %llu (CIRRUS_TEST_SEED replays it)\n", (unsigned long long)seed);
    rng_state = seed;
    test_small();
    /* every step checks the whole vocabulary token by token: keep the steps few on the large ones */
    test_vocab("ggml-vocab-llama-spm.gguf", 3, 50);
    test_vocab("ggml-vocab-gpt-2.gguf", 2, 40);
    test_vocab("ggml-vocab-deepseek-llm.gguf", 1, 30);
    return check_done("test_grammar_mask");
}
