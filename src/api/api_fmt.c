/*
 * The shapes of generation replies, in OpenAI's terms: chat.completion / chat.completion.chunk and
 * text_completion (whole and streamed), their usage objects and their logprobs. What the two
 * endpoints share is written once here; where they differ is one api_fmt each.
 */
#include <stdio.h>
#include <string.h>

#include "api/api_call.h"

/* ---- shared pieces ------------------------------------------------------------------------------ */

void api_fmt_head(const api_call *c, jw *w, const char *object) {
    jw_key(w, "id");
    jw_cstr(w, c->id);
    jw_key(w, "object");
    jw_cstr(w, object);
    jw_key(w, "created");
    jw_int(w, c->created);
    jw_key(w, "model");
    jw_cstr(w, c->me->name);
    if (c->a->cfg.fingerprint) {
        jw_key(w, "system_fingerprint");
        jw_cstr(w, c->a->cfg.fingerprint);
    }
}

void api_fmt_usage(const api_call *c, jw *w) {
    sched_usage u;
    sched_req_usage(c->sr, &u);
    uint32_t prompt = u.prompt_tokens ? u.prompt_tokens : (uint32_t)c->n_prompt;
    jw_obj(w);
    jw_key(w, "prompt_tokens");
    jw_int(w, prompt);
    jw_key(w, "completion_tokens");
    jw_int(w, u.completion_tokens);
    jw_key(w, "total_tokens");
    jw_int(w, (int64_t)prompt + u.completion_tokens);
    jw_key(w, "prompt_tokens_details");
    jw_obj(w);
    jw_key(w, "cached_tokens");
    jw_int(w, u.cached_tokens);
    jw_obj_end(w);
    jw_key(w, "completion_tokens_details");
    jw_obj(w);
    jw_key(w, "reasoning_tokens");
    jw_int(w, 0);
    jw_obj_end(w);
    jw_obj_end(w);
}

/* The token's text as the vocabulary renders it (cut to the buffer). */
static size_t piece_of(const api_call *c, int32_t id, char *out, size_t cap) {
    size_t n = tok_piece(c->me->m.vocab, id, true, out, cap);
    return n > cap ? cap : n;
}

/* One chunk of choice i into c->chunk, then onto the stream. */
void api_fmt_chunk(api_call *c, int i, const char *text, size_t len, bool first, const char *finish, bool with_lp) {
    jw *w = &c->chunk;
    const api_fmt *f = c->work->fmt;
    jw_obj(w);
    api_fmt_head(c, w, f->chunk_object);
    jw_key(w, "choices");
    jw_arr(w);
    jw_obj(w);
    jw_key(w, "index");
    jw_int(w, i);
    f->delta(c, w, text, len, first, finish != NULL);
    if (with_lp) f->lp_obj(c, w, &c->ch[i]);
    else {
        jw_key(w, "logprobs");
        jw_null(w);
    }
    jw_key(w, "finish_reason");
    jw_cstr(w, finish);
    jw_obj_end(w);
    jw_arr_end(w);
    if (c->req.include_usage) { /* OpenAI: every chunk carries usage, null until the last */
        jw_key(w, "usage");
        jw_null(w);
    }
    jw_obj_end(w);
    api_gen_emit(c);
}

void api_fmt_usage_chunk(api_call *c) {
    jw *w = &c->chunk;
    jw_obj(w);
    api_fmt_head(c, w, c->work->fmt->chunk_object);
    jw_key(w, "choices");
    jw_arr(w);
    jw_arr_end(w);
    jw_key(w, "usage");
    api_fmt_usage(c, w);
    jw_obj_end(w);
    api_gen_emit(c);
}

void api_fmt_whole(api_call *c, jw *w, const char *(*finish_str)(sched_finish)) {
    const api_fmt *f = c->work->fmt;
    jw_obj(w);
    api_fmt_head(c, w, f->object);
    jw_key(w, "choices");
    jw_arr(w);
    for (int i = 0; i < c->req.n; i++) {
        api_choice *ch = &c->ch[i];
        jw_obj(w);
        jw_key(w, "index");
        jw_int(w, i);
        f->choice(c, w, ch);
        f->lp_obj(c, w, ch);
        jw_key(w, "finish_reason");
        jw_cstr(w, finish_str(ch->finish) ? finish_str(ch->finish) : "length");
        jw_obj_end(w);
    }
    jw_arr_end(w);
    jw_key(w, "usage");
    api_fmt_usage(c, w);
    jw_obj_end(w);
}

/* Appends the finished items of one list as a JSON array's contents, then empties the list. */
static void lp_list(jw *w, const char *key, jw *items) {
    jw_key(w, key);
    jw_arr(w);
    if (jw_len(items)) {
        jw_raw(w, jw_data(items), jw_len(items));
        w->first[w->depth - 1] = false;
    }
    jw_arr_end(w);
    jw_reset(items);
}

/* ---- chat: "message" / "delta", logprobs as content items ----------------------------------- */

