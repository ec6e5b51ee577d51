/*
 * Generation, once the pipeline submitted a request (api_pipeline.c): sched events -> SSE chunks or
 * one JSON body, in the shapes of the endpoint's formatter (api_fmt.c); and the two generating
 * endpoints' descriptions (api_work_chat, api_work_completion).
 *
 * States of a call after submit:
 *   RUNNING -> (events pulled on wake-ups) -> FINISHED (sched_poll said -1) -> settled -> body complete
 *   any -> DONE (http's done callback: cancel if unfinished, settle if not yet, account, log, free)
 *
 * Invariants:
 *  1. `live` is the only path from the engine thread to the connection: notify() wakes `live`
 *     under c->mu, and done() clears it under c->mu before anything is freed. live is set before
 *     sched_submit so no notify can pass unseen (a wake before the first look only sets
 *     wake_pending, and the first look happens anyway).
 *  2. After sched_req_free returns, sched calls notify no more (sched's contract), so c may be
 *     freed right after.
 *  3. A stream's pending output never exceeds one pull's block plus one event: events are polled
 *     only while the pending bytes are fewer than what the connection asked for.
 *  4. Every request ends in exactly one access-log line and one metrics update (done()).
 *  5. With a control plane, a request is settled exactly once: when its last event is read, or,
 *     if it never got that far (client gone), in done().
 *  6. What says "success" -- a whole 200 body; a stream's finish_reason chunks, usage and [DONE]
 *     -- is written only once the settle is durable (api_durable.c); the connection sleeps until
 *     then, and an HTTP thread never waits for the disk. Not durable in time: a 503, or an error
 *     event and no [DONE]. Text deltas go out as they come: they promise nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_call.h"

#define GEN_TEXT_MAX (32u << 20) /* non-streamed text per choice */

static const char *finish_str(sched_finish f) {
    switch (f) {
    case SCHED_FINISH_STOP: return "stop";
    case SCHED_FINISH_LENGTH: return "length";
    default: return NULL;
    }
}

/* ---- streaming -------------------------------------------------------------------------------- */

void api_gen_emit(api_call *c) {
    jw *k = &c->chunk;
    if (jw_failed(k)) {
        if (!c->out.b.fail) c->out.b.fail = k->b.fail; /* the stream cannot go on without it */
        return;
    }
    size_t need = http_sse_frame(jw_data(k), jw_len(k), NULL, 0);
    char *p = jw_extend(&c->out, need);
    if (p) http_sse_frame(jw_data(k), jw_len(k), p, need);
    jw_reset(k);
}

static void error_event(api_call *c, const char *msg) {
    api_error e;
    api_error_make(&e, API_E_INTERNAL, NULL, "%s", msg);
    char body[1024];
    size_t n = api_error_json(&e, body, sizeof body);
    jw_raw(&c->chunk, body, n < sizeof body ? n : sizeof body - 1);
    api_gen_emit(c);
}

