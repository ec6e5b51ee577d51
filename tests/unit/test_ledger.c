/*
 * ledger: open/progress/settle against a real store, group commit, recovery of open records, one
 * ledger per store (L7), and crash consistency: a child process writing records is SIGKILLed at
 * random points ten times; after each restart the ledger holds exactly one settled record for
 * every request the child saw durable, with the same token counts, and nothing for requests it
 * never opened. Every case runs on both store backends: a SQLite file and a PostgreSQL database
 * (tests/unit/store_backends.h, servers from the CIRRUS_TEST_SERVERS fixture); on PostgreSQL the
 * writer's connection is also cut under load. The crash rounds' seed is printed; CIRRUS_TEST_SEED
 * replays one.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "ledger/ledger.h"
#include "store/store.h"
#include "store_backends.h"

static tb_store g_t;       /* the backend and store this round of cases runs on */
static const char *g_db;   /* its location */
static char g_dir[256];    /* scratch files (the crash log) */
static int64_t g_tenant;

/* 1 micro-unit per uncached prompt token, 0 per cached, 2 per completion token */
static cirrus_status rate(void *ud, int64_t price_id, const ledger_tokens *t, ledger_cost *out) {
    (void)ud;
    (void)price_id;
    out->input = t->prompt - t->cached;
    out->cached = 0;
    out->output = 2 * t->completion;
    out->total = out->input + out->output;
    return CIRRUS_OK;
}

static ledger *try_ledger(ledger_recovery *rec, cirrus_err *err) {
    store *s = NULL;
    if (store_open(g_db, &s, err)) {
        fprintf(stderr, "store_open: %s\n", err->msg);
        exit(2);
    }
    ledger_config cfg = {.rate = rate};
    ledger *l = NULL;
    if (ledger_new(s, &cfg, &l, rec, err)) return NULL; /* took s either way */
    return l;
}

static ledger *open_ledger(ledger_recovery *rec) {
    cirrus_err err = {{0}};
    ledger *l = try_ledger(rec, &err);
    if (!l) {
        fprintf(stderr, "ledger_new: %s\n", err.msg);
        exit(2);
    }
    return l;
}

typedef struct {
    store_usage *v;
    size_t n, cap;
} rows;

static int collect(void *ud, const store_usage *u) {
    rows *r = ud;
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 256;
        r->v = realloc(r->v, r->cap * sizeof *r->v);
    }
    r->v[r->n++] = *u;
    return 0;
}

static int cmp_request_id(const void *a, const void *b) {
    return strcmp(((const store_usage *)a)->request_id, ((const store_usage *)b)->request_id);
}

static rows all_rows(void) {
    store *s = NULL;
    cirrus_err err = {{0}};
    rows r = {0};
    if (store_open(g_db, &s, &err) || store_usage_list(s, 0, 0, INT64_MAX, collect, &r, &err)) {
        fprintf(stderr, "reading rows: %s\n", err.msg);
        exit(2);
    }
    store_close(s);
    qsort(r.v, r.n, sizeof *r.v, cmp_request_id); /* find_row searches them */
    return r;
}

/* rows are sorted by request id (all_rows): the first match and how many there are */
static const store_usage *find_row(const rows *r, const char *id, int *count) {
    size_t lo = 0, hi = r->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(r->v[mid].request_id, id) < 0) lo = mid + 1;
        else hi = mid;
    }
    *count = 0;
    for (size_t i = lo; i < r->n && !strcmp(r->v[i].request_id, id); i++) (*count)++;
    return *count ? &r->v[lo] : NULL;
}
static ledger_open_args args(const char *id, int64_t prompt) {
    return (ledger_open_args){.request_id = id, .tenant_id = g_tenant, .key_id = 1, .model = "m", .price_id = 1,
                              .prompt_tokens = prompt, .reserved = 1000};
}

