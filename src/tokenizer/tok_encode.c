/*
 * tok_encode: special-token partition, then SPM or BPE on the text between special tokens.
 *
 * The partition is llama.cpp's tokenizer_st_partition, kept exactly because it decides ids: the
 * special tokens are taken one at a time, longest text first, and each cuts every still-raw
 * fragment at all of its occurrences. User-defined tokens always cut (Hugging Face "added tokens"
 * do, e.g. MPT's runs of spaces); control and unknown tokens cut only with parse_special. A token
 * marked LSTRIP / RSTRIP eats the ASCII whitespace before / after it.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tok_impl.h"

typedef struct {
    int32_t id; /* -1: raw text */
    size_t off, len;
} frag;

typedef struct {
    frag *v;
    size_t n, cap;
} frags;

static bool frags_push(frags *f, frag x) {
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 16;
        frag *v = realloc(f->v, cap * sizeof *v);
        if (!v) return false;
        f->v = v;
        f->cap = cap;
    }
    f->v[f->n++] = x;
    return true;
}

static bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* Cuts every raw fragment of in at each occurrence of special token id, into out. */
static bool cut(const tok_vocab *v, int32_t id, const char *text, const frags *in, frags *out) {
    const char *tt = tok_strtab_str(&v->strs, id);
    size_t tl = v->strs.len[id];
    uint16_t attr = v->attr[id];
    out->n = 0;
    for (size_t k = 0; k < in->n; k++) {
        frag f = in->v[k];
        if (f.id >= 0) {
            if (!frags_push(out, f)) return false;
            continue;
        }
        size_t off = f.off, len = f.len;
        for (;;) {
            const char *m = len >= tl ? memmem(text + off, len, tt, tl) : NULL;
            if (!m) {
                if (len > 0 && !frags_push(out, (frag){-1, off, len})) return false;
                break;
            }
            size_t mpos = (size_t)(m - text);
            size_t llen = mpos - off;
            if (attr & TOK_ATTR_LSTRIP)
                while (llen > 0 && is_space(text[off + llen - 1])) llen--;
            if (llen > 0 && !frags_push(out, (frag){-1, off, llen})) return false;
            if (!frags_push(out, (frag){id, 0, 0})) return false;
            size_t roff = mpos + tl, rlen = off + len - roff;
            if (attr & TOK_ATTR_RSTRIP)
                while (rlen > 0 && is_space(text[roff])) roff++, rlen--;
            off = roff;
            len = rlen;
        }
    }
    return true;
}

cirrus_status tok_encode(const tok_vocab *v, const char *text, size_t len, bool add_special,
                         bool parse_special, int32_t **ids, size_t *n, cirrus_err *err) {
    *ids = NULL;
    *n = 0;
    if (len > TOK_MAX_TEXT)
        return cirrus_errf(err, CIRRUS_ERR_RANGE, "text of %zu bytes is longer than %u", len, TOK_MAX_TEXT);
    frags a = {0}, b = {0};
    tok_ids out = {0};
    cirrus_status st = CIRRUS_OK;
    if (len > 0 && !frags_push(&a, (frag){-1, 0, len})) goto oom;
    /* Fragments are pieces of text, so a token that occurs nowhere in it cuts nothing: find the
     * ones that do in one pass (a vocabulary may have thousands of added tokens). */
    uint8_t *present = NULL;
    if (v->n_special && len > 0) {
        present = calloc(v->n_vocab, 1);
        if (!present) goto oom;
        for (size_t p = 0; p < len; p++) {
            unsigned char c = (unsigned char)text[p];
            for (uint64_t m = v->special_lens[c]; m; m &= m - 1) {
                size_t l = (size_t)__builtin_ctzll(m) + 1;
                if (l > len - p) break;
                int32_t id = tok_strtab_find(&v->strs, text + p, l);
                if (id >= 0 && id < v->n_vocab) present[id] = 1;
            }
        }
    }
    for (size_t i = 0; i < v->n_special && a.n; i++) {
        int32_t id = v->special_ids[i];
        if (!parse_special && (v->attr[id] & (TOK_ATTR_CONTROL | TOK_ATTR_UNKNOWN))) continue;
        if (!present[id] && v->strs.len[id] <= 64) continue;
        if (!cut(v, id, text, &a, &b)) {
            free(present);
            goto oom;
        }
        frags t = a;
        a = b;
        b = t;
    }
    free(present);

    if (add_special && v->add_bos) tok_ids_push(&out, v->bos);
    /* SPM: a raw fragment at the start or right after a special token gets the space prefix. */
    bool prev_special = true;
    for (size_t k = 0; k < a.n && st == CIRRUS_OK; k++) {
        frag f = a.v[k];
        if (f.id >= 0) {
            tok_ids_push(&out, f.id);
            prev_special = true;
        } else if (v->kind == TOK_KIND_SPM) {
            st = tok_spm_encode(v, text + f.off, f.len, v->add_space_prefix && prev_special, &out, err);
            prev_special = false;
        } else {
            st = tok_bpe_encode(v, text + f.off, f.len, &out, err);
        }
    }
    if (add_special && v->add_eos) tok_ids_push(&out, v->eos);
    if (st == CIRRUS_OK && out.oom) goto oom;
    free(a.v);
    free(b.v);
    if (st != CIRRUS_OK) {
        free(out.ids);
        return st;
    }
    if (!out.ids) out.ids = malloc(sizeof *out.ids); /* a valid pointer even for zero ids */
    if (!out.ids) return cirrus_errf(err, CIRRUS_ERR_NOMEM, "out of memory");
    *ids = out.ids;
    *n = out.n;
    return CIRRUS_OK;
oom:
    free(a.v);
    free(b.v);
    free(out.ids);
    return cirrus_errf(err, CIRRUS_ERR_NOMEM, "out of memory");
}
