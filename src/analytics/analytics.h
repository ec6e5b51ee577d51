/*
 * analytics — where the provider's revenue comes from, how concentrated it is, where it is going,
 * and when to worry. Pure computations over usage records: no SQL, no HTTP, no clock. The sources
 * at the bottom of this header (a ledger export file, the store) turn data into an_record arrays;
 * everything above them is deterministic arithmetic on those arrays, and the reports section lays
 * the results out as the JSON that `cirrus report --json` and the admin API both send.
 *
 * Conventions (the numbers are meant to survive a finance review):
 *  A1. Money is int64 micro-units of the one currency, summed with overflow checks (RANGE on
 *      overflow, never a wrapped total). Revenue is the ledger's rated usage cost at the price
 *      version in force (list price, before plan discounts, fees and credits), unless a source says
 *      otherwise.
 *  A2. A share is revenue_i / total as a double in [0, 1]. When the total is zero every share, the
 *      HHI and the Gini are undefined: they are reported as 0 with defined = false (JSON: null), and
 *      nothing is ever divided by zero.
 *  A3. HHI = Σ (100·s_i)² over tenants, in [0, 10,000]. Its band follows the 2023 US Merger
 *      Guidelines and is decided on the exact rational value 10,000·Σr_i² / (Σr_i)², not on the
 *      rounded double:  HHI < 1,000 unconcentrated;  1,000 <= HHI <= 1,800 moderately concentrated
 *      (both boundaries included);  HHI > 1,800 highly concentrated.
 *  A4. Gini = mean absolute difference / (2·mean) = Σ_i Σ_j |x_i − x_j| / (2·n²·mean), over the n
 *      tenants with revenue > 0 in the period (a tenant with no revenue in the period is not a
 *      customer of that period and is left out). One tenant: 0. No revenue: undefined (A2).
 *      This is the population Gini (no n/(n−1) correction), so n equal tenants give 0 and one tenant
 *      holding everything among n gives 1 − 1/n.
 *  A5. Ranking is revenue descending, then name ascending (strcmp, bytewise), so ties are
 *      deterministic. Top-N share = (sum of the N largest revenues) / total; with fewer than N
 *      tenants it is the whole (1.0).
 *  A6. A major customer has share >= 10% (the ASC 280 disclosure line), tested exactly as
 *      10·r >= total. Alert thresholds are integer basis points and compared exactly (r·10,000
 *      against bp·total), so "above 20%" never depends on floating-point rounding.
 *  A7. Display: shares as fractions rounded to 6 decimals (percentages: 2 decimals in text), HHI to
 *      2 decimals, Gini to 4. Bands and alerts use the exact values of A3/A6, so a displayed
 *      "1000.00" may be unconcentrated when the exact HHI is 999.999.
 *  A8. Months are an_month values: year·12 + (month − 1). A cube covers every month from its first
 *      to its last, so a month with no data is present with zeros.
 */
#ifndef CIRRUS_ANALYTICS_H
#define CIRRUS_ANALYTICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/core.h"

#define AN_NAME_MAX 64          /* tenant names (the store's STORE_NAME_MAX) */
#define AN_PLAN_MAX 32          /* plan names: "payg", "committed", "reserved", ... */
#define AN_MODEL_MAX 128        /* model ids */
#define AN_MONTHS_MAX 1200      /* a cube spans at most 100 years */
#define AN_FC_HORIZON_MAX 24    /* forecast months */
#define AN_FC_WINDOW 12         /* a forecast fits at most the last 12 months of history */
#define AN_NO_DAY INT64_MIN     /* an_record.day for month-granular records */

/* ---- dates -------------------------------------------------------------------------------- */

