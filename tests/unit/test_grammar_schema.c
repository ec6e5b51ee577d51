/* grammar: the JSON Schema compiler. Hand-written valid and invalid instances per keyword, errors
 * that name the keyword and where it is, and that every grammar it emits compiles. (Random
 * sentences against an independent validator, ajv, are tests/cli/grammar_schema.sh.) */
#include <string.h>

#include "check.h"
#include "grammar/grammar.h"

static grm_grammar *from_schema(const char *schema, const grm_schema_opts *o) {
    char *gbnf = NULL;
    cirrus_err err = {{0}};
    cirrus_status st = grm_schema_text_to_gbnf(schema, strlen(schema), o, &gbnf, &err);
    CHECK_MSG(st == CIRRUS_OK, "%s\n--- schema: %s", err.msg, schema);
    if (st) return NULL;
    grm_grammar *g = NULL;
    st = grm_compile(gbnf, strlen(gbnf), NULL, NULL, &g, &err);
    CHECK_MSG(st == CIRRUS_OK, "the emitted grammar does not compile: %s\n%s", err.msg, gbnf);
    free(gbnf);
    return g;
}

static bool accepts(grm_grammar *g, const char *s) {
    grm_matcher *m = NULL;
    cirrus_err err;
    if (!g || grm_matcher_new(g, &m, &err)) return false;
    bool ok = grm_matcher_accept_bytes(m, s, strlen(s)) && grm_matcher_is_complete(m);
    grm_matcher_free(m);
    return ok;
}

#define YES(g, s) CHECK_MSG(accepts(g, s), "rejected a valid instance: %s", s)
#define NO(g, s) CHECK_MSG(!accepts(g, s), "accepted an invalid instance: %s", s)

static void refused(const char *schema, cirrus_status want, const char *msg) {
    char *gbnf = NULL;
    cirrus_err err = {{0}};
    cirrus_status st = grm_schema_text_to_gbnf(schema, strlen(schema), NULL, &gbnf, &err);
    CHECK_MSG(st == want, "status %d, want %d for %s (%s)", (int)st, (int)want, schema, err.msg);
    CHECK_MSG(st == CIRRUS_OK || strstr(err.msg, msg), "error '%s' lacks '%s'", err.msg, msg);
    free(gbnf);
}

static void test_types(void) {
    grm_schema_opts compact;
    grm_schema_opts_default(&compact);
    compact.ws_indent = -1;
    grm_grammar *g = from_schema("{\"type\": \"integer\"}", NULL);
    YES(g, "0"); YES(g, "-12"); YES(g, "9999999999999999");
    NO(g, "01"); NO(g, "1.5"); NO(g, "-"); NO(g, " 1"); NO(g, "99999999999999999"); NO(g, "\"1\"");
    grm_release(g);
    g = from_schema("{\"type\": \"number\"}", NULL);
    YES(g, "0.5"); YES(g, "-1e10"); YES(g, "3E-07"); YES(g, "12");
    NO(g, ".5"); NO(g, "1."); NO(g, "1e"); NO(g, "1e100"); NO(g, "NaN");
    grm_release(g);
    g = from_schema("{\"type\": [\"boolean\", \"null\"]}", NULL);
    YES(g, "true"); YES(g, "false"); YES(g, "null");
    NO(g, "True"); NO(g, "0");
    grm_release(g);
    g = from_schema("{\"type\": \"string\"}", NULL);
    YES(g, "\"\""); YES(g, "\"a\\\"b\\\\c\\n\\u00e9\""); YES(g, "\"\xc3\xa9\xe2\x82\xac\"");
    NO(g, "\"a\nb\""); NO(g, "\"\\x\""); NO(g, "\"abc"); NO(g, "'a'"); NO(g, "\"\\u12\"");
    grm_release(g);
    g = from_schema("{\"type\": \"string\", \"minLength\": 2, \"maxLength\": 3}", NULL);
    YES(g, "\"ab\""); YES(g, "\"\xc3\xa9\\n\""); YES(g, "\"abc\"");
    NO(g, "\"a\""); NO(g, "\"abcd\"");
    grm_release(g);
    g = from_schema("true", NULL); /* any value */
    YES(g, "[1, {\"a\": [null, \"x\"]}, -0.5]"); YES(g, "\"s\""); YES(g, "{}");
    NO(g, "[1,]"); NO(g, "{\"a\"}");
    grm_release(g);
    g = from_schema("{\"type\": \"object\", \"additionalProperties\": false}", &compact);
    YES(g, "{}");
    NO(g, "{ }"); NO(g, "{\"a\":1}");
    grm_release(g);
}

