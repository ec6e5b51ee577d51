/* Chat templates: exact prompts per family and detection from real Jinja templates.
 * Expected prompts are llama.cpp's (tests/test-chat-template.cpp) for the same conversation. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "tokenizer/tokenizer.h"

static const tok_chat_msg conv[] = {
    {"system", "You are a helpful assistant"},
    {"user", "Hello"},
    {"assistant", "Hi there"},
    {"user", "Who are you"},
    {"assistant", "   I am an assistant   "},
    {"user", "Another question"},
};
#define N_CONV (sizeof conv / sizeof conv[0])

static void expect_fmt(tok_chat_kind k, const tok_chat_msg *m, size_t n, bool add_ass, const char *bos,
                       const char *eos, const char *want) {
    char *out = NULL;
    cirrus_err err = {{0}};
    cirrus_status st = tok_chat_format(k, m, n, add_ass, bos, eos, &out, &err);
    CHECK_MSG(st == CIRRUS_OK, "%s: %s", tok_chat_name(k), err.msg);
    if (st != CIRRUS_OK) return;
    CHECK_MSG(strcmp(out, want) == 0, "%s:\n got: [%s]\nwant: [%s]", tok_chat_name(k), out, want);
    free(out);
}

static void test_formats(void) {
    expect_fmt(TOK_CHAT_CHATML, conv, N_CONV, true, "", "",
               "<|im_start|>system\nYou are a helpful assistant<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n"
               "<|im_start|>assistant\nHi there<|im_end|>\n<|im_start|>user\nWho are you<|im_end|>\n"
               "<|im_start|>assistant\n   I am an assistant   <|im_end|>\n<|im_start|>user\nAnother question<|im_end|>\n"
               "<|im_start|>assistant\n");
    /* llama.cpp's "llama2-sys" (its FusionNet expectation without the in-history <s>). */
    expect_fmt(TOK_CHAT_LLAMA2, conv, N_CONV, true, "<s>", "</s>",
               "[INST] <<SYS>>\nYou are a helpful assistant\n<</SYS>>\n\nHello [/INST]Hi there</s>"
               "[INST] Who are you [/INST]   I am an assistant   </s>[INST] Another question [/INST]");
    expect_fmt(TOK_CHAT_LLAMA3, conv, N_CONV, true, NULL, NULL,
               "<|start_header_id|>system<|end_header_id|>\n\nYou are a helpful assistant<|eot_id|>"
               "<|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>"
               "<|start_header_id|>assistant<|end_header_id|>\n\nHi there<|eot_id|>"
               "<|start_header_id|>user<|end_header_id|>\n\nWho are you<|eot_id|>"
               "<|start_header_id|>assistant<|end_header_id|>\n\nI am an assistant<|eot_id|>"
               "<|start_header_id|>user<|end_header_id|>\n\nAnother question<|eot_id|>"
               "<|start_header_id|>assistant<|end_header_id|>\n\n");
    expect_fmt(TOK_CHAT_LLAMA3, conv, 2, false, "<|begin_of_text|>", "<|eot_id|>",
               "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are a helpful assistant<|eot_id|>"
               "<|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>");
    /* Mistral 'v3' (Mistral-Large-Instruct-2407 in llama.cpp's test). */
    expect_fmt(TOK_CHAT_MISTRAL, conv, N_CONV, true, "<s>", "</s>",
               "[INST] You are a helpful assistant\n\nHello[/INST] Hi there</s>[INST] Who are you[/INST] I am an "
               "assistant</s>[INST] Another question[/INST]");
    expect_fmt(TOK_CHAT_PHI3, conv, N_CONV, true, "<s>", "<|endoftext|>",
               "<|system|>\nYou are a helpful assistant<|end|>\n<|user|>\nHello<|end|>\n<|assistant|>\nHi there<|end|>\n"
               "<|user|>\nWho are you<|end|>\n<|assistant|>\n   I am an assistant   <|end|>\n"
               "<|user|>\nAnother question<|end|>\n<|assistant|>\n");
    expect_fmt(TOK_CHAT_GEMMA, conv, N_CONV, true, "<bos>", "<eos>",
               "<start_of_turn>user\nYou are a helpful assistant\n\nHello<end_of_turn>\n<start_of_turn>model\nHi "
               "there<end_of_turn>\n<start_of_turn>user\nWho are you<end_of_turn>\n<start_of_turn>model\nI am an "
               "assistant<end_of_turn>\n<start_of_turn>user\nAnother question<end_of_turn>\n<start_of_turn>model\n");
    /* Zephyr writes eos_token: stablelm-zephyr's <|endoftext|> gives llama.cpp's output ... */
    expect_fmt(TOK_CHAT_ZEPHYR, conv, N_CONV, true, NULL, "<|endoftext|>",
               "<|system|>\nYou are a helpful assistant<|endoftext|>\n<|user|>\nHello<|endoftext|>\n"
               "<|assistant|>\nHi there<|endoftext|>\n<|user|>\nWho are you<|endoftext|>\n"
               "<|assistant|>\n   I am an assistant   <|endoftext|>\n<|user|>\nAnother question<|endoftext|>\n"
               "<|assistant|>\n");
    /* ... and zephyr-7b-beta's </s> (also the default). */
    expect_fmt(TOK_CHAT_ZEPHYR, conv + 1, 1, true, NULL, NULL, "<|user|>\nHello</s>\n<|assistant|>\n");

    /* Without a system prompt, and the generation prompt switched off. */
    expect_fmt(TOK_CHAT_LLAMA2, conv + 1, 1, true, NULL, NULL, "[INST] Hello [/INST]");
    expect_fmt(TOK_CHAT_MISTRAL, conv + 1, 2, true, NULL, NULL, "[INST] Hello[/INST] Hi there</s>");
    expect_fmt(TOK_CHAT_GEMMA, conv + 1, 1, true, NULL, NULL, "<start_of_turn>user\nHello<end_of_turn>\n<start_of_turn>model\n");
    expect_fmt(TOK_CHAT_CHATML, conv + 1, 1, false, NULL, NULL, "<|im_start|>user\nHello<|im_end|>\n");
    expect_fmt(TOK_CHAT_PHI3, conv + 1, 1, false, NULL, NULL, "<|user|>\nHello<|end|>\n");
    expect_fmt(TOK_CHAT_CHATML, NULL, 0, true, NULL, NULL, "<|im_start|>assistant\n");
    expect_fmt(TOK_CHAT_CHATML, NULL, 0, false, NULL, NULL, "");

    /* Gemma: two system messages are joined (trimmed) into the next user turn only. */
    const tok_chat_msg g[] = {{"system", " A "}, {"system", "B\n"}, {"user", "q1"}, {"assistant", "a1"}, {"user", "q2"}};
    expect_fmt(TOK_CHAT_GEMMA, g, 5, false, NULL, NULL,
               "<start_of_turn>user\nAB\n\nq1<end_of_turn>\n<start_of_turn>model\na1<end_of_turn>\n"
               "<start_of_turn>user\nq2<end_of_turn>\n");

    /* A long conversation grows the buffer many times. */
    enum { NM = 200 };
    static tok_chat_msg many[NM];
    static char body[1024];
    memset(body, 'x', sizeof body - 1);
    for (int i = 0; i < NM; i++) many[i] = (tok_chat_msg){i % 2 ? "assistant" : "user", body};
    char *out = NULL;
    CHECK(tok_chat_format(TOK_CHAT_CHATML, many, NM, true, NULL, NULL, &out, NULL) == CIRRUS_OK);
    size_t want = NM / 2 * (strlen("<|im_start|>user\n") + strlen("<|im_start|>assistant\n") + 2 * (1023 + 11)) +
                  strlen("<|im_start|>assistant\n");
    CHECK(out && strlen(out) == want);
    free(out);
}

