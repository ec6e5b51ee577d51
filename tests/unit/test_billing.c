/*
 * billing: exact money parsing, the calendar, the rating rule (half-even per record and class),
 * the worst case admission reserves, and invoices that reconcile with the ledger to the micro-unit
 * over a month of mixed traffic with a plan change and a price change mid-month; a closed invoice
 * never changes and closing twice changes nothing.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "billing/billing.h"
#include "check.h"
#include "tenancy/tenancy.h"

static char g_dir[256], g_db[300];
static _Atomic int64_t g_now;
static int64_t fake_now(void *ud) {
    (void)ud;
    return atomic_load(&g_now);
}

static int64_t date(const char *s) {
    int64_t v = 0;
    cirrus_err err;
    if (billing_parse_date("test", s, &v, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        exit(2);
    }
    return v;
}

/* The test's own half-even division, written differently from billing's (int64 only: the test
 * keeps its products below 2^62). */
static int64_t rhe(int64_t n, int64_t d) {
    int64_t q = n / d, r = n % d;
    if (2 * r > d || (2 * r == d && q % 2 == 1)) q++;
    return q;
}

static void test_money_and_dates(void) {
    int64_t v;
    cirrus_err err;
    CHECK(billing_parse_money("x", "0.15", &v, &err) == CIRRUS_OK && v == 150000);
    CHECK(billing_parse_money("x", "12", &v, &err) == CIRRUS_OK && v == 12000000);
    CHECK(billing_parse_money("x", "12.", &v, &err) == CIRRUS_OK && v == 12000000);
    CHECK(billing_parse_money("x", ".5", &v, &err) == CIRRUS_OK && v == 500000);
    CHECK(billing_parse_money("x", "0.000001", &v, &err) == CIRRUS_OK && v == 1);
    CHECK(billing_parse_money("x", "150000u", &v, &err) == CIRRUS_OK && v == 150000);
    CHECK(billing_parse_money("x", "1.2345678", &v, &err) == CIRRUS_ERR_INVALID);
    CHECK(billing_parse_money("x", "-1", &v, &err) == CIRRUS_ERR_INVALID);
    CHECK(billing_parse_money("x", "1e3", &v, &err) == CIRRUS_ERR_INVALID);
    CHECK(billing_parse_money("x", "", &v, &err) == CIRRUS_ERR_INVALID);
    CHECK(billing_parse_money("x", ".", &v, &err) == CIRRUS_ERR_INVALID);
    CHECK(billing_parse_money("x", "1.5u", &v, &err) == CIRRUS_ERR_INVALID);
    CHECK(billing_parse_money("x", "99999999999999999999", &v, &err) == CIRRUS_ERR_RANGE);
    char b[32];
    billing_format_money(-1234567, b, sizeof b);
    CHECK(!strcmp(b, "-1.234567"));
    billing_format_money(0, b, sizeof b);
    CHECK(!strcmp(b, "0.000000"));
    billing_format_money(INT64_MIN, b, sizeof b);
    CHECK(!strcmp(b, "-9223372036854.775808"));

    CHECK(date("2025-03-01") == 1740787200);
    CHECK(date("2025-03-01T01:02:03Z") == 1740787200 + 3723);
    CHECK(date("2024-02-29") == 1709164800);
    CHECK(billing_parse_date("x", "2023-02-29", &v, &err) == CIRRUS_ERR_RANGE);
    CHECK(billing_parse_date("x", "2025-13-01", &v, &err) == CIRRUS_ERR_RANGE);
    CHECK(billing_parse_date("x", "2025-3-1", &v, &err) == CIRRUS_ERR_INVALID);
    int64_t from, to;
    CHECK(billing_parse_month("2024-02", &from, &to, &err) == CIRRUS_OK && to - from == 29 * 86400 && from == date("2024-02-01"));
    CHECK(billing_parse_month("2024-12", &from, &to, &err) == CIRRUS_OK && to == date("2025-01-01"));
    CHECK(billing_parse_month("2024-00", &from, &to, &err) == CIRRUS_ERR_INVALID);
    billing_month_bounds(date("2024-12-31T23:59:59"), &from, &to);
    CHECK(from == date("2024-12-01") && to == date("2025-01-01"));
    char m[8], t[32];
    billing_month_of(date("2025-03-31T23:59:59"), m);
    CHECK(!strcmp(m, "2025-03"));
    billing_format_time(date("2025-03-01T01:02:03"), t);
    CHECK(!strcmp(t, "2025-03-01T01:02:03Z"));
}

