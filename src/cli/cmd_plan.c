/*
 * `cirrus plan set|show`: a tenant's plan, limits and budget. `set` writes a new version from a
 * date (default now) that starts from the version in effect then and changes only the options
 * given, so `plan set --tenant t --rpm 60` keeps everything else. Changing --kind clears the
 * other kind's terms (fee, commitment, discount, reserved tokens/min).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "billing/billing.h"
#include "cli/cli.h"
#include "cli/cp_cli.h"
#include "tenancy/tenancy.h"

static const char *usage =
    "usage: cirrus plan <command> --tenant NAME --db PATH|URI [options]\n"
    "  set     a new plan version, from --from DATE (default: now), changing only what is given:\n"
    "    --kind payg|committed|reserved\n"
    "    --fee X                fixed monthly fee (reserved capacity's fee), prorated by the second\n"
    "    --commit X             committed spend: monthly minimum after discount (a true-up line tops it up)\n"
    "    --discount-bp N        committed spend: discount on usage in basis points (1000 = 10%%)\n"
    "    --reserved-tpm N       reserved capacity: tokens/minute the scheduler serves first\n"
    "    --priority N           scheduling weight, 1..1000\n"
    "    --rpm N --tpm N        requests and tokens per minute (0: no limit)\n"
    "    --max-concurrent N     requests in flight (0: no limit)\n"
    "    --max-tokens N         max_tokens per request (0: no limit)\n"
    "    --budget X             hard cap per calendar month: requests beyond it get 429 insufficient_quota\n"
    "    --soft-budget X        alert threshold per month\n"
    "    --models a,b,c         allowed models (\"*\": all)\n"
    "    --watermark on|off     watermark this tenant's outputs (default on; docs/protection.md)\n"
    "    --top-logprobs N       most top_logprobs a request gets, 0..20 (default 5; 0: none)\n"
    "  show    every version, the one in effect marked (--json for machine-readable)\n"
    CP_DB_HELP
    "Money: decimal currency (12.50) or integer micro-units with a u suffix (12500000u).\n";

#define OPT(name, var)                                  \
    if (cli_opt(argc, argv, &i, name, &var)) {          \
        if (!var) return 2;                             \
        continue;                                       \
    }

static json_t *plan_json(const store_plan *p, bool current) {
    char f[32];
    json_t *o = json_object();
    json_object_set_new(o, "effective_from", json_string(cp_time(p->effective_from, f)));
    json_object_set_new(o, "current", json_boolean(current));
    json_object_set_new(o, "kind", json_string(tenancy_plan_kind_str(p->kind)));
    cp_json_money(o, "fee", p->fee);
    cp_json_money(o, "commit", p->commit_min);
    json_object_set_new(o, "discount_bp", json_integer(p->discount_bp));
    json_object_set_new(o, "reserved_tpm", json_integer(p->reserved_tpm));
    json_object_set_new(o, "priority", json_integer(p->priority));
    json_object_set_new(o, "rpm", json_integer(p->rpm));
    json_object_set_new(o, "tpm", json_integer(p->tpm));
    json_object_set_new(o, "max_concurrent", json_integer(p->max_concurrent));
    json_object_set_new(o, "max_tokens", json_integer(p->max_tokens));
    cp_json_money(o, "budget", p->budget_hard);
    cp_json_money(o, "soft_budget", p->budget_soft);
    json_t *m = p->models[0] ? json_loads(p->models, 0, NULL) : NULL;
    json_object_set_new(o, "models", m ? m : json_string("*"));
    json_object_set_new(o, "watermark", json_boolean(!p->no_watermark));
    json_object_set_new(o, "top_logprobs_cap", json_integer(tenancy_plan_top_logprobs(p)));
    return o;
}

typedef struct {
    json_t *arr;
    int64_t now;
    int current;
} show_ctx;

static int plan_row(void *ud, const store_plan *p) {
    show_ctx *x = ud;
    if (p->effective_from <= x->now) x->current = (int)json_array_size(x->arr);
    json_array_append_new(x->arr, plan_json(p, false));
    return 0;
}

/* "a,b" -> ["a","b"]; "*" -> "" (all) */
static bool models_json(const char *list, char *out, size_t cap) {
    if (!strcmp(list, "*")) {
        out[0] = 0;
        return true;
    }
    json_t *a = json_array();
    char buf[STORE_MODELS_MAX];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
        if (*tok) json_array_append_new(a, json_string(tok));
    char *s = json_dumps(a, JSON_COMPACT);
    json_decref(a);
    bool ok = s && strlen(s) < cap;
    if (ok) snprintf(out, cap, "%s", s);
    free(s);
    return ok;
}

