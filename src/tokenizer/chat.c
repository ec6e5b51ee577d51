/*
 * Chat templates: the handful of prompt formats that cover most GGUF chat models, written in C
 * instead of running the model's Jinja template (no Jinja engine in cirrus).
 *
 * Detection and formatting follow llama.cpp's llm_chat_detect_template / llm_chat_apply_template
 * (src/llama-chat.cpp), so a model formats the same way under cirrus as under llama.cpp:
 *
 *  chatml   <|im_start|>{role}\n{content}<|im_end|>\n ...  <|im_start|>assistant\n
 *  llama2   [INST] <<SYS>>\n{system}\n<</SYS>>\n\n{user} [/INST]{assistant}</s>[INST] {user} [/INST]
 *           (llama.cpp's "llama2-sys" variant: Meta's format with a system prompt; no BOS inside
 *           the history and no stripping, which llama.cpp keeps for two rarer variants)
 *  llama3   <|begin_of_text|><|start_header_id|>{role}<|end_header_id|>\n\n{content}<|eot_id|> ...
 *  mistral  [INST] {system}\n\n{user}[/INST] {assistant}</s>[INST] {user}[/INST]
 *  phi3     <|{role}|>\n{content}<|end|>\n ...  <|assistant|>\n
 *  gemma    <start_of_turn>user\n{system}\n\n{user}<end_of_turn>\n<start_of_turn>model\n...
 *  zephyr   <|{role}|>\n{content}{eos}\n ...  <|assistant|>\n
 *
 * Mistral has had four official formats (v1, v3, v3-tekken, v7; Mistral's cookbook, "templates.md").
 * We write v3 — the system prompt folded into the first [INST] with "\n\n", a space before the
 * answer, the answer trimmed — because it is what Mistral-7B-Instruct-v0.3, Mixtral-8x22B,
 * Codestral and Mistral-Large-2407 use, and its [INST] / [/INST] markers are the ones every Mistral
 * vocabulary has ([SYSTEM_PROMPT] of v7 only exists in the newest tekken vocabularies). Older
 * [INST] templates without Mistral's own markers are detected as llama2, as llama.cpp does.
 *
 * BOS / EOS: only llama3 writes bos_text (Meta's template starts with it; pass NULL or "" to leave
 * it out). The other formats expect the tokenizer to add BOS. So a caller that passes bos_text
 * tokenizes with add_special = !(output starts with bos_text), and always with parse_special.
 * eos_text ends the assistant turns of llama2 / mistral / zephyr (their templates write eos_token);
 * NULL or "" means "</s>", what llama.cpp writes literally.
 *
 * Message content is pasted as is: a user who writes "<|im_end|>" can fake a turn once the result
 * is tokenized with parse_special. Keeping content out of special-token parsing needs the
 * tokenizer to see template text and content apart, which this string interface cannot express.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenizer.h"

static const char *const chat_names[TOK_CHAT_COUNT] = {
    [TOK_CHAT_CHATML] = "chatml", [TOK_CHAT_LLAMA2] = "llama2", [TOK_CHAT_LLAMA3] = "llama3",
    [TOK_CHAT_MISTRAL] = "mistral", [TOK_CHAT_PHI3] = "phi3", [TOK_CHAT_GEMMA] = "gemma",
    [TOK_CHAT_ZEPHYR] = "zephyr",
};

const char *tok_chat_name(tok_chat_kind k) {
    return (unsigned)k < TOK_CHAT_COUNT ? chat_names[k] : "unknown";
}

static bool from_name(const char *name, size_t len, tok_chat_kind *out) {
    if (len == 4 && memcmp(name, "qwen", 4) == 0) {
        *out = TOK_CHAT_CHATML;
        return true;
    }
    for (int k = 0; k < TOK_CHAT_COUNT; k++) {
        if (strlen(chat_names[k]) == len && memcmp(chat_names[k], name, len) == 0) {
            *out = (tok_chat_kind)k;
            return true;
        }
    }
    return false;
}

bool tok_chat_from_name(const char *name, tok_chat_kind *out) {
    return name && from_name(name, strlen(name), out);
}

/* ---- detection -------------------------------------------------------------------------------- */

typedef struct {
    const char *t;
    size_t len;
} tmpl_text;

static bool has(tmpl_text t, const char *marker) {
    return memmem(t.t, t.len, marker, strlen(marker)) != NULL;
}

/*
 * The same marker tests, in the same order, as llama.cpp's llm_chat_detect_template. Families we
 * do not format (phi4, smolvlm, chatglm, falcon3, glm-edge, monarch, orion, openchat, vicuna,
 * deepseek, command-r) still get their test at their place in the order, answering "unknown", so
 * that their templates are never mistaken for one of ours by a later, looser test.
 * Returns TOK_CHAT_COUNT for "unknown".
 */
