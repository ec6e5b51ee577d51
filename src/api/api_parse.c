/*
 * Request bodies of /v1/chat/completions and /v1/completions -> api_gen_req.
 *
 * Untrusted bytes: every field is type- and range-checked and a failure names it (param), in
 * OpenAI's wording where OpenAI has one. A field we do not know is a 400 ("Unrecognized request
 * argument supplied"), a field OpenAI has but we do not implement is a 400 that says so — never a
 * silent ignore, since a client relying on `tools` or `response_format` must learn it got neither.
 * JSON null means "not given", as OpenAI treats it.
 *
 * Strings are copied into the request's arena (bounded by the body size) and the JSON tree is
 * freed before returning, so a parsed request holds one allocation chain.
 *
 * Text is bytes with a length, never a C string on the way: any string the API can return --
 * "\u0000" and other control characters, U+FFFD where output bytes were not UTF-8 -- comes back
 * in a prompt or a message with the same bytes (#18, fault 12). Where a NUL cannot mean anything
 * (a model name, a role, a stop sequence matched as a C string by the sampler) it is a 400 that
 * says so, never a string silently cut at it.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "api/api_internal.h"

typedef struct {
    api_gen_req *r;
    api_error *e;
} pctx;

static const char *type_name(const json_t *v) {
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "a value";
}

static cirrus_status bad_type(pctx *c, const char *param, const char *want, const json_t *v) {
    return api_error_make(c->e, API_E_INVALID, param, "Invalid type for '%s': expected %s, but got %s instead.",
                          param, want, type_name(v));
}

static cirrus_status get_int(pctx *c, const char *param, const json_t *v, int64_t lo, int64_t hi, int64_t *out) {
    if (!json_is_integer(v)) return bad_type(c, param, "an integer", v);
    json_int_t x = json_integer_value(v);
    if (x < lo || x > hi)
        return api_error_make(c->e, API_E_INVALID, param, "Invalid '%s': expected an integer in [%lld, %lld], but got %lld instead.",
                              param, (long long)lo, (long long)hi, (long long)x);
    *out = x;
    return CIRRUS_OK;
}

static cirrus_status get_num(pctx *c, const char *param, const json_t *v, double lo, double hi, float *out) {
    if (!json_is_number(v)) return bad_type(c, param, "a number", v);
    double x = json_number_value(v);
    if (!(x >= lo && x <= hi))
        return api_error_make(c->e, API_E_INVALID, param, "Invalid '%s': expected a number in [%g, %g], but got %g instead.",
                              param, lo, hi, x);
    *out = (float)x;
    return CIRRUS_OK;
}

static cirrus_status get_bool(pctx *c, const char *param, const json_t *v, bool *out) {
    if (!json_is_boolean(v)) return bad_type(c, param, "a boolean", v);
    *out = json_is_true(v);
    return CIRRUS_OK;
}

static cirrus_status nomem(pctx *c) {
    return api_error_make(c->e, API_E_TOO_LARGE, NULL, "The request is too large to process.");
}

static cirrus_status copy_str(pctx *c, const json_t *v, const char **out, size_t *len) {
    size_t n = json_string_length(v);
    char *s = cirrus_arena_strndup(&c->r->arena, json_string_value(v), n);
    if (!s) return nomem(c);
    *out = s;
    if (len) *len = n;
    return CIRRUS_OK;
}

/* A string whose value is a name or a keyword: a NUL in it would cut it short, silently. */
static bool has_nul(const json_t *v) { return memchr(json_string_value(v), 0, json_string_length(v)) != NULL; }

static cirrus_status nul_refused(pctx *c, const char *param) {
    return api_error_make(c->e, API_E_INVALID, param, "Invalid '%s': it contains a NUL character (\\u0000), which it cannot hold.", param);
}

static cirrus_status parse_model(pctx *c, const json_t *v) {
    if (!json_is_string(v)) return bad_type(c, "model", "a string", v);
    if (has_nul(v)) return nul_refused(c, "model");
    size_t n = json_string_length(v);
    if (n == 0 || n >= API_MODEL_NAME_MAX)
        return api_error_make(c->e, API_E_INVALID, "model", "Invalid 'model': expected 1 to %d characters.", API_MODEL_NAME_MAX - 1);
    memcpy(c->r->model, json_string_value(v), n + 1);
    return CIRRUS_OK;
}