static void on_event(api_call *c, const sched_event *ev) {
    if (ev->choice < 0 || ev->choice >= c->req.n) return; /* not ours: sched bug, ignore */
    api_choice *ch = &c->ch[ev->choice];
    uint64_t now = cirrus_now_ns();
    bool tok = ev->token >= 0 && !tok_is_eog(c->me->m.vocab, ev->token);
    if (ev->token >= 0) {
        c->n_completion++;
        if (c->treq) {
            sched_usage u;
            sched_req_usage(c->sr, &u);
            tenancy_progress(c->a->cfg.tenancy, c->treq, u.cached_tokens, c->n_completion);
        }
        if (!c->t_first) c->t_first = now;
        if (ch->t_last) met_observe(&c->a->met.itl, now - ch->t_last);
        ch->t_last = now;
    }
    size_t off = ch->text_off;
    ch->text_off += ev->text_len;
    bool lp = c->req.logprobs && ev->has_logprobs && tok;
    if (lp) c->work->fmt->lp_add(c, ch, ev, off);
    const char *fin = finish_str(ev->finish);
    if (ev->finish != SCHED_FINISH_NONE) ch->finish = ev->finish;
    if (ev->finish == SCHED_FINISH_ERROR) c->errored = true;
    if (ev->finish == SCHED_FINISH_CANCELLED) c->cancelled = true;
    if (!c->req.stream) {
        if (ev->text_len) jw_raw(&ch->text, ev->text, ev->text_len);
        return;
    }
    int i = ev->choice;
    if (!ch->started && c->work->fmt->role_chunk) {
        api_fmt_chunk(c, i, "", 0, true, NULL, false);
        ch->started = true;
    }
    if (ev->text_len || lp) api_fmt_chunk(c, i, ev->text, ev->text_len, false, NULL, lp);
    if (fin) return; /* invariant 6: the finish chunk waits for the durable settle (stream_tail) */
    if (ev->finish == SCHED_FINISH_ERROR) error_event(c, "The engine failed while generating this response.");
    else if (ev->finish == SCHED_FINISH_CANCELLED) error_event(c, "The request was cancelled: the server is shutting down.");
}

static void not_durable_error(api_error *e) {
    api_error_make(e, API_E_OVERLOADED, NULL,
                   "The response was generated, but its usage could not be recorded durably in time (the server's "
                   "storage is failing), so it is not delivered. Retry later.");
    e->type = "server_error";
    e->code = "usage_not_recorded";
}

/* Settled and durable (or given up on): the stream may end. False: the connection sleeps until
 * the commit hook or the deadline wakes it. */
static bool tail_ready(api_call *c) {
    api_call_settle(c, c->live, !c->peer_gone);
    return api_durable_check(c) != API_DUR_WAITING;
}

/* Invariant 6: only now the choices' finish_reason, the usage and [DONE] -- or, not durable, an
 * error event and no [DONE], so no client takes it for a complete reply. */
static void stream_tail(api_call *c) {
    if (c->durability == API_DUR_FAILED) {
        api_error e;
        not_durable_error(&e);
        char body[1024];
        size_t n = api_error_json(&e, body, sizeof body);
        jw_raw(&c->chunk, body, n < sizeof body ? n : sizeof body - 1);
        api_gen_emit(c);
        return;
    }
    for (int i = 0; i < c->req.n; i++)
        if (finish_str(c->ch[i].finish)) api_fmt_chunk(c, i, "", 0, false, finish_str(c->ch[i].finish), false);
    if (c->req.include_usage) api_fmt_usage_chunk(c);
    jw_raw(&c->chunk, "[DONE]", 6);
    api_gen_emit(c);
}

static long gen_pull(void *ud, char *buf, size_t cap) {
    api_call *c = ud;
    sched_event ev;
    while (!c->sent_all && jw_len(&c->out) - c->out_off < cap) { /* invariant 3 */
        if (c->finished) {
            if (!tail_ready(c)) break;
            stream_tail(c);
            c->sent_all = true;
            break;
        }
        int rc = sched_poll(c->sr, &ev, 0);
        if (rc == 0 && !c->t_first && http_req_peer_closed(c->live)) {
            /* Gone before its first token, i.e. while queued or in prefill: no write would tell,
             * so look (http's watcher woke this stream for it). Cancelled now, it leaves the queue
             * and its reservation is given back in done(); billed what was processed: nothing. */
            c->peer_gone = true;
            sched_cancel(c->sr);
            return HTTP_PULL_ABORT;
        }
        if (rc == 0) break;
        if (rc < 0) c->finished = true;
        else on_event(c, &ev);
    }
    if (jw_failed(&c->out)) return HTTP_PULL_ABORT;
    size_t avail = jw_len(&c->out) - c->out_off;
    if (!avail) return c->sent_all ? HTTP_PULL_END : HTTP_PULL_AGAIN;
    size_t n = avail < cap ? avail : cap;
    memcpy(buf, jw_data(&c->out) + c->out_off, n);
    c->out_off += n;
    if (c->out_off == jw_len(&c->out)) {
        jw_reset(&c->out);
        c->out_off = 0;
    }
    return (long)n;
}

