/*
 * libFuzzer target for the body parser of POST /v1/completions: any bytes either parse into a
 * request within the documented bounds (one prompt: text or token ids) or fail with a 4xx OpenAI
 * error whose JSON is well-formed.
 *
 *     CC=clang cmake -S . -B build-fuzz -DCIRRUS_FUZZ=ON && cmake --build build-fuzz --target fuzz_api_completions
 *     ./build-fuzz/fuzz_api_completions -max_total_time=30 fuzz/corpus/api_completions
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"

static volatile size_t g_sink;

static void check_error(const api_error *e) {
    if ((e->status != 400 && e->status != 413) || !e->message[0] || !e->type) abort();
    char buf[1024];
    size_t n = api_error_json(e, buf, sizeof buf);
    if (n >= sizeof buf) abort();
    json_t *j = json_loadb(buf, n, 0, NULL);
    if (!j || !json_is_object(json_object_get(j, "error"))) abort();
    json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    api_gen_req r;
    api_error e;
    if (api_parse_completion((const char *)data, size, &r, &e) != CIRRUS_OK) {
        check_error(&e);
        return 0;
    }
    if (r.kind != API_COMPLETION || !r.model[0] || r.n < 1 || r.n > API_MAX_CHOICES || r.echo) abort();
    if (!r.prompt == !r.n_prompt_ids) abort(); /* exactly one form of prompt */
    if (r.prompt && strlen(r.prompt) != r.prompt_len) abort();
    size_t h = 0;
    for (size_t i = 0; i < r.n_prompt_ids; i++) {
        if (r.prompt_ids[i] < 0) abort();
        h += (size_t)r.prompt_ids[i];
    }
    if (r.max_tokens != -1 && (r.max_tokens < 1 || r.max_tokens > API_MAX_TOKENS_LIMIT)) abort();
    if (r.n_stops > SMP_MAX_STOPS || r.sp.n_bias > API_MAX_BIAS || r.top_logprobs < 0 || r.top_logprobs > 5) abort();
    for (int i = 0; i < r.n_stops; i++) h += strlen(r.stops[i]);
    for (size_t i = 0; i < r.sp.n_bias; i++) h += (size_t)r.sp.bias[i].id;
    g_sink = h;
    api_gen_req_free(&r);
    return 0;
}
