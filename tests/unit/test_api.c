/* api: request parsing and validation, the error mapping and its JSON, the JSON writer, keys. */
#include <jansson.h>
#include <string.h>

#include "api/api.h"
#include "api/api_internal.h"
#include "check.h"

static api_error g_e;
static api_gen_req g_r;

/* Parses body as a chat (or completion) request; returns the HTTP status (200 if accepted). */
static int chat(const char *body) {
    api_gen_req_free(&g_r);
    memset(&g_e, 0, sizeof g_e);
    if (api_parse_chat(body, strlen(body), &g_r, &g_e) == CIRRUS_OK) return 200;
    CHECK_MSG(g_e.status >= 400 && g_e.message[0], "error without status/message for %s", body);
    return g_e.status;
}

static int cmpl(const char *body) {
    api_gen_req_free(&g_r);
    memset(&g_e, 0, sizeof g_e);
    if (api_parse_completion(body, strlen(body), &g_r, &g_e) == CIRRUS_OK) return 200;
    return g_e.status;
}

#define MSGS "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]"
#define EXPECT_400(call, want_param)                                                                    \
    do {                                                                                                \
        int st_ = (call);                                                                               \
        CHECK_MSG(st_ == 400 && !strcmp(g_e.param, want_param), "%s -> %d param '%s' msg '%s'", #call, st_, \
                  g_e.param, g_e.message);                                                              \
    } while (0)

static void test_chat_ok(void) {
    CHECK(chat("{\"model\":\"m\"," MSGS "}") == 200);
    CHECK(!strcmp(g_r.model, "m") && g_r.n_msgs == 1 && !strcmp(g_r.msgs[0].role, "user") && !strcmp(g_r.msgs[0].content, "hi"));
    CHECK(g_r.max_tokens == -1 && g_r.n == 1 && !g_r.stream && !g_r.logprobs && g_r.n_stops == 0 && !g_r.seed_set);
    CHECK(g_r.sp.temperature == 1.0f && g_r.sp.top_p == 1.0f && g_r.sp.top_k == 0 && g_r.sp.min_p == 0.0f);

    CHECK(chat("{\"model\":\"m\",\"messages\":[{\"role\":\"developer\",\"content\":\"be brief\"},{\"role\":\"user\",\"content\":"
               "[{\"type\":\"text\",\"text\":\"a\"},{\"type\":\"text\",\"text\":\"b\"}],\"name\":\"bob\"},{\"role\":\"assistant\","
               "\"content\":\"ok\",\"refusal\":null}],\"stream\":true,\"stream_options\":{\"include_usage\":true},"
               "\"max_tokens\":10,\"max_completion_tokens\":7,\"temperature\":0.5,\"top_p\":0.9,\"n\":3,\"stop\":[\"\\n\",\"END\"],"
               "\"seed\":-5,\"presence_penalty\":-1.5,\"frequency_penalty\":2,\"logit_bias\":{\"12\":-100,\"7\":5.5},"
               "\"logprobs\":true,\"top_logprobs\":4,\"user\":\"u1\",\"response_format\":{\"type\":\"text\"},\"store\":false,"
               "\"tools\":null}") == 200);
    CHECK(g_r.n_msgs == 3 && !strcmp(g_r.msgs[0].role, "system") && !strcmp(g_r.msgs[1].content, "a\nb"));
    CHECK(g_r.stream && g_r.include_usage && g_r.max_tokens == 7 && g_r.n == 3);
    CHECK(g_r.sp.temperature == 0.5f && g_r.sp.top_p == 0.9f && g_r.sp.presence_penalty == -1.5f && g_r.sp.frequency_penalty == 2.0f);
    CHECK(g_r.n_stops == 2 && !strcmp(g_r.stops[0], "\n") && !strcmp(g_r.stops[1], "END"));
    CHECK(g_r.seed_set && g_r.sp.seed == (uint64_t)-5);
    CHECK(g_r.sp.n_bias == 2);
    bool saw12 = false, saw7 = false;
    for (size_t i = 0; i < g_r.sp.n_bias; i++) {
        if (g_r.sp.bias[i].id == 12 && g_r.sp.bias[i].bias == -100.0f) saw12 = true;
        if (g_r.sp.bias[i].id == 7 && g_r.sp.bias[i].bias == 5.5f) saw7 = true;
    }
    CHECK(saw12 && saw7);
    CHECK(g_r.logprobs && g_r.top_logprobs == 4);
    /* null means absent */
    CHECK(chat("{\"model\":\"m\"," MSGS ",\"temperature\":null,\"stop\":null,\"logit_bias\":null,\"seed\":null}") == 200);
    CHECK(g_r.sp.temperature == 1.0f && !g_r.seed_set);
    /* a single stop string, an empty stop array */
    CHECK(chat("{\"model\":\"m\"," MSGS ",\"stop\":\"###\"}") == 200 && g_r.n_stops == 1 && !strcmp(g_r.stops[0], "###"));
    CHECK(chat("{\"model\":\"m\"," MSGS ",\"stop\":[]}") == 200 && g_r.n_stops == 0);
}

