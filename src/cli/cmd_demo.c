/*
 * `cirrus demo`: the whole product on one machine, from nothing. It seeds a demo database with a
 * provider's market and six months of simulated usage (src/demo), synthesizes a small model if none
 * is given, serves it with `cirrus serve` on that database, drives a minute of live traffic from
 * the tenants through the real API with `cirrus loadgen`, prints the concentration report and the
 * console URL with a sign-in key, and keeps serving until interrupted.
 *
 * The server, the load generator and the report run as child processes of this same binary
 * (/proc/self/exe): each is exactly the command a user would type, and the server's lifetime is
 * the demo's (SIGINT/SIGTERM are forwarded to it).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "billing/billing.h"
#include "cli/cli.h"
#include "demo/demo.h"
#include "model/model.h"
#include "store/store.h"

static const char *usage =
    "usage: cirrus demo [--dir DIR] [--db PATH|URI] [--model PATH.gguf] [--host ADDR] [--port N] [--duration S] [--exit]\n"
    "  --dir DIR       keep the database, keys, model and logs here (default ./cirrus-demo); a second\n"
    "                  run reuses them, and `cirrus report ... --db DIR/cirrus.db` works afterwards\n"
    "  --db PATH|URI   seed and serve this database instead of DIR/cirrus.db: a SQLite file or\n"
    "                  postgres://USER@HOST:PORT/DB (an existing database; the market goes into it)\n"
    "  --pepper-file F the key-hash secret (default: beside a SQLite file; DIR/cirrus.pepper with a URI)\n"
    "  --model PATH    serve this GGUF model as " DEMO_LIVE_MODEL " (default: synthesize a small one)\n"
    "  --host ADDR     listen address (default 127.0.0.1)\n"
    "  --port N        (default 8080; 0 = any free port)\n"
    "  --duration S    seconds of live traffic (default 60; 0 = none)\n"
    "  --threads N     engine threads (default 2)\n"
    "  --exit          stop the server after the report instead of serving until interrupted\n";

static volatile sig_atomic_t g_stop;
static pid_t g_server = -1;

static void on_signal(int sig) {
    g_stop = 1;
    if (g_server > 0) kill(g_server, sig == SIGINT ? SIGTERM : sig);
}

/* Runs /proc/self/exe with argv; stdout/stderr to the given fds (-1: inherit). Returns the pid. */
static pid_t spawn(char *const argv[], int out_fd, int err_fd) {
    pid_t pid = fork();
    if (pid != 0) return pid;
    if (out_fd >= 0) dup2(out_fd, 1);
    if (err_fd >= 0) dup2(err_fd, 2);
    execv("/proc/self/exe", argv);
    fprintf(stderr, "cirrus: error: demo: exec failed: %s\n", strerror(errno));
    _exit(127);
}

static int wait_exit(pid_t pid) {
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Waits for the server to write its port into ready_file (it does once it answers). */
static int wait_ready(const char *ready_file, pid_t server, int timeout_s) {
    for (int i = 0; i < timeout_s * 10 && !g_stop; i++) {
        FILE *f = fopen(ready_file, "r");
        int port = 0;
        if (f) {
            if (fscanf(f, "%d", &port) != 1) port = 0;
            fclose(f);
            if (port > 0) return port;
        }
        int status;
        if (waitpid(server, &status, WNOHANG) == server) return -1;
        struct timespec ts = {0, 100000000};
        nanosleep(&ts, NULL);
    }
    return -1;
}

static int open_log(const char *dir, const char *name) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
}

