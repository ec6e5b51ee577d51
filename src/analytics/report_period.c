/*
 * A report's period and data (analytics.h, "a report's period and data"): the one place
 * `cirrus report` (src/cli/cmd_report.c) and the admin API (src/api/api_admin_reports.c) turn a
 * month or from/to days into report months, load the usage with its context months and build the
 * cube, so the two cannot resolve the same period differently.
 */
#include <string.h>

#include "analytics/analytics.h"

/* Months of context loaded before the period (analytics.h). */
static int32_t context_months(const an_period *p) {
    if (p->forecast) return p->month >= 0 ? AN_FC_WINDOW - 1 : 0;
    return 1;
}

/* Context months load whole; inside the period only days from from_day on count. */
static void drop_days_before(an_data *d, int32_t first, int64_t from_day) {
    size_t k = 0;
    for (size_t i = 0; i < d->n; i++)
        if (!(d->r[i].day != AN_NO_DAY && d->r[i].month >= first && d->r[i].day < from_day)) d->r[k++] = d->r[i];
    d->n = k;
}

cirrus_status an_report_load(const an_period *p, an_source_fn read, void *arg, an_report_input *out,
                             cirrus_err *err) {
    memset(out, 0, sizeof *out);
    out->first_month = out->last_month = out->cube_first = -1;
    an_filter f = {p->from_day, p->to_day, p->exclude_simulated};
    int32_t first = -1, last = -1; /* report months; -1: from the data */
    if (p->month >= 0) {
        first = last = p->month;
        f.from_day = an_month_first_day(first);
        f.to_day = f.from_day + an_month_days(first) - 1;
    } else {
        if (f.from_day != AN_NO_DAY) first = an_day_month(f.from_day);
        if (f.to_day != AN_NO_DAY) last = an_day_month(f.to_day);
    }
    int32_t extra = context_months(p);
    an_filter load = f;
    if (first >= 0) load.from_day = an_month_first_day(first - extra >= 0 ? first - extra : 0);
    cirrus_status st = read(arg, &load, &out->data, err);
    if (st != CIRRUS_OK) return st;
    an_data *d = &out->data;
    if (p->month < 0 && f.from_day != AN_NO_DAY) drop_days_before(d, first, f.from_day);

    /* Months from the data where the period leaves them open. */
    int32_t dmin = INT32_MAX, dmax = -1;
    for (size_t i = 0; i < d->n; i++) {
        if (d->r[i].month < dmin) dmin = d->r[i].month;
        if (d->r[i].month > dmax) dmax = d->r[i].month;
    }
    if (dmax < 0) dmin = dmax = p->empty_month; /* no usage at all: an empty report, not a failure */
    bool ctx_month = first >= 0; /* an explicit start: the month(s) before it were loaded as context */
    if (first < 0) first = last >= 0 && dmin > last ? last : dmin;
    if (last < 0) last = dmax < first ? first : dmax;
    if (last < first) last = first;
    int32_t cube_first = ctx_month ? (first - extra >= 0 ? first - extra : 0) : first;

    out->first_month = first;
    out->last_month = last;
    out->cube_first = cube_first;
    /* A forecast's context months are its history; the other reports start at the period. */
    out->rep.r0 = p->forecast ? 0 : (size_t)(first - cube_first);
    out->rep.from_day = f.from_day != AN_NO_DAY ? f.from_day : an_month_first_day(first);
    out->rep.to_day = f.to_day != AN_NO_DAY ? f.to_day : an_month_first_day(last) + an_month_days(last) - 1;
    out->rep.excluded_simulated = p->exclude_simulated;
    return CIRRUS_OK;
}

cirrus_status an_report_build(an_report_input *in, cirrus_err *err) {
    cirrus_status st = an_cube_build(in->data.r, in->data.n, in->cube_first, in->last_month, &in->cube, err);
    in->rep.cube = in->cube;
    return st;
}

void an_report_input_free(an_report_input *in) {
    an_cube_free(in->cube);
    an_data_free(&in->data);
    in->cube = NULL;
    in->rep.cube = NULL;
}