static void test_basic(void) {
    ledger *l = open_ledger(NULL);
    ledger_rec *a, *b;
    cirrus_err err = {{0}};
    ledger_open_args x = args("basic-a", 10), y = args("basic-b", 20);
    CHECK(ledger_open(l, &x, &a, &err) == CIRRUS_OK);
    CHECK(ledger_open(l, &y, &b, &err) == CIRRUS_OK);
    CHECK(ledger_rec_id(a) != ledger_rec_id(b));
    /* a: settled in the same commit as its open -> one row, written settled */
    ledger_tokens ta = {10, 4, 7};
    ledger_cost ca;
    rate(NULL, 1, &ta, &ca);
    uint64_t t1 = ledger_settle(l, a, &ta, &ca, LEDGER_OK);
    /* b: open, progress, durable, then settle */
    ledger_tokens pb = {20, 0, 3};
    ledger_progress(l, b, &pb);
    CHECK(ledger_flush(l, 10000) == CIRRUS_OK);
    CHECK(ledger_is_durable(l, t1));
    rows r = all_rows();
    int n;
    const store_usage *ra = find_row(&r, "basic-a", &n);
    CHECK(n == 1 && ra && ra->settled && ra->completion_tokens == 7 && ra->cached_tokens == 4 && ra->cost == 6 + 14);
    CHECK(ra && ra->cost_input == 6 && ra->cost_output == 14 && ra->status == STORE_USAGE_OK && ra->reserved == 1000);
    const store_usage *rb = find_row(&r, "basic-b", &n);
    CHECK(n == 1 && rb && !rb->settled && rb->completion_tokens == 3 && rb->t_first > 0);
    free(r.v);
    ledger_tokens tb = {20, 0, 5};
    ledger_cost cb;
    rate(NULL, 1, &tb, &cb);
    uint64_t t2 = ledger_settle(l, b, &tb, &cb, LEDGER_LENGTH);
    CHECK(ledger_sync(l, t2, 10000) == CIRRUS_OK);
    r = all_rows();
    rb = find_row(&r, "basic-b", &n);
    CHECK(n == 1 && rb && rb->settled && rb->completion_tokens == 5 && rb->status == STORE_USAGE_LENGTH && rb->cost == 30);
    CHECK(rb && rb->t_end >= rb->t_first && rb->t_first >= rb->t_admit);
    free(r.v);

    /* S1 at the store: a second settle of a settled row changes nothing and is counted */
    store *s;
    CHECK(store_open(g_db, &s, &err) == CIRRUS_OK);
    store_usage u;
    r = all_rows();
    rb = find_row(&r, "basic-b", &n);
    store_usage bad = *rb;
    bad.completion_tokens = 999;
    bad.cost = 999;
    store_usage_write w = {STORE_UW_SETTLE, &bad};
    size_t skipped = 0;
    CHECK(store_usage_write_batch(s, &w, 1, &skipped, &err) == CIRRUS_OK);
    CHECK(skipped == 1);
    CHECK(store_usage_get(s, rb->id, &u, &err) == CIRRUS_OK && u.completion_tokens == 5 && u.cost == 30);
    free(r.v);
    store_close(s);

    ledger_stats st;
    ledger_get_stats(l, &st);
    CHECK(st.opened == 2 && st.settled == 2 && st.skipped == 0 && st.commit_failures == 0);
    ledger_free(l);
}

/* An unclean stop: records opened (with progress) and never settled are settled by the next open. */
static void test_recovery(void) {
    ledger *l = open_ledger(NULL);
    ledger_rec *a;
    cirrus_err err = {{0}};
    ledger_open_args x = args("rec-a", 50);
    CHECK(ledger_open(l, &x, &a, &err) == CIRRUS_OK);
    ledger_tokens p = {50, 10, 9};
    ledger_progress(l, a, &p);
    CHECK(ledger_flush(l, 10000) == CIRRUS_OK);
    ledger_free(l); /* a is never settled: its row stays open */
    free(a);        /* the handle is the caller's until settle */
    ledger_recovery rec;
    l = open_ledger(&rec);
    CHECK(rec.recovered == 1 && rec.recovered_completion_tokens == 9 && rec.recovered_cost == 40 + 18);
    rows r = all_rows();
    int n;
    const store_usage *ra = find_row(&r, "rec-a", &n);
    CHECK(n == 1 && ra && ra->settled && ra->status == STORE_USAGE_CANCELLED && ra->completion_tokens == 9 && ra->cost == 58);
    int64_t ra_id = ra ? ra->id : 0;
    free(r.v);
    /* ids continue after the recovered ones (L1) */
    ledger_rec *b;
    ledger_open_args y = args("rec-b", 1);
    CHECK(ledger_open(l, &y, &b, &err) == CIRRUS_OK);
    CHECK(ledger_rec_id(b) > ra_id);
    ledger_tokens tb = {1, 0, 0};
    ledger_cost cb = {1, 0, 0, 1};
    ledger_settle(l, b, &tb, &cb, LEDGER_ERROR);
    ledger_free(l);
    ledger_recovery again;
    l = open_ledger(&again);
    CHECK(again.recovered == 0);
    ledger_free(l);
}