/* content: a string, or an array of {"type":"text","text":...} parts joined by newlines. */
static cirrus_status parse_content(pctx *c, size_t i, const json_t *v, const char **out, size_t *len) {
    char param[96];
    snprintf(param, sizeof param, "messages[%zu].content", i);
    if (json_is_string(v)) return copy_str(c, v, out, len);
    if (!json_is_array(v)) return bad_type(c, param, "a string or an array of content parts", v);
    size_t total = 0, np = json_array_size(v);
    for (size_t j = 0; j < np; j++) {
        const json_t *part = json_array_get(v, j);
        char pp[96];
        snprintf(pp, sizeof pp, "messages[%zu].content[%zu]", i, j);
        if (!json_is_object(part)) return bad_type(c, pp, "an object", part);
        const char *k;
        json_t *pv;
        const json_t *text = NULL, *type = NULL;
        json_object_foreach((json_t *)part, k, pv) {
            if (!strcmp(k, "type")) type = pv;
            else if (!strcmp(k, "text")) text = pv;
            else {
                snprintf(pp, sizeof pp, "messages[%zu].content[%zu].%s", i, j, k);
                return api_error_make(c->e, API_E_UNKNOWN_FIELD, pp, "Unrecognized request argument supplied: %s", pp);
            }
        }
        snprintf(pp, sizeof pp, "messages[%zu].content[%zu].type", i, j);
        if (!type || !json_is_string(type))
            return api_error_make(c->e, API_E_INVALID, pp, "Missing required parameter: '%s'.", pp);
        if (has_nul(type)) return nul_refused(c, pp);
        if (strcmp(json_string_value(type), "text") != 0)
            return api_error_make(c->e, API_E_UNSUPPORTED, pp, "Content parts of type '%s' are not supported by this server; only 'text'.",
                                  json_string_value(type));
        snprintf(pp, sizeof pp, "messages[%zu].content[%zu].text", i, j);
        if (!text || !json_is_string(text)) return text ? bad_type(c, pp, "a string", text)
                                                        : api_error_make(c->e, API_E_INVALID, pp, "Missing required parameter: '%s'.", pp);
        total += json_string_length(text) + 1;
    }
    char *s = cirrus_arena_alloc(&c->r->arena, total + 1);
    if (!s) return nomem(c);
    size_t at = 0;
    for (size_t j = 0; j < np; j++) {
        const json_t *text = json_object_get(json_array_get(v, j), "text");
        size_t n = json_string_length(text);
        if (j) s[at++] = '\n';
        memcpy(s + at, json_string_value(text), n);
        at += n;
    }
    s[at] = 0;
    *out = s;
    *len = at;
    return CIRRUS_OK;
}

