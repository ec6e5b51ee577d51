/* Argument parsing helpers shared by the subcommands. Every number is fully validated. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

void cli_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("cirrus: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

bool cli_opt(int argc, char **argv, int *i, const char *name, const char **val) {
    if (strcmp(argv[*i], name) != 0) return false;
    if (*i + 1 >= argc) {
        cli_error("%s needs a value", name);
        *val = NULL;
        (*i)++;
        return true;
    }
    *val = argv[++*i];
    return true;
}

bool cli_parse_i64(const char *flag, const char *s, int64_t lo, int64_t hi, int64_t *out) {
    if (!s) return false;
    errno = 0;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        cli_error("%s: '%s' is not an integer in [%lld, %lld]", flag, s, (long long)lo, (long long)hi);
        return false;
    }
    *out = v;
    return true;
}

bool cli_parse_u64(const char *flag, const char *s, uint64_t *out) {
    if (!s) return false;
    errno = 0;
    char *end = NULL;
    if (*s == '-') {
        cli_error("%s: '%s' is not a non-negative integer", flag, s);
        return false;
    }
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end) {
        cli_error("%s: '%s' is not a non-negative integer", flag, s);
        return false;
    }
    *out = v;
    return true;
}

bool cli_parse_f32(const char *flag, const char *s, float lo, float hi, float *out) {
    if (!s) return false;
    errno = 0;
    char *end = NULL;
    float v = strtof(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi) {
        cli_error("%s: '%s' is not a number in [%g, %g]", flag, s, (double)lo, (double)hi);
        return false;
    }
    *out = v;
    return true;
}

bool cli_wants_help(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return true;
    return false;
}