static void test_ranges(void) {
    grm_grammar *g = from_schema("{\"type\": \"integer\", \"minimum\": -15, \"maximum\": 203}", NULL);
    const char *in[] = {"-15", "-9", "-10", "0", "9", "10", "99", "100", "199", "200", "203"};
    const char *out[] = {"-16", "-20", "204", "210", "300", "1000", "-0", "-", "0203"};
    for (size_t i = 0; i < sizeof in / sizeof *in; i++) YES(g, in[i]);
    for (size_t i = 0; i < sizeof out / sizeof *out; i++) NO(g, out[i]);
    grm_release(g);
    /* every integer in a range, none outside: exhaustively near the bounds */
    g = from_schema("{\"type\": \"integer\", \"exclusiveMinimum\": 37, \"exclusiveMaximum\": 1200}", NULL);
    for (int v = -50; v <= 1300; v++) {
        char b[16];
        snprintf(b, sizeof b, "%d", v);
        CHECK_MSG(accepts(g, b) == (v > 37 && v < 1200), "%d", v);
    }
    grm_release(g);
    g = from_schema("{\"type\": \"integer\", \"maximum\": -100}", NULL);
    YES(g, "-100"); YES(g, "-12345678"); NO(g, "-99"); NO(g, "0"); NO(g, "5");
    grm_release(g);
    g = from_schema("{\"type\": \"integer\", \"minimum\": 7}", NULL);
    YES(g, "7"); YES(g, "8"); YES(g, "10"); YES(g, "123456"); NO(g, "6"); NO(g, "-7"); NO(g, "0");
    grm_release(g);
    g = from_schema("{\"type\": \"number\", \"minimum\": -2, \"maximum\": 3}", NULL);
    YES(g, "-2"); YES(g, "-1.999"); YES(g, "-0.5"); YES(g, "0"); YES(g, "2.75"); YES(g, "3"); YES(g, "3.000");
    NO(g, "-2.001"); NO(g, "3.01"); NO(g, "-3"); NO(g, "4"); NO(g, "1e0");
    grm_release(g);
    g = from_schema("{\"type\": \"number\", \"minimum\": 0}", NULL);
    YES(g, "0"); YES(g, "0.25"); YES(g, "17"); NO(g, "-0.1"); NO(g, "-1");
    grm_release(g);
    refused("{\"type\": \"number\", \"minimum\": 0.5}", CIRRUS_ERR_UNSUPPORTED, "'minimum' 0.5: non-integer bounds");
    refused("{\"type\": \"number\", \"exclusiveMinimum\": 0}", CIRRUS_ERR_UNSUPPORTED, "'exclusiveMinimum' on a number");
    refused("{\"type\": \"integer\", \"minimum\": 5, \"maximum\": 4}", CIRRUS_ERR_INVALID, "no number lies within");
}

