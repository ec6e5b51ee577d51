/*
 * tokenizer — text <-> token ids from a GGUF file's tokenizer.* metadata, and chat templates.
 *
 *  - SPM (`tokenizer.ggml.model` = "llama"): sentencepiece BPE over scores, byte fallback
 *    (<0xNN> tokens), the "▁" whitespace convention and add_space_prefix, as llama.cpp does.
 *  - BPE (`tokenizer.ggml.model` = "gpt2"): byte-level BPE over `tokenizer.ggml.merges`, with the
 *    pre-tokenizer named by `tokenizer.ggml.pre` (default/gpt-2, llama3/llama-bpe, qwen2,
 *    deepseek-llm, deepseek-coder, falcon, mpt, starcoder, refact), Unicode classes via PCRE2.
 *  - Special and control tokens (token_type), add_bos / add_eos, end-of-generation ids.
 *  - A streaming detokenizer that holds back incomplete UTF-8 sequences so a streamed response
 *    never splits a character.
 *
 * tokenizer reads metadata through the gguf module and never touches weights.
 */
#ifndef CIRRUS_TOKENIZER_H
#define CIRRUS_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "gguf/gguf.h"

typedef struct tok_vocab tok_vocab;

typedef enum { TOK_KIND_SPM, TOK_KIND_BPE } tok_kind;

/* Loads the vocabulary from g (copies what it needs: g may be closed afterwards). */
cirrus_status tok_load(const gguf_ctx *g, tok_vocab **out, cirrus_err *err);
void tok_free(tok_vocab *v);

tok_kind tok_get_kind(const tok_vocab *v);
const char *tok_pre_name(const tok_vocab *v); /* pre-tokenizer name, "" for SPM */
int32_t tok_n_vocab(const tok_vocab *v);
int32_t tok_bos(const tok_vocab *v); /* -1 if none */
int32_t tok_eos(const tok_vocab *v); /* -1 if none */
bool tok_add_bos(const tok_vocab *v);
bool tok_add_eos(const tok_vocab *v);
/* End of generation: eos, eot, eom and other tokens that end a turn. */
bool tok_is_eog(const tok_vocab *v, int32_t id);
/* Special or control token (rendered only when asked). */
bool tok_is_special(const tok_vocab *v, int32_t id);

/*
 * Tokenizes text[0..len). add_special: prepend BOS / append EOS as the vocabulary asks.
 * parse_special: recognise the text of special/control tokens in the input (chat templates need
 * this; user content must not get it). On success *ids is malloc'ed (caller frees) with *n ids.
 * Text past 32 MiB is refused (CIRRUS_ERR_RANGE). Safe to call from several threads at once.
 */
cirrus_status tok_encode(const tok_vocab *v, const char *text, size_t len, bool add_special,
                         bool parse_special, int32_t **ids, size_t *n, cirrus_err *err);

/* The raw bytes a token stands for (byte tokens decoded, "▁" -> " ", BPE byte map undone).
 * Special tokens render as their text only if render_special, else as nothing. Returns the byte
 * count, which may exceed cap (then nothing past cap is written). Returns 0 for invalid ids. */
size_t tok_piece(const tok_vocab *v, int32_t id, bool render_special, char *buf, size_t cap);

/* The vocabulary string of an id as stored (for logs and `model info`). NULL if invalid. */
const char *tok_text(const tok_vocab *v, int32_t id);

/* The longest piece any id renders to (bytes, with render_special). */
size_t tok_max_piece(const tok_vocab *v);

/*
 * Streaming detokenizer. Feed ids one at a time; it emits only complete, valid UTF-8 characters
 * and holds back a trailing partial one until the next id completes it (or flush emits it as
 * U+FFFD); bytes that can never form a character come out as U+FFFD at once.
 * For SPM it also drops the leading space the tokenizer added at the start of the text: when
 * streaming a continuation of a prompt, set at_start = false after tok_stream_init.
 */
typedef struct {
    char pending[8];
    int n_pending;
    bool at_start; /* no byte emitted yet */
} tok_stream;

void tok_stream_init(tok_stream *s);
/* Appends decoded bytes to out (up to cap); returns bytes written. cap >= 3 * (tok_max_piece(v) + 4)
 * guarantees room (64 does for pieces of up to 17 bytes); with less, characters that do not fit
 * are dropped, never split. */
size_t tok_stream_push(const tok_vocab *v, tok_stream *s, int32_t id, bool render_special, char *out,
                       size_t cap);
size_t tok_stream_flush(tok_stream *s, char *out, size_t cap);

/* ---- chat templates ------------------------------------------------------------------------ */

typedef enum {
    TOK_CHAT_CHATML, /* also qwen */
    TOK_CHAT_LLAMA2,
    TOK_CHAT_LLAMA3,
    TOK_CHAT_MISTRAL,
    TOK_CHAT_PHI3,
    TOK_CHAT_GEMMA,
    TOK_CHAT_ZEPHYR,
    TOK_CHAT_COUNT
} tok_chat_kind;

typedef struct {
    const char *role; /* "system", "user", "assistant" */
    const char *content;
} tok_chat_msg;

const char *tok_chat_name(tok_chat_kind k);
/* NAME -> kind ("chatml", "qwen", "llama2", "llama3", "mistral", "phi3", "gemma", "zephyr"). */
bool tok_chat_from_name(const char *name, tok_chat_kind *out);
/* Recognises the family of a Jinja `tokenizer.chat_template` by its markers. tmpl may be NULL.
 * Returns false (and *out = CHATML) when not recognised: the caller warns. */
bool tok_chat_detect(const char *tmpl, size_t len, tok_chat_kind *out);
/* Formats messages as the template would, ending with the assistant prefix if add_assistant.
 * bos_text/eos_text are the vocabulary's BOS/EOS strings (some templates write them). *out is
 * malloc'ed, NUL-terminated. */
cirrus_status tok_chat_format(tok_chat_kind k, const tok_chat_msg *msgs, size_t n, bool add_assistant,
                              const char *bos_text, const char *eos_text, char **out, cirrus_err *err);
/* The same for contents that may hold NUL bytes (request text): lens[i] is msgs[i].content's
 * length (lens NULL: C strings), and *out_len the result's, which is read by its length, not with
 * strlen. out_len may be NULL. */
cirrus_status tok_chat_format_n(tok_chat_kind k, const tok_chat_msg *msgs, const size_t *lens, size_t n,
                                bool add_assistant, const char *bos_text, const char *eos_text, char **out,
                                size_t *out_len, cirrus_err *err);

#endif
