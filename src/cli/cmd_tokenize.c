/*
 * cirrus tokenize — text to token ids with a model's vocabulary.
 *
 *   cirrus tokenize -m M.gguf [--no-bos] [--special] [--pieces] TEXT
 *   cirrus tokenize -m M.gguf --tests FILE.inp
 *
 * The --tests form reads llama.cpp's tokenizer test vectors (strings separated by the line
 * "__ggml_vocab_test__") and prints one line per string in the matching .out format: each id
 * preceded by a space, nothing for an empty string. Those vectors were made without BOS/EOS and
 * without parsing special tokens, so this form does the same.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "gguf/gguf.h"
#include "tokenizer/tokenizer.h"

#define TESTS_SEP "\n__ggml_vocab_test__\n"
#define MAX_TESTS_FILE (64u << 20)

static void usage(FILE *f) {
    fprintf(f,
            "usage: cirrus tokenize -m MODEL.gguf [--no-bos] [--special] [--pieces] TEXT\n"
            "       cirrus tokenize -m MODEL.gguf --tests FILE.inp\n"
            "\n"
            "  -m, --model FILE  GGUF file whose tokenizer.* metadata to use\n"
            "  --no-bos          do not add BOS/EOS even if the vocabulary asks for them\n"
            "  --special         recognise special-token text (e.g. <|im_start|>) in TEXT\n"
            "  --pieces          print one 'id<TAB>piece' line per token instead of the id list\n"
            "  --tests FILE      tokenize each test string of a llama.cpp .inp file, print .out lines\n");
}

static tok_vocab *load_vocab(const char *path) {
    cirrus_err err = {{0}};
    gguf_ctx *g = NULL;
    if (gguf_open(path, &g, &err) != CIRRUS_OK) {
        cli_error("%s", err.msg); /* names the file itself */
        return NULL;
    }
    tok_vocab *v = NULL;
    cirrus_status st = tok_load(g, &v, &err);
    gguf_close(g);
    if (st != CIRRUS_OK) {
        cli_error("%s: %s", path, err.msg);
        return NULL;
    }
    return v;
}

static int print_ids(const tok_vocab *v, const char *text, size_t len, bool add_special, bool special,
                     bool leading_space, bool pieces) {
    cirrus_err err = {{0}};
    int32_t *ids = NULL;
    size_t n = 0;
    if (tok_encode(v, text, len, add_special, special, &ids, &n, &err) != CIRRUS_OK) {
        cli_error("tokenize: %s", err.msg);
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        if (pieces) {
            char buf[256];
            size_t k = tok_piece(v, ids[i], true, buf, sizeof buf);
            printf("%d\t%.*s\n", ids[i], (int)(k < sizeof buf ? k : sizeof buf), buf);
        } else {
            printf(leading_space || i ? " %d" : "%d", ids[i]);
        }
    }
    if (!pieces) putchar('\n');
    free(ids);
    return 0;
}

/* The split of llama.cpp's test-tokenizer-0: by "\n__ggml_vocab_test__\n"; what follows the last
 * separator is a test only if it is not empty. */
static int run_tests(const tok_vocab *v, const char *path) {
    cirrus_err err = {{0}};
    char *buf = NULL;
    size_t len = 0;
    if (cirrus_read_file(path, MAX_TESTS_FILE, &buf, &len, &err) != CIRRUS_OK) {
        cli_error("%s: %s", path, err.msg);
        return 1;
    }
    int rc = 0;
    size_t pos = 0, seplen = strlen(TESTS_SEP);
    while (pos < len && rc == 0) {
        const char *next = memmem(buf + pos, len - pos, TESTS_SEP, seplen);
        size_t end = next ? (size_t)(next - buf) : len;
        rc = print_ids(v, buf + pos, end - pos, false, false, true, false);
        if (!next) break;
        pos = end + seplen;
    }
    free(buf);
    return rc;
}

int cmd_tokenize(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    const char *model = NULL, *tests = NULL, *text = NULL;
    bool no_bos = false, special = false, pieces = false;
    for (int i = 1; i < argc; i++) {
        const char *val;
        if (cli_opt(argc, argv, &i, "-m", &val) || cli_opt(argc, argv, &i, "--model", &val)) {
            if (!val) return 2;
            model = val;
        } else if (cli_opt(argc, argv, &i, "--tests", &val)) {
            if (!val) return 2;
            tests = val;
        } else if (!strcmp(argv[i], "--no-bos")) {
            no_bos = true;
        } else if (!strcmp(argv[i], "--special")) {
            special = true;
        } else if (!strcmp(argv[i], "--pieces")) {
            pieces = true;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            cli_error("tokenize: unknown option '%s'", argv[i]);
            usage(stderr);
            return 2;
        } else if (text) {
            cli_error("tokenize: one TEXT only (quote it)");
            return 2;
        } else {
            text = argv[i];
        }
    }
    if (!model) {
        cli_error("tokenize: -m MODEL.gguf is required");
        usage(stderr);
        return 2;
    }
    if (!tests == !text) {
        cli_error("tokenize: give either TEXT or --tests FILE");
        usage(stderr);
        return 2;
    }
    tok_vocab *v = load_vocab(model);
    if (!v) return 1;
    int rc = tests ? run_tests(v, tests) : print_ids(v, text, strlen(text), !no_bos, special, false, pieces);
    tok_free(v);
    if (fflush(stdout) != 0) {
        cli_error("tokenize: writing output failed");
        rc = 1;
    }
    return rc;
}