/* ---- one JSON body ------------------------------------------------------------------------------ */

static void reply_failed(http_req *r, const api_error *e) {
    char body[1024];
    size_t n = api_error_json(e, body, sizeof body);
    if (e->retry_after_s) http_add_header(r, "Retry-After", "1");
    http_reply(r, e->status, "application/json", body, n < sizeof body ? n : sizeof body - 1);
}

static void reply_whole(api_call *c, http_req *r) {
    api_error e;
    if (c->errored || c->cancelled) {
        if (c->errored) api_error_make(&e, API_E_INTERNAL, NULL, "The engine failed while generating this response.");
        else api_error_make(&e, API_E_OVERLOADED, NULL, "The request was cancelled: the server is shutting down.");
        reply_failed(r, &e);
        return;
    }
    jw w;
    jw_init(&w, (size_t)c->req.n * (GEN_TEXT_MAX + (1u << 20)));
    api_fmt_whole(c, &w, finish_str);
    bool failed = jw_failed(&w);
    for (int i = 0; i < c->req.n; i++) failed |= jw_failed(&c->ch[i].text);
    if (failed) {
        api_error_make(&e, API_E_INTERNAL, NULL, "The response is larger than this server can send.");
        reply_failed(r, &e);
    } else {
        http_reply(r, 200, "application/json", jw_data(&w), jw_len(&w));
    }
    jw_free(&w);
}

static void gen_resume(void *ud, http_req *r) {
    api_call *c = ud;
    if (!c->finished) {
        sched_event ev;
        int rc;
        while ((rc = sched_poll(c->sr, &ev, 0)) == 1) on_event(c, &ev);
        if (rc == 0) {
            /* sleeping outside the event loop, the connection cannot see its client leave: look */
            if (!c->peer_gone && http_req_peer_closed(r)) {
                c->peer_gone = true;
                sched_cancel(c->sr);
            }
            http_defer(r, gen_resume, c);
            return;
        }
        c->finished = true;
        /* A client that left while this thread was not looking (a busy machine can keep it from
         * running for a whole short generation) has still left: the log and the ledger say so. Its
         * tokens were generated and are billed either way. */
        if (!c->peer_gone && http_req_peer_closed(r)) c->peer_gone = true;
        api_call_settle(c, r, !c->peer_gone);
    }
    switch (api_durable_check(c)) { /* invariant 6 */
    case API_DUR_WAITING: http_defer(r, gen_resume, c); return;
    case API_DUR_FAILED: {
        api_error e;
        not_durable_error(&e);
        reply_failed(r, &e);
        return;
    }
    default: reply_whole(c, r);
    }
}

/* ---- lifetime ------------------------------------------------------------------------------------ */

void api_gen_notify(void *arg) {
    api_call *c = arg;
    pthread_mutex_lock(&c->mu);
    if (c->live) http_wake(c->live);
    pthread_mutex_unlock(&c->mu);
}

static void observe_risk(api_call *c, const sched_usage *u, uint64_t now) {
    api *a = c->a;
    if (!a->cfg.risk || !c->risk_tenant[0]) return;
    int32_t bias[API_MAX_BIAS];
    size_t nb = 0;
    for (size_t i = 0; i < c->req.sp.n_bias && nb < API_MAX_BIAS; i++) bias[nb++] = c->req.sp.bias[i].id;
    bool length = false;
    for (int i = 0; i < c->req.n; i++) length |= c->ch[i].finish == SCHED_FINISH_LENGTH;
    guard_risk_obs o = {.tenant = c->risk_tenant, .model = c->me->name, .key_id = c->risk_key_id,
                        .prompt = c->risk_prompt, .n_prompt_ids = c->risk_n_prompt,
                        .prompt_tokens = u->prompt_tokens ? (int64_t)u->prompt_tokens : (int64_t)c->n_prompt,
                        .completion_tokens = u->completion_tokens, .max_tokens = c->req.max_tokens,
                        .finish_length = length, .temperature = c->req.sp.temperature, .n = c->req.n,
                        .logprobs = c->req.logprobs, .top_logprobs_clipped = c->lp_clipped,
                        .bias_ids = bias, .n_bias = nb};
    guard_risk_observe(a->cfg.risk, &o, now);
}

