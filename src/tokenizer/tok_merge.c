/*
 * The two merge loops: SPM (merge the adjacent pair whose result has the best score) and byte-level
 * BPE (merge the adjacent pair with the lowest merge rank). Both are llama.cpp's algorithms:
 * symbols in a doubly linked list over the text, candidate pairs in a binary heap, and a stale-pair
 * check at pop time (a pair is stale when either side has changed length since it was pushed).
 * Ties break towards the leftmost pair, which is what makes the output match llama.cpp's.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tok_impl.h"

typedef struct {
    int32_t prev, next;
    uint32_t start; /* byte offset in the text being merged */
    uint32_t n;     /* byte length; 0 once merged into its left neighbour */
    int32_t sid;    /* BPE: interned id of the symbol's text, -1 if it has none */
} sym;

typedef struct {
    int32_t left, right;
    double key; /* SPM: score (higher first); BPE: rank (lower first) */
    uint32_t size;
} pair;

typedef struct {
    pair *v;
    size_t n, cap;
    bool max_first; /* SPM pops the highest key, BPE the lowest */
} heap;

/* true if a should pop before b */
static inline bool before(const heap *h, const pair *a, const pair *b) {
    if (a->key != b->key) return h->max_first ? a->key > b->key : a->key < b->key;
    return a->left < b->left;
}

static bool heap_push(heap *h, pair p) {
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        pair *v = realloc(h->v, cap * sizeof *v);
        if (!v) return false;
        h->v = v;
        h->cap = cap;
    }
    size_t i = h->n++;
    while (i > 0) {
        size_t up = (i - 1) / 2;
        if (!before(h, &p, &h->v[up])) break;
        h->v[i] = h->v[up];
        i = up;
    }
    h->v[i] = p;
    return true;
}

static pair heap_pop(heap *h) {
    pair top = h->v[0], last = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n) break;
        if (c + 1 < h->n && before(h, &h->v[c + 1], &h->v[c])) c++;
        if (!before(h, &h->v[c], &last)) break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (h->n) h->v[i] = last;
    return top;
}

/* Cuts text into one symbol per UTF-8 sequence as its lead byte announces (no validation, as
 * llama.cpp: a truncated sequence at the end is shortened). */
static sym *make_symbols(const char *text, size_t len, size_t *n_out) {
    sym *s = malloc((len ? len : 1) * sizeof *s);
    if (!s) return NULL;
    size_t n = 0;
    for (size_t off = 0; off < len;) {
        size_t l = tok_utf8_len((unsigned char)text[off]);
        if (l > len - off) l = len - off;
        s[n] = (sym){(int32_t)n - 1, off + l == len ? -1 : (int32_t)n + 1, (uint32_t)off, (uint32_t)l, -1};
        off += l;
        n++;
    }
    *n_out = n;
    return s;
}

static void merge_into_left(sym *s, int32_t left, int32_t right) {
    s[left].n += s[right].n;
    s[right].n = 0;
    s[left].next = s[right].next;
    if (s[right].next >= 0) s[s[right].next].prev = left;
}

/* ---- SPM ------------------------------------------------------------------------------------ */

static bool spm_try_pair(const tok_vocab *v, const char *t, sym *s, heap *h, int32_t l, int32_t r) {
    if (l < 0 || r < 0) return true;
    uint32_t size = s[l].n + s[r].n;
    int32_t id = tok_strtab_find(&v->strs, t + s[l].start, size);
    if (id < 0 || id >= v->n_vocab) return true;
    return heap_push(h, (pair){l, r, v->scores[id], size});
}