/* #18 fault 12: any string the API can return -- a NUL, other control characters, U+FFFD -- comes
 * back in a message or a prompt with the same bytes; where a NUL cannot mean anything (names,
 * roles, stop sequences) it is a 400 naming the field, never a string cut short. */
static void test_nul_text(void) {
    CHECK(chat("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"a\\u0000b\\u0001\\ufffd\"}]}") == 200);
    CHECK(g_r.n_msgs == 1 && g_r.msg_lens[0] == 7 && !memcmp(g_r.msgs[0].content, "a\0b\x01\xef\xbf\xbd", 7));
    CHECK(chat("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"\\u0000\"},"
               "{\"type\":\"text\",\"text\":\"x\\u0000\"}]}]}") == 200);
    CHECK(g_r.msg_lens[0] == 4 && !memcmp(g_r.msgs[0].content, "\0\nx\0", 4));
    CHECK(cmpl("{\"model\":\"m\",\"prompt\":\"\\u0000x\\u0000\"}") == 200 && g_r.prompt_len == 3 && !memcmp(g_r.prompt, "\0x\0", 3));
    CHECK(cmpl("{\"model\":\"m\",\"prompt\":[\"\\u0000\"]}") == 200 && g_r.prompt_len == 1 && g_r.prompt[0] == 0);
    EXPECT_400(chat("{\"model\":\"m\\u0000x\"," MSGS "}"), "model");
    EXPECT_400(chat("{\"model\":\"m\",\"messages\":[{\"role\":\"user\\u0000\",\"content\":\"hi\"}]}"), "messages[0].role");
    EXPECT_400(chat("{\"model\":\"m\"," MSGS ",\"stop\":[\"a\\u0000\"]}"), "stop[0]");
    CHECK(strstr(g_e.message, "NUL") != NULL);
    /* and the formatted chat keeps them: the template pastes contents by their length */
    tok_chat_msg m[2] = {{"system", "s\0t"}, {"user", "\0"}};
    size_t lens[2] = {3, 1}, n = 0;
    char *out = NULL;
    CHECK(tok_chat_format_n(TOK_CHAT_CHATML, m, lens, 2, true, NULL, NULL, &out, &n, NULL) == CIRRUS_OK);
    static const char want[] = "<|im_start|>system\ns\0t<|im_end|>\n<|im_start|>user\n\0<|im_end|>\n<|im_start|>assistant\n";
    CHECK(out && n == sizeof want - 1 && !memcmp(out, want, n));
    free(out);
}