static cirrus_status parse_messages(pctx *c, const json_t *v) {
    if (!json_is_array(v)) return bad_type(c, "messages", "an array", v);
    size_t n = json_array_size(v);
    if (n == 0) return api_error_make(c->e, API_E_INVALID, "messages", "Invalid 'messages': empty array. Expected an array with minimum length 1.");
    if (n > API_MAX_MESSAGES)
        return api_error_make(c->e, API_E_INVALID, "messages", "Invalid 'messages': at most %d messages.", API_MAX_MESSAGES);
    c->r->msgs = cirrus_arena_alloc(&c->r->arena, n * sizeof *c->r->msgs);
    c->r->msg_lens = cirrus_arena_alloc(&c->r->arena, n * sizeof *c->r->msg_lens);
    if (!c->r->msgs || !c->r->msg_lens) return nomem(c);
    for (size_t i = 0; i < n; i++) {
        const json_t *m = json_array_get(v, i);
        char param[96];
        snprintf(param, sizeof param, "messages[%zu]", i);
        if (!json_is_object(m)) return bad_type(c, param, "an object", m);
        const json_t *role = NULL, *content = NULL;
        const char *k;
        json_t *mv;
        json_object_foreach((json_t *)m, k, mv) {
            snprintf(param, sizeof param, "messages[%zu].%s", i, k);
            if (!strcmp(k, "role")) role = mv;
            else if (!strcmp(k, "content")) content = mv;
            else if (!strcmp(k, "name")) {
                if (!json_is_string(mv)) return bad_type(c, param, "a string", mv);
            } else if (!strcmp(k, "refusal")) {
                if (!json_is_null(mv)) return api_error_make(c->e, API_E_UNSUPPORTED, param, "'%s' is not supported by this server.", param);
            } else if (!strcmp(k, "tool_calls") || !strcmp(k, "tool_call_id") || !strcmp(k, "function_call") ||
                       !strcmp(k, "audio")) {
                return api_error_make(c->e, API_E_UNSUPPORTED, param, "'%s' is not supported by this server (no tool calling).", param);
            } else {
                return api_error_make(c->e, API_E_UNKNOWN_FIELD, param, "Unrecognized request argument supplied: %s", param);
            }
        }
        snprintf(param, sizeof param, "messages[%zu].role", i);
        if (!role) return api_error_make(c->e, API_E_INVALID, param, "Missing required parameter: '%s'.", param);
        if (!json_is_string(role)) return bad_type(c, param, "a string", role);
        if (has_nul(role)) return nul_refused(c, param);
        const char *rs = json_string_value(role), *norm;
        if (!strcmp(rs, "system") || !strcmp(rs, "developer")) norm = "system";
        else if (!strcmp(rs, "user")) norm = "user";
        else if (!strcmp(rs, "assistant")) norm = "assistant";
        else if (!strcmp(rs, "tool") || !strcmp(rs, "function"))
            return api_error_make(c->e, API_E_UNSUPPORTED, param, "Messages with role '%s' are not supported by this server (no tool calling).", rs);
        else
            return api_error_make(c->e, API_E_INVALID, param,
                                  "Invalid value for '%s': supported values are 'system', 'developer', 'user' and 'assistant'.", param);
        snprintf(param, sizeof param, "messages[%zu].content", i);
        if (!content || json_is_null(content))
            return api_error_make(c->e, API_E_INVALID, param, "Missing required parameter: '%s'.", param);
        c->r->msgs[i].role = norm;
        cirrus_status st = parse_content(c, i, content, &c->r->msgs[i].content, &c->r->msg_lens[i]);
        if (st) return st;
    }
    c->r->n_msgs = n;
    return CIRRUS_OK;
}

static cirrus_status parse_stop(pctx *c, const json_t *v) {
    const json_t *one[1] = {v};
    const json_t *const *items = one;
    size_t n = 1;
    json_t *arr[SMP_MAX_STOPS];
    if (json_is_array(v)) {
        n = json_array_size(v);
        if (n > SMP_MAX_STOPS)
            return api_error_make(c->e, API_E_INVALID, "stop", "Invalid 'stop': at most %d stop sequences, got %zu.", SMP_MAX_STOPS, n);
        for (size_t i = 0; i < n; i++) arr[i] = json_array_get(v, i);
        items = (const json_t *const *)arr;
    } else if (!json_is_string(v)) {
        return bad_type(c, "stop", "a string or an array of strings", v);
    }
    for (size_t i = 0; i < n; i++) {
        char param[32];
        if (json_is_array(v)) snprintf(param, sizeof param, "stop[%zu]", i);
        else snprintf(param, sizeof param, "stop");
        if (!json_is_string(items[i])) return bad_type(c, param, "a string", items[i]);
        size_t len = json_string_length(items[i]);
        if (has_nul(items[i])) return nul_refused(c, param); /* the sampler matches stops as C strings */
        if (len == 0 || len > SMP_MAX_STOP_LEN)
            return api_error_make(c->e, API_E_INVALID, param, "Invalid '%s': a stop sequence has 1 to %d bytes.", param, SMP_MAX_STOP_LEN);
        cirrus_status st = copy_str(c, items[i], &c->r->stops[c->r->n_stops], NULL);
        if (st) return st;
        c->r->n_stops++;
    }
    return CIRRUS_OK;
}

