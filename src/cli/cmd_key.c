/*
 * `cirrus key create|list|revoke`: API keys. A new key is printed once, alone on the last line of
 * stdout, so scripts can take it with `tail -n 1`; it is stored only as a keyed hash.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/cp_cli.h"
#include "tenancy/tenancy.h"

static const char *usage =
    "usage: cirrus key <command> --db PATH|URI [options]\n"
    "  create --tenant NAME [--scope inference|admin] [--expires DATE]\n"
    "                         a new key; printed once, alone on the last line of stdout\n"
    "  list [--tenant NAME]   keys by prefix (never the keys themselves)\n"
    "  revoke PREFIX|KEY      refused from the next request on (a running server: within 0.5 s)\n"
    "  --json                 machine-readable output (list)\n"
    CP_DB_HELP
    "DATE: YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC). The key-hash secret (PATH.pepper, --pepper-file\n"
    "or $CIRRUS_PEPPER_FILE): keep it with the database, and out of its backups.\n";

#define OPT(name, var)                                  \
    if (cli_opt(argc, argv, &i, name, &var)) {          \
        if (!var) return 2;                             \
        continue;                                       \
    }

typedef struct {
    store *s;
    bool json;
    json_t *arr;
    int64_t now;
} list_ctx;

typedef struct {
    int64_t id;
    char name[STORE_NAME_MAX];
} name_of;

static int find_name(void *ud, const store_tenant *t) {
    name_of *n = ud;
    if (t->id != n->id) return 0;
    memcpy(n->name, t->name, sizeof n->name);
    return 1;
}

static int key_row(void *ud, const store_key *k) {
    list_ctx *x = ud;
    char c[32], e[32];
    const char *status = k->revoked_at ? "revoked" : k->expires_at && k->expires_at <= x->now ? "expired" : "active";
    json_t *o = json_object();
    json_object_set_new(o, "prefix", json_string(k->prefix));
    json_object_set_new(o, "tenant_id", json_integer(k->tenant_id));
    json_object_set_new(o, "scope", json_string(tenancy_scope_str(k->scope)));
    json_object_set_new(o, "status", json_string(status));
    json_object_set_new(o, "created_at", json_string(cp_time(k->created_at, c)));
    json_object_set_new(o, "expires_at", json_string(cp_time(k->expires_at, e)));
    if (k->revoked_at) json_object_set_new(o, "revoked_at", json_string(cp_time(k->revoked_at, c)));
    json_array_append_new(x->arr, o);
    return 0;
}

int cmd_key(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return 0;
    }
    if (argc < 2) return cp_usage_error("key", "missing command (create, list, revoke)");
    const char *sub = argv[1], *db = NULL, *pepper = NULL, *tenant = NULL, *scope_s = NULL, *expires_s = NULL, *arg = NULL;
    bool json = false;
    for (int i = 2; i < argc; i++) {
        OPT("--db", db);
        OPT("--pepper-file", pepper);
        OPT("--tenant", tenant);
        OPT("--scope", scope_s);
        OPT("--expires", expires_s);
        if (!strcmp(argv[i], "--json")) json = true;
        else if (argv[i][0] == '-' && argv[i][1] == '-') return cp_usage_error("key", "unknown option %s", argv[i]);
        else if (!arg) arg = argv[i];
        else return cp_usage_error("key", "unexpected argument");
    }
    bool create = !strcmp(sub, "create"), list = !strcmp(sub, "list"), revoke = !strcmp(sub, "revoke");
    if (!create && !list && !revoke) return cp_usage_error("key", "unknown command '%s'", sub);
    /* never echo the argument: it may be a key */
    if (revoke && !arg) return cp_usage_error("key", "revoke needs a key PREFIX (or the key)");
    if (!revoke && arg) return cp_usage_error("key", "unexpected argument");
    if (create && !tenant) return cp_usage_error("key", "create needs --tenant NAME");
    if (!create && (scope_s || expires_s)) return cp_usage_error("key", "--scope and --expires go with create");
    int scope = STORE_SCOPE_INFERENCE;
    if (scope_s && !(scope = tenancy_scope_parse(scope_s))) return cp_usage_error("key", "--scope must be inference or admin");
    int64_t expires = 0;
    if (expires_s && !cp_date("--expires", expires_s, &expires)) return 1;
    int64_t now = (int64_t)time(NULL);
    if (expires_s && expires <= now) {
        cli_error("--expires %s is in the past", expires_s);
        return 1;
    }
    store *s;
    int rc = cp_open("key", db, pepper, &s);
    if (rc) return rc;
    cirrus_err err = {{0}};
    cirrus_status st = CIRRUS_OK;
    if (create) {
        char key[TENANCY_KEY_LEN + 1];
        store_key k;
        st = tenancy_key_create(s, tenant, scope, expires, key, &k, &err);
        if (!st) {
            char e[32];
            printf("key %s for tenant %s, scope %s, expires %s\n", k.prefix, tenant, tenancy_scope_str(scope), cp_time(expires, e));
            printf("this is the only time the key is shown; store it now:\n");
            printf("%s\n", key);
            fflush(stdout);
            memset(key, 0, sizeof key);
        }
    } else if (list) {
        int64_t tid = 0;
        if (tenant) {
            store_tenant t;
            st = store_tenant_get(s, tenant, &t, &err);
            tid = t.id;
        }
        list_ctx x = {s, json, json_array(), now};
        if (!st) st = store_key_list(s, tid, key_row, &x, &err);
        if (!st) {
            /* tenant names, after the key scan (callbacks must not re-enter the store) */
            size_t i;
            json_t *o;
            json_array_foreach(x.arr, i, o) {
                name_of n = {json_integer_value(json_object_get(o, "tenant_id")), ""};
                store_tenant_list(s, find_name, &n, NULL);
                json_object_set_new(o, "tenant", json_string(n.name));
            }
            if (json) {
                cp_print_json(x.arr);
                x.arr = NULL;
            } else {
                printf("%-12s  %-20s %-9s %-7s %-20s %s\n", "PREFIX", "TENANT", "SCOPE", "STATUS", "CREATED", "EXPIRES");
                json_array_foreach(x.arr, i, o) {
                    printf("%-12s  %-20s %-9s %-7s %-20s %s\n", json_string_value(json_object_get(o, "prefix")),
                           json_string_value(json_object_get(o, "tenant")), json_string_value(json_object_get(o, "scope")),
                           json_string_value(json_object_get(o, "status")), json_string_value(json_object_get(o, "created_at")),
                           json_string_value(json_object_get(o, "expires_at")));
                }
            }
        }
        json_decref(x.arr);
    } else {
        st = tenancy_key_revoke(s, arg, &err);
        if (!st) printf("key revoked: refused from the next request on\n");
    }
    store_close(s);
    return st ? cp_fail(st, &err) : 0;
}
