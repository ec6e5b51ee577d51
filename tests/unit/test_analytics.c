/*
 * analytics: every figure is checked against a second computation written differently from the
 * module's — HHI as 10,000·Σr²/T² in long double straight from the integers (the module sums
 * squared percentage shares), Gini by the n² pair loop (the module uses the sorted-rank identity),
 * top-N and ranking by brute-force selection, cube totals by rescanning the records, OLS by the
 * normal-equation sums, t quantiles against printed tables. Edge cases: one tenant, zero revenue,
 * ties, a month with no data, band boundaries at exactly 1,000 and 1,800, thresholds hit exactly.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analytics/analytics.h"
#include "check.h"

/* ---- independent references ------------------------------------------------------------------ */

static long double ref_hhi(const int64_t *r, size_t n) {
    long double s = 0, t = 0;
    for (size_t i = 0; i < n; i++) {
        s += (long double)r[i] * (long double)r[i];
        t += (long double)r[i];
    }
    return t > 0 ? 10000.0L * s / (t * t) : 0;
}

/* Σ_i Σ_j |x_i − x_j| / (2·n²·mean) over the positive values. */
static long double ref_gini(const int64_t *r, size_t n) {
    long double sum = 0, mad = 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (r[i] > 0) {
            k++;
            sum += (long double)r[i];
            for (size_t j = 0; j < n; j++)
                if (r[j] > 0) mad += fabsl((long double)r[i] - (long double)r[j]);
        }
    if (k == 0 || sum == 0) return 0;
    long double mean = sum / (long double)k;
    return mad / (2.0L * (long double)k * (long double)k * mean);
}

