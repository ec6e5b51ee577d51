/*
 * libFuzzer target for the JSON Schema compiler (src/grammar/json_schema.c, schema_*.c): any
 * JSON text through grm_schema_text_to_gbnf. Checked, beyond no crash / leak / UB: a refusal has
 * a message; what the compiler emits always compiles (a GBNF error here is the compiler's bug,
 * never the schema's), and its random sentences are accepted by the compiled grammar and are
 * JSON that jansson parses.
 *
 *     CC=clang cmake -S . -B build-fuzz -DCIRRUS_FUZZ=ON && cmake --build build-fuzz --target fuzz_json_schema
 *     ./build-fuzz/fuzz_json_schema -max_total_time=60 fuzz/corpus/json_schema
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "grammar/grammar.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *gbnf = NULL;
    cirrus_err err = {{0}};
    grm_schema_opts o;
    grm_schema_opts_default(&o);
    if (size && (data[0] & 1)) o.ws_indent = -1;
    if (size && (data[0] & 2)) o.additional_default = false;
    if (grm_schema_text_to_gbnf((const char *)data, size, &o, &gbnf, &err) != CIRRUS_OK) {
        if (!err.msg[0]) abort();
        return 0;
    }
    grm_grammar *g = NULL;
    if (grm_compile(gbnf, strlen(gbnf), NULL, NULL, &g, &err) != CIRRUS_OK) abort(); /* the compiler emitted bad GBNF */
    for (int k = 0; k < 2; k++) {
        char *s = NULL;
        size_t n = 0;
        if (grm_sample(g, (uint64_t)k + size, 64, 0.3, &s, &n, &err) != CIRRUS_OK) break;
        grm_matcher *m = NULL;
        if (grm_matcher_new(g, &m, &err) == CIRRUS_OK) {
            if (!grm_matcher_accept_bytes(m, s, n) || !grm_matcher_is_complete(m)) abort();
            grm_matcher_free(m);
        }
        json_error_t je;
        json_t *j = json_loadb(s, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
        if (!j) abort(); /* every sentence is JSON */
        json_decref(j);
        free(s);
    }
    grm_release(g);
    free(gbnf);
    return 0;
}
