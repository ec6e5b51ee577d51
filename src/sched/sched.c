/*
 * The engine loop: continuous batching over KV slots, chunked prefill, sampling and events.
 *
 * Request states (sched.h):  QUEUED -> PREFILL -> DECODE -> DONE, and any -> DONE on cancel.
 *   QUEUED   in its tenant's FIFO; holds no slot.                            (sched.mu)
 *   PREFILL  admitted: holds n_choices slots; the first choice's slot takes the prompt in chunks.
 *   DECODE   the prompt is in every choice's slot; each unfinished choice has a sampled token
 *            waiting at toks[n_kv] to be fed in the next step.
 *   DONE     every choice has sent its final event; slots are back (kept as prefix cache).
 *
 * Invariants (numbers 1-5 are sched.h's):
 *  6. slots_used == the slots with req != NULL == sum over running requests of n_choices, and
 *     every running request is on run list in admission order.
 *  7. For a held slot, positions [0, n_kv) of its KV hold toks[0, n_kv); n_kv + (tokens the request
 *     may still feed) <= n_ctx, by invariant 1, so mdl_forward never sees a position past n_ctx.
 *  8. Nothing in a step allocates: batch arrays are sized at sched_new (n_batch tokens, n_slots
 *     logits rows, since each slot wants at most one row per step); samplers and stop matchers are
 *     made at submit. Only a lagging owner's event ring grows (req.c).
 *  9. The engine calls notify and pushes events only while the owner holds its handle.
 *
 * Fairness policy. Three mechanisms, because three different things can be unfair:
 *  a. Order of admission (who gets a free slot): weighted deficit round robin over per-tenant FIFO
 *     queues, cost = prompt + n * max_tokens tokens, tenants under reserved_tpm first (queue.c).
 *  b. Slot shares (how many slots a tenant may hold while others want some): weighted
 *     water-filling of n_slots over each tenant's demand. A tenant asking for less than its share
 *     gets all it asks for; the others split the rest by weight. A tenant that just finished a
 *     request keeps its demand for SCHED_GRACE_NS, so the next request of a one-at-a-time client
 *     finds its slot instead of waiting behind another tenant's whole request.
 *  c. Tokens per step (who decodes): with slots admitted fairly, generation is still proportional
 *     to running sequences, so 8 streams would get 8x the tokens of 1. Each step every tenant runs
 *     at most as many of its decode-ready sequences as keeps its virtual time (tokens / weight) at
 *     the level of the tenant that can use the least this step (queue.c, sched_fair_grants).
 *     Result: tenants with work get equal tokens per second at equal weights — the tenant with one
 *     stream decodes every step, the one with eight streams decodes one of them per step (least
 *     recently decoded first, so its streams advance evenly).
 *  The price of (c) is throughput: while a light tenant sets the pace, a heavy tenant's extra
 *  sequences wait, and the step is smaller than it could be. That is what "equal tokens/s when both
 *  are backlogged" asks for; with one tenant active, every sequence decodes every step. Prefill is
 *  not metered by (c): it is bounded per step by n_batch, oldest admission first, and (a) already
 *  charged prompt tokens to the tenant.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "sched/sched_impl.h"

/* ---- lifecycle ------------------------------------------------------------------------------ */

static void *engine_main(void *arg);