static void test_chat_errors(void) {
    /* malformed JSON and non-objects */
    CHECK(chat("{\"model\":\"m\",") == 400 && strstr(g_e.message, "parse") && !g_e.param[0]);
    CHECK(chat("") == 400);
    CHECK(chat("[]") == 400 && strstr(g_e.message, "object"));
    CHECK(chat("\"x\"") == 400);
    CHECK(chat("{\"model\":\"m\",\"model\":\"n\"," MSGS "}") == 400); /* duplicate key */
    /* missing */
    EXPECT_400(chat("{" MSGS "}"), "model");
    EXPECT_400(chat("{\"model\":\"m\"}"), "messages");
    EXPECT_400(chat("{\"model\":\"m\",\"messages\":[]}"), "messages");
    EXPECT_400(chat("{\"model\":\"m\",\"messages\":[{\"content\":\"x\"}]}"), "messages[0].role");
    EXPECT_400(chat("{\"model\":\"m\",\"messages\":[{\"role\":\"user\"}]}"), "messages[0].content");
    EXPECT_400(chat("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":null}]}"), "messages[0].content");
    /* wrong types */
    EXPECT_400(chat("{\"model\":7," MSGS "}"), "model");
    EXPECT_400(chat("{\"model\":\"m\",\"messages\":\"hi\"}"), "messages");
    EXPECT_400(chat("{\"model\":\"m\",\"messages\":[\"hi\"]}"), "messages[0]");
    EXPECT_400(chat("{\"model\":\"m\",\"messages\":[{\"role\":1,\"content\":\"x\"}]}"), "messages[0].role");
    EXPECT_400(chat("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":5}]}"), "messages[0].content");
    EXPECT_400(chat("{\"model\":\"m\"," MSGS ",\"temperature\":\"hot\"}"), "temperature");
    CHECK(strstr(g_e.message, "expected a number") && strstr(g_e.message, "a string"));
    EXPECT_400(chat("{\"model\":\"m\"," MSGS ",\"max_tokens\":1.5}"), "max_tokens");
    EXPECT_400(chat("{\"model\":\"m\"," MSGS ",\"stream\":\"yes\"}"), "stream");
    EXPECT_400(chat("{\"model\":\"m\"," MSGS ",\"n\":true}"), "n");
    EXPECT_400(chat("{\"model\":\"m\"," MSGS ",\"seed\":1.5}"), "seed");
    EXPECT_400(chat("{\"model\":\"m\"," MSGS ",\"logprobs\":1}"), "logprobs");
    EXPECT_400(chat("{\"model\":\"m\"," MSGS ",\"user\":[]}"), "user");
    /* out of range / oversized */
    EXPECT_400(chat("{\"model\":\"m\"," MSGS ",\"max_tokens\":0}"), "max_tokens");
    EXPECT_400(chat("{\"model\":\"m\"," MSGS ",\"max_tokens\":1099511627776}"), "max_tokens");
    EXPECT_400(chat("{\"model\":\"m\"," MSGS ",\"n\":17}"), "n");
    EXPECT_400(chat("{\"model\":\"m\"," MSGS ",\"n\":0}"), "n");
    EXPECT_400(chat("{\"model\":\"m\"," MSGS ",\"temperature\":2.5}"), "temperature");
    EXPECT_400(chat("{\"model\":\"m\"," MSGS ",\"top_p\":-0.1}"), "top_p");
    EXPECT_400(chat("{\"model\":\"m\"," MSGS ",\"presence_penalty\":3}"), "presence_penalty");
    EXPECT_400(chat("{\"model\":\"m\"," MSGS ",\"frequency_penalty\":-2.01}"), "frequency_penalty");
    EXPECT_400(chat("{\"model\":\"m\"," MSGS ",\"logprobs\":true,\"top_logprobs\":21}"), "top_logprobs");
    EXPECT_400(chat("{\"model\":\"m\"," MSGS ",\"top_logprobs\":2}"), "top_logprobs"); /* needs logprobs */
    {
        char body[600], name[300];
        memset(name, 'x', 299);
        name[299] = 0;
        snprintf(body, sizeof body, "{\"model\":\"%s\"," MSGS "}", name);
        EXPECT_400(chat(body), "model");
        snprintf(body, sizeof body, "{\"model\":\"m\"," MSGS ",\"stop\":\"%s\"}", name);
        EXPECT_400(chat(body), "stop");
        snprintf(body, sizeof body, "{\"model\":\"m\"," MSGS ",\"user\":\"%s\"}", name);
        EXPECT_400(chat(body), "user");
    }
    /* stop arrays */
    EXPECT_400(chat("{\"model\":\"m\"," MSGS ",\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\"]}"), "stop");
    EXPECT_400(chat("{\"model\":\"m\"," MSGS ",\"stop\":[\"a\",1]}"), "stop[1]");
    EXPECT_400(chat("{\"model\":\"m\"," MSGS ",\"stop\":[\"\"]}"), "stop[0]");
    EXPECT_400(chat("{\"model\":\"m\"," MSGS ",\"stop\":5}"), "stop");
    /* logit_bias */
    EXPECT_400(chat("{\"model\":\"m\"," MSGS ",\"logit_bias\":[1]}"), "logit_bias");
    EXPECT_400(chat("{\"model\":\"m\"," MSGS ",\"logit_bias\":{\"-1\":1}}"), "logit_bias");
    EXPECT_400(chat("{\"model\":\"m\"," MSGS ",\"logit_bias\":{\"abc\":1}}"), "logit_bias");
    EXPECT_400(chat("{\"model\":\"m\"," MSGS ",\"logit_bias\":{\"\":1}}"), "logit_bias");
    EXPECT_400(chat("{\"model\":\"m\"," MSGS ",\"logit_bias\":{\"99999999999\":1}}"), "logit_bias");
    EXPECT_400(chat("{\"model\":\"m\"," MSGS ",\"logit_bias\":{\"5\":101}}"), "logit_bias.5");
    EXPECT_400(chat("{\"model\":\"m\"," MSGS ",\"logit_bias\":{\"5\":\"x\"}}"), "logit_bias.5");
    {
        static char body[64 * 1024];
        size_t o = (size_t)snprintf(body, sizeof body, "{\"model\":\"m\"," MSGS ",\"logit_bias\":{");
        for (int i = 0; i < API_MAX_BIAS + 1; i++) o += (size_t)snprintf(body + o, sizeof body - o, "%s\"%d\":1", i ? "," : "", i);
        snprintf(body + o, sizeof body - o, "}}");
        EXPECT_400(chat(body), "logit_bias");
    }
    /* unknown and unsupported fields are named */
    EXPECT_400(chat("{\"model\":\"m\"," MSGS ",\"foo\":1}"), "foo");
    CHECK(!strcmp(g_e.code, "unknown_parameter") && strstr(g_e.message, "foo"));
    EXPECT_400(chat("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\",\"bar\":1}]}"), "messages[0].bar");
    EXPECT_400(chat("{\"model\":\"m\"," MSGS ",\"stream\":true,\"stream_options\":{\"x\":1}}"), "stream_options.x");
    EXPECT_400(chat("{\"model\":\"m\"," MSGS ",\"tools\":[]}"), "tools");
    CHECK(!strcmp(g_e.code, "unsupported_parameter"));
    EXPECT_400(chat("{\"model\":\"m\"," MSGS ",\"response_format\":{\"type\":\"json_object\"}}"), "response_format");
    EXPECT_400(chat("{\"model\":\"m\"," MSGS ",\"store\":true}"), "store");
    EXPECT_400(chat("{\"model\":\"m\"," MSGS ",\"echo\":false}"), "echo"); /* completions only */
    EXPECT_400(chat("{\"model\":\"m\",\"messages\":[{\"role\":\"tool\",\"content\":\"x\"}]}"), "messages[0].role");
    CHECK(!strcmp(g_e.code, "unsupported_parameter"));
    EXPECT_400(chat("{\"model\":\"m\",\"messages\":[{\"role\":\"robot\",\"content\":\"x\"}]}"), "messages[0].role");
    EXPECT_400(chat("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{}}]}]}"),
               "messages[0].content[0].image_url");
    EXPECT_400(chat("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\"}]}]}"),
               "messages[0].content[0].type");
    EXPECT_400(chat("{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\",\"content\":\"x\",\"tool_calls\":[]}]}"),
               "messages[0].tool_calls");
    EXPECT_400(chat("{\"model\":\"m\"," MSGS ",\"stream_options\":{\"include_usage\":true}}"), "stream_options");
}

