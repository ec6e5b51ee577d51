/*
 * The embedded console table (src/console): whatever the build embedded is self-consistent —
 * index.html is there and every asset it names is too, gzip copies are gzip and smaller, ETags are
 * quoted, hashed assets are cacheable forever and index.html is not — and lookups are exact, so no
 * request path reaches anything outside the table. Without a console build (no node) the table is
 * empty and only the lookups are checked.
 */
#include <string.h>

#include "check.h"
#include "console/console.h"

int main(void) {
    CHECK(console_find("../etc/passwd") == NULL);
    CHECK(console_find("assets/") == NULL);
    CHECK(console_find("/index.html") == NULL); /* relative paths only: the route strips /console/ */
    if (!console_built()) {
        CHECK(console_asset_count() == 0);
        CHECK(console_find("") == NULL);
        printf("test_console: console not built into this binary; table checks skipped\n");
        return check_done("test_console");
    }
    const console_asset *index = console_find("");
    CHECK(index != NULL && index == console_find("index.html") && index == console_find(NULL));
    if (!index) return check_done("test_console");
    CHECK(!strncmp(index->type, "text/html", 9));
    CHECK(!index->immutable);

    /* every /console/... URL in index.html is in the table */
    char html[8192];
    size_t n = index->len < sizeof html - 1 ? index->len : sizeof html - 1;
    memcpy(html, index->data, n);
    html[n] = 0;
    int refs = 0;
    for (const char *p = strstr(html, "\"/console/"); p; p = strstr(p + 1, "\"/console/")) {
        const char *start = p + strlen("\"/console/"), *end = strchr(start, '"');
        if (!end || end == start) continue;
        char rel[256];
        snprintf(rel, sizeof rel, "%.*s", (int)(end - start), start);
        CHECK_MSG(console_find(rel) != NULL, "index.html names %s, which is not embedded", rel);
        refs++;
    }
    CHECK_MSG(refs >= 2, "index.html names %d assets (a script and a stylesheet expected)", refs);

    size_t checked = 0;
    /* each asset index.html names: its cache policy, ETag and gzip copy */
    for (const char *p = strstr(html, "\"/console/"); p; p = strstr(p + 1, "\"/console/")) {
        const char *start = p + strlen("\"/console/"), *end = strchr(start, '"');
        char rel[256];
        snprintf(rel, sizeof rel, "%.*s", (int)(end ? end - start : 0), start);
        const console_asset *f = console_find(rel);
        if (!f) continue;
        checked++;
        CHECK_MSG(f->immutable == !strncmp(rel, "assets/", 7), "%s: immutable only under assets/", rel);
        CHECK_MSG(f->etag[0] == '"' && f->etag[strlen(f->etag) - 1] == '"', "%s: ETag must be quoted", rel);
        CHECK_MSG(f->len > 0, "%s is empty", rel);
        if (f->gz) {
            CHECK_MSG(f->gz_len < f->len, "%s: gzip copy not smaller", rel);
            CHECK_MSG(f->gz_len > 2 && f->gz[0] == 0x1f && f->gz[1] == 0x8b, "%s: gzip copy is not gzip", rel);
        }
    }
    CHECK(checked >= 2);
    return check_done("test_console");
}
