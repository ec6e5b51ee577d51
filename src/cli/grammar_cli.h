/* What `cirrus grammar`'s subcommands share (cmd_grammar.c, cmd_grammar_bench.c). */
#ifndef CIRRUS_GRAMMAR_CLI_H
#define CIRRUS_GRAMMAR_CLI_H

#include "grammar/grammar.h"
#include "model/model.h"
#include "sched/sched.h"

typedef struct {
    const char *gbnf, *schema, *root;
    bool json_object;
    grm_schema_opts opts;
} grammar_cli_src;

/* Parses one SOURCE option at argv[*i] (advancing *i past its value); false if it is none. */
bool grammar_cli_source(int argc, char **argv, int *i, grammar_cli_src *s);
/* The GBNF of the source, malloc'ed; NULL with the error printed. */
char *grammar_cli_text(const grammar_cli_src *s);
grm_grammar *grammar_cli_compile(const grammar_cli_src *s, const grm_vocab *v);

typedef struct {
    mdl_model *m;
    tok_vocab *tv;
    grm_vocab *gv;
    sched *s;
} grammar_cli_model;

/* Model, tokenizer, grammar vocabulary and a scheduler; 1 with the error printed. */
int grammar_cli_load(const char *path, int64_t threads, int32_t n_ctx, int32_t n_slots, grammar_cli_model *out);
void grammar_cli_unload(grammar_cli_model *x);

int grammar_cli_bench(int argc, char **argv);

#endif