/* Many threads, many records: every one lands exactly once. */
typedef struct {
    ledger *l;
    int thread, n;
} burst_arg;

static void *burst(void *p) {
    burst_arg *a = p;
    cirrus_err err = {{0}};
    for (int i = 0; i < a->n; i++) {
        char id[48];
        snprintf(id, sizeof id, "burst-%d-%d", a->thread, i);
        ledger_rec *r;
        ledger_open_args x = args(id, 5);
        if (ledger_open(a->l, &x, &r, &err)) continue;
        ledger_tokens t = {5, 0, i % 7};
        if (i % 3 == 0) ledger_progress(a->l, r, &t);
        ledger_cost c;
        rate(NULL, 1, &t, &c);
        ledger_settle(a->l, r, &t, &c, LEDGER_OK);
    }
    return NULL;
}

static void *cutter(void *p);

/* T threads of N records each (thread numbers t0, t0+1, ...), with the connection cutter running
 * alongside when asked. *found: how many of those records are on disk afterwards. */
enum { BURST_T = 4, BURST_N = 2500 };
static void run_burst(int t0, bool cut, ledger_stats *st, size_t *found, size_t *open) {
    ledger *l = open_ledger(NULL);
    pthread_t th[BURST_T], cut_th;
    burst_arg a[BURST_T];
    if (cut) pthread_create(&cut_th, NULL, cutter, NULL);
    for (int i = 0; i < BURST_T; i++) {
        a[i] = (burst_arg){l, t0 + i, BURST_N};
        pthread_create(&th[i], NULL, burst, &a[i]);
    }
    for (int i = 0; i < BURST_T; i++) pthread_join(th[i], NULL);
    if (cut) pthread_join(cut_th, NULL);
    CHECK(ledger_flush(l, 60000) == CIRRUS_OK);
    ledger_get_stats(l, st);
    ledger_free(l);
    rows r = all_rows();
    *found = *open = 0;
    for (size_t i = 0; i < r.n; i++) {
        int t;
        if (sscanf(r.v[i].request_id, "burst-%d-", &t) == 1 && t >= t0 && t < t0 + BURST_T) (*found)++;
        if (!r.v[i].settled) (*open)++;
    }
    free(r.v);
}

static void test_burst(void) {
    ledger_stats st;
    size_t found, open;
    run_burst(0, false, &st, &found, &open);
    CHECK_MSG(found == BURST_T * BURST_N, "%zu of %d burst records", found, BURST_T * BURST_N);
    CHECK(open == 0);
    CHECK(st.commits >= 1 && st.skipped == 0);
    printf("burst: %d records in %llu commits (largest %llu writes)\n", BURST_T * BURST_N, (unsigned long long)st.commits,
           (unsigned long long)st.max_batch);
}

/* A disk that refuses writes for a while (an injected trigger): the writer keeps the batch and
 * retries, nothing is reported durable meanwhile, and every record lands once afterwards. */