static void test_objects(void) {
    grm_grammar *g = from_schema("{\"type\": \"object\", \"properties\": {\"a\": {\"type\": \"integer\"}, \"b\": "
                                 "{\"type\": \"string\"}, \"c\": {\"type\": \"boolean\"}}, \"required\": [\"b\"], "
                                 "\"additionalProperties\": false}",
                                 NULL);
    YES(g, "{\"b\": \"x\"}"); YES(g, "{\"a\": 1, \"b\": \"x\"}"); YES(g, "{\"b\": \"x\", \"c\": true}");
    YES(g, "{ \"a\" : 1 ,\n  \"b\": \"\", \"c\": false }");
    NO(g, "{}"); NO(g, "{\"a\": 1}"); NO(g, "{\"b\": \"x\",}"); NO(g, "{,\"b\": \"x\"}"); NO(g, "{\"b\": 1}");
    NO(g, "{\"b\": \"x\", \"d\": 1}"); NO(g, "{\"b\": \"x\" \"c\": true}");
    grm_release(g);
    /* additional properties: by default anything under another name, never a listed one again */
    g = from_schema("{\"properties\": {\"ab\": {\"type\": \"integer\"}, \"a\": {\"type\": \"null\"}}}", NULL);
    YES(g, "{}"); YES(g, "{\"ab\": 1, \"x\": [true]}"); YES(g, "{\"abc\": \"s\", \"b\": {}}"); YES(g, "{\"\": 1}");
    YES(g, "{\"a\": null, \"aa\": 2}");
    NO(g, "{\"x\": 1, \"ab\": 2}"); NO(g, "{\"ab\": 1, \"ab\": 2}"); NO(g, "{\"ab\": 1, \"a\": 2}");
    NO(g, "{\"ab\": null}"); NO(g, "{\"a\\u0062\": 1}");
    grm_release(g);
    grm_schema_opts strict;
    grm_schema_opts_default(&strict);
    strict.additional_default = false;
    g = from_schema("{\"properties\": {\"ab\": {\"type\": \"integer\"}}}", &strict);
    YES(g, "{\"ab\": 1}"); NO(g, "{\"ab\": 1, \"x\": 2}");
    grm_release(g);
    g = from_schema("{\"type\": \"object\", \"required\": [\"k\"], \"additionalProperties\": {\"type\": \"integer\"}}", NULL);
    YES(g, "{\"k\": 1}"); YES(g, "{\"k\": 1, \"z\": 2}"); NO(g, "{}"); NO(g, "{\"k\": \"s\"}");
    grm_release(g);
    refused("{\"properties\": {}, \"required\": [\"k\"], \"additionalProperties\": false}", CIRRUS_ERR_INVALID,
            "'k' is required but additionalProperties is false");
}

static void test_arrays(void) {
    grm_grammar *g = from_schema("{\"type\": \"array\", \"items\": {\"type\": \"integer\"}, \"minItems\": 2, \"maxItems\": 3}", NULL);
    YES(g, "[1,2]"); YES(g, "[1, 2, 3]"); NO(g, "[1]"); NO(g, "[1,2,3,4]"); NO(g, "[1,\"a\"]"); NO(g, "[]");
    grm_release(g);
    g = from_schema("{\"prefixItems\": [{\"type\": \"string\"}, {\"type\": \"integer\"}], \"items\": false}", NULL);
    YES(g, "[]"); YES(g, "[\"a\"]"); YES(g, "[\"a\", 1]"); NO(g, "[1]"); NO(g, "[\"a\", 1, 2]");
    grm_release(g);
    g = from_schema("{\"prefixItems\": [{\"type\": \"string\"}], \"items\": {\"type\": \"null\"}, \"minItems\": 2}", NULL);
    YES(g, "[\"a\", null]"); YES(g, "[\"a\", null, null]"); NO(g, "[\"a\"]"); NO(g, "[\"a\", 1]");
    grm_release(g);
    g = from_schema("{\"type\": \"array\", \"maxItems\": 0}", NULL);
    YES(g, "[]"); NO(g, "[1]");
    grm_release(g);
    refused("{\"prefixItems\": [{}], \"items\": false, \"minItems\": 2}", CIRRUS_ERR_INVALID, "only 1 items are allowed");
    refused("{\"type\": \"array\", \"minItems\": 3, \"maxItems\": 2}", CIRRUS_ERR_INVALID, "maxItems is below minItems");
}