static cirrus_status parse_bias(pctx *c, const json_t *v) {
    if (!json_is_object(v)) return bad_type(c, "logit_bias", "an object", v);
    size_t n = json_object_size(v);
    if (n > API_MAX_BIAS)
        return api_error_make(c->e, API_E_INVALID, "logit_bias", "Invalid 'logit_bias': at most %d entries, got %zu.", API_MAX_BIAS, n);
    smp_bias *b = n ? cirrus_arena_alloc(&c->r->arena, n * sizeof *b) : NULL;
    if (n && !b) return nomem(c);
    size_t i = 0;
    const char *k;
    json_t *bv;
    json_object_foreach((json_t *)v, k, bv) {
        char param[96];
        snprintf(param, sizeof param, "logit_bias.%.60s", k);
        int64_t id = 0;
        size_t kl = strlen(k);
        bool ok = kl >= 1 && kl <= 10;
        for (size_t j = 0; ok && j < kl; j++) ok = k[j] >= '0' && k[j] <= '9';
        if (ok) for (size_t j = 0; j < kl; j++) id = id * 10 + (k[j] - '0');
        if (!ok || id > INT32_MAX)
            return api_error_make(c->e, API_E_INVALID, "logit_bias",
                                  "Invalid key in 'logit_bias': '%.60s' is not a token id (a non-negative integer).", k);
        float x = 0;
        cirrus_status st = get_num(c, param, bv, -100, 100, &x);
        if (st) return st;
        b[i].id = (int32_t)id;
        b[i].bias = x;
        i++;
    }
    c->r->sp.bias = b;
    c->r->sp.n_bias = n;
    return CIRRUS_OK;
}

/* prompt: a string, [string], [int...] or [[int...]]: one prompt. Batches are a 400. */
static cirrus_status parse_prompt(pctx *c, const json_t *v) {
    if (json_is_string(v)) return copy_str(c, v, &c->r->prompt, &c->r->prompt_len);
    if (!json_is_array(v)) return bad_type(c, "prompt", "a string or an array", v);
    size_t n = json_array_size(v);
    if (n == 0) return api_error_make(c->e, API_E_INVALID, "prompt", "Invalid 'prompt': empty array.");
    const json_t *first = json_array_get(v, 0);
    if (json_is_string(first) || json_is_array(first)) {
        if (n > 1)
            return api_error_make(c->e, API_E_UNSUPPORTED, "prompt", "Batched prompts (an array of %zu prompts) are not supported by this server; send one prompt per request.", n);
        if (json_is_string(first)) return copy_str(c, first, &c->r->prompt, &c->r->prompt_len);
        v = first;
        n = json_array_size(v);
        if (n == 0) return api_error_make(c->e, API_E_INVALID, "prompt[0]", "Invalid 'prompt[0]': empty array.");
    }
    if (n > API_MAX_TOKENS_LIMIT) return api_error_make(c->e, API_E_INVALID, "prompt", "Invalid 'prompt': too many tokens.");
    c->r->prompt_ids = cirrus_arena_alloc(&c->r->arena, n * sizeof *c->r->prompt_ids);
    if (!c->r->prompt_ids) return nomem(c);
    for (size_t i = 0; i < n; i++) {
        char param[32];
        snprintf(param, sizeof param, "prompt[%zu]", i);
        int64_t id;
        cirrus_status st = get_int(c, param, json_array_get(v, i), 0, INT32_MAX, &id);
        if (st) return st;
        c->r->prompt_ids[i] = (int32_t)id;
    }
    c->r->n_prompt_ids = n;
    return CIRRUS_OK;
}

static cirrus_status parse_stream_options(pctx *c, const json_t *v) {
    if (!json_is_object(v)) return bad_type(c, "stream_options", "an object", v);
    const char *k;
    json_t *sv;
    json_object_foreach((json_t *)v, k, sv) {
        char param[96];
        snprintf(param, sizeof param, "stream_options.%.60s", k);
        if (!strcmp(k, "include_usage")) {
            if (json_is_null(sv)) continue;
            cirrus_status st = get_bool(c, param, sv, &c->r->include_usage);
            if (st) return st;
        } else {
            return api_error_make(c->e, API_E_UNKNOWN_FIELD, param, "Unrecognized request argument supplied: %s", param);
        }
    }
    return CIRRUS_OK;
}

/* Fields OpenAI defines that this server does not implement: a 400 that says so. */
static const char *const k_unsupported_chat[] = {
    "tools", "tool_choice", "functions", "function_call", "parallel_tool_calls", "audio", "modalities",
    "prediction", "reasoning_effort", "service_tier", "metadata", "web_search_options", "response_format", "store",
    NULL};
