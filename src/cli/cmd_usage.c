/*
 * `cirrus usage --tenant NAME`: a tenant's metered usage from the ledger: totals, optional groups
 * (by model or by day), and every record. JSON output streams the records, so a month of traffic
 * does not have to fit in memory twice.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "billing/billing.h"
#include "cli/cli.h"
#include "cli/cp_cli.h"

static const char *usage =
    "usage: cirrus usage --tenant NAME --db PATH|URI [--from DATE] [--to DATE] [--by model|day] [--limit N] [--json]\n"
    "  totals (requests, prompt / cached / completion tokens, cost) and the records admitted in\n"
    "  [--from, --to) (default: all time); --by adds per-model or per-day groups; --limit caps the\n"
    "  records listed (default: all with --json, 50 in text). Costs are list-price rating in\n"
    "  micro-units (cost_micros) and currency (cost).\n"
    CP_DB_HELP;

#define OPT(name, var)                                  \
    if (cli_opt(argc, argv, &i, name, &var)) {          \
        if (!var) return 2;                             \
        continue;                                       \
    }

typedef struct {
    int64_t id;
    char prefix[STORE_PREFIX_LEN + 1];
} key_name;

typedef struct {
    key_name *v;
    size_t n, cap;
} key_names;

static int add_key(void *ud, const store_key *k) {
    key_names *x = ud;
    if (x->n == x->cap) {
        size_t c = x->cap ? x->cap * 2 : 16;
        key_name *v = realloc(x->v, c * sizeof *v);
        if (!v) return 1;
        x->v = v;
        x->cap = c;
    }
    x->v[x->n].id = k->id;
    memcpy(x->v[x->n].prefix, k->prefix, sizeof x->v[x->n].prefix);
    x->n++;
    return 0;
}

static const char *prefix_of(const key_names *k, int64_t id) {
    for (size_t i = 0; i < k->n; i++)
        if (k->v[i].id == id) return k->v[i].prefix;
    return "";
}

static json_t *sum_json(const store_usage_sum *r) {
    json_t *o = json_object();
    json_object_set_new(o, "requests", json_integer(r->requests));
    json_object_set_new(o, "open", json_integer(r->open));
    json_object_set_new(o, "prompt_tokens", json_integer(r->prompt_tokens));
    json_object_set_new(o, "cached_tokens", json_integer(r->cached_tokens));
    json_object_set_new(o, "completion_tokens", json_integer(r->completion_tokens));
    cp_json_money(o, "cost", r->cost);
    return o;
}

typedef struct {
    int by;
    json_t *arr;
} group_ctx;

static int group_row(void *ud, const store_usage_sum *r) {
    group_ctx *x = ud;
    json_t *o = json_object();
    if (x->by == STORE_BY_MODEL) {
        json_object_set_new(o, "model", json_string(r->model));
    } else {
        char d[16];
        billing_format_day(r->day, d);
        json_object_set_new(o, "day", json_string(d));
    }
    json_t *sums = sum_json(r);
    json_object_update(o, sums);
    json_decref(sums);
    json_array_append_new(x->arr, o);
    return 0;
}

static int one_sum(void *ud, const store_usage_sum *r) {
    *(store_usage_sum *)ud = *r;
    return 1;
}

typedef struct {
    bool json;
    int64_t limit, printed;
    const key_names *keys;
} rec_ctx;

static int record_row(void *ud, const store_usage *u) {
    rec_ctx *x = ud;
    if (x->limit >= 0 && x->printed >= x->limit) return 1;
    char t[32], cost[32];
    billing_format_time(u->t_admit / 1000000, t);
    billing_format_money(u->cost, cost, sizeof cost);
    if (!x->json) {
        printf("%-20s %-28s %-16s %-9s %8lld %8lld %8lld %14s\n", t, u->request_id, u->model,
               u->settled ? store_usage_status_str(u->status) : "open", (long long)u->prompt_tokens, (long long)u->cached_tokens,
               (long long)u->completion_tokens, cost);
    } else {
        json_t *o = json_object();
        json_object_set_new(o, "id", json_integer(u->id));
        json_object_set_new(o, "request_id", json_string(u->request_id));
        json_object_set_new(o, "key", json_string(prefix_of(x->keys, u->key_id)));
        json_object_set_new(o, "model", json_string(u->model));
        json_object_set_new(o, "state", json_string(u->settled ? "settled" : "open"));
        json_object_set_new(o, "status", u->settled ? json_string(store_usage_status_str(u->status)) : json_null());
        json_object_set_new(o, "prompt_tokens", json_integer(u->prompt_tokens));
        json_object_set_new(o, "cached_tokens", json_integer(u->cached_tokens));
        json_object_set_new(o, "completion_tokens", json_integer(u->completion_tokens));
        json_object_set_new(o, "price_version", json_integer(u->price_id));
        cp_json_money(o, "cost", u->cost);
        json_object_set_new(o, "admitted_at", json_string(t));
        json_object_set_new(o, "time_to_first_token_ms", u->t_first ? json_integer((u->t_first - u->t_admit) / 1000) : json_null());
        json_object_set_new(o, "duration_ms", u->t_end ? json_integer((u->t_end - u->t_admit) / 1000) : json_null());
        if (u->simulated) json_object_set_new(o, "simulated", json_true());
        char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        printf("%s    %s", x->printed ? ",\n" : "\n", s ? s : "{}");
        free(s);
        json_decref(o);
    }
    x->printed++;
    return 0;
}

int cmd_usage(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return 0;
    }
    const char *db = NULL, *pepper = NULL, *tenant = NULL, *from_s = NULL, *to_s = NULL, *by_s = NULL, *limit_s = NULL;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        OPT("--db", db);
        OPT("--pepper-file", pepper);
        OPT("--tenant", tenant);
        OPT("--from", from_s);
        OPT("--to", to_s);
        OPT("--by", by_s);
        OPT("--limit", limit_s);
        if (!strcmp(argv[i], "--json")) json = true;
        else if (argv[i][0] == '-' && argv[i][1] == '-') return cp_usage_error("usage", "unknown option %s", argv[i]);
        else return cp_usage_error("usage", "unexpected argument '%s'", argv[i]);
    }
    if (!tenant) return cp_usage_error("usage", "--tenant NAME is required");
    int by = 0;
    if (by_s) {
        if (!strcmp(by_s, "model")) by = STORE_BY_MODEL;
        else if (!strcmp(by_s, "day")) by = STORE_BY_DAY;
        else return cp_usage_error("usage", "--by must be model or day");
    }
    int64_t from = 0, to = 253402300799LL, limit = json ? -1 : 50;
    if (from_s && !cp_date("--from", from_s, &from)) return 1;
    if (to_s && !cp_date("--to", to_s, &to)) return 1;
    if (limit_s && !cp_count("--limit", limit_s, &limit)) return 1;
    if (to <= from) {
        cli_error("--to must be after --from");
        return 1;
    }
    store *s;
    int rc = cp_open("usage", db, pepper, &s);
    if (rc) return rc;
    cirrus_err err = {{0}};
    store_tenant t;
    store_usage_sum total = {0};
    key_names keys = {0};
    group_ctx g = {by, json_array()};
    cirrus_status st = store_tenant_get(s, tenant, &t, &err);
    if (!st) st = store_usage_sum_by(s, t.id, from * 1000000, to * 1000000, 0, one_sum, &total, &err);
    if (!st && by) st = store_usage_sum_by(s, t.id, from * 1000000, to * 1000000, by, group_row, &g, &err);
    if (!st) st = store_key_list(s, t.id, add_key, &keys, &err);
    if (st) goto out;
    rec_ctx rx = {json, limit, 0, &keys};
    char f[32], tt[32];
    billing_format_time(from, f);
    billing_format_time(to, tt);
    if (json) {
        json_t *head = json_object();
        json_object_set_new(head, "tenant", json_string(tenant));
        json_object_set_new(head, "from", json_string(f));
        json_object_set_new(head, "to", json_string(tt));
        json_object_set_new(head, "totals", sum_json(&total));
        if (by) {
            json_object_set_new(head, "by", json_string(by_s));
            json_object_set_new(head, "groups", g.arr);
            g.arr = NULL;
        }
        char *h = json_dumps(head, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        json_decref(head);
        /* the head without its closing brace, then the records streamed as one more member */
        size_t n = h ? strlen(h) : 0;
        while (n && h[n - 1] != '}') n--;
        if (n) n--;
        while (n && (h[n - 1] == '\n' || h[n - 1] == ' ')) n--;
        printf("%.*s,\n  \"records\": [", (int)n, h ? h : "{");
        free(h);
        st = store_usage_list(s, t.id, from * 1000000, to * 1000000, record_row, &rx, &err);
        printf("%s]\n}\n", rx.printed ? "\n  " : "");
    } else {
        char cost[32];
        billing_format_money(total.cost, cost, sizeof cost);
        printf("tenant %s, %s to %s\n", tenant, f, tt);
        printf("requests %lld (%lld open), prompt %lld (cached %lld), completion %lld tokens, cost %s\n", (long long)total.requests,
               (long long)total.open, (long long)total.prompt_tokens, (long long)total.cached_tokens, (long long)total.completion_tokens,
               cost);
        size_t i;
        json_t *o;
        json_array_foreach(g.arr, i, o) {
            printf("  %-28s %8lld requests %12lld prompt %12lld completion %14s\n",
                   json_string_value(json_object_get(o, by == STORE_BY_MODEL ? "model" : "day")),
                   (long long)json_integer_value(json_object_get(o, "requests")),
                   (long long)json_integer_value(json_object_get(o, "prompt_tokens")),
                   (long long)json_integer_value(json_object_get(o, "completion_tokens")), json_string_value(json_object_get(o, "cost")));
        }
        if (limit) {
            printf("%-20s %-28s %-16s %-9s %8s %8s %8s %14s\n", "ADMITTED", "REQUEST", "MODEL", "STATUS", "PROMPT", "CACHED", "OUTPUT", "COST");
            st = store_usage_list(s, t.id, from * 1000000, to * 1000000, record_row, &rx, &err);
            if (!st && rx.printed < total.requests)
                printf("(%lld of %lld records; --limit N or --json for more)\n", (long long)rx.printed, (long long)total.requests);
        }
    }
out:
    json_decref(g.arr);
    free(keys.v);
    store_close(s);
    return st ? cp_fail(st, &err) : 0;
}
