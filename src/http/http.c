/*
 * The server over libmicrohttpd (MHD). See http.h for the thread model and why MHD.
 *
 * Request states (one MHD connection serves its requests one after another, keep-alive):
 *   READING -> (body complete or overflow) HANDLING -> REPLIED | DEFERRED | STREAMING -> done
 *   DEFERRED -> (wake) HANDLING again;  STREAMING pulls until END/ABORT.
 *
 * Invariants:
 *  1. Every callback that touches a request (access handler, content reader, completion) runs on
 *     the request's own polling thread, so a request's fields need no lock — except `sleeping`,
 *     `wake_pending` and the sleepers list, which http_wake reads from other threads: those are
 *     guarded by the server mutex.
 *  2. A request sleeps (MHD-suspended) only after it has checked, under the mutex, that no wake
 *     arrived since it last looked for news (wake_pending); a wake either finds it sleeping and
 *     resumes it, or sets wake_pending so it looks again. No wake is lost, none is spent twice.
 *  3. MHD forbids stopping a daemon with suspended connections: http_server_stop resumes every
 *     sleeper (marked aborted) and waits for them to unwind before MHD_stop_daemon.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http/http_impl.h"

#define HTTP_HEADER_BYTES (16u << 10) /* response headers added by the application, all together */

void http_config_default(http_config *c) {
    memset(c, 0, sizeof *c);
    c->host = "127.0.0.1";
    c->port = 8080;
    c->threads = 2;
    c->max_connections = 1024;
    c->per_ip_connections = 64;
    c->idle_timeout_s = 30;
    c->header_timeout_s = 10;
    c->body_timeout_s = 60;
    c->max_body = 1u << 20;
    c->max_header = 32u << 10;
}

/* ---- sleeping and waking (invariant 2) ---------------------------------------------------- */

/* Called with srv->mu held, on the request's thread, from a callback MHD allows to suspend in. */
static void sleep_locked(http_req *r) {
    http_server *s = r->srv;
    r->sleeping = true;
    r->sl_prev = NULL;
    r->sl_next = s->sleepers;
    if (s->sleepers) s->sleepers->sl_prev = r;
    s->sleepers = r;
    MHD_suspend_connection(r->conn);
}

static void unlink_sleeper_locked(http_req *r) {
    http_server *s = r->srv;
    if (r->sl_prev) r->sl_prev->sl_next = r->sl_next;
    else s->sleepers = r->sl_next;
    if (r->sl_next) r->sl_next->sl_prev = r->sl_prev;
    r->sl_prev = r->sl_next = NULL;
    r->sleeping = false;
}

void http_unsleep_locked(http_req *r) {
    unlink_sleeper_locked(r);
    MHD_resume_connection(r->conn);
}

void http_wake(http_req *r) {
    http_server *s = r->srv;
    pthread_mutex_lock(&s->mu);
    if (r->sleeping) {
        http_unsleep_locked(r);
    } else {
        r->wake_pending = true;
    }
    pthread_mutex_unlock(&s->mu);
}

/* Clears wake_pending before the application looks for news: anything pushed before this point
 * will be seen by the look, anything after sets the flag again. */
static void clear_wake(http_req *r) {
    pthread_mutex_lock(&r->srv->mu);
    r->wake_pending = false;
    pthread_mutex_unlock(&r->srv->mu);
}

/* Sleeps unless a wake arrived meanwhile; returns false if the caller must look again. */
static bool try_sleep(http_req *r) {
    http_server *s = r->srv;
    pthread_mutex_lock(&s->mu);
    bool slept = false;
    if (!r->wake_pending && !r->aborted) {
        sleep_locked(r);
        slept = true;
    }
    pthread_mutex_unlock(&s->mu);
    return slept;
}

/* ---- replies -------------------------------------------------------------------------------- */

static void add_headers(http_req *r, struct MHD_Response *resp) {
    const char *p = r->hdrs.p, *end = p ? p + r->hdrs.len : NULL;
    while (p && p < end) {
        const char *v = p + strlen(p) + 1;
        if (MHD_add_response_header(resp, p, v) != MHD_YES) /* checked when added: a bug or no memory */
            CIRRUS_ERROR("http: response header '%s' could not be added to the reply", p);
        p = v + strlen(v) + 1;
    }
}