cirrus_status sched_new(const sched_params *p, sched **out, cirrus_err *err) {
    *out = NULL;
    if (!p->model || !p->vocab) return cirrus_errf(err, CIRRUS_ERR_INVALID, "sched: model and vocab are required");
    if (p->n_slots < 1 || p->n_slots > 4096)
        return cirrus_errf(err, CIRRUS_ERR_INVALID, "sched: n_slots %d outside 1..4096", p->n_slots);
    if (p->n_batch < p->n_slots)
        return cirrus_errf(err, CIRRUS_ERR_INVALID,
                           "sched: n_batch %d below n_slots %d (every running sequence decodes each step)",
                           p->n_batch, p->n_slots);
    if (p->max_queue < 0) return cirrus_errf(err, CIRRUS_ERR_INVALID, "sched: max_queue %d < 0", p->max_queue);
    if (p->n_ctx < 2) return cirrus_errf(err, CIRRUS_ERR_INVALID, "sched: n_ctx %d < 2", p->n_ctx);
    const mdl_hparams *hp = mdl_get_hparams(p->model);
    if (tok_n_vocab(p->vocab) > hp->n_vocab)
        return cirrus_errf(err, CIRRUS_ERR_INVALID, "sched: vocabulary of %d tokens, the model has %d",
                           tok_n_vocab(p->vocab), hp->n_vocab);
    sched *s = calloc(1, sizeof *s);
    if (!s) return cirrus_errf(err, CIRRUS_ERR_NOMEM, "sched: out of memory");
    s->p = *p;
    if (s->p.max_queue == 0) s->p.max_queue = SCHED_DEFAULT_QUEUE;
    s->n_vocab = hp->n_vocab;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    pthread_cond_init(&s->idle_cv, NULL);
    mdl_ctx_params cp = {.n_ctx = p->n_ctx, .n_seq = p->n_slots, .n_batch = p->n_batch, .n_out = p->n_slots,
                         .n_threads = p->n_threads};
    cirrus_status st = mdl_ctx_new(p->model, &cp, &s->ctx, err);
    if (st) {
        sched_free(s);
        return st;
    }
    s->kv_bytes = mdl_ctx_kv_bytes(s->ctx);
    size_t nb = (size_t)p->n_batch, ns = (size_t)p->n_slots;
    s->tenants = calloc(SCHED_TENANTS_MAX, sizeof *s->tenants);
    s->slots = calloc(ns, sizeof *s->slots);
    s->copies = calloc(ns, sizeof *s->copies);
    s->b_tok = malloc(nb * sizeof(int32_t));
    s->b_pos = malloc(nb * sizeof(int32_t));
    s->b_seq = malloc(nb * sizeof(int32_t));
    s->b_want = malloc(nb * sizeof(bool));
    s->out_slot = malloc(ns * sizeof(sched_slot *));
    s->ready = malloc(ns * sizeof(sched_slot *));
    s->act = malloc(ns * sizeof(sched_tenant *));
    s->open = malloc(SCHED_TENANTS_MAX * sizeof(int32_t));
    s->draws = malloc(ns * sizeof(sched_draw));
    bool ok = s->tenants && s->slots && s->copies && s->b_tok && s->b_pos && s->b_seq && s->b_want && s->out_slot &&
              s->ready && s->act && s->open && s->draws && cirrus_pool_new(p->n_threads, &s->pool) == CIRRUS_OK;
    for (size_t i = 0; ok && i < ns; i++) {
        s->slots[i].id = (int32_t)i;
        s->slots[i].toks = malloc((size_t)p->n_ctx * sizeof(int32_t));
        ok = s->slots[i].toks != NULL;
    }
    if (!ok) {
        sched_free(s);
        return cirrus_errf(err, CIRRUS_ERR_NOMEM, "sched: out of memory for %d slots", p->n_slots);
    }
    if (pthread_create(&s->thread, NULL, engine_main, s) != 0) {
        sched_free(s);
        return cirrus_errf(err, CIRRUS_ERR_INTERNAL, "sched: cannot start the engine thread");
    }
    s->thread_started = true;
    *out = s;
    return CIRRUS_OK;
}

void sched_shutdown(sched *s, uint64_t deadline_ns) {
    pthread_mutex_lock(&s->mu);
    if (!s->stopping || deadline_ns < s->deadline_ns) s->deadline_ns = deadline_ns;
    s->stopping = true;
    pthread_cond_signal(&s->cv);
    while (s->thread_started && (s->n_queued > 0 || s->n_running > 0 || s->busy))
        pthread_cond_wait(&s->idle_cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
}

void sched_free(sched *s) {
    if (!s) return;
    if (s->thread_started) {
        sched_shutdown(s, 0);
        pthread_mutex_lock(&s->mu);
        s->quit = true;
        pthread_cond_signal(&s->cv);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->thread, NULL);
    }
    mdl_ctx_free(s->ctx);
    if (s->slots)
        for (int32_t i = 0; i < s->p.n_slots; i++) free(s->slots[i].toks);
    free(s->slots);
    free(s->tenants);
    free(s->copies);
    free(s->b_tok);
    free(s->b_pos);
    free(s->b_seq);
    free(s->b_want);
    free(s->out_slot);
    free(s->ready);
    free(s->act);
    free(s->open);
    free(s->draws);
    cirrus_pool_free(s->pool);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    pthread_cond_destroy(&s->idle_cv);
    free(s);
}

