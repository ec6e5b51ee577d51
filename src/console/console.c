/*
 * Lookup over the embedded asset table (console_assets.c, generated at build time; see console.h).
 * A few files: a linear scan with exact string comparison, so no request path can name anything
 * that is not in the table.
 */
#include <string.h>

#include "console/console.h"

/* Defined by the generated console_assets.c (count 0 when the console was not built). */
extern const console_asset console_assets_table[];
extern const size_t console_assets_count;

bool console_built(void) { return console_assets_count > 0; }

size_t console_asset_count(void) { return console_assets_count; }

const console_asset *console_find(const char *rel) {
    if (!rel || !*rel) rel = "index.html";
    for (size_t i = 0; i < console_assets_count; i++)
        if (!strcmp(console_assets_table[i].path, rel)) return &console_assets_table[i];
    return NULL;
}
