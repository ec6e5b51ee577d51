/* http: replies, deferred replies and streams woken from another thread, body limits (413),
 * keep-alive, clients vanishing mid-stream, idle/slow connections, stop with sleepers; SSE framing;
 * the hostile cases: a per-address connection limit by default, head and body deadlines that a
 * trickle does not extend, sleepers woken at a time or when their client vanished, and as many
 * response headers as the application adds. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "http/http.h"

/* ---- a toy application -------------------------------------------------------------------- */

typedef struct {
    pthread_mutex_t mu;
    http_req *r; /* NULL once done: no wake after that */
    atomic_int produced;
    int consumed, total, delay_ms;
    pthread_t th;
    bool has_thread;
} job;

static atomic_int g_done_ok, g_done_gone, g_done_other, g_done_413;

static void nap(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void *producer(void *arg) {
    job *j = arg;
    for (int i = 0; i < j->total; i++) {
        nap(j->delay_ms);
        atomic_fetch_add(&j->produced, 1);
        pthread_mutex_lock(&j->mu);
        if (j->r) http_wake(j->r);
        pthread_mutex_unlock(&j->mu);
    }
    return NULL;
}

static void job_done(void *ud, http_req *r, const http_done_info *info) {
    (void)r;
    job *j = ud;
    pthread_mutex_lock(&j->mu);
    j->r = NULL;
    pthread_mutex_unlock(&j->mu);
    if (info->reason == HTTP_DONE_OK) atomic_fetch_add(&g_done_ok, 1);
    else if (info->reason == HTTP_DONE_CLIENT_GONE) atomic_fetch_add(&g_done_gone, 1);
    else atomic_fetch_add(&g_done_other, 1);
    if (j->has_thread) pthread_join(j->th, NULL);
    pthread_mutex_destroy(&j->mu);
    free(j);
}

static void plain_done(void *ud, http_req *r, const http_done_info *info) {
    (void)ud;
    (void)r;
    if (info->status == 413) atomic_fetch_add(&g_done_413, 1);
}

static job *job_new(http_req *r, int total, int delay_ms, bool start) {
    job *j = calloc(1, sizeof *j);
    pthread_mutex_init(&j->mu, NULL);
    j->r = r;
    j->total = total;
    j->delay_ms = delay_ms;
    http_on_done(r, job_done, j);
    if (start) {
        pthread_create(&j->th, NULL, producer, j);
        j->has_thread = true;
    }
    return j;
}

static void deferred_resume(void *ud, http_req *r) {
    job *j = ud;
    if (atomic_load(&j->produced) < j->total) {
        http_defer(r, deferred_resume, j);
        return;
    }
    char body[64];
    int n = snprintf(body, sizeof body, "done %d", j->total);
    http_reply(r, 200, "text/plain", body, (size_t)n);
}

static void wake_at_resume(void *ud, http_req *r) {
    (void)ud;
    http_reply(r, 200, "text/plain", "woke", 4);
}

static void queued_resume(void *ud, http_req *r) {
    if (!http_req_peer_closed(r)) { /* not its client leaving: back to sleep */
        http_defer(r, queued_resume, ud);
        return;
    }
    http_reply(r, 499, "text/plain", "gone", 4); /* its client will not read it: done says gone */
}

static long stream_pull(void *ud, char *buf, size_t cap) {
    job *j = ud;
    int avail = atomic_load(&j->produced);
    if (j->consumed == j->total) return HTTP_PULL_END;
    if (j->consumed == avail) return HTTP_PULL_AGAIN;
    char ev[64];
    int n = snprintf(ev, sizeof ev, "{\"i\":%d}", j->consumed);
    size_t need = http_sse_frame(ev, (size_t)n, buf, cap);
    if (need > cap) return HTTP_PULL_ABORT;
    j->consumed++;
    return (long)need;
}

static void handler(void *app, http_req *r) {
    (void)app;
    const char *path = http_req_path(r);
    if (http_req_overflow(r)) {
        http_on_done(r, plain_done, NULL);
        http_reply(r, 413, "text/plain", "too big", 7);
        return;
    }
    if (!strcmp(path, "/hello")) {
        http_add_header(r, "X-Test", "yes");
        http_reply(r, 200, "text/plain", "hi", 2);
    } else if (!strcmp(path, "/echo")) {
        size_t len;
        const char *b = http_req_body(r, &len);
        char out[64];
        int n = snprintf(out, sizeof out, "%zu:%c", len, len ? b[0] : '-');
        http_reply(r, 200, "text/plain", out, (size_t)n);
    } else if (!strcmp(path, "/defer")) {
        job *j = job_new(r, 3, 20, true);
        http_defer(r, deferred_resume, j);
    } else if (!strcmp(path, "/never")) {
        job *j = job_new(r, 1, 0, false);
        http_defer(r, deferred_resume, j);
    } else if (!strcmp(path, "/stream")) {
        job *j = job_new(r, 5, 20, true);
        http_reply_stream(r, 200, "text/event-stream", stream_pull, j);
    } else if (!strcmp(path, "/wakeat")) { /* nothing will wake it but its own deadline */
        http_wake_at(r, cirrus_now_ns() + 300000000ull);
        http_defer(r, wake_at_resume, NULL);
    } else if (!strcmp(path, "/queued")) { /* asleep until its client leaves */
        job *j = job_new(r, 1, 0, false); /* its done callback counts a client gone too */
        http_defer(r, queued_resume, j);
    } else if (!strcmp(path, "/headers")) {
        for (int i = 0; i < 24; i++) {
            char name[32], value[32];
            snprintf(name, sizeof name, "X-H%d", i);
            snprintf(value, sizeof value, "v%d", i);
            http_add_header(r, name, value);
        }
        bool refused = http_add_header(r, "Bad Name", "x") == CIRRUS_ERR_INVALID &&
                       http_add_header(r, "X-Inject", "a\r\nSet-Cookie: y") == CIRRUS_ERR_INVALID;
        http_reply(r, 200, "text/plain", refused ? "refused" : "accepted", refused ? 7 : 8);
    } else if (!strcmp(path, "/slowstream")) {
        job *j = job_new(r, 40, 25, true);
        http_reply_stream(r, 200, "text/event-stream", stream_pull, j);
    } else {
        http_reply(r, 404, "text/plain", "no", 2);
    }
}

/* ---- client helpers ----------------------------------------------------------------------- */

typedef struct {
    char buf[8192];
    size_t n;
} sink;

static size_t sink_write(char *p, size_t sz, size_t nm, void *ud) {
    sink *s = ud;
    size_t n = sz * nm;
    size_t room = sizeof s->buf - 1 - s->n;
    memcpy(s->buf + s->n, p, n < room ? n : room);
    s->n += n < room ? n : room;
    s->buf[s->n] = 0;
    return n;
}

static long get(CURL *c, uint16_t port, const char *path, const char *post, long post_len, sink *out) {
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", (unsigned)port, path);
    memset(out, 0, sizeof *out);
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    if (post) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, post_len);
    }
    if (curl_easy_perform(c) != CURLE_OK) return -1;
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    return code;
}

