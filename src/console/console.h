/*
 * console — the web console's built assets, embedded into the binary at build time.
 *
 * Why embedded rather than read from a directory: `cirrus serve` stays one file that needs nothing
 * next to it (no path to get wrong in a deployment, no way for the served files and the binary to
 * drift apart, no file-system access from an HTTP handler and so no path traversal to defend). The
 * price is a rebuild to change the console, which is the same release as the API it talks to.
 *
 * The build (console.cmake) runs `npm ci` when the lockfile changed and `vite build` into the
 * build tree, then scripts/embed.mjs writes console_assets.c: one console_asset per file, with a
 * gzip copy where it is smaller and a content hash for ETag. Without node/npm (or with
 * -DCIRRUS_CONSOLE=OFF) the table is empty and the console answers 503 "console not built".
 */
#ifndef CIRRUS_CONSOLE_H
#define CIRRUS_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    const char *path;               /* relative to /console/: "index.html", "assets/index-1a2b.js" */
    const char *type;               /* Content-Type */
    const unsigned char *data;
    size_t len;
    const unsigned char *gz;        /* gzip of data, NULL when it would not be smaller */
    size_t gz_len;
    const char *etag;               /* quoted strong ETag of data */
    bool immutable;                 /* content-hashed name: cache for a year */
} console_asset;

/* True when the console was built into this binary. */
bool console_built(void);
size_t console_asset_count(void);
/* The asset at rel (a path below /console/, no leading slash; "" is index.html), or NULL. */
const console_asset *console_find(const char *rel);

#endif
