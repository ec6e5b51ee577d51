/*
 * tok_impl.h — what the tokenizer's own files share; nothing outside src/tokenizer includes it.
 *
 * The behaviour follows llama.cpp's llama-vocab.cpp / unicode.cpp closely, because the test vectors
 * (shared/vocab) and the reference prompts (shared/reference) were produced by it: where llama.cpp
 * has a quirk that changes token ids, we keep the quirk and say so next to the code.
 *
 * Invariants of a loaded tok_vocab:
 *  1. ids 0..n_vocab-1 are the vocabulary; strs holds them first, then any merge half that is not a
 *     token itself (so a merge can be looked up as a pair of small integers).
 *  2. every token text is unique and non-empty (empty ones are renamed "[EMPTY_<id>]").
 *  3. every special id (bos, eos, ...) is -1 or < n_vocab.
 *  4. special_ids is sorted by text length, longest first (the order special tokens are cut out).
 */
#ifndef CIRRUS_TOK_IMPL_H
#define CIRRUS_TOK_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tokenizer/tokenizer.h"

/* Longest text tok_encode accepts (bytes): ~8M tokens, far past any context, and every offset
 * stays 32-bit; the BPE pre-tokenizer needs about 20 bytes of scratch per input byte. */
#define TOK_MAX_TEXT (32u << 20)

/* Token attributes: bit flags with llama.cpp's meaning (llama_token_attr). */
enum {
    TOK_ATTR_UNKNOWN = 1u << 0,
    TOK_ATTR_UNUSED = 1u << 1,
    TOK_ATTR_NORMAL = 1u << 2,
    TOK_ATTR_CONTROL = 1u << 3,
    TOK_ATTR_USER_DEFINED = 1u << 4,
    TOK_ATTR_BYTE = 1u << 5,
    TOK_ATTR_LSTRIP = 1u << 7,
    TOK_ATTR_RSTRIP = 1u << 8,
};

/* ---- string table: interned strings with an open-addressing index (tok_strtab.c) ------------ */

typedef struct {
    char *blob;      /* all strings back to back, each NUL-terminated for convenience */
    size_t blob_len, blob_cap;
    uint64_t *off;   /* (n) start of string i in blob */
    uint32_t *len;   /* (n) */
    uint32_t *hash;  /* (n) */
    int32_t n, cap;
    int32_t *slots;  /* (mask+1) id or -1 */
    uint32_t mask;
} tok_strtab;

uint32_t tok_hash(const char *s, size_t len);
cirrus_status tok_strtab_init(tok_strtab *t, int32_t expect_n, size_t expect_bytes);
void tok_strtab_free(tok_strtab *t);
int32_t tok_strtab_find(const tok_strtab *t, const char *s, size_t len);
/* Adds s (not checking for duplicates: the caller finds first). Returns the new id or -1 (no memory). */
int32_t tok_strtab_add(tok_strtab *t, const char *s, size_t len);
static inline const char *tok_strtab_str(const tok_strtab *t, int32_t id) { return t->blob + t->off[id]; }

/* (left id, right id) -> merge rank. */
typedef struct {
    uint64_t *keys; /* (mask+1) key+1, 0 = empty */
    int32_t *vals;
    uint32_t mask;
    size_t n;
} tok_pairmap;

cirrus_status tok_pairmap_init(tok_pairmap *m, size_t expect_n);
void tok_pairmap_free(tok_pairmap *m);
/* Keeps the first value for a key (llama.cpp uses emplace). */
void tok_pairmap_put(tok_pairmap *m, int32_t a, int32_t b, int32_t val);
int32_t tok_pairmap_get(const tok_pairmap *m, int32_t a, int32_t b); /* -1 if absent */

/* ---- unicode helpers (tok_unicode.c) --------------------------------------------------------- */