/* A connection to the server, from 127.0.0.1 or (from) another loopback address: another client
 * as far as per-address limits go. */
static int raw_connect_from(uint16_t port, const char *from) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in src = {.sin_family = AF_INET};
    if (from) inet_pton(AF_INET, from, &src.sin_addr);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if ((from && bind(fd, (struct sockaddr *)&src, sizeof src) != 0) || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static int raw_connect(uint16_t port) { return raw_connect_from(port, NULL); }

/* Sends a GET on fd and reads the reply's status; 0 when the server closed without a reply. */
static int raw_get(int fd, const char *path) {
    char req[256], b[512] = {0};
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
    if (write(fd, req, (size_t)n) != n) return 0;
    ssize_t got = read(fd, b, sizeof b - 1);
    int status = 0;
    if (got > 12 && sscanf(b, "HTTP/1.1 %d", &status) == 1) return status;
    return 0;
}

static bool send_str(int fd, const char *str) { return write(fd, str, strlen(str)) == (ssize_t)strlen(str); }

static void wait_counter(atomic_int *c, int want, int ms) {
    for (int i = 0; i < ms / 10 && atomic_load(c) < want; i++) nap(10);
}

/* ---- tests -------------------------------------------------------------------------------- */

static void test_sse(void) {
    char out[128];
    size_t n = http_sse_frame("{\"a\":1}", 7, out, sizeof out);
    CHECK(n == strlen("data: {\"a\":1}\n\n") && !memcmp(out, "data: {\"a\":1}\n\n", n));
    n = http_sse_frame("[DONE]", 6, out, sizeof out);
    CHECK(n == 14 && !memcmp(out, "data: [DONE]\n\n", n));
    n = http_sse_frame("a\nb\r\nc", 6, out, sizeof out);
    CHECK(n == strlen("data: a\ndata: b\ndata: c\n\n") && !memcmp(out, "data: a\ndata: b\ndata: c\n\n", n));
    n = http_sse_frame("a\n", 2, out, sizeof out);
    CHECK(n == strlen("data: a\ndata: \n\n") && !memcmp(out, "data: a\ndata: \n\n", n));
    n = http_sse_frame("", 0, out, sizeof out);
    CHECK(n == 8 && !memcmp(out, "data: \n\n", n));
    /* too small: reports the size it needs and never writes past cap */
    memset(out, 'x', sizeof out);
    n = http_sse_frame("hello", 5, out, 4);
    CHECK(n == 13 && out[4] == 'x');
}

static void test_server(void) {
    http_config cfg;
    http_config_default(&cfg);
    cfg.port = 0;
    cfg.max_body = 1000;
    cfg.idle_timeout_s = 2;
    cfg.max_connections = 600;
    cfg.per_ip_connections = 0; /* 500 idle connections from this one address below */
    http_server *s = NULL;
    cirrus_err err = {{0}};
    CHECK_MSG(http_server_start(&cfg, handler, NULL, &s, &err) == CIRRUS_OK, "%s", err.msg);
    if (!s) return;
    uint16_t port = http_server_port(s);
    CHECK(port != 0);
    CURL *c = curl_easy_init();
    sink out;

    CHECK(get(c, port, "/hello", NULL, 0, &out) == 200 && !strcmp(out.buf, "hi"));
    CHECK(get(c, port, "/nope", NULL, 0, &out) == 404);
    CHECK(get(c, port, "/echo", "xyz", 3, &out) == 200 && !strcmp(out.buf, "3:x"));

    /* 413: announced by Content-Length, then chunked (no length) */
    static char big[4000];
    memset(big, 'a', sizeof big);
    CHECK(get(c, port, "/echo", big, sizeof big, &out) == 413);
    CHECK(get(c, port, "/echo", big, 1000, &out) == 200 && !strcmp(out.buf, "1000:a"));
    {
        char url[128];
        snprintf(url, sizeof url, "http://127.0.0.1:%u/echo", (unsigned)port);
        curl_easy_reset(c);
        struct curl_slist *h = curl_slist_append(NULL, "Transfer-Encoding: chunked");
        memset(&out, 0, sizeof out);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, big);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)sizeof big);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
        long code = 0;
        if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        curl_slist_free_all(h);
        CHECK_MSG(code == 413, "chunked overflow gave %ld", code);
    }
    wait_counter(&g_done_413, 2, 1000);
    CHECK(atomic_load(&g_done_413) == 2);

    /* deferred reply woken from another thread */
    CHECK(get(c, port, "/defer", NULL, 0, &out) == 200 && !strcmp(out.buf, "done 3"));
    /* stream woken per event */
    CHECK(get(c, port, "/stream", NULL, 0, &out) == 200);
    CHECK_MSG(!strcmp(out.buf, "data: {\"i\":0}\n\ndata: {\"i\":1}\n\ndata: {\"i\":2}\n\ndata: {\"i\":3}\n\ndata: {\"i\":4}\n\n"),
              "%s", out.buf);
    /* keep-alive: the same connection served several requests */
    long nconn = -1;
    curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &nconn);
    CHECK(get(c, port, "/hello", NULL, 0, &out) == 200);
    curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &nconn);
    CHECK_MSG(nconn == 0, "reused connection expected, %ld new", nconn);
    wait_counter(&g_done_ok, 2, 1000);
    CHECK(atomic_load(&g_done_ok) == 2);

    /* a client that vanishes mid-stream: the server notices at its next write */
    {
        int fd = raw_connect(port);
        const char req[] = "GET /slowstream HTTP/1.1\r\nHost: x\r\n\r\n";
        CHECK(write(fd, req, sizeof req - 1) == (ssize_t)(sizeof req - 1));
        char b[256];
        CHECK(read(fd, b, sizeof b) > 0);
        close(fd);
        wait_counter(&g_done_gone, 1, 3000);
        CHECK(atomic_load(&g_done_gone) == 1);
    }

    /* 500 idle connections and a slowloris with partial headers: others are still served */
    {
        enum { N = 500 };
        static int fds[N];
        int opened = 0;
        for (int i = 0; i < N; i++)
            if ((fds[i] = raw_connect(port)) >= 0) opened++;
        CHECK(opened == N);
        int slow = raw_connect(port);
        CHECK(write(slow, "GET /hello HTTP/1.1\r\nHost:", 26) == 26);
        uint64_t t0 = cirrus_now_ns();
        CHECK(get(c, port, "/hello", NULL, 0, &out) == 200);
        CURL *c2 = curl_easy_init(); /* a fresh connection too, not only the kept-alive one */
        CHECK(get(c2, port, "/stream", NULL, 0, &out) == 200);
        curl_easy_cleanup(c2);
        CHECK((cirrus_now_ns() - t0) < 2000000000ull);
        /* the idle timeout (2 s) closes the slowloris connection */
        char b[64];
        ssize_t n = read(slow, b, sizeof b);
        CHECK_MSG(n <= 0 || (n > 0 && strstr(b, "HTTP/1.1")), "slowloris got %zd", n);
        close(slow);
        for (int i = 0; i < N; i++)
            if (fds[i] >= 0) close(fds[i]);
    }

    /* stop with a request asleep forever: it is woken, answered 503 and the stop returns */
    {
        int fd = raw_connect(port);
        const char req[] = "GET /never HTTP/1.1\r\nHost: x\r\n\r\n";
        CHECK(write(fd, req, sizeof req - 1) == (ssize_t)(sizeof req - 1));
        for (int i = 0; i < 100 && http_server_inflight(s) < 1; i++) nap(10);
        CHECK(http_server_inflight(s) == 1);
        int before = atomic_load(&g_done_other) + atomic_load(&g_done_ok);
        http_server_stop(s, cirrus_now_ns() + 2000000000ull); /* generous: CI runs this under ASan next to other tests */
        s = NULL;
        char b[256] = {0};
        ssize_t n = read(fd, b, sizeof b - 1);
        CHECK_MSG(n > 0 && strstr(b, " 503 "), "got %zd '%s'", n, b);
        CHECK(atomic_load(&g_done_other) + atomic_load(&g_done_ok) == before + 1);
        close(fd);
    }
    curl_easy_cleanup(c);
}

