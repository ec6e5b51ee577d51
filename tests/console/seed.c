/*
 * console_seed DB: six past months (and the current one, so far) of usage for the tenants the
 * browser test created with the CLI, written through the ledger and rated by billing — the same
 * path a served request takes, with admission times in the past (ledger_open_args.t_admit).
 *
 * No CLI writes historical usage, and the console needs months of it to show trends, shares and
 * alerts; `cirrus demo` will do this for people. The amounts are fixed here so the test can tell
 * which tenant must lead the charts: vidstream is about a quarter of revenue and drops by ~40% in
 * the last full month (a revenue-drop alert), codepilot grows, a long tail stays small. Tenants
 * that do not exist in DB are skipped; prices must exist from before the first seeded month.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "billing/billing.h"
#include "ledger/ledger.h"
#include "store/store.h"

#define MONTHS 7 /* six full past months, then the current one so far */

typedef struct {
    const char *name;
    double usd[MONTHS]; /* target revenue per month, oldest first */
} plan_row;

static const plan_row k_rows[] = {
    {"vidstream", {6500, 7600, 8800, 10200, 11000, 6500, 2300}},
    {"shopmart", {6000, 6200, 6500, 6800, 7000, 7400, 2500}},
    {"taxwise", {4000, 4200, 4500, 4800, 5000, 5200, 1800}},
    {"regional-ai", {2500, 2600, 2800, 3000, 3300, 3600, 1200}},
    {"codepilot", {1500, 2000, 2600, 3200, 3900, 4600, 1700}},
    {"tail-01", {600, 620, 580, 640, 610, 650, 200}},
    {"tail-02", {480, 500, 520, 470, 490, 510, 160}},
    {"tail-03", {400, 380, 420, 410, 430, 440, 150}},
    {"tail-04", {300, 320, 310, 330, 340, 350, 110}},
    {"tail-05", {250, 240, 260, 270, 255, 265, 90}},
    {"tail-06", {200, 210, 190, 220, 215, 230, 70}},
    {"tail-07", {150, 160, 170, 165, 175, 180, 60}},
    {"tail-08", {0, 0, 0, 120, 140, 160, 50}},
};

static const char *k_model = "stories";

static cirrus_status rate_with(void *ud, int64_t price_id, const ledger_tokens *t, ledger_cost *out) {
    const store_price *p = billing_price_by_id(ud, price_id);
    if (!p) return CIRRUS_ERR_NOT_FOUND;
    billing_tokens bt = {t->prompt, t->cached, t->completion};
    billing_cost c;
    cirrus_status st = billing_rate(p, &bt, &c, NULL);
    if (!st) *out = (ledger_cost){c.input, c.cached, c.output, c.total};
    return st;
}

/* Unix seconds of day `day` (1-based), 12:00 UTC, in the month `back` months before now's. */
static int64_t when(int back, int day, int64_t now) {
    time_t t = (time_t)now;
    struct tm tm;
    gmtime_r(&t, &tm);
    int y = tm.tm_year + 1900, m = tm.tm_mon - back;
    while (m < 0) m += 12, y--;
    return billing_days_from_civil(y, m + 1, day) * 86400 + 12 * 3600;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: console_seed DB\n");
        return 2;
    }
    cirrus_err err = {{0}};
    store *s = NULL, *own = NULL;
    billing_prices *prices = NULL;
    ledger *l = NULL;
    int rc = 1, records = 0;
    if (store_open(argv[1], &s, &err) || store_reopen(s, &own, &err) || billing_prices_load(s, &prices, &err)) goto out;
    ledger_config lc = {.rate = rate_with, .rate_ud = prices};
    ledger_recovery rec;
    if (ledger_new(own, &lc, &l, &rec, &err)) {
        own = NULL; /* the ledger took it */
        goto out;
    }
    own = NULL;
    int64_t now = (int64_t)time(NULL);
    for (size_t i = 0; i < sizeof k_rows / sizeof k_rows[0]; i++) {
        store_tenant t;
        if (store_tenant_get(s, k_rows[i].name, &t, &err) != CIRRUS_OK) continue; /* not created by this test */
        for (int mi = 0; mi < MONTHS; mi++) {
            int back = MONTHS - 1 - mi;
            /* four requests a past month; the current month's so far, in the hours before now */
            for (int k = 0; k < 4; k++) {
                int64_t at = back ? when(back, 3 + 7 * k, now) : now - 3600 * (k + 1);
                const store_price *p = billing_price_at(prices, k_model, at);
                if (!p) {
                    cirrus_errf(&err, CIRRUS_ERR_NOT_FOUND, "no price for %s at %lld: set one from before the first month", k_model, (long long)at);
                    goto out;
                }
                /* prompt P, 10% of it cached, completion P/4: cost ~ P * (0.9 in + 0.1 cached + 0.25 out) */
                double per_token = (0.9 * (double)p->input + 0.1 * (double)p->cached_input + 0.25 * (double)p->output) / 1e6;
                int64_t prompt = (int64_t)(k_rows[i].usd[mi] / 4 * 1e6 / per_token);
                if (prompt <= 0) continue;
                ledger_tokens tk = {prompt, prompt / 10, prompt / 4};
                ledger_cost c;
                if (rate_with(prices, p->id, &tk, &c)) goto out;
                char id[96];
                snprintf(id, sizeof id, "seed-%s-%d-%d", k_rows[i].name, mi, k);
                ledger_open_args a = {.request_id = id, .tenant_id = t.id, .model = k_model, .price_id = p->id,
                                      .prompt_tokens = prompt, .reserved = c.total, .t_admit = at * 1000000};
                ledger_rec *r;
                if (ledger_open(l, &a, &r, &err)) goto out;
                ledger_settle(l, r, &tk, &c, LEDGER_OK);
                records++;
            }
        }
    }
    if (ledger_flush(l, 30000)) {
        cirrus_errf(&err, CIRRUS_ERR_IO, "ledger flush timed out");
        goto out;
    }
    printf("console_seed: %d usage records\n", records);
    rc = 0;
out:
    if (rc) fprintf(stderr, "console_seed: %s\n", err.msg[0] ? err.msg : "failed");
    ledger_free(l);
    billing_prices_free(prices);
    store_close(own);
    store_close(s);
    return rc;
}
