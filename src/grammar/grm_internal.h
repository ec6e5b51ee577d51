/*
 * grammar internals: the parsed form (gbnf_parse.c), the checks (grm_check.c), the compiled
 * automaton (grm_compile.c, grm_utf8.c), the vocabulary trie (grm_vocab.c), the stack-set engine
 * (grm_pda.c), masks (grm_mask.c), the matcher and processor (grm_match.c, grm_proc.c).
 */
#ifndef CIRRUS_GRM_INTERNAL_H
#define CIRRUS_GRM_INTERNAL_H

#include <stdatomic.h>

#include "grammar/grammar.h"

/* ---- limits (every one of them reachable from a request) ---------------------------------------- */

#define GRM_MAX_TEXT (1u << 20)      /* GBNF bytes */
#define GRM_MAX_RULES 8192
#define GRM_MAX_REPEAT 10000         /* m and n of {m,n} */
#define GRM_MAX_NFA (1u << 20)       /* NFA states over all rules, after inlining and repetition */
#define GRM_MAX_DFA (1u << 18)       /* DFA states over all rules */
#define GRM_MAX_DEPTH 100            /* nesting of groups in the text (the parser recurses) */

/* ---- parsed grammar ----------------------------------------------------------------------------- */

typedef enum { GX_EMPTY, GX_LIT, GX_CLASS, GX_REF, GX_SEQ, GX_ALT, GX_REP } gx_kind;

#define GX_INF UINT32_MAX

typedef struct gx gx;
struct gx {
    gx_kind kind;
    uint32_t line, col;
    union {
        struct { const uint8_t *b; uint32_t n; } lit;     /* UTF-8 bytes */
        struct { const uint32_t *r; uint32_t n; } cls;    /* n sorted, disjoint [lo, hi] scalar pairs */
        uint32_t ref;                                     /* rule index */
        struct { gx **k; uint32_t n; } list;              /* SEQ / ALT, n >= 2 */
        struct { gx *k; uint32_t min, max; } rep;         /* max GX_INF: unbounded */
    } u;
};

typedef struct {
    const char *name;
    gx *body;              /* NULL while only referenced */
    uint32_t line, col;    /* definition, or first reference while undefined */
} gx_rule;

typedef struct {
    cirrus_arena arena;    /* every gx, literal, class and name */
    gx_rule *rules;        /* (n_rules) */
    uint32_t n_rules, cap_rules;
    uint32_t root;
} gx_grammar;

/* gbnf_parse.c: text -> gx_grammar (defined rules, root found). err: "grammar:L:C: why". */
cirrus_status grm_parse_gbnf(const char *text, size_t len, const char *root, gx_grammar *out, cirrus_err *err);
void grm_gx_free(gx_grammar *g);

/* grm_check.c: nullable / productive per rule; left recursion, empty loops, rules that never
 * finish. nullable, recursive and order are (n_rules) arrays the caller owns; order lists every
 * rule after the rules it refers to (except those on a cycle with it). */
cirrus_status grm_check(const gx_grammar *g, bool *nullable, bool *recursive, uint32_t *order, cirrus_err *err);

/* grm_utf8.c: appends the UTF-8 encoding of scalar ranges as byte-range sequences: each sequence
 * is n (1..4) [lo, hi] byte pairs. emit is called once per sequence. */
typedef void (*grm_utf8_emit)(void *ctx, const uint8_t (*seq)[2], int n);
void grm_utf8_ranges(uint32_t lo, uint32_t hi, grm_utf8_emit emit, void *ctx);
int grm_utf8_encode(uint32_t cp, uint8_t out[4]);
/* Decodes one strict UTF-8 scalar at s[0..n); returns its length or 0 when invalid. */
int grm_utf8_decode(const uint8_t *s, size_t n, uint32_t *cp);

/* ---- compiled automaton ------------------------------------------------------------------------- */

#define GRM_NIL UINT32_MAX

enum {
    GRM_ST_ACCEPT = 1, /* the rule may end here */
    GRM_ST_BYTES = 2,  /* has at least one byte edge */
    GRM_ST_TAIL = 4,   /* accepting with no edges at all: a call returning here returns at once */
};

typedef struct {
    uint32_t rule;     /* compiled rule index: its start state is rule_start[rule] */
    uint32_t ret;      /* the caller's state after the call */
} grm_call;

/* Per-state token classes, computed once per grammar (grm_mask.c). */
typedef struct {
    uint32_t n_acc;        /* accepted whatever the stack below */
    int32_t *acc_ids;      /* (n_acc) when acc_bits is NULL */
    uint64_t *acc_bits;    /* (words) when the list would be larger */
    uint32_t n_unc;        /* trie nodes whose subtrees depend on the stack below */
    uint32_t *unc_nodes;
    size_t bytes;
} grm_state_cache;

struct grm_grammar {
    atomic_int refs;
    const grm_vocab *vocab;                   /* NULL: bytes only */
    uint32_t n_states, n_classes, n_rules;
    uint8_t cls[256];                         /* byte -> class */
    int32_t *trans;                           /* (n_states, n_classes): next state or -1 */
    uint8_t *flags;                           /* (n_states) GRM_ST_* */
    uint32_t *call_lo;                        /* (n_states + 1) into calls */
    grm_call *calls;
    uint32_t *rule_start;                     /* (n_rules) */
    uint32_t root;                            /* compiled index of the start rule */
    _Atomic(grm_state_cache *) *cache;        /* (n_states), lazily filled, published once */
    atomic_uint states_cached;
    atomic_ullong cache_bytes;
};