/* ---- events --------------------------------------------------------------------------------- */

/* Sends text for a choice, split over events of SCHED_TEXT_MAX; the first carries the token and
 * logprobs, the last the finish reason. */
static void emit(sched *s, sched_req *r, int32_t choice, int32_t token, const smp_logprobs *lp, const char *text,
                 size_t len, sched_finish finish) {
    sched_event ev;
    ev.choice = choice;
    ev.token = token;
    ev.has_logprobs = lp != NULL;
    if (lp) ev.lp = *lp;
    else memset(&ev.lp, 0, sizeof ev.lp);
    ev.step = s->step;
    do {
        size_t n = len > SCHED_TEXT_MAX ? SCHED_TEXT_MAX : len;
        memcpy(ev.text, text, n);
        ev.text_len = (uint32_t)n;
        text += n;
        len -= n;
        ev.finish = len == 0 ? finish : SCHED_FINISH_NONE;
        if (ev.finish && r->n_live == 0) { /* the request's last event: done when the owner sees it */
            pthread_mutex_lock(&r->mu);
            r->usage.t_done_ns = cirrus_now_ns();
            pthread_mutex_unlock(&r->mu);
        }
        sched_req_push(r, &ev);
        ev.token = -1;
        ev.has_logprobs = false;
    } while (len > 0);
    r->touched = true;
}

/* Appends what the detokenizer and the stop matcher still hold: the end of a choice's text. */
static size_t flush_text(const sched_req *r, sched_choice *ch, char *out, size_t n, size_t cap) {
    char tail[16];
    size_t nt = tok_stream_flush(&ch->ts, tail, sizeof tail);
    if (!r->n_stops) {
        memcpy(out + n, tail, nt);
        return n + nt;
    }
    if (ch->stop.stopped) return n;
    n += smp_stop_push(&ch->stop, tail, nt, out + n, cap - n);
    if (!ch->stop.stopped) n += smp_stop_flush(&ch->stop, out + n, cap - n);
    return n;
}

/* Ends every unfinished choice of r with `why`, one final event each (invariant 5). */
static void end_choices(sched *s, sched_req *r, sched_finish why) {
    for (int32_t c = 0; c < r->n_choices; c++) {
        sched_choice *ch = &r->ch[c];
        if (ch->finish != SCHED_FINISH_NONE) continue;
        ch->finish = why;
        r->n_live--;
        char buf[2 * SMP_MAX_STOP_LEN + 32];
        size_t n = 0;
        /* Text held back so far is complete text of a cancelled stream; after an error it is not
         * to be trusted. */
        if (ch->n_gen > 0 && why != SCHED_FINISH_ERROR) n = flush_text(r, ch, buf, 0, sizeof buf);
        emit(s, r, c, -1, NULL, buf, n, why);
    }
}

/* Sampling, the costly part of turning logits into tokens (a pass over the vocabulary), runs in
 * parallel: each draw has its own chain, and reads only its logits row and its slot's tokens. */
static void draw_task(void *ctx, int64_t i, int ith) {
    (void)ith;
    sched *s = ctx;
    sched_draw *d = &s->draws[i];
    sched_choice *ch = &d->r->ch[d->choice];
    const sched_slot *sl = &s->slots[ch->slot];
    smp_history h = {sl->toks, (size_t)sl->n_kv, (size_t)d->r->n_prompt};
    d->id = smp_sample(ch->chain, d->logits, &h, d->r->n_logprobs, &d->lp);
}

/* What a draw produced, in order: text through the detokenizer and the stop matcher, the finish
 * reason, the event. */
