/*
 * grammar — constrained decoding. A GBNF grammar (llama.cpp's syntax) or a JSON Schema is compiled
 * to a pushdown automaton over bytes; per generated token a matcher gives the mask of vocabulary
 * ids that keep the output a prefix of the grammar's language, and lets end-of-generation through
 * only where the output is complete.
 *
 * The pieces:
 *   grm_vocab    a model's vocabulary as byte strings, laid out as a token trie (once per model)
 *   grm_grammar  a compiled grammar bound to one grm_vocab: immutable automaton plus a shared,
 *                lazily filled cache of per-state token classes (shareable across threads and
 *                requests; reference counted)
 *   grm_matcher  one sequence's position in the grammar (one per choice; single-threaded)
 *   grm_proc     the matcher as a logit processor of the sample chain (sample.h)
 *
 * Errors are never silent: a grammar or schema that does not compile is an error naming the line
 * and column (GBNF) or the keyword and its JSON pointer (JSON Schema), never an unconstrained
 * generation. The engine half: this module knows tokenizer and sample, nothing of HTTP or SQL.
 *
 * How a mask is made (grm_mask.c has the details and the invariants):
 *  - Each rule is a DFA over byte classes whose edges may also call other rules; a position is a
 *    stack of DFA states, and an output prefix maps to a set of such stacks (hash-consed nodes,
 *    interned sets, memoized set-by-byte transitions: a lazy DFA over stack sets).
 *  - Per DFA state, once per grammar and vocabulary, the trie is walked from that state alone: a
 *    token is accepted whatever lies below on the stack, rejected whatever lies below, or
 *    context-dependent (it leaves the rule with bytes to spare). Only the last kind is checked
 *    against the real stack at run time, by a pruned walk of just those trie subtrees, and that
 *    result is cached per stack node.
 */
#ifndef CIRRUS_GRAMMAR_H
#define CIRRUS_GRAMMAR_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "sample/sample.h"
#include "tokenizer/tokenizer.h"

/* ---- vocabulary -------------------------------------------------------------------------------- */

typedef struct grm_vocab grm_vocab;

/* From a tokenizer: each id's bytes as tok_piece renders them without special tokens. Control and
 * unknown tokens and tokens with no bytes can never be chosen under a grammar; end-of-generation
 * ids (tok_is_eog) are allowed exactly where the grammar is complete. */
cirrus_status grm_vocab_new(const tok_vocab *tv, grm_vocab **out, cirrus_err *err);
/* From explicit pieces (tests, synthetic vocabularies): piece i has lens[i] bytes (0: never
 * allowed); eog lists the end-of-generation ids. */
cirrus_status grm_vocab_from_pieces(int32_t n_vocab, const char *const *pieces, const size_t *lens,
                                    const int32_t *eog, int32_t n_eog, grm_vocab **out, cirrus_err *err);
void grm_vocab_free(grm_vocab *v);
int32_t grm_vocab_n(const grm_vocab *v);
/* The bytes id stands for under a grammar (NULL and 0 when it can never be chosen). */
const uint8_t *grm_vocab_piece(const grm_vocab *v, int32_t id, size_t *len);
bool grm_vocab_is_eog(const grm_vocab *v, int32_t id);

/* ---- grammars ---------------------------------------------------------------------------------- */

typedef struct grm_grammar grm_grammar;

/*
 * Parses and compiles GBNF text (llama.cpp's syntax: `name ::= ...` rules, | alternatives,
 * sequences, ( ) groups, * + ? {m} {m,} {m,n} {,n}, "literals", [classes] with ranges, ^ negation
 * and \x \u \U \t \n \r escapes, `.` for any character, # comments). `root` names the start rule
 * (NULL: "root"). Rejected with "grammar:LINE:COL: why": syntax errors, undefined or twice-defined
 * rules, left recursion, a repetition of something that can be empty (an empty loop), a rule that
 * can never finish, grammars past the size limits. Character classes and `.` match whole UTF-8
 * encoded Unicode scalar values (never a surrogate, never an invalid byte sequence).
 *
 * v may be NULL for a grammar that only matches bytes (no masks); otherwise it must outlive the
 * grammar. The result has one reference: grm_release drops it.
 */
