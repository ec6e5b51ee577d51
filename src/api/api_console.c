/*
 * GET /console[/...]: the web console's static files, from the table embedded at build time
 * (src/console/console.h says why embedded). No authentication here: the files are the same for
 * everyone and hold no data; the page signs in against the admin API with a key the user types.
 *
 *   /console            308 -> /console/ (so relative URLs resolve under it)
 *   /console/           index.html
 *   /console/assets/F   a content-hashed asset, cached for a year (immutable)
 *   /console/other      index.html when it has no extension (a deep link), else 404
 *
 * Replies carry a strict Content-Security-Policy (scripts and styles from this origin only, no
 * framing): the console shows tenant names and other text that people typed, and the CSP is the
 * second wall behind the front end's never-innerHTML rule. Assets are served gzip-encoded when the
 * client accepts it and the build found it smaller; ETags let a reload cost a 304.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api/api_internal.h"
#include "console/console.h"

#define CONSOLE_CSP                                                                                           \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "     \
    "font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

static void log_console(api *a, http_req *r, const char *id, int status) {
    api_log_rec rec = {.id = id, .method = http_req_method(r), .path = http_req_path(r), .peer = http_req_peer(r),
                       .status = status, .t_start_ns = http_req_start_ns(r), .end_ns = cirrus_now_ns()};
    api_log_request(a, EP_CONSOLE, &rec);
}

static void reply_text(api *a, http_req *r, const char *id, int status, const char *text) {
    http_add_header(r, "Cache-Control", "no-store");
    http_add_header(r, "X-Content-Type-Options", "nosniff");
    http_reply(r, status, "text/plain; charset=utf-8", text, strlen(text));
    log_console(a, r, id, status);
}

/* True when Accept-Encoding lists gzip without q=0 (RFC 9110 12.5.3). */
static bool accepts_gzip(const char *ae) {
    while (ae && *ae) {
        while (*ae == ' ' || *ae == ',') ae++;
        const char *end = strchr(ae, ',');
        size_t n = end ? (size_t)(end - ae) : strlen(ae);
        if (n >= 4 && !strncasecmp(ae, "gzip", 4) && (n == 4 || ae[4] == ';' || ae[4] == ' ')) {
            const char *q = memchr(ae, '=', n);
            /* q=0, q=0.0, q=0.000: refused; any other weight accepts */
            if (!q) return true;
            for (q++; q < ae + n && (*q == '0' || *q == '.' || *q == ' '); q++) {}
            return q < ae + n;
        }
        ae = end;
    }
    return false;
}

void api_console_handle(api *a, http_req *r, const char *id) {
    const char *path = http_req_path(r);
    if (!strcmp(path, "/console")) {
        http_add_header(r, "Location", "/console/");
        http_reply(r, 308, "text/plain; charset=utf-8", "/console/\n", 10);
        log_console(a, r, id, 308);
        return;
    }
    if (strncmp(path, "/console/", 9) != 0) { /* "/consolefoo" matched the route's prefix */
        reply_text(a, r, id, 404, "Not found.\n");
        return;
    }
    if (!console_built()) {
        reply_text(a, r, id, 503,
                   "console not built: this cirrus was compiled without node/npm (or with -DCIRRUS_CONSOLE=OFF).\n"
                   "Install Node.js >= 20.19 and npm, then rebuild to get the web console.\n");
        return;
    }
    const char *rel = path + 9;
    const console_asset *f = console_find(rel);
    /* A deep link (/console/tenants) gets the app; a missing file (/console/x.js) a real 404, so a
     * broken build shows up as an error instead of as HTML parsed as a script. */
    if (!f && !strchr(rel, '.')) f = console_find("");
    if (!f) {
        reply_text(a, r, id, 404, "Not found.\n");
        return;
    }
    const char *inm = http_req_header(r, "If-None-Match");
    bool html = !strncmp(f->type, "text/html", 9);
    http_add_header(r, "Cache-Control", f->immutable ? "public, max-age=31536000, immutable" : "no-cache");
    http_add_header(r, "ETag", f->etag);
    http_add_header(r, "X-Content-Type-Options", "nosniff");
    if (html) {
        http_add_header(r, "Content-Security-Policy", CONSOLE_CSP);
        http_add_header(r, "Referrer-Policy", "no-referrer");
    }
    if (f->gz) http_add_header(r, "Vary", "Accept-Encoding");
    if (inm && strstr(inm, f->etag)) {
        http_reply(r, 304, NULL, "", 0);
        log_console(a, r, id, 304);
        return;
    }
    if (f->gz && accepts_gzip(http_req_header(r, "Accept-Encoding"))) {
        http_add_header(r, "Content-Encoding", "gzip");
        http_reply(r, 200, f->type, (const char *)f->gz, f->gz_len);
    } else {
        http_reply(r, 200, f->type, (const char *)f->data, f->len);
    }
    log_console(a, r, id, 200);
}