static void test_failed_writes(void) {
    const char *inject = tb_is_pg(&g_t)
        ? "INSERT INTO meta(key, value) VALUES('fail', '1') ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value;"
          "CREATE FUNCTION inject_failure() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
          " IF (SELECT value FROM meta WHERE key = 'fail') = '1' THEN RAISE EXCEPTION 'injected write failure'; END IF;"
          " RETURN NEW; END $$;"
          "CREATE TRIGGER inject_failure BEFORE INSERT ON usage FOR EACH ROW EXECUTE FUNCTION inject_failure();"
        : "INSERT OR REPLACE INTO meta(key, value) VALUES('fail', '1');"
          "CREATE TRIGGER inject_failure BEFORE INSERT ON usage WHEN (SELECT value FROM meta WHERE key = 'fail') = '1'"
          " BEGIN SELECT RAISE(ABORT, 'injected write failure'); END;";
    CHECK_MSG(tb_raw(&g_t, inject) == 0, "%s", g_t.err);
    ledger *l = open_ledger(NULL);
    cirrus_err err = {{0}};
    uint64_t ticket = 0;
    for (int i = 0; i < 100; i++) {
        char id[32];
        snprintf(id, sizeof id, "fault-%d", i);
        ledger_rec *r;
        ledger_open_args x = args(id, 3);
        CHECK(ledger_open(l, &x, &r, &err) == CIRRUS_OK);
        ledger_tokens t = {3, 0, 2};
        ledger_cost c = {3, 0, 4, 7};
        ticket = ledger_settle(l, r, &t, &c, LEDGER_OK);
    }
    CHECK(ledger_sync(l, ticket, 300) == CIRRUS_ERR_FULL); /* not durable while the disk refuses */
    CHECK(!ledger_is_durable(l, ticket));
    ledger_stats st;
    ledger_get_stats(l, &st);
    CHECK(st.commit_failures > 0 && st.pending > 0);
    CHECK(tb_raw(&g_t, "UPDATE meta SET value = '0' WHERE key = 'fail'") == 0);
    CHECK(ledger_sync(l, ticket, 20000) == CIRRUS_OK);
    ledger_free(l);
    CHECK(tb_raw(&g_t, tb_is_pg(&g_t) ? "DROP TRIGGER inject_failure ON usage; DROP FUNCTION inject_failure()"
                                      : "DROP TRIGGER inject_failure") == 0);
    rows r = all_rows();
    int missing = 0, n;
    for (int i = 0; i < 100; i++) {
        char id[32];
        snprintf(id, sizeof id, "fault-%d", i);
        const store_usage *u = find_row(&r, id, &n);
        if (n != 1 || !u->settled || u->cost != 7) missing++;
    }
    CHECK_MSG(missing == 0, "%d records lost or doubled across failed commits", missing);
    free(r.v);
}

/* ---- crash consistency ------------------------------------------------------------------------- */

static void append_line(int fd, const char *s) {
    size_t n = strlen(s);
    if (write(fd, s, n) != (ssize_t)n) _exit(3);
}

typedef struct {
    ledger *l;
    int fd, round, thread;
} child_arg;

/* Each round of a worker keeps K records in flight, interleaves their progress, settles them all,
 * waits for the last ticket (L6: the earlier ones are durable too), then reports them complete. */
static void *child_worker(void *p) {
    child_arg *a = p;
    unsigned seed = (unsigned)(a->round * 131 + a->thread * 7 + 1);
    cirrus_err err = {{0}};
    enum { K = 4 };
    for (int i = 0;; i += K) {
        char id[K][64], line[160];
        int64_t prompt[K], cached[K], completion[K];
        ledger_rec *r[K];
        for (int j = 0; j < K; j++) {
            snprintf(id[j], sizeof id[j], "crash-%d-%d-%d", a->round, a->thread, i + j);
            snprintf(line, sizeof line, "O %s\n", id[j]);
            append_line(a->fd, line); /* before the record can exist */
            prompt[j] = 1 + rand_r(&seed) % 100;
            cached[j] = rand_r(&seed) % (prompt[j] + 1);
            completion[j] = rand_r(&seed) % 50;
            ledger_open_args x = args(id[j], prompt[j]);
            if (ledger_open(a->l, &x, &r[j], &err)) _exit(4);
        }
        int steps = rand_r(&seed) % 4;
        for (int k = 1; k <= steps; k++) {
            for (int j = 0; j < K; j++) {
                ledger_tokens t = {prompt[j], cached[j], completion[j] * k / (steps + 1)};
                ledger_progress(a->l, r[j], &t);
            }
            if (rand_r(&seed) % 4 == 0) usleep(300);
        }
        uint64_t ticket = 0;
        for (int j = 0; j < K; j++) {
            ledger_tokens t = {prompt[j], cached[j], completion[j]};
            ledger_cost c;
            rate(NULL, 1, &t, &c);
            ticket = ledger_settle(a->l, r[j], &t, &c, LEDGER_OK);
        }
        if (ledger_sync(a->l, ticket, -1)) _exit(5);
        for (int j = 0; j < K; j++) {
            snprintf(line, sizeof line, "C %s %lld %lld %lld\n", id[j], (long long)prompt[j], (long long)cached[j],
                     (long long)completion[j]);
            append_line(a->fd, line); /* after it is durable */
        }
    }
    return NULL;
}