int cmd_plan(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return 0;
    }
    if (argc < 2) return cp_usage_error("plan", "missing command (set, show)");
    const char *sub = argv[1], *db = NULL, *pepper = NULL, *tenant = NULL, *from_s = NULL, *kind_s = NULL, *models = NULL;
    const char *fee = NULL, *commit = NULL, *budget = NULL, *soft = NULL;
    const char *disc = NULL, *rtpm = NULL, *prio = NULL, *rpm = NULL, *tpm = NULL, *conc = NULL, *maxtok = NULL;
    const char *wm = NULL, *toplp = NULL;
    bool json = false;
    for (int i = 2; i < argc; i++) {
        OPT("--db", db);
        OPT("--pepper-file", pepper);
        OPT("--tenant", tenant);
        OPT("--from", from_s);
        OPT("--kind", kind_s);
        OPT("--models", models);
        OPT("--fee", fee);
        OPT("--commit", commit);
        OPT("--budget", budget);
        OPT("--soft-budget", soft);
        OPT("--discount-bp", disc);
        OPT("--reserved-tpm", rtpm);
        OPT("--priority", prio);
        OPT("--rpm", rpm);
        OPT("--tpm", tpm);
        OPT("--max-concurrent", conc);
        OPT("--max-tokens", maxtok);
        OPT("--watermark", wm);
        OPT("--top-logprobs", toplp);
        if (!strcmp(argv[i], "--json")) json = true;
        else if (argv[i][0] == '-' && argv[i][1] == '-') return cp_usage_error("plan", "unknown option %s", argv[i]);
        else return cp_usage_error("plan", "unexpected argument '%s'", argv[i]);
    }
    bool set = !strcmp(sub, "set");
    if (!set && strcmp(sub, "show")) return cp_usage_error("plan", "unknown command '%s'", sub);
    if (!tenant) return cp_usage_error("plan", "--tenant NAME is required");
    store_plan_kind kind = STORE_PLAN_PAYG;
    if (kind_s && !tenancy_plan_kind_parse(kind_s, &kind)) return cp_usage_error("plan", "--kind must be payg, committed or reserved");
    int64_t from = (int64_t)time(NULL);
    if (from_s && !cp_date("--from", from_s, &from)) return 1;
    store *s;
    int rc = cp_open("plan", db, pepper, &s);
    if (rc) return rc;
    cirrus_err err = {{0}};
    store_tenant t;
    cirrus_status st = store_tenant_get(s, tenant, &t, &err);
    if (st) {
        store_close(s);
        return cp_fail(st, &err);
    }
    if (!set) {
        show_ctx x = {json_array(), (int64_t)time(NULL), -1};
        st = store_plan_list(s, t.id, plan_row, &x, &err);
        store_close(s);
        if (st) {
            json_decref(x.arr);
            return cp_fail(st, &err);
        }
        if (x.current >= 0) json_object_set_new(json_array_get(x.arr, (size_t)x.current), "current", json_true());
        if (json) {
            json_t *o = json_object();
            json_object_set_new(o, "tenant", json_string(tenant));
            json_object_set_new(o, "versions", x.arr);
            cp_print_json(o);
            return 0;
        }
        if (!json_array_size(x.arr)) printf("%s: no plan set: pay-as-you-go, no limits, no budget\n", tenant);
        size_t i;
        json_t *o;
        json_array_foreach(x.arr, i, o) {
            char *line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
            printf("%s %s\n", json_is_true(json_object_get(o, "current")) ? "*" : " ", line ? line : "");
            free(line);
        }
        json_decref(x.arr);
        return 0;
    }
    store_plan p;
    st = tenancy_plan_at(s, t.id, from, &p, &err);
    if (!st) {
        if (kind_s && kind != p.kind) { /* the other kind's terms do not carry over */
            p.kind = kind;
            p.fee = p.commit_min = p.discount_bp = p.reserved_tpm = 0;
        }
        p.effective_from = from;
        bool ok = true;
        if (fee) ok = ok && cp_money("--fee", fee, &p.fee);
        if (commit) ok = ok && cp_money("--commit", commit, &p.commit_min);
        if (budget) ok = ok && cp_money("--budget", budget, &p.budget_hard);
        if (soft) ok = ok && cp_money("--soft-budget", soft, &p.budget_soft);
        if (disc) ok = ok && cp_count("--discount-bp", disc, &p.discount_bp);
        if (rtpm) ok = ok && cp_count("--reserved-tpm", rtpm, &p.reserved_tpm);
        if (prio) ok = ok && cp_count("--priority", prio, &p.priority);
        if (rpm) ok = ok && cp_count("--rpm", rpm, &p.rpm);
        if (tpm) ok = ok && cp_count("--tpm", tpm, &p.tpm);
        if (conc) ok = ok && cp_count("--max-concurrent", conc, &p.max_concurrent);
        if (maxtok) ok = ok && cp_count("--max-tokens", maxtok, &p.max_tokens);
        if (wm) {
            if (strcmp(wm, "on") && strcmp(wm, "off")) {
                cli_error("--watermark must be on or off");
                ok = false;
            }
            p.no_watermark = !strcmp(wm, "off");
        }
        if (toplp) {
            int64_t cap = 0;
            ok = ok && cp_count("--top-logprobs", toplp, &cap);
            if (ok && cap > 20) {
                cli_error("--top-logprobs must be in [0, 20]");
                ok = false;
            }
            p.top_logprobs_cap = cap == 0 ? -1 : cap; /* store_plan: 0 means the default (5) */
        }
        if (models && !models_json(models, p.models, sizeof p.models)) {
            cli_error("--models: the list is too long");
            ok = false;
        }
        if (!ok) {
            store_close(s);
            return 1;
        }
        st = tenancy_plan_set(s, tenant, &p, &err);
    }
    store_close(s);
    if (st) return cp_fail(st, &err);
    json_t *o = plan_json(&p, p.effective_from <= (int64_t)time(NULL));
    if (json) {
        cp_print_json(o);
    } else {
        char *line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        printf("plan of %s from %s: %s\n", tenant, json_string_value(json_object_get(o, "effective_from")), line ? line : "");
        free(line);
        json_decref(o);
    }
    return 0;
}