static const char *const k_unsupported_cmpl[] = {"best_of", "suffix", "echo", NULL};

static bool in_list(const char *const *l, const char *k) {
    for (; *l; l++)
        if (!strcmp(*l, k)) return true;
    return false;
}

/* A few "unsupported" fields are fine at their neutral value (SDKs send them that way). */
static bool neutral_value(const api_gen_req *r, const char *k, const json_t *v) {
    if (!strcmp(k, "store") || !strcmp(k, "echo") || !strcmp(k, "parallel_tool_calls")) return json_is_false(v) || (!strcmp(k, "parallel_tool_calls") && json_is_true(v));
    if (!strcmp(k, "suffix")) return json_is_string(v) && json_string_length(v) == 0;
    if (!strcmp(k, "best_of")) return json_is_integer(v) && json_integer_value(v) >= 1 && json_integer_value(v) == r->n;
    if (!strcmp(k, "response_format")) {
        const json_t *t = json_is_object(v) ? json_object_get(v, "type") : NULL;
        return json_object_size(v) == 1 && json_is_string(t) && !strcmp(json_string_value(t), "text");
    }
    if (!strcmp(k, "metadata")) return json_is_object(v) && json_object_size(v) == 0;
    return false;
}

static cirrus_status parse_field(pctx *c, const char *k, const json_t *v) {
    api_gen_req *r = c->r;
    bool chat = r->kind == API_CHAT;
    int64_t i;
    cirrus_status st = CIRRUS_OK;
    if (!strcmp(k, "model")) return parse_model(c, v);
    if (chat && !strcmp(k, "messages")) return parse_messages(c, v);
    if (!chat && !strcmp(k, "prompt")) return parse_prompt(c, v);
    if (json_is_null(v) && strcmp(k, "messages") != 0 && strcmp(k, "prompt") != 0) return CIRRUS_OK;
    if (!strcmp(k, "stream")) return get_bool(c, k, v, &r->stream);
    if (!strcmp(k, "stream_options")) return parse_stream_options(c, v);
    if (!strcmp(k, "max_tokens") || (chat && !strcmp(k, "max_completion_tokens"))) {
        if ((st = get_int(c, k, v, 1, API_MAX_TOKENS_LIMIT, &i))) return st;
        /* both given: max_completion_tokens is the newer name and wins */
        if (r->max_tokens < 0 || !strcmp(k, "max_completion_tokens")) r->max_tokens = (int32_t)i;
        return CIRRUS_OK;
    }
    if (!strcmp(k, "temperature")) return get_num(c, k, v, 0, 2, &r->sp.temperature);
    if (!strcmp(k, "top_p")) return get_num(c, k, v, 0, 1, &r->sp.top_p);
    if (!strcmp(k, "presence_penalty")) return get_num(c, k, v, -2, 2, &r->sp.presence_penalty);
    if (!strcmp(k, "frequency_penalty")) return get_num(c, k, v, -2, 2, &r->sp.frequency_penalty);
    if (!strcmp(k, "n")) {
        if ((st = get_int(c, k, v, 1, API_MAX_CHOICES, &i))) return st;
        r->n = (int32_t)i;
        return CIRRUS_OK;
    }
    if (!strcmp(k, "seed")) {
        if (!json_is_integer(v)) return bad_type(c, k, "an integer", v);
        r->sp.seed = (uint64_t)json_integer_value(v);
        r->seed_set = true;
        return CIRRUS_OK;
    }
    if (!strcmp(k, "stop")) return parse_stop(c, v);
    if (!strcmp(k, "logit_bias")) return parse_bias(c, v);
    if (chat && !strcmp(k, "logprobs")) return get_bool(c, k, v, &r->logprobs);
    if (chat && !strcmp(k, "top_logprobs")) {
        if ((st = get_int(c, k, v, 0, SMP_MAX_TOP_LOGPROBS, &i))) return st;
        r->top_logprobs = (int32_t)i;
        return CIRRUS_OK;
    }
    if (!chat && !strcmp(k, "logprobs")) { /* legacy: the number of alternatives, 0..5 */
        if ((st = get_int(c, k, v, 0, 5, &i))) return st;
        r->logprobs = true;
        r->top_logprobs = (int32_t)i;
        return CIRRUS_OK;
    }
    if (!strcmp(k, "user")) {
        if (!json_is_string(v)) return bad_type(c, k, "a string", v);
        if (json_string_length(v) > 256) return api_error_make(c->e, API_E_INVALID, k, "Invalid 'user': at most 256 characters.");
        return CIRRUS_OK;
    }
    if (in_list(chat ? k_unsupported_chat : k_unsupported_cmpl, k)) {
        if (neutral_value(r, k, v)) return CIRRUS_OK;
        return api_error_make(c->e, API_E_UNSUPPORTED, k, "'%s' is not supported by this server.", k);
    }
    return api_error_make(c->e, API_E_UNKNOWN_FIELD, k, "Unrecognized request argument supplied: %s", k);
}

