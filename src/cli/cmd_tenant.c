/* `cirrus tenant create|list|show|suspend|resume`: the provider's customers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "billing/billing.h"
#include "cli/cli.h"
#include "cli/cp_cli.h"
#include "tenancy/tenancy.h"

static const char *usage =
    "usage: cirrus tenant <command> --db PATH|URI [options]\n"
    "  create NAME [--industry X] [--region Y] [--metadata JSON]   a new tenant (NAME: 1-63 of A-Za-z0-9_.-)\n"
    "  list                                                         every tenant\n"
    "  show NAME                                                    details, plan, keys, this month's spend\n"
    "  suspend NAME | resume NAME                                   refuse (403) or allow its requests again\n"
    "  --json                                                       machine-readable output\n"
    CP_DB_HELP;

#define OPT(name, var)                                  \
    if (cli_opt(argc, argv, &i, name, &var)) {          \
        if (!var) return 2;                             \
        continue;                                       \
    }

static json_t *tenant_json(const store_tenant *t) {
    char c[32];
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(t->name));
    json_object_set_new(o, "id", json_integer(t->id));
    json_object_set_new(o, "status", json_string(t->suspended ? "suspended" : "active"));
    json_object_set_new(o, "industry", json_string(t->industry));
    json_object_set_new(o, "region", json_string(t->region));
    json_t *m = json_loads(t->metadata, 0, NULL);
    json_object_set_new(o, "metadata", m ? m : json_object());
    json_object_set_new(o, "created_at", json_string(cp_time(t->created_at, c)));
    return o;
}

typedef struct {
    bool json;
    json_t *arr;
} list_ctx;

static int list_one(void *ud, const store_tenant *t) {
    list_ctx *x = ud;
    if (x->json) json_array_append_new(x->arr, tenant_json(t));
    else printf("%-24s %-9s %-16s %-12s %s\n", t->name, t->suspended ? "suspended" : "active", t->industry, t->region, t->metadata);
    return 0;
}

typedef struct {
    json_t *arr;
    int64_t now;
} keys_ctx;

static int key_one(void *ud, const store_key *k) {
    keys_ctx *x = ud;
    char c[32], e[32];
    json_t *o = json_object();
    json_object_set_new(o, "prefix", json_string(k->prefix));
    json_object_set_new(o, "scope", json_string(tenancy_scope_str(k->scope)));
    json_object_set_new(o, "status", json_string(k->revoked_at ? "revoked" : k->expires_at && k->expires_at <= x->now ? "expired" : "active"));
    json_object_set_new(o, "created_at", json_string(cp_time(k->created_at, c)));
    json_object_set_new(o, "expires_at", json_string(cp_time(k->expires_at, e)));
    json_array_append_new(x->arr, o);
    return 0;
}

static int sum_one(void *ud, const store_usage_sum *r) {
    *(store_usage_sum *)ud = *r;
    return 1;
}

static int show(store *s, const char *name, bool json) {
    cirrus_err err = {{0}};
    store_tenant t;
    store_plan p;
    int64_t now = (int64_t)time(NULL), from, to;
    cirrus_status st = store_tenant_get(s, name, &t, &err);
    if (!st) st = tenancy_plan_at(s, t.id, now, &p, &err);
    keys_ctx kc = {json_array(), now};
    if (!st) st = store_key_list(s, t.id, key_one, &kc, &err);
    billing_month_bounds(now, &from, &to);
    store_usage_sum month = {0};
    if (!st) st = store_usage_sum_by(s, t.id, from * 1000000, to * 1000000, 0, sum_one, &month, &err);
    if (st) {
        json_decref(kc.arr);
        return cp_fail(st, &err);
    }
    json_t *o = tenant_json(&t);
    json_t *pl = json_object();
    json_object_set_new(pl, "kind", json_string(tenancy_plan_kind_str(p.kind)));
    json_object_set_new(pl, "priority", json_integer(p.priority));
    json_object_set_new(pl, "reserved_tpm", json_integer(p.reserved_tpm));
    json_object_set_new(pl, "rpm", json_integer(p.rpm));
    json_object_set_new(pl, "tpm", json_integer(p.tpm));
    json_object_set_new(pl, "max_concurrent", json_integer(p.max_concurrent));
    json_object_set_new(pl, "max_tokens", json_integer(p.max_tokens));
    cp_json_money(pl, "budget", p.budget_hard);
    cp_json_money(pl, "soft_budget", p.budget_soft);
    json_object_set_new(o, "plan", pl);
    json_object_set_new(o, "keys", kc.arr);
    json_t *m = json_object();
    char mon[8];
    billing_month_of(now, mon);
    json_object_set_new(m, "month", json_string(mon));
    json_object_set_new(m, "requests", json_integer(month.requests));
    json_object_set_new(m, "open", json_integer(month.open));
    json_object_set_new(m, "prompt_tokens", json_integer(month.prompt_tokens));
    json_object_set_new(m, "completion_tokens", json_integer(month.completion_tokens));
    cp_json_money(m, "cost", month.cost);
    json_object_set_new(o, "this_month", m);
    if (json) {
        cp_print_json(o);
        return 0;
    }
    char c[32], money[32];
    printf("tenant    %s (id %lld), %s\n", t.name, (long long)t.id, t.suspended ? "SUSPENDED" : "active");
    printf("industry  %s\nregion    %s\nmetadata  %s\ncreated   %s\n", t.industry, t.region, t.metadata, cp_time(t.created_at, c));
    printf("plan      %s, priority %lld", tenancy_plan_kind_str(p.kind), (long long)p.priority);
    if (p.reserved_tpm) printf(", %lld tokens/min reserved", (long long)p.reserved_tpm);
    printf("\nlimits    rpm %lld, tpm %lld, concurrent %lld, max_tokens %lld (0: none)\n", (long long)p.rpm, (long long)p.tpm,
           (long long)p.max_concurrent, (long long)p.max_tokens);
    billing_format_money(p.budget_hard, money, sizeof money);
    printf("budget    %s hard", money);
    billing_format_money(p.budget_soft, money, sizeof money);
    printf(", %s soft per month (0: none)\n", money);
    billing_format_money(month.cost, money, sizeof money);
    printf("%s   %lld requests, %lld prompt + %lld completion tokens, cost %s\n", mon, (long long)month.requests,
           (long long)month.prompt_tokens, (long long)month.completion_tokens, money);
    size_t i;
    json_t *k;
    json_array_foreach(json_object_get(o, "keys"), i, k) {
        printf("key       %s  %-9s %-7s created %s expires %s\n", json_string_value(json_object_get(k, "prefix")),
               json_string_value(json_object_get(k, "scope")), json_string_value(json_object_get(k, "status")),
               json_string_value(json_object_get(k, "created_at")), json_string_value(json_object_get(k, "expires_at")));
    }
    json_decref(o);
    return 0;
}

int cmd_tenant(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return 0;
    }
    if (argc < 2) return cp_usage_error("tenant", "missing command (create, list, show, suspend, resume)");
    const char *sub = argv[1], *db = NULL, *pepper = NULL, *industry = NULL, *region = NULL, *metadata = NULL, *name = NULL;
    bool json = false;
    for (int i = 2; i < argc; i++) {
        OPT("--db", db);
        OPT("--pepper-file", pepper);
        OPT("--industry", industry);
        OPT("--region", region);
        OPT("--metadata", metadata);
        if (!strcmp(argv[i], "--json")) {
            json = true;
        } else if (argv[i][0] == '-' && argv[i][1] == '-') {
            return cp_usage_error("tenant", "unknown option %s", argv[i]);
        } else if (!name) {
            name = argv[i];
        } else {
            return cp_usage_error("tenant", "unexpected argument '%s'", argv[i]);
        }
    }
    bool needs_name = strcmp(sub, "list") != 0;
    if (strcmp(sub, "create") && strcmp(sub, "list") && strcmp(sub, "show") && strcmp(sub, "suspend") && strcmp(sub, "resume"))
        return cp_usage_error("tenant", "unknown command '%s'", sub);
    if (needs_name && !name) return cp_usage_error("tenant", "%s needs a tenant NAME", sub);
    if (!needs_name && name) return cp_usage_error("tenant", "unexpected argument '%s'", name);
    if (strcmp(sub, "create") && (industry || region || metadata))
        return cp_usage_error("tenant", "--industry, --region and --metadata go with create");
    store *s;
    int rc = cp_open("tenant", db, pepper, &s);
    if (rc) return rc;
    cirrus_err err = {{0}};
    cirrus_status st = CIRRUS_OK;
    if (!strcmp(sub, "create")) {
        store_tenant t;
        st = tenancy_tenant_create(s, name, industry, region, metadata, &t, &err);
        if (!st) {
            if (json) cp_print_json(tenant_json(&t));
            else printf("created tenant %s (id %lld)\n", t.name, (long long)t.id);
        }
    } else if (!strcmp(sub, "list")) {
        list_ctx x = {json, json_array()};
        if (!json) printf("%-24s %-9s %-16s %-12s %s\n", "NAME", "STATUS", "INDUSTRY", "REGION", "METADATA");
        st = store_tenant_list(s, list_one, &x, &err);
        if (!st && json) cp_print_json(x.arr);
        else json_decref(x.arr);
    } else if (!strcmp(sub, "show")) {
        rc = show(s, name, json);
    } else {
        bool suspend = !strcmp(sub, "suspend");
        st = tenancy_tenant_set_suspended(s, name, suspend, &err);
        if (!st) printf("tenant %s %s\n", name, suspend ? "suspended: its requests get 403 from now on" : "active again");
    }
    store_close(s);
    if (st) return cp_fail(st, &err);
    return rc;
}