/* RFC 9110 token characters: what a field name may hold. */
static bool is_tchar(unsigned char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

cirrus_status http_add_header(http_req *r, const char *name, const char *value) {
    bool ok = *name != 0;
    for (const char *p = name; ok && *p; p++) ok = is_tchar((unsigned char)*p);
    for (const char *p = value; ok && *p; p++) ok = *p != '\r' && *p != '\n'; /* no header injection */
    if (!ok) {
        CIRRUS_ERROR("http: refusing a malformed response header '%.64s'", name);
        return CIRRUS_ERR_INVALID;
    }
    if (!r->hdrs.max) cirrus_buf_init(&r->hdrs, HTTP_HEADER_BYTES);
    size_t used = r->hdrs.len;
    cirrus_buf_add(&r->hdrs, name, strlen(name) + 1);
    cirrus_status st = cirrus_buf_add(&r->hdrs, value, strlen(value) + 1);
    if (st) { /* said, never dropped silently: the caller learns it and the log says which */
        r->hdrs.len = used;
        r->hdrs.fail = CIRRUS_OK;
        CIRRUS_ERROR("http: response header '%.64s' does not fit (%u bytes of headers at most)", name, HTTP_HEADER_BYTES);
    }
    return st;
}

static cirrus_status queue(http_req *r, int status, const char *ctype, struct MHD_Response *resp) {
    if (!resp) return CIRRUS_ERR_NOMEM;
    if (ctype) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    add_headers(r, resp);
    enum MHD_Result ok = MHD_queue_response(r->conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    if (ok != MHD_YES) return CIRRUS_ERR_INTERNAL;
    r->status = status;
    return CIRRUS_OK;
}

cirrus_status http_reply(http_req *r, int status, const char *content_type, const char *body, size_t len) {
    if (r->state != ST_HANDLING) return CIRRUS_ERR_INVALID;
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    cirrus_status st = queue(r, status, content_type, resp);
    if (st == CIRRUS_OK) r->state = ST_REPLIED;
    return st;
}

static ssize_t on_read(void *cls, uint64_t pos, char *buf, size_t max) {
    (void)pos;
    http_req *r = cls;
    for (;;) {
        if (r->aborted) return MHD_CONTENT_READER_END_WITH_ERROR;
        clear_wake(r);
        long n = r->pull(r->pull_ud, buf, max);
        if (n > 0) {
            if ((size_t)n > max) return MHD_CONTENT_READER_END_WITH_ERROR; /* a pull bug: never overrun */
            r->body_bytes += (uint64_t)n;
            return (ssize_t)n;
        }
        if (n == HTTP_PULL_END) return MHD_CONTENT_READER_END_OF_STREAM;
        if (n != HTTP_PULL_AGAIN) {
            r->aborted = true;
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
        /* Returning 0 is allowed only together with a suspend (else MHD busy-loops). */
        if (try_sleep(r)) return 0;
    }
}

cirrus_status http_reply_stream(http_req *r, int status, const char *content_type, http_pull_fn pull,
                                void *ud) {
    if (r->state != ST_HANDLING || !pull) return CIRRUS_ERR_INVALID;
    r->pull = pull;
    r->pull_ud = ud;
    /* 16 KiB blocks: one SSE event (a token with logprobs) fits many times over, and the block
     * comes out of the connection's memory pool (max_header sizing leaves room for it). */
    struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, on_read, r, NULL);
    if (resp) MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    cirrus_status st = queue(r, status, content_type, resp);
    if (st == CIRRUS_OK) r->state = ST_STREAMING;
    return st;
}

void http_defer(http_req *r, http_resume_fn resume, void *ud) {
    r->resume = resume;
    r->resume_ud = ud;
    r->state = ST_DEFERRED;
}

void http_wake_at(http_req *r, uint64_t deadline_ns) {
    pthread_mutex_lock(&r->srv->mu);
    r->wake_at = deadline_ns;
    pthread_mutex_unlock(&r->srv->mu);
}

void http_on_done(http_req *r, http_done_fn done, void *ud) {
    r->done = done;
    r->done_ud = ud;
}

/* Runs the handler (first) or the resume callback until the request replied or went to sleep. */
static void run_app(http_req *r, bool first) {
    http_server *s = r->srv;
    for (;;) {
        if (r->aborted) {
            static const char msg[] = "server shutting down\n";
            r->state = ST_HANDLING;
            http_reply(r, 503, "text/plain", msg, sizeof msg - 1);
            return;
        }
        clear_wake(r);
        r->state = ST_HANDLING;
        if (first) http_conn_phase(s, r->hc, PH_APP); /* the request is the application's now */
        if (first) s->handler(s->app, r);
        else r->resume(r->resume_ud, r);
        first = false;
        if (r->state == ST_REPLIED || r->state == ST_STREAMING) return;
        if (r->state != ST_DEFERRED) { /* the application broke the contract: answer for it */
            static const char msg[] = "internal error: no reply\n";
            http_reply(r, 500, "text/plain", msg, sizeof msg - 1);
            return;
        }
        if (try_sleep(r)) return;
    }
}

/* ---- MHD callbacks ------------------------------------------------------------------------ */

static void set_peer(http_req *r) {
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    r->peer[0] = 0;
    if (!ci || !ci->client_addr) return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, r->peer, sizeof r->peer);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, r->peer, sizeof r->peer);
}