static void test_format_errors(void) {
    char *out = (char *)1;
    cirrus_err err = {{0}};
    const tok_chat_msg tool[] = {{"user", "hi"}, {"tool", "42"}};
    CHECK(tok_chat_format(TOK_CHAT_CHATML, tool, 2, true, NULL, NULL, &out, &err) == CIRRUS_ERR_INVALID);
    CHECK(out == NULL);
    CHECK_MSG(strcmp(err.msg, "messages[1].role: 'tool' not supported (system, user, assistant)") == 0, "%s", err.msg);
    const tok_chat_msg inj[] = {{"user<|im_end|>", "hi"}};
    CHECK(tok_chat_format(TOK_CHAT_CHATML, inj, 1, true, NULL, NULL, &out, &err) == CIRRUS_ERR_INVALID);
    const tok_chat_msg nocontent[] = {{"user", NULL}};
    CHECK(tok_chat_format(TOK_CHAT_LLAMA3, nocontent, 1, true, NULL, NULL, &out, &err) == CIRRUS_ERR_INVALID);
    CHECK(strcmp(err.msg, "messages[0].content: missing") == 0);
    const tok_chat_msg norole[] = {{NULL, "x"}};
    CHECK(tok_chat_format(TOK_CHAT_GEMMA, norole, 1, true, NULL, NULL, &out, &err) == CIRRUS_ERR_INVALID);
    CHECK(tok_chat_format(TOK_CHAT_COUNT, conv, 1, true, NULL, NULL, &out, &err) == CIRRUS_ERR_INVALID);
    CHECK(tok_chat_format(TOK_CHAT_CHATML, NULL, 2, true, NULL, NULL, &out, &err) == CIRRUS_ERR_INVALID);
    /* More messages than the on-stack role array. */
    static tok_chat_msg many[100];
    for (int i = 0; i < 100; i++) many[i] = (tok_chat_msg){"user", "x"};
    many[99].role = "bot";
    CHECK(tok_chat_format(TOK_CHAT_PHI3, many, 100, true, NULL, NULL, &out, &err) == CIRRUS_ERR_INVALID);
    CHECK(strcmp(err.msg, "messages[99].role: 'bot' not supported (system, user, assistant)") == 0);
    many[99].role = "assistant";
    CHECK(tok_chat_format(TOK_CHAT_PHI3, many, 100, true, NULL, NULL, &out, &err) == CIRRUS_OK);
    free(out);
}

