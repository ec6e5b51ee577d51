/*
 * billing — money, prices, rating and invoices. Never floating point: every amount is an int64
 * count of micro-units (1e-6) of the store's one currency ("USD" unless meta.currency says else).
 *
 * Prices are per 1,000,000 tokens per token class (input, cached input, output), in micro-units,
 * and versioned by effective date (store_price). A request is rated with the version in effect at
 * its admission; its usage record names that version.
 *
 * RATING RULE (written down once, tested in test_billing):
 *   For each record and each token class c in {input (= prompt - cached), cached_input, output}:
 *       cost_c = round_half_even(tokens_c * price_c / 1,000,000)
 *   and cost = cost_input + cost_cached + cost_output. Rounding is per record and per class, so
 *   an invoice line (model, price version, class) is exactly the sum of its records' cost_c and an
 *   invoice equals its ledger to the micro-unit. Half-even: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2; unbiased
 *   over many records, at most half a micro-unit off any single one.
 *
 * WORST CASE (what admission reserves against a budget):
 *       ceil(prompt * max(price_input, price_cached) / 1e6) + 1 + ceil(max_tokens * price_output / 1e6)
 *   which is >= the rated cost of any settlement with prompt' <= prompt and completion <= max_tokens
 *   (the +1 covers rounding the input/cached split separately: round(a)+round(b) <= a+b+1).
 *
 * INVOICES (per tenant and calendar month, UTC). A record belongs to the month of its admission.
 *   - usage lines: one per (model, price version, token class): tokens, unit price, amount.
 *   - plan segments: each plan version in effect during the month covers [from, to) of it; its
 *     fixed fee and its commitment minimum are prorated by seconds:
 *         prorated(x) = round_half_even(x * seconds_in_segment / seconds_in_month)
 *   - committed spend: a discount line of -round_half_even(usage_in_segment * discount_bp / 10000)
 *     and a true-up line of max(0, prorated(commit_min) - (usage_in_segment - discount)).
 *   - reserved capacity: its fee (prorated) as a line naming the tokens/minute held.
 *   - credits for the month: negative lines, never taking the total below zero.
 *   total = usage + fees + true-ups - discounts - credits, so
 *   invoice total == sum of the month's ledger costs + plan fees (fees, true-ups, discounts) - credits.
 *   A month can be closed once it is over and none of its records is still open; the closed invoice
 *   is stored as JSON and never recomputed or changed (closing twice returns the first).
 */
#ifndef CIRRUS_BILLING_H
#define CIRRUS_BILLING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "store/store.h"

#define BILLING_MICROS 1000000LL          /* micro-units in one unit of currency */
#define BILLING_PRICE_MAX 1000000000000LL /* 1,000,000 currency per 1M tokens: anything above is a typo */
#define BILLING_TOKENS_MAX (1LL << 40)    /* per record and class */

/* ---- money and dates ------------------------------------------------------------------------ */

/* "12.5" (currency, at most 6 decimals) or "12500000u" (micro-units) -> micro-units, exactly.
 * Non-negative only; errors name `what`. */
cirrus_status billing_parse_money(const char *what, const char *s, int64_t *out, cirrus_err *err);
/* -1234567 -> "-1.234567" */
void billing_format_money(int64_t micros, char *buf, size_t cap);

/* "YYYY-MM-DD", "YYYY-MM-DDTHH:MM", "YYYY-MM-DDTHH:MM:SS" with optional "Z", all UTC -> unix s. */
cirrus_status billing_parse_date(const char *what, const char *s, int64_t *out, cirrus_err *err);
/* "YYYY-MM" -> [from, to) unix seconds */
cirrus_status billing_parse_month(const char *s, int64_t *from, int64_t *to, cirrus_err *err);
void billing_month_of(int64_t unix_s, char out[8]);
void billing_month_bounds(int64_t unix_s, int64_t *from, int64_t *to); /* the month containing it */
void billing_format_time(int64_t unix_s, char out[32]);                /* 2025-03-01T00:00:00Z */
void billing_format_day(int64_t days, char out[16]);                   /* 2025-03-01 */
int64_t billing_days_from_civil(int64_t y, int m, int d);

