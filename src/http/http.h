/*
 * http — the HTTP/1.1 server glue: connections, limits, timeouts, replies that come later, and
 * streamed (SSE) bodies. It knows nothing of models, tenants, JSON or SQL: a request is a method, a
 * path, headers and a body; the application answers it through one handler.
 *
 * Why libmicrohttpd: it is a Debian-packaged, mature HTTP/1.1 server library whose one job is what
 * we need here — keep-alive, chunked responses, request size and connection limits, inactivity
 * timeouts — with an internal epoll event loop (a few threads serve thousands of idle
 * connections) and suspend/resume, so a streaming response waits for its next token without holding
 * a thread. Alternatives: libevent's evhttp (weaker limits, no per-connection memory bound), h2o /
 * nghttp2 (HTTP/2 we do not need, far larger), or writing our own parser (a CVE farm).
 *
 * Thread model: `threads` polling threads, each an epoll loop over its share of the connections.
 * Handlers run on those threads and must never block: the application replies at once, or defers
 * (http_defer) / streams (http_reply_stream) and calls http_wake() from any thread when it has
 * something to say. A request that has nothing to say is *suspended* (taken out of epoll) until
 * woken, so an idle stream costs no CPU and no thread. We chose suspend/resume over a short bounded
 * wait inside the content callback because a wait blocks every other connection of that polling
 * thread; the price is the sleep/wake race, closed by a wake_pending flag (see http.c).
 *
 * Limits: bodies over max_body get the handler with http_req_overflow() true and no body (the
 * application answers 413; when Content-Length announces it, before reading a byte of it); a request
 * line and headers over max_header get the handler with http_req_headers_overflow() (431), and
 * far larger ones are refused by the library itself; connections past max_connections, or past
 * per_ip_connections from one address, are refused at accept.
 *
 * Time limits. MHD's own timeout is per inactivity (idle_timeout_s), and a client that trickles a
 * byte now and then never trips it (slowloris). So every connection also has deadlines that bytes
 * do not extend, enforced by a watcher thread (http_watch.c): the request line and headers must be
 * complete header_timeout_s after accept (on a kept-alive connection: idle_timeout_s +
 * header_timeout_s after the previous reply), the body body_timeout_s after the headers. Once the
 * handler has the request there is no deadline from http: generation takes what it takes, and the
 * application sets its own (http_wake_at). A connection past a deadline is closed without a reply.
 *
 * Suspended requests are outside MHD's event loop, so MHD does not see their client leave; the
 * watcher peeks at each sleeper's socket a few times a second and wakes it once when the client
 * has gone (http_req_peer_closed is then true -- or MHD, reading the end first, ends the request and
 * its done callback says so), so queued work for a vanished client is cancelled before it ever
 * reaches a token.
 *
 * Lifetime of a request: created when its headers arrive; the handler runs once the body is
 * complete; exactly one reply; the done callback (http_on_done) runs once when the connection has
 * finished with it — sent, client gone, timed out or shut down — and r is invalid afterwards.
 */
#ifndef CIRRUS_HTTP_H
#define CIRRUS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

typedef struct http_server http_server;
typedef struct http_req http_req;

typedef struct {
    const char *host;          /* numeric IPv4/IPv6 address or "localhost"; default 127.0.0.1 */
    uint16_t port;             /* 0: any free port (http_server_port says which) */
    uint32_t threads;          /* polling threads, >= 1 */
    uint32_t max_connections;  /* open connections, idle keep-alive ones included */
    uint32_t per_ip_connections; /* from one client address (default 64); 0: no limit (behind a proxy) */
    uint32_t idle_timeout_s;   /* close a connection silent this long; 0: never (not advised) */
    uint32_t header_timeout_s; /* request line + headers complete within this (default 10); 0: none */
    uint32_t body_timeout_s;   /* body complete within this after the headers (default 60); 0: none */
    size_t max_body;           /* request body bytes; more -> handler sees overflow (413) */
    size_t max_header;         /* per-connection buffer for the request line and headers */
} http_config;

void http_config_default(http_config *c);

/* Runs on a polling thread when a request is complete (or overflowed). It must call exactly one
 * of http_reply, http_reply_stream or http_defer before returning, and must not block. */
typedef void (*http_handler)(void *app, http_req *r);

cirrus_status http_server_start(const http_config *cfg, http_handler h, void *app, http_server **out,
                                cirrus_err *err);
uint16_t http_server_port(const http_server *s);
/* Requests between arrival and done. */
int http_server_inflight(const http_server *s);
/* Stops accepting connections; established ones keep being served. Idempotent. */
void http_server_quiesce(http_server *s);
/* Quiesces, waits until every request is done or deadline_ns (cirrus_now_ns clock) passes, then
 * ends what is left (suspended replies get a bare 503, streams are cut) and frees the server. */