/* Strict "YYYY-MM" (year 1970..9999) → year·12 + month − 1. */
bool an_month_parse(const char *s, int32_t *out);
void an_month_format(int32_t month, char out[8]);
/* Strict "YYYY-MM-DD" (a real calendar day, year 1970..9999) → days since 1970-01-01. */
bool an_day_parse(const char *s, int64_t *out);
void an_day_format(int64_t day, char out[11]);
int32_t an_day_month(int64_t day);        /* the an_month a day falls in */
int64_t an_month_first_day(int32_t month); /* days since 1970-01-01 of the month's first day */
int an_month_days(int32_t month);          /* 28..31 */

/* ---- input -------------------------------------------------------------------------------- */

typedef struct {
    char tenant[AN_NAME_MAX];
    char plan[AN_PLAN_MAX];     /* "" when unknown */
    char model[AN_MODEL_MAX];
    int32_t month;              /* an_month */
    int64_t day;                /* days since 1970-01-01, or AN_NO_DAY for a whole-month record */
    int64_t revenue;            /* micro-units, >= 0 */
    int64_t prompt_tokens, cached_tokens, completion_tokens; /* each >= 0 */
    int64_t requests;           /* >= 0 */
    bool simulated;             /* usage written by `cirrus demo`, not by a paying customer */
} an_record;

/* ---- aggregation ---------------------------------------------------------------------------- */

typedef struct {
    int64_t revenue, simulated_revenue;
    int64_t prompt_tokens, cached_tokens, completion_tokens, requests;
} an_totals;

int64_t an_tokens(const an_totals *t); /* prompt + cached + completion (saturating) */

/* One row of a dimension: a tenant, a model or a plan, with a value for every month. */
typedef struct {
    char name[AN_MODEL_MAX];
    char plan[AN_PLAN_MAX];     /* tenants: the plan of their latest record in the cube; else "" */
    an_totals *months;          /* [cube.n_months] */
    an_totals sum;              /* over the cube's months */
} an_series;

/* Revenue, tokens and requests by month × (tenant | model | plan). Rows are sorted by name
 * (strcmp). Owned by the cube; free with an_cube_free. */
typedef struct {
    int32_t first_month;
    size_t n_months;
    an_series *tenants, *models, *plans;
    size_t n_tenants, n_models, n_plans;
    an_totals *total;           /* [n_months] */
    an_totals sum;
    size_t n_skipped;           /* records outside [first_month, last_month] */
} an_cube;

/* Builds a cube over [first_month, last_month] (both included); records outside are skipped.
 * Rejects negative amounts, empty tenant names and totals that overflow int64 (naming the field). */
cirrus_status an_cube_build(const an_record *r, size_t n, int32_t first_month, int32_t last_month,
                            an_cube **out, cirrus_err *err);
void an_cube_free(an_cube *c);
/* Index of a tenant row by name, or -1. */
ptrdiff_t an_cube_tenant(const an_cube *c, const char *name);
/* out[i] = tenant i's revenue summed over months [m0, m1] (cube indices, both included). */
cirrus_status an_cube_tenant_revenue(const an_cube *c, size_t m0, size_t m1, int64_t *out, cirrus_err *err);

/* Month-over-month growth (cur − prev) / prev. False (and *out = 0) when prev is 0: growth from
 * nothing is undefined, not infinite. */
bool an_growth(int64_t prev, int64_t cur, double *out);

/* ---- concentration ---------------------------------------------------------------------------- */

typedef enum { AN_HHI_UNDEFINED = 0, AN_HHI_UNCONCENTRATED, AN_HHI_MODERATE, AN_HHI_HIGH } an_hhi_band;
const char *an_hhi_band_str(an_hhi_band b); /* "unconcentrated", "moderately concentrated", ... */
/* The band of an HHI value, with A3's boundaries (for values already computed). */
an_hhi_band an_hhi_classify(double hhi);

typedef struct {
    int64_t total;              /* Σ revenue, micro-units */
    size_t n;                   /* tenants with revenue > 0 */
    bool defined;               /* total > 0; otherwise every double below is 0 (A2) */
    int64_t top1_rev, top5_rev, top10_rev;
    double top1, top5, top10;   /* shares, A5 */
    double hhi;                 /* A3 */
    an_hhi_band band;           /* A3, exact */
    double gini;                /* A4 */
    size_t n_major;             /* A6 */
} an_conc;

