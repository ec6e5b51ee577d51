/*
 * analytics over the real store (no mocks), on both backends (a SQLite file and a PostgreSQL
 * database from the CIRRUS_TEST_SERVERS fixture, tests/unit/store_backends.h): usage written
 * through store.h comes back from an_store_read folded per day × tenant × model × simulated, with
 * plans in effect that day, soft budgets, open records left out, and the date filter applied. If
 * CIRRUS_BIN is set, the same database is also read by `cirrus report concentration --db` and its
 * JSON checked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analytics/analytics.h"
#include "check.h"
#include "store/store.h"
#include "store_backends.h"

#define US_DAY 86400000000LL

static int64_t day_of(const char *s) {
    int64_t d = 0;
    an_day_parse(s, &d);
    return d;
}

static int64_t g_next_id = 1;

static void put_usage(store *s, int64_t tenant, const char *model, const char *day, int64_t cost, int64_t p, int64_t c,
                      int64_t o, bool settled, bool simulated) {
    store_usage u;
    memset(&u, 0, sizeof u);
    u.id = g_next_id++;
    snprintf(u.request_id, sizeof u.request_id, "req-%lld", (long long)u.id);
    u.tenant_id = tenant;
    u.key_id = 1;
    snprintf(u.model, sizeof u.model, "%s", model);
    u.settled = settled;
    u.status = STORE_USAGE_OK;
    u.prompt_tokens = p;
    u.cached_tokens = c;
    u.completion_tokens = o;
    u.price_id = 1;
    u.cost_input = settled ? cost : 0;
    u.cost = settled ? cost : 0;
    u.t_admit = day_of(day) * US_DAY + 3600LL * 1000000 * 13; /* 13:00 UTC */
    u.t_first = u.t_admit + 1000;
    u.t_end = u.t_admit + 2000;
    u.simulated = simulated;
    store_usage_write w = {STORE_UW_OPEN, &u};
    size_t skipped = 0;
    cirrus_err err;
    CHECK(store_usage_write_batch(s, &w, 1, &skipped, &err) == CIRRUS_OK);
}

static const an_record *find(const an_data *d, const char *tenant, const char *model, const char *day, bool sim) {
    for (size_t i = 0; i < d->n; i++)
        if (!strcmp(d->r[i].tenant, tenant) && !strcmp(d->r[i].model, model) && d->r[i].day == day_of(day) &&
            d->r[i].simulated == sim)
            return &d->r[i];
    return NULL;
}