void http_server_stop(http_server *s, uint64_t deadline_ns);

/* ---- the request (valid from the handler until its done callback) ------------------------- */

const char *http_req_method(const http_req *r);
const char *http_req_path(const http_req *r);            /* without the query string */
const char *http_req_header(const http_req *r, const char *name); /* case-insensitive; NULL if absent */
/* A query-string argument, URL-decoded; NULL if absent or given without a value ("?name"). */
const char *http_req_arg(const http_req *r, const char *name);
/* The body, NUL-terminated (it may still contain NUL bytes: use len). NULL, 0 when empty. */
const char *http_req_body(const http_req *r, size_t *len);
bool http_req_overflow(const http_req *r);                /* body exceeded max_body */
bool http_req_headers_overflow(const http_req *r);        /* request line + headers exceeded max_header */
uint64_t http_req_start_ns(const http_req *r);            /* when its headers arrived */
const char *http_req_peer(const http_req *r);              /* client address, for logs */
/* True if the client has closed its end (a non-blocking peek reads EOF or an error, or the watcher
 * saw it while the request slept and woke it for that). A deferred request sleeps outside the
 * event loop, where MHD cannot see a disconnect: the application asks this on each wake-up so an
 * abandoned request is cancelled instead of generated to the end. */
bool http_req_peer_closed(const http_req *r);

/* ---- answering: only on a polling thread, from the handler or a resume callback ------------ */

/* Adds a response header (name and value copied). Never dropped silently: INVALID for a name that
 * is not an HTTP token or a value with CR/LF (no header injection), FULL past 16 KiB of headers in
 * all; either is logged, naming the header. */
cirrus_status http_add_header(http_req *r, const char *name, const char *value);
/* The whole reply at once; body is copied. */
cirrus_status http_reply(http_req *r, int status, const char *content_type, const char *body, size_t len);

/* A streamed body (chunked). pull fills buf with up to cap bytes and returns the count (> 0), or: */
#define HTTP_PULL_AGAIN 0   /* nothing ready: the connection sleeps until http_wake */
#define HTTP_PULL_END (-1)  /* the body is complete */
#define HTTP_PULL_ABORT (-2) /* cut the connection (the client sees a truncated body) */
typedef long (*http_pull_fn)(void *ud, char *buf, size_t cap);
cirrus_status http_reply_stream(http_req *r, int status, const char *content_type, http_pull_fn pull,
                                void *ud);

/* Answer later: the handler returns without replying; after http_wake, resume(ud, r) runs on the
 * request's polling thread and must again reply or defer. */
typedef void (*http_resume_fn)(void *ud, http_req *r);
void http_defer(http_req *r, http_resume_fn resume, void *ud);

/* From any thread: the deferred request or stream has news. Cheap; never blocks on the network.
 * Not after the request's done callback has started (the application guards that). */
void http_wake(http_req *r);
/* On the request's thread, before it defers or its pull returns AGAIN: if it still sleeps at
 * deadline_ns (cirrus_now_ns clock; ~0.1 s resolution) it is woken then, as by http_wake. One-shot:
 * it fires once; 0 clears it. For replies that wait on something without a wake of its own. */
void http_wake_at(http_req *r, uint64_t deadline_ns);

typedef enum {
    HTTP_DONE_OK,          /* the reply was sent completely */
    HTTP_DONE_CLIENT_GONE, /* the client closed or reset the connection before the end */
    HTTP_DONE_TIMEOUT,     /* idle timeout */
    HTTP_DONE_ABORTED,     /* the stream aborted, or the server stopped before the reply ended */
} http_done_reason;

typedef struct {
    int status;            /* HTTP status sent (0 if no reply was queued) */
    http_done_reason reason;
    uint64_t body_bytes;   /* streamed bytes handed to the connection (0 for whole replies) */
} http_done_info;

/* done(ud, r, info) runs once when the connection has finished with r, on a polling thread. */
typedef void (*http_done_fn)(void *ud, http_req *r, const http_done_info *info);
void http_on_done(http_req *r, http_done_fn done, void *ud);

/* ---- SSE framing ---------------------------------------------------------------------------- */

/*
 * Frames one server-sent event: every line of data becomes "data: LINE\n" and a blank line ends
 * the event ("data: {...}\n\n"). Writes at most cap bytes and returns the length the frame needs
 * (like snprintf): a return > cap means nothing useful was written. data may not contain NUL.
 */
size_t http_sse_frame(const char *data, size_t len, char *out, size_t cap);

#endif