static void test_completions(void) {
    CHECK(cmpl("{\"model\":\"m\",\"prompt\":\"Once\"}") == 200 && g_r.kind == API_COMPLETION && g_r.prompt_len == 4 &&
          !strcmp(g_r.prompt, "Once") && g_r.n_prompt_ids == 0);
    CHECK(cmpl("{\"model\":\"m\",\"prompt\":[\"Once\"],\"echo\":false,\"best_of\":1,\"suffix\":null}") == 200 && !strcmp(g_r.prompt, "Once"));
    CHECK(cmpl("{\"model\":\"m\",\"prompt\":[1,2,3]}") == 200 && g_r.n_prompt_ids == 3 && g_r.prompt_ids[2] == 3);
    CHECK(cmpl("{\"model\":\"m\",\"prompt\":[[5,6]]}") == 200 && g_r.n_prompt_ids == 2 && g_r.prompt_ids[0] == 5);
    CHECK(cmpl("{\"model\":\"m\",\"prompt\":\"x\",\"logprobs\":3}") == 200 && g_r.logprobs && g_r.top_logprobs == 3);
    CHECK(cmpl("{\"model\":\"m\",\"prompt\":\"x\",\"n\":2,\"best_of\":2}") == 200);
    EXPECT_400(cmpl("{\"model\":\"m\"}"), "prompt");
    EXPECT_400(cmpl("{\"model\":\"m\",\"prompt\":[]}"), "prompt");
    EXPECT_400(cmpl("{\"model\":\"m\",\"prompt\":[\"a\",\"b\"]}"), "prompt");
    CHECK(!strcmp(g_e.code, "unsupported_parameter"));
    EXPECT_400(cmpl("{\"model\":\"m\",\"prompt\":[1,\"a\"]}"), "prompt[1]");
    EXPECT_400(cmpl("{\"model\":\"m\",\"prompt\":[-1]}"), "prompt[0]");
    EXPECT_400(cmpl("{\"model\":\"m\",\"prompt\":{}}"), "prompt");
    EXPECT_400(cmpl("{\"model\":\"m\",\"prompt\":\"x\",\"echo\":true}"), "echo");
    EXPECT_400(cmpl("{\"model\":\"m\",\"prompt\":\"x\",\"best_of\":3}"), "best_of");
    EXPECT_400(cmpl("{\"model\":\"m\",\"prompt\":\"x\",\"suffix\":\"end\"}"), "suffix");
    EXPECT_400(cmpl("{\"model\":\"m\",\"prompt\":\"x\",\"logprobs\":6}"), "logprobs");
    EXPECT_400(cmpl("{\"model\":\"m\",\"prompt\":\"x\",\"logprobs\":true}"), "logprobs");
    EXPECT_400(cmpl("{\"model\":\"m\",\"prompt\":\"x\",\"messages\":[]}"), "messages");
    EXPECT_400(cmpl("{\"model\":\"m\",\"prompt\":\"x\",\"max_completion_tokens\":5}"), "max_completion_tokens");
}