static enum MHD_Result sum_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
    (void)kind;
    size_t *n = cls;
    *n += strlen(key) + (value ? strlen(value) : 0) + 4; /* ": " and CRLF */
    return MHD_YES;
}

/* Content-Length, if present and a plain decimal; UINT64_MAX if absent or unreadable. */
static uint64_t content_length(struct MHD_Connection *c) {
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (!cl || !*cl) return UINT64_MAX;
    uint64_t v = 0;
    for (const char *p = cl; *p; p++) {
        if (*p < '0' || *p > '9' || v > (UINT64_MAX - 9) / 10) return UINT64_MAX;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    return v;
}

static bool append_body(http_req *r, const char *data, size_t n) {
    size_t max = r->srv->cfg.max_body;
    if (n > max || r->body_len > max - n) return false;
    if (r->body_len + n + 1 > r->body_cap) {
        size_t cap = r->body_cap ? r->body_cap : 4096;
        while (cap < r->body_len + n + 1) cap *= 2;
        if (cap > max + 1) cap = max + 1;
        char *b = realloc(r->body, cap);
        if (!b) return false;
        r->body = b;
        r->body_cap = cap;
    }
    memcpy(r->body + r->body_len, data, n);
    r->body_len += n;
    r->body[r->body_len] = 0;
    return true;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                 const char *version, const char *upload_data, size_t *upload_data_size,
                                 void **con_cls) {
    (void)version;
    http_server *s = cls;
    http_req *r = *con_cls;
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r) return MHD_NO; /* MHD closes the connection */
        r->srv = s;
        r->conn = c;
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        r->hc = ci ? ci->socket_context : NULL;
        ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        r->fd = ci ? ci->connect_fd : -1;
        r->method = method;
        r->path = url;
        r->t_start = cirrus_now_ns();
        r->state = ST_READING;
        set_peer(r);
        *con_cls = r;
        atomic_fetch_add(&s->inflight, 1);
        http_conn_phase(s, r->hc, PH_BODY); /* the head is in: the body has its own deadline */
        /* MHD's pool must also hold the stream block, so it is larger than max_header: the
         * header limit itself is enforced here. */
        size_t hdr = strlen(url) + strlen(method) + 16;
        MHD_get_connection_values(c, MHD_HEADER_KIND, sum_header, &hdr);
        uint64_t cl = content_length(c);
        if (hdr > s->cfg.max_header) {
            r->hdr_overflow = true;
            run_app(r, true);
        } else if (cl != UINT64_MAX && cl > s->cfg.max_body) {
            /* Answer before reading a byte of it; MHD then closes the connection. */
            r->overflow = true;
            run_app(r, true);
        }
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (r->state == ST_READING && !r->overflow && !append_body(r, upload_data, *upload_data_size)) {
            r->overflow = true;
            free(r->body);
            r->body = NULL;
            r->body_len = r->body_cap = 0;
        }
        *upload_data_size = 0; /* consumed (or discarded after overflow) */
        return MHD_YES;
    }
    if (r->state == ST_READING) run_app(r, true);
    else if (r->state == ST_DEFERRED) run_app(r, false);
    return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe) {
    (void)c;
    http_server *s = cls;
    http_req *r = *con_cls;
    if (!r) return;
    *con_cls = NULL;
    if (r->sleeping) { /* cannot happen (MHD never completes a suspended request); stay safe */
        pthread_mutex_lock(&s->mu);
        unlink_sleeper_locked(r);
        pthread_mutex_unlock(&s->mu);
    }
    if (r->done) {
        http_done_info info = {.status = r->status, .body_bytes = r->body_bytes};
        switch (toe) {
        case MHD_REQUEST_TERMINATED_COMPLETED_OK: info.reason = HTTP_DONE_OK; break;
        case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED: info.reason = HTTP_DONE_TIMEOUT; break;
        case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN: info.reason = HTTP_DONE_ABORTED; break;
        default: info.reason = r->aborted ? HTTP_DONE_ABORTED : HTTP_DONE_CLIENT_GONE; break;
        }
        r->done(r->done_ud, r, &info);
    }
    http_conn_phase(s, r->hc, PH_HEAD); /* kept alive: the next request's head has a deadline */
    cirrus_buf_free(&r->hdrs);
    free(r->body);
    free(r);
    atomic_fetch_sub(&s->inflight, 1);
}