static void finish_draw(sched *s, sched_draw *d) {
    sched_req *r = d->r;
    int32_t c = d->choice, id = d->id;
    sched_choice *ch = &r->ch[c];
    sched_slot *sl = &s->slots[ch->slot];
    ch->n_gen++;
    r->gen_step++;
    r->tenant->vt += SCHED_VT_ONE / r->tenant->w_step;
    pthread_mutex_lock(&r->mu);
    r->usage.completion_tokens++;
    if (!r->usage.t_first_token_ns) r->usage.t_first_token_ns = cirrus_now_ns();
    pthread_mutex_unlock(&r->mu);

    /* A piece is at most 256 bytes (a longer token is cut at a character boundary: no vocabulary
     * we load has one); with < 256 held bytes of a stop prefix a token's text fits one event, which
     * keeps the ring bound of req.c exact. */
    char piece[256], out[3 * SCHED_TEXT_MAX];
    size_t n = 0;
    sched_finish fin = SCHED_FINISH_NONE;
    bool eog = tok_is_eog(s->p.vocab, id);
    if (eog) {
        fin = SCHED_FINISH_STOP; /* counted in usage, not shown: the end of the text is no text */
    } else {
        size_t np = tok_stream_push(s->p.vocab, &ch->ts, id, false, piece, sizeof piece);
        if (r->n_stops) {
            n = smp_stop_push(&ch->stop, piece, np, out, sizeof out);
            if (ch->stop.stopped) fin = SCHED_FINISH_STOP;
        } else {
            memcpy(out, piece, np);
            n = np;
        }
        if (!fin && ch->n_gen >= r->max_tokens) fin = SCHED_FINISH_LENGTH;
    }
    if (fin) {
        n = flush_text(r, ch, out, n, sizeof out);
        ch->finish = fin;
        r->n_live--;
    } else {
        sl->toks[sl->n_kv] = id; /* fed next step; n_kv < n_ctx by invariant 7 */
    }
    emit(s, r, c, eog ? -1 : id, !eog && r->n_logprobs >= 0 ? &d->lp : NULL, out, n, fin);
}

/* Decode rows: the unfinished choices of DECODE requests, minus what fairness holds back (policy
 * (c)), least recently decoded first within a tenant. Returns the number of rows written. */
static int32_t add_decode_rows(sched *s) {
    int32_t n_ready = 0, n_act = 0;
    for (sched_req *r = s->run_head; r; r = r->run_next) {
        if (r->state != REQ_DECODE) continue;
        sched_tenant *t = r->tenant;
        for (int32_t c = 0; c < r->n_choices; c++) {
            if (r->ch[c].finish != SCHED_FINISH_NONE) continue;
            if (t->mark_step != s->step) {
                t->mark_step = s->step;
                t->n_ready = t->n_taken = 0;
                s->act[n_act++] = t;
            }
            t->n_ready++;
            /* insertion by last decode step: stable, allocation-free, and the list is short */
            sched_slot *sl = &s->slots[r->ch[c].slot];
            int32_t j = n_ready++;
            while (j > 0 && s->ready[j - 1]->last_decode_step > sl->last_decode_step) {
                s->ready[j] = s->ready[j - 1];
                j--;
            }
            s->ready[j] = sl;
        }
    }
    if (n_act == 0) return 0;
    uint64_t now = cirrus_now_ns();
    sched_fair_grants(s, n_act, now);
    for (int32_t i = 0; i < n_act; i++) {
        s->act[i]->ready_step = s->step;
        s->act[i]->ready_ns = now;
    }
    int32_t n = 0;
    for (int32_t i = 0; i < n_ready; i++) {
        sched_slot *sl = s->ready[i];
        sched_tenant *t = sl->req->tenant;
        if (t->n_taken >= t->n_grant) continue;
        t->n_taken++;
        assert(sl->n_kv < s->p.n_ctx); /* invariant 7 */
        s->b_tok[n] = sl->toks[sl->n_kv];
        s->b_pos[n] = sl->n_kv;
        s->b_seq[n] = sl->id;
        s->b_want[n] = true;
        s->out_slot[n] = sl;
        n++;
    }
    return n;
}