static tok_chat_kind detect(tmpl_text t) {
    if (has(t, "<|im_start|>")) {
        if (has(t, "<|im_sep|>") || has(t, "<end_of_utterance>")) return TOK_CHAT_COUNT; /* phi4, smolvlm */
        return TOK_CHAT_CHATML;
    }
    bool mistral_name = t.len >= 7 && memcmp(t.t, "mistral", 7) == 0; /* llama.cpp's "mistral-v7" etc. */
    if (mistral_name || has(t, "[INST]")) {
        /* Mistral's official templates: v7 has [SYSTEM_PROMPT], v1 prepends ' [INST] ' to the
         * system message, v3 / v3-tekken advertise [AVAILABLE_TOOLS]. Everything else with
         * [INST] is a llama2 variant (including Mistral's own pre-v1 templates). */
        if (mistral_name || has(t, "[SYSTEM_PROMPT]") || has(t, "' [INST] ' + system_message") ||
            has(t, "[AVAILABLE_TOOLS]"))
            return TOK_CHAT_MISTRAL;
        return TOK_CHAT_LLAMA2;
    }
    if (has(t, "<|assistant|>") && has(t, "<|end|>")) return TOK_CHAT_PHI3;
    if (has(t, "[gMASK]<sop>")) return TOK_CHAT_COUNT; /* chatglm4 */
    /* Zephyr, tested before falcon3 / glm-edge (deviation): in llama.cpp's order their test
     * (<|user|> and <|assistant|>) comes first and catches every real zephyr template, since they
     * all write <|assistant|>; that leaves its zephyr test unreachable. Zephyr closes each turn
     * with <|endoftext|> (stablelm-zephyr) or eos_token (HuggingFaceH4/zephyr-7b-beta); falcon3,
     * which llama.cpp recognises by a literal </s>, and glm-edge, which closes nothing, stay out. */
    if (has(t, "<|user|>") && !has(t, "</s>") &&
        (has(t, "<|endoftext|>") || has(t, "'<|user|>\n' + message['content'] + eos_token") ||
         has(t, "'<|user|>\\n' + message['content'] + eos_token")))
        return TOK_CHAT_ZEPHYR;
    if (has(t, "<|assistant|>") && has(t, "<|user|>")) return TOK_CHAT_COUNT; /* falcon3, glm-edge */
    if (has(t, "<|{{ item['role'] }}|>") && has(t, "<|begin_of_image|>")) return TOK_CHAT_COUNT;
    if (has(t, "bos_token + message['role']")) return TOK_CHAT_COUNT; /* monarch */
    if (has(t, "<start_of_turn>")) return TOK_CHAT_GEMMA;
    if (has(t, "'\\n\\nAssistant: ' + eos_token")) return TOK_CHAT_COUNT;          /* orion */
    if (has(t, "GPT4 Correct ")) return TOK_CHAT_COUNT;                             /* openchat */
    if (has(t, "USER: ") && has(t, "ASSISTANT: ")) return TOK_CHAT_COUNT;           /* vicuna */
    if (has(t, "### Instruction:") && has(t, "<|EOT|>")) return TOK_CHAT_COUNT;     /* deepseek */
    if (has(t, "<|START_OF_TURN_TOKEN|>") && has(t, "<|USER_TOKEN|>")) return TOK_CHAT_COUNT; /* command-r */
    if (has(t, "<|start_header_id|>") && has(t, "<|end_header_id|>")) return TOK_CHAT_LLAMA3;
    return TOK_CHAT_COUNT;
}

bool tok_chat_detect(const char *tmpl, size_t len, tok_chat_kind *out) {
    *out = TOK_CHAT_CHATML;
    if (!tmpl) return false;
    /* Like llama.cpp, a template that is just a family name selects that family. */
    if (from_name(tmpl, len, out)) return true;
    tok_chat_kind k = detect((tmpl_text){tmpl, len});
    if (k == TOK_CHAT_COUNT) return false;
    *out = k;
    return true;
}

/* ---- formatting ------------------------------------------------------------------------------- */

/* A growable output string; the first failed allocation sticks and is reported once at the end. */
typedef struct {
    char *p;
    size_t n, cap;
    bool failed;
} sbuf;

static void put_n(sbuf *b, const char *s, size_t len) {
    if (b->failed) return;
    if (len > SIZE_MAX - 1 - b->n) {
        b->failed = true;
        return;
    }
    if (b->n + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + len + 1) cap = cap > SIZE_MAX / 2 ? b->n + len + 1 : cap * 2;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->failed = true;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, len);
    b->n += len;
    b->p[b->n] = 0;
}

