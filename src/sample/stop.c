/*
 * Stop sequences on streamed text.
 *
 * The matcher sees B = held ++ text, where held (< SMP_MAX_STOP_LEN bytes) is what an earlier push
 * could not release yet. Per push:
 *   1. If some stop string occurs in B, the one that completes first wins: B before it is
 *      released, the stop string and everything after it are dropped, and the matcher is stopped
 *      for good.
 *   2. Otherwise the longest suffix of B that is a proper prefix of some stop string is held back
 *      (it may still grow into a stop string) and the rest is released.
 * Invariant: held is always a proper prefix of some stop string, so it is shorter than the longest
 * stop and fits the fixed buffer; nothing here allocates. B is never materialised: at() reads it.
 * Since stop strings are valid UTF-8 they start at a character boundary, so for valid UTF-8 text
 * the cut between released and held text never splits a character.
 */
#include <string.h>

#include "sample.h"

cirrus_status smp_stop_init(smp_stop *s, const char *const *stops, int n, cirrus_err *err) {
    memset(s, 0, sizeof *s);
    if (n < 0 || n > SMP_MAX_STOPS)
        return cirrus_errf(err, CIRRUS_ERR_RANGE, "stop: %d strings, at most %d", n, SMP_MAX_STOPS);
    if (n > 0 && !stops) return cirrus_errf(err, CIRRUS_ERR_INVALID, "stop: missing array");
    for (int i = 0; i < n; i++) {
        if (!stops[i]) return cirrus_errf(err, CIRRUS_ERR_INVALID, "stop[%d]: missing", i);
        size_t len = strlen(stops[i]);
        if (len == 0) return cirrus_errf(err, CIRRUS_ERR_INVALID, "stop[%d]: empty string", i);
        if (len > SMP_MAX_STOP_LEN)
            return cirrus_errf(err, CIRRUS_ERR_RANGE, "stop[%d]: %zu bytes, at most %d", i, len, SMP_MAX_STOP_LEN);
        memcpy(s->stops[i], stops[i], len + 1);
        s->stop_len[i] = len;
    }
    s->n_stops = n;
    return CIRRUS_OK;
}

static char at(const smp_stop *s, const char *text, size_t i) {
    return i < s->n_held ? s->held[i] : text[i - s->n_held];
}

static bool match_at(const smp_stop *s, const char *text, size_t pos, const char *pat, size_t n) {
    for (size_t k = 0; k < n; k++)
        if (at(s, text, pos + k) != pat[k]) return false;
    return true;
}

/*
 * Where the first stop string to complete in B starts, or SIZE_MAX. "First to complete" (smallest
 * end, then smallest start) makes the result independent of how the text was split into pushes:
 * fed byte by byte, the matcher would stop at exactly that point. Per stop string only its
 * earliest occurrence can matter, and it is either one starting inside held (checked by hand, it
 * straddles the two parts) or memmem's first hit in text.
 */
static size_t find_stop(const smp_stop *s, const char *text, size_t len) {
    size_t total = s->n_held + len, best_end = SIZE_MAX, best_start = SIZE_MAX;
    for (int j = 0; j < s->n_stops; j++) {
        size_t sl = s->stop_len[j], start = SIZE_MAX;
        for (size_t pos = 0; pos < s->n_held && pos + sl <= total; pos++) {
            if (match_at(s, text, pos, s->stops[j], sl)) {
                start = pos;
                break;
            }
        }
        if (start == SIZE_MAX && len > 0) {
            const char *hit = memmem(text, len, s->stops[j], sl);
            if (hit) start = s->n_held + (size_t)(hit - text);
        }
        if (start == SIZE_MAX) continue;
        if (start + sl < best_end || (start + sl == best_end && start < best_start)) {
            best_end = start + sl;
            best_start = start;
        }
    }
    return best_start;
}

/* Length of the longest suffix of B that is a proper prefix of some stop string. */
static size_t held_suffix(const smp_stop *s, const char *text, size_t len) {
    size_t total = s->n_held + len;
    size_t max = SMP_MAX_STOP_LEN - 1 < total ? SMP_MAX_STOP_LEN - 1 : total;
    for (size_t l = max; l > 0; l--)
        for (int j = 0; j < s->n_stops; j++)
            if (s->stop_len[j] > l && match_at(s, text, total - l, s->stops[j], l)) return l;
    return 0;
}

/* Writes B[0..n) to out (at most cap bytes). */
static size_t release(const smp_stop *s, const char *text, size_t n, char *out, size_t cap) {
    if (n > cap) n = cap; /* caller broke the documented cap; never write past it */
    size_t from_held = n < s->n_held ? n : s->n_held;
    if (from_held) memcpy(out, s->held, from_held);
    if (n > from_held) memcpy(out + from_held, text, n - from_held);
    return n;
}

size_t smp_stop_push(smp_stop *s, const char *text, size_t len, char *out, size_t cap) {
    if (s->stopped) return 0;
    if (!text) len = 0;
    if (s->n_stops == 0) {
        size_t n = len < cap ? len : cap;
        if (n) memcpy(out, text, n);
        return n;
    }
    size_t stop = find_stop(s, text, len);
    if (stop != SIZE_MAX) {
        size_t n = release(s, text, stop, out, cap);
        s->n_held = 0;
        s->stopped = true;
        return n;
    }
    size_t total = s->n_held + len;
    size_t keep = held_suffix(s, text, len);
    size_t n = release(s, text, total - keep, out, cap);
    char tmp[SMP_MAX_STOP_LEN];
    for (size_t k = 0; k < keep; k++) tmp[k] = at(s, text, total - keep + k);
    memcpy(s->held, tmp, keep);
    s->n_held = keep;
    return n;
}

size_t smp_stop_flush(smp_stop *s, char *out, size_t cap) {
    if (s->stopped) return 0;
    size_t n = s->n_held < cap ? s->n_held : cap;
    if (n) memcpy(out, s->held, n);
    s->n_held = 0;
    return n;
}
