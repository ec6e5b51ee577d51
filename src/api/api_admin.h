/*
 * Private to src/api: the admin API (/v1/admin/...), shared by api_admin.c (routing, keys, the
 * worker thread), api_admin_tenants.c (tenants, keys, usage, invoices) and api_admin_reports.c
 * (revenue, concentration, forecast, alerts).
 *
 * Why a worker thread: admin requests read and write the store (SQLite) and may scan the whole
 * ledger for a report, while HTTP threads must never wait on disk (they also carry token streams).
 * So the polling thread only authenticates (an in-memory check) and copies the request into a job;
 * one admin thread runs jobs in order and wakes the connection with the finished reply. One thread
 * is enough: admin traffic is people clicking, and running jobs in order keeps writes (create a
 * tenant, then list) in the order they were sent.
 */
#ifndef CIRRUS_API_ADMIN_H
#define CIRRUS_API_ADMIN_H

#include <jansson.h>

#include "api/api_internal.h"
#include "store/store.h"
#include "tenancy/tenancy.h"

#define ADM_SEGS_MAX 4     /* path segments after /v1/admin/ */
#define ADM_SEG_LEN 128    /* a tenant name (64) or a key prefix fits with room */
#define ADM_ARG_LEN 256

/* The query arguments any admin endpoint reads, copied on the HTTP thread (the request is not
 * touched from the worker). */
typedef enum {
    ADM_A_FROM, ADM_A_TO, ADM_A_MONTH, ADM_A_TENANT, ADM_A_BY, ADM_A_FORMAT, ADM_A_WHATIF, ADM_A_CUT,
    ADM_A_HORIZON, ADM_A_LEVEL, ADM_A_SHARE, ADM_A_LARGE, ADM_A_DROP, ADM_A_HHI_BAND, ADM_A_EXCL_SIM, ADM_A_COUNT
} adm_arg_id;

typedef struct adm_job adm_job;
typedef void (*adm_fn)(adm_job *j);

struct adm_job {
    /* the request, copied on the polling thread */
    api *a;
    char id[48];
    char seg[ADM_SEGS_MAX][ADM_SEG_LEN];
    int n_seg;
    char *args[ADM_A_COUNT];     /* NULL when absent */
    char *body;                  /* NUL-terminated copy; NULL when empty */
    size_t body_len;
    tenancy_grant who;           /* the authenticated key */
    tenancy *tn;
    store *s;                    /* tenancy_store(tn): writes through it take effect at once (T3) */
    adm_fn fn;
    /* the reply, filled by the worker */
    int status;
    const char *ctype;
    char *out;                   /* malloc'ed */
    size_t out_len;
    char disposition[192];       /* Content-Disposition, "" for none */
    /* lifetime (guarded by the admin mutex): freed once the worker is done with it and the
     * connection has finished with the request, whichever comes last */
    http_req *r;
    bool worked, req_done;
    adm_job *next;
};

const char *adm_arg(const adm_job *j, adm_arg_id id);

/* Replies. Each takes over what it is given; a NULL json is an out-of-memory 500. */
void adm_json(adm_job *j, int status, json_t *o);
void adm_text(adm_job *j, const char *ctype, char *text, const char *filename);
void adm_error(adm_job *j, api_err_kind kind, const char *param, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* 403 as tenancy words it for a key without the scope (permission_error, insufficient_scope). */
void adm_forbidden(adm_job *j, const char *param, const char *msg);
/* A module's status and message as the matching error: NOT_FOUND 404, INVALID/RANGE/FORMAT 400,
 * FULL 503, anything else 500. */
void adm_fail(adm_job *j, cirrus_status st, const cirrus_err *err);

/* Period arguments: from/to as YYYY-MM or YYYY-MM-DD (to is inclusive: a month means its last
 * day), or month=YYYY-MM. Days since 1970-01-01, INT64_MIN when open. False (and an error reply)
 * when malformed. */
bool adm_period_days(adm_job *j, int64_t *from_day, int64_t *to_day);

/* api_admin_risk.c: risk scores, policies, watermark detection */
void adm_risk_get(adm_job *j);
void adm_risk_policy(adm_job *j);
void adm_watermark_detect(adm_job *j);

/* api_admin_tenants.c */
void adm_tenants_list(adm_job *j);
void adm_tenant_create(adm_job *j);
void adm_tenant_get(adm_job *j);
void adm_tenant_suspend(adm_job *j);
void adm_tenant_resume(adm_job *j);
void adm_keys_list(adm_job *j);
void adm_key_create(adm_job *j);
void adm_key_revoke(adm_job *j);
void adm_usage(adm_job *j);
void adm_invoices_list(adm_job *j);
void adm_invoice_get(adm_job *j);

/* api_admin_reports.c */
void adm_report_revenue(adm_job *j);
void adm_report_concentration(adm_job *j);
void adm_report_forecast(adm_job *j);
void adm_report_alerts(adm_job *j);

#endif