static void put(sbuf *b, const char *s) { put_n(b, s, strlen(s)); }

static bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* A message's content, by its length: request text may hold NUL bytes ("\u0000" in JSON) and
 * is pasted exactly, never cut at the first one. */
typedef struct {
    const char *role, *content;
    size_t len;
} chat_item;
static void put_content(sbuf *b, const chat_item *m) { put_n(b, m->content, m->len); }

/* Jinja's |trim and Python's strip(): ASCII whitespace at both ends, as llama.cpp's trim(). */
static void put_content_trimmed(sbuf *b, const chat_item *m) {
    const char *s = m->content;
    size_t len = m->len, i = 0;
    while (i < len && is_space(s[i])) i++;
    while (len > i && is_space(s[len - 1])) len--;
    put_n(b, s + i, len - i);
}

typedef enum { ROLE_SYSTEM, ROLE_USER, ROLE_ASSISTANT } role;

static void fmt_chatml(sbuf *b, const chat_item *m, size_t n, bool add_ass) {
    for (size_t i = 0; i < n; i++) {
        put(b, "<|im_start|>");
        put(b, m[i].role);
        put(b, "\n");
        put_content(b, &m[i]);
        put(b, "<|im_end|>\n");
    }
    if (add_ass) put(b, "<|im_start|>assistant\n");
}

/* The answer is already cued by [/INST]; there is no separate assistant prefix to add. */
static void fmt_llama2(sbuf *b, const chat_item *m, const role *r, size_t n, const char *eos) {
    bool inside_turn = true;
    put(b, "[INST] ");
    for (size_t i = 0; i < n; i++) {
        if (!inside_turn) {
            put(b, "[INST] ");
            inside_turn = true;
        }
        if (r[i] == ROLE_SYSTEM) {
            put(b, "<<SYS>>\n");
            put_content(b, &m[i]);
            put(b, "\n<</SYS>>\n\n");
        } else if (r[i] == ROLE_USER) {
            put_content(b, &m[i]);
            put(b, " [/INST]");
        } else {
            put_content(b, &m[i]);
            put(b, eos);
            inside_turn = false;
        }
    }
}