/* Prefill chunks into the rest of the batch, oldest admission first (invariant 2). Sets
 * r->prefill_k; a request whose last prompt token is in the batch wants that token's logits. */
static int32_t add_prefill(sched *s, int32_t n, int32_t *n_out) {
    for (sched_req *r = s->run_head; r; r = r->run_next) {
        r->prefill_k = 0;
        if (r->state != REQ_PREFILL || n >= s->p.n_batch) continue;
        sched_slot *sl = &s->slots[r->ch[0].slot];
        int32_t k = r->n_prompt - sl->n_kv;
        if (k > s->p.n_batch - n) k = s->p.n_batch - n;
        for (int32_t j = 0; j < k; j++) {
            int32_t pos = sl->n_kv + j;
            s->b_tok[n] = r->prompt[pos];
            s->b_pos[n] = pos;
            s->b_seq[n] = sl->id;
            s->b_want[n] = pos == r->n_prompt - 1;
            if (s->b_want[n]) s->out_slot[(*n_out)++] = sl;
            n++;
        }
        r->prefill_k = k;
    }
    return n;
}

/* One forward pass and what follows from it. Returns tokens prefilled; *gen gets tokens sampled. */
static int32_t run_step(sched *s, uint32_t *gen) {
    for (int32_t i = 0; i < s->n_copies; i++) mdl_seq_copy(s->ctx, s->copies[i].src, s->copies[i].dst, s->copies[i].n);
    s->n_copies = 0;
    int32_t n_dec = add_decode_rows(s), n_out = n_dec;
    int32_t n = add_prefill(s, n_dec, &n_out);
    *gen = 0;
    if (n == 0) return 0;
    mdl_batch b = {n, s->b_tok, s->b_pos, s->b_seq, s->b_want};
    const float *logits = NULL;
    int32_t got = 0;
    cirrus_err err;
    if (mdl_forward(s->ctx, &b, &logits, &got, &err) != CIRRUS_OK || got != n_out) {
        /* Our batch broke the model's contract: a bug. Fail what was in it rather than loop. */
        CIRRUS_ERROR("sched: forward pass failed: %s", err.msg);
        for (sched_req *r = s->run_head; r; r = r->run_next) {
            end_choices(s, r, SCHED_FINISH_ERROR);
            for (int32_t c = 0; c < r->n_choices; c++) s->slots[r->ch[c].slot].n_kv = 0;
        }
        return 0;
    }
    for (int32_t i = 0; i < n_dec; i++) {
        s->out_slot[i]->n_kv++;
        s->out_slot[i]->last_decode_step = s->step;
    }
    int32_t prefilled = n - n_dec;
    for (sched_req *r = s->run_head; r; r = r->run_next) {
        if (!r->prefill_k) continue;
        int32_t n_kv = s->slots[r->ch[0].slot].n_kv += r->prefill_k;
        /* what the engine has processed of the prompt is what is billed: nothing while queued
         * (cancelled or dropped there, a request costs nothing), all of it once prefill is done */
        pthread_mutex_lock(&r->mu);
        r->usage.prompt_tokens = (uint32_t)n_kv;
        r->usage.cached_tokens = (uint32_t)r->cached_admit;
        pthread_mutex_unlock(&r->mu);
    }
    int32_t n_draws = 0;
    for (int32_t i = 0; i < n_out; i++) {
        sched_slot *sl = s->out_slot[i];
        sched_req *r = sl->req;
        const float *row = logits + (size_t)i * (size_t)s->n_vocab;
        int32_t c0 = sl->choice, c1 = sl->choice + 1;
        if (r->state == REQ_PREFILL) { /* the prompt is done: every choice starts from it */
            for (int32_t c = 1; c < r->n_choices; c++) {
                sched_slot *o = &s->slots[r->ch[c].slot];
                mdl_seq_copy(s->ctx, sl->id, o->id, r->n_prompt);
                o->n_kv = r->n_prompt;
            }
            r->state = REQ_DECODE;
            c0 = 0;
            c1 = r->n_choices;
        }
        for (int32_t c = c0; c < c1; c++) s->draws[n_draws++] = (sched_draw){.r = r, .choice = c, .logits = row};
    }
    /* Fan out only when there is enough to share: a hand-off costs microseconds, a draw over a
     * small vocabulary less than that. */
    bool wide = n_draws > 1 && (int64_t)n_draws * s->n_vocab >= SCHED_PARALLEL_SAMPLE_MIN;
    cirrus_pool_run(wide ? s->pool : NULL, draw_task, s, n_draws);
    for (int32_t i = 0; i < n_draws; i++) finish_draw(s, &s->draws[i]);
    *gen = (uint32_t)n_draws;
    return prefilled;
}

