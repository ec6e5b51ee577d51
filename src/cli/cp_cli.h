/*
 * Helpers shared by the control-plane subcommands (tenant, key, price, plan, usage, invoice,
 * ledger-bench). Exit codes follow cli.h: 0 done, 1 the input or the store said no, 2 usage error.
 */
#ifndef CIRRUS_CP_CLI_H
#define CIRRUS_CP_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/core.h"
#include "store/store.h"

/* Prints "cirrus: error: <msg>" and a pointer to --help; returns 2. */
int cp_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints err's message (or the status's) and returns 1. */
int cp_fail(cirrus_status st, const cirrus_err *err);
/* The options every command that opens a store takes, for its --help. */
#define CP_DB_HELP                                                                                              \
    "  --db PATH|URI          the control plane's database: a SQLite file (created on first use) or\n"         \
    "                         postgres://USER@HOST:PORT/DB (any libpq URI; the database must exist)\n"         \
    "  --pepper-file FILE     the key-hash secret (default PATH.pepper beside a SQLite file; with a URI\n"   \
    "                         required, here or as $CIRRUS_PEPPER_FILE: the same file on every node)\n"
/* Makes FILE the key-hash secret for this process and its children (CIRRUS_PEPPER_FILE). */
void cp_pepper_file(const char *file);
/* Opens the store at db (NULL: usage error), with pepper (may be NULL) as cp_pepper_file. Returns
 * 0 or the exit code. */
int cp_open(const char *cmd, const char *db, const char *pepper, store **out);
/* Prints j compactly (or indented when pretty) to stdout with a newline, and frees it. */
void cp_print_json(json_t *j);
/* An amount as both fields: key_micros (integer) and key (decimal string). */
void cp_json_money(json_t *o, const char *key, int64_t micros);
/* unix seconds -> "2025-03-01T00:00:00Z"; 0 -> "never" */
const char *cp_time(int64_t unix_s, char buf[32]);
/* Parses a DATE option into *out (prints the error); false on failure. */
bool cp_date(const char *flag, const char *s, int64_t *out);
/* Parses money ("1.25" currency or "1250000u" micro-units); false on failure. */
bool cp_money(const char *flag, const char *s, int64_t *out);
bool cp_count(const char *flag, const char *s, int64_t *out); /* a non-negative integer */

#endif
