/*
 * `cirrus ledger-bench`: what the control plane adds to a request, and how many usage records a
 * second the ledger makes durable. A benchmark, not a test: it prints numbers with the machine
 * they were measured on.
 *
 *   1. admission + settlement: tenancy_admit -> tenancy_progress -> tenancy_settle per request,
 *      timed one by one on T threads against a tenant whose plan has every check switched on
 *      (rpm, tpm, concurrency, model list, hard budget). The ledger's writer commits behind it.
 *   2. ledger throughput: T threads open and settle R records as fast as they can; the clock
 *      stops when ledger_flush says the last one is durable (fsync'd on SQLite; committed with
 *      synchronous_commit on PostgreSQL).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "billing/billing.h"
#include "cli/cli.h"
#include "cli/cp_cli.h"
#include "tenancy/tenancy.h"

static const char *usage =
    "usage: cirrus ledger-bench --db PATH|URI [--requests N] [--records N] [--threads T] [--json]\n"
    "  --requests N   admissions + settlements timed one by one (default 200000)\n"
    "  --records N    records for the throughput run (default 300000)\n"
    "  --threads T    threads for both runs (default 2)\n"
    CP_DB_HELP
    "The database gets a tenant 'bench', a price for 'bench-model' and the records: use a scratch file or\n"
    "database. It records usage, so it refuses a store a running server owns.\n";

#define OPT(name, var)                                  \
    if (cli_opt(argc, argv, &i, name, &var)) {          \
        if (!var) return 2;                             \
        continue;                                       \
    }

typedef struct {
    tenancy *t;
    const char *key;
    int thread;
    int64_t n;
    uint64_t *lat, *lat_admit;
    int64_t refused;
} adm_arg;

static void *adm_worker(void *p) {
    adm_arg *a = p;
    size_t klen = strlen(a->key);
    for (int64_t i = 0; i < a->n; i++) {
        char id[48];
        snprintf(id, sizeof id, "bench-%d-%lld", a->thread, (long long)i);
        tenancy_admit_args args = {.request_id = id, .model = "bench-model", .prompt_tokens = 200, .max_tokens = 100};
        tenancy_decision d;
        tenancy_req *r;
        uint64_t t0 = cirrus_now_ns();
        tenancy_admit(a->t, a->key, klen, &args, &d, &r);
        uint64_t t1 = cirrus_now_ns();
        if (!r) {
            a->refused++;
            continue;
        }
        tenancy_progress(a->t, r, 50, 40);
        tenancy_usage u = {200, 50, 80};
        tenancy_settle(a->t, r, &u, LEDGER_OK);
        uint64_t t2 = cirrus_now_ns();
        a->lat[i] = t2 - t0; /* the control plane's share: no generation happens here */
        a->lat_admit[i] = t1 - t0;
    }
    return NULL;
}

typedef struct {
    ledger *l;
    int thread;
    int64_t n, tenant_id;
} thr_arg;

static void *thr_worker(void *p) {
    thr_arg *a = p;
    cirrus_err err = {{0}};
    for (int64_t i = 0; i < a->n; i++) {
        char id[48];
        snprintf(id, sizeof id, "tput-%d-%lld", a->thread, (long long)i);
        ledger_open_args o = {.request_id = id, .tenant_id = a->tenant_id, .key_id = 0, .model = "bench-model", .price_id = 0,
                              .prompt_tokens = 200, .reserved = 500};
        ledger_rec *r;
        while (ledger_open(a->l, &o, &r, &err) != CIRRUS_OK) usleep(100); /* FULL: the writer is behind */
        ledger_tokens tk = {200, 50, 80};
        ledger_cost c = {150, 25, 160, 335};
        ledger_settle(a->l, r, &tk, &c, LEDGER_OK);
    }
    return NULL;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct(const uint64_t *v, size_t n, double p) { return n ? (double)v[(size_t)((double)(n - 1) * p)] / 1000.0 : 0; }

static void machine(char *cpu, size_t cap, double *load) {
    snprintf(cpu, cap, "unknown cpu");
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[256];
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
            snprintf(cpu, cap, "%s", strchr(line, ':') + 2);
            cpu[strcspn(cpu, "\n")] = 0;
            break;
        }
    if (f) fclose(f);
    *load = -1;
    f = fopen("/proc/loadavg", "r");
    if (f && fscanf(f, "%lf", load) != 1) *load = -1;
    if (f) fclose(f);
}