/* llama.cpp's unicode_len_utf8: the sequence length a lead byte announces (1 for stray bytes). */
static inline size_t tok_utf8_len(unsigned char c) {
    static const unsigned char lookup[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    return lookup[c >> 4];
}
/* Decodes one code point the way llama.cpp does (unicode_cpt_from_utf8): an invalid sequence
 * consumes one byte and yields U+FFFD. Requires *off < len. */
uint32_t tok_utf8_next(const char *s, size_t len, size_t *off);
/* Encodes cpt (any value < 2^21) into out (4 bytes); returns the byte count. */
int tok_utf8_put(uint32_t cpt, char *out);
/* Unicode White_Space, the set llama.cpp's pre-tokenizers treat as whitespace. */
bool tok_is_whitespace(uint32_t cpt);
/* GPT-2 bytes_to_unicode: the code point that stands for byte b, and back (-1 if cpt stands for none). */
uint32_t tok_byte_to_cpt(uint8_t b);
int tok_cpt_to_byte(uint32_t cpt);

/* ---- growable id buffer ---------------------------------------------------------------------- */

typedef struct {
    int32_t *ids;
    size_t n, cap;
    bool oom;
} tok_ids;

void tok_ids_push(tok_ids *o, int32_t id);

/* ---- pre-tokenizer (tok_pretok.c) ------------------------------------------------------------ */

typedef struct tok_pretok tok_pretok;

/* Compiles the regexes for pre-tokenizer `name`. *ignore_merges / *add_bos receive llama.cpp's
 * per-type overrides (set only when the type has one). */
cirrus_status tok_pretok_new(const char *name, tok_pretok **out, bool *ignore_merges, bool *add_bos,
                             cirrus_err *err);
void tok_pretok_free(tok_pretok *p);

/* Splits text into words, each already mapped through the GPT-2 byte->unicode table. The words
 * lie back to back in *buf (malloc'ed), word i is [starts[i], starts[i+1]). */
typedef struct {
    char *buf;
    size_t len, cap;
    size_t *starts; /* n+1 */
    size_t n, starts_cap;
} tok_words;

cirrus_status tok_pretok_split(const tok_pretok *p, const char *text, size_t len, tok_words *w,
                               cirrus_err *err);
void tok_words_free(tok_words *w);

/* ---- the vocabulary -------------------------------------------------------------------------- */

struct tok_vocab {
    tok_kind kind;
    char pre[64];
    int32_t n_vocab;
    tok_strtab strs;   /* invariant 1 */
    float *scores;     /* (n_vocab) */
    uint16_t *attr;    /* (n_vocab) TOK_ATTR_* */
    tok_pairmap merges;
    tok_pretok *pretok;

    int32_t bos, eos, unk, pad, eot, eom;
    bool add_bos, add_eos, add_space_prefix, ignore_merges;

    int32_t *eog; /* sorted */
    size_t n_eog;
    int32_t *special_ids; /* control / user-defined / unknown tokens, invariant 4 */
    size_t n_special;
    /* Prefilter for the special-token partition: bit L-1 of special_lens[b] is set when a special
     * token of L <= 64 bytes starts with byte b (longer ones are always searched for). */
    uint64_t special_lens[256];

    int32_t spm_bytes[256]; /* SPM byte fallback: "<0xNN>", else the byte itself, else -1 */

    /* Pieces as tok_piece renders them with render_special, precomputed at load. */
    char *piece_blob;
    uint32_t *piece_off; /* (n_vocab + 1) */
    size_t max_piece;
};

/* The encoders, one fragment of raw text at a time (no special tokens inside). SPM prepends a
 * space first when space_prefix. Both report failure through out->oom / the status. */
cirrus_status tok_spm_encode(const tok_vocab *v, const char *text, size_t len, bool space_prefix,
                             tok_ids *out, cirrus_err *err);
cirrus_status tok_bpe_encode(const tok_vocab *v, const char *text, size_t len, tok_ids *out,
                             cirrus_err *err);

/* Computes the render_special piece of id into a malloc'ed buffer (load time only). */
cirrus_status tok_build_pieces(tok_vocab *v, cirrus_err *err);

#endif
