/*
 * libFuzzer target for the two texts the store reads that come from outside a database: the owner
 * line of DB.lock or meta 'owner' (store_owner_parse: a file anyone can edit) and a database URI's
 * masking for messages and logs (store_mask_location: whatever --db was given). The input is the
 * owner line, a NUL, then the location.
 *
 * Checked: a parsed owner has a positive pid and a host without spaces or control bytes, and
 * formats back to a line that parses to the same owner; a masked location is a prefix-preserving
 * rewrite that keeps no password (user:PASSWORD@ in the authority, password=... in the query), and
 * a location that is not a URL comes back unchanged.
 *
 *     CC=clang cmake -S . -B build-fuzz -DCIRRUS_FUZZ=ON && cmake --build build-fuzz --target fuzz_store_text
 *     ./build-fuzz/fuzz_store_text -max_total_time=60 fuzz/corpus/store_text
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_impl.h"

static int hexv(int c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* An independent decoding of a parameter name (as libpq's conninfo_uri_decode does). */
static bool decodes_to_password(const char *p, size_t n) {
    char d[16];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)p[i];
        if (c == '%' && i + 2 < n && hexv(p[i + 1]) >= 0 && hexv(p[i + 2]) >= 0) c = hexv(p[i + 1]) * 16 + hexv(p[i + 2]), i += 2;
        if (k == sizeof d - 1) return false;
        d[k++] = (char)c;
    }
    d[k] = 0;
    return !strcmp(d, "password");
}

static void check_owner(const char *line) {
    store_owner o, back;
    if (!store_owner_parse(line, &o)) return;
    if (o.pid <= 0 || !o.host[0] || strnlen(o.host, sizeof o.host) == sizeof o.host) abort();
    for (const char *p = o.host; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f) abort();
    char again[STORE_HOST_MAX + 96];
    store_owner_format(&o, again, sizeof again);
    if (!store_owner_parse(again, &back) || back.pid != o.pid || back.since != o.since || back.claim != o.claim ||
        strcmp(back.host, o.host))
        abort();
    char who[STORE_HOST_MAX + 96];
    store_owner_describe(&o, who, sizeof who); /* must not crash on any parsed owner */
}

static void check_mask(const char *loc) {
    char out[1024];
    store_mask_location(loc, out, sizeof out);
    if (strnlen(out, sizeof out) == sizeof out) abort();
    if (!store_location_is_url(loc)) {
        if (strlen(loc) < sizeof out && strcmp(out, loc)) abort();
        return;
    }
    if (!store_location_is_url(out)) abort();
    /* the authority's password, if any, is gone (the authority ends at the first '/', as libpq's does) */
    const char *auth = strstr(out, "://") + 3;
    size_t alen = strcspn(auth, "/");
    const char *at = memchr(auth, '@', alen);
    const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
    bool cut = strlen(out) == sizeof out - 1; /* output cut at the buffer's end: the tail may be short */
    if (colon && at - colon > 1 && (at - colon != 4 || memcmp(colon + 1, "***", 3))) abort();
    /* and so is every parameter's value whose name decodes to "password" */
    for (const char *q = strchr(out, '?'); q && *q; q += strcspn(q, "&")) {
        q++;
        const char *eq = q + strcspn(q, "=&");
        if (*eq != '=' || !decodes_to_password(q, (size_t)(eq - q))) continue;
        const char *v = eq + 1;
        size_t vlen = strcspn(v, "&");
        if ((vlen != 3 || memcmp(v, "***", 3)) && !(cut && v + vlen == out + strlen(out))) abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 4096) return 0;
    char *buf = malloc(size + 2);
    if (!buf) return 0;
    memcpy(buf, data, size);
    buf[size] = buf[size + 1] = 0;
    const char *line = buf, *loc = buf + strlen(buf) + 1;
    if (loc > buf + size) loc = buf + size + 1; /* no NUL in the input: an empty location */
    check_owner(line);
    check_mask(loc);
    free(buf);
    return 0;
}
