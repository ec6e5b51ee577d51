/* grammar: the GBNF parser (good and bad grammars, with the line and column of each error) and
 * the matcher (which byte strings are sentences, prefixes, or outside the language). */
#include <string.h>

#include "check.h"
#include "grammar/grammar.h"

static grm_grammar *compile(const char *text) {
    grm_grammar *g = NULL;
    cirrus_err err = {{0}};
    cirrus_status st = grm_compile(text, strlen(text), NULL, NULL, &g, &err);
    CHECK_MSG(st == CIRRUS_OK, "%s\n--- grammar:\n%s", err.msg, text);
    return g;
}

/* The error a grammar must fail with: a substring of the message. */
static void bad(const char *text, const char *want) {
    grm_grammar *g = NULL;
    cirrus_err err = {{0}};
    cirrus_status st = grm_compile(text, strlen(text), NULL, NULL, &g, &err);
    CHECK_MSG(st != CIRRUS_OK, "accepted a bad grammar:\n%s", text);
    CHECK_MSG(st == CIRRUS_OK || strstr(err.msg, want), "error '%s' lacks '%s' for:\n%s", err.msg, want, text);
    grm_release(g);
}

typedef enum { NO, PREFIX, FULL } verdict;

static verdict run(grm_grammar *g, const char *s, size_t n) {
    grm_matcher *m = NULL;
    cirrus_err err;
    if (grm_matcher_new(g, &m, &err)) return NO;
    verdict v = !grm_matcher_accept_bytes(m, s, n) ? NO : grm_matcher_is_complete(m) ? FULL : PREFIX;
    grm_matcher_free(m);
    return v;
}

#define MATCH(g, s, want)                                                                              \
    CHECK_MSG(run(g, s, strlen(s)) == (want), "'%s': got %d, want %d", s, (int)run(g, s, strlen(s)), (int)(want))