static void gen_done(void *ud, http_req *r, const http_done_info *info) {
    api_call *c = ud;
    pthread_mutex_lock(&c->mu);
    c->live = NULL; /* invariant 1: no wake from here on */
    pthread_mutex_unlock(&c->mu);
    if (!c->finished) sched_cancel(c->sr); /* the client left (or timed out) mid-generation */
    api_call_settle(c, r, false);          /* not yet settled: it ended before its last bytes */
    sched_usage u;
    sched_req_usage(c->sr, &u);
    uint64_t end = cirrus_now_ns(), start = http_req_start_ns(r);
    api *a = c->a;
    met_tokens(&a->met, c->tenant.name, u.prompt_tokens, u.cached_tokens, u.completion_tokens);
    if (c->t_first) met_observe(&a->met.ttft, c->t_first - start);
    if (u.t_admit_ns && u.t_submit_ns) met_observe(&a->met.queue, u.t_admit_ns - u.t_submit_ns);
    met_observe(&a->met.duration, end - start);
    atomic_fetch_sub(&a->met.inflight, 1);
    const char *outcome = info->reason == HTTP_DONE_CLIENT_GONE || c->peer_gone ? "client_gone"
                        : info->reason == HTTP_DONE_TIMEOUT    ? "timeout"
                        : info->reason == HTTP_DONE_ABORTED    ? "aborted"
                        : c->durability == API_DUR_FAILED     ? "not_durable"
                        : c->errored                           ? "engine_error"
                        : c->cancelled                         ? "cancelled"
                                                               : "ok";
    api_log_rec rec = {.id = c->id, .method = http_req_method(r), .path = http_req_path(r), .tenant = c->tenant.name,
                       .model = c->me->name, .peer = http_req_peer(r), .outcome = outcome, .prompt_text = c->prompt_text,
                       .prompt_len = c->prompt_text_len,
                       .status = info->status, .stream = c->req.stream, .prompt_tokens = u.prompt_tokens,
                       .cached_tokens = u.cached_tokens, .completion_tokens = u.completion_tokens,
                       .t_start_ns = start, .queue_ns = u.t_admit_ns && u.t_submit_ns ? u.t_admit_ns - u.t_submit_ns : 0,
                       .ttft_ns = c->t_first ? c->t_first - start : 0, .end_ns = end};
    api_log_request(a, c->ep, &rec);
    observe_risk(c, &u, end);
    sched_req_free(c->sr); /* invariant 2 */
    c->sr = NULL;
    api_call_free(c);
}

void api_gen_begin(api_call *c, http_req *r) {
    for (int i = 0; i < API_MAX_CHOICES; i++) {
        jw_init(&c->ch[i].text, GEN_TEXT_MAX);
        for (int j = 0; j < 4; j++) jw_init(&c->ch[i].lp[j], GEN_TEXT_MAX);
    }
    jw_init(&c->out, 4u << 20);
    jw_init(&c->chunk, 1u << 20);
    atomic_fetch_add(&c->a->met.inflight, 1);
    http_on_done(r, gen_done, c);
    http_add_header(r, "X-Request-Id", c->id);
    if (c->req.stream) {
        http_add_header(r, "X-Accel-Buffering", "no");
        if (http_reply_stream(r, 200, "text/event-stream", gen_pull, c) != CIRRUS_OK) {
            /* cannot happen on a fresh request; answer so the connection is not left hanging */
            http_defer(r, gen_resume, c);
            c->req.stream = false;
        }
    } else {
        http_defer(r, gen_resume, c);
    }
}

