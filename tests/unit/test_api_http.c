/* api over a live http server, without a model: routing, auth, status codes and their OpenAI error
 * bodies, /health while loading and draining, /metrics. Generation is covered by tests/cli/serve_*. */
#include <curl/curl.h>
#include <jansson.h>
#include <string.h>

#include "api/api.h"
#include "check.h"

typedef struct {
    char body[1 << 16];
    size_t n;
    char retry_after[16], allow[32];
} resp;

static size_t on_body(char *p, size_t sz, size_t nm, void *ud) {
    resp *r = ud;
    size_t n = sz * nm, room = sizeof r->body - 1 - r->n;
    memcpy(r->body + r->n, p, n < room ? n : room);
    r->n += n < room ? n : room;
    r->body[r->n] = 0;
    return n;
}

static size_t on_header(char *p, size_t sz, size_t nm, void *ud) {
    resp *r = ud;
    size_t n = sz * nm;
    if (n > 13 && !strncasecmp(p, "Retry-After: ", 13)) snprintf(r->retry_after, sizeof r->retry_after, "%.*s", (int)(n - 15), p + 13);
    if (n > 7 && !strncasecmp(p, "Allow: ", 7)) snprintf(r->allow, sizeof r->allow, "%.*s", (int)(n - 9), p + 7);
    return n;
}

static uint16_t g_port;

static long req(const char *method, const char *path, const char *key, const char *body, long body_len, resp *out) {
    CURL *c = curl_easy_init();
    char url[256], auth[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", (unsigned)g_port, path);
    memset(out, 0, sizeof *out);
    struct curl_slist *h = NULL;
    if (key) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", key);
        h = curl_slist_append(h, auth);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, body_len < 0 ? (long)strlen(body) : body_len);
    }
    long code = -1;
    if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return code;
}

/* The body is OpenAI's error object with this code (NULL: JSON null) and a message. */
static bool is_error(const resp *r, const char *code) {
    json_t *j = json_loads(r->body, 0, NULL);
    json_t *e = json_object_get(j, "error");
    bool ok = json_is_object(e) && json_object_size(e) == 4 && json_string_length(json_object_get(e, "message")) > 0 &&
              json_is_string(json_object_get(e, "type")) && json_object_get(e, "param") &&
              (code ? json_is_string(json_object_get(e, "code")) && !strcmp(json_string_value(json_object_get(e, "code")), code)
                    : json_is_null(json_object_get(e, "code")));
    json_decref(j);
    return ok;
}

#define KEY "sk-test-0123456789abcdef"
#define CHAT "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"

