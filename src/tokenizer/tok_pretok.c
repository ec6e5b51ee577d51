/*
 * BPE pre-tokenizers: the regexes that cut text into words before merging, per
 * `tokenizer.ggml.pre`, with PCRE2 (UTF + UCP, JIT when available).
 *
 * How a list of regexes splits text (llama.cpp's unicode_regex_split, which the test vectors
 * follow): the text starts as one chunk; each regex in turn runs over every chunk on its own (a
 * chunk's end is the subject's end, so `$` and `(?!\S)` see it) and cuts it into the matches and
 * the unmatched gaps between them. Nothing is ever dropped. Offsets are counted in code points.
 *
 * llama.cpp does not run the real regex on the real text: it hand-codes two of them and runs the
 * others with std::regex, where every non-ASCII whitespace code point reads as \v (0x0B) and only
 * ASCII is \s otherwise. We match that by giving PCRE2 a "view" of the text with the same
 * substitution; the words themselves are cut from the original code points.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tok_impl.h"

#define MAX_REGEX 6

struct tok_pretok {
    int n;
    pcre2_code *re[MAX_REGEX];
};

/* ---- the regexes (llama.cpp's, per pre-tokenizer type) ------------------------------------- */

#define RE_GPT2 "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)"
#define RE_CONTRACTIONS "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"
#define RE_LLAMA3                                                                                    \
    RE_CONTRACTIONS "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"     \
                    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RE_QWEN2                                                                                     \
    RE_CONTRACTIONS "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"          \
                    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
/* CJK ideographs, the ranges before them, Hangul (deepseek's "[一-龥ࠀ-一가-퟿]+"). */
#define RE_CJK "[\\x{4E00}-\\x{9FA5}\\x{0800}-\\x{4E00}\\x{AC00}-\\x{D7FF}]+"
/* deepseek-llm's letter class: the cased letters (Lu, Ll, Lt) of the Unicode version its
 * tokenizer.json was written with, spelled out as it spells them. */
#define RE_DEEPSEEK_LETTERS                                                                          \
    "\\s?[\\x{41}-\\x{5A}\\x{61}-\\x{7A}\\x{B5}\\x{C0}-\\x{D6}\\x{D8}-\\x{F6}\\x{F8}-\\x{1BA}"       \
    "\\x{1BC}-\\x{1BF}\\x{1C4}-\\x{293}\\x{295}-\\x{2AF}\\x{370}-\\x{373}\\x{376}\\x{377}"           \
    "\\x{37B}-\\x{37D}\\x{37F}\\x{386}\\x{388}-\\x{38A}\\x{38C}\\x{38E}-\\x{3A1}\\x{3A3}-\\x{3F5}"   \
    "\\x{3F7}-\\x{481}\\x{48A}-\\x{52F}\\x{531}-\\x{556}\\x{10A0}-\\x{10C5}\\x{13A0}-\\x{13F5}"      \
    "\\x{13F8}-\\x{13FD}\\x{1C90}-\\x{1CBA}\\x{1CBD}-\\x{1CBF}\\x{1D00}-\\x{1D2B}"                   \
    "\\x{1D6B}-\\x{1D77}\\x{1D79}-\\x{1D9A}\\x{1E00}-\\x{1F15}\\x{1F18}-\\x{1F1D}"                   \
    "\\x{1F20}-\\x{1F45}\\x{1F48}-\\x{1F4D}\\x{1F50}-\\x{1F57}\\x{1F59}\\x{1F5B}\\x{1F5D}"           \
    "\\x{1F5F}-\\x{1F7D}\\x{1F80}-\\x{1FB4}\\x{1FB6}-\\x{1FBC}\\x{1FBE}\\x{1FC2}-\\x{1FC4}"          \
    "\\x{1FC6}-\\x{1FCC}\\x{1FD0}-\\x{1FD3}\\x{1FD6}-\\x{1FDB}\\x{1FE0}-\\x{1FEC}"                   \
    "\\x{1FF2}-\\x{1FF4}\\x{1FF6}-\\x{1FFC}\\x{2102}\\x{2107}\\x{210A}-\\x{2113}\\x{2115}"           \
    "\\x{2119}-\\x{211D}\\x{2124}\\x{2126}\\x{2128}\\x{212A}-\\x{212D}\\x{212F}-\\x{2134}"           \
    "\\x{2139}\\x{213C}-\\x{213F}\\x{2145}-\\x{2149}\\x{214E}\\x{2183}\\x{2184}"                     \
    "\\x{2C00}-\\x{2C7B}\\x{2C7E}-\\x{2CE4}\\x{2CEB}-\\x{2CEE}\\x{2CF2}\\x{2CF3}"                    \
    "\\x{A640}-\\x{A66D}\\x{A680}-\\x{A69B}\\x{A722}-\\x{A76F}\\x{A771}-\\x{A787}"                   \
    "\\x{A78B}-\\x{A78E}\\x{AB70}-\\x{ABBF}\\x{FB00}-\\x{FB06}\\x{FB13}-\\x{FB17}"                   \
    "\\x{FF21}-\\x{FF3A}\\x{FF41}-\\x{FF5A}\\x{10400}-\\x{1044F}\\x{104B0}-\\x{104D3}"              \
    "\\x{104D8}-\\x{104FB}\\x{10C80}-\\x{10CB2}\\x{10CC0}-\\x{10CF2}\\x{118A0}-\\x{118DF}"          \
    "\\x{1E900}-\\x{1E943}]+"
