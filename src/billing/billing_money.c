/*
 * Money and calendar arithmetic, in integers only. Dates are UTC proleptic Gregorian; the civil
 * conversions are Howard Hinnant's days_from_civil / civil_from_days, exact for every int64 day
 * count we can meet, so no libc time zone state is involved.
 */
#include <stdio.h>
#include <string.h>

#include "billing/billing.h"

#define MONEY_MAX (1000000000000000LL) /* 1e9 currency units in micro-units: far above any real price */

cirrus_status billing_parse_money(const char *what, const char *s, int64_t *out, cirrus_err *err) {
    if (!s || !*s) return cirrus_errf(err, CIRRUS_ERR_INVALID, "%s: empty amount", what);
    size_t n = strlen(s);
    if (n > 40) return cirrus_errf(err, CIRRUS_ERR_INVALID, "%s: amount is too long", what);
    int64_t v = 0;
    if (s[n - 1] == 'u') { /* integer micro-units */
        if (n == 1) return cirrus_errf(err, CIRRUS_ERR_INVALID, "%s: '%s' is not an amount", what, s);
        for (size_t i = 0; i + 1 < n; i++) {
            if (s[i] < '0' || s[i] > '9') return cirrus_errf(err, CIRRUS_ERR_INVALID, "%s: '%s' is not a whole number of micro-units", what, s);
            v = v * 10 + (s[i] - '0');
            if (v > MONEY_MAX) return cirrus_errf(err, CIRRUS_ERR_RANGE, "%s: '%s' is too large", what, s);
        }
        *out = v;
        return CIRRUS_OK;
    }
    size_t i = 0, digits = 0, decimals = 0;
    bool dot = false;
    for (; i < n; i++) {
        char c = s[i];
        if (c == '.' && !dot) {
            dot = true;
            continue;
        }
        if (c < '0' || c > '9')
            return cirrus_errf(err, CIRRUS_ERR_INVALID, "%s: '%s' is not an amount (use 1.25 for currency or 1250000u for micro-units)", what, s);
        if (dot && ++decimals > 6) return cirrus_errf(err, CIRRUS_ERR_INVALID, "%s: '%s' has more than 6 decimals (one micro-unit)", what, s);
        v = v * 10 + (c - '0');
        digits++;
        if (v > MONEY_MAX) return cirrus_errf(err, CIRRUS_ERR_RANGE, "%s: '%s' is too large", what, s);
    }
    if (!digits) return cirrus_errf(err, CIRRUS_ERR_INVALID, "%s: '%s' is not an amount", what, s);
    for (; decimals < 6; decimals++) {
        v *= 10;
        if (v > MONEY_MAX) return cirrus_errf(err, CIRRUS_ERR_RANGE, "%s: '%s' is too large", what, s);
    }
    *out = v;
    return CIRRUS_OK;
}

void billing_format_money(int64_t micros, char *buf, size_t cap) {
    /* via unsigned so INT64_MIN is printed right too */
    uint64_t m = micros < 0 ? (uint64_t)0 - (uint64_t)micros : (uint64_t)micros;
    snprintf(buf, cap, "%s%llu.%06llu", micros < 0 ? "-" : "", (unsigned long long)(m / 1000000u),
             (unsigned long long)(m % 1000000u));
}

/* ---- calendar ------------------------------------------------------------------------------ */

int64_t billing_days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d) {
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

static int days_in_month(int64_t y, int m) {
    static const int k[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : k[m - 1];
}

/* Reads exactly n digits at s into *v. */
static bool digits(const char *s, int n, int *v) {
    int x = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        x = x * 10 + (s[i] - '0');
    }
    *v = x;
    return true;
}

cirrus_status billing_parse_date(const char *what, const char *s, int64_t *out, cirrus_err *err) {
    int y, mo, d, h = 0, mi = 0, se = 0;
    size_t n = s ? strlen(s) : 0;
    if (n && s[n - 1] == 'Z') n--;
    bool ok = (n == 10 || n == 16 || n == 19) && digits(s, 4, &y) && s[4] == '-' && digits(s + 5, 2, &mo) &&
              s[7] == '-' && digits(s + 8, 2, &d);
    if (ok && n >= 16) ok = (s[10] == 'T' || s[10] == ' ') && digits(s + 11, 2, &h) && s[13] == ':' && digits(s + 14, 2, &mi);
    if (ok && n == 19) ok = s[16] == ':' && digits(s + 17, 2, &se);
    if (!ok) return cirrus_errf(err, CIRRUS_ERR_INVALID, "%s: '%s' is not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ, UTC)", what, s ? s : "");
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || se > 59)
        return cirrus_errf(err, CIRRUS_ERR_RANGE, "%s: '%s' is not a valid date from 1970 on", what, s);
    *out = billing_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
    return CIRRUS_OK;
}

cirrus_status billing_parse_month(const char *s, int64_t *from, int64_t *to, cirrus_err *err) {
    int y, m;
    if (!s || strlen(s) != 7 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &m) || m < 1 || m > 12 || y < 1970)
        return cirrus_errf(err, CIRRUS_ERR_INVALID, "--month: '%s' is not a month (YYYY-MM)", s ? s : "");
    *from = billing_days_from_civil(y, m, 1) * 86400;
    *to = billing_days_from_civil(m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1, 1) * 86400;
    return CIRRUS_OK;
}

void billing_month_bounds(int64_t unix_s, int64_t *from, int64_t *to) {
    int64_t y;
    int m, d;
    civil_from_days(floor_div(unix_s, 86400), &y, &m, &d);
    *from = billing_days_from_civil(y, m, 1) * 86400;
    *to = billing_days_from_civil(m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1, 1) * 86400;
}

void billing_month_of(int64_t unix_s, char out[8]) {
    int64_t y;
    int m, d;
    civil_from_days(floor_div(unix_s, 86400), &y, &m, &d);
    unsigned yy = (unsigned)(y < 0 ? 0 : y > 9999 ? 9999 : y);
    for (int i = 3; i >= 0; i--, yy /= 10) out[i] = (char)('0' + yy % 10);
    out[4] = '-';
    out[5] = (char)('0' + m / 10);
    out[6] = (char)('0' + m % 10);
    out[7] = 0;
}

void billing_format_time(int64_t unix_s, char out[32]) {
    int64_t y, day = floor_div(unix_s, 86400), sec = unix_s - day * 86400;
    int m, d;
    civil_from_days(day, &y, &m, &d);
    snprintf(out, 32, "%04lld-%02d-%02dT%02d:%02d:%02dZ", (long long)y, m, d, (int)(sec / 3600), (int)(sec / 60 % 60),
             (int)(sec % 60));
}

void billing_format_day(int64_t days, char out[16]) {
    int64_t y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    snprintf(out, 16, "%04d-%02d-%02d", (int)(y % 10000), m, d);
}