int main(void) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const char *cfg = "{\"tenants\":[{\"name\":\"acme\",\"keys\":[\"" KEY "\"]}]}";
    api_keyring *keys = NULL;
    cirrus_err err = {{0}};
    CHECK(api_keyring_from_json(cfg, strlen(cfg), &keys, &err) == CIRRUS_OK);
    api_config ac = {.auth = api_keyring_auth(keys), .retry_after_s = 2};
    api *a = NULL;
    CHECK(api_new(&ac, &a, &err) == CIRRUS_OK);
    http_config hc;
    http_config_default(&hc);
    hc.port = 0;
    hc.max_body = 4096;
    http_server *s = NULL;
    CHECK_MSG(http_server_start(&hc, api_handle, a, &s, &err) == CIRRUS_OK, "%s", err.msg);
    if (!s) return check_done("test_api_http");
    g_port = http_server_port(s);
    resp r;

    /* loading: /health 503 with Retry-After, generation 503 model_loading */
    CHECK(req("GET", "/health", NULL, NULL, 0, &r) == 503 && strstr(r.body, "\"loading\"") && r.retry_after[0]);
    CHECK(req("POST", "/v1/chat/completions", KEY, CHAT, -1, &r) == 503 && is_error(&r, "model_loading") && !strcmp(r.retry_after, "2"));
    api_set_ready(a, true);
    CHECK(req("GET", "/health", NULL, NULL, 0, &r) == 200 && strstr(r.body, "\"ok\""));

    /* auth */
    CHECK(req("GET", "/v1/models", NULL, NULL, 0, &r) == 401 && is_error(&r, NULL));
    CHECK(req("GET", "/v1/models", "sk-wrong-0123456789abcdef", NULL, 0, &r) == 401 && is_error(&r, "invalid_api_key"));
    CHECK(!strstr(r.body, "sk-wrong")); /* the key is never echoed */
    CHECK(req("GET", "/v1/models", KEY, NULL, 0, &r) == 200 && !strcmp(r.body, "{\"object\":\"list\",\"data\":[]}"));
    CHECK(req("POST", "/v1/chat/completions", NULL, CHAT, -1, &r) == 401);

    /* routes and methods */
    CHECK(req("GET", "/v1/nothing", KEY, NULL, 0, &r) == 404 && is_error(&r, NULL) && strstr(r.body, "Invalid URL"));
    CHECK(req("GET", "/v1/chat/completions", KEY, NULL, 0, &r) == 405 && !strcmp(r.allow, "POST") && is_error(&r, "method_not_allowed"));
    CHECK(req("DELETE", "/v1/models", KEY, NULL, 0, &r) == 405 && !strcmp(r.allow, "GET"));
    CHECK(req("GET", "/v1/models/nope", KEY, NULL, 0, &r) == 404 && is_error(&r, "model_not_found"));

    /* bodies: 400s name the field, 404 for an unknown model, 413 past the limit */
    CHECK(req("POST", "/v1/chat/completions", KEY, "{\"model\":", -1, &r) == 400 && is_error(&r, NULL));
    CHECK(req("POST", "/v1/chat/completions", KEY, "{\"model\":\"m\",\"messages\":[],\"zzz\":1}", -1, &r) == 400 &&
          strstr(r.body, "\"param\":\"messages\""));
    CHECK(req("POST", "/v1/chat/completions", KEY, CHAT "x", -1, &r) == 400);
    CHECK(req("POST", "/v1/completions", KEY, "{\"model\":\"m\",\"prompt\":\"x\",\"echo\":true}", -1, &r) == 400 &&
          is_error(&r, "unsupported_parameter") && strstr(r.body, "\"param\":\"echo\""));
    CHECK(req("POST", "/v1/chat/completions", KEY, CHAT, -1, &r) == 404 && is_error(&r, "model_not_found"));
    static char big[8192];
    memset(big, ' ', sizeof big);
    CHECK(req("POST", "/v1/chat/completions", KEY, big, sizeof big, &r) == 413 && is_error(&r, "request_too_large"));
    CHECK(req("POST", "/v1/chat/completions", NULL, big, sizeof big, &r) == 413); /* before auth: nothing read */
    CHECK(req("POST", "/v1/chat/completions", KEY, big, 4096, &r) == 400);        /* at the limit: parsed */

    /* metrics */
    CHECK(req("GET", "/metrics", NULL, NULL, 0, &r) == 200);
    CHECK(strstr(r.body, "cirrus_requests_total{endpoint=\"health\",status=\"503\"} 1\n") != NULL);
    CHECK(strstr(r.body, "cirrus_requests_total{endpoint=\"chat_completions\",status=\"413\"} 2\n") != NULL);
    CHECK(strstr(r.body, "cirrus_requests_total{endpoint=\"models\",status=\"401\"} 2\n") != NULL);
    CHECK(strstr(r.body, "# TYPE cirrus_time_to_first_token_seconds histogram") != NULL);
    CHECK(strstr(r.body, "cirrus_inter_token_latency_seconds_bucket{le=\"+Inf\"} 0") != NULL);
    CHECK(!strstr(r.body, "tenant")); /* nothing that names a tenant without a key */
    CHECK(req("GET", "/metrics", KEY, NULL, 0, &r) == 403 && is_error(&r, "insufficient_scope")); /* not an admin key */
    char *all = NULL;
    size_t all_len = 0;
    CHECK(api_metrics_text(a, true, &all, &all_len) == CIRRUS_OK && strstr(all, "# TYPE cirrus_tenant_requests_total counter"));
    free(all);

    /* draining */
    api_set_draining(a);
    CHECK(req("GET", "/health", NULL, NULL, 0, &r) == 503 && strstr(r.body, "\"draining\""));

    http_server_stop(s, cirrus_now_ns() + 1000000000ull);
    api_free(a);
    api_keyring_free(keys);
    curl_global_cleanup();
    return check_done("test_api_http");
}
