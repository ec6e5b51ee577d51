/*
 * `cirrus price set|list`: what a model costs per 1M tokens. A price never changes in place: `set`
 * adds a version from a date, and every usage record names the version it was rated with.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "billing/billing.h"
#include "cli/cli.h"
#include "cli/cp_cli.h"

static const char *usage =
    "usage: cirrus price <command> --db PATH|URI [options]\n"
    "  set --model M --input X --output Z [--cached-input Y] [--from DATE]\n"
    "                 a new price version from DATE (default: now); --cached-input defaults to --input\n"
    "  list [--model M] [--json]\n"
    "Prices are per 1,000,000 tokens: a decimal amount of currency (0.15) or integer micro-units\n"
    "with a u suffix (150000u). They are kept as integers; no rounding happens here.\n"
    CP_DB_HELP
    "DATE: YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC).\n";

#define OPT(name, var)                                  \
    if (cli_opt(argc, argv, &i, name, &var)) {          \
        if (!var) return 2;                             \
        continue;                                       \
    }

typedef struct {
    const char *model;
    json_t *arr;
    int64_t now;
} list_ctx;

static int price_row(void *ud, const store_price *p) {
    list_ctx *x = ud;
    if (x->model && strcmp(x->model, p->model)) return 0;
    char f[32];
    json_t *o = json_object();
    json_object_set_new(o, "model", json_string(p->model));
    json_object_set_new(o, "version", json_integer(p->id));
    json_object_set_new(o, "effective_from", json_string(cp_time(p->effective_from, f)));
    cp_json_money(o, "input", p->input);
    cp_json_money(o, "cached_input", p->cached_input);
    cp_json_money(o, "output", p->output);
    json_array_append_new(x->arr, o);
    return 0;
}

int cmd_price(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return 0;
    }
    if (argc < 2) return cp_usage_error("price", "missing command (set, list)");
    const char *sub = argv[1], *db = NULL, *pepper = NULL, *model = NULL, *in_s = NULL, *cached_s = NULL, *out_s = NULL, *from_s = NULL;
    bool json = false;
    for (int i = 2; i < argc; i++) {
        OPT("--db", db);
        OPT("--pepper-file", pepper);
        OPT("--model", model);
        OPT("--input", in_s);
        OPT("--cached-input", cached_s);
        OPT("--output", out_s);
        OPT("--from", from_s);
        if (!strcmp(argv[i], "--json")) json = true;
        else if (argv[i][0] == '-' && argv[i][1] == '-') return cp_usage_error("price", "unknown option %s", argv[i]);
        else return cp_usage_error("price", "unexpected argument '%s'", argv[i]);
    }
    bool set = !strcmp(sub, "set");
    if (!set && strcmp(sub, "list")) return cp_usage_error("price", "unknown command '%s'", sub);
    int64_t in = 0, cached = 0, out = 0, from = (int64_t)time(NULL);
    if (set) {
        if (!model || !in_s || !out_s) return cp_usage_error("price", "set needs --model, --input and --output");
        if (!cp_money("--input", in_s, &in) || !cp_money("--output", out_s, &out)) return 1;
        cached = in;
        if (cached_s && !cp_money("--cached-input", cached_s, &cached)) return 1;
        if (from_s && !cp_date("--from", from_s, &from)) return 1;
    } else if (in_s || out_s || cached_s || from_s) {
        return cp_usage_error("price", "list takes only --model and --json");
    }
    store *s;
    int rc = cp_open("price", db, pepper, &s);
    if (rc) return rc;
    cirrus_err err = {{0}};
    cirrus_status st;
    if (set) {
        store_price p;
        st = billing_price_set(s, model, from, in, cached, out, &p, &err);
        if (!st) {
            char f[32], a[32], b[32], c[32];
            billing_format_money(in, a, sizeof a);
            billing_format_money(cached, b, sizeof b);
            billing_format_money(out, c, sizeof c);
            printf("price version %lld of %s from %s: input %s, cached input %s, output %s per 1M tokens\n", (long long)p.id, model,
                   cp_time(from, f), a, b, c);
        }
    } else {
        list_ctx x = {model, json_array(), (int64_t)time(NULL)};
        st = store_price_list(s, price_row, &x, &err);
        if (!st && json) {
            cp_print_json(x.arr);
            x.arr = NULL;
        } else if (!st) {
            printf("%-24s %-7s %-20s %14s %14s %14s\n", "MODEL", "VERSION", "FROM", "INPUT/1M", "CACHED/1M", "OUTPUT/1M");
            size_t i;
            json_t *o;
            json_array_foreach(x.arr, i, o) {
                printf("%-24s %-7lld %-20s %14s %14s %14s\n", json_string_value(json_object_get(o, "model")),
                       (long long)json_integer_value(json_object_get(o, "version")),
                       json_string_value(json_object_get(o, "effective_from")), json_string_value(json_object_get(o, "input")),
                       json_string_value(json_object_get(o, "cached_input")), json_string_value(json_object_get(o, "output")));
            }
        }
        json_decref(x.arr);
    }
    store_close(s);
    return st ? cp_fail(st, &err) : 0;
}