/* {"token","logprob","bytes"[,"top_logprobs"]} of one id. */
static void token_lp(const api_call *c, jw *w, int32_t id, float lp, const smp_logprobs *top) {
    char piece[256];
    size_t n = piece_of(c, id, piece, sizeof piece);
    jw_obj(w);
    jw_key(w, "token");
    jw_str(w, piece, n);
    jw_key(w, "logprob");
    jw_num(w, lp);
    jw_key(w, "bytes");
    jw_arr(w);
    for (size_t i = 0; i < n; i++) jw_int(w, (unsigned char)piece[i]);
    jw_arr_end(w);
    if (top) {
        jw_key(w, "top_logprobs");
        jw_arr(w);
        for (int32_t i = 0; i < top->n_top && i < c->req.top_logprobs; i++)
            token_lp(c, w, top->top_ids[i], top->top_logprobs[i], NULL);
        jw_arr_end(w);
    }
    jw_obj_end(w);
}

static void chat_choice(const api_call *c, jw *w, const api_choice *ch) {
    (void)c;
    jw_key(w, "message");
    jw_obj(w);
    jw_key(w, "role");
    jw_cstr(w, "assistant");
    jw_key(w, "content");
    jw_str(w, jw_data(&ch->text), jw_len(&ch->text));
    jw_key(w, "refusal");
    jw_null(w);
    jw_obj_end(w);
}

static void chat_delta(const api_call *c, jw *w, const char *text, size_t len, bool first, bool finish) {
    (void)c;
    jw_key(w, "delta");
    jw_obj(w);
    if (first) {
        jw_key(w, "role");
        jw_cstr(w, "assistant");
    }
    if (first || len || !finish) {
        jw_key(w, "content");
        jw_str(w, text, len);
    }
    jw_obj_end(w);
}

static void chat_lp_add(const api_call *c, api_choice *ch, const sched_event *ev, size_t text_off) {
    (void)text_off;
    if (jw_len(&ch->lp[0])) jw_raw(&ch->lp[0], ",", 1);
    token_lp(c, &ch->lp[0], ev->lp.id, ev->lp.logprob, &ev->lp);
}

static void chat_lp_obj(const api_call *c, jw *w, api_choice *ch) {
    jw_key(w, "logprobs");
    if (!c->req.logprobs) {
        jw_null(w);
        return;
    }
    jw_obj(w);
    lp_list(w, "content", &ch->lp[0]);
    jw_key(w, "refusal");
    jw_null(w);
    jw_obj_end(w);
}

const api_fmt api_fmt_chat = {
    .object = "chat.completion",
    .chunk_object = "chat.completion.chunk",
    .role_chunk = true,
    .choice = chat_choice,
    .delta = chat_delta,
    .lp_add = chat_lp_add,
    .lp_obj = chat_lp_obj,
};

/* ---- legacy completions: "text", logprobs as four parallel lists ---------------------------- */

static void cmpl_choice(const api_call *c, jw *w, const api_choice *ch) {
    (void)c;
    jw_key(w, "text");
    jw_str(w, jw_data(&ch->text), jw_len(&ch->text));
}

static void cmpl_delta(const api_call *c, jw *w, const char *text, size_t len, bool first, bool finish) {
    (void)c, (void)first, (void)finish;
    jw_key(w, "text");
    jw_str(w, text, len);
}

/* tokens, token_logprobs, top_logprobs ({piece: logprob}), text_offset */
static void cmpl_lp_add(const api_call *c, api_choice *ch, const sched_event *ev, size_t text_off) {
    jw *l = ch->lp;
    char piece[256];
    size_t n = piece_of(c, ev->lp.id, piece, sizeof piece);
    for (int i = 0; i < 4; i++)
        if (jw_len(&l[i])) jw_raw(&l[i], ",", 1);
    jw_str(&l[0], piece, n);
    jw_num(&l[1], ev->lp.logprob);
    jw_obj(&l[2]);
    for (int32_t i = 0; i < ev->lp.n_top && i < c->req.top_logprobs; i++) {
        char tp[256];
        size_t tn = piece_of(c, ev->lp.top_ids[i], tp, sizeof tp);
        jw_raw(&l[2], i ? ",\"" : "\"", i ? 2 : 1);
        jw_str_body(&l[2], tp, tn); /* a key built from data */
        jw_raw(&l[2], "\":", 2);
        l[2].after_key = true;
        jw_num(&l[2], ev->lp.top_logprobs[i]);
    }
    jw_obj_end(&l[2]);
    jw_int(&l[3], (int64_t)text_off);
}

static void cmpl_lp_obj(const api_call *c, jw *w, api_choice *ch) {
    static const char *const lists[4] = {"tokens", "token_logprobs", "top_logprobs", "text_offset"};
    jw_key(w, "logprobs");
    if (!c->req.logprobs) {
        jw_null(w);
        return;
    }
    jw_obj(w);
    for (int i = 0; i < 4; i++) lp_list(w, lists[i], &ch->lp[i]);
    jw_obj_end(w);
}

const api_fmt api_fmt_completion = {
    .object = "text_completion",
    .chunk_object = "text_completion",
    .choice = cmpl_choice,
    .delta = cmpl_delta,
    .lp_add = cmpl_lp_add,
    .lp_obj = cmpl_lp_obj,
};
