/*
 * cli — the `cirrus` command. main.c dispatches to one function per subcommand; each lives in its
 * own cmd_*.c file. A subcommand returns the process exit code: 0 success, 1 failure on input
 * (bad file, bad request), 2 usage error. Errors go to stderr as one line "cirrus: error: ...".
 */
#ifndef CIRRUS_CLI_H
#define CIRRUS_CLI_H

#include <stdbool.h>
#include <stdint.h>

int cmd_run(int argc, char **argv);      /* cmd_run.c */
int cmd_model(int argc, char **argv);    /* cmd_model.c: info, synth */
int cmd_tokenize(int argc, char **argv); /* cmd_tokenize.c */
int cmd_logits(int argc, char **argv);   /* cmd_logits.c */
int cmd_serve(int argc, char **argv);    /* cmd_serve.c: the OpenAI-compatible server */
int cmd_loadgen(int argc, char **argv);  /* cmd_loadgen.c: streaming load generator */
int cmd_bench(int argc, char **argv);    /* cmd_bench.c */
int cmd_demo(int argc, char **argv);     /* cmd_demo.c */
int cmd_report(int argc, char **argv);   /* cmd_report.c: revenue, concentration, forecast, alerts */
int cmd_tenant(int argc, char **argv);   /* cmd_tenant.c: create, list, show, suspend, resume */
int cmd_key(int argc, char **argv);      /* cmd_key.c: create, list, revoke */
int cmd_price(int argc, char **argv);    /* cmd_price.c: set, list */
int cmd_plan(int argc, char **argv);     /* cmd_plan.c: set, show */
int cmd_usage(int argc, char **argv);    /* cmd_usage.c: a tenant's metered usage */
int cmd_invoice(int argc, char **argv);  /* cmd_invoice.c: draft, close, export, credit */
int cmd_ledger_bench(int argc, char **argv); /* cmd_ledger_bench.c: admission latency, ledger throughput */
int cmd_detect(int argc, char **argv);   /* cmd_detect.c: text, corpus, model */
int cmd_guard(int argc, char **argv);    /* cmd_guard.c: keygen, gen, eval */
int cmd_grammar(int argc, char **argv);  /* cmd_grammar.c: check, schema, sample, gen, bench */

/* Shared helpers (cli_util.c). */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* True if argv[*i] is `name` and a value follows; advances *i and sets *val. */
bool cli_opt(int argc, char **argv, int *i, const char *name, const char **val);
/* Parse numbers with full validation (no trailing junk, in range). Print an error naming the flag. */
bool cli_parse_i64(const char *flag, const char *s, int64_t lo, int64_t hi, int64_t *out);
bool cli_parse_f32(const char *flag, const char *s, float lo, float hi, float *out);
bool cli_parse_u64(const char *flag, const char *s, uint64_t *out);
bool cli_wants_help(int argc, char **argv);

#endif
