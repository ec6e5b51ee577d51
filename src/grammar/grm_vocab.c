/*
 * A vocabulary as the grammar sees it: each id's bytes, and the token trie over them.
 *
 * The trie is flat, in DFS preorder, so a walk is a loop over an array that skips a dead subtree
 * with one jump (i = end[i]) -- the layout llguidance describes for its token trie. Tokens are
 * numbered in trie order (sorted by bytes, shorter first), which makes every subtree's tokens a
 * contiguous range: a whole subtree can be named by its root node, as the context-dependent lists
 * of grm_mask.c do.
 */
#include <stdlib.h>
#include <string.h>

#include "grammar/grm_internal.h"

#define MAX_PIECE 1024 /* longer pieces are never allowed (no vocabulary we know has one) */

void grm_vocab_free(grm_vocab *v) {
    if (!v) return;
    free(v->blob), free(v->off), free(v->eog), free(v->eog_ids);
    free(v->byte), free(v->depth), free(v->end), free(v->sub), free(v->n_end), free(v->sorted);
    free(v);
}

int32_t grm_vocab_n(const grm_vocab *v) { return v->n_vocab; }

const uint8_t *grm_vocab_piece(const grm_vocab *v, int32_t id, size_t *len) {
    if (id < 0 || id >= v->n_vocab || v->off[id] == v->off[id + 1]) {
        *len = 0;
        return NULL;
    }
    *len = v->off[id + 1] - v->off[id];
    return v->blob + v->off[id];
}

bool grm_vocab_is_eog(const grm_vocab *v, int32_t id) { return id >= 0 && id < v->n_vocab && v->eog[id]; }

typedef struct {
    const uint8_t *b;
    uint32_t len;
    int32_t id;
} piece_ref;

