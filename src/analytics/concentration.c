/*
 * Concentration of revenue over tenants: shares, top-N, HHI with its merger-guideline band, Gini,
 * major customers, and the what-if of a tenant leaving or cutting its spend. Conventions A2–A7 of
 * analytics.h hold here.
 *
 * Exactness. Every yes/no question (which band, who is a major customer, who is above a threshold)
 * is answered in integers with unsigned __int128, because a finance reviewer will check the
 * boundary cases by hand: ten equal tenants have an HHI of exactly 1,000 and are "moderately
 * concentrated", even if the double comes out as 999.9999999999999. The doubles are for display.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/analytics.h"

#ifndef __SIZEOF_INT128__
#error "analytics needs unsigned __int128 for exact share and HHI comparisons"
#endif
typedef unsigned __int128 u128;

const char *an_hhi_band_str(an_hhi_band b) {
    switch (b) {
    case AN_HHI_UNCONCENTRATED: return "unconcentrated";
    case AN_HHI_MODERATE: return "moderately concentrated";
    case AN_HHI_HIGH: return "highly concentrated";
    default: return "undefined";
    }
}

an_hhi_band an_hhi_classify(double hhi) {
    if (!(hhi >= 0)) return AN_HHI_UNDEFINED; /* NaN or negative */
    if (hhi < 1000) return AN_HHI_UNCONCENTRATED;
    if (hhi <= 1800) return AN_HHI_MODERATE;
    return AN_HHI_HIGH;
}

double an_share(int64_t rev, int64_t total) { return total > 0 ? (double)rev / (double)total : 0.0; }

bool an_is_major(int64_t rev, int64_t total) {
    return total > 0 && rev >= 0 && (u128)rev * 10 >= (u128)total;
}

bool an_share_above(int64_t rev, int64_t total, int32_t bp) {
    return total > 0 && rev >= 0 && bp >= 0 && (u128)rev * 10000 > (u128)bp * (u128)total;
}

bool an_share_at_least(int64_t rev, int64_t total, int32_t bp) {
    return total > 0 && rev >= 0 && bp >= 0 && (u128)rev * 10000 >= (u128)bp * (u128)total;
}

/* ---- ranking: heapsort on indices, so it needs no allocation and the order is total (A5) ------- */

/* True when i ranks after j: less revenue, or equal revenue and a later name, or the same name and
 * a later index. */
static bool after(const int64_t *rev, const char *const *names, size_t i, size_t j) {
    if (rev[i] != rev[j]) return rev[i] < rev[j];
    int k = strcmp(names[i], names[j]);
    if (k != 0) return k > 0;
    return i > j;
}

static void sift(size_t *o, size_t root, size_t n, const int64_t *rev, const char *const *names) {
    for (;;) {
        size_t c = 2 * root + 1;
        if (c >= n) return;
        if (c + 1 < n && after(rev, names, o[c + 1], o[c])) c++;
        if (!after(rev, names, o[c], o[root])) return;
        size_t t = o[c];
        o[c] = o[root];
        o[root] = t;
        root = c;
    }
}

void an_rank(const int64_t *rev, const char *const *names, size_t n, size_t *order) {
    for (size_t i = 0; i < n; i++) order[i] = i;
    /* A max-heap on "ranks later", then repeatedly moving the latest-ranked to the end. */
    for (size_t i = n / 2; i-- > 0;) sift(order, i, n, rev, names);
    for (size_t end = n; end > 1; end--) {
        size_t t = order[0];
        order[0] = order[end - 1];
        order[end - 1] = t;
        sift(order, 0, end - 1, rev, names);
    }
}

/* ---- Gini ---------------------------------------------------------------------------------------- */

static int cmp_desc(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x < y) - (x > y);
}

/*
 * A4 computed without the n² pair loop. For positive values sorted descending x_(1) >= ... >= x_(n),
 * Σ_i<j |x_i − x_j| = Σ_k (n + 1 − 2k)·x_(k), so
 *   G = Σ_iΣ_j |x_i − x_j| / (2·n²·mean) = Σ_k (n + 1 − 2k)·x_(k) / (n·T),   T = Σ x.
 * The numerator is accumulated in long double; the test checks it against the pair loop.
 */
static double gini_sorted_desc(const int64_t *x, size_t n) {
    if (n < 2) return 0.0;
    long double num = 0, total = 0;
    for (size_t k = 1; k <= n; k++) {
        num += ((long double)n + 1 - 2.0L * (long double)k) * (long double)x[k - 1];
        total += (long double)x[k - 1];
    }
    if (total <= 0) return 0.0;
    long double g = num / ((long double)n * total);
    return g < 0 ? 0.0 : (double)g; /* −0 from rounding when all are equal */
}