/* A trickle of bytes does not extend the head or body deadline; keep-alive idling is not cut by
 * the head deadline; sleepers wake at their time or when their client left; headers are never
 * dropped. */
static void test_hostile(void) {
    http_config cfg;
    http_config_default(&cfg);
    CHECK(cfg.per_ip_connections > 0 && cfg.per_ip_connections <= 256); /* a limit by default */
    CHECK(cfg.header_timeout_s > 0 && cfg.body_timeout_s > 0);
    cfg.port = 0;
    cfg.idle_timeout_s = 30; /* the deadlines below, not the idle timeout, must close them */
    cfg.header_timeout_s = 1;
    cfg.body_timeout_s = 1;
    http_server *s = NULL;
    cirrus_err err = {{0}};
    CHECK_MSG(http_server_start(&cfg, handler, NULL, &s, &err) == CIRRUS_OK, "%s", err.msg);
    if (!s) return;
    uint16_t port = http_server_port(s);

    /* a slowloris trickling its head (a byte every 0.2 s) and one trickling its body */
    int head = raw_connect(port), body = raw_connect(port);
    CHECK(send_str(body, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n"));
    uint64_t t0 = cirrus_now_ns();
    const char trickle[] = "GET /hello HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    bool head_open = true, body_open = true;
    double head_s = -1, body_s = -1;
    for (size_t i = 0; i < sizeof trickle - 1 && (head_open || body_open); i++) {
        if (head_open && write(head, trickle + i, 1) != 1) head_open = false, head_s = (double)(cirrus_now_ns() - t0) / 1e9;
        if (body_open && write(body, "a", 1) != 1) body_open = false, body_s = (double)(cirrus_now_ns() - t0) / 1e9;
        nap(200);
        char b[64];
        if (head_open && recv(head, b, sizeof b, MSG_DONTWAIT) == 0) head_open = false, head_s = (double)(cirrus_now_ns() - t0) / 1e9;
        if (body_open && recv(body, b, sizeof b, MSG_DONTWAIT) == 0) body_open = false, body_s = (double)(cirrus_now_ns() - t0) / 1e9;
    }
    CHECK_MSG(!head_open && head_s > 0.8 && head_s < 3, "a trickled head was closed after %.2f s (want ~1)", head_s);
    CHECK_MSG(!body_open && body_s > 0.8 && body_s < 3, "a trickled body was closed after %.2f s (want ~1)", body_s);
    close(head);
    close(body);

    /* keep-alive: idle past header_timeout_s between requests is still fine (idle_timeout_s) */
    int ka = raw_connect(port);
    CHECK(raw_get(ka, "/hello") == 200);
    nap(1500);
    CHECK(raw_get(ka, "/hello") == 200);
    close(ka);

    /* a sleeper with nothing to wake it but its own time */
    CURL *c = curl_easy_init();
    sink out;
    t0 = cirrus_now_ns();
    CHECK(get(c, port, "/wakeat", NULL, 0, &out) == 200 && !strcmp(out.buf, "woke"));
    double woke = (double)(cirrus_now_ns() - t0) / 1e9;
    CHECK_MSG(woke >= 0.25 && woke < 1.5, "woken after %.2f s (want ~0.3)", woke);

    /* a sleeper whose client left: woken for it (its resume sees the client gone, or MHD reads the
     * end of the stream first and ends it), so it does not sleep on for ever */
#define DONE_ANY() (atomic_load(&g_done_gone) + atomic_load(&g_done_ok) + atomic_load(&g_done_other))
    int gone0 = DONE_ANY();
    int q = raw_connect(port);
    CHECK(send_str(q, "GET /queued HTTP/1.1\r\nHost: x\r\n\r\n"));
    nap(100);
    close(q);
    for (int i = 0; i < 200 && DONE_ANY() == gone0; i++) nap(10);
    CHECK_MSG(DONE_ANY() == gone0 + 1, "a sleeper whose client left was not woken");

    /* every header the application adds arrives; malformed ones are refused, not sent */
    struct curl_slist *hl = NULL;
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/headers", (unsigned)port);
    curl_easy_reset(c);
    memset(&out, 0, sizeof out);
    sink hdrs;
    memset(&hdrs, 0, sizeof hdrs);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, sink_write);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &hdrs);
    CHECK(curl_easy_perform(c) == CURLE_OK && !strcmp(out.buf, "refused"));
    int seen = 0;
    for (int i = 0; i < 24; i++) {
        char want[48];
        snprintf(want, sizeof want, "X-H%d: v%d\r\n", i, i);
        seen += strstr(hdrs.buf, want) != NULL;
    }
    CHECK_MSG(seen == 24, "%d of 24 response headers arrived", seen);
    CHECK(!strstr(hdrs.buf, "Set-Cookie") && !strstr(hdrs.buf, "Bad Name"));
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    http_server_stop(s, cirrus_now_ns() + 2000000000ull);
}