/* ---- the loop ------------------------------------------------------------------------------- */

static void run_append(sched *s, sched_req *r) {
    r->run_next = NULL;
    if (s->run_tail) s->run_tail->run_next = r;
    else s->run_head = r;
    s->run_tail = r;
}

/* Takes the requests that ended (n_live == 0) off the run list into *done. Under s->mu. */
static void collect_done(sched *s, sched_req **done, uint64_t now) {
    sched_req **pp = &s->run_head, *prev = NULL;
    while (*pp) {
        sched_req *r = *pp;
        if (r->n_live > 0) {
            prev = r;
            pp = &r->run_next;
            continue;
        }
        *pp = r->run_next;
        if (s->run_tail == r) s->run_tail = prev;
        bool keep = true;
        for (int32_t c = 0; c < r->n_choices; c++) keep = keep && r->ch[c].finish != SCHED_FINISH_ERROR;
        sched_slots_release(s, r, keep);
        r->tenant->n_running--;
        r->tenant->last_done_ns = now;
        r->tenant->last_choices = r->n_choices;
        r->state = REQ_DONE;
        s->n_running--;
        r->run_next = *done;
        *done = r;
    }
}

/* Cancelled queued requests, and all of them once the shutdown deadline passed. Under s->mu. */
static void drop_queued(sched *s, sched_req **dropped, bool all) {
    for (int32_t i = 0; i < s->n_tenants; i++) {
        sched_req *r = s->tenants[i].q_head;
        while (r) {
            sched_req *next = r->q_next;
            if (all || atomic_load(&r->cancel)) {
                sched_queue_remove(s, r);
                r->state = REQ_DONE;
                r->run_next = *dropped;
                *dropped = r;
            }
            r = next;
        }
    }
}

/* Admits what fair order and free slots allow (policies (a), (b)). Under s->mu. */
static void admit(sched *s, uint64_t now) {
    sched_req *r;
    while ((r = sched_queue_pick(s, now, sched_slots_free(s))) != NULL) {
        int32_t cached = sched_slots_assign(s, r);
        sched_tenant *t = r->tenant;
        t->n_running++;
        t->requests++;
        t->prompt_tokens += (uint64_t)r->n_prompt;
        t->cached_tokens += (uint64_t)cached;
        s->st.tokens_cached += (uint64_t)cached;
        s->n_running++;
        r->state = REQ_PREFILL;
        r->cached_admit = cached;
        pthread_mutex_lock(&r->mu);
        r->usage.t_admit_ns = now;
        pthread_mutex_unlock(&r->mu);
        run_append(s, r);
    }
}

/* Final events, notify, and the engine's reference, for a list linked through run_next. Outside
 * s->mu (notify may take the owner's locks). */
static void finish_list(sched *s, sched_req *list, sched_finish why) {
    while (list) {
        sched_req *next = list->run_next;
        if (list->n_live > 0) end_choices(s, list, why);
        if (list->touched) sched_req_notify(list);
        list->touched = false;
        sched_req_release(list);
        list = next;
    }
}