static void test_errors(void) {
    api_error e;
    static const struct { api_err_kind k; int status; } want[] = {
        {API_E_INVALID, 400}, {API_E_UNKNOWN_FIELD, 400}, {API_E_UNSUPPORTED, 400}, {API_E_CONTEXT, 400},
        {API_E_NO_KEY, 401}, {API_E_BAD_KEY, 401}, {API_E_FORBIDDEN, 403}, {API_E_NO_ROUTE, 404},
        {API_E_NO_MODEL, 404}, {API_E_METHOD, 405}, {API_E_TOO_LARGE, 413}, {API_E_HEADERS_TOO_LARGE, 431}, {API_E_RATE_LIMIT, 429},
        {API_E_INTERNAL, 500}, {API_E_OVERLOADED, 503}, {API_E_LOADING, 503},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        api_error_make(&e, want[i].k, NULL, "x");
        CHECK_MSG(e.status == want[i].status, "kind %d -> %d", (int)want[i].k, e.status);
    }
    api_error_make(&e, API_E_OVERLOADED, NULL, "busy");
    CHECK(e.retry_after_s > 0);
    api_error_make(&e, API_E_RATE_LIMIT, NULL, "slow down");
    CHECK(e.retry_after_s > 0);
    CHECK(api_err_kind_of(CIRRUS_ERR_FULL) == API_E_OVERLOADED);
    CHECK(api_err_kind_of(CIRRUS_ERR_INVALID) == API_E_INVALID);
    CHECK(api_err_kind_of(CIRRUS_ERR_RANGE) == API_E_CONTEXT);
    CHECK(api_err_kind_of(CIRRUS_ERR_NOMEM) == API_E_INTERNAL);
    CHECK(api_err_kind_of(CIRRUS_ERR_INTERNAL) == API_E_INTERNAL);

    /* OpenAI's shape: {"error":{"message","type","param","code"}} with nulls */
    char buf[1024];
    api_error_make(&e, API_E_NO_MODEL, "model", "The model 'x\"y' does not exist");
    size_t n = api_error_json(&e, buf, sizeof buf);
    CHECK(n == strlen(buf));
    json_error_t je;
    json_t *j = json_loads(buf, 0, &je);
    CHECK(j != NULL);
    json_t *err = json_object_get(j, "error");
    CHECK(json_object_size(j) == 1 && json_object_size(err) == 4);
    CHECK(!strcmp(json_string_value(json_object_get(err, "message")), "The model 'x\"y' does not exist"));
    CHECK(!strcmp(json_string_value(json_object_get(err, "type")), "invalid_request_error"));
    CHECK(!strcmp(json_string_value(json_object_get(err, "param")), "model"));
    CHECK(!strcmp(json_string_value(json_object_get(err, "code")), "model_not_found"));
    json_decref(j);
    api_error_make(&e, API_E_INTERNAL, NULL, "boom");
    api_error_json(&e, buf, sizeof buf);
    j = json_loads(buf, 0, &je);
    err = json_object_get(j, "error");
    CHECK(json_is_null(json_object_get(err, "param")) && json_is_null(json_object_get(err, "code")));
    CHECK(!strcmp(json_string_value(json_object_get(err, "type")), "server_error"));
    json_decref(j);
    /* a small buffer: truncated, NUL-terminated, reports the full length */
    char small[16];
    size_t need = api_error_json(&e, small, sizeof small);
    CHECK(need > sizeof small && strlen(small) == sizeof small - 1);
}