/* order[0..n) = indices of rev sorted by A5 (names[i] is rev[i]'s name; equal names fall back to
 * the index). */
void an_rank(const int64_t *rev, const char *const *names, size_t n, size_t *order);
/* Every measure above for one revenue vector (one entry per tenant, zeros allowed). */
cirrus_status an_concentration(const int64_t *rev, size_t n, an_conc *out, cirrus_err *err);
/* A4 over the positive entries of rev; 0 when fewer than two or when all are 0. */
cirrus_status an_gini(const int64_t *rev, size_t n, double *out, cirrus_err *err);
double an_share(int64_t rev, int64_t total); /* 0 when total is 0 */
bool an_is_major(int64_t rev, int64_t total); /* 10·rev >= total > 0 */
/* rev / total > bp / 10,000, exactly; false when total is 0. */
bool an_share_above(int64_t rev, int64_t total, int32_t bp);
/* rev / total >= bp / 10,000, exactly; false when total is 0. */
bool an_share_at_least(int64_t rev, int64_t total, int32_t bp);

/* What-if: tenant idx cuts its spend by cut_bp basis points (10,000: it leaves). The cut amount is
 * rev·cut_bp/10,000 rounded half up to a micro-unit. A tenant cut to 0 drops out of the population
 * (A4), so "leaves" and "cuts 100%" are the same scenario. */
typedef struct {
    size_t tenant;
    int32_t cut_bp;
    int64_t revenue_before, revenue_after; /* the tenant's */
    an_conc before, after;
} an_whatif;
int64_t an_cut_amount(int64_t rev, int32_t cut_bp);
cirrus_status an_whatif_compute(const int64_t *rev, size_t n, size_t idx, int32_t cut_bp, an_whatif *out,
                                cirrus_err *err);

/* ---- forecast --------------------------------------------------------------------------------- */

/*
 * Monthly revenue forecast with a prediction interval at level 80, 90, 95 or 99 (%).
 * History: the series from its first month with revenue > 0 (a tenant's life; zeros after that are
 * real zeros), at most the last AN_FC_WINDOW months.
 *  - 0 months of history: method NONE, forecast 0.
 *  - 1–2 months: NAIVE (the last value carries on). Too short to estimate dispersion, so the
 *    interval is a stated heuristic, not a statistical one: last ± max(50%·last, z·|Δ|)·√h, where Δ is
 *    the one change seen (0 with one month) and z the normal quantile of the level. short_history
 *    is set and the output must say so.
 *  - 3+ months: OLS linear trend y = a + b·t (t = 0..n−1) with the classical prediction interval
 *    ŷ ± t_{n−2} · s · √(1 + 1/n + (t₀ − t̄)² / Σ(t − t̄)²), s² = SSE / (n − 2).
 *    An exact linear series has s = 0: exact forecast, zero-width interval.
 * Revenue is never negative: point and lower bound are clipped at 0. Values are rounded to whole
 * micro-units (half away from zero).
 */
typedef enum { AN_FC_NONE = 0, AN_FC_NAIVE, AN_FC_OLS } an_fc_method;
const char *an_fc_method_str(an_fc_method m); /* "none", "naive", "ols-linear-trend" */

typedef struct {
    an_fc_method method;
    size_t n_used;              /* history months the method used */
    bool short_history;         /* NAIVE: fewer than 3 months */
    int level;                  /* 80, 90, 95, 99 */
    int horizon;
    double intercept, slope;    /* OLS: micro-units, slope per month, t = 0 at the first used month */
    double resid_sd;            /* OLS: s */
    int64_t point[AN_FC_HORIZON_MAX], lower[AN_FC_HORIZON_MAX], upper[AN_FC_HORIZON_MAX];
} an_forecast;