/* ASCII punctuation and symbols, their fullwidth forms, curly quotes, CJK space and stops. */
#define RE_DEEPSEEK_PUNCT                                                                            \
    "\\s?[!-/:-~\\x{FF01}-\\x{FF0F}\\x{FF1A}-\\x{FF5E}\\x{2018}-\\x{201F}\\x{3000}-\\x{3002}]+"

typedef struct {
    int n;
    const char *re[MAX_REGEX];
} regex_set;

static const regex_set k_default = {4, {"[\\p{P}\\$\\+<=>\\^~\\|]+", RE_GPT2, "\\p{N}+", "[0-9][0-9][0-9]"}};
static const regex_set k_gpt2 = {1, {RE_GPT2}};
static const regex_set k_llama3 = {1, {RE_LLAMA3}};
static const regex_set k_qwen2 = {1, {RE_QWEN2}};
static const regex_set k_deepseek_llm = {
    6, {"[\\r\\n]", RE_DEEPSEEK_LETTERS, RE_DEEPSEEK_PUNCT, "\\s+$", RE_CJK, "\\p{N}+"}};
static const regex_set k_deepseek_coder = {
    5, {"[\\r\\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", RE_CJK, "\\p{N}"}};
static const regex_set k_falcon = {3, {"[\\p{P}\\$\\+<=>\\^~\\|`]+", RE_GPT2, "[0-9][0-9][0-9]"}};
static const regex_set k_starcoder = {2, {"\\p{N}", RE_GPT2}};

/* Names llama.cpp accepts for each type we implement, with its per-type overrides. */
static const struct {
    const char *name;
    const regex_set *set;
    bool ignore_merges, add_bos;
} k_pre[] = {
    {"default", &k_default, false, false},
    {"gpt-2", &k_gpt2, false, false},
    {"phi-2", &k_gpt2, false, false},
    {"mpt", &k_gpt2, false, false},
    {"olmo", &k_gpt2, false, false},
    {"jais", &k_gpt2, false, false},
    {"gigachat", &k_gpt2, false, false},
    {"trillion", &k_gpt2, false, false},
    {"granite-docling", &k_gpt2, false, false},
    {"exaone4", &k_gpt2, false, false},
    {"llama3", &k_llama3, true, true},
    {"llama-v3", &k_llama3, true, true},
    {"llama-bpe", &k_llama3, true, true},
    {"falcon3", &k_llama3, true, true},
    {"falcon-h1", &k_llama3, true, true},
    {"pixtral", &k_llama3, true, true},
    {"dbrx", &k_llama3, false, false},
    {"smaug-bpe", &k_llama3, false, false},
    {"qwen2", &k_qwen2, false, false},
    {"deepseek-r1-qwen", &k_qwen2, false, false},
    {"megrez", &k_qwen2, false, false},
    {"stablelm2", &k_qwen2, false, false},
    {"deepseek-llm", &k_deepseek_llm, false, false},
    {"deepseek-coder", &k_deepseek_coder, false, false},
    {"falcon", &k_falcon, false, false},
    {"starcoder", &k_starcoder, false, false},
    {"refact", &k_starcoder, false, false},
    {"command-r", &k_starcoder, false, false},
    {"smollm", &k_starcoder, false, false},
    {"codeshell", &k_starcoder, false, false},
    {"exaone", &k_starcoder, false, false},
    {"minerva-7b", &k_starcoder, false, false},
};

