/*
 * libFuzzer target for the ledger export reader (an_ledger_read, src/analytics/ledger_file.c): any
 * bytes as a ledger file, JSON lines or CSV. Checked: a failure leaves a message that names the
 * file; a success holds only records within the documented bounds, a day filter keeps exactly the
 * records it should (same budgets, same order), and nothing is lost or changed in a round trip:
 * the records and budgets written back out as CSV (every field quoted) read back identical.
 *
 * an_ledger_read takes a path, so the bytes go into a memfd read back through /proc/self/fd
 * (no files left behind, no disk I/O).
 *
 *     CC=clang cmake -S . -B build-fuzz -DCIRRUS_FUZZ=ON && cmake --build build-fuzz --target fuzz_ledger_file
 *     ./build-fuzz/fuzz_ledger_file -max_total_time=60 fuzz/corpus/ledger_file
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "analytics/analytics.h"

static int g_fd = -1;
static char g_path[64];

static const char *put_file(const void *p, size_t n) {
    if (g_fd < 0) {
        g_fd = memfd_create("ledger", 0);
        if (g_fd < 0) abort();
        snprintf(g_path, sizeof g_path, "/proc/self/fd/%d", g_fd);
    }
    if (ftruncate(g_fd, 0) || (n && pwrite(g_fd, p, n, 0) != (ssize_t)n)) abort();
    return g_path;
}

static bool name_ok(const char *s, size_t cap, bool required) {
    size_t n = strnlen(s, cap);
    if (n == cap || (required && !n)) return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) return false;
    return true;
}

static bool record_ok(const an_record *r) {
    if (!name_ok(r->tenant, sizeof r->tenant, true) || !name_ok(r->plan, sizeof r->plan, false) ||
        !name_ok(r->model, sizeof r->model, false))
        return false;
    if (r->month < 1970 * 12 || r->month >= 10000 * 12) return false;
    if (r->day != AN_NO_DAY && (r->day < 0 || an_day_month(r->day) != r->month)) return false;
    return r->revenue >= 0 && r->prompt_tokens >= 0 && r->cached_tokens >= 0 && r->completion_tokens >= 0 &&
           r->requests >= 0;
}

static bool same_record(const an_record *a, const an_record *b) {
    return !strcmp(a->tenant, b->tenant) && !strcmp(a->plan, b->plan) && !strcmp(a->model, b->model) &&
           a->month == b->month && a->day == b->day && a->revenue == b->revenue &&
           a->prompt_tokens == b->prompt_tokens && a->cached_tokens == b->cached_tokens &&
           a->completion_tokens == b->completion_tokens && a->requests == b->requests && a->simulated == b->simulated;
}

static bool same_budgets(const an_data *a, const an_data *b) {
    if (a->n_budgets != b->n_budgets) return false;
    for (size_t i = 0; i < a->n_budgets; i++)
        if (strcmp(a->budgets[i].tenant, b->budgets[i].tenant) || a->budgets[i].soft != b->budgets[i].soft)
            return false;
    return true;
}

static bool in_filter(const an_record *r, const an_filter *f) {
    if (f->exclude_simulated && r->simulated) return false;
    if (r->day != AN_NO_DAY) return r->day >= f->from_day && r->day <= f->to_day;
    return r->month >= an_day_month(f->from_day) && r->month <= an_day_month(f->to_day);
}

static void csv_field(FILE *f, const char *s, const char *sep) {
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f); /* a quote inside a field is doubled */
        fputc(*s, f);
    }
    fprintf(f, "\"%s", sep);
}

/* The data as a CSV export: budgets first (in order, so they come back in order), then records. */
static char *to_csv(const an_data *d, size_t *len) {
    char *out = NULL;
    FILE *f = open_memstream(&out, len);
    if (!f) abort();
    fputs("tenant,plan,model,period,revenue,prompt_tokens,cached_tokens,completion_tokens,requests,simulated,"
          "soft_budget\n", f);
    for (size_t i = 0; i < d->n_budgets; i++) {
        csv_field(f, d->budgets[i].tenant, "");
        fprintf(f, ",,,,,,,,,,%lld\n", (long long)d->budgets[i].soft);
    }
    for (size_t i = 0; i < d->n; i++) {
        const an_record *r = &d->r[i];
        char period[11];
        if (r->day != AN_NO_DAY) an_day_format(r->day, period);
        else an_month_format(r->month, period);
        csv_field(f, r->tenant, ",");
        csv_field(f, r->plan, ",");
        csv_field(f, r->model, ",");
        fprintf(f, "%s,%lld,%lld,%lld,%lld,%lld,%s,\n", period, (long long)r->revenue, (long long)r->prompt_tokens,
                (long long)r->cached_tokens, (long long)r->completion_tokens, (long long)r->requests,
                r->simulated ? "true" : "false");
    }
    if (fclose(f)) abort();
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    an_data all = {0}, some = {0}, back = {0};
    cirrus_err err = {{0}}, err2 = {{0}};
    /* 2024-01-15 .. 2024-03-10: a day range that cuts months at both ends */
    an_filter f = {.exclude_simulated = true};
    if (!an_day_parse("2024-01-15", &f.from_day) || !an_day_parse("2024-03-10", &f.to_day)) abort();

    const char *path = put_file(data, size);
    cirrus_status st = an_ledger_read(path, NULL, &all, &err);
    cirrus_status st2 = an_ledger_read(path, &f, &some, &err2);
    if (st != st2) abort(); /* every line is validated before the filter looks at it */
    if (st != CIRRUS_OK) {
        if (!err.msg[0] || strncmp(err.msg, path, strlen(path)) != 0) abort();
        goto done;
    }
    size_t k = 0;
    for (size_t i = 0; i < all.n; i++) {
        if (!record_ok(&all.r[i])) abort();
        if (in_filter(&all.r[i], &f) && (k >= some.n || !same_record(&all.r[i], &some.r[k++]))) abort();
    }
    if (k != some.n || !same_budgets(&all, &some)) abort();

    size_t len = 0;
    char *csv = to_csv(&all, &len);
    if (an_ledger_read(put_file(csv, len), NULL, &back, &err) != CIRRUS_OK) {
        fprintf(stderr, "round trip: %s\n", err.msg);
        abort();
    }
    free(csv);
    if (back.n != all.n || !same_budgets(&all, &back)) abort();
    for (size_t i = 0; i < all.n; i++)
        if (!same_record(&all.r[i], &back.r[i])) abort();
done:
    an_data_free(&all);
    an_data_free(&some);
    an_data_free(&back);
    return 0;
}