cirrus_status tok_spm_encode(const tok_vocab *v, const char *text, size_t len, bool space_prefix,
                             tok_ids *out, cirrus_err *err) {
    /* The text the merges run on: optional leading space, then every ' ' written as U+2581. */
    size_t n_sp = space_prefix ? 1 : 0;
    for (size_t i = 0; i < len; i++) n_sp += text[i] == ' ';
    /* tok_encode caps len at TOK_MAX_TEXT, so the escaped text's offsets fit in 32 bits. */
    size_t elen = len - (n_sp - (space_prefix ? 1 : 0)) + 3 * n_sp;
    char *t = malloc(elen ? elen : 1);
    if (!t) return cirrus_errf(err, CIRRUS_ERR_NOMEM, "out of memory");
    size_t o = 0;
    if (space_prefix) {
        memcpy(t, "\xe2\x96\x81", 3);
        o = 3;
    }
    for (size_t i = 0; i < len; i++) {
        if (text[i] == ' ') {
            memcpy(t + o, "\xe2\x96\x81", 3);
            o += 3;
        } else {
            t[o++] = text[i];
        }
    }

    size_t n = 0;
    sym *s = make_symbols(t, elen, &n);
    heap h = {.max_first = true};
    bool ok = s != NULL;
    for (size_t i = 1; ok && i < n; i++) ok = spm_try_pair(v, t, s, &h, (int32_t)i - 1, (int32_t)i);
    while (ok && h.n) {
        pair p = heap_pop(&h);
        if (s[p.left].n == 0 || s[p.right].n == 0 || s[p.left].n + s[p.right].n != p.size) continue;
        merge_into_left(s, p.left, p.right);
        ok = spm_try_pair(v, t, s, &h, s[p.left].prev, p.left) &&
             spm_try_pair(v, t, s, &h, p.left, s[p.left].next);
    }
    /* Every merged symbol is a token by construction; a lone character that is not one falls
     * back to its bytes (llama.cpp's resegment: its rev_merge branch is never reached). */
    for (int32_t i = n ? 0 : -1; ok && i != -1; i = s[i].next) {
        int32_t id = tok_strtab_find(&v->strs, t + s[i].start, s[i].n);
        if (id >= 0 && id < v->n_vocab) {
            tok_ids_push(out, id);
            continue;
        }
        for (uint32_t j = 0; j < s[i].n; j++) {
            int32_t b = v->spm_bytes[(unsigned char)t[s[i].start + j]];
            if (b < 0) b = v->unk; /* llama.cpp throws here; a missing byte token reads as <unk> */
            if (b >= 0) tok_ids_push(out, b);
        }
    }
    free(h.v);
    free(s);
    free(t);
    if (!ok || out->oom) return cirrus_errf(err, CIRRUS_ERR_NOMEM, "out of memory");
    return CIRRUS_OK;
}

/* ---- BPE ------------------------------------------------------------------------------------ */

static bool bpe_try_pair(const tok_vocab *v, sym *s, heap *h, int32_t l, int32_t r) {
    if (l < 0 || r < 0) return true;
    int32_t rank = tok_pairmap_get(&v->merges, s[l].sid, s[r].sid);
    if (rank < 0) return true;
    return heap_push(h, (pair){l, r, rank, s[l].n + s[r].n});
}

static bool bpe_word(const tok_vocab *v, const char *w, size_t len, heap *h, tok_ids *out) {
    if (v->ignore_merges) {
        int32_t id = tok_strtab_find(&v->strs, w, len);
        if (id >= 0 && id < v->n_vocab) {
            tok_ids_push(out, id);
            return true;
        }
    }
    size_t n = 0;
    sym *s = make_symbols(w, len, &n);
    if (!s) return false;
    for (size_t i = 0; i < n; i++) s[i].sid = tok_strtab_find(&v->strs, w + s[i].start, s[i].n);
    h->n = 0;
    bool ok = true;
    for (size_t i = 1; ok && i < n; i++) ok = bpe_try_pair(v, s, h, (int32_t)i - 1, (int32_t)i);
    while (ok && h->n) {
        pair p = heap_pop(h);
        if (s[p.left].n == 0 || s[p.right].n == 0 || s[p.left].n + s[p.right].n != p.size) continue;
        merge_into_left(s, p.left, p.right);
        /* Merge halves are all interned, so a text that is not cannot merge further. */
        s[p.left].sid = tok_strtab_find(&v->strs, w + s[p.left].start, s[p.left].n);
        ok = bpe_try_pair(v, s, h, s[p.left].prev, p.left) && bpe_try_pair(v, s, h, p.left, s[p.left].next);
    }
    for (int32_t i = n ? 0 : -1; ok && i != -1; i = s[i].next) {
        int32_t id = tok_strtab_find(&v->strs, w + s[i].start, s[i].n);
        if (id >= 0 && id < v->n_vocab) {
            tok_ids_push(out, id);
            continue;
        }
        /* llama.cpp then looks up each byte of the symbol as a one-byte token and drops misses. */
        for (uint32_t j = 0; j < s[i].n; j++) {
            int32_t b = tok_strtab_find(&v->strs, w + s[i].start + j, 1);
            if (b >= 0 && b < v->n_vocab) tok_ids_push(out, b);
        }
    }
    free(s);
    return ok;
}

cirrus_status tok_bpe_encode(const tok_vocab *v, const char *text, size_t len, tok_ids *out,
                             cirrus_err *err) {
    tok_words w = {0};
    cirrus_status st = tok_pretok_split(v->pretok, text, len, &w, err);
    heap h = {.max_first = false};
    for (size_t i = 0; st == CIRRUS_OK && i < w.n; i++)
        if (!bpe_word(v, w.buf + w.starts[i], w.starts[i + 1] - w.starts[i], &h, out))
            st = cirrus_errf(err, CIRRUS_ERR_NOMEM, "out of memory");
    if (st == CIRRUS_OK && out->oom) st = cirrus_errf(err, CIRRUS_ERR_NOMEM, "out of memory");
    free(h.v);
    tok_words_free(&w);
    return st;
}