static void test_parse_good(void) {
    /* llama.cpp's layout: newline after ::= and |, inside groups; comments anywhere */
    grm_grammar *g = compile("# a comment\n"
                             "root ::= \n"
                             "   item (\",\" item)*   # trailing comment\n"
                             "item ::= [a-c]+ |\n"
                             "   \"x\" (\n"
                             "      \"y\"\n"
                             "      | \"z\"\n"
                             "   )\n");
    if (g) {
        MATCH(g, "a", FULL);
        MATCH(g, "abc,xy,xz", FULL);
        MATCH(g, "abc,", PREFIX);
        MATCH(g, "x", PREFIX);
        MATCH(g, "xw", NO);
        MATCH(g, "", PREFIX);
        MATCH(g, ",", NO);
    }
    grm_release(g);

    /* repetition forms */
    g = compile("root ::= \"a\"{2} \"b\"{1,3} \"c\"{2,} \"d\"{,2} \"e\"? \"f\"+ \"g\"*\n");
    if (g) {
        MATCH(g, "aabccf", FULL);
        MATCH(g, "aabbbccccddefggg", FULL);
        MATCH(g, "abcc", NO);
        MATCH(g, "aabbbbc", NO);
        MATCH(g, "aabcf", NO);
        MATCH(g, "aabccdddf", NO);
        MATCH(g, "aabccdd", PREFIX);
    }
    grm_release(g);

    /* classes, negation, escapes, any char, empty alternatives */
    g = compile("root ::= [^\"\\\\\\x00-\\x1F]* ws (\"\\u00e9\" | \"\\n\" | [\\t\\]\\-])? tail\n"
                "ws ::= | \" \" ws\n"
                "tail ::= . \"!\"\n");
    if (g) {
        MATCH(g, "hello   \xc3\xa9z!", FULL);
        MATCH(g, "h\xe2\x82\xac  ]\xf0\x9f\x98\x80!", FULL);
        MATCH(g, "-!", FULL);
        MATCH(g, "\"", PREFIX); /* '"' is a tail char, needs '!' */
        MATCH(g, "a\\b!", NO);
        MATCH(g, "\x01\x01", NO);
        MATCH(g, "\xc3", PREFIX);       /* half of a character */
        MATCH(g, "\xc3\x28", NO);       /* not UTF-8 */
        MATCH(g, "\xed\xa0\x80!", NO);  /* a surrogate is never a character */
        MATCH(g, "\xc0\xaf!", NO);      /* overlong */
    }
    grm_release(g);

    /* recursion (right and nested), several rules, a custom root */
    grm_grammar *h = NULL;
    cirrus_err err;
    const char *t = "expr ::= term (\"+\" term)*\nterm ::= [0-9]+ | \"(\" expr \")\"\n";
    CHECK(grm_compile(t, strlen(t), "expr", NULL, &h, &err) == CIRRUS_OK);
    if (h) {
        MATCH(h, "1+(2+(3))", FULL);
        MATCH(h, "((((1))))", FULL);
        MATCH(h, "((((1)))", PREFIX);
        MATCH(h, "(1))", NO);
        MATCH(h, "1+", PREFIX);
    }
    grm_release(h);

    /* unicode ranges crossing encoded-length boundaries */
    g = compile("root ::= [\\u0070-\\u0800\\U0001F600-\\U0001F64F]+\n");
    if (g) {
        MATCH(g, "p\xc2\x80\xdf\xbf\xe0\xa0\x80\xf0\x9f\x98\x80", FULL);
        MATCH(g, "o", NO);
        MATCH(g, "\xe0\xa0\x81", NO); /* U+0801 */
        MATCH(g, "\xf0\x9f\x99\x90", NO); /* U+1F650 */
    }
    grm_release(g);

    /* a llama.cpp JSON grammar (grammars/json.gbnf's shape) */
    g = compile("root   ::= object\n"
                "value  ::= object | array | string | number | (\"true\" | \"false\" | \"null\") ws\n"
                "object ::=\n"
                "  \"{\" ws (\n"
                "            string \":\" ws value\n"
                "    (\",\" ws string \":\" ws value)*\n"
                "  )? \"}\" ws\n"
                "array  ::=\n"
                "  \"[\" ws (\n"
                "            value\n"
                "    (\",\" ws value)*\n"
                "  )? \"]\" ws\n"
                "string ::=\n"
                "  \"\\\"\" (\n"
                "    [^\"\\\\\\x7F\\x00-\\x1F] |\n"
                "    \"\\\\\" ([\"\\\\bfnrt] | \"u\" [0-9a-fA-F]{4}) # escapes\n"
                "  )* \"\\\"\" ws\n"
                "number ::= (\"-\"? ([0-9] | [1-9] [0-9]{0,15})) (\".\" [0-9]+)? ([eE] [-+]? [0-9] [1-9]{0,15})? ws\n"
                "ws ::= | \" \" | \"\\n\" [ \\t]{0,20}\n");
    if (g) {
        MATCH(g, "{\"a\": [1, 2.5e3, \"x\\u00e9\\n\", {\"b\": null}], \"c\": true}", FULL);
        MATCH(g, "{\"a\": [1, 2.5e3, \"x", PREFIX);
        MATCH(g, "{\"a\": [1,, 2]}", NO);
        MATCH(g, "{\"a\": 01}", NO);
        MATCH(g, "{}", FULL);
        MATCH(g, "{} ", FULL);
        MATCH(g, "[]", NO);
    }
    grm_release(g);
}