static void test_combinations(void) {
    grm_grammar *g = from_schema("{\"enum\": [\"a\", 1, null, {\"k\": [true]}, \"q\\\"uote\"]}", NULL);
    YES(g, "\"a\""); YES(g, "1"); YES(g, "null"); YES(g, "{\"k\":[true]}"); YES(g, "\"q\\\"uote\"");
    NO(g, "\"b\""); NO(g, "2"); NO(g, "{\"k\": [true]}");
    grm_release(g);
    g = from_schema("{\"type\": \"string\", \"enum\": [\"a\", 1]}", NULL); /* 1 is not a string */
    YES(g, "\"a\""); NO(g, "1");
    grm_release(g);
    g = from_schema("{\"const\": 42}", NULL);
    YES(g, "42"); NO(g, "43");
    grm_release(g);
    g = from_schema("{\"anyOf\": [{\"type\": \"integer\", \"minimum\": 0, \"maximum\": 5}, {\"type\": \"string\", "
                    "\"maxLength\": 1}]}",
                    NULL);
    YES(g, "3"); YES(g, "\"x\""); NO(g, "6"); NO(g, "\"xy\""); NO(g, "null");
    grm_release(g);
    /* recursion through $ref, to $defs and to the root */
    g = from_schema("{\"$defs\": {\"l\": {\"type\": \"array\", \"items\": {\"$ref\": \"#/$defs/l\"}}}, \"$ref\": \"#/$defs/l\"}", NULL);
    YES(g, "[]"); YES(g, "[[], [[[]]]]"); NO(g, "[[]"); NO(g, "[1]");
    grm_release(g);
    g = from_schema("{\"type\": \"object\", \"properties\": {\"next\": {\"$ref\": \"#\"}}, \"additionalProperties\": false}", NULL);
    YES(g, "{}"); YES(g, "{\"next\": {\"next\": {}}}"); NO(g, "{\"next\": 1}");
    grm_release(g);
    g = from_schema("{\"allOf\": [{\"type\": \"boolean\"}]}", NULL);
    YES(g, "true"); NO(g, "1");
    grm_release(g);
    g = from_schema("{\"type\": \"string\", \"format\": \"date\"}", NULL);
    YES(g, "\"2024-02-29\""); YES(g, "\"2000-02-29\""); YES(g, "\"2023-12-31\""); YES(g, "\"2023-04-30\"");
    NO(g, "\"2023-02-29\""); NO(g, "\"1900-02-29\""); NO(g, "\"2023-04-31\""); NO(g, "\"2023-13-01\""); NO(g, "\"2023-1-01\"");
    grm_release(g);
    g = from_schema("{\"type\": \"string\", \"format\": \"date-time\"}", NULL);
    YES(g, "\"2024-01-02T03:04:05Z\""); YES(g, "\"2024-01-02T23:59:59.123+05:30\"");
    NO(g, "\"2024-01-02 03:04:05Z\""); NO(g, "\"2024-01-02T24:00:00Z\""); NO(g, "\"2024-01-02T03:04:05\"");
    grm_release(g);
    g = from_schema("{\"type\": \"string\", \"format\": \"uuid\"}", NULL);
    YES(g, "\"123e4567-e89b-12d3-a456-426614174000\""); NO(g, "\"123e4567e89b12d3a456426614174000\"");
    grm_release(g);
}