static void fmt_llama3(sbuf *b, const chat_item *m, size_t n, bool add_ass, const char *bos) {
    if (bos) put(b, bos);
    for (size_t i = 0; i < n; i++) {
        put(b, "<|start_header_id|>");
        put(b, m[i].role);
        put(b, "<|end_header_id|>\n\n");
        put_content_trimmed(b, &m[i]);
        put(b, "<|eot_id|>");
    }
    if (add_ass) put(b, "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

static void fmt_mistral(sbuf *b, const chat_item *m, const role *r, size_t n, const char *eos) {
    bool inside_turn = false;
    for (size_t i = 0; i < n; i++) {
        if (!inside_turn) {
            put(b, "[INST] ");
            inside_turn = true;
        }
        if (r[i] == ROLE_SYSTEM) {
            put_content(b, &m[i]);
            put(b, "\n\n");
        } else if (r[i] == ROLE_USER) {
            put_content(b, &m[i]);
            put(b, "[/INST]");
        } else {
            put(b, " ");
            put_content_trimmed(b, &m[i]);
            put(b, eos);
            inside_turn = false;
        }
    }
}

static void fmt_phi3(sbuf *b, const chat_item *m, size_t n, bool add_ass) {
    for (size_t i = 0; i < n; i++) {
        put(b, "<|");
        put(b, m[i].role);
        put(b, "|>\n");
        put_content(b, &m[i]);
        put(b, "<|end|>\n");
    }
    if (add_ass) put(b, "<|assistant|>\n");
}

/* Gemma has no system role: like llama.cpp, the (trimmed) system messages since the last user turn
 * are concatenated and put at the top of the next user turn. */
static void fmt_gemma(sbuf *b, const chat_item *m, const role *r, size_t n, bool add_ass) {
    size_t pending_from = 0; /* system messages in [pending_from, i) are not written yet */
    for (size_t i = 0; i < n; i++) {
        if (r[i] == ROLE_SYSTEM) continue;
        put(b, r[i] == ROLE_ASSISTANT ? "<start_of_turn>model\n" : "<start_of_turn>user\n");
        if (r[i] == ROLE_USER) {
            size_t before = b->n;
            for (size_t j = pending_from; j < i; j++)
                if (r[j] == ROLE_SYSTEM) put_content_trimmed(b, &m[j]);
            if (b->n > before) put(b, "\n\n");
            pending_from = i + 1;
        }
        put_content_trimmed(b, &m[i]);
        put(b, "<end_of_turn>\n");
    }
    if (add_ass) put(b, "<start_of_turn>model\n");
}

static void fmt_zephyr(sbuf *b, const chat_item *m, size_t n, bool add_ass, const char *eos) {
    for (size_t i = 0; i < n; i++) {
        put(b, "<|");
        put(b, m[i].role);
        put(b, "|>\n");
        put_content(b, &m[i]);
        put(b, eos);
        put(b, "\n");
    }
    if (add_ass) put(b, "<|assistant|>\n");
}

cirrus_status tok_chat_format(tok_chat_kind k, const tok_chat_msg *msgs, size_t n, bool add_assistant,
                              const char *bos_text, const char *eos_text, char **out, cirrus_err *err) {
    return tok_chat_format_n(k, msgs, NULL, n, add_assistant, bos_text, eos_text, out, NULL, err);
}

cirrus_status tok_chat_format_n(tok_chat_kind k, const tok_chat_msg *msgs, const size_t *lens, size_t n,
                                bool add_assistant, const char *bos_text, const char *eos_text, char **out,
                                size_t *out_len, cirrus_err *err) {
    *out = NULL;
    if (out_len) *out_len = 0;
    if ((unsigned)k >= TOK_CHAT_COUNT)
        return cirrus_errf(err, CIRRUS_ERR_INVALID, "chat template: kind %d unknown", (int)k);
    if (n > 0 && !msgs) return cirrus_errf(err, CIRRUS_ERR_INVALID, "messages: missing array");
    /* Roles are checked, not passed through: several formats write the role between special
     * markers, and a role string is request input. */
    role stack_roles[64];
    chat_item stack_items[64];
    role *roles = n <= 64 ? stack_roles : malloc(n * sizeof *roles);
    chat_item *items = n <= 64 ? stack_items : malloc(n * sizeof *items);
    if (!roles || !items) {
        if (roles != stack_roles) free(roles);
        if (items != stack_items) free(items);
        return cirrus_errf(err, CIRRUS_ERR_NOMEM, "messages: out of memory");
    }
    cirrus_status st = CIRRUS_OK;
    for (size_t i = 0; i < n && st == CIRRUS_OK; i++) {
        const char *r = msgs[i].role;
        if (msgs[i].content)
            items[i] = (chat_item){r, msgs[i].content, lens ? lens[i] : strlen(msgs[i].content)};
        if (!r) st = cirrus_errf(err, CIRRUS_ERR_INVALID, "messages[%zu].role: missing", i);
        else if (!msgs[i].content) st = cirrus_errf(err, CIRRUS_ERR_INVALID, "messages[%zu].content: missing", i);
        else if (strcmp(r, "system") == 0) roles[i] = ROLE_SYSTEM;
        else if (strcmp(r, "user") == 0) roles[i] = ROLE_USER;
        else if (strcmp(r, "assistant") == 0) roles[i] = ROLE_ASSISTANT;
        else
            st = cirrus_errf(err, CIRRUS_ERR_INVALID,
                             "messages[%zu].role: '%.32s' not supported (system, user, assistant)", i, r);
    }
    const char *eos = eos_text && *eos_text ? eos_text : "</s>";
    const char *bos = bos_text && *bos_text ? bos_text : NULL;
    sbuf b = {0};
    if (st == CIRRUS_OK) {
        put(&b, ""); /* an empty conversation still yields a valid empty string */
        switch (k) {
        case TOK_CHAT_CHATML: fmt_chatml(&b, items, n, add_assistant); break;
        case TOK_CHAT_LLAMA2: fmt_llama2(&b, items, roles, n, eos); break;
        case TOK_CHAT_LLAMA3: fmt_llama3(&b, items, n, add_assistant, bos); break;
        case TOK_CHAT_MISTRAL: fmt_mistral(&b, items, roles, n, eos); break;
        case TOK_CHAT_PHI3: fmt_phi3(&b, items, n, add_assistant); break;
        case TOK_CHAT_GEMMA: fmt_gemma(&b, items, roles, n, add_assistant); break;
        case TOK_CHAT_ZEPHYR: fmt_zephyr(&b, items, n, add_assistant, eos); break;
        case TOK_CHAT_COUNT: break;
        }
        if (b.failed)
            st = cirrus_errf(err, CIRRUS_ERR_NOMEM, "chat template: out of memory formatting %zu messages", n);
    }
    if (roles != stack_roles) free(roles);
    if (items != stack_items) free(items);
    if (st != CIRRUS_OK) {
        free(b.p);
        return st;
    }
    *out = b.p;
    if (out_len) *out_len = b.n;
    return CIRRUS_OK;
}
