/*
 * The watcher: one thread per server for what MHD's own timeout cannot do.
 *
 *  - Deadlines. MHD closes a connection that is *silent* for idle_timeout_s, so a client that
 *    trickles a header byte now and then would keep its connection for ever (a slowloris). Each
 *    connection here has a deadline for its current phase (conn_phase in http_impl.h): the head
 *    within header_timeout_s, the body within body_timeout_s, however the bytes trickle. Past it
 *    the watcher shuts the socket down; MHD sees the end of the stream and closes the connection
 *    as it would any other.
 *  - Sleepers. A suspended request is outside MHD's event loop: MHD neither times it out nor
 *    notices its client leave. The watcher wakes a sleeper at its wake_at (http_wake_at) and, once,
 *    when a peek at its socket reads the end of the stream (peer_gone), so the application can
 *    cancel work that a vanished client is still queued for instead of finding out after the
 *    first token.
 *
 * Touching another thread's socket safely: a connection's descriptor is used here only under
 * conn_mu (deadlines), or under mu while its request is suspended (sleepers). MHD announces a
 * closing connection (MHD_CONNECTION_NOTIFY_CLOSED -> http_conn_closed, which takes conn_mu)
 * before it closes the descriptor, and never closes a suspended one, so the number used here is
 * never one the kernel has handed to someone else.
 *
 * Cost: one wake-up per tick; per tick a walk over the open connections (a comparison each) and
 * the sleepers, and every WATCH_PEEK_EVERY ticks one non-blocking recv per sleeper.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "http/http_impl.h"

#define WATCH_TICK_MS 100
#define WATCH_PEEK_EVERY 3 /* ticks between looks at sleepers' sockets */

static uint64_t secs(uint32_t s) { return (uint64_t)s * 1000000000ull; }

/* The deadline of phase ph starting now (0: none). */
static uint64_t phase_deadline(const http_config *cfg, conn_phase ph, bool kept_alive, uint64_t now) {
    switch (ph) {
    case PH_HEAD:
        if (!cfg->header_timeout_s) return 0;
        return now + secs(cfg->header_timeout_s) + (kept_alive ? secs(cfg->idle_timeout_s) : 0);
    case PH_BODY: return cfg->body_timeout_s ? now + secs(cfg->body_timeout_s) : 0;
    case PH_APP: break;
    }
    return 0;
}

void http_conn_opened(http_server *s, struct MHD_Connection *c, void **socket_ctx) {
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    http_conn *hc = ci ? calloc(1, sizeof *hc) : NULL;
    *socket_ctx = hc;
    if (!hc) {
        CIRRUS_WARN("http: out of memory for a connection's deadlines; it has only the idle timeout");
        return;
    }
    hc->fd = ci->connect_fd;
    hc->phase = PH_HEAD;
    hc->deadline_ns = phase_deadline(&s->cfg, PH_HEAD, false, cirrus_now_ns());
    pthread_mutex_lock(&s->conn_mu);
    hc->next = s->conns;
    if (s->conns) s->conns->prev = hc;
    s->conns = hc;
    s->n_conns++;
    pthread_mutex_unlock(&s->conn_mu);
}

void http_conn_closed(http_server *s, void **socket_ctx) {
    http_conn *hc = *socket_ctx;
    if (!hc) return;
    *socket_ctx = NULL;
    pthread_mutex_lock(&s->conn_mu);
    if (hc->prev) hc->prev->next = hc->next;
    else s->conns = hc->next;
    if (hc->next) hc->next->prev = hc->prev;
    s->n_conns--;
    pthread_mutex_unlock(&s->conn_mu);
    free(hc);
}

void http_conn_phase(http_server *s, http_conn *hc, conn_phase ph) {
    if (!hc) return;
    uint64_t dl = phase_deadline(&s->cfg, ph, ph == PH_HEAD, cirrus_now_ns());
    pthread_mutex_lock(&s->conn_mu);
    hc->phase = ph;
    hc->deadline_ns = dl;
    pthread_mutex_unlock(&s->conn_mu);
}

static void cut_overdue(http_server *s, uint64_t now) {
    pthread_mutex_lock(&s->conn_mu);
    for (http_conn *hc = s->conns; hc; hc = hc->next) {
        if (hc->cut || !hc->deadline_ns || now < hc->deadline_ns) continue;
        hc->cut = true;
        shutdown(hc->fd, SHUT_RDWR);
        atomic_fetch_add(hc->phase == PH_BODY ? &s->cut_body : &s->cut_head, 1);
        CIRRUS_DEBUG("http: closed a connection still sending its %s past the deadline",
                     hc->phase == PH_BODY ? "body" : "request head");
    }
    pthread_mutex_unlock(&s->conn_mu);
}

/* The client closed its end (EOF) or the connection broke; false while it is merely quiet. */
static bool hung_up(int fd) {
    char b;
    ssize_t n = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0) return true;
    return n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
}

static void wake_sleepers(http_server *s, uint64_t now, bool peek) {
    pthread_mutex_lock(&s->mu);
    for (http_req *r = s->sleepers, *next; r; r = next) {
        next = r->sl_next;
        bool due = r->wake_at && now >= r->wake_at;
        bool gone = !due && peek && !r->hangup_seen && r->fd >= 0 && hung_up(r->fd);
        if (gone) {
            r->hangup_seen = true;
            atomic_store(&r->peer_gone, true);
        }
        if (due) r->wake_at = 0; /* one-shot: the application sets the next one */
        if (due || gone) http_unsleep_locked(r);
    }
    pthread_mutex_unlock(&s->mu);
}

static void *watch_main(void *arg) {
    http_server *s = arg;
    unsigned tick = 0;
    pthread_mutex_lock(&s->conn_mu);
    while (!s->watch_stop) {
        struct timespec dl;
        clock_gettime(CLOCK_MONOTONIC, &dl);
        dl.tv_nsec += WATCH_TICK_MS * 1000000L;
        if (dl.tv_nsec >= 1000000000L) dl.tv_sec++, dl.tv_nsec -= 1000000000L;
        pthread_cond_timedwait(&s->watch_cv, &s->conn_mu, &dl);
        if (s->watch_stop) break;
        pthread_mutex_unlock(&s->conn_mu);
        uint64_t now = cirrus_now_ns();
        cut_overdue(s, now);
        wake_sleepers(s, now, ++tick % WATCH_PEEK_EVERY == 0);
        pthread_mutex_lock(&s->conn_mu);
    }
    pthread_mutex_unlock(&s->conn_mu);
    return NULL;
}

cirrus_status http_watch_start(http_server *s, cirrus_err *err) {
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->watch_cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&s->watcher, NULL, watch_main, s) != 0) {
        pthread_cond_destroy(&s->watch_cv);
        return cirrus_errf(err, CIRRUS_ERR_NOMEM, "http: cannot start the watcher thread");
    }
    s->watching = true;
    return CIRRUS_OK;
}

void http_watch_stop(http_server *s) {
    if (!s->watching) return;
    pthread_mutex_lock(&s->conn_mu);
    s->watch_stop = true;
    pthread_cond_signal(&s->watch_cv);
    pthread_mutex_unlock(&s->conn_mu);
    pthread_join(s->watcher, NULL);
    pthread_cond_destroy(&s->watch_cv);
    s->watching = false;
}