static void test_jw(void) {
    jw w;
    jw_init(&w, 1024);
    jw_obj(&w);
    jw_key(&w, "s");
    jw_str(&w, "a\"b\\c\n\x01\xff\xc3\xa9\xe2\x82", 12); /* quote, backslash, control, bad byte, é, cut char */
    jw_key(&w, "n");
    jw_num(&w, -1.0 / 0.0);
    jw_key(&w, "a");
    jw_arr(&w);
    jw_int(&w, 1);
    jw_bool(&w, true);
    jw_null(&w);
    jw_cstr(&w, NULL);
    jw_arr_end(&w);
    jw_obj_end(&w);
    CHECK(!jw_failed(&w));
    json_error_t je;
    json_t *j = json_loadb(jw_data(&w), jw_len(&w), 0, &je);
    CHECK_MSG(j != NULL, "%s: %s", jw_data(&w), je.text);
    CHECK(!strcmp(json_string_value(json_object_get(j, "s")), "a\"b\\c\n\x01\xef\xbf\xbd\xc3\xa9\xef\xbf\xbd\xef\xbf\xbd"));
    CHECK(json_real_value(json_object_get(j, "n")) == -9999.0 || json_integer_value(json_object_get(j, "n")) == -9999);
    CHECK(json_array_size(json_object_get(j, "a")) == 4);
    json_decref(j);
    /* bounded: a string past max fails instead of growing */
    jw_reset(&w);
    static char big[2048];
    memset(big, 'a', sizeof big);
    jw_str(&w, big, sizeof big);
    CHECK(jw_failed(&w) && w.b.fail == CIRRUS_ERR_FULL && jw_len(&w) <= 1024);
    jw_raw(&w, "x", 1); /* sticky: nothing changes after the failure */
    CHECK(jw_failed(&w) && jw_len(&w) <= 1024);
    jw_reset(&w); /* and reset clears it */
    jw_cstr(&w, "ok");
    CHECK(!jw_failed(&w) && !strcmp(jw_data(&w), "\"ok\""));
    jw_free(&w);
    /* surrogates and overlongs are not valid UTF-8 either */
    jw_init(&w, 256);
    jw_str(&w, "\xed\xa0\x80\xc0\xaf", 5);
    CHECK(!strcmp(jw_data(&w), "\"\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\""));
    jw_free(&w);
}