/* One address gets at most per_ip_connections (default 64); another is served meanwhile. A server
 * of its own with the default head deadline (10 s), which no connection here comes near. */
static void test_per_ip(void) {
    http_config cfg;
    http_config_default(&cfg);
    cfg.port = 0;
    http_server *s = NULL;
    cirrus_err err = {{0}};
    CHECK_MSG(http_server_start(&cfg, handler, NULL, &s, &err) == CIRRUS_OK, "%s", err.msg);
    if (!s) return;
    uint16_t port = http_server_port(s);
    /* per address: 64 connections from 127.0.0.1 are all it gets; 127.0.0.2 is still served */
    enum { PER_IP = 64 };
    int fds[PER_IP + 1];
    for (int i = 0; i < PER_IP; i++) fds[i] = raw_connect(port);
    nap(100);
    fds[PER_IP] = raw_connect(port);
    CHECK_MSG(fds[PER_IP] < 0 || raw_get(fds[PER_IP], "/hello") == 0, "connection %d from one address was served", PER_IP + 1);
    int other = raw_connect_from(port, "127.0.0.2");
    CHECK(other >= 0 && raw_get(other, "/hello") == 200);
    if (other >= 0) close(other);
    for (int i = 0; i <= PER_IP; i++)
        if (fds[i] >= 0) close(fds[i]);

    http_server_stop(s, cirrus_now_ns() + 2000000000ull);
}

static void test_bad_config(void) {
    http_config cfg;
    http_config_default(&cfg);
    cfg.host = "not an address";
    http_server *s = NULL;
    cirrus_err err = {{0}};
    CHECK(http_server_start(&cfg, handler, NULL, &s, &err) == CIRRUS_ERR_INVALID && !s);
    CHECK(strstr(err.msg, "--host") != NULL);
    http_config_default(&cfg);
    cfg.threads = 0;
    CHECK(http_server_start(&cfg, handler, NULL, &s, &err) == CIRRUS_ERR_INVALID);
}

int main(void) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    test_sse();
    test_bad_config();
    test_server();
    test_hostile();
    test_per_ip();
    curl_global_cleanup();
    return check_done("test_http");
}