/* tenant, price, plan with every check on, and a fresh key */
static int setup(store *s, char *key, int64_t *tenant_id) {
    cirrus_err err = {{0}};
    store_tenant t;
    cirrus_status st = store_tenant_get(s, "bench", &t, &err);
    if (st == CIRRUS_ERR_NOT_FOUND) st = tenancy_tenant_create(s, "bench", "benchmark", "local", NULL, &t, &err);
    if (!st) {
        store_price p;
        st = billing_price_set(s, "bench-model", 0, 150000, 75000, 600000, &p, &err);
        if (st == CIRRUS_ERR_INVALID) st = CIRRUS_OK; /* already priced */
    }
    store_plan p;
    tenancy_plan_default(&p);
    p.rpm = 1000000000;
    p.tpm = 1000000000;
    p.max_concurrent = 100000;
    p.max_tokens = 4096;
    p.budget_hard = 1000000000000LL;
    p.budget_soft = 900000000000LL;
    snprintf(p.models, sizeof p.models, "[\"other\",\"bench-model\"]");
    if (!st) st = tenancy_plan_set(s, "bench", &p, &err);
    if (!st) st = tenancy_key_create(s, "bench", STORE_SCOPE_INFERENCE, 0, key, NULL, &err);
    *tenant_id = t.id;
    return st ? cp_fail(st, &err) : 0;
}