/* y[0..n): monthly revenue, oldest first, ending with the last complete history month. */
cirrus_status an_forecast_series(const int64_t *y, size_t n, int horizon, int level, an_forecast *out,
                                 cirrus_err *err);
/* Two-sided quantile: t distribution with dof degrees of freedom (dof >= 1) at level (80/90/95/99);
 * dof <= 0 gives the normal quantile. NaN for another level. */
double an_t_quantile(int dof, int level);

/* ---- alerts ----------------------------------------------------------------------------------- */

typedef struct {
    int32_t share_bp;   /* a tenant's share strictly above this fires SHARE; default 2000 (20%) */
    int32_t large_bp;   /* a tenant is "large" with share >= this in the previous month; 500 (5%) */
    int32_t drop_bp;    /* a large tenant's revenue or tokens falling strictly more than this
                           fraction month over month fires *_DROP; default 3000 (30%) */
    bool hhi_band;      /* HHI moving to another band from the previous month; default true */
} an_alert_config;
void an_alert_config_default(an_alert_config *c);

typedef enum {
    AN_ALERT_HHI_BAND = 0,
    AN_ALERT_SHARE,
    AN_ALERT_REVENUE_DROP,
    AN_ALERT_TOKENS_DROP,
    AN_ALERT_SOFT_BUDGET,
} an_alert_kind;
const char *an_alert_kind_str(an_alert_kind k); /* "hhi_band", "share", "revenue_drop", ... */

/* A soft budget for one month: spend >= soft (> 0) fires SOFT_BUDGET. */
typedef struct {
    char tenant[AN_NAME_MAX];
    int64_t soft;   /* micro-units; 0: none */
    int64_t spend;  /* micro-units spent in the month */
} an_budget;

typedef struct {
    an_alert_kind kind;
    int32_t month;
    char tenant[AN_NAME_MAX];     /* "" for HHI_BAND */
    /* SHARE: value = share, threshold = share_bp/1e4.  HHI_BAND: value/previous = HHI.
     * *_DROP: value = fall as a fraction (0.4 = −40%), threshold = drop_bp/1e4.
     * SOFT_BUDGET: value = spend/soft. */
    double value, previous, threshold;
    int64_t amount, prev_amount;  /* revenue, tokens or spend (SOFT_BUDGET: prev_amount = soft) */
    an_hhi_band band, prev_band;  /* HHI_BAND */
} an_alert;

/* Alerts for cube month m (compared with month m − 1 where the rule needs a previous month; none of
 * those fire for m = 0). Order: HHI_BAND, SHARE by rank, REVENUE_DROP, TOKENS_DROP by name,
 * SOFT_BUDGET by name. *out is malloc'ed (NULL when none); free() it. */
cirrus_status an_alerts_month(const an_cube *c, size_t m, const an_alert_config *cfg, const an_budget *b,
                              size_t nb, an_alert **out, size_t *n_out, cirrus_err *err);

/* ---- reports ---------------------------------------------------------------------------------- */

/*
 * The four reports (revenue, concentration, forecast, alerts) over a cube, as `cirrus report` and
 * GET /v1/admin/reports/... give them. Each report is computed once here (an_report_concentration,
 * an_report_forecast, an_report_alerts) and turned into JSON by one builder (an_report_*_json), so the
 * CLI's --json and the API's replies are the same bytes and cannot drift; the CLI's text and CSV are
 * printed from the same results. Field names, rounding (A7) and the notes are a contract: scripts
 * switch between the CLI and the API.
 * A report covers cube months [r0, n_months); months before r0 are context, loaded so that growth,
 * band changes and alerts can compare with the month before (a forecast's history is all of it).
 * A builder's *out is the caller's (json_decref); on failure it is NULL and err says why.
 */
typedef struct {
    const an_cube *cube;
    size_t r0;                  /* first month of the report (cube index) */
    int64_t from_day, to_day;   /* the period, both included */
    const char *source;         /* "store PATH" or "ledger file PATH", named in the JSON */
    bool excluded_simulated;    /* the source left simulated usage out (a note says so) */
} an_report;

