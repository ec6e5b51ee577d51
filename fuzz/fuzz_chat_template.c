/*
 * libFuzzer target for the chat templates (src/tokenizer/chat.c): any message list through
 * tok_chat_format, and any `tokenizer.chat_template` text (a GGUF file's, untrusted) through
 * tok_chat_detect. Checked: a list with a role other than system/user/assistant fails with a
 * message and no output; any other list formats, and every message's content (trimmed, as some
 * templates trim) is in the output, in order, so no turn is dropped or reordered. Gemma is checked
 * for its user and assistant turns only: it folds system messages into the next user turn and,
 * like llama.cpp, drops those after the last one.
 *
 * Input: NUL-separated chunks. The first byte picks the template and flags; the rest of the first
 * chunk is a template text for detection. Each further chunk is a message: its first byte picks
 * the role (system, user, assistant, or else the rest of the chunk is the role), the rest is the
 * content.
 *
 *     CC=clang cmake -S . -B build-fuzz -DCIRRUS_FUZZ=ON && cmake --build build-fuzz --target fuzz_chat_template
 *     ./build-fuzz/fuzz_chat_template -max_total_time=60 fuzz/corpus/chat_template
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer.h"

static bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    char *buf = malloc(size + 1); /* chunks become C strings in place */
    if (!buf) return 0;
    memcpy(buf, data, size);
    buf[size] = 0;
    uint8_t sel = data[0];
    tok_chat_kind k = (tok_chat_kind)(sel % TOK_CHAT_COUNT);
    bool add_assistant = sel & 0x80;
    const char *bos = sel & 0x40 ? "<|begin_of_text|>" : NULL, *eos = sel & 0x20 ? "<|eot_id|>" : NULL;

    size_t first = strlen(buf + 1) + 1; /* end of the first chunk */
    tok_chat_kind detected;
    if (tok_chat_detect(buf + 1, first - 1, &detected) && (unsigned)detected >= TOK_CHAT_COUNT) abort();
    if ((unsigned)detected >= TOK_CHAT_COUNT || !strcmp(tok_chat_name(detected), "unknown")) abort();

    size_t n = 0;
    for (size_t i = first; i < size; i++) n += buf[i] == 0;
    tok_chat_msg *msgs = calloc(n ? n : 1, sizeof *msgs);
    if (!msgs) {
        free(buf);
        return 0;
    }
    static const char *const roles[] = {"system", "user", "assistant"};
    bool all_known = true;
    for (size_t i = 0, p = first + 1; i < n; i++) {
        const char *c = buf + p;
        size_t len = strlen(c);
        if (len && (uint8_t)c[0] % 4 < 3) {
            msgs[i].role = roles[(uint8_t)c[0] % 4];
            msgs[i].content = c + 1;
        } else {
            msgs[i].role = len ? c + 1 : "";
            msgs[i].content = "";
            all_known = all_known && (!strcmp(msgs[i].role, "system") || !strcmp(msgs[i].role, "user") ||
                                      !strcmp(msgs[i].role, "assistant"));
        }
        p += len + 1;
    }

    char *out = NULL;
    cirrus_err err = {{0}};
    cirrus_status st = tok_chat_format(k, msgs, n, add_assistant, bos, eos, &out, &err);
    if (st != CIRRUS_OK) {
        if (all_known || out || !err.msg[0]) abort(); /* only an unknown role may fail */
    } else {
        if (!all_known || !out) abort();
        const char *at = out;
        for (size_t i = 0; i < n; i++) {
            if (k == TOK_CHAT_GEMMA && !strcmp(msgs[i].role, "system")) continue;
            const char *c = msgs[i].content;
            size_t len = strlen(c);
            while (len && is_space(*c)) c++, len--;
            while (len && is_space(c[len - 1])) len--;
            const char *m = memmem(at, strlen(at), c, len);
            if (!m) abort(); /* a turn lost, or out of order */
            at = m + len;
        }
    }
    free(out);
    free(msgs);
    free(buf);
    return 0;
}