cirrus_status tok_pretok_new(const char *name, tok_pretok **out, bool *ignore_merges, bool *add_bos,
                             cirrus_err *err) {
    *out = NULL;
    const regex_set *set = NULL;
    for (size_t i = 0; i < sizeof k_pre / sizeof k_pre[0]; i++) {
        if (strcmp(k_pre[i].name, name) != 0) continue;
        set = k_pre[i].set;
        if (k_pre[i].ignore_merges) *ignore_merges = true;
        if (k_pre[i].add_bos) *add_bos = true;
        break;
    }
    if (!set)
        return cirrus_errf(err, CIRRUS_ERR_UNSUPPORTED, "tokenizer.ggml.pre: unknown pre-tokenizer '%s'",
                           name);
    tok_pretok *p = calloc(1, sizeof *p);
    if (!p) return cirrus_errf(err, CIRRUS_ERR_NOMEM, "out of memory");
    for (int i = 0; i < set->n; i++) {
        int ec;
        PCRE2_SIZE eoff;
        /* DOLLAR_ENDONLY: `$` means the chunk's end, as in ECMAScript, not "before a final \n". */
        p->re[i] = pcre2_compile((PCRE2_SPTR)set->re[i], PCRE2_ZERO_TERMINATED,
                                 PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY, &ec, &eoff, NULL);
        if (!p->re[i]) {
            PCRE2_UCHAR msg[128];
            pcre2_get_error_message(ec, msg, sizeof msg);
            tok_pretok_free(p);
            return cirrus_errf(err, CIRRUS_ERR_INTERNAL, "pre-tokenizer '%s' regex %d: %s at %zu", name,
                               i, (const char *)msg, (size_t)eoff);
        }
        p->n = i + 1;
        (void)pcre2_jit_compile(p->re[i], PCRE2_JIT_COMPLETE); /* the interpreter is the fallback */
    }
    *out = p;
    return CIRRUS_OK;
}

void tok_pretok_free(tok_pretok *p) {
    if (!p) return;
    for (int i = 0; i < p->n; i++) pcre2_code_free(p->re[i]);
    free(p);
}

void tok_words_free(tok_words *w) {
    free(w->buf);
    free(w->starts);
    memset(w, 0, sizeof *w);
}

/* ---- splitting ------------------------------------------------------------------------------ */

typedef struct {
    size_t *v; /* chunk lengths in code points */
    size_t n, cap;
} chunks;

static bool chunks_push(chunks *c, size_t len) {
    if (len == 0) return true;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        size_t *p = realloc(c->v, cap * sizeof *p);
        if (!p) return false;
        c->v = p;
        c->cap = cap;
    }
    c->v[c->n++] = len;
    return true;
}

/* The text as the regexes see it: cpts re-encoded, with llama.cpp's substitutions. */
typedef struct {
    char *s;        /* UTF-8 */
    uint32_t *boff; /* (n + 1) byte offset of each code point in s; TOK_MAX_TEXT keeps it 32-bit */
    size_t n;
} view;