void an_report_month(const an_report *r, size_t m, char out[8]);      /* cube month m as YYYY-MM */
void an_report_period(const an_report *r, char from[11], char to[11]); /* the period's days */
bool an_report_partial(const an_report *r, size_t m); /* the period covers month m only in part */
an_totals an_report_totals(const an_report *r);       /* over the report's months */
/* The notes every report carries (revenue basis, simulated share, what is undefined, partial and
 * empty months) as a JSON array of strings; NULL when out of memory. */
json_t *an_report_notes(const an_report *r);
/* Integer micro-units as currency units with 2 decimals and thousands separators, half up. */
void an_money_format(char *buf, size_t cap, int64_t micro);

/* Tenants' revenue over the report's months, ranked (A5): rev[i] and names[i] are cube tenant i's,
 * order[k] is the tenant at rank k + 1. */
typedef struct {
    size_t n;
    int64_t *rev;
    const char **names;
    size_t *order;
} an_ranking;
cirrus_status an_report_ranking(const an_report *r, an_ranking *out, cirrus_err *err);
void an_ranking_free(an_ranking *k);

cirrus_status an_report_revenue_json(const an_report *r, json_t **out, cirrus_err *err);

typedef struct {
    an_ranking rank;            /* the period's revenue */
    an_conc now;
    bool has_whatif;
    an_whatif whatif;
    an_ranking after;           /* has_whatif: the revenue after the cut, ranked */
} an_conc_report;
/* whatif_tenant NULL: no what-if; a what-if tenant with no usage in the cube is INVALID. */
cirrus_status an_report_concentration(const an_report *r, const char *whatif_tenant, int32_t cut_bp,
                                      an_conc_report *out, cirrus_err *err);
void an_conc_report_free(an_conc_report *x);
/* With the trend: every report month's measures and major customers. */
cirrus_status an_report_concentration_json(const an_report *r, const an_conc_report *x, json_t **out,
                                           cirrus_err *err);

typedef struct {
    an_ranking rank;            /* revenue over the history */
    an_forecast total;          /* of the total series (not the sum of the tenants') */
    an_forecast *tenants;       /* [rank.n] by cube index; computed where rank.rev[i] > 0 */
} an_fc_report;
cirrus_status an_report_forecast(const an_report *r, int horizon, int level, an_fc_report *out,
                                 cirrus_err *err);
void an_fc_report_free(an_fc_report *x);
/* The method and interval in words, for the output next to the numbers. */
const char *an_fc_note(const an_forecast *f, char *buf, size_t cap);
cirrus_status an_report_forecast_json(const an_report *r, const an_fc_report *x, json_t **out, cirrus_err *err);

/* Every alert of the report's months, month by month. b[0..nb) are the soft budgets; each month's
 * spend is the tenant's revenue in it (list-price cost, as budgets are). *out is malloc'ed (NULL
 * when none); free() it. */
cirrus_status an_report_alerts(const an_report *r, const an_alert_config *cfg, const an_budget *b, size_t nb,
                               an_alert **out, size_t *n_out, cirrus_err *err);
void an_alert_message(const an_alert *a, char *buf, size_t cap); /* one line for a person */
cirrus_status an_report_alerts_json(const an_report *r, const an_alert_config *cfg, const an_alert *a, size_t n,
                                    json_t **out, cirrus_err *err);

/* ---- sources ---------------------------------------------------------------------------------- */

/* Which usage to read: days [from_day, to_day] (both included; AN_NO_DAY for open ends). A
 * month-granular record is in when its month is in [month(from_day), month(to_day)] — a month
 * cannot be split. */
typedef struct {
    int64_t from_day, to_day;
    bool exclude_simulated;
} an_filter;