/* A connection opens (its first head's deadline starts) or closes. Small SSE writes must leave at
 * once, not wait for Nagle's 40 ms. */
static void on_connection(void *cls, struct MHD_Connection *c, void **socket_ctx, enum MHD_ConnectionNotificationCode code) {
    http_server *s = cls;
    if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        http_conn_closed(s, socket_ctx);
        return;
    }
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (ci) {
        int one = 1;
        setsockopt(ci->connect_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    http_conn_opened(s, c, socket_ctx);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap) {
    (void)cls;
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
    CIRRUS_DEBUG("http: %s", line);
}

/* ---- server lifetime -------------------------------------------------------------------------- */

static cirrus_status resolve(const char *host, uint16_t port, struct sockaddr_storage *ss, socklen_t *len,
                             bool *v6, cirrus_err *err) {
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    if (strcmp(host, "localhost") != 0) hints.ai_flags |= AI_NUMERICHOST;
    struct addrinfo *ai = NULL;
    char ports[8];
    snprintf(ports, sizeof ports, "%u", (unsigned)port);
    int rc = getaddrinfo(host, ports, &hints, &ai);
    if (rc || !ai) return cirrus_errf(err, CIRRUS_ERR_INVALID, "--host: '%s' is not an IP address (%s)", host, gai_strerror(rc));
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    *len = ai->ai_addrlen;
    *v6 = ai->ai_family == AF_INET6;
    freeaddrinfo(ai);
    return CIRRUS_OK;
}

cirrus_status http_server_start(const http_config *cfg, http_handler h, void *app, http_server **out,
                                cirrus_err *err) {
    *out = NULL;
    if (!h || cfg->threads < 1 || cfg->threads > 64 || cfg->max_connections < 1 || cfg->max_body < 1)
        return cirrus_errf(err, CIRRUS_ERR_INVALID, "http: threads must be 1..64, max_connections and max_body >= 1");
    if (cfg->max_header < 4096)
        return cirrus_errf(err, CIRRUS_ERR_INVALID, "http: max_header must be at least 4096 bytes");
    http_server *s = calloc(1, sizeof *s);
    if (!s) return cirrus_errf(err, CIRRUS_ERR_NOMEM, "http: out of memory");
    s->cfg = *cfg;
    s->handler = h;
    s->app = app;
    s->quiesced_fd = -1;
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->conn_mu, NULL);
    struct sockaddr_storage ss;
    socklen_t sslen = 0;
    bool v6 = false;
    cirrus_status st = resolve(cfg->host ? cfg->host : "127.0.0.1", cfg->port, &ss, &sslen, &v6, err);
    if (!st) st = http_watch_start(s, err);
    if (st) {
        pthread_mutex_destroy(&s->conn_mu);
        pthread_mutex_destroy(&s->mu);
        free(s);
        return st;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    if (v6) flags |= MHD_USE_IPv6;
    /* The per-connection pool holds the request line + headers, the read buffer and the 16 KiB
     * stream block, so it gets max_header + 32 KiB. */
    size_t pool = cfg->max_header + (32u << 10);
    struct MHD_OptionItem opts[] = {
        {MHD_OPTION_SOCK_ADDR, 0, &ss},
        {MHD_OPTION_CONNECTION_LIMIT, (intptr_t)cfg->max_connections, NULL},
        {MHD_OPTION_PER_IP_CONNECTION_LIMIT, (intptr_t)cfg->per_ip_connections, NULL},
        {MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t)cfg->idle_timeout_s, NULL},
        {MHD_OPTION_CONNECTION_MEMORY_LIMIT, (intptr_t)pool, NULL},
        {MHD_OPTION_THREAD_POOL_SIZE, cfg->threads > 1 ? (intptr_t)cfg->threads : 0, NULL},
        {MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, NULL},
        {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, s},
        {MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, s},
        {MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)on_mhd_log, s},
        {MHD_OPTION_END, 0, NULL},
    };
    s->d = MHD_start_daemon(flags, cfg->port, NULL, NULL, on_access, s, MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
    if (!s->d) {
        http_watch_stop(s);
        pthread_mutex_destroy(&s->conn_mu);
        pthread_mutex_destroy(&s->mu);
        free(s);
        return cirrus_errf(err, CIRRUS_ERR_IO, "http: cannot listen on %s:%u (address in use or not permitted?)",
                           cfg->host ? cfg->host : "127.0.0.1", (unsigned)cfg->port);
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : cfg->port;
    *out = s;
    return CIRRUS_OK;
}

uint16_t http_server_port(const http_server *s) { return s->port; }

int http_server_inflight(const http_server *s) { return atomic_load(&((http_server *)s)->inflight); }

void http_server_quiesce(http_server *s) {
    if (s->quiesced) return;
    s->quiesced = true;
    MHD_socket fd = MHD_quiesce_daemon(s->d);
    s->quiesced_fd = fd == MHD_INVALID_SOCKET ? -1 : (int)fd;
}

static void nap_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

void http_server_stop(http_server *s, uint64_t deadline_ns) {
    if (!s) return;
    http_server_quiesce(s);
    while (atomic_load(&s->inflight) > 0 && cirrus_now_ns() < deadline_ns) nap_ms(10);
    /* Invariant 3: nothing may stay suspended. Wake every sleeper marked aborted; it unwinds on
     * its thread (503 or a cut stream) -- given up to a second to do so, so the 503 is written
     * before MHD_stop_daemon closes the socket even on a loaded machine. Bounded: a request that
     * keeps not finishing is left to MHD_stop_daemon, which closes its socket. */
    for (int tries = 0; tries < 200; tries++) {
        pthread_mutex_lock(&s->mu);
        s->stopping = true;
        bool any = s->sleepers != NULL;
        while (s->sleepers) {
            http_req *r = s->sleepers;
            r->aborted = true;
            unlink_sleeper_locked(r);
            MHD_resume_connection(r->conn);
        }
        pthread_mutex_unlock(&s->mu);
        if (!any && atomic_load(&s->inflight) == 0) break;
        nap_ms(5);
    }
    http_watch_stop(s); /* the sleepers are gone; MHD closes what is left, announcing each close */
    MHD_stop_daemon(s->d);
    if (s->quiesced_fd >= 0) close(s->quiesced_fd);
    pthread_mutex_destroy(&s->conn_mu);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* ---- request accessors ------------------------------------------------------------------------ */

const char *http_req_method(const http_req *r) { return r->method; }
const char *http_req_path(const http_req *r) { return r->path; }
const char *http_req_header(const http_req *r, const char *name) {
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *http_req_arg(const http_req *r, const char *name) {
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *http_req_body(const http_req *r, size_t *len) {
    *len = r->body_len;
    return r->body;
}
bool http_req_overflow(const http_req *r) { return r->overflow; }
bool http_req_headers_overflow(const http_req *r) { return r->hdr_overflow; }
uint64_t http_req_start_ns(const http_req *r) { return r->t_start; }
const char *http_req_peer(const http_req *r) { return r->peer; }

bool http_req_peer_closed(const http_req *r) {
    if (atomic_load(&((http_req *)r)->peer_gone)) return true;
    if (r->fd < 0) return false;
    char b;
    ssize_t n = recv(r->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0) return true;
    return n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
}

/* ---- SSE ------------------------------------------------------------------------------------ */

size_t http_sse_frame(const char *data, size_t len, char *out, size_t cap) {
    size_t need = 0;
#define PUT(ptr, n)                                                  \
    do {                                                             \
        if (need + (n) <= cap) memcpy(out + need, (ptr), (n));       \
        need += (n);                                                 \
    } while (0)
    /* Every line of data becomes its own "data:" field, so the client rebuilds data exactly. */
    for (size_t i = 0;;) {
        size_t j = i;
        while (j < len && data[j] != '\n' && data[j] != '\r') j++;
        PUT("data: ", 6);
        PUT(data + i, j - i);
        PUT("\n", 1);
        if (j >= len) break;
        if (data[j] == '\r' && j + 1 < len && data[j + 1] == '\n') j++;
        i = j + 1;
    }
    PUT("\n", 1);
#undef PUT
    return need;
}