/* grm_compile.c: the automaton of a checked grammar into g (whose other fields are zero). */
cirrus_status grm_build(const gx_grammar *gx, const bool *recursive, const uint32_t *order, grm_grammar *g,
                        cirrus_err *err);

/* ---- vocabulary trie ---------------------------------------------------------------------------- */

struct grm_vocab {
    int32_t n_vocab;
    uint32_t words;       /* ceil(n_vocab / 64) */
    uint8_t *blob;        /* every allowed piece */
    uint32_t *off;        /* (n_vocab + 1): id's bytes are blob[off[id], off[id+1]) */
    uint8_t *eog;         /* (n_vocab) 1 for end-of-generation ids */
    int32_t *eog_ids;
    int32_t n_eog;
    /* The trie of the allowed pieces in DFS preorder; node 0 is the root (no byte). The tokens in
     * node i's subtree are sorted[sub[i] .. sub[end[i]]) (sorted by bytes, shorter first, so the
     * n_end[i] ending exactly at i come first); sub has a sentinel at n_nodes. */
    uint32_t n_nodes;
    uint8_t *byte;        /* (n_nodes) */
    uint16_t *depth;      /* (n_nodes) */
    uint32_t *end;        /* (n_nodes) first node after the subtree */
    uint32_t *sub;        /* (n_nodes + 1) */
    uint16_t *n_end;      /* (n_nodes) */
    int32_t *sorted;      /* (n_trie_tokens) ids in trie order */
    uint32_t n_trie_tokens;
    uint32_t max_depth;
};

/* ---- the stack-set engine (grm_pda.c) ---------------------------------------------------------- */

typedef struct {
    uint32_t state, parent; /* parent: the caller's frame (its state is the return state) or GRM_NIL */
} grm_node;

/* A set of stacks after closure: only members whose top state has byte edges are kept, and
 * `complete` says some path popped past the bottom (the sentence, or the local rule, ended). */
typedef struct {
    uint32_t *m;           /* sorted node ids */
    uint32_t n;
    bool complete;
    int32_t *next;         /* (n_classes) memo: -2 unknown, else the set after that byte class */
} grm_set;

#define GRM_SET_DEAD 0     /* the empty, incomplete set: interned first */

typedef struct {
    const grm_grammar *g;
    CIRRUS_VEC(grm_node) nodes;
    cirrus_map node_ix;    /* (state, parent) -> id + 1 */
    CIRRUS_VEC(grm_set *) sets;
    cirrus_map set_ix;     /* members + complete -> grm_set */
    cirrus_arena arena;    /* sets, their member arrays and memo rows */
    CIRRUS_VEC(uint32_t) stamp;  /* per node: the closure epoch it was last visited in */
    uint32_t epoch;
    CIRRUS_VEC(uint32_t) work, out;
    cirrus_status fail;    /* sticky: a ceiling was reached */
} grm_pda;

cirrus_status grm_pda_init(grm_pda *p, const grm_grammar *g);
void grm_pda_free(grm_pda *p);
void grm_pda_clear(grm_pda *p);
/* The closed set of the grammar's start. */
int32_t grm_pda_start(grm_pda *p);
/* The unclosed set {node(state, NIL)}: a state on its own (per-state token classes). */
int32_t grm_pda_state_set(grm_pda *p, uint32_t state);
/* The unclosed set {node}. */
int32_t grm_pda_node_set(grm_pda *p, uint32_t node);
/* The set after byte b (memoized). GRM_SET_DEAD when no stack takes it; -1 on a ceiling (p->fail). */
int32_t grm_pda_step(grm_pda *p, int32_t set, uint8_t b);
static inline grm_set *grm_pda_set(grm_pda *p, int32_t id) { return p->sets.v[id]; }
static inline bool grm_set_alive(const grm_set *s) { return s->n > 0 || s->complete; }
/* Shortest bytes from the set to completion, given each state's fewest bytes to the end of its
 * rule (grm_sample); UINT32_MAX if dead. */
uint32_t grm_pda_dist_with(grm_pda *p, int32_t set, const uint32_t *dist);
/* Rebuilds the tables with only what `set` needs; returns the set's new id (-1 on failure). Every
 * other node and set id is invalid afterwards. */
int32_t grm_pda_rebase(grm_pda *p, int32_t set);

/* ---- masks (grm_mask.c) -------------------------------------------------------------------------- */

typedef struct {
    uint64_t states_computed, unc_walks, unc_hits;
} grm_mask_counters;

typedef struct {
    cirrus_map unc;        /* node id -> grm_unc_hit (ids the context-dependent walk allowed) */
    cirrus_arena arena;
    grm_mask_counters c;
} grm_mask_cache;

void grm_mask_cache_init(grm_mask_cache *mc);
void grm_mask_cache_free(grm_mask_cache *mc);
void grm_mask_cache_clear(grm_mask_cache *mc);  /* after grm_pda_rebase: node ids changed */
void grm_mask_states_free(grm_grammar *g);      /* the per-state caches, at the grammar's end */
/* Per-state token classes of state s (computed with p on first use, then shared). NULL on a
 * ceiling or out of memory. */
const grm_state_cache *grm_mask_state(grm_pda *p, grm_mask_counters *c, uint32_t s);
/* bits |= the tokens allowed from the closed set `set`; EOG ids iff complete. */
cirrus_status grm_mask_fill(grm_pda *p, grm_mask_cache *mc, int32_t set, uint64_t *bits);

#endif
