/*
 * Monthly revenue forecasts with prediction intervals (method and rules in analytics.h).
 *
 * Why OLS on a linear trend and not Holt or a log model: B2B revenue histories are short (a year at
 * most in the window), contain zeros (a tenant that paused), and a finance reader must be able to
 * redo the number by hand. OLS has a textbook prediction interval, a log model cannot take a zero
 * month, and Holt's smoothing constants would be fitted on a dozen points. The method is named in
 * every output so a reader knows what the interval means.
 *
 * Quantiles: the Student t quantile is found by bisection on the regularized incomplete beta
 * function (Numerical Recipes' continued fraction), so any degrees of freedom get an exact-enough
 * value rather than a table row; the test checks it against published table values.
 */
#include <math.h>
#include <string.h>

#include "analytics/analytics.h"

const char *an_fc_method_str(an_fc_method m) {
    switch (m) {
    case AN_FC_NAIVE: return "naive";
    case AN_FC_OLS: return "ols-linear-trend";
    default: return "none";
    }
}

/* ---- quantiles ----------------------------------------------------------------------------------- */

/* Continued fraction for the incomplete beta function (modified Lentz). */
static double betacf(double a, double b, double x) {
    const double tiny = 1e-300, eps = 1e-15;
    double qab = a + b, qap = a + 1, qam = a - 1, c = 1, d = 1 - qab * x / qap;
    if (fabs(d) < tiny) d = tiny;
    d = 1 / d;
    double h = d;
    for (int m = 1; m <= 400; m++) {
        int m2 = 2 * m;
        double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1 + aa * d;
        if (fabs(d) < tiny) d = tiny;
        c = 1 + aa / c;
        if (fabs(c) < tiny) c = tiny;
        d = 1 / d;
        h *= d * c;
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1 + aa * d;
        if (fabs(d) < tiny) d = tiny;
        c = 1 + aa / c;
        if (fabs(c) < tiny) c = tiny;
        d = 1 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1) < eps) break;
    }
    return h;
}

/* Regularized incomplete beta I_x(a, b). */
static double betai(double a, double b, double x) {
    if (x <= 0) return 0;
    if (x >= 1) return 1;
    double lbt = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x);
    double bt = exp(lbt);
    if (x < (a + 1) / (a + b + 2)) return bt * betacf(a, b, x) / a;
    return 1 - bt * betacf(b, a, 1 - x) / b;
}

double an_t_quantile(int dof, int level) {
    if (level != 80 && level != 90 && level != 95 && level != 99) return NAN;
    double alpha = 1 - level / 100.0; /* two-sided tail mass */
    if (dof <= 0) {
        /* Normal: P(|Z| <= z) = erf(z/√2) = 1 − alpha. */
        double lo = 0, hi = 10;
        for (int i = 0; i < 200; i++) {
            double mid = (lo + hi) / 2;
            if (erf(mid / sqrt(2.0)) < 1 - alpha)
                lo = mid;
            else
                hi = mid;
        }
        return (lo + hi) / 2;
    }
    /* P(|T| > t) = I_x(ν/2, 1/2) with x = ν / (ν + t²); I is increasing in x, t decreasing in x. */
    double nu = dof, lo = 0, hi = 1;
    for (int i = 0; i < 200; i++) {
        double mid = (lo + hi) / 2;
        if (betai(nu / 2, 0.5, mid) < alpha)
            lo = mid;
        else
            hi = mid;
    }
    double x = (lo + hi) / 2;
    return sqrt(nu * (1 - x) / x);
}

/* ---- the forecast ---------------------------------------------------------------------------------- */

static bool to_micro(long double v, int64_t *out) {
    if (!(v > -9.2e18L && v < 9.2e18L)) return false;
    *out = (int64_t)llroundl(v);
    return true;
}

cirrus_status an_forecast_series(const int64_t *y, size_t n, int horizon, int level, an_forecast *out,
                                 cirrus_err *err) {
    memset(out, 0, sizeof *out);
    if (horizon < 1 || horizon > AN_FC_HORIZON_MAX)
        return cirrus_errf(err, CIRRUS_ERR_INVALID, "forecast: horizon must be 1..%d months", AN_FC_HORIZON_MAX);
    if (level != 80 && level != 90 && level != 95 && level != 99)
        return cirrus_errf(err, CIRRUS_ERR_INVALID, "forecast: level must be 80, 90, 95 or 99");
    out->horizon = horizon;
    out->level = level;
    for (size_t i = 0; i < n; i++)
        if (y[i] < 0) return cirrus_errf(err, CIRRUS_ERR_RANGE, "forecast: month %zu has negative revenue", i);
    size_t start = 0;
    while (start < n && y[start] == 0) start++;
    if (start == n) { /* no revenue ever: nothing to extrapolate */
        out->method = AN_FC_NONE;
        return CIRRUS_OK;
    }
    if (n - start > AN_FC_WINDOW) start = n - AN_FC_WINDOW;
    const int64_t *h = y + start;
    size_t m = n - start;
    out->n_used = m;

    if (m <= 2) {
        out->method = AN_FC_NAIVE;
        out->short_history = true;
        long double last = (long double)h[m - 1];
        long double delta = m == 2 ? fabsl((long double)h[1] - (long double)h[0]) : 0;
        long double z = an_t_quantile(0, level);
        long double base = fmaxl(0.5L * last, z * delta);
        for (int k = 0; k < horizon; k++) {
            long double half = base * sqrtl((long double)(k + 1));
            out->point[k] = h[m - 1];
            if (!to_micro(fmaxl(0, last - half), &out->lower[k]) || !to_micro(last + half, &out->upper[k]))
                return cirrus_errf(err, CIRRUS_ERR_RANGE, "forecast: interval outside int64 micro-units");
        }
        return CIRRUS_OK;
    }

    /* OLS on t = 0..m−1: b = Σ(t − t̄)(y − ȳ) / Σ(t − t̄)², a = ȳ − b·t̄. */
    out->method = AN_FC_OLS;
    long double tbar = (long double)(m - 1) / 2, ybar = 0, sxx = 0, sxy = 0, sse = 0;
    for (size_t i = 0; i < m; i++) ybar += (long double)h[i];
    ybar /= (long double)m;
    for (size_t i = 0; i < m; i++) {
        long double dt = (long double)i - tbar;
        sxx += dt * dt;
        sxy += dt * ((long double)h[i] - ybar);
    }
    long double b = sxy / sxx, a = ybar - b * tbar;
    for (size_t i = 0; i < m; i++) {
        long double r = (long double)h[i] - (a + b * (long double)i);
        sse += r * r;
    }
    long double s = sqrtl(sse / (long double)(m - 2));
    long double tq = an_t_quantile((int)(m - 2), level);
    out->intercept = (double)a;
    out->slope = (double)b;
    out->resid_sd = (double)s;
    for (int k = 0; k < horizon; k++) {
        long double t0 = (long double)(m - 1 + (size_t)k + 1);
        long double yhat = a + b * t0;
        long double se = s * sqrtl(1 + 1.0L / (long double)m + (t0 - tbar) * (t0 - tbar) / sxx);
        if (!to_micro(fmaxl(0, yhat), &out->point[k]) || !to_micro(fmaxl(0, yhat - tq * se), &out->lower[k]) ||
            !to_micro(fmaxl(0, yhat + tq * se), &out->upper[k]))
            return cirrus_errf(err, CIRRUS_ERR_RANGE, "forecast: value outside int64 micro-units");
    }
    return CIRRUS_OK;
}