/* ---- the generating endpoints' inputs ------------------------------------------------------------ */

/* Text -> token ids with the model's tokenizer. A chat template writes special tokens as text, so
 * they are parsed; a raw completion prompt's text is taken literally. Known limit: parsing the
 * whole formatted chat also turns special-token text typed inside a message (e.g. "<|im_start|>")
 * into the token, as llama.cpp's server and HF tokenizers do; closing it needs the template to
 * hand out its segments separately. */
static cirrus_status encode(api_call *c, const char *text, size_t len, bool special, int32_t **ids, size_t *n,
                            api_error *e) {
    const tok_vocab *v = c->me->m.vocab;
    cirrus_err err = {{0}};
    if (c->a->cfg.log_prompts && (c->prompt_text = cirrus_arena_strndup(&c->req.arena, text, len))) c->prompt_text_len = len;
    cirrus_status st = tok_encode(v, text, len, true, special, ids, n, &err);
    const char *param = c->work->input_param;
    if (st) return api_error_make(e, api_err_kind_of(st) == API_E_CONTEXT ? API_E_INVALID : api_err_kind_of(st), param,
                                  "Could not tokenize the prompt: %s", err.msg);
    /* a template that writes BOS itself plus add_bos would give two */
    if (*n >= 2 && (*ids)[0] == tok_bos(v) && (*ids)[1] == tok_bos(v)) memmove(*ids, *ids + 1, --*n * sizeof **ids);
    if (*n == 0) {
        free(*ids);
        *ids = NULL;
        return api_error_make(e, API_E_INVALID, param, "The prompt is empty.");
    }
    return CIRRUS_OK;
}

static cirrus_status chat_input(api_call *c, int32_t **ids, size_t *n, api_error *e) {
    const api_model_entry *me = c->me;
    cirrus_err err = {{0}};
    char *formatted = NULL;
    size_t len = 0;
    if (tok_chat_format_n(me->m.chat, c->req.msgs, c->req.msg_lens, c->req.n_msgs, true, me->bos_text, me->eos_text, &formatted, &len, &err))
        return api_error_make(e, API_E_INVALID, "messages", "Invalid 'messages': %s", err.msg);
    cirrus_status st = encode(c, formatted, len, true, ids, n, e);
    free(formatted);
    return st;
}

static cirrus_status completion_input(api_call *c, int32_t **ids, size_t *n, api_error *e) {
    const api_gen_req *q = &c->req;
    if (!q->n_prompt_ids) return encode(c, q->prompt, q->prompt_len, false, ids, n, e);
    int32_t nv = tok_n_vocab(c->me->m.vocab) < c->me->m.n_vocab ? tok_n_vocab(c->me->m.vocab) : c->me->m.n_vocab;
    for (size_t i = 0; i < q->n_prompt_ids; i++)
        if (q->prompt_ids[i] >= nv)
            return api_error_make(e, API_E_INVALID, "prompt", "Invalid 'prompt': token id %d is outside the vocabulary of %d tokens.",
                                  q->prompt_ids[i], tok_n_vocab(c->me->m.vocab));
    if (!(*ids = malloc(q->n_prompt_ids * sizeof **ids))) return api_error_make(e, API_E_INTERNAL, NULL, "Out of memory.");
    memcpy(*ids, q->prompt_ids, q->n_prompt_ids * sizeof **ids);
    *n = q->n_prompt_ids;
    return CIRRUS_OK;
}

const api_work api_work_chat = {
    .input_param = "messages",
    .parse = api_parse_chat,
    .input = chat_input,
    .fmt = &api_fmt_chat,
};

const api_work api_work_completion = {
    .input_param = "prompt",
    .default_max_tokens = 16, /* OpenAI's default for legacy completions */
    .parse = api_parse_completion,
    .input = completion_input,
    .fmt = &api_fmt_completion,
};