/* The code point that starts at byte offset b of the view (b is always a character start). */
static size_t view_cpt_at(const view *vw, size_t lo, size_t b) {
    size_t hi = vw->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (vw->boff[mid] < b) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static uint32_t view_cpt(uint32_t c) {
    if (c >= 0x80 && tok_is_whitespace(c)) return 0x0b;
    if (c >= 0xd800 && c <= 0xdfff) return 0xfffd; /* keep the view valid UTF-8 for PCRE2 */
    if (c == 0x180e) return 0x200b; /* PCRE2 calls U+180E a space; llama.cpp does not */
    return c;
}

static cirrus_status split_one(const pcre2_code *re, const view *vw, const chunks *in, chunks *out,
                               pcre2_match_data *md, cirrus_err *err) {
    size_t cstart = 0;
    for (size_t k = 0; k < in->n; k++) {
        size_t clen = in->v[k];
        const char *subj = vw->s + vw->boff[cstart];
        size_t sublen = vw->boff[cstart + clen] - vw->boff[cstart];
        size_t base = vw->boff[cstart];
        size_t prev = 0, pos = 0; /* byte offsets within the chunk */
        while (pos < sublen) {
            int rc = pcre2_match(re, (PCRE2_SPTR)subj, sublen, pos, PCRE2_NO_UTF_CHECK, md, NULL);
            if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
                rc = pcre2_match(re, (PCRE2_SPTR)subj, sublen, pos, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, md,
                                 NULL);
            if (rc == PCRE2_ERROR_NOMATCH) break;
            if (rc < 0) {
                PCRE2_UCHAR msg[128];
                pcre2_get_error_message(rc, msg, sizeof msg);
                return cirrus_errf(err, CIRRUS_ERR_INTERNAL, "pre-tokenizer match failed: %s",
                                   (const char *)msg);
            }
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
            size_t ms = ov[0], me = ov[1];
            if (me <= ms) { /* empty match: step over one character, as regex_iterator does */
                pos = ms + tok_utf8_len((unsigned char)subj[ms]);
                continue;
            }
            size_t c_prev = view_cpt_at(vw, cstart, base + prev), c_ms = view_cpt_at(vw, c_prev, base + ms),
                   c_me = view_cpt_at(vw, c_ms, base + me);
            if (!chunks_push(out, c_ms - c_prev) || !chunks_push(out, c_me - c_ms))
                return cirrus_errf(err, CIRRUS_ERR_NOMEM, "out of memory");
            prev = pos = me;
        }
        size_t c_prev = view_cpt_at(vw, cstart, base + prev);
        if (!chunks_push(out, cstart + clen - c_prev)) return cirrus_errf(err, CIRRUS_ERR_NOMEM, "out of memory");
        cstart += clen;
    }
    return CIRRUS_OK;
}

static bool words_reserve(tok_words *w, size_t bytes, size_t words) {
    if (bytes > w->cap) {
        char *b = realloc(w->buf, bytes);
        if (!b) return false;
        w->buf = b;
        w->cap = bytes;
    }
    if (words + 1 > w->starts_cap) {
        size_t *s = realloc(w->starts, (words + 1) * sizeof *s);
        if (!s) return false;
        w->starts = s;
        w->starts_cap = words + 1;
    }
    return true;
}

cirrus_status tok_pretok_split(const tok_pretok *p, const char *text, size_t len, tok_words *w,
                               cirrus_err *err) {
    w->len = 0;
    w->n = 0;
    cirrus_status st = CIRRUS_OK;
    uint32_t *cpts = malloc((len + 1) * sizeof *cpts);
    /* a code point comes from 1..4 bytes and takes at most 3 in the view (U+FFFD for one byte) */
    view vw = {malloc(len * 3 + 4), malloc((len + 1) * sizeof(uint32_t)), 0};
    chunks a = {0}, b = {0};
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    if (!cpts || !vw.s || !vw.boff || !md) {
        st = cirrus_errf(err, CIRRUS_ERR_NOMEM, "out of memory");
        goto done;
    }
    size_t n = 0, vlen = 0;
    for (size_t off = 0; off < len;) {
        uint32_t c = tok_utf8_next(text, len, &off);
        vw.boff[n] = (uint32_t)vlen;
        vlen += (size_t)tok_utf8_put(view_cpt(c), vw.s + vlen);
        cpts[n++] = c;
    }
    vw.boff[n] = (uint32_t)vlen;
    vw.n = n;
    if (!chunks_push(&a, n)) {
        st = cirrus_errf(err, CIRRUS_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < p->n; i++) {
        b.n = 0;
        st = split_one(p->re[i], &vw, &a, &b, md, err);
        if (st != CIRRUS_OK) goto done;
        chunks t = a;
        a = b;
        b = t;
    }
    /* Each code point becomes its UTF-8 bytes, each byte its GPT-2 stand-in (at most 2 bytes). */
    if (!words_reserve(w, n * 8 + 1, a.n)) {
        st = cirrus_errf(err, CIRRUS_ERR_NOMEM, "out of memory");
        goto done;
    }
    size_t ci = 0;
    for (size_t k = 0; k < a.n; k++) {
        w->starts[w->n++] = w->len;
        for (size_t e = ci + a.v[k]; ci < e; ci++) {
            char u[4];
            int nb = tok_utf8_put(cpts[ci], u);
            for (int j = 0; j < nb; j++) w->len += (size_t)tok_utf8_put(tok_byte_to_cpt((uint8_t)u[j]), w->buf + w->len);
        }
    }
    w->starts[w->n] = w->len;
done:
    pcre2_match_data_free(md);
    free(a.v);
    free(b.v);
    free(cpts);
    free(vw.s);
    free(vw.boff);
    return st;
}