static void test_keys(void) {
    const char *cfg = "{\"tenants\":[{\"name\":\"acme\",\"weight\":3,\"reserved_tpm\":100,\"max_concurrent\":2,\"models\":[\"m\"],"
                      "\"keys\":[\"sk-acme-0123456789abcdef\",\"sk-acme-second-key-xyz\"]},"
                      "{\"name\":\"beta\",\"keys\":[\"sk-beta-0123456789abcdef\"]}],\"other_module\":{}}";
    api_keyring *k = NULL;
    cirrus_err err = {{0}};
    CHECK_MSG(api_keyring_from_json(cfg, strlen(cfg), &k, &err) == CIRRUS_OK, "%s", err.msg);
    CHECK(api_keyring_count(k) == 3);
    api_auth a = api_keyring_auth(k);
    CHECK(!a.open);
    api_tenant t;
    CHECK(a.resolve(a.ud, "sk-acme-second-key-xyz", 22, &t) == CIRRUS_OK && !strcmp(t.name, "acme") && t.weight == 3 &&
          t.reserved_tpm == 100 && t.max_concurrent == 2 && t.n_models == 1 && !strcmp(t.models[0], "m"));
    CHECK(a.resolve(a.ud, "sk-beta-0123456789abcdef", 24, &t) == CIRRUS_OK && !strcmp(t.name, "beta") && t.weight == 1 && t.n_models == 0);
    CHECK(a.resolve(a.ud, "sk-beta-0123456789abcdeX", 24, &t) == CIRRUS_ERR_NOT_FOUND);
    CHECK(a.resolve(a.ud, "sk-beta-0123456789abcde", 23, &t) == CIRRUS_ERR_NOT_FOUND);
    CHECK(a.resolve(a.ud, "", 0, &t) == CIRRUS_ERR_NOT_FOUND);
    api_keyring_free(k);

    static const char *const bad[] = {
        "{\"tenants\":[{\"name\":\"a\",\"keys\":[\"short\"]}]}",
        "{\"tenants\":[{\"name\":\"a\",\"keys\":[\"sk-0123456789abcdef\"]},{\"name\":\"b\",\"keys\":[\"sk-0123456789abcdef\"]}]}",
        "{\"tenants\":[{\"name\":\"a\"},{\"name\":\"a\"}]}",
        "{\"tenants\":[{\"name\":\"a b\"}]}",
        "{\"tenants\":[{\"keys\":[]}]}",
        "{\"tenants\":[{\"name\":\"a\",\"wieght\":2}]}",
        "{\"tenants\":[{\"name\":\"a\",\"weight\":0}]}",
        "{\"tenants\":{}}",
        "[1]",
        "{\"tenants\":[",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        k = NULL;
        err.msg[0] = 0;
        CHECK_MSG(api_keyring_from_json(bad[i], strlen(bad[i]), &k, &err) != CIRRUS_OK && !k && err.msg[0], "accepted %s", bad[i]);
    }
    CHECK(api_keyring_from_json("{}", 2, &k, &err) == CIRRUS_OK);
    CHECK(api_keyring_auth(k).open && api_keyring_count(k) == 0);
    api_keyring_free(k);
}

int main(void) {
    test_chat_ok();
    test_chat_errors();
    test_nul_text();
    test_completions();
    test_errors();
    test_jw();
    test_keys();
    api_gen_req_free(&g_r);
    return check_done("test_api");
}