int cmd_ledger_bench(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return 0;
    }
    const char *db = NULL, *pepper = NULL, *req_s = NULL, *rec_s = NULL, *thr_s = NULL;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        OPT("--db", db);
        OPT("--pepper-file", pepper);
        OPT("--requests", req_s);
        OPT("--records", rec_s);
        OPT("--threads", thr_s);
        if (!strcmp(argv[i], "--json")) json = true;
        else return cp_usage_error("ledger-bench", "unknown argument %s", argv[i]);
    }
    int64_t n_req = 200000, n_rec = 300000, n_thr = 2;
    if ((req_s && !cli_parse_i64("--requests", req_s, 1, 100000000, &n_req)) ||
        (rec_s && !cli_parse_i64("--records", rec_s, 1, 100000000, &n_rec)) ||
        (thr_s && !cli_parse_i64("--threads", thr_s, 1, 256, &n_thr)))
        return 1;
    store *s;
    int rc = cp_open("ledger-bench", db, pepper, &s);
    if (rc) return rc;
    char key[TENANCY_KEY_LEN + 1];
    int64_t tenant_id = 0;
    rc = setup(s, key, &tenant_id);
    char where[1100];
    snprintf(where, sizeof where, "%s %s", store_backend(s), store_location(s)); /* password masked */
    store_close(s);
    if (rc) return rc;
    cirrus_log_set_level(CIRRUS_LOG_ERROR); /* the soft-budget alert is expected here */
    tenancy_config cfg = {.db = db, .refresh_ms = -1};
    tenancy *t;
    cirrus_err err = {{0}};
    cirrus_status st = tenancy_open(&cfg, &t, NULL, &err);
    if (st) return cp_fail(st, &err);

    /* 1. admission + settlement */
    int64_t per = (n_req + n_thr - 1) / n_thr;
    uint64_t *lat = calloc((size_t)(per * n_thr), sizeof *lat), *lat_a = calloc((size_t)(per * n_thr), sizeof *lat_a);
    adm_arg *aa = calloc((size_t)n_thr, sizeof *aa);
    pthread_t *th = calloc((size_t)n_thr, sizeof *th);
    if (!lat || !lat_a || !aa || !th) {
        cli_error("out of memory");
        return 1;
    }
    /* warm-up: page in, grow the ledger's queues */
    uint64_t *wl = calloc(2000, sizeof *wl), *wa = calloc(2000, sizeof *wa);
    adm_arg warm = {t, key, 999, wl && wa ? 2000 : 0, wl, wa, 0};
    adm_worker(&warm);
    free(wl);
    free(wa);
    ledger_flush(tenancy_ledger(t), -1);
    uint64_t t0 = cirrus_now_ns();
    for (int i = 0; i < n_thr; i++) {
        aa[i] = (adm_arg){t, key, i, per, lat + i * per, lat_a + i * per, 0};
        pthread_create(&th[i], NULL, adm_worker, &aa[i]);
    }
    int64_t refused = 0;
    for (int i = 0; i < n_thr; i++) {
        pthread_join(th[i], NULL);
        refused += aa[i].refused;
    }
    double adm_s = (double)(cirrus_now_ns() - t0) / 1e9;
    ledger_flush(tenancy_ledger(t), -1);
    size_t n = (size_t)(per * n_thr);
    qsort(lat, n, sizeof *lat, cmp_u64);
    qsort(lat_a, n, sizeof *lat_a, cmp_u64);

    /* 2. durable throughput */
    ledger_stats before, after;
    ledger_get_stats(tenancy_ledger(t), &before);
    int64_t per_rec = (n_rec + n_thr - 1) / n_thr;
    thr_arg *ta = calloc((size_t)n_thr, sizeof *ta);
    t0 = cirrus_now_ns();
    for (int i = 0; i < n_thr; i++) {
        ta[i] = (thr_arg){tenancy_ledger(t), i, per_rec, tenant_id};
        pthread_create(&th[i], NULL, thr_worker, &ta[i]);
    }
    for (int i = 0; i < n_thr; i++) pthread_join(th[i], NULL);
    st = ledger_flush(tenancy_ledger(t), -1);
    double tput_s = (double)(cirrus_now_ns() - t0) / 1e9;
    ledger_get_stats(tenancy_ledger(t), &after);
    tenancy_close(t);
    uint64_t commits = after.commits - before.commits;
    double commit_ms = after.commit_ms_total - before.commit_ms_total;
    double cpu_ms = after.commit_cpu_ms_total - before.commit_cpu_ms_total;
    double rows = (double)(after.rows_written - before.rows_written);
    double rps = (double)(per_rec * n_thr) / tput_s;

    char cpu[128];
    double load;
    machine(cpu, sizeof cpu, &load);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (json) {
        json_t *w = json_string(where);
        char *wj = json_dumps(w, JSON_ENCODE_ANY);
        json_decref(w);
        printf("{\"machine\":{\"cpu\":\"%s\",\"cores\":%ld,\"loadavg_1m\":%.2f},\"store\":%s,\"threads\":%lld,\n"
               " \"admission\":{\"requests\":%zu,\"refused\":%lld,\"seconds\":%.3f,\"p50_us\":%.2f,\"p99_us\":%.2f,\"p999_us\":%.2f,"
               "\"max_us\":%.2f,\"admit_only_p50_us\":%.2f,\"admit_only_p99_us\":%.2f},\n"
               " \"ledger\":{\"records\":%lld,\"seconds\":%.3f,\"records_per_s\":%.0f,\"commits\":%llu,\"avg_batch\":%.0f,"
               "\"avg_commit_ms\":%.2f,\"writer_cpu_us_per_record\":%.2f,\"durable\":%s}}\n",
               cpu, cores, load, wj ? wj : "null", (long long)n_thr, n, (long long)refused, adm_s, pct(lat, n, .5), pct(lat, n, .99), pct(lat, n, .999),
               pct(lat, n, 1), pct(lat_a, n, .5), pct(lat_a, n, .99), (long long)(per_rec * n_thr), tput_s, rps,
               (unsigned long long)commits, commits ? (double)(after.rows_written - before.rows_written) / (double)commits : 0,
               commits ? commit_ms / (double)commits : 0, rows ? cpu_ms * 1000 / rows : 0, st ? "false" : "true");
        free(wj);
    } else {
        printf("machine: %s, %ld cores, load average %.2f; %lld threads\n", cpu, cores, load, (long long)n_thr);
        printf("store: %s\n", where);
        printf("admission + progress + settlement, per request (%zu requests, %lld refused, %.0f/s):\n", n, (long long)refused,
               (double)n / adm_s);
        printf("  p50 %.2f us   p99 %.2f us   p99.9 %.2f us   max %.1f us   (admit alone: p50 %.2f us, p99 %.2f us)\n",
               pct(lat, n, .5), pct(lat, n, .99), pct(lat, n, .999), pct(lat, n, 1), pct(lat_a, n, .5), pct(lat_a, n, .99));
        printf("ledger: %lld records opened and settled, durable in %.3f s: %.0f records/s (durable group commits: %llu, "
               "%.0f writes each, %.2f ms each)\n",
               (long long)(per_rec * n_thr), tput_s, rps, (unsigned long long)commits,
               commits ? (double)(after.rows_written - before.rows_written) / (double)commits : 0, commits ? commit_ms / (double)commits : 0);
        printf("        the writer spent %.2f us of CPU per record inside commits (%.0f records/s per core of writer time)\n",
               rows ? cpu_ms * 1000 / rows : 0, cpu_ms > 0 ? rows / (cpu_ms / 1000) : 0);
    }
    free(lat);
    free(lat_a);
    free(aa);
    free(ta);
    free(th);
    return st ? cp_fail(st, &err) : 0;
}