int cmd_demo(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return 0;
    }
    const char *dir = "cirrus-demo", *model = NULL, *host = "127.0.0.1", *db_opt = NULL, *pepper = NULL, *v;
    int64_t port = 8080, duration = 60, threads = 2;
    bool exit_after = false;
    for (int i = 1; i < argc; i++) {
        if (cli_opt(argc, argv, &i, "--dir", &v)) { if (!(dir = v)) return 2; }
        else if (cli_opt(argc, argv, &i, "--db", &v)) { if (!(db_opt = v)) return 2; }
        else if (cli_opt(argc, argv, &i, "--pepper-file", &v)) { if (!(pepper = v)) return 2; }
        else if (cli_opt(argc, argv, &i, "--model", &v)) { if (!(model = v)) return 2; }
        else if (cli_opt(argc, argv, &i, "--host", &v)) { if (!(host = v)) return 2; }
        else if (cli_opt(argc, argv, &i, "--port", &v)) { if (!cli_parse_i64("--port", v, 0, 65535, &port)) return 2; }
        else if (cli_opt(argc, argv, &i, "--duration", &v)) { if (!cli_parse_i64("--duration", v, 0, 86400, &duration)) return 2; }
        else if (cli_opt(argc, argv, &i, "--threads", &v)) { if (!cli_parse_i64("--threads", v, 1, 256, &threads)) return 2; }
        else if (!strcmp(argv[i], "--exit")) exit_after = true;
        else { cli_error("demo: unknown option '%s'", argv[i]); fputs(usage, stderr); return 2; }
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        cli_error("demo: cannot create %s: %s", dir, strerror(errno));
        return 1;
    }
    char db[4096], keys[4096], model_path[4096], ready[4096], access_log[4096], records[4096];
    if (db_opt) snprintf(db, sizeof db, "%s", db_opt);
    else snprintf(db, sizeof db, "%s/cirrus.db", dir);
    /* the key-hash secret: a database server has no file beside it, so the demo's folder keeps it;
     * the variable reaches the server and the report this demo starts */
    char pepper_path[4096];
    if (!pepper && store_location_is_url(db) && !getenv("CIRRUS_PEPPER_FILE")) {
        snprintf(pepper_path, sizeof pepper_path, "%s/cirrus.pepper", dir);
        pepper = pepper_path;
    }
    if (pepper) setenv("CIRRUS_PEPPER_FILE", pepper, 1);
    snprintf(keys, sizeof keys, "%s/keys.json", dir);
    snprintf(ready, sizeof ready, "%s/server.port", dir);
    snprintf(access_log, sizeof access_log, "%s/access.log", dir);
    snprintf(records, sizeof records, "%s/loadgen.jsonl", dir);

    /* 1. the market */
    cirrus_err err = {{0}};
    demo_seed_result seed;
    printf("== seeding %s\n", db);
    fflush(stdout);
    if (demo_seed(db, keys, (int64_t)time(NULL), &seed, &err)) {
        cli_error("%s", err.msg);
        return 1;
    }
    if (seed.already_seeded) {
        printf("   already seeded earlier; reusing it\n");
    } else {
        char money[32];
        billing_format_money(seed.sim_revenue, money, sizeof money);
        printf("   %d tenants on mixed plans; %lld simulated daily usage records over six months, %s of revenue\n",
               seed.n_tenants, (long long)seed.sim_records, money);
    }

    /* 2. the model */
    if (!model) {
        snprintf(model_path, sizeof model_path, "%s/%s.gguf", dir, DEMO_LIVE_MODEL);
        if (access(model_path, R_OK) != 0) {
            printf("== synthesizing a small model at %s\n", model_path);
            fflush(stdout);
            mdl_synth_params sp = {.shape = "tiny", .type = KN_Q8_0, .seed = 42, .n_threads = (int32_t)threads};
            if (mdl_synth(&sp, model_path, &err)) {
                cli_error("%s", err.msg);
                return 1;
            }
        }
        model = model_path;
    }

    /* 3. the server */
    unlink(ready);
    char port_s[16], threads_s[16], model_arg[4200];
    snprintf(port_s, sizeof port_s, "%lld", (long long)port);
    snprintf(threads_s, sizeof threads_s, "%lld", (long long)threads);
    snprintf(model_arg, sizeof model_arg, "%s=%s", DEMO_LIVE_MODEL, model);
    char *serve_argv[] = {"cirrus", "serve", "--db", db, "--model", model_arg, "--host", (char *)host, "--port", port_s,
                          "--threads", threads_s, "--slots", "16", "--access-log", access_log, "--ready-file", ready, NULL};
    int serve_log = open_log(dir, "server.log");
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    printf("== starting cirrus serve (log: %s/server.log)\n", dir);
    fflush(stdout);
    g_server = spawn(serve_argv, serve_log, serve_log);
    int bound = wait_ready(ready, g_server, 120);
    if (bound < 0) {
        cli_error("demo: the server did not come up; see %s/server.log", dir);
        if (g_server > 0) kill(g_server, SIGTERM), wait_exit(g_server);
        return 1;
    }
    char url[256];
    snprintf(url, sizeof url, "http://%s:%d", strcmp(host, "0.0.0.0") ? host : "127.0.0.1", bound);

    /* 4. a minute of live traffic through the real API */
    if (duration > 0 && !g_stop) {
        char dur_s[24];
        snprintf(dur_s, sizeof dur_s, "%lld", (long long)duration);
        char tenant_args[DEMO_MAX_LIVE][200];
        char *lg_argv[8 + 2 * DEMO_MAX_LIVE + 8];
        int n = 0;
        lg_argv[n++] = "cirrus", lg_argv[n++] = "loadgen", lg_argv[n++] = "--url", lg_argv[n++] = url;
        for (int i = 0; i < seed.n_live; i++) {
            snprintf(tenant_args[i], sizeof tenant_args[i], "%s:%s:%d", seed.live[i].tenant, seed.live[i].key,
                     seed.live[i].concurrency);
            lg_argv[n++] = "--tenant", lg_argv[n++] = tenant_args[i];
        }
        lg_argv[n++] = "--duration", lg_argv[n++] = dur_s, lg_argv[n++] = "--max-tokens", lg_argv[n++] = "48";
        lg_argv[n++] = "--out", lg_argv[n++] = records, lg_argv[n++] = NULL;
        printf("== %lld s of live traffic from %d tenants through %s (loadgen)\n", (long long)duration, seed.n_live, url);
        fflush(stdout);
        int rc = wait_exit(spawn(lg_argv, -1, -1));
        if (rc != 0) fprintf(stderr, "cirrus: warn: demo: loadgen exited with %d\n", rc);
    }

    /* 5. the concentration report over the simulated months and this one */
    char from[32], to[32];
    billing_format_day(seed.first_month_from / 86400, from);
    billing_format_day((int64_t)time(NULL) / 86400 + 1, to);
    if (seed.already_seeded) {
        /* the keys file does not carry the first month: the report's own default period then */
        char *rep_argv[] = {"cirrus", "report", "concentration", "--db", db, NULL};
        printf("\n== concentration report\n");
        fflush(stdout);
        wait_exit(spawn(rep_argv, -1, -1));
    } else {
        char *rep_argv[] = {"cirrus", "report", "concentration", "--db", db, "--from", from, "--to", to, NULL};
        printf("\n== concentration report, %s to %s\n", from, to);
        fflush(stdout);
        wait_exit(spawn(rep_argv, -1, -1));
    }

    printf("\n== console: %s/console\n   sign in with the admin key: %s\n", url, seed.admin_key);
    printf("   database: %s   (cirrus report revenue|concentration|forecast|alerts --db %s)\n", db, db);
    fflush(stdout);
    int rc = 0;
    if (exit_after || g_stop) {
        kill(g_server, SIGTERM);
        rc = wait_exit(g_server);
    } else {
        printf("   serving until interrupted (Ctrl-C)\n");
        fflush(stdout);
        rc = wait_exit(g_server);
    }
    if (serve_log >= 0) close(serve_log);
    return rc == 0 || g_stop ? 0 : 1;
}