static void child_main(const char *log, int round) {
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd < 0) _exit(6);
    ledger *l = open_ledger(NULL);
    enum { T = 3 };
    pthread_t th[T];
    child_arg a[T];
    for (int i = 0; i < T; i++) {
        a[i] = (child_arg){l, fd, round, i};
        pthread_create(&th[i], NULL, child_worker, &a[i]);
    }
    for (;;) pause();
}

typedef struct {
    char id[STORE_REQID_MAX]; /* as long as any request id the store holds */
    bool complete;
    int64_t p, c, n;
} seen;

static int cmp_seen(const void *a, const void *b) { return strcmp(((const seen *)a)->id, ((const seen *)b)->id); }

static void test_crash(unsigned seed) {
    char log[320];
    snprintf(log, sizeof log, "%s/crash-%s.log", g_dir, g_t.backend);
    srand(seed);
    int64_t total_complete = 0, total_cancelled = 0;
    for (int round = 0; round < 10; round++) {
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) child_main(log, round);
        CHECK(pid > 0);
        if (pid <= 0) break; /* never kill(-1, ...) */
        usleep(30000 + rand() % 170000); /* kill somewhere in the first 30-200 ms: start-up, recovery, or streaming */
        kill(pid, SIGKILL);
        int wst;
        waitpid(pid, &wst, 0);
        CHECK(WIFSIGNALED(wst) && WTERMSIG(wst) == SIGKILL);

        ledger_recovery rec;
        ledger *l = open_ledger(&rec); /* restart: recovery */
        ledger_free(l);
        total_cancelled += rec.recovered;

        /* the child's own account */
        FILE *f = fopen(log, "r");
        size_t n = 0, cap = 1024;
        seen *v = malloc(cap * sizeof *v);
        char line[256];
        while (f && fgets(line, sizeof line, f)) {
            if (n == cap) v = realloc(v, (cap *= 2) * sizeof *v);
            seen s = {0};
            long long p, c, k;
            if (line[0] == 'O' && sscanf(line, "O %63s", s.id) == 1) {
                v[n++] = s;
            } else if (line[0] == 'C' && sscanf(line, "C %63s %lld %lld %lld", s.id, &p, &c, &k) == 4) {
                s.complete = true;
                s.p = p, s.c = c, s.n = k;
                v[n++] = s;
            }
        }
        if (f) fclose(f);
        qsort(v, n, sizeof *v, cmp_seen);
        /* merge O and C lines of the same id: C sorts after O only by content, so fold by id */
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
            if (m && !strcmp(v[m - 1].id, v[i].id)) {
                if (v[i].complete) v[m - 1] = v[i];
                continue;
            }
            v[m++] = v[i];
        }
        rows r = all_rows();
        size_t bad_unknown = 0, bad_dup = 0, bad_open = 0, bad_tokens = 0, bad_missing = 0;
        for (size_t i = 0; i < r.n; i++) {
            if (strncmp(r.v[i].request_id, "crash-", 6)) continue;
            if (!r.v[i].settled) bad_open++;
            seen key;
            snprintf(key.id, sizeof key.id, "%s", r.v[i].request_id);
            if (!bsearch(&key, v, m, sizeof *v, cmp_seen)) bad_unknown++; /* L2: never opened */
        }
        for (size_t i = 0; i < m; i++) {
            int cnt;
            const store_usage *u = find_row(&r, v[i].id, &cnt);
            if (cnt > 1) bad_dup++;
            if (!v[i].complete) continue;
            total_complete++;
            if (!u) {
                bad_missing++;
                continue;
            }
            if (u->prompt_tokens != v[i].p || u->cached_tokens != v[i].c || u->completion_tokens != v[i].n || u->status != STORE_USAGE_OK)
                bad_tokens++;
        }
        CHECK_MSG(bad_unknown == 0, "round %d: %zu records for requests never opened", round, bad_unknown);
        CHECK_MSG(bad_dup == 0, "round %d: %zu requests with more than one record", round, bad_dup);
        CHECK_MSG(bad_open == 0, "round %d: %zu records still open after recovery", round, bad_open);
        CHECK_MSG(bad_missing == 0, "round %d: %zu completed requests without a record", round, bad_missing);
        CHECK_MSG(bad_tokens == 0, "round %d: %zu completed requests with other token counts", round, bad_tokens);
        free(r.v);
        free(v);
    }
    printf("crash: 10 kills, %lld completed requests reconciled, %lld open records recovered\n", (long long)total_complete,
           (long long)total_cancelled);
    CHECK(total_complete > 0);
}