cirrus_status an_gini(const int64_t *rev, size_t n, double *out, cirrus_err *err) {
    *out = 0;
    int64_t *x = malloc((n ? n : 1) * sizeof *x);
    if (!x) return cirrus_errf(err, CIRRUS_ERR_NOMEM, "gini: out of memory");
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (rev[i] > 0) x[k++] = rev[i];
    qsort(x, k, sizeof *x, cmp_desc);
    *out = gini_sorted_desc(x, k);
    free(x);
    return CIRRUS_OK;
}

/* ---- the measures ------------------------------------------------------------------------------ */

/*
 * Exact band (A3). With S = Σ r_i² and T2 = T², HHI = 10,000·S / T2, so
 *   HHI < 1,000   ⇔  10·S < T2       ⇔  S <= ⌊(T2 − 1) / 10⌋
 *   HHI <= 1,800  ⇔  50·S <= 9·T2    ⇔  S <= ⌊9·T2 / 50⌋ = 9·⌊T2/50⌋ + ⌊9·(T2 mod 50) / 50⌋
 * written so nothing overflows: T < 2^63 gives T2 < 2^126, and S <= T2 because the r_i are >= 0.
 */
static an_hhi_band exact_band(u128 s, u128 t2) {
    if (t2 == 0) return AN_HHI_UNDEFINED;
    if (s <= (t2 - 1) / 10) return AN_HHI_UNCONCENTRATED;
    u128 hi = 9 * (t2 / 50) + (9 * (t2 % 50)) / 50;
    return s <= hi ? AN_HHI_MODERATE : AN_HHI_HIGH;
}

cirrus_status an_concentration(const int64_t *rev, size_t n, an_conc *out, cirrus_err *err) {
    memset(out, 0, sizeof *out);
    int64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (rev[i] < 0) return cirrus_errf(err, CIRRUS_ERR_RANGE, "concentration: tenant %zu has negative revenue", i);
        if (__builtin_add_overflow(total, rev[i], &total))
            return cirrus_errf(err, CIRRUS_ERR_RANGE, "concentration: total revenue overflows int64");
    }
    out->total = total;
    out->band = AN_HHI_UNDEFINED;
    int64_t *x = malloc((n ? n : 1) * sizeof *x);
    if (!x) return cirrus_errf(err, CIRRUS_ERR_NOMEM, "concentration: out of memory");
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (rev[i] > 0) x[k++] = rev[i];
    qsort(x, k, sizeof *x, cmp_desc);
    out->n = k;
    if (total == 0) { /* A2: nothing to share; every measure stays 0 and undefined */
        free(x);
        return CIRRUS_OK;
    }
    out->defined = true;
    u128 s = 0;
    long double hhi = 0;
    for (size_t i = 0; i < k; i++) {
        if (i < 1) out->top1_rev += x[i];
        if (i < 5) out->top5_rev += x[i];
        if (i < 10) out->top10_rev += x[i];
        s += (u128)x[i] * (u128)x[i];
        long double pct = 100.0L * (long double)x[i] / (long double)total;
        hhi += pct * pct;
        if (an_is_major(x[i], total)) out->n_major++;
    }
    out->top1 = an_share(out->top1_rev, total);
    out->top5 = an_share(out->top5_rev, total);
    out->top10 = an_share(out->top10_rev, total);
    out->hhi = (double)hhi;
    out->band = exact_band(s, (u128)total * (u128)total);
    out->gini = gini_sorted_desc(x, k);
    free(x);
    return CIRRUS_OK;
}

/* ---- what-if ------------------------------------------------------------------------------------ */

int64_t an_cut_amount(int64_t rev, int32_t cut_bp) {
    if (rev <= 0 || cut_bp <= 0) return 0;
    if (cut_bp >= 10000) return rev;
    /* rev·bp/10,000 rounded half up, split so that nothing overflows: rev = q·10,000 + r. */
    int64_t q = rev / 10000, r = rev % 10000;
    return q * cut_bp + (r * cut_bp + 5000) / 10000;
}

cirrus_status an_whatif_compute(const int64_t *rev, size_t n, size_t idx, int32_t cut_bp, an_whatif *out,
                                cirrus_err *err) {
    memset(out, 0, sizeof *out);
    if (idx >= n) return cirrus_errf(err, CIRRUS_ERR_INVALID, "what-if: tenant index %zu out of range", idx);
    if (cut_bp < 0 || cut_bp > 10000)
        return cirrus_errf(err, CIRRUS_ERR_INVALID, "what-if: cut must be 0..100%% (got %d bp)", (int)cut_bp);
    cirrus_status st = an_concentration(rev, n, &out->before, err);
    if (st != CIRRUS_OK) return st;
    int64_t *v = malloc(n * sizeof *v);
    if (!v) return cirrus_errf(err, CIRRUS_ERR_NOMEM, "what-if: out of memory");
    memcpy(v, rev, n * sizeof *v);
    out->tenant = idx;
    out->cut_bp = cut_bp;
    out->revenue_before = rev[idx];
    v[idx] = rev[idx] - an_cut_amount(rev[idx], cut_bp);
    out->revenue_after = v[idx];
    st = an_concentration(v, n, &out->after, err);
    free(v);
    return st;
}