static void *engine_main(void *arg) {
    sched *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->quit && s->n_queued == 0 && !s->run_head && s->n_cancel_pending == 0)
            pthread_cond_wait(&s->cv, &s->mu);
        if (s->quit && s->n_queued == 0 && !s->run_head) break;
        uint64_t now = cirrus_now_ns();
        bool expired = s->stopping && now >= s->deadline_ns;
        sched_req *dropped = NULL, *ended = NULL;
        if (s->n_cancel_pending > 0 || expired) {
            s->n_cancel_pending = 0;
            drop_queued(s, &dropped, expired);
        }
        /* Cancelled running requests leave before the step (within one step of sched_cancel). */
        for (sched_req *r = s->run_head; r; r = r->run_next)
            if (expired || atomic_load(&r->cancel)) end_choices(s, r, SCHED_FINISH_CANCELLED);
        collect_done(s, &ended, now);
        admit(s, now);
        for (sched_req *r = s->run_head; r; r = r->run_next) {
            r->tenant->reserved_now = sched_tenant_under_reservation(r->tenant, now);
            r->tenant->w_step = r->tenant->weight;
        }
        s->busy = true;
        pthread_mutex_unlock(&s->mu);

        finish_list(s, dropped, SCHED_FINISH_CANCELLED);
        finish_list(s, ended, SCHED_FINISH_CANCELLED);
        uint32_t gen = 0;
        int32_t prefilled = 0;
        if (s->run_head) {
            s->step++; /* numbers forward passes: sched_stats.steps and sched_event.step agree */
            prefilled = run_step(s, &gen);
        }
        for (sched_req *r = s->run_head; r; r = r->run_next)
            if (r->touched) {
                sched_req_notify(r);
                r->touched = false;
            }

        pthread_mutex_lock(&s->mu);
        now = cirrus_now_ns();
        if (prefilled || gen) {
            s->st.steps = s->step;
            s->st.tokens_prefilled += (uint64_t)prefilled;
            s->st.tokens_generated += gen;
        }
        /* Service per tenant, for reservations and /metrics. */
        for (sched_req *r = s->run_head; r; r = r->run_next) {
            r->tenant->generated_tokens += r->gen_step;
            sched_tenant_serve(r->tenant, now, r->gen_step + (uint32_t)r->prefill_k);
            r->gen_step = 0;
            r->prefill_k = 0;
        }
        ended = NULL;
        collect_done(s, &ended, now);
#ifndef NDEBUG
        int32_t held = 0; /* invariant 6, O(n_slots) per step */
        for (sched_req *r = s->run_head; r; r = r->run_next) held += r->n_choices;
        assert(held == s->slots_used);
#endif
        pthread_mutex_unlock(&s->mu);
        finish_list(s, ended, SCHED_FINISH_CANCELLED);
        pthread_mutex_lock(&s->mu);
        s->busy = false;
        if (s->n_queued == 0 && !s->run_head) pthread_cond_broadcast(&s->idle_cv);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* ---- stats ---------------------------------------------------------------------------------- */

void sched_get_stats(sched *s, sched_stats *out) {
    pthread_mutex_lock(&s->mu);
    *out = s->st;
    out->queued = s->n_queued;
    out->running = s->n_running;
    out->slots_used = s->slots_used;
    out->slots_total = s->p.n_slots;
    out->slots_cached = s->slots_cached;
    out->tenants = s->n_tenants;
    out->kv_bytes_total = s->kv_bytes;
    out->kv_bytes_used = s->kv_bytes / (uint64_t)s->p.n_slots * (uint64_t)s->slots_used;
    pthread_mutex_unlock(&s->mu);
}

int32_t sched_get_tenant_stats(sched *s, sched_tenant_stats *out, int32_t cap) {
    pthread_mutex_lock(&s->mu);
    int32_t n = s->n_tenants;
    for (int32_t i = 0; i < n && i < cap; i++) {
        const sched_tenant *t = &s->tenants[i];
        sched_tenant_stats *o = &out[i];
        memcpy(o->tenant, t->name, sizeof o->tenant);
        o->requests = t->requests;
        o->prompt_tokens = t->prompt_tokens;
        o->cached_tokens = t->cached_tokens;
        o->generated_tokens = t->generated_tokens;
        o->queued = t->n_queued;
        o->running = t->n_running;
        o->slots_held = t->n_held;
    }
    pthread_mutex_unlock(&s->mu);
    return n;
}