static void test_rating(void) {
    /* half-even */
    CHECK(billing_muldiv_half_even(1, 500000, 1000000) == 0);
    CHECK(billing_muldiv_half_even(3, 500000, 1000000) == 2);
    CHECK(billing_muldiv_half_even(5, 500000, 1000000) == 2);
    CHECK(billing_muldiv_half_even(7, 500000, 1000000) == 4);
    CHECK(billing_muldiv_half_even(1, 600000, 1000000) == 1);
    CHECK(billing_muldiv_half_even(1, 400000, 1000000) == 0);
    CHECK(billing_muldiv_half_even(BILLING_TOKENS_MAX, BILLING_PRICE_MAX, 1000000) == BILLING_TOKENS_MAX * 1000000);

    /* $0.15 / $0.075 / $0.60 per 1M tokens: the rule, per class */
    store_price p = {.id = 7, .input = 150000, .cached_input = 75000, .output = 600000};
    billing_tokens tk = {1000, 200, 500};
    billing_cost c;
    cirrus_err err;
    CHECK(billing_rate(&p, &tk, &c, &err) == CIRRUS_OK);
    CHECK(c.input == 120 && c.cached == 15 && c.output == 300 && c.total == 435);
    tk = (billing_tokens){3, 1, 1}; /* 2*0.15 = 0.3 -> 0; 1*0.075 -> 0; 1*0.6 -> 1 */
    CHECK(billing_rate(&p, &tk, &c, &err) == CIRRUS_OK && c.input == 0 && c.cached == 0 && c.output == 1);
    tk = (billing_tokens){10, 11, 0};
    CHECK(billing_rate(&p, &tk, &c, &err) == CIRRUS_ERR_RANGE);
    tk = (billing_tokens){-1, 0, 0};
    CHECK(billing_rate(&p, &tk, &c, &err) == CIRRUS_ERR_RANGE);

    /* the worst case bounds every settlement within the admission */
    unsigned seed = 12345;
    int bad = 0;
    for (int i = 0; i < 20000; i++) {
        store_price q = {.input = rand_r(&seed) % 20000000, .cached_input = rand_r(&seed) % 20000000, .output = rand_r(&seed) % 80000000};
        int64_t prompt = rand_r(&seed) % 5000, max = 1 + rand_r(&seed) % 5000;
        int64_t worst = billing_worst_case(&q, prompt, max);
        int64_t pp = prompt ? rand_r(&seed) % (prompt + 1) : 0;
        billing_tokens u = {pp, pp ? rand_r(&seed) % (pp + 1) : 0, rand_r(&seed) % (max + 1)};
        if (i % 4 == 0) u = (billing_tokens){prompt, prompt / 2, max};
        if (billing_rate(&q, &u, &c, &err) != CIRRUS_OK || c.total > worst) bad++;
    }
    CHECK_MSG(bad == 0, "%d settlements above their worst case", bad);
}

/* ---- a month of traffic ------------------------------------------------------------------------- */

typedef struct {
    int64_t from_us, to_us, sum;
} window_sum;

static int add_cost(void *ud, const store_usage *u) {
    window_sum *w = ud;
    if (u->t_admit >= w->from_us && u->t_admit < w->to_us) w->sum += u->cost;
    return 0;
}

static int64_t ledger_sum(store *s, int64_t tenant, int64_t from_s, int64_t to_s) {
    window_sum w = {from_s * 1000000, to_s * 1000000, 0};
    cirrus_err err;
    CHECK(store_usage_list(s, tenant, 0, INT64_MAX, add_cost, &w, &err) == CIRRUS_OK);
    return w.sum;
}