/* ---- rating ------------------------------------------------------------------------------- */

typedef struct {
    int64_t prompt, cached, completion; /* cached is part of prompt */
} billing_tokens;

typedef struct {
    int64_t input, cached, output, total;
} billing_cost;

/* round_half_even(n * d / q) for non-negative n, d and q > 0, exact (128-bit intermediate). */
int64_t billing_muldiv_half_even(int64_t n, int64_t d, int64_t q);
/* The rating rule above. RANGE if tokens are negative, cached > prompt, or a count is absurd. */
cirrus_status billing_rate(const store_price *p, const billing_tokens *t, billing_cost *out, cirrus_err *err);
/* The worst case above. */
int64_t billing_worst_case(const store_price *p, int64_t prompt, int64_t max_tokens);

/* Adds a price version of model from unix second `from` (each price <= BILLING_PRICE_MAX). */
cirrus_status billing_price_set(store *s, const char *model, int64_t from, int64_t input, int64_t cached_input,
                                int64_t output, store_price *out, cirrus_err *err);
/* A credit of amount micro-units on tenant's invoice for month (YYYY-MM). */
cirrus_status billing_credit_add(store *s, const char *tenant, const char *month, int64_t amount, const char *memo,
                                 cirrus_err *err);

/* An immutable in-memory copy of every price version, for lookups without SQL. */
typedef struct billing_prices billing_prices;
cirrus_status billing_prices_load(store *s, billing_prices **out, cirrus_err *err);
void billing_prices_free(billing_prices *p);
/* The version of model's price in effect at unix second `at`; NULL if none. */
const store_price *billing_price_at(const billing_prices *p, const char *model, int64_t at);
const store_price *billing_price_by_id(const billing_prices *p, int64_t id);

/* ---- invoices ----------------------------------------------------------------------------- */

typedef enum {
    BILLING_LINE_USAGE,
    BILLING_LINE_FEE,      /* plan fee, reserved capacity fee */
    BILLING_LINE_DISCOUNT, /* negative */
    BILLING_LINE_TRUE_UP,
    BILLING_LINE_CREDIT,   /* negative */
} billing_line_kind;

typedef struct {
    billing_line_kind kind;
    char model[STORE_MODEL_MAX];   /* usage lines */
    int64_t price_id;              /* usage lines */
    char token_class[16];          /* usage lines: input | cached_input | output */
    int64_t quantity;              /* usage: tokens; others: 1 */
    int64_t unit_price;            /* usage: micro-units per 1M tokens; others: the amount */
    int64_t amount;                /* micro-units, signed */
    char description[256];
} billing_line;

typedef struct {
    char tenant[STORE_NAME_MAX];
    int64_t tenant_id;
    char month[8];
    char currency[8];
    bool closed;
    int64_t closed_at;
    int64_t period_from, period_to;                     /* unix s */
    int64_t requests, open_records;
    int64_t usage, fees, true_up, discount, credits;    /* discount and credits as positive numbers */
    int64_t total;
    billing_line *lines;
    size_t n_lines;
} billing_invoice;

/* Computes the month's invoice from the ledger and plans (status draft), or returns the closed one
 * if the month is closed. */
cirrus_status billing_invoice_get(store *s, const char *tenant, const char *month, billing_invoice **out, cirrus_err *err);
/* Closes the month: refuses while it is not over at now_s or while records of it are open. If it
 * is already closed, returns that invoice unchanged and sets *already. */
cirrus_status billing_invoice_close(store *s, const char *tenant, const char *month, int64_t now_s, billing_invoice **out,
                                    bool *already, cirrus_err *err);
void billing_invoice_free(billing_invoice *inv);
/* Malloc'ed, NUL-terminated exports. */
cirrus_status billing_invoice_json(const billing_invoice *inv, char **out, cirrus_err *err);
cirrus_status billing_invoice_csv(const billing_invoice *inv, char **out, cirrus_err *err);

#endif