cirrus_status grm_compile(const char *gbnf, size_t len, const char *root, const grm_vocab *v, grm_grammar **out,
                          cirrus_err *err);
grm_grammar *grm_retain(grm_grammar *g);
void grm_release(grm_grammar *g);
const grm_vocab *grm_grammar_vocab(const grm_grammar *g);

typedef struct {
    uint32_t n_rules;        /* rules with an automaton of their own (the rest were inlined) */
    uint32_t n_states;       /* DFA states over all rules */
    uint32_t n_classes;      /* byte equivalence classes */
    uint32_t states_cached;  /* states whose token classes are computed so far */
    uint64_t cache_bytes;    /* memory of those */
} grm_grammar_stats;
void grm_grammar_get_stats(const grm_grammar *g, grm_grammar_stats *out);

/* ---- JSON Schema ------------------------------------------------------------------------------- */

typedef struct {
    /* Whitespace the output may have between tokens of JSON: -1 none at all (compact), otherwise a
     * single space, or a newline followed by up to ws_indent spaces or tabs (default 20) -- bounded
     * so that a model can never loop on whitespace. */
    int32_t ws_indent;
    /* What an object allows when its schema says nothing of additionalProperties: true (JSON
     * Schema's meaning, default) or false (no keys but the listed ones). */
    bool additional_default;
} grm_schema_opts;

void grm_schema_opts_default(grm_schema_opts *o);

/*
 * JSON Schema (draft 2020-12 and earlier drafts' spellings) to GBNF text. Supported: type (one or
 * a list), properties / required / additionalProperties, items / prefixItems (and draft-4 array
 * items) / minItems / maxItems, enum / const, minimum / maximum / exclusiveMinimum /
 * exclusiveMaximum for integers (and integer-valued bounds for numbers), minLength / maxLength,
 * anyOf / oneOf (as anyOf: the grammar cannot enforce "exactly one"), $ref to "#", "#/$defs/..",
 * "#/definitions/.." or any JSON pointer into the document (recursion included), format date /
 * time / date-time / uuid. Annotations (title, description, default, examples, $schema, $id,
 * $comment, deprecated, readOnly, writeOnly) are ignored. Anything else is CIRRUS_ERR_UNSUPPORTED
 * with a message naming the keyword and where it is ("schema: keyword 'pattern' at
 * /properties/zip is not supported"); a malformed schema is CIRRUS_ERR_INVALID, also named.
 * *gbnf is malloc'ed, NUL-terminated; its root rule is "root".
 */
cirrus_status grm_schema_to_gbnf(const json_t *schema, const grm_schema_opts *o, char **gbnf, cirrus_err *err);
/* The same from JSON text. */
cirrus_status grm_schema_text_to_gbnf(const char *json, size_t len, const grm_schema_opts *o, char **gbnf,
                                      cirrus_err *err);
/* GBNF for any JSON object (OpenAI's response_format json_object), with o's whitespace policy. */
cirrus_status grm_json_object_gbnf(const grm_schema_opts *o, char **gbnf, cirrus_err *err);

/* ---- matching ---------------------------------------------------------------------------------- */

typedef struct grm_matcher grm_matcher;

/* A matcher at the start of g (holds a reference to g). */
cirrus_status grm_matcher_new(grm_grammar *g, grm_matcher **out, cirrus_err *err);
void grm_matcher_free(grm_matcher *m);
void grm_matcher_reset(grm_matcher *m);

/* Advances by bytes / by a token's bytes. On false nothing changed: the input leaves the grammar
 * (for a token: it is not allowed here; an end-of-generation id is allowed exactly when complete,
 * and does not move the matcher). */
