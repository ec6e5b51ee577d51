/*
 * The one mapping from a failure to its HTTP status and OpenAI error object. Types and codes follow
 * what api.openai.com sends, because SDKs pick their exception class from the status and clients
 * branch on `code` (invalid_api_key, model_not_found, context_length_exceeded...).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "api/api_internal.h"

static const struct {
    int status;
    const char *type, *code;
    cirrus_status st;
    int retry_after; /* 1: send Retry-After */
} k_errors[API_E_KIND_COUNT] = {
    [API_E_INVALID] = {400, "invalid_request_error", NULL, CIRRUS_ERR_INVALID, 0},
    [API_E_UNKNOWN_FIELD] = {400, "invalid_request_error", "unknown_parameter", CIRRUS_ERR_INVALID, 0},
    [API_E_UNSUPPORTED] = {400, "invalid_request_error", "unsupported_parameter", CIRRUS_ERR_UNSUPPORTED, 0},
    [API_E_CONTEXT] = {400, "invalid_request_error", "context_length_exceeded", CIRRUS_ERR_RANGE, 0},
    [API_E_NO_KEY] = {401, "invalid_request_error", NULL, CIRRUS_ERR_INVALID, 0},
    [API_E_BAD_KEY] = {401, "invalid_request_error", "invalid_api_key", CIRRUS_ERR_NOT_FOUND, 0},
    [API_E_FORBIDDEN] = {403, "invalid_request_error", "model_not_permitted", CIRRUS_ERR_INVALID, 0},
    [API_E_NO_ROUTE] = {404, "invalid_request_error", NULL, CIRRUS_ERR_NOT_FOUND, 0},
    [API_E_NO_MODEL] = {404, "invalid_request_error", "model_not_found", CIRRUS_ERR_NOT_FOUND, 0},
    [API_E_METHOD] = {405, "invalid_request_error", "method_not_allowed", CIRRUS_ERR_INVALID, 0},
    [API_E_TOO_LARGE] = {413, "invalid_request_error", "request_too_large", CIRRUS_ERR_RANGE, 0},
    [API_E_HEADERS_TOO_LARGE] = {431, "invalid_request_error", "headers_too_large", CIRRUS_ERR_RANGE, 0},
    [API_E_RATE_LIMIT] = {429, "requests", "rate_limit_exceeded", CIRRUS_ERR_FULL, 1},
    [API_E_INTERNAL] = {500, "server_error", NULL, CIRRUS_ERR_INTERNAL, 0},
    [API_E_OVERLOADED] = {503, "server_error", "overloaded", CIRRUS_ERR_FULL, 1},
    [API_E_LOADING] = {503, "server_error", "model_loading", CIRRUS_ERR_FULL, 1},
};

cirrus_status api_error_make(api_error *e, api_err_kind kind, const char *param, const char *fmt, ...) {
    if ((unsigned)kind >= API_E_KIND_COUNT) kind = API_E_INTERNAL;
    memset(e, 0, sizeof *e);
    e->status = k_errors[kind].status;
    e->type = k_errors[kind].type;
    e->code = k_errors[kind].code;
    e->retry_after_s = k_errors[kind].retry_after ? 1 : 0;
    if (param) snprintf(e->param, sizeof e->param, "%s", param);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return k_errors[kind].st;
}

api_err_kind api_err_kind_of(cirrus_status st) {
    switch (st) {
    case CIRRUS_ERR_FORMAT:
    case CIRRUS_ERR_INVALID: return API_E_INVALID;
    case CIRRUS_ERR_RANGE: return API_E_CONTEXT;
    case CIRRUS_ERR_UNSUPPORTED: return API_E_UNSUPPORTED;
    case CIRRUS_ERR_NOT_FOUND: return API_E_NO_MODEL;
    case CIRRUS_ERR_FULL: return API_E_OVERLOADED;
    case CIRRUS_OK:
    case CIRRUS_ERR_NOMEM:
    case CIRRUS_ERR_IO:
    case CIRRUS_ERR_INTERNAL: break;
    }
    return API_E_INTERNAL;
}

size_t api_error_json(const api_error *e, char *buf, size_t cap) {
    jw w;
    jw_init(&w, 4096);
    jw_obj(&w);
    jw_key(&w, "error");
    jw_obj(&w);
    jw_key(&w, "message");
    jw_cstr(&w, e->message);
    jw_key(&w, "type");
    jw_cstr(&w, e->type ? e->type : "server_error");
    jw_key(&w, "param");
    if (e->param[0]) jw_cstr(&w, e->param);
    else jw_null(&w);
    jw_key(&w, "code");
    jw_cstr(&w, e->code);
    jw_obj_end(&w);
    jw_obj_end(&w);
    size_t need = jw_failed(&w) ? 0 : jw_len(&w);
    if (jw_failed(&w)) { /* 4 KiB always holds 384 + 96 bytes escaped; stay safe anyway */
        static const char fallback[] = "{\"error\":{\"message\":\"internal error\",\"type\":\"server_error\",\"param\":null,\"code\":null}}";
        need = sizeof fallback - 1;
        if (cap) snprintf(buf, cap, "%s", fallback);
    } else if (cap) {
        size_t n = need < cap - 1 ? need : cap - 1;
        memcpy(buf, jw_data(&w), n);
        buf[n] = 0;
    }
    jw_free(&w);
    return need;
}
