/* Shared helpers of the control-plane subcommands (cp_cli.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "billing/billing.h"
#include "cli/cli.h"
#include "cli/cp_cli.h"

int cp_usage_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("cirrus: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see cirrus %s --help)\n", cmd);
    va_end(ap);
    return 2;
}

int cp_fail(cirrus_status st, const cirrus_err *err) {
    cli_error("%s", err && err->msg[0] ? err->msg : cirrus_status_str(st));
    return 1;
}

void cp_pepper_file(const char *file) {
    if (file && *file) setenv("CIRRUS_PEPPER_FILE", file, 1); /* tenancy reads it; children inherit it */
}

int cp_open(const char *cmd, const char *db, const char *pepper, store **out) {
    if (!db) return cp_usage_error(cmd, "--db PATH or URI is required");
    cp_pepper_file(pepper);
    cirrus_err err = {{0}};
    cirrus_status st = store_open(db, out, &err);
    return st ? cp_fail(st, &err) : 0;
}

void cp_print_json(json_t *j) {
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (s) {
        fputs(s, stdout);
        fputc('\n', stdout);
        free(s);
    }
    json_decref(j);
}

void cp_json_money(json_t *o, const char *key, int64_t micros) {
    char k[64], v[32];
    snprintf(k, sizeof k, "%s_micros", key);
    json_object_set_new(o, k, json_integer(micros));
    billing_format_money(micros, v, sizeof v);
    json_object_set_new(o, key, json_string(v));
}

const char *cp_time(int64_t unix_s, char buf[32]) {
    if (!unix_s) snprintf(buf, 32, "never");
    else billing_format_time(unix_s, buf);
    return buf;
}

bool cp_date(const char *flag, const char *s, int64_t *out) {
    cirrus_err err = {{0}};
    if (!s) return false;
    if (billing_parse_date(flag, s, out, &err) != CIRRUS_OK) {
        cli_error("%s", err.msg);
        return false;
    }
    return true;
}

bool cp_money(const char *flag, const char *s, int64_t *out) {
    cirrus_err err = {{0}};
    if (!s) return false;
    if (billing_parse_money(flag, s, out, &err) != CIRRUS_OK) {
        cli_error("%s", err.msg);
        return false;
    }
    return true;
}

bool cp_count(const char *flag, const char *s, int64_t *out) {
    return s && cli_parse_i64(flag, s, 0, INT64_MAX / 4, out);
}