static int cmp_piece(const void *a, const void *b) {
    const piece_ref *x = a, *y = b;
    int c = memcmp(x->b, y->b, x->len < y->len ? x->len : y->len);
    if (c) return c;
    if (x->len != y->len) return x->len < y->len ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static cirrus_status build_trie(grm_vocab *v, cirrus_err *err) {
    uint32_t nt = 0;
    size_t total = 0;
    for (int32_t id = 0; id < v->n_vocab; id++)
        if (v->off[id + 1] > v->off[id]) nt++, total += v->off[id + 1] - v->off[id];
    v->n_trie_tokens = nt;
    v->sorted = malloc((nt ? nt : 1) * sizeof *v->sorted);
    size_t cap = total + 1; /* at most one node per byte, plus the root */
    v->byte = malloc(cap), v->depth = malloc(cap * sizeof *v->depth), v->end = malloc(cap * sizeof *v->end);
    v->sub = malloc((cap + 1) * sizeof *v->sub), v->n_end = calloc(cap, sizeof *v->n_end);
    if (!v->sorted || !v->byte || !v->depth || !v->end || !v->sub || !v->n_end)
        return cirrus_errf(err, CIRRUS_ERR_NOMEM, "vocabulary: out of memory for the token trie");
    piece_ref *refs = malloc((nt ? nt : 1) * sizeof *refs);
    if (!refs) return cirrus_errf(err, CIRRUS_ERR_NOMEM, "vocabulary: out of memory for the token trie");
    nt = 0;
    for (int32_t id = 0; id < v->n_vocab; id++)
        if (v->off[id + 1] > v->off[id])
            refs[nt++] = (piece_ref){v->blob + v->off[id], v->off[id + 1] - v->off[id], id};
    qsort(refs, nt, sizeof *refs, cmp_piece);
    for (uint32_t i = 0; i < nt; i++) v->sorted[i] = refs[i].id;
    free(refs);

    uint32_t path[MAX_PIECE + 1], n = 1, depth = 0;
    path[0] = 0;
    v->byte[0] = 0, v->depth[0] = 0, v->sub[0] = 0;
    const uint8_t *prev = NULL;
    size_t prev_len = 0;
    for (uint32_t i = 0; i < nt; i++) {
        int32_t id = v->sorted[i];
        const uint8_t *b = v->blob + v->off[id];
        size_t len = v->off[id + 1] - v->off[id], lcp = 0;
        while (prev && lcp < len && lcp < prev_len && b[lcp] == prev[lcp]) lcp++;
        for (; depth > lcp; depth--) v->end[path[depth]] = n; /* close the nodes the new token leaves */
        for (size_t d = lcp + 1; d <= len; d++) {
            v->byte[n] = b[d - 1];
            v->depth[n] = (uint16_t)d;
            v->sub[n] = i;
            path[d] = n++;
        }
        depth = (uint32_t)len;
        if (len > v->max_depth) v->max_depth = (uint32_t)len;
        v->n_end[path[len]]++;
        prev = b, prev_len = len;
    }
    for (; depth > 0; depth--) v->end[path[depth]] = n;
    v->end[0] = n;
    v->sub[n] = nt;
    v->n_nodes = n;
    return CIRRUS_OK;
}

cirrus_status grm_vocab_from_pieces(int32_t n_vocab, const char *const *pieces, const size_t *lens,
                                    const int32_t *eog, int32_t n_eog, grm_vocab **out, cirrus_err *err) {
    *out = NULL;
    if (n_vocab <= 0 || n_vocab > (1 << 24))
        return cirrus_errf(err, CIRRUS_ERR_RANGE, "vocabulary: %d ids, must be 1..%d", n_vocab, 1 << 24);
    if (n_eog < 0 || (n_eog && !eog)) return cirrus_errf(err, CIRRUS_ERR_INVALID, "vocabulary: bad eog list");
    grm_vocab *v = calloc(1, sizeof *v);
    if (!v) return cirrus_errf(err, CIRRUS_ERR_NOMEM, "vocabulary: out of memory");
    v->n_vocab = n_vocab;
    v->words = (uint32_t)((n_vocab + 63) / 64);
    v->off = malloc(((size_t)n_vocab + 1) * sizeof *v->off);
    v->eog = calloc((size_t)n_vocab, 1);
    v->eog_ids = malloc(((size_t)n_eog + 1) * sizeof *v->eog_ids);
    if (!v->off || !v->eog || !v->eog_ids) goto nomem;
    for (int32_t i = 0; i < n_eog; i++) {
        if (eog[i] < 0 || eog[i] >= n_vocab) {
            grm_vocab_free(v);
            return cirrus_errf(err, CIRRUS_ERR_RANGE, "vocabulary: end-of-generation id %d out of range", eog[i]);
        }
        if (!v->eog[eog[i]]) v->eog_ids[v->n_eog++] = eog[i];
        v->eog[eog[i]] = 1;
    }
    size_t total = 0;
    for (int32_t id = 0; id < n_vocab; id++) {
        size_t l = v->eog[id] || lens[id] > MAX_PIECE ? 0 : lens[id];
        if (total + l > UINT32_MAX) goto nomem;
        total += l;
    }
    v->blob = malloc(total ? total : 1);
    if (!v->blob) goto nomem;
    total = 0;
    for (int32_t id = 0; id < n_vocab; id++) {
        size_t l = v->eog[id] || lens[id] > MAX_PIECE ? 0 : lens[id];
        v->off[id] = (uint32_t)total;
        if (l) memcpy(v->blob + total, pieces[id], l);
        total += l;
    }
    v->off[n_vocab] = (uint32_t)total;
    cirrus_status st = build_trie(v, err);
    if (st) {
        grm_vocab_free(v);
        return st;
    }
    *out = v;
    return CIRRUS_OK;
nomem:
    grm_vocab_free(v);
    return cirrus_errf(err, CIRRUS_ERR_NOMEM, "vocabulary: out of memory");
}

cirrus_status grm_vocab_new(const tok_vocab *tv, grm_vocab **out, cirrus_err *err) {
    *out = NULL;
    int32_t n = tok_n_vocab(tv);
    if (n <= 0) return cirrus_errf(err, CIRRUS_ERR_INVALID, "vocabulary: empty");
    size_t *lens = malloc((size_t)n * sizeof *lens), *offs = malloc((size_t)n * sizeof *offs);
    const char **pieces = malloc((size_t)n * sizeof *pieces);
    int32_t *eog = malloc((size_t)n * sizeof *eog), n_eog = 0;
    cirrus_buf blob;
    cirrus_buf_init(&blob, (size_t)UINT32_MAX);
    cirrus_status st = CIRRUS_OK;
    if (!lens || !offs || !pieces || !eog) {
        st = cirrus_errf(err, CIRRUS_ERR_NOMEM, "vocabulary: out of memory");
        goto out;
    }
    for (int32_t id = 0; id < n; id++) {
        offs[id] = blob.len;
        lens[id] = 0;
        if (tok_is_eog(tv, id)) {
            eog[n_eog++] = id;
            continue;
        }
        size_t l = tok_piece(tv, id, false, NULL, 0);
        char *dst = l ? cirrus_buf_extend(&blob, l) : NULL;
        if (l && !dst) {
            st = cirrus_errf(err, CIRRUS_ERR_NOMEM, "vocabulary: out of memory");
            goto out;
        }
        if (l) tok_piece(tv, id, false, dst, l);
        lens[id] = l;
    }
    for (int32_t id = 0; id < n; id++) pieces[id] = blob.p ? blob.p + offs[id] : "";
    st = grm_vocab_from_pieces(n, pieces, lens, eog, n_eog, out, err);
out:
    free(lens), free(offs), free(pieces), free(eog);
    cirrus_buf_free(&blob);
    return st;
}
