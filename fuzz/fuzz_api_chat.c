/*
 * libFuzzer target for the body parser of POST /v1/chat/completions: any bytes must either parse
 * into a request whose every field is within the documented bounds, or fail with a 4xx OpenAI
 * error whose JSON is well-formed. ASan/UBSan check every string and array the parser hands out.
 *
 *     CC=clang cmake -S . -B build-fuzz -DCIRRUS_FUZZ=ON && cmake --build build-fuzz --target fuzz_api_chat
 *     ./build-fuzz/fuzz_api_chat -max_total_time=30 fuzz/corpus/api_chat
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"

static volatile size_t g_sink;

/* Shared by both API fuzzers: the error is 400/413 with a message, and its JSON parses. */
static void check_error(const api_error *e) {
    if ((e->status != 400 && e->status != 413) || !e->message[0] || !e->type) abort();
    char buf[1024];
    size_t n = api_error_json(e, buf, sizeof buf);
    if (n >= sizeof buf) abort();
    json_t *j = json_loadb(buf, n, 0, NULL);
    if (!j || !json_is_object(json_object_get(j, "error"))) abort();
    json_decref(j);
}

static void check_common(const api_gen_req *r) {
    if (!r->model[0] || strlen(r->model) >= API_MODEL_NAME_MAX) abort();
    if (r->n < 1 || r->n > API_MAX_CHOICES) abort();
    if (r->max_tokens != -1 && (r->max_tokens < 1 || r->max_tokens > API_MAX_TOKENS_LIMIT)) abort();
    if (r->n_stops < 0 || r->n_stops > SMP_MAX_STOPS) abort();
    for (int i = 0; i < r->n_stops; i++) {
        size_t l = strlen(r->stops[i]);
        if (l == 0 || l > SMP_MAX_STOP_LEN) abort();
    }
    if (r->sp.n_bias > API_MAX_BIAS) abort();
    for (size_t i = 0; i < r->sp.n_bias; i++)
        if (r->sp.bias[i].id < 0 || !(r->sp.bias[i].bias >= -100 && r->sp.bias[i].bias <= 100)) abort();
    if (!(r->sp.temperature >= 0 && r->sp.temperature <= 2) || !(r->sp.top_p >= 0 && r->sp.top_p <= 1)) abort();
    if (r->top_logprobs < 0 || r->top_logprobs > SMP_MAX_TOP_LOGPROBS) abort();
    if (r->include_usage && !r->stream) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    api_gen_req r;
    api_error e;
    if (api_parse_chat((const char *)data, size, &r, &e) != CIRRUS_OK) {
        check_error(&e);
        return 0;
    }
    check_common(&r);
    if (r.kind != API_CHAT || r.n_msgs < 1 || r.n_msgs > API_MAX_MESSAGES) abort();
    size_t h = 0;
    for (size_t i = 0; i < r.n_msgs; i++) {
        const char *role = r.msgs[i].role;
        if (strcmp(role, "system") && strcmp(role, "user") && strcmp(role, "assistant")) abort();
        h += strlen(r.msgs[i].content);
    }
    g_sink = h;
    api_gen_req_free(&r);
    return 0;
}