static cirrus_status parse(api_gen_kind kind, const char *body, size_t len, api_gen_req *r, api_error *e) {
    memset(r, 0, sizeof *r);
    r->kind = kind;
    r->max_tokens = -1;
    r->n = 1;
    /* OpenAI's sampling defaults: temperature 1, nucleus off, no top-k or min-p truncation. */
    smp_params_default(&r->sp);
    r->sp.temperature = 1.0f;
    r->sp.top_p = 1.0f;
    r->sp.top_k = 0;
    r->sp.min_p = 0.0f;
    r->sp.repeat_penalty = 1.0f;
    r->sp.repeat_last_n = -1;
    r->sp.presence_penalty = 0;
    r->sp.frequency_penalty = 0;
    r->sp.penalize_prompt = false;
    cirrus_arena_init(&r->arena, len * 2 + (64u << 10));
    pctx c = {r, e};
    json_error_t je;
    json_t *root = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
    if (!root) {
        api_error_make(e, API_E_INVALID, NULL,
                       "We could not parse the JSON body of your request: %s (line %d, column %d).", je.text, je.line,
                       je.column);
        return CIRRUS_ERR_FORMAT;
    }
    cirrus_status st = CIRRUS_OK;
    if (!json_is_object(root)) {
        st = api_error_make(e, API_E_INVALID, NULL, "The request body must be a JSON object, got %s.", type_name(root));
        goto out;
    }
    /* n first: best_of's neutral value depends on it */
    const json_t *nv = json_object_get(root, "n");
    if (nv && !json_is_null(nv) && (st = parse_field(&c, "n", nv))) goto out;
    const char *k;
    json_t *v;
    json_object_foreach(root, k, v) {
        if (!strcmp(k, "n")) continue;
        if ((st = parse_field(&c, k, v))) goto out;
    }
    if (!r->model[0]) {
        st = api_error_make(e, API_E_INVALID, "model", "Missing required parameter: 'model'.");
        goto out;
    }
    if (kind == API_CHAT && !r->n_msgs) {
        st = api_error_make(e, API_E_INVALID, "messages", "Missing required parameter: 'messages'.");
        goto out;
    }
    if (kind == API_COMPLETION && !r->prompt && !r->n_prompt_ids) {
        st = api_error_make(e, API_E_INVALID, "prompt", "Missing required parameter: 'prompt'.");
        goto out;
    }
    if (json_object_get(root, "stream_options") && !json_is_null(json_object_get(root, "stream_options")) && !r->stream) {
        st = api_error_make(e, API_E_INVALID, "stream_options", "The 'stream_options' parameter is only allowed when 'stream' is enabled.");
        goto out;
    }
    if (kind == API_CHAT && r->top_logprobs > 0 && !r->logprobs) {
        st = api_error_make(e, API_E_INVALID, "top_logprobs", "'top_logprobs' requires 'logprobs' to be true.");
        goto out;
    }
out:
    json_decref(root);
    if (st) cirrus_arena_free(&r->arena);
    return st;
}

cirrus_status api_parse_chat(const char *body, size_t len, api_gen_req *out, api_error *e) {
    return parse(API_CHAT, body, len, out, e);
}

cirrus_status api_parse_completion(const char *body, size_t len, api_gen_req *out, api_error *e) {
    return parse(API_COMPLETION, body, len, out, e);
}

void api_gen_req_free(api_gen_req *r) {
    if (!r) return;
    cirrus_arena_free(&r->arena);
    memset(r, 0, sizeof *r);
}
