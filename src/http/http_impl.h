/* Private to src/http: the request and server structs shared by http.c (requests, replies, MHD's
 * callbacks) and http_watch.c (the watcher thread: deadlines, wake-ups at a time, hang-ups). */
#ifndef CIRRUS_HTTP_IMPL_H
#define CIRRUS_HTTP_IMPL_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>

#include "http/http.h"

enum req_state { ST_READING, ST_HANDLING, ST_REPLIED, ST_DEFERRED, ST_STREAMING };

/* What a connection is waiting for, and until when (http_watch.c). */
typedef enum {
    PH_HEAD, /* the request line and headers: header_timeout_s from accept; on a kept-alive
              * connection idle_timeout_s + header_timeout_s from the previous reply's end */
    PH_BODY, /* the body: body_timeout_s from the end of the headers */
    PH_APP,  /* the application has the request: no deadline here (it sets its own) */
} conn_phase;

typedef struct http_conn {
    int fd;
    conn_phase phase;
    uint64_t deadline_ns;          /* 0: none */
    bool cut;                      /* the watcher shut it down */
    struct http_conn *prev, *next; /* srv->conns, under srv->conn_mu */
} http_conn;

struct http_req {
    http_server *srv;
    struct MHD_Connection *conn;
    http_conn *hc;             /* its connection's deadlines; NULL if MHD gave none */
    int fd;
    const char *method, *path; /* owned by MHD for the request's life */
    char *body;
    size_t body_len, body_cap;
    bool overflow, hdr_overflow, aborted;
    enum req_state state;
    uint64_t t_start;
    int status;
    uint64_t body_bytes;
    char peer[64];
    /* guarded by srv->mu (invariant 1) */
    bool sleeping, wake_pending;
    uint64_t wake_at;          /* wake a sleeper then (0: never) */
    bool hangup_seen;          /* the watcher woke it once for a vanished client */
    http_req *sl_prev, *sl_next;
    atomic_bool peer_gone;     /* the watcher saw the client leave while it slept */
    http_resume_fn resume;
    void *resume_ud;
    http_pull_fn pull;
    void *pull_ud;
    http_done_fn done;
    void *done_ud;
    cirrus_buf hdrs;           /* response headers: "name\0value\0" pairs */
};

struct http_server {
    struct MHD_Daemon *d;
    http_config cfg;
    http_handler handler;
    void *app;
    uint16_t port;
    int quiesced_fd;
    bool quiesced;
    atomic_int inflight;
    pthread_mutex_t mu; /* sleepers list, sleeping/wake_pending/wake_at of every request, stopping */
    http_req *sleepers;
    bool stopping;
    /* the watcher (http_watch.c) */
    pthread_mutex_t conn_mu; /* conns, and every http_conn's phase, deadline and cut */
    http_conn *conns;
    int n_conns;
    pthread_t watcher;
    bool watching, watch_stop;
    pthread_cond_t watch_cv; /* under conn_mu: wakes the watcher to stop */
    _Atomic uint64_t cut_head, cut_body;
};

/* Called with srv->mu held: takes r off the sleepers list and resumes it in MHD. */
void http_unsleep_locked(http_req *r);

/* http_watch.c */
cirrus_status http_watch_start(http_server *s, cirrus_err *err);
void http_watch_stop(http_server *s);
/* MHD's connection notifications: a connection opened (its deadline for the first head) or closed. */
void http_conn_opened(http_server *s, struct MHD_Connection *c, void **socket_ctx);
void http_conn_closed(http_server *s, void **socket_ctx);
/* The connection's next phase, on its polling thread. */
void http_conn_phase(http_server *s, http_conn *hc, conn_phase ph);

#endif