static void test_refused(void) {
    refused("{\"type\": \"string\", \"pattern\": \"^a+$\"}", CIRRUS_ERR_UNSUPPORTED, "keyword 'pattern' is not supported at /");
    refused("{\"properties\": {\"zip\": {\"type\": \"string\", \"pattern\": \"x\"}}}", CIRRUS_ERR_UNSUPPORTED,
            "keyword 'pattern' is not supported at /properties/zip");
    refused("{\"items\": {\"anyOf\": [{}, {\"not\": {}}]}}", CIRRUS_ERR_UNSUPPORTED, "'not' is not supported at /items/anyOf/1");
    refused("{\"type\": \"array\", \"uniqueItems\": true}", CIRRUS_ERR_UNSUPPORTED, "'uniqueItems'");
    refused("{\"type\": \"integer\", \"multipleOf\": 3}", CIRRUS_ERR_UNSUPPORTED, "'multipleOf'");
    refused("{\"if\": {}, \"then\": {}}", CIRRUS_ERR_UNSUPPORTED, "'if'");
    refused("{\"type\": \"string\", \"format\": \"email\"}", CIRRUS_ERR_UNSUPPORTED, "format 'email' is not supported");
    refused("{\"$ref\": \"https://example.com/s.json\"}", CIRRUS_ERR_UNSUPPORTED, "only references into this document");
    refused("{\"$ref\": \"#/$defs/missing\"}", CIRRUS_ERR_INVALID, "points at nothing");
    refused("{\"allOf\": [{}, {}]}", CIRRUS_ERR_UNSUPPORTED, "'allOf' is supported only with one schema");
    refused("{\"type\": \"strung\"}", CIRRUS_ERR_INVALID, "unknown type 'strung'");
    refused("{\"type\": \"object\", \"properties\": {\"a\": false}}", CIRRUS_ERR_UNSUPPORTED, "'false' matches no value at /properties/a");
    refused("{\"type\": \"string\", \"maxLength\": -1}", CIRRUS_ERR_INVALID, "'maxLength' must be a non-negative integer");
    refused("{\"enum\": [1, 2], \"minimum\": 1}", CIRRUS_ERR_UNSUPPORTED, "'minimum' beside enum/const");
    refused("{\"type\": \"object\", \"properties\": {\"a\": {\"type\": \"integer\", \"minimum\": 1}, \"b\": "
            "{\"items\": {\"type\": \"integer\", \"exclusiveMinimum\": true}}}}",
            CIRRUS_ERR_UNSUPPORTED, "boolean 'exclusiveMinimum' (draft 4) is not supported at /properties/b/items");
    refused("{\"type\": \"object\"", CIRRUS_ERR_INVALID, "invalid JSON at line 1");
    refused("[1, 2]", CIRRUS_ERR_INVALID, "a schema must be an object or a boolean");
    /* annotations and unknown non-keywords pass */
    grm_grammar *g = from_schema("{\"title\": \"t\", \"description\": \"d\", \"x-vendor\": 1, \"examples\": [1], "
                                 "\"deprecated\": true, \"type\": \"integer\", \"default\": 3}",
                                 NULL);
    YES(g, "3");
    grm_release(g);
    /* deep nesting stops with an error, not the stack */
    char deep[4096];
    size_t n = 0;
    for (int i = 0; i < 100; i++) n += (size_t)snprintf(deep + n, sizeof deep - n, "{\"items\":");
    n += (size_t)snprintf(deep + n, sizeof deep - n, "{}");
    for (int i = 0; i < 100; i++) deep[n++] = '}';
    deep[n] = 0;
    refused(deep, CIRRUS_ERR_RANGE, "nested deeper than 64");
}

static void test_json_object(void) {
    char *gbnf = NULL;
    cirrus_err err;
    CHECK(grm_json_object_gbnf(NULL, &gbnf, &err) == CIRRUS_OK);
    grm_grammar *g = NULL;
    if (gbnf) CHECK(grm_compile(gbnf, strlen(gbnf), NULL, NULL, &g, &err) == CIRRUS_OK);
    YES(g, "{}"); YES(g, "{\"a\": [1, {\"b\": null}]}");
    NO(g, "[]"); NO(g, "1"); NO(g, "{\"a\": 1} ");
    grm_release(g);
    free(gbnf);
}

/* A 50-property schema (the benchmark's shape) compiles, and quickly enough to print. */
static void test_wide(void) {
    char s[8192];
    size_t n = (size_t)snprintf(s, sizeof s, "{\"type\": \"object\", \"properties\": {");
    for (int i = 0; i < 50; i++)
        n += (size_t)snprintf(s + n, sizeof s - n, "%s\"field_%02d\": {\"type\": \"%s\"}", i ? ", " : "", i,
                              i % 3 == 0 ? "string" : i % 3 == 1 ? "integer" : "boolean");
    n += (size_t)snprintf(s + n, sizeof s - n, "}, \"required\": [\"field_00\", \"field_49\"]}");
    uint64_t t0 = cirrus_now_ns();
    grm_grammar *g = from_schema(s, NULL);
    printf("test_grammar_schema: a 50-property schema compiled in %.2f ms\n", (double)(cirrus_now_ns() - t0) / 1e6);
    YES(g, "{\"field_00\": \"a\", \"field_49\": 7}");
    YES(g, "{\"field_00\": \"a\", \"field_01\": 3, \"field_30\": \"\", \"field_49\": -1, \"other\": []}");
    NO(g, "{\"field_00\": \"a\"}"); NO(g, "{\"field_49\": 7, \"field_00\": \"a\"}");
    grm_release(g);
}

int main(void) {
    test_types();
    test_ranges();
    test_objects();
    test_arrays();
    test_combinations();
    test_refused();
    test_json_object();
    test_wide();
    return check_done("test_grammar_schema");
}