/* Top-N by repeated selection of the largest unpicked value (ties by name). */
static int64_t ref_topn(const int64_t *r, const char *const *names, size_t n, size_t top) {
    bool picked[64] = {false};
    int64_t s = 0;
    for (size_t k = 0; k < top && k < n; k++) {
        size_t best = n;
        for (size_t i = 0; i < n; i++) {
            if (picked[i]) continue;
            if (best == n || r[i] > r[best] || (r[i] == r[best] && strcmp(names[i], names[best]) < 0)) best = i;
        }
        picked[best] = true;
        s += r[best];
    }
    return s;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void) { /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

static an_record rec(const char *tenant, const char *plan, const char *model, const char *period, int64_t revenue,
                     int64_t p, int64_t c, int64_t o) {
    an_record r;
    memset(&r, 0, sizeof r);
    snprintf(r.tenant, sizeof r.tenant, "%s", tenant);
    snprintf(r.plan, sizeof r.plan, "%s", plan);
    snprintf(r.model, sizeof r.model, "%s", model);
    if (strlen(period) == 7) {
        an_month_parse(period, &r.month);
        r.day = AN_NO_DAY;
    } else {
        an_day_parse(period, &r.day);
        r.month = an_day_month(r.day);
    }
    r.revenue = revenue;
    r.prompt_tokens = p;
    r.cached_tokens = c;
    r.completion_tokens = o;
    r.requests = 1;
    return r;
}

static int32_t M(const char *s) {
    int32_t m = -1;
    an_month_parse(s, &m);
    return m;
}

/* ---- dates -------------------------------------------------------------------------------------- */

static void test_dates(void) {
    int32_t m;
    int64_t d;
    CHECK(an_month_parse("2024-02", &m) && m == 2024 * 12 + 1);
    CHECK(!an_month_parse("2024-13", &m) && !an_month_parse("2024-2", &m) && !an_month_parse("24-02x", &m));
    CHECK(!an_month_parse("1969-12", &m) && !an_month_parse("2024-02 ", &m));
    char buf[11];
    an_month_format(M("2031-11"), buf);
    CHECK(!strcmp(buf, "2031-11"));
    CHECK(an_day_parse("1970-01-01", &d) && d == 0);
    CHECK(an_day_parse("2024-02-29", &d) && d == 19782); /* 54 years, 13 leap days: 54·365 + 13 + 31 + 28 */
    CHECK(!an_day_parse("2023-02-29", &d) && !an_day_parse("2024-04-31", &d) && !an_day_parse("2024-00-10", &d));
    CHECK(!an_day_parse("1900-02-28", &d));
    an_day_format(19782, buf);
    CHECK(!strcmp(buf, "2024-02-29"));
    CHECK(an_day_month(19782) == M("2024-02"));
    CHECK(an_month_first_day(M("2024-03")) == 19783);
    CHECK(an_month_days(M("2024-02")) == 29 && an_month_days(M("2100-02")) == 28 && an_month_days(M("2000-02")) == 29);
    /* Round trip over every day of 1970..2100. */
    bool ok = true;
    for (int64_t day = 0; day < 47482; day += 1) {
        an_day_format(day, buf);
        int64_t back;
        if (!an_day_parse(buf, &back) || back != day) ok = false;
    }
    CHECK(ok);
}

/* ---- concentration ---------------------------------------------------------------------------- */

static void check_conc_vs_ref(const int64_t *r, const char *const *names, size_t n) {
    an_conc c;
    cirrus_err e;
    CHECK(an_concentration(r, n, &c, &e) == CIRRUS_OK);
    int64_t t = 0;
    size_t pos = 0, major = 0;
    for (size_t i = 0; i < n; i++) t += r[i], pos += r[i] > 0;
    for (size_t i = 0; i < n; i++) major += t > 0 && r[i] * 10 >= t;
    CHECK(c.total == t && c.n == pos && c.defined == (t > 0));
    long double h = ref_hhi(r, n);
    CHECK_NEAR(c.hhi, (double)h, 1e-7);
    CHECK_NEAR(c.gini, (double)ref_gini(r, n), 1e-12);
    CHECK(c.top1_rev == ref_topn(r, names, n, 1));
    CHECK(c.top5_rev == ref_topn(r, names, n, 5));
    CHECK(c.top10_rev == ref_topn(r, names, n, 10));
    if (t > 0) {
        CHECK_NEAR(c.top5, (double)((long double)ref_topn(r, names, n, 5) / t), 1e-15);
        CHECK(c.band == (h < 1000 ? AN_HHI_UNCONCENTRATED : h <= 1800 ? AN_HHI_MODERATE : AN_HHI_HIGH));
    }
    CHECK(c.n_major == major);
}

static const char *const NAMES[] = {"acme", "beta", "cobalt", "delta", "echo", "fjord", "gamma", "helix", "ion",
                                    "jade", "kilo", "lima", "mango", "nova", "onyx", "pike"};

static void test_concentration(void) {
    cirrus_err e;
    an_conc c;
    /* One tenant: HHI 10,000, Gini 0, top-N = 1, a major customer, highly concentrated. */
    int64_t one[1] = {123456789};
    CHECK(an_concentration(one, 1, &c, &e) == CIRRUS_OK);
    CHECK(c.hhi == 10000 && c.gini == 0 && c.top1 == 1 && c.top5 == 1 && c.top10 == 1 && c.n_major == 1);
    CHECK(c.band == AN_HHI_HIGH && c.defined);
    /* One paying tenant among others with nothing: the same (zeros are not in the population, A4). */
    int64_t onez[4] = {0, 500, 0, 0};
    CHECK(an_concentration(onez, 4, &c, &e) == CIRRUS_OK);
    CHECK(c.hhi == 10000 && c.gini == 0 && c.n == 1);
    /* Zero revenue: undefined, and no division by zero anywhere. */
    int64_t zero[3] = {0, 0, 0};
    CHECK(an_concentration(zero, 3, &c, &e) == CIRRUS_OK);
    CHECK(!c.defined && c.hhi == 0 && c.gini == 0 && c.top1 == 0 && c.band == AN_HHI_UNDEFINED && c.n == 0);
    CHECK(an_concentration(zero, 0, &c, &e) == CIRRUS_OK && !c.defined);
    CHECK(an_share(5, 0) == 0 && !an_is_major(0, 0) && !an_share_above(1, 0, 0));
    /* Negative revenue is refused. */
    int64_t neg[2] = {5, -1};
    CHECK(an_concentration(neg, 2, &c, &e) == CIRRUS_ERR_RANGE);
    /* Known values: {1,2,3,4}: Gini 0.25, HHI 10,000·30/100 = 3,000. */
    int64_t k4[4] = {1, 2, 3, 4};
    CHECK(an_concentration(k4, 4, &c, &e) == CIRRUS_OK);
    CHECK_NEAR(c.gini, 0.25, 1e-15);
    CHECK_NEAR(c.hhi, 3000, 1e-9);
    check_conc_vs_ref(k4, NAMES, 4);

    /* Band boundaries decided exactly: ten equal tenants are exactly 1,000 → moderately. */
    int64_t ten[10];
    for (int i = 0; i < 10; i++) ten[i] = 3;
    CHECK(an_concentration(ten, 10, &c, &e) == CIRRUS_OK && c.band == AN_HHI_MODERATE);
    CHECK_NEAR(c.hhi, 1000, 1e-9);
    for (int i = 0; i < 10; i++) ten[i] = 123456789012LL;
    CHECK(an_concentration(ten, 10, &c, &e) == CIRRUS_OK && c.band == AN_HHI_MODERATE);
    int64_t eleven[11];
    for (int i = 0; i < 11; i++) eleven[i] = 7;
    CHECK(an_concentration(eleven, 11, &c, &e) == CIRRUS_OK && c.band == AN_HHI_UNCONCENTRATED);
    /* {2,2,2,2,1,1}: Σr² = 18, T = 10 → exactly 1,800 → still moderately. */
    int64_t b18[6] = {200, 200, 200, 200, 100, 100};
    CHECK(an_concentration(b18, 6, &c, &e) == CIRRUS_OK && c.band == AN_HHI_MODERATE);
    CHECK_NEAR(c.hhi, 1800, 1e-9);
    int64_t b18p[6] = {201, 200, 200, 200, 100, 99}; /* 1,802.02 */
    CHECK(an_concentration(b18p, 6, &c, &e) == CIRRUS_OK && c.band == AN_HHI_HIGH);
    CHECK_NEAR(c.hhi, 1802.02, 1e-9);
    CHECK(an_hhi_classify(999.999) == AN_HHI_UNCONCENTRATED && an_hhi_classify(1000) == AN_HHI_MODERATE);
    CHECK(an_hhi_classify(1800) == AN_HHI_MODERATE && an_hhi_classify(1800.001) == AN_HHI_HIGH);
    CHECK(!strcmp(an_hhi_band_str(AN_HHI_MODERATE), "moderately concentrated"));
    /* Totals near int64's limit still classify (no __int128 overflow). */
    int64_t big[2] = {INT64_MAX / 2, INT64_MAX / 2};
    CHECK(an_concentration(big, 2, &c, &e) == CIRRUS_OK && c.band == AN_HHI_HIGH);
    CHECK_NEAR(c.hhi, 5000, 1e-6);
    int64_t ovf[2] = {INT64_MAX, 1};
    CHECK(an_concentration(ovf, 2, &c, &e) == CIRRUS_ERR_RANGE);

    /* Major customer at exactly 10%. */
    CHECK(an_is_major(10, 100) && !an_is_major(9, 100) && an_is_major(1, 10));
    CHECK(an_share_above(2001, 10000, 2000) && !an_share_above(2000, 10000, 2000));
    CHECK(an_share_at_least(500, 10000, 500) && !an_share_at_least(499, 10000, 500));

    /* Ties: equal revenue ranks by name; the order is total. */
    int64_t tie[5] = {50, 100, 50, 100, 7};
    const char *tn[5] = {"zeta", "bravo", "alpha", "alpha2", "kilo"};
    size_t order[5];
    an_rank(tie, tn, 5, order);
    CHECK(order[0] == 3 && order[1] == 1 && order[2] == 2 && order[3] == 0 && order[4] == 4);
    check_conc_vs_ref(tie, tn, 5);

    /* Random vectors against the references, ranking checked pairwise. */
    for (int iter = 0; iter < 300; iter++) {
        size_t n = 1 + rnd() % 16;
        int64_t r[16];
        for (size_t i = 0; i < n; i++) {
            uint64_t k = rnd() % 10;
            r[i] = k == 0 ? 0 : k == 1 ? 1000 : (int64_t)(rnd() % 5000000000ull);
        }
        check_conc_vs_ref(r, NAMES, n);
        size_t o[16];
        an_rank(r, NAMES, n, o);
        bool sorted = true;
        for (size_t i = 1; i < n; i++)
            if (r[o[i - 1]] < r[o[i]] || (r[o[i - 1]] == r[o[i]] && strcmp(NAMES[o[i - 1]], NAMES[o[i]]) > 0)) sorted = false;
        CHECK(sorted);
        double g;
        CHECK(an_gini(r, n, &g, &e) == CIRRUS_OK);
        CHECK_NEAR(g, (double)ref_gini(r, n), 1e-12);
    }
}

static void test_whatif(void) {
    cirrus_err e;
    an_whatif w;
    int64_t r[4] = {600, 200, 150, 50};
    /* Leaving: the rest's HHI by the reference on the vector without the tenant. */
    CHECK(an_whatif_compute(r, 4, 0, 10000, &w, &e) == CIRRUS_OK);
    int64_t rest[3] = {200, 150, 50};
    CHECK(w.revenue_before == 600 && w.revenue_after == 0 && w.after.total == 400 && w.before.total == 1000);
    CHECK_NEAR(w.after.hhi, (double)ref_hhi(rest, 3), 1e-9);
    CHECK_NEAR(w.after.gini, (double)ref_gini(rest, 3), 1e-12);
    CHECK(w.after.n == 3 && w.before.band == AN_HHI_HIGH);
    /* Cut by 30%: 600 → 420. */
    CHECK(an_whatif_compute(r, 4, 0, 3000, &w, &e) == CIRRUS_OK);
    int64_t cut[4] = {420, 200, 150, 50};
    CHECK(w.revenue_after == 420 && w.after.total == 820);
    CHECK_NEAR(w.after.hhi, (double)ref_hhi(cut, 4), 1e-9);
    /* Rounding of the cut: half up to the micro-unit, no overflow near the top. */
    CHECK(an_cut_amount(5, 1000) == 1 && an_cut_amount(15, 1000) == 2 && an_cut_amount(14, 1000) == 1);
    CHECK(an_cut_amount(1000001, 3000) == 300000 && an_cut_amount(7, 0) == 0 && an_cut_amount(7, 10000) == 7);
    CHECK(an_cut_amount(INT64_MAX, 5000) == INT64_MAX / 2 + 1);
    CHECK(an_whatif_compute(r, 4, 4, 100, &w, &e) == CIRRUS_ERR_INVALID);
    CHECK(an_whatif_compute(r, 4, 1, 10001, &w, &e) == CIRRUS_ERR_INVALID);
    /* The only tenant leaves: nothing left, undefined after. */
    int64_t solo[1] = {99};
    CHECK(an_whatif_compute(solo, 1, 0, 10000, &w, &e) == CIRRUS_OK && !w.after.defined && w.after.total == 0);
}

/* ---- the cube ----------------------------------------------------------------------------------- */

static void test_cube(void) {
    cirrus_err e;
    an_cube *c = NULL;
    /* Jan and Mar have data, Feb none; Dec and Apr are outside. */
    an_record r[] = {
        rec("beta", "payg", "m1", "2024-01", 300, 10, 0, 5),     rec("acme", "payg", "m1", "2024-01-05", 700, 20, 5, 5),
        rec("acme", "committed", "m2", "2024-03-31", 100, 1, 1, 1), rec("beta", "payg", "m2", "2024-03", 0, 7, 0, 0),
        rec("acme", "payg", "m1", "2023-12", 999, 1, 1, 1),       rec("zed", "payg", "m1", "2024-04", 5, 0, 0, 0),
    };
    r[3].simulated = true;
    r[0].simulated = true;
    CHECK(an_cube_build(r, 6, M("2024-01"), M("2024-03"), &c, &e) == CIRRUS_OK);
    CHECK(c->n_months == 3 && c->n_tenants == 2 && c->n_skipped == 2);
    CHECK(!strcmp(c->tenants[0].name, "acme") && !strcmp(c->tenants[1].name, "beta"));
    CHECK(!strcmp(c->tenants[0].plan, "committed")); /* its latest record's plan */
    CHECK(c->total[0].revenue == 1000 && c->total[1].revenue == 0 && c->total[2].revenue == 100);
    CHECK(c->total[1].requests == 0 && an_tokens(&c->total[1]) == 0);
    CHECK(c->sum.revenue == 1100 && c->sum.simulated_revenue == 300 && c->sum.requests == 4);
    CHECK(c->n_models == 2 && c->models[1].sum.revenue == 100 && c->n_plans == 2);
    CHECK(an_tokens(&c->tenants[1].sum) == 22 && c->tenants[1].months[2].prompt_tokens == 7);
    CHECK(an_cube_tenant(c, "beta") == 1 && an_cube_tenant(c, "nobody") == -1);
    int64_t tr[2];
    CHECK(an_cube_tenant_revenue(c, 0, 2, tr, &e) == CIRRUS_OK && tr[0] == 800 && tr[1] == 300);
    CHECK(an_cube_tenant_revenue(c, 1, 1, tr, &e) == CIRRUS_OK && tr[0] == 0 && tr[1] == 0);
    /* Growth: Jan → Feb −100%; Feb → Mar undefined (from nothing). */
    double g;
    CHECK(an_growth(c->total[0].revenue, c->total[1].revenue, &g) && g == -1.0);
    CHECK(!an_growth(c->total[1].revenue, c->total[2].revenue, &g) && g == 0);
    CHECK(an_growth(200, 250, &g) && fabs(g - 0.25) < 1e-15);
    /* A month with no data: concentration undefined. */
    an_conc cc;
    CHECK(an_cube_tenant_revenue(c, 1, 1, tr, &e) == CIRRUS_OK && an_concentration(tr, 2, &cc, &e) == CIRRUS_OK);
    CHECK(!cc.defined && cc.band == AN_HHI_UNDEFINED);
    an_cube_free(c);

    /* Bad input is refused with the field named. */
    an_record bad = rec("x", "", "", "2024-01", -5, 0, 0, 0);
    CHECK(an_cube_build(&bad, 1, M("2024-01"), M("2024-01"), &c, &e) == CIRRUS_ERR_RANGE && strstr(e.msg, "revenue"));
    bad = rec("", "", "", "2024-01", 5, 0, 0, 0);
    CHECK(an_cube_build(&bad, 1, M("2024-01"), M("2024-01"), &c, &e) == CIRRUS_ERR_INVALID);
    an_record ov[2] = {rec("x", "", "", "2024-01", INT64_MAX, 0, 0, 0), rec("y", "", "", "2024-01", 1, 0, 0, 0)};
    CHECK(an_cube_build(ov, 2, M("2024-01"), M("2024-01"), &c, &e) == CIRRUS_ERR_RANGE && c == NULL);
    CHECK(an_cube_build(ov, 0, M("2024-02"), M("2024-01"), &c, &e) == CIRRUS_ERR_INVALID);
    /* No records at all: a cube of empty months. */
    CHECK(an_cube_build(NULL, 0, M("2024-01"), M("2024-02"), &c, &e) == CIRRUS_OK && c->n_tenants == 0 && c->n_months == 2);
    an_cube_free(c);

    /* Random records against a rescan. */
    enum { N = 2000 };
    an_record *rr = malloc(N * sizeof *rr);
    const char *models[3] = {"m-a", "m-b", "m-c"}, *plans[3] = {"payg", "committed", "reserved"};
    for (int i = 0; i < N; i++) {
        char per[8];
        an_month_format(M("2023-11") + (int32_t)(rnd() % 8), per);
        rr[i] = rec(NAMES[rnd() % 16], plans[rnd() % 3], models[rnd() % 3], per, (int64_t)(rnd() % 1000000),
                    (int64_t)(rnd() % 1000), (int64_t)(rnd() % 100), (int64_t)(rnd() % 500));
    }
    CHECK(an_cube_build(rr, N, M("2024-01"), M("2024-05"), &c, &e) == CIRRUS_OK);
    bool ok = true;
    for (size_t t = 0; t < c->n_tenants; t++)
        for (size_t m = 0; m < c->n_months; m++) {
            int64_t rev = 0, tok = 0;
            for (int i = 0; i < N; i++)
                if (!strcmp(rr[i].tenant, c->tenants[t].name) && rr[i].month == c->first_month + (int32_t)m) {
                    rev += rr[i].revenue;
                    tok += rr[i].prompt_tokens + rr[i].cached_tokens + rr[i].completion_tokens;
                }
            if (rev != c->tenants[t].months[m].revenue || tok != an_tokens(&c->tenants[t].months[m])) ok = false;
        }
    for (size_t p = 0; p < c->n_plans; p++) {
        int64_t rev = 0;
        for (int i = 0; i < N; i++)
            if (!strcmp(rr[i].plan, c->plans[p].name) && rr[i].month >= M("2024-01") && rr[i].month <= M("2024-05"))
                rev += rr[i].revenue;
        if (rev != c->plans[p].sum.revenue) ok = false;
    }
    CHECK(ok);
    an_cube_free(c);
    free(rr);
}

/* ---- forecast ------------------------------------------------------------------------------------- */

static void test_forecast(void) {
    cirrus_err e;
    an_forecast f;
    /* t quantiles against printed tables (two-sided). */
    CHECK_NEAR(an_t_quantile(1, 95), 12.706, 5e-4);
    CHECK_NEAR(an_t_quantile(2, 95), 4.303, 5e-4);
    CHECK_NEAR(an_t_quantile(4, 95), 2.776, 5e-4);
    CHECK_NEAR(an_t_quantile(10, 95), 2.228, 5e-4);
    CHECK_NEAR(an_t_quantile(30, 95), 2.042, 5e-4);
    CHECK_NEAR(an_t_quantile(5, 80), 1.476, 5e-4);
    CHECK_NEAR(an_t_quantile(3, 99), 5.841, 5e-4);
    CHECK_NEAR(an_t_quantile(8, 90), 1.860, 5e-4);
    CHECK_NEAR(an_t_quantile(0, 95), 1.959964, 1e-5);
    CHECK(isnan(an_t_quantile(5, 42)));

    /* An exact line: exact forecast, zero-width interval. */
    int64_t lin[6];
    for (int i = 0; i < 6; i++) lin[i] = 1000000 + 250000 * i;
    CHECK(an_forecast_series(lin, 6, 3, 95, &f, &e) == CIRRUS_OK);
    CHECK(f.method == AN_FC_OLS && f.n_used == 6 && !f.short_history);
    for (int k = 0; k < 3; k++) {
        int64_t want = 1000000 + 250000 * (6 + k);
        CHECK(f.point[k] == want);
        CHECK(f.upper[k] - f.lower[k] <= 2 && f.lower[k] <= want && f.upper[k] >= want);
    }
    /* Leading zeros are before the tenant existed: {0,0,100,200,300} fits on three points. */
    int64_t late[5] = {0, 0, 100, 200, 300};
    CHECK(an_forecast_series(late, 5, 2, 95, &f, &e) == CIRRUS_OK && f.method == AN_FC_OLS && f.n_used == 3);
    CHECK(f.point[0] == 400 && f.point[1] == 500);
    /* Only the last 12 months count: 8 months of noise, then an exact line. */
    int64_t win[20];
    for (int i = 0; i < 8; i++) win[i] = (int64_t)(rnd() % 9000000);
    for (int i = 8; i < 20; i++) win[i] = 500000 + 10000 * (i - 8);
    CHECK(an_forecast_series(win, 20, 1, 95, &f, &e) == CIRRUS_OK && f.n_used == 12 && f.point[0] == 620000);

    /* Noisy series: OLS against the normal equations, interval with the table t value. */
    int64_t y[6] = {1000, 1300, 1150, 1600, 1500, 1900};
    CHECK(an_forecast_series(y, 6, 2, 95, &f, &e) == CIRRUS_OK);
    double st = 0, sy = 0, stt = 0, sty = 0;
    for (int i = 0; i < 6; i++) st += i, sy += (double)y[i], stt += (double)i * i, sty += (double)i * (double)y[i];
    double b = (6 * sty - st * sy) / (6 * stt - st * st), a = (sy - b * st) / 6, sse = 0;
    for (int i = 0; i < 6; i++) sse += ((double)y[i] - a - b * i) * ((double)y[i] - a - b * i);
    double s = sqrt(sse / 4);
    CHECK_NEAR(f.slope, b, 1e-9);
    CHECK_NEAR(f.intercept, a, 1e-9);
    CHECK_NEAR(f.resid_sd, s, 1e-9);
    for (int k = 0; k < 2; k++) {
        double t0 = 6 + k, yh = a + b * t0, half = 2.776445 * s * sqrt(1 + 1.0 / 6 + (t0 - 2.5) * (t0 - 2.5) / 17.5);
        CHECK(llabs(f.point[k] - llround(yh)) <= 1);
        CHECK(llabs(f.lower[k] - llround(yh - half)) <= 1 && llabs(f.upper[k] - llround(yh + half)) <= 1);
    }
    CHECK(f.upper[1] - f.lower[1] > f.upper[0] - f.lower[0]); /* wider further out */

    /* A falling line is clipped at zero, never negative revenue. */
    int64_t fall[4] = {300, 200, 100, 0};
    CHECK(an_forecast_series(fall, 4, 2, 95, &f, &e) == CIRRUS_OK && f.point[0] == 0 && f.lower[0] == 0);

    /* Short histories: naive, flagged, with the stated heuristic interval. */
    int64_t one[3] = {0, 0, 1000};
    CHECK(an_forecast_series(one, 3, 2, 95, &f, &e) == CIRRUS_OK);
    CHECK(f.method == AN_FC_NAIVE && f.short_history && f.n_used == 1 && f.point[0] == 1000 && f.point[1] == 1000);
    CHECK(f.lower[0] == 500 && f.upper[0] == 1500);                 /* ±50% */
    CHECK(f.lower[1] == 293 && f.upper[1] == 1707);                 /* ±50%·√2 = 707.1 */
    int64_t two[2] = {1000, 1800};
    CHECK(an_forecast_series(two, 2, 1, 95, &f, &e) == CIRRUS_OK && f.method == AN_FC_NAIVE && f.n_used == 2);
    CHECK(f.point[0] == 1800 && f.upper[0] == 1800 + llround(1.959964 * 800) && f.lower[0] == 1800 - llround(1.959964 * 800));
    int64_t none[4] = {0, 0, 0, 0};
    CHECK(an_forecast_series(none, 4, 1, 95, &f, &e) == CIRRUS_OK && f.method == AN_FC_NONE && f.point[0] == 0);
    CHECK(an_forecast_series(none, 0, 1, 95, &f, &e) == CIRRUS_OK && f.method == AN_FC_NONE);
    CHECK(an_forecast_series(y, 6, 0, 95, &f, &e) == CIRRUS_ERR_INVALID);
    CHECK(an_forecast_series(y, 6, 25, 95, &f, &e) == CIRRUS_ERR_INVALID);
    CHECK(an_forecast_series(y, 6, 1, 85, &f, &e) == CIRRUS_ERR_INVALID);
    CHECK(!strcmp(an_fc_method_str(AN_FC_OLS), "ols-linear-trend"));
}

/* ---- alerts ----------------------------------------------------------------------------------------- */

static size_t count_kind(const an_alert *a, size_t n, an_alert_kind k, const char *tenant) {
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        if (a[i].kind == k && (!tenant || !strcmp(a[i].tenant, tenant))) c++;
    return c;
}

static void test_alerts(void) {
    cirrus_err e;
    an_alert_config cfg;
    an_alert_config_default(&cfg);
    CHECK(cfg.share_bp == 2000 && cfg.large_bp == 500 && cfg.drop_bp == 3000 && cfg.hhi_band);
    /*
     * Jan: 11 tenants at 1,000 each → unconcentrated; "big" is 1/11 ≈ 9% (large), "edge" exactly
     *      500 of 10,000 in a second setup below.
     * Feb: big falls 1,000 → 700 (exactly −30%: no alert); t1 falls to 699 (−30.1%: alert);
     *      t2 goes to 9,000 → share above 20% and HHI becomes highly concentrated.
     */
    const char *ts[11] = {"big", "t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8", "t9", "t10"};
    an_record r[40];
    size_t n = 0;
    for (int i = 0; i < 11; i++) r[n++] = rec(ts[i], "payg", "m", "2024-01", 1000, 100, 0, 100);
    for (int i = 0; i < 11; i++) {
        int64_t v = i == 0 ? 700 : i == 1 ? 699 : i == 2 ? 9000 : 1000;
        r[n++] = rec(ts[i], "payg", "m", "2024-02", v, 100, 0, 100);
    }
    r[n - 1].prompt_tokens = 60; /* t10: tokens 200 → 160 (−20%): none */
    r[n - 2].prompt_tokens = 39; /* t9: tokens 200 → 139 (−30.5%) with revenue flat: tokens alert only */
    an_cube *c;
    CHECK(an_cube_build(r, n, M("2024-01"), M("2024-02"), &c, &e) == CIRRUS_OK);
    an_alert *a;
    size_t na;
    CHECK(an_alerts_month(c, 0, &cfg, NULL, 0, &a, &na, &e) == CIRRUS_OK && na == 0); /* no previous month */
    free(a);
    an_budget bud[3] = {{"t3", 1000, 1000}, {"t4", 1001, 1000}, {"big", 0, 5000}};
    CHECK(an_alerts_month(c, 1, &cfg, bud, 3, &a, &na, &e) == CIRRUS_OK);
    CHECK(count_kind(a, na, AN_ALERT_HHI_BAND, NULL) == 1);
    CHECK(na > 0 && a[0].kind == AN_ALERT_HHI_BAND && a[0].prev_band == AN_HHI_UNCONCENTRATED && a[0].band == AN_HHI_HIGH);
    CHECK(count_kind(a, na, AN_ALERT_SHARE, NULL) == 1 && count_kind(a, na, AN_ALERT_SHARE, "t2") == 1);
    CHECK(count_kind(a, na, AN_ALERT_REVENUE_DROP, "big") == 0);
    CHECK(count_kind(a, na, AN_ALERT_REVENUE_DROP, "t1") == 1 && count_kind(a, na, AN_ALERT_REVENUE_DROP, NULL) == 1);
    CHECK(count_kind(a, na, AN_ALERT_TOKENS_DROP, "t9") == 1 && count_kind(a, na, AN_ALERT_TOKENS_DROP, NULL) == 1);
    CHECK(count_kind(a, na, AN_ALERT_SOFT_BUDGET, "t3") == 1 && count_kind(a, na, AN_ALERT_SOFT_BUDGET, NULL) == 1);
    for (size_t i = 0; i < na; i++)
        if (a[i].kind == AN_ALERT_REVENUE_DROP) CHECK(a[i].prev_amount == 1000 && a[i].amount == 699 && fabs(a[i].value - 0.301) < 1e-12);
    free(a);
    /* Raising the threshold silences the share alert; a tighter drop fires for big too. */
    an_alert_config c2 = cfg;
    c2.share_bp = 9000 * 10000 / 18399 + 1; /* just above t2's share (9,000 / 18,399) */
    c2.drop_bp = 2999;
    c2.hhi_band = false;
    CHECK(an_alerts_month(c, 1, &c2, NULL, 0, &a, &na, &e) == CIRRUS_OK);
    CHECK(count_kind(a, na, AN_ALERT_SHARE, NULL) == 0 && count_kind(a, na, AN_ALERT_HHI_BAND, NULL) == 0);
    CHECK(count_kind(a, na, AN_ALERT_REVENUE_DROP, "big") == 1);
    free(a);
    an_cube_free(c);

    /* Share exactly 20% does not fire, a micro-unit more does; "large" at exactly 5% of last month. */
    an_record s[6] = {rec("a", "", "", "2024-01", 500, 0, 0, 0),  rec("b", "", "", "2024-01", 9500, 0, 0, 0),
                      rec("a", "", "", "2024-02", 200, 0, 0, 0),  rec("b", "", "", "2024-02", 800, 0, 0, 0),
                      rec("a", "", "", "2024-03", 2001, 0, 0, 0), rec("b", "", "", "2024-03", 7999, 0, 0, 0)};
    CHECK(an_cube_build(s, 6, M("2024-01"), M("2024-03"), &c, &e) == CIRRUS_OK);
    CHECK(an_alerts_month(c, 1, &cfg, NULL, 0, &a, &na, &e) == CIRRUS_OK);
    CHECK(count_kind(a, na, AN_ALERT_SHARE, "a") == 0 && count_kind(a, na, AN_ALERT_SHARE, "b") == 1);
    CHECK(count_kind(a, na, AN_ALERT_REVENUE_DROP, "a") == 1); /* 5% share is large; 500 → 200 */
    free(a);
    CHECK(an_alerts_month(c, 2, &cfg, NULL, 0, &a, &na, &e) == CIRRUS_OK);
    CHECK(count_kind(a, na, AN_ALERT_SHARE, "a") == 1 && a[0].kind == AN_ALERT_SHARE && !strcmp(a[0].tenant, "b"));
    free(a);
    an_alert_config bad = cfg;
    bad.drop_bp = 10001;
    CHECK(an_alerts_month(c, 1, &bad, NULL, 0, &a, &na, &e) == CIRRUS_ERR_INVALID);
    CHECK(an_alerts_month(c, 3, &cfg, NULL, 0, &a, &na, &e) == CIRRUS_ERR_INVALID);
    an_cube_free(c);
}

/* ---- ledger export files -------------------------------------------------------------------------- */

static const char *write_tmp(const char *name, const char *text) {
    static char path[256];
    snprintf(path, sizeof path, "/tmp/cirrus_test_analytics_%d_%s", (int)getpid(), name);
    FILE *f = fopen(path, "w");
    if (!f) return NULL;
    fputs(text, f);
    fclose(f);
    return path;
}

static void test_ledger_file(void) {
    cirrus_err e;
    an_data d = {0};
    an_filter all = {AN_NO_DAY, AN_NO_DAY, false};
    const char *p = write_tmp("a.jsonl",
                              "# export\n"
                              "{\"tenant\":\"acme\",\"plan\":\"payg\",\"model\":\"m\",\"period\":\"2024-01-15\",\"revenue\":100,"
                              "\"prompt_tokens\":10,\"completion_tokens\":5,\"requests\":2}\n"
                              "\n"
                              "{\"tenant\":\"beta\",\"period\":\"2024-02\",\"revenue\":7,\"simulated\":true,\"extra\":1}\r\n"
                              "{\"tenant\":\"acme\",\"soft_budget\":5000}\n");
    CHECK(p && an_ledger_read(p, &all, &d, &e) == CIRRUS_OK);
    CHECK(d.n == 2 && !strcmp(d.r[0].tenant, "acme") && d.r[0].day != AN_NO_DAY && d.r[0].month == M("2024-01"));
    CHECK(d.r[0].requests == 2 && d.r[0].prompt_tokens == 10 && d.r[1].requests == 1 && d.r[1].simulated);
    CHECK(d.n_budgets == 1 && d.budgets[0].soft == 5000 && !strcmp(d.budgets[0].tenant, "acme"));
    an_data_free(&d);
    /* Filters: a day range keeps whole months whose month is in range; simulated can be dropped. */
    an_filter f = {0, 0, true};
    CHECK(an_day_parse("2024-01-16", &f.from_day) && an_day_parse("2024-02-01", &f.to_day));
    CHECK(an_ledger_read(p, &f, &d, &e) == CIRRUS_OK && d.n == 0);
    an_data_free(&d);
    f.exclude_simulated = false;
    CHECK(an_ledger_read(p, &f, &d, &e) == CIRRUS_OK && d.n == 1 && !strcmp(d.r[0].tenant, "beta"));
    an_data_free(&d);

    p = write_tmp("b.csv",
                  "period,tenant,revenue,model,simulated,cached_tokens,soft_budget\n"
                  "2024-03,\"a,b\",10,\"m \"\"x\"\"\",0,3,\n"
                  "2024-03-02,c,20,,1,,\n"
                  ",c,,,,,900\n");
    CHECK(p && an_ledger_read(p, &all, &d, &e) == CIRRUS_OK);
    CHECK(d.n == 2 && !strcmp(d.r[0].tenant, "a,b") && !strcmp(d.r[0].model, "m \"x\"") && d.r[0].cached_tokens == 3);
    CHECK(d.r[1].simulated && d.r[1].revenue == 20 && d.n_budgets == 1 && d.budgets[0].soft == 900);
    an_data_free(&d);

    /* Errors name the line and the field. */
    struct {
        const char *text, *want;
    } bad[] = {
        {"{\"tenant\":\"a\",\"period\":\"2024-01\",\"revenue\":-1}\n", "line 1: revenue is negative"},
        {"{\"tenant\":\"a\",\"period\":\"2024-13\",\"revenue\":1}\n", "line 1: period"},
        {"{\"tenant\":\"a\",\"period\":\"2024-01\"}\n", "line 1: revenue is missing"},
        {"{\"tenant\":\"a\",\"period\":\"2024-01\",\"revenue\":1.5}\n", "line 1: revenue is not an integer"},
        {"{\"period\":\"2024-01\",\"revenue\":1}\n", "line 1: tenant is missing"},
        {"{\"tenant\":\"a\",\"period\":\"2024-01\",\"revenue\":1}\n{oops\n", "line 2: not JSON"},
        {"tenant,revenue\n", "needs tenant, period and revenue"},
        {"tenant,period,revenue\na,2024-01,12x\n", "line 2: revenue '12x' is not an integer"},
        {"tenant,period,revenue\n\"a,2024-01,1\n", "line 2: unterminated quote"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        p = write_tmp("bad", bad[i].text);
        memset(&e, 0, sizeof e);
        cirrus_status st = an_ledger_read(p, &all, &d, &e);
        CHECK_MSG(st != CIRRUS_OK && strstr(e.msg, bad[i].want), "case %zu: %s", i, e.msg);
        an_data_free(&d);
    }
    CHECK(an_ledger_read("/nonexistent/x.jsonl", &all, &d, &e) != CIRRUS_OK);

    /* Many tenants' budgets, each set twice (a later line wins, the order is first appearance),
     * and a second file read into the same set updating them: the budget index keeps up with
     * growth and with the budgets a set already holds. */
    enum { NB = 5000 };
    size_t cap = (size_t)NB * 2 * 48 + 1;
    char *text = malloc(cap), *q = text;
    CHECK(text != NULL);
    if (!text) return;
    for (int i = 0; i < NB; i++) q += sprintf(q, "{\"tenant\":\"t%d\",\"soft_budget\":%d}\n", i, i + 1);
    for (int i = NB - 1; i >= 0; i--) q += sprintf(q, "{\"tenant\":\"t%d\",\"soft_budget\":%d}\n", i, 2 * i + 7);
    p = write_tmp("c.jsonl", text);
    CHECK(p && an_ledger_read(p, &all, &d, &e) == CIRRUS_OK && d.n == 0 && d.n_budgets == NB);
    int wrong = 0;
    for (int i = 0; i < NB && d.n_budgets == NB; i++) {
        char name[16];
        snprintf(name, sizeof name, "t%d", i);
        wrong += strcmp(d.budgets[i].tenant, name) != 0 || d.budgets[i].soft != 2 * i + 7;
    }
    CHECK_MSG(wrong == 0, "%d budgets wrong", wrong);
    p = write_tmp("c.jsonl", "{\"tenant\":\"t17\",\"soft_budget\":1}\n{\"tenant\":\"new\",\"soft_budget\":2}\n");
    CHECK(p && an_ledger_read(p, &all, &d, &e) == CIRRUS_OK && d.n_budgets == NB + 1);
    CHECK(d.n_budgets == NB + 1 && d.budgets[17].soft == 1 && !strcmp(d.budgets[NB].tenant, "new"));
    an_data_free(&d);
    free(text);
    unlink(p);
    char path[256];
    snprintf(path, sizeof path, "/tmp/cirrus_test_analytics_%d_a.jsonl", (int)getpid());
    unlink(path);
    snprintf(path, sizeof path, "/tmp/cirrus_test_analytics_%d_b.csv", (int)getpid());
    unlink(path);
}

/* ---- reports ------------------------------------------------------------------------------------ */

/* The JSON both `cirrus report --json` and the admin API send. Jan is context: a 60, b 40;
 * Feb is the report: a 30, c 70 (b stops, a new tenant arrives); Mar has no usage at all. */
static void test_reports(void) {
    an_record r[] = {rec("a", "payg", "m", "2024-01", 60, 6, 0, 0), rec("b", "payg", "m", "2024-01", 40, 4, 0, 0),
                     rec("a", "payg", "m", "2024-02-10", 30, 3, 0, 0), rec("c", "committed", "m", "2024-02", 70, 7, 0, 0)};
    an_cube *cube = NULL;
    cirrus_err e;
    CHECK(an_cube_build(r, 4, M("2024-01"), M("2024-03"), &cube, &e) == CIRRUS_OK);
    if (!cube) return;
    an_report rep = {cube, 1, an_month_first_day(M("2024-02")), an_month_first_day(M("2024-03")) + 15, "test", false};
    json_t *j = NULL;

    CHECK(an_report_revenue_json(&rep, &j, &e) == CIRRUS_OK);
    CHECK(!strcmp(json_string_value(json_object_get(j, "from")), "2024-02-01"));
    CHECK(json_integer_value(json_object_get(json_object_get(j, "total"), "revenue")) == 100);
    json_t *feb = json_array_get(json_object_get(j, "months"), 0), *mar = json_array_get(json_object_get(j, "months"), 1);
    CHECK(json_real_value(json_object_get(feb, "growth")) == 0.0 && json_is_true(json_object_get(mar, "partial")));
    CHECK(json_real_value(json_object_get(mar, "growth")) == -1.0);
    json_t *top = json_array_get(json_object_get(j, "tenants"), 0);
    CHECK(!strcmp(json_string_value(json_object_get(top, "name")), "c") &&
          json_real_value(json_object_get(top, "share")) == 0.7);
    /* c's growth into February is from nothing: undefined (null), not infinite */
    CHECK(json_is_null(json_object_get(json_array_get(json_object_get(top, "months"), 0), "growth")));
    const char *want_notes[] = {"2024-03 is partial", "2024-03 has no usage"};
    for (size_t i = 0; i < 2; i++) {
        bool found = false;
        json_t *n;
        size_t k;
        json_array_foreach(json_object_get(j, "notes"), k, n) found |= strstr(json_string_value(n), want_notes[i]) != NULL;
        CHECK_MSG(found, "note '%s'", want_notes[i]);
    }
    json_decref(j);

    an_conc_report x;
    CHECK(an_report_concentration(&rep, "nobody", 10000, &x, &e) == CIRRUS_ERR_INVALID);
    CHECK(an_report_concentration(&rep, "c", 10000, &x, &e) == CIRRUS_OK);
    CHECK(an_report_concentration_json(&rep, &x, &j, &e) == CIRRUS_OK);
    CHECK_NEAR(json_real_value(json_object_get(j, "hhi")), 5800, 1e-9); /* 70² + 30² */
    json_t *majors = json_object_get(j, "major_customers");
    CHECK(json_array_size(majors) == 2 && !strcmp(json_string_value(json_array_get(majors, 0)), "c"));
    json_t *trend = json_object_get(j, "trend");
    CHECK(json_array_size(trend) == 2 && json_is_false(json_object_get(json_array_get(trend, 0), "hhi_band_changed")));
    CHECK(json_is_null(json_object_get(json_array_get(trend, 1), "hhi"))); /* March: no revenue (A2) */
    json_t *wi = json_object_get(j, "whatif");
    CHECK(json_integer_value(json_object_get(wi, "revenue_after")) == 30 && json_is_true(json_object_get(wi, "leaves")));
    CHECK_NEAR(json_real_value(json_object_get(json_object_get(wi, "after"), "hhi")), 10000, 1e-9);
    json_decref(j);
    an_conc_report_free(&x);

    an_fc_report f;
    an_report hist = rep;
    hist.r0 = 0; /* a forecast's history is all of the cube */
    CHECK(an_report_forecast(&hist, 2, 95, &f, &e) == CIRRUS_OK);
    CHECK(an_report_forecast_json(&hist, &f, &j, &e) == CIRRUS_OK);
    CHECK(json_integer_value(json_object_get(j, "horizon")) == 2);
    CHECK(!strcmp(json_string_value(json_object_get(json_object_get(j, "total"), "method")), "ols-linear-trend"));
    CHECK(json_array_size(json_object_get(j, "tenants")) == 3); /* a, c, b: all had revenue in the history */
    json_decref(j);
    an_fc_report_free(&f);

    an_alert_config cfg;
    an_alert_config_default(&cfg);
    an_budget b = {"c", 50, 0};
    an_alert *a = NULL;
    size_t n = 0;
    CHECK(an_report_alerts(&rep, &cfg, &b, 1, &a, &n, &e) == CIRRUS_OK && n > 0);
    CHECK(an_report_alerts_json(&rep, &cfg, a, n, &j, &e) == CIRRUS_OK);
    CHECK(json_integer_value(json_object_get(j, "count")) == (json_int_t)n);
    bool budget = false;
    for (size_t i = 0; i < n; i++) budget |= a[i].kind == AN_ALERT_SOFT_BUDGET && !strcmp(a[i].tenant, "c");
    CHECK(budget); /* spend 70 of a soft budget of 50 */
    char msg[400], money[40];
    an_alert_message(&a[0], msg, sizeof msg);
    CHECK(!strcmp(json_string_value(json_object_get(json_array_get(json_object_get(j, "alerts"), 0), "message")), msg));
    json_decref(j);
    free(a);

    an_money_format(money, sizeof money, 1234567895000);
    CHECK(!strcmp(money, "1,234,567.90"));
    an_money_format(money, sizeof money, -5000);
    CHECK(!strcmp(money, "-0.01"));
    an_cube_free(cube);
}

/* A source for an_report_load: every record of `all` (the cube skips what is outside), and the filter
 * it was asked for. */
typedef struct {
    const an_record *all;
    size_t n;
    an_filter asked;
    bool fail;
} fake_source;

static cirrus_status fake_read(void *arg, const an_filter *f, an_data *out, cirrus_err *err) {
    fake_source *s = arg;
    s->asked = *f;
    if (s->fail) return cirrus_errf(err, CIRRUS_ERR_IO, "source failed");
    for (size_t i = 0; i < s->n; i++) {
        cirrus_status st = an_data_push(out, &s->all[i], err);
        if (st != CIRRUS_OK) return st;
    }
    return CIRRUS_OK;
}

static int64_t D(const char *s) {
    int64_t d = AN_NO_DAY;
    an_day_parse(s, &d);
    return d;
}

static void test_report_period(void) {
    an_record r[] = {rec("a", "payg", "m", "2024-01-20", 10, 0, 0, 0), rec("a", "payg", "m", "2024-02-05", 20, 0, 0, 0),
                     rec("b", "payg", "m", "2024-02", 30, 0, 0, 0), rec("a", "payg", "m", "2024-02-12", 40, 0, 0, 0),
                     rec("b", "payg", "m", "2024-04-01", 50, 0, 0, 0)};
    fake_source src = {r, 5, {0, 0, false}, false};
    an_report_input in;
    cirrus_err e;

    /* one month: the month before is context, the report starts after it */
    an_period p = {M("2024-03"), AN_NO_DAY, AN_NO_DAY, false, true, M("2030-01")};
    CHECK(an_report_load(&p, fake_read, &src, &in, &e) == CIRRUS_OK);
    CHECK(src.asked.from_day == D("2024-02-01") && src.asked.to_day == D("2024-03-31") && src.asked.exclude_simulated);
    CHECK(in.first_month == M("2024-03") && in.last_month == M("2024-03") && in.cube_first == M("2024-02"));
    CHECK(in.rep.r0 == 1 && in.rep.from_day == D("2024-03-01") && in.rep.to_day == D("2024-03-31"));
    CHECK(in.rep.excluded_simulated);
    CHECK(an_report_build(&in, &e) == CIRRUS_OK && in.rep.cube == in.cube && in.cube->n_months == 2);
    an_report_input_free(&in);

    /* a forecast for one month: a year of history, all of it the report */
    p.forecast = true;
    CHECK(an_report_load(&p, fake_read, &src, &in, &e) == CIRRUS_OK);
    CHECK(src.asked.from_day == D("2023-04-01") && in.cube_first == M("2023-04") && in.rep.r0 == 0);
    an_report_input_free(&in);

    /* from a day, open end: January loads whole as context, February only from the 10th (a
     * month-granular record cannot be split), the last month from the data */
    an_period q = {-1, D("2024-02-10"), AN_NO_DAY, false, false, M("2030-01")};
    CHECK(an_report_load(&q, fake_read, &src, &in, &e) == CIRRUS_OK);
    CHECK(src.asked.from_day == D("2024-01-01") && src.asked.to_day == AN_NO_DAY);
    CHECK(in.data.n == 4); /* 2024-02-05 dropped */
    for (size_t i = 0; i < in.data.n; i++) CHECK(in.data.r[i].day != D("2024-02-05"));
    CHECK(in.first_month == M("2024-02") && in.last_month == M("2024-04") && in.cube_first == M("2024-01"));
    CHECK(in.rep.r0 == 1 && in.rep.from_day == D("2024-02-10") && in.rep.to_day == D("2024-04-30"));
    an_report_input_free(&in);

    /* a forecast from a day has no context: the period (from its first month) is the history */
    q.forecast = true;
    CHECK(an_report_load(&q, fake_read, &src, &in, &e) == CIRRUS_OK);
    CHECK(src.asked.from_day == D("2024-02-01") && in.data.n == 4 && in.cube_first == M("2024-02") && in.rep.r0 == 0);
    an_report_input_free(&in);

    /* no usage and no bounds: the caller's current month, empty */
    src.n = 0;
    an_period open = {-1, AN_NO_DAY, AN_NO_DAY, false, false, M("2030-01")};
    CHECK(an_report_load(&open, fake_read, &src, &in, &e) == CIRRUS_OK);
    CHECK(in.first_month == M("2030-01") && in.last_month == M("2030-01") && in.rep.r0 == 0);
    CHECK(an_report_build(&in, &e) == CIRRUS_OK && in.cube->n_months == 1 && in.cube->sum.revenue == 0);
    an_report_input_free(&in);

    /* a period ending before the data starts: the end month, empty */
    src.n = 5;
    an_period before = {-1, AN_NO_DAY, D("2023-06-15"), false, false, M("2030-01")};
    CHECK(an_report_load(&before, fake_read, &src, &in, &e) == CIRRUS_OK);
    CHECK(in.first_month == M("2023-06") && in.last_month == M("2023-06") && in.rep.from_day == D("2023-06-01"));
    an_report_input_free(&in);

    /* the source's failure is the load's */
    src.fail = true;
    CHECK(an_report_load(&p, fake_read, &src, &in, &e) == CIRRUS_ERR_IO && in.first_month == -1);
    an_report_input_free(&in);
}

int main(void) {
    test_dates();
    test_concentration();
    test_whatif();
    test_cube();
    test_forecast();
    test_alerts();
    test_ledger_file();
    test_reports();
    test_report_period();
    return check_done("test_analytics");
}