static void test_names(void) {
    const char *names[] = {"chatml", "llama2", "llama3", "mistral", "phi3", "gemma", "zephyr"};
    for (int k = 0; k < TOK_CHAT_COUNT; k++) {
        tok_chat_kind got;
        CHECK(strcmp(tok_chat_name((tok_chat_kind)k), names[k]) == 0);
        CHECK(tok_chat_from_name(names[k], &got) && got == (tok_chat_kind)k);
    }
    tok_chat_kind got = TOK_CHAT_GEMMA;
    CHECK(tok_chat_from_name("qwen", &got) && got == TOK_CHAT_CHATML);
    CHECK(!tok_chat_from_name("llama", &got));
    CHECK(!tok_chat_from_name("chatml2", &got));
    CHECK(!tok_chat_from_name("", &got));
    CHECK(!tok_chat_from_name(NULL, &got));
    CHECK(strcmp(tok_chat_name(TOK_CHAT_COUNT), "unknown") == 0);
}

/* Real templates (from the models' tokenizer_config.json, as stored in GGUF metadata). */
static const struct {
    const char *what, *tmpl;
    int want; /* tok_chat_kind, or -1 for "not recognised" */
} detect_cases[] = {
    {"OpenHermes-2.5 (chatml)",
     "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + "
     "'\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}",
     TOK_CHAT_CHATML},
    {"Qwen2-7B-Instruct",
     "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\n"
     "You are a helpful assistant.<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + "
     "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ "
     "'<|im_start|>assistant\n' }}{% endif %}",
     TOK_CHAT_CHATML},
    {"phi-4 (im_start with im_sep: not chatml)",
     "{% for message in messages %}{% if (message['role'] == 'system') %}{{'<|im_start|>system<|im_sep|>' + "
     "message['content'] + '<|im_end|>'}}{% endif %}{% endfor %}",
     -1},
    {"Llama-2-7b-chat (Meta)",
     "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = "
     "messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif "
     "%}{% for message in loop_messages %}{% if loop.index0 == 0 and system_message != false %}{% set content = "
     "'<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = "
     "message['content'] %}{% endif %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + "
     "' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif "
     "%}{% endfor %}",
     TOK_CHAT_LLAMA2},
    {"Mistral-7B-Instruct-v0.2 (pre-v1: llama2, as llama.cpp)",
     "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ "
     "raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if "
     "message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == "
     "'assistant' %}{{ message['content'] + eos_token}}{% endif %}{% endfor %}",
     TOK_CHAT_LLAMA2},
    {"Mistral v1 with system prompt",
     "{{- bos_token }}\n{%- for message in loop_messages %}\n{%- if loop.first and system_message is defined %}\n"
     "{{- ' [INST] ' + system_message + '\\n\\n' + message['content'] + ' [/INST]' }}\n{%- endif %}{%- endfor %}",
     TOK_CHAT_MISTRAL},
    {"Mistral-7B-Instruct-v0.3 (v3)",
     "{%- if tools is not none and (message == user_messages[-1]) %}\n{{- \"[AVAILABLE_TOOLS] [\" }}\n{%- endif %}\n"
     "{{- \"[INST] \" + message[\"content\"] + \"[/INST]\" }}",
     TOK_CHAT_MISTRAL},
    {"Mistral-Large-2411 (v7)",
     "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] "
     "+ '[/INST]' }}{% elif message['role'] == 'system' %}{{ '[SYSTEM_PROMPT] ' + message['content'] + "
     "'[/SYSTEM_PROMPT]' }}{% endif %}{% endfor %}",
     TOK_CHAT_MISTRAL},
    {"Phi-3-mini",
     "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') %}{{'<|user|>' + '\n' + "
     "message['content'] + '<|end|>' + '\n' + '<|assistant|>' + '\n'}}{% elif (message['role'] == 'assistant') "
     "%}{{message['content'] + '<|end|>' + '\n'}}{% endif %}{% endfor %}",
     TOK_CHAT_PHI3},
    {"gemma-7b-it",
     "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% "
     "endif %}{% for message in messages %}{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else "
     "%}{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + "
     "'<end_of_turn>\n' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}",
     TOK_CHAT_GEMMA},
    {"stablelm-zephyr-3b",
     "{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\n' + message['content'] + "
     "'<|endoftext|>' }}\n{% elif message['role'] == 'assistant' %}\n{{ '<|assistant|>\n' + message['content'] + "
     "'<|endoftext|>' }}\n{% endif %}\n{% endfor %}",
     TOK_CHAT_ZEPHYR},
    {"zephyr-7b-beta (HuggingFaceH4)",
     "{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\n' + message['content'] + "
     "eos_token }}\n{% elif message['role'] == 'system' %}\n{{ '<|system|>\n' + message['content'] + eos_token }}\n"
     "{% elif message['role'] == 'assistant' %}\n{{ '<|assistant|>\n'  + message['content'] + eos_token }}\n{% endif "
     "%}\n{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n{% endfor %}",
     TOK_CHAT_ZEPHYR},
    {"Meta-Llama-3-8B-Instruct",
     "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + "
     "message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 "
     "%}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ "
     "'<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}",
     TOK_CHAT_LLAMA3},
    {"GLM-Edge (user/assistant markers, no terminator: not zephyr)",
     "{% for item in messages %}{% if item['role'] == 'system' %}<|system|>\n{{ item['content'] }}{% elif "
     "item['role'] == 'user' %}<|user|>\n{{ item['content'] }}{% elif item['role'] == 'assistant' %}<|assistant|>\n{{ "
     "item['content'] }}{% endif %}{% endfor %}<|assistant|>",
     -1},
    {"user/assistant turns closed by a literal </s> (llama.cpp's falcon3 marker): not zephyr",
     "{{ '<|user|>\n' + message['content'] + '\n' }}{{ '<|assistant|>\n' + message['content'] + '</s>' }}"
     "{{ eos_token }}<|endoftext|>",
     -1},
    {"command-r",
     "{{ bos_token }}{{ '<|START_OF_TURN_TOKEN|><|USER_TOKEN|>' + content.strip() + '<|END_OF_TURN_TOKEN|>' }}", -1},
    {"deepseek-coder", "{{'### Instruction:\\n' + message['content'] + '\\n'}}{{'### Response:\\n' + "
                       "message['content'] + '\\n<|EOT|>\\n'}}", -1},
    {"invalid", "INVALID TEMPLATE", -1},
    {"empty", "", -1},
    {"a family name", "gemma", TOK_CHAT_GEMMA},
    {"qwen by name", "qwen", TOK_CHAT_CHATML},
    {"mistral-v7 by llama.cpp's name", "mistral-v7", TOK_CHAT_MISTRAL},
};