/* A growable record set with the soft budgets a source found (per month, as the plan said). */
typedef struct {
    an_record *r;
    size_t n, cap;
    an_budget *budgets;     /* tenant → soft budget per month (spend is filled by the report) */
    size_t n_budgets;
} an_data;
void an_data_free(an_data *d);
cirrus_status an_data_push(an_data *d, const an_record *r, cirrus_err *err);

/*
 * A ledger export file: JSON lines, or CSV with a header row (chosen by the first non-blank byte:
 * '{' is JSON). Fields, by name in either form:
 *   tenant (required), plan, model, period ("YYYY-MM" or "YYYY-MM-DD", required), revenue
 *   (required, integer micro-units), prompt_tokens, cached_tokens, completion_tokens, requests
 *   (default 1), simulated (true/false, 1/0).
 * A JSON line {"tenant": T, "soft_budget": N} (or a CSV row with soft_budget set and no period)
 * sets T's monthly soft budget. Blank lines and lines starting with '#' are skipped. Every value is
 * validated; an error names the line and the field. The file is at most 256 MiB.
 */
cirrus_status an_ledger_read(const char *path, const an_filter *f, an_data *out, cirrus_err *err);

/*
 * The control plane's store (store.h): settled usage records with t_admit in [from_day, to_day],
 * revenue = the record's rated cost, plan = the tenant's plan version in effect that day, soft
 * budgets from the plan in effect at the period's end. Open (unsettled) records are not revenue yet.
 */
struct store;
cirrus_status an_store_read(struct store *s, const an_filter *f, an_data *out, cirrus_err *err);

/* ---- a report's period and data ----------------------------------------------------------------- */

/*
 * The period a report covers, as `cirrus report` and GET /v1/admin/reports/... take it: one calendar
 * month, or days from/to (both included, either end open), or neither for every month with usage.
 * Loading it (an_report_load) resolves the months and reads the usage; building (an_report_build)
 * makes the cube. Two steps so that a caller can refuse a period by its resolved months before the
 * cube is allocated.
 *  - Open ends take the months from the data (with no usage at all, from empty_month: an empty
 *    report rather than a failure); a period ends no earlier than it starts.
 *  - Context before the period: the month before (growth, HHI band changes and alerts compare with
 *    it); a forecast for one month uses the AN_FC_WINDOW months ending with it as history, and an
 *    open or day-bounded forecast only the period. Context months load whole; inside the period only
 *    days from from_day on count.
 *  - r0 is the first period month; a forecast's history is its report (r0 = 0).
 */
typedef struct {
    int32_t month;              /* a one-month period (an_month), or -1: then from_day and to_day */
    int64_t from_day, to_day;   /* days, both included; AN_NO_DAY: open (ignored with month) */
    bool forecast;              /* the forecast's context rules */
    bool exclude_simulated;     /* leave out usage written by `cirrus demo` */
    int32_t empty_month;        /* open ends when no usage loaded: the caller's current month
                                   (analytics reads no clock) */
} an_period;

/* Reads the usage f selects into *out (an_ledger_read, an_store_read, ... with their first argument). */
typedef cirrus_status (*an_source_fn)(void *arg, const an_filter *f, an_data *out, cirrus_err *err);

typedef struct {
    an_report rep;              /* the period; rep.cube once built; rep.source is the caller's to set */
    an_data data;               /* the usage loaded, context months included, and the soft budgets */
    an_cube *cube;              /* an_report_build's; NULL before */
    int32_t first_month, last_month; /* the period's months, resolved; -1 when loading failed */
    int32_t cube_first;         /* the first month loaded: context months come before first_month */
} an_report_input;

/* Resolves p and loads its usage (with context months) through read(arg, ...); *out is the caller's
 * to free with an_report_input_free, also on failure. */
cirrus_status an_report_load(const an_period *p, an_source_fn read, void *arg, an_report_input *out,
                             cirrus_err *err);
/* The cube over [cube_first, last_month] from the loaded usage; sets in->cube and in->rep.cube. */
cirrus_status an_report_build(an_report_input *in, cirrus_err *err);
void an_report_input_free(an_report_input *in);

#endif