static void test_parse_bad(void) {
    bad("", "no rule named 'root'");
    bad("foo ::= \"a\"\n", "1:1: no rule named 'root'");
    bad("root ::= \"a\" b\n", "1:14: undefined rule 'b'");
    bad("root ::= \"a\"\nroot ::= \"b\"\n", "2:1: rule 'root' is defined twice (first at 1:1)");
    bad("root = \"a\"\n", "1:6: expected '::=' after the rule name 'root'");
    bad("root ::= \"abc\n", "1:10: string literal never closed");
    bad("root ::= [abc\n", "1:10: character class never closed");
    bad("root ::= [z-a]\n", "1:11: character range U+007A-U+0061 is backwards");
    bad("root ::= []\n", "1:10: empty character class");
    bad("root ::= (\"a\"\n", "expected ')' to close the group opened at 1:10");
    bad("root ::= \"a\")\n", "1:13: unmatched ')'");
    bad("root ::= * \"a\"\n", "1:10: '*' with nothing before it");
    bad("root ::= \"a\"{3,2}\n", "1:13: repetition {3,2}");
    bad("root ::= \"a\"{x}\n", "1:14: expected a number");
    bad("root ::= \"a\"{99999}\n", "repetition count above");
    bad("root ::= \"\\q\"\n", "1:11: unknown escape");
    bad("root ::= \"\\u12\"\n", "1:11: \\u needs 4 hex digits");
    bad("root ::= \"\\uD800\"\n", "not a Unicode scalar value");
    bad("root ::= \"\xff\"\n", "1:11: invalid UTF-8");
    bad("root ::= <think>\n", "token references");
    bad("root ::= a\na ::= a \"x\" | \"y\"\n", "2:1: left recursion in rule 'a' (a -> a)");
    bad("root ::= a\na ::= b \"x\" | \"y\"\nb ::= c? a\nc ::= \"c\"\n", "left recursion in rule 'a' (a -> b -> a)");
    bad("root ::= (\"a\"?)*\n", "1:16: empty loop in rule 'root'");
    bad("root ::= x+\nx ::= \"\" | \"y\"\n", "empty loop in rule 'root'");
    bad("root ::= a\na ::= \"x\" a\n", "2:1: rule 'a' can never finish");
    bad("root ::= \"a\"\n  \"b\"\n", "2:3: expected a rule name, found '\"'");
    bad("root ::= (\"a\"\nb ::= \"b\")\n", "2:1: 'b ::=' inside a rule");
    bad("root ::= \"a\"*****\n", "more than 4 repetition operators");
}

static void test_deep(void) {
    /* 100 nested groups parse; 101 are refused without recursing further */
    char buf[1024];
    size_t n = (size_t)snprintf(buf, sizeof buf, "root ::= ");
    for (int i = 0; i < 100; i++) buf[n++] = '(';
    buf[n++] = '"', buf[n++] = 'a', buf[n++] = '"';
    for (int i = 0; i < 100; i++) buf[n++] = ')';
    buf[n++] = '\n', buf[n] = 0;
    grm_grammar *g = compile(buf);
    if (g) MATCH(g, "a", FULL);
    grm_release(g);
    n = (size_t)snprintf(buf, sizeof buf, "root ::= ");
    for (int i = 0; i < 101; i++) buf[n++] = '(';
    buf[n++] = '"', buf[n++] = 'a', buf[n++] = '"', buf[n] = 0;
    bad(buf, "groups nested deeper than 100");

    /* a long chain of rules (inlined up to a depth, called beyond) */
    static char chain[200000];
    size_t m = 0;
    m += (size_t)snprintf(chain + m, sizeof chain - m, "root ::= r0\n");
    for (int i = 0; i < 5000; i++) m += (size_t)snprintf(chain + m, sizeof chain - m, "r%d ::= \"x\" r%d\n", i, i + 1);
    m += (size_t)snprintf(chain + m, sizeof chain - m, "r5000 ::= \"!\"\n");
    g = compile(chain);
    if (g) {
        static char s[5002];
        memset(s, 'x', 5000);
        s[5000] = '!', s[5001] = 0;
        MATCH(g, s, FULL);
        s[4999] = '!', s[5000] = 0;
        MATCH(g, s, NO);
    }
    grm_release(g);

    /* repetition large enough to pass the automaton limit is an error, not a hang */
    bad("root ::= ([a-z]{10000}){10000}\n", "automaton states");
}

static void test_sample(void) {
    /* random sentences are sentences, and the walk ends even for a recursive grammar */
    grm_grammar *g = compile("root ::= e\ne ::= \"(\" e \"+\" e \")\" | [0-9]\n");
    for (uint64_t seed = 0; g && seed < 200; seed++) {
        char *s = NULL;
        size_t n = 0;
        cirrus_err err;
        CHECK(grm_sample(g, seed, 64, 0.1, &s, &n, &err) == CIRRUS_OK);
        if (s) CHECK_MSG(run(g, s, n) == FULL, "seed %llu: '%s'", (unsigned long long)seed, s);
        free(s);
    }
    grm_release(g);
}

int main(void) {
    test_parse_good();
    test_parse_bad();
    test_deep();
    test_sample();
    return check_done("test_grammar");
}