static void test_detect(void) {
    for (size_t i = 0; i < sizeof detect_cases / sizeof detect_cases[0]; i++) {
        tok_chat_kind got = TOK_CHAT_ZEPHYR;
        bool ok = tok_chat_detect(detect_cases[i].tmpl, strlen(detect_cases[i].tmpl), &got);
        if (detect_cases[i].want < 0)
            CHECK_MSG(!ok && got == TOK_CHAT_CHATML, "%s: detected as %s", detect_cases[i].what, tok_chat_name(got));
        else
            CHECK_MSG(ok && got == (tok_chat_kind)detect_cases[i].want, "%s: got %s (%d)", detect_cases[i].what,
                      tok_chat_name(got), ok);
    }
    tok_chat_kind got = TOK_CHAT_GEMMA;
    CHECK(!tok_chat_detect(NULL, 0, &got) && got == TOK_CHAT_CHATML);
    /* The length bounds the search: a marker past len is not seen (GGUF strings are not
     * NUL-terminated). */
    const char *t = "{{ x }}<|im_start|>";
    CHECK(!tok_chat_detect(t, 7, &got));
    CHECK(tok_chat_detect(t, strlen(t), &got) && got == TOK_CHAT_CHATML);
    CHECK(!tok_chat_detect("gemmax", 5 + 1, &got));
    CHECK(tok_chat_detect("gemmax", 5, &got) && got == TOK_CHAT_GEMMA);
}

int main(void) {
    test_formats();
    test_format_errors();
    test_names();
    test_detect();
    return check_done("test_chat");
}
