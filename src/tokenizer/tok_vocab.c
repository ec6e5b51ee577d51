/*
 * Loading a vocabulary from GGUF metadata (tokenizer.ggml.*), with llama.cpp's defaults and
 * fix-ups, since the ids it produces are the reference:
 *  - SPM ("llama"): bos 1, eos 2, unk 0, add_bos true, add_space_prefix true.
 *  - BPE ("gpt2"): bos = eos = 11, no unk, add_bos false (true for llama3-style pre-tokenizers),
 *    no space prefix; a missing tokenizer.ggml.pre means "default" (with a warning).
 *  - an id key pointing outside the vocabulary is ignored with a warning; a default id outside it
 *    becomes "none".
 *  - tokens whose text says they end a turn ("<|im_end|>", "<|eot_id|>", ...) join the EOG set and
 *    become control tokens, as do FIM tokens; control tokens named "...unused..." are unused.
 * Everything read from the file is checked; a bad field is rejected with its key in the message.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tok_impl.h"

#define KEY_PRE "tokenizer.ggml.pre"

static const char *const k_eog_texts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
    "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
    "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
    "<｜end▁of▁sentence｜>", "[e~[",
};

/* FIM token texts by role; pad, rep and sep also end generation. NULL ends each list. */
static const char *const k_fim_texts[6][9] = {
    {"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>",
     "<PRE>", "▁<PRE>", "<|code_prefix|>", "<|prefix|>", NULL},
    {"<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>",
     "<SUF>", "▁<SUF>", "<|code_suffix|>", "<|suffix|>", NULL},
    {"<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>",
     "<MID>", "▁<MID>", "<|code_middle|>", "<|middle|>", NULL},
    {"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]", NULL},
    {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>", NULL},
    {"<|file_sep|>", NULL},
};
static const char *const k_fim_keys[6] = {
    "tokenizer.ggml.fim_pre_token_id", "tokenizer.ggml.fim_suf_token_id",
    "tokenizer.ggml.fim_mid_token_id", "tokenizer.ggml.fim_pad_token_id",
    "tokenizer.ggml.fim_rep_token_id", "tokenizer.ggml.fim_sep_token_id",
};

static int32_t find_text(const tok_vocab *v, const char *s) {
    int32_t id = tok_strtab_find(&v->strs, s, strlen(s));
    return id < v->n_vocab ? id : -1;
}

static cirrus_status get_str(const gguf_ctx *g, const char *key, bool required, char *out, size_t cap,
                             cirrus_err *err) {
    out[0] = '\0';
    gguf_str s;
    if (!gguf_find(g, key)) {
        if (required) return cirrus_errf(err, CIRRUS_ERR_FORMAT, "%s: missing", key);
        return CIRRUS_OK;
    }
    if (!gguf_get_str(g, key, &s)) return cirrus_errf(err, CIRRUS_ERR_FORMAT, "%s: not a string", key);
    if (s.len >= cap) return cirrus_errf(err, CIRRUS_ERR_RANGE, "%s: too long (%llu bytes)", key, (unsigned long long)s.len);
    memcpy(out, s.ptr, s.len);
    out[s.len] = '\0';
    return CIRRUS_OK;
}

static cirrus_status get_bool(const gguf_ctx *g, const char *key, bool *out, cirrus_err *err) {
    if (!gguf_find(g, key)) return CIRRUS_OK;
    if (!gguf_get_bool(g, key, out)) return cirrus_errf(err, CIRRUS_ERR_FORMAT, "%s: not a bool", key);
    return CIRRUS_OK;
}

/* An array, required or optional; with n != 0 it must have exactly n elements. */
static cirrus_status get_arr(const gguf_ctx *g, const char *key, bool required, uint64_t n,
                             const gguf_array **out, cirrus_err *err) {
    *out = NULL;
    if (!gguf_find(g, key)) {
        if (required) return cirrus_errf(err, CIRRUS_ERR_FORMAT, "%s: missing", key);
        return CIRRUS_OK;
    }
    if (!gguf_get_arr(g, key, out)) return cirrus_errf(err, CIRRUS_ERR_FORMAT, "%s: not an array", key);
    if (n && (*out)->n != n)
        return cirrus_errf(err, CIRRUS_ERR_FORMAT, "%s: %llu elements, the vocabulary has %llu", key,
                           (unsigned long long)(*out)->n, (unsigned long long)n);
    return CIRRUS_OK;
}

/* An id key: kept only if inside the vocabulary (llama.cpp warns and keeps the default). */
static void get_id(const gguf_ctx *g, const char *key, int32_t n_vocab, int32_t *id) {
    if (*id >= n_vocab) *id = -1;
    if (!gguf_find(g, key)) return;
    uint32_t u;
    if (!gguf_get_u32(g, key, &u) || u >= (uint32_t)n_vocab) {
        CIRRUS_WARN("tokenizer: %s is not an id below %d; ignored", key, n_vocab);
        return;
    }
    *id = (int32_t)u;
}

static cirrus_status load_tokens(tok_vocab *v, const gguf_ctx *g, cirrus_err *err) {
    const gguf_array *toks, *scores, *types;
    cirrus_status st = get_arr(g, "tokenizer.ggml.tokens", true, 0, &toks, err);
    if (st != CIRRUS_OK) return st;
    if (toks->type != GGUF_TYPE_STRING)
        return cirrus_errf(err, CIRRUS_ERR_FORMAT, "tokenizer.ggml.tokens: elements are %s, not strings",
                           gguf_type_name(toks->type));
    if (toks->n == 0 || toks->n > (1u << 30))
        return cirrus_errf(err, CIRRUS_ERR_RANGE, "tokenizer.ggml.tokens: %llu tokens",
                           (unsigned long long)toks->n);
    int32_t n = (int32_t)toks->n;
    if ((st = get_arr(g, "tokenizer.ggml.scores", false, toks->n, &scores, err)) != CIRRUS_OK) return st;
    if (scores && scores->type != GGUF_TYPE_FLOAT32 && scores->type != GGUF_TYPE_INT32)
        return cirrus_errf(err, CIRRUS_ERR_FORMAT, "tokenizer.ggml.scores: elements are %s",
                           gguf_type_name(scores->type));
    if ((st = get_arr(g, "tokenizer.ggml.token_type", false, toks->n, &types, err)) != CIRRUS_OK) return st;
    if (types && types->type != GGUF_TYPE_INT32)
        return cirrus_errf(err, CIRRUS_ERR_FORMAT, "tokenizer.ggml.token_type: elements are %s",
                           gguf_type_name(types->type));

    size_t bytes = 0;
    for (int32_t i = 0; i < n; i++) bytes += toks->strs[i].len + 1;
    if ((st = tok_strtab_init(&v->strs, n, bytes + 64)) != CIRRUS_OK) return cirrus_errf(err, st, "out of memory");
    v->scores = malloc((size_t)n * sizeof *v->scores);
    v->attr = malloc((size_t)n * sizeof *v->attr);
    if (!v->scores || !v->attr) return cirrus_errf(err, CIRRUS_ERR_NOMEM, "out of memory");
    v->n_vocab = n;
    for (int32_t i = 0; i < n; i++) {
        gguf_str s = toks->strs[i];
        char empty[32];
        if (s.len == 0) { /* llama.cpp renames empty tokens so they stay unique and findable */
            CIRRUS_WARN("tokenizer: empty token at index %d", i);
            s.len = (uint64_t)snprintf(empty, sizeof empty, "[EMPTY_%d]", i);
            s.ptr = empty;
        }
        if (s.len > (1u << 20))
            return cirrus_errf(err, CIRRUS_ERR_RANGE, "tokenizer.ggml.tokens[%d]: %llu bytes", i,
                               (unsigned long long)s.len);
        int32_t dup = tok_strtab_find(&v->strs, s.ptr, s.len);
        if (dup >= 0)
            return cirrus_errf(err, CIRRUS_ERR_FORMAT, "tokenizer.ggml.tokens: '%.*s' has ids %d and %d",
                               (int)(s.len > 64 ? 64 : s.len), s.ptr, dup, i);
        if (tok_strtab_add(&v->strs, s.ptr, s.len) != i) return cirrus_errf(err, CIRRUS_ERR_NOMEM, "out of memory");
        float sc = 0.0f;
        int64_t iv = 0;
        if (scores && scores->type == GGUF_TYPE_FLOAT32) gguf_arr_f32(scores, (uint64_t)i, &sc);
        else if (scores && gguf_arr_i64(scores, (uint64_t)i, &iv)) sc = (float)iv;
        v->scores[i] = sc;
        uint16_t a = TOK_ATTR_NORMAL;
        if (types) {
            int64_t t = 0;
            gguf_arr_i64(types, (uint64_t)i, &t);
            switch (t) {
            case 1: a = TOK_ATTR_NORMAL; break;
            case 2: a = TOK_ATTR_UNKNOWN; break;
            case 3: a = TOK_ATTR_CONTROL; break;
            case 4: a = TOK_ATTR_USER_DEFINED; break;
            case 5: a = TOK_ATTR_UNUSED; break;
            case 6: a = TOK_ATTR_BYTE; break;
            default: a = 0; break; /* undefined: never rendered, never matched */
            }
        }
        v->attr[i] = a;
    }
    return CIRRUS_OK;
}

/* "a b" -> ("a", "b"), split at the first space after the first byte (llama.cpp); a merge without
 * one becomes ("", ""), which can never apply. Halves that are not tokens are interned after the
 * vocabulary (invariant 1). */
static cirrus_status load_merges(tok_vocab *v, const gguf_ctx *g, cirrus_err *err) {
    const gguf_array *m;
    cirrus_status st = get_arr(g, "tokenizer.ggml.merges", true, 0, &m, err);
    if (st != CIRRUS_OK) return st;
    if (m->type != GGUF_TYPE_STRING)
        return cirrus_errf(err, CIRRUS_ERR_FORMAT, "tokenizer.ggml.merges: elements are %s, not strings",
                           gguf_type_name(m->type));
    if (m->n > (1u << 30))
        return cirrus_errf(err, CIRRUS_ERR_RANGE, "tokenizer.ggml.merges: %llu merges", (unsigned long long)m->n);
    if (tok_pairmap_init(&v->merges, m->n) != CIRRUS_OK) return cirrus_errf(err, CIRRUS_ERR_NOMEM, "out of memory");
    for (uint64_t i = 0; i < m->n; i++) {
        gguf_str s = m->strs[i];
        const char *sp = s.len > 1 ? memchr(s.ptr + 1, ' ', s.len - 1) : NULL;
        size_t la = sp ? (size_t)(sp - s.ptr) : 0, lb = sp ? s.len - la - 1 : 0;
        const char *pb = sp ? sp + 1 : s.ptr;
        int32_t a = tok_strtab_find(&v->strs, s.ptr, la);
        if (a < 0) a = tok_strtab_add(&v->strs, s.ptr, la);
        int32_t b = tok_strtab_find(&v->strs, pb, lb);
        if (b < 0) b = tok_strtab_add(&v->strs, pb, lb);
        if (a < 0 || b < 0) return cirrus_errf(err, CIRRUS_ERR_NOMEM, "out of memory");
        tok_pairmap_put(&v->merges, a, b, (int32_t)i);
    }
    return CIRRUS_OK;
}

static int cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static bool eog_add(tok_vocab *v, int32_t id) {
    if (id < 0) return true;
    for (size_t i = 0; i < v->n_eog; i++)
        if (v->eog[i] == id) return true;
    int32_t *e = realloc(v->eog, (v->n_eog + 1) * sizeof *e);
    if (!e) return false;
    v->eog = e;
    v->eog[v->n_eog++] = id;
    return true;
}

static void eog_remove(tok_vocab *v, int32_t id) {
    for (size_t i = 0; i < v->n_eog; i++)
        if (v->eog[i] == id) v->eog[i] = v->eog[--v->n_eog];
}

static bool eog_has_text(const tok_vocab *v, const char *s) {
    int32_t id = find_text(v, s);
    for (size_t i = 0; id >= 0 && i < v->n_eog; i++)
        if (v->eog[i] == id) return true;
    return false;
}

/* llama.cpp's text-based fix-ups of special tokens (see the file comment). */
static cirrus_status fix_specials(tok_vocab *v, const gguf_ctx *g) {
    /* llama.cpp also guesses eot/eom from their text; every such text is in k_eog_texts, which
     * makes it EOG and control below, so the guess itself changes nothing we expose. */
    int32_t fim[6];
    for (int r = 0; r < 6; r++) {
        fim[r] = -1;
        get_id(g, k_fim_keys[r], v->n_vocab, &fim[r]);
        for (int k = 0; fim[r] < 0 && k_fim_texts[r][k]; k++) fim[r] = find_text(v, k_fim_texts[r][k]);
        if (fim[r] >= 0) v->attr[fim[r]] |= TOK_ATTR_CONTROL;
    }
    for (int32_t i = 0; i < v->n_vocab; i++)
        if ((v->attr[i] & TOK_ATTR_CONTROL) && strstr(tok_strtab_str(&v->strs, i), "unused"))
            v->attr[i] |= TOK_ATTR_UNUSED;
    bool ok = eog_add(v, fim[3]) && eog_add(v, fim[4]) && eog_add(v, fim[5]);
    for (size_t k = 0; k < sizeof k_eog_texts / sizeof k_eog_texts[0]; k++) {
        int32_t id = find_text(v, k_eog_texts[k]);
        if (id < 0) continue;
        ok = ok && eog_add(v, id);
        v->attr[id] |= TOK_ATTR_CONTROL;
    }
    static const char *const always_render[] = {"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"};
    for (size_t k = 0; k < 4; k++) {
        int32_t id = find_text(v, always_render[k]);
        if (id >= 0) v->attr[id] = TOK_ATTR_USER_DEFINED;
    }
    ok = ok && eog_add(v, v->eos) && eog_add(v, v->eot) && eog_add(v, v->eom);
    /* gpt-oss and solar-open: "<|end|>" separates messages there, it does not end generation. */
    int32_t end = find_text(v, "<|end|>");
    if (end >= 0 && eog_has_text(v, "<|end|>") &&
        ((eog_has_text(v, "<|return|>") && eog_has_text(v, "<|call|>")) ||
         (eog_has_text(v, "<|calls|>") && eog_has_text(v, "<|flush|>")))) {
        eog_remove(v, end);
        v->attr[end] = TOK_ATTR_USER_DEFINED;
    }
    if (!ok) return CIRRUS_ERR_NOMEM;
    if (v->n_eog) qsort(v->eog, v->n_eog, sizeof *v->eog, cmp_i32);
    return CIRRUS_OK;
}

static cirrus_status build_special_cache(tok_vocab *v, const gguf_ctx *g) {
    size_t n = 0;
    for (int32_t i = 0; i < v->n_vocab; i++)
        n += (v->attr[i] & (TOK_ATTR_CONTROL | TOK_ATTR_USER_DEFINED | TOK_ATTR_UNKNOWN)) != 0;
    /* Longest text first, ties by id (llama.cpp's sort leaves ties unspecified). */
    uint64_t *keys = malloc((n ? n : 1) * sizeof *keys);
    v->special_ids = malloc((n ? n : 1) * sizeof *v->special_ids);
    if (!keys || !v->special_ids) {
        free(keys);
        return CIRRUS_ERR_NOMEM;
    }
    for (int32_t i = 0; i < v->n_vocab; i++)
        if (v->attr[i] & (TOK_ATTR_CONTROL | TOK_ATTR_USER_DEFINED | TOK_ATTR_UNKNOWN))
            keys[v->n_special++] = (uint64_t)(UINT32_MAX - v->strs.len[i]) << 32 | (uint32_t)i;
    qsort(keys, v->n_special, sizeof *keys, cmp_u64);
    for (size_t i = 0; i < v->n_special; i++) {
        int32_t id = v->special_ids[i] = (int32_t)(uint32_t)keys[i];
        unsigned char b0 = (unsigned char)tok_strtab_str(&v->strs, id)[0];
        uint32_t len = v->strs.len[id];
        if (len <= 64) v->special_lens[b0] |= 1ull << (len - 1);
    }
    free(keys);

    /* Phi-3 (by model name, as llama.cpp): special tokens swallow the whitespace after them. */
    char name[256];
    cirrus_err e;
    if (get_str(g, "general.name", false, name, sizeof name, &e) == CIRRUS_OK) {
        for (char *p = name; *p; p++) *p = (char)tolower((unsigned char)*p);
        if (strstr(name, "phi-3") || strstr(name, "phi3")) {
            for (size_t i = 0; i < v->n_special; i++) v->attr[v->special_ids[i]] |= TOK_ATTR_RSTRIP;
            int32_t id = find_text(v, "</s>");
            if (id >= 0) v->attr[id] |= TOK_ATTR_RSTRIP;
            static const char *const keep[] = {"<unk>", "<s>", "<|endoftext|>"};
            for (size_t k = 0; k < 3; k++)
                if ((id = find_text(v, keep[k])) >= 0) v->attr[id] &= (uint16_t)~TOK_ATTR_RSTRIP;
        }
    }
    return CIRRUS_OK;
}

cirrus_status tok_load(const gguf_ctx *g, tok_vocab **out, cirrus_err *err) {
    *out = NULL;
    tok_vocab *v = calloc(1, sizeof *v);
    if (!v) return cirrus_errf(err, CIRRUS_ERR_NOMEM, "out of memory");
    char model[64];
    cirrus_status st = get_str(g, "tokenizer.ggml.model", true, model, sizeof model, err);
    if (st == CIRRUS_OK) st = get_str(g, KEY_PRE, false, v->pre, sizeof v->pre, err);
    if (st != CIRRUS_OK) goto fail;
    if (!strcmp(model, "llama")) {
        v->kind = TOK_KIND_SPM;
        v->bos = 1, v->eos = 2, v->unk = 0;
        v->add_bos = true, v->add_space_prefix = true;
        v->pre[0] = '\0'; /* SPM has no pre-tokenizer */
    } else if (!strcmp(model, "gpt2")) {
        v->kind = TOK_KIND_BPE;
        v->bos = 11, v->eos = 11, v->unk = -1;
        if (!v->pre[0]) {
            CIRRUS_WARN("tokenizer: %s missing, using 'default'; generation quality may suffer", KEY_PRE);
            strcpy(v->pre, "default");
        }
        st = tok_pretok_new(v->pre, &v->pretok, &v->ignore_merges, &v->add_bos, err);
        if (st != CIRRUS_OK) goto fail;
    } else {
        st = cirrus_errf(err, CIRRUS_ERR_UNSUPPORTED, "tokenizer.ggml.model: '%s' is not supported (only 'llama' and 'gpt2')", model);
        goto fail;
    }
    v->pad = v->eot = v->eom = -1;
    if ((st = get_bool(g, "tokenizer.ggml.add_space_prefix", &v->add_space_prefix, err)) != CIRRUS_OK) goto fail;
    if ((st = load_tokens(v, g, err)) != CIRRUS_OK) goto fail;
    if (v->kind == TOK_KIND_BPE && (st = load_merges(v, g, err)) != CIRRUS_OK) goto fail;

    get_id(g, "tokenizer.ggml.bos_token_id", v->n_vocab, &v->bos);
    get_id(g, "tokenizer.ggml.eos_token_id", v->n_vocab, &v->eos);
    get_id(g, "tokenizer.ggml.eot_token_id", v->n_vocab, &v->eot);
    get_id(g, "tokenizer.ggml.eom_token_id", v->n_vocab, &v->eom);
    get_id(g, "tokenizer.ggml.unknown_token_id", v->n_vocab, &v->unk);
    get_id(g, "tokenizer.ggml.padding_token_id", v->n_vocab, &v->pad);
    if ((st = get_bool(g, "tokenizer.ggml.add_bos_token", &v->add_bos, err)) != CIRRUS_OK ||
        (st = get_bool(g, "tokenizer.ggml.add_eos_token", &v->add_eos, err)) != CIRRUS_OK)
        goto fail;
    if (v->add_bos && v->bos < 0) {
        st = cirrus_errf(err, CIRRUS_ERR_FORMAT, "tokenizer.ggml.add_bos_token is true, but there is no BOS token");
        goto fail;
    }
    if (v->add_eos && v->eos < 0) {
        st = cirrus_errf(err, CIRRUS_ERR_FORMAT, "tokenizer.ggml.add_eos_token is true, but there is no EOS token");
        goto fail;
    }
    for (int b = 0; b < 256; b++) {
        char hex[8];
        snprintf(hex, sizeof hex, "<0x%02X>", b);
        v->spm_bytes[b] = find_text(v, hex);
        char raw = (char)b;
        if (v->spm_bytes[b] < 0) {
            int32_t id = tok_strtab_find(&v->strs, &raw, 1);
            v->spm_bytes[b] = id < v->n_vocab ? id : -1;
        }
    }
    if ((st = fix_specials(v, g)) != CIRRUS_OK || (st = build_special_cache(v, g)) != CIRRUS_OK) {
        st = cirrus_errf(err, st, "out of memory");
        goto fail;
    }
    if ((st = tok_build_pieces(v, err)) != CIRRUS_OK) goto fail;
    *out = v;
    return CIRRUS_OK;
fail:
    tok_free(v);
    return st;
}

void tok_free(tok_vocab *v) {
    if (!v) return;
    tok_strtab_free(&v->strs);
    tok_pairmap_free(&v->merges);
    tok_pretok_free(v->pretok);
    free(v->scores);
    free(v->attr);
    free(v->eog);
    free(v->special_ids);
    free(v->piece_blob);
    free(v->piece_off);
    free(v);
}

/* ---- accessors ------------------------------------------------------------------------------ */

tok_kind tok_get_kind(const tok_vocab *v) { return v->kind; }
const char *tok_pre_name(const tok_vocab *v) { return v->pre; }
int32_t tok_n_vocab(const tok_vocab *v) { return v->n_vocab; }
int32_t tok_bos(const tok_vocab *v) { return v->bos; }
int32_t tok_eos(const tok_vocab *v) { return v->eos; }
bool tok_add_bos(const tok_vocab *v) { return v->add_bos; }
bool tok_add_eos(const tok_vocab *v) { return v->add_eos; }

bool tok_is_eog(const tok_vocab *v, int32_t id) {
    return id >= 0 && v->n_eog && bsearch(&id, v->eog, v->n_eog, sizeof *v->eog, cmp_i32) != NULL;
}

bool tok_is_special(const tok_vocab *v, int32_t id) {
    return id >= 0 && id < v->n_vocab && (v->attr[id] & (TOK_ATTR_CONTROL | TOK_ATTR_UNKNOWN));
}

const char *tok_text(const tok_vocab *v, int32_t id) {
    return id >= 0 && id < v->n_vocab ? tok_strtab_str(&v->strs, id) : NULL;
}