/* L7: a second ledger on a store with a live one is refused, naming the holder; the first one's
 * end frees the store. */
static void test_one_ledger(void) {
    ledger *l = open_ledger(NULL);
    cirrus_err err = {{0}};
    char pid[32];
    snprintf(pid, sizeof pid, "pid %d", (int)getpid());
    CHECK(try_ledger(NULL, &err) == NULL && strstr(err.msg, "owned by another running cirrus") && strstr(err.msg, pid));
    ledger_free(l);
    l = try_ledger(NULL, &err);
    CHECK_MSG(l != NULL, "after the first ledger closed: %s", err.msg);
    ledger_free(l);
}

/* PostgreSQL: the writer's connection is cut again and again under load. Each cut fails a commit
 * (or loses its reply); the writer retries on a new connection, takes its ownership back, and
 * every record still lands exactly once. */
static void *cutter(void *p) {
    (void)p;
    for (int i = 0; i < 6; i++) {
        usleep(15000 + (useconds_t)(rand() % 30000));
        tb_raw(&g_t, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database()"
                     " AND pid <> pg_backend_pid()");
    }
    return NULL;
}

static void test_connection_cuts(void) {
    ledger_stats st;
    size_t found, open;
    run_burst(10, true, &st, &found, &open);
    CHECK_MSG(found == BURST_T * BURST_N, "%zu of %d records after connection cuts", found, BURST_T * BURST_N);
    CHECK(open == 0 && st.skipped == 0);
    printf("connection cuts: %d records, %llu commits, %llu failed and retried\n", BURST_T * BURST_N,
           (unsigned long long)st.commits, (unsigned long long)st.commit_failures);
}

int main(void) {
    const char *tmp = getenv("TMPDIR"), *seed_env = getenv("CIRRUS_TEST_SEED");
    unsigned seed = seed_env && *seed_env ? (unsigned)strtoul(seed_env, NULL, 10) : (unsigned)time(NULL);
    printf("seed %u (CIRRUS_TEST_SEED=%u replays it)\n", seed, seed);
    snprintf(g_dir, sizeof g_dir, "%s/cirrus-ledger-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(g_dir)) return 2;
    const char *backends[2];
    int nb = tb_backends(backends);
    CHECK_MSG(nb > 0, "no backend to test (CIRRUS_TEST_BACKENDS, CIRRUS_TEST_SERVERS)");
    for (int b = 0; b < nb; b++) {
        if (tb_fresh(&g_t, backends[b], "ledger")) {
            CHECK_MSG(0, "no fresh %s store", backends[b]);
            continue;
        }
        g_db = g_t.loc;
        printf("== %s\n", backends[b]);
        store *s;
        cirrus_err err = {{0}};
        CHECK(store_open(g_db, &s, &err) == CIRRUS_OK);
        store_tenant t = {0};
        snprintf(t.name, sizeof t.name, "acme");
        CHECK(store_tenant_insert(s, &t, &err) == CIRRUS_OK);
        g_tenant = t.id;
        store_close(s);

        struct {
            const char *name;
            void (*fn)(void);
        } cases[] = {{"basic", test_basic}, {"recovery", test_recovery}, {"one_ledger", test_one_ledger},
                     {"burst", test_burst}, {"failed_writes", test_failed_writes},
                     {"connection_cuts", tb_is_pg(&g_t) ? test_connection_cuts : NULL}};
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
            if (!cases[i].fn) continue;
            uint64_t t0 = cirrus_now_ns();
            cases[i].fn();
            printf("%s/%s: %.2f s\n", backends[b], cases[i].name, (double)(cirrus_now_ns() - t0) / 1e9);
        }
        uint64_t t0 = cirrus_now_ns();
        test_crash(seed);
        printf("%s/crash: %.2f s\n", backends[b], (double)(cirrus_now_ns() - t0) / 1e9);
        tb_remove(&g_t);
    }

    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_dir);
    return check_done("test_ledger");
}