static void test_invoice(void) {
    store *s;
    cirrus_err err = {{0}};
    CHECK(store_open(g_db, &s, &err) == CIRRUS_OK);
    CHECK(tenancy_tenant_create(s, "mix", "video", "us", NULL, NULL, &err) == CIRRUS_OK);
    CHECK(tenancy_tenant_create(s, "quiet", NULL, NULL, NULL, NULL, &err) == CIRRUS_OK);
    char key[TENANCY_KEY_LEN + 1];
    CHECK(tenancy_key_create(s, "mix", STORE_SCOPE_INFERENCE, 0, key, NULL, &err) == CIRRUS_OK);
    CHECK(billing_price_set(s, "a", date("2025-01-01"), 150000, 75000, 600000, NULL, &err) == CIRRUS_OK);
    CHECK(billing_price_set(s, "a", date("2025-03-20"), 200000, 100000, 800000, NULL, &err) == CIRRUS_OK); /* price change */
    CHECK(billing_price_set(s, "b", date("2025-01-01"), 3000000, 1500000, 15000000, NULL, &err) == CIRRUS_OK);
    /* committed spend until March 15th, then reserved capacity */
    store_plan p;
    tenancy_plan_default(&p);
    p.kind = STORE_PLAN_COMMITTED;
    p.commit_min = 5000000; /* 5.00 a month */
    p.discount_bp = 1000;   /* 10% */
    p.effective_from = date("2025-02-01");
    CHECK(tenancy_plan_set(s, "mix", &p, &err) == CIRRUS_OK);
    tenancy_plan_default(&p);
    p.kind = STORE_PLAN_RESERVED;
    p.fee = 300000000; /* 300.00 a month */
    p.reserved_tpm = 10000;
    p.priority = 5;
    p.effective_from = date("2025-03-15");
    CHECK(tenancy_plan_set(s, "mix", &p, &err) == CIRRUS_OK);
    CHECK(billing_credit_add(s, "mix", "2025-03", 1000000, "service credit", &err) == CIRRUS_OK);
    CHECK(billing_credit_add(s, "mix", "2025-3", 1, "x", &err) == CIRRUS_ERR_INVALID);
    store_tenant mix;
    CHECK(store_tenant_get(s, "mix", &mix, &err) == CIRRUS_OK);

    atomic_store(&g_now, date("2025-03-01") * 1000000);
    tenancy_config cfg = {.db = g_db, .now_us = fake_now, .refresh_ms = -1};
    tenancy *t;
    CHECK(tenancy_open(&cfg, &t, NULL, &err) == CIRRUS_OK);
    unsigned seed = 99;
    int n_ok = 0;
    /* 600 requests, one every ~74 minutes across March; a few cancelled mid-stream */
    for (int i = 0; i < 600; i++) {
        atomic_fetch_add(&g_now, (int64_t)(31 * 86400 / 601) * 1000000);
        char id[32];
        snprintf(id, sizeof id, "inv-%d", i);
        int64_t prompt = 1 + rand_r(&seed) % 3000, max = 1 + rand_r(&seed) % 1000;
        tenancy_admit_args a = {.request_id = id, .model = i % 3 ? "a" : "b", .prompt_tokens = prompt, .max_tokens = max};
        tenancy_decision d;
        tenancy_req *r;
        CHECK(tenancy_admit(t, key, strlen(key), &a, &d, &r) == CIRRUS_OK);
        if (!r) continue;
        if (i == 0) CHECK(tenancy_req_grant(r)->weight == 1);
        if (i == 599) CHECK(tenancy_req_grant(r)->weight == 5 && tenancy_req_grant(r)->reserved_tpm == 10000);
        int64_t cached = rand_r(&seed) % (prompt + 1), done = rand_r(&seed) % (max + 1);
        tenancy_progress(t, r, cached, done / 2);
        tenancy_usage u = {prompt, cached, done};
        tenancy_settle(t, r, &u, i % 17 == 0 ? LEDGER_CANCELLED : done == max ? LEDGER_LENGTH : LEDGER_OK);
        n_ok++;
    }
    CHECK(n_ok == 600);
    CHECK(ledger_flush(tenancy_ledger(t), 30000) == CIRRUS_OK);

    /* the draft, and the same numbers computed independently */
    billing_invoice *inv;
    CHECK(billing_invoice_get(s, "mix", "2025-03", &inv, &err) == CIRRUS_OK);
    int64_t m0 = date("2025-03-01"), mid = date("2025-03-15"), m1 = date("2025-04-01");
    int64_t usage = ledger_sum(s, mix.id, m0, m1), usage1 = ledger_sum(s, mix.id, m0, mid);
    int64_t month = m1 - m0;
    int64_t min1 = rhe(5000000LL * (mid - m0), month);
    int64_t disc1 = rhe(usage1 * 1000, 10000);
    int64_t trueup = min1 > usage1 - disc1 ? min1 - (usage1 - disc1) : 0;
    int64_t fee2 = rhe(300000000LL * (m1 - mid), month);
    int64_t expect = usage + fee2 + trueup - disc1 - 1000000;
    int64_t lines = 0, usage_lines = 0;
    for (size_t i = 0; i < inv->n_lines; i++) {
        lines += inv->lines[i].amount;
        if (inv->lines[i].kind == BILLING_LINE_USAGE) usage_lines += inv->lines[i].amount;
    }
    printf("invoice: usage %lld (first half %lld), discount %lld, true-up %lld, reserved fee %lld, credit 1000000, total %lld\n",
           (long long)usage, (long long)usage1, (long long)disc1, (long long)trueup, (long long)fee2, (long long)inv->total);
    CHECK(inv->requests == 600 && inv->open_records == 0 && !inv->closed);
    CHECK_MSG(inv->usage == usage && usage_lines == usage, "invoice usage %lld, lines %lld, ledger %lld", (long long)inv->usage,
              (long long)usage_lines, (long long)usage);
    CHECK(inv->discount == disc1 && inv->true_up == trueup && inv->fees == fee2 && inv->credits == 1000000);
    CHECK_MSG(inv->total == expect && lines == expect, "total %lld, lines %lld, expected %lld", (long long)inv->total, (long long)lines,
              (long long)expect);
    /* a: two price versions this month -> lines per version; b: one */
    int a_versions = 0;
    for (size_t i = 0; i < inv->n_lines; i++)
        if (inv->lines[i].kind == BILLING_LINE_USAGE && !strcmp(inv->lines[i].model, "a") && !strcmp(inv->lines[i].token_class, "output"))
            a_versions++;
    CHECK(a_versions == 2);
    billing_invoice_free(inv);

    /* closing: not before the month is over, not while a record is open */
    bool already;
    CHECK(billing_invoice_close(s, "mix", "2025-03", date("2025-03-31T23:00:00"), &inv, &already, &err) == CIRRUS_ERR_INVALID);
    atomic_store(&g_now, date("2025-03-31T23:59:00") * 1000000);
    tenancy_admit_args a = {.request_id = "late", .model = "a", .prompt_tokens = 10, .max_tokens = 10};
    tenancy_decision d;
    tenancy_req *late;
    CHECK(tenancy_admit(t, key, strlen(key), &a, &d, &late) == CIRRUS_OK && late);
    CHECK(ledger_flush(tenancy_ledger(t), 30000) == CIRRUS_OK);
    CHECK(billing_invoice_close(s, "mix", "2025-03", date("2025-04-02"), &inv, &already, &err) == CIRRUS_ERR_INVALID &&
          strstr(err.msg, "open"));
    atomic_store(&g_now, date("2025-04-01T00:00:30") * 1000000); /* settles after midnight: still March's */
    tenancy_usage lu = {10, 0, 10};
    CHECK(tenancy_sync(t, tenancy_settle(t, late, &lu, LEDGER_OK), 30000) == CIRRUS_OK);
    int64_t usage_final = ledger_sum(s, mix.id, m0, m1);
    CHECK(usage_final > usage);

    CHECK(billing_invoice_close(s, "mix", "2025-03", date("2025-04-02"), &inv, &already, &err) == CIRRUS_OK && !already);
    int64_t total = inv->total;
    CHECK(inv->closed && total == expect + (usage_final - usage));
    char *json1, *json2, *csv;
    CHECK(billing_invoice_json(inv, &json1, &err) == CIRRUS_OK);
    CHECK(billing_invoice_csv(inv, &csv, &err) == CIRRUS_OK);
    size_t n_lines = inv->n_lines, csv_rows = 0;
    for (char *c = csv; *c; c++) csv_rows += *c == '\n';
    CHECK(csv_rows == n_lines + 2 && strstr(csv, "\"invoice total (USD)\""));
    billing_invoice_free(inv);

    /* closing twice changes nothing; later changes do not reach a closed invoice */
    CHECK(billing_invoice_close(s, "mix", "2025-03", date("2025-05-01"), &inv, &already, &err) == CIRRUS_OK && already);
    CHECK(inv->total == total && inv->closed_at == date("2025-04-02"));
    billing_invoice_free(inv);
    CHECK(billing_price_set(s, "a", date("2025-03-02"), 9, 9, 9, NULL, &err) == CIRRUS_OK);
    CHECK(billing_credit_add(s, "mix", "2025-03", 5, "too late", &err) == CIRRUS_ERR_INVALID);
    CHECK(billing_invoice_get(s, "mix", "2025-03", &inv, &err) == CIRRUS_OK);
    CHECK(billing_invoice_json(inv, &json2, &err) == CIRRUS_OK);
    CHECK(!strcmp(json1, json2));
    billing_invoice_free(inv);
    free(json1);
    free(json2);
    free(csv);

    /* a tenant with no usage and no plan: an empty, zero invoice */
    CHECK(billing_invoice_get(s, "quiet", "2025-03", &inv, &err) == CIRRUS_OK);
    CHECK(inv->total == 0 && inv->n_lines == 0 && inv->requests == 0);
    billing_invoice_free(inv);
    CHECK(billing_invoice_get(s, "nobody", "2025-03", &inv, &err) == CIRRUS_ERR_NOT_FOUND);
    tenancy_close(t);
    store_close(s);
}

int main(void) {
    const char *tmp = getenv("TMPDIR");
    snprintf(g_dir, sizeof g_dir, "%s/cirrus-billing-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(g_dir)) return 2;
    snprintf(g_db, sizeof g_db, "%s/test.db", g_dir);
    test_money_and_dates();
    test_rating();
    test_invoice();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_dir);
    return check_done("test_billing");
}