static void run(const tb_store *t) {
    const char *db = t->loc;
    g_next_id = 1;
    cirrus_err err;
    store *s = NULL;
    CHECK(store_open(db, &s, &err) == CIRRUS_OK);
    if (!s) return;

    store_tenant ta = {0}, tb = {0};
    snprintf(ta.name, sizeof ta.name, "acme");
    snprintf(tb.name, sizeof tb.name, "beta");
    snprintf(ta.metadata, sizeof ta.metadata, "{}");
    snprintf(tb.metadata, sizeof tb.metadata, "{}");
    CHECK(store_tenant_insert(s, &ta, &err) == CIRRUS_OK && store_tenant_insert(s, &tb, &err) == CIRRUS_OK);
    /* acme: pay-as-you-go with a soft budget, committed from 2024-02-01. */
    store_plan p1 = {0}, p2 = {0};
    p1.tenant_id = ta.id, p1.effective_from = 0, p1.kind = STORE_PLAN_PAYG, p1.budget_soft = 5000, p1.priority = 1;
    p2.tenant_id = ta.id, p2.effective_from = day_of("2024-02-01") * 86400, p2.kind = STORE_PLAN_COMMITTED;
    p2.budget_soft = 7000, p2.priority = 1;
    CHECK(store_plan_insert(s, &p1, &err) == CIRRUS_OK && store_plan_insert(s, &p2, &err) == CIRRUS_OK);

    put_usage(s, ta.id, "m1", "2024-01-15", 1000, 10, 1, 5, true, false);
    put_usage(s, ta.id, "m1", "2024-01-15", 2500, 20, 0, 7, true, false);
    put_usage(s, ta.id, "m2", "2024-01-15", 300, 3, 0, 1, true, false);
    put_usage(s, tb.id, "m1", "2024-01-15", 4000, 40, 0, 9, true, false);
    put_usage(s, tb.id, "m1", "2024-01-15", 50, 1, 0, 1, true, true);    /* simulated */
    put_usage(s, ta.id, "m1", "2024-02-03", 6000, 60, 6, 6, true, false);
    put_usage(s, tb.id, "m1", "2024-02-03", 999, 9, 0, 9, false, false);  /* still open: not revenue */
    put_usage(s, tb.id, "m1", "2024-03-01", 700, 7, 0, 7, true, false);

    an_data d = {0};
    an_filter all = {AN_NO_DAY, AN_NO_DAY, false};
    CHECK(an_store_read(s, &all, &d, &err) == CIRRUS_OK);
    const an_record *r = find(&d, "acme", "m1", "2024-01-15", false);
    CHECK(r && r->revenue == 3500 && r->requests == 2 && r->prompt_tokens == 30 && r->cached_tokens == 1 &&
          r->completion_tokens == 12 && !strcmp(r->plan, "payg") && r->month == an_day_month(day_of("2024-01-15")));
    r = find(&d, "acme", "m2", "2024-01-15", false);
    CHECK(r && r->revenue == 300 && r->requests == 1);
    r = find(&d, "beta", "m1", "2024-01-15", true);
    CHECK(r && r->revenue == 50 && r->simulated && !strcmp(r->plan, ""));
    r = find(&d, "acme", "m1", "2024-02-03", false);
    CHECK(r && r->revenue == 6000 && !strcmp(r->plan, "committed"));
    CHECK(find(&d, "beta", "m1", "2024-02-03", false) == NULL); /* open records are not revenue */
    CHECK(d.n == 6);
    int64_t sum = 0;
    for (size_t i = 0; i < d.n; i++) sum += d.r[i].revenue;
    CHECK(sum == 1000 + 2500 + 300 + 4000 + 50 + 6000 + 700);
    /* Soft budget from the latest plan (open period). */
    CHECK(d.n_budgets == 1 && !strcmp(d.budgets[0].tenant, "acme") && d.budgets[0].soft == 7000);
    an_data_free(&d);

    /* A date filter, simulated left out; the budget is the plan in effect at the period's end. */
    an_filter jan = {day_of("2024-01-01"), day_of("2024-01-31"), true};
    CHECK(an_store_read(s, &jan, &d, &err) == CIRRUS_OK);
    CHECK(d.n == 3 && find(&d, "beta", "m1", "2024-01-15", true) == NULL);
    CHECK(d.n_budgets == 1 && d.budgets[0].soft == 5000);
    an_cube *c = NULL;
    CHECK(an_cube_build(d.r, d.n, an_day_month(jan.from_day), an_day_month(jan.to_day), &c, &err) == CIRRUS_OK);
    int64_t rev[2];
    an_conc cc;
    CHECK(c && c->n_tenants == 2 && an_cube_tenant_revenue(c, 0, 0, rev, &err) == CIRRUS_OK);
    CHECK(rev[0] == 3800 && rev[1] == 4000);
    CHECK(an_concentration(rev, 2, &cc, &err) == CIRRUS_OK && cc.total == 7800 && cc.n_major == 2);
    an_cube_free(c);
    an_data_free(&d);
    store_close(s);

    /* The CLI on the same file. */
    const char *bin = getenv("CIRRUS_BIN");
    if (bin && *bin) {
        char cmd[1024], out[8192] = "";
        snprintf(cmd, sizeof cmd, "'%s' report concentration --db '%s' --month 2024-01 --json", bin, db);
        FILE *f = popen(cmd, "r");
        CHECK(f != NULL);
        if (f) {
            size_t n = fread(out, 1, sizeof out - 1, f);
            out[n] = 0;
            CHECK(pclose(f) == 0);
        }
        /* acme 3,800 and beta 4,050 (with the simulated 50): beta first, two tenants → highly concentrated */
        CHECK(strstr(out, "\"total_revenue\": 7850") != NULL);
        CHECK(strstr(out, "\"hhi_band\": \"highly concentrated\"") != NULL);
        char *beta = strstr(out, "\"name\": \"beta\""), *acme = strstr(out, "\"name\": \"acme\"");
        CHECK(beta && acme && beta < acme);
        if (!tb_is_pg(t)) snprintf(cmd, sizeof cmd, "'%s' report revenue --db '%s/missing.db' --json 2>/dev/null", bin, t->dir);
        else snprintf(cmd, sizeof cmd, "'%s' report revenue --db '%s_missing' --json 2>/dev/null", bin, db);
        f = popen(cmd, "r");
        CHECK(f && pclose(f) != 0);
    }
}

int main(void) {
    const char *backends[2];
    int nb = tb_backends(backends);
    CHECK_MSG(nb > 0, "no backend to test (CIRRUS_TEST_BACKENDS, CIRRUS_TEST_SERVERS)");
    for (int b = 0; b < nb; b++) {
        tb_store t;
        if (tb_fresh(&t, backends[b], "an_store")) {
            CHECK_MSG(0, "no fresh %s store", backends[b]);
            continue;
        }
        int before = check_failures;
        run(&t);
        printf("%s %s\n", check_failures == before ? "ok  " : "FAIL", backends[b]);
        tb_remove(&t);
    }
    return check_done("test_analytics_store");
}