bool grm_matcher_accept_bytes(grm_matcher *m, const void *bytes, size_t n);
bool grm_matcher_accept_token(grm_matcher *m, int32_t id);
/* Whether the bytes would be accepted here, without moving. */
bool grm_matcher_allows_bytes(grm_matcher *m, const void *bytes, size_t n);
/* The output so far is a complete sentence of the grammar (end-of-generation allowed). */
bool grm_matcher_is_complete(const grm_matcher *m);
/* Complete and nothing can follow: end-of-generation is the only choice. */
bool grm_matcher_is_done(const grm_matcher *m);

/*
 * The allowed ids at this position as a bitset of grm_vocab_n bits (bit id % 64 of word id / 64;
 * ceil(n/64) words). End-of-generation ids are set iff the matcher is complete. Needs a grammar
 * compiled with a vocabulary (CIRRUS_ERR_INVALID otherwise). CIRRUS_ERR_FULL when the matcher's
 * memory ceiling is reached (a grammar whose ambiguity explodes).
 */
cirrus_status grm_matcher_fill_mask(grm_matcher *m, uint64_t *bits);

typedef struct {
    uint64_t masks, mask_ns;        /* fill_mask calls and their total time */
    uint64_t states_computed;       /* per-state token classes this matcher computed (cache misses) */
    uint64_t unc_walks, unc_hits;   /* context-dependent walks run / served from the node cache */
    uint32_t nodes, sets;           /* interned stack nodes and stack sets */
} grm_matcher_stats;
void grm_matcher_get_stats(const grm_matcher *m, grm_matcher_stats *out);

/*
 * A seeded random sentence of g, built by walking the automaton byte by byte (for tests of the
 * schema compiler against an independent validator). Up to soft_len bytes each step picks a
 * uniformly random allowed byte, or ends with probability p_end where the output is complete;
 * past soft_len it takes the shortest way to completion, so it always ends. *out is malloc'ed,
 * NUL-terminated (a sentence may itself contain NUL bytes: *len counts them).
 */
cirrus_status grm_sample(grm_grammar *g, uint64_t seed, size_t soft_len, double p_end, char **out, size_t *len,
                         cirrus_err *err);

/* ---- the sample-chain processor ---------------------------------------------------------------- */

/*
 * A logit processor (smp_chain_add) that keeps only the candidates the grammar allows: the others
 * are removed, or (when most are allowed) set to -inf, which the chain's tidy pass after every
 * processor removes -- a direct caller of apply() skips -inf candidates itself. It follows
 * the generated tokens through the history the chain passes it (ids past n_prompt), so nothing has
 * to call it after a draw. Where the grammar is complete, end-of-generation stays; where it is
 * done, it is all that stays. If a token outside the grammar ever reaches the history (the chain's
 * fallback when every candidate was banned), the processor fails closed: from then on only
 * end-of-generation is allowed, and grm_proc_status says so.
 * The processor owns a matcher (free releases it, with the chain) and a reference to g.
 */
cirrus_status grm_proc_new(grm_grammar *g, smp_proc *out, cirrus_err *err);

typedef enum {
    GRM_PROC_OPEN,     /* generated text is a prefix of the grammar's language, not complete */
    GRM_PROC_COMPLETE, /* a complete sentence (more may follow unless done) */
    GRM_PROC_FAILED,   /* a token outside the grammar was generated (see above) */
} grm_proc_state;
grm_proc_state grm_proc_status(const smp_proc *p);
/* The processor's matcher statistics (benchmarks). */
void grm_proc_stats(const smp_proc *p, grm_matcher_stats *out);

/* sched_req_params.choice_proc for a grammar: arg is the grm_grammar (borrowed for the call; each
 * choice's processor takes its own reference). */
cirrus_status grm_choice_proc(void *arg, int32_t choice, smp_proc *out, cirrus_err *err);

#endif
